//! Connection to the database, whichever backend the URL names.

use anyhow::Context;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions, Executor};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// Durability of commits. `Full` is the default: a commit acknowledged to a user survives a crash
/// or power loss. `Relaxed` only by explicit configuration (see docs/ARCHITECTURE.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Durability {
    #[default]
    Full,
    Relaxed,
}

#[derive(Clone, Debug)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
    writer: crate::writer::Writer,
    definitions: std::sync::Arc<crate::demarche::DefinitionCache>,
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

fn backend_of(url: &str) -> anyhow::Result<Backend> {
    if url.starts_with("sqlite:") {
        Ok(Backend::Sqlite)
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok(Backend::Postgres)
    } else {
        anyhow::bail!("adresse de base de données non reconnue : utilisez sqlite:// ou postgres://")
    }
}

/// What every connection sets first: durability, and the rest of the platform's conventions.
fn session_settings(backend: Backend, durability: Durability) -> String {
    let full = durability == Durability::Full;
    match backend {
        Backend::Sqlite => format!(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = {}; \
             PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
            if full { "FULL" } else { "NORMAL" }
        ),
        Backend::Postgres => format!(
            "SET synchronous_commit = {}; SET TIME ZONE 'UTC';",
            if full { "on" } else { "off" }
        ),
    }
}

fn cannot_open(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "impossible d'ouvrir la base SQLite",
        Backend::Postgres => "impossible de se connecter à PostgreSQL",
    }
}

fn connect_options(url: &str) -> anyhow::Result<AnyConnectOptions> {
    sqlx::any::install_default_drivers();
    Ok(AnyConnectOptions::from_str(url)
        .with_context(|| "adresse de base de données invalide".to_string())?
        .disable_statement_logging())
}

/// One connection outside any pool, with the same settings (the group commit's).
pub(crate) async fn connect(
    url: &str,
    backend: Backend,
    durability: Durability,
) -> anyhow::Result<sqlx::AnyConnection> {
    let mut conn = connect_options(url)?
        .connect()
        .await
        .with_context(|| cannot_open(backend))?;
    conn.execute(session_settings(backend, durability).as_str())
        .await?;
    Ok(conn)
}

/// A pool with the durability and session settings of every connection.
async fn open_pool(
    url: &str,
    backend: Backend,
    max_connections: u32,
    durability: Durability,
) -> anyhow::Result<AnyPool> {
    let connect_options = connect_options(url)?;
    AnyPoolOptions::new()
        .max_connections(match backend {
            // One writer at a time in SQLite: a small pool avoids lock convoys.
            Backend::Sqlite => max_connections.min(8),
            Backend::Postgres => max_connections,
        })
        .acquire_timeout(Duration::from_secs(10))
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
        let backend = backend_of(url)?;
        let pool = open_pool(url, backend, options.max_connections, options.durability).await?;
        let writer = crate::writer::Writer::start(url.to_string(), backend, options.durability);
        Ok(Self {
            pool,
            backend,
            writer,
            definitions: Default::default(),
        })
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

    pub(crate) fn definitions(&self) -> &crate::demarche::DefinitionCache {
        &self.definitions
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
