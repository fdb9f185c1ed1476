//! A collectivité's register of information assets: listed, added, changed and removed by its
//! publishers, each change committed with its journal entry.

use crate::db::Db;
use crate::trace::Trace;
use guichet_domain::donnees::patrimoine::Actif;
use sqlx::any::AnyRow;
use sqlx::Row;

#[derive(Debug, Clone)]
pub struct Entry {
    pub id: i64,
    pub tenant_id: i64,
    pub actif: Actif,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str = "id, tenant_id, title, description, service, legal_basis, personal_data, retention, frequency, is_open, not_open_reason, theme, keywords, coverage_level, coverage_name, period_start, period_end, formats, url, licence, producer_siret, created_at, updated_at";

fn from_row(r: &AnyRow) -> anyhow::Result<Entry> {
    Ok(Entry {
        id: r.try_get("id")?,
        tenant_id: r.try_get("tenant_id")?,
        actif: Actif {
            titre: r.try_get("title")?,
            description: r.try_get("description")?,
            service: r.try_get("service")?,
            base_legale: r.try_get("legal_basis")?,
            donnees_personnelles: r.try_get::<i64, _>("personal_data")? == 1,
            conservation: r.try_get("retention")?,
            frequence: r.try_get("frequency")?,
            ouvert: r.try_get::<i64, _>("is_open")? == 1,
            motif: r.try_get("not_open_reason")?,
            theme: r.try_get("theme")?,
            mots_cles: r.try_get("keywords")?,
            maille: r.try_get("coverage_level")?,
            couverture: r.try_get("coverage_name")?,
            debut: r.try_get("period_start")?,
            fin: r.try_get("period_end")?,
            formats: r.try_get("formats")?,
            url: r.try_get("url")?,
            licence: r.try_get("licence")?,
            siret: r.try_get("producer_siret")?,
        },
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

pub async fn of(db: &Db, tenant_id: i64) -> anyhow::Result<Vec<Entry>> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM information_assets WHERE tenant_id = $1 ORDER BY title, id"
    ))
    .bind(tenant_id)
    .fetch_all(db.pool())
    .await?
    .iter()
    .map(from_row)
    .collect()
}

pub async fn get(db: &Db, tenant_id: i64, id: i64) -> anyhow::Result<Option<Entry>> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM information_assets WHERE tenant_id = $1 AND id = $2"
    ))
    .bind(tenant_id)
    .bind(id)
    .fetch_optional(db.pool())
    .await?
    .as_ref()
    .map(from_row)
    .transpose()
}

fn bind_actif<'q>(
    q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    a: &'q Actif,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    q.bind(&a.titre)
        .bind(&a.description)
        .bind(&a.service)
        .bind(&a.base_legale)
        .bind(i64::from(a.donnees_personnelles))
        .bind(&a.conservation)
        .bind(&a.frequence)
        .bind(i64::from(a.ouvert))
        .bind(&a.motif)
        .bind(&a.theme)
        .bind(&a.mots_cles)
        .bind(&a.maille)
        .bind(&a.couverture)
        .bind(&a.debut)
        .bind(&a.fin)
        .bind(&a.formats)
        .bind(&a.url)
        .bind(&a.licence)
        .bind(&a.siret)
}

/// Adds an asset (`id` none) or changes one of the collectivité's; none when that one is gone.
pub async fn save(
    db: &Db,
    tenant_id: i64,
    id: Option<i64>,
    a: Actif,
    trace: Trace,
) -> anyhow::Result<Option<i64>> {
    let now = crate::now_ms();
    crate::trace::commit_if(db, trace, move |conn| {
        Box::pin(async move {
            match id {
                None => {
                    let q = sqlx::query(
                        "INSERT INTO information_assets (title, description, service, legal_basis, personal_data, retention, frequency, is_open, not_open_reason, theme, keywords, coverage_level, coverage_name, period_start, period_end, formats, url, licence, producer_siret, tenant_id, created_at, updated_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $21) RETURNING id",
                    );
                    let row = bind_actif(q, &a)
                        .bind(tenant_id)
                        .bind(now)
                        .fetch_one(&mut *conn)
                        .await?;
                    Ok(Some(row.try_get("id")?))
                }
                Some(id) => {
                    let q = sqlx::query(
                        "UPDATE information_assets SET title = $1, description = $2, service = $3, legal_basis = $4, personal_data = $5, retention = $6, frequency = $7, is_open = $8, not_open_reason = $9, theme = $10, keywords = $11, coverage_level = $12, coverage_name = $13, period_start = $14, period_end = $15, formats = $16, url = $17, licence = $18, producer_siret = $19, updated_at = $20
                         WHERE tenant_id = $21 AND id = $22",
                    );
                    let done = bind_actif(q, &a)
                        .bind(now)
                        .bind(tenant_id)
                        .bind(id)
                        .execute(&mut *conn)
                        .await?;
                    Ok((done.rows_affected() == 1).then_some(id))
                }
            }
        })
    })
    .await
}

/// Removes one of the collectivité's assets; whether it was there.
pub async fn remove(db: &Db, tenant_id: i64, id: i64, trace: Trace) -> anyhow::Result<bool> {
    Ok(crate::trace::commit_if(db, trace, move |conn| {
        Box::pin(async move {
            let done =
                sqlx::query("DELETE FROM information_assets WHERE tenant_id = $1 AND id = $2")
                    .bind(tenant_id)
                    .bind(id)
                    .execute(&mut *conn)
                    .await?;
            Ok((done.rows_affected() == 1).then_some(()))
        })
    })
    .await?
    .is_some())
}
