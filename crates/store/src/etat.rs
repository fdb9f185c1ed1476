//! The status page's data: maintenances announced by the operator, and the probes of what the
//! services need (database, file store, mail sending).

use crate::db::Db;
use crate::files::FileStore;
use crate::trace::{commit, Trace};
use guichet_domain::etat::{Maintenance, Probes, Service};
use sqlx::Row;

pub struct NewMaintenance {
    pub services: Vec<Service>,
    pub starts_at: i64,
    pub ends_at: i64,
    pub message: String,
}

fn codes(services: &[Service]) -> String {
    services
        .iter()
        .map(|s| s.code())
        .collect::<Vec<_>>()
        .join(",")
}

pub async fn announce(db: &Db, m: NewMaintenance, now: i64, trace: Trace) -> anyhow::Result<i64> {
    commit(db, trace, move |conn| {
        Box::pin(async move {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO maintenances (services, starts_at, ends_at, message, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
            )
            .bind(codes(&m.services))
            .bind(m.starts_at)
            .bind(m.ends_at)
            .bind(m.message.trim().to_string())
            .bind(now)
            .fetch_one(&mut *conn)
            .await?;
            Ok(id)
        })
    })
    .await
}

/// Cancels a maintenance not over yet; false when there is none by that id.
pub async fn cancel(db: &Db, id: i64, now: i64, trace: Trace) -> anyhow::Result<bool> {
    crate::trace::commit_one(db, trace, move |conn| {
        Box::pin(async move {
            Ok(sqlx::query(
                "UPDATE maintenances SET cancelled_at = $1 WHERE id = $2 AND cancelled_at IS NULL AND ends_at > $1",
            )
            .bind(now)
            .bind(id)
            .execute(&mut *conn)
            .await?
            .rows_affected())
        })
    })
    .await
}

/// Maintenances current or to come, soonest first.
pub async fn announced(db: &Db, now: i64) -> anyhow::Result<Vec<Maintenance>> {
    let rows = sqlx::query(
        "SELECT id, services, starts_at, ends_at, message FROM maintenances
         WHERE ends_at > $1 AND cancelled_at IS NULL ORDER BY starts_at, id LIMIT 50",
    )
    .bind(now)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            let services: String = r.try_get(1)?;
            Ok(Maintenance {
                id: r.try_get(0)?,
                services: services.split(',').filter_map(Service::from_code).collect(),
                starts_at: r.try_get(2)?,
                ends_at: r.try_get(3)?,
                message: r.try_get(4)?,
            })
        })
        .collect()
}

/// What the services need, measured now: each probe bounded in time, so a hung dependency reads
/// as down instead of hanging the page.
pub async fn probe(db: &Db, files: &FileStore, now: i64) -> Probes {
    let limit = std::time::Duration::from_secs(2);
    let database = tokio::time::timeout(limit, db.ping())
        .await
        .unwrap_or(false);
    let files = tokio::time::timeout(limit, files.probe())
        .await
        .is_ok_and(|r| r.is_ok());
    let oldest_mail_ms = if database {
        tokio::time::timeout(limit, oldest_pending_mail(db))
            .await
            .ok()
            .and_then(Result::ok)
            .flatten()
            .map(|at| now - at)
    } else {
        None
    };
    Probes {
        database,
        files,
        oldest_mail_ms,
    }
}

/// When the oldest mail still waiting was queued (the pending index's rows only).
pub async fn oldest_pending_mail(db: &Db) -> anyhow::Result<Option<i64>> {
    Ok(
        sqlx::query("SELECT MIN(created_at) FROM outbox WHERE status = 'pending'")
            .fetch_one(db.pool())
            .await?
            .try_get(0)?,
    )
}
