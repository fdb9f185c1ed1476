//! Backups: taken from a running platform under writes, restored into a fresh directory (and a
//! fresh PostgreSQL database), where the journal verifies, the checksums hold and a stored file
//! downloads; a restoration never writes over data; a damaged backup is refused.

use crate::durability::{csrf_of, deposit, deposit_loop, start_dossier, Deposits, DEF};
use crate::support::{free_port, run_cli, serve_process, Browser, TestDb};
use guichet_domain::demarche::Definition;
use guichet_store::dossier;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub(crate) const TRAVAUX: &str = r#"{ "title": "Déclaration de travaux", "description": "Déclarer des travaux.",
  "retention_months": 12, "pages": [ { "title": "Travaux", "fields": [
    { "id": "description", "label": "Description des travaux", "type": "short_text", "required": true },
    { "id": "plan", "label": "Plan de situation", "type": "file", "accept": ["application/pdf"], "max_size_mb": 1, "required": true }
  ] } ] }"#;

pub(crate) fn cli(args: &[String]) -> (bool, String, String) {
    run_cli(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

pub(crate) fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

/// Files a dossier of the démarche with a PDF, as the usager's browser does; its id.
pub(crate) async fn file_with_pdf(
    b: &Browser,
    base: &str,
    slug: &str,
    token: &str,
    pdf: &[u8],
) -> i64 {
    let (id, step) = start_dossier(b, base, slug, token).await.expect("started");
    let form = reqwest::multipart::Form::new()
        .text("description", "Véranda de 12 m²")
        .text("action", "continuer")
        .part(
            "plan",
            crate::support::file_part("plan.pdf", pdf.to_vec(), "application/pdf"),
        );
    let saved = b.post_multipart(&step, form).await;
    assert_eq!(saved.status, 303, "step saved: {}", saved.html);
    let r = deposit(b, base, id, token).await.expect("deposit");
    assert_eq!(r.status(), 303, "deposited");
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_running_platform_is_backed_up_under_writes_and_restored_elsewhere() {
    let t = TestDb::with_referential().await;
    let crate::support::Depositor {
        dijon,
        demarche: simple,
        cookie,
    } = crate::support::depositor(&t.db, DEF, "sauvegarde@exemple.fr").await;
    let travaux = crate::support::publish(
        &t.db,
        dijon.id,
        &Definition::from_json(TRAVAUX).expect("def"),
    )
    .await;

    // The backup key pair, made as an operator would; the platform knows only the public half.
    let keys = tempfile::tempdir().expect("keys dir");
    let identity = keys.path().join("cle-sauvegarde");
    let identity_arg = identity.display().to_string();
    let (ok, out, err) = cli(&strings(&["backup", "key", "--to", &identity_arg]));
    assert!(ok, "{out}{err}");
    let public = out
        .split_whitespace()
        .find(|w| w.starts_with("age1"))
        .expect("public key printed")
        .to_string();
    let config = keys.path().join("guichet.toml");
    std::fs::write(&config, format!("backup_recipients = [\"{public}\"]\n")).expect("config");
    let config_arg = config.display().to_string();

    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server =
        serve_process(&t.cli_args(), port, &t.dir.path().join("server.log"), &[]).await;
    let b = Browser::new(&base);
    b.set_cookie("guichet_session", &cookie);
    let token = csrf_of(&b, &base).await.expect("csrf");
    let pdf = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
        .to_vec();
    let with_file = file_with_pdf(&b, &base, &travaux.slug, &token, &pdf).await;

    // Deposits keep coming while the backup runs.
    let deposits: Arc<Mutex<Deposits>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            deposit_loop(
                &base,
                &cookie,
                &simple.slug,
                w,
                deposits.clone(),
                stop.clone(),
            )
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(400)).await;
    let before_backup: Vec<i64> = deposits
        .lock()
        .expect("lock")
        .acknowledged
        .iter()
        .map(|d| d.id)
        .collect();
    let backup_file = keys.path().join("guichet.sauvegarde");
    let backup_arg = backup_file.display().to_string();
    let mut args = strings(&["--config", &config_arg, "backup", "--to", &backup_arg]);
    args.extend(t.cli_args());
    let (ok, out, err) = tokio::task::spawn_blocking(move || cli(&args))
        .await
        .expect("backup");
    assert!(ok, "backup of a running platform: {out}{err}");
    assert!(out.contains("Sauvegarde écrite"), "{out}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.await.expect("writer");
    }
    let after = deposits.lock().expect("lock").acknowledged.len();
    assert!(
        before_backup.len() >= 5 && after > before_backup.len(),
        "writes ran before and during the backup: {} then {after}",
        before_backup.len()
    );
    let _ = server.kill().await;

    // The backup is encrypted: neither the PDF nor a dossier's address can be read in it.
    let raw = std::fs::read(&backup_file).expect("backup file");
    assert!(raw.starts_with(b"age-encryption.org/v1"));
    assert!(!raw.windows(8).any(|w| w == b"%PDF-1.7"));
    let (ok, out, err) = cli(&strings(&[
        "backup",
        "verify",
        &backup_arg,
        "--identity",
        &identity_arg,
    ]));
    assert!(ok, "{out}{err}");
    assert!(
        out.contains("Sauvegarde intègre") && out.contains("1 fichiers"),
        "{out}"
    );

    // Restored into a fresh directory (and a fresh, empty PostgreSQL database).
    let fresh = TestDb::empty().await;
    let target = fresh.dir.path().join("restaure");
    let target_arg = target.display().to_string();
    let mut target_args = strings(&["--data-dir", &target_arg]);
    if crate::support::pg_admin_url().is_some() {
        target_args.extend(strings(&["--database-url", &fresh.url]));
    }
    let mut args = strings(&[
        "restore",
        "--from",
        &backup_arg,
        "--identity",
        &identity_arg,
    ]);
    args.extend(target_args.clone());
    let (ok, out, err) = cli(&args);
    assert!(ok, "restore: {out}{err}");
    assert!(
        out.contains("journal intègre") && out.contains("1 fichiers présents"),
        "{out}"
    );
    let mut verify = strings(&["audit", "verify"]);
    verify.extend(target_args.clone());
    let (ok, out, err) = cli(&verify);
    assert!(ok, "audit verify after restore: {out}{err}");

    // Every deposit acknowledged before the backup began is there, complete.
    let restored_url = match crate::support::pg_admin_url() {
        Some(_) => fresh.url.clone(),
        None => guichet_store::Db::sqlite_url_in(&target),
    };
    let restored = crate::support::connect(&restored_url)
        .await
        .with_sealer(crate::support::sealer_in(&target));
    for id in before_backup.iter().chain([&with_file]) {
        let x = dossier::get(&restored, dijon.id, *id)
            .await
            .expect("query")
            .unwrap_or_else(|| panic!("dossier {id} acknowledged before the backup, missing"));
        assert_eq!(
            x.state,
            guichet_domain::dossier::State::Depose,
            "dossier {id}"
        );
    }
    let file_id: String = sqlx::query_scalar("SELECT id FROM files WHERE dossier_id = $1")
        .bind(with_file)
        .fetch_one(restored.pool())
        .await
        .expect("the dossier's file is recorded");
    restored.close().await;

    // The restored platform serves: the usager's session still holds, and the file downloads.
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = serve_process(
        &target_args,
        port,
        &fresh.dir.path().join("server.log"),
        &[],
    )
    .await;
    let b = Browser::new(&base);
    b.set_cookie("guichet_session", &cookie);
    let page = b.get(&format!("/dossiers/{with_file}")).await;
    assert_eq!(page.status, 200, "{}", page.html);
    assert!(
        page.html.contains("Déclaration de travaux"),
        "{}",
        page.html
    );
    let download = b
        .client
        .get(format!("{base}/dossiers/{with_file}/fichiers/{file_id}"))
        .send()
        .await
        .expect("download");
    assert_eq!(download.status(), 200);
    assert_eq!(download.bytes().await.expect("bytes").to_vec(), pdf);
    let _ = server.kill().await;

    // Restoring again over it is refused, and changes nothing.
    let (ok, out, err) = cli(&args);
    assert!(!ok, "restore over data must be refused: {out}");
    assert!(
        err.contains("restauration refusée") && err.contains("rien n'a été modifié"),
        "{err}"
    );
    let (ok, out, err) = cli(&verify);
    assert!(ok, "the platform is intact after the refusal: {out}{err}");

    // A damaged backup (one byte changed) is refused by its authentication.
    let damaged = keys.path().join("abimee.sauvegarde");
    let mut bytes = raw.clone();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&damaged, bytes).expect("write");
    let (ok, _, err) = cli(&strings(&[
        "backup",
        "verify",
        &damaged.display().to_string(),
        "--identity",
        &identity_arg,
    ]));
    assert!(!ok, "a damaged backup must be refused");
    assert!(!err.is_empty(), "it says why");
    // And without the right key, nothing opens.
    let other = keys.path().join("autre-cle");
    let (ok, ..) = cli(&strings(&[
        "backup",
        "key",
        "--to",
        &other.display().to_string(),
    ]));
    assert!(ok);
    let (ok, _, err) = cli(&strings(&[
        "backup",
        "verify",
        &backup_arg,
        "--identity",
        &other.display().to_string(),
    ]));
    assert!(!ok && err.contains("impossible de déchiffrer"), "{err}");
}

/// A node with a backup directory backs up on its own when the newest backup is older than the
/// interval, and keeps only the newest `backup_keep`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_backups_are_taken_and_the_oldest_deleted() {
    let t = TestDb::with_referential().await;
    let keys = tempfile::tempdir().expect("keys dir");
    let identity = keys.path().join("cle-sauvegarde");
    let identity_arg = identity.display().to_string();
    let (ok, out, err) = cli(&strings(&["backup", "key", "--to", &identity_arg]));
    assert!(ok, "{out}{err}");
    let dir = keys.path().join("sauvegardes");
    std::fs::create_dir_all(&dir).expect("dir");
    // Three backups of earlier days, the newest two days old.
    let day = 86_400_000i64;
    let now = guichet_store::now_ms();
    for age in [4, 3, 2] {
        let path = dir.join(guichet_store::backup::scheduled_name(now - age * day));
        let f = std::fs::File::create(&path).expect("old backup");
        f.set_modified(std::time::SystemTime::now() - Duration::from_secs(age as u64 * 86_400))
            .expect("mtime");
    }
    let config = keys.path().join("guichet.toml");
    std::fs::write(
        &config,
        format!(
            "backup_identity_file = \"{identity_arg}\"\nbackup_dir = \"{}\"\nbackup_interval_hours = 24\nbackup_keep = 2\n",
            dir.display()
        ),
    )
    .expect("config");
    let port = free_port();
    let log = t.dir.path().join("server.log");
    let mut args = strings(&[
        "--config",
        &config.display().to_string(),
        "serve",
        "--listen",
        &format!("127.0.0.1:{port}"),
    ]);
    args.extend(t.cli_args());
    let mut server = {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_guichet"))
            .args(&args)
            .env("RUST_LOG", "info")
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log"))
            .kill_on_drop(true)
            .spawn()
            .expect("serve")
    };
    let started = std::time::Instant::now();
    let left = loop {
        let left = guichet_store::backup::scheduled_in(&dir);
        let newest_is_today = left
            .last()
            .is_some_and(|p| std::fs::metadata(p).is_ok_and(|m| m.len() > 0));
        if left.len() == 2 && newest_is_today {
            break left;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no scheduled backup: {:?}\n{}",
            left,
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let _ = server.kill().await;
    // The two kept: the newest old one and today's, which verifies.
    let names: Vec<String> = left
        .iter()
        .filter_map(|p| p.file_name()?.to_str().map(str::to_string))
        .collect();
    assert_eq!(
        names[0],
        guichet_store::backup::scheduled_name(now - 2 * day),
        "{names:?}"
    );
    let (ok, out, err) = cli(&strings(&[
        "backup",
        "verify",
        &left[1].display().to_string(),
        "--identity",
        &identity_arg,
    ]));
    assert!(ok, "{out}{err}");
}

/// The daily sweep deletes file contents nobody points to once they are a day old: never a
/// file a row points to, never one just written (its commit may be on its way).
#[tokio::test]
async fn the_sweep_deletes_only_old_orphans() {
    let t = TestDb::with_referential().await;
    let store = guichet_store::files::FileStore::local(t.dir.path().join("fichiers"));
    let user = guichet_store::compte::create(
        &t.db,
        guichet_store::compte::Kind::Usager,
        "coffre@exemple.fr",
        "Usager",
        Some("cheval agrafe batterie correcte"),
    )
    .await
    .expect("user");
    let kept = guichet_store::coffre::add(
        &t.db,
        &store,
        user.id,
        &guichet_store::coffre::NewDocument {
            kind: "justificatif_domicile",
            name: "facture.pdf",
            mime: "application/pdf",
            valid_until: None,
            bytes: b"%PDF-1.7 facture",
        },
        guichet_store::trace::Trace::of(guichet_domain::journal::Event {
            actor: "essai".into(),
            action: "coffre.ajout".into(),
            ..Default::default()
        }),
    )
    .await
    .expect("document");
    store.put("orphelin-ancien", b"x").await.expect("put");
    store.put("orphelin-recent", b"x").await.expect("put");
    let two_days_ago = std::time::SystemTime::now() - Duration::from_secs(2 * 86_400);
    for id in [kept.id.as_str(), "orphelin-ancien"] {
        std::fs::File::options()
            .write(true)
            .open(t.dir.path().join("fichiers").join(id))
            .expect("file")
            .set_modified(two_days_ago)
            .expect("mtime");
    }
    let deleted = guichet_store::files::sweep(&t.db, &store, guichet_store::now_ms())
        .await
        .expect("sweep");
    assert_eq!(deleted, 1);
    let mut left = store.list().await.expect("list");
    left.sort();
    let mut expected = vec![kept.id.clone(), "orphelin-recent".to_string()];
    expected.sort();
    assert_eq!(left, expected);
    assert_eq!(
        store.get(&kept.id).await.expect("kept"),
        b"%PDF-1.7 facture"
    );
}
