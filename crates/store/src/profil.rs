//! The usager's profile values and "who saw my data" (read from the journal).

use crate::db::Db;
use guichet_domain::profil::{Profil, Source, Value};
use sqlx::Row;

pub async fn get(db: &Db, user_id: i64) -> anyhow::Result<Profil> {
    let rows =
        sqlx::query("SELECT profile_key, value, source FROM profile_values WHERE user_id = $1")
            .bind(user_id)
            .fetch_all(db.pool())
            .await?;
    let mut profile = Profil::new();
    for r in rows {
        let source: String = r.try_get(2)?;
        profile.insert(
            r.try_get(0)?,
            Value {
                value: r.try_get(1)?,
                source: Source::from_code(&source).unwrap_or(Source::Declared),
            },
        );
    }
    Ok(profile)
}

/// Sets values (checked by the caller) and removes those given empty, in one transaction with
/// its trace. A value certified by FranceConnect is only replaced by another certified one.
pub async fn save(
    db: &Db,
    user_id: i64,
    values: &[(String, String)],
    source: Source,
    trace: crate::trace::Trace,
) -> anyhow::Result<()> {
    let values = values.to_vec();
    crate::trace::commit(db, trace, move |conn| {
        Box::pin(async move { save_in(conn, user_id, &values, source).await })
    })
    .await
}

/// `save` inside the caller's transaction.
pub(crate) async fn save_in(
    conn: &mut sqlx::AnyConnection,
    user_id: i64,
    values: &[(String, String)],
    source: Source,
) -> anyhow::Result<()> {
    let now = crate::now_ms();
    for (key, value) in values {
        let current: Option<String> = sqlx::query(
            "SELECT source FROM profile_values WHERE user_id = $1 AND profile_key = $2",
        )
        .bind(user_id)
        .bind(key)
        .fetch_optional(&mut *conn)
        .await?
        .map(|r| r.try_get(0))
        .transpose()?;
        if current.as_deref() == Some(Source::FranceConnect.code())
            && source != Source::FranceConnect
        {
            continue;
        }
        sqlx::query("DELETE FROM profile_values WHERE user_id = $1 AND profile_key = $2")
            .bind(user_id)
            .bind(key)
            .execute(&mut *conn)
            .await?;
        if !value.is_empty() {
            sqlx::query(
                "INSERT INTO profile_values (user_id, profile_key, value, source, updated_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(user_id)
            .bind(key)
            .bind(value)
            .bind(source.code())
            .bind(now)
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}

/// Every access by someone else (an agent, an aidant) to a usager's dossiers, documents and
/// profile, newest first.
pub async fn accesses(
    db: &Db,
    user_id: i64,
    limit: i64,
) -> anyhow::Result<Vec<guichet_domain::journal::Entry>> {
    let rows = sqlx::query(&format!(
        "SELECT {} FROM audit_events
         WHERE (actor_id IS NULL OR actor_id <> $1)
           AND ((object_type = 'dossier' AND object_id IN (SELECT number FROM dossiers WHERE usager_id = $1))
             OR (object_type = 'document' AND object_id IN (SELECT id FROM vault_documents WHERE user_id = $1))
             OR (object_type = 'profil' AND object_id = $2))
           AND action NOT IN ('dossier.depot', 'dossier.brouillon')
         ORDER BY id DESC LIMIT {}",
        crate::journal::COLUMNS,
        limit.clamp(1, 1000)
    ))
    .bind(user_id)
    .bind(user_id.to_string())
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(crate::journal::from_row).collect()
}
