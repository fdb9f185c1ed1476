//! Stored files on an S3 object store (a real Garage server): a usager's file goes there
//! encrypted, comes back through the web, and survives a backup restored under another prefix.

use crate::backup::{cli, file_with_pdf, strings, TRAVAUX};
use crate::durability::csrf_of;
use crate::support::{free_port, serve_process, Browser, Garage, TestDb};
use guichet_store::objects::ObjectFiles;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn files_go_encrypted_to_the_object_store_and_come_back() {
    let garage = Garage::start().await;
    let t = TestDb::with_referential().await;
    let crate::support::Depositor {
        dijon: _,
        demarche: travaux,
        cookie,
    } = crate::support::depositor(&t.db, TRAVAUX, "objet@exemple.fr").await;

    let keys = tempfile::tempdir().expect("keys");
    let identity = keys.path().join("cle-sauvegarde");
    let identity_arg = identity.display().to_string();
    let (ok, out, err) = cli(&strings(&["backup", "key", "--to", &identity_arg]));
    assert!(ok, "{out}{err}");
    let config = keys.path().join("guichet.toml");
    std::fs::write(
        &config,
        format!(
            "{}backup_identity_file = \"{identity_arg}\"\n",
            garage.config("plateforme")
        ),
    )
    .expect("config");
    let config_arg = config.display().to_string();

    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    // `--config` is global: it may follow the subcommand.
    let mut args = strings(&["--config", &config_arg]);
    args.extend(t.cli_args());
    let log = t.dir.path().join("server.log");
    let mut server = serve_process(&args, port, &log, &[]).await;
    let b = Browser::new(&base);
    b.set_cookie("guichet_session", &cookie);
    let token = csrf_of(&b, &base).await.expect("csrf");
    let pdf = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
        .to_vec();
    let id = file_with_pdf(&b, &base, &travaux.slug, &token, &pdf).await;

    // Nothing in the local directory; one object in the bucket, encrypted.
    let local = t.dir.path().join("fichiers");
    assert!(
        !local.exists() || std::fs::read_dir(&local).expect("dir").next().is_none(),
        "no file kept locally"
    );
    let key = guichet_store::objects::key(&t.dir.path().join("cle-fichiers")).expect("files key");
    let objects = ObjectFiles::open(&garage.object_config("plateforme"), key).expect("store");
    let ids = objects.list().await.expect("list");
    assert_eq!(ids.len(), 1, "{ids:?}");
    let raw = objects.raw(&ids[0]).await.expect("raw object");
    assert!(raw.starts_with(b"age-encryption.org/v1"));
    assert!(
        !raw.windows(8).any(|w| w == b"%PDF-1.7"),
        "never in the clear"
    );
    assert_eq!(objects.get(&ids[0]).await.expect("decrypted"), pdf);
    // Another key opens nothing.
    let stranger = ObjectFiles::open(
        &garage.object_config("plateforme"),
        age::x25519::Identity::generate(),
    )
    .expect("store");
    assert!(stranger.get(&ids[0]).await.is_err());

    // Through the web, the usager gets their file back.
    let download = b
        .client
        .get(format!("{base}/dossiers/{id}/fichiers/{}", ids[0]))
        .send()
        .await
        .expect("download");
    assert_eq!(download.status(), 200);
    assert_eq!(download.bytes().await.expect("bytes").to_vec(), pdf);

    // Backed up, then restored under another prefix of the bucket: the file is there again.
    let backup = keys.path().join("objets.sauvegarde");
    let backup_arg = backup.display().to_string();
    let mut args = strings(&["--config", &config_arg, "backup", "--to", &backup_arg]);
    args.extend(t.cli_args());
    let (ok, out, err) = cli(&args);
    assert!(ok, "{out}{err}");
    let _ = server.kill().await;
    let restored_config = keys.path().join("restaure.toml");
    std::fs::write(
        &restored_config,
        format!(
            "{}backup_identity_file = \"{identity_arg}\"\n",
            garage.config("restaure")
        ),
    )
    .expect("config");
    let fresh = TestDb::empty().await;
    let target = fresh.dir.path().join("restaure");
    let mut args = strings(&[
        "--config",
        &restored_config.display().to_string(),
        "restore",
        "--from",
        &backup_arg,
        "--data-dir",
        &target.display().to_string(),
    ]);
    if crate::support::pg_admin_url().is_some() {
        args.extend(strings(&["--database-url", &fresh.url]));
    }
    let (ok, out, err) = cli(&args);
    assert!(ok, "restore onto the object store: {out}{err}");
    assert!(out.contains("1 fichiers présents"), "{out}");
    let key = guichet_store::objects::key(&target.join("cle-fichiers")).expect("restored key");
    let restored = ObjectFiles::open(&garage.object_config("restaure"), key).expect("store");
    assert_eq!(restored.get(&ids[0]).await.expect("restored file"), pdf);
}
