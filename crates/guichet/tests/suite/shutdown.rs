//! SIGTERM under load: the server stops accepting, finishes what it started, and exits cleanly.

use crate::support::{free_port, TestDb};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Default, Debug)]
struct Tally {
    complete_ok: usize,
    /// A response whose headers arrived but whose body did not: a lost answer.
    truncated: usize,
    /// A status other than 200 on a page that always exists.
    bad_status: usize,
    /// No response at all (refused or closed before any byte): the client knows to retry.
    not_answered: usize,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_under_load_finishes_every_started_response() {
    let t = TestDb::with_referential().await;
    let port = free_port();
    let mut args = vec![
        "serve".to_string(),
        "--listen".into(),
        format!("127.0.0.1:{port}"),
    ];
    args.extend(t.cli_args());
    // Logs go to a file: a pipe nobody reads would fill up and block the server.
    let log_path = t.dir.path().join("server.log");
    let log = std::fs::File::create(&log_path).expect("log file");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_guichet"))
        .args(&args)
        .env("GUICHET_LOG_FORMAT", "json")
        .env("RUST_LOG", "warn,guichet=info")
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .expect("start guichet serve");

    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client");
    let started = Instant::now();
    loop {
        if let Ok(r) = client.get(format!("{base}/healthz")).send().await {
            if r.status() == 200 {
                break;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "server did not become healthy"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(std::sync::Mutex::new(Tally::default()));
    let mut workers = Vec::new();
    for i in 0..16 {
        let (client, base, stop, tally) =
            (client.clone(), base.clone(), stop.clone(), tally.clone());
        workers.push(tokio::spawn(async move {
            let path = if i % 2 == 0 { "/" } else { "/collectivites" };
            let deadline = Instant::now() + Duration::from_secs(20);
            while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                let outcome = client.get(format!("{base}{path}")).send().await;
                match outcome {
                    Err(_) => {
                        tally.lock().expect("tally").not_answered += 1;
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                    Ok(r) => {
                        let status = r.status();
                        let body = r.text().await;
                        let mut t = tally.lock().expect("tally");
                        match body {
                            Ok(b) if status == 200 && b.trim_end().ends_with("</html>") => {
                                t.complete_ok += 1
                            }
                            Ok(_) => t.bad_status += 1,
                            Err(_) => t.truncated += 1,
                        }
                    }
                }
            }
        }));
    }

    tokio::time::sleep(Duration::from_millis(700)).await;
    let served_before = tally.lock().expect("tally").complete_ok;
    let pid = nix::unistd::Pid::from_raw(child.id().expect("pid") as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("SIGTERM");
    let status = tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .expect("server exits within 20 s of SIGTERM")
        .expect("wait");
    // Let the clients see the closed port, then stop them.
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.await.expect("worker");
    }

    let stderr = std::fs::read_to_string(&log_path).unwrap_or_default();
    let tally = tally.lock().expect("tally");
    assert!(
        status.success(),
        "clean exit after SIGTERM: {status:?}\n{stderr}"
    );
    assert!(
        served_before > 20,
        "load was running when SIGTERM came: {tally:?}"
    );
    assert_eq!(tally.truncated, 0, "a started response was cut: {tally:?}");
    assert_eq!(tally.bad_status, 0, "{tally:?}");
    assert!(
        tally.not_answered > 0,
        "clients saw the server go away: {tally:?}"
    );
    assert!(stderr.contains("stopped cleanly"), "{stderr}");
}
