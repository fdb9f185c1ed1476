//! Connecting to the database, whichever backend the URL names, with the settings every
//! connection of the platform takes (durability, time zone, SQLite's pragmas). The ground floor
//! of the store: the pool (`db`) and the group commit (`writer`) both open connections here.

use anyhow::Context;
use sqlx::any::AnyConnectOptions;
use sqlx::{ConnectOptions, Executor};
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The collation that compares text byte by byte (code point order), whatever the
    /// database's default: what a prefix read as a range of an index needs. SQLite's default
    /// already does.
    pub fn bytes_collation(self) -> &'static str {
        match self {
            Self::Sqlite => "",
            Self::Postgres => " COLLATE \"C\"",
        }
    }

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

pub(crate) fn backend_of(url: &str) -> anyhow::Result<Backend> {
    if url.starts_with("sqlite:") {
        Ok(Backend::Sqlite)
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok(Backend::Postgres)
    } else {
        anyhow::bail!("adresse de base de données non reconnue : utilisez sqlite:// ou postgres://")
    }
}

/// What every connection sets first: durability, and the rest of the platform's conventions.
pub(crate) fn session_settings(backend: Backend, durability: Durability) -> String {
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

pub(crate) fn cannot_open(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "impossible d'ouvrir la base SQLite",
        Backend::Postgres => "impossible de se connecter à PostgreSQL",
    }
}

pub(crate) fn connect_options(url: &str) -> anyhow::Result<AnyConnectOptions> {
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
