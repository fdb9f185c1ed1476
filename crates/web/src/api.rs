//! The REST API under /api/v1: agents' tokens, JSON errors.

use crate::AppState;
use axum::extract::Request;
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use guichet_store::api_token::ApiToken;

/// Errors of the API: `{"error": {"code": "...", "message": "..."}}`, message in French.
pub fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(serde_json::json!({"error": {"code": code, "message": message}})),
    )
        .into_response()
}

/// Checks the bearer token, its scope and its collectivité, for every API route.
pub async fn authorize(
    state: AppState,
    scope: &'static str,
    tenant_slug: Option<String>,
    mut req: Request,
    next: Next,
) -> Response {
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .map(str::to_string);
    let Some(bearer) = bearer else {
        let mut r = error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "jeton d'API manquant (en-tête Authorization: Bearer …)",
        );
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            axum::http::HeaderValue::from_static("Bearer"),
        );
        return r;
    };
    let token = match guichet_store::api_token::authenticate(&state.db, &bearer).await {
        Ok(Some(t)) => t,
        Ok(None) => {
            return error(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "jeton d'API invalide ou révoqué",
            )
        }
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "API authentication failed");
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "erreur interne",
            );
        }
    };
    if scope != "*" && !token.scopes.iter().any(|s| s == scope) {
        return error(
            StatusCode::FORBIDDEN,
            "forbidden",
            &format!("ce jeton n'a pas la portée « {scope} »"),
        );
    }
    if let Some(slug) = tenant_slug {
        let tenant = guichet_store::tenant::by_slug(&state.db, &slug)
            .await
            .ok()
            .flatten();
        if tenant.map(|t| t.id) != Some(token.tenant_id) {
            return error(
                StatusCode::FORBIDDEN,
                "forbidden",
                "ce jeton ne donne pas accès à cette collectivité",
            );
        }
    }
    req.extensions_mut().insert(token);
    next.run(req).await
}

/// Who the token belongs to: useful to check a token and its scopes.
pub async fn me(
    axum::extract::State(state): axum::extract::State<AppState>,
    Extension(token): Extension<ApiToken>,
) -> Response {
    let tenant = guichet_store::tenant::by_id(&state.db, token.tenant_id)
        .await
        .ok()
        .flatten();
    Json(serde_json::json!({
        "token": {"id": token.id, "name": token.name, "scopes": token.scopes},
        "collectivite": tenant.map(|t| serde_json::json!({"slug": t.slug, "name": t.name, "siren": t.siren})),
    }))
    .into_response()
}
