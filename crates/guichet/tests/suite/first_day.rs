//! A first day on an empty platform, as people and browsers live it: the operator onboards a
//! collectivité and its first admin, a signed-out resident starts a démarche and comes back to
//! it after signing up, exports are downloaded the way browsers ask for them (compressed), and
//! each defect met on a first day is checked the way the person who met it would.

use crate::filing::{login, pdf_text};
use crate::personas::{self, PASSWORD};
use crate::support::{run_cli, Browser, SmtpSink, TestServer};
use guichet_domain::role::Role;
use guichet_store::compte;

/// A small démarche with a repeatable block, as an admin would import it.
pub const CANTINE: &str = r#"{
  "title": "Inscription à la cantine",
  "description": "Inscrire vos enfants au restaurant scolaire.",
  "competence": "restauration_scolaire",
  "deadline_days": 30,
  "tacit_rule": "accord",
  "retention_months": 24,
  "pages": [
    { "title": "Vos enfants", "fields": [
      { "id": "regime", "label": "Régime", "type": "single_choice", "options": ["standard", "sans viande"], "required": true },
      { "id": "enfants", "label": "Enfants", "type": "block", "item_label": "Enfant", "min": 1, "max": 4, "fields": [
        { "id": "prenom", "label": "Prénom", "type": "short_text", "required": true }
      ] }
    ] }
  ]
}"#;

/// Imports and publishes a démarche as the collectivité's admin would; returns its public path.
pub async fn published(admin: &Browser, collectivite: &str, definition: &str) -> String {
    let created = admin
        .post(
            &format!("/admin/{collectivite}/demarches"),
            &[("definition", definition)],
        )
        .await;
    let location = created.location.expect("the démarche is created");
    let page = admin.post(&format!("{location}/publication"), &[]).await;
    assert!(page.html.contains("publiée"), "{}", page.html);
    let slug = page
        .html
        .split(&format!("/demarches/{collectivite}/"))
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("the public address of the démarche")
        .to_string();
    format!("/demarches/{collectivite}/{slug}")
}

/// A usager files the cantine démarche for one child, as in the pages: returns the dossier's id.
pub async fn filed(usager: &Browser, demarche: &str, child: &str) -> i64 {
    let step = usager
        .post(&format!("{demarche}/dossiers"), &[])
        .await
        .location
        .expect("the first step");
    let saved = usager
        .post(
            &step,
            &[
                ("regime", "standard"),
                ("enfants[0].prenom", child),
                ("action", "continuer"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.html);
    let id: i64 = step
        .split('/')
        .nth(2)
        .and_then(|i| i.parse().ok())
        .expect("id");
    let deposited = usager.post(&format!("/dossiers/{id}/depot"), &[]).await;
    assert_eq!(deposited.status, 303, "{}", deposited.html);
    id
}

/// Posts a form from a page, with the Referer a browser sends.
async fn post_from(
    b: &Browser,
    page: &str,
    action: &str,
    fields: &[(&str, &str)],
) -> (u16, String) {
    let token = b.csrf().await;
    let mut all = fields.to_vec();
    all.push(("_csrf", &token));
    let r = b
        .client
        .post(format!("{}{action}", b.base))
        .header("referer", format!("{}{page}", b.base))
        .form(&all)
        .send()
        .await
        .expect("POST");
    let status = r.status().as_u16();
    let location = r
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    (status, location)
}

fn decoded_query(location: &str) -> String {
    location
        .replace("%2F", "/")
        .replace("%3F", "?")
        .replace("%3D", "=")
}

#[tokio::test]
async fn a_signed_out_resident_who_presses_commencer_signs_up_and_comes_back_to_the_demarche() {
    let smtp = SmtpSink::start().await;
    let s = TestServer::with_smtp(&smtp).await;
    let t = personas::collectivites(&s).await;
    let admin = personas::agent(&s, "admin@dijon.fr", &t.dijon, Role::Admin).await;
    let demarche = published(&admin.browser, "dijon", CANTINE).await;

    let resident = s.browser();
    assert_eq!(resident.get(&demarche).await.status, 200);
    // "Commencer" while signed out: the sign-in page, then back to the démarche (never the
    // POST-only address, which answered 405).
    let (status, to_login) =
        post_from(&resident, &demarche, &format!("{demarche}/dossiers"), &[]).await;
    assert_eq!(status, 303);
    assert_eq!(
        decoded_query(&to_login),
        format!("/connexion?suite={demarche}")
    );
    let login_page = resident.get(&to_login).await;
    let signup = login_page
        .html
        .split("Pas encore de compte ?")
        .nth(1)
        .unwrap_or_default()
        .split("href=\"/inscription")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .map(|q| format!("/inscription{q}"))
        .expect("a link to create an account");
    assert_eq!(
        decoded_query(&signup),
        format!("/inscription?suite={demarche}"),
        "sign-up keeps where the resident was going"
    );
    let form = resident.get(&signup).await;
    let action = crate::support::attribute(
        form.html
            .split("<form method=\"post\"")
            .nth(2)
            .unwrap_or(&form.html),
        "action",
    )
    .map(|a| unescape(&a))
    .expect("the sign-up form");
    let created = resident
        .post(
            &action,
            &[
                ("nom", "Camille Martin"),
                ("email", "camille.martin@exemple.fr"),
                ("mot_de_passe", PASSWORD),
            ],
        )
        .await;
    assert!(
        created.html.contains("Confirmez votre adresse"),
        "{}",
        created.html
    );
    let mail = smtp
        .wait_for("camille.martin@exemple.fr", "Confirmez votre adresse")
        .await;
    let confirmed = resident.get(&mail.link()).await;
    assert_eq!(confirmed.status, 200);
    let onward = confirmed
        .html
        .split("<h1>Adresse confirmée</h1>")
        .nth(1)
        .unwrap_or_default()
        .split("href=\"/connexion")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .map(|q| unescape(&format!("/connexion{q}")))
        .expect("a link to sign in");
    assert_eq!(
        decoded_query(&onward),
        format!("/connexion?suite={demarche}")
    );
    let signed_in = resident
        .post(
            &onward,
            &[
                ("email", "camille.martin@exemple.fr"),
                ("mot_de_passe", PASSWORD),
            ],
        )
        .await;
    assert_eq!(signed_in.location.as_deref(), Some(demarche.as_str()));
    let back = resident.get(&demarche).await;
    assert_eq!(back.status, 200, "the démarche again, not a 405");
    assert!(back.html.contains("Commencer la démarche"));
    let (status, step) =
        post_from(&resident, &demarche, &format!("{demarche}/dossiers"), &[]).await;
    assert_eq!(status, 303);
    assert!(
        step.starts_with("/dossiers/") && step.contains("/etapes/0"),
        "{step}"
    );

    // A form posted without a Referer (privacy settings): the home page, still no 405.
    let other = s.browser();
    let token = other.csrf().await;
    let bare = other
        .post_raw(&format!("{demarche}/dossiers"), &[("_csrf", &token)])
        .await;
    assert_eq!(bare.location.as_deref(), Some("/connexion?suite=%2F"));
}

/// Bodies downloaded as a browser would, compressed with `encoding` (decoded by the client).
async fn download(
    s: &TestServer,
    cookie: &str,
    path: &str,
    encoding: &str,
) -> (u16, String, String) {
    let builder = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none());
    let client = match encoding {
        "gzip" => builder.no_brotli(),
        "br" => builder.no_gzip(),
        _ => builder.no_gzip().no_brotli(),
    }
    .build()
    .expect("client");
    let r = client
        .get(format!("{}{path}", s.base))
        .header("cookie", format!("guichet_session={cookie}"))
        .send()
        .await
        .expect("GET");
    let status = r.status().as_u16();
    // reqwest removes the Content-Encoding header once it has decoded the body: say what the
    // server sent by asking again without decoding.
    let body = r.text().await.expect("the whole body");
    let raw = reqwest::Client::builder()
        .no_gzip()
        .no_brotli()
        .build()
        .expect("client")
        .get(format!("{}{path}", s.base))
        .header("cookie", format!("guichet_session={cookie}"))
        .header("accept-encoding", encoding)
        .send()
        .await
        .expect("GET");
    let sent = raw
        .headers()
        .get("content-encoding")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("identity")
        .to_string();
    (status, body, sent)
}

#[tokio::test]
async fn csv_exports_arrive_whole_when_the_browser_asks_for_compression() {
    let s = TestServer::start().await;
    let t = personas::collectivites(&s).await;
    let agent = personas::dijon_instructing_admin(&s, &t, "agent@dijon.fr").await;
    let demarche = published(&agent.browser, "dijon", CANTINE).await;
    let usager = personas::usager(&s).await;
    for name in ["Léa", "Noé", "Inès"] {
        let started = usager
            .browser
            .post(&format!("{demarche}/dossiers"), &[])
            .await;
        let step = started.location.expect("step");
        let saved = usager
            .browser
            .post(
                &step,
                &[
                    ("regime", "standard"),
                    ("enfants[0].prenom", name),
                    ("action", "continuer"),
                ],
            )
            .await;
        assert_eq!(saved.status, 303, "{}", saved.html);
        let id = step.split('/').nth(2).expect("id");
        let done = usager
            .browser
            .post(&format!("/dossiers/{id}/depot"), &[])
            .await;
        assert_eq!(done.status, 303);
    }
    let cookie = agent.browser.cookie("guichet_session").expect("session");
    for path in [
        "/admin/dijon/dossiers.csv?file=tous",
        "/admin/dijon/journal.csv",
    ] {
        let (status, plain, _) = download(&s, &cookie, path, "identity").await;
        assert_eq!(status, 200, "{path}");
        assert!(plain.lines().count() > 3, "{path}: {plain}");
        for encoding in ["gzip", "br"] {
            let (status, body, sent) = download(&s, &cookie, path, encoding).await;
            assert_eq!(status, 200, "{path} with {encoding}");
            assert_eq!(sent, encoding, "{path} is sent compressed");
            // The same rows (the journal gains the export entries of the downloads themselves).
            let rows = |b: &str| b.lines().count();
            assert!(
                rows(&body) >= rows(&plain),
                "{path} with {encoding}: {body}"
            );
            assert_eq!(
                body.lines().next(),
                plain.lines().next(),
                "{path} with {encoding}: header line"
            );
            if path.contains("dossiers") {
                for name in ["Léa", "Noé", "Inès"] {
                    assert!(body.contains(name), "{path} with {encoding}: {name}");
                }
            }
        }
    }
}

#[tokio::test]
async fn the_operator_onboards_a_collectivite_and_its_first_admin_then_the_admin_runs_it() {
    let smtp = SmtpSink::start().await;
    let s = TestServer::with_smtp(&smtp).await;
    let t = personas::collectivites(&s).await;
    let operator = personas::operator(&s, &t).await;

    // Added from the referential, in the web back office; a wrong code says why.
    let wrong = operator
        .browser
        .post(
            "/operateur/collectivites",
            &[("niveau", "commune"), ("code", "99999")],
        )
        .await;
    assert_eq!(wrong.status, 422);
    assert!(wrong.html.contains("99999"), "{}", wrong.html);
    let added = operator
        .browser
        .post(
            "/operateur/collectivites",
            &[("niveau", "commune"), ("code", "21425")],
        )
        .await;
    let page_path = added.location.expect("the collectivité's page");
    let slug = page_path
        .trim_start_matches("/operateur/collectivites/")
        .to_string();
    let home = operator.browser.get("/operateur").await;
    let row = table_row(&home.html, &page_path);
    assert!(row.contains("<strong>aucun</strong>"), "{row}");
    let page = operator.browser.get(&page_path).await;
    assert!(page.html.contains("pas encore d'administrateur"));

    // The first admin is invited; the invitation can be sent again (the old link dies) and
    // revoked.
    let invited = operator
        .browser
        .post(
            &format!("{page_path}/invitations"),
            &[("email", "secretariat@mairie-is.fr")],
        )
        .await;
    assert!(
        invited.html.contains("Invitation envoyée"),
        "{}",
        invited.html
    );
    let first = smtp
        .wait_for("secretariat@mairie-is.fr", "Invitation")
        .await;
    let id = invited
        .html
        .split(&format!("{page_path}/invitations/"))
        .nth(1)
        .and_then(|r| r.split('/').next())
        .expect("the pending invitation")
        .to_string();
    let resent = operator
        .browser
        .post(&format!("{page_path}/invitations/{id}/renvoi"), &[])
        .await;
    assert!(
        resent.html.contains("Invitation renvoyée"),
        "{}",
        resent.html
    );
    // The mailbox is not ordered: the new mail is the one with another link.
    let second = loop {
        let newer = smtp
            .received()
            .into_iter()
            .find(|m| m.to.contains("secretariat@mairie-is.fr") && m.link() != first.link());
        if let Some(m) = newer {
            break m;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_ne!(first.link(), second.link());
    let newcomer = s.browser();
    assert_eq!(
        newcomer.get(&first.link()).await.status,
        404,
        "the old link died"
    );
    let revoked = operator
        .browser
        .post(&format!("{page_path}/invitations/{id}/revocation"), &[])
        .await;
    assert!(revoked.html.contains("révoquée"));
    assert_eq!(newcomer.get(&second.link()).await.status, 404, "revoked");

    // From the command line this time (as the README says), then accepted with a second factor.
    let (ok, out, err) = run_cli(
        &[
            vec![
                "collectivite",
                "invite",
                "--tenant",
                &slug,
                "--email",
                "maire@mairie-is.fr",
            ],
            s.db.cli_args().iter().map(String::as_str).collect(),
        ]
        .concat(),
    );
    assert!(ok, "{out}{err}");
    let link = out
        .split_whitespace()
        .find(|w| w.contains("/invitation/"))
        .expect("the link is printed");
    let path = &link[link.find("/invitation/").expect("path")..];
    let accepted = newcomer
        .post(path, &[("nom", "Alex Maire"), ("mot_de_passe", PASSWORD)])
        .await;
    assert_eq!(accepted.location.as_deref(), Some("/compte/securite"));
    let enrol = newcomer.get("/compte/securite").await;
    let secret = enrol
        .html
        .split("<code class=\"secret\">")
        .nth(1)
        .and_then(|r| r.split('<').next())
        .expect("secret shown")
        .to_string();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_secs();
    let code = compte::totp_code(&secret, now).expect("code");
    newcomer.post("/compte/securite", &[("code", &code)]).await;
    let space = newcomer.get(&format!("/admin/{slug}")).await;
    assert_eq!(space.status, 200, "{}", space.html);
    // The admin does the rest: the team page, and giving themselves the other roles.
    assert_eq!(
        newcomer.get(&format!("/admin/{slug}/equipe")).await.status,
        200
    );
    let home = operator.browser.get("/operateur").await;
    let row = table_row(&home.html, &page_path);
    assert!(row.ends_with("<td>1</td>"), "one admin now: {row}");

    // Journaled: the collectivité, each invitation change.
    let journal = guichet_store::journal::list(s.db(), &Default::default(), 200)
        .await
        .expect("journal");
    for action in [
        "collectivite.ajout",
        "equipe.invitation",
        "equipe.invitation_renvoyee",
        "equipe.invitation_revoquee",
    ] {
        assert!(
            journal.iter().any(|e| e.event.action == action),
            "{action} is journaled"
        );
    }
    assert!(guichet_store::journal::verify(s.db())
        .await
        .expect("verify")
        .is_ok());
}

/// An attribute's value as the browser reads it (the entities askama writes decoded).
fn unescape(s: &str) -> String {
    s.replace("&#38;", "&")
        .replace("&amp;", "&")
        .replace("&#x2f;", "/")
        .replace("&#x2F;", "/")
        .replace("&#61;", "=")
}

/// The table row of a page that links to `href`.
fn table_row(html: &str, href: &str) -> String {
    let at = html.find(&format!("href=\"{href}\"")).expect("the row");
    let start = html[..at].rfind("<tr>").expect("row start");
    let end = at + html[at..].find("</tr>").expect("row end");
    html[start..end].to_string()
}

#[tokio::test]
async fn the_home_page_a_collectivite_s_page_and_search_lead_to_reporting_and_following() {
    let s = TestServer::start().await;
    let t = personas::collectivites(&s).await;
    let _ = &t;
    let visitor = s.browser();
    for page in ["/", "/collectivites/dijon"] {
        let html = visitor.get(page).await.html;
        for link in ["/signalements/nouveau", "/suivi", "/dossiers"] {
            assert!(
                html.contains(&format!("href=\"{link}")),
                "{page} leads to {link}"
            );
        }
    }
    // "nid de poule" in Dijon: reporting it is offered, with who handles it.
    let found = visitor.get("/recherche?q=nid+de+poule&commune=21231").await;
    assert_eq!(found.status, 200);
    assert!(
        found.html.contains("Signaler : Chaussée dégradée"),
        "{}",
        found.html
    );
    assert!(found.html.contains("Transmis à Dijon"), "{}", found.html);
    let link = found
        .html
        .split("href=\"/signalements/nouveau?")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .map(unescape)
        .expect("a link to the prefilled form");
    let form = visitor.get(&format!("/signalements/nouveau?{link}")).await;
    assert!(link.contains("commune=21231"), "{link}");
    assert!(
        form.html.contains("value=\"Dijon\""),
        "commune prefilled: {}",
        form.html
    );
    assert!(
        form.html.contains("selected>Chaussée dégradée"),
        "category chosen"
    );
    // In a commune that is not on the platform, who is competent is said all the same.
    let semur = visitor.get("/recherche?q=nid+de+poule&commune=21603").await;
    assert!(
        semur.html.contains("Signaler : Chaussée dégradée"),
        "{}",
        semur.html
    );

    // The agent reaches the signalements from their home.
    let agent = personas::agent(&s, "moderateur@dijon.fr", &t.dijon, Role::Moderateur).await;
    let home = agent.browser.get("/admin/dijon").await;
    assert!(home.html.contains("href=\"/admin/dijon/signalements\""));
}

#[tokio::test]
async fn legal_pages_are_linked_from_every_page_and_say_who_is_responsible() {
    let s = TestServer::start_with(|c| {
        c.legal = guichet_web::accueil::mentions::LegalInfo {
            publisher: Some("Région Bourgogne-Franche-Comté".into()),
            director: Some("La présidente du conseil régional".into()),
            address: Some("4 square Castan, 25031 Besançon".into()),
            host: Some("Hébergeur souverain, Dijon".into()),
            dpo: Some("dpo@region.example".into()),
        }
    })
    .await;
    let t = personas::collectivites(&s).await;
    let admin = personas::agent(&s, "admin@dijon.fr", &t.dijon, Role::Admin).await;
    published(&admin.browser, "dijon", CANTINE).await;
    let visitor = s.browser();
    for page in [
        "/",
        "/connexion",
        "/recherche?q=cantine",
        "/signalements/nouveau",
    ] {
        let html = visitor.get(page).await.html;
        for link in [
            "/mentions-legales",
            "/donnees-personnelles",
            "/conditions-d-utilisation",
            "/accessibilite",
        ] {
            assert!(
                html.contains(&format!("href=\"{link}\"")),
                "{page} links to {link}"
            );
        }
    }
    let notice = visitor.get("/mentions-legales").await.html;
    for fact in [
        "Région Bourgogne-Franche-Comté",
        "4 square Castan",
        "Hébergeur souverain",
        "dpo@region.example",
    ] {
        assert!(notice.contains(fact), "{fact}");
    }
    let privacy = visitor.get("/donnees-personnelles").await.html;
    assert!(privacy.contains("Inscription à la cantine") && privacy.contains("24 mois"));
    assert!(privacy.contains("CNIL") && privacy.contains("dpo@region.example"));
    let terms = visitor.get("/conditions-d-utilisation").await;
    assert_eq!(terms.status, 200);
}

#[tokio::test]
async fn times_shown_to_people_are_french_time() {
    let s = TestServer::start().await;
    let t = personas::collectivites(&s).await;
    let admin = personas::agent(&s, "admin@dijon.fr", &t.dijon, Role::Admin).await;
    let equipe = admin.browser.get("/admin/dijon/equipe").await;
    assert_eq!(equipe.status, 200);
    let invited = admin
        .browser
        .post(
            "/admin/dijon/equipe/invitations",
            &[("email", "nouvel@dijon.fr"), ("roles", "instructeur")],
        )
        .await;
    assert!(!invited.html.contains("UTC"), "{}", invited.html);
    // The expiry shown is 7 days from now in Paris time.
    let expiry = guichet_store::now_ms() + 7 * 24 * 3_600_000;
    let paris = jiff_expected(expiry);
    assert!(invited.html.contains(&paris), "{paris} in {}", invited.html);
}

/// "dd/mm/yyyy à hh:mm" in Europe/Paris, computed independently of the server's formatting:
/// the offset is +1 h in winter and +2 h between the last Sundays of March and October.
fn jiff_expected(ms: i64) -> String {
    use time::OffsetDateTime;
    let utc = OffsetDateTime::from_unix_timestamp(ms / 1000).expect("time");
    let last_sunday = |month: time::Month| {
        let mut d = time::Date::from_calendar_date(utc.year(), month, 31).expect("date");
        while d.weekday() != time::Weekday::Sunday {
            d = d.previous_day().expect("day");
        }
        d.with_hms(1, 0, 0).expect("1h UTC").assume_utc()
    };
    let summer = utc >= last_sunday(time::Month::March) && utc < last_sunday(time::Month::October);
    let local = utc + time::Duration::hours(if summer { 2 } else { 1 });
    format!(
        "{:02}/{:02}/{} à {:02}:{:02}",
        local.day(),
        u8::from(local.month()),
        local.year(),
        local.hour(),
        local.minute()
    )
}

#[tokio::test]
async fn error_summaries_name_the_field_and_the_repetition_and_link_to_it() {
    let s = TestServer::start().await;
    let t = personas::collectivites(&s).await;
    let admin = personas::agent(&s, "admin@dijon.fr", &t.dijon, Role::Admin).await;
    let demarche = published(&admin.browser, "dijon", CANTINE).await;
    let usager = personas::usager(&s).await;
    let step = usager
        .browser
        .post(&format!("{demarche}/dossiers"), &[])
        .await
        .location
        .expect("step");
    let added = usager
        .browser
        .post(
            &step,
            &[("enfants[0].prenom", "Léa"), ("action", "ajouter:enfants")],
        )
        .await;
    assert!(added.html.contains("Enfant 2"));
    let bad = usager
        .browser
        .post(
            &step,
            &[
                ("enfants[0].prenom", "Léa"),
                ("enfants[1].prenom", ""),
                ("action", "continuer"),
            ],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(
        bad.html
            .contains("<a href=\"#enfants-1--prenom\">Enfant 2 — Prénom : "),
        "{}",
        bad.html
    );
    assert!(
        bad.html.contains("<a href=\"#regime\">Régime : "),
        "{}",
        bad.html
    );
    assert!(
        bad.html.contains("id=\"enfants-1--prenom\""),
        "the link has a target"
    );
}

#[tokio::test]
async fn the_usager_hears_from_the_service_and_sees_accesses_in_plain_words() {
    let s = TestServer::start().await;
    let t = personas::collectivites(&s).await;
    let agent = personas::dijon_instructing_admin(&s, &t, "jean.dupont.perso@gmail.example").await;
    let demarche = published(&agent.browser, "dijon", CANTINE).await;
    let usager = personas::usager(&s).await;
    let id = filed(&usager.browser, &demarche, "Léa").await;
    for _ in 0..4 {
        agent
            .browser
            .get(&format!("/admin/dijon/dossiers/{id}"))
            .await;
    }
    agent
        .browser
        .post(
            &format!("/admin/dijon/dossiers/{id}/action"),
            &[("action", "corriger"), ("motif", "Précisez le régime.")],
        )
        .await;
    let page = usager.browser.get(&format!("/dossiers/{id}")).await;
    assert!(!page.html.contains("jean.dupont.perso"), "{}", page.html);
    assert!(
        page.html.contains("— Dijon"),
        "the service speaks: {}",
        page.html
    );

    let accesses = usager.browser.get("/compte/acces").await.html;
    assert!(!accesses.contains("jean.dupont.perso"), "{accesses}");
    assert!(!accesses.contains("en_correction") && !accesses.contains("fichiers.export"));
    assert!(accesses.contains("en attente de correction"), "{accesses}");
    // Four openings and the page shown again after the action: one line.
    assert!(
        accesses.contains("(5 fois)"),
        "five openings, one line: {accesses}"
    );
    assert_eq!(
        accesses.matches("<td>a consulté</td>").count(),
        1,
        "{accesses}"
    );
}

#[tokio::test]
async fn tracking_codes_are_unambiguous_and_accepted_as_people_type_them() {
    for _ in 0..200 {
        let code = guichet_store::secret::readable_code(10);
        assert_eq!(code.len(), 10);
        assert!(!code.contains(['I', 'L', 'O', '0', '1']), "{code}");
    }
    // The whole counter journey (filed, printed, followed typed in lower case with spaces) is in
    // counter.rs; here, the screen says "envoyé par courriel" only when it was.
    let s = TestServer::start().await;
    let t = personas::collectivites(&s).await;
    let agent = personas::dijon_instructing_admin(&s, &t, "accueil@dijon.fr").await;
    published(&agent.browser, "dijon", CANTINE).await;
    let demarches = guichet_store::demarche::list(s.db(), t.dijon.id)
        .await
        .expect("list");
    let choice = format!("{}:{}", t.dijon.id, demarches[0].id);
    let opened = agent
        .browser
        .post(
            "/admin/dijon/guichet",
            &[
                ("demarche", &choice),
                ("prenom", "Paul"),
                ("nom", "Sanscourriel"),
            ],
        )
        .await;
    let step = opened.location.expect("the first step");
    agent
        .browser
        .post(
            &step,
            &[
                ("regime", "standard"),
                ("enfants[0].prenom", "Léa"),
                ("action", "continuer"),
            ],
        )
        .await;
    let id = step.split('/').nth(2).expect("id");
    let done = agent
        .browser
        .post(&format!("/dossiers/{id}/depot"), &[])
        .await;
    let shown = agent
        .browser
        .get(done.location.as_deref().expect("page"))
        .await;
    assert!(
        !shown.html.contains("envoyé par courriel"),
        "{}",
        shown.html
    );
    assert!(
        shown.html.contains("imprimez l&#39;accusé"),
        "{}",
        shown.html
    );
    let accuse = pdf_text(&agent.browser, &format!("/dossiers/{id}/accuse.pdf")).await;
    assert!(
        accuse.contains(&format!("{}/suivi", s.base)),
        "the full address: {accuse}"
    );
}

#[tokio::test]
async fn publishing_what_the_platform_cannot_offer_is_refused_with_the_reason() {
    let s = TestServer::start().await;
    let t = personas::collectivites(&s).await;
    let admin = personas::agent(&s, "admin@dijon.fr", &t.dijon, Role::Admin).await;
    let with_fc = CANTINE.replace(
        "\"retention_months\": 24,",
        "\"retention_months\": 24, \"identity\": \"franceconnect\",",
    );
    let created = admin
        .browser
        .post("/admin/dijon/demarches", &[("definition", &with_fc)])
        .await;
    let location = created.location.expect("created as a draft");
    let refused = admin
        .browser
        .post(&format!("{location}/publication"), &[])
        .await;
    assert_eq!(refused.status, 422, "{}", refused.html);
    assert!(
        refused
            .html
            .contains("FranceConnect n&#39;est pas configuré"),
        "{}",
        refused.html
    );
    assert_eq!(
        s.browser()
            .get("/demarches/dijon/inscription-a-la-cantine")
            .await
            .status,
        404,
        "nothing was published"
    );
}

#[tokio::test]
async fn the_decision_letter_carries_the_conditions_of_the_acceptance() {
    let s = TestServer::start().await;
    let t = personas::collectivites(&s).await;
    let agent = personas::dijon_instructing_admin(&s, &t, "agent@dijon.fr").await;
    let demarche = published(&agent.browser, "dijon", CANTINE).await;
    let usager = personas::usager(&s).await;
    let id = filed(&usager.browser, &demarche, "Léa").await;
    for (action, motif) in [
        ("instruire", ""),
        ("accepter", "Repas servis à partir du 4 janvier."),
    ] {
        let r = agent
            .browser
            .post(
                &format!("/admin/dijon/dossiers/{id}/action"),
                &[("action", action), ("motif", motif)],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.html);
    }
    let letter = pdf_text(&usager.browser, &format!("/dossiers/{id}/decision.pdf")).await;
    assert!(letter.contains("Conditions"), "{letter}");
    assert!(letter.contains("4 janvier"), "{letter}");
}

#[tokio::test]
async fn the_agent_works_a_queue_by_demarche_in_bulk_and_sees_commune_names_and_photos() {
    let s = TestServer::start().await;
    let t = personas::collectivites(&s).await;
    let agent = personas::dijon_instructing_admin(&s, &t, "agent@dijon.fr").await;
    let cantine = published(&agent.browser, "dijon", CANTINE).await;
    let other = published(
        &agent.browser,
        "dijon",
        &CANTINE.replace(
            "Inscription à la cantine",
            "Inscription au centre de loisirs",
        ),
    )
    .await;
    let usager = personas::usager(&s).await;
    let mut ids = Vec::new();
    for demarche in [&cantine, &cantine, &other] {
        let id = filed(&usager.browser, demarche, "Léa").await;
        ids.push(id);
    }
    // Filter by démarche.
    let queue = agent.browser.get("/admin/dijon/dossiers?file=tous").await;
    let option = queue
        .html
        .split("<option value=\"")
        .find(|o| o.contains("Inscription au centre de loisirs"))
        .and_then(|o| o.split('"').next())
        .expect("the démarche in the filter")
        .to_string();
    let filtered = agent
        .browser
        .get(&format!(
            "/admin/dijon/dossiers?file=tous&demarche={option}"
        ))
        .await;
    assert!(
        filtered.html.contains("1 dossier(s) affiché(s)"),
        "{}",
        filtered.html
    );
    let unknown = agent
        .browser
        .get("/admin/dijon/dossiers?file=tous&demarche=999999")
        .await;
    assert_eq!(unknown.status, 422);

    // Two dossiers to instruction at once, then both to an agent; a foreign id is ignored.
    let (a, b) = (ids[0].to_string(), ids[1].to_string());
    let moved = agent
        .browser
        .post(
            "/admin/dijon/dossiers/lot",
            &[
                ("dossiers", &a),
                ("dossiers", &b),
                ("dossiers", "999999"),
                ("lot", "instruire"),
            ],
        )
        .await;
    assert!(
        moved.html.contains("2 dossier(s) passé(s) en instruction"),
        "{}",
        moved.html
    );
    let assigned = agent
        .browser
        .post(
            "/admin/dijon/dossiers/lot",
            &[
                ("dossiers", &a),
                ("dossiers", &b),
                ("lot", "attribuer"),
                ("agent_lot", &agent.user_id.to_string()),
            ],
        )
        .await;
    assert!(
        assigned.html.contains("2 dossier(s) attribué(s)"),
        "{}",
        assigned.html
    );
    let mine = agent.browser.get("/admin/dijon/dossiers?file=suivis").await;
    assert!(
        mine.html.contains("2 dossier(s) affiché(s)"),
        "{}",
        mine.html
    );
    let nothing = agent
        .browser
        .post("/admin/dijon/dossiers/lot", &[("lot", "instruire")])
        .await;
    assert_eq!(nothing.status, 422);
    assert!(nothing.html.contains("Cochez au moins un dossier"));
    let journal = guichet_store::journal::list(s.db(), &Default::default(), 200)
        .await
        .expect("journal");
    assert_eq!(
        journal
            .iter()
            .filter(|e| e.event.action == "dossier.attribution")
            .count(),
        2,
        "each dossier assigned has its entry"
    );

    // The dossier page: answers in the main column, actions beside them.
    let page = agent
        .browser
        .get(&format!("/admin/dijon/dossiers/{a}"))
        .await
        .html;
    let main = page.find("class=\"work-main\"").expect(&page);
    let side = page.find("class=\"work-side\"").expect("actions column");
    assert!(main < side && page[main..side].contains("Réponses"));
    assert!(page[side..].contains("Décider") && page[side..].contains("Attribution"));
}

#[tokio::test]
async fn login_then_logout_shows_no_utc_anywhere_on_the_account_pages() {
    let s = TestServer::start().await;
    let usager = personas::usager(&s).await;
    login(&usager.browser, &usager.email).await;
    for page in ["/compte", "/compte/sessions", "/compte/acces", "/dossiers"] {
        let html = usager.browser.get(page).await.html;
        assert!(!html.contains("UTC"), "{page}: {html}");
    }
}

#[tokio::test]
async fn agents_and_usagers_read_commune_names_not_insee_codes() {
    let s = TestServer::start().await;
    let t = personas::collectivites(&s).await;
    let agent = personas::dijon_instructing_admin(&s, &t, "agent@dijon.fr").await;
    let definition = CANTINE.replace(
        r#"{ "id": "regime","#,
        r#"{ "id": "commune", "label": "Commune de l'école", "type": "commune", "required": true },
      { "id": "regime","#,
    );
    let demarche = published(&agent.browser, "dijon", &definition).await;
    let usager = personas::usager(&s).await;
    let step = usager
        .browser
        .post(&format!("{demarche}/dossiers"), &[])
        .await
        .location
        .expect("step");
    let saved = usager
        .browser
        .post(
            &step,
            &[
                ("commune", "21231"),
                ("regime", "standard"),
                ("enfants[0].prenom", "Léa"),
                ("action", "continuer"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.html);
    let id = step.split('/').nth(2).expect("id");
    let recap = usager
        .browser
        .get(&format!("/dossiers/{id}/recapitulatif"))
        .await;
    assert!(recap.html.contains("Dijon (21231)"), "{}", recap.html);
    usager
        .browser
        .post(&format!("/dossiers/{id}/depot"), &[])
        .await;
    let page = agent
        .browser
        .get(&format!("/admin/dijon/dossiers/{id}"))
        .await;
    assert!(page.html.contains("Dijon (21231)"), "{}", page.html);
    let queue = agent.browser.get("/admin/dijon/dossiers?file=tous").await;
    assert!(queue.html.contains("<td>Dijon</td>"), "{}", queue.html);
}
