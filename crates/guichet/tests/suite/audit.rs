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

async fn some_history(s: &TestServer) {
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
