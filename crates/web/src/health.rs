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
    operations_gauges(&state).await;
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        crate::observe::render(),
    )
        .into_response()
}

fn up(ok: bool) -> f64 {
    if ok {
        1.0
    } else {
        0.0
    }
}

/// What the alert rules of deploy/prometheus watch besides requests: the dependencies' state, the
/// mail backlog, the audit chain's anchoring and the last backup. Read at scrape time (a few
/// indexed reads); a failed read leaves the gauge unset, which the rules treat as absent.
async fn operations_gauges(state: &AppState) {
    let now = state.config.clock.now_ms();
    let probes = state.probes_now(now).await;
    metrics::gauge!("guichet_database_up").set(up(probes.database));
    metrics::gauge!("guichet_file_store_up").set(up(probes.files));
    if let Ok((pending, failed)) = guichet_store::outbox::backlog(&state.db).await {
        metrics::gauge!("guichet_outbox_pending_mails").set(pending as f64);
        metrics::gauge!("guichet_outbox_failed_mails").set(failed as f64);
    }
    metrics::gauge!("guichet_outbox_oldest_pending_age_seconds")
        .set(probes.oldest_mail_ms.unwrap_or(0) as f64 / 1000.0);
    if let Some(anchoring) = &state.config.anchoring {
        if let (Ok(Some(last)), Ok((head, _))) = (
            anchoring.last(),
            guichet_store::anchor::head(&state.db).await,
        ) {
            metrics::gauge!("guichet_audit_last_anchor_age_seconds")
                .set((now - last.at) as f64 / 1000.0);
            metrics::gauge!("guichet_audit_unanchored_entries").set((head - last.id) as f64);
        }
    }
    if let Some(dir) = &state.config.backup_dir {
        let newest = guichet_store::backup::scheduled_in(dir)
            .last()
            .and_then(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok())
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
        metrics::gauge!("guichet_backup_last_success_timestamp_seconds")
            .set(newest.map_or(0.0, |d| d.as_secs_f64()));
    }
}
