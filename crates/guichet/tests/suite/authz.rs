//! The authorization walk: every route of the router, for every kind of visitor. A route added
//! later is covered automatically, since the walk reads the route table.

use crate::personas::{self, Persona};
use crate::support::TestServer;
use guichet_domain::role::{allowed, Role};
use guichet_store::compte::Kind;
use guichet_web::auth::Access;
use guichet_web::routes::{table, RouteSpec};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Anonymous,
    Usager,
    /// An admin of Mâcon: the other collectivité.
    OtherAgent,
    /// An instructeur of Dijon.
    Instructeur,
    /// An admin of Dijon.
    Admin,
    Operator,
}

#[derive(Debug, PartialEq, Eq)]
enum Expect {
    /// Let through to the page (whatever the page then answers: 200, 404 for an unknown token, …).
    Through,
    /// Sent to the login page.
    Login,
    Forbidden,
    NotFound,
    /// API: 401 in the API's error format.
    ApiUnauthorized,
}

fn roles_of(who: Who) -> Vec<Role> {
    match who {
        Who::Instructeur => vec![Role::Instructeur],
        Who::Admin => vec![Role::Admin],
        _ => vec![],
    }
}

fn expected(spec: &RouteSpec, who: Who) -> Expect {
    match spec.access {
        Access::Public => Expect::Through,
        Access::Demo => Expect::NotFound,
        Access::Api(_) => Expect::ApiUnauthorized,
        // Without its key (the empty form), refused in the protocol's own format.
        Access::ApiKeyInRequest => Expect::Forbidden,
        // Without the link of a dossier filed without an account, as SignedIn.
        Access::PasswordDone | Access::SignedIn | Access::DossierOwner => {
            if who == Who::Anonymous {
                Expect::Login
            } else {
                Expect::Through
            }
        }
        // None of these people is an aidant or sits in an assembly (the aidants and council
        // suites check who is).
        Access::Aidant | Access::Elu => match who {
            Who::Anonymous => Expect::Login,
            _ => Expect::Forbidden,
        },
        Access::Operator => match who {
            Who::Anonymous => Expect::Login,
            Who::Operator => Expect::Through,
            _ => Expect::Forbidden,
        },
        Access::Collectivite(permission) => match who {
            Who::Anonymous => Expect::Login,
            // The path names Dijon: only Dijon's agents with the right role get through.
            Who::Instructeur | Who::Admin if allowed(&roles_of(who), permission) => Expect::Through,
            _ => Expect::Forbidden,
        },
    }
}

/// Fills the path's parameters: the collectivité is always Dijon.
fn concrete(path: &str, css: &str) -> String {
    path.replace("{collectivite}", "dijon")
        .replace("{slug}", "dijon")
        .replace("{token}", "jeton-inconnu")
        .replace("{id}", "1")
        .replace("{name}", "1")
        .replace("{step}", "0")
        .replace("{page}", "0")
        .replace("{field}", "champ")
        .replace("/open311/v2/{file}", "/open311/v2/requests.json")
        .replace("{file}", css)
}

#[tokio::test]
async fn every_route_for_every_kind_of_visitor() {
    let s = TestServer::start().await;
    let t = personas::collectivites(&s).await;
    let people: Vec<(Who, Persona)> = vec![
        (Who::Anonymous, personas::anonymous(&s)),
        (Who::Usager, personas::usager(&s).await),
        (
            Who::OtherAgent,
            personas::persona(
                &s,
                Kind::Agent,
                "admin@macon.fr",
                &[(&t.macon, Role::Admin), (&t.macon, Role::Instructeur)],
            )
            .await,
        ),
        (
            Who::Instructeur,
            personas::agent(&s, "instructeur@dijon.fr", &t.dijon, Role::Instructeur).await,
        ),
        (
            Who::Admin,
            personas::agent(&s, "admin@dijon.fr", &t.dijon, Role::Admin).await,
        ),
        (
            Who::Operator,
            personas::persona(
                &s,
                Kind::Agent,
                "operateur@region.fr",
                &[(&t.region, Role::Operateur), (&t.region, Role::Admin)],
            )
            .await,
        ),
    ];
    let css = guichet_web::assets::CSS
        .href
        .trim_start_matches("/static/")
        .to_string();
    let routes = table();
    assert!(
        routes.specs().len() > 30,
        "the table lists the application's routes"
    );
    let mut checked = 0;
    let mut failures = Vec::new();
    for spec in routes.specs() {
        // Logging out or closing sessions would end the persona's session for the next routes.
        let ends_session = matches!(
            spec.path,
            "/deconnexion" | "/compte/sessions/fermer-tout" | "/compte/suppression"
        );
        for (who, p) in &people {
            if spec.method == "POST" && ends_session && !matches!(who, Who::Anonymous) {
                continue;
            }
            let path = concrete(spec.path, &css);
            let page = match spec.method {
                "GET" => p.browser.get(&path).await,
                // An empty form with a valid anti-CSRF token: authorization is decided before the body.
                _ => p.browser.post(&path, &[]).await,
            };
            let got = match (page.status, page.location.as_deref()) {
                (303, Some(l)) if l.starts_with("/connexion?suite=") => Expect::Login,
                (403, _) if page.html.contains("Accès refusé") => Expect::Forbidden,
                (401, _) if page.html.starts_with("{\"error\"") => Expect::ApiUnauthorized,
                (404, _) if spec.access == Access::Demo => Expect::NotFound,
                (403, _) if spec.access != Access::Public => Expect::Forbidden,
                _ => Expect::Through,
            };
            let want = expected(spec, *who);
            if got != want {
                failures.push(format!(
                    "{} {} as {:?}: expected {:?}, got {:?} ({})",
                    spec.method, path, who, want, got, page.status
                ));
            }
            if matches!(want, Expect::Through) && page.status >= 500 {
                failures.push(format!(
                    "{} {} as {:?}: server error {}",
                    spec.method, path, who, page.status
                ));
            }
            checked += 1;
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} checks failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn an_agent_of_macon_can_never_reach_dijon() {
    let s = TestServer::start().await;
    let t = personas::collectivites(&s).await;
    let macon = personas::persona(
        &s,
        Kind::Agent,
        "tout@macon.fr",
        &[
            (&t.macon, Role::Admin),
            (&t.macon, Role::Instructeur),
            (&t.macon, Role::Moderateur),
            (&t.macon, Role::Publication),
        ],
    )
    .await;
    let mut collectivite_routes = 0;
    for spec in table()
        .specs()
        .iter()
        .filter(|s| matches!(s.access, Access::Collectivite(_)))
    {
        collectivite_routes += 1;
        let own = concrete(spec.path, "x").replace("/dijon", "/macon");
        let other = concrete(spec.path, "x");
        let (own_page, other_page) = if spec.method == "GET" {
            (
                macon.browser.get(&own).await,
                macon.browser.get(&other).await,
            )
        } else {
            (
                macon.browser.post(&own, &[]).await,
                macon.browser.post(&other, &[]).await,
            )
        };
        assert_ne!(own_page.status, 403, "{own}: own collectivité reachable");
        assert_eq!(
            other_page.status, 403,
            "{other}: another collectivité refused"
        );
    }
    assert!(collectivite_routes >= 8);
    // Nothing of Dijon's journal leaks either.
    let journal = macon.browser.get("/admin/macon/journal").await;
    assert!(
        !journal.html.contains("dijon"),
        "Mâcon's journal shows nothing of Dijon"
    );
}

#[tokio::test]
async fn security_headers_on_every_route() {
    let s = TestServer::start().await;
    personas::collectivites(&s).await;
    let css = guichet_web::assets::CSS
        .href
        .trim_start_matches("/static/")
        .to_string();
    let anonymous = s.browser();
    let mut paths: Vec<String> = table()
        .specs()
        .iter()
        .filter(|spec| spec.method == "GET")
        .map(|spec| concrete(spec.path, &css))
        .collect();
    paths.push("/page-qui-n-existe-pas".into());
    for path in paths {
        let r = anonymous
            .client
            .get(format!("{}{path}", s.base))
            .send()
            .await
            .expect("request");
        let h = r.headers();
        let csp = h
            .get("content-security-policy")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert!(
            csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"),
            "{path}: CSP {csp:?}"
        );
        assert!(!csp.contains("unsafe-inline"), "{path}");
        assert_eq!(
            h.get("x-content-type-options").map(|v| v.as_bytes()),
            Some(&b"nosniff"[..]),
            "{path}"
        );
        assert!(h.contains_key("referrer-policy"), "{path}");
        assert!(h.contains_key("permissions-policy"), "{path}");
        if let Some(cookie) = h.get("set-cookie").and_then(|v| v.to_str().ok()) {
            assert!(
                cookie.contains("HttpOnly") && cookie.contains("SameSite"),
                "{path}: {cookie}"
            );
        }
    }
}
