//! Processing at scale: teams, queue filters (dates, commune, assignee, team, order) and the
//! signed webhook a partner's software receives at every state change, retried until it answers.

use crate::personas::{self};
use crate::support::TestServer;
use axum::http::{HeaderMap, StatusCode};
use guichet_domain::demarche::{Answers, Definition};
use guichet_domain::dossier::{Action, Actor};
use guichet_domain::role::Role;
use guichet_store::compte::Kind;
use guichet_store::dossier::{self, By};
use guichet_store::{demarche, webhook};
use hmac::{Hmac, Mac};
use std::sync::{Arc, Mutex};

const DEFINITION: &str = r#"{
  "title": "Signalement d'un arbre dangereux",
  "description": "Un arbre d'un terrain privé menace la voie publique.",
  "retention_months": 12,
  "deadline_days": 60,
  "pages": [ { "title": "L'arbre", "fields": [
    { "id": "commune", "label": "Commune", "type": "commune", "required": true },
    { "id": "details", "label": "Description", "type": "long_text", "required": true }
  ] } ]
}"#;

fn usager(id: i64) -> By {
    By {
        actor: Actor::Usager,
        user_id: Some(id),
        label: "usager".into(),
        ip: None,
        on_behalf_of: None,
    }
}

/// A partner's endpoint: answers 500 to the first call, then 200; keeps what it received.
struct Receiver {
    url: String,
    calls: Arc<Mutex<Vec<(HeaderMap, String)>>>,
}

async fn receiver() -> Receiver {
    let calls: Arc<Mutex<Vec<(HeaderMap, String)>>> = Arc::default();
    let seen = calls.clone();
    let app = axum::Router::new().route(
        "/evenements",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let seen = seen.clone();
            async move {
                let mut calls = seen.lock().expect("lock");
                calls.push((headers, body));
                if calls.len() == 1 {
                    StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    StatusCode::NO_CONTENT
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/evenements", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Receiver { url, calls }
}

#[tokio::test]
async fn queue_filters_by_date_commune_agent_and_equipe_and_exports_what_is_shown() {
    let s = TestServer::start().await;
    let t = personas::collectivites(&s).await;
    let admin = personas::persona(
        &s,
        Kind::Agent,
        "admin@dijon.fr",
        &[(&t.dijon, Role::Admin), (&t.dijon, Role::Instructeur)],
    )
    .await;
    let db = s.db();
    let def = Definition::from_json(DEFINITION).expect("definition");
    let d = crate::support::publish(db, t.dijon.id, &def).await;

    // Three dossiers: two about Dijon, one about Talant.
    let mut ids = Vec::new();
    for (name, insee) in [
        ("Alice Dupont", "21231"),
        ("Bruno Petit", "21617"),
        ("Chloé Roy", "21231"),
    ] {
        let x = dossier::create_draft(db, t.dijon.id, d.id, 1, None, name)
            .await
            .expect("draft");
        let mut a = Answers::default();
        a.set("commune", vec![insee.into()]);
        a.set("details", vec!["Branches au-dessus de la route".into()]);
        assert!(dossier::save_answers(db, &x, &def, &a).await.expect("save"));
        let x = dossier::get(db, t.dijon.id, x.id)
            .await
            .expect("get")
            .expect("dossier");
        dossier::change(db, &x, &def, &Action::Submit, &usager(1))
            .await
            .expect("submit");
        ids.push(x.id);
    }

    // The admin creates a team, puts themself in it, and assigns the second dossier to it.
    let created = admin
        .browser
        .post(
            "/admin/dijon/equipes",
            &[("nom", "Service des espaces verts")],
        )
        .await;
    assert!(
        created
            .html
            .contains("Équipe « Service des espaces verts » créée"),
        "{}",
        created.html
    );
    let duplicate = admin
        .browser
        .post(
            "/admin/dijon/equipes",
            &[("nom", "Service des espaces verts")],
        )
        .await;
    assert_eq!(duplicate.status, 422);
    assert!(duplicate.html.contains("Une équipe porte déjà ce nom"));
    let team_id = guichet_store::equipe::equipes(db, t.dijon.id)
        .await
        .expect("teams")[0]
        .id;
    let added = admin
        .browser
        .post(
            &format!("/admin/dijon/equipes/{team_id}/membres"),
            &[("agent", &admin.user_id.to_string()), ("action", "ajouter")],
        )
        .await;
    assert!(
        added.html.contains("admin ajouté à l&#39;équipe"),
        "{}",
        added.html
    );
    let assigned = admin
        .browser
        .post(
            &format!("/admin/dijon/dossiers/{}/attribution", ids[1]),
            &[("agent", ""), ("equipe", &team_id.to_string())],
        )
        .await;
    assert!(
        assigned
            .html
            .contains("attribué à l&#39;équipe Service des espaces verts"),
        "{}",
        assigned.html
    );
    let foreign = admin
        .browser
        .post(
            &format!("/admin/dijon/dossiers/{}/attribution", ids[0]),
            &[("equipe", "999")],
        )
        .await;
    assert_eq!(foreign.status, 422, "a team of nowhere is refused");

    let numbers = |html: &str| -> Vec<String> {
        html.split("/admin/dijon/dossiers/")
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
            .filter(|id| id.chars().all(|c| c.is_ascii_digit()))
            .map(str::to_string)
            .collect()
    };
    let all = admin.browser.get("/admin/dijon/dossiers?file=tous").await;
    assert_eq!(
        numbers(&all.html),
        vec![ids[2].to_string(), ids[1].to_string(), ids[0].to_string()]
    );
    let oldest = admin
        .browser
        .get("/admin/dijon/dossiers?file=tous&ordre=anciens")
        .await;
    assert_eq!(
        numbers(&oldest.html),
        vec![ids[0].to_string(), ids[1].to_string(), ids[2].to_string()]
    );
    let talant = admin
        .browser
        .get("/admin/dijon/dossiers?file=tous&commune=talant")
        .await;
    assert_eq!(
        numbers(&talant.html),
        vec![ids[1].to_string()],
        "by commune name"
    );
    let dijon = admin
        .browser
        .get("/admin/dijon/dossiers?file=tous&commune=21231")
        .await;
    assert_eq!(numbers(&dijon.html).len(), 2, "by INSEE code");
    let equipe = admin
        .browser
        .get(&format!("/admin/dijon/dossiers?file=tous&equipe={team_id}"))
        .await;
    assert_eq!(numbers(&equipe.html), vec![ids[1].to_string()], "by team");
    // "Today" as residents read it: in Paris.
    let today = guichet_web::format::paris_today();
    let tomorrow = today.next_day().expect("date");
    let future = admin
        .browser
        .get(&format!("/admin/dijon/dossiers?file=tous&du={tomorrow}"))
        .await;
    assert!(
        numbers(&future.html).is_empty(),
        "nothing deposited from tomorrow on"
    );
    let until_today = admin
        .browser
        .get(&format!("/admin/dijon/dossiers?file=tous&au={today}"))
        .await;
    assert_eq!(
        numbers(&until_today.html).len(),
        3,
        "'au' includes the whole day"
    );

    // Bad filters get French errors tied to their fields, not a blank list.
    let bad = admin
        .browser
        .get("/admin/dijon/dossiers?file=tous&du=32/13/2026&commune=Atlantide")
        .await;
    assert_eq!(bad.status, 422);
    assert!(
        bad.html.contains("Date invalide") && bad.html.contains("Commune inconnue"),
        "{}",
        bad.html
    );
    assert!(bad.html.contains("aria-describedby=\"du-aide du-erreur\""));

    // The export follows the filters.
    let csv = admin
        .browser
        .get("/admin/dijon/dossiers.csv?file=tous&commune=talant")
        .await;
    assert_eq!(csv.status, 200);
    assert_eq!(
        csv.html.lines().count(),
        2,
        "header and Talant's dossier: {}",
        csv.html
    );
    assert!(csv.html.contains("Bruno Petit"));
}

/// The ids of the dossiers a queue page links to, in the page's order.
fn linked_ids(html: &str) -> Vec<i64> {
    html.split("/admin/dijon/dossiers/")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .filter_map(|id| id.parse().ok())
        .collect()
}

/// The "Page suivante" link of a queue page, as a browser follows it.
fn next_page(html: &str) -> Option<String> {
    let (before, _) = html.split_once("\">Page suivante</a>")?;
    let href = &before[before.rfind("href=\"")? + 6..];
    Some(href.replace("&#38;", "&").replace("&amp;", "&"))
}

/// Follows a queue's "Page suivante" links from `url` to the last page, as a browser does: the
/// dossiers' ids in the order shown and the number of pages. The first page says its order.
async fn follow_pages(
    browser: &crate::support::Browser,
    url: &str,
    order: &str,
) -> (Vec<i64>, usize) {
    let mut url = Some(url.to_string());
    let (mut seen, mut pages) = (Vec::new(), 0);
    while let Some(u) = url {
        let page = browser.get(&u).await;
        assert_eq!(page.status, 200, "{u}");
        if pages == 0 {
            assert!(
                page.html.contains(order),
                "the page says its order: {order}"
            );
        }
        seen.extend(linked_ids(&page.html));
        url = next_page(&page.html);
        pages += 1;
    }
    (seen, pages)
}

#[tokio::test]
async fn the_overdue_queue_pages_in_deadline_order_without_closed_or_future_ones() {
    let s = TestServer::start().await;
    let t = personas::collectivites(&s).await;
    let agent = personas::agent(&s, "instructeur@dijon.fr", &t.dijon, Role::Instructeur).await;
    let def = Definition::from_json(DEFINITION).expect("definition");
    let d = crate::support::publish(s.db(), t.dijon.id, &def).await;
    // 300 dossiers deposited a year ago: deadlines passed in the opposite order of creation, two
    // at each instant; a fifth refused (not overdue whatever their deadline), a tenth with a
    // deadline still to come, the rest open (déposés or en instruction).
    let now = guichet_store::now_ms();
    let year_ago = now - 365 * 86_400_000;
    sqlx::query(
        "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < 300)
         INSERT INTO dossiers (tenant_id, number, demarche_id, version, state, answers, applicant_name, applicant_folded,
             created_at, updated_at, submitted_at, deadline_at)
         SELECT $1, 'R-' || CAST(n AS TEXT), $2, 1,
             CASE WHEN n % 5 = 0 THEN 'refuse' WHEN n % 2 = 0 THEN 'en_instruction' ELSE 'depose' END, '{}',
             'Demandeur ' || CAST(n AS TEXT), 'demandeur ' || CAST(n AS TEXT), $3 + n, $3 + n, $3 + n,
             CASE WHEN n % 10 = 3 THEN $4 + CAST(86400000 AS BIGINT) * n ELSE $4 - ((n + 1) / 2) * 3600000 END
         FROM seq",
    )
    .bind(t.dijon.id)
    .bind(d.id)
    .bind(year_ago)
    .bind(now)
    .execute(s.db().pool())
    .await
    .expect("bulk insert");
    // What the agent expects, read from the database apart from the queue.
    let mut expected: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT deadline_at, id FROM dossiers WHERE tenant_id = $1 AND state IN ('depose', 'en_instruction') AND deadline_at < $2",
    )
    .bind(t.dijon.id)
    .bind(now)
    .fetch_all(s.db().pool())
    .await
    .expect("rows");
    assert_eq!(expected.len(), 210, "open and past their deadline");
    expected.sort_by(|a, b| b.cmp(a));
    let latest_first: Vec<i64> = expected.iter().map(|x| x.1).collect();
    let (seen, pages) = follow_pages(
        &agent.browser,
        "/admin/dijon/dossiers?file=en-retard",
        "par échéance, les plus récents",
    )
    .await;
    assert_eq!(seen, latest_first, "the latest deadline first, each once");
    assert_eq!(pages, 5);
    let (seen, _) = follow_pages(
        &agent.browser,
        "/admin/dijon/dossiers?file=en-retard&ordre=anciens",
        "par échéance, les plus anciens",
    )
    .await;
    let most_overdue_first: Vec<i64> = latest_first.iter().rev().copied().collect();
    assert_eq!(seen, most_overdue_first, "the most overdue first");
}

#[tokio::test]
async fn a_month_of_deposits_pages_in_deposit_order_to_its_last_dossier_and_exports_whole() {
    let s = TestServer::start().await;
    let t = personas::collectivites(&s).await;
    let agent = personas::agent(&s, "instructeur@dijon.fr", &t.dijon, Role::Instructeur).await;
    let def = Definition::from_json(DEFINITION).expect("definition");
    let d = crate::support::publish(s.db(), t.dijon.id, &def).await;
    // 1,100 dossiers: the first 1,000 deposited in March 2025 (Paris), later-created ones deposited
    // earlier (a draft finished after a newer one), two at each instant; the last 100 deposited
    // on the last evening of February or the first night of April, Paris time.
    let march = 1_740_783_600_000_i64; // 2025-03-01T00:00+01:00
    let april = 1_743_458_400_000_i64; // 2025-04-01T00:00+02:00
    sqlx::query(
        "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < 1100)
         INSERT INTO dossiers (tenant_id, number, demarche_id, version, state, answers, applicant_name, applicant_folded,
             created_at, updated_at, submitted_at)
         SELECT $1, 'M-' || CAST(n AS TEXT), $2, 1, CASE WHEN n % 3 = 0 THEN 'accepte' ELSE 'depose' END, '{}',
             'Demandeur ' || CAST(n AS TEXT), 'demandeur ' || CAST(n AS TEXT), $3 + n, $3 + n,
             CASE WHEN n <= 1000 THEN $3 + ((1000 - n) / 2) * 60000
                  WHEN n % 2 = 0 THEN $3 - n ELSE $4 + n END
         FROM seq",
    )
    .bind(t.dijon.id)
    .bind(d.id)
    .bind(march)
    .bind(april)
    .execute(s.db().pool())
    .await
    .expect("bulk insert");
    // What the agent expects: March's dossiers, most recently deposited first (ties by number
    // order of creation, newest first), read from the database apart from the queue.
    let mut expected: Vec<(i64, i64)> =
        sqlx::query_as("SELECT submitted_at, id FROM dossiers WHERE tenant_id = $1 AND submitted_at >= $2 AND submitted_at < $3")
            .bind(t.dijon.id)
            .bind(march)
            .bind(april)
            .fetch_all(s.db().pool())
            .await
            .expect("rows");
    assert_eq!(expected.len(), 1000);
    expected.sort_by(|a, b| b.cmp(a));
    let newest_first: Vec<i64> = expected.iter().map(|x| x.1).collect();
    let oldest_first: Vec<i64> = newest_first.iter().rev().copied().collect();

    for (order, want) in [("", &newest_first), ("anciens", &oldest_first)] {
        let (seen, pages) = follow_pages(
            &agent.browser,
            &format!("/admin/dijon/dossiers?file=tous&du=2025-03-01&au=2025-03-31&ordre={order}"),
            "par date de dépôt",
        )
        .await;
        assert_eq!(
            &seen, want,
            "every dossier of March once, in deposit order ({order})"
        );
        assert_eq!(pages, 20, "fifty a page");
    }
    // A state with the month: the accepted ones only, same order.
    let accepted: Vec<i64> = {
        let ids: std::collections::HashSet<i64> = sqlx::query_scalar(
            "SELECT id FROM dossiers WHERE tenant_id = $1 AND state = 'accepte'",
        )
        .bind(t.dijon.id)
        .fetch_all(s.db().pool())
        .await
        .expect("ids")
        .into_iter()
        .collect();
        newest_first
            .iter()
            .filter(|x| ids.contains(x))
            .take(50)
            .copied()
            .collect()
    };
    let traites = agent
        .browser
        .get("/admin/dijon/dossiers?file=traites&du=2025-03-01&au=2025-03-31")
        .await;
    assert_eq!(linked_ids(&traites.html), accepted);

    // The export of the month: every dossier once, in the queue's order (pages of 500 inside).
    let csv = agent
        .browser
        .get("/admin/dijon/dossiers.csv?file=tous&du=2025-03-01&au=2025-03-31")
        .await;
    assert_eq!(csv.status, 200);
    let numbers: Vec<String> = csv
        .html
        .lines()
        .skip(1)
        .map(|l| l.split(';').next().unwrap_or_default().to_string())
        .collect();
    let first_number: String = sqlx::query_scalar("SELECT number FROM dossiers WHERE id = $1")
        .bind(newest_first[0])
        .fetch_one(s.db().pool())
        .await
        .expect("number");
    assert_eq!(numbers.len(), 1000, "header and every dossier of March");
    assert_eq!(numbers[0], first_number);
    let unique: std::collections::HashSet<&String> = numbers.iter().collect();
    assert_eq!(unique.len(), 1000, "none twice");
}

#[tokio::test]
async fn a_state_change_reaches_the_webhook_signed_and_is_retried_until_accepted() {
    let s = TestServer::start().await;
    let t = personas::collectivites(&s).await;
    let admin = personas::persona(
        &s,
        Kind::Agent,
        "admin@dijon.fr",
        &[(&t.dijon, Role::Admin), (&t.dijon, Role::Instructeur)],
    )
    .await;
    let db = s.db();
    let def = Definition::from_json(DEFINITION).expect("definition");
    let d = crate::support::publish(db, t.dijon.id, &def).await;
    let partner = receiver().await;

    // A URL with credentials is refused; a good one gets a secret, shown once.
    let page = format!("/admin/dijon/demarches/{}/webhook", d.id);
    let refused = admin
        .browser
        .post(&page, &[("url", "ftp://exemple.fr/x")])
        .await;
    assert_eq!(refused.status, 422);
    assert!(refused.html.contains("https://"), "{}", refused.html);
    let set = admin.browser.post(&page, &[("url", &partner.url)]).await;
    assert!(set.html.contains("Copiez son secret"), "{}", set.html);
    let secret = webhook::settings(db, t.dijon.id, d.id)
        .await
        .expect("q")
        .expect("webhook")
        .secret;
    assert!(set.html.contains(&secret));
    let again = admin
        .browser
        .get(&format!("/admin/dijon/demarches/{}", d.id))
        .await;
    assert!(
        !again.html.contains(&secret),
        "the secret is shown only once"
    );
    assert!(guichet_store::journal::verify(db)
        .await
        .expect("verify")
        .is_ok());

    // A usager submits: the event is queued with the change.
    let x = dossier::create_draft(db, t.dijon.id, d.id, 1, None, "Alice Dupont")
        .await
        .expect("draft");
    let mut a = Answers::default();
    a.set("commune", vec!["21231".into()]);
    a.set("details", vec!["Branches".into()]);
    dossier::save_answers(db, &x, &def, &a).await.expect("save");
    let x = dossier::get(db, t.dijon.id, x.id)
        .await
        .expect("get")
        .expect("dossier");
    dossier::change(db, &x, &def, &Action::Submit, &usager(1))
        .await
        .expect("submit");

    // First attempt: the partner fails; nothing more until the backoff has passed.
    let now = guichet_store::now_ms();
    let (ok, failed) = guichet_web::webhook::deliver_due(&s.state, now)
        .await
        .expect("deliver");
    assert_eq!((ok, failed), (0, 1));
    assert_eq!(
        guichet_web::webhook::deliver_due(&s.state, now + 1_000)
            .await
            .expect("deliver"),
        (0, 0)
    );
    let (ok, _) = guichet_web::webhook::deliver_due(&s.state, now + webhook::backoff_ms(1) + 1)
        .await
        .expect("retry");
    assert_eq!(ok, 1, "delivered at the retry");
    assert_eq!(
        guichet_web::webhook::deliver_due(&s.state, now + 3_600_000)
            .await
            .expect("deliver"),
        (0, 0),
        "delivered once"
    );

    let calls = partner.calls.lock().expect("lock").clone();
    assert_eq!(calls.len(), 2);
    let (headers, body) = &calls[1];
    assert_eq!(body, &calls[0].1, "the retry carries the same event");
    let event: serde_json::Value = serde_json::from_str(body).expect("json");
    assert_eq!(event["type"], "dossier.changement_etat");
    assert_eq!(event["dossier"]["numero"], x.number);
    assert_eq!(event["dossier"]["etat"], "depose");
    assert_eq!(event["dossier"]["etat_precedent"], "brouillon");
    // The partner checks the signature with the shared secret, as docs/WEBHOOKS.md explains.
    let timestamp = headers["x-guichet-timestamp"].to_str().expect("ts");
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("key");
    mac.update(format!("{timestamp}.{body}").as_bytes());
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(
        headers["x-guichet-signature"].to_str().expect("sig"),
        expected
    );
    let mut forged = Hmac::<sha2::Sha256>::new_from_slice(b"wrong secret").expect("key");
    forged.update(format!("{timestamp}.{body}").as_bytes());
    assert_ne!(
        format!("sha256={}", hex::encode(forged.finalize().into_bytes())),
        expected
    );

    // The admin sees the delivery and its attempts.
    let shown = admin
        .browser
        .get(&format!("/admin/dijon/demarches/{}", d.id))
        .await;
    assert!(shown.html.contains("remis"), "{}", shown.html);
}

#[tokio::test]
async fn messages_carry_checked_attachments_and_each_side_is_told_by_e_mail() {
    use crate::support::SmtpSink;
    let smtp = SmtpSink::start().await;
    let s = TestServer::with_smtp(&smtp).await;
    let t = personas::collectivites(&s).await;
    let agent = personas::agent(&s, "instructeur@dijon.fr", &t.dijon, Role::Instructeur).await;
    let u = personas::usager(&s).await;
    let db = s.db();
    let def = Definition::from_json(DEFINITION).expect("definition");
    let d = crate::support::publish(db, t.dijon.id, &def).await;
    let x = dossier::create_draft(db, t.dijon.id, d.id, 1, Some(u.user_id), "Camille Martin")
        .await
        .expect("draft");
    dossier::change(db, &x, &def, &Action::Submit, &usager(u.user_id))
        .await
        .expect("submit");
    let pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n";

    // A disguised file is refused with a French message tied to the field; the text is kept.
    let form = reqwest::multipart::Form::new()
        .text("message", "Voici la photo de l'arbre.")
        .part(
            "piece",
            crate::support::file_part(
                "arbre.pdf",
                b"MZ\x90\x00 not a pdf at all",
                "application/pdf",
            ),
        );
    let refused = u
        .browser
        .post_multipart(&format!("/dossiers/{}/messages", x.id), form)
        .await;
    assert_eq!(refused.status, 422);
    assert!(
        refused
            .html
            .contains("Ce type de fichier n&#39;est pas accepté"),
        "{}",
        refused.html
    );
    assert!(
        refused.html.contains("Voici la photo de l&#39;arbre."),
        "what was typed is kept"
    );
    assert!(refused
        .html
        .contains("aria-describedby=\"piece-aide piece-erreur\""));
    assert!(dossier::history(db, t.dijon.id, x.id, true)
        .await
        .expect("h")
        .iter()
        .all(|h| h.kind != "message"));

    // A real PDF goes; the agent (everyone who processes dossiers, as nobody is assigned) is told.
    let form = reqwest::multipart::Form::new()
        .text("message", "Voici le plan.")
        .part(
            "piece",
            crate::support::file_part("plan.pdf", pdf, "application/pdf"),
        );
    let sent = u
        .browser
        .post_multipart(&format!("/dossiers/{}/messages", x.id), form)
        .await;
    assert_eq!(sent.status, 200, "{}", sent.html);
    assert!(sent.html.contains("Message envoyé au service") && sent.html.contains("plan.pdf"));
    let mail = smtp
        .wait_for("instructeur@dijon.fr", "Nouveau message de l'usager")
        .await;
    assert!(mail
        .body
        .contains(&format!("/admin/dijon/dossiers/{}", x.id)));
    assert!(
        !mail.body.contains("Voici le plan"),
        "no personal content in agents' e-mails"
    );

    // The agent sees the message and downloads the attachment.
    let view = agent
        .browser
        .get(&format!("/admin/dijon/dossiers/{}", x.id))
        .await;
    assert!(view.html.contains("Message : Voici le plan."));
    let file_id = dossier::history(db, t.dijon.id, x.id, false)
        .await
        .expect("history")
        .into_iter()
        .find_map(|h| h.file_id)
        .expect("attachment");
    let link = format!("/admin/dijon/dossiers/{}/fichiers/{file_id}", x.id);
    assert!(view.html.contains(&link));
    let r = agent
        .browser
        .client
        .get(format!("{}{link}", s.base))
        .send()
        .await
        .expect("download");
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.expect("bytes").as_ref(), pdf);

    // A private note cannot carry a file; a reply can, and the usager is told.
    let form = reqwest::multipart::Form::new()
        .text("texte", "Note interne")
        .text("genre", "note")
        .part(
            "piece",
            crate::support::file_part("interne.pdf", pdf, "application/pdf"),
        );
    let note = agent
        .browser
        .post_multipart(&format!("/admin/dijon/dossiers/{}/messages", x.id), form)
        .await;
    assert_eq!(note.status, 422);
    assert!(note
        .html
        .contains("Une note privée ne peut pas avoir de pièce jointe"));
    let form = reqwest::multipart::Form::new()
        .text("texte", "Merci, voici notre courrier.")
        .text("genre", "message")
        .part(
            "piece",
            crate::support::file_part("courrier.pdf", pdf, "application/pdf"),
        );
    let reply = agent
        .browser
        .post_multipart(&format!("/admin/dijon/dossiers/{}/messages", x.id), form)
        .await;
    assert!(
        reply.html.contains("Message envoyé à l&#39;usager"),
        "{}",
        reply.html
    );
    let mail = smtp.wait_for(&u.email, "Nouveau message").await;
    assert!(mail.body.contains("Merci, voici notre courrier."));
    let page = u.browser.get(&format!("/dossiers/{}", x.id)).await;
    assert!(page.html.contains("courrier.pdf"));
}

#[tokio::test]
async fn changes_committed_together_queue_events_only_for_the_demarches_with_a_webhook() {
    let s = TestServer::start().await;
    let t = personas::collectivites(&s).await;
    let db = s.db();
    let def = Definition::from_json(DEFINITION).expect("definition");
    let other_def = Definition::from_json(&DEFINITION.replace("arbre dangereux", "mur fissuré"))
        .expect("definition");
    let with = demarche::create(db, t.dijon.id, &def, Default::default())
        .await
        .expect("create");
    let without = demarche::create(db, t.dijon.id, &other_def, Default::default())
        .await
        .expect("create");
    for d in [&with, &without] {
        demarche::publish(db, d, Default::default())
            .await
            .expect("publish");
    }
    webhook::configure(
        db,
        t.dijon.id,
        with.id,
        Some("https://partenaire.exemple.fr/recu"),
        Default::default(),
    )
    .await
    .expect("configure");

    // Twenty submissions at once, alternating between the two démarches: they share commits.
    let mut a = Answers::default();
    a.set("commune", vec!["21231".into()]);
    a.set("details", vec!["Fissures".into()]);
    let mut submitted = Vec::new();
    for i in 0..20 {
        let (d, def) = if i % 2 == 0 {
            (&with, &def)
        } else {
            (&without, &other_def)
        };
        let x = dossier::create_draft(db, t.dijon.id, d.id, 1, None, "Alice Dupont")
            .await
            .expect("draft");
        dossier::save_answers(db, &x, def, &a).await.expect("save");
        let x = dossier::get(db, t.dijon.id, x.id)
            .await
            .expect("get")
            .expect("dossier");
        submitted.push((x, def.clone()));
    }
    let changes = submitted.iter().map(|(x, def)| {
        let db = db.clone();
        let (x, def) = (x.clone(), def.clone());
        tokio::spawn(
            async move { dossier::change(&db, &x, &def, &Action::Submit, &usager(1)).await },
        )
    });
    for change in changes.collect::<Vec<_>>() {
        change.await.expect("task").expect("submit");
    }

    let queued = webhook::recent(db, t.dijon.id, with.id, 200)
        .await
        .expect("recent");
    assert_eq!(
        queued.len(),
        10,
        "one event per dossier of the démarche with a webhook"
    );
    for (x, _) in submitted.iter().filter(|(x, _)| x.demarche_id == with.id) {
        assert_eq!(
            queued.iter().filter(|q| q.body.contains(&x.number)).count(),
            1,
            "the event of {} is queued once",
            x.number
        );
    }
    assert!(queued
        .iter()
        .all(|q| q.url == "https://partenaire.exemple.fr/recu"));
    let none = webhook::recent(db, t.dijon.id, without.id, 200)
        .await
        .expect("recent");
    assert!(none.is_empty(), "no event for a démarche without webhook");
}
