//! One log line and a few metrics per request, labelled by route pattern, never by raw URL.

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

/// This node's page requests since the worker last recorded them: served, failed (5xx), total
/// milliseconds. The observatoire's availability and response time come from them.
static SERVED: AtomicI64 = AtomicI64::new(0);
static FAILED: AtomicI64 = AtomicI64::new(0);
static TOTAL_MS: AtomicI64 = AtomicI64::new(0);

/// Takes the counts gathered since the last call (served, failed, total milliseconds).
pub fn take_service() -> (i64, i64, i64) {
    (
        SERVED.swap(0, Ordering::Relaxed),
        FAILED.swap(0, Ordering::Relaxed),
        TOTAL_MS.swap(0, Ordering::Relaxed),
    )
}

/// Pages and API calls count; static files, metrics and health probes do not.
fn is_service(route: &str) -> bool {
    !(route.starts_with("/static/") || route == "/metrics" || route == "/healthz")
}

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide Prometheus recorder (once; later calls reuse it).
pub fn install_recorder() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets(&[
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ])
            .expect("static bucket list is not empty")
            .build_recorder();
        let handle = recorder.handle();
        // Fails only if another recorder was installed first, which this crate never does.
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}

pub fn render() -> String {
    install_recorder().render()
}

pub async fn track(req: Request, next: Next) -> Response {
    use tracing::Instrument;
    let start = Instant::now();
    let id = request_id(&req);
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "(aucune)".to_string());
    let path = req.uri().path().to_string();
    // Everything logged while serving it names the request.
    let mut response = next
        .run(req)
        .instrument(tracing::info_span!("request", id = %id))
        .await;
    if let Ok(value) = axum::http::HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    let elapsed = start.elapsed();
    let status = response.status().as_u16();
    let labels = [
        ("method", method.to_string()),
        ("route", route.clone()),
        ("status", status.to_string()),
    ];
    if is_service(&route) {
        SERVED.fetch_add(1, Ordering::Relaxed);
        TOTAL_MS.fetch_add(elapsed.as_millis() as i64, Ordering::Relaxed);
        if status >= 500 {
            FAILED.fetch_add(1, Ordering::Relaxed);
        }
    }
    metrics::counter!("guichet_http_requests_total", &labels).increment(1);
    metrics::histogram!("guichet_http_request_duration_seconds", &labels[..2])
        .record(elapsed.as_secs_f64());
    tracing::info!(
        target: "guichet::http",
        %method,
        route,
        path,
        status,
        ms = elapsed.as_secs_f64() * 1000.0,
        request_id = %id,
        "request"
    );
    response
}

/// The header that names a request, in the logs and in the response: what a resident or an
/// agent quotes when they report a problem, and what a front proxy may set.
pub const REQUEST_ID: &str = "x-request-id";

/// The request's id: the one the front proxy set when it is a plain token (64 characters at most:
/// letters, digits, `-`, `_`, `.`), else a new random one. Anything else is never echoed back.
fn request_id(req: &Request) -> String {
    req.headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        })
        .map(str::to_string)
        .unwrap_or_else(|| {
            let mut token = guichet_store::secret::random_token();
            token.truncate(16);
            token
        })
}
