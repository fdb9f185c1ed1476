//! Server-side sessions, shared by every web node through the database.

use crate::db::Db;
use crate::secret::{hash_token, random_token};
use crate::trace::Trace;
use sqlx::Row;

/// A session is closed after this long without a request…
pub const IDLE_TIMEOUT_MS: i64 = 30 * 60 * 1000;
/// …and after this long in any case.
pub const ABSOLUTE_TIMEOUT_MS: i64 = 12 * 3_600 * 1000;
/// `last_seen_at` is written at most this often, not on every request.
const TOUCH_EVERY_MS: i64 = 60 * 1000;

#[derive(Debug, Clone)]
pub struct Session {
    pub id_hash: String,
    pub user_id: i64,
    pub mfa_done: bool,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// An aidant acting for a usager under this mandat.
    pub acting_mandat_id: Option<i64>,
}

/// Opens a session; returns the cookie value (shown once) and the session.
pub async fn create(
    db: &Db,
    user_id: i64,
    mfa_done: bool,
    ip: Option<&str>,
    user_agent: Option<&str>,
) -> anyhow::Result<(String, Session)> {
    let opening = Opening {
        user_id,
        mfa_done,
        ip: ip.map(str::to_string),
        user_agent: user_agent.map(str::to_string),
    };
    db.write(move |conn| Box::pin(async move { create_in(conn, &opening).await }))
        .await
}

/// A session about to be opened.
#[derive(Debug, Clone)]
pub struct Opening {
    pub user_id: i64,
    pub mfa_done: bool,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// Opens a session inside the caller's transaction.
pub async fn create_in(
    conn: &mut sqlx::AnyConnection,
    opening: &Opening,
) -> anyhow::Result<(String, Session)> {
    let token = random_token();
    let now = crate::now_ms();
    let session = Session {
        id_hash: hash_token(&token),
        user_id: opening.user_id,
        mfa_done: opening.mfa_done,
        created_at: now,
        last_seen_at: now,
        ip: opening.ip.clone(),
        user_agent: opening
            .user_agent
            .as_ref()
            .map(|s| s.chars().take(200).collect()),
        acting_mandat_id: None,
    };
    sqlx::query(
        "INSERT INTO sessions (id_hash, user_id, mfa_done, created_at, last_seen_at, ip, user_agent)
         VALUES ($1, $2, $3, $4, $4, $5, $6)",
    )
    .bind(&session.id_hash)
    .bind(session.user_id)
    .bind(i64::from(session.mfa_done))
    .bind(now)
    .bind(session.ip.clone())
    .bind(session.user_agent.clone())
    .execute(&mut *conn)
    .await?;
    Ok((token, session))
}

/// A new session in place of the visitor's old one, if any (a session id planted before the
/// change is worthless after it), committed with its trace: sign-in, second factor.
pub async fn replace(
    db: &Db,
    old: Option<&str>,
    opening: Opening,
    trace: Trace,
) -> anyhow::Result<(String, Session)> {
    let old = old.map(str::to_string);
    crate::trace::commit(db, trace, move |conn| {
        Box::pin(async move {
            if let Some(old) = &old {
                delete_in(conn, old).await?;
            }
            create_in(conn, &opening).await
        })
    })
    .await
}

/// A live session with its account and the account's roles (collectivité id, role).
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub session: Session,
    pub user: crate::compte::User,
    pub roles: Vec<(i64, guichet_domain::role::Role)>,
}

/// The live session behind a cookie value, with its account and roles, read in one query (every
/// request of a signed-in visitor asks); expired sessions are deleted on sight.
pub async fn find(db: &Db, token: &str, now: i64) -> anyhow::Result<Option<SignedIn>> {
    let id_hash = hash_token(token);
    // One row per role (one without role for a usager); the account's columns keep their names.
    let rows = sqlx::query(
        "SELECT s.id_hash, s.user_id, s.mfa_done, s.created_at AS session_created_at, s.last_seen_at,
                s.ip, s.user_agent, s.acting_mandat_id,
                u.id, u.kind, u.email, u.display_name, u.email_confirmed_at, u.totp_enabled_at, u.created_at,
                m.tenant_id AS role_tenant_id, m.role
         FROM sessions s JOIN users u ON u.id = s.user_id
         LEFT JOIN memberships m ON m.user_id = u.id
         WHERE s.id_hash = $1 AND u.deleted_at IS NULL
         ORDER BY m.tenant_id, m.role",
    )
    .bind(&id_hash)
    .fetch_all(db.pool())
    .await?;
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    let session = Session {
        id_hash: row.try_get(0)?,
        user_id: row.try_get(1)?,
        mfa_done: row.try_get::<i64, _>(2)? != 0,
        created_at: row.try_get(3)?,
        last_seen_at: row.try_get(4)?,
        ip: row.try_get(5)?,
        user_agent: row.try_get(6)?,
        acting_mandat_id: row.try_get(7)?,
    };
    if now - session.last_seen_at > IDLE_TIMEOUT_MS
        || now - session.created_at > ABSOLUTE_TIMEOUT_MS
    {
        let id_hash = session.id_hash.clone();
        db.write(move |conn| Box::pin(async move { delete_in(conn, &id_hash).await }))
            .await?;
        return Ok(None);
    }
    let user = crate::compte::from_row(row)?;
    let mut roles = Vec::new();
    for row in &rows {
        let (tenant_id, role) = (
            row.try_get::<Option<i64>, _>("role_tenant_id")?,
            row.try_get::<Option<String>, _>("role")?,
        );
        if let (Some(tenant_id), Some(role)) = (
            tenant_id,
            role.as_deref()
                .and_then(guichet_domain::role::Role::from_code),
        ) {
            roles.push((tenant_id, role));
        }
    }
    if now - session.last_seen_at > TOUCH_EVERY_MS {
        let id_hash = session.id_hash.clone();
        db.write(move |conn| {
            Box::pin(async move {
                sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id_hash = $2")
                    .bind(now)
                    .bind(id_hash)
                    .execute(&mut *conn)
                    .await?;
                Ok(())
            })
        })
        .await?;
    }
    Ok(Some(SignedIn {
        session,
        user,
        roles,
    }))
}

/// Closes a session, with its trace (a sign-out).
pub async fn close(db: &Db, id_hash: &str, trace: Trace) -> anyhow::Result<()> {
    let id_hash = id_hash.to_string();
    crate::trace::commit(db, trace, move |conn| {
        Box::pin(async move { delete_in(conn, &id_hash).await })
    })
    .await
}

pub(crate) async fn delete_in(conn: &mut sqlx::AnyConnection, id_hash: &str) -> anyhow::Result<()> {
    sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
        .bind(id_hash)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn list_for_user(db: &Db, user_id: i64) -> anyhow::Result<Vec<Session>> {
    let rows = sqlx::query(
        "SELECT id_hash, user_id, mfa_done, created_at, last_seen_at, ip, user_agent
         FROM sessions WHERE user_id = $1 ORDER BY last_seen_at DESC",
    )
    .bind(user_id)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|row| {
            Ok(Session {
                id_hash: row.try_get(0)?,
                user_id: row.try_get(1)?,
                mfa_done: row.try_get::<i64, _>(2)? != 0,
                created_at: row.try_get(3)?,
                last_seen_at: row.try_get(4)?,
                ip: row.try_get(5)?,
                user_agent: row.try_get(6)?,
                acting_mandat_id: None,
            })
        })
        .collect()
}

/// Logs a user out everywhere, with its trace (which says how many sessions were closed);
/// returns that number.
pub async fn close_all(db: &Db, user_id: i64, trace: Trace) -> anyhow::Result<u64> {
    db.write(move |conn| {
        Box::pin(async move {
            let closed = delete_all_in(conn, user_id).await?;
            let mut trace = trace;
            for e in trace.events_mut() {
                e.details = serde_json::json!({"sessions_fermees": closed}).to_string();
            }
            trace.write(conn).await?;
            Ok(closed)
        })
    })
    .await
}

pub(crate) async fn delete_all_in(
    conn: &mut sqlx::AnyConnection,
    user_id: i64,
) -> anyhow::Result<u64> {
    Ok(sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await?
        .rows_affected())
}

/// Removes sessions past their timeouts (run by the background worker).
pub async fn purge_expired(db: &Db, now: i64) -> anyhow::Result<u64> {
    db.write(move |conn| {
        Box::pin(async move {
            Ok(
                sqlx::query("DELETE FROM sessions WHERE last_seen_at < $1 OR created_at < $2")
                    .bind(now - IDLE_TIMEOUT_MS)
                    .bind(now - ABSOLUTE_TIMEOUT_MS)
                    .execute(&mut *conn)
                    .await?
                    .rows_affected(),
            )
        })
    })
    .await
}

/// A random value for the anti-CSRF cookie.
pub fn new_csrf_seed() -> String {
    random_token()
}
