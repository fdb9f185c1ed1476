//! Participatory budgets at scale: three campaigns of a collectivité with 10,000 proposals each
//! (one taking proposals, one in its vote with 400 projects studied feasible, one with its
//! results), then their public pages requested one at a time over HTTP: the first page of
//! proposals and one deep in the list (keyset pagination), the vote and the results, with the
//! weight of each page. Run by `scripts/bench-participation`, which writes docs/PERFORMANCE.md.
//!   bench_participation GUICHET_BIN DATA_DIR [DATABASE_URL]

mod common;

use common::{percentile, serve, timed};
use guichet_store::participation::{self as store, NewBudget};
use guichet_store::trace::Trace;
use std::time::Instant;

const PROPOSALS: i64 = 10_000;
/// One proposal in 25 studied feasible, with a cost: what the vote offers.
const FEASIBLE_EVERY: i64 = 25;
const REQUESTS: usize = 200;
const DAY: i64 = 86_400_000;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let common::Setup {
        bin,
        dir,
        url,
        backend,
        db,
        dijon,
    } = common::setup().await?;
    let now = guichet_store::now_ms();
    // Taking proposals; voting; finished.
    let phases = [
        (now + 30 * DAY, now + 40 * DAY, now + 50 * DAY),
        (now - 20 * DAY, now - 10 * DAY, now + 10 * DAY),
        (now - 60 * DAY, now - 50 * DAY, now - 40 * DAY),
    ];
    let mut budgets = Vec::new();
    let t = Instant::now();
    for (i, (proposals_until, vote_from, vote_until)) in phases.into_iter().enumerate() {
        let id = store::create_budget(
            &db,
            dijon.id,
            NewBudget {
                title: format!("Budget participatif {i}"),
                description: "Vos projets pour la ville.".into(),
                amount: 1_000_000,
                proposals_until,
                vote_from,
                vote_until,
            },
            now - 90 * DAY,
            Trace::default(),
        )
        .await?;
        // The proposals in one statement; during proposals, none is studied yet.
        let studied = i > 0;
        sqlx::query(&format!(
            "INSERT INTO budget_projects (tenant_id, budget_id, title, description, place, author_id, review, cost, review_note, votes, created_at)
             WITH RECURSIVE seq(n) AS (SELECT CAST(1 AS BIGINT) UNION ALL SELECT n + 1 FROM seq WHERE n < {PROPOSALS})
             SELECT $1, $2, 'Projet n° ' || CAST(n AS TEXT), 'Des bancs et des arbres le long du canal, pour que chacun profite de l''ombre en été.',
                    'Quai Navier', n, {review}, {cost}, NULL, {votes}, $3
             FROM seq",
            review = if studied {
                format!("CASE WHEN n % {FEASIBLE_EVERY} = 0 THEN 'recevable' ELSE 'non_recevable' END")
            } else {
                "'propose'".into()
            },
            cost = if studied {
                format!("CASE WHEN n % {FEASIBLE_EVERY} = 0 THEN 5000 + (n * 37) % 90000 ELSE NULL END")
            } else {
                "NULL".into()
            },
            votes = if studied {
                format!("CASE WHEN n % {FEASIBLE_EVERY} = 0 THEN (n * 7919) % 1000 ELSE 0 END")
            } else {
                "0".into()
            },
        ))
        .bind(dijon.id)
        .bind(id)
        .bind(now - 80 * DAY)
        .execute(db.pool())
        .await?;
        budgets.push(id);
    }
    let seeded = t.elapsed();
    sqlx::query("ANALYZE").execute(db.pool()).await?;
    let deep: i64 = sqlx::query_scalar(
        "SELECT id FROM budget_projects WHERE budget_id = $1 ORDER BY id LIMIT 1 OFFSET 9900",
    )
    .bind(budgets[0])
    .fetch_one(db.pool())
    .await?;

    let (mut server, base, client) = serve(&bin, &dir, &url).await?;
    let raw = reqwest::Client::builder().no_gzip().no_brotli().build()?;
    let page = |id: i64, query: &str| format!("{base}/participation/dijon/budgets/{id}{query}");
    let pages = [
        ("proposals, first page", page(budgets[0], "")),
        (
            "proposals, page 100 (keyset)",
            page(budgets[0], &format!("?apres={deep}")),
        ),
        ("vote (every feasible project)", page(budgets[1], "")),
        ("results (winners first)", page(budgets[2], "")),
    ];
    println!("### {backend}\n");
    println!("| measure | result |\n| --- | --- |");
    println!(
        "| proposals per campaign; feasible in the vote and the results | {PROPOSALS}; {} |",
        PROPOSALS / FEASIBLE_EVERY
    );
    println!(
        "| time to insert the three campaigns' proposals | {:.1} s |",
        seeded.as_secs_f64()
    );
    for (name, url) in &pages {
        timed(&client, url, 10).await?;
        let d = timed(&client, url, REQUESTS).await?;
        let body = client.get(url).send().await?.bytes().await?;
        // What travels: the page as the server compresses it for a browser.
        let gzip = raw
            .get(url)
            .header("accept-encoding", "gzip")
            .send()
            .await?
            .bytes()
            .await?
            .len();
        println!(
            "| {name}: p50 / p99 ({} requests, one at a time); page weight (gzip) | {:.1} ms / {:.1} ms; {} KB ({} KB) |",
            d.len(),
            percentile(&d, 0.5),
            percentile(&d, 0.99),
            body.len() / 1024,
            gzip / 1024
        );
    }
    let results = client.get(&pages[3].1).send().await?.text().await?;
    anyhow::ensure!(
        results.contains("Lauréat") || results.contains("lauréat"),
        "the results name the winners"
    );
    let _ = server.kill().await;
    println!();
    Ok(())
}
