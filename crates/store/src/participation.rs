//! Residents' participation: consultations and their answers, one per person (a unique key on
//! the consultation and the hash of who answered, so that two tabs cannot answer twice).

use crate::db::Db;
use crate::trace::{commit, commit_if, commit_one, Trace};
use anyhow::Context;
use guichet_domain::participation::{Demande, Public, Question, Reponse};
use sqlx::any::AnyRow;
use sqlx::Row;

#[derive(Debug, Clone)]
pub struct Consultation {
    pub id: i64,
    pub tenant_id: i64,
    pub title: String,
    pub description: String,
    pub questions: Vec<Question>,
    pub public: Public,
    pub starts_at: i64,
    pub ends_at: i64,
}

const COLUMNS: &str = "id, tenant_id, title, description, questions, public, starts_at, ends_at";

fn consultation(r: &AnyRow) -> anyhow::Result<Consultation> {
    let questions: String = r.try_get("questions")?;
    let public: String = r.try_get("public")?;
    Ok(Consultation {
        id: r.try_get("id")?,
        tenant_id: r.try_get("tenant_id")?,
        title: r.try_get("title")?,
        description: r.try_get("description")?,
        questions: serde_json::from_str(&questions)?,
        public: Public::from_code(&public).context("public")?,
        starts_at: r.try_get("starts_at")?,
        ends_at: r.try_get("ends_at")?,
    })
}

pub struct NewConsultation {
    pub title: String,
    pub description: String,
    pub questions: Vec<Question>,
    pub public: Public,
    pub starts_at: i64,
    pub ends_at: i64,
}

pub async fn create(
    db: &Db,
    tenant_id: i64,
    c: NewConsultation,
    now: i64,
    trace: Trace,
) -> anyhow::Result<i64> {
    let questions = serde_json::to_string(&c.questions)?;
    commit(db, trace, move |conn| {
        Box::pin(async move {
            let id: i64 = sqlx::query_scalar("INSERT INTO consultations (tenant_id, title, description, questions, public, starts_at, ends_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id")
                .bind(tenant_id)
                .bind(c.title)
                .bind(c.description)
                .bind(questions)
                .bind(c.public.code())
                .bind(c.starts_at)
                .bind(c.ends_at)
                .bind(now)
                .fetch_one(&mut *conn)
                .await?;
            Ok(id)
        })
    })
    .await
}

/// A collectivité's consultations, the latest first.
pub async fn list(db: &Db, tenant_id: i64) -> anyhow::Result<Vec<Consultation>> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM consultations WHERE tenant_id = $1 ORDER BY starts_at DESC, id DESC LIMIT 200"
    ))
    .bind(tenant_id)
    .fetch_all(db.pool())
    .await?
    .iter()
    .map(consultation)
    .collect()
}

pub async fn get(db: &Db, tenant_id: i64, id: i64) -> anyhow::Result<Option<Consultation>> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM consultations WHERE tenant_id = $1 AND id = $2"
    ))
    .bind(tenant_id)
    .bind(id)
    .fetch_optional(db.pool())
    .await?
    .as_ref()
    .map(consultation)
    .transpose()
}

pub async fn has_answered(
    db: &Db,
    tenant_id: i64,
    consultation_id: i64,
    voter_hash: &str,
) -> anyhow::Result<bool> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM consultation_answers WHERE tenant_id = $1 AND consultation_id = $2 AND voter_hash = $3")
        .bind(tenant_id)
        .bind(consultation_id)
        .bind(voter_hash)
        .fetch_one(db.pool())
        .await?;
    Ok(n > 0)
}

/// Records an answer; `false` when this person had already answered (nothing is written).
pub async fn answer(
    db: &Db,
    tenant_id: i64,
    consultation_id: i64,
    voter_hash: String,
    answers: &[Reponse],
    now: i64,
    trace: Trace,
) -> anyhow::Result<bool> {
    let answers = serde_json::to_string(answers)?;
    commit_one(db, trace, move |conn| {
        Box::pin(async move {
            Ok(sqlx::query("INSERT INTO consultation_answers (tenant_id, consultation_id, voter_hash, answers, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING")
                .bind(tenant_id)
                .bind(consultation_id)
                .bind(voter_hash)
                .bind(answers)
                .bind(now)
                .execute(&mut *conn)
                .await?
                .rows_affected())
        })
    })
    .await
}

/// How many answered a consultation.
pub async fn answer_count(db: &Db, tenant_id: i64, consultation_id: i64) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM consultation_answers WHERE tenant_id = $1 AND consultation_id = $2",
    )
    .bind(tenant_id)
    .bind(consultation_id)
    .fetch_one(db.pool())
    .await?)
}

/// Every answer of a consultation, to count them.
pub async fn answers(
    db: &Db,
    tenant_id: i64,
    consultation_id: i64,
) -> anyhow::Result<Vec<Vec<Reponse>>> {
    sqlx::query_scalar::<_, String>(
        "SELECT answers FROM consultation_answers WHERE tenant_id = $1 AND consultation_id = $2",
    )
    .bind(tenant_id)
    .bind(consultation_id)
    .fetch_all(db.pool())
    .await?
    .iter()
    .map(|a| Ok(serde_json::from_str(a)?))
    .collect()
}

/// The collectivité's figures for pétitions: registered electors, the threshold of a simple one.
pub async fn settings(db: &Db, tenant_id: i64) -> anyhow::Result<(Option<i64>, Option<i64>)> {
    Ok(sqlx::query(
        "SELECT electeurs, seuil_petition FROM participation_settings WHERE tenant_id = $1",
    )
    .bind(tenant_id)
    .fetch_optional(db.pool())
    .await?
    .map(|r| Ok::<_, sqlx::Error>((r.try_get("electeurs")?, r.try_get("seuil_petition")?)))
    .transpose()?
    .unwrap_or((None, None)))
}

pub async fn set_settings(
    db: &Db,
    tenant_id: i64,
    electeurs: Option<i64>,
    seuil: Option<i64>,
    now: i64,
    trace: Trace,
) -> anyhow::Result<()> {
    commit(db, trace, move |conn| {
        Box::pin(async move {
            sqlx::query("INSERT INTO participation_settings (tenant_id, electeurs, seuil_petition, updated_at) VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id) DO UPDATE SET electeurs = $2, seuil_petition = $3, updated_at = $4")
                .bind(tenant_id)
                .bind(electeurs)
                .bind(seuil)
                .bind(now)
                .execute(&mut *conn)
                .await?;
            Ok(())
        })
    })
    .await
}

#[derive(Debug, Clone)]
pub struct Petition {
    pub id: i64,
    pub tenant_id: i64,
    pub demande: Demande,
    pub title: String,
    pub body: String,
    pub signatures: i64,
    pub created_at: i64,
    pub closes_at: i64,
    pub answer: Option<String>,
    pub answered_at: Option<i64>,
}

const PETITION: &str =
    "id, tenant_id, demande, title, body, signatures, created_at, closes_at, answer, answered_at";

fn petition(r: &AnyRow) -> anyhow::Result<Petition> {
    let demande: String = r.try_get("demande")?;
    Ok(Petition {
        id: r.try_get("id")?,
        tenant_id: r.try_get("tenant_id")?,
        demande: Demande::from_code(&demande).context("demande")?,
        title: r.try_get("title")?,
        body: r.try_get("body")?,
        signatures: r.try_get("signatures")?,
        created_at: r.try_get("created_at")?,
        closes_at: r.try_get("closes_at")?,
        answer: r.try_get("answer")?,
        answered_at: r.try_get("answered_at")?,
    })
}

pub struct NewPetition {
    pub demande: Demande,
    pub title: String,
    pub body: String,
    pub author_id: i64,
    pub closes_at: i64,
}

pub async fn create_petition(
    db: &Db,
    tenant_id: i64,
    p: NewPetition,
    now: i64,
    trace: Trace,
) -> anyhow::Result<i64> {
    commit(db, trace, move |conn| {
        Box::pin(async move {
            let id: i64 = sqlx::query_scalar("INSERT INTO petitions (tenant_id, demande, title, body, author_id, created_at, closes_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id")
                .bind(tenant_id)
                .bind(p.demande.code())
                .bind(p.title)
                .bind(p.body)
                .bind(p.author_id)
                .bind(now)
                .bind(p.closes_at)
                .fetch_one(&mut *conn)
                .await?;
            Ok(id)
        })
    })
    .await
}

pub async fn petitions(db: &Db, tenant_id: i64) -> anyhow::Result<Vec<Petition>> {
    sqlx::query(&format!("SELECT {PETITION} FROM petitions WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC LIMIT 200"))
        .bind(tenant_id)
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(petition)
        .collect()
}

pub async fn petition_by_id(db: &Db, tenant_id: i64, id: i64) -> anyhow::Result<Option<Petition>> {
    sqlx::query(&format!(
        "SELECT {PETITION} FROM petitions WHERE tenant_id = $1 AND id = $2"
    ))
    .bind(tenant_id)
    .bind(id)
    .fetch_optional(db.pool())
    .await?
    .as_ref()
    .map(petition)
    .transpose()
}

/// Whether this person signed this pétition, and another demand of consultation to the same
/// collectivité in this year.
pub async fn signed(
    db: &Db,
    tenant_id: i64,
    petition_id: i64,
    voter_hash: &str,
    year: i16,
) -> anyhow::Result<(bool, bool)> {
    let this: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM petition_signatures WHERE tenant_id = $1 AND petition_id = $2 AND voter_hash = $3")
        .bind(tenant_id)
        .bind(petition_id)
        .bind(voter_hash)
        .fetch_one(db.pool())
        .await?;
    let other: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM petition_signatures WHERE tenant_id = $1 AND voter_hash = $2 AND demande = 'consultation' AND year = $3 AND petition_id <> $4")
        .bind(tenant_id)
        .bind(voter_hash)
        .bind(i64::from(year))
        .bind(petition_id)
        .fetch_one(db.pool())
        .await?;
    Ok((this > 0, other > 0))
}

/// Records a signature and counts it; `false` when this person had signed already.
pub async fn sign(
    db: &Db,
    p: &Petition,
    voter_hash: String,
    year: i16,
    now: i64,
    trace: Trace,
) -> anyhow::Result<bool> {
    let (tenant_id, id, demande) = (p.tenant_id, p.id, p.demande);
    Ok(commit_if(db, trace, move |conn| {
        Box::pin(async move {
            let done = sqlx::query("INSERT INTO petition_signatures (tenant_id, petition_id, voter_hash, demande, year, created_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING")
                .bind(tenant_id)
                .bind(id)
                .bind(voter_hash)
                .bind(demande.code())
                .bind(i64::from(year))
                .bind(now)
                .execute(&mut *conn)
                .await?
                .rows_affected();
            if done != 1 {
                return Ok(None);
            }
            sqlx::query("UPDATE petitions SET signatures = signatures + 1 WHERE tenant_id = $1 AND id = $2")
                .bind(tenant_id)
                .bind(id)
                .execute(&mut *conn)
                .await?;
            Ok(Some(()))
        })
    })
    .await?
    .is_some())
}

/// The collectivité's public answer; it closes the pétition.
pub async fn answer_petition(
    db: &Db,
    tenant_id: i64,
    id: i64,
    text: String,
    now: i64,
    trace: Trace,
) -> anyhow::Result<bool> {
    commit_one(db, trace, move |conn| {
        Box::pin(async move {
            Ok(sqlx::query("UPDATE petitions SET answer = $1, answered_at = $2, closes_at = CASE WHEN closes_at > $2 THEN $2 ELSE closes_at END WHERE tenant_id = $3 AND id = $4 AND answer IS NULL")
                .bind(text)
                .bind(now)
                .bind(tenant_id)
                .bind(id)
                .execute(&mut *conn)
                .await?
                .rows_affected())
        })
    })
    .await
}

#[derive(Debug, Clone)]
pub struct Budget {
    pub id: i64,
    pub tenant_id: i64,
    pub title: String,
    pub description: String,
    pub amount: i64,
    pub proposals_until: i64,
    pub vote_from: i64,
    pub vote_until: i64,
}

const BUDGET: &str =
    "id, tenant_id, title, description, amount, proposals_until, vote_from, vote_until";

fn budget(r: &AnyRow) -> anyhow::Result<Budget> {
    Ok(Budget {
        id: r.try_get("id")?,
        tenant_id: r.try_get("tenant_id")?,
        title: r.try_get("title")?,
        description: r.try_get("description")?,
        amount: r.try_get("amount")?,
        proposals_until: r.try_get("proposals_until")?,
        vote_from: r.try_get("vote_from")?,
        vote_until: r.try_get("vote_until")?,
    })
}

pub struct NewBudget {
    pub title: String,
    pub description: String,
    pub amount: i64,
    pub proposals_until: i64,
    pub vote_from: i64,
    pub vote_until: i64,
}

pub async fn create_budget(
    db: &Db,
    tenant_id: i64,
    b: NewBudget,
    now: i64,
    trace: Trace,
) -> anyhow::Result<i64> {
    commit(db, trace, move |conn| {
        Box::pin(async move {
            let id: i64 = sqlx::query_scalar("INSERT INTO budgets (tenant_id, title, description, amount, proposals_until, vote_from, vote_until, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id")
                .bind(tenant_id)
                .bind(b.title)
                .bind(b.description)
                .bind(b.amount)
                .bind(b.proposals_until)
                .bind(b.vote_from)
                .bind(b.vote_until)
                .bind(now)
                .fetch_one(&mut *conn)
                .await?;
            Ok(id)
        })
    })
    .await
}

pub async fn budgets(db: &Db, tenant_id: i64) -> anyhow::Result<Vec<Budget>> {
    sqlx::query(&format!("SELECT {BUDGET} FROM budgets WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC LIMIT 50"))
        .bind(tenant_id)
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(budget)
        .collect()
}

pub async fn budget_by_id(db: &Db, tenant_id: i64, id: i64) -> anyhow::Result<Option<Budget>> {
    sqlx::query(&format!(
        "SELECT {BUDGET} FROM budgets WHERE tenant_id = $1 AND id = $2"
    ))
    .bind(tenant_id)
    .bind(id)
    .fetch_optional(db.pool())
    .await?
    .as_ref()
    .map(budget)
    .transpose()
}

#[derive(Debug, Clone)]
pub struct Projet {
    pub id: i64,
    pub budget_id: i64,
    pub title: String,
    pub description: String,
    pub place: String,
    /// propose | recevable | non_recevable
    pub review: String,
    pub cost: Option<i64>,
    pub review_note: Option<String>,
    pub votes: i64,
    pub progress: Option<String>,
    pub progress_note: Option<String>,
}

fn projet(r: &AnyRow) -> anyhow::Result<Projet> {
    Ok(Projet {
        id: r.try_get("id")?,
        budget_id: r.try_get("budget_id")?,
        title: r.try_get("title")?,
        description: r.try_get("description")?,
        place: r.try_get("place")?,
        review: r.try_get("review")?,
        cost: r.try_get("cost")?,
        review_note: r.try_get("review_note")?,
        votes: r.try_get("votes")?,
        progress: r.try_get("progress")?,
        progress_note: r.try_get("progress_note")?,
    })
}

/// A campaign's projects, in the order they were proposed; keyset-paginated after `after`.
pub async fn projets(
    db: &Db,
    tenant_id: i64,
    budget_id: i64,
    after: i64,
    limit: i64,
) -> anyhow::Result<Vec<Projet>> {
    sqlx::query("SELECT id, budget_id, title, description, place, review, cost, review_note, votes, progress, progress_note FROM budget_projects WHERE tenant_id = $1 AND budget_id = $2 AND id > $3 ORDER BY id LIMIT $4")
        .bind(tenant_id)
        .bind(budget_id)
        .bind(after)
        .bind(limit)
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(projet)
        .collect()
}

/// A campaign's projects studied feasible (with their cost), in id order: what the vote offers
/// and the results rank.
pub async fn recevables(db: &Db, tenant_id: i64, budget_id: i64) -> anyhow::Result<Vec<Projet>> {
    sqlx::query("SELECT id, budget_id, title, description, place, review, cost, review_note, votes, progress, progress_note FROM budget_projects WHERE tenant_id = $1 AND budget_id = $2 AND review = 'recevable' ORDER BY id")
        .bind(tenant_id)
        .bind(budget_id)
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(projet)
        .collect()
}

/// How many projects a campaign received.
pub async fn projet_count(db: &Db, tenant_id: i64, budget_id: i64) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM budget_projects WHERE tenant_id = $1 AND budget_id = $2",
    )
    .bind(tenant_id)
    .bind(budget_id)
    .fetch_one(db.pool())
    .await?)
}

pub async fn projet_by_id(
    db: &Db,
    tenant_id: i64,
    budget_id: i64,
    id: i64,
) -> anyhow::Result<Option<Projet>> {
    sqlx::query("SELECT id, budget_id, title, description, place, review, cost, review_note, votes, progress, progress_note FROM budget_projects WHERE tenant_id = $1 AND budget_id = $2 AND id = $3")
        .bind(tenant_id)
        .bind(budget_id)
        .bind(id)
        .fetch_optional(db.pool())
        .await?
        .as_ref()
        .map(projet)
        .transpose()
}

pub struct NewProjet {
    pub title: String,
    pub description: String,
    pub place: String,
    pub author_id: i64,
}

pub async fn propose(
    db: &Db,
    tenant_id: i64,
    budget_id: i64,
    p: NewProjet,
    now: i64,
    trace: Trace,
) -> anyhow::Result<i64> {
    commit(db, trace, move |conn| {
        Box::pin(async move {
            let id: i64 = sqlx::query_scalar("INSERT INTO budget_projects (tenant_id, budget_id, title, description, place, author_id, review, created_at) VALUES ($1, $2, $3, $4, $5, $6, 'propose', $7) RETURNING id")
                .bind(tenant_id)
                .bind(budget_id)
                .bind(p.title)
                .bind(p.description)
                .bind(p.place)
                .bind(p.author_id)
                .bind(now)
                .fetch_one(&mut *conn)
                .await?;
            Ok(id)
        })
    })
    .await
}

/// The services' study of a project: feasible with its cost, or not with the reason.
pub async fn review(
    db: &Db,
    tenant_id: i64,
    id: i64,
    cost: Option<i64>,
    note: String,
    trace: Trace,
) -> anyhow::Result<()> {
    commit(db, trace, move |conn| {
        Box::pin(async move {
            sqlx::query("UPDATE budget_projects SET review = $1, cost = $2, review_note = $3 WHERE tenant_id = $4 AND id = $5")
                .bind(if cost.is_some() { "recevable" } else { "non_recevable" })
                .bind(cost)
                .bind(note)
                .bind(tenant_id)
                .bind(id)
                .execute(&mut *conn)
                .await?;
            Ok(())
        })
    })
    .await
}

/// A resident's ballot: the projects chosen, counted; `false` when they had voted already.
pub async fn vote(
    db: &Db,
    tenant_id: i64,
    budget_id: i64,
    voter_hash: String,
    projets: Vec<i64>,
    now: i64,
    trace: Trace,
) -> anyhow::Result<bool> {
    Ok(commit_if(db, trace, move |conn| {
        Box::pin(async move {
            let done = sqlx::query("INSERT INTO budget_ballots (tenant_id, budget_id, voter_hash, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING")
                .bind(tenant_id)
                .bind(budget_id)
                .bind(voter_hash)
                .bind(now)
                .execute(&mut *conn)
                .await?
                .rows_affected();
            if done != 1 {
                return Ok(None);
            }
            for id in projets {
                sqlx::query("UPDATE budget_projects SET votes = votes + 1 WHERE tenant_id = $1 AND budget_id = $2 AND id = $3 AND review = 'recevable'")
                    .bind(tenant_id)
                    .bind(budget_id)
                    .bind(id)
                    .execute(&mut *conn)
                    .await?;
            }
            Ok(Some(()))
        })
    })
    .await?
    .is_some())
}

pub async fn has_voted(
    db: &Db,
    tenant_id: i64,
    budget_id: i64,
    voter_hash: &str,
) -> anyhow::Result<bool> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM budget_ballots WHERE tenant_id = $1 AND budget_id = $2 AND voter_hash = $3")
        .bind(tenant_id)
        .bind(budget_id)
        .bind(voter_hash)
        .fetch_one(db.pool())
        .await?;
    Ok(n > 0)
}

/// The follow-up of a winning project.
pub async fn follow_up(
    db: &Db,
    tenant_id: i64,
    id: i64,
    progress: String,
    note: String,
    trace: Trace,
) -> anyhow::Result<()> {
    commit(db, trace, move |conn| {
        Box::pin(async move {
            sqlx::query("UPDATE budget_projects SET progress = $1, progress_note = $2 WHERE tenant_id = $3 AND id = $4")
                .bind(progress)
                .bind(note)
                .bind(tenant_id)
                .bind(id)
                .execute(&mut *conn)
                .await?;
            Ok(())
        })
    })
    .await
}
