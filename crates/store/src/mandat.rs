//! Help structures, their aidants and the mandats usagers give them.

use crate::db::Db;
use crate::trace::Trace;
use guichet_domain::mandat::{Consent, Length, Refused};
use guichet_domain::mandat::{Domain, Status};
use sqlx::Row;

#[derive(Debug, Clone)]
pub struct Structure {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub address: String,
    pub tenant_id: Option<i64>,
}

pub const STRUCTURE_KINDS: &[(&str, &str)] = &[
    ("france_services", "Espace France Services"),
    ("ccas", "CCAS / CIAS"),
    ("association", "Association"),
    ("autre", "Autre structure d'accompagnement"),
];

fn structure(r: &sqlx::any::AnyRow) -> anyhow::Result<Structure> {
    Ok(Structure {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        kind: r.try_get("kind")?,
        address: r.try_get("address")?,
        tenant_id: r.try_get("tenant_id")?,
    })
}

/// Registers a help structure, with its trace (whose journal entries name it).
pub async fn add_structure(
    db: &Db,
    name: &str,
    kind: &str,
    address: &str,
    tenant_id: Option<i64>,
    trace: Trace,
) -> anyhow::Result<i64> {
    let (name, kind, address) = (name.to_string(), kind.to_string(), address.to_string());
    db.write(move |conn| {
        Box::pin(async move {
            let id: i64 = sqlx::query(
                "INSERT INTO help_structures (name, kind, address, tenant_id, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
            )
            .bind(name)
            .bind(kind)
            .bind(address)
            .bind(tenant_id)
            .bind(crate::now_ms())
            .fetch_one(&mut *conn)
            .await?
            .try_get(0)?;
            let mut trace = trace;
            for e in trace.events_mut() {
                e.object_type = Some("structure".into());
                e.object_id = Some(id.to_string());
            }
            trace.write(conn).await?;
            Ok(id)
        })
    })
    .await
}

/// The structures registered by a collectivité (Some) or by the operator (None).
pub async fn structures(db: &Db, tenant_id: Option<i64>) -> anyhow::Result<Vec<Structure>> {
    let sql = match tenant_id {
        Some(_) => "SELECT id, name, kind, address, tenant_id FROM help_structures WHERE tenant_id = $1 ORDER BY name",
        None => "SELECT id, name, kind, address, tenant_id FROM help_structures WHERE tenant_id IS NULL AND $1 = 0 ORDER BY name",
    };
    sqlx::query(sql)
        .bind(tenant_id.unwrap_or(0))
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(structure)
        .collect()
}

pub async fn structure_by_id(db: &Db, id: i64) -> anyhow::Result<Option<Structure>> {
    sqlx::query("SELECT id, name, kind, address, tenant_id FROM help_structures WHERE id = $1")
        .bind(id)
        .fetch_optional(db.pool())
        .await?
        .as_ref()
        .map(structure)
        .transpose()
}

/// Who becomes an aidant.
#[derive(Debug, Clone)]
pub enum NewAidant {
    /// An agent account that exists.
    Existing(i64),
    /// A new agent account (its address confirmed: the structure vouches for it), with the link
    /// its owner chooses a password with.
    New {
        email: String,
        name: String,
        link: crate::compte::Link,
    },
}

/// Makes an agent an aidant of a structure (its responsable or not), creating the account if
/// needed, with its trace (the new aidant's mail). Returns the account's id.
pub async fn add_aidant(
    db: &Db,
    structure_id: i64,
    aidant: NewAidant,
    responsable: bool,
    trace: Trace,
) -> anyhow::Result<i64> {
    crate::trace::commit(db, trace, move |conn| {
        Box::pin(async move {
            let user_id = match aidant {
                NewAidant::Existing(id) => id,
                NewAidant::New { email, name, link } => {
                    let u = crate::compte::insert_in(
                        conn,
                        crate::compte::Kind::Agent,
                        &email,
                        &name,
                        None,
                    )
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("adresse déjà utilisée"))?;
                    crate::compte::mark_confirmed_in(conn, u.id).await?;
                    crate::compte::issue_in(conn, u.id, &link).await?;
                    u.id
                }
            };
            sqlx::query("DELETE FROM aidants WHERE structure_id = $1 AND user_id = $2")
                .bind(structure_id)
                .bind(user_id)
                .execute(&mut *conn)
                .await?;
            sqlx::query("INSERT INTO aidants (structure_id, user_id, responsable, created_at) VALUES ($1, $2, $3, $4)")
                .bind(structure_id)
                .bind(user_id)
                .bind(i64::from(responsable))
                .bind(crate::now_ms())
                .execute(&mut *conn)
                .await?;
            Ok(user_id)
        })
    })
    .await
}

/// An aidant of a structure.
#[derive(Debug, Clone)]
pub struct Member {
    pub user_id: i64,
    pub email: String,
    pub name: String,
    pub responsable: bool,
}

/// The aidants of a structure.
pub async fn aidants_of(db: &Db, structure_id: i64) -> anyhow::Result<Vec<Member>> {
    sqlx::query("SELECT u.id, u.email, u.display_name, a.responsable FROM aidants a JOIN users u ON u.id = a.user_id WHERE a.structure_id = $1 ORDER BY u.display_name")
        .bind(structure_id)
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(|r| {
            Ok(Member {
                user_id: r.try_get(0)?,
                email: r.try_get::<Option<String>, _>(1)?.unwrap_or_default(),
                name: r.try_get(2)?,
                responsable: r.try_get::<i64, _>(3)? != 0,
            })
        })
        .collect()
}

/// The structures an account is an aidant of: (structure, responsable).
pub async fn memberships(db: &Db, user_id: i64) -> anyhow::Result<Vec<(Structure, bool)>> {
    sqlx::query("SELECT s.id, s.name, s.kind, s.address, s.tenant_id, a.responsable FROM aidants a JOIN help_structures s ON s.id = a.structure_id WHERE a.user_id = $1 ORDER BY s.name")
        .bind(user_id)
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(|r| Ok((structure(r)?, r.try_get::<i64, _>("responsable")? != 0)))
        .collect()
}

#[derive(Debug, Clone)]
pub struct Mandat {
    pub id: i64,
    pub structure_id: i64,
    pub aidant_user_id: i64,
    pub usager_user_id: i64,
    pub domains: Vec<Domain>,
    pub identity_check: String,
    pub identity_detail: String,
    pub consent_at: i64,
    pub starts_at: i64,
    pub ends_at: i64,
    pub revoked_at: Option<i64>,
    pub revoked_by: Option<String>,
    pub verification_code: String,
    /// How the usager consented (`domain::mandat::Consent`); none for mandats recorded before
    /// consent was asked of the usager.
    pub consent_method: Option<String>,
}

impl Mandat {
    pub fn status(&self, now_ms: i64) -> Status {
        Status::of(self.ends_at, self.revoked_at, now_ms)
    }
}

const COLUMNS: &str = "id, structure_id, aidant_user_id, usager_user_id, domains, identity_check, identity_detail, consent_at, starts_at, ends_at, revoked_at, revoked_by, verification_code, consent_method";

fn mandat(r: &sqlx::any::AnyRow) -> anyhow::Result<Mandat> {
    let codes: Vec<String> =
        serde_json::from_str(&r.try_get::<String, _>("domains")?).unwrap_or_default();
    Ok(Mandat {
        id: r.try_get("id")?,
        structure_id: r.try_get("structure_id")?,
        aidant_user_id: r.try_get("aidant_user_id")?,
        usager_user_id: r.try_get("usager_user_id")?,
        domains: codes.iter().filter_map(|c| Domain::from_code(c)).collect(),
        identity_check: r.try_get("identity_check")?,
        identity_detail: r.try_get("identity_detail")?,
        consent_at: r.try_get("consent_at")?,
        starts_at: r.try_get("starts_at")?,
        ends_at: r.try_get("ends_at")?,
        revoked_at: r.try_get("revoked_at")?,
        revoked_by: r.try_get("revoked_by")?,
        verification_code: r.try_get("verification_code")?,
        consent_method: r.try_get("consent_method")?,
    })
}

#[derive(Debug, Clone)]
pub struct NewMandat {
    pub structure_id: i64,
    pub aidant_user_id: i64,
    pub usager_user_id: i64,
    pub domains: Vec<Domain>,
    pub identity_check: String,
    pub identity_detail: String,
    pub starts_at: i64,
    pub ends_at: i64,
}

/// Records a mandat (consent given now) without asking the usager: the demo's data only. People
/// ask (`request`) and the usager consents (`consent_with_code`, `consent_with_franceconnect`).
pub async fn create<N>(db: &Db, n: &NewMandat, notice: N) -> anyhow::Result<Mandat>
where
    N: FnOnce(&Mandat) -> Trace + Send + 'static,
{
    let n = n.clone();
    db.write(move |conn| {
        Box::pin(async move {
            let m = create_in(conn, &n, None, None).await?;
            let mut trace = notice(&m);
            name_in(&mut trace, m.id);
            trace.write(conn).await?;
            Ok(m)
        })
    })
    .await
}

fn name_in(trace: &mut Trace, id: i64) {
    for e in trace.events_mut() {
        e.object_type = Some("mandat".into());
        e.object_id = Some(id.to_string());
    }
}

async fn create_in(
    conn: &mut sqlx::AnyConnection,
    n: &NewMandat,
    consent: Option<Consent>,
    revocation_token: Option<&str>,
) -> anyhow::Result<Mandat> {
    let code = crate::secret::readable_code(10);
    let now = crate::now_ms();
    let id: i64 = sqlx::query(
        "INSERT INTO mandats (structure_id, aidant_user_id, usager_user_id, domains, identity_check, identity_detail, consent_at, starts_at, ends_at, verification_code, created_at, consent_method, revocation_token_hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $7, $11, $12) RETURNING id",
    )
    .bind(n.structure_id)
    .bind(n.aidant_user_id)
    .bind(n.usager_user_id)
    .bind(serde_json::to_string(&n.domains.iter().map(|d| d.code()).collect::<Vec<_>>())?)
    .bind(&n.identity_check)
    .bind(&n.identity_detail)
    .bind(now)
    .bind(n.starts_at)
    .bind(n.ends_at)
    .bind(&code)
    .bind(consent.map(|c| c.code()))
    .bind(revocation_token.map(crate::secret::hash_token))
    .fetch_one(&mut *conn)
    .await?
    .try_get(0)?;
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM mandats WHERE id = $1"))
        .bind(id)
        .fetch_one(&mut *conn)
        .await?;
    mandat(&row)
}

/// A mandat the aidant asks for, waiting for the usager's consent.
#[derive(Debug, Clone)]
pub struct Request {
    pub id: i64,
    pub structure_id: i64,
    pub aidant_user_id: i64,
    pub usager_user_id: i64,
    pub domains: Vec<Domain>,
    pub length: Length,
    pub identity_check: String,
    pub identity_detail: String,
    pub attempts: i64,
    pub created_at: i64,
    pub mandat_id: Option<i64>,
}

const REQUEST_COLUMNS: &str = "id, structure_id, aidant_user_id, usager_user_id, domains, length, identity_check, identity_detail, attempts, created_at, mandat_id";

fn request_from(r: &sqlx::any::AnyRow) -> anyhow::Result<Request> {
    let codes: Vec<String> =
        serde_json::from_str(&r.try_get::<String, _>("domains")?).unwrap_or_default();
    let length: String = r.try_get("length")?;
    Ok(Request {
        id: r.try_get("id")?,
        structure_id: r.try_get("structure_id")?,
        aidant_user_id: r.try_get("aidant_user_id")?,
        usager_user_id: r.try_get("usager_user_id")?,
        domains: codes.iter().filter_map(|c| Domain::from_code(c)).collect(),
        length: Length::from_code(&length).ok_or_else(|| anyhow::anyhow!("durée {length}"))?,
        identity_check: r.try_get("identity_check")?,
        identity_detail: r.try_get("identity_detail")?,
        attempts: r.try_get("attempts")?,
        created_at: r.try_get("created_at")?,
        mandat_id: r.try_get("mandat_id")?,
    })
}

/// What the aidant asks.
#[derive(Debug, Clone)]
pub struct NewRequest {
    pub structure_id: i64,
    pub aidant_user_id: i64,
    pub usager_user_id: i64,
    pub domains: Vec<Domain>,
    pub length: Length,
    pub identity_check: String,
    pub identity_detail: String,
}

/// Records a request for a mandat, with the code the usager will read out (its hash kept) if
/// they consent by code, and the trace (its journal entry; the mail carrying the code). Returns
/// its id.
pub async fn request(
    db: &Db,
    n: &NewRequest,
    code: Option<&str>,
    trace: Trace,
) -> anyhow::Result<i64> {
    let (n, code_hash) = (n.clone(), code.map(crate::secret::hash_token));
    db.write(move |conn| {
        Box::pin(async move {
            let now = crate::now_ms();
            let id: i64 = sqlx::query(
                "INSERT INTO mandat_requests (structure_id, aidant_user_id, usager_user_id, domains, length, identity_check, identity_detail, code_hash, expires_at, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
            )
            .bind(n.structure_id)
            .bind(n.aidant_user_id)
            .bind(n.usager_user_id)
            .bind(serde_json::to_string(&n.domains.iter().map(|d| d.code()).collect::<Vec<_>>())?)
            .bind(n.length.code())
            .bind(&n.identity_check)
            .bind(&n.identity_detail)
            .bind(code_hash)
            .bind(now + guichet_domain::mandat::REQUEST_LIFETIME_MS)
            .bind(now)
            .fetch_one(&mut *conn)
            .await?
            .try_get(0)?;
            let mut trace = trace;
            for e in trace.events_mut() {
                e.object_type = Some("demande_mandat".into());
                e.object_id = Some(id.to_string());
            }
            trace.write(conn).await?;
            Ok(id)
        })
    })
    .await
}

/// An aidant's own request.
pub async fn request_of(db: &Db, id: i64, aidant: i64) -> anyhow::Result<Option<Request>> {
    sqlx::query(&format!(
        "SELECT {REQUEST_COLUMNS} FROM mandat_requests WHERE id = $1 AND aidant_user_id = $2"
    ))
    .bind(id)
    .bind(aidant)
    .fetch_optional(db.pool())
    .await?
    .as_ref()
    .map(request_from)
    .transpose()
}

/// The mandat of a request the usager consented to: its dates from now, its revocation link.
fn granted(r: &Request) -> NewMandat {
    let start = crate::paris_now();
    NewMandat {
        structure_id: r.structure_id,
        aidant_user_id: r.aidant_user_id,
        usager_user_id: r.usager_user_id,
        domains: r.domains.clone(),
        identity_check: r.identity_check.clone(),
        identity_detail: r.identity_detail.clone(),
        starts_at: start.unix_timestamp() * 1000,
        ends_at: r.length.end(start).unix_timestamp() * 1000,
    }
}

/// Reads the request inside the transaction, locked for this consent: one consent per request.
async fn pending_in(
    conn: &mut sqlx::AnyConnection,
    id: i64,
    aidant: i64,
) -> anyhow::Result<Option<(Request, Option<String>)>> {
    // An UPDATE first: the row is locked until the commit on both databases.
    let row = sqlx::query(&format!(
        "UPDATE mandat_requests SET attempts = attempts WHERE id = $1 AND aidant_user_id = $2 AND mandat_id IS NULL
         RETURNING {REQUEST_COLUMNS}, code_hash"
    ))
    .bind(id)
    .bind(aidant)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| Ok((request_from(&r)?, r.try_get("code_hash")?)))
        .transpose()
}

/// Grants the mandat of a request the usager consented to, in the consent's transaction.
async fn grant_in<N>(
    conn: &mut sqlx::AnyConnection,
    r: &Request,
    consent: Consent,
    revocation_token: &str,
    notice: N,
) -> anyhow::Result<Mandat>
where
    N: FnOnce(&Mandat) -> Trace,
{
    let m = create_in(conn, &granted(r), Some(consent), Some(revocation_token)).await?;
    sqlx::query("UPDATE mandat_requests SET mandat_id = $1 WHERE id = $2")
        .bind(m.id)
        .bind(r.id)
        .execute(&mut *conn)
        .await?;
    let mut trace = notice(&m);
    name_in(&mut trace, m.id);
    trace.write(conn).await?;
    Ok(m)
}

/// The usager read out the code they received: the mandat is granted, with the trace `notice`
/// makes of it (its journal entry, the usager's mail with the link to revoke it from
/// `revocation_token`). A wrong code is counted (five at most); nothing else is written.
pub async fn consent_with_code<N>(
    db: &Db,
    id: i64,
    aidant: i64,
    code: &str,
    revocation_token: &str,
    notice: N,
) -> anyhow::Result<Result<Mandat, Refused>>
where
    N: FnOnce(&Mandat) -> Trace + Send + 'static,
{
    let (typed, token) = (
        crate::secret::hash_token(code.trim()),
        revocation_token.to_string(),
    );
    db.write(move |conn| {
        Box::pin(async move {
            let now = crate::now_ms();
            let Some((r, Some(expected))) = pending_in(conn, id, aidant).await? else {
                return Ok(Err(Refused::Expired));
            };
            if let Err(refused) = guichet_domain::mandat::may_try(r.created_at, r.attempts, now) {
                return Ok(Err(refused));
            }
            // Hashes of the same length: comparing them tells nothing of the code.
            if typed != expected {
                sqlx::query("UPDATE mandat_requests SET attempts = attempts + 1 WHERE id = $1")
                    .bind(r.id)
                    .execute(&mut *conn)
                    .await?;
                return Ok(Err(guichet_domain::mandat::after_wrong_code(
                    r.attempts + 1,
                )));
            }
            Ok(Ok(grant_in(conn, &r, Consent::Code, &token, notice).await?))
        })
    })
    .await
}

/// The usager signed in with FranceConnect at the counter: the mandat is granted if that identity
/// is the one linked to their account, with the trace `notice` makes of it.
pub async fn consent_with_franceconnect<N>(
    db: &Db,
    id: i64,
    aidant: i64,
    subject: &str,
    revocation_token: &str,
    notice: N,
) -> anyhow::Result<Result<Mandat, Refused>>
where
    N: FnOnce(&Mandat) -> Trace + Send + 'static,
{
    let (subject, token) = (subject.to_string(), revocation_token.to_string());
    db.write(move |conn| {
        Box::pin(async move {
            let now = crate::now_ms();
            let Some((r, _)) = pending_in(conn, id, aidant).await? else {
                return Ok(Err(Refused::Expired));
            };
            if let Err(refused) = guichet_domain::mandat::may_try(r.created_at, 0, now) {
                return Ok(Err(refused));
            }
            let linked: Option<i64> = sqlx::query_scalar(
                "SELECT user_id FROM oidc_identities WHERE provider = 'franceconnect' AND subject = $1",
            )
            .bind(&subject)
            .fetch_optional(&mut *conn)
            .await?;
            if linked != Some(r.usager_user_id) {
                return Ok(Err(Refused::NotTheUsager));
            }
            Ok(Ok(grant_in(conn, &r, Consent::FranceConnect, &token, notice).await?))
        })
    })
    .await
}

/// The mandat a revocation link is for, if it is still in force.
pub async fn by_revocation_token(db: &Db, token: &str) -> anyhow::Result<Option<Mandat>> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM mandats WHERE revocation_token_hash = $1 AND revoked_at IS NULL"
    ))
    .bind(crate::secret::hash_token(token))
    .fetch_optional(db.pool())
    .await?
    .as_ref()
    .map(mandat)
    .transpose()
}

pub async fn by_id(db: &Db, id: i64) -> anyhow::Result<Option<Mandat>> {
    sqlx::query(&format!("SELECT {COLUMNS} FROM mandats WHERE id = $1"))
        .bind(id)
        .fetch_optional(db.pool())
        .await?
        .as_ref()
        .map(mandat)
        .transpose()
}

pub async fn by_code(db: &Db, code: &str) -> anyhow::Result<Option<Mandat>> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM mandats WHERE verification_code = $1"
    ))
    .bind(guichet_domain::text::normalize_code(code))
    .fetch_optional(db.pool())
    .await?
    .as_ref()
    .map(mandat)
    .transpose()
}

pub async fn of_usager(db: &Db, usager: i64) -> anyhow::Result<Vec<Mandat>> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM mandats WHERE usager_user_id = $1 ORDER BY id DESC"
    ))
    .bind(usager)
    .fetch_all(db.pool())
    .await?
    .iter()
    .map(mandat)
    .collect()
}

/// The mandats an aidant may see: their own and, for a responsable, their structures'.
pub async fn for_aidant(db: &Db, aidant: i64) -> anyhow::Result<Vec<Mandat>> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM mandats WHERE aidant_user_id = $1
            OR structure_id IN (SELECT structure_id FROM aidants WHERE user_id = $1 AND responsable = 1)
         ORDER BY id DESC LIMIT 500"
    ))
    .bind(aidant)
    .fetch_all(db.pool())
    .await?
    .iter()
    .map(mandat)
    .collect()
}

/// Revokes at once, with its trace: sessions acting under it stop acting. False if it was
/// already revoked.
pub async fn revoke(db: &Db, id: i64, by: &str, trace: Trace) -> anyhow::Result<bool> {
    let by = by.to_string();
    let done = crate::trace::commit_if(db, trace, move |conn| {
        Box::pin(async move {
            let n = sqlx::query(
                "UPDATE mandats SET revoked_at = $1, revoked_by = $2 WHERE id = $3 AND revoked_at IS NULL",
            )
            .bind(crate::now_ms())
            .bind(by)
            .bind(id)
            .execute(&mut *conn)
            .await?
            .rows_affected();
            if n != 1 {
                return Ok(None);
            }
            sqlx::query("UPDATE sessions SET acting_mandat_id = NULL WHERE acting_mandat_id = $1")
                .bind(id)
                .execute(&mut *conn)
                .await?;
            Ok(Some(()))
        })
    })
    .await?;
    Ok(done.is_some())
}

/// Mandats ending within the warning period whose usager was not warned yet: (mandat, e-mail).
pub async fn expiring(db: &Db, now: i64, until: i64) -> anyhow::Result<Vec<(Mandat, String)>> {
    let cols = COLUMNS
        .split(", ")
        .map(|c| format!("m.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    sqlx::query(&format!(
        "SELECT {cols}, u.email AS email FROM mandats m JOIN users u ON u.id = m.usager_user_id
         WHERE m.revoked_at IS NULL AND m.ends_at > $1 AND m.ends_at <= $2 AND m.expiry_warned_at IS NULL AND u.email IS NOT NULL"
    ))
    .bind(now)
    .bind(until)
    .fetch_all(db.pool())
    .await?
    .iter()
    .map(|r| Ok((mandat(r)?, r.try_get("email")?)))
    .collect()
}

/// The usager warned that a mandat ends soon: marked once, with the trace carrying the mail.
pub async fn warn(db: &Db, id: i64, trace: Trace) -> anyhow::Result<bool> {
    let done = crate::trace::commit_if(db, trace, move |conn| {
        Box::pin(async move {
            let n = sqlx::query("UPDATE mandats SET expiry_warned_at = $1 WHERE id = $2 AND expiry_warned_at IS NULL")
                .bind(crate::now_ms())
                .bind(id)
                .execute(&mut *conn)
                .await?
                .rows_affected();
            Ok((n == 1).then_some(()))
        })
    })
    .await?;
    Ok(done.is_some())
}

/// Starts or stops acting under a mandat in a session, with its trace.
pub async fn set_acting(
    db: &Db,
    session_hash: &str,
    mandat: Option<i64>,
    trace: Trace,
) -> anyhow::Result<()> {
    let session_hash = session_hash.to_string();
    crate::trace::commit(db, trace, move |conn| {
        Box::pin(async move {
            sqlx::query("UPDATE sessions SET acting_mandat_id = $1 WHERE id_hash = $2")
                .bind(mandat)
                .bind(session_hash)
                .execute(&mut *conn)
                .await?;
            Ok(())
        })
    })
    .await
}
