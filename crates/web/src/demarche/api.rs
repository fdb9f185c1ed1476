//! The API's démarches: those of the token's collectivité.

use crate::api::{internal, ApiError};
use crate::AppState;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use guichet_store::jeton::Jeton;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct ApiDemarche {
    id: i64,
    slug: String,
    title: String,
    /// brouillon, publiee, fermee
    status: String,
    published_version: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/demarches", tag = "démarches", security(("jeton" = [])),
    responses((status = 200, body = [ApiDemarche]), (status = 401, body = ApiError), (status = 403, body = ApiError)))]
pub async fn list_demarches(
    State(state): State<AppState>,
    Extension(token): Extension<Jeton>,
) -> Response {
    match guichet_store::demarche::list(&state.db, token.tenant_id).await {
        Ok(list) => Json(
            list.into_iter()
                .map(|d| ApiDemarche {
                    id: d.id,
                    slug: d.slug,
                    title: d.title,
                    status: d.status.code().into(),
                    published_version: d.published_version,
                })
                .collect::<Vec<_>>(),
        )
        .into_response(),
        Err(e) => internal(e),
    }
}
