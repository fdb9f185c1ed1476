//! Opinions (avis) asked of experts outside the collectivité about a dossier: a single-use link
//! to the expert's address, the answer kept with the dossier, each step with a private line in
//! the dossier's history and its trace, in one commit.

use crate::db::Db;
use crate::trace::Trace;
use sqlx::any::AnyRow;
use sqlx::Row;

/// How long an expert has to answer.
pub const AVIS_MS: i64 = 30 * 86_400_000;

#[derive(Debug, Clone)]
pub struct Avis {
    pub id: i64,
    pub tenant_id: i64,
    pub dossier_id: i64,
    pub expert_email: String,
    pub question: String,
    pub requested_by: String,
    pub requested_at: i64,
    pub expires_at: i64,
    pub answered_at: Option<i64>,
    pub answer: Option<String>,
}

const COLUMNS: &str = "id, tenant_id, dossier_id, expert_email, question, requested_by, requested_at, expires_at, answered_at, answer";

fn from_row(r: &AnyRow) -> anyhow::Result<Avis> {
    Ok(Avis {
        id: r.try_get("id")?,
        tenant_id: r.try_get("tenant_id")?,
        dossier_id: r.try_get("dossier_id")?,
        expert_email: r.try_get("expert_email")?,
        question: r.try_get("question")?,
        requested_by: r.try_get("requested_by")?,
        requested_at: r.try_get("requested_at")?,
        expires_at: r.try_get("expires_at")?,
        answered_at: r.try_get("answered_at")?,
        answer: r.try_get("answer")?,
    })
}

/// A private line in the dossier's history (never shown to the usager).
async fn history_line(
    conn: &mut sqlx::AnyConnection,
    tenant_id: i64,
    dossier_id: i64,
    actor: &str,
    body: &str,
    now: i64,
) -> anyhow::Result<()> {
    let line = crate::dossier::HistoryLine {
        actor_id: None,
        actor,
        kind: "note",
        body,
        file_id: None,
    };
    line.insert_in(conn, tenant_id, dossier_id, now).await
}

/// A request for an expert's opinion.
pub struct NewAvis {
    pub tenant_id: i64,
    pub dossier_id: i64,
    pub expert_email: String,
    pub question: String,
    /// Hash of the token of the link sent to the expert.
    pub token_hash: String,
    /// The agent who asks.
    pub requested_by: String,
}

/// Asks an expert's opinion: the request, a private history line, and the trace (with the mail
/// carrying the link), in one commit.
pub async fn request(db: &Db, a: NewAvis, trace: Trace) -> anyhow::Result<()> {
    crate::trace::commit(db, trace, move |conn| {
        Box::pin(async move {
            let now = crate::now_ms();
            sqlx::query(
                "INSERT INTO avis (tenant_id, dossier_id, expert_email, question, token_hash, requested_by, requested_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(a.tenant_id)
            .bind(a.dossier_id)
            .bind(&a.expert_email)
            .bind(&a.question)
            .bind(&a.token_hash)
            .bind(&a.requested_by)
            .bind(now)
            .bind(now + AVIS_MS)
            .execute(&mut *conn)
            .await?;
            let line = format!("Avis demandé à {} : {}", a.expert_email, a.question);
            history_line(conn, a.tenant_id, a.dossier_id, &a.requested_by, &line, now).await
        })
    })
    .await
}

/// The request a link opens, answered or not (None for an unknown token).
pub async fn by_token(db: &Db, token_hash: &str) -> anyhow::Result<Option<Avis>> {
    sqlx::query(&format!("SELECT {COLUMNS} FROM avis WHERE token_hash = $1"))
        .bind(token_hash)
        .fetch_optional(db.pool())
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

/// Records the expert's answer once, before the link expires: the answer, a private history line
/// and the trace in one commit; false (nothing written) if it was answered or expired meanwhile.
pub async fn answer(db: &Db, avis: &Avis, text: &str, trace: Trace) -> anyhow::Result<bool> {
    let (id, tenant_id, dossier_id, email, text) = (
        avis.id,
        avis.tenant_id,
        avis.dossier_id,
        avis.expert_email.clone(),
        text.to_string(),
    );
    let done = crate::trace::commit_if(db, trace, move |conn| {
        Box::pin(async move {
            let now = crate::now_ms();
            let n = sqlx::query(
                "UPDATE avis SET answered_at = $1, answer = $2 WHERE id = $3 AND answered_at IS NULL AND expires_at > $1",
            )
            .bind(now)
            .bind(&text)
            .bind(id)
            .execute(&mut *conn)
            .await?
            .rows_affected();
            if n != 1 {
                return Ok(None);
            }
            history_line(conn, tenant_id, dossier_id, &email, &format!("Avis de {email} : {text}"), now).await?;
            Ok(Some(()))
        })
    })
    .await?;
    Ok(done.is_some())
}

/// A dossier's requests, oldest first.
pub async fn of_dossier(db: &Db, tenant_id: i64, dossier_id: i64) -> anyhow::Result<Vec<Avis>> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM avis WHERE tenant_id = $1 AND dossier_id = $2 ORDER BY id"
    ))
    .bind(tenant_id)
    .bind(dossier_id)
    .fetch_all(db.pool())
    .await?
    .iter()
    .map(from_row)
    .collect()
}
