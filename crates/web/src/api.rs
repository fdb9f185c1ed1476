//! What every handler of the REST API under /api/v1 shares: its error format (JSON, message in
//! French) and the bearer scheme of its description. The handlers live with their capability
//! (`dossier::api`, `demarche::api`, `jeton::api`); `routes` assembles the OpenAPI document.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

/// Errors of the API: `{"error": {"code": "...", "message": "..."}}`, message in French.
pub fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(serde_json::json!({"error": {"code": code, "message": message}})),
    )
        .into_response()
}

/// An internal error: logged, answered without details.
pub fn internal(e: anyhow::Error) -> Response {
    tracing::error!(error = format!("{e:#}"), "API request failed");
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "erreur interne : réessayez plus tard",
    )
}

/// A stored instant as RFC 3339 (UTC), if any.
pub fn rfc3339(ms: Option<i64>) -> Option<String> {
    ms.and_then(|m| time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(m) * 1_000_000).ok())
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
}

#[derive(Serialize, ToSchema)]
pub struct ApiErrorBody {
    /// unauthorized, forbidden, not_found, bad_request, conflict, internal
    pub code: String,
    /// Explanation in French.
    pub message: String,
}

#[derive(Serialize, ToSchema)]
pub struct ApiError {
    pub error: ApiErrorBody,
}

/// The bearer scheme every operation of the API uses (an agent's token).
pub struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "jeton",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}
