//! Checks an API token for every API route: present, valid, not revoked or expired, with the
//! route's scope within what its owner's roles allow now, and for the collectivité in the path.

use crate::api::error;
use crate::AppState;
use axum::extract::Request;
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

/// Checks the bearer token, its scope and its collectivité, for every API route.
pub async fn authorize(
    state: AppState,
    scope: &'static str,
    collectivite_slug: Option<String>,
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
    let token = match guichet_store::jeton::authenticate(&state.db, &bearer).await {
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
    // Its scopes, within what the owner's roles allow now: a demotion takes effect at once.
    if scope != "*" && !guichet_domain::role::token_allows(&token.scopes, &token.owner_roles, scope)
    {
        let why = if token.scopes.iter().any(|s| s == scope) {
            format!("les rôles du titulaire de ce jeton ne permettent plus la portée « {scope} »")
        } else {
            format!("ce jeton n'a pas la portée « {scope} »")
        };
        return error(StatusCode::FORBIDDEN, "forbidden", &why);
    }
    if let Some(slug) = collectivite_slug {
        let collectivite = guichet_store::collectivite::by_slug(&state.db, &slug)
            .await
            .ok()
            .flatten();
        if collectivite.map(|t| t.id) != Some(token.tenant_id) {
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
