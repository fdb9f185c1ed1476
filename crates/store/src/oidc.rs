//! OpenID Connect logins: logins under way, identities linked to accounts, the ID token of a
//! session (for the logout at the provider).

use crate::db::Db;
use crate::secret::hash_token;
use sqlx::Row;

/// A login under way expires after this long.
const PENDING_MS: i64 = 10 * 60 * 1000;

pub struct Pending {
    pub provider: String,
    pub nonce: String,
    pub user_id: Option<i64>,
    pub return_to: String,
}

pub async fn start(db: &Db, state: &str, p: &Pending) -> anyhow::Result<()> {
    let now = crate::now_ms();
    sqlx::query("DELETE FROM oidc_pending WHERE created_at < $1")
        .bind(now - PENDING_MS)
        .execute(db.pool())
        .await?;
    sqlx::query(
        "INSERT INTO oidc_pending (state_hash, provider, nonce, user_id, return_to, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(hash_token(state))
    .bind(&p.provider)
    .bind(&p.nonce)
    .bind(p.user_id)
    .bind(&p.return_to)
    .bind(now)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// The login under way for this state, removed (a state is used once); None if unknown,
/// expired or for another provider.
pub async fn take(db: &Db, state: &str, provider: &str) -> anyhow::Result<Option<Pending>> {
    let hash = hash_token(state);
    let row = sqlx::query(
        "SELECT provider, nonce, user_id, return_to, created_at FROM oidc_pending WHERE state_hash = $1",
    )
    .bind(&hash)
    .fetch_optional(db.pool())
    .await?;
    let Some(r) = row else {
        return Ok(None);
    };
    let deleted = sqlx::query("DELETE FROM oidc_pending WHERE state_hash = $1")
        .bind(&hash)
        .execute(db.pool())
        .await?
        .rows_affected();
    let created_at: i64 = r.try_get(4)?;
    let p = Pending {
        provider: r.try_get(0)?,
        nonce: r.try_get(1)?,
        user_id: r.try_get(2)?,
        return_to: r.try_get(3)?,
    };
    let fresh = crate::now_ms() - created_at <= PENDING_MS;
    Ok((deleted == 1 && fresh && p.provider == provider).then_some(p))
}

pub async fn user_of(db: &Db, provider: &str, subject: &str) -> anyhow::Result<Option<i64>> {
    Ok(
        sqlx::query("SELECT user_id FROM oidc_identities WHERE provider = $1 AND subject = $2")
            .bind(provider)
            .bind(subject)
            .fetch_optional(db.pool())
            .await?
            .map(|r| r.try_get(0))
            .transpose()?,
    )
}

/// Whether the account has an identity of this provider linked.
pub async fn is_linked(db: &Db, provider: &str, user_id: i64) -> anyhow::Result<bool> {
    Ok(
        sqlx::query("SELECT 1 FROM oidc_identities WHERE provider = $1 AND user_id = $2")
            .bind(provider)
            .bind(user_id)
            .fetch_optional(db.pool())
            .await?
            .is_some(),
    )
}

pub async fn link(
    db: &Db,
    provider: &str,
    subject: &str,
    user_id: i64,
    event: &guichet_domain::journal::Event,
) -> anyhow::Result<()> {
    let mut tx = db.begin().await?;
    sqlx::query("INSERT INTO oidc_identities (provider, subject, user_id, created_at) VALUES ($1, $2, $3, $4)")
        .bind(provider)
        .bind(subject)
        .bind(user_id)
        .bind(crate::now_ms())
        .execute(&mut *tx)
        .await?;
    crate::journal::append_in(&mut tx, event).await?;
    tx.commit().await?;
    Ok(())
}

/// Keeps the ID token of the session opened through a provider.
pub async fn set_session_token(
    db: &Db,
    session_token: &str,
    provider: &str,
    id_token: &str,
) -> anyhow::Result<()> {
    sqlx::query("UPDATE sessions SET oidc_provider = $1, oidc_id_token = $2 WHERE id_hash = $3")
        .bind(provider)
        .bind(id_token)
        .bind(hash_token(session_token))
        .execute(db.pool())
        .await?;
    Ok(())
}

/// The provider and ID token of a session, if it was opened through one.
pub async fn session_token(db: &Db, id_hash: &str) -> anyhow::Result<Option<(String, String)>> {
    let row = sqlx::query("SELECT oidc_provider, oidc_id_token FROM sessions WHERE id_hash = $1")
        .bind(id_hash)
        .fetch_optional(db.pool())
        .await?;
    Ok(match row {
        Some(r) => {
            let p: Option<String> = r.try_get(0)?;
            let t: Option<String> = r.try_get(1)?;
            p.zip(t)
        }
        None => None,
    })
}
