//! The audit journal: complete, readable by admins, and impossible to rewrite unnoticed.

use crate::personas::{self, PASSWORD};
use crate::support::{run_cli, TestServer};
use guichet_domain::role::Role;
use guichet_store::compte::Kind;

fn verify_cli(s: &TestServer) -> (bool, String, String) {
    let args: Vec<String> = ["audit", "verify"]
        .iter()
        .map(|s| s.to_string())
        .chain(s.db.cli_args())
        .collect();
    run_cli(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

/// Logins, an invitation and a logout journaled; gives the collectivités it made.
async fn some_history(s: &TestServer) -> personas::Collectivites {
    let t = personas::collectivites(s).await;
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
    let entries = guichet_store::journal::list(s.db(), &Default::default(), 100)
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
    let t = guichet_store::collectivite::by_slug(s.db(), "dijon")
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
    let after = guichet_store::journal::list(s.db(), &Default::default(), 5)
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
    let event = guichet_domain::journal::Event {
        actor: "système".into(),
        action: "essai".into(),
        details: "{}".into(),
        ..Default::default()
    };
    let mut added = Vec::new();
    for _ in 0..3 {
        added.push(
            guichet_store::journal::append(s.db(), &event)
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
        guichet_store::journal::verify_whole_if_due(s.db(), now, 24 * 3_600_000)
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
        guichet_store::journal::verify_whole_if_due(s.db(), now + 25 * 3_600_000, 24 * 3_600_000)
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

fn cli(s: &TestServer, command: &[&str]) -> (bool, String, String) {
    let args: Vec<String> = command
        .iter()
        .map(|s| s.to_string())
        .chain(s.db.cli_args())
        .collect();
    run_cli(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

/// A journal with history, anchored outside the database (as the server does every minute).
async fn anchored() -> TestServer {
    let s = TestServer::start().await;
    some_history(&s).await;
    let (ok, out, err) = cli(&s, &["audit", "anchor"]);
    assert!(ok && out.contains("Ancrage écrit"), "{out}{err}");
    let (ok, out, err) = verify_cli(&s);
    assert!(ok, "intact and anchored: {out}{err}");
    assert!(out.contains("conformes à 1 ancrage"), "{out}");
    s
}

async fn set_head(s: &TestServer, id: i64, hash: &str) {
    sqlx::query("UPDATE audit_head SET last_id = $1, last_hash = $2 WHERE singleton = 1")
        .bind(id)
        .bind(hash)
        .execute(s.db().pool())
        .await
        .expect("move the head");
}

#[tokio::test]
async fn removing_the_tail_and_moving_the_head_back_is_caught_by_the_anchor() {
    let s = anchored().await;
    let entries = guichet_store::journal::list(s.db(), &Default::default(), 1000)
        .await
        .expect("entries");
    let last = entries[0].id;
    let kept = entries
        .iter()
        .find(|e| e.id == last - 2)
        .expect("an earlier entry");
    sqlx::query("DELETE FROM audit_events WHERE id > $1")
        .bind(kept.id)
        .execute(s.db().pool())
        .await
        .expect("remove the tail");
    set_head(&s, kept.id, &kept.hash).await;
    assert!(
        guichet_store::journal::verify(s.db())
            .await
            .expect("walk")
            .is_ok(),
        "the chain alone no longer sees it"
    );
    let (ok, _, err) = verify_cli(&s);
    assert!(!ok);
    assert!(
        err.contains(&format!("entrée {last}")) && err.contains("a disparu"),
        "{err}"
    );
    assert!(err.contains("ancrage du"), "the anchor is named: {err}");
}

#[tokio::test]
async fn emptying_the_journal_and_resetting_the_head_is_caught_by_the_anchor() {
    let s = anchored().await;
    sqlx::query("DELETE FROM audit_checkpoint")
        .execute(s.db().pool())
        .await
        .expect("checkpoint");
    sqlx::query("DELETE FROM audit_events")
        .execute(s.db().pool())
        .await
        .expect("empty it");
    set_head(&s, 0, &"0".repeat(64)).await;
    assert!(guichet_store::journal::verify(s.db())
        .await
        .expect("walk")
        .is_ok());
    let (ok, _, err) = verify_cli(&s);
    assert!(!ok);
    assert!(err.contains("a disparu"), "{err}");
}

#[tokio::test]
async fn rewriting_an_entry_and_rechaining_what_follows_is_caught_by_the_anchor() {
    let s = anchored().await;
    let mut entries = guichet_store::journal::list(s.db(), &Default::default(), 1000)
        .await
        .expect("entries");
    entries.reverse();
    // The attacker changes who failed to sign in, then recomputes every hash after it.
    let target = entries
        .iter()
        .position(|e| e.event.action == "connexion.echec")
        .expect("a failure");
    let mut prev = entries[target].prev_hash.clone();
    for e in entries.iter_mut().skip(target) {
        if e.event.action == "connexion.echec" {
            e.event.actor = "personne@exemple.fr".into();
        }
        e.prev_hash = prev.clone();
        e.hash = guichet_domain::journal::entry_hash(e.id, e.at, &e.event, &prev);
        sqlx::query("UPDATE audit_events SET actor = $1, prev_hash = $2, hash = $3 WHERE id = $4")
            .bind(&e.event.actor)
            .bind(&e.prev_hash)
            .bind(&e.hash)
            .bind(e.id)
            .execute(s.db().pool())
            .await
            .expect("rewrite");
        prev = e.hash.clone();
    }
    let last = entries.last().expect("last");
    set_head(&s, last.id, &last.hash).await;
    sqlx::query("DELETE FROM audit_checkpoint")
        .execute(s.db().pool())
        .await
        .expect("checkpoint");
    assert!(
        guichet_store::journal::verify(s.db())
            .await
            .expect("walk")
            .is_ok(),
        "re-chained: the chain alone passes"
    );
    let (ok, _, err) = verify_cli(&s);
    assert!(!ok);
    assert!(err.contains("réécrite"), "{err}");
}

#[tokio::test]
async fn the_worker_anchors_the_head_outside_the_database_and_the_operator_sees_the_last_anchor() {
    let key = tempfile::tempdir().expect("dir");
    let anchoring = guichet_store::anchor::Anchoring::open(
        &key.path().join("cle"),
        &key.path().join("ancrages"),
        &[],
    )
    .expect("anchoring");
    let s = TestServer::start_with(|c| c.anchoring = Some(anchoring.clone())).await;
    let t = personas::collectivites(&s).await;
    let operator = personas::operator(&s, &t).await;
    guichet_web::jobs::anchor(&s.state).await;
    let page = operator.browser.get("/operateur").await.html;
    assert!(page.contains("dernier ancrage signé le"), "{page}");
    let (head, _) = guichet_store::anchor::head(s.db()).await.expect("head");
    let last = anchoring.last().expect("list").expect("an anchor");
    assert_eq!(last.id, head);
    // The key file is the server's alone.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(key.path().join("cle"))
            .expect("key")
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "key readable by others: {mode:o}");
    }
    assert!(anchoring.verify(s.db()).await.expect("verify").is_ok());
}
