//! API tokens of agents: scoped to one collectivité and to some scopes, revocable, hashed at rest.

use crate::db::Db;
use crate::secret::{hash_token, random_token};
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
pub struct ApiToken {
    pub id: i64,
    pub tenant_id: i64,
    pub user_id: i64,
    pub name: String,
    pub scopes: Vec<String>,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

/// Tokens start with a recognisable prefix so that secret scanners can spot a leaked one.
pub const PREFIX: &str = "gch_";

pub async fn create(
    db: &Db,
    tenant_id: i64,
    user_id: i64,
    name: &str,
    scopes: &[String],
) -> anyhow::Result<(ApiToken, String)> {
    let token = format!("{PREFIX}{}", random_token());
    let now = crate::now_ms();
    let id: i64 = sqlx::query(
        "INSERT INTO api_tokens (tenant_id, user_id, name, scopes, token_hash, created_at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(tenant_id)
    .bind(user_id)
    .bind(name)
    .bind(scopes.join(" "))
    .bind(hash_token(&token))
    .bind(now)
    .fetch_one(db.pool())
    .await?
    .try_get(0)?;
    Ok((
        ApiToken {
            id,
            tenant_id,
            user_id,
            name: name.to_string(),
            scopes: scopes.to_vec(),
            created_at: now,
            last_used_at: None,
        },
        token,
    ))
}

fn from_row(r: &sqlx::any::AnyRow) -> anyhow::Result<ApiToken> {
    Ok(ApiToken {
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
    })
}

/// The live token with this value, if any; records its use. The token's owner must still be an
/// agent of the token's collectivité.
pub async fn authenticate(db: &Db, token: &str) -> anyhow::Result<Option<ApiToken>> {
    if !token.starts_with(PREFIX) {
        return Ok(None);
    }
    let row = sqlx::query(
        "SELECT t.id, t.tenant_id, t.user_id, t.name, t.scopes, t.created_at, t.last_used_at FROM api_tokens t
         JOIN users u ON u.id = t.user_id
         WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.deleted_at IS NULL
           AND EXISTS (SELECT 1 FROM memberships m WHERE m.tenant_id = t.tenant_id AND m.user_id = t.user_id)",
    )
    .bind(hash_token(token))
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else { return Ok(None) };
    let t = from_row(&row)?;
    sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE tenant_id = $2 AND id = $3")
        .bind(crate::now_ms())
        .bind(t.tenant_id)
        .bind(t.id)
        .execute(db.pool())
        .await?;
    Ok(Some(t))
}

pub async fn list(db: &Db, tenant_id: i64, user_id: i64) -> anyhow::Result<Vec<ApiToken>> {
    sqlx::query(
        "SELECT id, tenant_id, user_id, name, scopes, created_at, last_used_at FROM api_tokens
         WHERE tenant_id = $1 AND user_id = $2 AND revoked_at IS NULL ORDER BY id DESC",
    )
    .bind(tenant_id)
    .bind(user_id)
    .fetch_all(db.pool())
    .await?
    .iter()
    .map(from_row)
    .collect()
}

pub async fn revoke(db: &Db, tenant_id: i64, user_id: i64, id: i64) -> anyhow::Result<bool> {
    Ok(sqlx::query(
        "UPDATE api_tokens SET revoked_at = $1 WHERE tenant_id = $2 AND user_id = $3 AND id = $4 AND revoked_at IS NULL",
    )
    .bind(crate::now_ms())
    .bind(tenant_id)
    .bind(user_id)
    .bind(id)
    .execute(db.pool())
    .await?
    .rows_affected()
        == 1)
}
