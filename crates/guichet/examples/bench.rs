//! Performance harness: `scripts/bench` runs it against the release binary.
//!
//! 1. Complete flows: 64 concurrent usagers each file a one-page démarche over HTTP (create the
//!    dossier, save the step, deposit: three requests) for a fixed time.
//! 2. Submissions: 64 concurrent usagers deposit drafts filled beforehand (the deposit request:
//!    validation, state change, journal entry, accusé e-mail queued, answered after the durable
//!    commit); throughput and p50/p99 latency.
//! 3. Raw limit of the same database with the same durability: 64 concurrent one-row
//!    INSERT + COMMIT transactions, for the same time.
//! 4. Queue page: an agent's "à traiter" page with 1,000,000 dossiers in the database, p50/p99.
//!
//! Usage: bench <guichet binary> <data dir> [database url]; prints a Markdown section.
//! `BENCH_ONLY=submissions` stops after 2 (for tuning).

mod common;

use common::{analyze, bulk_dossiers, cpu_ms, deposit, percentile, signed_in, DEF};
use std::sync::Arc;
use std::time::{Duration, Instant};

const CLIENTS: usize = 64;
const RUN: Duration = Duration::from_secs(15);
#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let (bin, dir, url, backend) = common::args()?;
    let db = guichet_store::Db::connect(
        &url,
        &guichet_store::db::DbOptions {
            max_connections: 32,
            ..Default::default()
        },
    )
    .await?
    // Secrets (the agent's second factor) are sealed with the data directory's key, which the
    // server started below reads too.
    .with_sealer(guichet_store::sealed::Sealer::new(
        &guichet_store::secret::key_file(&dir.join("cle-secrets"), "clé de scellement")?,
        &[],
    )?);
    guichet_store::migrate::run(&db).await?;
    guichet_store::territoire::import_shipped(&db, false).await?;
    let dijon = match guichet_store::collectivite::by_slug(&db, "dijon").await? {
        Some(t) => t,
        None => guichet_store::collectivite::add(
            &db,
            &guichet_store::collectivite::Target::Insee("21231".into()),
            &Default::default(),
            false,
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?,
    };
    let def = guichet_domain::demarche::Definition::from_json(DEF)
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let d = guichet_store::demarche::create(&db, dijon.id, &def, Default::default()).await?;
    guichet_store::demarche::publish(&db, &d, Default::default()).await?;
    let email = format!("bench{}@exemple.fr", d.id);
    let user = guichet_store::compte::create(
        &db,
        guichet_store::compte::Kind::Usager,
        &email,
        "Bench",
        Some("cheval agrafe batterie correcte"),
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    guichet_store::compte::mark_email_confirmed(&db, user.id).await?;
    let agent = common::agent(
        &db,
        dijon.id,
        &format!("agent{}@exemple.fr", d.id),
        &[guichet_domain::role::Role::Instructeur],
    )
    .await?;

    let (mut server, base, client) = common::serve(&bin, &dir, &url).await?;
    let server_pid = server.id().unwrap_or_default();
    let rss = || {
        std::fs::read_to_string(format!("/proc/{server_pid}/status"))
            .ok()
            .and_then(|s| {
                s.lines().find(|l| l.starts_with("VmRSS")).map(|l| {
                    l.split_whitespace()
                        .nth(1)
                        .unwrap_or("0")
                        .parse::<u64>()
                        .unwrap_or(0)
                        / 1024
                })
            })
            .unwrap_or(0)
    };

    // 1. Submissions.
    let (cookie, _) = guichet_store::session::create(&db, user.id, false, None, None).await?;
    let (cookies, token) = signed_in(&client, &base, &cookie).await?;
    let (flows, mut deposits, errors) = common::filings(
        &client,
        &base,
        (&cookies, &token),
        &format!("dijon/{}", d.slug),
        CLIENTS,
        Instant::now() + RUN,
    )
    .await;
    let cookies = Arc::new(cookies);
    let mut peak_rss = rss();
    let flows_per_s = flows.len() as f64 / RUN.as_secs_f64();
    let flow_deposits = std::mem::take(&mut deposits);

    // 2. Submissions: the deposit request itself, on drafts filled beforehand (a usager fills a
    // draft over minutes; the submission is the request that files it and acknowledges it).
    let prepared = (RUN.as_secs() as i64) * 8_000;
    let first_prepared: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM dossiers")
        .fetch_one(db.pool())
        .await?;
    sqlx::query(&format!(
        "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < {prepared})
         INSERT INTO dossiers (tenant_id, number, demarche_id, version, usager_id, state, answers, applicant_name, applicant_folded, created_at, updated_at)
         SELECT $1, 'P-' || CAST(n AS TEXT), $2, 1, $3, 'brouillon',
                '{{\"adresse\":[\"' || CAST(n AS TEXT) || ' rue du Banc d''essai, 21000 Dijon\"],\"depuis\":[\"2026-11-01\"]}}',
                'Bench', 'bench', 1, 1 FROM seq"
    ))
    .bind(dijon.id)
    .bind(d.id)
    .bind(user.id)
    .execute(db.pool())
    .await?;
    analyze(&db).await?;
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM dossiers WHERE id > $1 AND number LIKE 'P-%' ORDER BY id",
    )
    .bind(first_prepared)
    .fetch_all(db.pool())
    .await?;
    let ids = Arc::new(ids);
    let cpu_before = cpu_ms(server_pid);
    let deadline = Instant::now() + RUN;
    let mut tasks = Vec::new();
    for w in 0..CLIENTS {
        let (client, base, cookies, token, ids) = (
            client.clone(),
            base.clone(),
            cookies.clone(),
            token.clone(),
            ids.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let (mut deposits, mut errors) = (Vec::new(), 0u64);
            for id in ids.iter().skip(w).step_by(CLIENTS) {
                if Instant::now() >= deadline {
                    break;
                }
                let t = Instant::now();
                if deposit(&client, &base, &cookies, &token, &id).await {
                    deposits.push(t.elapsed());
                } else {
                    errors += 1;
                }
            }
            (deposits, errors)
        }));
    }
    let mut submission_errors = 0;
    for t in tasks {
        let (d, e) = t.await?;
        deposits.extend(d);
        submission_errors += e;
        peak_rss = peak_rss.max(rss());
    }
    let cpu_after = cpu_ms(server_pid);
    deposits.sort();
    let submissions_per_s = deposits.len() as f64 / RUN.as_secs_f64();
    // CPU per submission: what throughput 2 cores can give, whatever the run-to-run noise.
    let per_submission = |ms: u64| ms as f64 * 1000.0 / deposits.len().max(1) as f64;
    let (cpu_machine, cpu_server) = (
        per_submission(cpu_after.0 - cpu_before.0),
        per_submission(cpu_after.1 - cpu_before.1),
    );
    let acknowledged: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM dossiers WHERE id > $1 AND number LIKE 'P-%' AND state = 'depose'",
    )
    .bind(first_prepared)
    .fetch_one(db.pool())
    .await?;

    // While tuning, `BENCH_ONLY=submissions` stops here.
    if std::env::var("BENCH_ONLY").as_deref() == Ok("submissions") {
        let _ = server.kill().await;
        println!(
            "{backend}: {submissions_per_s:.0} submissions/s ({acknowledged} déposés), {submission_errors} errors, p50/p99 {:.1}/{:.1} ms; flows {flows_per_s:.0}/s, {errors} errors, flow p50/p99 {:.1}/{:.1} ms, peak RSS {peak_rss} MB; CPU per submission {cpu_machine:.0} µs (server {cpu_server:.0} µs)",
            percentile(&deposits, 0.5),
            percentile(&deposits, 0.99),
            percentile(&flows, 0.5),
            percentile(&flows, 0.99)
        );
        return Ok(());
    }

    // 2. Raw limit: one-row INSERT + COMMIT transactions, same database, same durability.
    sqlx::query("CREATE TABLE IF NOT EXISTS bench_raw (id BIGINT, payload TEXT)")
        .execute(db.pool())
        .await?;
    let raw_deadline = Instant::now() + RUN;
    let mut raw_tasks = Vec::new();
    for w in 0..CLIENTS {
        let db = db.clone();
        raw_tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while Instant::now() < raw_deadline {
                let Ok(mut tx) = db.begin().await else {
                    continue;
                };
                if sqlx::query("INSERT INTO bench_raw (id, payload) VALUES ($1, $2)")
                    .bind(w as i64)
                    .bind("x".repeat(200))
                    .execute(&mut *tx)
                    .await
                    .is_ok()
                    && tx.commit().await.is_ok()
                {
                    n += 1;
                }
            }
            n
        }));
    }
    let mut raw = 0;
    for t in raw_tasks {
        raw += t.await?;
    }
    let raw_per_s = raw as f64 / RUN.as_secs_f64();
    sqlx::query("DROP TABLE bench_raw")
        .execute(db.pool())
        .await?;

    // 3. Queue page with 1,000,000 dossiers.
    let existing: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM dossiers")
        .fetch_one(db.pool())
        .await?;
    let missing = (1_000_000 - existing).max(0);
    let t = Instant::now();
    bulk_dossiers(&db, dijon.id, d.id, missing, "B").await?;
    let seeded = t.elapsed();
    analyze(&db).await?;
    let (agent_cookie, _) = guichet_store::session::create(&db, agent.id, true, None, None).await?;
    let mut queue = Vec::new();
    for i in 0..400 {
        let path = if i % 2 == 0 {
            "/admin/dijon/dossiers?file=a-traiter".to_string()
        } else {
            "/admin/dijon/dossiers?file=tous&curseur=500000".to_string()
        };
        let t = Instant::now();
        let r = client
            .get(format!("{base}{path}"))
            .header("cookie", format!("guichet_session={agent_cookie}"))
            .send()
            .await?;
        let ok = r.status() == 200;
        let _ = r.bytes().await?;
        if ok {
            queue.push(t.elapsed());
        }
    }
    queue.sort();
    let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM dossiers")
        .fetch_one(db.pool())
        .await?;
    let _ = server.kill().await;

    println!("### {backend}\n");
    println!("| measure | result |\n| --- | --- |");
    println!("| submissions: deposit requests on filled drafts, {CLIENTS} clients, {} s | {:.0} /s ({} errors; {} dossiers déposés in the database) |", RUN.as_secs(), submissions_per_s, submission_errors, acknowledged);
    println!(
        "| submission latency p50 / p99 | {:.1} ms / {:.1} ms |",
        percentile(&deposits, 0.5),
        percentile(&deposits, 0.99)
    );
    // The server inherits this process's environment, and with it any override of the pool.
    let pool = std::env::var("GUICHET_DB_MAX_CONNECTIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(guichet_store::db::default_max_connections);
    println!("| server's database pool (`db_max_connections`) | {pool} connections |");
    println!("| CPU time per submission: whole machine (server, database, load generator); server process | {cpu_machine:.0} µs; {cpu_server:.0} µs |");
    println!("| complete flows (create the dossier, save the step, deposit), {CLIENTS} clients, {} s | {:.0} /s ({} errors) |", RUN.as_secs(), flows_per_s, errors);
    println!(
        "| whole flow latency p50 / p99; its deposit request p50 / p99 | {:.1} ms / {:.1} ms; {:.1} ms / {:.1} ms |",
        percentile(&flows, 0.5),
        percentile(&flows, 0.99),
        percentile(&flow_deposits, 0.5),
        percentile(&flow_deposits, 0.99)
    );
    println!(
        "| raw limit: one-row INSERT + COMMIT, {CLIENTS} clients | {:.0} /s |",
        raw_per_s
    );
    println!(
        "| submissions as a fraction of the raw limit | {:.0} % |",
        100.0 * submissions_per_s / raw_per_s.max(1.0)
    );
    println!("| server RSS under load (peak seen) | {peak_rss} MB |");
    println!("| queue page, {total} dossiers in the database, p50 / p99 ({} requests) | {:.1} ms / {:.1} ms |", queue.len(), percentile(&queue, 0.5), percentile(&queue, 0.99));
    println!(
        "| time to insert the dossiers for the queue test | {:.0} s |\n",
        seeded.as_secs_f64()
    );
    Ok(())
}
