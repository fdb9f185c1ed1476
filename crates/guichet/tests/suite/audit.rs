//! The audit journal: complete, readable by admins, and impossible to rewrite unnoticed.

use crate::personas::{self, PASSWORD};
use crate::support::{run_cli, TestServer};
use guichet_domain::role::Role;
use guichet_store::account::Kind;

fn verify_cli(s: &TestServer) -> (bool, String, String) {
    let args: Vec<String> = ["audit", "verify"]
        .iter()
        .map(|s| s.to_string())
        .chain(s.db.cli_args())
        .collect();
    run_cli(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

/// Logins, an invitation and a logout journaled; gives the collectivités it made.
async fn some_history(s: &TestServer) -> personas::Tenants {
    let t = personas::tenants(s).await;
    let u = personas::usager(s).await;
    let b = s.browser();
    for _ in 0..3 {
        b.post(
            "/connexion",
            &[
                ("email", &u.email),
                ("mot_de_passe", "mauvais mot de passe"),
            ],
        )
        .await;
    }
    b.post(
        "/connexion",
        &[("email", &u.email), ("mot_de_passe", PASSWORD)],
    )
    .await;
    let admin =
        personas::persona(s, Kind::Agent, "admin@dijon.fr", &[(&t.dijon, Role::Admin)]).await;
    admin
        .browser
        .post(
            "/admin/dijon/equipe/invitations",
            &[("email", "nouvel.agent@dijon.fr"), ("roles", "instructeur")],
        )
        .await;
    admin.browser.post("/deconnexion", &[]).await;
    t
}

#[tokio::test]
async fn verify_passes_on_an_intact_journal_and_names_the_entry_after_tampering() {
    let s = TestServer::start().await;
    some_history(&s).await;
    let (ok, out, err) = verify_cli(&s);
    assert!(ok, "intact journal: {out}{err}");
    assert!(out.contains("intègre"), "{out}");
    let entries = guichet_store::audit::list(s.db(), &Default::default(), 100)
        .await
        .expect("entries");
    assert!(entries.len() >= 6, "{} entries", entries.len());
    let pool = s.db().pool();

    // A field changed with plain SQL.
    let victim = entries[entries.len() / 2].id;
    sqlx::query("UPDATE audit_events SET actor = 'quelquun.dautre@exemple.fr' WHERE id = $1")
        .bind(victim)
        .execute(pool)
        .await
        .expect("tamper");
    let (ok, _, err) = verify_cli(&s);
    assert!(!ok, "a changed row must fail");
    assert!(
        err.contains(&format!("l'entrée {victim}")),
        "names entry {victim}: {err}"
    );
    let original = &entries
        .iter()
        .find(|e| e.id == victim)
        .expect("victim")
        .event
        .actor;
    sqlx::query("UPDATE audit_events SET actor = $1 WHERE id = $2")
        .bind(original)
        .bind(victim)
        .execute(pool)
        .await
        .expect("restore");
    assert!(verify_cli(&s).0, "restored");

    // A row removed in the middle: the next one is named.
    sqlx::query("DELETE FROM audit_events WHERE id = $1")
        .bind(victim)
        .execute(pool)
        .await
        .expect("delete");
    let (ok, _, err) = verify_cli(&s);
    assert!(!ok);
    assert!(err.contains(&format!("l'entrée {}", victim + 1)), "{err}");
}

#[tokio::test]
async fn removing_the_last_entries_is_detected() {
    let s = TestServer::start().await;
    some_history(&s).await;
    let last: i64 = sqlx::query_scalar("SELECT MAX(id) FROM audit_events")
        .fetch_one(s.db().pool())
        .await
        .expect("max");
    sqlx::query("DELETE FROM audit_events WHERE id >= $1")
        .bind(last - 1)
        .execute(s.db().pool())
        .await
        .expect("delete tail");
    let (ok, _, err) = verify_cli(&s);
    assert!(!ok);
    assert!(err.contains("supprimées"), "{err}");
}

#[tokio::test]
async fn an_admin_reads_filters_and_exports_the_journal_of_their_collectivite() {
    let s = TestServer::start().await;
    some_history(&s).await;
    let t = guichet_store::tenant::by_slug(s.db(), "dijon")
        .await
        .expect("q")
        .expect("Dijon");
    let admin = personas::persona(&s, Kind::Agent, "admin2@dijon.fr", &[(&t, Role::Admin)]).await;
    let page = admin.browser.get("/admin/dijon/journal").await;
    assert_eq!(page.status, 200);
    assert!(
        page.html.contains("equipe.invitation"),
        "the invitation made in Dijon"
    );
    assert!(
        page.html.contains("admin@dijon.fr"),
        "actions of Dijon's agents"
    );
    assert!(
        !page.html.contains("camille@exemple.fr"),
        "not a usager's logins, which are no business of Dijon"
    );

    let filtered = admin
        .browser
        .get("/admin/dijon/journal?action=deconnexion")
        .await;
    assert!(filtered.html.contains("deconnexion") && !filtered.html.contains("equipe.invitation"));
    let bad = admin
        .browser
        .get("/admin/dijon/journal?du=31-02-2026")
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.html.contains("pas valide"), "{}", bad.html);

    let csv = admin
        .browser
        .client
        .get(format!("{}/admin/dijon/journal.csv", s.base))
        .send()
        .await
        .expect("csv");
    assert_eq!(csv.status(), 200);
    assert!(csv.headers()["content-type"]
        .to_str()
        .expect("ascii")
        .starts_with("text/csv"));
    let body = csv.text().await.expect("body");
    assert!(body.starts_with("numero;date_utc;auteur"));
    assert!(body.contains("equipe.invitation"));
    let after = guichet_store::audit::list(s.db(), &Default::default(), 5)
        .await
        .expect("entries");
    assert!(
        after.iter().any(|e| e.event.action == "journal.export"),
        "the export itself is journaled"
    );
}

#[tokio::test]
async fn the_operator_s_page_checks_what_follows_the_checkpoint_and_the_daily_check_the_whole_chain(
) {
    let s = TestServer::start().await;
    let t = some_history(&s).await;
    let operator = personas::operator(&s, &t).await;
    let status = |html: &str| {
        let at = html.find("<dt>Journal d'audit</dt>").expect("audit status");
        html[at..at + html[at..].find("</dd>").expect("end")].replace("&#39;", "'")
    };
    let first = status(&operator.browser.get("/operateur").await.html);
    assert!(first.contains("intègre"), "{first}");
    assert!(first.contains("chaîne entière vérifiée le"), "{first}");
    // Nothing appended since: the next load checks nothing again.
    let again = status(&operator.browser.get("/operateur").await.html);
    assert!(
        again.contains("intègre (0 entrée(s) vérifiée(s)"),
        "{again}"
    );

    // Entries appended after the checkpoint are checked on the next load; a change among them is
    // named at once.
    let event = guichet_domain::audit::Event {
        actor: "système".into(),
        action: "essai".into(),
        details: "{}".into(),
        ..Default::default()
    };
    let mut added = Vec::new();
    for _ in 0..3 {
        added.push(
            guichet_store::audit::append(s.db(), &event)
                .await
                .expect("append"),
        );
    }
    let pool = s.db().pool();
    sqlx::query("UPDATE audit_events SET details = '{\"x\":1}' WHERE id = $1")
        .bind(added[1])
        .execute(pool)
        .await
        .expect("tamper");
    let broken = status(&operator.browser.get("/operateur").await.html);
    assert!(
        broken.contains(&format!("ROMPU à l'entrée {}", added[1])),
        "{broken}"
    );
    sqlx::query("UPDATE audit_events SET details = '{}' WHERE id = $1")
        .bind(added[1])
        .execute(pool)
        .await
        .expect("restore");
    let restored = status(&operator.browser.get("/operateur").await.html);
    assert!(restored.contains("intègre"), "{restored}");
    let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_events")
        .fetch_one(pool)
        .await
        .expect("count");
    assert!(
        restored.contains(&format!("({total} entrée(s)")),
        "after a break, the whole chain is checked again: {restored}"
    );

    // An entry before the checkpoint changed: the daily check of the whole chain finds it (not
    // due within the day), and from then on the page shows the break.
    let now = guichet_store::now_ms();
    assert_eq!(
        guichet_store::audit::verify_whole_if_due(s.db(), now, 24 * 3_600_000)
            .await
            .expect("check"),
        None
    );
    let victim: i64 = sqlx::query_scalar("SELECT MIN(id) + 2 FROM audit_events")
        .fetch_one(pool)
        .await
        .expect("victim");
    sqlx::query("UPDATE audit_events SET actor = 'quelquun.dautre@exemple.fr' WHERE id = $1")
        .bind(victim)
        .execute(pool)
        .await
        .expect("tamper");
    let daily =
        guichet_store::audit::verify_whole_if_due(s.db(), now + 25 * 3_600_000, 24 * 3_600_000)
            .await
            .expect("check")
            .expect("due after a day");
    assert_eq!(daily.map_err(|b| b.id), Err(victim));
    let shown = status(&operator.browser.get("/operateur").await.html);
    assert!(
        shown.contains(&format!("ROMPU à l'entrée {victim}")),
        "{shown}"
    );
}
