//! Health and metrics endpoints for the operator's monitoring.

use crate::AppState;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;

pub async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    let database = state.db.backend().name();
    if state.db.ping().await {
        (
            StatusCode::OK,
            Json(serde_json::json!({"status": "ok", "database": database})),
        )
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({"status": "unavailable", "database": database})),
        )
    }
}

/// Prometheus metrics: with `metrics_token` configured, for a scraper that presents it
/// (`Authorization: Bearer …`); without one, for a scraper on this machine only (loopback). The
/// figures tell an attacker the platform's load and routes: they are not public.
pub async fn metrics(
    State(state): State<AppState>,
    req: axum::extract::Request,
) -> axum::response::Response {
    let headers = req.headers();
    let connect = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>();
    let allowed = match &state.config.metrics_token {
        Some(token) => headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|given| {
                use sha2::{Digest, Sha256};
                // Digests compared, so the time taken says nothing of the token.
                Sha256::digest(given.as_bytes()) == Sha256::digest(token.expose().as_bytes())
            }),
        None => connect.is_some_and(|c| c.0.ip().is_loopback()),
    };
    if !allowed {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "metrics: token required\n",
        )
            .into_response();
    }
    let (size, idle) = state.db.pool_stats();
    metrics::gauge!("guichet_db_pool_connections").set(f64::from(size));
    metrics::gauge!("guichet_db_pool_idle_connections").set(idle as f64);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        crate::observe::render(),
    )
        .into_response()
}
