//! Signalements: reports, their categories, history, followers and photos.

use crate::db::Db;
use guichet_domain::signalement::{within, State, DUPLICATE_RADIUS_M};
use sqlx::any::AnyRow;
use sqlx::Row;

#[derive(Debug, Clone)]
pub struct Category {
    pub id: i64,
    pub tenant_id: Option<i64>,
    pub code: String,
    pub label: String,
    pub competence: String,
    pub road: bool,
    pub moderated: bool,
    pub questions: Vec<String>,
}

fn category_from_row(r: &AnyRow) -> anyhow::Result<Category> {
    let questions: String = r.try_get("questions")?;
    Ok(Category {
        id: r.try_get("id")?,
        tenant_id: r.try_get("tenant_id")?,
        code: r.try_get("code")?,
        label: r.try_get("label")?,
        competence: r.try_get("competence")?,
        road: r.try_get::<i64, _>("road")? != 0,
        moderated: r.try_get::<i64, _>("moderated")? != 0,
        questions: serde_json::from_str(&questions).unwrap_or_default(),
    })
}

/// The platform's categories, offered everywhere.
pub async fn categories(db: &Db) -> anyhow::Result<Vec<Category>> {
    sqlx::query("SELECT id, tenant_id, code, label, competence, road, moderated, questions FROM signalement_categories WHERE tenant_id IS NULL ORDER BY label")
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(category_from_row)
        .collect()
}

/// Category labels by id, for lists.
pub async fn category_labels(db: &Db) -> anyhow::Result<std::collections::HashMap<i64, String>> {
    Ok(categories(db)
        .await?
        .into_iter()
        .map(|c| (c.id, c.label))
        .collect())
}

pub async fn category(db: &Db, id: i64) -> anyhow::Result<Option<Category>> {
    sqlx::query("SELECT id, tenant_id, code, label, competence, road, moderated, questions FROM signalement_categories WHERE id = $1")
        .bind(id)
        .fetch_optional(db.pool())
        .await?
        .as_ref()
        .map(category_from_row)
        .transpose()
}

#[derive(Debug, Clone)]
pub struct Signalement {
    pub tenant_id: i64,
    pub id: i64,
    pub number: String,
    pub category_id: i64,
    pub competence: String,
    pub commune_insee: String,
    pub address: String,
    pub position: Option<(f64, f64)>,
    pub road_kind: Option<String>,
    pub road_number: Option<String>,
    pub description: String,
    pub state: State,
    pub reject_reason: Option<String>,
    pub reporter_user_id: Option<i64>,
    pub reporter_email: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str = "tenant_id, id, number, category_id, competence, commune_insee, address, lat, lon, road_kind, road_number,
    description, state, reject_reason, reporter_user_id, reporter_email, created_at, updated_at";

fn from_row(r: &AnyRow) -> anyhow::Result<Signalement> {
    let state: String = r.try_get("state")?;
    let lat: Option<f64> = r.try_get("lat")?;
    let lon: Option<f64> = r.try_get("lon")?;
    Ok(Signalement {
        tenant_id: r.try_get("tenant_id")?,
        id: r.try_get("id")?,
        number: r.try_get("number")?,
        category_id: r.try_get("category_id")?,
        competence: r.try_get("competence")?,
        commune_insee: r.try_get("commune_insee")?,
        address: r.try_get("address")?,
        position: lat.zip(lon),
        road_kind: r.try_get("road_kind")?,
        road_number: r.try_get("road_number")?,
        description: r.try_get("description")?,
        state: State::from_code(&state).ok_or_else(|| anyhow::anyhow!("état inconnu {state}"))?,
        reject_reason: r.try_get("reject_reason")?,
        reporter_user_id: r.try_get("reporter_user_id")?,
        reporter_email: r.try_get("reporter_email")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

/// What a new report holds.
#[derive(Debug, Clone)]
pub struct NewReport {
    pub tenant_id: i64,
    pub category_id: i64,
    pub competence: String,
    pub commune_insee: String,
    pub address: String,
    pub position: Option<(f64, f64)>,
    pub road_kind: Option<String>,
    pub road_number: Option<String>,
    pub description: String,
    pub reporter_user_id: Option<i64>,
    pub reporter_email: Option<String>,
    pub state: State,
    /// Hash of the e-mail confirmation token (anonymous reports).
    pub confirm_token_hash: Option<String>,
    /// The reporter's IP address (stored hashed, for the anti-abuse limit).
    pub ip: Option<String>,
}

pub async fn create(db: &Db, n: &NewReport) -> anyhow::Result<Signalement> {
    let now = crate::now_ms();
    let mut tx = db.begin().await?;
    let id: i64 = sqlx::query(
        "INSERT INTO signalements (tenant_id, number, category_id, competence, commune_insee, address, lat, lon, road_kind, road_number,
             description, state, reporter_user_id, reporter_email, confirm_token_hash, reporter_ip_hash, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $17) RETURNING id",
    )
    .bind(n.tenant_id)
    .bind(crate::secret::random_token())
    .bind(n.category_id)
    .bind(&n.competence)
    .bind(&n.commune_insee)
    .bind(&n.address)
    .bind(n.position.map(|p| p.0))
    .bind(n.position.map(|p| p.1))
    .bind(&n.road_kind)
    .bind(&n.road_number)
    .bind(&n.description)
    .bind(n.state.code())
    .bind(n.reporter_user_id)
    .bind(&n.reporter_email)
    .bind(&n.confirm_token_hash)
    .bind(n.ip.as_deref().map(crate::secret::hash_token))
    .bind(now)
    .fetch_one(&mut *tx)
    .await?
    .try_get(0)?;
    let year = time::OffsetDateTime::now_utc().year();
    sqlx::query("UPDATE signalements SET number = $1 WHERE id = $2")
        .bind(format!("S{year}-{id:06}"))
        .bind(id)
        .execute(&mut *tx)
        .await?;
    if let Some(email) = &n.reporter_email {
        sqlx::query("INSERT INTO signalement_followers (signalement_id, email, created_at) VALUES ($1, $2, $3)")
            .bind(id)
            .bind(email)
            .bind(now)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    by_id(db, id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("signalement introuvable"))
}

pub async fn by_id(db: &Db, id: i64) -> anyhow::Result<Option<Signalement>> {
    sqlx::query(&format!("SELECT {COLUMNS} FROM signalements WHERE id = $1"))
        .bind(id)
        .fetch_optional(db.pool())
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

pub async fn by_number(db: &Db, number: &str) -> anyhow::Result<Option<Signalement>> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM signalements WHERE number = $1"
    ))
    .bind(number)
    .fetch_optional(db.pool())
    .await?
    .as_ref()
    .map(from_row)
    .transpose()
}

/// Publishes an anonymous report whose confirmation link was opened (or sends it to moderation
/// when its category is moderated). Returns it, once.
pub async fn confirm(db: &Db, token: &str) -> anyhow::Result<Option<Signalement>> {
    let hash = crate::secret::hash_token(token);
    let Some(s) = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM signalements WHERE confirm_token_hash = $1 AND state = 'a_confirmer'"
    ))
    .bind(&hash)
    .fetch_optional(db.pool())
    .await?
    .as_ref()
    .map(from_row)
    .transpose()?
    else {
        return Ok(None);
    };
    let moderated = category(db, s.category_id)
        .await?
        .is_some_and(|c| c.moderated);
    let to = if moderated {
        State::AModerer
    } else {
        State::Nouveau
    };
    let done = sqlx::query(
        "UPDATE signalements SET state = $1, confirm_token_hash = NULL, updated_at = $2 WHERE id = $3 AND state = 'a_confirmer'",
    )
    .bind(to.code())
    .bind(crate::now_ms())
    .bind(s.id)
    .execute(db.pool())
    .await?
    .rows_affected()
        == 1;
    if !done {
        return Ok(None);
    }
    by_id(db, s.id).await
}

/// Open reports of a category near a point: the possible duplicates of a new report.
pub async fn open_near(
    db: &Db,
    category_id: i64,
    at: (f64, f64),
) -> anyhow::Result<Vec<Signalement>> {
    // A coarse box first (about 100 m), the exact distance after.
    let d = 0.001;
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM signalements WHERE category_id = $1 AND state IN ('nouveau', 'pris_en_compte', 'en_cours')
         AND lat BETWEEN $2 AND $3 AND lon BETWEEN $4 AND $5 ORDER BY id DESC LIMIT 20"
    ))
    .bind(category_id)
    .bind(at.0 - d)
    .bind(at.0 + d)
    .bind(at.1 - 2.0 * d)
    .bind(at.1 + 2.0 * d)
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .iter()
        .map(from_row)
        .collect::<anyhow::Result<Vec<_>>>()?
        .into_iter()
        .filter(|s| {
            s.position
                .is_some_and(|p| within(p, at, DUPLICATE_RADIUS_M))
        })
        .collect())
}

pub async fn follow(db: &Db, signalement_id: i64, email: &str) -> anyhow::Result<bool> {
    Ok(sqlx::query(
        "INSERT INTO signalement_followers (signalement_id, email, created_at) VALUES ($1, $2, $3) ON CONFLICT (signalement_id, email) DO NOTHING",
    )
    .bind(signalement_id)
    .bind(email)
    .bind(crate::now_ms())
    .execute(db.pool())
    .await?
    .rows_affected()
        == 1)
}

pub async fn followers(db: &Db, signalement_id: i64) -> anyhow::Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT email FROM signalement_followers WHERE signalement_id = $1 ORDER BY created_at",
    )
    .bind(signalement_id)
    .fetch_all(db.pool())
    .await?)
}

/// Changes the state with a public note, in one transaction with its history and journal entry.
/// Conditional on the state read: two agents cannot both win.
pub async fn change_state(
    db: &Db,
    s: &Signalement,
    to: State,
    note: &str,
    reject_reason: Option<&str>,
    actor: &str,
    event: &guichet_domain::audit::Event,
) -> anyhow::Result<bool> {
    let now = crate::now_ms();
    let mut tx = db.begin().await?;
    let updated = sqlx::query(
        "UPDATE signalements SET state = $1, reject_reason = $2, updated_at = $3,
             resolved_at = CASE WHEN $1 IN ('resolu', 'rejete') THEN $3 ELSE NULL END
         WHERE id = $4 AND state = $5",
    )
    .bind(to.code())
    .bind(reject_reason)
    .bind(now)
    .bind(s.id)
    .bind(s.state.code())
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if updated != 1 {
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO signalement_events (tenant_id, signalement_id, at, actor, kind, from_state, to_state, body) VALUES ($1, $2, $3, $4, 'etat', $5, $6, $7)",
    )
    .bind(s.tenant_id)
    .bind(s.id)
    .bind(now)
    .bind(actor)
    .bind(s.state.code())
    .bind(to.code())
    .bind(note)
    .execute(&mut *tx)
    .await?;
    crate::audit::append_in(&mut tx, event).await?;
    tx.commit().await?;
    Ok(true)
}

/// Hands the report to another collectivité (wrong competence); its history goes with it.
pub async fn transfer(
    db: &Db,
    s: &Signalement,
    to_tenant: i64,
    note: &str,
    actor: &str,
    event: &guichet_domain::audit::Event,
) -> anyhow::Result<()> {
    let now = crate::now_ms();
    let mut tx = db.begin().await?;
    for table in ["signalement_events", "signalement_photos"] {
        sqlx::query(&format!(
            "UPDATE {table} SET tenant_id = $1 WHERE signalement_id = $2"
        ))
        .bind(to_tenant)
        .bind(s.id)
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query("UPDATE signalements SET tenant_id = $1, updated_at = $2 WHERE id = $3")
        .bind(to_tenant)
        .bind(now)
        .bind(s.id)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO signalement_events (tenant_id, signalement_id, at, actor, kind, body) VALUES ($1, $2, $3, $4, 'transfert', $5)",
    )
    .bind(to_tenant)
    .bind(s.id)
    .bind(now)
    .bind(actor)
    .bind(note)
    .execute(&mut *tx)
    .await?;
    crate::audit::append_in(&mut tx, event).await?;
    tx.commit().await?;
    Ok(())
}

#[derive(Debug, Clone)]
pub struct Event {
    pub at: i64,
    pub actor: String,
    pub kind: String,
    pub to_state: Option<State>,
    pub body: Option<String>,
}

pub async fn history(db: &Db, signalement_id: i64) -> anyhow::Result<Vec<Event>> {
    sqlx::query("SELECT at, actor, kind, to_state, body FROM signalement_events WHERE signalement_id = $1 ORDER BY id")
        .bind(signalement_id)
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(|r| {
            Ok(Event {
                at: r.try_get(0)?,
                actor: r.try_get(1)?,
                kind: r.try_get(2)?,
                to_state: r.try_get::<Option<String>, _>(3)?.as_deref().and_then(State::from_code),
                body: r.try_get(4)?,
            })
        })
        .collect()
}

/// Reports handled by a collectivité, newest first, optionally in one state.
pub async fn of_tenant(
    db: &Db,
    tenant_id: i64,
    state: Option<State>,
    limit: i64,
) -> anyhow::Result<Vec<Signalement>> {
    let (clause, code) = match state {
        Some(s) => (" AND state = $2", s.code()),
        None => (" AND state <> $2", "a_confirmer"),
    };
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM signalements WHERE tenant_id = $1{clause} ORDER BY id DESC LIMIT {}",
        limit.clamp(1, 500)
    ))
    .bind(tenant_id)
    .bind(code)
    .fetch_all(db.pool())
    .await?
    .iter()
    .map(from_row)
    .collect()
}

/// Public reports of a commune, newest first.
pub async fn public_of_commune(
    db: &Db,
    insee: &str,
    limit: i64,
) -> anyhow::Result<Vec<Signalement>> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM signalements WHERE commune_insee = $1 AND state NOT IN ('a_confirmer', 'a_moderer') ORDER BY id DESC LIMIT {}",
        limit.clamp(1, 500)
    ))
    .bind(insee)
    .fetch_all(db.pool())
    .await?
    .iter()
    .map(from_row)
    .collect()
}

pub async fn add_photo(
    db: &Db,
    store: &crate::files::LocalStore,
    s: &Signalement,
    jpeg: &[u8],
) -> anyhow::Result<String> {
    let id = crate::secret::random_token();
    store.put(&id, jpeg).await?;
    sqlx::query("INSERT INTO signalement_photos (id, tenant_id, signalement_id, size, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(&id)
        .bind(s.tenant_id)
        .bind(s.id)
        .bind(jpeg.len() as i64)
        .bind(crate::now_ms())
        .execute(db.pool())
        .await?;
    Ok(id)
}

pub async fn photos(db: &Db, signalement_id: i64) -> anyhow::Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM signalement_photos WHERE signalement_id = $1 ORDER BY created_at, id",
    )
    .bind(signalement_id)
    .fetch_all(db.pool())
    .await?)
}

/// The report a photo belongs to.
pub async fn photo_owner(db: &Db, photo_id: &str) -> anyhow::Result<Option<i64>> {
    Ok(
        sqlx::query_scalar("SELECT signalement_id FROM signalement_photos WHERE id = $1")
            .bind(photo_id)
            .fetch_optional(db.pool())
            .await?,
    )
}

/// Reports made by this reporter (account or e-mail) since `since`: the anti-abuse limit.
pub async fn recent_by_reporter(
    db: &Db,
    user_id: Option<i64>,
    email: Option<&str>,
    since: i64,
) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM signalements WHERE created_at > $1 AND (reporter_user_id = $2 OR reporter_email = $3)",
    )
    .bind(since)
    .bind(user_id)
    .bind(email)
    .fetch_one(db.pool())
    .await?)
}

/// Resolution times of a collectivité's reports closed as resolved: (count, median and 90th
/// percentile in hours). Computed here over the last 1,000, portable on both databases.
pub async fn resolution_hours(
    db: &Db,
    tenant_id: i64,
) -> anyhow::Result<(usize, Option<f64>, Option<f64>)> {
    let mut hours: Vec<f64> = sqlx::query(
        "SELECT resolved_at - created_at FROM signalements WHERE tenant_id = $1 AND state = 'resolu' AND resolved_at IS NOT NULL ORDER BY id DESC LIMIT 1000",
    )
    .bind(tenant_id)
    .fetch_all(db.pool())
    .await?
    .iter()
    .map(|r| Ok(r.try_get::<i64, _>(0)? as f64 / 3_600_000.0))
    .collect::<anyhow::Result<_>>()?;
    hours.sort_by(f64::total_cmp);
    let at = |p: f64| {
        (!hours.is_empty()).then(|| hours[((hours.len() - 1) as f64 * p).round() as usize])
    };
    Ok((hours.len(), at(0.5), at(0.9)))
}

/// People who asked to be told of new reports in a commune.
pub async fn subscribe_commune(db: &Db, insee: &str, email: &str) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO signalement_alerts (commune_insee, email, created_at) VALUES ($1, $2, $3) ON CONFLICT (commune_insee, email) DO NOTHING",
    )
    .bind(insee)
    .bind(email)
    .bind(crate::now_ms())
    .execute(db.pool())
    .await?;
    Ok(())
}

pub async fn commune_subscribers(db: &Db, insee: &str) -> anyhow::Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT email FROM signalement_alerts WHERE commune_insee = $1 ORDER BY created_at",
    )
    .bind(insee)
    .fetch_all(db.pool())
    .await?)
}

pub async fn unsubscribe_commune(db: &Db, insee: &str, email: &str) -> anyhow::Result<()> {
    sqlx::query("DELETE FROM signalement_alerts WHERE commune_insee = $1 AND email = $2")
        .bind(insee)
        .bind(email)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// Reports made from this IP address since `since`.
pub async fn recent_from_ip(db: &Db, ip: &str, since: i64) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM signalements WHERE reporter_ip_hash = $1 AND created_at > $2",
    )
    .bind(crate::secret::hash_token(ip))
    .bind(since)
    .fetch_one(db.pool())
    .await?)
}
