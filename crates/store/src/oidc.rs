//! OpenID Connect logins: logins under way, identities linked to accounts, the ID token of a
//! session (for the logout at the provider).

use crate::db::Db;
use crate::secret::hash_token;
use crate::trace::Trace;
use guichet_domain::journal::Event;
use guichet_domain::profil::Source;
use sqlx::Row;

/// A login under way expires after this long.
const PENDING_MS: i64 = 10 * 60 * 1000;

#[derive(Debug, Clone)]
pub struct Pending {
    pub provider: String,
    pub nonce: String,
    pub user_id: Option<i64>,
    pub return_to: String,
}

pub async fn start(db: &Db, state: &str, p: &Pending) -> anyhow::Result<()> {
    let (hash, p) = (hash_token(state), p.clone());
    db.write(move |conn| {
        Box::pin(async move {
            let now = crate::now_ms();
            sqlx::query("DELETE FROM oidc_pending WHERE created_at < $1")
                .bind(now - PENDING_MS)
                .execute(&mut *conn)
                .await?;
            sqlx::query(
                "INSERT INTO oidc_pending (state_hash, provider, nonce, user_id, return_to, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(hash)
            .bind(&p.provider)
            .bind(&p.nonce)
            .bind(p.user_id)
            .bind(&p.return_to)
            .bind(now)
            .execute(&mut *conn)
            .await?;
            Ok(())
        })
    })
    .await
}

/// The login under way for this state, removed (a state is used once); None if unknown,
/// expired or for another provider.
pub async fn take(db: &Db, state: &str, provider: &str) -> anyhow::Result<Option<Pending>> {
    let hash = hash_token(state);
    let taken = db
        .write(move |conn| {
            Box::pin(async move {
                let row = sqlx::query(
                    "DELETE FROM oidc_pending WHERE state_hash = $1 RETURNING provider, nonce, user_id, return_to, created_at",
                )
                .bind(&hash)
                .fetch_optional(&mut *conn)
                .await?;
                row.map(|r| {
                    Ok::<_, anyhow::Error>((
                        Pending {
                            provider: r.try_get(0)?,
                            nonce: r.try_get(1)?,
                            user_id: r.try_get(2)?,
                            return_to: r.try_get(3)?,
                        },
                        r.try_get::<i64, _>(4)?,
                    ))
                })
                .transpose()
            })
        })
        .await?;
    let Some((p, created_at)) = taken else {
        return Ok(None);
    };
    let fresh = crate::now_ms() - created_at <= PENDING_MS;
    Ok((fresh && p.provider == provider).then_some(p))
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

async fn link_in(
    conn: &mut sqlx::AnyConnection,
    provider: &str,
    subject: &str,
    user_id: i64,
) -> anyhow::Result<()> {
    sqlx::query("INSERT INTO oidc_identities (provider, subject, user_id, created_at) VALUES ($1, $2, $3, $4)")
        .bind(provider)
        .bind(subject)
        .bind(user_id)
        .bind(crate::now_ms())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Whose account a provider's identity signs in to.
#[derive(Debug, Clone)]
pub enum Account {
    /// The account it is already linked to.
    Linked(i64),
    /// An account it is linked to now (the signed-in account, or an agent's with that verified
    /// address), with the journal entry of the link.
    Link(i64, Event),
    /// A new usager account with the identity's address (confirmed by the provider) and name.
    Create {
        email: String,
        name: String,
        event: Event,
    },
}

/// A sign-in through an OpenID provider (FranceConnect, agents' single sign-on).
#[derive(Debug, Clone)]
pub struct SignIn {
    pub provider: String,
    pub subject: String,
    pub account: Account,
    /// Values the provider certifies, for the profile, with their journal entry.
    pub certified: Option<(Vec<(String, String)>, Event)>,
    /// The visitor's session before, replaced (a session id planted before is worthless).
    pub old_session: Option<String>,
    pub opening: crate::session::Opening,
    /// Kept with the session, to sign out at the provider too.
    pub id_token: String,
}

/// Signs in through a provider in one commit: the account found, linked or created, the
/// certified values saved, the session opened with the provider's ID token, the trace (whose
/// entries name the account as actor).
pub async fn sign_in(
    db: &Db,
    s: SignIn,
    trace: Trace,
) -> anyhow::Result<(crate::compte::User, String, crate::session::Session)> {
    db.write(move |conn| {
        Box::pin(async move {
            let mut entries = Vec::new();
            let user_id = match s.account {
                Account::Linked(id) => id,
                Account::Link(id, event) => {
                    link_in(conn, &s.provider, &s.subject, id).await?;
                    entries.push(event);
                    id
                }
                Account::Create { email, name, event } => {
                    let user = crate::compte::insert_in(
                        conn,
                        crate::compte::Kind::Usager,
                        &email,
                        &name,
                        None,
                    )
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("adresse déjà utilisée"))?;
                    crate::compte::mark_confirmed_in(conn, user.id).await?;
                    link_in(conn, &s.provider, &s.subject, user.id).await?;
                    let mut event = event;
                    event.actor = user.email.clone();
                    event.actor_id = Some(user.id);
                    entries.push(event);
                    user.id
                }
            };
            let user = crate::compte::by_id_in(conn, user_id)
                .await?
                .ok_or_else(|| anyhow::anyhow!("compte introuvable"))?;
            if let Some((values, mut event)) = s.certified {
                crate::profil::save_in(conn, user.id, &values, Source::FranceConnect).await?;
                event.object_id = Some(user.id.to_string());
                entries.push(event);
            }
            if let Some(old) = &s.old_session {
                crate::session::delete_in(conn, old).await?;
            }
            let opening = crate::session::Opening {
                user_id: user.id,
                ..s.opening
            };
            let (token, session) = crate::session::create_in(conn, &opening).await?;
            sqlx::query(
                "UPDATE sessions SET oidc_provider = $1, oidc_id_token = $2 WHERE id_hash = $3",
            )
            .bind(&s.provider)
            .bind(&s.id_token)
            .bind(&session.id_hash)
            .execute(&mut *conn)
            .await?;
            for e in &entries {
                crate::journal::append_in(conn, e).await?;
            }
            let mut trace = trace;
            trace.set_actor(user.id, &user.email);
            trace.write(conn).await?;
            Ok((user, token, session))
        })
    })
    .await
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
