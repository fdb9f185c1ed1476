//! Dossiers filed at the counter for people without an account: who filed them, the tracking
//! code, the claim into an account.

use crate::db::Db;
use guichet_domain::text::fold;
use sqlx::Row;

/// Marks a new draft as filed at the counter by `by` for this person; returns the tracking code.
pub async fn open(
    db: &Db,
    tenant_id: i64,
    dossier_id: i64,
    by: i64,
    last_name: &str,
    contact: &str,
    event: &guichet_domain::journal::Event,
) -> anyhow::Result<String> {
    let code = crate::secret::readable_code(10);
    let mut tx = db.begin().await?;
    sqlx::query(
        "UPDATE dossiers SET channel = 'guichet', counter_by = $1, tracking_code = $2, applicant_last_name = $3, counter_contact = $4
         WHERE tenant_id = $5 AND id = $6 AND usager_id IS NULL",
    )
    .bind(by)
    .bind(&code)
    .bind(fold(last_name))
    .bind(contact)
    .bind(tenant_id)
    .bind(dossier_id)
    .execute(&mut *tx)
    .await?;
    crate::journal::append_in(&mut tx, event).await?;
    tx.commit().await?;
    Ok(code)
}

/// What the counter knows of a dossier.
#[derive(Debug, Clone)]
pub struct Counter {
    pub counter_by: Option<i64>,
    pub tracking_code: Option<String>,
    pub contact: String,
}

pub async fn of(db: &Db, dossier_id: i64) -> anyhow::Result<Option<Counter>> {
    let row = sqlx::query(
        "SELECT channel, counter_by, tracking_code, counter_contact FROM dossiers WHERE id = $1",
    )
    .bind(dossier_id)
    .fetch_optional(db.pool())
    .await?;
    let Some(r) = row else { return Ok(None) };
    let channel: String = r.try_get(0)?;
    if channel != "guichet" {
        return Ok(None);
    }
    Ok(Some(Counter {
        counter_by: r.try_get(1)?,
        tracking_code: r.try_get(2)?,
        contact: r.try_get::<Option<String>, _>(3)?.unwrap_or_default(),
    }))
}

/// The dossier (collectivité, id) of a tracking code, if the last name matches (accents and case
/// ignored).
pub async fn find(db: &Db, code: &str, last_name: &str) -> anyhow::Result<Option<(i64, i64)>> {
    let row = sqlx::query(
        "SELECT tenant_id, id, applicant_last_name FROM dossiers WHERE tracking_code = $1",
    )
    .bind(guichet_domain::text::normalize_code(code))
    .fetch_optional(db.pool())
    .await?;
    let Some(r) = row else { return Ok(None) };
    let stored: Option<String> = r.try_get(2)?;
    let typed = fold(last_name);
    Ok(
        (!typed.is_empty() && stored.as_deref() == Some(typed.as_str()))
            .then(|| (r.try_get(0), r.try_get(1)))
            .map(|(a, b)| Ok::<_, sqlx::Error>((a?, b?)))
            .transpose()?,
    )
}

/// Gives a counter dossier to the account of the person; false if someone already has it.
pub async fn claim(
    db: &Db,
    dossier_id: i64,
    user_id: i64,
    event: &guichet_domain::journal::Event,
) -> anyhow::Result<bool> {
    let mut tx = db.begin().await?;
    let n = sqlx::query("UPDATE dossiers SET usager_id = $1 WHERE id = $2 AND usager_id IS NULL AND channel = 'guichet'")
        .bind(user_id)
        .bind(dossier_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if n != 1 {
        return Ok(false);
    }
    crate::journal::append_in(&mut tx, event).await?;
    tx.commit().await?;
    Ok(true)
}

/// The dossiers an agent or aidant filed at the counter and nobody has claimed yet, newest
/// first: (id, number, applicant, state code, tracking code).
pub async fn by_filer(
    db: &Db,
    user_id: i64,
) -> anyhow::Result<Vec<(i64, String, String, String, String)>> {
    sqlx::query(
        "SELECT id, number, applicant_name, state, tracking_code FROM dossiers
         WHERE counter_by = $1 AND usager_id IS NULL AND channel = 'guichet' ORDER BY id DESC LIMIT 100",
    )
    .bind(user_id)
    .fetch_all(db.pool())
    .await?
    .iter()
    .map(|r| {
        Ok((
            r.try_get(0)?,
            r.try_get(1)?,
            r.try_get::<Option<String>, _>(2)?.unwrap_or_default(),
            r.try_get(3)?,
            r.try_get::<Option<String>, _>(4)?.unwrap_or_default(),
        ))
    })
    .collect()
}
