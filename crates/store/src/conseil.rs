//! The council online: assemblies, members (élus), sessions (séances), their agenda, the
//! convocations and their reading, presence, proxies, votes and délibérations. Every change
//! commits with its trace; the rules are checked in `guichet_domain::conseil` before.

use crate::db::Db;
use crate::trace::{commit, commit_if, commit_one, Trace};
use anyhow::Context;
use guichet_domain::conseil::{
    numero, Choix, Decompte, EtatSeance, Fonction, Issue, Organe, Procuration,
};
use sqlx::any::AnyRow;
use sqlx::Row;

#[derive(Debug, Clone)]
pub struct Assemblee {
    pub id: i64,
    pub tenant_id: i64,
    pub organe: Organe,
    pub name: String,
    pub siret: String,
    pub stream_url: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Elu {
    pub id: i64,
    pub assemblee_id: i64,
    pub name: String,
    pub email: String,
    pub fonction: Fonction,
}

#[derive(Debug, Clone)]
pub struct Seance {
    pub id: i64,
    pub tenant_id: i64,
    pub assemblee_id: i64,
    pub starts_at: i64,
    pub place: String,
    pub state: EtatSeance,
    pub urgence: Option<String>,
    pub after_seance_id: Option<i64>,
    pub convened_at: Option<i64>,
    pub presents: Option<i64>,
    /// The member named secretary at the opening (L2121-15).
    pub secretaire_id: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct Point {
    pub id: i64,
    pub seance_id: i64,
    pub rank: i64,
    pub title: String,
    pub matiere: String,
    pub rapport: String,
    pub note: String,
    pub secret: bool,
    pub added_late: bool,
}

#[derive(Debug, Clone)]
pub struct Convocation {
    pub elu_id: i64,
    pub sent_at: i64,
    pub read_at: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct Deliberation {
    pub id: i64,
    pub tenant_id: i64,
    pub seance_id: i64,
    pub point_id: i64,
    pub numero: String,
    pub objet: String,
    pub matiere: String,
    pub texte: String,
    pub issue: Issue,
    pub effectif: i64,
    pub presents: i64,
    pub representes: i64,
    pub decompte: Decompte,
    pub decided_at: i64,
    pub signed_by: Option<String>,
    pub published_at: Option<i64>,
    pub file_id: Option<String>,
    pub sha256: Option<String>,
}

fn assemblee(r: &AnyRow) -> anyhow::Result<Assemblee> {
    let organe: String = r.try_get("organe")?;
    Ok(Assemblee {
        id: r.try_get("id")?,
        tenant_id: r.try_get("tenant_id")?,
        organe: Organe::from_code(&organe).context("organe")?,
        name: r.try_get("name")?,
        siret: r.try_get("siret")?,
        stream_url: r.try_get("stream_url")?,
    })
}

fn elu(r: &AnyRow) -> anyhow::Result<Elu> {
    let fonction: String = r.try_get("fonction")?;
    Ok(Elu {
        id: r.try_get("id")?,
        assemblee_id: r.try_get("assemblee_id")?,
        name: r.try_get("name")?,
        email: r.try_get("email")?,
        fonction: Fonction::from_code(&fonction).context("fonction")?,
    })
}

const SEANCE: &str = "id, tenant_id, assemblee_id, starts_at, place, state, urgence, after_seance_id, convened_at, presents, secretaire_id";

fn seance(r: &AnyRow) -> anyhow::Result<Seance> {
    let state: String = r.try_get("state")?;
    Ok(Seance {
        id: r.try_get("id")?,
        tenant_id: r.try_get("tenant_id")?,
        assemblee_id: r.try_get("assemblee_id")?,
        starts_at: r.try_get("starts_at")?,
        place: r.try_get("place")?,
        state: EtatSeance::from_code(&state).context("state")?,
        urgence: r.try_get("urgence")?,
        after_seance_id: r.try_get("after_seance_id")?,
        convened_at: r.try_get("convened_at")?,
        presents: r.try_get("presents")?,
        secretaire_id: r.try_get("secretaire_id")?,
    })
}

fn point(r: &AnyRow) -> anyhow::Result<Point> {
    Ok(Point {
        id: r.try_get("id")?,
        seance_id: r.try_get("seance_id")?,
        rank: r.try_get("rank")?,
        title: r.try_get("title")?,
        matiere: r.try_get("matiere")?,
        rapport: r.try_get("rapport")?,
        note: r.try_get("note")?,
        secret: r.try_get::<i64, _>("secret")? != 0,
        added_late: r.try_get::<i64, _>("added_late")? != 0,
    })
}

const DELIBERATION: &str = "id, tenant_id, seance_id, point_id, numero, objet, matiere, texte, issue, effectif, presents, representes, pour, contre, abstention, nppv, decided_at, signed_by, published_at, file_id, sha256";

fn deliberation(r: &AnyRow) -> anyhow::Result<Deliberation> {
    let issue: String = r.try_get("issue")?;
    Ok(Deliberation {
        id: r.try_get("id")?,
        tenant_id: r.try_get("tenant_id")?,
        seance_id: r.try_get("seance_id")?,
        point_id: r.try_get("point_id")?,
        numero: r.try_get("numero")?,
        objet: r.try_get("objet")?,
        matiere: r.try_get("matiere")?,
        texte: r.try_get("texte")?,
        issue: Issue::from_code(&issue).context("issue")?,
        effectif: r.try_get("effectif")?,
        presents: r.try_get("presents")?,
        representes: r.try_get("representes")?,
        decompte: Decompte {
            pour: r.try_get("pour")?,
            contre: r.try_get("contre")?,
            abstention: r.try_get("abstention")?,
            nppv: r.try_get("nppv")?,
        },
        decided_at: r.try_get("decided_at")?,
        signed_by: r.try_get("signed_by")?,
        published_at: r.try_get("published_at")?,
        file_id: r.try_get("file_id")?,
        sha256: r.try_get("sha256")?,
    })
}

/// A collectivité's assemblies.
pub async fn assemblees(db: &Db, tenant_id: i64) -> anyhow::Result<Vec<Assemblee>> {
    sqlx::query("SELECT id, tenant_id, organe, name, siret, stream_url FROM assemblees WHERE tenant_id = $1 ORDER BY id")
        .bind(tenant_id)
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(assemblee)
        .collect()
}

pub struct NewAssemblee {
    pub tenant_id: i64,
    pub organe: Organe,
    pub name: String,
    pub siret: String,
    pub stream_url: Option<String>,
}

pub async fn create_assemblee(
    db: &Db,
    a: NewAssemblee,
    now: i64,
    trace: Trace,
) -> anyhow::Result<i64> {
    commit(db, trace, move |conn| {
        Box::pin(async move {
            let id: i64 = sqlx::query_scalar("INSERT INTO assemblees (tenant_id, organe, name, siret, stream_url, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id")
                .bind(a.tenant_id)
                .bind(a.organe.code())
                .bind(a.name)
                .bind(a.siret)
                .bind(a.stream_url)
                .bind(now)
                .fetch_one(&mut *conn)
                .await?;
            Ok(id)
        })
    })
    .await
}

/// The members in office of an assembly, the chair first.
pub async fn elus(db: &Db, tenant_id: i64, assemblee_id: i64) -> anyhow::Result<Vec<Elu>> {
    let mut list: Vec<Elu> = sqlx::query("SELECT id, assemblee_id, name, email, fonction FROM elus WHERE tenant_id = $1 AND assemblee_id = $2 AND ended_at IS NULL ORDER BY id")
        .bind(tenant_id)
        .bind(assemblee_id)
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(elu)
        .collect::<anyhow::Result<_>>()?;
    list.sort_by_key(|e| Fonction::ALL.iter().position(|f| *f == e.fonction));
    Ok(list)
}

pub struct NewElu {
    pub name: String,
    pub email: String,
    pub fonction: Fonction,
}

pub async fn add_elu(
    db: &Db,
    tenant_id: i64,
    assemblee_id: i64,
    e: NewElu,
    now: i64,
    trace: Trace,
) -> anyhow::Result<i64> {
    let NewElu {
        name,
        email,
        fonction,
    } = e;
    commit(db, trace, move |conn| {
        Box::pin(async move {
            let id: i64 = sqlx::query_scalar("INSERT INTO elus (tenant_id, assemblee_id, name, email, fonction, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id")
                .bind(tenant_id)
                .bind(assemblee_id)
                .bind(name)
                .bind(email)
                .bind(fonction.code())
                .bind(now)
                .fetch_one(&mut *conn)
                .await?;
            Ok(id)
        })
    })
    .await
}

/// A collectivité's sessions, the latest first.
pub async fn seances(db: &Db, tenant_id: i64, limit: i64) -> anyhow::Result<Vec<Seance>> {
    sqlx::query(&format!(
        "SELECT {SEANCE} FROM seances WHERE tenant_id = $1 ORDER BY starts_at DESC, id DESC LIMIT $2"
    ))
    .bind(tenant_id)
    .bind(limit)
    .fetch_all(db.pool())
    .await?
    .iter()
    .map(seance)
    .collect()
}

pub async fn seance_by_id(db: &Db, tenant_id: i64, id: i64) -> anyhow::Result<Option<Seance>> {
    sqlx::query(&format!(
        "SELECT {SEANCE} FROM seances WHERE tenant_id = $1 AND id = $2"
    ))
    .bind(tenant_id)
    .bind(id)
    .fetch_optional(db.pool())
    .await?
    .as_ref()
    .map(seance)
    .transpose()
}

/// A new session; on second convocation, the failed session's agenda comes along.
pub struct NewSeance {
    pub starts_at: i64,
    pub place: String,
    /// The session whose quorum failed, when this one is its second convocation.
    pub after_seance_id: Option<i64>,
}

pub async fn create_seance(
    db: &Db,
    tenant_id: i64,
    assemblee_id: i64,
    new: NewSeance,
    now: i64,
    trace: Trace,
) -> anyhow::Result<i64> {
    let NewSeance {
        starts_at,
        place,
        after_seance_id,
    } = new;
    commit(db, trace, move |conn| {
        Box::pin(async move {
            let id: i64 = sqlx::query_scalar("INSERT INTO seances (tenant_id, assemblee_id, starts_at, place, state, after_seance_id, created_at) VALUES ($1, $2, $3, $4, 'preparation', $5, $6) RETURNING id")
                .bind(tenant_id)
                .bind(assemblee_id)
                .bind(starts_at)
                .bind(place)
                .bind(after_seance_id)
                .bind(now)
                .fetch_one(&mut *conn)
                .await?;
            if let Some(before) = after_seance_id {
                sqlx::query("INSERT INTO points (tenant_id, seance_id, rank, title, matiere, rapport, note, secret, added_late, created_at) SELECT tenant_id, $1, rank, title, matiere, rapport, note, secret, 0, $2 FROM points WHERE tenant_id = $3 AND seance_id = $4")
                    .bind(id)
                    .bind(now)
                    .bind(tenant_id)
                    .bind(before)
                    .execute(&mut *conn)
                    .await?;
                // The annexes go with their items (the same files), matched by rank.
                sqlx::query("INSERT INTO annexes (tenant_id, point_id, name, size, file_id, created_at) SELECT a.tenant_id, np.id, a.name, a.size, a.file_id, $1 FROM annexes a JOIN points op ON op.tenant_id = a.tenant_id AND op.id = a.point_id JOIN points np ON np.tenant_id = op.tenant_id AND np.seance_id = $2 AND np.rank = op.rank WHERE a.tenant_id = $3 AND op.seance_id = $4 ORDER BY a.id")
                    .bind(now)
                    .bind(id)
                    .bind(tenant_id)
                    .bind(before)
                    .execute(&mut *conn)
                    .await?;
            }
            Ok(id)
        })
    })
    .await
}

/// The agenda of a session, in order.
pub async fn points(db: &Db, tenant_id: i64, seance_id: i64) -> anyhow::Result<Vec<Point>> {
    sqlx::query("SELECT id, seance_id, rank, title, matiere, rapport, note, secret, added_late FROM points WHERE tenant_id = $1 AND seance_id = $2 ORDER BY rank, id")
        .bind(tenant_id)
        .bind(seance_id)
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(point)
        .collect()
}

pub struct NewPoint {
    pub title: String,
    pub matiere: String,
    pub rapport: String,
    pub note: String,
    pub secret: bool,
}

/// Adds an item at the end of the agenda; after the convocation, marked as an amendment.
pub async fn add_point(
    db: &Db,
    tenant_id: i64,
    seance_id: i64,
    p: NewPoint,
    late: bool,
    now: i64,
    trace: Trace,
) -> anyhow::Result<i64> {
    commit(db, trace, move |conn| {
        Box::pin(async move {
            let rank: i64 = sqlx::query_scalar(
                "SELECT CAST(COALESCE(MAX(rank), 0) + 1 AS BIGINT) FROM points WHERE tenant_id = $1 AND seance_id = $2",
            )
            .bind(tenant_id)
            .bind(seance_id)
            .fetch_one(&mut *conn)
            .await?;
            let id: i64 = sqlx::query_scalar("INSERT INTO points (tenant_id, seance_id, rank, title, matiere, rapport, note, secret, added_late, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id")
                .bind(tenant_id)
                .bind(seance_id)
                .bind(rank)
                .bind(p.title)
                .bind(p.matiere)
                .bind(p.rapport)
                .bind(p.note)
                .bind(i64::from(p.secret))
                .bind(i64::from(late))
                .bind(now)
                .fetch_one(&mut *conn)
                .await?;
            Ok(id)
        })
    })
    .await
}

/// Withdraws an item of an agenda still in preparation. `false` when the session was convened
/// meanwhile (the agenda then only changes by amendment).
pub async fn remove_point(
    db: &Db,
    tenant_id: i64,
    seance_id: i64,
    point_id: i64,
    trace: Trace,
) -> anyhow::Result<bool> {
    Ok(commit_if(db, trace, move |conn| {
        Box::pin(async move {
            let done = sqlx::query("DELETE FROM points WHERE tenant_id = $1 AND seance_id = $2 AND id = $3 AND EXISTS (SELECT 1 FROM seances WHERE tenant_id = $1 AND id = $2 AND state = 'preparation')")
                .bind(tenant_id)
                .bind(seance_id)
                .bind(point_id)
                .execute(&mut *conn)
                .await?
                .rows_affected();
            if done == 1 {
                // Its annexes go with it (their files stay: a second convocation may share them).
                sqlx::query("DELETE FROM annexes WHERE tenant_id = $1 AND point_id = $2")
                    .bind(tenant_id)
                    .bind(point_id)
                    .execute(&mut *conn)
                    .await?;
            }
            Ok((done == 1).then_some(()))
        })
    })
    .await?
    .is_some())
}

/// Moves a session from one state to another, or reports it was no longer in the first.
async fn advance(
    conn: &mut sqlx::AnyConnection,
    tenant_id: i64,
    seance_id: i64,
    from: EtatSeance,
    to: EtatSeance,
) -> anyhow::Result<bool> {
    let done = sqlx::query(
        "UPDATE seances SET state = $1 WHERE tenant_id = $2 AND id = $3 AND state = $4",
    )
    .bind(to.code())
    .bind(tenant_id)
    .bind(seance_id)
    .bind(from.code())
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(done == 1)
}

/// Sends the convocation: one per member (their link's hash), the mails in the trace. `None`
/// when the session was convened meanwhile.
pub async fn convene(
    db: &Db,
    tenant_id: i64,
    seance_id: i64,
    urgence: Option<String>,
    tokens: Vec<(i64, String)>,
    now: i64,
    trace: Trace,
) -> anyhow::Result<Option<()>> {
    commit_if(db, trace, move |conn| {
        Box::pin(async move {
            if !advance(conn, tenant_id, seance_id, EtatSeance::Preparation, EtatSeance::Convoquee).await? {
                return Ok(None);
            }
            sqlx::query("UPDATE seances SET convened_at = $1, urgence = $2 WHERE tenant_id = $3 AND id = $4")
                .bind(now)
                .bind(urgence)
                .bind(tenant_id)
                .bind(seance_id)
                .execute(&mut *conn)
                .await?;
            for (elu_id, hash) in tokens {
                sqlx::query("INSERT INTO convocations (tenant_id, seance_id, elu_id, token_hash, sent_at) VALUES ($1, $2, $3, $4, $5)")
                    .bind(tenant_id)
                    .bind(seance_id)
                    .bind(elu_id)
                    .bind(hash)
                    .bind(now)
                    .execute(&mut *conn)
                    .await?;
            }
            Ok(Some(()))
        })
    })
    .await
}

pub async fn convocations(
    db: &Db,
    tenant_id: i64,
    seance_id: i64,
) -> anyhow::Result<Vec<Convocation>> {
    sqlx::query(
        "SELECT elu_id, sent_at, read_at FROM convocations WHERE tenant_id = $1 AND seance_id = $2",
    )
    .bind(tenant_id)
    .bind(seance_id)
    .fetch_all(db.pool())
    .await?
    .iter()
    .map(|r| {
        Ok(Convocation {
            elu_id: r.try_get("elu_id")?,
            sent_at: r.try_get("sent_at")?,
            read_at: r.try_get("read_at")?,
        })
    })
    .collect()
}

/// The session and member a convocation link is for.
pub async fn convocation_by_token(
    db: &Db,
    token_hash: &str,
) -> anyhow::Result<Option<(Seance, Elu, Convocation)>> {
    let Some(r) = sqlx::query("SELECT tenant_id, seance_id, elu_id, sent_at, read_at FROM convocations WHERE token_hash = $1")
        .bind(token_hash)
        .fetch_optional(db.pool())
        .await?
    else {
        return Ok(None);
    };
    let (tenant_id, seance_id, elu_id): (i64, i64, i64) = (
        r.try_get("tenant_id")?,
        r.try_get("seance_id")?,
        r.try_get("elu_id")?,
    );
    let Some(s) = seance_by_id(db, tenant_id, seance_id).await? else {
        return Ok(None);
    };
    let e = sqlx::query(
        "SELECT id, assemblee_id, name, email, fonction FROM elus WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant_id)
    .bind(elu_id)
    .fetch_one(db.pool())
    .await?;
    Ok(Some((
        s,
        elu(&e)?,
        Convocation {
            elu_id,
            sent_at: r.try_get("sent_at")?,
            read_at: r.try_get("read_at")?,
        },
    )))
}

/// Records the first reading of a convocation (its proof of reading), with its trace.
pub async fn mark_read(
    db: &Db,
    token_hash: String,
    now: i64,
    trace: Trace,
) -> anyhow::Result<bool> {
    commit_one(db, trace, move |conn| {
        Box::pin(async move {
            Ok(sqlx::query(
                "UPDATE convocations SET read_at = $1 WHERE token_hash = $2 AND read_at IS NULL",
            )
            .bind(now)
            .bind(token_hash)
            .execute(&mut *conn)
            .await?
            .rows_affected())
        })
    })
    .await
}

/// Who is present, and the proxies of a session.
pub async fn attendance(
    db: &Db,
    tenant_id: i64,
    seance_id: i64,
) -> anyhow::Result<(Vec<i64>, Vec<Procuration>)> {
    let presents = sqlx::query_scalar("SELECT elu_id FROM presences WHERE tenant_id = $1 AND seance_id = $2 AND present = 1 ORDER BY elu_id")
        .bind(tenant_id)
        .bind(seance_id)
        .fetch_all(db.pool())
        .await?;
    let proxies = sqlx::query("SELECT mandant_id, mandataire_id FROM procurations WHERE tenant_id = $1 AND seance_id = $2 ORDER BY mandant_id")
        .bind(tenant_id)
        .bind(seance_id)
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(|r| {
            Ok(Procuration {
                mandant: r.try_get("mandant_id")?,
                mandataire: r.try_get("mandataire_id")?,
            })
        })
        .collect::<anyhow::Result<_>>()?;
    Ok((presents, proxies))
}

/// Opens the session with who is present and the proxies given: `Ouverte` with the quorum,
/// `Carence` without. `false` when it was no longer waiting to open.
#[allow(clippy::too_many_arguments)]
pub async fn open(
    db: &Db,
    tenant_id: i64,
    seance_id: i64,
    members: Vec<i64>,
    presents: Vec<i64>,
    proxies: Vec<Procuration>,
    secretaire: Option<i64>,
    to: EtatSeance,
    now: i64,
    trace: Trace,
) -> anyhow::Result<bool> {
    Ok(commit_if(db, trace, move |conn| {
        Box::pin(async move {
            if !advance(conn, tenant_id, seance_id, EtatSeance::Convoquee, to).await? {
                return Ok(None);
            }
            sqlx::query("UPDATE seances SET opened_at = $1, presents = $2, secretaire_id = $3 WHERE tenant_id = $4 AND id = $5")
                .bind(now)
                .bind(presents.len() as i64)
                .bind(secretaire)
                .bind(tenant_id)
                .bind(seance_id)
                .execute(&mut *conn)
                .await?;
            for m in members {
                sqlx::query("INSERT INTO presences (tenant_id, seance_id, elu_id, present, changed_at) VALUES ($1, $2, $3, $4, $5)")
                    .bind(tenant_id)
                    .bind(seance_id)
                    .bind(m)
                    .bind(i64::from(presents.contains(&m)))
                    .bind(now)
                    .execute(&mut *conn)
                    .await?;
            }
            for p in proxies {
                sqlx::query("INSERT INTO procurations (tenant_id, seance_id, mandant_id, mandataire_id) VALUES ($1, $2, $3, $4)")
                    .bind(tenant_id)
                    .bind(seance_id)
                    .bind(p.mandant)
                    .bind(p.mandataire)
                    .execute(&mut *conn)
                    .await?;
            }
            Ok(Some(()))
        })
    })
    .await?
    .is_some())
}

/// An arrival or a departure during the session.
pub async fn set_presence(
    db: &Db,
    tenant_id: i64,
    seance_id: i64,
    elu_id: i64,
    present: bool,
    now: i64,
    trace: Trace,
) -> anyhow::Result<()> {
    commit(db, trace, move |conn| {
        Box::pin(async move {
            sqlx::query("UPDATE presences SET present = $1, changed_at = $2 WHERE tenant_id = $3 AND seance_id = $4 AND elu_id = $5")
                .bind(i64::from(present))
                .bind(now)
                .bind(tenant_id)
                .bind(seance_id)
                .bind(elu_id)
                .execute(&mut *conn)
                .await?;
            Ok(())
        })
    })
    .await
}

/// What a vote decided, to record with its délibération.
pub struct Decision {
    pub seance_id: i64,
    pub point_id: i64,
    pub year: i16,
    pub objet: String,
    pub matiere: String,
    pub texte: String,
    pub issue: Issue,
    pub effectif: i64,
    pub presents: i64,
    pub representes: i64,
    pub decompte: Decompte,
    /// By name (none for a secret ballot): member, choice, cast by proxy.
    pub votes: Vec<(i64, Choix, bool)>,
}

/// Records a vote and the délibération it makes, numbered in the collectivité's year. `None`
/// when the item was already voted.
pub async fn decide(
    db: &Db,
    tenant_id: i64,
    d: Decision,
    now: i64,
    trace: Trace,
) -> anyhow::Result<Option<String>> {
    commit_if(db, trace, move |conn| {
        Box::pin(async move {
            let voted: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM deliberations WHERE tenant_id = $1 AND point_id = $2",
            )
            .bind(tenant_id)
            .bind(d.point_id)
            .fetch_one(&mut *conn)
            .await?;
            if voted > 0 {
                return Ok(None);
            }
            let rank: i64 = sqlx::query_scalar("SELECT CAST(COALESCE(MAX(rank), 0) + 1 AS BIGINT) FROM deliberations WHERE tenant_id = $1 AND year = $2")
                .bind(tenant_id)
                .bind(i64::from(d.year))
                .fetch_one(&mut *conn)
                .await?;
            let numero = numero(d.year, rank);
            sqlx::query("INSERT INTO deliberations (tenant_id, seance_id, point_id, numero, year, rank, objet, matiere, texte, issue, effectif, presents, representes, pour, contre, abstention, nppv, decided_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)")
                .bind(tenant_id)
                .bind(d.seance_id)
                .bind(d.point_id)
                .bind(&numero)
                .bind(i64::from(d.year))
                .bind(rank)
                .bind(d.objet)
                .bind(d.matiere)
                .bind(d.texte)
                .bind(d.issue.code())
                .bind(d.effectif)
                .bind(d.presents)
                .bind(d.representes)
                .bind(d.decompte.pour)
                .bind(d.decompte.contre)
                .bind(d.decompte.abstention)
                .bind(d.decompte.nppv)
                .bind(now)
                .execute(&mut *conn)
                .await?;
            for (elu_id, choix, by_proxy) in d.votes {
                sqlx::query("INSERT INTO votes (tenant_id, point_id, elu_id, choix, by_proxy) VALUES ($1, $2, $3, $4, $5)")
                    .bind(tenant_id)
                    .bind(d.point_id)
                    .bind(elu_id)
                    .bind(choix.code())
                    .bind(i64::from(by_proxy))
                    .execute(&mut *conn)
                    .await?;
            }
            Ok(Some(numero))
        })
    })
    .await
}

/// The votes by name on an item.
pub async fn votes(
    db: &Db,
    tenant_id: i64,
    point_id: i64,
) -> anyhow::Result<Vec<(i64, Choix, bool)>> {
    sqlx::query("SELECT elu_id, choix, by_proxy FROM votes WHERE tenant_id = $1 AND point_id = $2 ORDER BY elu_id")
        .bind(tenant_id)
        .bind(point_id)
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(|r| {
            let choix: String = r.try_get("choix")?;
            Ok((
                r.try_get("elu_id")?,
                Choix::from_code(&choix).context("choix")?,
                r.try_get::<i64, _>("by_proxy")? != 0,
            ))
        })
        .collect()
}

/// Closes the session.
pub async fn close(
    db: &Db,
    tenant_id: i64,
    seance_id: i64,
    now: i64,
    trace: Trace,
) -> anyhow::Result<bool> {
    Ok(commit_if(db, trace, move |conn| {
        Box::pin(async move {
            if !advance(
                conn,
                tenant_id,
                seance_id,
                EtatSeance::Ouverte,
                EtatSeance::Close,
            )
            .await?
            {
                return Ok(None);
            }
            sqlx::query("UPDATE seances SET closed_at = $1 WHERE tenant_id = $2 AND id = $3")
                .bind(now)
                .bind(tenant_id)
                .bind(seance_id)
                .execute(&mut *conn)
                .await?;
            Ok(Some(()))
        })
    })
    .await?
    .is_some())
}

/// A session's délibérations, in order.
pub async fn deliberations_of(
    db: &Db,
    tenant_id: i64,
    seance_id: i64,
) -> anyhow::Result<Vec<Deliberation>> {
    sqlx::query(&format!("SELECT {DELIBERATION} FROM deliberations WHERE tenant_id = $1 AND seance_id = $2 ORDER BY rank"))
        .bind(tenant_id)
        .bind(seance_id)
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(deliberation)
        .collect()
}

/// A collectivité's published délibérations, the latest first; `before`: the rank key of the
/// last one of the previous page (keyset pagination).
pub async fn published(
    db: &Db,
    tenant_id: i64,
    before: Option<(i64, i64)>,
    limit: i64,
) -> anyhow::Result<Vec<Deliberation>> {
    let (year, rank) = before.unwrap_or((i64::MAX, i64::MAX));
    sqlx::query(&format!("SELECT {DELIBERATION} FROM deliberations WHERE tenant_id = $1 AND published_at IS NOT NULL AND (year < $2 OR (year = $2 AND rank < $3)) ORDER BY year DESC, rank DESC LIMIT $4"))
        .bind(tenant_id)
        .bind(year)
        .bind(rank)
        .bind(limit)
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(deliberation)
        .collect()
}

pub async fn deliberation_by_id(
    db: &Db,
    tenant_id: i64,
    id: i64,
) -> anyhow::Result<Option<Deliberation>> {
    sqlx::query(&format!(
        "SELECT {DELIBERATION} FROM deliberations WHERE tenant_id = $1 AND id = $2"
    ))
    .bind(tenant_id)
    .bind(id)
    .fetch_optional(db.pool())
    .await?
    .as_ref()
    .map(deliberation)
    .transpose()
}

pub async fn deliberation_by_numero(
    db: &Db,
    tenant_id: i64,
    numero: &str,
) -> anyhow::Result<Option<Deliberation>> {
    sqlx::query(&format!(
        "SELECT {DELIBERATION} FROM deliberations WHERE tenant_id = $1 AND numero = $2"
    ))
    .bind(tenant_id)
    .bind(numero)
    .fetch_optional(db.pool())
    .await?
    .as_ref()
    .map(deliberation)
    .transpose()
}

/// Signs and publishes a délibération: its PDF/A is already in the file store under `file_id`.
/// `false` when it was published meanwhile (the caller then forgets the new file).
pub struct Signature {
    /// The chair, as the act names them.
    pub signed_by: String,
    pub file_id: String,
    pub sha256: String,
}

pub async fn publish(
    db: &Db,
    tenant_id: i64,
    id: i64,
    signature: Signature,
    now: i64,
    trace: Trace,
) -> anyhow::Result<bool> {
    sign_row(db, "UPDATE deliberations SET signed_by = $1, published_at = $2, file_id = $3, sha256 = $4 WHERE tenant_id = $5 AND id = $6 AND published_at IS NULL", tenant_id, id, signature, now, trace).await
}

/// Records a signature and its publication with `sql`, whose parameters are the signatory, the
/// time, the file, its digest, the collectivité and the row's key; one row or nothing.
async fn sign_row(
    db: &Db,
    sql: &'static str,
    tenant_id: i64,
    key: i64,
    signature: Signature,
    now: i64,
    trace: Trace,
) -> anyhow::Result<bool> {
    let Signature {
        signed_by,
        file_id,
        sha256,
    } = signature;
    commit_one(db, trace, move |conn| {
        Box::pin(async move {
            Ok(sqlx::query(sql)
                .bind(signed_by)
                .bind(now)
                .bind(file_id)
                .bind(sha256)
                .bind(tenant_id)
                .bind(key)
                .execute(&mut *conn)
                .await?
                .rows_affected())
        })
    })
    .await
}

/// The published délibérations of a collectivité as rows of the SCDL délibérations schema (its
/// columns in order), the latest first.
pub async fn scdl_rows(
    db: &Db,
    c: &crate::collectivite::Collectivite,
    public_url: &str,
) -> anyhow::Result<Vec<Vec<String>>> {
    let assemblees = assemblees(db, c.id).await?;
    let mut seances: std::collections::HashMap<i64, Option<Seance>> = Default::default();
    let mut rows = Vec::new();
    let mut before = None;
    loop {
        let page = published(db, c.id, before, 500).await?;
        let Some(last) = page.last() else { break };
        before = last
            .numero
            .split_once('-')
            .and_then(|(y, r)| Some((y.parse().ok()?, r.parse().ok()?)));
        for d in &page {
            if let std::collections::hash_map::Entry::Vacant(e) = seances.entry(d.seance_id) {
                e.insert(seance_by_id(db, c.id, d.seance_id).await?);
            }
            let Some(s) = seances.get(&d.seance_id).cloned().flatten() else {
                continue;
            };
            let siret = assemblees
                .iter()
                .find(|a| a.id == s.assemblee_id)
                .map(|a| a.siret.clone())
                .unwrap_or_default();
            let n = &d.decompte;
            rows.push(vec![
                c.name.clone(),
                siret,
                d.numero.clone(),
                guichet_domain::delai::paris_day(s.starts_at).to_string(),
                d.matiere.clone(),
                guichet_domain::conseil::matiere(&d.matiere)
                    .unwrap_or_default()
                    .to_string(),
                d.objet.clone(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                d.effectif.to_string(),
                n.votants().to_string(),
                n.pour.to_string(),
                n.contre.to_string(),
                n.abstention.to_string(),
                format!(
                    "{}/conseil/{}/deliberations/{}",
                    public_url.trim_end_matches('/'),
                    c.slug,
                    d.numero
                ),
            ]);
        }
        if page.len() < 500 {
            break;
        }
    }
    Ok(rows)
}

/// The minutes of a session (L2121-15).
#[derive(Debug, Clone)]
pub struct ProcesVerbal {
    pub seance_id: i64,
    pub texte: String,
    pub drafted_at: i64,
    pub adopted_seance_id: Option<i64>,
    pub adopted_at: Option<i64>,
    pub signed_by: Option<String>,
    pub published_at: Option<i64>,
    pub file_id: Option<String>,
    pub sha256: Option<String>,
}

const PROCES_VERBAL: &str = "seance_id, texte, drafted_at, adopted_seance_id, adopted_at, signed_by, published_at, file_id, sha256";

fn proces_verbal_row(r: &AnyRow) -> anyhow::Result<ProcesVerbal> {
    Ok(ProcesVerbal {
        seance_id: r.try_get("seance_id")?,
        texte: r.try_get("texte")?,
        drafted_at: r.try_get("drafted_at")?,
        adopted_seance_id: r.try_get("adopted_seance_id")?,
        adopted_at: r.try_get("adopted_at")?,
        signed_by: r.try_get("signed_by")?,
        published_at: r.try_get("published_at")?,
        file_id: r.try_get("file_id")?,
        sha256: r.try_get("sha256")?,
    })
}

pub async fn proces_verbal(
    db: &Db,
    tenant_id: i64,
    seance_id: i64,
) -> anyhow::Result<Option<ProcesVerbal>> {
    sqlx::query(&format!(
        "SELECT {PROCES_VERBAL} FROM proces_verbaux WHERE tenant_id = $1 AND seance_id = $2"
    ))
    .bind(tenant_id)
    .bind(seance_id)
    .fetch_optional(db.pool())
    .await?
    .as_ref()
    .map(proces_verbal_row)
    .transpose()
}

/// Writes (or rewrites) the draft minutes of a session. `false` once they are adopted: they no
/// longer change.
pub async fn draft_proces_verbal(
    db: &Db,
    tenant_id: i64,
    seance_id: i64,
    texte: String,
    now: i64,
    trace: Trace,
) -> anyhow::Result<bool> {
    commit_one(db, trace, move |conn| {
        Box::pin(async move {
            Ok(sqlx::query("INSERT INTO proces_verbaux (tenant_id, seance_id, texte, drafted_at) VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id, seance_id) DO UPDATE SET texte = excluded.texte, drafted_at = excluded.drafted_at WHERE proces_verbaux.adopted_at IS NULL")
                .bind(tenant_id)
                .bind(seance_id)
                .bind(texte)
                .bind(now)
                .execute(&mut *conn)
                .await?
                .rows_affected())
        })
    })
    .await
}

/// The drafted minutes of an assembly's earlier sessions still waiting for their adoption, the
/// oldest first.
pub async fn proces_verbaux_a_arreter(
    db: &Db,
    tenant_id: i64,
    assemblee_id: i64,
    before_ms: i64,
) -> anyhow::Result<Vec<(Seance, ProcesVerbal)>> {
    sqlx::query(&format!("SELECT {} FROM proces_verbaux p JOIN seances s ON s.tenant_id = p.tenant_id AND s.id = p.seance_id WHERE p.tenant_id = $1 AND s.assemblee_id = $2 AND s.starts_at < $3 AND p.adopted_at IS NULL ORDER BY s.starts_at", with_seance()))
        .bind(tenant_id)
        .bind(assemblee_id)
        .bind(before_ms)
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(|r| Ok((seance(r)?, proces_verbal_row(r)?)))
        .collect()
}

/// The columns of minutes and of their session, joined as `p` and `s`.
fn with_seance() -> String {
    SEANCE
        .split(", ")
        .map(|c| format!("s.{c}"))
        .chain(PROCES_VERBAL.split(", ").map(|c| format!("p.{c}")))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The minutes adopted at the beginning of session `at`. `false` when adopted meanwhile.
pub async fn adopt_proces_verbal(
    db: &Db,
    tenant_id: i64,
    seance_id: i64,
    at: i64,
    now: i64,
    trace: Trace,
) -> anyhow::Result<bool> {
    commit_one(db, trace, move |conn| {
        Box::pin(async move {
            Ok(sqlx::query("UPDATE proces_verbaux SET adopted_seance_id = $1, adopted_at = $2 WHERE tenant_id = $3 AND seance_id = $4 AND adopted_at IS NULL")
                .bind(at)
                .bind(now)
                .bind(tenant_id)
                .bind(seance_id)
                .execute(&mut *conn)
                .await?
                .rows_affected())
        })
    })
    .await
}

/// Signs and publishes adopted minutes, their PDF/A already in the file store. `false` when they
/// were published meanwhile (or are not adopted).
pub async fn publish_proces_verbal(
    db: &Db,
    tenant_id: i64,
    seance_id: i64,
    signature: Signature,
    now: i64,
    trace: Trace,
) -> anyhow::Result<bool> {
    sign_row(db, "UPDATE proces_verbaux SET signed_by = $1, published_at = $2, file_id = $3, sha256 = $4 WHERE tenant_id = $5 AND seance_id = $6 AND adopted_at IS NOT NULL AND published_at IS NULL", tenant_id, seance_id, signature, now, trace).await
}

/// A collectivité's published minutes with their sessions, the latest session first.
pub async fn published_proces_verbaux(
    db: &Db,
    tenant_id: i64,
    limit: i64,
) -> anyhow::Result<Vec<(Seance, ProcesVerbal)>> {
    sqlx::query(&format!("SELECT {} FROM proces_verbaux p JOIN seances s ON s.tenant_id = p.tenant_id AND s.id = p.seance_id WHERE p.tenant_id = $1 AND p.published_at IS NOT NULL ORDER BY s.starts_at DESC LIMIT $2", with_seance()))
        .bind(tenant_id)
        .bind(limit)
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(|r| Ok((seance(r)?, proces_verbal_row(r)?)))
        .collect()
}

/// The mandates in office of the member with this e-mail address, in every collectivité:
/// (collectivité, member).
pub async fn mandats_of(db: &Db, email: &str) -> anyhow::Result<Vec<(i64, Elu)>> {
    sqlx::query("SELECT tenant_id, id, assemblee_id, name, email, fonction FROM elus WHERE LOWER(email) = LOWER($1) AND ended_at IS NULL ORDER BY tenant_id, id")
        .bind(email.trim())
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(|r| Ok((r.try_get("tenant_id")?, elu(r)?)))
        .collect()
}

/// A member opens the agenda in their space: the convocation counts as read, as from its link.
pub async fn mark_read_by_member(
    db: &Db,
    tenant_id: i64,
    seance_id: i64,
    elu_id: i64,
    now: i64,
    trace: Trace,
) -> anyhow::Result<bool> {
    commit_one(db, trace, move |conn| {
        Box::pin(async move {
            Ok(sqlx::query("UPDATE convocations SET read_at = $1 WHERE tenant_id = $2 AND seance_id = $3 AND elu_id = $4 AND read_at IS NULL")
                .bind(now)
                .bind(tenant_id)
                .bind(seance_id)
                .bind(elu_id)
                .execute(&mut *conn)
                .await?
                .rows_affected())
        })
    })
    .await
}

/// An assembly's délibérations decided and not yet signed, in order.
pub async fn unsigned(
    db: &Db,
    tenant_id: i64,
    assemblee_id: i64,
) -> anyhow::Result<Vec<Deliberation>> {
    let cols = DELIBERATION
        .split(", ")
        .map(|c| format!("d.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    sqlx::query(&format!("SELECT {cols} FROM deliberations d JOIN seances s ON s.tenant_id = d.tenant_id AND s.id = d.seance_id WHERE d.tenant_id = $1 AND s.assemblee_id = $2 AND d.published_at IS NULL ORDER BY d.year, d.rank"))
        .bind(tenant_id)
        .bind(assemblee_id)
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(deliberation)
        .collect()
}

/// A file annexed to an agenda item.
#[derive(Debug, Clone)]
pub struct Annexe {
    pub id: i64,
    pub point_id: i64,
    pub name: String,
    pub size: i64,
    pub file_id: String,
}

fn annexe(r: &AnyRow) -> anyhow::Result<Annexe> {
    Ok(Annexe {
        id: r.try_get("id")?,
        point_id: r.try_get("point_id")?,
        name: r.try_get("name")?,
        size: r.try_get("size")?,
        file_id: r.try_get("file_id")?,
    })
}

/// Annexes a file (already in the file store under `file_id`) to an item whose session has not
/// opened yet. `None` once it has.
#[allow(clippy::too_many_arguments)]
pub async fn add_annexe(
    db: &Db,
    tenant_id: i64,
    seance_id: i64,
    point_id: i64,
    name: String,
    size: i64,
    file_id: String,
    now: i64,
    trace: Trace,
) -> anyhow::Result<Option<i64>> {
    commit_if(db, trace, move |conn| {
        Box::pin(async move {
            let open: Option<String> = sqlx::query_scalar(
                "SELECT state FROM seances WHERE tenant_id = $1 AND id = $2",
            )
            .bind(tenant_id)
            .bind(seance_id)
            .fetch_optional(&mut *conn)
            .await?;
            if !matches!(open.as_deref(), Some("preparation" | "convoquee")) {
                return Ok(None);
            }
            let id: i64 = sqlx::query_scalar("INSERT INTO annexes (tenant_id, point_id, name, size, file_id, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id")
                .bind(tenant_id)
                .bind(point_id)
                .bind(name)
                .bind(size)
                .bind(file_id)
                .bind(now)
                .fetch_one(&mut *conn)
                .await?;
            Ok(Some(id))
        })
    })
    .await
}

/// The annexes of a session's items, in the order they were added.
pub async fn annexes_of(db: &Db, tenant_id: i64, seance_id: i64) -> anyhow::Result<Vec<Annexe>> {
    sqlx::query("SELECT a.id, a.point_id, a.name, a.size, a.file_id FROM annexes a JOIN points p ON p.tenant_id = a.tenant_id AND p.id = a.point_id WHERE a.tenant_id = $1 AND p.seance_id = $2 ORDER BY a.id")
        .bind(tenant_id)
        .bind(seance_id)
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(annexe)
        .collect()
}
