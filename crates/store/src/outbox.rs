//! E-mails waiting to be sent. Any node's worker claims a batch at a time with a lease, so several
//! nodes never send the same mail twice in normal operation, and a crashed node's claim expires.

use crate::db::Db;
use sqlx::Row;

/// Retries: after 1, 2, 4, … minutes, at most this many attempts.
pub const MAX_ATTEMPTS: i64 = 8;
const LEASE_MS: i64 = 60_000;

#[derive(Debug, Clone)]
pub struct Mail {
    pub id: i64,
    pub tenant_id: Option<i64>,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub attempts: i64,
}

/// An e-mail to send, written with the change it tells about.
#[derive(Debug, Clone)]
pub struct NewMail {
    pub tenant_id: Option<i64>,
    pub recipient: String,
    pub subject: String,
    pub body: String,
}

pub async fn enqueue(
    db: &Db,
    tenant_id: Option<i64>,
    recipient: &str,
    subject: &str,
    body: &str,
) -> anyhow::Result<()> {
    let mail = NewMail {
        tenant_id,
        recipient: recipient.to_string(),
        subject: subject.to_string(),
        body: body.to_string(),
    };
    db.write(move |conn| Box::pin(async move { enqueue_in(conn, &mail).await }))
        .await
}

/// What `Db::subscribe` announces once mails queued by a change have committed.
pub const TOPIC: &str = "outbox";

/// Queues a mail inside the caller's transaction: it is sent only if that change commits, and
/// the mail workers hear of it then.
pub async fn enqueue_in(conn: &mut sqlx::AnyConnection, mail: &NewMail) -> anyhow::Result<()> {
    use crate::writer::Value::{Int, Text};
    let now = crate::now_ms();
    crate::writer::announce(TOPIC);
    crate::writer::insert_later(
        conn,
        "outbox",
        &[
            "tenant_id",
            "recipient",
            "subject",
            "body",
            "status",
            "next_attempt_at",
            "created_at",
        ],
        vec![
            Int(mail.tenant_id),
            Text(Some(mail.recipient.clone())),
            Text(Some(mail.subject.clone())),
            Text(Some(mail.body.clone())),
            Text(Some("pending".into())),
            Int(Some(now)),
            Int(Some(now)),
        ],
    )
    .await
}

/// Marks `sent` as sent, then claims the oldest mails due, at most `limit`: one write for the
/// worker's whole turn, however many mails it handled.
pub async fn claim(db: &Db, now: i64, limit: i64, sent: Vec<i64>) -> anyhow::Result<Vec<Mail>> {
    // Through the group commit: on SQLite the worker then never holds the write lock that
    // deposits wait for.
    let rows = db
        .write(move |conn| {
            Box::pin(async move {
                mark_sent_in(conn, &sent).await?;
                // The oldest due first, then the claim by id: two plain statements whose plans
                // do not depend on the statistics (as one UPDATE … IN (SELECT …), a planner that
                // believed the table empty joined every waiting mail to the subquery's).
                let due: Vec<i64> = sqlx::query_scalar(
                    "SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= $1
                       AND (claimed_until IS NULL OR claimed_until < $1) ORDER BY id LIMIT $2",
                )
                .bind(now)
                .bind(limit)
                .fetch_all(&mut *conn)
                .await?;
                // Re-checked on the row itself: another node's worker may have claimed it
                // since the SELECT (PostgreSQL; SQLite holds the write lock). On PostgreSQL the
                // rows another node's batch holds are left to it: waiting for them, in a batch
                // that may already hold the journal's head that batch waits for, deadlocked two
                // nodes (scripts/bench-nodes).
                let postgres = conn.backend_name() == "PostgreSQL";
                crate::writer::by_ids(conn, &due, &[now + LEASE_MS, now], |list| {
                    let free = if postgres {
                        format!(" AND id IN (SELECT id FROM outbox WHERE id IN ({list}) FOR UPDATE SKIP LOCKED)")
                    } else {
                        String::new()
                    };
                    format!(
                        "UPDATE outbox SET claimed_until = $1, attempts = attempts + 1
                         WHERE id IN ({list}) AND status = 'pending' AND (claimed_until IS NULL OR claimed_until < $2){free}
                         RETURNING id, tenant_id, recipient, subject, body, attempts"
                    )
                })
                .await
            })
        })
        .await?;
    let mut mails = rows
        .iter()
        .map(|r| {
            Ok(Mail {
                id: r.try_get(0)?,
                tenant_id: r.try_get(1)?,
                recipient: r.try_get(2)?,
                subject: r.try_get(3)?,
                body: r.try_get(4)?,
                attempts: r.try_get(5)?,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    mails.sort_by_key(|m| m.id);
    Ok(mails)
}

/// Marks these mails sent, in power-of-two statements (a few shapes stay prepared).
async fn mark_sent_in(conn: &mut sqlx::AnyConnection, ids: &[i64]) -> anyhow::Result<()> {
    crate::writer::by_ids(conn, ids, &[crate::now_ms()], |list| {
        format!("UPDATE outbox SET status = 'sent', sent_at = $1, claimed_until = NULL WHERE id IN ({list})")
    })
    .await?;
    Ok(())
}

/// Schedules a retry with exponential backoff, or gives up after MAX_ATTEMPTS.
pub async fn mark_failed(db: &Db, mail: &Mail, error: &str, now: i64) -> anyhow::Result<()> {
    let status = if mail.attempts >= MAX_ATTEMPTS {
        "failed"
    } else {
        "pending"
    };
    let delay = 60_000i64 << (mail.attempts - 1).clamp(0, 10);
    let (error, id) = (error.chars().take(500).collect::<String>(), mail.id);
    db.write(move |conn| {
        Box::pin(async move {
            sqlx::query(
                "UPDATE outbox SET status = $1, next_attempt_at = $2, claimed_until = NULL, last_error = $3 WHERE id = $4",
            )
            .bind(status)
            .bind(now + delay)
            .bind(error)
            .bind(id)
            .execute(&mut *conn)
            .await?;
            Ok(())
        })
    })
    .await
}

/// How long a mail sent or given up on stays in the outbox: enough to answer "did you send it?",
/// not a second archive of what it says (the dossier keeps that).
pub const KEPT_AFTER_QUEUED_MS: i64 = 30 * 24 * 3_600_000;

/// Deletes the mails sent or given up on that were queued before `before`, a thousand per write
/// (on SQLite, deposits never wait behind a long purge). Returns how many went.
pub async fn purge_done(db: &Db, before: i64) -> anyhow::Result<u64> {
    const CHUNK: i64 = 1_000;
    let mut purged = 0;
    loop {
        let deleted = db
            .write(move |conn| {
                Box::pin(async move {
                    // The ids first, then the delete by id: plans that do not depend on the
                    // statistics (see `claim`).
                    let ids: Vec<i64> = sqlx::query_scalar(
                        "SELECT id FROM outbox WHERE status IN ('sent', 'failed') AND created_at < $1
                         ORDER BY id LIMIT $2",
                    )
                    .bind(before)
                    .bind(CHUNK)
                    .fetch_all(&mut *conn)
                    .await?;
                    let deleted = crate::writer::by_ids(conn, &ids, &[], |list| {
                        format!(
                            "DELETE FROM outbox WHERE id IN ({list}) AND status IN ('sent', 'failed') RETURNING id"
                        )
                    })
                    .await?;
                    Ok(deleted.len() as u64)
                })
            })
            .await?;
        purged += deleted;
        if deleted < CHUNK as u64 {
            return Ok(purged);
        }
    }
}

/// Mails waiting and mails given up on, for the operator: each counted in the index of its own
/// rows (0017, 0019), never reading the sent ones.
pub async fn backlog(db: &Db) -> anyhow::Result<(i64, i64)> {
    let row = sqlx::query(
        "SELECT (SELECT COUNT(*) FROM outbox WHERE status = 'pending'),
                (SELECT COUNT(*) FROM outbox WHERE status = 'failed')",
    )
    .fetch_one(db.pool())
    .await?;
    Ok((row.try_get(0)?, row.try_get(1)?))
}
