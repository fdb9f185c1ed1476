//! The annexes of an agenda item: PDF files the secretariat adds until the session opens, that
//! the members read from their convocation or their space, and that go with the délibération
//! to the contrôle de légalité. Never public by themselves: the délibération is.

use super::seance::{back, load, refused};
use crate::auth::{CollectiviteContext, Visitor};
use crate::error::AppError;
use crate::form::read_form;
use crate::page::not_found;
use crate::AppState;
use axum::extract::{Path, Request, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use guichet_domain::conseil::EtatSeance;
use guichet_domain::demarche::values::check_file;
use guichet_store::conseil as store;
use guichet_store::trace::Trace;

const SEANCE_OUVERTE: &str = "La séance est ouverte : les annexes ne changent plus.";

/// The largest annex accepted, in MB.
const MAX_MB: u32 = 20;

/// The secretariat annexes a PDF to an item before the session opens.
pub async fn add(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    Path((_, id, point)): Path<(String, i64, i64)>,
    req: Request,
) -> Result<Response, AppError> {
    let Some((s, _)) = load(&state, &ctx, id).await? else {
        return Ok(not_found(State(state)).await);
    };
    let c = &ctx.collectivite;
    let Some(p) = store::points(&state.db, c.id, s.id)
        .await?
        .into_iter()
        .find(|p| p.id == point)
    else {
        return Ok(not_found(State(state)).await);
    };
    let field = format!("annexe_{}", p.id);
    if !matches!(s.state, EtatSeance::Preparation | EtatSeance::Convoquee) {
        return refused(&state, &visitor, &ctx, id, &field, SEANCE_OUVERTE).await;
    }
    let (_, uploads) = read_form(&state, req).await?;
    let Some((_, name, bytes)) = uploads.into_iter().find(|(k, _, _)| *k == field) else {
        return refused(
            &state,
            &visitor,
            &ctx,
            id,
            &field,
            "Choisissez le fichier PDF à annexer.",
        )
        .await;
    };
    // Checked before anything is stored: a PDF, within the size.
    if let Err(message) = check_file(&bytes, &["application/pdf".to_string()], MAX_MB) {
        return refused(&state, &visitor, &ctx, id, &field, message).await;
    }
    let file_id = guichet_store::secret::random_token();
    state.config.files.put(&file_id, &bytes).await?;
    let mut event = visitor.event_on(Some(c.id), "conseil.annexe.ajout", "seance", s.id);
    event.details = serde_json::json!({"point": p.title, "fichier": name}).to_string();
    let added = store::add_annexe(
        &state.db,
        c.id,
        s.id,
        p.id,
        name,
        bytes.len() as i64,
        file_id.clone(),
        state.config.clock.now_ms(),
        Trace::of(event),
    )
    .await?;
    if added.is_none() {
        state.config.files.delete(&file_id).await?;
        return refused(&state, &visitor, &ctx, id, &field, SEANCE_OUVERTE).await;
    }
    Ok(back(&ctx, id))
}

/// An annex of this session, as a download.
async fn serve(
    state: &AppState,
    tenant_id: i64,
    seance_id: i64,
    annexe: i64,
) -> Result<Response, AppError> {
    let Some(a) = store::annexes_of(&state.db, tenant_id, seance_id)
        .await?
        .into_iter()
        .find(|a| a.id == annexe)
    else {
        return Ok(not_found(State(state.clone())).await);
    };
    let bytes = state.config.files.get(&a.file_id).await?;
    let name: String = a
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
            (header::CACHE_CONTROL, "private, no-store".to_string()),
        ],
        bytes,
    )
        .into_response())
}

/// The secretariat downloads an annex.
pub async fn for_secretariat(
    State(state): State<AppState>,
    ctx: CollectiviteContext,
    Path((_, id, annexe)): Path<(String, i64, i64)>,
) -> Result<Response, AppError> {
    serve(&state, ctx.collectivite.id, id, annexe).await
}

/// A member downloads an annex from their convocation's link.
pub async fn for_convocation(
    State(state): State<AppState>,
    Path((token, annexe)): Path<(String, i64)>,
) -> Result<Response, AppError> {
    let hash = guichet_store::secret::hash_token(&token);
    let Some((s, _, _)) = store::convocation_by_token(&state.db, &hash).await? else {
        return Ok(not_found(State(state)).await);
    };
    serve(&state, s.tenant_id, s.id, annexe).await
}

/// A member downloads an annex from their space: only of a session of their assembly.
pub async fn for_member(
    State(state): State<AppState>,
    visitor: Visitor,
    Path((slug, id, annexe)): Path<(String, i64, i64)>,
) -> Result<Response, AppError> {
    let mandats = super::espace::mandats(&state, &visitor).await?;
    let Some(c) = guichet_store::collectivite::by_slug(&state.db, &slug).await? else {
        return Ok(not_found(State(state)).await);
    };
    let Some(s) = store::seance_by_id(&state.db, c.id, id).await? else {
        return Ok(not_found(State(state)).await);
    };
    if !mandats
        .iter()
        .any(|(t, e)| *t == c.id && e.assemblee_id == s.assemblee_id)
    {
        return Ok(not_found(State(state)).await);
    }
    serve(&state, c.id, s.id, annexe).await
}
