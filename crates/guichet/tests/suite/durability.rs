//! SIGKILL in the middle of a submission load: after a restart, every dossier whose deposit was
//! acknowledged is there, complete, and the audit chain verifies.

use crate::support::{run_cli, Browser, TestDb};
use guichet_domain::demarche::Definition;
use guichet_store::collectivite::{self, Contact, Target};
use guichet_store::compte::{self, Kind};
use guichet_store::{dossier, session};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const DEF: &str = r#"{ "title": "Signalement de changement d'adresse", "description": "Prévenir la mairie.",
  "retention_months": 12, "deadline_days": 30, "pages": [ { "title": "Adresse", "fields": [
    { "id": "adresse", "label": "Nouvelle adresse", "type": "address", "required": true },
    { "id": "depuis", "label": "Depuis le", "type": "date", "required": true } ] } ] }"#;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

async fn start(t: &TestDb, port: u16, log: &std::path::Path) -> tokio::process::Child {
    let mut args = vec![
        "serve".to_string(),
        "--listen".into(),
        format!("127.0.0.1:{port}"),
    ];
    args.extend(t.cli_args());
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_guichet"))
        .args(&args)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(log).expect("log"))
        .kill_on_drop(true)
        .spawn()
        .expect("start guichet serve");
    let started = Instant::now();
    loop {
        if let Ok(r) = reqwest::get(format!("http://127.0.0.1:{port}/healthz")).await {
            if r.status() == 200 {
                return child;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "server did not become healthy"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_acknowledged_submission_survives_sigkill() {
    let t = TestDb::with_referential().await;
    let dijon = collectivite::add(
        &t.db,
        &Target::Insee("21231".into()),
        &Contact::default(),
        false,
    )
    .await
    .expect("Dijon");
    let def = Definition::from_json(DEF).expect("definition");
    let d = crate::support::publish(&t.db, dijon.id, &def).await;
    let user = compte::create(
        &t.db,
        Kind::Usager,
        "charge@exemple.fr",
        "Charge",
        Some("cheval agrafe batterie correcte"),
    )
    .await
    .expect("user");
    compte::mark_email_confirmed(&t.db, user.id)
        .await
        .expect("confirm");
    let (cookie, _) = session::create(&t.db, user.id, false, None, None)
        .await
        .expect("session");

    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let log = t.dir.path().join("server.log");
    let mut child = start(&t, port, &log).await;

    let acknowledged: Arc<Mutex<Vec<(i64, String)>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut workers = Vec::new();
    for w in 0..8 {
        let (base, cookie, slug, acknowledged, stop) = (
            base.clone(),
            cookie.clone(),
            d.slug.clone(),
            acknowledged.clone(),
            stop.clone(),
        );
        workers.push(tokio::spawn(async move {
            let b = Browser::new(&base);
            b.set_cookie("guichet_session", &cookie);
            let Ok(page) = b.client.get(format!("{base}/connexion")).send().await else {
                return;
            };
            let Ok(html) = page.text().await else { return };
            let Some(token) = crate::support::field_value(&html, "_csrf") else {
                return;
            };
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                n += 1;
                let address = format!("{n} rue du Travailleur {w}, 21000 Dijon");
                let Ok(r) = b
                    .client
                    .post(format!("{base}/demarches/dijon/{slug}/dossiers"))
                    .form(&[("_csrf", token.as_str())])
                    .send()
                    .await
                else {
                    break;
                };
                let Some(step) = r
                    .headers()
                    .get("location")
                    .and_then(|l| l.to_str().ok())
                    .map(str::to_string)
                else {
                    break;
                };
                let form = [
                    ("_csrf", token.as_str()),
                    ("adresse", address.as_str()),
                    ("depuis", "2026-11-01"),
                    ("action", "continuer"),
                ];
                if b.client
                    .post(format!("{base}{step}"))
                    .form(&form)
                    .send()
                    .await
                    .is_err()
                {
                    break;
                }
                let id: i64 = step
                    .trim_start_matches("/dossiers/")
                    .split('/')
                    .next()
                    .and_then(|i| i.parse().ok())
                    .expect("id");
                let Ok(r) = b
                    .client
                    .post(format!("{base}/dossiers/{id}/depot"))
                    .form(&[("_csrf", token.as_str())])
                    .send()
                    .await
                else {
                    break;
                };
                // The success answer: a redirection to the accusé de réception.
                if r.status() == 303
                    && r.headers()
                        .get("location")
                        .is_some_and(|l| l.to_str().is_ok_and(|l| l.ends_with("?depose=1")))
                {
                    acknowledged.lock().expect("lock").push((id, address));
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let pid = nix::unistd::Pid::from_raw(child.id().expect("pid") as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL).expect("SIGKILL");
    let _ = child.wait().await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in workers {
        let _ = w.await;
    }
    let acknowledged = acknowledged.lock().expect("lock").clone();
    assert!(
        acknowledged.len() >= 10,
        "the load was running: {} submissions acknowledged",
        acknowledged.len()
    );

    // Restart on the same database, then check every acknowledged submission.
    let mut child = start(&t, port, &log).await;
    let db = crate::support::connect(&t.url).await;
    for (id, address) in &acknowledged {
        let x = dossier::get(&db, dijon.id, *id)
            .await
            .expect("query")
            .unwrap_or_else(|| panic!("dossier {id} lost"));
        assert_eq!(
            x.state,
            guichet_domain::dossier::State::Depose,
            "dossier {id}"
        );
        assert_eq!(
            x.answers.get("adresse"),
            Some(address.as_str()),
            "dossier {id} complete"
        );
        assert!(x.submitted_at.is_some() && x.deadline_at.is_some());
    }
    let args: Vec<String> = ["audit", "verify"]
        .iter()
        .map(|s| s.to_string())
        .chain(t.cli_args())
        .collect();
    let (ok, out, err) = run_cli(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(ok, "audit chain after SIGKILL: {out}{err}");
    let _ = child.kill().await;
}

/// Writes that share a group commit: one that fails leaves nothing behind, not even its journal
/// entry, and the others (sent at the same moment, so in the same batches) all commit, with an
/// audit chain that verifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failed_write_in_a_group_commit_undoes_only_itself() {
    use guichet_domain::journal::Event;
    let t = TestDb::empty().await;
    guichet_store::migrate::run(&t.db).await.expect("migrate");
    let before: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_events")
        .fetch_one(t.db.pool())
        .await
        .expect("count");
    let mut writes = Vec::new();
    for i in 0..200i64 {
        let db = t.db.clone();
        writes.push(tokio::spawn(async move {
            db.write(move |conn| {
                Box::pin(async move {
                    let event = Event {
                        actor: format!("écrivain {i}"),
                        action: "essai.groupe".into(),
                        details: "{}".into(),
                        ..Default::default()
                    };
                    guichet_store::journal::append_in(conn, &event).await?;
                    if i % 10 == 3 {
                        // Journaled, then refused: the entry must go with the refusal.
                        anyhow::bail!("refus {i}");
                    }
                    Ok(i)
                })
            })
            .await
        }));
    }
    let mut committed = Vec::new();
    for (i, w) in writes.into_iter().enumerate() {
        match w.await.expect("task") {
            Ok(v) => committed.push(v),
            Err(e) => {
                assert_eq!(i % 10, 3, "write {i} failed: {e}");
                assert!(e.to_string().contains(&format!("refus {i}")), "{e}");
            }
        }
    }
    assert_eq!(committed.len(), 180);
    let actors: Vec<String> =
        sqlx::query_scalar("SELECT actor FROM audit_events WHERE action = 'essai.groupe'")
            .fetch_all(t.db.pool())
            .await
            .expect("entries");
    assert_eq!(actors.len(), 180);
    assert!(actors.iter().all(|a| {
        let i: i64 = a.trim_start_matches("écrivain ").parse().expect("number");
        i % 10 != 3
    }));
    let after: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_events")
        .fetch_one(t.db.pool())
        .await
        .expect("count");
    assert_eq!(after - before, 180);
    let checked = guichet_store::journal::verify(&t.db)
        .await
        .expect("verify")
        .expect("chain intact");
    assert_eq!(checked as i64, after);
}
