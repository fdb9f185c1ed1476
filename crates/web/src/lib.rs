//! HTTP layer of Guichet: the router, pages, assets, health and metrics.

pub mod assets;
pub mod error;
pub mod health;
pub mod layout;
pub mod observe;
pub mod pages;
pub mod security;

use axum::Router;
use guichet_store::Db;
use std::sync::Arc;
use std::time::Duration;

/// Settings of the web layer.
#[derive(Debug, Clone, Default)]
pub struct WebConfig {
    /// Public base URL (e.g. https://guichet.region.fr); HSTS is sent when it is https.
    pub public_url: Option<String>,
}

impl WebConfig {
    pub fn is_tls(&self) -> bool {
        self.public_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://"))
    }
}

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub db: Db,
    pub config: WebConfig,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    pub fn new(db: Db, config: WebConfig) -> Self {
        Self(Arc::new(Inner { db, config }))
    }
}

/// The route table without the layers: the test suite enumerates it.
pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(pages::routes())
        .merge(health::routes())
        .merge(assets::routes())
}

/// The application with every layer: metrics and request log, security headers, panic
/// catching, timeouts and compression.
pub fn app(state: AppState) -> Router {
    use tower_http::{
        catch_panic::CatchPanicLayer, compression::CompressionLayer, timeout::TimeoutLayer,
    };
    let tls = state.config.is_tls();
    routes()
        .fallback(pages::not_found)
        .layer(CompressionLayer::new())
        .layer(CatchPanicLayer::custom(error::panic_response))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            Duration::from_secs(30),
        ))
        .layer(axum::middleware::from_fn(move |req, next| {
            security::headers(tls, req, next)
        }))
        .layer(axum::middleware::from_fn(observe::track))
        .with_state(state)
}

/// Serves until `shutdown` resolves, then lets in-flight requests finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    observe::install_recorder();
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown)
        .await
}
