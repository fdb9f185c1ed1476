//! Upgrades without downtime: the previous release (deploy/previous-release, built once by
//! scripts/previous-release) serves a database; the new release starts beside it on the same
//! database and migrates it; under a deposit load on both, neither stops serving, and each reads
//! what the other wrote.

use crate::durability::{deposit_loop, Deposits, DEF};
use crate::support::{free_port, run_cli, serve_binary, serve_process, Browser, TestDb};
use guichet_store::{dossier, migrate};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn previous_release() -> PathBuf {
    if let Some(path) = std::env::var_os("GUICHET_PREVIOUS_BINARY") {
        return PathBuf::from(path);
    }
    let commit = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../deploy/previous-release"
    ))
    .expect("deploy/previous-release");
    let path = PathBuf::from(std::env::var("HOME").unwrap_or_default())
        .join(".cache/guichet/releases")
        .join(commit.trim())
        .join("guichet");
    assert!(
        path.exists(),
        "the previous release is not built at {} (scripts/previous-release builds it once)",
        path.display()
    );
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_previous_release_keeps_serving_while_the_new_one_migrates_beside_it() {
    let previous = previous_release();
    let t = TestDb::empty().await;

    // The previous release alone: it creates the schema it knows.
    let old_port = free_port();
    let old_base = format!("http://127.0.0.1:{old_port}");
    let mut old = serve_binary(
        &previous,
        &t.cli_args(),
        old_port,
        &t.dir.path().join("old.log"),
        &[],
    )
    .await;
    assert_eq!(
        migrate::current_version(&t.db).await.expect("version"),
        migrate::PREVIOUS_RELEASE_VERSION,
        "deploy/previous-release and PREVIOUS_RELEASE_VERSION name the same release"
    );
    let crate::support::Depositor {
        dijon,
        demarche: d,
        cookie,
    } = crate::support::depositor(&t.db, DEF, "version@exemple.fr").await;

    let tally: Arc<Mutex<Deposits>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers: Vec<_> = (0..2)
        .map(|w| deposit_loop(&old_base, &cookie, &d.slug, w, tally.clone(), stop.clone()))
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;

    // The new release starts beside it, on the same database, and migrates it.
    let new_port = free_port();
    let new_base = format!("http://127.0.0.1:{new_port}");
    let mut new = serve_process(&t.cli_args(), new_port, &t.dir.path().join("new.log"), &[]).await;
    assert_eq!(
        migrate::current_version(&t.db).await.expect("version"),
        migrate::latest_version()
    );
    assert!(
        migrate::latest_version() > migrate::PREVIOUS_RELEASE_VERSION,
        "there is a migration to run beside the previous release"
    );
    writers.extend(
        (2..4).map(|w| deposit_loop(&new_base, &cookie, &d.slug, w, tally.clone(), stop.clone())),
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.await.expect("writer");
    }
    let tally = std::mem::take(&mut *tally.lock().expect("lock"));
    assert!(
        tally.refused.is_empty(),
        "deposits refused during the upgrade: {:?}",
        tally.refused
    );
    assert!(
        tally.acknowledged.len() >= 10,
        "the load ran: {}",
        tally.acknowledged.len()
    );

    // Both serve; each reads what the other wrote; only the new one has the new page.
    for base in [&old_base, &new_base] {
        let r = reqwest::get(format!("{base}/healthz"))
            .await
            .expect("healthz");
        assert_eq!(r.status(), 200, "{base}");
    }
    let ids: Vec<i64> = tally.acknowledged.iter().map(|d| d.id).collect();
    let newest = *ids.iter().max().expect("one");
    for base in [&old_base, &new_base] {
        let b = Browser::new(base);
        b.set_cookie("guichet_session", &cookie);
        for id in [ids[0], newest] {
            let page = b.get(&format!("/dossiers/{id}")).await;
            assert_eq!(page.status, 200, "dossier {id} on {base}");
        }
    }
    assert_eq!(
        reqwest::get(format!("{new_base}/etat"))
            .await
            .expect("etat")
            .status(),
        200
    );
    assert_eq!(
        reqwest::get(format!("{old_base}/etat"))
            .await
            .expect("etat")
            .status(),
        404,
        "the old node is the previous release"
    );
    for id in &ids {
        let x = dossier::get(&t.db, dijon.id, *id)
            .await
            .expect("query")
            .expect("deposit kept");
        assert_eq!(x.state, guichet_domain::dossier::State::Depose);
    }
    let _ = old.kill().await;
    let _ = new.kill().await;
    let args: Vec<String> = ["audit", "verify"]
        .iter()
        .map(|s| s.to_string())
        .chain(t.cli_args())
        .collect();
    let (ok, out, err) = run_cli(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(ok, "audit chain after the upgrade: {out}{err}");
}
