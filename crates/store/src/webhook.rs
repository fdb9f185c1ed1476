//! Signed webhooks: per démarche, a URL receives a JSON event at every state change of its
//! dossiers. Events are queued in the transaction of the change (none is lost, none is sent for a
//! change that rolled back) and delivered by the worker with retries.

use crate::db::Db;
use sqlx::Row;

/// Attempts before giving up: after 1, 2, 4, … 256 minutes (about eight and a half hours).
pub const MAX_ATTEMPTS: i64 = 9;
const LEASE_MS: i64 = 60_000;

/// Delay before attempt `attempts + 1`, after `attempts` failures.
pub fn backoff_ms(attempts: i64) -> i64 {
    60_000 * (1i64 << attempts.clamp(1, 12).saturating_sub(1))
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub url: String,
    pub secret: String,
}

pub async fn settings(
    db: &Db,
    tenant_id: i64,
    demarche_id: i64,
) -> anyhow::Result<Option<Settings>> {
    let row = sqlx::query(
        "SELECT webhook_url, webhook_secret FROM demarches WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant_id)
    .bind(demarche_id)
    .fetch_optional(db.pool())
    .await?;
    let Some(r) = row else { return Ok(None) };
    let url: Option<String> = r.try_get(0)?;
    let stored: Option<String> = r.try_get(1)?;
    let (Some(url), Some(stored)) = (url, stored) else {
        return Ok(None);
    };
    Ok(Some(Settings {
        url,
        secret: db.sealer().open(&stored)?,
    }))
}

/// Sets (or with `None`, removes) the webhook of a démarche, with its trace. A new secret is
/// drawn whenever the URL is set; it is returned so that the admin can copy it.
pub async fn configure(
    db: &Db,
    tenant_id: i64,
    demarche_id: i64,
    url: Option<&str>,
    trace: crate::trace::Trace,
) -> anyhow::Result<Option<String>> {
    let secret = url.map(|_| crate::secret::random_token());
    // Sealed at rest: the database alone cannot sign a delivery.
    let stored = secret.as_deref().map(|s| db.sealer().seal(s)).transpose()?;
    let url = url.map(str::to_string);
    crate::trace::commit(db, trace, move |conn| {
        Box::pin(async move {
            sqlx::query(
                "UPDATE demarches SET webhook_url = $1, webhook_secret = $2, updated_at = $3 WHERE tenant_id = $4 AND id = $5",
            )
            .bind(url)
            .bind(stored)
            .bind(crate::now_ms())
            .bind(tenant_id)
            .bind(demarche_id)
            .execute(&mut *conn)
            .await?;
            Ok(())
        })
    })
    .await?;
    Ok(secret)
}

/// An event for a démarche's webhook, if it has one.
#[derive(Debug, Clone)]
struct WebhookEvent {
    tenant_id: i64,
    demarche_id: i64,
    body: String,
    at: i64,
}

/// A batch's webhook events: the démarches' webhooks are looked up once for the whole batch,
/// before its commit, instead of once per event.
#[derive(Default)]
struct BatchEvents(Vec<WebhookEvent>);

impl crate::writer::Share for BatchEvents {
    fn mark(&self) -> usize {
        self.0.len()
    }
    fn undo(&mut self, mark: usize) {
        self.0.truncate(mark);
    }
    fn finish<'c>(
        self: Box<Self>,
        conn: &'c mut sqlx::AnyConnection,
    ) -> crate::writer::WriteFuture<'c, ()> {
        Box::pin(async move { deliveries_of(conn, self.0).await })
    }
    fn as_any_mut(&mut self) -> &mut dyn std::any::Any {
        self
    }
}

/// Queues an event in the caller's transaction, if the démarche has a webhook. In a group
/// commit, the démarches are looked up once for the whole batch, before its commit.
pub async fn enqueue_in(
    tx: &mut sqlx::AnyConnection,
    tenant_id: i64,
    demarche_id: i64,
    body: &serde_json::Value,
    now: i64,
) -> anyhow::Result<()> {
    let event = WebhookEvent {
        tenant_id,
        demarche_id,
        body: body.to_string(),
        at: now,
    };
    let mut event = Some(event);
    let kept = crate::writer::with_share(|events: &mut BatchEvents| {
        events.0.extend(event.take());
    });
    if kept.is_some() {
        return Ok(());
    }
    deliveries_of(tx, event.into_iter().collect()).await
}

/// Queues the deliveries of these events, for the démarches that have a webhook: one lookup of
/// the URLs, however many events.
async fn deliveries_of(
    tx: &mut sqlx::AnyConnection,
    events: Vec<WebhookEvent>,
) -> anyhow::Result<()> {
    use crate::writer::Value::{Int, Text};
    let mut ids: Vec<i64> = events.iter().map(|e| e.demarche_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let rows = crate::writer::by_ids(tx, &ids, &[], |list| {
        format!(
            "SELECT tenant_id, id, webhook_url FROM demarches WHERE id IN ({list}) AND webhook_url IS NOT NULL"
        )
    })
    .await?;
    let mut urls = std::collections::HashMap::new();
    for row in rows {
        urls.insert(
            (row.try_get::<i64, _>(0)?, row.try_get::<i64, _>(1)?),
            row.try_get::<String, _>(2)?,
        );
    }
    for e in events {
        let Some(url) = urls.get(&(e.tenant_id, e.demarche_id)).cloned() else {
            continue;
        };
        crate::writer::insert_later(
            tx,
            "webhook_deliveries",
            &[
                "tenant_id",
                "demarche_id",
                "url",
                "body",
                "status",
                "next_attempt_at",
                "created_at",
            ],
            vec![
                Int(Some(e.tenant_id)),
                Int(Some(e.demarche_id)),
                Text(Some(url)),
                Text(Some(e.body)),
                Text(Some("pending".into())),
                Int(Some(e.at)),
                Int(Some(e.at)),
            ],
        )
        .await?;
    }
    Ok(())
}

#[derive(Debug, Clone)]
pub struct Delivery {
    pub id: i64,
    pub tenant_id: i64,
    pub demarche_id: i64,
    pub url: String,
    pub body: String,
    pub attempts: i64,
    pub status: String,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub delivered_at: Option<i64>,
}

const COLUMNS: &str =
    "id, tenant_id, demarche_id, url, body, attempts, status, last_error, created_at, delivered_at";

fn from_row(r: &sqlx::any::AnyRow) -> anyhow::Result<Delivery> {
    Ok(Delivery {
        id: r.try_get("id")?,
        tenant_id: r.try_get("tenant_id")?,
        demarche_id: r.try_get("demarche_id")?,
        url: r.try_get("url")?,
        body: r.try_get("body")?,
        attempts: r.try_get("attempts")?,
        status: r.try_get("status")?,
        last_error: r.try_get("last_error")?,
        created_at: r.try_get("created_at")?,
        delivered_at: r.try_get("delivered_at")?,
    })
}

/// Claims the oldest delivery due, if any (same lease scheme as the e-mail outbox).
pub async fn claim(db: &Db, now: i64) -> anyhow::Result<Option<Delivery>> {
    db.write(move |conn| Box::pin(async move {
    sqlx::query(&format!(
        "UPDATE webhook_deliveries SET claimed_until = $1, attempts = attempts + 1
         WHERE id = (SELECT id FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= $2
                       AND (claimed_until IS NULL OR claimed_until < $2) ORDER BY id LIMIT 1)
           AND status = 'pending' AND (claimed_until IS NULL OR claimed_until < $2)
         RETURNING {COLUMNS}"
    ))
    .bind(now + LEASE_MS)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?
    .as_ref()
    .map(from_row)
    .transpose()
    })).await
}

pub async fn mark_delivered(db: &Db, id: i64, now: i64) -> anyhow::Result<()> {
    db.write(move |conn| {
        Box::pin(async move {
            sqlx::query(
                "UPDATE webhook_deliveries SET status = 'delivered', delivered_at = $1, claimed_until = NULL, last_error = NULL WHERE id = $2",
            )
            .bind(now)
            .bind(id)
            .execute(&mut *conn)
            .await?;
            Ok(())
        })
    })
    .await
}

/// Records a failed attempt: retried later with backoff, or given up after `MAX_ATTEMPTS`.
pub async fn mark_failed(db: &Db, d: &Delivery, error: &str, now: i64) -> anyhow::Result<()> {
    let give_up = d.attempts >= MAX_ATTEMPTS;
    let (next, error, id) = (
        now + backoff_ms(d.attempts),
        error.chars().take(500).collect::<String>(),
        d.id,
    );
    db.write(move |conn| {
        Box::pin(async move {
            sqlx::query(
                "UPDATE webhook_deliveries SET status = $1, next_attempt_at = $2, claimed_until = NULL, last_error = $3 WHERE id = $4",
            )
            .bind(if give_up { "failed" } else { "pending" })
            .bind(next)
            .bind(error)
            .bind(id)
            .execute(&mut *conn)
            .await?;
            Ok(())
        })
    })
    .await
}

/// The latest deliveries of a démarche, newest first, for its admin page.
pub async fn recent(
    db: &Db,
    tenant_id: i64,
    demarche_id: i64,
    limit: i64,
) -> anyhow::Result<Vec<Delivery>> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM webhook_deliveries WHERE tenant_id = $1 AND demarche_id = $2 ORDER BY id DESC LIMIT {}",
        limit.clamp(1, 200)
    ))
    .bind(tenant_id)
    .bind(demarche_id)
    .fetch_all(db.pool())
    .await?
    .iter()
    .map(from_row)
    .collect()
}
