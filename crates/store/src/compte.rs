//! Accounts: usagers and agents, passwords (Argon2id), e-mail confirmation, second factor.

use crate::db::Db;
use crate::secret::{hash_token, random_token};
use crate::trace::Trace;
use sqlx::any::AnyRow;
use sqlx::Row;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Kind {
    Usager,
    Agent,
}

impl Kind {
    pub fn code(self) -> &'static str {
        match self {
            Self::Usager => "usager",
            Self::Agent => "agent",
        }
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct User {
    pub id: i64,
    pub kind: Kind,
    pub email: String,
    pub display_name: String,
    pub email_confirmed: bool,
    pub totp_enabled: bool,
    pub created_at: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum CompteError {
    #[error("un compte existe déjà avec cette adresse électronique")]
    EmailTaken,
    #[error("adresse électronique invalide")]
    InvalidEmail,
    #[error(transparent)]
    Storage(#[from] anyhow::Error),
}

impl From<sqlx::Error> for CompteError {
    fn from(e: sqlx::Error) -> Self {
        Self::Storage(e.into())
    }
}

/// Lower-cases and checks the shape of an address (the confirmation link proves it works).
pub fn normalize_email(input: &str) -> Result<String, CompteError> {
    let email = input.trim().to_lowercase();
    let valid = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !email.contains(char::is_whitespace)
                && email.matches('@').count() == 1
        });
    if valid {
        Ok(email)
    } else {
        Err(CompteError::InvalidEmail)
    }
}

const COLUMNS: &str =
    "id, kind, email, display_name, email_confirmed_at, totp_enabled_at, created_at";

/// An account from a row holding the columns of `COLUMNS` under their names.
pub(crate) fn from_row(row: &AnyRow) -> anyhow::Result<User> {
    let kind: String = row.try_get("kind")?;
    Ok(User {
        id: row.try_get("id")?,
        kind: if kind == "agent" {
            Kind::Agent
        } else {
            Kind::Usager
        },
        email: row
            .try_get::<Option<String>, _>("email")?
            .unwrap_or_default(),
        display_name: row.try_get("display_name")?,
        email_confirmed: row
            .try_get::<Option<i64>, _>("email_confirmed_at")?
            .is_some(),
        totp_enabled: row.try_get::<Option<i64>, _>("totp_enabled_at")?.is_some(),
        created_at: row.try_get("created_at")?,
    })
}

/// Argon2id needs 19 MiB for each hash. Hashes run on two threads of their own, so that this
/// memory is reused; on the blocking pool's many threads, each kept a malloc arena of its own
/// holding it, and the idle process grew by tens of MB per thread (the demo's first start left
/// 200 MB).
fn hashing_thread() -> &'static std::sync::mpsc::Sender<Box<dyn FnOnce() + Send>> {
    type Job = Box<dyn FnOnce() + Send>;
    static POOL: std::sync::OnceLock<std::sync::mpsc::Sender<Job>> = std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel::<Job>();
        let rx = std::sync::Arc::new(std::sync::Mutex::new(rx));
        for i in 0..2 {
            let rx = std::sync::Arc::clone(&rx);
            let _ = std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || loop {
                    let job = match rx.lock() {
                        Ok(rx) => rx.recv(),
                        Err(_) => return,
                    };
                    match job {
                        Ok(job) => job(),
                        Err(_) => return,
                    }
                });
        }
        tx
    })
}

/// Runs a password hash or check on the hashing threads.
async fn on_hashing_thread<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> anyhow::Result<T> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    hashing_thread()
        .send(Box::new(move || {
            let _ = tx.send(f());
        }))
        .map_err(|_| anyhow::anyhow!("hachage indisponible"))?;
    Ok(rx.await?)
}

/// The Argon2 output of `password` with these parameters and salt, computed in this hashing
/// thread's own memory (allocated once, reused by every hash on the thread).
fn argon2_output(
    argon: &argon2::Argon2<'_>,
    params: &argon2::Params,
    password: &[u8],
    salt: argon2::password_hash::Salt<'_>,
) -> argon2::password_hash::Result<argon2::password_hash::Output> {
    thread_local! {
        static MEMORY: std::cell::RefCell<Vec<argon2::Block>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt.decode_b64(&mut salt_bytes)?;
    let len = params
        .output_len()
        .unwrap_or(argon2::Params::DEFAULT_OUTPUT_LEN);
    MEMORY.with(|memory| {
        let mut memory = memory.borrow_mut();
        memory.resize(params.block_count(), argon2::Block::default());
        argon2::password_hash::Output::init_with(len, |out| {
            argon
                .hash_password_into_with_memory(password, salt_bytes, out, &mut memory[..])
                .map_err(Into::into)
        })
    })
}

/// Argon2id with the crate's default (OWASP-recommended) parameters, on the hashing threads; the
/// PHC string the `argon2` crate itself writes and reads.
pub async fn hash_password(password: &str) -> anyhow::Result<String> {
    let password = password.to_string();
    on_hashing_thread(move || {
        use argon2::password_hash::{rand_core::OsRng, ParamsString, PasswordHash, SaltString};
        let salt = SaltString::generate(&mut OsRng);
        let params = argon2::Params::default();
        let argon = argon2::Argon2::default();
        let output = argon2_output(&argon, &params, password.as_bytes(), salt.as_salt())
            .map_err(|e| anyhow::anyhow!("hachage du mot de passe : {e}"))?;
        let hash = PasswordHash {
            algorithm: argon2::Algorithm::Argon2id.ident(),
            version: Some(argon2::Version::V0x13.into()),
            params: ParamsString::try_from(&params)
                .map_err(|e| anyhow::anyhow!("hachage du mot de passe : {e}"))?,
            salt: Some(salt.as_salt()),
            hash: Some(output),
        };
        Ok(hash.to_string())
    })
    .await?
}

/// Checks a password against a PHC string, with the parameters it names (constant-time compare
/// of the outputs, as `password_hash::Output` does).
async fn verify_hash(password: &str, hash: &str) -> bool {
    let (password, hash) = (password.to_string(), hash.to_string());
    on_hashing_thread(move || {
        let Ok(parsed) = argon2::PasswordHash::new(&hash) else {
            return false;
        };
        let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
            return false;
        };
        let algorithm = argon2::Algorithm::try_from(parsed.algorithm);
        let version = parsed.version.map(argon2::Version::try_from).transpose();
        let params = argon2::Params::try_from(&parsed);
        let (Ok(algorithm), Ok(version), Ok(params)) = (algorithm, version, params) else {
            return false;
        };
        let argon = argon2::Argon2::new(algorithm, version.unwrap_or_default(), params.clone());
        argon2_output(&argon, &params, password.as_bytes(), salt).is_ok_and(|out| out == expected)
    })
    .await
    .unwrap_or(false)
}

/// A hash to verify against when the account does not exist, so that timing does not tell.
static DUMMY_HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Creates an account without trace (the demo's accounts, tests; people sign up with `sign_up`
/// and agents come through an invitation).
pub async fn create(
    db: &Db,
    kind: Kind,
    email: &str,
    display_name: &str,
    password: Option<&str>,
) -> Result<User, CompteError> {
    let email = normalize_email(email)?;
    let hash = match password {
        Some(p) => Some(hash_password(p).await?),
        None => None,
    };
    let display_name = display_name.trim().to_string();
    db.write(move |conn| {
        Box::pin(async move { insert_in(conn, kind, &email, &display_name, hash.as_deref()).await })
    })
    .await?
    .ok_or(CompteError::EmailTaken)
}

/// Inserts an account; None if the address is taken.
pub(crate) async fn insert_in(
    conn: &mut sqlx::AnyConnection,
    kind: Kind,
    email: &str,
    display_name: &str,
    hash: Option<&str>,
) -> anyhow::Result<Option<User>> {
    let now = crate::now_ms();
    sqlx::query(&format!(
        "INSERT INTO users (kind, email, display_name, password_hash, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $5)
         ON CONFLICT (email) DO NOTHING
         RETURNING {COLUMNS}"
    ))
    .bind(kind.code())
    .bind(email)
    .bind(display_name)
    .bind(hash.map(str::to_string))
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?
    .as_ref()
    .map(from_row)
    .transpose()
}

pub async fn by_id(db: &Db, id: i64) -> anyhow::Result<Option<User>> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM users WHERE id = $1 AND deleted_at IS NULL"
    ))
    .bind(id)
    .fetch_optional(db.pool())
    .await?
    .as_ref()
    .map(from_row)
    .transpose()
}

pub async fn by_email(db: &Db, email: &str) -> anyhow::Result<Option<User>> {
    let Ok(email) = normalize_email(email) else {
        return Ok(None);
    };
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM users WHERE email = $1 AND deleted_at IS NULL"
    ))
    .bind(email)
    .fetch_optional(db.pool())
    .await?
    .as_ref()
    .map(from_row)
    .transpose()
}

/// Checks e-mail and password. Takes the same time whether or not the account exists.
pub async fn authenticate(db: &Db, email: &str, password: &str) -> anyhow::Result<Option<User>> {
    let row = match normalize_email(email) {
        Ok(email) => {
            sqlx::query(&format!(
            "SELECT {COLUMNS}, password_hash FROM users WHERE email = $1 AND deleted_at IS NULL"
        ))
            .bind(email)
            .fetch_optional(db.pool())
            .await?
        }
        Err(_) => None,
    };
    let stored: Option<String> = row
        .as_ref()
        .and_then(|r| r.try_get("password_hash").ok())
        .flatten();
    let dummy = match DUMMY_HASH.get() {
        Some(h) => h.clone(),
        None => {
            let h = hash_password("mot de passe factice pour le temps constant").await?;
            DUMMY_HASH.get_or_init(|| h).clone()
        }
    };
    let ok = verify_hash(password, stored.as_deref().unwrap_or(&dummy)).await;
    match (ok && stored.is_some(), row) {
        (true, Some(row)) => Ok(Some(from_row(&row)?)),
        _ => Ok(None),
    }
}

/// Sets the password hash, and kills every reset link not used yet (an older link must not work
/// after any change of password), inside the caller's transaction.
async fn set_password_in(
    conn: &mut sqlx::AnyConnection,
    user_id: i64,
    hash: &str,
) -> anyhow::Result<()> {
    let now = crate::now_ms();
    sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3")
        .bind(hash)
        .bind(now)
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "UPDATE email_tokens SET used_at = $1 WHERE user_id = $2 AND purpose = $3 AND used_at IS NULL",
    )
    .bind(now)
    .bind(user_id)
    .bind(Purpose::ResetPassword.code())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Sets a password (an administrator's command, the demo): reset links die with it.
pub async fn set_password(db: &Db, user_id: i64, password: &str) -> anyhow::Result<()> {
    let hash = hash_password(password).await?;
    db.write(move |conn| Box::pin(async move { set_password_in(conn, user_id, &hash).await }))
        .await
}

/// The account a valid, unused token belongs to, without using it (to check a form first).
pub async fn peek_email_token(
    db: &Db,
    token: &str,
    purpose: Purpose,
) -> anyhow::Result<Option<i64>> {
    let row = sqlx::query(
        "SELECT user_id FROM email_tokens
         WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3",
    )
    .bind(hash_token(token))
    .bind(purpose.code())
    .bind(crate::now_ms())
    .fetch_optional(db.pool())
    .await?;
    row.map(|r| Ok(r.try_get(0)?)).transpose()
}

pub async fn verify_password(db: &Db, user_id: i64, password: &str) -> anyhow::Result<bool> {
    let hash: Option<String> = sqlx::query("SELECT password_hash FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(db.pool())
        .await?
        .map(|r| r.try_get(0))
        .transpose()?
        .flatten();
    Ok(match hash {
        Some(h) => verify_hash(password, &h).await,
        None => false,
    })
}

pub async fn mark_email_confirmed(db: &Db, user_id: i64) -> anyhow::Result<()> {
    db.write(move |conn| Box::pin(async move { mark_confirmed_in(conn, user_id).await }))
        .await
}

pub(crate) async fn mark_confirmed_in(
    conn: &mut sqlx::AnyConnection,
    user_id: i64,
) -> anyhow::Result<()> {
    sqlx::query("UPDATE users SET email_confirmed_at = COALESCE(email_confirmed_at, $1), updated_at = $1 WHERE id = $2")
        .bind(crate::now_ms())
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

async fn change_email_in(
    conn: &mut sqlx::AnyConnection,
    user_id: i64,
    email: &str,
) -> Result<(), CompteError> {
    let taken: Option<i64> =
        sqlx::query_scalar("SELECT id FROM users WHERE email = $1 AND deleted_at IS NULL")
            .bind(email)
            .fetch_optional(&mut *conn)
            .await?;
    if taken.is_some() {
        return Err(CompteError::EmailTaken);
    }
    sqlx::query(
        "UPDATE users SET email = $1, email_confirmed_at = $2, updated_at = $2 WHERE id = $3",
    )
    .bind(email)
    .bind(crate::now_ms())
    .bind(user_id)
    .execute(&mut *conn)
    .await
    .map_err(|e| match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => CompteError::EmailTaken,
        _ => CompteError::Storage(e.into()),
    })?;
    Ok(())
}

/// Deletes an account: personal data is erased at once; the row stays, anonymised, because the
/// audit journal (kept one year) and submitted dossiers (kept for their retention period) refer to it.
pub async fn delete(db: &Db, user_id: i64, trace: Trace) -> anyhow::Result<()> {
    crate::trace::commit(db, trace, move |conn| {
        Box::pin(async move {
            let now = crate::now_ms();
            sqlx::query(
                "UPDATE users SET email = NULL, display_name = 'Compte supprimé', password_hash = NULL,
                     totp_secret = NULL, totp_enabled_at = NULL, deleted_at = $1, updated_at = $1 WHERE id = $2",
            )
            .bind(now)
            .bind(user_id)
            .execute(&mut *conn)
            .await?;
            for sql in [
                "DELETE FROM sessions WHERE user_id = $1",
                "DELETE FROM recovery_codes WHERE user_id = $1",
                "DELETE FROM email_tokens WHERE user_id = $1",
                "DELETE FROM memberships WHERE user_id = $1",
                "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, 0) WHERE user_id = $1",
            ] {
                sqlx::query(sql).bind(user_id).execute(&mut *conn).await?;
            }
            Ok(())
        })
    })
    .await
}

// ---- E-mail tokens: confirmation and password reset --------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    ConfirmEmail,
    ResetPassword,
    ChangeEmail,
}

impl Purpose {
    fn code(self) -> &'static str {
        match self {
            Self::ConfirmEmail => "confirm",
            Self::ResetPassword => "reset",
            Self::ChangeEmail => "change_email",
        }
    }

    /// How long a link works.
    pub fn lifetime_ms(self) -> i64 {
        match self {
            Self::ConfirmEmail | Self::ChangeEmail => 48 * 3_600_000,
            Self::ResetPassword => 3_600_000,
        }
    }
}

/// Issues a single-use token for a link sent by e-mail (tests and tools; pages use `send_link`).
pub async fn issue_email_token(
    db: &Db,
    user_id: i64,
    purpose: Purpose,
    new_email: Option<&str>,
) -> anyhow::Result<String> {
    let token = random_token();
    let link = Link {
        token: token.clone(),
        purpose,
        new_email: new_email.map(str::to_string),
    };
    db.write(move |conn| Box::pin(async move { issue_in(conn, user_id, &link).await }))
        .await?;
    Ok(token)
}

/// A link sent by e-mail. The caller makes its token (`secret::random_token`), so that the mail
/// carrying it is written with the change that records it.
#[derive(Debug, Clone)]
pub struct Link {
    pub token: String,
    pub purpose: Purpose,
    /// The address a change of address will give the account.
    pub new_email: Option<String>,
}

pub(crate) async fn issue_in(
    conn: &mut sqlx::AnyConnection,
    user_id: i64,
    link: &Link,
) -> anyhow::Result<()> {
    let now = crate::now_ms();
    sqlx::query(
        "INSERT INTO email_tokens (token_hash, user_id, purpose, new_email, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(hash_token(&link.token))
    .bind(user_id)
    .bind(link.purpose.code())
    .bind(link.new_email.clone())
    .bind(now)
    .bind(now + link.purpose.lifetime_ms())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Uses a token once: its user and the new e-mail it carries, if valid.
async fn consume_in(
    conn: &mut sqlx::AnyConnection,
    token: &str,
    purpose: Purpose,
) -> anyhow::Result<Option<(i64, Option<String>)>> {
    let now = crate::now_ms();
    let row = sqlx::query(
        "UPDATE email_tokens SET used_at = $1
         WHERE token_hash = $2 AND purpose = $3 AND used_at IS NULL AND expires_at > $1
         RETURNING user_id, new_email",
    )
    .bind(now)
    .bind(hash_token(token))
    .bind(purpose.code())
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).transpose()
}

pub(crate) async fn by_id_in(
    conn: &mut sqlx::AnyConnection,
    id: i64,
) -> anyhow::Result<Option<User>> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM users WHERE id = $1 AND deleted_at IS NULL"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .as_ref()
    .map(from_row)
    .transpose()
}

// ---- What a person does with their account: each action commits with its trace -----------------

/// Sign-up: the account, the link that confirms its address, and the trace (whose journal
/// entries name the new account as actor and object).
pub async fn sign_up(
    db: &Db,
    kind: Kind,
    email: &str,
    display_name: &str,
    password: &str,
    link: Link,
    trace: Trace,
) -> Result<User, CompteError> {
    let email = normalize_email(email)?;
    let hash = hash_password(password).await?;
    let display_name = display_name.trim().to_string();
    let created = db
        .write(move |conn| {
            Box::pin(async move {
                let Some(user) = insert_in(conn, kind, &email, &display_name, Some(&hash)).await?
                else {
                    return Ok(None);
                };
                issue_in(conn, user.id, &link).await?;
                let mut trace = trace;
                trace.set_actor(user.id, &user.email);
                for e in trace.events_mut() {
                    e.object_type = Some(kind.code().into());
                    e.object_id = Some(user.id.to_string());
                }
                trace.write(conn).await?;
                Ok(Some(user))
            })
        })
        .await?;
    created.ok_or(CompteError::EmailTaken)
}

/// Sends a link to an account (its confirmation again, a password reset, a new address), with
/// the trace carrying the mail.
pub async fn send_link(db: &Db, user_id: i64, link: Link, trace: Trace) -> anyhow::Result<()> {
    crate::trace::commit(db, trace, move |conn| {
        Box::pin(async move { issue_in(conn, user_id, &link).await })
    })
    .await
}

/// The confirmation link opened: the address is confirmed. None if the link is not valid (used,
/// expired, unknown): nothing changes, nothing is journaled.
pub async fn confirm_email(db: &Db, token: &str, trace: Trace) -> anyhow::Result<Option<User>> {
    let token = token.to_string();
    db.write(move |conn| {
        Box::pin(async move {
            let Some((user_id, _)) = consume_in(conn, &token, Purpose::ConfirmEmail).await? else {
                return Ok(None);
            };
            mark_confirmed_in(conn, user_id).await?;
            let Some(user) = by_id_in(conn, user_id).await? else {
                return Ok(None);
            };
            let mut trace = trace;
            trace.set_actor(user.id, &user.email);
            trace.write(conn).await?;
            Ok(Some(user))
        })
    })
    .await
}

/// Signs in: this network's failures for the account cleared, the visitor's old session (if
/// any) replaced by a new one, the trace.
pub async fn sign_in(
    db: &Db,
    user: &User,
    old_session: Option<&str>,
    opening: crate::session::Opening,
    trace: Trace,
) -> anyhow::Result<(String, crate::session::Session)> {
    let email = user.email.clone();
    let old = old_session.map(str::to_string);
    crate::trace::commit(db, trace, move |conn| {
        Box::pin(async move {
            crate::throttle::clear_in(conn, &email, opening.ip.as_deref()).await?;
            if let Some(old) = &old {
                crate::session::delete_in(conn, old).await?;
            }
            crate::session::create_in(conn, &opening).await
        })
    })
    .await
}

/// A reset link used: the new password set (every other reset link dies), every session
/// closed (whoever knew the old password is signed out), the address confirmed (the link
/// reached it). None if the link is not valid.
pub async fn reset_password(
    db: &Db,
    token: &str,
    password: &str,
    trace: Trace,
) -> anyhow::Result<Option<User>> {
    let hash = hash_password(password).await?;
    let token = token.to_string();
    db.write(move |conn| {
        Box::pin(async move {
            let Some((user_id, _)) = consume_in(conn, &token, Purpose::ResetPassword).await? else {
                return Ok(None);
            };
            set_password_in(conn, user_id, &hash).await?;
            crate::session::delete_all_in(conn, user_id).await?;
            mark_confirmed_in(conn, user_id).await?;
            let Some(user) = by_id_in(conn, user_id).await? else {
                return Ok(None);
            };
            let mut trace = trace;
            trace.set_actor(user.id, &user.email);
            trace.write(conn).await?;
            Ok(Some(user))
        })
    })
    .await
}

/// A new password chosen from the account page: reset links die, other devices are signed out,
/// this one gets a fresh session.
pub async fn change_password(
    db: &Db,
    user_id: i64,
    password: &str,
    opening: crate::session::Opening,
    trace: Trace,
) -> anyhow::Result<(String, crate::session::Session)> {
    let hash = hash_password(password).await?;
    crate::trace::commit(db, trace, move |conn| {
        Box::pin(async move {
            set_password_in(conn, user_id, &hash).await?;
            crate::session::delete_all_in(conn, user_id).await?;
            crate::session::create_in(conn, &opening).await
        })
    })
    .await
}

/// The link sent to a new address opened: the account takes it. None if the link is not valid;
/// `EmailTaken` if another account took the address meanwhile. Gives the account as changed and
/// its former address.
pub async fn confirm_new_email(
    db: &Db,
    token: &str,
    trace: Trace,
) -> Result<Option<(User, String)>, CompteError> {
    let token = token.to_string();
    let outcome = db
        .write(move |conn| {
            Box::pin(async move {
                let Some((user_id, Some(new_email))) =
                    consume_in(conn, &token, Purpose::ChangeEmail).await?
                else {
                    return Ok(Ok(None));
                };
                let Some(old) = by_id_in(conn, user_id).await? else {
                    return Ok(Ok(None));
                };
                match change_email_in(conn, user_id, &new_email).await {
                    Ok(()) => {}
                    // The link stays used: the address is someone else's now.
                    Err(CompteError::EmailTaken) => return Ok(Err(())),
                    Err(e) => return Err(anyhow::anyhow!("{e}")),
                }
                let mut trace = trace;
                trace.set_actor(user_id, &new_email);
                for e in trace.events_mut() {
                    e.details = serde_json::json!({"ancienne_adresse": old.email}).to_string();
                }
                trace.write(conn).await?;
                let after = by_id_in(conn, user_id).await?;
                Ok(Ok(after.map(|u| (u, old.email))))
            })
        })
        .await?;
    outcome.map_err(|()| CompteError::EmailTaken)
}

// ---- Second factor -------------------------------------------------------------------------------

/// Stores a TOTP secret being enrolled (not yet active).
pub async fn set_pending_totp(db: &Db, user_id: i64, secret_base32: &str) -> anyhow::Result<()> {
    // Sealed: a copy of the database alone gives no second factor.
    let secret = db.sealer().seal(secret_base32)?;
    db.write(move |conn| {
        Box::pin(async move {
            sqlx::query("UPDATE users SET totp_secret = $1, totp_enabled_at = NULL, totp_last_step = NULL WHERE id = $2")
                .bind(secret)
                .bind(user_id)
                .execute(&mut *conn)
                .await?;
            Ok(())
        })
    })
    .await
}

pub async fn totp_secret(db: &Db, user_id: i64) -> anyhow::Result<Option<String>> {
    sqlx::query("SELECT totp_secret FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(db.pool())
        .await?
        .map(|r| r.try_get::<Option<String>, _>(0))
        .transpose()?
        .flatten()
        .map(|stored| db.sealer().open(&stored))
        .transpose()
}

fn totp(secret_base32: &str, email: &str) -> anyhow::Result<totp_rs::TOTP> {
    let secret = totp_rs::Secret::Encoded(secret_base32.to_string())
        .to_bytes()
        .map_err(|e| anyhow::anyhow!("secret TOTP illisible : {e:?}"))?;
    totp_rs::TOTP::new(
        totp_rs::Algorithm::SHA1,
        6,
        1,
        30,
        secret,
        Some("Guichet".into()),
        email.to_string(),
    )
    .map_err(|e| anyhow::anyhow!("secret TOTP invalide : {e}"))
}

/// A new random secret (160 bits, RFC 4226's recommendation), base32.
pub fn new_totp_secret() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 20];
    rand::rng().fill_bytes(&mut bytes);
    totp_rs::Secret::Raw(bytes.to_vec())
        .to_encoded()
        .to_string()
}

/// The otpauth:// URL an authenticator app reads from the QR code.
pub fn totp_url(secret_base32: &str, email: &str) -> anyhow::Result<String> {
    Ok(totp(secret_base32, email)?.get_url())
}

/// Checks a code at time `now_s` (one step of drift allowed) and refuses a step already used, so
/// that an intercepted code cannot be replayed: the step used is recorded.
async fn check_totp_in(
    conn: &mut sqlx::AnyConnection,
    sealer: &crate::sealed::Sealer,
    user_id: i64,
    code: &str,
    now_s: u64,
) -> anyhow::Result<bool> {
    let row = sqlx::query("SELECT totp_secret, totp_last_step, email FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(row) = row else { return Ok(false) };
    let Some(stored): Option<String> = row.try_get(0)? else {
        return Ok(false);
    };
    let secret = sealer.open(&stored)?;
    let last_step: Option<i64> = row.try_get(1)?;
    let email: String = row.try_get::<Option<String>, _>(2)?.unwrap_or_default();
    let code: String = code.chars().filter(char::is_ascii_digit).collect();
    let t = totp(&secret, &email)?;
    let current = (now_s / 30) as i64;
    for step in [current - 1, current, current + 1] {
        if step <= last_step.unwrap_or(i64::MIN) || step < 0 {
            continue;
        }
        if t.generate(step as u64 * 30) == code {
            let updated = sqlx::query(
                "UPDATE users SET totp_last_step = $1 WHERE id = $2 AND (totp_last_step IS NULL OR totp_last_step < $1)",
            )
            .bind(step)
            .bind(user_id)
            .execute(&mut *conn)
            .await?;
            return Ok(updated.rows_affected() == 1);
        }
    }
    Ok(false)
}

/// Uses a recovery code once.
async fn use_recovery_code_in(
    conn: &mut sqlx::AnyConnection,
    user_id: i64,
    code: &str,
) -> anyhow::Result<bool> {
    let code = code.trim().to_lowercase();
    let done = sqlx::query(
        "UPDATE recovery_codes SET used_at = $1 WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL",
    )
    .bind(crate::now_ms())
    .bind(user_id)
    .bind(hash_token(&code))
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The second factor given at sign-in: a code of the authenticator (or a recovery code, once).
/// Good: the session is replaced by one with the second factor done, with the trace. Wrong:
/// None, and nothing but the step check changes.
pub async fn pass_second_factor(
    db: &Db,
    user_id: i64,
    code: &str,
    now_s: u64,
    old_session: &str,
    opening: crate::session::Opening,
    trace: Trace,
) -> anyhow::Result<Option<(String, crate::session::Session)>> {
    let code = code.trim().to_string();
    let old = old_session.to_string();
    let sealer = db.sealer();
    crate::trace::commit_if(db, trace, move |conn| {
        Box::pin(async move {
            let ok = check_totp_in(conn, &sealer, user_id, &code, now_s).await?
                || (code.contains('-') && use_recovery_code_in(conn, user_id, &code).await?);
            if !ok {
                return Ok(None);
            }
            crate::session::delete_in(conn, &old).await?;
            Ok(Some(crate::session::create_in(conn, &opening).await?))
        })
    })
    .await
}

/// Enrolment of the second factor confirmed by a first code: the secret active, ten fresh
/// recovery codes (shown once), a new session with the second factor done (a change of
/// privilege), the trace. None if the code is wrong.
pub async fn enable_totp(
    db: &Db,
    user_id: i64,
    code: &str,
    now_s: u64,
    old_session: &str,
    opening: crate::session::Opening,
    trace: Trace,
) -> anyhow::Result<Option<(Vec<String>, String, crate::session::Session)>> {
    let code = code.to_string();
    let old = old_session.to_string();
    let sealer = db.sealer();
    crate::trace::commit_if(db, trace, move |conn| {
        Box::pin(async move {
            if !check_totp_in(conn, &sealer, user_id, &code, now_s).await? {
                return Ok(None);
            }
            let now = crate::now_ms();
            sqlx::query("UPDATE users SET totp_enabled_at = $1 WHERE id = $2")
                .bind(now)
                .bind(user_id)
                .execute(&mut *conn)
                .await?;
            sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
                .bind(user_id)
                .execute(&mut *conn)
                .await?;
            let mut codes = Vec::new();
            for _ in 0..10 {
                let raw = random_token();
                let code: String = raw
                    .chars()
                    .filter(char::is_ascii_alphanumeric)
                    .take(10)
                    .collect::<String>()
                    .to_lowercase();
                let code = format!("{}-{}", &code[..5], &code[5..]);
                sqlx::query("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)")
                    .bind(user_id)
                    .bind(hash_token(&code))
                    .execute(&mut *conn)
                    .await?;
                codes.push(code);
            }
            crate::session::delete_in(conn, &old).await?;
            let (token, session) = crate::session::create_in(conn, &opening).await?;
            Ok(Some((codes, token, session)))
        })
    })
    .await
}

/// Sets a known TOTP secret, already enabled (demo accounts only).
pub async fn force_totp(db: &Db, user_id: i64, secret_base32: &str) -> anyhow::Result<()> {
    let secret = db.sealer().seal(secret_base32)?;
    db.write(move |conn| {
        Box::pin(async move {
            sqlx::query("UPDATE users SET totp_secret = $1, totp_enabled_at = $2 WHERE id = $3")
                .bind(secret)
                .bind(crate::now_ms())
                .bind(user_id)
                .execute(&mut *conn)
                .await?;
            Ok(())
        })
    })
    .await
}

/// The current code for a secret (tests and the demo page use it).
pub fn totp_code(secret_base32: &str, at_s: u64) -> anyhow::Result<String> {
    Ok(totp(secret_base32, "x")?.generate(at_s))
}

/// The fixed TOTP secret of a demo account, derived from its address (demo only, documented).
pub fn demo_totp_secret(email: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("guichet-demo:{email}").as_bytes());
    totp_rs::Secret::Raw(digest[..20].to_vec())
        .to_encoded()
        .to_string()
}

/// Addresses of the demo accounts that have a second factor (the demo page shows their codes).
pub async fn demo_agents(db: &Db) -> anyhow::Result<Vec<String>> {
    sqlx::query("SELECT email FROM users WHERE email LIKE '%@demo.example' AND totp_enabled_at IS NOT NULL ORDER BY email")
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(|r| Ok(r.try_get(0)?))
        .collect()
}

#[cfg(test)]
mod hashing_tests {
    use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};

    #[tokio::test]
    async fn hashes_are_the_argon2_crate_s_own_phc_strings_both_ways() {
        // Ours, checked by the crate's standard verifier.
        let ours = super::hash_password("correct horse battery staple")
            .await
            .expect("hash");
        assert!(
            ours.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{ours}"
        );
        let parsed = argon2::PasswordHash::new(&ours).expect("PHC");
        use argon2::PasswordVerifier;
        assert!(argon2::Argon2::default()
            .verify_password(b"correct horse battery staple", &parsed)
            .is_ok());
        // The crate's, as stored before, checked by ours; a wrong password is refused.
        let salt = SaltString::generate(&mut OsRng);
        let theirs = argon2::Argon2::default()
            .hash_password(b"un autre mot de passe", &salt)
            .expect("hash")
            .to_string();
        assert!(super::verify_hash("un autre mot de passe", &theirs).await);
        assert!(!super::verify_hash("un autre mot de pass", &theirs).await);
        assert!(!super::verify_hash("correct horse battery staple", "pas un hachage").await);
    }
}
