//! "Comment s'est passée cette démarche ?": asked of the usager on their dossier's page once
//! after the deposit and once after the decision (a score from 1 to 10 and an optional
//! comment), counted in the observatoire's satisfaction.

use crate::auth::Visitor;
use crate::dossier::{own, Own};
use crate::error::AppError;
use crate::form::{Errors, Fields};
use crate::AppState;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use guichet_domain::dossier::State as DState;
use guichet_store::dossier::Dossier;
use guichet_store::pilotage::Moment;
use guichet_store::trace::Trace;

/// Comments longer than this are refused.
pub const MAX_COMMENT: usize = 1000;

/// The moment a dossier in this state is rated at: none for a draft.
fn moment_of(state: DState) -> Option<Moment> {
    match state {
        DState::Brouillon => None,
        s if s.is_final() => Some(Moment::Decision),
        _ => Some(Moment::Depot),
    }
}

/// Whether the person on the page is the one who filed it for themselves (not an agent or an
/// aidant filing it at a counter, nor an aidant acting under a mandat).
fn is_usager(visitor: &Visitor, x: &Dossier) -> bool {
    match (&visitor.user, &visitor.acting) {
        (_, Some(_)) => false,
        (Some(u), None) => x.usager_id == Some(u.id),
        (None, None) => visitor.guest.is_some(),
    }
}

/// The moment the page asks about, when this usager has not answered it yet.
pub(crate) async fn to_ask(
    state: &AppState,
    visitor: &Visitor,
    x: &Dossier,
) -> anyhow::Result<Option<&'static str>> {
    let Some(moment) = moment_of(x.state).filter(|_| is_usager(visitor, x)) else {
        return Ok(None);
    };
    let answered = guichet_store::pilotage::answered(&state.db, x.id).await?;
    Ok((!answered.iter().any(|m| m == moment.code())).then_some(moment.code()))
}

/// `POST /dossiers/{id}/satisfaction`.
pub async fn rate(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<i64>,
    body: String,
) -> Result<Response, AppError> {
    let Some(owned) = own(&state, &visitor, id).await? else {
        return Ok(crate::page::not_found(State(state)).await);
    };
    let Some(moment) = moment_of(owned.x.state).filter(|_| is_usager(&visitor, &owned.x)) else {
        return Ok(Redirect::to(&format!("/dossiers/{id}")).into_response());
    };
    let f = Fields::parse(&body);
    let score = f
        .get("note")
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|n| (1..=10).contains(n));
    let comment = f.get("commentaire").trim().to_string();
    let mut errors = Errors::default();
    if score.is_none() {
        errors.add("note", "Choisissez une note de 1 à 10.");
    }
    if comment.chars().count() > MAX_COMMENT {
        errors.add(
            "commentaire",
            format!("Le commentaire fait plus de {MAX_COMMENT} caractères : raccourcissez-le."),
        );
    }
    let (Some(score), true) = (score, errors.is_empty()) else {
        return usager_page(&state, &visitor, owned, errors).await;
    };
    let mut event = visitor.event(Some(owned.x.tenant_id), "dossier.avis_usager");
    event.object_type = Some("dossier".into());
    event.object_id = Some(owned.x.number.clone());
    event.details = serde_json::json!({ "moment": moment.code(), "note": score }).to_string();
    let comment = (!comment.is_empty()).then_some(comment);
    guichet_store::pilotage::rate(
        &state.db,
        &owned.x,
        moment,
        score,
        comment,
        Trace::of(event),
    )
    .await?;
    Ok(Redirect::to(&format!("/dossiers/{id}?avis=1")).into_response())
}

async fn usager_page(
    state: &AppState,
    visitor: &Visitor,
    owned: Own,
    errors: Errors,
) -> Result<Response, AppError> {
    crate::dossier::depot::usager_dossier_page(state, visitor, owned, errors, String::new(), None)
        .await
}
