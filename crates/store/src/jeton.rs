//! API tokens of agents: scoped to one collectivité and to some scopes, revocable, hashed at rest.

use crate::db::Db;
use crate::secret::{hash_token, random_token};
use crate::trace::Trace;
use sqlx::Row;

/// What a token may do. Checked by the API's authorization layer.
pub const SCOPES: &[(&str, &str)] = &[
    ("dossiers:lecture", "Lire les démarches et les dossiers"),
    (
        "dossiers:ecriture",
        "Changer l'état des dossiers et envoyer des messages",
    ),
    ("signalements:lecture", "Lire les signalements"),
    ("signalements:ecriture", "Traiter les signalements"),
    (
        "open311",
        "Déposer des signalements par Open311 (clé api_key d'une application)",
    ),
];

#[derive(Debug, Clone)]
pub struct Jeton {
    pub id: i64,
    pub tenant_id: i64,
    pub user_id: i64,
    pub name: String,
    pub scopes: Vec<String>,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub expires_at: i64,
    /// The owner's roles in the token's collectivité now (read with the token at each use).
    pub owner_roles: Vec<guichet_domain::role::Role>,
    /// The owner's address, for the admins' list.
    pub owner_email: String,
}

/// A day, for lifetimes.
const DAY_MS: i64 = 24 * 3_600_000;

/// When a token created at `created_at` for `days` days expires (a year at most).
pub fn expiry(created_at: i64, days: u32) -> i64 {
    created_at + i64::from(days.clamp(1, guichet_domain::role::TOKEN_MAX_DAYS)) * DAY_MS
}

/// The token's columns; a token from before expiry dates expires a year after its creation.
const COLUMNS: &str =
    "t.id, t.tenant_id, t.user_id, t.name, t.scopes, t.created_at, t.last_used_at,
    COALESCE(t.expires_at, t.created_at + 31536000000) AS expires_at, u.email AS owner_email";

/// The owner's roles in the token's collectivité, now.
async fn owner_roles(db: &Db, t: &mut Jeton) -> anyhow::Result<()> {
    t.owner_roles = crate::equipe::roles_of(db, t.user_id)
        .await?
        .into_iter()
        .filter(|(collectivite, _)| *collectivite == t.tenant_id)
        .map(|(_, r)| r)
        .collect();
    Ok(())
}

/// Tokens start with a recognisable prefix so that secret scanners can spot a leaked one.
pub const PREFIX: &str = "gch_";

/// Creates a token valid `days` days (a year at most), with its trace (whose journal entries
/// name the token) in the same commit. Returns the token and its secret, shown once.
pub async fn create(
    db: &Db,
    tenant_id: i64,
    user_id: i64,
    name: &str,
    scopes: &[String],
    days: u32,
    trace: Trace,
) -> anyhow::Result<(Jeton, String)> {
    let token = format!("{PREFIX}{}", random_token());
    let now = crate::now_ms();
    let expires_at = expiry(now, days);
    let (hash, name, scopes) = (hash_token(&token), name.to_string(), scopes.to_vec());
    let jeton = db
        .write(move |conn| {
            Box::pin(async move {
                let id: i64 = sqlx::query(
                    "INSERT INTO api_tokens (tenant_id, user_id, name, scopes, token_hash, created_at, expires_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                )
                .bind(tenant_id)
                .bind(user_id)
                .bind(&name)
                .bind(scopes.join(" "))
                .bind(hash)
                .bind(now)
                .bind(expires_at)
                .fetch_one(&mut *conn)
                .await?
                .try_get(0)?;
                let mut trace = trace;
                name_in(&mut trace, id);
                trace.write(conn).await?;
                Ok(Jeton {
                    id,
                    tenant_id,
                    user_id,
                    name,
                    scopes,
                    created_at: now,
                    last_used_at: None,
                    expires_at,
                    owner_roles: Vec::new(),
                    owner_email: String::new(),
                })
            })
        })
        .await?;
    Ok((jeton, token))
}

/// Names the token in the trace's journal entries.
fn name_in(trace: &mut Trace, id: i64) {
    for e in trace.events_mut() {
        e.object_type = Some("jeton".into());
        e.object_id = Some(id.to_string());
    }
}

fn from_row(r: &sqlx::any::AnyRow) -> anyhow::Result<Jeton> {
    Ok(Jeton {
        id: r.try_get("id")?,
        tenant_id: r.try_get("tenant_id")?,
        user_id: r.try_get("user_id")?,
        name: r.try_get("name")?,
        scopes: r
            .try_get::<String, _>("scopes")?
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        created_at: r.try_get("created_at")?,
        last_used_at: r.try_get("last_used_at")?,
        expires_at: r.try_get("expires_at")?,
        owner_roles: Vec::new(),
        owner_email: r
            .try_get::<Option<String>, _>("owner_email")?
            .unwrap_or_default(),
    })
}

/// The live token with this value, if any, with its owner's current roles; records its use. The
/// token must be neither revoked nor expired, and its owner still an agent of its collectivité.
pub async fn authenticate(db: &Db, token: &str) -> anyhow::Result<Option<Jeton>> {
    if !token.starts_with(PREFIX) {
        return Ok(None);
    }
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM api_tokens t
         JOIN users u ON u.id = t.user_id
         WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.deleted_at IS NULL
           AND COALESCE(t.expires_at, t.created_at + 31536000000) > $2
           AND EXISTS (SELECT 1 FROM memberships m WHERE m.tenant_id = t.tenant_id AND m.user_id = t.user_id)"
    ))
    .bind(hash_token(token))
    .bind(crate::now_ms())
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else { return Ok(None) };
    let mut t = from_row(&row)?;
    owner_roles(db, &mut t).await?;
    // Its use is recorded at most once a minute, through the group commit (a partner polling
    // every second costs no write each time).
    let now = crate::now_ms();
    if t.last_used_at.is_none_or(|at| now - at > 60_000) {
        let (tenant_id, id) = (t.tenant_id, t.id);
        db.write(move |conn| {
            Box::pin(async move {
                sqlx::query(
                    "UPDATE api_tokens SET last_used_at = $1 WHERE tenant_id = $2 AND id = $3",
                )
                .bind(now)
                .bind(tenant_id)
                .bind(id)
                .execute(&mut *conn)
                .await?;
                Ok(())
            })
        })
        .await?;
    }
    Ok(Some(t))
}

/// The live tokens of a collectivité: one agent's (`Some(user)`), or every agent's (for admins).
pub async fn list(db: &Db, tenant_id: i64, user_id: Option<i64>) -> anyhow::Result<Vec<Jeton>> {
    let mut tokens: Vec<Jeton> = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM api_tokens t JOIN users u ON u.id = t.user_id
         WHERE t.tenant_id = $1 AND ($2 = 0 OR t.user_id = $2) AND t.revoked_at IS NULL
           AND COALESCE(t.expires_at, t.created_at + 31536000000) > $3
         ORDER BY t.id DESC"
    ))
    .bind(tenant_id)
    .bind(user_id.unwrap_or(0))
    .bind(crate::now_ms())
    .fetch_all(db.pool())
    .await?
    .iter()
    .map(from_row)
    .collect::<anyhow::Result<_>>()?;
    for t in &mut tokens {
        owner_roles(db, t).await?;
    }
    Ok(tokens)
}

/// Revokes a token of the collectivité: the owner's own (`Some(owner)`), or any (an admin),
/// with its trace in the same commit.
pub async fn revoke(
    db: &Db,
    tenant_id: i64,
    owner: Option<i64>,
    id: i64,
    trace: Trace,
) -> anyhow::Result<bool> {
    let mut trace = trace;
    name_in(&mut trace, id);
    let done = crate::trace::commit_if(db, trace, move |conn| {
        Box::pin(async move {
            let done = sqlx::query(
                "UPDATE api_tokens SET revoked_at = $1
                 WHERE tenant_id = $2 AND ($3 = 0 OR user_id = $3) AND id = $4 AND revoked_at IS NULL",
            )
            .bind(crate::now_ms())
            .bind(tenant_id)
            .bind(owner.unwrap_or(0))
            .bind(id)
            .execute(&mut *conn)
            .await?
            .rows_affected();
            Ok((done == 1).then_some(()))
        })
    })
    .await?;
    Ok(done.is_some())
}
