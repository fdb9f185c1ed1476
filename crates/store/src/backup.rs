//! Backups of a running platform and their restoration.
//!
//! A backup is one file: a tar archive, gzip-compressed, encrypted with age for the X25519
//! recipients of the configuration (the secret half stays offline; a node that makes backups
//! cannot read them). It holds, in this order:
//! - `cles/…`: the keys without which the data is unusable (secrets sealing, anchor signing,
//!   stored files' key), so the backup's own key must be kept apart from the backups;
//! - `ancrages-journal/…`: the audit chain's signed anchors, copied *before* the database, so
//!   that every anchor names an entry the database snapshot holds;
//! - `base/guichet.sqlite` (an online snapshot, `VACUUM INTO`) or `base/guichet.pgdump`
//!   (`pg_dump` of an exported snapshot, the journal's head read in that same snapshot);
//! - `fichiers/<id>`: the stored files, listed after the snapshot, so every file it points to
//!   was there (files are written before the commit that records them);
//! - `manifeste.json`, last: the size and SHA-256 of every entry and the journal's head.

use crate::conn::Backend;
use crate::db::Db;
use crate::files::FileStore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::Row;
use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};

pub const FORMAT: &str = "guichet-sauvegarde/1";
const MANIFEST: &str = "manifeste.json";
const SQLITE_ENTRY: &str = "base/guichet.sqlite";
const PG_ENTRY: &str = "base/guichet.pgdump";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ManifestEntry {
    pub path: String,
    pub size: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    /// When the snapshot was taken, RFC 3339 in UTC.
    pub created_at: String,
    pub guichet_version: String,
    /// `sqlite` or `postgres`.
    pub backend: String,
    pub schema_version: i64,
    /// The journal's head in the snapshot: (last entry id, its hash).
    pub journal_last_id: i64,
    pub journal_last_hash: String,
    pub entries: Vec<ManifestEntry>,
}

impl Manifest {
    pub fn files(&self) -> usize {
        self.entries
            .iter()
            .filter(|e| e.path.starts_with("fichiers/"))
            .count()
    }

    /// When the snapshot was taken, in ms (from `created_at`).
    pub fn created_at_ms(&self) -> Option<i64> {
        self.created_at
            .parse::<jiff::Timestamp>()
            .ok()
            .map(|t| t.as_millisecond())
    }

    pub fn bytes(&self) -> u64 {
        self.entries.iter().map(|e| e.size).sum()
    }
}

/// What a backup reads from: the platform as its configuration describes it.
pub struct Source<'a> {
    pub db: &'a Db,
    /// The PostgreSQL URL (`pg_dump` connects with it); unused on SQLite.
    pub database_url: &'a str,
    pub files: &'a FileStore,
    pub anchors_dir: &'a Path,
    /// Key files, by the name they take in the archive (`cles/<name>`); missing ones are skipped.
    pub keys: Vec<(String, PathBuf)>,
    pub guichet_version: &'a str,
}

/// Where a restoration writes: an empty data directory, and an empty PostgreSQL database when
/// `database_url` is given.
pub struct Target<'a> {
    pub data_dir: &'a Path,
    pub database_url: Option<&'a str>,
    /// Opens the file store once the keys are restored (an object store's needs its key).
    pub files: &'a dyn Fn() -> anyhow::Result<FileStore>,
    pub anchors_dir: &'a Path,
    pub keys: Vec<(String, PathBuf)>,
}

enum Item {
    Bytes(String, Vec<u8>),
    File(String, PathBuf),
    Finish(Box<Manifest>),
}

/// Reads through, hashing and counting what passes.
struct Hashing<R> {
    inner: R,
    hash: Sha256,
    size: u64,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }
}

fn header(size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_size(size);
    h.set_mode(0o600);
    h.set_mtime(0);
    h.set_cksum();
    h
}

/// Writes the archive from the items received, on a thread of its own (tar, gzip and age are
/// blocking writers); the file appears under its name only once complete and synced.
fn write_archive(
    to: &Path,
    recipients: &[age::x25519::Recipient],
    mut items: tokio::sync::mpsc::Receiver<Item>,
) -> anyhow::Result<Manifest> {
    let partial = to.with_extension("partiel");
    let file = std::fs::File::create(&partial)
        .map_err(|e| anyhow::anyhow!("impossible d'écrire {} : {e}", partial.display()))?;
    let encryptor =
        age::Encryptor::with_recipients(recipients.iter().map(|r| r as &dyn age::Recipient))
            .map_err(|e| anyhow::anyhow!("chiffrement de la sauvegarde : {e}"))?;
    let sealed = encryptor.wrap_output(std::io::BufWriter::new(file))?;
    let gz = flate2::write::GzEncoder::new(sealed, flate2::Compression::fast());
    let mut archive = tar::Builder::new(gz);
    let mut entries = Vec::new();
    let mut manifest = None;
    while let Some(item) = items.blocking_recv() {
        match item {
            Item::Bytes(path, bytes) => {
                archive.append_data(&mut header(bytes.len() as u64), &path, bytes.as_slice())?;
                entries.push(ManifestEntry {
                    path,
                    size: bytes.len() as u64,
                    sha256: hex::encode(Sha256::digest(&bytes)),
                });
            }
            Item::File(path, source) => {
                let f = std::fs::File::open(&source)?;
                let size = f.metadata()?.len();
                let mut reader = Hashing {
                    inner: f,
                    hash: Sha256::new(),
                    size: 0,
                };
                archive.append_data(&mut header(size), &path, &mut reader)?;
                anyhow::ensure!(reader.size == size, "{path} a changé pendant la sauvegarde");
                entries.push(ManifestEntry {
                    path,
                    size,
                    sha256: hex::encode(reader.hash.finalize()),
                });
            }
            Item::Finish(m) => {
                manifest = Some(*m);
                break;
            }
        }
    }
    let mut manifest =
        manifest.ok_or_else(|| anyhow::anyhow!("sauvegarde interrompue avant sa fin"))?;
    manifest.entries = entries;
    let json = serde_json::to_vec_pretty(&manifest)?;
    archive.append_data(&mut header(json.len() as u64), MANIFEST, json.as_slice())?;
    let gz = archive.into_inner()?;
    let sealed = gz.finish()?;
    let mut file = sealed.finish()?;
    file.flush()?;
    file.into_inner()
        .map_err(|e| anyhow::anyhow!("écriture de la sauvegarde : {e}"))?
        .sync_all()?;
    std::fs::rename(&partial, to)?;
    Ok(manifest)
}

/// Makes a backup of a running platform into `to` (replaced only once the new one is complete).
pub async fn create(
    source: &Source<'_>,
    recipients: &[age::x25519::Recipient],
    to: &Path,
) -> anyhow::Result<Manifest> {
    anyhow::ensure!(
        !recipients.is_empty(),
        "aucune clé de sauvegarde : indiquez backup_recipients (clé publique age) dans la configuration"
    );
    let parent = to
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)?;
    let work = tempfile::Builder::new()
        .prefix(".guichet-sauvegarde-")
        .tempdir_in(parent)?;
    let (tx, rx) = tokio::sync::mpsc::channel(2);
    let (to_owned, recipients) = (to.to_path_buf(), recipients.to_vec());
    let writer = tokio::task::spawn_blocking(move || write_archive(&to_owned, &recipients, rx));
    let produced = produce(source, work.path(), &tx).await;
    drop(tx);
    let written = writer.await?;
    match (produced, written) {
        (Ok(()), Ok(manifest)) => Ok(manifest),
        (Err(e), _) | (Ok(()), Err(e)) => {
            let _ = std::fs::remove_file(to.with_extension("partiel"));
            Err(e)
        }
    }
}

async fn send(tx: &tokio::sync::mpsc::Sender<Item>, item: Item) -> anyhow::Result<()> {
    tx.send(item)
        .await
        .map_err(|_| anyhow::anyhow!("l'écriture de la sauvegarde s'est arrêtée"))
}

async fn produce(
    source: &Source<'_>,
    work: &Path,
    tx: &tokio::sync::mpsc::Sender<Item>,
) -> anyhow::Result<()> {
    for (name, path) in &source.keys {
        if path.exists() {
            send(
                tx,
                Item::Bytes(format!("cles/{name}"), std::fs::read(path)?),
            )
            .await?;
        }
    }
    let mut anchors: Vec<PathBuf> = match std::fs::read_dir(source.anchors_dir) {
        Ok(dir) => dir.filter_map(|e| e.ok().map(|e| e.path())).collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e.into()),
    };
    anchors.sort();
    for path in anchors.iter().filter(|p| p.is_file()) {
        if let Some(name) = path.file_name().and_then(|n| n.to_str()) {
            send(
                tx,
                Item::Bytes(format!("ancrages-journal/{name}"), std::fs::read(path)?),
            )
            .await?;
        }
    }
    let created_at = crate::rfc3339(crate::now_ms());
    let schema_version = crate::migrate::current_version(source.db).await?;
    let (last_id, last_hash) = match source.db.backend() {
        Backend::Sqlite => {
            let snapshot = work.join("guichet.sqlite");
            sqlx::query("VACUUM INTO $1")
                .bind(snapshot.display().to_string())
                .execute(source.db.pool())
                .await?;
            let head = sqlite_head(&snapshot).await?;
            send(tx, Item::File(SQLITE_ENTRY.into(), snapshot)).await?;
            head
        }
        Backend::Postgres => {
            let dump = work.join("guichet.pgdump");
            let head = pg_dump(source, &dump).await?;
            send(tx, Item::File(PG_ENTRY.into(), dump)).await?;
            head
        }
    };
    let mut ids = source.files.list().await?;
    ids.sort();
    for id in ids {
        // Deleted since it was listed (a dossier anonymised, an annex removed): nothing the
        // snapshot needs, since the change that forgot it committed before its deletion.
        let Some(bytes) = source.files.get_if_present(&id).await? else {
            continue;
        };
        send(tx, Item::Bytes(format!("fichiers/{id}"), bytes)).await?;
    }
    send(
        tx,
        Item::Finish(Box::new(Manifest {
            format: FORMAT.into(),
            created_at,
            guichet_version: source.guichet_version.into(),
            backend: source.db.backend().name().into(),
            schema_version,
            journal_last_id: last_id,
            journal_last_hash: last_hash,
            entries: Vec::new(),
        })),
    )
    .await
}

async fn sqlite_head(snapshot: &Path) -> anyhow::Result<(i64, String)> {
    use sqlx::Connection;
    let url = format!("sqlite://{}?mode=ro", snapshot.display());
    let mut conn = sqlx::AnyConnection::connect_with(&crate::conn::connect_options(&url)?).await?;
    let row = sqlx::query("SELECT last_id, last_hash FROM audit_head WHERE singleton = 1")
        .fetch_one(&mut conn)
        .await?;
    let head = (row.try_get(0)?, row.try_get(1)?);
    conn.close().await?;
    Ok(head)
}

/// `pg_dump` of a snapshot exported by a transaction that also reads the journal's head, so the
/// head named in the manifest is the dump's.
async fn pg_dump(source: &Source<'_>, to: &Path) -> anyhow::Result<(i64, String)> {
    let mut tx = source.db.pool().begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await?;
    let snapshot: String = sqlx::query("SELECT pg_export_snapshot()")
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
    let row = sqlx::query("SELECT last_id, last_hash FROM audit_head WHERE singleton = 1")
        .fetch_one(&mut *tx)
        .await?;
    let head = (row.try_get(0)?, row.try_get(1)?);
    let out = tokio::process::Command::new("pg_dump")
        .arg("--format=custom")
        .arg("--no-owner")
        .arg("--no-privileges")
        .arg(format!("--snapshot={snapshot}"))
        .arg(format!("--file={}", to.display()))
        .arg(format!("--dbname={}", source.database_url))
        .output()
        .await
        .map_err(|e| anyhow::anyhow!("pg_dump introuvable ou impossible à lancer : {e}"))?;
    tx.rollback().await?;
    anyhow::ensure!(
        out.status.success(),
        "pg_dump a échoué : {}",
        String::from_utf8_lossy(&out.stderr).trim()
    );
    Ok(head)
}

/// The entries of a backup, decrypted and checked against its manifest; each entry is handed to
/// `keep` as it is read (to write it somewhere, or to drop it when only checking).
fn read_archive(
    from: &Path,
    identity: &age::x25519::Identity,
    mut keep: impl FnMut(&str, &mut dyn Read) -> anyhow::Result<()>,
) -> anyhow::Result<Manifest> {
    let file = std::fs::File::open(from)
        .map_err(|e| anyhow::anyhow!("impossible de lire {} : {e}", from.display()))?;
    let decryptor = age::Decryptor::new(std::io::BufReader::new(file)).map_err(|e| {
        anyhow::anyhow!(
            "{} n'est pas une sauvegarde chiffrée lisible : {e}",
            from.display()
        )
    })?;
    let plain = decryptor
        .decrypt(std::iter::once(identity as &dyn age::Identity))
        .map_err(|e| {
            anyhow::anyhow!(
                "impossible de déchiffrer {} avec cette clé : {e}",
                from.display()
            )
        })?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(plain));
    let mut seen = Vec::new();
    let mut manifest: Option<Manifest> = None;
    for entry in archive.entries()? {
        let mut entry = entry?;
        let path = entry.path()?.to_string_lossy().into_owned();
        check_entry_path(&path)?;
        anyhow::ensure!(manifest.is_none(), "entrée après le manifeste : {path}");
        if path == MANIFEST {
            let mut json = Vec::new();
            entry.read_to_end(&mut json)?;
            manifest = Some(
                serde_json::from_slice(&json)
                    .map_err(|e| anyhow::anyhow!("manifeste illisible : {e}"))?,
            );
            continue;
        }
        let mut reader = Hashing {
            inner: &mut entry,
            hash: Sha256::new(),
            size: 0,
        };
        keep(&path, &mut reader)?;
        std::io::copy(&mut reader, &mut std::io::sink())?;
        seen.push(ManifestEntry {
            path,
            size: reader.size,
            sha256: hex::encode(reader.hash.finalize()),
        });
    }
    let manifest = manifest.ok_or_else(|| {
        anyhow::anyhow!("sauvegarde incomplète : pas de manifeste (fichier tronqué ?)")
    })?;
    anyhow::ensure!(
        manifest.format == FORMAT,
        "format de sauvegarde inconnu : {}",
        manifest.format
    );
    if seen != manifest.entries {
        let bad = manifest
            .entries
            .iter()
            .find(|e| !seen.contains(e))
            .map(|e| e.path.clone())
            .or_else(|| {
                seen.iter()
                    .find(|e| !manifest.entries.contains(e))
                    .map(|e| e.path.clone())
            })
            .unwrap_or_default();
        anyhow::bail!("sauvegarde non conforme à son manifeste : {bad}");
    }
    Ok(manifest)
}

/// Only the paths a backup writes; nothing that could leave the restoration's directory.
fn check_entry_path(path: &str) -> anyhow::Result<()> {
    let p = Path::new(path);
    let plain = p.components().all(|c| matches!(c, Component::Normal(_)));
    let known = path == MANIFEST
        || path == SQLITE_ENTRY
        || path == PG_ENTRY
        || ["cles/", "ancrages-journal/", "fichiers/"]
            .iter()
            .any(|prefix| {
                path.strip_prefix(prefix)
                    .is_some_and(|rest| !rest.is_empty() && !rest.contains('/'))
            });
    anyhow::ensure!(
        plain && known,
        "entrée inattendue dans la sauvegarde : {path}"
    );
    Ok(())
}

/// Decrypts a backup and checks every entry against its manifest, without writing anything.
pub async fn verify(from: &Path, identity: &age::x25519::Identity) -> anyhow::Result<Manifest> {
    let (from, identity) = (from.to_path_buf(), identity.clone());
    tokio::task::spawn_blocking(move || read_archive(&from, &identity, |_, _| Ok(()))).await?
}

/// What already holds data in the target, if anything: a restoration never writes over data.
async fn occupied(target: &Target<'_>) -> anyhow::Result<Option<String>> {
    match target.database_url {
        None => {
            let db = target.data_dir.join("guichet.sqlite");
            if db.exists() {
                return Ok(Some(format!("la base {} existe déjà", db.display())));
            }
        }
        Some(url) => {
            use sqlx::Connection;
            let options = crate::conn::connect_options(url)?;
            let mut conn = sqlx::AnyConnection::connect_with(&options).await?;
            let tables: i64 = sqlx::query(
                "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema()",
            )
            .fetch_one(&mut conn)
            .await?
            .try_get(0)?;
            conn.close().await?;
            if tables > 0 {
                return Ok(Some(format!(
                    "la base PostgreSQL contient déjà {tables} tables"
                )));
            }
        }
    }
    if std::fs::read_dir(target.anchors_dir).is_ok_and(|mut d| d.next().is_some()) {
        return Ok(Some(format!(
            "le répertoire des ancrages {} n'est pas vide",
            target.anchors_dir.display()
        )));
    }
    for (_, path) in &target.keys {
        if path.exists() {
            return Ok(Some(format!("la clé {} existe déjà", path.display())));
        }
    }
    Ok(None)
}

/// Restores a backup into an empty target: checked whole (decryption, every checksum, the
/// manifest) in a directory of its own before anything is put in place.
pub async fn restore(
    from: &Path,
    identity: &age::x25519::Identity,
    target: &Target<'_>,
) -> anyhow::Result<Manifest> {
    if let Some(what) = occupied(target).await? {
        anyhow::bail!("restauration refusée, rien n'a été modifié : {what}");
    }
    std::fs::create_dir_all(target.data_dir)?;
    let staging = tempfile::Builder::new()
        .prefix(".guichet-restauration-")
        .tempdir_in(target.data_dir)?;
    let (from_owned, identity, dir) = (
        from.to_path_buf(),
        identity.clone(),
        staging.path().to_path_buf(),
    );
    let manifest = tokio::task::spawn_blocking(move || {
        read_archive(&from_owned, &identity, |path, reader| {
            let out = dir.join(path);
            if let Some(parent) = out.parent() {
                std::fs::create_dir_all(parent)?;
            }
            let mut f = std::fs::File::create(out)?;
            std::io::copy(reader, &mut f)?;
            f.sync_all()?;
            Ok(())
        })
    })
    .await??;
    let staged = staging.path();
    match (manifest.backend.as_str(), target.database_url) {
        ("sqlite", None) | ("postgres", Some(_)) => {}
        ("sqlite", Some(_)) => anyhow::bail!(
            "sauvegarde d'une base SQLite : restaurez-la sans --database-url"
        ),
        (_, _) => anyhow::bail!(
            "sauvegarde d'une base PostgreSQL : indiquez la base vide où la restaurer (--database-url)"
        ),
    }
    let mut written = Vec::new();
    for (name, path) in &target.keys {
        let source = staged.join("cles").join(name);
        if source.exists() {
            crate::secret::write_private_file(path, &std::fs::read(&source)?)?;
            written.push(path.clone());
        }
    }
    let files = (target.files)()?;
    let held = files.list().await?;
    if !held.is_empty() {
        for p in written {
            let _ = std::fs::remove_file(p);
        }
        anyhow::bail!(
            "restauration refusée, rien n'a été modifié : le stockage des fichiers ({}) contient déjà {} fichiers",
            files.describe(),
            held.len()
        );
    }
    let anchors = staged.join("ancrages-journal");
    if anchors.exists() {
        std::fs::create_dir_all(target.anchors_dir)?;
        for e in std::fs::read_dir(&anchors)? {
            let e = e?;
            std::fs::copy(e.path(), target.anchors_dir.join(e.file_name()))?;
        }
    }
    match target.database_url {
        None => std::fs::rename(
            staged.join(SQLITE_ENTRY),
            target.data_dir.join("guichet.sqlite"),
        )?,
        Some(url) => {
            let out = tokio::process::Command::new("pg_restore")
                .arg("--no-owner")
                .arg("--no-privileges")
                .arg("--exit-on-error")
                .arg("--single-transaction")
                .arg(format!("--dbname={url}"))
                .arg(staged.join(PG_ENTRY))
                .output()
                .await
                .map_err(|e| {
                    anyhow::anyhow!("pg_restore introuvable ou impossible à lancer : {e}")
                })?;
            anyhow::ensure!(
                out.status.success(),
                "pg_restore a échoué : {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
    }
    let staged_files = staged.join("fichiers");
    if staged_files.exists() {
        for e in std::fs::read_dir(&staged_files)? {
            let e = e?;
            let id = e.file_name().to_string_lossy().into_owned();
            files.put(&id, &tokio::fs::read(e.path()).await?).await?;
        }
    }
    Ok(manifest)
}

/// What a restored platform is checked for: the journal's head of the backup is there with its
/// hash, and every file the database points to is in the file store with the digest recorded.
pub async fn check_restored(
    db: &Db,
    files: &FileStore,
    manifest: &Manifest,
) -> anyhow::Result<usize> {
    let hash = crate::anchor::hash_of(db, manifest.journal_last_id).await?;
    if manifest.journal_last_id > 0 && hash.as_deref() != Some(manifest.journal_last_hash.as_str())
    {
        anyhow::bail!(
            "le journal restauré ne porte pas la tête de la sauvegarde (entrée {})",
            manifest.journal_last_id
        );
    }
    let referenced = crate::files::referenced(db).await?;
    for (id, sha256) in &referenced {
        let bytes = files
            .get(id)
            .await
            .map_err(|e| anyhow::anyhow!("fichier {id} manquant après restauration : {e}"))?;
        if let Some(expected) = sha256 {
            anyhow::ensure!(
                &hex::encode(Sha256::digest(&bytes)) == expected,
                "fichier {id} altéré : son empreinte ne correspond pas à celle de la base"
            );
        }
    }
    Ok(referenced.len())
}

/// Scheduled backups: the name of one made at `ms` (UTC, sortable).
pub fn scheduled_name(ms: i64) -> String {
    let at = jiff::Timestamp::from_millisecond(ms).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    format!("guichet-{}.sauvegarde", at.strftime("%Y%m%dT%H%M%SZ"))
}

/// The scheduled backups in `dir`, oldest first.
pub fn scheduled_in(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with("guichet-") && n.ends_with(".sauvegarde"))
                })
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found
}

/// Keeps the `keep` newest scheduled backups, deletes the others; returns those deleted.
pub fn prune(dir: &Path, keep: usize) -> anyhow::Result<Vec<PathBuf>> {
    let all = scheduled_in(dir);
    let excess = all.len().saturating_sub(keep.max(1));
    let old: Vec<PathBuf> = all.into_iter().take(excess).collect();
    for p in &old {
        std::fs::remove_file(p)?;
    }
    Ok(old)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_archive_s_own_paths_are_restored() {
        for ok in [
            "manifeste.json",
            "base/guichet.sqlite",
            "fichiers/abc_-1",
            "cles/cle-secrets",
        ] {
            assert!(check_entry_path(ok).is_ok(), "{ok}");
        }
        for bad in [
            "../etc/passwd",
            "fichiers/../../x",
            "/etc/passwd",
            "fichiers/a/b",
            "fichiers/",
            "autre/x",
            "base/autre.sqlite",
        ] {
            assert!(check_entry_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn scheduled_backups_are_named_in_utc_and_pruned_oldest_first() {
        assert_eq!(
            scheduled_name(1_764_927_000_000),
            "guichet-20251205T093000Z.sauvegarde"
        );
        let dir = tempfile::tempdir().expect("dir");
        for ms in [3, 1, 2, 4].map(|d| 1_764_927_000_000 + d * 86_400_000) {
            std::fs::write(dir.path().join(scheduled_name(ms)), b"x").expect("write");
        }
        std::fs::write(dir.path().join("autre.txt"), b"x").expect("write");
        let gone = prune(dir.path(), 2).expect("prune");
        assert_eq!(gone.len(), 2);
        let left: Vec<String> = scheduled_in(dir.path())
            .iter()
            .filter_map(|p| p.file_name()?.to_str().map(str::to_string))
            .collect();
        assert_eq!(
            left,
            [
                "guichet-20251208T093000Z.sauvegarde",
                "guichet-20251209T093000Z.sauvegarde"
            ]
        );
        assert!(dir.path().join("autre.txt").exists());
    }
}
