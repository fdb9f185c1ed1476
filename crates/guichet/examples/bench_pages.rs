//! Load on every kind of page: `scripts/bench-pages` runs it against the release binary.
//!
//! The platform runs with its demonstration data (`guichet demo`: the région, its collectivités,
//! usagers, agents, an aidant, the operator, an elected member), to which the bench adds a
//! région's catalogue (100,000 published démarches: 3,125 communes each offering 32) and
//! 200,000 dossiers in Dijon's queues. Then each page, public or behind its role's session, is
//! requested by 64 concurrent clients for a few seconds; then the usager's filing journey (create
//! the dossier, save its step, deposit: form posts with their CSRF token). Each row: requests per
//! second, p50 and p99 latency, errors (any answer but the expected one), the server's CPU time
//! per request. The first row, `/healthz`, is the raw limit of the same run: the HTTP stack
//! alone, on the same machine, in the same minute.
//!
//! Usage: bench_pages <guichet binary> <data dir> [database url]; prints a Markdown section.
//! `ONLY=/admin/dijon/dossiers SECONDS=20` loads only the pages whose path holds the text (or one
//! of its comma-separated parts), for the time given (to profile them).

mod common;

use common::{cpu_ms, percentile, signed_in, DEF};
use std::sync::Arc;
use std::time::{Duration, Instant};

const CLIENTS: usize = 64;
/// The measured node only serves: the background work (e-mails, the open data's daily
/// regeneration for every collectivité…) runs on another node, as the README's production
/// section allows, and does not land in one page's figures.
const SERVING_ONLY: &[(&str, &str)] = &[("GUICHET_WORKER", "false")];
/// Each page's run; `SECONDS` changes it (for profiling one page).
fn run() -> Duration {
    Duration::from_secs(
        std::env::var("SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(4),
    )
}
const TENANTS: i64 = 3_125;
const DOSSIERS: i64 = 200_000;

/// Who asks for a page.
#[derive(Clone, Copy, PartialEq)]
enum Who {
    Public,
    Usager,
    Agent,
    Aidant,
    Operateur,
    Elue,
}

impl Who {
    fn label(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Usager => "usager",
            Self::Agent => "agent",
            Self::Aidant => "aidant",
            Self::Operateur => "operator",
            Self::Elue => "elected member",
        }
    }
}

/// One row of the table.
struct Row {
    who: &'static str,
    what: String,
    per_s: f64,
    p50: f64,
    p99: f64,
    errors: u64,
    cpu_us: f64,
    /// SQL statements the server ran for one request (PostgreSQL's log), if counted.
    statements: Option<usize>,
}

/// `path` asked by `CLIENTS` clients for the run, each answer expected to be a 200.
async fn load(
    client: &reqwest::Client,
    base: &str,
    path: &str,
    cookies: Option<Arc<String>>,
    server_pid: u32,
) -> (f64, Vec<Duration>, u64, f64) {
    // Warm-up: what the first request of a page builds (the catalogue's snapshot, a commune's
    // answers) is not what its thousandth costs.
    for _ in 0..3 {
        let mut r = client.get(format!("{base}{path}"));
        if let Some(c) = &cookies {
            r = r.header("cookie", c.as_str());
        }
        if let Ok(r) = r.send().await {
            let _ = r.bytes().await;
        }
    }
    let deadline = Instant::now() + run();
    let before = cpu_ms(server_pid).1;
    let mut tasks = Vec::new();
    for _ in 0..CLIENTS {
        let (client, url, cookies) = (client.clone(), format!("{base}{path}"), cookies.clone());
        tasks.push(tokio::spawn(async move {
            let (mut times, mut errors) = (Vec::new(), 0u64);
            while Instant::now() < deadline {
                let t = Instant::now();
                let mut r = client.get(&url);
                if let Some(c) = &cookies {
                    r = r.header("cookie", c.as_str());
                }
                let ok = match r.send().await {
                    Ok(r) => r.status() == 200 && r.bytes().await.is_ok(),
                    Err(_) => false,
                };
                if ok {
                    times.push(t.elapsed());
                } else {
                    errors += 1;
                }
            }
            (times, errors)
        }));
    }
    let (mut times, mut errors) = (Vec::new(), 0);
    for t in tasks {
        if let Ok((t, e)) = t.await {
            times.extend(t);
            errors += e;
        }
    }
    let cpu = cpu_ms(server_pid).1 - before;
    times.sort();
    let n = times.len() as f64;
    (
        n / run().as_secs_f64(),
        times,
        errors,
        cpu as f64 * 1000.0 / n.max(1.0),
    )
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let (bin, dir, url, backend) = common::args()?;

    // The demonstration platform: it seeds itself on its first start (no map tiles from
    // elsewhere: only loopback is a target).
    let (mut server, _, _) =
        common::start(&bin, "demo", &dir, &url, &[("GUICHET_MAP_TILE_URL", "")]).await?;

    // The région's data set, added beside the demo's.
    let db = guichet_store::Db::connect(&url, &Default::default()).await?;
    let t = Instant::now();
    let (_, demarches) = common::seed_catalogue(&db, TENANTS).await?;
    let dijon = guichet_store::collectivite::by_slug(&db, "dijon")
        .await?
        .ok_or_else(|| anyhow::anyhow!("the demo has no Dijon"))?;
    let def = guichet_domain::demarche::Definition::from_json(DEF)
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let d = guichet_store::demarche::create(&db, dijon.id, &def, Default::default()).await?;
    guichet_store::demarche::publish(&db, &d, Default::default()).await?;
    common::bulk_dossiers(&db, dijon.id, d.id, DOSSIERS, "B").await?;
    common::analyze(&db).await?;
    let seeded = t.elapsed();
    let dossiers: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM dossiers")
        .fetch_one(db.pool())
        .await?;
    // The demo seeded itself; the pages are measured as production serves them.
    let _ = server.kill().await;
    let _ = server.wait().await;

    // Each role's session, opened as its login would (second factor done where it is asked).
    let mut sessions_db = std::collections::HashMap::new();
    for (who, email) in [
        (Who::Usager, "usager@demo.example"),
        (Who::Agent, "agent.dijon@demo.example"),
        (Who::Aidant, "aidant@demo.example"),
        (Who::Operateur, "operateur@demo.example"),
        (Who::Elue, "maire.dijon@demo.example"),
    ] {
        let user = guichet_store::compte::by_email(&db, email)
            .await?
            .ok_or_else(|| anyhow::anyhow!("no demo account {email}"))?;
        let (session, _) = guichet_store::session::create(&db, user.id, true, None, None).await?;
        sessions_db.insert(who.label(), (session, user.id));
    }
    let usager_dossier: i64 = sqlx::query_scalar(
        "SELECT MIN(id) FROM dossiers WHERE usager_id = $1 AND state <> 'brouillon'",
    )
    .bind(sessions_db["usager"].1)
    .fetch_one(db.pool())
    .await?;
    let queued: i64 = sqlx::query_scalar("SELECT MAX(id) FROM dossiers WHERE number LIKE 'B-%'")
        .fetch_one(db.pool())
        .await?;
    let middle = queued - DOSSIERS / 2;

    let pages: Vec<(Who, String)> = [
        (Who::Public, "/healthz".to_string()),
        (Who::Public, "/".into()),
        (Who::Public, "/recherche?q=cantine&commune=21231".into()),
        (Who::Public, "/recherche?q=carte+grise".into()),
        (Who::Public, "/recherche?commune=21231".into()),
        (Who::Public, "/recherche/suggestions?q=cant".into()),
        (Who::Public, format!("/demarches/dijon/{}", d.slug)),
        (Who::Public, "/signalements/nouveau".into()),
        (Who::Public, "/collectivites".into()),
        (Who::Public, "/collectivites/dijon".into()),
        (Who::Public, "/observatoire".into()),
        (Who::Public, "/observatoire/dijon".into()),
        (Who::Public, "/donnees".into()),
        (Who::Public, "/participation/dijon".into()),
        (Who::Public, "/connexion".into()),
        (Who::Usager, "/compte".into()),
        (Who::Usager, "/dossiers".into()),
        (Who::Usager, format!("/dossiers/{usager_dossier}")),
        (Who::Usager, "/compte/documents".into()),
        (Who::Agent, "/admin/dijon".into()),
        (Who::Agent, "/admin/dijon/dossiers?file=a-traiter".into()),
        (
            Who::Agent,
            format!("/admin/dijon/dossiers?file=tous&curseur={middle}"),
        ),
        (Who::Agent, "/admin/dijon/dossiers?q=demandeur+4242".into()),
        (Who::Agent, format!("/admin/dijon/dossiers/{middle}")),
        (Who::Agent, "/admin/dijon/signalements".into()),
        (Who::Aidant, "/aidant".into()),
        (Who::Operateur, "/operateur".into()),
        (Who::Public, "/donnees/catalogue.jsonld".into()),
        (Who::Elue, "/elu".into()),
    ]
    .into_iter()
    .collect();

    let demarche = format!("dijon/{}", d.slug);
    let statements = if url.starts_with("postgres") {
        count_statements(&bin, &dir, &url, &db, &pages, &sessions_db, &demarche).await?
    } else {
        Default::default()
    };
    let (mut server, base, _) = common::serve_with(&bin, &dir, &url, SERVING_ONLY).await?;
    let server_pid = server.id().unwrap_or_default();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(CLIENTS)
        .build()?;
    let mut sessions = std::collections::HashMap::new();
    for (who, (session, user_id)) in &sessions_db {
        let (cookies, token) = signed_in(&client, &base, session).await?;
        sessions.insert(*who, (Arc::new(cookies), token, *user_id));
    }

    let mut rows = Vec::new();
    let mut peak_rss = 0u64;
    // `ONLY=text`: only the pages whose path holds it, or one of its comma-separated parts (for
    // profiling a page, or comparing two builds on a few).
    let only = std::env::var("ONLY").unwrap_or_default();
    for (who, path) in pages
        .iter()
        .filter(|(_, p)| only.split(',').any(|o| p.contains(o)))
    {
        let cookies = (*who != Who::Public).then(|| sessions[who.label()].0.clone());
        let (per_s, times, errors, cpu_us) = load(&client, &base, path, cookies, server_pid).await;
        peak_rss = peak_rss.max(rss(server_pid));
        rows.push(Row {
            who: who.label(),
            what: format!("`GET {path}`"),
            per_s,
            p50: percentile(&times, 0.5),
            p99: percentile(&times, 0.99),
            errors,
            cpu_us,
            statements: statements.get(path).copied(),
        });
    }

    // The usager's journey: three form posts per dossier filed.
    let (cookies, token, _) = sessions["usager"].clone();
    let before = cpu_ms(server_pid).1;
    let (flows, deposits, errors) = common::filings(
        &client,
        &base,
        (&cookies, &token),
        &demarche,
        CLIENTS,
        Instant::now() + run(),
    )
    .await;
    let cpu = cpu_ms(server_pid).1 - before;
    peak_rss = peak_rss.max(rss(server_pid));
    rows.push(Row {
        who: "usager",
        what: "complete filing: `POST` create, save the step, deposit (per flow)".into(),
        per_s: flows.len() as f64 / run().as_secs_f64(),
        p50: percentile(&flows, 0.5),
        p99: percentile(&flows, 0.99),
        errors,
        cpu_us: cpu as f64 * 1000.0 / flows.len().max(1) as f64,
        statements: statements.get(FILING).copied(),
    });
    rows.push(Row {
        who: "usager",
        what: "… its deposit request alone".into(),
        per_s: deposits.len() as f64 / run().as_secs_f64(),
        p50: percentile(&deposits, 0.5),
        p99: percentile(&deposits, 0.99),
        errors,
        cpu_us: f64::NAN,
        statements: None,
    });
    let _ = server.kill().await;

    println!("### {backend}\n");
    println!(
        "{demarches} démarches published by {} collectivités, {dossiers} dossiers; data set added in {:.0} s; server RSS peak {peak_rss} MB.\n",
        TENANTS,
        seeded.as_secs_f64()
    );
    println!("| who | request | req/s | p50 ms | p99 ms | errors | server CPU per request | SQL statements per request |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    for r in rows {
        let cpu = if r.cpu_us.is_nan() {
            "".to_string()
        } else {
            format!("{:.0} µs", r.cpu_us)
        };
        let statements = r.statements.map(|n| n.to_string()).unwrap_or_default();
        println!(
            "| {} | {} | {:.0} | {:.1} | {:.1} | {} | {cpu} | {statements} |",
            r.who, r.what, r.per_s, r.p50, r.p99, r.errors
        );
    }
    println!();
    Ok(())
}

/// PostgreSQL's server log, where `log_statement` writes (Debian's layout).
const PG_LOG: &str = "/var/log/postgresql/postgresql-15-main.log";

/// The key of the complete filing's count in [`count_statements`].
const FILING: &str = "filing";

/// The statements the server runs for one request of each page (after two to warm it up) and
/// for one complete filing of `demarche` by the usager (its three posts, each write a batch of
/// its own), counted in PostgreSQL's log with `log_statement = 'all'` set on the bench's
/// database for the time of the count, less what the background workers run in the same time;
/// empty when the log cannot be read.
async fn count_statements(
    bin: &str,
    dir: &std::path::Path,
    url: &str,
    db: &guichet_store::Db,
    pages: &[(Who, String)],
    sessions: &std::collections::HashMap<&str, (String, i64)>,
    demarche: &str,
) -> anyhow::Result<std::collections::HashMap<String, usize>> {
    let mut counts = std::collections::HashMap::new();
    if std::fs::File::open(PG_LOG).is_err() {
        return Ok(counts);
    }
    let name: String = sqlx::query_scalar("SELECT CAST(current_database() AS TEXT)")
        .fetch_one(db.pool())
        .await?;
    sqlx::query(&format!("ALTER DATABASE {name} SET log_statement = 'all'"))
        .execute(db.pool())
        .await?;
    let (mut server, base, client) = common::serve_with(bin, dir, url, SERVING_ONLY).await?;
    let marker = format!("@{name} LOG:  ");
    let logged = || -> usize {
        std::fs::read_to_string(PG_LOG)
            .map(|l| {
                l.lines()
                    .filter(|l| {
                        l.contains(&marker)
                            && (l.contains("LOG:  statement:") || l.contains("LOG:  execute"))
                    })
                    .count()
            })
            .unwrap_or(0)
    };
    // What the background workers run in the same time, without any request, to subtract.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut idle = 0;
    for _ in 0..5 {
        let before = logged();
        tokio::time::sleep(Duration::from_millis(300)).await;
        idle += logged() - before;
    }
    let idle = idle as f64 / 5.0;
    for (who, path) in pages {
        let cookie = sessions
            .get(who.label())
            .map(|(s, _)| format!("guichet_session={s}"));
        let ask = || {
            let mut r = client.get(format!("{base}{path}"));
            if let Some(c) = &cookie {
                r = r.header("cookie", c.as_str());
            }
            r.send()
        };
        for _ in 0..2 {
            let _ = ask().await?.bytes().await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        let before = logged();
        let _ = ask().await?.bytes().await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let n = (logged() - before) as f64 - idle;
        counts.insert(path.clone(), n.round().max(0.0) as usize);
    }
    if let Some((session, _)) = sessions.get("usager") {
        let (cookies, token) = signed_in(&client, &base, session).await?;
        let file = |n: usize| {
            let address = format!("{n} rue du Compte, 21000 Dijon");
            let (client, base, cookies, token) = (&client, &base, &cookies, &token);
            async move { common::file_once(client, base, cookies, token, demarche, &address).await }
        };
        for n in 0..2 {
            file(n).await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        let before = logged();
        if file(2).await.is_some() {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let n = (logged() - before) as f64 - idle;
            counts.insert(FILING.to_string(), n.round().max(0.0) as usize);
        }
    }
    let _ = server.kill().await;
    sqlx::query(&format!("ALTER DATABASE {name} RESET log_statement"))
        .execute(db.pool())
        .await?;
    Ok(counts)
}

/// The server's resident memory, in MB.
fn rss(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .unwrap_or(0)
        / 1024
}
