//! PostgreSQL with standbys: a multi-host URL in libpq's form
//! (`postgres://user@db1:5432,db2:5432/guichet?target_session_attrs=read-write`), which sqlx does
//! not read itself. The primary is the host that answers `pg_is_in_recovery() = false`; a watcher
//! checks it twice a second and, when it stops answering or becomes a standby, finds the new one
//! and points the pool and the group commit at it. The pool's connections opened before the
//! change are closed instead of lent (`Hosts::predates_switch`); the group commit waits for the
//! new primary rather than refusing writes at once.

use crate::conn::connect_options;
use sqlx::{AnyPool, Connection, Row};
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// How often the primary is checked, and how long a host may take to answer.
const CHECK_EVERY: Duration = Duration::from_millis(500);
const HOST_TIMEOUT: Duration = Duration::from_secs(2);

/// Where the database is: one URL, or the hosts of a multi-host URL and the current primary.
#[derive(Clone, Debug)]
pub(crate) enum Target {
    Fixed(String),
    Hosts(Arc<Hosts>),
}

#[derive(Debug)]
pub(crate) struct Hosts {
    /// One single-host URL per host, in the order given.
    pub urls: Vec<String>,
    /// The primary's URL, as last found.
    current: RwLock<String>,
    /// When the primary last changed: connections opened before lead to the old one.
    switched: RwLock<Option<std::time::Instant>>,
}

impl Target {
    /// The URL to connect to now.
    pub fn url(&self) -> String {
        match self {
            Self::Fixed(url) => url.clone(),
            Self::Hosts(h) => h.current(),
        }
    }
}

impl Hosts {
    pub fn current(&self) -> String {
        self.current
            .read()
            .map(|c| c.clone())
            .unwrap_or_else(|e| e.into_inner().clone())
    }

    fn set(&self, url: &str) {
        match self.current.write() {
            Ok(mut c) => *c = url.to_string(),
            Err(e) => *e.into_inner() = url.to_string(),
        }
        match self.switched.write() {
            Ok(mut s) => *s = Some(std::time::Instant::now()),
            Err(e) => *e.into_inner() = Some(std::time::Instant::now()),
        }
    }

    /// Whether a connection opened `age` ago was opened before the primary last changed.
    pub fn predates_switch(&self, age: Duration) -> bool {
        let switched = match self.switched.read() {
            Ok(s) => *s,
            Err(e) => *e.into_inner(),
        };
        switched.is_some_and(|at| age > at.elapsed())
    }
}

/// The single-host URLs of a multi-host PostgreSQL URL, or None for a single host.
/// `target_session_attrs` is libpq's and means what this module does: it is dropped.
pub(crate) fn split(url: &str) -> Option<Vec<String>> {
    let (scheme, rest) = url.split_once("://")?;
    if !scheme.starts_with("postgres") {
        return None;
    }
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let (user, hosts) = match authority.rsplit_once('@') {
        Some((u, h)) => (format!("{u}@"), h),
        None => (String::new(), authority),
    };
    if !hosts.contains(',') {
        return None;
    }
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    let kept: Vec<&str> = query
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("target_session_attrs="))
        .collect();
    let query = if kept.is_empty() {
        String::new()
    } else {
        format!("?{}", kept.join("&"))
    };
    Some(
        hosts
            .split(',')
            .filter(|h| !h.is_empty())
            .map(|h| format!("{scheme}://{user}{h}{path}{query}"))
            .collect(),
    )
}

/// Whether the host behind this connection accepts writes now.
async fn accepts_writes(conn: &mut sqlx::AnyConnection) -> Option<bool> {
    let standby: bool = sqlx::query("SELECT pg_is_in_recovery()")
        .fetch_one(conn)
        .await
        .ok()?
        .try_get(0)
        .ok()?;
    Some(!standby)
}

async fn open(url: &str) -> Option<sqlx::AnyConnection> {
    sqlx::AnyConnection::connect_with(&connect_options(url).ok()?)
        .await
        .ok()
}

/// Whether this host is a primary now; None when it does not answer in time.
async fn is_primary(url: &str) -> Option<bool> {
    let attempt = async {
        let mut conn = open(url).await?;
        let primary = accepts_writes(&mut conn).await;
        let _ = conn.close().await;
        primary
    };
    tokio::time::timeout(HOST_TIMEOUT, attempt)
        .await
        .ok()
        .flatten()
}

/// Whether the current primary still is one, through a connection kept between checks (a
/// check is one query, not a new server process); the connection is dropped when it fails.
async fn still_primary(kept: &mut Option<sqlx::AnyConnection>, url: &str) -> bool {
    let check = async {
        if kept.is_none() {
            *kept = open(url).await;
        }
        accepts_writes(kept.as_mut()?).await
    };
    let primary = tokio::time::timeout(HOST_TIMEOUT, check)
        .await
        .ok()
        .flatten()
        == Some(true);
    if !primary {
        *kept = None;
    }
    primary
}

/// The first host that is a primary.
async fn find_primary(urls: &[String]) -> Option<String> {
    for url in urls {
        if is_primary(url).await == Some(true) {
            return Some(url.clone());
        }
    }
    None
}

/// The hosts of a multi-host URL with the primary found, waiting up to `within` for one (a
/// node starting while a failover completes).
pub(crate) async fn connect(urls: Vec<String>, within: Duration) -> anyhow::Result<Arc<Hosts>> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(primary) = find_primary(&urls).await {
            return Ok(Arc::new(Hosts {
                urls,
                current: RwLock::new(primary),
                switched: RwLock::new(None),
            }));
        }
        if tokio::time::Instant::now() >= deadline {
            anyhow::bail!(
                "aucun des {} serveurs PostgreSQL n'accepte les écritures",
                urls.len()
            );
        }
        tokio::time::sleep(CHECK_EVERY).await;
    }
}

/// Watches the primary for as long as the pool is open; on a change, points the pool at the new
/// one (the group commit reads `Hosts::current` at each connection).
pub(crate) fn watch(hosts: Arc<Hosts>, pool: AnyPool) {
    tokio::spawn(async move {
        let mut kept = None;
        while !pool.is_closed() {
            tokio::time::sleep(CHECK_EVERY).await;
            let current = hosts.current();
            if still_primary(&mut kept, &current).await {
                continue;
            }
            let Some(primary) = find_primary(&hosts.urls).await else {
                tracing::warn!("no PostgreSQL host accepts writes: waiting for a primary");
                continue;
            };
            if primary != current {
                match connect_options(&primary) {
                    Ok(options) => {
                        pool.set_connect_options(options);
                        hosts.set(&primary);
                        tracing::warn!(host = %host_of(&primary), "PostgreSQL primary changed");
                    }
                    Err(e) => tracing::error!(error = %e, "new primary's address"),
                }
            }
        }
    });
}

/// `host:port` of a URL, for logs (never its password).
fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split('/').next().unwrap_or(rest);
    authority.rsplit_once('@').map_or(authority, |(_, h)| h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_multi_host_url_gives_one_url_per_host() {
        assert_eq!(
            split("postgres://guichet:s3cret@db1:5432,db2:5433/guichet?target_session_attrs=read-write&sslmode=require"),
            Some(vec![
                "postgres://guichet:s3cret@db1:5432/guichet?sslmode=require".to_string(),
                "postgres://guichet:s3cret@db2:5433/guichet?sslmode=require".to_string(),
            ])
        );
        assert_eq!(
            split("postgresql://db1,db2/g?target_session_attrs=read-write"),
            Some(vec![
                "postgresql://db1/g".to_string(),
                "postgresql://db2/g".to_string()
            ])
        );
        assert_eq!(split("postgres://u@db1:5432/guichet"), None);
        assert_eq!(split("sqlite://x.db"), None);
        assert_eq!(host_of("postgres://u:p@db2:5433/g"), "db2:5433");
    }
}
