//! What the benches share: the release server started on a loopback port against a prepared
//! database, and pages requested one at a time with their percentiles.
// Each bench uses part of what is shared here.
#![allow(dead_code)]

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
    serve_with(bin, dir, url, &[]).await
}

/// [`serve`] with settings given as `GUICHET_*` environment variables.
pub async fn serve_with(
    bin: &str,
    dir: &std::path::Path,
    url: &str,
    settings: &[(&str, &str)],
) -> anyhow::Result<(tokio::process::Child, String, reqwest::Client)> {
    start(bin, "serve", dir, url, settings).await
}

/// The binary's `command` (`serve`, `demo`) on a free loopback port, once it answers.
pub async fn start(
    bin: &str,
    command: &str,
    dir: &std::path::Path,
    url: &str,
    settings: &[(&str, &str)],
) -> anyhow::Result<(tokio::process::Child, String, reqwest::Client)> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let mut cmd = tokio::process::Command::new(bin);
    cmd.args([
        command,
        "--listen",
        &format!("127.0.0.1:{port}"),
        "--data-dir",
        &dir.display().to_string(),
    ]);
    if url.starts_with("postgres") {
        cmd.args(["--database-url", url]);
    }
    cmd.envs(settings.iter().copied());
    let server = cmd
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(64)
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

/// A bench's arguments: the binary, the data directory (made if missing), the database URL
/// (the data directory's SQLite when none) and the database's name.
pub fn args() -> anyhow::Result<(String, std::path::PathBuf, String, &'static str)> {
    let args: Vec<String> = std::env::args().collect();
    anyhow::ensure!(args.len() >= 3, "usage: BIN DATA_DIR [DATABASE_URL]");
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
    Ok((bin, dir, url, backend))
}

pub async fn setup() -> anyhow::Result<Setup> {
    let (bin, dir, url, backend) = args()?;
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

/// A one-page démarche, quick to fill: what the flows file.
pub const DEF: &str = r#"{ "title": "Signalement de changement d'adresse", "description": "Prévenir la mairie.",
  "retention_months": 12, "deadline_days": 30, "pages": [ { "title": "Adresse", "fields": [
    { "id": "adresse", "label": "Nouvelle adresse", "type": "address", "required": true },
    { "id": "depuis", "label": "Depuis le", "type": "date", "required": true } ] } ] }"#;

/// The value of the form field `name` in a page.
pub fn field(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("name=\"{name}\""))?;
    let tag = &html[at..at + html[at..].find('>')?];
    let v = tag.find("value=\"")? + 7;
    Some(tag[v..v + tag[v..].find('"')?].to_string())
}

/// The cookies (session and CSRF) and the CSRF token of a signed-in visitor's forms.
pub async fn signed_in(
    client: &reqwest::Client,
    base: &str,
    session: &str,
) -> anyhow::Result<(String, String)> {
    let page = client
        .get(format!("{base}/connexion"))
        .header("cookie", format!("guichet_session={session}"))
        .send()
        .await?;
    let csrf_cookie = page
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("guichet_csrf="))
        .and_then(|c| c.split(';').next())
        .map(str::to_string)
        .unwrap_or_default();
    let token = field(&page.text().await?, "_csrf").unwrap_or_default();
    Ok((format!("guichet_session={session}; {csrf_cookie}"), token))
}

/// Deposits a dossier; true when acknowledged by the redirection to its accusé de réception.
pub async fn deposit(
    client: &reqwest::Client,
    base: &str,
    cookies: &str,
    token: &str,
    id: impl std::fmt::Display,
) -> bool {
    let r = client
        .post(format!("{base}/dossiers/{id}/depot"))
        .header("cookie", cookies)
        .form(&[("_csrf", token)])
        .send()
        .await;
    r.as_ref().is_ok_and(|r| {
        r.status() == 303
            && r.headers()
                .get("location")
                .is_some_and(|l| l.to_str().is_ok_and(|l| l.ends_with("?depose=1")))
    })
}

/// One complete filing over HTTP: create the dossier, save its step, deposit. The time of the
/// whole flow and of its deposit; none when a step failed.
pub async fn file_once(
    client: &reqwest::Client,
    base: &str,
    cookies: &str,
    token: &str,
    demarche: &str,
    address: &str,
) -> Option<(Duration, Duration)> {
    let start = Instant::now();
    let r = client
        .post(format!("{base}/demarches/{demarche}/dossiers"))
        .header("cookie", cookies)
        .form(&[("_csrf", token)])
        .send()
        .await
        .ok()?;
    let step = r.headers().get("location")?.to_str().ok()?.to_string();
    let saved = client
        .post(format!("{base}{step}"))
        .header("cookie", cookies)
        .form(&[
            ("_csrf", token),
            ("adresse", address),
            ("depuis", "2026-11-01"),
            ("action", "continuer"),
        ])
        .send()
        .await
        .ok()?;
    if saved.status() != 303 {
        return None;
    }
    let id = step.trim_start_matches("/dossiers/").split('/').next()?;
    let t = Instant::now();
    deposit(client, base, cookies, token, id)
        .await
        .then(|| (start.elapsed(), t.elapsed()))
}

/// What `clients` usagers filing `demarche` over and over until `deadline` achieved: each
/// complete filing's time and its deposit's (sorted), and the filings that failed.
pub async fn filings(
    client: &reqwest::Client,
    base: &str,
    session: (&str, &str),
    demarche: &str,
    clients: usize,
    deadline: Instant,
) -> (Vec<Duration>, Vec<Duration>, u64) {
    let mut tasks = Vec::new();
    for w in 0..clients {
        let (client, base, cookies, token, demarche) = (
            client.clone(),
            base.to_string(),
            session.0.to_string(),
            session.1.to_string(),
            demarche.to_string(),
        );
        tasks.push(tokio::spawn(async move {
            let (mut flows, mut deposits, mut errors) = (Vec::new(), Vec::new(), 0u64);
            let mut n = 0;
            while Instant::now() < deadline {
                n += 1;
                let address = format!("{n} rue du Banc d'essai {w}, 21000 Dijon");
                match file_once(&client, &base, &cookies, &token, &demarche, &address).await {
                    Some((flow, deposit)) => {
                        flows.push(flow);
                        deposits.push(deposit);
                    }
                    None => errors += 1,
                }
            }
            (flows, deposits, errors)
        }));
    }
    let (mut flows, mut deposits, mut errors) = (Vec::new(), Vec::new(), 0);
    for t in tasks {
        if let Ok((f, d, e)) = t.await {
            flows.extend(f);
            deposits.extend(d);
            errors += e;
        }
    }
    flows.sort();
    deposits.sort();
    (flows, deposits, errors)
}

/// CPU time spent so far, in ms: the whole machine's busy time (every process: server,
/// database, this load generator) and the server process's own. /proc counts in USER_HZ
/// ticks, 100 per second on Linux.
pub fn cpu_ms(server_pid: u32) -> (u64, u64) {
    let ticks = |line: &str, fields: &[usize]| -> u64 {
        let values: Vec<u64> = line
            .split_whitespace()
            .filter_map(|v| v.parse().ok())
            .collect();
        fields.iter().filter_map(|&i| values.get(i)).sum::<u64>() * 10
    };
    let machine = std::fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|s| s.lines().next().map(str::to_string))
        // user nice system idle iowait irq softirq steal: all but idle and iowait.
        .map(|l| ticks(&l, &[0, 1, 2, 5, 6, 7]))
        .unwrap_or_default();
    let server = std::fs::read_to_string(format!("/proc/{server_pid}/stat"))
        .ok()
        // After the command name: state is field 3, utime and stime fields 14 and 15.
        .and_then(|s| s.rsplit_once(')').map(|(_, rest)| rest.to_string()))
        .map(|rest| {
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let get = |i: usize| {
                fields
                    .get(i)
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0)
            };
            (get(11) + get(12)) * 10
        })
        .unwrap_or_default();
    (machine, server)
}

/// Gives the planner the table sizes after a bulk load, as autovacuum would in production.
pub async fn analyze(db: &guichet_store::Db) -> anyhow::Result<()> {
    sqlx::query("ANALYZE").execute(db.pool()).await?;
    Ok(())
}

/// The `tenants` most populated communes of the région Bourgogne-Franche-Comté (Dijon first)
/// join, if they have not yet, and each publish the démarches of tests/data/catalogue.tsv, one
/// transaction per collectivité as publishing its catalogue would write. The collectivités'
/// ids, in that order, and the number of démarches published.
pub async fn seed_catalogue(
    db: &guichet_store::Db,
    tenants: i64,
) -> anyhow::Result<(Vec<i64>, usize)> {
    const CATALOGUE: &str = include_str!("../../tests/data/catalogue.tsv");
    let communes: Vec<String> = sqlx::query_scalar(
        "SELECT insee FROM communes WHERE region_code = '27' AND kind = 'commune-actuelle'
         ORDER BY population DESC LIMIT $1",
    )
    .bind(tenants)
    .fetch_all(db.pool())
    .await?;
    let rows: Vec<Vec<&str>> = CATALOGUE
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split('\t').collect())
        .collect();
    let mut count = 0;
    let mut ids = Vec::new();
    for insee in &communes {
        let kind = guichet_domain::territoire::EntityKind::Commune;
        let collectivite = match guichet_store::collectivite::by_entity(db, kind, insee).await? {
            Some(t) => t,
            None => guichet_store::collectivite::add(
                db,
                &guichet_store::collectivite::Target::Insee(insee.clone()),
                &Default::default(),
                false,
            )
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?,
        };
        ids.push(collectivite.id);
        let mut tx = db.begin().await?;
        for (i, r) in rows.iter().enumerate() {
            let def = serde_json::json!({
                "title": r[1], "description": r[2], "competence": r[3], "retention_months": 12,
                "pages": [{"title": "Votre demande", "fields": [
                    {"id": "demande", "label": "Votre demande", "type": "long_text"}]}]
            });
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO demarches (tenant_id, slug, status, title, published_version, created_at, updated_at)
                 VALUES ($1, $2, 'publiee', $3, 1, 0, 0) RETURNING id",
            )
            .bind(collectivite.id)
            .bind(format!("catalogue-{i}"))
            .bind(r[1])
            .fetch_one(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO demarche_versions (tenant_id, demarche_id, version, definition, created_at, published_at)
                 VALUES ($1, $2, 1, $3, 0, 0)",
            )
            .bind(collectivite.id)
            .bind(id)
            .bind(def.to_string())
            .execute(&mut *tx)
            .await?;
            count += 1;
        }
        tx.commit().await?;
    }
    guichet_store::recherche::bump_generation(db).await?;
    Ok((ids, count))
}

/// Inserts `n` dossiers of démarche `demarche` in collectivité `tenant` in one statement, one in
/// four in instruction, the others déposés, numbered `{prefix}-1`…
pub async fn bulk_dossiers(
    db: &guichet_store::Db,
    tenant: i64,
    demarche: i64,
    n: i64,
    prefix: &str,
) -> anyhow::Result<()> {
    sqlx::query(&format!(
        "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < {n})
         INSERT INTO dossiers (tenant_id, number, demarche_id, version, state, answers, applicant_name, applicant_folded, created_at, updated_at, submitted_at)
         SELECT $1, '{prefix}-' || CAST(n AS TEXT), $2, 1, CASE WHEN n % 4 = 0 THEN 'en_instruction' ELSE 'depose' END, '{{}}', 'Demandeur ' || CAST(n AS TEXT), 'demandeur ' || CAST(n AS TEXT), n, n, n FROM seq"
    ))
    .bind(tenant)
    .bind(demarche)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// An agent of collectivité `tenant` with these roles and a second factor enrolled (needed by
/// every back-office page).
pub async fn agent(
    db: &guichet_store::Db,
    tenant: i64,
    email: &str,
    roles: &[guichet_domain::role::Role],
) -> anyhow::Result<guichet_store::compte::User> {
    let agent = guichet_store::compte::create(
        db,
        guichet_store::compte::Kind::Agent,
        email,
        "Agent",
        Some("cheval agrafe batterie correcte"),
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    guichet_store::compte::force_totp(db, agent.id, &guichet_store::compte::new_totp_secret())
        .await?;
    for role in roles {
        guichet_store::equipe::grant(db, tenant, agent.id, *role, None).await?;
    }
    Ok(agent)
}
