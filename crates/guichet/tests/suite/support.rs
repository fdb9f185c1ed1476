//! Test harness: a fresh database per test, on SQLite by default or on PostgreSQL when
//! GUICHET_TEST_DATABASE_URL is set; a real server on a free port.

use guichet_store::{migrate, territory, Db};
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
        territory::SHIPPED_VERSION.len()
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
        let db = connect(&url).await;
        Self { url, db, dir }
    }

    /// An empty database (no schema, no referential).
    pub async fn empty() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = match pg_admin_url() {
            Some(admin) => pg_from_template(&admin, false).await,
            None => Db::sqlite_url_in(dir.path()),
        };
        let db = connect(&url).await;
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
                    territory::import_shipped(&db, false)
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
            territory::import_shipped(&db, false)
                .await
                .expect("import referential");
            db.close().await;
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
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

impl TestServer {
    pub async fn start() -> Self {
        let db = TestDb::with_referential().await;
        Self::start_on(db).await
    }

    pub async fn start_on(db: TestDb) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let state = guichet_web::AppState::new(db.db.clone(), guichet_web::WebConfig::default());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = guichet_web::serve(listener, state, async {
                let _ = rx.await;
            })
            .await;
        });
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_store(true)
            .build()
            .expect("client");
        Self {
            base,
            client,
            db,
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
