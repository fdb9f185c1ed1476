//! FranceConnect (and agents' single sign-on) against a real OpenID provider started for the
//! test: login with the identity certified in the profile, logout at the provider, linking to an
//! existing account, démarches that require it; a wrong state, a wrong nonce, a tampered ID
//! token and the provider's error are refused with nothing written. FranceConnect+: the ID token
//! and userinfo encrypted to the keys Guichet publishes (ECDH-ES and RSA-OAEP), a tampered or
//! clear answer refused.

use crate::personas;
use crate::support::{field_value, Browser, OidcSetUp, Page, TestServer};
use guichet_domain::profil::Source;
use guichet_store::compte::{self, Kind};
use guichet_web::compte::oidc_keys::KeyKind;

/// Follows redirects as a browser does, across Guichet and the provider, until a page is shown
/// or `stop` says so; returns the last URL and what it answered (not visited when stopped).
async fn follow(b: &Browser, start: &str, stop: impl Fn(&str) -> bool) -> (String, Option<Page>) {
    let mut url = if start.starts_with("http") {
        start.to_string()
    } else {
        format!("{}{start}", b.base)
    };
    for _ in 0..20 {
        if stop(&url) {
            return (url, None);
        }
        let mut page = b.get(&url).await;
        // A page that submits its form on load (the provider ending its previous session): what
        // a browser with JavaScript does.
        if page.html.contains("document.forms[0].submit()") {
            let action = page
                .html
                .split("action=\"")
                .nth(1)
                .and_then(|r| r.split('"').next())
                .expect("the form's action")
                .to_string();
            let fields: Vec<(String, String)> = page
                .html
                .split("<input type=\"hidden\" ")
                .skip(1)
                .filter_map(|i| {
                    let name = i.split("name=\"").nth(1)?.split('"').next()?;
                    let value = i.split("value=\"").nth(1)?.split('"').next()?;
                    Some((name.to_string(), value.to_string()))
                })
                .collect();
            let response = b
                .client
                .post(&action)
                .form(&fields)
                .send()
                .await
                .expect("POST");
            page = Browser::page(response).await;
            url = action;
        }
        let Some(location) = page
            .location
            .clone()
            .filter(|_| (300..400).contains(&page.status))
        else {
            return (url, Some(page));
        };
        url = if location.starts_with("http") {
            location
        } else {
            let origin: String = url.split('/').take(3).collect::<Vec<_>>().join("/");
            format!("{origin}{location}")
        };
    }
    panic!("too many redirects, last at {url}");
}

/// Why the last refusal was journaled.
async fn last_refusal(db: &guichet_store::Db) -> String {
    guichet_store::journal::list(db, &Default::default(), 50)
        .await
        .expect("journal")
        .into_iter()
        .find(|e| e.event.action == "connexion.franceconnect.refus")
        .map(|e| e.event.details)
        .unwrap_or_default()
}

fn is_callback(url: &str) -> bool {
    url.contains("/connexion/franceconnect/retour")
}

/// A query parameter of a URL.
fn param(url: &str, name: &str) -> String {
    url.split_once('?')
        .map(|(_, q)| q)
        .unwrap_or_default()
        .split('&')
        .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
        .unwrap_or_default()
        .to_string()
}

fn with_param(url: &str, name: &str, value: &str) -> String {
    let (path, q) = url.split_once('?').unwrap_or((url, ""));
    let rest: Vec<String> = q
        .split('&')
        .filter(|kv| !kv.starts_with(&format!("{name}=")) && !kv.is_empty())
        .map(str::to_string)
        .chain([format!("{name}={value}")])
        .collect();
    format!("{path}?{}", rest.join("&"))
}

#[tokio::test]
async fn franceconnect_certifies_the_identity_and_logs_out_at_the_provider() {
    let (s, op) = TestServer::with_oidc(None).await;
    let db = s.db();
    let b = s.browser();
    let login = b.get("/connexion").await;
    assert!(
        login.html.contains("S'identifier avec FranceConnect")
            || login.html.contains("S&#39;identifier avec FranceConnect")
    );

    // The whole flow, from the button to the page asked for.
    let (url, page) = follow(&b, "/connexion/franceconnect?suite=/compte/profil", |_| {
        false
    })
    .await;
    let page = page.expect("a page");
    assert_eq!(page.status, 200, "{url}: {}", page.html);
    assert!(url.ends_with("/compte/profil"), "{url}");
    assert!(
        page.html.contains("value=\"Camille Marie\"")
            && page.html.contains("value=\"Dupont\"")
            && page.html.contains("value=\"1985-04-12\"")
            && page.html.contains("Certifié par FranceConnect"),
        "{}",
        page.html
    );
    let user = compte::by_email(db, "camille.dupont@exemple.fr")
        .await
        .expect("q")
        .expect("account created from the identity");
    assert!(guichet_store::oidc::is_linked(db, "franceconnect", user.id)
        .await
        .expect("q"));
    let profile = guichet_store::profil::get(db, user.id).await.expect("p");
    for (key, value) in [
        ("identite.prenoms", "Camille Marie"),
        ("identite.nom", "Dupont"),
        ("identite.nom_usage", "Martin"),
        ("identite.naissance", "1985-04-12"),
        ("identite.lieu_naissance", "21231"),
        ("identite.pays_naissance", "99100"),
        ("identite.sexe", "féminin"),
    ] {
        assert_eq!(profile[key].value, value, "{key}");
        assert_eq!(profile[key].source, Source::FranceConnect, "{key}");
    }
    // Certified values are read-only: a form cannot change them.
    b.post(
        "/compte/profil",
        &[("identite.nom", "Autre"), ("action", "enregistrer")],
    )
    .await;
    assert_eq!(
        guichet_store::profil::get(db, user.id).await.expect("p")["identite.nom"].value,
        "Dupont"
    );

    // Logout: here, then at the provider with the ID token as hint, and back.
    let out = b.post("/deconnexion", &[]).await;
    let end = out.location.expect("to the provider");
    assert!(
        end.starts_with(&format!("{}/session/end?", op.issuer)),
        "{end}"
    );
    assert!(!param(&end, "id_token_hint").is_empty() && !param(&end, "state").is_empty());
    assert!(param(&end, "post_logout_redirect_uri").contains("deconnexion%2Ffin"));
    let confirm = b.get(&end).await;
    let xsrf = field_value(&confirm.html, "xsrf").expect("the provider's logout form");
    let done = b
        .client
        .post(format!("{}/session/end/confirm", op.issuer))
        .form(&[("xsrf", xsrf.as_str()), ("logout", "yes")])
        .send()
        .await
        .expect("confirm");
    let back = done
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .expect("back to Guichet")
        .to_string();
    assert!(
        back.starts_with(&format!("{}/deconnexion/fin", s.base)),
        "{back}"
    );
    let bye = b.get(&back).await;
    assert!(bye.html.contains("Vous êtes déconnecté"));
    assert_eq!(
        b.get("/compte")
            .await
            .location
            .as_deref()
            .map(|l| l.starts_with("/connexion")),
        Some(true),
        "the Guichet session is closed"
    );
    let journal = guichet_store::journal::list(db, &Default::default(), 100)
        .await
        .expect("journal");
    assert!(journal
        .iter()
        .any(|e| e.event.action == "connexion.franceconnect"));
}

#[tokio::test]
async fn a_wrong_state_a_wrong_nonce_a_tampered_token_and_a_refusal_are_turned_away() {
    let (s, op) = TestServer::with_oidc(None).await;
    let db = s.db();
    let nobody = || async {
        assert!(compte::by_email(db, "camille.dupont@exemple.fr")
            .await
            .expect("q")
            .is_none());
    };

    // Wrong state: the callback carried to another browser, or with another state.
    let a = s.browser();
    let (callback, _) = follow(&a, "/connexion/franceconnect", is_callback).await;
    let other = s.browser();
    let refused = other.get(&callback).await;
    assert_eq!(refused.status, 400);
    assert!(refused
        .html
        .contains("aucune connexion commencée dans ce navigateur"));
    assert!(last_refusal(db).await.contains("state"));
    let forged = a.get(&with_param(&callback, "state", "forge")).await;
    assert_eq!(forged.status, 400);
    nobody().await;

    // Wrong nonce: the code of one login brought back with the state of another (the ID token
    // carries the first login's nonce).
    let (first, _) = follow(&a, "/connexion/franceconnect", is_callback).await;
    let (second, _) = follow(&a, "/connexion/franceconnect", is_callback).await;
    let mixed = with_param(&second, "code", &param(&first, "code"));
    let refused = a.get(&mixed).await;
    assert_eq!(refused.status, 400, "{}", refused.html);
    assert!(
        refused.html.contains("n'a pas pu être vérifiée")
            || refused.html.contains("n&#39;a pas pu être vérifiée")
    );
    let why = last_refusal(db).await;
    assert!(why.to_lowercase().contains("nonce"), "{why}");
    nobody().await;

    // A tampered ID token (altered on its way out of the provider): its signature fails.
    op.mode("tamper=1").await;
    let (_, page) = follow(&a, "/connexion/franceconnect", |_| false).await;
    let page = page.expect("page");
    assert_eq!(page.status, 400, "{}", page.html);
    let why = last_refusal(db).await;
    assert!(why.to_lowercase().contains("signature"), "{why}");
    op.mode("tamper=0").await;
    nobody().await;

    // The person refuses at the provider: its error comes back and is explained.
    // (A fresh browser: one already logged in at the provider is not asked again.)
    op.mode("deny=1").await;
    let fresh = s.browser();
    let (_, page) = follow(&fresh, "/connexion/franceconnect", |_| false).await;
    let page = page.expect("page");
    assert_eq!(page.status, 400);
    assert!(
        page.html.contains("Vous avez annulé la connexion"),
        "{}",
        page.html
    );
    op.mode("deny=0").await;
    nobody().await;

    let journal = guichet_store::journal::list(db, &Default::default(), 100)
        .await
        .expect("journal");
    let refusals = journal
        .iter()
        .filter(|e| e.event.action == "connexion.franceconnect.refus")
        .count();
    assert!(refusals >= 5, "every refusal is journaled ({refusals})");

    // And a normal login still works afterwards.
    let (url, _) = follow(&a, "/connexion/franceconnect", |_| false).await;
    assert!(url.ends_with("/compte"), "{url}");
}

#[tokio::test]
async fn franceconnect_plus_encrypts_to_the_key_guichet_publishes_ecdh_es_and_rsa_oaep() {
    for (alg, kind) in [("ECDH-ES", KeyKind::Ec), ("RSA-OAEP", KeyKind::Rsa)] {
        let (s, op) = TestServer::with_oidc_set_up(
            None,
            OidcSetUp {
                provider_encrypts: Some(alg),
                guichet_key: Some(kind),
                guichet_requires_encryption: true,
            },
        )
        .await;
        let db = s.db();
        let b = s.browser();

        // The public key the provider reads, and nothing private.
        let jwks = b.get("/.well-known/jwks.json").await;
        assert_eq!(jwks.status, 200);
        let jwks: serde_json::Value = serde_json::from_str(&jwks.html).expect("JSON");
        let keys = jwks["keys"].as_array().expect("keys");
        assert_eq!(keys.len(), 1, "{jwks}");
        assert_eq!(keys[0]["alg"], alg);
        assert_eq!(keys[0]["use"], "enc");
        assert!(keys[0]["kid"].as_str().is_some_and(|k| k.len() == 43));
        assert!(keys[0].get("d").is_none(), "{jwks}");

        // The whole flow: the provider encrypts the ID token and userinfo to that key.
        let (url, page) = follow(&b, "/connexion/franceconnect?suite=/compte/profil", |_| {
            false
        })
        .await;
        let page = page.expect("a page");
        assert_eq!(page.status, 200, "{alg} {url}: {}", last_refusal(db).await);
        assert!(
            page.html.contains("value=\"Dupont\"")
                && page.html.contains("value=\"1985-04-12\"")
                && page.html.contains("Certifié par FranceConnect"),
            "{alg}: {}",
            page.html
        );
        let user = compte::by_email(db, "camille.dupont@exemple.fr")
            .await
            .expect("q")
            .expect("account from the decrypted identity");
        let profile = guichet_store::profil::get(db, user.id).await.expect("p");
        assert_eq!(profile["identite.lieu_naissance"].value, "21231");

        // A byte of the encrypted ID token changed on its way: refused, nobody signed in.
        b.post("/deconnexion", &[]).await;
        op.mode("tamper=1").await;
        let other = s.browser();
        let (_, page) = follow(&other, "/connexion/franceconnect", |_| false).await;
        let page = page.expect("page");
        assert_eq!(page.status, 400, "{alg}: {}", page.html);
        let why = last_refusal(db).await;
        assert!(why.contains("jeton chiffré"), "{alg}: {why}");
        assert_eq!(
            other
                .get("/compte")
                .await
                .location
                .as_deref()
                .map(|l| l.starts_with("/connexion")),
            Some(true)
        );
    }
}

#[tokio::test]
async fn franceconnect_plus_answering_in_clear_is_refused_and_no_key_means_no_jwks() {
    // Guichet expects encrypted answers; the provider (or someone in between) sends them in
    // clear: refused, no account made.
    let (s, _op) = TestServer::with_oidc_set_up(
        None,
        OidcSetUp {
            provider_encrypts: None,
            guichet_key: Some(KeyKind::Ec),
            guichet_requires_encryption: true,
        },
    )
    .await;
    let db = s.db();
    let b = s.browser();
    let (_, page) = follow(&b, "/connexion/franceconnect", |_| false).await;
    let page = page.expect("page");
    assert_eq!(page.status, 400, "{}", page.html);
    assert!(
        page.html.contains("n'a pas pu être vérifiée")
            || page.html.contains("n&#39;a pas pu être vérifiée")
    );
    let why = last_refusal(db).await;
    assert!(why.contains("en clair"), "{why}");
    assert!(compte::by_email(db, "camille.dupont@exemple.fr")
        .await
        .expect("q")
        .is_none());

    // FranceConnect v2 (no encryption): no key published.
    let (plain, _op) = TestServer::with_oidc(None).await;
    assert_eq!(
        plain.browser().get("/.well-known/jwks.json").await.status,
        404
    );
}

const CERTIFIED: &str = r#"{
  "title": "Demande d'acte d'état civil",
  "description": "Copie intégrale d'acte de naissance.",
  "retention_months": 12,
  "identity": "franceconnect",
  "pages": [{"title": "Demande", "fields": [
    {"id": "nom", "label": "Nom", "type": "short_text", "required": true, "profile": "identite.nom"}
  ]}]
}"#;

#[tokio::test]
async fn an_existing_account_links_franceconnect_to_file_a_demarche_that_requires_it() {
    let (s, op) = TestServer::with_oidc(None).await;
    let db = s.db();
    let t = personas::collectivites(&s).await;
    let def = guichet_domain::demarche::Definition::from_json(CERTIFIED).expect("definition");
    let d = crate::support::publish(db, t.dijon.id, &def).await;
    op.mode("account=fc-jean").await;
    let u = personas::usager(&s).await;

    let page = u.browser.get(&format!("/demarches/dijon/{}", d.slug)).await;
    assert!(page.html.contains("identité vérifiée par FranceConnect"));
    let blocked = u
        .browser
        .post(&format!("/demarches/dijon/{}/dossiers", d.slug), &[])
        .await;
    assert_eq!(blocked.status, 403);
    let link = crate::support::attribute(
        &blocked.html[blocked.html.find("/connexion/franceconnect").expect("link") - 6..],
        "href",
    )
    .expect("href")
    .replace("&amp;", "&");
    let (url, _) = follow(&u.browser, &link, |_| false).await;
    assert!(
        url.ends_with(&format!("/demarches/dijon/{}", d.slug)),
        "{url}"
    );
    assert!(
        guichet_store::oidc::is_linked(db, "franceconnect", u.user_id)
            .await
            .expect("q")
    );
    // Linked: the usager's own account, now with a certified identity; no new account.
    assert!(compte::by_email(db, "jean.moreau@exemple.fr")
        .await
        .expect("q")
        .is_none());
    let profile = guichet_store::profil::get(db, u.user_id).await.expect("p");
    assert_eq!(profile["identite.nom"].value, "Moreau");
    let started = u
        .browser
        .post(&format!("/demarches/dijon/{}/dossiers", d.slug), &[])
        .await;
    let step = started.location.expect("started");
    let form = u.browser.get(&step).await;
    assert!(
        form.html.contains("value=\"Moreau\""),
        "prefilled from the certified identity"
    );
}

#[tokio::test]
async fn agents_sign_on_with_the_same_code_and_still_give_their_second_factor() {
    let (s, op) = TestServer::with_oidc(None).await;
    let db = s.db();
    let b = s.browser();
    // Nobody's agent account for this identity: refused.
    let (_, page) = follow(&b, "/connexion/agents", |_| false).await;
    let page = page.expect("page");
    assert_eq!(page.status, 403);
    assert!(
        page.html.contains("Aucun compte d'agent")
            || page.html.contains("Aucun compte d&#39;agent")
    );

    op.mode("account=fc-jean").await;
    let agent = compte::create(
        db,
        Kind::Agent,
        "jean.moreau@exemple.fr",
        "Jean Moreau",
        None,
    )
    .await
    .expect("agent");
    compte::mark_email_confirmed(db, agent.id)
        .await
        .expect("confirm");
    compte::force_totp(db, agent.id, &compte::new_totp_secret())
        .await
        .expect("totp");
    // Another person at the provider: a fresh browser.
    let b = s.browser();
    let (url, page) = follow(&b, "/connexion/agents", |u| {
        u.contains("/connexion/second-facteur")
    })
    .await;
    assert!(
        url.contains("/connexion/second-facteur"),
        "{url} {:?}",
        page.map(|p| p.html)
    );
    assert!(guichet_store::oidc::is_linked(db, "agents", agent.id)
        .await
        .expect("q"));
}

/// A usager consents to a mandat by signing in with FranceConnect on the aidant's screen: the
/// mandat exists only when the identity is the one linked to their account, and the aidant stays
/// signed in as the aidant.
#[tokio::test]
async fn a_usager_consents_to_a_mandat_with_franceconnect_on_the_aidant_s_screen() {
    let (s, op) = TestServer::with_oidc(None).await;
    let db = s.db();
    // Camille's account, opened with FranceConnect.
    let camille = s.browser();
    let (_, page) = follow(&camille, "/connexion/franceconnect?suite=/compte", |_| {
        false
    })
    .await;
    assert_eq!(page.expect("page").status, 200);
    let usager = compte::by_email(db, "camille.dupont@exemple.fr")
        .await
        .expect("q")
        .expect("account");
    let structure = guichet_store::mandat::add_structure(
        db,
        "France Services de Montbard",
        "france_services",
        "",
        None,
        Default::default(),
    )
    .await
    .expect("structure");
    let aidant = personas::persona(&s, Kind::Agent, "aidant@france-services.fr", &[]).await;
    guichet_store::mandat::add_aidant(
        db,
        structure,
        guichet_store::mandat::NewAidant::Existing(aidant.user_id),
        false,
        Default::default(),
    )
    .await
    .expect("aidant");
    let ask = || async {
        aidant
            .browser
            .post(
                "/aidant/mandats",
                &[
                    ("email_usager", usager.email.as_str()),
                    ("consentement", "franceconnect"),
                    ("domaines", "famille"),
                    ("duree", "1m"),
                ],
            )
            .await
            .location
            .expect("a request")
    };
    // Someone else's FranceConnect identity: refused, no mandat.
    let request = ask().await;
    op.mode("account=fc-jean").await;
    let (_, page) = follow(
        &aidant.browser,
        &format!("/connexion/franceconnect?suite={request}"),
        |_| false,
    )
    .await;
    let page = page.expect("page");
    assert!(
        page.html.contains("pas celle du compte de la personne"),
        "{}",
        page.html
    );
    let count = || async {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM mandats")
            .fetch_one(db.pool())
            .await
            .expect("count")
    };
    assert_eq!(count().await, 0);
    // Camille herself: the mandat is given, the aidant is still the aidant.
    op.mode("account=fc-camille").await;
    let request = ask().await;
    let (url, page) = follow(
        &aidant.browser,
        &format!("/connexion/franceconnect?suite={request}"),
        |_| false,
    )
    .await;
    let page = page.expect("page");
    assert!(url.contains("/aidant/mandats/"), "{url}: {}", page.html);
    assert_eq!(count().await, 1);
    let m: (i64, Option<String>, i64) =
        sqlx::query_as("SELECT usager_user_id, consent_method, aidant_user_id FROM mandats")
            .fetch_one(db.pool())
            .await
            .expect("mandat");
    assert_eq!(m, (usager.id, Some("franceconnect".into()), aidant.user_id));
    assert_eq!(
        aidant.browser.get("/aidant").await.status,
        200,
        "still the aidant"
    );
}
