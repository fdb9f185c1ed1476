//! The usager's document vault. Documents stay the usager's: a collectivité gets a copy only
//! when the usager attaches one to its dossier (`attach`), which is journaled.

use crate::db::Db;
use crate::files::FileStore;
use crate::trace::Trace;
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

/// Adds a document to the usager's coffre, with its trace (whose journal entries name it): its
/// content is stored first, then recorded.
pub async fn add(
    db: &Db,
    store: &FileStore,
    user_id: i64,
    d: &NewDocument<'_>,
    trace: Trace,
) -> anyhow::Result<Document> {
    let id = crate::secret::random_token();
    store.put(&id, d.bytes).await?;
    let document = Document {
        id: id.clone(),
        user_id,
        kind: d.kind.to_string(),
        name: crate::files::clean_name(d.name, d.mime),
        mime: d.mime.to_string(),
        size: d.bytes.len() as i64,
        valid_until: d.valid_until.clone(),
        created_at: crate::now_ms(),
    };
    let sha256 = hex::encode(Sha256::digest(d.bytes));
    let mut trace = trace;
    for e in trace.events_mut() {
        e.object_id = Some(id.clone());
    }
    let written = document.clone();
    crate::trace::commit(db, trace, move |conn| {
        Box::pin(async move {
            sqlx::query(
                "INSERT INTO vault_documents (id, user_id, kind, name, mime, size, sha256, valid_until, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(&written.id)
            .bind(written.user_id)
            .bind(&written.kind)
            .bind(&written.name)
            .bind(&written.mime)
            .bind(written.size)
            .bind(sha256)
            .bind(&written.valid_until)
            .bind(written.created_at)
            .execute(&mut *conn)
            .await?;
            Ok(())
        })
    })
    .await?;
    Ok(document)
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

/// Removes a document from the coffre, with its trace; its content goes after the commit.
pub async fn remove(db: &Db, store: &FileStore, d: &Document, trace: Trace) -> anyhow::Result<()> {
    let (id, user_id) = (d.id.clone(), d.user_id);
    crate::trace::commit(db, trace, move |conn| {
        Box::pin(async move {
            sqlx::query("DELETE FROM vault_documents WHERE id = $1 AND user_id = $2")
                .bind(id)
                .bind(user_id)
                .execute(&mut *conn)
                .await?;
            Ok(())
        })
    })
    .await?;
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

/// The owner warned that a document expires soon: marked once, with the trace carrying the mail.
pub async fn warn(db: &Db, id: &str, trace: Trace) -> anyhow::Result<bool> {
    let id = id.to_string();
    let done = crate::trace::commit_if(db, trace, move |conn| {
        Box::pin(async move {
            let done = sqlx::query("UPDATE vault_documents SET expiry_warned_at = $1 WHERE id = $2 AND expiry_warned_at IS NULL")
                .bind(crate::now_ms())
                .bind(id)
                .execute(&mut *conn)
                .await?
                .rows_affected();
            Ok((done == 1).then_some(()))
        })
    })
    .await?;
    Ok(done.is_some())
}
