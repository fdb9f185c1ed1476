//! The public status page: every service's state for a signed-out resident, maintenances the
//! operator announces (checked, journaled, shown while they last, cancellable), the operator's
//! page closed to others, and the operations gauges of /metrics.

use crate::personas;
use crate::support::TestServer;
use guichet_domain::role::Role;

/// A Paris day and hour `offset_min` minutes from now, as the form's fields take them.
fn paris_fields(offset_min: i64) -> (String, String) {
    let at = jiff::Timestamp::now()
        .checked_add(jiff::SignedDuration::from_mins(offset_min))
        .expect("time")
        .in_tz("Europe/Paris")
        .expect("Paris");
    (
        at.strftime("%Y-%m-%d").to_string(),
        at.strftime("%H:%M").to_string(),
    )
}

fn row<'a>(html: &'a str, label: &str) -> &'a str {
    let at = html
        .find(label)
        .unwrap_or_else(|| panic!("{label} in {html}"));
    &html[at..at + html[at..].find("</tr>").expect("row end")]
}

#[tokio::test]
async fn residents_see_each_service_and_the_maintenances_the_operator_announces() {
    let s = TestServer::start().await;
    let t = personas::collectivites(&s).await;

    // A signed-out resident: every service working, nothing announced, never a stale copy.
    let r = s.get("/etat").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let html = r.text().await.expect("html");
    assert!(
        html.contains("Tous les services fonctionnent normalement."),
        "{html}"
    );
    assert!(row(&html, "Pièces jointes").contains("Fonctionne normalement"));
    assert!(
        html.contains("Aucune maintenance n&#39;est prévue.")
            || html.contains("Aucune maintenance n'est prévue.")
    );
    let home = s.browser().get("/").await;
    assert!(
        home.html.contains("href=\"/etat\""),
        "linked from every page's footer"
    );

    // Only the operator announces.
    let agent = personas::agent(&s, "agent@dijon.fr", &t.dijon, Role::Admin).await;
    let page = agent.browser.get("/operateur/etat").await;
    assert!(page.status == 403 || page.status == 404, "{}", page.status);
    let posted = agent
        .browser
        .post(
            "/operateur/etat",
            &[("services", "demarches"), ("message", "x")],
        )
        .await;
    assert!(
        posted.status == 403 || posted.status == 404,
        "{}",
        posted.status
    );
    let anonymous = s.browser().get("/operateur/etat").await;
    assert_ne!(anonymous.status, 200);

    let operator = personas::operator(&s, &t).await;
    let form = operator.browser.get("/operateur/etat").await;
    assert_eq!(form.status, 200);
    // An end before the start, no message: refused, each field named, what was typed kept.
    let (start_day, start_hour) = paris_fields(-60);
    let (before_day, before_hour) = paris_fields(-120);
    let refused = operator
        .browser
        .post(
            "/operateur/etat",
            &[
                ("services", "demarches"),
                ("debut_jour", &start_day),
                ("debut_heure", &start_hour),
                ("fin_jour", &before_day),
                ("fin_heure", &before_hour),
                ("message", ""),
            ],
        )
        .await;
    assert_eq!(refused.status, 422);
    assert!(
        refused.html.contains("La fin doit venir après le début."),
        "{}",
        refused.html
    );
    assert!(refused
        .html
        .contains("Expliquez aux usagers ce qui se passe."));
    assert!(refused
        .html
        .contains("id=\"service-demarches\" name=\"services\" value=\"demarches\" checked"));

    // A maintenance under way, for two services.
    let (end_day, end_hour) = paris_fields(120);
    let announced = operator
        .browser
        .post(
            "/operateur/etat",
            &[
                ("services", "demarches"),
                ("services", "fichiers"),
                ("debut_jour", &start_day),
                ("debut_heure", &start_hour),
                ("fin_jour", &end_day),
                ("fin_heure", &end_hour),
                (
                    "message",
                    "Mise à jour de la plateforme : vos brouillons sont conservés.",
                ),
            ],
        )
        .await;
    assert_eq!(announced.status, 200, "{}", announced.html);
    assert!(announced.html.contains("Maintenance annoncée"));
    let html = s.get("/etat").await.text().await.expect("html");
    assert!(
        row(&html, "Démarches en ligne").contains("En maintenance"),
        "{html}"
    );
    assert!(row(&html, "Pièces jointes").contains("En maintenance"));
    assert!(row(&html, "Signalements").contains("Fonctionne normalement"));
    assert!(html.contains("En cours"));
    assert!(html.contains("vos brouillons sont conservés"));
    assert!(
        html.contains(&format!(
            "au {} à {end_hour}",
            end_day.split('-').rev().collect::<Vec<_>>().join("/")
        )),
        "{html}"
    );
    let journal: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_events WHERE action = 'etat.maintenance.annonce'",
    )
    .fetch_one(s.db().pool())
    .await
    .expect("journal");
    assert_eq!(journal, 1);

    // Cancelled: back to normal at once.
    let id: i64 = sqlx::query_scalar("SELECT id FROM maintenances")
        .fetch_one(s.db().pool())
        .await
        .expect("id");
    let cancelled = operator
        .browser
        .post(
            "/operateur/etat",
            &[("action", "annuler"), ("id", &id.to_string())],
        )
        .await;
    assert!(
        cancelled.html.contains("Maintenance annulée."),
        "{}",
        cancelled.html
    );
    let html = s.get("/etat").await.text().await.expect("html");
    assert!(
        html.contains("Tous les services fonctionnent normalement."),
        "{html}"
    );
}

/// Every metric the shipped alert rules watch is one /metrics reports (with anchoring and
/// scheduled backups configured, as in production), with the values of a healthy node.
#[tokio::test]
async fn metrics_report_what_the_alert_rules_watch() {
    let dir = tempfile::tempdir().expect("dir");
    let anchoring = guichet_store::anchor::Anchoring::open(
        &dir.path().join("cle"),
        &dir.path().join("ancrages"),
        &[],
    )
    .expect("anchoring");
    let backups = dir.path().join("sauvegardes");
    std::fs::create_dir_all(&backups).expect("dir");
    std::fs::write(
        backups.join(guichet_store::backup::scheduled_name(
            guichet_store::now_ms(),
        )),
        b"x",
    )
    .expect("backup");
    let (a, b) = (anchoring.clone(), backups.clone());
    let s = TestServer::start_with(move |c| {
        c.anchoring = Some(a);
        c.backup_dir = Some(b);
    })
    .await;
    anchoring.anchor_now(s.db()).await.expect("anchor");
    // A page served, so that the request metrics exist.
    assert_eq!(s.get("/").await.status(), 200);
    let (status, text) = s.get_text("/metrics").await;
    assert_eq!(status, 200);
    for gauge in [
        "guichet_database_up 1",
        "guichet_file_store_up 1",
        "guichet_outbox_pending_mails 0",
        "guichet_outbox_failed_mails 0",
        "guichet_outbox_oldest_pending_age_seconds 0",
        "guichet_audit_unanchored_entries 0",
    ] {
        assert!(text.contains(gauge), "{gauge} in:\n{text}");
    }
    let value = |name: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("{name} in:\n{text}"))
    };
    assert!(value("guichet_audit_last_anchor_age_seconds") < 60.0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("now")
        .as_secs_f64();
    assert!((now - value("guichet_backup_last_success_timestamp_seconds")).abs() < 120.0);
    let rules = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../deploy/prometheus/guichet-alerts.yml"
    ))
    .expect("alert rules");
    let watched: std::collections::BTreeSet<&str> = rules
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with("guichet_"))
        .map(|w| w.trim_end_matches("_bucket"))
        .collect();
    assert!(watched.len() >= 8, "{watched:?}");
    for name in watched {
        assert!(
            text.contains(name),
            "the alert rules watch {name}, which /metrics does not report:\n{text}"
        );
    }
}
