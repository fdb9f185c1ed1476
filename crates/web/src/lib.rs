//! HTTP layer of Guichet: the route table and its authorization layer, pages, assets, API, health,
//! metrics and the e-mail worker.

pub mod api;
pub mod assets;
pub mod auth;
pub mod carte;
pub mod error;
pub mod form;
pub mod format;
pub mod health;
pub mod jobs;
pub mod layout;
pub mod mail;
pub mod observe;
pub mod outgoing;
pub mod page;
pub mod pdf;
pub mod routes;
pub mod security;

// Capabilities: one folder each, named as in the domain and the store.
pub mod accueil;
pub mod coffre;
pub mod collectivite;
pub mod competence;
pub mod compte;
pub mod conseil;
pub mod demarche;
pub mod demo;
pub mod donnees;
pub mod dossier;
pub mod equipe;
pub mod etat;
pub mod jeton;
pub mod journal;
pub mod mandat;
pub mod participation;
pub mod pilotage;
pub mod profil;
pub mod recherche;
pub mod signalement;
pub mod webhook;

use axum::{Extension, Router};
use guichet_store::Db;
use std::sync::Arc;
use std::time::Duration;

/// The largest request body accepted: a step with its files.
pub const MAX_UPLOAD_BYTES: usize = 60 * 1024 * 1024;

/// Settings of the web layer.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Public base URL, used in links sent by e-mail (never taken from the request's Host header);
    /// HSTS and Secure cookies when it is https.
    pub public_url: String,
    /// Demo mode: demo pages (e-mails written to files) are reachable.
    pub demo: bool,
    pub mail: mail::MailConfig,
    /// Where attached files are kept.
    pub files: guichet_store::files::FileStore,
    /// Map tiles (empty URL: no maps).
    pub map: carte::MapConfig,
    /// "Se connecter avec FranceConnect", when configured.
    pub franceconnect: Option<compte::oidc::OidcProvider>,
    /// Agents' single sign-on (ProConnect-style), when configured.
    pub agent_sso: Option<compte::oidc::OidcProvider>,
    /// The keys providers encrypt ID tokens and userinfo to (FranceConnect+), published at
    /// `/.well-known/jwks.json`; empty when no provider encrypts.
    pub oidc_keys: std::sync::Arc<compte::oidc_keys::DecryptionKeys>,
    /// What the legal pages say of the operator and the host.
    pub legal: accueil::mentions::LegalInfo,
    /// The bearer token a Prometheus scraper presents for `/metrics`; none: loopback only.
    pub metrics_token: Option<security::Secret>,
    /// How long a new API token lives, in days (a year at most).
    pub api_token_days: u32,
    /// The audit chain's anchors (key and directory outside the database); none: not anchored.
    pub anchoring: Option<guichet_store::anchor::Anchoring>,
    /// Where scheduled backups are written, if they are: `/metrics` reports the newest's age.
    pub backup_dir: Option<std::path::PathBuf>,
    /// How long a client may take to send a request's headers (`HEADER_READ_TIMEOUT`).
    pub header_read_timeout: Duration,
    /// Hosts (names or addresses) outgoing requests may reach although they are not public.
    pub outgoing_allowed_hosts: Vec<String>,
    /// The platform's reverse proxies, whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<guichet_domain::throttle::TrustedProxy>,
    /// Whether this node runs the background worker (mails, webhooks, deadlines, purges). A
    /// node may only serve pages while others work; tests that drive the jobs turn it off.
    pub worker: bool,
    /// The clock of the rules that count days (a convocation's jours francs); tests set it.
    pub clock: guichet_store::Clock,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            public_url: "http://127.0.0.1:8080".into(),
            demo: false,
            mail: mail::MailConfig::default(),
            files: guichet_store::files::FileStore::local(std::path::PathBuf::from(
                "guichet-data/fichiers",
            )),
            map: carte::MapConfig::default(),
            franceconnect: None,
            agent_sso: None,
            oidc_keys: Default::default(),
            legal: Default::default(),
            metrics_token: None,
            api_token_days: guichet_domain::role::TOKEN_MAX_DAYS,
            anchoring: None,
            backup_dir: None,
            header_read_timeout: HEADER_READ_TIMEOUT,
            outgoing_allowed_hosts: Vec::new(),
            trusted_proxies: Vec::new(),
            worker: true,
            clock: guichet_store::Clock::default(),
        }
    }
}

impl WebConfig {
    pub fn is_tls(&self) -> bool {
        self.public_url.starts_with("https://")
    }

    pub fn link(&self, path: &str) -> String {
        format!("{}{path}", self.public_url.trim_end_matches('/'))
    }
}

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub db: Db,
    pub config: WebConfig,
    /// The anti-CSRF key, read from the database once (it never changes once created).
    pub csrf_key: tokio::sync::OnceCell<String>,
    /// The searchable catalogue of démarches, competences and national services.
    pub catalogue: recherche::catalogue::Catalogue,
    /// OpenID providers' discovery documents, read once every few minutes.
    pub oidc_discovery: compte::oidc::DiscoveryCache,
    /// The région's summed figures for its observatoire, read once a minute.
    pub region_figures: pilotage::RegionFigures,
    /// The DCAT catalogue's pages already written.
    pub dcat_pages: donnees::catalogue::Written,
    /// The status page's last probes.
    pub probes: etat::ProbeCache,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    pub fn new(db: Db, config: WebConfig) -> Self {
        Self(Arc::new(Inner {
            db,
            config,
            csrf_key: tokio::sync::OnceCell::new(),
            catalogue: recherche::catalogue::Catalogue::default(),
            oidc_discovery: compte::oidc::DiscoveryCache::default(),
            region_figures: pilotage::RegionFigures::default(),
            dcat_pages: donnees::catalogue::Written::default(),
            probes: etat::ProbeCache::default(),
        }))
    }
}

/// The application with every layer: metrics and request log, security headers, panic
/// catching, timeouts and compression.
pub fn app(state: AppState) -> Router {
    use tower_http::{
        catch_panic::CatchPanicLayer, compression::CompressionLayer, timeout::TimeoutLayer,
    };
    let tls = state.config.is_tls();
    let csp = security::csp(&state.config.map);
    routes::table()
        .into_router()
        .fallback(page::not_found)
        .layer(axum::middleware::from_fn(error::french_rejections))
        // Uploads are checked field by field (size per démarche); this is the outer bound.
        .layer(axum::extract::DefaultBodyLimit::max(MAX_UPLOAD_BYTES))
        .layer(Extension(state.clone()))
        .layer(CompressionLayer::new())
        .layer(CatchPanicLayer::custom(error::panic_response))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            Duration::from_secs(30),
        ))
        .layer(axum::middleware::from_fn(move |req, next| {
            security::headers(tls, csp.clone(), req, next)
        }))
        .layer(axum::middleware::from_fn(observe::track))
        .with_state(state)
}

/// Serves until `shutdown` resolves, then lets in-flight requests finish. Also runs the background
/// worker (e-mails, purges) until then.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    observe::install_recorder();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let worker = state
        .config
        .worker
        .then(|| tokio::spawn(jobs::run_worker(state.clone(), stop_rx)));
    let header_timeout = state.config.header_read_timeout;
    let router = app(state);
    let result = serve_connections(listener, router, header_timeout, shutdown).await;
    let _ = stop_tx.send(true);
    if let Some(worker) = worker {
        let _ = worker.await;
    }
    result
}

/// How long a client may take to send a request's headers; a slow-header client (one byte at a
/// time) is cut off then instead of holding its connection for ever. Bodies are bounded by the
/// request timeout.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Accepts connections until `shutdown`, then lets every connection finish what it started.
async fn serve_connections(
    listener: tokio::net::TcpListener,
    router: Router,
    header_timeout: Duration,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    use hyper_util::server::conn::auto::Builder;
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    builder.http2().timer(TokioTimer::new());
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                // Out of file descriptors and the like: wait a little, keep serving.
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let service = router
            .clone()
            .layer(Extension(axum::extract::ConnectInfo(peer)));
        let service = hyper_util::service::TowerToHyperService::new(service);
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection ended");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}
