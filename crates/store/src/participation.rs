//! Residents' participation: consultations and their answers, one per person (a unique key on
//! the consultation and the hash of who answered, so that two tabs cannot answer twice).

use crate::db::Db;
use crate::trace::{commit, commit_if, Trace};
use anyhow::Context;
use guichet_domain::participation::{Public, Question, Reponse};
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
    Ok(commit_if(db, trace, move |conn| {
        Box::pin(async move {
            let done = sqlx::query("INSERT INTO consultation_answers (tenant_id, consultation_id, voter_hash, answers, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING")
                .bind(tenant_id)
                .bind(consultation_id)
                .bind(voter_hash)
                .bind(answers)
                .bind(now)
                .execute(&mut *conn)
                .await?
                .rows_affected();
            Ok((done == 1).then_some(()))
        })
    })
    .await?
    .is_some())
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
