//! The usager's document vault. Documents stay the usager's: a collectivité gets a copy only
//! when the usager attaches one to its dossier (`attach`), which is journaled.

use crate::db::Db;
use crate::files::LocalStore;
use sha2::{Digest, Sha256};
use sqlx::Row;

#[derive(Debug, Clone)]
pub struct Document {
    pub id: String,
    pub user_id: i64,
    pub kind: String,
    pub name: String,
    pub mime: String,
    pub size: i64,
    /// ISO date.
    pub valid_until: Option<String>,
    pub created_at: i64,
}

const COLUMNS: &str = "id, user_id, kind, name, mime, size, valid_until, created_at";

fn from_row(r: &sqlx::any::AnyRow) -> anyhow::Result<Document> {
    Ok(Document {
        id: r.try_get("id")?,
        user_id: r.try_get("user_id")?,
        kind: r.try_get("kind")?,
        name: r.try_get("name")?,
        mime: r.try_get("mime")?,
        size: r.try_get("size")?,
        valid_until: r.try_get("valid_until")?,
        created_at: r.try_get("created_at")?,
    })
}

/// A new document of the vault (checked by the caller).
pub struct NewDocument<'a> {
    pub kind: &'a str,
    pub name: &'a str,
    pub mime: &'a str,
    pub valid_until: Option<String>,
    pub bytes: &'a [u8],
}

pub async fn add(
    db: &Db,
    store: &LocalStore,
    user_id: i64,
    d: &NewDocument<'_>,
    event: &guichet_domain::journal::Event,
) -> anyhow::Result<Document> {
    let id = crate::secret::random_token();
    store.put(&id, d.bytes).await?;
    let mut tx = db.begin().await?;
    sqlx::query(
        "INSERT INTO vault_documents (id, user_id, kind, name, mime, size, sha256, valid_until, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&id)
    .bind(user_id)
    .bind(d.kind)
    .bind(crate::files::clean_name(d.name, d.mime))
    .bind(d.mime)
    .bind(d.bytes.len() as i64)
    .bind(hex::encode(Sha256::digest(d.bytes)))
    .bind(&d.valid_until)
    .bind(crate::now_ms())
    .execute(&mut *tx)
    .await?;
    let mut event = event.clone();
    event.object_id = Some(id.clone());
    crate::journal::append_in(&mut tx, &event).await?;
    tx.commit().await?;
    get(db, user_id, &id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("document introuvable"))
}

pub async fn list(db: &Db, user_id: i64) -> anyhow::Result<Vec<Document>> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM vault_documents WHERE user_id = $1 ORDER BY created_at DESC, id"
    ))
    .bind(user_id)
    .fetch_all(db.pool())
    .await?
    .iter()
    .map(from_row)
    .collect()
}

/// The document, only if it is this usager's.
pub async fn get(db: &Db, user_id: i64, id: &str) -> anyhow::Result<Option<Document>> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM vault_documents WHERE id = $1 AND user_id = $2"
    ))
    .bind(id)
    .bind(user_id)
    .fetch_optional(db.pool())
    .await?
    .as_ref()
    .map(from_row)
    .transpose()
}

pub async fn remove(
    db: &Db,
    store: &LocalStore,
    d: &Document,
    event: &guichet_domain::journal::Event,
) -> anyhow::Result<()> {
    let mut tx = db.begin().await?;
    sqlx::query("DELETE FROM vault_documents WHERE id = $1 AND user_id = $2")
        .bind(&d.id)
        .bind(d.user_id)
        .execute(&mut *tx)
        .await?;
    crate::journal::append_in(&mut tx, event).await?;
    tx.commit().await?;
    // Copies attached to dossiers are the collectivité's and stay.
    store.delete(&d.id).await?;
    Ok(())
}

/// Documents whose validity ends within `days` of `today` (ISO) and whose owner was not warned
/// yet: (document, owner's e-mail).
pub async fn expiring(
    db: &Db,
    today: &str,
    until: &str,
) -> anyhow::Result<Vec<(Document, String)>> {
    let rows = sqlx::query(&format!(
        "SELECT {}, u.email AS email FROM vault_documents v JOIN users u ON u.id = v.user_id
         WHERE v.valid_until IS NOT NULL AND v.valid_until >= $1 AND v.valid_until <= $2
           AND v.expiry_warned_at IS NULL AND u.email IS NOT NULL",
        COLUMNS
            .split(", ")
            .map(|c| format!("v.{c}"))
            .collect::<Vec<_>>()
            .join(", ")
    ))
    .bind(today)
    .bind(until)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| Ok((from_row(r)?, r.try_get("email")?)))
        .collect()
}

pub async fn mark_warned(db: &Db, id: &str) -> anyhow::Result<()> {
    sqlx::query("UPDATE vault_documents SET expiry_warned_at = $1 WHERE id = $2")
        .bind(crate::now_ms())
        .bind(id)
        .execute(db.pool())
        .await?;
    Ok(())
}
