//! Public HTML pages.

mod accessibilite;
mod collectivite;
mod home;

use crate::error::{render, AppError, ErrorPage};
use crate::layout::Layout;
use crate::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home::page))
        .route("/collectivites", get(collectivite::list))
        .route("/collectivites/{slug}", get(collectivite::page))
        .route("/accessibilite", get(accessibilite::page))
}

/// Renders a template into a 200 page, or a 500 page if rendering fails.
pub(crate) fn html(template: &impl Template) -> Result<Response, AppError> {
    Ok(Html(template.render()?).into_response())
}

pub async fn not_found(State(state): State<AppState>) -> Response {
    render(
        &ErrorPage {
            layout: Layout::new(&state).await,
            heading: "Page introuvable",
            message: "La page que vous cherchez n'existe pas ou n'existe plus. Vérifiez l'adresse, ou repartez de l'accueil.",
            reference: None,
        },
        StatusCode::NOT_FOUND,
    )
}
