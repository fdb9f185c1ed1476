//! Failed logins, for throttling (the rule itself is in the domain).

use crate::db::Db;
use guichet_domain::throttle::{verdict, Verdict, WINDOW_MS};
use sqlx::Row;

fn subjects(email: &str, ip: Option<&str>) -> (String, Option<String>) {
    (
        format!("compte:{}", email.trim().to_lowercase()),
        ip.map(|ip| format!("ip:{ip}")),
    )
}

async fn failures(db: &Db, subject: &str, since: i64) -> anyhow::Result<Vec<i64>> {
    sqlx::query(
        "SELECT at FROM login_failures WHERE subject = $1 AND at > $2 ORDER BY at DESC LIMIT 100",
    )
    .bind(subject)
    .bind(since)
    .fetch_all(db.pool())
    .await?
    .iter()
    .map(|r| Ok(r.try_get(0)?))
    .collect()
}

pub async fn check(db: &Db, email: &str, ip: Option<&str>, now: i64) -> anyhow::Result<Verdict> {
    let (account, address) = subjects(email, ip);
    let since = now - WINDOW_MS;
    let account_failures = failures(db, &account, since).await?;
    let ip_failures = match address {
        Some(a) => failures(db, &a, since).await?,
        None => Vec::new(),
    };
    Ok(verdict(&account_failures, &ip_failures, now))
}

pub async fn record_failure(
    db: &Db,
    email: &str,
    ip: Option<&str>,
    now: i64,
) -> anyhow::Result<()> {
    let (account, address) = subjects(email, ip);
    for subject in std::iter::once(account).chain(address) {
        sqlx::query("INSERT INTO login_failures (subject, at) VALUES ($1, $2)")
            .bind(subject)
            .bind(now)
            .execute(db.pool())
            .await?;
    }
    Ok(())
}

/// After a successful login the account's failures no longer count.
pub async fn clear_account(db: &Db, email: &str) -> anyhow::Result<()> {
    sqlx::query("DELETE FROM login_failures WHERE subject = $1")
        .bind(subjects(email, None).0)
        .execute(db.pool())
        .await?;
    Ok(())
}

pub async fn purge_old(db: &Db, now: i64) -> anyhow::Result<()> {
    sqlx::query("DELETE FROM login_failures WHERE at < $1")
        .bind(now - WINDOW_MS)
        .execute(db.pool())
        .await?;
    Ok(())
}
