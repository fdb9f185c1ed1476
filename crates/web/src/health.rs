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

pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
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
}
