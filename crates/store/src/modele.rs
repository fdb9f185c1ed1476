//! Shared templates (modèles mutualisés): published from a démarche, adopted by other
//! collectivités, versioned.

use crate::db::Db;
use crate::demarche::Demarche;
use crate::trace::Trace;
use guichet_domain::demarche::modele::Adjustable;
use guichet_domain::demarche::Definition;
use sqlx::Row;

#[derive(Debug, Clone)]
pub struct Template {
    pub id: i64,
    pub tenant_id: i64,
    pub publisher: String,
    pub demarche_id: i64,
    pub title: String,
    pub adjustable: Vec<Adjustable>,
    pub current_version: i64,
    /// How many démarches (of any collectivité) follow it.
    pub adopters: i64,
}

const SELECT: &str =
    "SELECT t.id, t.tenant_id, n.name, t.demarche_id, t.title, t.adjustable, t.current_version,
    (SELECT COUNT(*) FROM demarches d WHERE d.template_id = t.id) AS adopters
    FROM templates t JOIN tenants n ON n.id = t.tenant_id";

fn from_row(r: &sqlx::any::AnyRow) -> anyhow::Result<Template> {
    let adjustable: String = r.try_get(5)?;
    Ok(Template {
        id: r.try_get(0)?,
        tenant_id: r.try_get(1)?,
        publisher: r.try_get(2)?,
        demarche_id: r.try_get(3)?,
        title: r.try_get(4)?,
        adjustable: Adjustable::parse_list(&adjustable),
        current_version: r.try_get(6)?,
        adopters: r.try_get(7)?,
    })
}

pub async fn list(db: &Db) -> anyhow::Result<Vec<Template>> {
    sqlx::query(&format!("{SELECT} ORDER BY t.title"))
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(from_row)
        .collect()
}

pub async fn get(db: &Db, id: i64) -> anyhow::Result<Option<Template>> {
    sqlx::query(&format!("{SELECT} WHERE t.id = $1"))
        .bind(id)
        .fetch_optional(db.pool())
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

/// The template made from this démarche, if any.
pub async fn of_demarche(db: &Db, demarche_id: i64) -> anyhow::Result<Option<Template>> {
    sqlx::query(&format!("{SELECT} WHERE t.demarche_id = $1"))
        .bind(demarche_id)
        .fetch_optional(db.pool())
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

pub async fn definition(
    db: &Db,
    template_id: i64,
    version: i64,
) -> anyhow::Result<Option<Definition>> {
    let text: Option<String> = sqlx::query_scalar(
        "SELECT definition FROM template_versions WHERE template_id = $1 AND version = $2",
    )
    .bind(template_id)
    .bind(version)
    .fetch_optional(db.pool())
    .await?;
    Ok(text.map(|t| serde_json::from_str(&t)).transpose()?)
}

/// Publishes the démarche's published definition as a template (version 1), or as the next
/// version of its template, with the trace `notice` makes of (template, version).
pub async fn publish<N>(
    db: &Db,
    d: &Demarche,
    def: &Definition,
    adjustable: &[Adjustable],
    notice: N,
) -> anyhow::Result<(i64, i64)>
where
    N: FnOnce(i64, i64) -> Trace + Send + 'static,
{
    let codes: String = adjustable
        .iter()
        .map(|a| a.code())
        .collect::<Vec<_>>()
        .join(",");
    let (d, def) = (d.clone(), def.clone());
    db.write(move |conn| {
        Box::pin(async move {
            let now = crate::now_ms();
            let existing: Option<(i64, i64)> =
                sqlx::query("SELECT id, current_version FROM templates WHERE demarche_id = $1")
                    .bind(d.id)
                    .fetch_optional(&mut *conn)
                    .await?
                    .map(|r| Ok::<_, sqlx::Error>((r.try_get(0)?, r.try_get(1)?)))
                    .transpose()?;
            let (id, version) = match existing {
                Some((id, v)) => {
                    sqlx::query("UPDATE templates SET current_version = $1, title = $2, adjustable = $3, updated_at = $4 WHERE id = $5")
                        .bind(v + 1)
                        .bind(&def.title)
                        .bind(&codes)
                        .bind(now)
                        .bind(id)
                        .execute(&mut *conn)
                        .await?;
                    (id, v + 1)
                }
                None => {
                    let id: i64 = sqlx::query(
                        "INSERT INTO templates (tenant_id, demarche_id, title, adjustable, current_version, created_at, updated_at)
                         VALUES ($1, $2, $3, $4, 1, $5, $5) RETURNING id",
                    )
                    .bind(d.tenant_id)
                    .bind(d.id)
                    .bind(&def.title)
                    .bind(&codes)
                    .bind(now)
                    .fetch_one(&mut *conn)
                    .await?
                    .try_get(0)?;
                    (id, 1)
                }
            };
            sqlx::query("INSERT INTO template_versions (template_id, version, definition, published_at) VALUES ($1, $2, $3, $4)")
                .bind(id)
                .bind(version)
                .bind(def.to_json())
                .bind(now)
                .execute(&mut *conn)
                .await?;
            let mut trace = notice(id, version);
            crate::demarche::name_in(&mut trace, &d);
            trace.write(conn).await?;
            Ok((id, version))
        })
    })
    .await
}

/// Creates, in the adopting collectivité, a draft démarche following the template's current
/// version, with its trace.
pub async fn adopt(
    db: &Db,
    t: &Template,
    tenant_id: i64,
    trace: Trace,
) -> anyhow::Result<Demarche> {
    let def = definition(db, t.id, t.current_version)
        .await?
        .ok_or_else(|| anyhow::anyhow!("version du modèle introuvable"))?;
    let follows = (t.id, t.current_version);
    db.write(move |conn| {
        Box::pin(async move {
            let d = crate::demarche::create_in(conn, tenant_id, &def, Some(follows)).await?;
            let mut trace = trace;
            crate::demarche::name_in(&mut trace, &d);
            trace.write(conn).await?;
            Ok(d)
        })
    })
    .await
}

/// Brings an adopted démarche to its template's version `version`: the definition given (the
/// template's, with the local adjustments) becomes the draft, with the trace `notice` makes of
/// the draft's version.
pub async fn follow<N>(
    db: &Db,
    d: &Demarche,
    updated: &Definition,
    template_id: i64,
    version: i64,
    notice: N,
) -> anyhow::Result<i64>
where
    N: FnOnce(i64) -> Trace + Send + 'static,
{
    let (d, updated) = (d.clone(), updated.clone());
    db.write(move |conn| {
        Box::pin(async move {
            let draft = crate::demarche::save_draft_in(conn, &d, &updated).await?;
            sqlx::query("UPDATE demarches SET template_id = $1, template_version = $2 WHERE tenant_id = $3 AND id = $4")
                .bind(template_id)
                .bind(version)
                .bind(d.tenant_id)
                .bind(d.id)
                .execute(&mut *conn)
                .await?;
            let mut trace = notice(draft);
            crate::demarche::name_in(&mut trace, &d);
            trace.write(conn).await?;
            Ok(draft)
        })
    })
    .await
}

/// Whether a collectivité already follows this template (one adoption each).
pub async fn adopted_by(db: &Db, template_id: i64, tenant_id: i64) -> anyhow::Result<Option<i64>> {
    Ok(
        sqlx::query_scalar("SELECT id FROM demarches WHERE template_id = $1 AND tenant_id = $2")
            .bind(template_id)
            .bind(tenant_id)
            .fetch_optional(db.pool())
            .await?,
    )
}
