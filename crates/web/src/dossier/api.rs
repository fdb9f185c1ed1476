//! The API's dossiers: list by démarche, read, change state, send a message; every access and
//! change journaled as in the back office.

use crate::api::{error, internal, rfc3339, ApiError};
use crate::dossier::mails;
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use guichet_domain::dossier::{Action, Actor, State as DState};
use guichet_store::dossier::{self, By, ChangeError, Dossier};
use guichet_store::jeton::Jeton;
use guichet_store::trace::Trace;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Serialize, ToSchema)]
pub struct ApiDossier {
    id: i64,
    number: String,
    demarche_id: i64,
    /// Version of the démarche the dossier was filled with.
    version: i64,
    /// depose, en_instruction, en_correction, accepte, refuse, sans_suite
    state: String,
    applicant_name: Option<String>,
    /// Answers by input name (`enfants[0].prenom` inside blocks); files as `fichier:<id>`.
    answers: std::collections::BTreeMap<String, Vec<String>>,
    created_at: Option<String>,
    updated_at: Option<String>,
    submitted_at: Option<String>,
    deadline_at: Option<String>,
    decided_at: Option<String>,
    /// The decision was taken by law at the deadline.
    tacit: bool,
    decision_reason: Option<String>,
}

impl From<Dossier> for ApiDossier {
    fn from(x: Dossier) -> Self {
        Self {
            id: x.id,
            number: x.number,
            demarche_id: x.demarche_id,
            version: x.version,
            state: x.state.code().into(),
            applicant_name: x.applicant_name,
            answers: x.answers.0,
            created_at: rfc3339(Some(x.created_at)),
            updated_at: rfc3339(Some(x.updated_at)),
            submitted_at: rfc3339(x.submitted_at),
            deadline_at: rfc3339(x.deadline_at),
            decided_at: rfc3339(x.decided_at),
            tacit: x.tacit,
            decision_reason: x.decision_reason,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ApiDossierPage {
    items: Vec<ApiDossier>,
    /// Pass it as `after` for the next page; absent on the last page. Keep the last one to get
    /// only what changed next time.
    next_cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
pub struct DossierQuery {
    /// Only dossiers in this state.
    state: Option<String>,
    /// Only dossiers changed at or after this time (RFC 3339).
    updated_since: Option<String>,
    /// Cursor returned by the previous page.
    after: Option<String>,
    /// Page size, 1 to 1000 (100 by default).
    limit: Option<i64>,
}

fn audit_access(token: &Jeton, x: &Dossier) -> guichet_domain::journal::Event {
    guichet_domain::journal::Event {
        tenant_id: Some(token.tenant_id),
        actor_id: Some(token.user_id),
        actor: format!("jeton d'API « {} »", token.name),
        action: "dossier.consultation".into(),
        object_type: Some("dossier".into()),
        object_id: Some(x.number.clone()),
        details: "{\"canal\":\"api\"}".into(),
        ..Default::default()
    }
}

#[utoipa::path(get, path = "/api/v1/demarches/{id}/dossiers", tag = "dossiers", security(("jeton" = [])),
    params(("id" = i64, Path, description = "Identifiant de la démarche"), DossierQuery),
    responses((status = 200, body = ApiDossierPage), (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError), (status = 404, body = ApiError)))]
pub async fn list_dossiers(
    State(state): State<AppState>,
    Extension(token): Extension<Jeton>,
    Path(id): Path<i64>,
    Query(q): Query<DossierQuery>,
) -> Response {
    let filter_state = match q.state.as_deref() {
        None | Some("") => None,
        Some(s) => match DState::from_code(s) {
            Some(s) if s != DState::Brouillon => Some(s),
            _ => return error(StatusCode::BAD_REQUEST, "bad_request", "état inconnu : depose, en_instruction, en_correction, accepte, refuse ou sans_suite"),
        },
    };
    let mut after = (i64::MIN, 0i64);
    if let Some(since) = q.updated_since.as_deref().filter(|s| !s.is_empty()) {
        match time::OffsetDateTime::parse(since, &time::format_description::well_known::Rfc3339) {
            Ok(t) => after = ((t.unix_timestamp_nanos() / 1_000_000) as i64 - 1, i64::MAX),
            Err(_) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "bad_request",
                    "updated_since doit être une date RFC 3339, par exemple 2026-11-23T10:00:00Z",
                )
            }
        }
    }
    if let Some(cursor) = q.after.as_deref().filter(|s| !s.is_empty()) {
        match cursor
            .split_once('-')
            .and_then(|(a, b)| Some((a.parse::<i64>().ok()?, b.parse::<i64>().ok()?)))
        {
            Some(c) => after = c,
            None => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "bad_request",
                    "curseur invalide : reprenez celui de la page précédente",
                )
            }
        }
    }
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "limit doit être entre 1 et 1000",
        );
    }
    match guichet_store::demarche::get(&state.db, token.tenant_id, id).await {
        Ok(Some(_)) => {}
        Ok(None) => {
            return error(
                StatusCode::NOT_FOUND,
                "not_found",
                "aucune démarche de cette collectivité n'a cet identifiant",
            )
        }
        Err(e) => return internal(e),
    }
    let page =
        match dossier::changed_since(&state.db, token.tenant_id, id, filter_state, after, limit)
            .await
        {
            Ok(p) => p,
            Err(e) => return internal(e),
        };
    let next_cursor = (page.len() as i64 == limit)
        .then(|| page.last().map(|x| format!("{}-{}", x.updated_at, x.id)))
        .flatten();
    let mut event = guichet_domain::journal::Event {
        tenant_id: Some(token.tenant_id),
        actor_id: Some(token.user_id),
        actor: format!("jeton d'API « {} »", token.name),
        action: "dossiers.export".into(),
        details: serde_json::json!({"canal": "api", "demarche": id, "dossiers": page.len()})
            .to_string(),
        ..Default::default()
    };
    event.object_type = Some("demarche".into());
    if let Err(e) = guichet_store::journal::append(&state.db, &event).await {
        return internal(e);
    }
    Json(ApiDossierPage {
        items: page.into_iter().map(ApiDossier::from).collect(),
        next_cursor,
    })
    .into_response()
}

async fn load(state: &AppState, token: &Jeton, id: i64) -> Result<Dossier, Response> {
    match dossier::get(&state.db, token.tenant_id, id).await {
        Ok(Some(x)) if x.state != DState::Brouillon => Ok(x),
        Ok(_) => Err(error(
            StatusCode::NOT_FOUND,
            "not_found",
            "aucun dossier de cette collectivité n'a cet identifiant",
        )),
        Err(e) => Err(internal(e)),
    }
}

#[utoipa::path(get, path = "/api/v1/dossiers/{id}", tag = "dossiers", security(("jeton" = [])),
    params(("id" = i64, Path, description = "Identifiant du dossier")),
    responses((status = 200, body = ApiDossier), (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError), (status = 404, body = ApiError)))]
pub async fn get_dossier(
    State(state): State<AppState>,
    Extension(token): Extension<Jeton>,
    Path(id): Path<i64>,
) -> Response {
    let x = match load(&state, &token, id).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    if let Err(e) = guichet_store::journal::append(&state.db, &audit_access(&token, &x)).await {
        return internal(e);
    }
    Json(ApiDossier::from(x)).into_response()
}

#[derive(Deserialize, ToSchema, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub enum StateAction {
    Instruire,
    Corriger,
    Accepter,
    Refuser,
    Classer,
}

#[derive(Deserialize, ToSchema)]
pub struct StateChange {
    action: StateAction,
    /// Required to ask for a correction, refuse or close; sent to the usager.
    motif: Option<String>,
}

async fn by_token(state: &AppState, token: &Jeton) -> By {
    let label = guichet_store::compte::by_id(&state.db, token.user_id)
        .await
        .ok()
        .flatten()
        .map(|u| u.email)
        .unwrap_or_default();
    By {
        actor: Actor::Agent,
        user_id: Some(token.user_id),
        label: format!("{label} (jeton « {} »)", token.name),
        ip: None,
        on_behalf_of: None,
    }
}

#[utoipa::path(post, path = "/api/v1/dossiers/{id}/etat", tag = "dossiers", security(("jeton" = [])),
    params(("id" = i64, Path, description = "Identifiant du dossier")), request_body = StateChange,
    responses((status = 200, body = ApiDossier), (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError), (status = 404, body = ApiError), (status = 409, body = ApiError)))]
pub async fn change_state(
    State(state): State<AppState>,
    Extension(token): Extension<Jeton>,
    Path(id): Path<i64>,
    Json(body): Json<StateChange>,
) -> Response {
    let x = match load(&state, &token, id).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let def =
        match guichet_store::demarche::definition(&state.db, x.tenant_id, x.demarche_id, x.version)
            .await
        {
            Ok(Some(d)) => d,
            Ok(None) => return error(StatusCode::NOT_FOUND, "not_found", "démarche introuvable"),
            Err(e) => return internal(e),
        };
    let motif = body.motif.unwrap_or_default();
    let action = match body.action {
        StateAction::Instruire => Action::StartInstruction,
        StateAction::Corriger => Action::RequestCorrection {
            message: motif.clone(),
        },
        StateAction::Accepter => Action::Accept {
            conditions: motif.clone(),
        },
        StateAction::Refuser => Action::Refuse {
            reason: motif.clone(),
        },
        StateAction::Classer => Action::Close {
            reason: motif.clone(),
        },
    };
    let email = match crate::dossier::usager_email(&state, &x).await {
        Ok(e) => e,
        Err(e) => return internal(e),
    };
    let notice = |after: &Dossier| match &email {
        Some(to) => Trace::default().mail(mails::state_change(
            &state.config,
            after,
            to,
            &def.title,
            after.state,
            &motif,
        )),
        None => Trace::default(),
    };
    let along = dossier::Along {
        answers: None,
        notice,
        team: None,
        asked_again: None,
    };
    let by = by_token(&state, &token).await;
    match dossier::change_with(&state.db, &x, &def, &action, &by, along).await {
        Ok(_) => match dossier::get(&state.db, x.tenant_id, x.id).await {
            Ok(Some(after)) => Json(ApiDossier::from(after)).into_response(),
            Ok(None) => error(StatusCode::NOT_FOUND, "not_found", "dossier introuvable"),
            Err(e) => internal(e),
        },
        Err(ChangeError::Refused(e)) => error(
            StatusCode::CONFLICT,
            "conflict",
            &format!("action impossible : {e}"),
        ),
        Err(ChangeError::Conflict) => error(
            StatusCode::CONFLICT,
            "conflict",
            "le dossier a changé entre-temps : relisez-le",
        ),
        Err(ChangeError::Storage(e)) => internal(e),
    }
}

#[derive(Deserialize, ToSchema)]
pub struct MessageIn {
    /// The message to the usager (sent by e-mail too).
    texte: String,
}

#[utoipa::path(post, path = "/api/v1/dossiers/{id}/messages", tag = "dossiers", security(("jeton" = [])),
    params(("id" = i64, Path, description = "Identifiant du dossier")), request_body = MessageIn,
    responses((status = 201, description = "Message envoyé"), (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError), (status = 404, body = ApiError)))]
pub async fn send_message(
    State(state): State<AppState>,
    Extension(token): Extension<Jeton>,
    Path(id): Path<i64>,
    Json(body): Json<MessageIn>,
) -> Response {
    let x = match load(&state, &token, id).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let text = body.texte.trim();
    if text.is_empty() || text.chars().count() > 5000 {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "le message doit compter de 1 à 5000 caractères",
        );
    }
    let trace = match crate::dossier::usager_email(&state, &x).await {
        Ok(Some(to)) => Trace::default().mail(mails::message(&state.config, &x, &to, text)),
        Ok(None) => Trace::default(),
        Err(e) => return internal(e),
    };
    let by = by_token(&state, &token).await;
    if let Err(e) = dossier::post(
        &state.db,
        &state.config.files,
        &x,
        &by,
        "message",
        text,
        None,
        trace,
    )
    .await
    {
        return internal(e);
    }
    (
        StatusCode::CREATED,
        Json(serde_json::json!({"status": "envoye"})),
    )
        .into_response()
}
