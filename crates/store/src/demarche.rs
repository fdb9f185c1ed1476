//! Démarches of a collectivité: versioned definitions, publication.

use crate::db::Db;
use crate::trace::Trace;
use guichet_domain::demarche::Definition;
use guichet_domain::text::slugify;
use sqlx::any::AnyRow;
use sqlx::Row;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Status {
    Brouillon,
    Publiee,
    Fermee,
}

impl Status {
    pub fn code(self) -> &'static str {
        match self {
            Self::Brouillon => "brouillon",
            Self::Publiee => "publiee",
            Self::Fermee => "fermee",
        }
    }

    fn from_code(s: &str) -> Self {
        match s {
            "publiee" => Self::Publiee,
            "fermee" => Self::Fermee,
            _ => Self::Brouillon,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Brouillon => "brouillon (jamais publiée)",
            Self::Publiee => "publiée",
            Self::Fermee => "fermée",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Demarche {
    pub tenant_id: i64,
    pub id: i64,
    pub slug: String,
    pub status: Status,
    pub title: String,
    pub published_version: Option<i64>,
    pub draft_version: Option<i64>,
    /// The shared template it was adopted from, and the template's version it follows.
    pub template_id: Option<i64>,
    pub template_version: Option<i64>,
}

const COLUMNS: &str =
    "tenant_id, id, slug, status, title, published_version, draft_version, template_id, template_version";

fn from_row(r: &AnyRow) -> anyhow::Result<Demarche> {
    Ok(Demarche {
        tenant_id: r.try_get("tenant_id")?,
        id: r.try_get("id")?,
        slug: r.try_get("slug")?,
        status: Status::from_code(&r.try_get::<String, _>("status")?),
        title: r.try_get("title")?,
        published_version: r.try_get("published_version")?,
        draft_version: r.try_get("draft_version")?,
        template_id: r.try_get("template_id")?,
        template_version: r.try_get("template_version")?,
    })
}

/// Creates a démarche from a checked definition, as a draft (version 1), with its trace (whose
/// journal entries name it by its slug).
pub async fn create(
    db: &Db,
    tenant_id: i64,
    definition: &Definition,
    trace: Trace,
) -> anyhow::Result<Demarche> {
    let definition = definition.clone();
    db.write(move |conn| {
        Box::pin(async move {
            let d = create_in(conn, tenant_id, &definition, None).await?;
            let mut trace = trace;
            name_in(&mut trace, &d);
            trace.write(conn).await?;
            Ok(d)
        })
    })
    .await
}

/// Names the démarche in the trace's journal entries.
pub(crate) fn name_in(trace: &mut Trace, d: &Demarche) {
    for e in trace.events_mut() {
        e.object_type = Some("demarche".into());
        e.object_id = Some(d.slug.clone());
    }
}

/// Creates a démarche inside the caller's transaction, following a template's version if given.
pub(crate) async fn create_in(
    conn: &mut sqlx::AnyConnection,
    tenant_id: i64,
    definition: &Definition,
    follows: Option<(i64, i64)>,
) -> anyhow::Result<Demarche> {
    let base = slugify(&definition.title);
    let taken: Vec<String> = sqlx::query("SELECT slug FROM demarches WHERE tenant_id = $1")
        .bind(tenant_id)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()?;
    let mut slug = base.clone();
    let mut n = 2;
    while taken.contains(&slug) {
        slug = format!("{base}-{n}");
        n += 1;
    }
    let now = crate::now_ms();
    let id: i64 = sqlx::query(
        "INSERT INTO demarches (tenant_id, slug, status, title, draft_version, template_id, template_version, created_at, updated_at)
         VALUES ($1, $2, 'brouillon', $3, 1, $4, $5, $6, $6) RETURNING id",
    )
    .bind(tenant_id)
    .bind(&slug)
    .bind(&definition.title)
    .bind(follows.map(|f| f.0))
    .bind(follows.map(|f| f.1))
    .bind(now)
    .fetch_one(&mut *conn)
    .await?
    .try_get(0)?;
    sqlx::query("INSERT INTO demarche_versions (tenant_id, demarche_id, version, definition, created_at) VALUES ($1, $2, 1, $3, $4)")
        .bind(tenant_id)
        .bind(id)
        .bind(definition.to_json())
        .bind(now)
        .execute(&mut *conn)
        .await?;
    get_in(conn, tenant_id, id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("démarche {id} introuvable"))
}

async fn get_in(
    conn: &mut sqlx::AnyConnection,
    tenant_id: i64,
    id: i64,
) -> anyhow::Result<Option<Demarche>> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM demarches WHERE tenant_id = $1 AND id = $2"
    ))
    .bind(tenant_id)
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .as_ref()
    .map(from_row)
    .transpose()
}

pub async fn get(db: &Db, tenant_id: i64, id: i64) -> anyhow::Result<Option<Demarche>> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM demarches WHERE tenant_id = $1 AND id = $2"
    ))
    .bind(tenant_id)
    .bind(id)
    .fetch_optional(db.pool())
    .await?
    .as_ref()
    .map(from_row)
    .transpose()
}

pub async fn by_slug(db: &Db, tenant_id: i64, slug: &str) -> anyhow::Result<Option<Demarche>> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM demarches WHERE tenant_id = $1 AND slug = $2"
    ))
    .bind(tenant_id)
    .bind(slug)
    .fetch_optional(db.pool())
    .await?
    .as_ref()
    .map(from_row)
    .transpose()
}

pub async fn list(db: &Db, tenant_id: i64) -> anyhow::Result<Vec<Demarche>> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM demarches WHERE tenant_id = $1 ORDER BY title"
    ))
    .bind(tenant_id)
    .fetch_all(db.pool())
    .await?
    .iter()
    .map(from_row)
    .collect()
}

/// The démarches open to usagers.
pub async fn list_published(db: &Db, tenant_id: i64) -> anyhow::Result<Vec<Demarche>> {
    sqlx::query(&format!("SELECT {COLUMNS} FROM demarches WHERE tenant_id = $1 AND status = 'publiee' ORDER BY title"))
        .bind(tenant_id)
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(from_row)
        .collect()
}

/// Published versions never change (only a draft is edited), so each node keeps the ones it read:
/// the dossier pages then neither query nor parse them again.
#[derive(Debug, Default)]
pub struct DefinitionCache(
    std::sync::Mutex<std::collections::HashMap<(i64, i64, i64), Definition>>,
);

/// Bounds the cache: past this many versions it starts again empty.
const CACHED_DEFINITIONS: usize = 2048;

impl DefinitionCache {
    fn get(&self, key: (i64, i64, i64)) -> Option<Definition> {
        self.0.lock().ok()?.get(&key).cloned()
    }

    fn keep(&self, key: (i64, i64, i64), definition: &Definition) {
        if let Ok(mut map) = self.0.lock() {
            if map.len() >= CACHED_DEFINITIONS {
                map.clear();
            }
            map.insert(key, definition.clone());
        }
    }
}

pub async fn definition(
    db: &Db,
    tenant_id: i64,
    demarche_id: i64,
    version: i64,
) -> anyhow::Result<Option<Definition>> {
    let key = (tenant_id, demarche_id, version);
    if let Some(definition) = db.cache::<DefinitionCache>().get(key) {
        return Ok(Some(definition));
    }
    let row = sqlx::query("SELECT definition, published_at FROM demarche_versions WHERE tenant_id = $1 AND demarche_id = $2 AND version = $3")
        .bind(tenant_id)
        .bind(demarche_id)
        .bind(version)
        .fetch_optional(db.pool())
        .await?;
    match row {
        Some(r) => {
            let text: String = r.try_get(0)?;
            let definition: Definition = serde_json::from_str(&text)?;
            if r.try_get::<Option<i64>, _>(1)?.is_some() {
                db.cache::<DefinitionCache>().keep(key, &definition);
            }
            Ok(Some(definition))
        }
        None => Ok(None),
    }
}

/// Replaces the draft definition, or starts a new draft version after the published one, with
/// the trace `notice` makes of the version saved.
pub async fn save_draft<N>(
    db: &Db,
    d: &Demarche,
    definition: &Definition,
    notice: N,
) -> anyhow::Result<i64>
where
    N: FnOnce(i64) -> Trace + Send + 'static,
{
    let (d, definition) = (d.clone(), definition.clone());
    db.write(move |conn| {
        Box::pin(async move {
            let version = save_draft_in(conn, &d, &definition).await?;
            let mut trace = notice(version);
            name_in(&mut trace, &d);
            trace.write(conn).await?;
            Ok(version)
        })
    })
    .await
}

pub(crate) async fn save_draft_in(
    conn: &mut sqlx::AnyConnection,
    d: &Demarche,
    definition: &Definition,
) -> anyhow::Result<i64> {
    let now = crate::now_ms();
    let version = match d.draft_version {
        Some(v) => {
            sqlx::query("UPDATE demarche_versions SET definition = $1 WHERE tenant_id = $2 AND demarche_id = $3 AND version = $4 AND published_at IS NULL")
                .bind(definition.to_json())
                .bind(d.tenant_id)
                .bind(d.id)
                .bind(v)
                .execute(&mut *conn)
                .await?;
            v
        }
        None => {
            let v = d.published_version.unwrap_or(0) + 1;
            sqlx::query("INSERT INTO demarche_versions (tenant_id, demarche_id, version, definition, created_at) VALUES ($1, $2, $3, $4, $5)")
                .bind(d.tenant_id)
                .bind(d.id)
                .bind(v)
                .bind(definition.to_json())
                .bind(now)
                .execute(&mut *conn)
                .await?;
            v
        }
    };
    sqlx::query("UPDATE demarches SET draft_version = $1, updated_at = $2, title = CASE WHEN published_version IS NULL THEN $3 ELSE title END WHERE tenant_id = $4 AND id = $5")
        .bind(version)
        .bind(now)
        .bind(&definition.title)
        .bind(d.tenant_id)
        .bind(d.id)
        .execute(&mut *conn)
        .await?;
    Ok(version)
}

/// Publishes the draft, with its trace: it is frozen, new dossiers use it, the search sees it.
/// None (and no trace) when there is no draft.
pub async fn publish(db: &Db, d: &Demarche, trace: Trace) -> anyhow::Result<Option<i64>> {
    let Some(v) = d.draft_version else {
        return Ok(None);
    };
    let title = definition(db, d.tenant_id, d.id, v)
        .await?
        .map(|def| def.title)
        .unwrap_or_else(|| d.title.clone());
    let d = d.clone();
    let mut trace = trace;
    name_in(&mut trace, &d);
    crate::trace::commit(db, trace, move |conn| {
        Box::pin(async move {
            let now = crate::now_ms();
            sqlx::query("UPDATE demarche_versions SET published_at = $1 WHERE tenant_id = $2 AND demarche_id = $3 AND version = $4")
                .bind(now)
                .bind(d.tenant_id)
                .bind(d.id)
                .bind(v)
                .execute(&mut *conn)
                .await?;
            sqlx::query("UPDATE demarches SET status = 'publiee', published_version = $1, draft_version = NULL, title = $2, updated_at = $3 WHERE tenant_id = $4 AND id = $5")
                .bind(v)
                .bind(&title)
                .bind(now)
                .bind(d.tenant_id)
                .bind(d.id)
                .execute(&mut *conn)
                .await?;
            crate::recherche::bump_in(conn).await?;
            Ok(Some(v))
        })
    })
    .await
}

/// Closes or reopens the démarche, with its trace; the search sees it.
pub async fn set_status(db: &Db, d: &Demarche, status: Status, trace: Trace) -> anyhow::Result<()> {
    let d = d.clone();
    let mut trace = trace;
    name_in(&mut trace, &d);
    crate::trace::commit(db, trace, move |conn| {
        Box::pin(async move {
            sqlx::query(
                "UPDATE demarches SET status = $1, updated_at = $2 WHERE tenant_id = $3 AND id = $4",
            )
            .bind(status.code())
            .bind(crate::now_ms())
            .bind(d.tenant_id)
            .bind(d.id)
            .execute(&mut *conn)
            .await?;
            // What the search finds changes with what is open.
            crate::recherche::bump_in(conn).await
        })
    })
    .await
}

/// Every published démarche of every collectivité with its published definition: what the
/// catalogue's search indexes.
pub async fn all_published(db: &Db) -> anyhow::Result<Vec<(Demarche, Definition)>> {
    let rows = sqlx::query(
        "SELECT d.tenant_id, d.id, d.slug, d.status, d.title, d.published_version, d.draft_version, d.template_id, d.template_version, v.definition
         FROM demarches d JOIN demarche_versions v
           ON v.tenant_id = d.tenant_id AND v.demarche_id = d.id AND v.version = d.published_version
         WHERE d.status = 'publiee' ORDER BY d.id",
    )
    .fetch_all(db.pool())
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let text: String = r.try_get("definition")?;
        out.push((from_row(r)?, serde_json::from_str(&text)?));
    }
    Ok(out)
}
