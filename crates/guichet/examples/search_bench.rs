//! Search benchmark: `scripts/bench-search` runs it against the release binary.
//!
//! 10,000 published démarches (the 32 démarches of tests/data/catalogue.tsv offered by 313
//! communes of Côte-d'Or), then the 49 queries of tests/data/search-queries.tsv asked by a
//! resident of Dijon on the search page, over HTTP, 20 rounds one after the other: p50/p99
//! latency of the whole page (search, routing by competence, rendering). Also the time of the
//! first search, which builds the in-memory index.
//!
//! Usage: search_bench <guichet binary> <data dir>; prints a Markdown section.

use std::time::{Duration, Instant};

const CATALOGUE: &str = include_str!("../tests/data/catalogue.tsv");
const QUERIES: &str = include_str!("../tests/data/search-queries.tsv");
const TENANTS: i64 = 313;
const ROUNDS: usize = 20;

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (bin, dir) = (args[1].clone(), std::path::PathBuf::from(&args[2]));
    std::fs::create_dir_all(&dir)?;
    let url = guichet_store::Db::sqlite_url_in(&dir);
    let db = guichet_store::Db::connect(&url, &Default::default()).await?;
    guichet_store::migrate::run(&db).await?;
    guichet_store::territoire::import_shipped(&db, false).await?;
    let communes: Vec<String> = sqlx::query_scalar(
        "SELECT insee FROM communes WHERE departement_code = '21' AND kind = 'commune-actuelle' ORDER BY population DESC LIMIT $1",
    )
    .bind(TENANTS)
    .fetch_all(db.pool())
    .await?;
    let rows: Vec<Vec<&str>> = CATALOGUE
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split('\t').collect())
        .collect();
    let t = Instant::now();
    let mut count = 0;
    for insee in &communes {
        let collectivite = guichet_store::collectivite::add(
            &db,
            &guichet_store::collectivite::Target::Insee(insee.clone()),
            &Default::default(),
            false,
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        // One transaction per collectivité: what publishing its catalogue would write.
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
            .bind(format!("demarche-{i}"))
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
    guichet_store::recherche::bump_generation(&db).await?;
    let seeded = t.elapsed();
    db.close().await;

    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = tokio::process::Command::new(&bin)
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
            &dir.display().to_string(),
        ])
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let client = reqwest::Client::new();
    while client.get(format!("{base}/healthz")).send().await.is_err() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let queries: Vec<&str> = QUERIES
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split('\t').next())
        .collect();
    let ask = |q: &str| {
        let url = format!(
            "{base}/recherche?q={}&commune=21231",
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
    let first = ask("cantine").await?;
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
