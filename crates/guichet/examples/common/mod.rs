//! What the benches share: the release server started on a loopback port against a prepared
//! database, and pages requested one at a time with their percentiles.

use std::time::{Duration, Instant};

/// The `p` percentile of sorted durations, in milliseconds.
pub fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1000.0
}

/// `url` requested `n` times, one at a time; each answer must be a 200. Sorted durations.
pub async fn timed(client: &reqwest::Client, url: &str, n: usize) -> anyhow::Result<Vec<Duration>> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let r = client.get(url).send().await?;
        anyhow::ensure!(r.status() == 200, "{url}: {}", r.status());
        let _ = r.bytes().await?;
        out.push(t.elapsed());
    }
    out.sort();
    Ok(out)
}

/// The platform's binary serving `dir` (and the database at `url` when it is PostgreSQL) on a
/// free loopback port, ready: the child (killed on drop), its base URL and a client that does not
/// follow redirections.
pub async fn serve(
    bin: &str,
    dir: &std::path::Path,
    url: &str,
) -> anyhow::Result<(tokio::process::Child, String, reqwest::Client)> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let mut cmd = tokio::process::Command::new(bin);
    cmd.args([
        "serve",
        "--listen",
        &format!("127.0.0.1:{port}"),
        "--data-dir",
        &dir.display().to_string(),
    ]);
    if url.starts_with("postgres") {
        cmd.args(["--database-url", url]);
    }
    let server = cmd
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    while client.get(format!("{base}/healthz")).send().await.is_err() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok((server, base, client))
}

/// A bench's arguments (`BIN DATA_DIR [DATABASE_URL]`) and its database, migrated, with the
/// territory and Dijon as a collectivité.
pub struct Setup {
    pub bin: String,
    pub dir: std::path::PathBuf,
    pub url: String,
    pub backend: &'static str,
    pub db: guichet_store::Db,
    pub dijon: guichet_store::collectivite::Collectivite,
}

pub async fn setup() -> anyhow::Result<Setup> {
    let args: Vec<String> = std::env::args().collect();
    let (bin, dir) = (args[1].clone(), std::path::PathBuf::from(&args[2]));
    std::fs::create_dir_all(&dir)?;
    let url = args
        .get(3)
        .cloned()
        .unwrap_or_else(|| guichet_store::Db::sqlite_url_in(&dir));
    let backend = if url.starts_with("postgres") {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    let db = guichet_store::Db::connect(&url, &Default::default()).await?;
    guichet_store::migrate::run(&db).await?;
    guichet_store::territoire::import_shipped(&db, false).await?;
    let dijon = guichet_store::collectivite::add(
        &db,
        &guichet_store::collectivite::Target::Insee("21231".into()),
        &Default::default(),
        false,
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(Setup {
        bin,
        dir,
        url,
        backend,
        db,
        dijon,
    })
}
