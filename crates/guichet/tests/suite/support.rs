//! Test harness: a fresh database per test, on SQLite by default or on PostgreSQL when
//! GUICHET_TEST_DATABASE_URL is set; a real server on a free port.

use guichet_store::{migrate, territoire, Db};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

pub fn pg_admin_url() -> Option<String> {
    std::env::var("GUICHET_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

pub fn expected_backend() -> &'static str {
    if pg_admin_url().is_some() {
        "postgres"
    } else {
        "sqlite"
    }
}

fn fingerprint() -> String {
    format!(
        "{}_{}",
        migrate::schema_fingerprint(),
        territoire::SHIPPED_VERSION.len()
    )
}

/// Replaces the database name of a PostgreSQL URL.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let prefix = base.rsplit_once('/').map(|(p, _)| p).unwrap_or(base);
    match query {
        Some(q) => format!("{prefix}/{name}?{q}"),
        None => format!("{prefix}/{name}"),
    }
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn unique_name() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst),
        nanos % 100_000
    )
}

/// A database of its own for one test.
pub struct TestDb {
    pub url: String,
    pub db: Db,
    /// Keeps the SQLite directory alive for the test's duration.
    pub dir: tempfile::TempDir,
}

impl TestDb {
    /// A database with the schema and the territory referential loaded.
    pub async fn with_referential() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = match pg_admin_url() {
            Some(admin) => pg_from_template(&admin, true).await,
            None => sqlite_from_template(dir.path()),
        };
        let db = connect(&url).await.with_sealer(sealer_in(dir.path()));
        // As at every start: a template built before a new migration is brought up to date.
        migrate::run(&db).await.expect("migrate");
        assert_eq!(
            migrate::current_version(&db).await.expect("version"),
            migrate::latest_version()
        );
        Self { url, db, dir }
    }

    /// An empty database (no schema, no referential).
    pub async fn empty() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = match pg_admin_url() {
            Some(admin) => pg_from_template(&admin, false).await,
            None => Db::sqlite_url_in(dir.path()),
        };
        let db = connect(&url).await.with_sealer(sealer_in(dir.path()));
        Self { url, db, dir }
    }

    /// The arguments that point the binary at this test's database.
    pub fn cli_args(&self) -> Vec<String> {
        let mut args = vec![
            "--data-dir".to_string(),
            self.dir.path().display().to_string(),
        ];
        if pg_admin_url().is_some() {
            args.push("--database-url".into());
            args.push(self.url.clone());
        }
        args
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// The real binary serving on `port` with these data arguments, its log in `log`; returns once
/// `/healthz` answers.
pub async fn serve_process(
    data_args: &[String],
    port: u16,
    log: &Path,
    env: &[(&str, &str)],
) -> tokio::process::Child {
    serve_binary(
        Path::new(env!("CARGO_BIN_EXE_guichet")),
        data_args,
        port,
        log,
        env,
    )
    .await
}

/// The same with another build of the binary (the previous release, for the upgrade test).
pub async fn serve_binary(
    binary: &Path,
    data_args: &[String],
    port: u16,
    log: &Path,
    env: &[(&str, &str)],
) -> tokio::process::Child {
    let mut args = vec![
        "serve".to_string(),
        "--listen".into(),
        format!("127.0.0.1:{port}"),
    ];
    args.extend(data_args.iter().cloned());
    let child = tokio::process::Command::new(binary)
        .args(&args)
        .env("RUST_LOG", "warn")
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(log).expect("log"))
        .kill_on_drop(true)
        .spawn()
        .expect("start guichet serve");
    let started = std::time::Instant::now();
    loop {
        if let Ok(r) = reqwest::get(format!("http://127.0.0.1:{port}/healthz")).await {
            if r.status() == 200 {
                return child;
            }
        }
        // A first start migrates and imports the territory referential.
        assert!(
            started.elapsed() < std::time::Duration::from_secs(90),
            "server did not become healthy: {}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// The keys that seal secrets, from the key file of a data directory, as the binary reads them.
pub fn sealer_in(data_dir: &Path) -> guichet_store::sealed::Sealer {
    let key = guichet_store::secret::key_file(&data_dir.join("cle-secrets"), "clé de scellement")
        .expect("sealing key");
    guichet_store::sealed::Sealer::new(&key, &[]).expect("sealer")
}

pub async fn connect(url: &str) -> Db {
    Db::connect(url, &guichet_store::db::DbOptions::default())
        .await
        .expect("connect to the test database")
}

fn template_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    std::fs::create_dir_all(&dir).expect("target tmp dir");
    dir
}

/// Builds (once, under a file lock shared by parallel test processes) a SQLite database with the
/// referential, then copies it for this test.
fn sqlite_from_template(dir: &Path) -> String {
    let template = template_dir().join(format!("template-{}.sqlite", fingerprint()));
    let lock = std::fs::File::create(template_dir().join("template.lock")).expect("lock file");
    lock.lock().expect("lock template");
    if !template.exists() {
        let building = template.with_extension("building");
        let _ = std::fs::remove_file(&building);
        let url = format!("sqlite://{}?mode=rwc", building.display());
        std::thread::scope(|s| {
            s.spawn(|| {
                let rt = tokio::runtime::Runtime::new().expect("runtime");
                rt.block_on(async {
                    let db = connect(&url).await;
                    migrate::run(&db).await.expect("migrate template");
                    territoire::import_shipped(&db, false)
                        .await
                        .expect("import referential");
                    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                        .execute(db.pool())
                        .await
                        .expect("checkpoint");
                    db.close().await;
                });
            })
            .join()
            .expect("template builder");
        });
        std::fs::rename(&building, &template).expect("publish template");
    }
    let target = dir.join("guichet.sqlite");
    std::fs::copy(&template, &target).expect("copy template");
    drop(lock);
    Db::sqlite_url_in(dir)
}

/// Creates a database for this test, from a template database with the referential (built once,
/// under an advisory lock) or empty.
async fn pg_from_template(admin_url: &str, referential: bool) -> String {
    let admin = connect(admin_url).await;
    let name = format!("guichet_t_{}", unique_name());
    if referential {
        let template = format!("guichet_tpl_{}", fingerprint());
        let mut conn = admin.pool().acquire().await.expect("admin connection");
        sqlx::query("SELECT pg_advisory_lock(7243350002)")
            .execute(&mut *conn)
            .await
            .expect("lock");
        let exists: i64 =
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM pg_database WHERE datname = $1")
                .bind(&template)
                .fetch_one(&mut *conn)
                .await
                .expect("look for template");
        if exists == 0 {
            let building = format!("{template}_building");
            sqlx::query(&format!("DROP DATABASE IF EXISTS {building}"))
                .execute(&mut *conn)
                .await
                .expect("drop");
            sqlx::query(&format!("CREATE DATABASE {building}"))
                .execute(&mut *conn)
                .await
                .expect("create");
            let db = connect(&with_database(admin_url, &building)).await;
            migrate::run(&db).await.expect("migrate template");
            territoire::import_shipped(&db, false)
                .await
                .expect("import referential");
            db.close().await;
            // A connection handed back to the pool just before close() is closed by a
            // background task: wait for it, or the rename finds the database in use. The
            // template is committed by now: a session still there after a while is idle and
            // is ended (seen under a loaded suite, after 10 s of waiting).
            for attempt in 0..100 {
                if attempt == 40 {
                    sqlx::query(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
                    )
                    .bind(&building)
                    .execute(&mut *conn)
                    .await
                    .expect("end the template's last sessions");
                }
                let sessions: i64 =
                    sqlx::query_scalar("SELECT COUNT(*) FROM pg_stat_activity WHERE datname = $1")
                        .bind(&building)
                        .fetch_one(&mut *conn)
                        .await
                        .expect("sessions of the template");
                if sessions == 0 {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            sqlx::query(&format!("ALTER DATABASE {building} RENAME TO {template}"))
                .execute(&mut *conn)
                .await
                .expect("publish template");
        }
        sqlx::query(&format!("CREATE DATABASE {name} TEMPLATE {template}"))
            .execute(&mut *conn)
            .await
            .expect("create test database");
        sqlx::query("SELECT pg_advisory_unlock(7243350002)")
            .execute(&mut *conn)
            .await
            .expect("unlock");
    } else {
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(admin.pool())
            .await
            .expect("create test database");
    }
    admin.close().await;
    with_database(admin_url, &name)
}

/// A real server on a free port, in this process.
pub struct TestServer {
    pub base: String,
    pub client: reqwest::Client,
    pub db: TestDb,
    pub state: guichet_web::AppState,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

impl TestServer {
    pub async fn start() -> Self {
        let db = TestDb::with_referential().await;
        Self::start_on(db, None).await
    }

    /// A server with its configuration adjusted (legal pages, limits…).
    pub async fn start_with(configure: impl FnOnce(&mut guichet_web::WebConfig)) -> Self {
        let db = TestDb::with_referential().await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        Self::serve(db, None, listener, configure).await
    }

    /// A server whose e-mails go to a real SMTP server.
    pub async fn with_smtp(smtp: &SmtpSink) -> Self {
        let db = TestDb::with_referential().await;
        Self::start_on(db, Some(smtp.port)).await
    }

    /// A server whose e-mails go to a real SMTP server, its configuration adjusted.
    pub async fn with_smtp_and(
        smtp: &SmtpSink,
        configure: impl FnOnce(&mut guichet_web::WebConfig),
    ) -> Self {
        let db = TestDb::with_referential().await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        Self::serve(db, Some(smtp.port), listener, configure).await
    }

    /// A server whose configuration is adjusted (e.g. no background worker, for a test that
    /// drives the jobs itself).
    pub async fn with(configure: impl FnOnce(&mut guichet_web::WebConfig)) -> Self {
        let db = TestDb::with_referential().await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        Self::serve(db, None, listener, configure).await
    }

    pub async fn start_on(db: TestDb, smtp_port: Option<u16>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        Self::serve(db, smtp_port, listener, |_| {}).await
    }

    /// A server whose FranceConnect and agents' sign-on are a real OpenID provider started for
    /// the test (npm oidc-provider, `tests/oidc/provider.mjs`).
    pub async fn with_oidc(smtp: Option<&SmtpSink>) -> (Self, OidcProvider) {
        Self::with_oidc_set_up(smtp, OidcSetUp::default()).await
    }

    /// The same, with FranceConnect+'s encryption as `set_up` says.
    pub async fn with_oidc_set_up(
        smtp: Option<&SmtpSink>,
        set_up: OidcSetUp,
    ) -> (Self, OidcProvider) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let provider = OidcProvider::start(&base, set_up.provider_encrypts).await;
        let config = guichet_web::compte::oidc::OidcProvider {
            issuer: provider.issuer.clone(),
            client_id: OidcProvider::CLIENT_ID.into(),
            client_secret: OidcProvider::CLIENT_SECRET.into(),
            acr: "eidas1".into(),
            encrypted: set_up.guichet_requires_encryption,
        };
        let keys = match set_up.guichet_key {
            Some(kind) => guichet_web::compte::oidc_keys::DecryptionKeys::from_pems(&[(
                "clé de test".into(),
                guichet_web::compte::oidc_keys::generate(kind).expect("key"),
            )])
            .expect("keys"),
            None => Default::default(),
        };
        let db = TestDb::with_referential().await;
        let server = Self::serve(db, smtp.map(|s| s.port), listener, |c| {
            c.franceconnect = Some(config.clone());
            c.agent_sso = Some(guichet_web::compte::oidc::OidcProvider {
                acr: String::new(),
                encrypted: false,
                ..config.clone()
            });
            c.oidc_keys = std::sync::Arc::new(keys);
        })
        .await;
        (server, provider)
    }

    async fn serve(
        db: TestDb,
        smtp_port: Option<u16>,
        listener: tokio::net::TcpListener,
        configure: impl FnOnce(&mut guichet_web::WebConfig),
    ) -> Self {
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let transport = match smtp_port {
            Some(port) => guichet_web::mail::Transport::Smtp(guichet_web::mail::SmtpSettings {
                host: "127.0.0.1".into(),
                port,
                ..Default::default()
            }),
            None => guichet_web::mail::Transport::Directory(db.dir.path().join("courriels")),
        };
        let config = guichet_web::WebConfig {
            public_url: base.clone(),
            demo: false,
            mail: guichet_web::mail::MailConfig {
                from: "Guichet <ne-pas-repondre@guichet.test>".into(),
                transport,
            },
            files: guichet_store::files::FileStore::local(db.dir.path().join("fichiers")),
            map: guichet_web::carte::MapConfig {
                tile_url: format!("{base}/tuiles/{{z}}/{{x}}/{{y}}.png"),
                ..Default::default()
            },
            franceconnect: None,
            agent_sso: None,
            oidc_keys: Default::default(),
            legal: Default::default(),
            metrics_token: None,
            api_token_days: 365,
            anchoring: None,
            backup_dir: None,
            header_read_timeout: guichet_web::HEADER_READ_TIMEOUT,
            // The tests' webhook receivers listen on loopback, as an operator would allow-list
            // a partner's host on the platform's network.
            outgoing_allowed_hosts: vec!["127.0.0.1".into(), "localhost".into()],
            trusted_proxies: Vec::new(),
            worker: true,
            clock: Default::default(),
        };
        let mut config = config;
        configure(&mut config);
        let state = guichet_web::AppState::new(db.db.clone(), config);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let serve_state = state.clone();
        tokio::spawn(async move {
            let _ = guichet_web::serve(listener, serve_state, async {
                let _ = rx.await;
            })
            .await;
        });
        let client = Browser::new(&base).client;
        Self {
            base,
            client,
            db,
            state,
            _shutdown: tx,
        }
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("request")
    }

    pub async fn get_text(&self, path: &str) -> (u16, String) {
        let r = self.get(path).await;
        let status = r.status().as_u16();
        (status, r.text().await.expect("body"))
    }

    /// A new browser (own cookies) on this server.
    pub fn browser(&self) -> Browser {
        Browser::new(&self.base)
    }

    pub fn db(&self) -> &guichet_store::Db {
        &self.db.db
    }
}

/// A browser: keeps cookies, fills the anti-CSRF field of forms, never follows redirects by itself.
pub struct Browser {
    pub base: String,
    pub client: reqwest::Client,
    pub jar: std::sync::Arc<reqwest::cookie::Jar>,
}

pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub html: String,
}

impl Browser {
    pub fn new(base: &str) -> Self {
        let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_provider(jar.clone())
            .build()
            .expect("client");
        Self {
            base: base.to_string(),
            client,
            jar,
        }
    }

    /// A browser whose requests reach the server through a reverse proxy that says they come
    /// from `address` (`X-Forwarded-For`), as the platform's own proxy does.
    pub fn forwarded_for(base: &str, address: &str) -> Self {
        let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("x-forwarded-for", address.parse().expect("header value"));
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_provider(jar.clone())
            .default_headers(headers)
            .build()
            .expect("client");
        Self {
            base: base.to_string(),
            client,
            jar,
        }
    }

    /// Sets a cookie as the server would have.
    pub fn set_cookie(&self, name: &str, value: &str) {
        let url: reqwest::Url = self.base.parse().expect("base url");
        self.jar
            .add_cookie_str(&format!("{name}={value}; Path=/"), &url);
    }

    /// The value of a cookie the server set.
    pub fn cookie(&self, name: &str) -> Option<String> {
        use reqwest::cookie::CookieStore;
        let url: reqwest::Url = self.base.parse().expect("base url");
        let header = self.jar.cookies(&url)?;
        header
            .to_str()
            .ok()?
            .split("; ")
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")).map(str::to_string))
    }

    pub async fn page(r: reqwest::Response) -> Page {
        let status = r.status().as_u16();
        let location = r
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        Page {
            status,
            location,
            html: r.text().await.expect("body"),
        }
    }

    pub async fn get(&self, path: &str) -> Page {
        let url = if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{path}", self.base)
        };
        Self::page(self.client.get(url).send().await.expect("GET")).await
    }

    /// The anti-CSRF token of this browser, read from a page's form as a user's browser would.
    pub async fn csrf(&self) -> String {
        let page = self.get("/connexion").await;
        field_value(&page.html, "_csrf").expect("a form with the anti-CSRF field")
    }

    /// Posts a form, with the anti-CSRF token of this browser.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let token = self.csrf().await;
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        all.push(("_csrf", &token));
        self.post_raw(path, &all).await
    }

    /// Posts a multipart form (with files), the anti-CSRF token in the query string as the page does.
    pub async fn post_multipart(&self, path: &str, form: reqwest::multipart::Form) -> Page {
        let token = self.csrf().await;
        let url = format!("{}{path}?_csrf={token}", self.base);
        Self::page(
            self.client
                .post(url)
                .multipart(form)
                .send()
                .await
                .expect("POST"),
        )
        .await
    }

    /// Posts exactly these fields (no anti-CSRF token unless given).
    pub async fn post_raw(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let url = format!("{}{path}", self.base);
        Self::page(
            self.client
                .post(url)
                .form(fields)
                .send()
                .await
                .expect("POST"),
        )
        .await
    }
}

/// The value attribute of the input named `name` in a page.
pub fn field_value(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\"");
    let at = html.find(&marker)?;
    let tag_start = html[..at].rfind('<')?;
    let tag_end = at + html[at..].find('>')?;
    let tag = &html[tag_start..tag_end];
    let start = tag.find("value=\"")? + "value=\"".len();
    let end = tag[start..].find('"')? + start;
    Some(tag[start..end].to_string())
}

/// The value of the first attribute `name` in a page.
pub fn attribute(html: &str, name: &str) -> Option<String> {
    let marker = format!("{name}=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_string())
}

/// How FranceConnect is set up in a test: by default as FranceConnect v2 (signed, in clear).
#[derive(Default, Clone, Copy)]
pub struct OidcSetUp {
    /// The provider encrypts to Guichet's published keys with this algorithm (FranceConnect+).
    pub provider_encrypts: Option<&'static str>,
    /// Guichet's decryption key, of this kind.
    pub guichet_key: Option<guichet_web::compte::oidc_keys::KeyKind>,
    /// Guichet refuses answers in clear from FranceConnect.
    pub guichet_requires_encryption: bool,
}

/// A real OpenID Connect provider (npm oidc-provider) set up like FranceConnect v2, in its own
/// Node.js process: `tests/oidc/provider.mjs` (installed by `scripts/test`).
pub struct OidcProvider {
    pub issuer: String,
    child: std::process::Child,
}

impl OidcProvider {
    pub const CLIENT_ID: &'static str = "guichet-test";
    pub const CLIENT_SECRET: &'static str = "un-secret-de-test-long-de-plus-de-32-caracteres";

    async fn start(guichet: &str, encryption: Option<&str>) -> Self {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/oidc");
        assert!(
            root.join("node_modules/oidc-provider").exists(),
            "tests/oidc/node_modules is missing: scripts/test installs it (npm ci in tests/oidc)"
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("free port");
        let mut command = std::process::Command::new("node");
        if let Some(alg) = encryption {
            command.env("OIDC_ENCRYPTION", alg).env(
                "OIDC_CLIENT_JWKS_URI",
                format!("{guichet}/.well-known/jwks.json"),
            );
        }
        let mut child = command
            .arg(root.join("provider.mjs"))
            .env("OIDC_PORT", port.to_string())
            .env("OIDC_CLIENT_ID", Self::CLIENT_ID)
            .env("OIDC_CLIENT_SECRET", Self::CLIENT_SECRET)
            .env(
                "OIDC_REDIRECT_URIS",
                format!(
                    "{guichet}/connexion/franceconnect/retour,{guichet}/connexion/agents/retour"
                ),
            )
            .env(
                "OIDC_POST_LOGOUT_REDIRECT_URIS",
                format!("{guichet}/deconnexion/fin"),
            )
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start node tests/oidc/provider.mjs");
        let issuer = format!("http://127.0.0.1:{port}");
        let discovery = format!("{issuer}/.well-known/openid-configuration");
        for _ in 0..200 {
            if reqwest::get(&discovery)
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return Self { issuer, child };
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("the OpenID provider did not start on port {port}");
    }

    /// Test controls of the provider: `account=fc-jean`, `acr=eidas1`, `tamper=1`.
    pub async fn mode(&self, query: &str) {
        let r = reqwest::get(format!("{}/__test/mode?{query}", self.issuer))
            .await
            .expect("provider mode");
        assert!(r.status().is_success());
    }
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A real SMTP server (Python's aiosmtpd) writing every message it receives to a maildir.
pub struct SmtpSink {
    pub port: u16,
    dir: tempfile::TempDir,
    child: std::process::Child,
}

#[derive(Clone)]
pub struct ReceivedMail {
    pub to: String,
    pub subject: String,
    pub body: String,
}

impl ReceivedMail {
    /// The first link in the body.
    pub fn link(&self) -> String {
        self.body
            .split_whitespace()
            .find(|w| w.starts_with("http://") || w.starts_with("https://"))
            .expect("a link in the mail")
            .to_string()
    }
}

impl SmtpSink {
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().expect("maildir");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("free port");
        let mut child = std::process::Command::new("python3")
            .args([
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                &format!("127.0.0.1:{port}"),
                "-c",
                "aiosmtpd.handlers.Mailbox",
            ])
            .arg(dir.path().join("maildir"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start aiosmtpd (scripts/test installs it: pip install aiosmtpd)");
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Self { port, dir, child };
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("aiosmtpd did not start on port {port}");
    }

    pub fn received(&self) -> Vec<ReceivedMail> {
        let new = self.dir.path().join("maildir").join("new");
        let mut files: Vec<_> = std::fs::read_dir(&new)
            .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
            .unwrap_or_default();
        files.sort();
        files
            .iter()
            .filter_map(|p| std::fs::read(p).ok())
            .filter_map(|raw| {
                let msg = mail_parser::MessageParser::default().parse(&raw)?;
                Some(ReceivedMail {
                    to: msg
                        .to()
                        .and_then(|a| a.first())
                        .and_then(|a| a.address())
                        .unwrap_or_default()
                        .to_string(),
                    subject: msg.subject().unwrap_or_default().to_string(),
                    body: msg.body_text(0).map(|b| b.to_string()).unwrap_or_default(),
                })
            })
            .collect()
    }

    /// Waits (up to 10 s) for a mail to this address whose subject contains `subject`.
    pub async fn wait_for(&self, to: &str, subject: &str) -> ReceivedMail {
        for _ in 0..200 {
            if let Some(m) = self
                .received()
                .into_iter()
                .rev()
                .find(|m| m.to == to && m.subject.contains(subject))
            {
                return m;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let seen: Vec<String> = self
            .received()
            .iter()
            .map(|m| format!("{} / {}", m.to, m.subject))
            .collect();
        panic!("no mail to {to} about {subject:?}; received: {seen:?}");
    }
}

impl SmtpSink {
    /// The mails to this address about this subject received so far.
    pub fn matching(&self, to: &str, subject: &str) -> Vec<ReceivedMail> {
        self.received()
            .into_iter()
            .filter(|m| m.to == to && m.subject.contains(subject))
            .collect()
    }

    /// Waits for a mail to this address about this subject that is not one of `seen` (the
    /// maildir's names do not say which came first within a second).
    pub async fn wait_for_other(
        &self,
        to: &str,
        subject: &str,
        seen: &[ReceivedMail],
    ) -> ReceivedMail {
        for _ in 0..200 {
            if let Some(m) = self.matching(to, subject).into_iter().find(|m| {
                !seen
                    .iter()
                    .any(|s| s.subject == m.subject && s.body == m.body)
            }) {
                return m;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("no new mail to {to} about {subject:?}");
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the `guichet` binary and returns (exit success, stdout, stderr).
pub fn run_cli(args: &[&str]) -> (bool, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_guichet"))
        .args(args)
        .env_remove("GUICHET_DATABASE_URL")
        .output()
        .expect("run guichet");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A démarche of this collectivité, created and published as its admin would (no trace: the
/// set-up of a test, not what it checks).
pub async fn publish(
    db: &guichet_store::Db,
    collectivite_id: i64,
    def: &guichet_domain::demarche::Definition,
) -> guichet_store::demarche::Demarche {
    let d = guichet_store::demarche::create(db, collectivite_id, def, Default::default())
        .await
        .expect("démarche");
    guichet_store::demarche::publish(db, &d, Default::default())
        .await
        .expect("publish");
    guichet_store::demarche::get(db, collectivite_id, d.id)
        .await
        .expect("read")
        .expect("démarche")
}

/// A file in a multipart form, as a browser sends it: its name and its claimed type.
pub fn file_part(name: &str, bytes: impl Into<Vec<u8>>, mime: &str) -> reqwest::multipart::Part {
    reqwest::multipart::Part::bytes(bytes.into())
        .file_name(name.to_string())
        .mime_str(mime)
        .expect("mime")
}

/// A multipart form of these text fields.
pub fn multipart(fields: &[(&str, &str)]) -> reqwest::multipart::Form {
    fields
        .iter()
        .fold(reqwest::multipart::Form::new(), |form, (k, v)| {
            form.text(k.to_string(), v.to_string())
        })
}

/// The id that follows `prefix` in a location: `/dossiers/12/etapes/0` gives 12.
pub fn id_from(location: &str, prefix: &str) -> i64 {
    location
        .strip_prefix(prefix)
        .and_then(|r| r.split('/').next())
        .and_then(|i| i.parse().ok())
        .expect("id in location")
}

/// A Paris wall-clock time as stored (Unix milliseconds).
pub fn paris_ms(y: i16, m: i8, d: i8, h: i8, min: i8) -> i64 {
    guichet_domain::delai::paris()
        .to_timestamp(jiff::civil::date(y, m, d).at(h, min, 0, 0))
        .expect("a Paris time")
        .as_millisecond()
}

/// A real Garage server (S3-compatible object store) on loopback, with one bucket and one key:
/// built once by `scripts/test` (`cargo install garage`, cached in ~/.cache/guichet).
pub struct Garage {
    pub endpoint: String,
    pub bucket: String,
    pub key_id: String,
    pub secret: String,
    _dir: tempfile::TempDir,
    _server: tokio::process::Child,
}

impl Garage {
    fn binary() -> PathBuf {
        let path = std::env::var_os("GUICHET_GARAGE")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                PathBuf::from(std::env::var("HOME").unwrap_or_default())
                    .join(".cache/guichet/garage/bin/garage")
            });
        assert!(
            path.exists(),
            "Garage is not built at {} (scripts/test builds it once: cargo install --locked garage --root ~/.cache/guichet/garage)",
            path.display()
        );
        path
    }

    async fn cli(binary: &Path, config: &Path, args: &[&str]) -> String {
        let out = tokio::process::Command::new(binary)
            .arg("-c")
            .arg(config)
            .args(args)
            .output()
            .await
            .expect("run garage");
        assert!(
            out.status.success(),
            "garage {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub async fn start() -> Self {
        let binary = Self::binary();
        let dir = tempfile::tempdir().expect("garage dir");
        let (rpc, s3, admin) = (free_port(), free_port(), free_port());
        let secret: String = (0..32)
            .map(|i| format!("{:02x}", (i * 37 + std::process::id() as usize) % 256))
            .collect();
        let config = dir.path().join("garage.toml");
        std::fs::write(
            &config,
            format!(
                "metadata_dir = \"{d}/meta\"\ndata_dir = \"{d}/data\"\ndb_engine = \"sqlite\"\n\
                 replication_factor = 1\nrpc_bind_addr = \"127.0.0.1:{rpc}\"\n\
                 rpc_public_addr = \"127.0.0.1:{rpc}\"\nrpc_secret = \"{secret}\"\n\
                 [s3_api]\ns3_region = \"garage\"\napi_bind_addr = \"127.0.0.1:{s3}\"\n\
                 root_domain = \".s3.garage.localhost\"\n\
                 [admin]\napi_bind_addr = \"127.0.0.1:{admin}\"\n",
                d = dir.path().display()
            ),
        )
        .expect("garage config");
        let server = tokio::process::Command::new(&binary)
            .arg("-c")
            .arg(&config)
            .arg("server")
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("garage.log")).expect("log"))
            .kill_on_drop(true)
            .spawn()
            .expect("start garage");
        let started = std::time::Instant::now();
        let node = loop {
            let out = tokio::process::Command::new(&binary)
                .arg("-c")
                .arg(&config)
                .args(["node", "id", "-q"])
                .output()
                .await
                .expect("garage node id");
            // The node id is read from disk: the RPC server may not listen yet, which `status`
            // (a call over RPC) tells.
            let listening = tokio::process::Command::new(&binary)
                .arg("-c")
                .arg(&config)
                .arg("status")
                .output()
                .await
                .is_ok_and(|o| o.status.success());
            if out.status.success() && listening {
                break String::from_utf8_lossy(&out.stdout)
                    .split('@')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_string();
            }
            assert!(
                started.elapsed() < std::time::Duration::from_secs(30),
                "garage did not start: {}",
                std::fs::read_to_string(dir.path().join("garage.log")).unwrap_or_default()
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        };
        Self::cli(
            &binary,
            &config,
            &["layout", "assign", "-z", "dc1", "-c", "1G", &node],
        )
        .await;
        Self::cli(&binary, &config, &["layout", "apply", "--version", "1"]).await;
        let key = Self::cli(&binary, &config, &["key", "create", "guichet"]).await;
        let field = |name: &str| {
            key.lines()
                .find_map(|l| l.strip_prefix(name))
                .map(|v| v.trim().to_string())
                .unwrap_or_else(|| panic!("{name} in: {key}"))
        };
        let (key_id, secret) = (field("Key ID:"), field("Secret key:"));
        Self::cli(&binary, &config, &["bucket", "create", "guichet"]).await;
        Self::cli(
            &binary,
            &config,
            &[
                "bucket", "allow", "--read", "--write", "--owner", "guichet", "--key", "guichet",
            ],
        )
        .await;
        Self {
            endpoint: format!("http://127.0.0.1:{s3}"),
            bucket: "guichet".into(),
            key_id,
            secret,
            _dir: dir,
            _server: server,
        }
    }

    /// The configuration lines that put a platform's files under `prefix` of the bucket.
    pub fn config(&self, prefix: &str) -> String {
        format!(
            "files_url = \"s3://{}/{prefix}\"\nfiles_s3_endpoint = \"{}\"\nfiles_s3_region = \"garage\"\n\
             files_s3_access_key_id = \"{}\"\nfiles_s3_secret_access_key = \"{}\"\n",
            self.bucket, self.endpoint, self.key_id, self.secret
        )
    }

    pub fn object_config(&self, prefix: &str) -> guichet_store::objects::ObjectConfig {
        guichet_store::objects::ObjectConfig {
            url: format!("s3://{}/{prefix}", self.bucket),
            endpoint: Some(self.endpoint.clone()),
            region: Some("garage".into()),
            access_key_id: Some(self.key_id.clone()),
            secret_access_key: Some(self.secret.clone()),
        }
    }
}

/// What the tests that deposit under load start from: Dijon, a published démarche of this
/// definition, and a usager signed in (their session cookie).
pub struct Depositor {
    pub dijon: guichet_store::collectivite::Collectivite,
    pub demarche: guichet_store::demarche::Demarche,
    pub cookie: String,
}

pub async fn depositor(db: &guichet_store::Db, definition: &str, email: &str) -> Depositor {
    use guichet_store::compte::{self, Kind};
    let dijon = guichet_store::collectivite::add(
        db,
        &guichet_store::collectivite::Target::Insee("21231".into()),
        &guichet_store::collectivite::Contact::default(),
        false,
    )
    .await
    .expect("Dijon");
    let def = guichet_domain::demarche::Definition::from_json(definition).expect("definition");
    let demarche = publish(db, dijon.id, &def).await;
    let user = compte::create(
        db,
        Kind::Usager,
        email,
        "Usager",
        Some("cheval agrafe batterie correcte"),
    )
    .await
    .expect("user");
    compte::mark_email_confirmed(db, user.id)
        .await
        .expect("confirm");
    let (cookie, _) = guichet_store::session::create(db, user.id, false, None, None)
        .await
        .expect("session");
    Depositor {
        dijon,
        demarche,
        cookie,
    }
}

/// Whether a deposit's answer is its acknowledgement: the redirection to the accusé de réception.
pub fn acknowledged(r: &reqwest::Response) -> bool {
    r.status() == 303
        && r.headers()
            .get("location")
            .is_some_and(|l| l.to_str().is_ok_and(|l| l.ends_with("?depose=1")))
}
