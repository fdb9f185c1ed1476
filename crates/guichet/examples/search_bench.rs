//! Search benchmark: `scripts/bench-search` runs it against the release binary.
//!
//! 100,000 published démarches (the 32 démarches of tests/data/catalogue.tsv offered by 3,125
//! communes of Bourgogne-Franche-Comté), then the 49 queries of tests/data/search-queries.tsv
//! asked by a resident of Dijon on the search page, over HTTP, 20 rounds one after the other:
//! p50/p99 latency of the whole page (search, routing by competence, rendering). Also the time
//! of the first search, which builds the in-memory index, and of the first search of a commune,
//! which works out what is offered there.
//!
//! Usage: search_bench <guichet binary> <data dir>; prints a Markdown section.

mod common;

use common::percentile;
use std::time::{Duration, Instant};

const QUERIES: &str = include_str!("../tests/data/search-queries.tsv");
const TENANTS: i64 = 3_125;
const ROUNDS: usize = 20;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (bin, dir) = (args[1].clone(), std::path::PathBuf::from(&args[2]));
    std::fs::create_dir_all(&dir)?;
    let url = guichet_store::Db::sqlite_url_in(&dir);
    let db = guichet_store::Db::connect(&url, &Default::default()).await?;
    guichet_store::migrate::run(&db).await?;
    guichet_store::territoire::import_shipped(&db, false).await?;
    let t = Instant::now();
    let (_, count) = common::seed_catalogue(&db, TENANTS).await?;
    let seeded = t.elapsed();
    db.close().await;

    let (mut server, base, client) = common::serve(&bin, &dir, &url).await?;
    let queries: Vec<&str> = QUERIES
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split('\t').next())
        .collect();
    let ask_in = |q: &str, commune: &str| {
        let url = format!(
            "{base}/recherche?q={}&commune={commune}",
            q.replace(' ', "+").replace('\'', "%27")
        );
        let client = client.clone();
        async move {
            let t = Instant::now();
            let r = client.get(url).send().await?;
            let ok = r.status() == 200;
            let _ = r.bytes().await?;
            anyhow::ensure!(ok, "search page failed");
            Ok::<_, anyhow::Error>(t.elapsed())
        }
    };
    let ask = |q: &str| ask_in(q, "21231");
    let first = ask("cantine").await?;
    // Beaune: the index is built, what is offered in the commune is not yet.
    let first_in_commune = ask_in("cantine", "21054").await?;
    let mut times = Vec::new();
    for _ in 0..ROUNDS {
        for q in &queries {
            times.push(ask(q).await?);
        }
    }
    times.sort();
    let total: Duration = times.iter().sum();
    server.kill().await?;
    println!("| measure | result |\n| --- | --- |");
    println!(
        "| démarches published (searched with 28 competences and 15 national services) | {count} |"
    );
    println!(
        "| first search, building the in-memory index | {:.0} ms |",
        first.as_secs_f64() * 1000.0
    );
    println!(
        "| first search of another commune, working out what is offered there | {:.1} ms |",
        first_in_commune.as_secs_f64() * 1000.0
    );
    println!(
        "| search page, p50 / p99 ({} requests: {} queries × {ROUNDS}) | {:.1} ms / {:.1} ms |",
        times.len(),
        queries.len(),
        percentile(&times, 0.5),
        percentile(&times, 0.99)
    );
    println!(
        "| search pages per second, one client | {:.0} |",
        times.len() as f64 / total.as_secs_f64()
    );
    println!(
        "| time to seed the catalogue | {:.0} s |",
        seeded.as_secs_f64()
    );
    Ok(())
}
