//! Signalements: reports, their categories, history, followers and photos.

use crate::db::Db;
use crate::trace::Trace;
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
    /// A collectivité's own category can be switched off (its reports keep it).
    pub active: bool,
}

const CATEGORY_COLUMNS: &str =
    "id, tenant_id, code, label, competence, road, moderated, questions, active";

fn category_from_row(r: &AnyRow) -> anyhow::Result<Category> {
    let questions: String = r.try_get("questions")?;
    Ok(Category {
        active: r.try_get::<i64, _>("active")? != 0,
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

async fn categories_where(db: &Db, clause: &str, tenant_id: i64) -> anyhow::Result<Vec<Category>> {
    sqlx::query(&format!(
        "SELECT {CATEGORY_COLUMNS} FROM signalement_categories WHERE {clause} ORDER BY label"
    ))
    .bind(tenant_id)
    .fetch_all(db.pool())
    .await?
    .iter()
    .map(category_from_row)
    .collect()
}

/// The platform's categories, offered everywhere.
pub async fn categories(db: &Db) -> anyhow::Result<Vec<Category>> {
    categories_where(db, "tenant_id IS NULL AND $1 = 0", 0).await
}

/// Every category offered on the report form: the platform's, then the collectivités' own
/// (active ones), grouped by collectivité.
pub async fn offered(db: &Db) -> anyhow::Result<Vec<Category>> {
    let mut all = categories_where(db, "active = 1 AND $1 = 0", 0).await?;
    all.sort_by_key(|c| c.tenant_id.is_some());
    Ok(all)
}

/// A collectivité's own categories, switched off ones included.
pub async fn own_categories(db: &Db, tenant_id: i64) -> anyhow::Result<Vec<Category>> {
    categories_where(db, "tenant_id = $1", tenant_id).await
}

/// What a collectivité changed to the platform's categories: category id → (questions,
/// moderated).
pub async fn settings(
    db: &Db,
    tenant_id: i64,
) -> anyhow::Result<std::collections::HashMap<i64, (Vec<String>, bool)>> {
    sqlx::query("SELECT category_id, questions, moderated FROM signalement_category_settings WHERE tenant_id = $1")
        .bind(tenant_id)
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(|r| {
            let questions: String = r.try_get(1)?;
            Ok((
                r.try_get::<i64, _>(0)?,
                (
                    serde_json::from_str(&questions).unwrap_or_default(),
                    r.try_get::<i64, _>(2)? != 0,
                ),
            ))
        })
        .collect()
}

/// The category as the collectivité that handles a report set it: its extra questions, and
/// moderated if either the platform or the collectivité wants it.
pub async fn as_handled_by(
    db: &Db,
    category: &Category,
    tenant_id: i64,
) -> anyhow::Result<Category> {
    let mut c = category.clone();
    if c.tenant_id.is_none() {
        let setting = settings(db, tenant_id).await?.remove(&c.id);
        adjust(&mut c, setting);
    }
    Ok(c)
}

/// A platform category as a collectivité set it: its questions, and moderated if either wants.
fn adjust(c: &mut Category, setting: Option<(Vec<String>, bool)>) {
    if let Some((questions, moderated)) = setting {
        c.questions = questions;
        c.moderated |= moderated;
    }
}

/// The services a collectivité offers (Open311): the platform's categories as it set them, and
/// its own active ones.
pub async fn for_collectivite(db: &Db, tenant_id: i64) -> anyhow::Result<Vec<Category>> {
    let mut settings = settings(db, tenant_id).await?;
    let mut all = categories(db).await?;
    for c in &mut all {
        adjust(c, settings.remove(&c.id));
    }
    all.extend(
        own_categories(db, tenant_id)
            .await?
            .into_iter()
            .filter(|c| c.active),
    );
    Ok(all)
}

/// Saves a collectivité's extra questions and moderation for a platform category, with its
/// trace.
pub async fn save_settings(
    db: &Db,
    tenant_id: i64,
    category_id: i64,
    questions: &[String],
    moderated: bool,
    trace: Trace,
) -> anyhow::Result<()> {
    let questions = serde_json::to_string(questions)?;
    crate::trace::commit(db, trace, move |conn| {
        Box::pin(async move {
            sqlx::query(
                "DELETE FROM signalement_category_settings WHERE tenant_id = $1 AND category_id = $2",
            )
            .bind(tenant_id)
            .bind(category_id)
            .execute(&mut *conn)
            .await?;
            sqlx::query("INSERT INTO signalement_category_settings (tenant_id, category_id, questions, moderated, updated_at) VALUES ($1, $2, $3, $4, $5)")
                .bind(tenant_id)
                .bind(category_id)
                .bind(questions)
                .bind(i64::from(moderated))
                .bind(crate::now_ms())
                .execute(&mut *conn)
                .await?;
            crate::recherche::bump_in(conn).await
        })
    })
    .await
}

/// A collectivité's own category, as typed by its admin.
#[derive(Debug, Clone)]
pub struct OwnCategory {
    pub label: String,
    pub competence: String,
    pub moderated: bool,
    pub questions: Vec<String>,
    pub active: bool,
}

/// Adds a category of a collectivité's own, with its trace; returns its id.
pub async fn add_own(
    db: &Db,
    tenant_id: i64,
    c: &OwnCategory,
    trace: Trace,
) -> anyhow::Result<i64> {
    let c = c.clone();
    crate::trace::commit(db, trace, move |conn| {
        Box::pin(async move {
            let id: i64 = sqlx::query(
                "INSERT INTO signalement_categories (tenant_id, code, label, competence, road, moderated, questions, active)
                 VALUES ($1, $2, $3, $4, 0, $5, $6, $7) RETURNING id",
            )
            .bind(tenant_id)
            .bind(crate::secret::random_token())
            .bind(&c.label)
            .bind(&c.competence)
            .bind(i64::from(c.moderated))
            .bind(serde_json::to_string(&c.questions)?)
            .bind(i64::from(c.active))
            .fetch_one(&mut *conn)
            .await?
            .try_get(0)?;
            // The Open311 service code: readable, unique, stable.
            sqlx::query("UPDATE signalement_categories SET code = $1 WHERE id = $2")
                .bind(format!("c{tenant_id}_{id}"))
                .bind(id)
                .execute(&mut *conn)
                .await?;
            // The one door offers it from now on.
            crate::recherche::bump_in(conn).await?;
            Ok(id)
        })
    })
    .await
}

/// Changes a collectivité's own category, with its trace; false (and no trace) when it is not
/// one of its own.
pub async fn update_own(
    db: &Db,
    tenant_id: i64,
    id: i64,
    c: &OwnCategory,
    trace: Trace,
) -> anyhow::Result<bool> {
    let c = c.clone();
    let done = crate::trace::commit_if(db, trace, move |conn| {
        Box::pin(async move {
            let n = sqlx::query(
                "UPDATE signalement_categories SET label = $1, competence = $2, moderated = $3, questions = $4, active = $5
                 WHERE id = $6 AND tenant_id = $7",
            )
            .bind(&c.label)
            .bind(&c.competence)
            .bind(i64::from(c.moderated))
            .bind(serde_json::to_string(&c.questions)?)
            .bind(i64::from(c.active))
            .bind(id)
            .bind(tenant_id)
            .execute(&mut *conn)
            .await?
            .rows_affected();
            if n == 1 {
                crate::recherche::bump_in(conn).await?;
            }
            Ok((n == 1).then_some(()))
        })
    })
    .await?;
    Ok(done.is_some())
}

/// Every category, switched off ones included (reports keep theirs).
pub async fn all_categories(db: &Db) -> anyhow::Result<Vec<Category>> {
    categories_where(db, "$1 = 0", 0).await
}

/// Category labels by id (every category, switched off ones included), for lists.
pub async fn category_labels(db: &Db) -> anyhow::Result<std::collections::HashMap<i64, String>> {
    Ok(all_categories(db)
        .await?
        .into_iter()
        .map(|c| (c.id, c.label))
        .collect())
}

pub async fn category(db: &Db, id: i64) -> anyhow::Result<Option<Category>> {
    sqlx::query("SELECT id, tenant_id, code, label, competence, road, moderated, questions, active FROM signalement_categories WHERE id = $1")
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
    /// Answers to the category's extra questions: (question, answer), in the order asked.
    pub answers: Vec<(String, String)>,
    pub state: State,
    pub reject_reason: Option<String>,
    pub reporter_user_id: Option<i64>,
    pub reporter_email: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub resolved_at: Option<i64>,
}

impl Signalement {
    /// What the figures of public action need of it.
    pub fn faits(&self) -> guichet_domain::pilotage::FaitsSignalement {
        guichet_domain::pilotage::FaitsSignalement {
            tenant_id: self.tenant_id,
            category_id: self.category_id,
            commune_insee: self.commune_insee.clone(),
            state: self.state,
            created_at: self.created_at,
            resolved_at: self.resolved_at,
        }
    }
}

const COLUMNS: &str = "tenant_id, id, number, category_id, competence, commune_insee, address, lat, lon, road_kind, road_number,
    description, answers, state, reject_reason, reporter_user_id, reporter_email, created_at, updated_at, resolved_at";

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
        answers: serde_json::from_str(&r.try_get::<String, _>("answers")?).unwrap_or_default(),
        state: State::from_code(&state).ok_or_else(|| anyhow::anyhow!("état inconnu {state}"))?,
        reject_reason: r.try_get("reject_reason")?,
        reporter_user_id: r.try_get("reporter_user_id")?,
        reporter_email: r.try_get("reporter_email")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        resolved_at: r.try_get("resolved_at")?,
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
    pub answers: Vec<(String, String)>,
    pub reporter_user_id: Option<i64>,
    pub reporter_email: Option<String>,
    pub state: State,
    /// Hash of the e-mail confirmation token (anonymous reports).
    pub confirm_token_hash: Option<String>,
    /// The reporter's IP address (stored hashed, for the anti-abuse limit).
    pub ip: Option<String>,
}

/// Who hears of a change of a report, read in its transaction: its confirmed followers (the
/// reporter among them) and, when the change makes it public, those who asked for alerts in its
/// commune.
#[derive(Debug, Clone, Default)]
pub struct Audience {
    pub followers: Vec<String>,
    pub commune_alerts: Vec<String>,
}

async fn audience_in(
    conn: &mut sqlx::AnyConnection,
    s: &Signalement,
    made_public: bool,
) -> anyhow::Result<Audience> {
    let followers = sqlx::query_scalar(
        "SELECT email FROM signalement_followers WHERE signalement_id = $1 AND confirmed_at IS NOT NULL ORDER BY created_at",
    )
    .bind(s.id)
    .fetch_all(&mut *conn)
    .await?;
    let commune_alerts = if made_public {
        sqlx::query_scalar(
            "SELECT email FROM signalement_alerts WHERE commune_insee = $1 ORDER BY created_at",
        )
        .bind(&s.commune_insee)
        .fetch_all(&mut *conn)
        .await?
    } else {
        Vec::new()
    };
    Ok(Audience {
        followers,
        commune_alerts,
    })
}

async fn by_id_in(conn: &mut sqlx::AnyConnection, id: i64) -> anyhow::Result<Signalement> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM signalements WHERE id = $1"))
        .bind(id)
        .fetch_one(&mut *conn)
        .await?;
    from_row(&row)
}

/// A report made, in one commit with its photos, its reporter as follower and the trace that
/// `notice` makes of it (journal entry, confirmation mail, alerts of the commune when it is
/// public at once). The photos are stored first, under fresh names: a crash may leave a file
/// nobody points to, never a report without its photos.
pub async fn report<N>(
    db: &Db,
    files: &crate::files::FileStore,
    n: NewReport,
    photos: Vec<Vec<u8>>,
    notice: N,
) -> anyhow::Result<Signalement>
where
    N: FnOnce(&Signalement, &Audience) -> Trace + Send + 'static,
{
    let mut stored = Vec::new();
    for jpeg in &photos {
        let id = crate::secret::random_token();
        files.put(&id, jpeg).await?;
        stored.push((id, jpeg.len() as i64));
    }
    db.write(move |conn| {
        Box::pin(async move {
            let id = insert_in(conn, &n).await?;
            let now = crate::now_ms();
            for (photo, size) in &stored {
                sqlx::query("INSERT INTO signalement_photos (id, tenant_id, signalement_id, size, created_at) VALUES ($1, $2, $3, $4, $5)")
                    .bind(photo)
                    .bind(n.tenant_id)
                    .bind(id)
                    .bind(*size)
                    .bind(now)
                    .execute(&mut *conn)
                    .await?;
            }
            let s = by_id_in(conn, id).await?;
            let audience = audience_in(conn, &s, s.state.is_public()).await?;
            notice(&s, &audience).write(conn).await?;
            Ok(s)
        })
    })
    .await
}

/// A report without trace (the demo's data).
pub async fn create(db: &Db, n: &NewReport) -> anyhow::Result<Signalement> {
    let n = n.clone();
    db.write(move |conn| {
        Box::pin(async move {
            let id = insert_in(conn, &n).await?;
            by_id_in(conn, id).await
        })
    })
    .await
}

async fn insert_in(conn: &mut sqlx::AnyConnection, n: &NewReport) -> anyhow::Result<i64> {
    let now = crate::now_ms();
    let id: i64 = sqlx::query(
        "INSERT INTO signalements (tenant_id, number, category_id, competence, commune_insee, address, lat, lon, road_kind, road_number,
             description, state, reporter_user_id, reporter_email, confirm_token_hash, reporter_ip_hash, created_at, updated_at, answers)
         VALUES ($1, $2, $3, $4, $5, $6, CAST($7 AS DOUBLE PRECISION), CAST($8 AS DOUBLE PRECISION), $9, $10, $11, $12, $13, $14, $15, $16, $17, $17, $18) RETURNING id",
    )
    .bind(n.tenant_id)
    .bind(crate::secret::random_token())
    .bind(n.category_id)
    .bind(&n.competence)
    .bind(&n.commune_insee)
    .bind(&n.address)
    // Coordinates travel as text, cast by the database: sqlx 0.8's Any driver sends a missing
    // DOUBLE PRECISION as a 4-byte float to PostgreSQL, and the statement prepared with that type
    // then refuses the next 8-byte coordinates on the same connection.
    .bind(n.position.map(|p| p.0.to_string()))
    .bind(n.position.map(|p| p.1.to_string()))
    .bind(&n.road_kind)
    .bind(&n.road_number)
    .bind(&n.description)
    .bind(n.state.code())
    .bind(n.reporter_user_id)
    .bind(&n.reporter_email)
    .bind(&n.confirm_token_hash)
    .bind(n.ip.as_deref().map(crate::secret::hash_token))
    .bind(now)
    .bind(serde_json::to_string(&n.answers)?)
    .fetch_one(&mut *conn)
    .await?
    .try_get(0)?;
    let year = crate::paris_now().year();
    sqlx::query("UPDATE signalements SET number = $1 WHERE id = $2")
        .bind(format!("S{year}-{id:06}"))
        .bind(id)
        .execute(&mut *conn)
        .await?;
    // A signed-in reporter's address is verified; an anonymous reporter's is proved when the
    // report's confirmation link is opened (`confirm`). Other addresses go through `follow`.
    if let (Some(email), true) = (
        &n.reporter_email,
        n.reporter_user_id.is_some() || n.confirm_token_hash.is_some(),
    ) {
        sqlx::query("INSERT INTO signalement_followers (signalement_id, email, created_at, confirmed_at) VALUES ($1, $2, $3, $4)")
            .bind(id)
            .bind(email)
            .bind(now)
            .bind(n.reporter_user_id.map(|_| now))
            .execute(&mut *conn)
            .await?;
    }
    let made = by_id_in(conn, id).await?;
    crate::pilotage::apply_signalement_in(conn, None, Some(&made.faits())).await?;
    Ok(id)
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

/// The report an unused confirmation link is for.
pub async fn awaiting_confirmation(db: &Db, token: &str) -> anyhow::Result<Option<Signalement>> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM signalements WHERE confirm_token_hash = $1 AND state = 'a_confirmer'"
    ))
    .bind(crate::secret::hash_token(token))
    .fetch_optional(db.pool())
    .await?
    .as_ref()
    .map(from_row)
    .transpose()
}

/// An anonymous report's confirmation link opened: the report goes to `to` (published, or to
/// moderation), the reporter's address is proved, with the trace `notice` makes. Once: None if
/// the link was used meanwhile.
pub async fn confirm<N>(
    db: &Db,
    token: &str,
    to: State,
    notice: N,
) -> anyhow::Result<Option<Signalement>>
where
    N: FnOnce(&Signalement, &Audience) -> Trace + Send + 'static,
{
    let hash = crate::secret::hash_token(token);
    db.write(move |conn| {
        Box::pin(async move {
            let now = crate::now_ms();
            let id: Option<i64> = sqlx::query_scalar(
                "UPDATE signalements SET state = $1, confirm_token_hash = NULL, updated_at = $2
                 WHERE confirm_token_hash = $3 AND state = 'a_confirmer' RETURNING id",
            )
            .bind(to.code())
            .bind(now)
            .bind(&hash)
            .fetch_optional(&mut *conn)
            .await?;
            let Some(id) = id else {
                return Ok(None);
            };
            let s = by_id_in(conn, id).await?;
            let before = guichet_domain::pilotage::FaitsSignalement {
                state: State::AConfirmer,
                ..s.faits()
            };
            crate::pilotage::apply_signalement_in(conn, Some(&before), Some(&s.faits())).await?;
            // The link reached the reporter's mailbox: the address is proved.
            if let Some(email) = &s.reporter_email {
                sqlx::query("UPDATE signalement_followers SET confirmed_at = $1 WHERE signalement_id = $2 AND email = $3 AND confirmed_at IS NULL")
                    .bind(now)
                    .bind(s.id)
                    .bind(email)
                    .execute(&mut *conn)
                    .await?;
            }
            let audience = audience_in(conn, &s, s.state.is_public()).await?;
            notice(&s, &audience).write(conn).await?;
            Ok(Some(s))
        })
    })
    .await
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

/// What asking to follow a report by e-mail gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Follow {
    /// The address was already verified: mails will go to it.
    Confirmed,
    /// A confirmation link must be sent to the address, with the token given.
    Pending,
    /// The address already follows it (or has a request waiting).
    Already,
    /// Too many requests for this address or from this network: nothing recorded.
    Limited,
}

/// Asks to follow a report, with the trace `notice` makes of the outcome. `verified`: the
/// address is a signed-in account's, already proved. Otherwise the follow waits for its owner's
/// confirmation through a link made from `token`, within the limits of
/// `domain::signalement::follow_allowed`.
pub async fn follow<N>(
    db: &Db,
    signalement_id: i64,
    email: &str,
    verified: bool,
    ip: Option<&str>,
    token: &str,
    notice: N,
) -> anyhow::Result<Follow>
where
    N: FnOnce(&Follow) -> Trace + Send + 'static,
{
    let network = ip
        .and_then(|ip| ip.parse().ok())
        .map(guichet_domain::throttle::network_of)
        .map(|n| crate::secret::hash_token(&n));
    let email = email.to_string();
    let token = token.to_string();
    db.write(move |conn| {
        Box::pin(async move {
            let outcome =
                follow_in(conn, signalement_id, &email, verified, network, &token).await?;
            notice(&outcome).write(conn).await?;
            Ok(outcome)
        })
    })
    .await
}

async fn follow_in(
    conn: &mut sqlx::AnyConnection,
    signalement_id: i64,
    email: &str,
    verified: bool,
    network: Option<String>,
    token: &str,
) -> anyhow::Result<Follow> {
    let now = crate::now_ms();
    let existing: Option<Option<i64>> = sqlx::query_scalar(
        "SELECT confirmed_at FROM signalement_followers WHERE signalement_id = $1 AND email = $2",
    )
    .bind(signalement_id)
    .bind(email)
    .fetch_optional(&mut *conn)
    .await?;
    match existing {
        Some(Some(_)) => return Ok(Follow::Already),
        Some(None) if !verified => return Ok(Follow::Already),
        _ => {}
    }
    if verified {
        sqlx::query(
            "INSERT INTO signalement_followers (signalement_id, email, created_at, confirmed_at) VALUES ($1, $2, $3, $3)
             ON CONFLICT (signalement_id, email) DO UPDATE SET confirmed_at = $3, confirm_token_hash = NULL",
        )
        .bind(signalement_id)
        .bind(email)
        .bind(now)
        .execute(&mut *conn)
        .await?;
        return Ok(Follow::Confirmed);
    }
    let pending: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM signalement_followers WHERE email = $1 AND confirmed_at IS NULL AND created_at > $2",
    )
    .bind(email)
    .bind(now - 24 * 3_600_000)
    .fetch_one(&mut *conn)
    .await?;
    let from_network: i64 = match &network {
        Some(n) => {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM signalement_followers WHERE network_hash = $1 AND created_at > $2",
            )
            .bind(n)
            .bind(now - 3_600_000)
            .fetch_one(&mut *conn)
            .await?
        }
        None => 0,
    };
    if !guichet_domain::signalement::follow_allowed(pending, from_network) {
        return Ok(Follow::Limited);
    }
    sqlx::query(
        "INSERT INTO signalement_followers (signalement_id, email, created_at, confirm_token_hash, network_hash) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(signalement_id)
    .bind(email)
    .bind(now)
    .bind(crate::secret::hash_token(token))
    .bind(&network)
    .execute(&mut *conn)
    .await?;
    Ok(Follow::Pending)
}

/// Confirms a follow request from its link, with the trace `notice` makes; the report followed,
/// if the link was good (once).
pub async fn confirm_follow<N>(
    db: &Db,
    token: &str,
    notice: N,
) -> anyhow::Result<Option<Signalement>>
where
    N: FnOnce(&Signalement) -> Trace + Send + 'static,
{
    let hash = crate::secret::hash_token(token);
    db.write(move |conn| {
        Box::pin(async move {
            let id: Option<i64> = sqlx::query_scalar(
                "UPDATE signalement_followers SET confirmed_at = $1, confirm_token_hash = NULL
                 WHERE confirm_token_hash = $2 AND confirmed_at IS NULL RETURNING signalement_id",
            )
            .bind(crate::now_ms())
            .bind(&hash)
            .fetch_optional(&mut *conn)
            .await?;
            let Some(id) = id else {
                return Ok(None);
            };
            let s = by_id_in(conn, id).await?;
            notice(&s).write(conn).await?;
            Ok(Some(s))
        })
    })
    .await
}

/// The confirmed followers of a report: the only addresses its news is mailed to.
pub async fn followers(db: &Db, signalement_id: i64) -> anyhow::Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT email FROM signalement_followers WHERE signalement_id = $1 AND confirmed_at IS NOT NULL ORDER BY created_at",
    )
    .bind(signalement_id)
    .fetch_all(db.pool())
    .await?)
}

/// Changes the state with a public note, in one commit with its history and the trace `notice`
/// makes (journal entry, news to the followers, alerts of the commune when it becomes public).
/// Conditional on the state read: two agents cannot both win (false for the second).
#[allow(clippy::too_many_arguments)]
pub async fn change_state<N>(
    db: &Db,
    s: &Signalement,
    to: State,
    note: &str,
    reject_reason: Option<&str>,
    actor: &str,
    notice: N,
) -> anyhow::Result<bool>
where
    N: FnOnce(&Signalement, &Audience) -> Trace + Send + 'static,
{
    let (id, tenant_id, from) = (s.id, s.tenant_id, s.state);
    let (note, reject_reason, actor) = (
        note.to_string(),
        reject_reason.map(str::to_string),
        actor.to_string(),
    );
    db.write(move |conn| {
        Box::pin(async move {
            let now = crate::now_ms();
            let before = by_id_in(conn, id).await?;
            let updated = sqlx::query(
                "UPDATE signalements SET state = $1, reject_reason = $2, updated_at = $3,
                     resolved_at = CASE WHEN $1 IN ('resolu', 'rejete') THEN $3 ELSE NULL END
                 WHERE id = $4 AND state = $5",
            )
            .bind(to.code())
            .bind(&reject_reason)
            .bind(now)
            .bind(id)
            .bind(from.code())
            .execute(&mut *conn)
            .await?
            .rows_affected();
            if updated != 1 {
                return Ok(false);
            }
            sqlx::query(
                "INSERT INTO signalement_events (tenant_id, signalement_id, at, actor, kind, from_state, to_state, body) VALUES ($1, $2, $3, $4, 'etat', $5, $6, $7)",
            )
            .bind(tenant_id)
            .bind(id)
            .bind(now)
            .bind(&actor)
            .bind(from.code())
            .bind(to.code())
            .bind(&note)
            .execute(&mut *conn)
            .await?;
            let changed = by_id_in(conn, id).await?;
            crate::pilotage::apply_signalement_in(conn, Some(&before.faits()), Some(&changed.faits()))
                .await?;
            let audience = audience_in(conn, &changed, !from.is_public() && to.is_public()).await?;
            notice(&changed, &audience).write(conn).await?;
            Ok(true)
        })
    })
    .await
}

/// Hands the report to another collectivité (wrong competence); its history goes with it, with
/// the trace `notice` makes.
pub async fn transfer<N>(
    db: &Db,
    s: &Signalement,
    to_collectivite: i64,
    note: &str,
    actor: &str,
    notice: N,
) -> anyhow::Result<()>
where
    N: FnOnce(&Signalement, &Audience) -> Trace + Send + 'static,
{
    let id = s.id;
    let (note, actor) = (note.to_string(), actor.to_string());
    db.write(move |conn| {
        Box::pin(async move {
            let now = crate::now_ms();
            let before = by_id_in(conn, id).await?;
            for table in ["signalement_events", "signalement_photos"] {
                sqlx::query(&format!(
                    "UPDATE {table} SET tenant_id = $1 WHERE signalement_id = $2"
                ))
                .bind(to_collectivite)
                .bind(id)
                .execute(&mut *conn)
                .await?;
            }
            sqlx::query("UPDATE signalements SET tenant_id = $1, updated_at = $2 WHERE id = $3")
                .bind(to_collectivite)
                .bind(now)
                .bind(id)
                .execute(&mut *conn)
                .await?;
            sqlx::query(
                "INSERT INTO signalement_events (tenant_id, signalement_id, at, actor, kind, body) VALUES ($1, $2, $3, $4, 'transfert', $5)",
            )
            .bind(to_collectivite)
            .bind(id)
            .bind(now)
            .bind(&actor)
            .bind(&note)
            .execute(&mut *conn)
            .await?;
            let moved = by_id_in(conn, id).await?;
            crate::pilotage::apply_signalement_in(conn, Some(&before.faits()), Some(&moved.faits()))
                .await?;
            let audience = audience_in(conn, &moved, false).await?;
            notice(&moved, &audience).write(conn).await?;
            Ok(())
        })
    })
    .await
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
pub async fn of_collectivite(
    db: &Db,
    tenant_id: i64,
    state: Option<State>,
    limit: i64,
) -> anyhow::Result<Vec<Signalement>> {
    let filter = Filter {
        state,
        ..Filter::default()
    };
    filtered(db, tenant_id, &filter, limit).await
}

/// What the back office's list is narrowed to.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// None: every state but unconfirmed reports.
    pub state: Option<State>,
    pub category_id: Option<i64>,
    pub commune_insee: Option<String>,
    /// Reported at or after (ms).
    pub from_ms: Option<i64>,
    /// Reported before (ms).
    pub before_ms: Option<i64>,
    /// Searched in the number, the address and the description.
    pub text: Option<String>,
}

/// A collectivité's reports matching a filter, newest first.
pub async fn filtered(
    db: &Db,
    tenant_id: i64,
    f: &Filter,
    limit: i64,
) -> anyhow::Result<Vec<Signalement>> {
    let mut sql = format!("SELECT {COLUMNS} FROM signalements WHERE tenant_id = $1");
    let mut n = 1;
    let mut next = || {
        n += 1;
        format!("${n}")
    };
    match f.state {
        Some(_) => sql += &format!(" AND state = {}", next()),
        None => sql += &format!(" AND state <> {}", next()),
    }
    if f.category_id.is_some() {
        sql += &format!(" AND category_id = {}", next());
    }
    if f.commune_insee.is_some() {
        sql += &format!(" AND commune_insee = {}", next());
    }
    if f.from_ms.is_some() {
        sql += &format!(" AND created_at >= {}", next());
    }
    if f.before_ms.is_some() {
        sql += &format!(" AND created_at < {}", next());
    }
    if f.text.is_some() {
        let p = next();
        sql += &format!(
            " AND (LOWER(number) LIKE {p} OR LOWER(address) LIKE {p} OR LOWER(description) LIKE {p})"
        );
    }
    sql += &format!(" ORDER BY id DESC LIMIT {}", limit.clamp(1, 500));
    let mut q = sqlx::query(&sql)
        .bind(tenant_id)
        .bind(f.state.map_or("a_confirmer", State::code));
    if let Some(c) = f.category_id {
        q = q.bind(c);
    }
    if let Some(c) = &f.commune_insee {
        q = q.bind(c);
    }
    if let Some(t) = f.from_ms {
        q = q.bind(t);
    }
    if let Some(t) = f.before_ms {
        q = q.bind(t);
    }
    if let Some(t) = &f.text {
        q = q.bind(format!(
            "%{}%",
            crate::journal::escape_like(&t.to_lowercase())
        ));
    }
    q.fetch_all(db.pool()).await?.iter().map(from_row).collect()
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
/// A signed-in resident asks for an e-mail at each new public report in a commune (their
/// account's address, verified), with its trace.
pub async fn subscribe_commune(
    db: &Db,
    insee: &str,
    email: &str,
    trace: Trace,
) -> anyhow::Result<()> {
    let (insee, email) = (insee.to_string(), email.to_string());
    crate::trace::commit(db, trace, move |conn| {
        Box::pin(async move {
            sqlx::query(
                "INSERT INTO signalement_alerts (commune_insee, email, created_at) VALUES ($1, $2, $3) ON CONFLICT (commune_insee, email) DO NOTHING",
            )
            .bind(insee)
            .bind(email)
            .bind(crate::now_ms())
            .execute(&mut *conn)
            .await?;
            Ok(())
        })
    })
    .await
}

pub async fn commune_subscribers(db: &Db, insee: &str) -> anyhow::Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT email FROM signalement_alerts WHERE commune_insee = $1 ORDER BY created_at",
    )
    .bind(insee)
    .fetch_all(db.pool())
    .await?)
}

/// The resident stops the alerts of a commune, with its trace.
pub async fn unsubscribe_commune(
    db: &Db,
    insee: &str,
    email: &str,
    trace: Trace,
) -> anyhow::Result<()> {
    let (insee, email) = (insee.to_string(), email.to_string());
    crate::trace::commit(db, trace, move |conn| {
        Box::pin(async move {
            sqlx::query("DELETE FROM signalement_alerts WHERE commune_insee = $1 AND email = $2")
                .bind(insee)
                .bind(email)
                .execute(&mut *conn)
                .await?;
            Ok(())
        })
    })
    .await
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
