//! PostgreSQL failover under load: a primary and its standby managed by pg_auto_failover
//! (scripts/pg-failover), Guichet on the multi-host URL. The primary is killed in the middle of a
//! deposit load; deposits succeed again on the promoted standby without any manual action, and no
//! acknowledged deposit is lost. The time it takes is printed (docs/PERFORMANCE.md).

use crate::durability::{deposit_loop, Deposit, Deposits, DEF};
use crate::support::{run_cli, serve_process};
use guichet_store::dossier;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn script(args: &[&str]) -> String {
    let out = std::process::Command::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../scripts/pg-failover"
    ))
    .args(args)
    .output()
    .expect("scripts/pg-failover");
    assert!(
        out.status.success(),
        "pg-failover {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Three consecutive free ports (monitor, two nodes).
fn free_ports() -> u16 {
    for base in (41_000..60_000)
        .step_by(7)
        .skip(std::process::id() as usize % 2000)
    {
        if (0..3).all(|i| std::net::TcpListener::bind(("127.0.0.1", base + i)).is_ok()) {
            return base;
        }
    }
    panic!("no free ports");
}

/// Stops the formation whatever happens to the test.
struct Formation(std::path::PathBuf);

impl Drop for Formation {
    fn drop(&mut self) {
        let _ = std::process::Command::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../scripts/pg-failover"
        ))
        .args(["stop", &self.0.display().to_string()])
        .output();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn deposits_resume_on_the_standby_when_the_primary_dies() {
    let dir = tempfile::Builder::new()
        .prefix("guichet-failover-")
        .tempdir_in("/tmp")
        .expect("dir");
    let cluster = dir.path().join("pg");
    let cluster_arg = cluster.display().to_string();
    let formation = Formation(cluster.clone());
    let url = script(&["start", &cluster_arg, &free_ports().to_string()]);
    assert!(
        url.contains(',') && url.contains("target_session_attrs=read-write"),
        "{url}"
    );

    // The platform set up through the multi-host URL (without waiting for the standby at each
    // commit: only the set-up, the server below runs with full durability).
    let setup = guichet_store::db::DbOptions {
        durability: guichet_store::db::Durability::Relaxed,
        ..Default::default()
    };
    let db = guichet_store::Db::connect(&url, &setup)
        .await
        .expect("connect through the multi-host URL")
        .with_sealer(crate::support::sealer_in(dir.path()));
    guichet_store::migrate::run(&db).await.expect("migrate");
    guichet_store::territoire::import_shipped(&db, false)
        .await
        .expect("referential");
    let crate::support::Depositor {
        dijon,
        demarche: d,
        cookie,
    } = crate::support::depositor(&db, DEF, "bascule@exemple.fr").await;
    db.close().await;

    let port = crate::support::free_port();
    let base = format!("http://127.0.0.1:{port}");
    let data = dir.path().join("data");
    let args = vec![
        "--data-dir".to_string(),
        data.display().to_string(),
        "--database-url".into(),
        url.clone(),
    ];
    let mut server = serve_process(&args, port, &dir.path().join("server.log"), &[]).await;

    // Deposits, each with the moment it was sent and whether it was acknowledged.
    let deposits: Arc<Mutex<Deposits>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..4)
        .map(|w| deposit_loop(&base, &cookie, &d.slug, w, deposits.clone(), stop.clone()))
        .collect();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = deposits.lock().expect("lock").acknowledged.len();
    assert!(before >= 5, "the load runs: {before} deposits");
    assert_eq!(script(&["primary", &cluster_arg]), "1");
    let crash = Instant::now();
    script(&["crash", &cluster_arg, "1"]);

    // Wait for a deposit sent after the crash to be acknowledged.
    let resumed = loop {
        let first = deposits
            .lock()
            .expect("lock")
            .acknowledged
            .iter()
            .map(|d| d.sent)
            .filter(|sent| *sent > crash)
            .min();
        if let Some(sent) = first {
            break sent;
        }
        assert!(
            crash.elapsed() < Duration::from_secs(60),
            "deposits did not resume after the primary's crash:\n{}",
            std::fs::read_to_string(dir.path().join("server.log")).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let took = deposits
        .lock()
        .expect("lock")
        .acknowledged
        .iter()
        .filter(|d| d.sent >= resumed)
        .count();
    let recovered_in = resumed.duration_since(crash);
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.await.expect("writer");
    }
    let _ = server.kill().await;
    assert_eq!(
        script(&["primary", &cluster_arg]),
        "2",
        "the standby was promoted"
    );
    println!(
        "failover: deposits succeed again {:.1} s after the primary was killed ({took} acknowledged since)",
        recovered_in.as_secs_f64()
    );

    // Every acknowledged deposit is on the new primary, and the journal verifies.
    let acknowledged = deposits.lock().expect("lock").acknowledged.clone();
    let db = guichet_store::Db::connect(&url, &guichet_store::db::DbOptions::default())
        .await
        .expect("reconnect")
        .with_sealer(crate::support::sealer_in(dir.path()));
    for Deposit { id, .. } in &acknowledged {
        let x = dossier::get(&db, dijon.id, *id)
            .await
            .expect("query")
            .unwrap_or_else(|| panic!("acknowledged dossier {id} lost in the failover"));
        assert_eq!(
            x.state,
            guichet_domain::dossier::State::Depose,
            "dossier {id}"
        );
    }
    db.close().await;
    let verify: Vec<String> = ["audit", "verify"]
        .iter()
        .map(|s| s.to_string())
        .chain(args.iter().cloned())
        .collect();
    let (ok, out, err) = run_cli(&verify.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(ok, "audit chain after the failover: {out}{err}");
    drop(formation);
}
