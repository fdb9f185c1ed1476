//! Dossiers filed at the counter for people without an account: who filed them, the tracking
//! code, the claim into an account.

use crate::db::Db;
use crate::trace::Trace;
use guichet_domain::text::fold;
use sqlx::Row;

/// A dossier opened at the counter by `by` for a person without an account: the draft, marked
/// as filed at the counter with the person's last name and contact, and its trace (whose journal
/// entries name it), in one commit. Returns it with its tracking code.
pub async fn open(
    db: &Db,
    draft: crate::dossier::Draft,
    by: i64,
    last_name: &str,
    contact: &str,
    trace: Trace,
) -> anyhow::Result<(crate::dossier::Dossier, String)> {
    let code = crate::secret::readable_code(10);
    let (folded, contact) = (fold(last_name), contact.to_string());
    db.write(move |conn| {
        Box::pin(async move {
            let mut x = crate::dossier::start_draft_in(conn, &draft).await?;
            // Filed at a counter: by an aidant (help structure) or by the collectivité's agent.
            if draft.aidant_id.is_none() {
                x.canal = guichet_domain::pilotage::Canal::Guichet;
            }
            sqlx::query(
                "UPDATE dossiers SET channel = 'guichet', counter_by = $1, tracking_code = $2, applicant_last_name = $3, counter_contact = $4
                 WHERE tenant_id = $5 AND id = $6 AND usager_id IS NULL",
            )
            .bind(by)
            .bind(&code)
            .bind(folded)
            .bind(contact)
            .bind(x.tenant_id)
            .bind(x.id)
            .execute(&mut *conn)
            .await?;
            let mut trace = trace;
            for e in trace.events_mut() {
                e.object_type = Some("dossier".into());
                e.object_id = Some(x.number.clone());
            }
            trace.write(conn).await?;
            Ok((x, code))
        })
    })
    .await
}

/// A dossier opened online by a person without an account, who gave their name and e-mail
/// address: the draft, its tracking code, the hash of the token of the link that opens it, and
/// the mail that carries that link (made by `mail` from the dossier and the tracking code), in one
/// commit (its journal entry, which `mail` makes, carries the network it came from). Refused when
/// this address, or this network, already started too many dossiers this hour.
pub async fn open_online<M>(
    db: &Db,
    draft: crate::dossier::Draft,
    last_name: &str,
    email: &str,
    token_hash: &str,
    ip: Option<&str>,
    mail: M,
) -> anyhow::Result<Result<(crate::dossier::Dossier, String), TooMany>>
where
    M: FnOnce(&crate::dossier::Dossier, &str) -> Trace + Send + 'static,
{
    let code = crate::secret::readable_code(10);
    let (folded, email, token_hash) = (fold(last_name), email.to_string(), token_hash.to_string());
    let ip = ip.map(str::to_string);
    let since = crate::now_ms() - 3_600_000;
    db.write(move |conn| {
        Box::pin(async move {
            let recent: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM dossiers WHERE channel = 'sans_compte' AND counter_contact = $1 AND created_at > $2",
            )
            .bind(&email)
            .bind(since)
            .fetch_one(&mut *conn)
            .await?;
            if recent >= GUEST_STARTS_PER_HOUR {
                return Ok(Err(TooMany::Address));
            }
            if let Some(ip) = &ip {
                let from_network: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM audit_events WHERE action = 'dossier.sans_compte' AND ip = $1 AND at > $2",
                )
                .bind(ip)
                .bind(since)
                .fetch_one(&mut *conn)
                .await?;
                if from_network >= GUEST_STARTS_PER_NETWORK_HOUR {
                    return Ok(Err(TooMany::Network));
                }
            }
            let x = crate::dossier::start_draft_in(conn, &draft).await?;
            sqlx::query(
                "UPDATE dossiers SET channel = 'sans_compte', tracking_code = $1, applicant_last_name = $2, counter_contact = $3, guest_token_hash = $4
                 WHERE tenant_id = $5 AND id = $6 AND usager_id IS NULL",
            )
            .bind(&code)
            .bind(folded)
            .bind(&email)
            .bind(token_hash)
            .bind(x.tenant_id)
            .bind(x.id)
            .execute(&mut *conn)
            .await?;
            let mut trace = mail(&x, &code);
            for e in trace.events_mut() {
                e.object_type = Some("dossier".into());
                e.object_id = Some(x.number.clone());
            }
            trace.write(conn).await?;
            Ok(Ok((x, code)))
        })
    })
    .await
}

/// Why a dossier without an account was not started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TooMany {
    /// This address started `GUEST_STARTS_PER_HOUR` this hour.
    Address,
    /// This network started `GUEST_STARTS_PER_NETWORK_HOUR` this hour.
    Network,
}

/// Dossiers one address may start without an account in an hour (each sends a mail to it).
pub const GUEST_STARTS_PER_HOUR: i64 = 5;
/// Dossiers one network may start without an account in an hour (a school's or a library's
/// network is shared: generous, but bounded).
pub const GUEST_STARTS_PER_NETWORK_HOUR: i64 = 30;

/// The dossier a guest link opens, by the hash of its token.
pub async fn by_guest_token(db: &Db, token_hash: &str) -> anyhow::Result<Option<(i64, i64)>> {
    let row = sqlx::query(
        "SELECT tenant_id, id FROM dossiers WHERE guest_token_hash = $1 AND usager_id IS NULL",
    )
    .bind(token_hash)
    .fetch_optional(db.pool())
    .await?;
    row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).transpose()
}

/// How a dossier without an account came: at the counter, or online.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Guichet,
    SansCompte,
}

/// What the counter knows of a dossier.
#[derive(Debug, Clone)]
pub struct Counter {
    pub channel: Channel,
    pub counter_by: Option<i64>,
    pub tracking_code: Option<String>,
    pub contact: String,
}

pub async fn of(db: &Db, dossier_id: i64) -> anyhow::Result<Option<Counter>> {
    let row = sqlx::query(
        "SELECT channel, counter_by, tracking_code, counter_contact FROM dossiers WHERE id = $1",
    )
    .bind(dossier_id)
    .fetch_optional(db.pool())
    .await?;
    let Some(r) = row else { return Ok(None) };
    let channel = match r.try_get::<String, _>(0)?.as_str() {
        "guichet" => Channel::Guichet,
        "sans_compte" => Channel::SansCompte,
        _ => return Ok(None),
    };
    Ok(Some(Counter {
        channel,
        counter_by: r.try_get(1)?,
        tracking_code: r.try_get(2)?,
        contact: r.try_get::<Option<String>, _>(3)?.unwrap_or_default(),
    }))
}

/// The dossier (collectivité, id) of a tracking code, if the last name matches (accents and case
/// ignored).
pub async fn find(db: &Db, code: &str, last_name: &str) -> anyhow::Result<Option<(i64, i64)>> {
    let row = sqlx::query(
        "SELECT tenant_id, id, applicant_last_name FROM dossiers WHERE tracking_code = $1",
    )
    .bind(guichet_domain::text::normalize_code(code))
    .fetch_optional(db.pool())
    .await?;
    let Some(r) = row else { return Ok(None) };
    let stored: Option<String> = r.try_get(2)?;
    let typed = fold(last_name);
    Ok(
        (!typed.is_empty() && stored.as_deref() == Some(typed.as_str()))
            .then(|| (r.try_get(0), r.try_get(1)))
            .map(|(a, b)| Ok::<_, sqlx::Error>((a?, b?)))
            .transpose()?,
    )
}

/// Gives a counter dossier to the account of the person, with its trace; false if someone
/// already has it.
pub async fn claim(db: &Db, dossier_id: i64, user_id: i64, trace: Trace) -> anyhow::Result<bool> {
    let done = crate::trace::commit_if(db, trace, move |conn| {
        Box::pin(async move {
            let n = sqlx::query("UPDATE dossiers SET usager_id = $1, guest_token_hash = NULL WHERE id = $2 AND usager_id IS NULL AND channel IN ('guichet', 'sans_compte')")
                .bind(user_id)
                .bind(dossier_id)
                .execute(&mut *conn)
                .await?
                .rows_affected();
            Ok((n == 1).then_some(()))
        })
    })
    .await?;
    Ok(done.is_some())
}

/// The dossiers an agent or aidant filed at the counter and nobody has claimed yet, newest
/// first: (id, number, applicant, state code, tracking code).
pub async fn by_filer(
    db: &Db,
    user_id: i64,
) -> anyhow::Result<Vec<(i64, String, String, String, String)>> {
    sqlx::query(
        "SELECT id, number, applicant_name, state, tracking_code FROM dossiers
         WHERE counter_by = $1 AND usager_id IS NULL AND channel = 'guichet' ORDER BY id DESC LIMIT 100",
    )
    .bind(user_id)
    .fetch_all(db.pool())
    .await?
    .iter()
    .map(|r| {
        Ok((
            r.try_get(0)?,
            r.try_get(1)?,
            r.try_get::<Option<String>, _>(2)?.unwrap_or_default(),
            r.try_get(3)?,
            r.try_get::<Option<String>, _>(4)?.unwrap_or_default(),
        ))
    })
    .collect()
}
