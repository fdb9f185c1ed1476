//! Files of dossiers: metadata in the database, content in a file store. The store is an
//! interface; the default keeps each file in a directory, named by a random id (never by the
//! name the usager gave it).

use crate::db::Db;
use sha2::{Digest, Sha256};
use sqlx::Row;
use std::path::PathBuf;

/// Where file contents live. Several web nodes need a shared store (a shared directory, or an
/// object store behind this same interface).
#[derive(Debug, Clone)]
pub struct LocalStore {
    pub dir: PathBuf,
}

impl LocalStore {
    fn path(&self, id: &str) -> anyhow::Result<PathBuf> {
        // Ids are ours (URL-safe base64); refuse anything else, so no path can escape the directory.
        if id.is_empty()
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            anyhow::bail!("identifiant de fichier invalide");
        }
        Ok(self.dir.join(id))
    }

    /// Writes durably: to a temporary name, synced, then renamed.
    pub async fn put(&self, id: &str, bytes: &[u8]) -> anyhow::Result<()> {
        use tokio::io::AsyncWriteExt;
        tokio::fs::create_dir_all(&self.dir).await?;
        let path = self.path(id)?;
        let tmp = path.with_extension("partiel");
        let mut f = tokio::fs::File::create(&tmp).await?;
        f.write_all(bytes).await?;
        f.sync_all().await?;
        tokio::fs::rename(&tmp, &path).await?;
        Ok(())
    }

    pub async fn get(&self, id: &str) -> anyhow::Result<Vec<u8>> {
        Ok(tokio::fs::read(self.path(id)?).await?)
    }

    pub async fn delete(&self, id: &str) -> anyhow::Result<()> {
        match tokio::fs::remove_file(self.path(id)?).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
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
pub async fn put_all(store: &LocalStore, files: &[NewFile]) -> anyhow::Result<()> {
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
pub async fn delete_contents(store: &LocalStore, ids: &[String]) {
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
