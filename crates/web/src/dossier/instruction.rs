//! Processing dossiers (instructeurs): queues, the dossier page, decisions, messages and notes.

use crate::auth::{CollectiviteContext, Visitor};
use crate::dossier::{answers_html, mails};
use crate::error::AppError;
use crate::form::Errors;
use crate::form::Fields;
use crate::format::format_day;
use crate::layout::Layout;
use crate::page::{html, not_found};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::Form;
use guichet_domain::demarche::{Answers, FieldError};
use guichet_domain::dossier::{transition, Action, Actor, State as DState};
use guichet_domain::role::Role;
use guichet_store::dossier::{self, By, ChangeError, Dossier, QueueFilter};
use guichet_store::trace::Trace;
use guichet_store::{collectivite::Collectivite, demarche, journal};
use serde::Deserialize;

const TABS: &[(&str, &str)] = &[
    ("a-traiter", "À traiter"),
    ("suivis", "Suivis par moi"),
    ("en-instruction", "En instruction"),
    ("en-correction", "En correction"),
    ("en-retard", "En retard"),
    ("traites", "Traités"),
    ("tous", "Tous"),
];

pub struct Row {
    pub id: i64,
    pub number: String,
    pub demarche: String,
    pub applicant: String,
    pub state: &'static str,
    pub deadline: String,
    /// The commune the dossier is about, by name.
    pub commune: String,
}

#[derive(Template)]
#[template(path = "dossier/file-attente.html")]
struct QueuePage {
    layout: Layout,
    collectivite: Collectivite,
    tabs: &'static [(&'static str, &'static str)],
    current: String,
    q: QueueQuery,
    /// Agents who process dossiers: (id, name).
    agents: Vec<(i64, String)>,
    equipes: Vec<(i64, String)>,
    errors: Errors,
    rows: Vec<Row>,
    /// The query string of these filters, for the export links.
    query: String,
    next_page: Option<String>,
    /// What the rows are ordered by, when not by creation: "date de dépôt", "échéance".
    order_by: Option<&'static str>,
    /// The collectivité's démarches, to filter by: (id, title).
    demarches: Vec<(i64, String)>,
    flash: Option<String>,
}

#[derive(Deserialize, Default, Clone, serde::Serialize)]
pub struct QueueQuery {
    #[serde(default)]
    pub file: String,
    #[serde(default)]
    pub q: String,
    /// Deposited from / up to (inclusive) these days, YYYY-MM-DD.
    #[serde(default)]
    pub du: String,
    #[serde(default)]
    pub au: String,
    /// INSEE code or name of the commune.
    #[serde(default)]
    pub commune: String,
    #[serde(default)]
    pub agent: String,
    #[serde(default)]
    pub equipe: String,
    /// Id of a démarche of the collectivité.
    #[serde(default)]
    pub demarche: String,
    /// "anciens": oldest first; newest first otherwise.
    #[serde(default)]
    pub ordre: String,
    #[serde(skip_serializing)]
    pub curseur: Option<i64>,
}

impl QueueQuery {
    fn current_tab(&self, default: &str) -> String {
        if TABS.iter().any(|(k, _)| *k == self.file) {
            self.file.clone()
        } else {
            default.to_string()
        }
    }
}

const PAGE: i64 = 50;

/// The filter behind a queue tab and the filters typed by the agent; French errors on bad input.
pub async fn queue_filter(
    state: &AppState,
    tenant_id: i64,
    current: &str,
    q: &QueueQuery,
    me: Option<i64>,
) -> anyhow::Result<(QueueFilter, Errors)> {
    let mut errors = Errors::default();
    let mut filter = QueueFilter {
        text: Some(q.q.clone()).filter(|s| !s.trim().is_empty()),
        oldest_first: q.ordre == "anciens",
        cursor: q.curseur,
        ..Default::default()
    };
    match current {
        "a-traiter" => filter.states = vec![DState::Depose],
        "suivis" => filter.assigned_to = me,
        "en-instruction" => filter.states = vec![DState::EnInstruction],
        "en-correction" => filter.states = vec![DState::EnCorrection],
        "en-retard" => filter.overdue_at = Some(guichet_store::now_ms()),
        "traites" => filter.states = vec![DState::Accepte, DState::Refuse, DState::SansSuite],
        _ => {}
    }
    (filter.submitted_from, filter.submitted_before) =
        crate::form::day_range(&q.du, &q.au, &mut errors);
    filter.commune = crate::form::commune_filter(state, &q.commune, &mut errors).await?;
    if !q.agent.is_empty() {
        match q.agent.parse() {
            Ok(a) => filter.assigned_to = Some(a),
            Err(_) => errors.add("agent", "Choisissez un agent dans la liste."),
        }
    }
    if !q.equipe.is_empty() {
        let equipes = guichet_store::equipe::equipes(&state.db, tenant_id).await?;
        match q
            .equipe
            .parse::<i64>()
            .ok()
            .filter(|t| equipes.iter().any(|x| x.id == *t))
        {
            Some(t) => filter.assigned_team = Some(t),
            None => errors.add("equipe", "Choisissez une équipe dans la liste."),
        }
    }
    if !q.demarche.is_empty() {
        let own = demarche::list(&state.db, tenant_id).await?;
        match q
            .demarche
            .parse::<i64>()
            .ok()
            .filter(|d| own.iter().any(|x| x.id == *d))
        {
            Some(d) => filter.demarche_id = Some(d),
            None => errors.add("demarche", "Choisissez une démarche dans la liste."),
        }
    }
    Ok((filter, errors))
}

/// Agents of the collectivité who process dossiers: (id, name).
async fn processing_agents(state: &AppState, tenant_id: i64) -> anyhow::Result<Vec<(i64, String)>> {
    Ok(guichet_store::equipe::members(&state.db, tenant_id)
        .await?
        .into_iter()
        .filter(|m| {
            guichet_domain::role::allowed(
                &m.roles,
                guichet_domain::role::Permission::ProcessDossiers,
            )
        })
        .map(|m| (m.user_id, m.display_name))
        .collect())
}

pub async fn queue(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    Query(q): Query<QueueQuery>,
) -> Result<Response, AppError> {
    queue_page(&state, &visitor, ctx, q, None, Errors::default()).await
}

async fn queue_page(
    state: &AppState,
    visitor: &Visitor,
    ctx: CollectiviteContext,
    q: QueueQuery,
    flash: Option<String>,
    bulk_errors: Errors,
) -> Result<Response, AppError> {
    let current = q.current_tab("a-traiter");
    let me = visitor.user.as_ref().map(|u| u.id);
    let (filter, mut errors) = queue_filter(state, ctx.collectivite.id, &current, &q, me).await?;
    let filters_ok = errors.is_empty();
    for (field, message) in bulk_errors.list() {
        errors.add(field.clone(), message.clone());
    }
    // One row more than a page tells whether a next page exists (no link to an empty page).
    let mut dossiers = if filters_ok {
        dossier::queue_lines(&state.db, ctx.collectivite.id, &filter, PAGE + 1).await?
    } else {
        Vec::new()
    };
    let more = dossiers.len() as i64 > PAGE;
    dossiers.truncate(PAGE as usize);
    // The collectivité's démarches name the rows and fill the filter's list.
    let demarches: Vec<(i64, String)> = demarche::list(&state.db, ctx.collectivite.id)
        .await?
        .into_iter()
        .map(|d| (d.id, d.title))
        .collect();
    let titles: std::collections::HashMap<i64, &str> =
        demarches.iter().map(|(id, t)| (*id, t.as_str())).collect();
    let rows: Vec<Row> = dossiers
        .iter()
        .map(|x| Row {
            id: x.id,
            number: x.number.clone(),
            demarche: titles
                .get(&x.demarche_id)
                .map(|t| t.to_string())
                .unwrap_or_default(),
            applicant: x.applicant_name.clone().unwrap_or_default(),
            state: x.state.label(),
            deadline: x.deadline_at.map(format_day).unwrap_or_else(|| "—".into()),
            commune: x.commune.clone().unwrap_or_else(|| "—".into()),
        })
        .collect();
    let mut filters = q.clone();
    filters.file = current.clone();
    let query = serde_urlencoded::to_string(&filters).unwrap_or_default();
    let next_page = more.then(|| {
        let last = dossiers.last().map(|x| x.id).unwrap_or_default();
        format!(
            "/admin/{}/dossiers?{query}&curseur={last}",
            ctx.collectivite.slug
        )
    });
    let status = errors.status();
    let page = QueuePage {
        layout: Layout::for_visitor(state, visitor).await,
        demarches,
        flash,
        agents: processing_agents(state, ctx.collectivite.id).await?,
        equipes: guichet_store::equipe::equipes(&state.db, ctx.collectivite.id)
            .await?
            .into_iter()
            .map(|t| (t.id, t.name))
            .collect(),
        collectivite: ctx.collectivite,
        tabs: TABS,
        current,
        q,
        errors,
        rows,
        query,
        next_page,
        order_by: match filter.order() {
            dossier::QueueOrder::Creation => None,
            dossier::QueueOrder::Deposit => Some("date de dépôt"),
            dossier::QueueOrder::Deadline => Some("échéance"),
        },
    };
    Ok((status, html(&page)?).into_response())
}

#[derive(Template)]
#[template(path = "dossier/dossier-agent.html")]
struct DossierPage {
    layout: Layout,
    collectivite: Collectivite,
    d: Dossier,
    title: String,
    deadline: String,
    actions: Vec<(&'static str, &'static str)>,
    answers_html: String,
    /// The form of the annotations privées, empty when the démarche has none.
    annotations_html: String,
    avis: Vec<crate::dossier::avis::AvisLine>,
    /// (id, name, KB)
    files: Vec<(String, String, i64)>,
    /// Agents who process dossiers: (id, name, assigned to this one)
    equipe: Vec<(i64, String, bool)>,
    /// Teams: (id, name, assigned to this one)
    equipes: Vec<(i64, String, bool)>,
    history: Vec<crate::dossier::HistoryLine>,
    errors: Errors,
    flash: Option<String>,
}

fn actor(ctx: &CollectiviteContext) -> Actor {
    if ctx.roles.contains(&Role::Admin) {
        Actor::Admin
    } else {
        Actor::Agent
    }
}

/// The action behind each choice of the form, with a placeholder reason.
fn action_for(code: &str, reason: &str) -> Option<Action> {
    Some(match code {
        "instruire" => Action::StartInstruction,
        "corriger" => Action::RequestCorrection {
            message: reason.to_string(),
        },
        "accepter" => Action::Accept {
            conditions: reason.to_string(),
        },
        "refuser" => Action::Refuse {
            reason: reason.to_string(),
        },
        "classer" => Action::Close {
            reason: reason.to_string(),
        },
        "rouvrir" => Action::Reopen,
        _ => return None,
    })
}

const CHOICES: &[(&str, &str)] = &[
    ("instruire", "Passer en instruction"),
    ("corriger", "Demander une correction à l'usager"),
    ("accepter", "Accepter"),
    ("refuser", "Refuser (motif obligatoire)"),
    ("classer", "Classer sans suite (motif obligatoire)"),
    ("rouvrir", "Rouvrir le dossier (administrateur)"),
];

pub(crate) async fn dossier_page(
    state: &AppState,
    visitor: &Visitor,
    ctx: &CollectiviteContext,
    id: i64,
    errors: Errors,
    flash: Option<String>,
) -> Result<Response, AppError> {
    dossier_page_with(state, visitor, ctx, id, errors, flash, None).await
}

/// The agents' page of a dossier; `typed`: annotations refused, shown as typed with their errors.
async fn dossier_page_with(
    state: &AppState,
    visitor: &Visitor,
    ctx: &CollectiviteContext,
    id: i64,
    errors: Errors,
    flash: Option<String>,
    typed: Option<(Answers, Vec<FieldError>)>,
) -> Result<Response, AppError> {
    let Some(x) = dossier::get_for_agents(&state.db, ctx.collectivite.id, id).await? else {
        return Ok(not_found(State(state.clone())).await);
    };
    if x.state == DState::Brouillon {
        // A draft is the usager's own business until they submit it.
        return Ok(not_found(State(state.clone())).await);
    }
    let Some(def) = demarche::definition(&state.db, x.tenant_id, x.demarche_id, x.version).await?
    else {
        return Ok(not_found(State(state.clone())).await);
    };
    // Every look at a usager's dossier is in the journal.
    let event = visitor.event_on(
        Some(ctx.collectivite.id),
        "dossier.consultation",
        "dossier",
        &x.number,
    );
    journal::append(&state.db, &event).await?;
    let who = actor(ctx);
    let actions = CHOICES
        .iter()
        .filter(|(code, _)| {
            action_for(code, "motif").is_some_and(|a| transition(x.state, &a, who).is_ok())
        })
        .copied()
        .collect();
    let files = guichet_store::files::of_dossier(&state.db, x.tenant_id, x.id).await?;
    let names = crate::dossier::file_names(state, &x, &def, &files).await?;
    let history = crate::dossier::history_lines(state, &x, true, &files).await?;
    let status = errors.status();
    let page = DossierPage {
        layout: Layout::for_visitor(state, visitor).await,
        collectivite: ctx.collectivite.clone(),
        title: def.title.clone(),
        deadline: x
            .deadline_at
            .map(format_day)
            .unwrap_or_else(|| "aucune".into()),
        actions,
        answers_html: answers_html(&def, &x.answers, &names),
        avis: crate::dossier::avis::lines(state, x.tenant_id, x.id).await?,
        annotations_html: {
            let (values, field_errors) =
                typed.unwrap_or_else(|| (x.annotations.clone(), Vec::new()));
            let form = def.annotations_form();
            crate::demarche::formulaire::Renderer {
                answers: &values,
                errors: &field_errors,
                labels: form
                    .all_fields()
                    .iter()
                    .map(|f| (f.id.clone(), f.label.clone()))
                    .collect(),
                id_prefix: "annotation-",
                file_names: &Default::default(),
                coffre: &[],
                settle_earlier: false,
            }
            .render(&def.annotations)
        },
        equipe: processing_agents(state, ctx.collectivite.id)
            .await?
            .into_iter()
            .map(|(id, name)| (id, name, Some(id) == x.assigned_to))
            .collect(),
        equipes: guichet_store::equipe::equipes(&state.db, ctx.collectivite.id)
            .await?
            .into_iter()
            .map(|t| (t.id, t.name, Some(t.id) == x.assigned_team))
            .collect(),
        files: files
            .into_iter()
            .map(|f| (f.id, f.name, f.size / 1024 + 1))
            .collect(),
        history,
        errors,
        flash,
        d: x,
    };
    Ok((status, html(&page)?).into_response())
}

pub async fn show(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    Path((_, id)): Path<(String, i64)>,
) -> Result<Response, AppError> {
    dossier_page(&state, &visitor, &ctx, id, Errors::default(), None).await
}

#[derive(Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    action: String,
    #[serde(default)]
    motif: String,
}

pub(crate) fn by(visitor: &Visitor, ctx: &CollectiviteContext) -> By {
    By {
        actor: actor(ctx),
        user_id: visitor.user.as_ref().map(|u| u.id),
        label: visitor
            .user
            .as_ref()
            .map(|u| u.email.clone())
            .unwrap_or_default(),
        ip: visitor.ip.clone(),
        on_behalf_of: None,
    }
}

/// Records the annotations privées: checked like the usager's answers, refused with their
/// messages on their fields, or saved with a private line in the history.
pub async fn annotate(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    Path((_, id)): Path<(String, i64)>,
    form: Fields,
) -> Result<Response, AppError> {
    let Some(x) = dossier::get_for_agents(&state.db, ctx.collectivite.id, id).await? else {
        return Ok(not_found(State(state)).await);
    };
    let Some(def) = demarche::definition(&state.db, x.tenant_id, x.demarche_id, x.version).await?
    else {
        return Ok(not_found(State(state)).await);
    };
    if x.state == DState::Brouillon || def.annotations.is_empty() {
        return Ok(not_found(State(state)).await);
    }
    let (typed, _) = Answers::from_form(form.0);
    let sheet = def.annotations_form();
    let checked = guichet_domain::demarche::validate(&sheet, &typed, crate::format::paris_today());
    let values = match checked {
        Ok(values) => values,
        Err(field_errors) => {
            let mut errors = Errors::default();
            for e in &field_errors {
                errors.add(
                    format!("annotation-{}", crate::demarche::formulaire::dom_id(&e.key)),
                    format!("{} : {}", sheet.key_label(&e.key), e.message),
                );
            }
            return dossier_page_with(
                &state,
                &visitor,
                &ctx,
                id,
                errors,
                None,
                Some((typed, field_errors)),
            )
            .await;
        }
    };
    let summary = format!(
        "Annotations privées : {}",
        def.annotations
            .iter()
            .filter(|f| f.kind.has_value())
            .map(|f| format!("{} = {}", f.label, values.all(&f.id).join(", ")))
            .collect::<Vec<_>>()
            .join(" ; ")
    );
    let event = visitor.event_on(
        Some(ctx.collectivite.id),
        "dossier.annotation",
        "dossier",
        &x.number,
    );
    dossier::annotate(
        &state.db,
        &x,
        &values,
        &by(&visitor, &ctx),
        &summary,
        Trace::of(event),
    )
    .await?;
    dossier_page(
        &state,
        &visitor,
        &ctx,
        id,
        Errors::default(),
        Some("Annotations enregistrées.".into()),
    )
    .await
}

pub async fn act(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    Path((_, id)): Path<(String, i64)>,
    Form(f): Form<ActionForm>,
) -> Result<Response, AppError> {
    let Some(x) = dossier::get_for_agents(&state.db, ctx.collectivite.id, id).await? else {
        return Ok(not_found(State(state)).await);
    };
    let Some(def) = demarche::definition(&state.db, x.tenant_id, x.demarche_id, x.version).await?
    else {
        return Ok(not_found(State(state)).await);
    };
    let mut errors = Errors::default();
    let Some(action) = action_for(&f.action, f.motif.trim()) else {
        errors.add("action", "Choisissez une action.");
        return dossier_page(&state, &visitor, &ctx, id, errors, None).await;
    };
    let email = crate::dossier::usager_email(&state, &x).await?;
    let notice = |after: &Dossier| match &email {
        Some(to) => Trace::default().mail(mails::state_change(
            &state.config,
            after,
            to,
            &def.title,
            after.state,
            &f.motif,
        )),
        None => Trace::default(),
    };
    let along = dossier::Along {
        answers: None,
        notice,
        team: None,
        asked_again: None,
    };
    match dossier::change_with(&state.db, &x, &def, &action, &by(&visitor, &ctx), along).await {
        Ok(after) => {
            let to = after.state;
            dossier_page(
                &state,
                &visitor,
                &ctx,
                id,
                Errors::default(),
                Some(format!(
                    "Dossier {} ; l'usager est prévenu par courriel.",
                    to.label()
                )),
            )
            .await
        }
        Err(ChangeError::Refused(e)) => {
            errors.add("motif", format!("Action impossible : {e}."));
            dossier_page(&state, &visitor, &ctx, id, errors, None).await
        }
        Err(ChangeError::Conflict) => {
            errors.add(
                "action",
                "Le dossier a changé entre-temps (un autre agent l'a traité) : vérifiez son état.",
            );
            dossier_page(&state, &visitor, &ctx, id, errors, None).await
        }
        Err(ChangeError::Storage(e)) => Err(e.into()),
    }
}

/// An agent downloads a file of a dossier of their collectivité; journaled like any access.
pub async fn file(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    Path((_, id, file_id)): Path<(String, i64, String)>,
) -> Result<Response, AppError> {
    let Some(x) = dossier::get_for_agents(&state.db, ctx.collectivite.id, id).await? else {
        return Ok(not_found(State(state)).await);
    };
    if x.state == DState::Brouillon {
        return Ok(not_found(State(state)).await);
    }
    let Some(f) = guichet_store::files::get(&state.db, ctx.collectivite.id, x.id, &file_id).await?
    else {
        return Ok(not_found(State(state)).await);
    };
    let mut event = visitor.event_on(
        Some(ctx.collectivite.id),
        "dossier.fichier.consultation",
        "dossier",
        &x.number,
    );
    event.details = serde_json::json!({"fichier": f.name, "sha256": f.sha256}).to_string();
    journal::append(&state.db, &event).await?;
    let bytes = state.config.files.get(&f.id).await?;
    Ok(crate::page::download(&f, bytes))
}

#[derive(Deserialize)]
pub struct AssignForm {
    #[serde(default)]
    agent: String,
    #[serde(default)]
    equipe: String,
}

/// Assigns the dossier to an agent of the collectivité who processes dossiers (or to nobody).
pub async fn assign(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    Path((_, id)): Path<(String, i64)>,
    Form(f): Form<AssignForm>,
) -> Result<Response, AppError> {
    let Some(x) = dossier::get_for_agents(&state.db, ctx.collectivite.id, id).await? else {
        return Ok(not_found(State(state)).await);
    };
    let members = guichet_store::equipe::members(&state.db, ctx.collectivite.id).await?;
    let target = match f.agent.trim() {
        "" => None,
        v => match v.parse::<i64>().ok().and_then(|id| {
            members.iter().find(|m| {
                m.user_id == id
                    && guichet_domain::role::allowed(
                        &m.roles,
                        guichet_domain::role::Permission::ProcessDossiers,
                    )
            })
        }) {
            Some(m) => Some(m),
            None => {
                let mut errors = Errors::default();
                errors.add(
                    "agent",
                    "Choisissez un agent de l'équipe qui instruit les dossiers.",
                );
                return dossier_page(&state, &visitor, &ctx, id, errors, None).await;
            }
        },
    };
    let equipes = guichet_store::equipe::equipes(&state.db, ctx.collectivite.id).await?;
    let equipe = match f.equipe.trim() {
        "" => None,
        v => match v
            .parse::<i64>()
            .ok()
            .and_then(|id| equipes.iter().find(|t| t.id == id))
        {
            Some(t) => Some(t),
            None => {
                let mut errors = Errors::default();
                errors.add("equipe", "Choisissez une équipe de la collectivité.");
                return dossier_page(&state, &visitor, &ctx, id, errors, None).await;
            }
        },
    };
    let mut event = visitor.event(Some(ctx.collectivite.id), "dossier.attribution");
    event.details = serde_json::json!({
        "agent": target.map(|m| m.email.clone()),
        "equipe": equipe.map(|t| t.name.clone()),
    })
    .to_string();
    let assigned = dossier::assign_traced(
        &state.db,
        ctx.collectivite.id,
        &[x.id],
        target.map(|m| m.user_id),
        equipe.map(|t| t.id),
        event,
    )
    .await?;
    if assigned.is_empty() {
        // A draft: agents do not see it, so they do not write on it either.
        return Ok(not_found(State(state)).await);
    }
    let flash = match (target, equipe) {
        (Some(m), Some(t)) => format!("Dossier attribué à {} ({}).", m.display_name, t.name),
        (Some(m), None) => format!("Dossier attribué à {}.", m.display_name),
        (None, Some(t)) => format!("Dossier attribué à l'équipe {}.", t.name),
        (None, None) => "Dossier sans attribution.".to_string(),
    };
    dossier_page(&state, &visitor, &ctx, id, Errors::default(), Some(flash)).await
}

/// Every file of a dossier in one ZIP archive; journaled.
pub async fn files_zip(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    Path((_, id)): Path<(String, i64)>,
) -> Result<Response, AppError> {
    use axum::http::header;
    use std::io::Write;
    let Some(x) = dossier::get_for_agents(&state.db, ctx.collectivite.id, id).await? else {
        return Ok(not_found(State(state)).await);
    };
    if x.state == DState::Brouillon {
        return Ok(not_found(State(state)).await);
    }
    let files = guichet_store::files::of_dossier(&state.db, ctx.collectivite.id, x.id).await?;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let mut used = std::collections::HashSet::new();
    for (i, f) in files.iter().enumerate() {
        // Two files may share a name: number them.
        let name = if used.insert(f.name.clone()) {
            f.name.clone()
        } else {
            format!("{}-{}", i + 1, f.name)
        };
        zip.start_file(name, options)?;
        zip.write_all(&state.config.files.get(&f.id).await?)?;
    }
    let bytes = zip.finish()?.into_inner();
    let event = visitor.event_on(
        Some(ctx.collectivite.id),
        "dossier.fichiers.export",
        "dossier",
        &x.number,
    );
    journal::append(&state.db, &event).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/zip".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"dossier-{}.zip\"", x.number),
            ),
        ],
        bytes,
    )
        .into_response())
}

/// Several dossiers of the queue at once: move them to instruction, or assign them to an agent.
pub async fn bulk(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    body: String,
) -> Result<Response, AppError> {
    let pairs = Fields::parse(&body).0;
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let ids: Vec<i64> = pairs
        .iter()
        .filter(|(k, _)| k == "dossiers")
        .filter_map(|(_, v)| v.parse().ok())
        .take(PAGE as usize)
        .collect();
    let q = QueueQuery {
        file: get("file"),
        ..Default::default()
    };
    let mut errors = Errors::default();
    if ids.is_empty() {
        errors.add("dossiers", "Cochez au moins un dossier.");
    }
    let action = get("lot");
    let agent = get("agent_lot");
    let target = if action == "attribuer" {
        match agent.parse::<i64>().ok() {
            Some(id) => {
                let agents = processing_agents(&state, ctx.collectivite.id).await?;
                match agents.into_iter().find(|(a, _)| *a == id) {
                    Some(a) => Some(a),
                    None => {
                        errors.add(
                            "agent_lot",
                            "Choisissez un agent qui instruit les dossiers.",
                        );
                        None
                    }
                }
            }
            None => {
                errors.add(
                    "agent_lot",
                    "Choisissez l'agent à qui attribuer les dossiers.",
                );
                None
            }
        }
    } else {
        None
    };
    if action != "attribuer" && action != "instruire" {
        errors.add(
            "lot",
            "Choisissez l'action à appliquer aux dossiers cochés.",
        );
    }
    if !errors.is_empty() {
        return queue_page(&state, &visitor, ctx, q, None, errors).await;
    }
    let flash = if let Some((agent_id, name)) = target {
        let mut event = visitor.event(Some(ctx.collectivite.id), "dossier.attribution");
        event.details = serde_json::json!({"agent_id": agent_id, "lot": true}).to_string();
        let done = dossier::assign_traced(
            &state.db,
            ctx.collectivite.id,
            &ids,
            Some(agent_id),
            None,
            event,
        )
        .await?;
        format!("{} dossier(s) attribué(s) à {name}.", done.len())
    } else {
        let (mut moved, mut refused) = (0, 0);
        for id in ids {
            let Some(x) = dossier::get_for_agents(&state.db, ctx.collectivite.id, id).await? else {
                continue;
            };
            let Some(def) =
                demarche::definition(&state.db, x.tenant_id, x.demarche_id, x.version).await?
            else {
                continue;
            };
            let email = crate::dossier::usager_email(&state, &x).await?;
            let notice = |after: &Dossier| match &email {
                Some(to) => Trace::default().mail(mails::state_change(
                    &state.config,
                    after,
                    to,
                    &def.title,
                    after.state,
                    "",
                )),
                None => Trace::default(),
            };
            let along = dossier::Along {
                answers: None,
                notice,
                team: None,
                asked_again: None,
            };
            match dossier::change_with(
                &state.db,
                &x,
                &def,
                &Action::StartInstruction,
                &by(&visitor, &ctx),
                along,
            )
            .await
            {
                Ok(_) => moved += 1,
                Err(ChangeError::Storage(e)) => return Err(e.into()),
                Err(_) => refused += 1,
            }
        }
        if refused == 0 {
            format!("{moved} dossier(s) passé(s) en instruction.")
        } else {
            format!("{moved} dossier(s) passé(s) en instruction ; {refused} ne pouvai(en)t pas l'être dans leur état.")
        }
    };
    queue_page(&state, &visitor, ctx, q, Some(flash), Errors::default()).await
}
