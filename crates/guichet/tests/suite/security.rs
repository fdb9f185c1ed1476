//! The attacks of an attacker's week, replayed: each test does what the attacker did and checks
//! what they get now.

use crate::first_day::{published, CANTINE};
use crate::personas::{self, PASSWORD};
use crate::support::{field_value, SmtpSink, TestServer};
use guichet_domain::role::Role;
use guichet_store::compte::Kind;

fn cells(csv: &str) -> Vec<String> {
    csv.lines()
        .flat_map(|l| l.split(';').map(|c| c.trim_matches('"').to_string()))
        .collect()
}

/// Finding 6: formulas typed by the public reach agents' spreadsheets unescaped.
#[tokio::test]
async fn formulas_typed_by_the_public_are_neutralised_in_every_export() {
    let s = TestServer::start().await;
    let t = personas::collectivites(&s).await;
    let agent = personas::persona(
        &s,
        Kind::Agent,
        "agent@dijon.fr",
        &[
            (&t.dijon, Role::Admin),
            (&t.dijon, Role::Instructeur),
            (&t.dijon, Role::Moderateur),
        ],
    )
    .await;
    let demarche = published(&agent.browser, "dijon", CANTINE).await;
    // The attacker signs up with a formula as their name.
    let attacker = {
        let user = guichet_store::compte::create(
            s.db(),
            Kind::Usager,
            "attaquant@exemple.fr",
            "=HYPERLINK(\"http://evil.example\",\"Cliquez\")",
            Some(PASSWORD),
        )
        .await
        .expect("account");
        guichet_store::compte::mark_email_confirmed(s.db(), user.id)
            .await
            .expect("confirm");
        let (cookie, _) = guichet_store::session::create(s.db(), user.id, false, None, None)
            .await
            .expect("session");
        let browser = s.browser();
        browser.set_cookie("guichet_session", &cookie);
        browser
    };
    let step = attacker
        .post(&format!("{demarche}/dossiers"), &[])
        .await
        .location
        .expect("step");
    attacker
        .post(
            &step,
            &[
                ("regime", "standard"),
                ("enfants[0].prenom", "@SUM(1+1)"),
                ("action", "continuer"),
            ],
        )
        .await;
    let id = step.split('/').nth(2).expect("id");
    attacker.post(&format!("/dossiers/{id}/depot"), &[]).await;
    // A report by the same member of the public, with formulas as its place and description.
    let passerby = &attacker;
    let category = guichet_store::signalement::categories(s.db())
        .await
        .expect("categories")
        .into_iter()
        .find(|c| c.code == "eclairage_public")
        .expect("category");
    let sent = passerby
        .post_multipart(
            "/signalements",
            reqwest::multipart::Form::new()
                .text("commune", "Dijon")
                .text("categorie", category.id.to_string())
                .text("adresse", "=cmd|' /C calc'!A0")
                .text("description", "+HYPERLINK(\"http://evil.example\")"),
        )
        .await;
    assert_eq!(sent.status, 303, "{}", sent.html);

    let dossiers = agent
        .browser
        .get("/admin/dijon/dossiers.csv?file=tous")
        .await
        .html;
    let journal = agent.browser.get("/admin/dijon/journal.csv").await.html;
    let reports = agent
        .browser
        .get("/admin/dijon/signalements/export/signalements.csv")
        .await
        .html;
    for (what, csv) in [
        ("dossiers", &dossiers),
        ("journal", &journal),
        ("signalements", &reports),
    ] {
        for cell in cells(csv) {
            let formula = cell.starts_with(['=', '+', '@'])
                || (cell.starts_with('-') && cell.parse::<f64>().is_err() && cell.len() > 1);
            assert!(
                !formula,
                "{what}: a cell a spreadsheet would run: {cell}\n{csv}"
            );
        }
    }
    assert!(
        dossiers.contains("'=HYPERLINK"),
        "the name is kept, made inert: {dossiers}"
    );
    assert!(reports.contains("'+HYPERLINK"), "{reports}");
    // The XLSX too.
    let r = agent
        .browser
        .client
        .get(format!("{}/admin/dijon/dossiers.xlsx?file=tous", s.base))
        .send()
        .await
        .expect("xlsx");
    let bytes = r.bytes().await.expect("body");
    let mut book: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.to_vec())).expect("xlsx");
    use calamine::Reader;
    let sheet = book.worksheet_range("Dossiers").expect("sheet");
    for row in sheet.rows() {
        for cell in row {
            let text = cell.to_string();
            assert!(!text.starts_with(['=', '+', '@']), "xlsx: {text}");
        }
    }
}

/// Finding 9: an older reset link still worked, the reset skipped the e-mail rule, and blank,
/// invisible or repeated passwords were accepted.
#[tokio::test]
async fn reset_links_die_with_any_password_change_and_weak_passwords_are_refused_everywhere() {
    let smtp = SmtpSink::start().await;
    let s = TestServer::with_smtp(&smtp).await;
    let usager = personas::usager(&s).await;
    let anonymous = s.browser();
    for _ in 0..2 {
        anonymous
            .post("/mot-de-passe-oublie", &[("email", &usager.email)])
            .await;
    }
    let mut links = Vec::new();
    for _ in 0..100 {
        links = smtp
            .received()
            .into_iter()
            .filter(|m| m.to.contains(&usager.email))
            .map(|m| m.link().replacen(&s.base, "", 1))
            .collect();
        if links.len() >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(links.len(), 2, "two reset links");
    // The reset form applies every rule, the address one included; a refusal keeps the link.
    for (weak, why) in [
        ("camille-et-sa-phrase-longue", "adresse électronique"),
        (&" ".repeat(12) as &str, "invisible"),
        (&"\u{200B}".repeat(12) as &str, "invisible"),
        ("aaaaaaaaaaaa", "deviné trop vite"),
    ] {
        let refused = anonymous.post(&links[1], &[("mot_de_passe", weak)]).await;
        assert_eq!(refused.status, 422, "{weak:?}: {}", refused.html);
        assert!(refused.html.contains(why), "{weak:?}: {}", refused.html);
    }
    let done = anonymous
        .post(
            &links[1],
            &[("mot_de_passe", "un nouveau cheval agrafe correct")],
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.html);
    // The older link died with the change.
    let older = anonymous
        .post(&links[0], &[("mot_de_passe", "la porte arriere du pirate")])
        .await;
    assert_eq!(older.status, 404, "{}", older.html);
    // Sign-up and the account page refuse the same passwords.
    let signup = anonymous
        .post(
            "/inscription",
            &[
                ("nom", "X"),
                ("email", "x@exemple.fr"),
                ("mot_de_passe", "aaaaaaaaaaaa"),
            ],
        )
        .await;
    assert_eq!(signup.status, 422);
    let login = usager
        .browser
        .post(
            "/connexion",
            &[
                ("email", &usager.email),
                ("mot_de_passe", "un nouveau cheval agrafe correct"),
            ],
        )
        .await;
    assert_eq!(login.status, 303, "{}", login.html);
    let change = usager
        .browser
        .post(
            "/compte/mot-de-passe",
            &[
                ("actuel", "un nouveau cheval agrafe correct"),
                ("nouveau", &"\u{200B}".repeat(14)),
            ],
        )
        .await;
    assert_eq!(change.status, 422, "{}", change.html);
}

/// Finding 10: agents wrote messages and assignments on drafts the back office hides from them.
#[tokio::test]
async fn agents_cannot_write_on_a_draft_they_cannot_see() {
    let s = TestServer::start().await;
    let t = personas::collectivites(&s).await;
    let agent = personas::dijon_instructing_admin(&s, &t, "agent@dijon.fr").await;
    let demarche = published(&agent.browser, "dijon", CANTINE).await;
    let usager = personas::usager(&s).await;
    let step = usager
        .browser
        .post(&format!("{demarche}/dossiers"), &[])
        .await
        .location
        .expect("step");
    let id = step.split('/').nth(2).expect("id").to_string();
    let token = agent.browser.csrf().await;
    let message = agent
        .browser
        .post_multipart(
            &format!("/admin/dijon/dossiers/{id}/messages"),
            reqwest::multipart::Form::new()
                .text("texte", "Je lis votre brouillon")
                .text("genre", "message")
                .text("_csrf", token),
        )
        .await;
    assert_eq!(message.status, 404, "{}", message.html);
    let assign = agent
        .browser
        .post(
            &format!("/admin/dijon/dossiers/{id}/attribution"),
            &[("agent", &agent.user_id.to_string())],
        )
        .await;
    assert_eq!(assign.status, 404);
    let bulk = agent
        .browser
        .post(
            "/admin/dijon/dossiers/lot",
            &[
                ("dossiers", &id),
                ("lot", "attribuer"),
                ("agent_lot", &agent.user_id.to_string()),
            ],
        )
        .await;
    assert!(
        bulk.html.contains("0 dossier(s) attribué(s)"),
        "{}",
        bulk.html
    );
    let history =
        guichet_store::dossier::history(s.db(), t.dijon.id, id.parse().expect("id"), true)
            .await
            .expect("history");
    assert!(
        history.is_empty(),
        "nothing written on the draft: {history:?}"
    );
    let x = guichet_store::dossier::get(s.db(), t.dijon.id, id.parse().expect("id"))
        .await
        .expect("q")
        .expect("dossier");
    assert_eq!(x.assigned_to, None);
}

/// Finding 12: the CSRF token was bound to its own cookie only; a collectivité's journal showed
/// what its agents did elsewhere; /metrics was public; Open311 `tokens/` confirmed hidden reports.
#[tokio::test]
async fn csrf_tokens_die_with_their_session() {
    let s = TestServer::start().await;
    let usager = personas::usager(&s).await;
    let page = usager.browser.get("/compte").await;
    let token = field_value(&page.html, "_csrf").expect("a form token");
    let seed = usager.browser.cookie("guichet_csrf").expect("seed");
    // The same browser seed, another session (the victim's, or a new one after sign-out): the
    // old token is refused.
    let other = personas::persona(&s, Kind::Usager, "autre@exemple.fr", &[]).await;
    other.browser.set_cookie("guichet_csrf", &seed);
    let forged = other
        .browser
        .post_raw("/compte/sessions/fermer-tout", &[("_csrf", &token)])
        .await;
    assert_eq!(forged.status, 403, "{}", forged.html);
    // With its own session, the token works: every session is closed, and sign-in is offered.
    let ok = usager
        .browser
        .post_raw("/compte/sessions/fermer-tout", &[("_csrf", &token)])
        .await;
    assert_eq!(ok.status, 200, "{}", ok.html);
    assert!(ok.html.contains("<h1>Se connecter</h1>"), "{}", ok.html);
    assert_eq!(
        usager.browser.get("/compte").await.status,
        303,
        "signed out"
    );
}

#[tokio::test]
async fn a_collectivite_s_journal_does_not_show_what_a_shared_agent_did_elsewhere() {
    let s = TestServer::start().await;
    let t = personas::collectivites(&s).await;
    let shared = personas::persona(
        &s,
        Kind::Agent,
        "partage@agglo.fr",
        &[(&t.dijon, Role::Admin), (&t.macon, Role::Admin)],
    )
    .await;
    shared
        .browser
        .post(
            "/admin/macon/equipe/invitations",
            &[("email", "secret-macon@macon.fr"), ("roles", "instructeur")],
        )
        .await;
    let dijon = shared.browser.get("/admin/dijon/journal").await.html;
    assert!(!dijon.contains("secret-macon"), "{dijon}");
    let macon = shared.browser.get("/admin/macon/journal").await.html;
    assert!(macon.contains("equipe.invitation"), "{macon}");
}

#[tokio::test]
async fn metrics_need_the_scraper_s_token_when_one_is_configured() {
    let s = TestServer::start_with(|c| {
        c.metrics_token = Some(guichet_web::security::Secret("jeton-de-prometheus".into()))
    })
    .await;
    assert_eq!(s.get("/metrics").await.status(), 401);
    let wrong = s
        .client
        .get(format!("{}/metrics", s.base))
        .bearer_auth("devine")
        .send()
        .await
        .expect("metrics");
    assert_eq!(wrong.status(), 401);
    let right = s
        .client
        .get(format!("{}/metrics", s.base))
        .bearer_auth("jeton-de-prometheus")
        .send()
        .await
        .expect("metrics");
    assert_eq!(right.status(), 200);
    assert!(right
        .text()
        .await
        .expect("body")
        .contains("guichet_http_requests_total"));
}

#[tokio::test]
async fn open311_tokens_answer_alike_for_unknown_and_hidden_reports() {
    let s = TestServer::start().await;
    let t = personas::collectivites(&s).await;
    let siren = t.dijon.siren.clone().expect("siren");
    let category = guichet_store::signalement::categories(s.db())
        .await
        .expect("categories")
        .into_iter()
        .find(|c| c.code == "eclairage_public")
        .expect("category");
    // An anonymous report waiting for its confirmation: not public.
    s.browser()
        .post_multipart(
            "/signalements",
            reqwest::multipart::Form::new()
                .text("commune", "Dijon")
                .text("categorie", category.id.to_string())
                .text("adresse", "Rue de la Liberté")
                .text("description", "Lampadaire éteint")
                .text("email", "passant@exemple.fr"),
        )
        .await;
    let hidden: String = sqlx::query_scalar("SELECT number FROM signalements ORDER BY id DESC")
        .fetch_one(s.db().pool())
        .await
        .expect("a report awaiting its confirmation");
    let (hidden_status, hidden_body) = s
        .get_text(&format!(
            "/open311/v2/tokens/{hidden}.json?jurisdiction_id={siren}"
        ))
        .await;
    let (unknown_status, unknown_body) = s
        .get_text(&format!(
            "/open311/v2/tokens/S2026-999999.json?jurisdiction_id={siren}"
        ))
        .await;
    assert_eq!((hidden_status, hidden_body), (unknown_status, unknown_body));
    assert_eq!(unknown_status, 404);
}

async fn api_status(s: &TestServer, token: &str, method: &str, path: &str) -> u16 {
    let url = format!("{}{path}", s.base);
    let req = match method {
        "POST" => s
            .client
            .post(url)
            .json(&serde_json::json!({"action": "refuser", "motif": "par l'API"})),
        _ => s.client.get(url),
    };
    req.bearer_auth(token)
        .send()
        .await
        .expect("API")
        .status()
        .as_u16()
}

/// Finding 1: API tokens outlived and exceeded the agent's roles; admins could not see or revoke
/// other agents' tokens.
#[tokio::test]
async fn an_api_token_never_does_more_than_its_owner_may_do_now() {
    let s = TestServer::start().await;
    let t = personas::collectivites(&s).await;
    let admin_only = personas::agent(&s, "admin@dijon.fr", &t.dijon, Role::Admin).await;
    // In the pages, an admin without the instructeur role is not offered the dossier scopes, and
    // asking for them anyway is refused.
    let page = admin_only.browser.get("/admin/dijon/jetons").await;
    assert!(
        !page.html.contains("value=\"dossiers:ecriture\""),
        "{}",
        page.html
    );
    let refused = admin_only
        .browser
        .post(
            "/admin/dijon/jetons",
            &[("nom", "contournement"), ("portees", "dossiers:ecriture")],
        )
        .await;
    assert_eq!(refused.status, 422);
    assert!(
        refused.html.contains("ne permettent pas"),
        "{}",
        refused.html
    );
    // A token made for them anyway (an older one, or written in the database) does nothing.
    let (_, forged) = guichet_store::jeton::create(
        s.db(),
        t.dijon.id,
        admin_only.user_id,
        "ancien",
        &["dossiers:lecture".into(), "dossiers:ecriture".into()],
        365,
        Default::default(),
    )
    .await
    .expect("token");
    let demarche = published(&admin_only.browser, "dijon", CANTINE).await;
    let usager = personas::usager(&s).await;
    let id = crate::first_day::filed(&usager.browser, &demarche, "Léa").await;
    assert_eq!(
        api_status(&s, &forged, "GET", &format!("/api/v1/dossiers/{id}")).await,
        403
    );
    assert_eq!(
        api_status(&s, &forged, "POST", &format!("/api/v1/dossiers/{id}/etat")).await,
        403
    );

    // An instructeur's token reads dossiers; demoted to modérateur, the same token stops at once.
    let instructeur =
        personas::agent(&s, "instructeur@dijon.fr", &t.dijon, Role::Instructeur).await;
    let (_, token) = guichet_store::jeton::create(
        s.db(),
        t.dijon.id,
        instructeur.user_id,
        "logiciel",
        &["dossiers:lecture".into()],
        365,
        Default::default(),
    )
    .await
    .expect("token");
    assert_eq!(
        api_status(&s, &token, "GET", &format!("/api/v1/dossiers/{id}")).await,
        200
    );
    guichet_store::equipe::grant(
        s.db(),
        t.dijon.id,
        instructeur.user_id,
        Role::Moderateur,
        None,
    )
    .await
    .expect("grant");
    guichet_store::equipe::change_role(
        s.db(),
        t.dijon.id,
        instructeur.user_id,
        Role::Instructeur,
        false,
        None,
        Default::default(),
    )
    .await
    .expect("revoke");
    assert_eq!(
        api_status(&s, &token, "GET", &format!("/api/v1/dossiers/{id}")).await,
        403
    );

    // The admin sees every agent's token, and revokes the instructeur's.
    let list = admin_only.browser.get("/admin/dijon/jetons").await.html;
    assert!(
        list.contains("instructeur@dijon.fr") && list.contains("logiciel"),
        "{list}"
    );
    assert!(
        list.contains("ne le permettent plus"),
        "the dormant scope is shown: {list}"
    );
    let token_id: i64 = sqlx::query_scalar("SELECT id FROM api_tokens WHERE name = 'logiciel'")
        .fetch_one(s.db().pool())
        .await
        .expect("id");
    let revoked = admin_only
        .browser
        .post(&format!("/admin/dijon/jetons/{token_id}/revocation"), &[])
        .await;
    assert!(revoked.html.contains("Jeton révoqué"), "{}", revoked.html);
    assert_eq!(api_status(&s, &token, "GET", "/api/v1/moi").await, 401);

    // Tokens expire.
    let (_, old) = guichet_store::jeton::create(
        s.db(),
        t.dijon.id,
        instructeur.user_id,
        "expiré",
        &["signalements:lecture".into()],
        1,
        Default::default(),
    )
    .await
    .expect("token");
    sqlx::query("UPDATE api_tokens SET expires_at = 1 WHERE name = 'expiré'")
        .execute(s.db().pool())
        .await
        .expect("age it");
    assert_eq!(api_status(&s, &old, "GET", "/api/v1/moi").await, 401);
    let journal = guichet_store::journal::list(s.db(), &Default::default(), 100)
        .await
        .expect("journal");
    assert!(journal.iter().any(|e| e.event.action == "jeton.revocation"));
}

/// Finding 11: slow connections were never closed; a 70 MB body got a 500; a polyglot upload was
/// stored with a `.html` name, right-to-left overrides stayed in names.
#[tokio::test]
async fn a_client_that_sends_its_headers_a_byte_at_a_time_is_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let s =
        TestServer::start_with(|c| c.header_read_timeout = std::time::Duration::from_secs(1)).await;
    let address = s.base.trim_start_matches("http://").to_string();
    let mut slow = tokio::net::TcpStream::connect(&address)
        .await
        .expect("connect");
    let started = std::time::Instant::now();
    let request = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Lent: ";
    let mut closed = false;
    for byte in request.iter().chain(std::iter::repeat_n(&b'a', 200)) {
        if slow.write_all(&[*byte]).await.is_err() {
            closed = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        if started.elapsed() > std::time::Duration::from_secs(6) {
            break;
        }
    }
    if !closed {
        let mut buf = [0u8; 512];
        let read =
            tokio::time::timeout(std::time::Duration::from_secs(3), slow.read(&mut buf)).await;
        closed = matches!(read, Ok(Ok(_)) | Ok(Err(_)));
    }
    assert!(
        closed,
        "the slow client is still connected after {:?}",
        started.elapsed()
    );
    // Meanwhile, and after, the server answers others at once.
    assert_eq!(s.get("/healthz").await.status(), 200);
}

#[tokio::test]
async fn an_oversized_upload_gets_413_and_stored_names_are_made_safe() {
    let s = TestServer::start().await;
    let usager = personas::usager(&s).await;
    let token = usager.browser.csrf().await;
    let big = vec![b'a'; 70 * 1024 * 1024];
    let r = usager
        .browser
        .client
        .post(format!("{}/compte/documents?_csrf={token}", s.base))
        .multipart(reqwest::multipart::Form::new().text("type", "rib").part(
            "fichier",
            reqwest::multipart::Part::bytes(big).file_name("gros.pdf"),
        ))
        .send()
        .await
        .expect("upload");
    assert_eq!(r.status(), 413);
    // The server answers as soon as the limit is crossed and may close before the client has
    // finished sending: the page is read when it arrives.
    if let Ok(page) = r.text().await {
        assert!(page.contains("Envoi trop volumineux"), "{page}");
    }
    // A PDF named as a web page, with a right-to-left override: stored as what it is.
    const PDF: &[u8] =
        b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";
    let sent = usager
        .browser
        .post_multipart(
            "/compte/documents",
            reqwest::multipart::Form::new().text("type", "rib").part(
                "fichier",
                reqwest::multipart::Part::bytes(PDF.to_vec())
                    .file_name("rib\u{202E}lmth.html")
                    .mime_str("application/pdf")
                    .expect("mime"),
            ),
        )
        .await;
    assert_eq!(sent.status, 303, "{}", sent.html);
    let docs = guichet_store::coffre::list(s.db(), usager.user_id)
        .await
        .expect("vault");
    let name = &docs[0].name;
    assert_eq!(name, "riblmth.pdf");
    let r = usager
        .browser
        .client
        .get(format!("{}/compte/documents/{}", s.base, docs[0].id))
        .send()
        .await
        .expect("download");
    let disposition = r.headers()["content-disposition"]
        .to_str()
        .expect("header")
        .to_string();
    assert!(
        disposition.contains("riblmth.pdf") && !disposition.contains(".html"),
        "{disposition}"
    );
}

/// Finding 2: webhook addresses reached the platform's own network, and the delivery status shown
/// on the démarche page made it a port scanner.
#[tokio::test]
async fn webhooks_never_reach_the_platform_s_own_network() {
    // A platform with no allow-listed host, as in production.
    let s = TestServer::start_with(|c| c.outgoing_allowed_hosts.clear()).await;
    let t = personas::collectivites(&s).await;
    let admin = personas::agent(&s, "admin@dijon.fr", &t.dijon, Role::Admin).await;
    published(&admin.browser, "dijon", CANTINE).await;
    let d = guichet_store::demarche::list(s.db(), t.dijon.id)
        .await
        .expect("list")
        .into_iter()
        .next()
        .expect("démarche");
    // A listener on loopback: what an attacker would probe.
    let probe = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let local = format!("http://{}/interne", probe.local_addr().expect("addr"));
    let page = format!("/admin/dijon/demarches/{}/webhook", d.id);
    for url in [
        local.as_str(),
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/",
        "http://[::1]:8080/",
        "http://[::ffff:127.0.0.1]/",
        "http://0.0.0.0/",
    ] {
        let refused = admin.browser.post(&page, &[("url", url)]).await;
        assert_eq!(refused.status, 422, "{url}: {}", refused.html);
        assert!(refused.html.contains("réseau privé ou réservé"), "{url}");
    }
    // A name that resolves to loopback passes the form (it is a name) but not the delivery.
    guichet_store::webhook::configure(
        s.db(),
        t.dijon.id,
        d.id,
        Some(&local.replace("127.0.0.1", "localhost")),
        Default::default(),
    )
    .await
    .expect("configure");
    sqlx::query(
        "INSERT INTO webhook_deliveries (tenant_id, demarche_id, url, body, status, attempts, next_attempt_at, created_at)
         VALUES ($1, $2, $3, '{}', 'pending', 0, 0, 0)",
    )
    .bind(t.dijon.id)
    .bind(d.id)
    .bind(local.replace("127.0.0.1", "localhost"))
    .execute(s.db().pool())
    .await
    .expect("a delivery due");
    let accepted = tokio::time::timeout(std::time::Duration::from_millis(300), probe.accept());
    let (_, failed) = guichet_web::webhook::deliver_due(&s.state, guichet_store::now_ms())
        .await
        .expect("deliver");
    assert!(
        accepted.await.is_err(),
        "nothing connected to the loopback listener"
    );
    assert_eq!(failed, 1, "the delivery failed");
    // What the page shows of any failure: that it failed, nothing more.
    let shown = admin
        .browser
        .get(&format!("/admin/dijon/demarches/{}", d.id))
        .await
        .html;
    assert!(
        !shown.contains("connexion impossible") && !shown.contains("HTTP "),
        "{shown}"
    );
}

/// Finding 8: Open311 keys filed reports outside their collectivité's territory (published at
/// once on another commune's page).
#[tokio::test]
async fn an_open311_key_files_reports_on_its_own_territory_only() {
    let s = TestServer::start().await;
    let cote_d_or = guichet_store::collectivite::add(
        s.db(),
        &guichet_store::collectivite::Target::Departement("21".into()),
        &Default::default(),
        false,
    )
    .await
    .expect("Côte-d'Or");
    let admin = personas::persona(
        &s,
        Kind::Agent,
        "routes@cotedor.fr",
        &[(&cote_d_or, Role::Admin)],
    )
    .await;
    let (_, key) = guichet_store::jeton::create(
        s.db(),
        cote_d_or.id,
        admin.user_id,
        "Application",
        &["open311".to_string()],
        365,
        Default::default(),
    )
    .await
    .expect("key");
    let post = |address: &'static str| {
        let form = vec![
            ("api_key", key.clone()),
            ("service_code", "eclairage_public".to_string()),
            ("address_string", address.to_string()),
            ("description", "Lampadaire éteint.".to_string()),
        ];
        let url = format!("{}/open311/v2/requests.json", s.base);
        let http = s.client.clone();
        async move {
            let r = http.post(url).form(&form).send().await.expect("POST");
            (r.status().as_u16(), r.text().await.expect("body"))
        }
    };
    // Besançon is in the Doubs: refused, nothing published there.
    let (status, body) = post("Place du Huit-Septembre, 25000 Besançon").await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("hors du territoire"), "{body}");
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM signalements")
        .fetch_one(s.db().pool())
        .await
        .expect("count");
    assert_eq!(count, 0);
    // Dijon is in Côte-d'Or: accepted.
    let (status, body) = post("Place Darcy, 21000 Dijon").await;
    assert_eq!(status, 201, "{body}");
}

#[tokio::test]
async fn an_attacker_s_failures_slow_the_attacker_down_not_the_account_s_owner() {
    use crate::support::Browser;
    let smtp = SmtpSink::start().await;
    let s = TestServer::with_smtp_and(&smtp, |c| {
        c.trusted_proxies = vec!["127.0.0.1".parse().expect("proxy")];
    })
    .await;
    let victim = crate::personas::usager(&s).await;
    let attacker = Browser::forwarded_for(&s.base, "198.51.100.66");
    async fn login(b: &Browser, email: &str, password: &str) -> crate::support::Page {
        b.post(
            "/connexion",
            &[("email", email), ("mot_de_passe", password)],
        )
        .await
    }
    for i in 0..12 {
        let page = login(&attacker, &victim.email, &format!("essai numero {i}")).await;
        assert!(
            page.status == 401 || page.status == 429,
            "attempt {i}: {}",
            page.status
        );
    }
    // The attacker now waits, even with the right password.
    let held = login(&attacker, &victim.email, crate::personas::PASSWORD).await;
    assert_eq!(held.status, 429);
    assert!(held.html.contains("réessayez dans"), "{}", held.html);
    // The owner, from home, signs in at once.
    let owner = Browser::forwarded_for(&s.base, "203.0.113.10");
    let page = login(&owner, &victim.email, crate::personas::PASSWORD).await;
    assert_eq!(
        page.status, 303,
        "the owner is not locked out: {}",
        page.html
    );
    // And was told, once.
    let alert = smtp
        .wait_for(&victim.email, "Tentatives de connexion à votre compte")
        .await;
    assert!(alert.body.contains("changez-le"), "{}", alert.body);
    let alerts = smtp
        .received()
        .into_iter()
        .filter(|m| m.subject.contains("Tentatives de connexion"))
        .count();
    assert_eq!(alerts, 1, "one alert per window, not one per failure");

    // A client that connects directly cannot pick its address with the header: the server is
    // not behind a proxy it trusts, so the address is the connection's.
    let direct = TestServer::start().await;
    let victim = crate::personas::usager(&direct).await;
    for i in 0..4 {
        let b = Browser::forwarded_for(&direct.base, &format!("192.0.2.{i}"));
        let page = b
            .post(
                "/connexion",
                &[
                    ("email", victim.email.as_str()),
                    ("mot_de_passe", "faux mot de passe"),
                ],
            )
            .await;
        assert_eq!(page.status, 401);
    }
    let b = Browser::forwarded_for(&direct.base, "192.0.2.200");
    let page = b
        .post(
            "/connexion",
            &[
                ("email", victim.email.as_str()),
                ("mot_de_passe", crate::personas::PASSWORD),
            ],
        )
        .await;
    assert_eq!(
        page.status, 429,
        "a forged header does not escape the delay"
    );
}

/// Finding 8, subscriptions: an Open311 client's `email` and "moi aussi" subscribed any address,
/// without limit. Now the address's owner confirms first, and requests are limited.
#[tokio::test]
async fn nobody_subscribes_someone_else_s_address_to_a_report() {
    let smtp = SmtpSink::start().await;
    let s = TestServer::with_smtp(&smtp).await;
    let t = personas::collectivites(&s).await;
    let admin = personas::agent(&s, "admin@dijon.fr", &t.dijon, Role::Admin).await;
    let (_, key) = guichet_store::jeton::create(
        s.db(),
        t.dijon.id,
        admin.user_id,
        "Application",
        &["open311".to_string()],
        365,
        Default::default(),
    )
    .await
    .expect("key");
    let form = vec![
        ("api_key", key.clone()),
        ("service_code", "eclairage_public".to_string()),
        ("address_string", "Place Darcy, 21000 Dijon".to_string()),
        ("description", "Lampadaire éteint.".to_string()),
        ("email", "victime@exemple.fr".to_string()),
    ];
    let r = s
        .client
        .post(format!("{}/open311/v2/requests.json", s.base))
        .form(&form)
        .send()
        .await
        .expect("POST");
    assert_eq!(r.status().as_u16(), 201);
    let body: serde_json::Value = r.json().await.expect("json");
    let number = body[0]["service_request_id"]
        .as_str()
        .expect("id")
        .to_string();
    let report = guichet_store::signalement::by_number(s.db(), &number)
        .await
        .expect("read")
        .expect("report");
    // The address given by the application gets one mail: the request to confirm. It is not
    // a follower until its owner opens the link.
    let asked = smtp
        .wait_for("victime@exemple.fr", "Confirmez le suivi du signalement")
        .await;
    assert!(asked.body.contains("ignorez ce message"), "{}", asked.body);
    assert!(guichet_store::signalement::followers(s.db(), report.id)
        .await
        .expect("followers")
        .is_empty());

    // "Moi aussi" for someone else's address from one connection: the same, and limited.
    let attacker = s.browser();
    let page = attacker
        .post(
            &format!("/signalements/{number}/moi-aussi"),
            &[("email", "autre.victime@exemple.fr")],
        )
        .await;
    assert_eq!(page.status, 200);
    assert!(page.html.contains("ouvrez le lien"), "{}", page.html);
    let mut limited = None;
    for i in 0..25 {
        let page = attacker
            .post(
                &format!("/signalements/{number}/moi-aussi"),
                &[("email", format!("cible{i}@exemple.fr").as_str())],
            )
            .await;
        if page.status == 429 {
            assert!(
                page.html.contains("Trop de demandes de suivi"),
                "{}",
                page.html
            );
            limited = Some(i);
            break;
        }
    }
    assert!(
        limited.is_some_and(|i| i < 20),
        "a network cannot subscribe addresses without end: {limited:?}"
    );
    // The owner confirms: from then on, news go to that address.
    let page = s.browser().get(&asked.link()).await;
    assert!(page.html.contains("est confirmé"), "{}", page.html);
    assert_eq!(
        guichet_store::signalement::followers(s.db(), report.id)
            .await
            .expect("followers"),
        vec!["victime@exemple.fr".to_string()]
    );
    // The link works once.
    assert_eq!(s.browser().get(&asked.link()).await.status, 404);
}

/// Finding 7: an aidant could create a mandat for any usager's address, with four characters as
/// the identity check and a consent box the aidant ticked; unknown addresses got accounts. Now
/// the usager consents themselves, no account is opened, and the usager can revoke from the mail.
#[tokio::test]
async fn a_mandat_needs_the_usager_s_own_consent() {
    let smtp = SmtpSink::start().await;
    let s = TestServer::with_smtp(&smtp).await;
    let db = s.db();
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
    let victim = personas::usager(&s).await;
    let ask = |email: &str| {
        vec![
            ("email_usager", email.to_string()),
            ("consentement", "code".to_string()),
            ("piece", "carte_identite".to_string()),
            ("piece_fin", "ABCD".to_string()),
            ("piece_verifiee", "oui".to_string()),
            ("domaines", "argent".to_string()),
            ("duree", "12m".to_string()),
        ]
    };
    let post = |fields: Vec<(&'static str, String)>| {
        let b = &aidant.browser;
        async move {
            let f: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            b.post("/aidant/mandats", &f).await
        }
    };
    // An address without an account: refused, and no account is opened.
    let unknown = post(ask("inconnu@exemple.fr")).await;
    assert_eq!(unknown.status, 422);
    assert!(unknown.html.contains("Aucun compte"), "{}", unknown.html);
    assert!(guichet_store::compte::by_email(db, "inconnu@exemple.fr")
        .await
        .expect("lookup")
        .is_none());
    // A real usager's address: only a request; the code goes to the usager, not the aidant.
    let asked = post(ask(&victim.email)).await;
    let request = asked.location.expect("request");
    let mandats = || async {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM mandats")
            .fetch_one(db.pool())
            .await
            .expect("count")
    };
    assert_eq!(mandats().await, 0, "no mandat before the usager consents");
    let mail = smtp
        .wait_for(&victim.email, "Code pour confier un mandat")
        .await;
    assert!(
        mail.body.contains("ne le donnez à personne"),
        "{}",
        mail.body
    );
    // Guessing the code: five tries, then the request is dead, even for the right code.
    let code = mail.subject.rsplit(' ').next().expect("code").to_string();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for i in 0..5 {
        let page = aidant
            .browser
            .post(&format!("{request}/code"), &[("code", wrong)])
            .await;
        assert_eq!(page.status, 422, "try {i}");
    }
    let late = aidant
        .browser
        .post(&format!("{request}/code"), &[("code", code.as_str())])
        .await;
    assert!(late.html.contains("Trop de codes erronés"), "{}", late.html);
    assert_eq!(mandats().await, 0);
    // Another aidant cannot use a request that is not theirs.
    let other = personas::persona(&s, Kind::Agent, "autre.aidant@france-services.fr", &[]).await;
    guichet_store::mandat::add_aidant(
        db,
        structure,
        guichet_store::mandat::NewAidant::Existing(other.user_id),
        false,
        Default::default(),
    )
    .await
    .expect("aidant");
    let second = post(ask(&victim.email)).await.location.expect("request");
    assert_eq!(other.browser.get(&second).await.status, 404);
    smtp.wait_for_other(
        &victim.email,
        "Code pour confier un mandat",
        std::slice::from_ref(&mail),
    )
    .await;
    // The usager gives the code: the mandat exists, and its mail revokes it at once.
    let id =
        crate::aidants::give_mandat(&aidant, &smtp, &victim.email, "famille", "1m", "WXYZ").await;
    let given = smtp
        .wait_for(&victim.email, "Vous avez confié un mandat")
        .await;
    let revoke_link = given
        .body
        .split_whitespace()
        .find(|w| w.contains("/mandats/revocation/"))
        .expect("a revocation link")
        .to_string();
    let stranger = s.browser();
    let form = stranger.get(&revoke_link).await;
    assert!(form.html.contains("Révoquer ce mandat"), "{}", form.html);
    let path = revoke_link.trim_start_matches(&s.base).to_string();
    let done = stranger.post(&path, &[]).await;
    assert!(done.html.contains("Le mandat est révoqué"), "{}", done.html);
    let m = guichet_store::mandat::by_id(db, id)
        .await
        .expect("read")
        .expect("mandat");
    assert!(m.revoked_at.is_some());
    assert_eq!(m.consent_method.as_deref(), Some("code"));
    assert_eq!(
        aidant
            .browser
            .post(&format!("/aidant/mandats/{id}/agir"), &[])
            .await
            .status,
        403,
        "a revoked mandat gives nothing"
    );
    assert_eq!(
        stranger.get(&revoke_link).await.status,
        404,
        "the link works once"
    );
}

/// Secrets at rest: a copy of the database alone gives no second factor and no webhook secret;
/// values stored before sealing, or under a retired key, are sealed again at start.
#[tokio::test]
async fn stored_secrets_are_sealed_with_a_key_outside_the_database_and_survive_a_rotation() {
    use guichet_store::sealed::Sealer;
    let s = TestServer::start().await;
    let t = personas::collectivites(&s).await;
    let agent = personas::agent(&s, "admin@dijon.fr", &t.dijon, Role::Admin).await;
    let raw = |sql: &'static str, id: i64| {
        let pool = s.db().pool().clone();
        async move {
            sqlx::query_scalar::<_, Option<String>>(sql)
                .bind(id)
                .fetch_one(&pool)
                .await
                .expect("raw column")
                .expect("a secret")
        }
    };
    // The persona's second factor, enrolled through the store as the pages do.
    let seed = guichet_store::compte::totp_secret(s.db(), agent.user_id)
        .await
        .expect("q")
        .expect("seed");
    let stored = raw("SELECT totp_secret FROM users WHERE id = $1", agent.user_id).await;
    assert!(
        stored.starts_with("scelle:v1:") && !stored.contains(&seed),
        "{stored}"
    );

    // A webhook's secret, shown once to the admin, is sealed too.
    let d = crate::support::publish(
        s.db(),
        t.dijon.id,
        &guichet_domain::demarche::Definition::from_json(CANTINE).expect("def"),
    )
    .await;
    let secret = guichet_store::webhook::configure(
        s.db(),
        t.dijon.id,
        d.id,
        Some("https://hooks.exemple.fr/guichet"),
        Default::default(),
    )
    .await
    .expect("configure")
    .expect("secret");
    let stored_hook = raw("SELECT webhook_secret FROM demarches WHERE id = $1", d.id).await;
    assert!(stored_hook.starts_with("scelle:v1:") && !stored_hook.contains(&secret));
    assert_eq!(
        guichet_store::webhook::settings(s.db(), t.dijon.id, d.id)
            .await
            .expect("q")
            .expect("set")
            .secret,
        secret
    );

    // The database without its key: nothing opens.
    let stolen = crate::support::connect(&s.db.url)
        .await
        .with_sealer(Sealer::new(&[7u8; 32], &[]).expect("key"));
    let refused = guichet_store::compte::totp_secret(&stolen, agent.user_id).await;
    assert!(refused.is_err_and(|e| e.to_string().contains("clé inconnue")));

    // A seed stored plain (before sealing existed) is sealed at the next start.
    sqlx::query("UPDATE users SET totp_secret = $1 WHERE id = $2")
        .bind(&seed)
        .bind(agent.user_id)
        .execute(s.db().pool())
        .await
        .expect("plain");
    assert_eq!(
        guichet_store::migrate::reseal_secrets(s.db())
            .await
            .expect("reseal"),
        1
    );
    assert!(
        raw("SELECT totp_secret FROM users WHERE id = $1", agent.user_id)
            .await
            .starts_with("scelle:v1:")
    );

    // Rotation: the new key, with the old one retired, opens and reseals everything.
    let old_key = guichet_store::secret::read_key_file(&s.db.dir.path().join("cle-secrets"), "clé")
        .expect("key");
    let new_key = [9u8; 32];
    let rotated = crate::support::connect(&s.db.url)
        .await
        .with_sealer(Sealer::new(&new_key, &[old_key]).expect("keys"));
    assert_eq!(
        guichet_store::migrate::reseal_secrets(&rotated)
            .await
            .expect("reseal"),
        2
    );
    let only_new = crate::support::connect(&s.db.url)
        .await
        .with_sealer(Sealer::new(&new_key, &[]).expect("key"));
    assert_eq!(
        guichet_store::compte::totp_secret(&only_new, agent.user_id)
            .await
            .expect("q"),
        Some(seed)
    );
    assert_eq!(
        guichet_store::webhook::settings(&only_new, t.dijon.id, d.id)
            .await
            .expect("q")
            .expect("set")
            .secret,
        secret
    );
    assert!(
        guichet_store::compte::totp_secret(s.db(), agent.user_id)
            .await
            .is_err(),
        "the retired key alone no longer opens"
    );
}
