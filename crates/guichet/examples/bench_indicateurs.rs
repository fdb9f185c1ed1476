//! The observatoire at scale: a collectivité with 1,000,000 dossiers spread over three years,
//! twenty démarches, three channels, every state, decided in varied delays; the figures rebuilt
//! from them once (as after the migration that introduced them), then the collectivité's
//! indicator page, a démarche's and the région's requested one at a time over HTTP, and one
//! deposit's cost in figures. Run by `scripts/bench-indicateurs`, which writes
//! docs/PERFORMANCE.md.
//!   bench_indicateurs GUICHET_BIN DATA_DIR [DATABASE_URL]

mod common;

use common::{percentile, serve};
use std::time::Instant;

const DOSSIERS: i64 = 1_000_000;
const DEMARCHES: i64 = 20;
const REQUESTS: usize = 200;

const DEF: &str = r#"{
  "title": "Demande de composteur",
  "description": "Recevoir un composteur individuel.",
  "deadline": {"amount": 2, "unit": "mois"},
  "tacit_rule": "accord",
  "retention_months": 12,
  "pages": [{"title": "Vous", "fields": [
    {"id": "nom", "label": "Nom", "type": "short_text", "required": true}
  ]}]
}"#;

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
    let def = guichet_domain::demarche::Definition::from_json(DEF)
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let mut demarches = Vec::new();
    for i in 0..DEMARCHES {
        let mut def = def.clone();
        def.title = format!("Démarche {i:02}");
        let d = guichet_store::demarche::create(&db, dijon.id, &def, Default::default()).await?;
        guichet_store::demarche::publish(&db, &d, Default::default()).await?;
        demarches.push(d);
    }
    let first = demarches[0].id;

    // A million dossiers over three years, in one statement: démarche, channel, state and
    // delay follow the sequence number.
    let now = guichet_store::now_ms();
    let span: i64 = 3 * 365 * 86_400_000;
    let t = Instant::now();
    sqlx::query(&format!(
        "WITH RECURSIVE seq(n) AS (SELECT CAST(1 AS BIGINT) UNION ALL SELECT n + 1 FROM seq WHERE n < {DOSSIERS})
         INSERT INTO dossiers (tenant_id, number, demarche_id, version, state, answers, applicant_name, applicant_folded,
             created_at, updated_at, submitted_at, complete_since, deadline_at, decided_at, tacit, channel, aidant_id, asked_again)
         SELECT $1, 'I-' || CAST(n AS TEXT), $2 + n % {DEMARCHES}, 1,
                CASE WHEN n % 20 < 12 THEN 'accepte' WHEN n % 20 < 14 THEN 'refuse' WHEN n % 20 = 14 THEN 'sans_suite'
                     WHEN n % 20 < 18 THEN 'en_instruction' ELSE 'depose' END,
                '{{}}', 'Demandeur', 'demandeur', s, s, s, s, s + 5270400000,
                CASE WHEN n % 20 < 15 THEN s + (n % 90) * 86400000 ELSE NULL END,
                CASE WHEN n % 97 = 0 THEN 1 ELSE 0 END,
                CASE WHEN n % 10 = 0 THEN 'guichet' ELSE 'en_ligne' END,
                CASE WHEN n % 10 = 1 THEN 1 ELSE NULL END,
                n % 3
         FROM (SELECT n, {start} + n * {step} AS s FROM seq) AS x",
        start = now - span,
        step = span / DOSSIERS,
    ))
    .bind(dijon.id)
    .bind(first)
    .execute(db.pool())
    .await?;
    let seeded = t.elapsed();
    let t = Instant::now();
    guichet_store::pilotage::rebuild(&db).await?;
    let rebuilt = t.elapsed();
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM dossier_figures")
        .fetch_one(db.pool())
        .await?;
    sqlx::query("ANALYZE").execute(db.pool()).await?;

    let (mut server, base, client) = serve(&bin, &dir, &url).await?;
    // Warm-up, then the measures.
    common::timed(&client, &format!("{base}/observatoire/dijon"), REQUESTS).await?;
    let collectivite =
        common::timed(&client, &format!("{base}/observatoire/dijon"), REQUESTS).await?;
    let demarche = common::timed(
        &client,
        &format!("{base}/observatoire/dijon/{}", demarches[0].slug),
        REQUESTS,
    )
    .await?;
    let region = common::timed(&client, &format!("{base}/observatoire"), REQUESTS).await?;
    let page = client
        .get(format!("{base}/observatoire/dijon"))
        .send()
        .await?
        .text()
        .await?;
    anyhow::ensure!(
        page.contains("Dossiers déposés</dt><dd>"),
        "the page shows the figures"
    );
    let _ = server.kill().await;

    println!("### {backend}\n");
    println!("| measure | result |\n| --- | --- |");
    println!("| dossiers of the collectivité; figure rows kept for them | {DOSSIERS}; {rows} |");
    println!(
        "| time to insert the dossiers; to rebuild the figures from them | {:.0} s; {:.1} s |",
        seeded.as_secs_f64(),
        rebuilt.as_secs_f64()
    );
    for (name, d) in [
        (
            "collectivité's indicators `/observatoire/dijon`",
            &collectivite,
        ),
        ("one démarche's indicators", &demarche),
        ("the région's observatoire `/observatoire`", &region),
    ] {
        println!(
            "| {name}, p50 / p99 ({} requests, one at a time) | {:.1} ms / {:.1} ms |",
            d.len(),
            percentile(d, 0.5),
            percentile(d, 0.99)
        );
    }
    println!();
    Ok(())
}
