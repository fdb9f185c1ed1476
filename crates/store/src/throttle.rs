//! Failed logins, for throttling (the rule itself is in the domain).

use crate::db::Db;
use crate::trace::Trace;
use guichet_domain::throttle::{network_of, verdict, Verdict, ALERT_AT, WINDOW_MS};
use sqlx::Row;

struct Subjects {
    /// This account from this network.
    pair: String,
    /// This network, any account.
    network: Option<String>,
    /// When the account's owner was last alerted.
    alert: String,
}

fn subjects(email: &str, ip: Option<&str>) -> Subjects {
    let email = email.trim().to_lowercase();
    let network = ip
        .and_then(|ip| ip.parse().ok())
        .map(network_of)
        .unwrap_or_else(|| "inconnu".into());
    Subjects {
        pair: format!("compte:{email} reseau:{network}"),
        network: ip.map(|_| format!("reseau:{network}")),
        alert: format!("alerte:{email}"),
    }
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

/// Whether this account may try now from this address.
pub async fn check(db: &Db, email: &str, ip: Option<&str>, now: i64) -> anyhow::Result<Verdict> {
    let s = subjects(email, ip);
    let since = now - WINDOW_MS;
    let pair = failures(db, &s.pair, since).await?;
    let network = match &s.network {
        Some(n) => failures(db, n, since).await?,
        None => Vec::new(),
    };
    Ok(verdict(&pair, &network, now))
}

/// Records a failed sign-in with its trace; when the delays have just started for a network and
/// no alert went out in this window, `alert` (a mail to the account's owner) goes with it.
pub async fn record_failure(
    db: &Db,
    email: &str,
    ip: Option<&str>,
    now: i64,
    trace: Trace,
    alert: Option<crate::outbox::NewMail>,
) -> anyhow::Result<()> {
    let s = subjects(email, ip);
    db.write(move |conn| {
        Box::pin(async move {
            let since = now - WINDOW_MS;
            for subject in std::iter::once(&s.pair).chain(s.network.as_ref()) {
                sqlx::query("INSERT INTO login_failures (subject, at) VALUES ($1, $2)")
                    .bind(subject)
                    .bind(now)
                    .execute(&mut *conn)
                    .await?;
            }
            let count: i64 =
                sqlx::query("SELECT COUNT(*) FROM login_failures WHERE subject = $1 AND at > $2")
                    .bind(&s.pair)
                    .bind(since)
                    .fetch_one(&mut *conn)
                    .await?
                    .try_get(0)?;
            let alerted: i64 =
                sqlx::query("SELECT COUNT(*) FROM login_failures WHERE subject = $1 AND at > $2")
                    .bind(&s.alert)
                    .bind(since)
                    .fetch_one(&mut *conn)
                    .await?
                    .try_get(0)?;
            let mut trace = trace;
            if let (true, Some(mail)) = (count >= ALERT_AT as i64 && alerted == 0, alert) {
                sqlx::query("INSERT INTO login_failures (subject, at) VALUES ($1, $2)")
                    .bind(&s.alert)
                    .bind(now)
                    .execute(&mut *conn)
                    .await?;
                trace = trace.mail(mail);
            }
            trace.write(conn).await
        })
    })
    .await
}

/// After a successful sign-in from a network, that network's failures for the account no longer
/// count (inside the sign-in's transaction).
pub(crate) async fn clear_in(
    conn: &mut sqlx::AnyConnection,
    email: &str,
    ip: Option<&str>,
) -> anyhow::Result<()> {
    sqlx::query("DELETE FROM login_failures WHERE subject = $1")
        .bind(subjects(email, ip).pair)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn purge_old(db: &Db, now: i64) -> anyhow::Result<()> {
    db.write(move |conn| {
        Box::pin(async move {
            sqlx::query("DELETE FROM login_failures WHERE at < $1")
                .bind(now - WINDOW_MS)
                .execute(&mut *conn)
                .await?;
            Ok(())
        })
    })
    .await
}
