//! The database of the platform: a pool of connections for reads and short transactions, and
//! the group commit (`writer`) for writes.

use crate::conn::{backend_of, cannot_open, connect_options, session_settings};
pub use crate::conn::{Backend, Durability};
use anyhow::Context;
use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Executor};
use std::path::Path;
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
    writer: crate::writer::Writer,
    caches: std::sync::Arc<Caches>,
    sealer: std::sync::Arc<crate::sealed::Sealer>,
}

/// What the capabilities keep in memory beside the database (e.g. the published démarche
/// versions, which never change), one value per type, made at first use.
#[derive(Default)]
struct Caches(
    std::sync::RwLock<
        Vec<(
            std::any::TypeId,
            std::sync::Arc<dyn std::any::Any + Send + Sync>,
        )>,
    >,
);

impl std::fmt::Debug for Caches {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Caches")
    }
}

#[derive(Debug, Clone)]
pub struct DbOptions {
    pub max_connections: u32,
    pub durability: Durability,
}

impl Default for DbOptions {
    fn default() -> Self {
        Self {
            max_connections: default_max_connections(),
            durability: Durability::Full,
        }
    }
}

/// Twice the cores, at least 4. A PostgreSQL connection is a process: more of them than the
/// cores can run only add context switches and wakeups (on 2 cores, 4 connections deposit about
/// a fifth more dossiers per second than 16; docs/PERFORMANCE.md).
pub fn default_max_connections() -> u32 {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    u32::try_from(cores * 2).unwrap_or(u32::MAX).max(4)
}

/// A connection idle for longer than this is checked by a round trip before it is lent; one used
/// more recently is known to work (the "alive bypass window" of JDBC pools), so that under load
/// no statement pays a ping besides its own round trip.
const CHECK_IF_IDLE_FOR: Duration = Duration::from_millis(500);

/// A pool with the durability and session settings of every connection. With `hosts` (a
/// multi-host URL), the connections opened before the primary changed are closed instead of
/// lent.
async fn open_pool(
    url: &str,
    backend: Backend,
    max_connections: u32,
    durability: Durability,
    hosts: Option<std::sync::Arc<crate::failover::Hosts>>,
) -> anyhow::Result<AnyPool> {
    let connect_options = connect_options(url)?;
    AnyPoolOptions::new()
        .max_connections(match backend {
            // One writer at a time in SQLite: a small pool avoids lock convoys.
            Backend::Sqlite => max_connections.min(8),
            Backend::Postgres => max_connections,
        })
        .acquire_timeout(Duration::from_secs(10))
        .test_before_acquire(false)
        .before_acquire(move |conn, meta| {
            let hosts = hosts.clone();
            Box::pin(async move {
                if hosts.is_some_and(|h| h.predates_switch(meta.age)) {
                    return Ok(false);
                }
                if meta.idle_for < CHECK_IF_IDLE_FOR {
                    return Ok(true);
                }
                Ok(sqlx::Connection::ping(conn).await.is_ok())
            })
        })
        .after_connect(move |conn, _meta| {
            Box::pin(async move {
                conn.execute(session_settings(backend, durability).as_str())
                    .await?;
                Ok(())
            })
        })
        .connect_with(connect_options)
        .await
        .with_context(|| cannot_open(backend))
}

impl Db {
    /// The URL of the embedded database inside a data directory.
    pub fn sqlite_url_in(data_dir: &Path) -> String {
        format!(
            "sqlite://{}?mode=rwc",
            data_dir.join("guichet.sqlite").display()
        )
    }

    pub async fn connect(url: &str, options: &DbOptions) -> anyhow::Result<Self> {
        use crate::failover::{self, Target};
        let backend = backend_of(url)?;
        // A multi-host PostgreSQL URL: the primary is found now and watched (`failover`).
        let target = match failover::split(url) {
            Some(urls) => Target::Hosts(failover::connect(urls, Duration::from_secs(30)).await?),
            None => Target::Fixed(url.to_string()),
        };
        let hosts = match &target {
            Target::Hosts(hosts) => Some(hosts.clone()),
            Target::Fixed(_) => None,
        };
        let pool = open_pool(
            &target.url(),
            backend,
            options.max_connections,
            options.durability,
            hosts,
        )
        .await?;
        if let Target::Hosts(hosts) = &target {
            failover::watch(hosts.clone(), pool.clone());
        }
        let writer = crate::writer::Writer::start(target, backend, options.durability);
        Ok(Self {
            pool,
            backend,
            writer,
            caches: Default::default(),
            sealer: std::sync::Arc::new(crate::sealed::Sealer::none()),
        })
    }

    /// This database with the keys that seal its secrets (`sealed`).
    pub fn with_sealer(mut self, sealer: crate::sealed::Sealer) -> Self {
        self.sealer = std::sync::Arc::new(sealer);
        self
    }

    /// The keys that seal and open the secrets stored in this database.
    pub fn sealer(&self) -> std::sync::Arc<crate::sealed::Sealer> {
        std::sync::Arc::clone(&self.sealer)
    }

    /// Runs a write in the next group commit (see `writer`): many requests share one durable
    /// commit. The answer comes once the commit holding this write is durable.
    pub async fn write<T, F>(&self, job: F) -> anyhow::Result<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut sqlx::AnyConnection) -> crate::writer::WriteFuture<'c, T>
            + Send
            + 'static,
    {
        self.writer.write(job).await
    }

    /// This database's cache of type `T`, made with `Default` at its first use.
    pub(crate) fn cache<T: Default + Send + Sync + 'static>(&self) -> std::sync::Arc<T> {
        let id = std::any::TypeId::of::<T>();
        let found = |caches: &[(
            std::any::TypeId,
            std::sync::Arc<dyn std::any::Any + Send + Sync>,
        )]| {
            caches
                .iter()
                .find(|(t, _)| *t == id)
                .and_then(|(_, c)| c.clone().downcast::<T>().ok())
        };
        if let Some(c) = self.caches.0.read().ok().and_then(|c| found(&c)) {
            return c;
        }
        let Ok(mut caches) = self.caches.0.write() else {
            return std::sync::Arc::new(T::default());
        };
        if let Some(c) = found(&caches) {
            return c;
        }
        let made = std::sync::Arc::new(T::default());
        caches.push((id, made.clone()));
        made
    }

    /// Topics announced by the capabilities once the writes that concern them have committed
    /// (`"outbox"`: e-mails are waiting).
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<&'static str> {
        self.writer.announcer().subscribe()
    }

    /// Begins a write transaction. On SQLite it takes the write lock at once (BEGIN IMMEDIATE):
    /// a deferred transaction that reads, then writes, fails with "database is locked" when
    /// another connection wrote in between; waiting for the lock up front cannot.
    pub async fn begin(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        }
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Pool size and idle connections, for metrics.
    pub fn pool_stats(&self) -> (u32, usize) {
        (self.pool.size(), self.pool.num_idle())
    }

    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }

    pub async fn close(&self) {
        self.writer.close().await;
        self.pool.close().await;
    }
}
