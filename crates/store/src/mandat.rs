//! Help structures, their aidants and the mandats usagers give them.

use crate::db::Db;
use crate::trace::Trace;
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
}

impl Mandat {
    pub fn status(&self, now_ms: i64) -> Status {
        Status::of(self.ends_at, self.revoked_at, now_ms)
    }
}

const COLUMNS: &str = "id, structure_id, aidant_user_id, usager_user_id, domains, identity_check, identity_detail, consent_at, starts_at, ends_at, revoked_at, revoked_by, verification_code";

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

/// Records a mandat (consent given now) with a verification code and the trace `notice` makes of
/// it (its journal entry, the usager's mail); returns it.
pub async fn create<N>(db: &Db, n: &NewMandat, notice: N) -> anyhow::Result<Mandat>
where
    N: FnOnce(&Mandat) -> Trace + Send + 'static,
{
    let code = crate::secret::readable_code(10);
    let now = crate::now_ms();
    let n = n.clone();
    db.write(move |conn| {
            Box::pin(async move {
                let id: i64 = sqlx::query(
                    "INSERT INTO mandats (structure_id, aidant_user_id, usager_user_id, domains, identity_check, identity_detail, consent_at, starts_at, ends_at, verification_code, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $7) RETURNING id",
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
                .fetch_one(&mut *conn)
                .await?
                .try_get(0)?;
                let m = sqlx::query(&format!("SELECT {COLUMNS} FROM mandats WHERE id = $1"))
                    .bind(id)
                    .fetch_one(&mut *conn)
                    .await?;
                let m = mandat(&m)?;
                let mut trace = notice(&m);
                for e in trace.events_mut() {
                    e.object_type = Some("mandat".into());
                    e.object_id = Some(id.to_string());
                }
                trace.write(conn).await?;
                Ok(m)
            })
        })
        .await
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
