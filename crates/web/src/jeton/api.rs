//! The API's "who am I": the token's owner, scopes and collectivité.

use crate::api::ApiError;
use crate::AppState;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use guichet_store::jeton::Jeton;
use serde::Serialize;
use utoipa::ToSchema;

/// Who the token belongs to: useful to check a token and its scopes.
pub async fn me(
    axum::extract::State(state): axum::extract::State<AppState>,
    Extension(token): Extension<Jeton>,
) -> Response {
    let collectivite = guichet_store::collectivite::by_id(&state.db, token.tenant_id)
        .await
        .ok()
        .flatten();
    Json(serde_json::json!({
        "token": {"id": token.id, "name": token.name, "scopes": token.scopes},
        "collectivite": collectivite.map(|t| serde_json::json!({"slug": t.slug, "name": t.name, "siren": t.siren})),
    }))
    .into_response()
}

#[derive(Serialize, ToSchema)]
pub struct Me {
    token: serde_json::Value,
    collectivite: serde_json::Value,
}

/// Who a token belongs to (documentation of `me`).
#[utoipa::path(get, path = "/api/v1/moi", tag = "jetons", security(("jeton" = [])),
    responses((status = 200, body = Me), (status = 401, body = ApiError)))]
#[allow(dead_code)]
pub async fn me_doc() {}
