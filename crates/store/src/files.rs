//! Files of dossiers: metadata in the database, content in a file store. The store is an
//! interface; the default keeps each file in a directory, named by a random id (never by the
//! name the usager gave it).

use crate::db::Db;
use sha2::{Digest, Sha256};
use sqlx::Row;
use std::path::PathBuf;

/// Where file contents live: a directory (the default), or an object store shared by every
/// node (`crate::objects`), where each file is encrypted before it leaves the server.
#[derive(Clone)]
pub struct FileStore {
    inner: std::sync::Arc<Inner>,
}

enum Inner {
    Local { dir: PathBuf },
    Object(crate::objects::ObjectFiles),
}

/// Says where files live, never with a key or a password.
impl std::fmt::Debug for FileStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

/// Ids are ours (URL-safe base64); anything else is refused, so that no path or object key can
/// escape the store.
pub(crate) fn check_id(id: &str) -> anyhow::Result<()> {
    if id.is_empty()
        || id.len() > 128
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        anyhow::bail!("identifiant de fichier invalide");
    }
    Ok(())
}

impl FileStore {
    /// Files in a directory, one file per id.
    pub fn local(dir: impl Into<PathBuf>) -> Self {
        Self {
            inner: std::sync::Arc::new(Inner::Local { dir: dir.into() }),
        }
    }

    /// Files in an object store, encrypted (see `crate::objects`).
    pub fn object(files: crate::objects::ObjectFiles) -> Self {
        Self {
            inner: std::sync::Arc::new(Inner::Object(files)),
        }
    }

    /// Where the files are, for logs and reports.
    pub fn describe(&self) -> String {
        match &*self.inner {
            Inner::Local { dir } => format!("répertoire {}", dir.display()),
            Inner::Object(o) => o.describe(),
        }
    }

    fn path(dir: &std::path::Path, id: &str) -> anyhow::Result<PathBuf> {
        check_id(id)?;
        Ok(dir.join(id))
    }

    /// Writes durably: to a temporary name, synced, then renamed (or one object put).
    pub async fn put(&self, id: &str, bytes: &[u8]) -> anyhow::Result<()> {
        match &*self.inner {
            Inner::Local { dir } => {
                use tokio::io::AsyncWriteExt;
                tokio::fs::create_dir_all(dir).await?;
                let path = Self::path(dir, id)?;
                let tmp = path.with_extension("partiel");
                let mut f = tokio::fs::File::create(&tmp).await?;
                f.write_all(bytes).await?;
                f.sync_all().await?;
                tokio::fs::rename(&tmp, &path).await?;
                Ok(())
            }
            Inner::Object(o) => o.put(id, bytes).await,
        }
    }

    pub async fn get(&self, id: &str) -> anyhow::Result<Vec<u8>> {
        match &*self.inner {
            Inner::Local { dir } => Ok(tokio::fs::read(Self::path(dir, id)?).await?),
            Inner::Object(o) => o.get(id).await,
        }
    }

    /// The content, or None when the store does not hold it (deleted meanwhile).
    pub async fn get_if_present(&self, id: &str) -> anyhow::Result<Option<Vec<u8>>> {
        match &*self.inner {
            Inner::Local { dir } => match tokio::fs::read(Self::path(dir, id)?).await {
                Ok(b) => Ok(Some(b)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(e.into()),
            },
            Inner::Object(o) => o.get_if_present(id).await,
        }
    }

    pub async fn delete(&self, id: &str) -> anyhow::Result<()> {
        match &*self.inner {
            Inner::Local { dir } => match tokio::fs::remove_file(Self::path(dir, id)?).await {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(e.into()),
            },
            Inner::Object(o) => o.delete(id).await,
        }
    }

    /// Whether the store answers: the directory is there (or can be made), the bucket lists.
    pub async fn probe(&self) -> anyhow::Result<()> {
        match &*self.inner {
            Inner::Local { dir } => Ok(tokio::fs::create_dir_all(dir).await?),
            Inner::Object(o) => o.probe().await,
        }
    }

    /// Every id the store holds with when it was written (ms), half-written files left out.
    pub async fn list_dated(&self) -> anyhow::Result<Vec<(String, i64)>> {
        match &*self.inner {
            Inner::Local { dir } => {
                let mut out = Vec::new();
                for id in self.list().await? {
                    let modified = tokio::fs::metadata(dir.join(&id))
                        .await
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                        .map_or(0, |d| d.as_millis() as i64);
                    out.push((id, modified));
                }
                Ok(out)
            }
            Inner::Object(o) => o.list_dated().await,
        }
    }

    /// Every id the store holds (unordered), half-written files left out.
    pub async fn list(&self) -> anyhow::Result<Vec<String>> {
        match &*self.inner {
            Inner::Local { dir } => {
                let mut ids = Vec::new();
                let mut entries = match tokio::fs::read_dir(dir).await {
                    Ok(e) => e,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(ids),
                    Err(e) => return Err(e.into()),
                };
                while let Some(e) = entries.next_entry().await? {
                    if let Some(name) = e.file_name().to_str() {
                        if check_id(name).is_ok() {
                            ids.push(name.to_string());
                        }
                    }
                }
                Ok(ids)
            }
            Inner::Object(o) => o.list().await,
        }
    }
}

/// A file is written before the commit that records it: one nobody points to is an orphan only
/// once it is older than this (a crash between the two, an annex removed, a photo refused).
pub const ORPHAN_AFTER_MS: i64 = 24 * 3600 * 1000;

/// Deletes the contents no row points to and written before `now - ORPHAN_AFTER_MS`; returns
/// how many. The database is read after the listing, so a file recorded meanwhile is kept.
pub async fn sweep(db: &Db, store: &FileStore, now: i64) -> anyhow::Result<usize> {
    let listed = store.list_dated().await?;
    let referenced: std::collections::HashSet<String> = referenced(db)
        .await?
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    let mut deleted = 0;
    for (id, written) in listed {
        if written < now - ORPHAN_AFTER_MS && !referenced.contains(&id) {
            store.delete(&id).await?;
            deleted += 1;
        }
    }
    Ok(deleted)
}

/// The ids of stored files (and their digests) in every table that points to the file store.
/// A new table that does must be added here: the sweep deletes what this does not name (a unit
/// test reads the migrations to check none is missed).
const REFERENCED: &str = "SELECT id, sha256 FROM files
         UNION ALL SELECT id, sha256 FROM vault_documents
         UNION ALL SELECT id, NULL FROM signalement_photos
         UNION ALL SELECT file_id, sha256 FROM deliberations WHERE file_id IS NOT NULL
         UNION ALL SELECT file_id, sha256 FROM proces_verbaux WHERE file_id IS NOT NULL
         UNION ALL SELECT file_id, NULL FROM annexes";

/// Every file the database points to, with the digest it recorded when there is one: what a
/// restored platform must find in its file store.
pub async fn referenced(db: &Db) -> anyhow::Result<Vec<(String, Option<String>)>> {
    let rows = sqlx::query(REFERENCED).fetch_all(db.pool()).await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}

#[derive(Debug, Clone)]
pub struct StoredFile {
    pub id: String,
    pub tenant_id: i64,
    pub dossier_id: i64,
    pub field_key: String,
    pub name: String,
    pub mime: String,
    pub size: i64,
    pub sha256: String,
}

/// A display name safe to show and to put in a download header, ending with the extension of the
/// type the content was found to be (see `guichet_domain::text::safe_file_name`).
pub fn clean_name(name: &str, mime: &str) -> String {
    let extension = guichet_domain::demarche::values::KNOWN_FILE_TYPES
        .iter()
        .find(|(m, _, _)| *m == mime)
        .map(|(_, _, e)| *e);
    guichet_domain::text::safe_file_name(name, extension)
}

/// A file about to join a dossier: stored first (under its id), then recorded with the change
/// that makes it part of the dossier.
#[derive(Debug, Clone)]
pub struct NewFile {
    pub id: String,
    pub field_key: String,
    pub owner: Option<i64>,
    pub name: String,
    pub mime: String,
    pub bytes: Vec<u8>,
}

/// Writes the files' contents to the file store, before the commit that records them: a crash
/// in between leaves a file nobody points to, never a dossier pointing to a missing file.
pub async fn put_all(store: &FileStore, files: &[NewFile]) -> anyhow::Result<()> {
    for f in files {
        store.put(&f.id, &f.bytes).await?;
    }
    Ok(())
}

/// Records files of a dossier inside the caller's transaction.
pub(crate) async fn record_in(
    conn: &mut sqlx::AnyConnection,
    tenant_id: i64,
    dossier_id: i64,
    files: &[NewFile],
) -> anyhow::Result<Vec<StoredFile>> {
    let now = crate::now_ms();
    let mut out = Vec::new();
    for f in files {
        let stored = StoredFile {
            id: f.id.clone(),
            tenant_id,
            dossier_id,
            field_key: f.field_key.clone(),
            name: clean_name(&f.name, &f.mime),
            mime: f.mime.clone(),
            size: f.bytes.len() as i64,
            sha256: hex::encode(Sha256::digest(&f.bytes)),
        };
        sqlx::query(
            "INSERT INTO files (id, tenant_id, dossier_id, field_key, owner_user_id, name, mime, size, sha256, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&stored.id)
        .bind(tenant_id)
        .bind(dossier_id)
        .bind(&stored.field_key)
        .bind(f.owner)
        .bind(&stored.name)
        .bind(&stored.mime)
        .bind(stored.size)
        .bind(&stored.sha256)
        .bind(now)
        .execute(&mut *conn)
        .await?;
        out.push(stored);
    }
    Ok(out)
}

/// Forgets files of a dossier inside the caller's transaction (their contents are deleted once
/// it has committed, `delete_contents`); ids of other dossiers are ignored.
pub(crate) async fn forget_in(
    conn: &mut sqlx::AnyConnection,
    tenant_id: i64,
    dossier_id: i64,
    ids: &[String],
) -> anyhow::Result<Vec<String>> {
    let mut gone = Vec::new();
    for id in ids {
        let done =
            sqlx::query("DELETE FROM files WHERE id = $1 AND tenant_id = $2 AND dossier_id = $3")
                .bind(id)
                .bind(tenant_id)
                .bind(dossier_id)
                .execute(&mut *conn)
                .await?
                .rows_affected();
        if done == 1 {
            gone.push(id.clone());
        }
    }
    Ok(gone)
}

/// Deletes contents no row points to any more (after the commit that forgot them).
pub async fn delete_contents(store: &FileStore, ids: &[String]) {
    for id in ids {
        if let Err(e) = store.delete(id).await {
            tracing::warn!(error = %e, file = %id, "file content left behind");
        }
    }
}

fn from_row(r: &sqlx::any::AnyRow) -> anyhow::Result<StoredFile> {
    Ok(StoredFile {
        id: r.try_get("id")?,
        tenant_id: r.try_get("tenant_id")?,
        dossier_id: r.try_get("dossier_id")?,
        field_key: r.try_get("field_key")?,
        name: r.try_get("name")?,
        mime: r.try_get("mime")?,
        size: r.try_get("size")?,
        sha256: r.try_get("sha256")?,
    })
}

/// The file, only if it belongs to this dossier of this collectivité.
pub async fn get(
    db: &Db,
    tenant_id: i64,
    dossier_id: i64,
    id: &str,
) -> anyhow::Result<Option<StoredFile>> {
    sqlx::query("SELECT id, tenant_id, dossier_id, field_key, name, mime, size, sha256 FROM files WHERE id = $1 AND tenant_id = $2 AND dossier_id = $3")
        .bind(id)
        .bind(tenant_id)
        .bind(dossier_id)
        .fetch_optional(db.pool())
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

/// The names of the files of these dossiers, by file id (one query for a page of an export).
pub async fn names_of_dossiers(
    db: &Db,
    tenant_id: i64,
    dossier_ids: &[i64],
) -> anyhow::Result<std::collections::HashMap<String, (i64, String)>> {
    let mut out = std::collections::HashMap::new();
    for chunk in dossier_ids.chunks(500) {
        if chunk.is_empty() {
            continue;
        }
        let list = chunk
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        let rows = sqlx::query(&format!(
            "SELECT id, dossier_id, name FROM files WHERE tenant_id = $1 AND dossier_id IN ({list})"
        ))
        .bind(tenant_id)
        .fetch_all(db.pool())
        .await?;
        for r in rows {
            out.insert(
                r.try_get("id")?,
                (r.try_get("dossier_id")?, r.try_get("name")?),
            );
        }
    }
    Ok(out)
}

pub async fn of_dossier(
    db: &Db,
    tenant_id: i64,
    dossier_id: i64,
) -> anyhow::Result<Vec<StoredFile>> {
    sqlx::query("SELECT id, tenant_id, dossier_id, field_key, name, mime, size, sha256 FROM files WHERE tenant_id = $1 AND dossier_id = $2 ORDER BY created_at, id")
        .bind(tenant_id)
        .bind(dossier_id)
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(from_row)
        .collect()
}

#[cfg(test)]
mod tests {
    /// Tables whose `file_id` or `sha256` is not a file of the store: dataset versions keep their
    /// CSV in the database; history lines point to a row of `files`.
    const NOT_STORED: [&str; 2] = ["dataset_versions", "dossier_events"];

    #[test]
    fn every_table_that_points_to_the_file_store_is_swept_around() {
        let mut tables = std::collections::BTreeSet::new();
        for (_, _, sql) in crate::migrate::MIGRATIONS {
            let mut current: Option<String> = None;
            for line in sql.lines() {
                let words: Vec<&str> = line.split_whitespace().collect();
                if let ["CREATE", "TABLE", name, ..] = words.as_slice() {
                    current = Some(name.trim_end_matches('(').to_string());
                }
                if let ["ALTER", "TABLE", name, "ADD", "COLUMN", column, ..] = words.as_slice() {
                    if *column == "file_id" || *column == "sha256" {
                        tables.insert(name.to_string());
                    }
                }
                let column = words.first().copied().unwrap_or_default();
                if let (Some(t), true) = (&current, column == "file_id" || column == "sha256") {
                    tables.insert(t.clone());
                }
                if line.trim_start().starts_with(");") {
                    current = None;
                }
            }
        }
        assert!(
            tables.contains("files") && tables.contains("annexes"),
            "{tables:?}"
        );
        for t in tables.iter().filter(|t| !NOT_STORED.contains(&t.as_str())) {
            assert!(
                super::REFERENCED.contains(&format!("FROM {t}")),
                "{t} points to the file store but the sweep and the restore check do not read it"
            );
        }
    }
}
