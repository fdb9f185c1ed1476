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

/// Stores a checked file for a dossier's field.
#[allow(clippy::too_many_arguments)]
pub async fn add(
    db: &Db,
    store: &LocalStore,
    tenant_id: i64,
    dossier_id: i64,
    field_key: &str,
    owner: Option<i64>,
    name: &str,
    mime: &str,
    bytes: &[u8],
) -> anyhow::Result<StoredFile> {
    let id = crate::secret::random_token();
    store.put(&id, bytes).await?;
    let f = StoredFile {
        id: id.clone(),
        tenant_id,
        dossier_id,
        field_key: field_key.to_string(),
        name: clean_name(name, mime),
        mime: mime.to_string(),
        size: bytes.len() as i64,
        sha256: hex::encode(Sha256::digest(bytes)),
    };
    sqlx::query(
        "INSERT INTO files (id, tenant_id, dossier_id, field_key, owner_user_id, name, mime, size, sha256, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&f.id)
    .bind(tenant_id)
    .bind(dossier_id)
    .bind(&f.field_key)
    .bind(owner)
    .bind(&f.name)
    .bind(&f.mime)
    .bind(f.size)
    .bind(&f.sha256)
    .bind(crate::now_ms())
    .execute(db.pool())
    .await?;
    Ok(f)
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

pub async fn remove(db: &Db, store: &LocalStore, f: &StoredFile) -> anyhow::Result<()> {
    sqlx::query("DELETE FROM files WHERE id = $1 AND tenant_id = $2")
        .bind(&f.id)
        .bind(f.tenant_id)
        .execute(db.pool())
        .await?;
    store.delete(&f.id).await
}
