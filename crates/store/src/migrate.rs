//! Versioned migrations, written once in portable SQL and applied at start and by `guichet migrate`.

use crate::db::{Backend, Db};
use anyhow::Context;
use sqlx::Row;

/// (version, name, SQL). Append only: never edit a migration that has shipped.
pub(crate) const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "foundation",
        include_str!("../migrations/0001_foundation.sql"),
    ),
    (
        2,
        "identity",
        include_str!("../migrations/0002_identity.sql"),
    ),
    (
        3,
        "demarches",
        include_str!("../migrations/0003_demarches.sql"),
    ),
    (4, "files", include_str!("../migrations/0004_files.sql")),
    (
        5,
        "retention",
        include_str!("../migrations/0005_retention.sql"),
    ),
    (
        6,
        "api_sync",
        include_str!("../migrations/0006_api_sync.sql"),
    ),
    (
        7,
        "teams_webhooks",
        include_str!("../migrations/0007_teams_webhooks.sql"),
    ),
    (
        8,
        "one_door",
        include_str!("../migrations/0008_one_door.sql"),
    ),
    (
        9,
        "templates",
        include_str!("../migrations/0009_templates.sql"),
    ),
    (
        10,
        "signalements",
        include_str!("../migrations/0010_signalements.sql"),
    ),
    (
        11,
        "contours",
        include_str!("../migrations/0011_contours.sql"),
    ),
    (
        12,
        "signalement_categories",
        include_str!("../migrations/0012_signalement_categories.sql"),
    ),
    (
        13,
        "profile_vault",
        include_str!("../migrations/0013_profile_vault.sql"),
    ),
    (14, "oidc", include_str!("../migrations/0014_oidc.sql")),
    (
        15,
        "aidants",
        include_str!("../migrations/0015_aidants.sql"),
    ),
    (
        16,
        "counter",
        include_str!("../migrations/0016_counter.sql"),
    ),
    (
        17,
        "waiting_queues",
        include_str!("../migrations/0017_waiting_queues.sql"),
    ),
    (
        18,
        "sparse_dossier_indexes",
        include_str!("../migrations/0018_sparse_dossier_indexes.sql"),
    ),
    (
        19,
        "outbox_failed",
        include_str!("../migrations/0019_outbox_failed.sql"),
    ),
    (
        20,
        "audit_checkpoint",
        include_str!("../migrations/0020_audit_checkpoint.sql"),
    ),
    (
        21,
        "api_token_expiry",
        include_str!("../migrations/0021_api_token_expiry.sql"),
    ),
    (
        22,
        "follower_confirmation",
        include_str!("../migrations/0022_follower_confirmation.sql"),
    ),
    (
        23,
        "mandat_consent",
        include_str!("../migrations/0023_mandat_consent.sql"),
    ),
    (
        24,
        "dossier_suspension",
        include_str!("../migrations/0024_dossier_suspension.sql"),
    ),
    (
        25,
        "guest_dossiers",
        include_str!("../migrations/0025_guest_dossiers.sql"),
    ),
    (
        26,
        "dossier_annotations",
        include_str!("../migrations/0026_dossier_annotations.sql"),
    ),
    (27, "avis", include_str!("../migrations/0027_avis.sql")),
    (
        28,
        "audit_action_index",
        include_str!("../migrations/0028_audit_action_index.sql"),
    ),
    (
        29,
        "donnees",
        include_str!("../migrations/0029_donnees.sql"),
    ),
    (
        30,
        "patrimoine",
        include_str!("../migrations/0030_patrimoine.sql"),
    ),
    (
        31,
        "pilotage",
        include_str!("../migrations/0031_pilotage.sql"),
    ),
    (
        32,
        "conseil",
        include_str!("../migrations/0032_conseil.sql"),
    ),
    (
        33,
        "participation",
        include_str!("../migrations/0033_participation.sql"),
    ),
    (
        34,
        "petitions",
        include_str!("../migrations/0034_petitions.sql"),
    ),
    (
        35,
        "budget_participatif",
        include_str!("../migrations/0035_budget_participatif.sql"),
    ),
    (
        36,
        "proces_verbaux",
        include_str!("../migrations/0036_proces_verbaux.sql"),
    ),
    (
        37,
        "projets_keyset",
        include_str!("../migrations/0037_projets_keyset.sql"),
    ),
    (
        38,
        "annexes",
        include_str!("../migrations/0038_annexes.sql"),
    ),
    (
        39,
        "dossier_name_search",
        include_str!("../migrations/0039_dossier_name_search.sql"),
    ),
    (
        40,
        "maintenances",
        include_str!("../migrations/0040_maintenances.sql"),
    ),
    (
        41,
        "queue_filters",
        include_str!("../migrations/0041_queue_filters.sql"),
    ),
    (
        42,
        "queue_recent",
        include_str!("../migrations/0042_queue_recent.sql"),
    ),
    (
        43,
        "signalements_recent",
        include_str!("../migrations/0043_signalements_recent.sql"),
    ),
    (
        44,
        "queue_overdue",
        include_str!("../migrations/0044_queue_overdue.sql"),
    ),
];

/// A fingerprint of the schema, used by the test suite to reuse prepared databases safely.
pub fn schema_fingerprint() -> String {
    let mut acc: u64 = 0xcbf2_9ce4_8422_2325;
    for (_, _, sql) in MIGRATIONS {
        for b in sql.bytes() {
            acc ^= u64::from(b);
            acc = acc.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{acc:016x}")
}

fn render(sql: &str, backend: Backend) -> String {
    let (id, blob) = match backend {
        Backend::Sqlite => ("INTEGER PRIMARY KEY AUTOINCREMENT", "BLOB"),
        Backend::Postgres => (
            "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
            "BYTEA",
        ),
    };
    sql.replace("{{id}}", id)
        .replace("{{blob}}", blob)
        .replace("{{bytes}}", backend.bytes_collation())
}

/// Applies every pending migration, each in its own transaction. Returns the versions applied.
pub async fn run(db: &Db) -> anyhow::Result<Vec<i64>> {
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
    )
    .execute(db.pool())
    .await
    .context("création de la table des migrations")?;

    let mut applied = Vec::new();
    for (version, name, sql) in MIGRATIONS {
        let mut tx = db.begin().await?;
        if db.backend() == Backend::Postgres {
            // Several nodes may start at once: one migrates, the others wait, then skip.
            sqlx::query("SELECT pg_advisory_xact_lock(7243350001)")
                .execute(&mut *tx)
                .await?;
        }
        let done: i64 = sqlx::query("SELECT COUNT(*) FROM schema_migrations WHERE version = $1")
            .bind(*version)
            .fetch_one(&mut *tx)
            .await?
            .try_get(0)?;
        if done > 0 {
            tx.rollback().await?;
            continue;
        }
        sqlx::raw_sql(&render(sql, db.backend()))
            .execute(&mut *tx)
            .await
            .with_context(|| format!("migration {version} ({name})"))?;
        sqlx::query(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
        )
        .bind(*version)
        .bind(*name)
        .bind(crate::now_ms())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        tracing::info!(version, name, "migration applied");
        applied.push(*version);
    }
    // The figures start from what the database already holds (once, by the node that applied
    // the migration, before it serves).
    if applied.contains(&31) {
        crate::pilotage::rebuild(db).await?;
    }
    Ok(applied)
}

/// The highest applied version, or 0 on an empty database.
pub async fn current_version(db: &Db) -> anyhow::Result<i64> {
    let row = sqlx::query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
        .fetch_one(db.pool())
        .await?;
    Ok(row.try_get(0)?)
}

pub fn latest_version() -> i64 {
    MIGRATIONS.last().map(|m| m.0).unwrap_or(0)
}

/// The secret columns: (table, key column, secret column).
const SECRET_COLUMNS: [(&str, &str, &str); 2] = [
    ("users", "id", "totp_secret"),
    ("demarches", "id", "webhook_secret"),
];

/// Seals every secret stored plain (before sealing existed) or with a retired key, with the
/// current key. Run at each start; returns how many values it sealed.
pub async fn reseal_secrets(db: &Db) -> anyhow::Result<usize> {
    let sealer = db.sealer();
    let Some(current) = sealer.current_prefix() else {
        return Ok(0);
    };
    let mut updates: Vec<(&str, &str, &str, i64, String)> = Vec::new();
    for (table, id_col, col) in SECRET_COLUMNS {
        // Only what needs it: at each start, the values already sealed are not read.
        let rows = sqlx::query(&format!(
            "SELECT {id_col}, {col} FROM {table} WHERE {col} IS NOT NULL AND {col} NOT LIKE $1"
        ))
        .bind(format!("{current}%"))
        .fetch_all(db.pool())
        .await?;
        for r in rows {
            let (id, stored): (i64, String) = (r.try_get(0)?, r.try_get(1)?);
            if sealer.needs_reseal(&stored) {
                updates.push((table, id_col, col, id, sealer.seal(&sealer.open(&stored)?)?));
            }
        }
    }
    let n = updates.len();
    if n == 0 {
        return Ok(0);
    }
    db.write(move |conn| {
        Box::pin(async move {
            for (table, id_col, col, id, sealed) in updates {
                sqlx::query(&format!(
                    "UPDATE {table} SET {col} = $1 WHERE {id_col} = $2"
                ))
                .bind(sealed)
                .bind(id)
                .execute(&mut *conn)
                .await?;
            }
            Ok(())
        })
    })
    .await?;
    Ok(n)
}

/// The last migration of the previous release (the commit in deploy/previous-release; move both
/// together). During a rolling upgrade that release keeps serving on the schema the new one has
/// migrated: the migrations after it may only expand the schema (new tables, new nullable or
/// defaulted columns, new indexes). A contraction (dropping or renaming what the previous release
/// reads, tightening a column) comes one release after the code stopped using it, in a migration
/// that says so on a `-- contract:` line.
pub const PREVIOUS_RELEASE_VERSION: i64 = 39;

/// What a migration does that the previous release may not survive, if anything.
pub fn contraction(sql: &str) -> Option<String> {
    if sql
        .lines()
        .any(|l| l.trim_start().starts_with("-- contract:"))
    {
        return None;
    }
    let code: String = sql
        .lines()
        .map(|l| l.split("--").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join(" ")
        .to_uppercase();
    let words: Vec<&str> = code.split_whitespace().collect();
    let text = words.join(" ");
    for forbidden in [
        "DROP TABLE",
        "DROP COLUMN",
        "RENAME",
        "ALTER COLUMN",
        "SET NOT NULL",
        "DROP VIEW",
        "TRUNCATE",
    ] {
        if text.contains(forbidden) {
            return Some(forbidden.to_lowercase());
        }
    }
    // A new column the previous release does not write must accept its inserts.
    for statement in text.split(';') {
        if let Some(at) = statement.find("ADD COLUMN") {
            let column = &statement[at..];
            if column.contains("NOT NULL") && !column.contains("DEFAULT") {
                return Some("add column not null without default".into());
            }
        }
    }
    None
}

#[cfg(test)]
mod expand_contract {
    use super::*;

    #[test]
    fn migrations_since_the_previous_release_only_expand_the_schema() {
        assert!(
            MIGRATIONS.iter().any(|m| m.0 == PREVIOUS_RELEASE_VERSION),
            "the previous release's last migration is known"
        );
        for (version, name, sql) in MIGRATIONS.iter().filter(|m| m.0 > PREVIOUS_RELEASE_VERSION) {
            assert_eq!(
                contraction(sql),
                None,
                "migration {version} ({name}) contracts the schema the previous release still reads"
            );
        }
    }

    #[test]
    fn contractions_are_recognised_unless_declared() {
        assert_eq!(contraction("CREATE TABLE t (id BIGINT NOT NULL);"), None);
        assert_eq!(contraction("ALTER TABLE t ADD COLUMN c TEXT;"), None);
        assert_eq!(
            contraction("ALTER TABLE t ADD COLUMN c BIGINT NOT NULL DEFAULT 0;"),
            None
        );
        assert!(contraction("ALTER TABLE t ADD COLUMN c BIGINT NOT NULL;").is_some());
        assert!(contraction("ALTER TABLE t DROP COLUMN c;").is_some());
        assert!(contraction("ALTER TABLE t RENAME COLUMN c TO d;").is_some());
        assert!(contraction("alter table t\n  alter column c type text;").is_some());
        assert!(contraction("DROP TABLE t;").is_some());
        assert_eq!(
            contraction("-- contract: nothing reads t since release 2027.1\nDROP TABLE t;"),
            None
        );
        // A comment mentioning a drop is not one.
        assert_eq!(
            contraction("-- we never DROP TABLE here\nCREATE INDEX i ON t (c);"),
            None
        );
    }
}
