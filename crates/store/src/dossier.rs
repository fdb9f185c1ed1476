//! Dossiers: drafts, submission, instruction, history. Every state change is written with its
//! history event and its audit entry in one transaction: all of it, or none.

use crate::db::Db;
use crate::trace::Trace;
use guichet_domain::demarche::{Answers, ApresCorrection, Definition};
use guichet_domain::dossier::{
    deadline, resumed_deadline, tacit_decision, transition, Action, Actor, State, TransitionError,
};
use guichet_domain::journal::Event;
use guichet_domain::pilotage::{Canal, Faits};
use guichet_domain::text::fold;
use sqlx::any::AnyRow;
use sqlx::Row;

#[derive(Debug, Clone)]
pub struct Dossier {
    pub tenant_id: i64,
    pub id: i64,
    pub number: String,
    pub demarche_id: i64,
    pub version: i64,
    pub usager_id: Option<i64>,
    pub state: State,
    pub answers: Answers,
    pub applicant_name: Option<String>,
    /// Filed at the counter: the code printed on the accusé, to follow it without an account.
    pub tracking_code: Option<String>,
    pub assigned_to: Option<i64>,
    pub assigned_team: Option<i64>,
    /// INSEE code of the commune the dossier is about (its first commune field).
    pub commune_insee: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub submitted_at: Option<i64>,
    pub complete_since: Option<i64>,
    pub deadline_at: Option<i64>,
    /// When a correction request stopped the clock (cleared when the usager corrects).
    pub suspended_at: Option<i64>,
    /// The agents' annotations privées (never shown to the usager).
    pub annotations: Answers,
    pub decided_at: Option<i64>,
    pub tacit: bool,
    pub decision_reason: Option<String>,
    /// How it reached the collectivité (online, with an aidant, at the counter).
    pub canal: Canal,
    /// Answers of the deposit that repeated what the usager's profile held (None: not measured).
    pub asked_again: Option<i64>,
}

const COLUMNS: &str = "tenant_id, id, number, demarche_id, version, usager_id, state, answers, applicant_name, assigned_to,
    assigned_team, commune_insee, created_at, updated_at, submitted_at, complete_since, deadline_at, suspended_at, decided_at, tacit, decision_reason, tracking_code, annotations, channel, aidant_id, asked_again";

/// The state in column `column` of a row.
fn state_of<I: sqlx::ColumnIndex<AnyRow>>(r: &AnyRow, column: I) -> anyhow::Result<State> {
    let code: String = r.try_get(column)?;
    State::from_code(&code).ok_or_else(|| anyhow::anyhow!("état inconnu {code}"))
}

fn from_row(r: &AnyRow) -> anyhow::Result<Dossier> {
    let answers: String = r.try_get("answers")?;
    Ok(Dossier {
        tenant_id: r.try_get("tenant_id")?,
        id: r.try_get("id")?,
        number: r.try_get("number")?,
        demarche_id: r.try_get("demarche_id")?,
        version: r.try_get("version")?,
        usager_id: r.try_get("usager_id")?,
        state: state_of(r, "state")?,
        answers: serde_json::from_str(&answers)?,
        applicant_name: r.try_get("applicant_name")?,
        tracking_code: r.try_get("tracking_code")?,
        assigned_to: r.try_get("assigned_to")?,
        assigned_team: r.try_get("assigned_team")?,
        commune_insee: r.try_get("commune_insee")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        submitted_at: r.try_get("submitted_at")?,
        complete_since: r.try_get("complete_since")?,
        deadline_at: r.try_get("deadline_at")?,
        suspended_at: r.try_get("suspended_at")?,
        annotations: serde_json::from_str(&r.try_get::<String, _>("annotations")?)
            .unwrap_or_default(),
        decided_at: r.try_get("decided_at")?,
        tacit: r.try_get::<i64, _>("tacit")? != 0,
        decision_reason: r.try_get("decision_reason")?,
        canal: Canal::of(
            &r.try_get::<String, _>("channel")?,
            r.try_get::<Option<i64>, _>("aidant_id")?.is_some(),
        ),
        asked_again: r.try_get("asked_again")?,
    })
}

impl Dossier {
    /// What the figures of public action need of it.
    pub fn faits(&self) -> Faits {
        Faits {
            state: self.state,
            canal: self.canal,
            submitted_at: self.submitted_at,
            decided_at: self.decided_at,
            deadline_at: self.deadline_at,
            tacit: self.tacit,
            asked_again: self.asked_again,
        }
    }
}

/// Starts a draft dossier for a usager on the published version of a démarche.
pub async fn create_draft(
    db: &Db,
    tenant_id: i64,
    demarche_id: i64,
    version: i64,
    usager_id: Option<i64>,
    applicant_name: &str,
) -> anyhow::Result<Dossier> {
    start_draft(
        db,
        Draft {
            tenant_id,
            demarche_id,
            version,
            usager_id,
            applicant_name: applicant_name.to_string(),
            answers: Answers::default(),
            commune_insee: None,
            aidant_id: None,
        },
    )
    .await
}

/// A new draft, possibly with answers already (prefilled from the profile).
#[derive(Debug, Clone)]
pub struct Draft {
    pub tenant_id: i64,
    pub demarche_id: i64,
    pub version: i64,
    pub usager_id: Option<i64>,
    pub applicant_name: String,
    pub answers: Answers,
    pub commune_insee: Option<String>,
    /// The aidant filing it (at a help structure's counter, or under a mandat).
    pub aidant_id: Option<i64>,
}

pub async fn start_draft(db: &Db, draft: Draft) -> anyhow::Result<Dossier> {
    db.write(move |conn| Box::pin(async move { start_draft_in(conn, &draft).await }))
        .await
}

/// Starts a draft inside the caller's transaction.
pub(crate) async fn start_draft_in(
    conn: &mut sqlx::AnyConnection,
    draft: &Draft,
) -> anyhow::Result<Dossier> {
    let now = crate::now_ms();
    let temporary = crate::secret::random_token();
    let id: i64 = sqlx::query(
        "INSERT INTO dossiers (tenant_id, number, demarche_id, version, usager_id, state, answers, applicant_name,
             applicant_folded, commune_insee, created_at, updated_at, aidant_id)
         VALUES ($1, $2, $3, $4, $5, 'brouillon', $6, $7, $8, $9, $10, $10, $11) RETURNING id",
    )
    .bind(draft.tenant_id)
    .bind(&temporary)
    .bind(draft.demarche_id)
    .bind(draft.version)
    .bind(draft.usager_id)
    .bind(serde_json::to_string(&draft.answers)?)
    .bind(&draft.applicant_name)
    .bind(fold(&draft.applicant_name))
    .bind(&draft.commune_insee)
    .bind(now)
    .bind(draft.aidant_id)
    .fetch_one(&mut *conn)
    .await?
    .try_get(0)?;
    // A public number residents can quote: year and sequence.
    let year = crate::paris_now().year();
    let row = sqlx::query(&format!(
        "UPDATE dossiers SET number = $1 WHERE id = $2 RETURNING {COLUMNS}"
    ))
    .bind(format!("{year}-{id:07}"))
    .bind(id)
    .fetch_one(&mut *conn)
    .await?;
    from_row(&row)
}

pub async fn get(db: &Db, tenant_id: i64, id: i64) -> anyhow::Result<Option<Dossier>> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM dossiers WHERE tenant_id = $1 AND id = $2"
    ))
    .bind(tenant_id)
    .bind(id)
    .fetch_optional(db.pool())
    .await?
    .as_ref()
    .map(from_row)
    .transpose()
}

/// A dossier as the collectivité's agents may see it: none while it is a draft (the usager's own,
/// until deposited), so that no agent reads or writes on it.
pub async fn get_for_agents(db: &Db, tenant_id: i64, id: i64) -> anyhow::Result<Option<Dossier>> {
    Ok(get(db, tenant_id, id)
        .await?
        .filter(|x| x.state != State::Brouillon))
}

/// A usager's own dossier; none if it belongs to someone else.
pub async fn get_for_usager(db: &Db, id: i64, usager_id: i64) -> anyhow::Result<Option<Dossier>> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM dossiers WHERE id = $1 AND usager_id = $2"
    ))
    .bind(id)
    .bind(usager_id)
    .fetch_optional(db.pool())
    .await?
    .as_ref()
    .map(from_row)
    .transpose()
}

/// The columns of a dossier with the collectivité handling it, for the usager's pages.
fn owned_select(condition: &str) -> String {
    format!(
        "SELECT {COLUMNS},
            (SELECT t.name FROM tenants t WHERE t.id = dossiers.tenant_id) AS handler_name,
            (SELECT t.contact_email FROM tenants t WHERE t.id = dossiers.tenant_id) AS handler_contact
         FROM dossiers WHERE {condition}"
    )
}

fn owned_from_row(
    row: Option<AnyRow>,
) -> anyhow::Result<Option<(Dossier, crate::collectivite::Coordonnees)>> {
    let Some(row) = row else {
        return Ok(None);
    };
    let handler = crate::collectivite::Coordonnees {
        name: row.try_get("handler_name")?,
        contact_email: row.try_get("handler_contact")?,
    };
    Ok(Some((from_row(&row)?, handler)))
}

/// A dossier of this user's, or (`counter`) one this agent or aidant files at the counter while
/// nobody has claimed it, with the collectivité handling it: one read for the usager's pages.
pub async fn own(
    db: &Db,
    id: i64,
    user_id: i64,
    counter: bool,
) -> anyhow::Result<Option<(Dossier, crate::collectivite::Coordonnees)>> {
    let row = sqlx::query(&owned_select(
        "id = $1 AND (usager_id = $2 OR ($3 = 1 AND usager_id IS NULL AND counter_by = $2))",
    ))
    .bind(id)
    .bind(user_id)
    .bind(i64::from(counter))
    .fetch_optional(db.pool())
    .await?;
    owned_from_row(row)
}

/// A dossier filed without an account, for the browser that holds its link's token.
pub async fn own_as_guest(
    db: &Db,
    id: i64,
    token_hash: &str,
) -> anyhow::Result<Option<(Dossier, crate::collectivite::Coordonnees)>> {
    let row = sqlx::query(&owned_select(
        "id = $1 AND usager_id IS NULL AND guest_token_hash = $2",
    ))
    .bind(id)
    .bind(token_hash)
    .fetch_optional(db.pool())
    .await?;
    owned_from_row(row)
}

/// Any dossier by id (the counter's tracking page finds it by code first).
pub async fn get_any(db: &Db, id: i64) -> anyhow::Result<Option<Dossier>> {
    sqlx::query(&format!("SELECT {COLUMNS} FROM dossiers WHERE id = $1"))
        .bind(id)
        .fetch_optional(db.pool())
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

pub async fn list_for_usager(db: &Db, usager_id: i64) -> anyhow::Result<Vec<Dossier>> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM dossiers WHERE usager_id = $1 ORDER BY id DESC LIMIT 200"
    ))
    .bind(usager_id)
    .fetch_all(db.pool())
    .await?
    .iter()
    .map(from_row)
    .collect()
}

/// A line of the usager's list of dossiers: the dossier and its démarche's title.
#[derive(Debug, Clone)]
pub struct UsagerLine {
    pub id: i64,
    pub number: String,
    pub state: State,
    pub title: String,
}

/// The usager's dossiers, newest first, with their démarche's title: one statement, without
/// their answers.
pub async fn lines_for_usager(db: &Db, usager_id: i64) -> anyhow::Result<Vec<UsagerLine>> {
    sqlx::query(
        "SELECT d.id, d.number, d.state, m.title FROM dossiers d
         LEFT JOIN demarches m ON m.id = d.demarche_id
         WHERE d.usager_id = $1 ORDER BY d.id DESC LIMIT 200",
    )
    .bind(usager_id)
    .fetch_all(db.pool())
    .await?
    .iter()
    .map(|r| {
        Ok(UsagerLine {
            id: r.try_get(0)?,
            number: r.try_get(1)?,
            state: state_of(r, 2)?,
            title: r.try_get::<Option<String>, _>(3)?.unwrap_or_default(),
        })
    })
    .collect()
}

/// Saves the answers of a dossier the usager may still edit. Returns false if it no longer may.
/// `definition` is the dossier's version, which the caller already has: it names the commune.
/// What saving a step changes: the answers, the files added (their contents not stored yet),
/// the ids of the files no longer part of the dossier.
#[derive(Debug, Clone, Default)]
pub struct StepChange {
    pub answers: Answers,
    pub added: Vec<crate::files::NewFile>,
    pub removed: Vec<String>,
}

/// A step of a draft saved: the new files recorded, the files no longer part of it forgotten
/// (their contents deleted after the commit), the answers written, with the trace (a coffre
/// document copied into the dossier is journaled). False, and nothing written, when the dossier
/// is no longer editable by its usager.
pub async fn save_step(
    db: &Db,
    store: &crate::files::FileStore,
    d: &Dossier,
    definition: &Definition,
    step: StepChange,
    trace: crate::trace::Trace,
) -> anyhow::Result<bool> {
    let StepChange {
        answers,
        added,
        removed,
    } = step;
    let answers = &answers;
    crate::files::put_all(store, &added).await?;
    let added_ids: Vec<String> = added.iter().map(|f| f.id.clone()).collect();
    let commune = definition.commune_of(answers);
    let (tenant_id, id, answers) = (d.tenant_id, d.id, serde_json::to_string(answers)?);
    let forgotten = db
        .write(move |conn| {
            Box::pin(async move {
                let saved = sqlx::query(&format!(
                    "UPDATE dossiers SET answers = $1, updated_at = $2, commune_insee = $3 WHERE tenant_id = $4 AND id = $5 AND state IN ({})",
                    editable_states()
                ))
                .bind(answers)
                .bind(crate::now_ms())
                .bind(commune)
                .bind(tenant_id)
                .bind(id)
                .execute(&mut *conn)
                .await?
                .rows_affected()
                    == 1;
                if !saved {
                    return Ok(None);
                }
                crate::files::record_in(conn, tenant_id, id, &added).await?;
                let gone = crate::files::forget_in(conn, tenant_id, id, &removed).await?;
                trace.write(conn).await?;
                Ok(Some(gone))
            })
        })
        .await?;
    match forgotten {
        Some(gone) => {
            crate::files::delete_contents(store, &gone).await;
            Ok(true)
        }
        None => {
            crate::files::delete_contents(store, &added_ids).await;
            Ok(false)
        }
    }
}

pub async fn save_answers(
    db: &Db,
    d: &Dossier,
    definition: &Definition,
    answers: &Answers,
) -> anyhow::Result<bool> {
    let commune = definition.commune_of(answers);
    let (tenant_id, id, answers) = (d.tenant_id, d.id, serde_json::to_string(answers)?);
    db.write(move |conn| {
        Box::pin(async move {
            Ok(sqlx::query(&format!(
                "UPDATE dossiers SET answers = $1, updated_at = $2, commune_insee = $3 WHERE tenant_id = $4 AND id = $5 AND state IN ({})",
                editable_states()
            ))
            .bind(answers)
            .bind(crate::now_ms())
            .bind(commune)
            .bind(tenant_id)
            .bind(id)
            .execute(&mut *conn)
            .await?
            .rows_affected()
                == 1)
        })
    })
    .await
}

/// The states in which the usager may still edit, as an SQL list.
fn editable_states() -> String {
    State::ALL
        .iter()
        .filter(|s| s.editable_by_usager())
        .map(|s| format!("'{}'", s.code()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Who acts, for the history and the journal.
#[derive(Debug, Clone)]
pub struct By {
    pub actor: Actor,
    pub user_id: Option<i64>,
    pub label: String,
    pub ip: Option<String>,
    /// The usager an aidant acts for (journaled as on-behalf-of).
    pub on_behalf_of: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    #[error(transparent)]
    Refused(#[from] TransitionError),
    /// Someone else changed the dossier meanwhile.
    #[error("le dossier a changé entre-temps : rechargez la page")]
    Conflict,
    #[error(transparent)]
    Storage(#[from] anyhow::Error),
}

impl From<sqlx::Error> for ChangeError {
    fn from(e: sqlx::Error) -> Self {
        Self::Storage(e.into())
    }
}

/// Applies an action: new state, history event, audit entry, in one transaction. The update is
/// conditional on the state read, so two agents acting at once cannot both win.
pub async fn change(
    db: &Db,
    d: &Dossier,
    definition: &Definition,
    action: &Action,
    by: &By,
) -> Result<State, ChangeError> {
    let along = Along {
        answers: None,
        notice: |_: &Dossier| Trace::default(),
        team: None,
        asked_again: None,
    };
    change_with(db, d, definition, action, by, along)
        .await
        .map(|changed| changed.state)
}

/// What commits with a change, or not at all: the answers it validated (a deposit) and what
/// `notice` makes of the dossier as changed (the accusé de réception, the usager told of a
/// decision). The change's own history event, journal entry and webhook event always go too.
pub struct Along<N> {
    pub answers: Option<Answers>,
    pub notice: N,
    /// On a first deposit, the team the démarche routes the dossier to (when none is set).
    pub team: Option<i64>,
    /// On a first deposit, the answers that repeated what the usager's profile held.
    pub asked_again: Option<i64>,
}

/// Like `change`, with what goes along; returns the dossier as changed.
pub async fn change_with<N>(
    db: &Db,
    d: &Dossier,
    definition: &Definition,
    action: &Action,
    by: &By,
    along: Along<N>,
) -> Result<Dossier, ChangeError>
where
    N: FnOnce(&Dossier) -> Trace,
{
    change_at(db, d, definition, action, by, crate::now_ms(), false, along).await
}

/// Like `change`, at a given time (tests move the clock instead of waiting for it).
pub async fn change_as_of(
    db: &Db,
    d: &Dossier,
    definition: &Definition,
    action: &Action,
    by: &By,
    now: i64,
) -> Result<State, ChangeError> {
    let along = Along {
        answers: None,
        notice: |_: &Dossier| Trace::default(),
        team: None,
        asked_again: None,
    };
    change_at(db, d, definition, action, by, now, false, along)
        .await
        .map(|changed| changed.state)
}

#[allow(clippy::too_many_arguments)]
async fn change_at<N>(
    db: &Db,
    d: &Dossier,
    definition: &Definition,
    action: &Action,
    by: &By,
    now: i64,
    tacit: bool,
    along: Along<N>,
) -> Result<Dossier, ChangeError>
where
    N: FnOnce(&Dossier) -> Trace,
{
    let to = if tacit {
        match action {
            Action::Accept { .. } => State::Accepte,
            _ => State::Refuse,
        }
    } else {
        transition(d.state, action, by.actor)?
    };
    let message = match action {
        Action::RequestCorrection { message } => Some(message.clone()),
        Action::Refuse { reason } | Action::Close { reason } => Some(reason.clone()),
        Action::Accept { conditions } if !conditions.trim().is_empty() => {
            Some(conditions.trim().to_string())
        }
        _ => None,
    };
    let mut after = d.clone();
    // A (re)submission makes the dossier complete from now: the clock restarts, or resumes with
    // the days that were left when the démarche says so.
    if matches!(
        (d.state, to),
        (_, State::Depose) | (State::EnCorrection, State::EnInstruction)
    ) {
        after.submitted_at = Some(d.submitted_at.unwrap_or(now));
        after.complete_since = Some(now);
        after.deadline_at = match (definition.after_correction, d.deadline_at, d.suspended_at) {
            (ApresCorrection::Reprend, Some(due), Some(stopped))
                if d.state == State::EnCorrection =>
            {
                Some(resumed_deadline(due, stopped, now))
            }
            _ => deadline(now, definition.instruction_delay()),
        };
        after.suspended_at = None;
    }
    if to == State::EnCorrection {
        after.suspended_at = Some(now);
    }
    if (d.state, to) == (State::Brouillon, State::Depose) {
        after.asked_again = along.asked_again;
    }
    after.state = to;
    after.updated_at = now;
    after.tacit = tacit;
    if to.is_final() {
        after.decided_at = Some(now);
        after.decision_reason = message.clone();
    } else {
        after.decided_at = None;
        after.decision_reason = None;
    }
    if let Some(answers) = along.answers {
        after.commune_insee = definition.commune_of(&answers);
        after.answers = answers;
    }
    // Routed on its first deposit: the team goes only where none is set (never over an
    // assignment made meanwhile).
    let routed = along.team.filter(|_| d.assigned_team.is_none());
    if routed.is_some() {
        after.assigned_team = routed;
    }
    let new_answers = if after.answers != d.answers || after.commune_insee != d.commune_insee {
        Some(serde_json::to_string(&after.answers).map_err(anyhow::Error::from)?)
    } else {
        None
    };
    let trace = (along.notice)(&after);
    let webhook_event = state_change_event(d, to, now, tacit, message.as_deref());
    let event = Event {
        tenant_id: Some(d.tenant_id),
        actor_id: by.user_id,
        actor: by.label.clone(),
        on_behalf_of: by.on_behalf_of.clone(),
        action: format!("dossier.{}", to.code()),
        object_type: Some("dossier".into()),
        object_id: Some(d.number.clone()),
        ip: by.ip.clone(),
        details: match routed {
            Some(team) => serde_json::json!({"de": d.state.code(), "vers": to.code(), "implicite": tacit, "equipe": team}),
            None => serde_json::json!({"de": d.state.code(), "vers": to.code(), "implicite": tacit}),
        }
        .to_string(),
    };
    let (from, by_id, by_label) = (d.state, by.user_id, by.label.clone());
    let mut figures = guichet_domain::pilotage::difference(Some(&d.faits()), Some(&after.faits()));
    if to == State::EnCorrection {
        figures.push(guichet_domain::pilotage::correction(now, d.canal));
    }
    let changed = after.clone();
    let applied = db
        .write(move |conn| {
            Box::pin(async move {
                let answers_set = if new_answers.is_some() {
                    "answers = $15, commune_insee = $16, "
                } else {
                    ""
                };
                let sql = format!(
                    "UPDATE dossiers SET {answers_set}state = $1, updated_at = $2, submitted_at = $3, complete_since = $4,
                         deadline_at = $5, decided_at = $6, decision_reason = $7, tacit = $8, suspended_at = $12,
                         assigned_team = COALESCE(assigned_team, $13), asked_again = $14
                     WHERE tenant_id = $9 AND id = $10 AND state = $11"
                );
                let mut update = sqlx::query(&sql)
                .bind(to.code())
                .bind(now)
                .bind(changed.submitted_at)
                .bind(changed.complete_since)
                .bind(changed.deadline_at)
                .bind(changed.decided_at)
                .bind(changed.decision_reason.clone())
                .bind(i64::from(tacit))
                .bind(changed.tenant_id)
                .bind(changed.id)
                .bind(from.code());
                update = update
                    .bind(changed.suspended_at)
                    .bind(routed)
                    .bind(changed.asked_again);
                if let Some(answers) = new_answers {
                    update = update.bind(answers).bind(changed.commune_insee.clone());
                }
                if update.execute(&mut *conn).await?.rows_affected() != 1 {
                    // Nothing written: someone else changed the dossier meanwhile.
                    return Ok(false);
                }
                {
                    use crate::writer::Value::{Int, Text};
                    crate::writer::insert_later(
                        conn,
                        "dossier_events",
                        &[
                            "tenant_id", "dossier_id", "at", "actor_id", "actor", "kind",
                            "from_state", "to_state", "body",
                        ],
                        vec![
                            Int(Some(changed.tenant_id)),
                            Int(Some(changed.id)),
                            Int(Some(now)),
                            Int(by_id),
                            Text(Some(by_label)),
                            Text(Some("etat".into())),
                            Text(Some(from.code().into())),
                            Text(Some(to.code().into())),
                            Text(message),
                        ],
                    )
                    .await?;
                }
                crate::webhook::enqueue_in(
                    conn,
                    changed.tenant_id,
                    changed.demarche_id,
                    &webhook_event,
                    now,
                )
                .await?;
                crate::pilotage::apply_in(conn, changed.tenant_id, changed.demarche_id, &figures)
                    .await?;
                crate::journal::append_in(conn, &event).await?;
                trace.write(conn).await?;
                Ok(true)
            })
        })
        .await?;
    if !applied {
        return Err(ChangeError::Conflict);
    }
    Ok(after)
}

/// The JSON event a démarche's webhook receives when one of its dossiers changes state
/// (documented in docs/WEBHOOKS.md).
pub fn state_change_event(
    d: &Dossier,
    to: State,
    at: i64,
    tacit: bool,
    message: Option<&str>,
) -> serde_json::Value {
    serde_json::json!({
        "type": "dossier.changement_etat",
        "date": crate::rfc3339(at),
        "demarche_id": d.demarche_id,
        "dossier": {
            "id": d.id,
            "numero": d.number,
            "etat_precedent": d.state.code(),
            "etat": to.code(),
            "decision_implicite": tacit,
            "motif": message,
        }
    })
}

/// Applies the tacit decision to every dossier whose deadline passed, each with what `notice`
/// makes of the dossier as decided and its usager's address (the usager told). `now` is
/// injected, so that tests move time instead of sleeping. Returns the dossiers decided, as they
/// were before.
pub async fn apply_tacit_decisions<N>(db: &Db, now: i64, notice: N) -> anyhow::Result<Vec<Dossier>>
where
    N: Fn(&Dossier, Option<&str>) -> Trace,
{
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM dossiers WHERE state IN ('depose', 'en_instruction') AND deadline_at IS NOT NULL AND deadline_at <= $1
         ORDER BY deadline_at LIMIT 1000"
    ))
    .bind(now)
    .fetch_all(db.pool())
    .await?;
    let mut decided = Vec::new();
    for row in rows {
        let d = from_row(&row)?;
        let Some(def) =
            crate::demarche::definition(db, d.tenant_id, d.demarche_id, d.version).await?
        else {
            continue;
        };
        let Some(outcome) = tacit_decision(d.state, d.deadline_at, def.tacit_rule, now) else {
            continue;
        };
        let action = if outcome == State::Accepte {
            Action::Accept {
                conditions: String::new(),
            }
        } else {
            Action::Refuse {
                reason: "décision implicite".into(),
            }
        };
        let by = By {
            actor: Actor::Systeme,
            user_id: None,
            label: format!("système ({})", def.tacit_rule.label()),
            ip: None,
            on_behalf_of: None,
        };
        let email = match d.usager_id {
            Some(id) => crate::compte::by_id(db, id).await?.map(|u| u.email),
            None => None,
        };
        let along = Along {
            answers: None,
            notice: |after: &Dossier| notice(after, email.as_deref()),
            team: None,
            asked_again: None,
        };
        match change_at(db, &d, &def, &action, &by, now, true, along).await {
            Ok(_) => decided.push(d),
            // Decided by an agent meanwhile: nothing to do.
            Err(ChangeError::Conflict) => {}
            Err(e) => return Err(anyhow::anyhow!("{e}")),
        }
    }
    Ok(decided)
}

#[derive(Debug, Clone)]
pub struct HistoryEvent {
    pub at: i64,
    pub actor: String,
    pub kind: String,
    pub from_state: Option<State>,
    pub to_state: Option<State>,
    pub body: Option<String>,
    /// The file attached to a message, if any.
    pub file_id: Option<String>,
    /// The account that acted (none for the platform itself).
    pub actor_id: Option<i64>,
}

pub async fn history(
    db: &Db,
    tenant_id: i64,
    dossier_id: i64,
    include_notes: bool,
) -> anyhow::Result<Vec<HistoryEvent>> {
    let sql = if include_notes {
        "SELECT at, actor, kind, from_state, to_state, body, file_id, actor_id FROM dossier_events WHERE tenant_id = $1 AND dossier_id = $2 ORDER BY id"
    } else {
        "SELECT at, actor, kind, from_state, to_state, body, file_id, actor_id FROM dossier_events WHERE tenant_id = $1 AND dossier_id = $2 AND kind <> 'note' ORDER BY id"
    };
    sqlx::query(sql)
        .bind(tenant_id)
        .bind(dossier_id)
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(|r| {
            Ok(HistoryEvent {
                at: r.try_get(0)?,
                actor: r.try_get(1)?,
                kind: r.try_get(2)?,
                from_state: r
                    .try_get::<Option<String>, _>(3)?
                    .as_deref()
                    .and_then(State::from_code),
                to_state: r
                    .try_get::<Option<String>, _>(4)?
                    .as_deref()
                    .and_then(State::from_code),
                body: r.try_get(5)?,
                file_id: r.try_get(6)?,
                actor_id: r.try_get(7)?,
            })
        })
        .collect()
}

/// A message or a private note on a dossier, with its file if any, and its trace (the other side
/// told by e-mail), in one commit.
#[allow(clippy::too_many_arguments)]
pub async fn post(
    db: &Db,
    store: &crate::files::FileStore,
    d: &Dossier,
    by: &By,
    kind: &str,
    body: &str,
    file: Option<crate::files::NewFile>,
    trace: Trace,
) -> anyhow::Result<()> {
    let files: Vec<_> = file.into_iter().collect();
    crate::files::put_all(store, &files).await?;
    let (tenant_id, id) = (d.tenant_id, d.id);
    let (by_id, by_label, kind, body) = (
        by.user_id,
        by.label.clone(),
        kind.to_string(),
        body.to_string(),
    );
    crate::trace::commit(db, trace, move |conn| {
        Box::pin(async move {
            let file_id = files.first().map(|f| f.id.clone());
            crate::files::record_in(conn, tenant_id, id, &files).await?;
            let line = HistoryLine {
                actor_id: by_id,
                actor: &by_label,
                kind: &kind,
                body: &body,
                file_id: file_id.as_deref(),
            };
            line.insert_in(conn, tenant_id, id, crate::now_ms()).await
        })
    })
    .await
}

/// A line of a dossier's history that is not a change of state: a message, a private note.
pub(crate) struct HistoryLine<'a> {
    pub actor_id: Option<i64>,
    pub actor: &'a str,
    /// "message", or "note" (private: the usager never sees it).
    pub kind: &'a str,
    pub body: &'a str,
    pub file_id: Option<&'a str>,
}

impl HistoryLine<'_> {
    pub(crate) async fn insert_in(
        &self,
        conn: &mut sqlx::AnyConnection,
        tenant_id: i64,
        dossier_id: i64,
        at: i64,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO dossier_events (tenant_id, dossier_id, at, actor_id, actor, kind, body, file_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(tenant_id)
        .bind(dossier_id)
        .bind(at)
        .bind(self.actor_id)
        .bind(self.actor)
        .bind(self.kind)
        .bind(self.body)
        .bind(self.file_id)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }
}

/// Records the agents' annotations privées of a dossier, with a private history line (`summary`)
/// and the trace, in one commit.
pub async fn annotate(
    db: &Db,
    d: &Dossier,
    annotations: &Answers,
    by: &By,
    summary: &str,
    trace: Trace,
) -> anyhow::Result<()> {
    let json = serde_json::to_string(annotations)?;
    let (tenant_id, id, by_id, by_label, summary) = (
        d.tenant_id,
        d.id,
        by.user_id,
        by.label.clone(),
        summary.to_string(),
    );
    crate::trace::commit(db, trace, move |conn| {
        Box::pin(async move {
            let now = crate::now_ms();
            sqlx::query("UPDATE dossiers SET annotations = $1, updated_at = $2 WHERE tenant_id = $3 AND id = $4")
                .bind(&json)
                .bind(now)
                .bind(tenant_id)
                .bind(id)
                .execute(&mut *conn)
                .await?;
            let line = HistoryLine {
                actor_id: by_id,
                actor: &by_label,
                kind: "note",
                body: &summary,
                file_id: None,
            };
            line.insert_in(conn, tenant_id, id, now).await
        })
    })
    .await
}

#[derive(Debug, Clone, Default)]
pub struct QueueFilter {
    pub states: Vec<State>,
    pub demarche_id: Option<i64>,
    pub assigned_to: Option<i64>,
    pub assigned_team: Option<i64>,
    /// INSEE code of the commune.
    pub commune: Option<String>,
    /// Deposited on or after / before this instant (ms).
    pub submitted_from: Option<i64>,
    pub submitted_before: Option<i64>,
    /// Number or applicant name (accents and case ignored, prefix).
    pub text: Option<String>,
    pub overdue_at: Option<i64>,
    /// Oldest first in the queue's order ([`QueueFilter::order`]); newest first otherwise.
    pub oldest_first: bool,
    /// Keyset pagination: dossiers after this one (by id) in the chosen order.
    pub cursor: Option<i64>,
}

/// The order a queue is read in, newest or oldest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueOrder {
    /// By number of creation (the dossier's id).
    Creation,
    /// By deposit instant, then id: a queue filtered by deposit date.
    Deposit,
    /// By deadline, then id: the overdue dossiers.
    Deadline,
}

impl QueueFilter {
    /// A queue filtered by deposit date is read in deposit order, the overdue queue in deadline
    /// order (then by id): the order of their indexes (`(tenant_id, submitted_at)`, and the
    /// open dossiers' `(tenant_id, deadline_at)`), so a page reads its fifty rows instead of
    /// sorting the period, or walking every dossier newer than the oldest deadline. Other
    /// queues are in creation order.
    pub fn order(&self) -> QueueOrder {
        if self.submitted_from.is_some() || self.submitted_before.is_some() {
            QueueOrder::Deposit
        } else if self.overdue_at.is_some() {
            QueueOrder::Deadline
        } else {
            QueueOrder::Creation
        }
    }
}

impl QueueOrder {
    /// The instant the order goes by, before the id; none for the order of creation.
    fn column(self) -> Option<&'static str> {
        match self {
            Self::Creation => None,
            Self::Deposit => Some("submitted_at"),
            Self::Deadline => Some("deadline_at"),
        }
    }
}

/// A page of a collectivité's queue, newest first; stays fast at millions of rows (keyset on the
/// (tenant_id, state, id) index).
pub async fn queue(
    db: &Db,
    tenant_id: i64,
    f: &QueueFilter,
    limit: i64,
) -> anyhow::Result<Vec<Dossier>> {
    let select = format!("SELECT {COLUMNS} FROM dossiers");
    queue_rows(db, &select, "", tenant_id, f, limit)
        .await?
        .iter()
        .map(from_row)
        .collect()
}

/// A row of an agent's queue: what the page shows of a dossier, without its answers.
#[derive(Debug, Clone)]
pub struct QueueLine {
    pub id: i64,
    pub number: String,
    pub demarche_id: i64,
    pub applicant_name: Option<String>,
    pub state: State,
    pub deadline_at: Option<i64>,
    /// The name of the commune the dossier is about.
    pub commune: Option<String>,
}

/// The rows of a page of the queue, as [`queue`] finds them, with their commune's name: one
/// statement, reading only the columns the page shows.
pub async fn queue_lines(
    db: &Db,
    tenant_id: i64,
    f: &QueueFilter,
    limit: i64,
) -> anyhow::Result<Vec<QueueLine>> {
    // The commune's name by a subquery per row shown, not a join: SQLite (3.46) would build a
    // Bloom filter of every commune of France for the join on each page (3.6 ms instead of
    // 0.5 ms a page, measured on 200,000 dossiers).
    let select = "SELECT d.id, d.number, d.demarche_id, d.applicant_name, d.state, d.deadline_at,
             (SELECT c.nom FROM communes c WHERE c.insee = d.commune_insee AND c.kind = 'commune-actuelle')
         FROM dossiers d";
    queue_rows(db, select, "d.", tenant_id, f, limit)
        .await?
        .iter()
        .map(|r| {
            Ok(QueueLine {
                id: r.try_get(0)?,
                number: r.try_get(1)?,
                demarche_id: r.try_get(2)?,
                applicant_name: r.try_get(3)?,
                state: state_of(r, 4)?,
                deadline_at: r.try_get(5)?,
                commune: r.try_get(6)?,
            })
        })
        .collect()
}

/// The statement of a page of the queue and its values: `select` (which names the dossiers
/// table, aliased when `alias` is its prefix such as `"d."`) with the filter's conditions, order and
/// limit.
fn queue_sql(
    db: &Db,
    select: &str,
    alias: &str,
    tenant_id: i64,
    f: &QueueFilter,
    limit: i64,
) -> (String, Vec<BindValue>) {
    let mut sql = format!("{select} WHERE {alias}tenant_id = $1 AND {alias}state <> 'brouillon'");
    let mut binds: Vec<BindValue> = vec![BindValue::Int(tenant_id)];
    let next = |v: BindValue, binds: &mut Vec<BindValue>| {
        binds.push(v);
        format!("${}", binds.len())
    };
    if !f.states.is_empty() {
        let list: Vec<String> = f.states.iter().map(|s| format!("'{}'", s.code())).collect();
        sql += &format!(" AND {alias}state IN ({})", list.join(", "));
    }
    if let Some(d) = f.demarche_id {
        sql += &format!(
            " AND {alias}demarche_id = {}",
            next(BindValue::Int(d), &mut binds)
        );
    }
    if let Some(a) = f.assigned_to {
        sql += &format!(
            " AND {alias}assigned_to = {}",
            next(BindValue::Int(a), &mut binds)
        );
    }
    if let Some(t) = f.assigned_team {
        sql += &format!(
            " AND {alias}assigned_team = {}",
            next(BindValue::Int(t), &mut binds)
        );
    }
    if let Some(c) = &f.commune {
        sql += &format!(
            " AND {alias}commune_insee = {}",
            next(BindValue::Text(c.clone()), &mut binds)
        );
    }
    if let Some(t) = f.submitted_from {
        sql += &format!(
            " AND {alias}submitted_at >= {}",
            next(BindValue::Int(t), &mut binds)
        );
    }
    if let Some(t) = f.submitted_before {
        sql += &format!(
            " AND {alias}submitted_at < {}",
            next(BindValue::Int(t), &mut binds)
        );
    }
    if let Some(t) = f.text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        let number = next(BindValue::Text(t.to_string()), &mut binds);
        let prefix = fold(t);
        let like = next(BindValue::Text(format!("{prefix}%")), &mut binds);
        match prefix_range(&prefix) {
            // A prefix of three letters or more is rare enough to be read from the index of
            // names, as a range; a shorter one matches so many dossiers that the newest are
            // found sooner by walking the queue.
            Some((low, high)) if prefix.chars().count() >= 3 => {
                let collate = db.backend().bytes_collation();
                let low = next(BindValue::Text(low), &mut binds);
                let high = next(BindValue::Text(high), &mut binds);
                sql += &format!(
                    " AND ({alias}number = {number} OR ({alias}applicant_folded{collate} >= {low} AND {alias}applicant_folded{collate} < {high} AND {alias}applicant_folded LIKE {like}))"
                );
            }
            _ => {
                sql += &format!(
                    " AND ({alias}number = {number} OR {alias}applicant_folded LIKE {like})"
                )
            }
        }
    }
    if let Some(now) = f.overdue_at {
        sql += &format!(
            " AND {alias}deadline_at < {} AND {alias}state IN ('depose', 'en_instruction')",
            next(BindValue::Int(now), &mut binds)
        );
    }
    let order = f.order();
    let op = if f.oldest_first { ">" } else { "<" };
    match (f.cursor, order.column()) {
        // The cursor is a dossier of the page before; in an order by an instant, the rows after
        // it are those whose instant comes after its own, or the same instant with an id after
        // its own. The bound on the instant alone is what both databases read the index by.
        (Some(b), Some(col)) => {
            let b = next(BindValue::Int(b), &mut binds);
            let at =
                format!("(SELECT c.{col} FROM dossiers c WHERE c.tenant_id = $1 AND c.id = {b})");
            sql += &format!(
                " AND {alias}{col} {op}= {at} AND ({alias}{col} {op} {at} OR {alias}id {op} {b})"
            );
        }
        (Some(b), None) => {
            sql += &format!(
                " AND {alias}id {op} {}",
                next(BindValue::Int(b), &mut binds)
            );
        }
        (None, _) => {}
    }
    // A filter without an index of its own (every state, several states, an agent or a team)
    // in creation order:
    // PostgreSQL's planner walks the primary key from the newest dossier of the platform,
    // expecting to meet the collectivité's soon; a collectivité whose newest dossiers are far
    // from the platform's (a small one) costs it seconds at ten million dossiers. Bounding the
    // collectivité's own index (tenant_id, id, migration 0042) by a row comparison makes the
    // planner read it, in the page's order (2.4 s -> 0.1 ms measured, docs/PERFORMANCE.md).
    let own_index = f.states.len() == 1
        || order != QueueOrder::Creation
        || f.demarche_id.is_some()
        || f.text.is_some()
        || f.commune.is_some();
    if db.backend() == crate::conn::Backend::Postgres && !own_index {
        let (op, bound) = match (f.oldest_first, f.cursor) {
            (true, c) => (">", c.unwrap_or(0)),
            (false, c) => ("<", c.unwrap_or(i64::MAX)),
        };
        sql += &format!(
            " AND ({alias}tenant_id, {alias}id) {op} ($1, {})",
            next(BindValue::Int(bound), &mut binds)
        );
    }
    let direction = if f.oldest_first { "ASC" } else { "DESC" };
    let by = match order.column() {
        Some(col) => format!("{alias}{col} {direction}, {alias}id {direction}"),
        None => format!("{alias}id {direction}"),
    };
    sql += &format!(" ORDER BY {by} LIMIT {}", limit.clamp(1, 500));
    (sql, binds)
}

/// The rows of a page of the queue: [`queue_sql`]'s statement, bound and run.
async fn queue_rows(
    db: &Db,
    select: &str,
    alias: &str,
    tenant_id: i64,
    f: &QueueFilter,
    limit: i64,
) -> anyhow::Result<Vec<AnyRow>> {
    let (sql, binds) = queue_sql(db, select, alias, tenant_id, f, limit);
    let mut q = sqlx::query(&sql);
    for b in binds {
        q = match b {
            BindValue::Int(i) => q.bind(i),
            BindValue::Text(t) => q.bind(t),
        };
    }
    Ok(q.fetch_all(db.pool()).await?)
}

enum BindValue {
    Int(i64),
    Text(String),
}

/// The strings that begin with `prefix`, as a range in code point order: [low, high).
fn prefix_range(prefix: &str) -> Option<(String, String)> {
    let last = prefix.chars().last()?;
    let next = (u32::from(last) + 1..=u32::from(char::MAX)).find_map(char::from_u32)?;
    let mut high = prefix[..prefix.len() - last.len_utf8()].to_string();
    high.push(next);
    Some((prefix.to_string(), high))
}

/// Assigns the dossier to an agent and/or a team of its collectivité (or to nobody).
/// Assigns dossiers of a collectivité to an agent and a team, each with its journal entry (a copy
/// of `event` naming the dossier), in one commit; drafts, which agents do not see, are left alone.
/// Returns the numbers of the dossiers assigned.
pub async fn assign_traced(
    db: &Db,
    tenant_id: i64,
    ids: &[i64],
    agent: Option<i64>,
    equipe: Option<i64>,
    event: guichet_domain::journal::Event,
) -> anyhow::Result<Vec<String>> {
    let ids = ids.to_vec();
    db.write(move |conn| {
        Box::pin(async move {
            let now = crate::now_ms();
            let mut done = Vec::new();
            for id in ids {
                let row = sqlx::query(
                    "UPDATE dossiers SET assigned_to = $1, assigned_team = $2, updated_at = $3
                     WHERE tenant_id = $4 AND id = $5 AND state <> 'brouillon' RETURNING number",
                )
                .bind(agent)
                .bind(equipe)
                .bind(now)
                .bind(tenant_id)
                .bind(id)
                .fetch_optional(&mut *conn)
                .await?;
                let Some(row) = row else { continue };
                let number: String = row.try_get(0)?;
                let mut e = event.clone();
                e.object_type = Some("dossier".into());
                e.object_id = Some(number.clone());
                crate::journal::append_in(conn, &e).await?;
                done.push(number);
            }
            Ok(done)
        })
    })
    .await
}

/// Dossiers of a démarche for partner software, oldest change first, from a cursor
/// `(updated_at, id)` (exclusive): a client that stores the last cursor misses nothing.
pub async fn changed_since(
    db: &Db,
    tenant_id: i64,
    demarche_id: i64,
    state: Option<State>,
    after: (i64, i64),
    limit: i64,
) -> anyhow::Result<Vec<Dossier>> {
    let state_clause = match state {
        Some(s) => format!(" AND state = '{}'", s.code()),
        None => String::new(),
    };
    let sql = format!(
        "SELECT {COLUMNS} FROM dossiers WHERE tenant_id = $1 AND demarche_id = $2 AND state <> 'brouillon'{state_clause}
           AND (updated_at > $3 OR (updated_at = $3 AND id > $4))
         ORDER BY updated_at, id LIMIT {}",
        limit.clamp(1, 1000)
    );
    sqlx::query(&sql)
        .bind(tenant_id)
        .bind(demarche_id)
        .bind(after.0)
        .bind(after.1)
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(from_row)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::prefix_range;

    #[test]
    fn a_prefix_is_the_range_up_to_its_last_letter_plus_one() {
        assert_eq!(
            prefix_range("dupont"),
            Some(("dupont".into(), "duponu".into()))
        );
        assert_eq!(prefix_range("zo"), Some(("zo".into(), "zp".into())));
        // A letter before the surrogates is followed by the first one after them.
        assert_eq!(
            prefix_range("a\u{d7ff}"),
            Some(("a\u{d7ff}".into(), "a\u{e000}".into()))
        );
        assert_eq!(prefix_range(""), None);
    }
}
