//! A région's data set and what agents and operators do on it: `scripts/bench-data` runs it
//! against the release binary.
//!
//! 500 collectivités (the most populated communes of Bourgogne-Franche-Comté) publishing 32
//! démarches each; 10,000,000 dossiers over three years, every state, 1,000,000 of them Dijon's
//! and the rest spread over the others' démarches; 1,000,000 signalements; a journal of
//! 10,000,000 entries (a valid chain, as the platform writes it). Then, served: Dijon's agents'
//! queues and filters, a dossier page, the observatoire's pages, each asked 200 times one at a
//! time; Dijon's export of 1,000,000 dossiers (CSV, streamed: time, rate, the server's memory);
//! `guichet audit verify` over the 10,000,000 entries (time, peak memory); the size on disk per
//! million dossiers.
//!
//! Usage: bench_data <guichet binary> <data dir> [database url]; prints a Markdown section.
//! `DOSSIERS`, `JOURNAL` and `SIGNALEMENTS` change the sizes (for a quick try). Needs `psql` or
//! the `sqlite3` shell, which load the journal.

mod common;

use common::{percentile, timed};
use std::time::Instant;

const TENANTS: i64 = 500;
const REQUESTS: usize = 200;
const DAY: i64 = 86_400_000;

fn size(var: &str, default: i64) -> i64 {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The database's size on disk, in bytes.
async fn disk(db: &guichet_store::Db, postgres: bool) -> anyhow::Result<i64> {
    let sql = if postgres {
        "SELECT pg_database_size(current_database())"
    } else {
        "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()"
    };
    Ok(sqlx::query_scalar(sql).fetch_one(db.pool()).await?)
}

/// `n` dossiers in one statement, numbered `{prefix}-n`, over three years ending now: démarche
/// `first + n % count` (with its collectivité), state, channel and delays following n.
async fn dossiers(
    db: &guichet_store::Db,
    n: i64,
    prefix: &str,
    first: i64,
    count: i64,
) -> anyhow::Result<()> {
    let now = guichet_store::now_ms();
    let span = 3 * 365 * DAY;
    sqlx::query(&format!(
        "WITH RECURSIVE seq(n) AS (SELECT CAST(1 AS BIGINT) UNION ALL SELECT n + 1 FROM seq WHERE n < {n})
         INSERT INTO dossiers (tenant_id, number, demarche_id, version, state, answers, applicant_name, applicant_folded,
             created_at, updated_at, submitted_at, complete_since, deadline_at, decided_at, tacit, channel, asked_again)
         SELECT d.tenant_id, '{prefix}-' || CAST(x.n AS TEXT), d.id, 1,
                CASE WHEN x.n % 20 < 12 THEN 'accepte' WHEN x.n % 20 < 14 THEN 'refuse' WHEN x.n % 20 = 14 THEN 'sans_suite'
                     WHEN x.n % 20 < 17 THEN 'en_instruction' WHEN x.n % 20 = 17 THEN 'en_correction'
                     WHEN x.n % 20 = 18 THEN 'brouillon' ELSE 'depose' END,
                '{{\"demande\":[\"Demande numéro ' || CAST(x.n AS TEXT) || '\"]}}',
                'Demandeur ' || CAST(x.n % 100000 AS TEXT), 'demandeur ' || CAST(x.n % 100000 AS TEXT),
                x.s, x.s, x.s, x.s, x.s + {deadline},
                CASE WHEN x.n % 20 < 15 THEN x.s + (x.n % 90) * {DAY} ELSE NULL END,
                CASE WHEN x.n % 97 = 0 THEN 1 ELSE 0 END,
                CASE WHEN x.n % 10 = 0 THEN 'guichet' ELSE 'en_ligne' END,
                x.n % 3
         FROM (SELECT n, {start} + n * {step} AS s, {first} + n % {count} AS did FROM seq) AS x
         JOIN demarches d ON d.id = x.did",
        start = now - span,
        step = span / n.max(1),
        // Computed here: PostgreSQL would multiply the two literals as 32-bit integers.
        deadline = 61 * DAY,
    ))
    .execute(db.pool())
    .await?;
    Ok(())
}

/// `n` signalements over three years, spread over the collectivités `tenants` (contiguous ids)
/// and the platform's categories, in one statement.
async fn signalements(db: &guichet_store::Db, n: i64, tenants: &[i64]) -> anyhow::Result<()> {
    let now = guichet_store::now_ms();
    let span = 3 * 365 * DAY;
    let (first_cat, cats): (i64, i64) = sqlx::query_as(
        "SELECT MIN(id), COUNT(*) FROM signalement_categories WHERE tenant_id IS NULL",
    )
    .fetch_one(db.pool())
    .await?;
    sqlx::query(&format!(
        "WITH RECURSIVE seq(n) AS (SELECT CAST(1 AS BIGINT) UNION ALL SELECT n + 1 FROM seq WHERE n < {n})
         INSERT INTO signalements (tenant_id, number, category_id, competence, commune_insee, address, lat, lon,
             description, state, created_at, updated_at, resolved_at)
         SELECT t.id, 'S-' || CAST(x.n AS TEXT), c.id, c.competence, t.entity_code, CAST(x.n AS TEXT) || ' rue du Banc d''essai',
                47.3 + (x.n % 1000) * 0.0001, 5.0 + (x.n % 997) * 0.0001, 'Problème numéro ' || CAST(x.n AS TEXT),
                CASE WHEN x.n % 5 < 3 THEN 'resolu' WHEN x.n % 5 = 3 THEN 'en_cours' ELSE 'nouveau' END,
                x.s, x.s, CASE WHEN x.n % 5 < 3 THEN x.s + (x.n % 30) * {DAY} ELSE NULL END
         FROM (SELECT n, {start} + n * {step} AS s FROM seq) AS x
         JOIN tenants t ON t.id = {first_tenant} + x.n % {tenants}
         JOIN signalement_categories c ON c.id = {first_cat} + x.n % {cats}",
        start = now - span,
        step = span / n.max(1),
        first_tenant = tenants[0],
        tenants = tenants.len(),
    ))
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Appends `n` entries to the journal's chain, as the platform would have: each hashed over the
/// previous one, here in Rust; written to a file in PostgreSQL's text format and loaded by the
/// database's own bulk loader (`psql`'s `\copy`, the `sqlite3` shell's `.import`), ten million
/// rows being too many for one statement at a time.
async fn journal(
    db: &guichet_store::Db,
    url: &str,
    dir: &std::path::Path,
    n: i64,
    tenants: &[i64],
) -> anyhow::Result<()> {
    use guichet_domain::journal::{entry_hash, Event};
    use std::io::Write;
    let (mut last_id, mut prev): (i64, String) =
        sqlx::query_as("SELECT last_id, last_hash FROM audit_head WHERE singleton = 1")
            .fetch_one(db.pool())
            .await?;
    let start = guichet_store::now_ms() - 3 * 365 * DAY;
    let step = 3 * 365 * DAY / n.max(1);
    let path = dir.join("journal.tsv");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path)?);
    for i in 1..=n {
        let id = last_id + 1;
        let at = start + i * step;
        let event = Event {
            tenant_id: Some(tenants[(i as usize) % tenants.len()]),
            actor_id: None,
            actor: format!("agent{}@exemple.fr", i % 1000),
            on_behalf_of: None,
            action: "dossier.etat".into(),
            object_type: Some("dossier".into()),
            object_id: Some(format!("D-{i}")),
            ip: Some("192.0.2.1".into()),
            details: format!("{{\"etat\":\"accepte\",\"n\":{i}}}"),
        };
        let hash = entry_hash(id, at, &event, &prev);
        writeln!(
            out,
            "{id}\t{at}\t{}\t\\N\t{}\t\\N\t{}\t{}\t{}\t{}\t{}\t{prev}\t{hash}",
            event.tenant_id.unwrap_or_default(),
            event.actor,
            event.action,
            event.object_type.unwrap_or_default(),
            event.object_id.unwrap_or_default(),
            event.ip.unwrap_or_default(),
            event.details,
        )?;
        prev = hash;
        last_id = id;
    }
    out.flush()?;
    drop(out);
    const COLUMNS: &str = "id, at, tenant_id, actor_id, actor, on_behalf_of, action, object_type, object_id, ip, details, prev_hash, hash";
    let loaded = if url.starts_with("postgres") {
        std::process::Command::new("psql")
            .args([url, "-v", "ON_ERROR_STOP=1", "-qc"])
            .arg(format!(
                "\\copy audit_events ({COLUMNS}) FROM '{}'",
                path.display()
            ))
            .status()?
    } else {
        let script = format!(
            "CREATE TEMP TABLE j (id, at, tenant_id, actor_id, actor, on_behalf_of, action, object_type, object_id, ip, details, prev_hash, hash);
.mode tabs
.import {} j
INSERT INTO audit_events ({COLUMNS})
  SELECT CAST(id AS INTEGER), CAST(at AS INTEGER), CAST(tenant_id AS INTEGER), NULL, actor, NULL, action,
         object_type, object_id, ip, details, prev_hash, hash FROM j;
",
            path.display()
        );
        let mut child = std::process::Command::new("sqlite3")
            .args(["-bail", &dir.join("guichet.sqlite").display().to_string()])
            .stdin(std::process::Stdio::piped())
            .spawn()?;
        child
            .stdin
            .take()
            .ok_or_else(|| anyhow::anyhow!("sqlite3's input"))?
            .write_all(script.as_bytes())?;
        child.wait()?
    };
    anyhow::ensure!(loaded.success(), "loading the journal failed");
    std::fs::remove_file(&path)?;
    sqlx::query("UPDATE audit_head SET last_id = $1, last_hash = $2 WHERE singleton = 1")
        .bind(last_id)
        .bind(&prev)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// A process's peak resident memory so far (VmHWM), in MB.
fn peak_mb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .unwrap_or(0)
        / 1024
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let (n_dossiers, n_journal, n_signalements) = (
        size("DOSSIERS", 10_000_000),
        size("JOURNAL", 10_000_000),
        size("SIGNALEMENTS", 1_000_000),
    );
    let common::Setup {
        bin,
        dir,
        url,
        backend,
        db,
        ..
    } = common::setup().await?;
    let postgres = url.starts_with("postgres");
    let sealer = guichet_store::sealed::Sealer::new(
        &guichet_store::secret::key_file(&dir.join("cle-secrets"), "clé de scellement")?,
        &[],
    )?;
    let db = db.with_sealer(sealer);

    let t = Instant::now();
    let (tenants, demarches) = common::seed_catalogue(&db, TENANTS).await?;
    anyhow::ensure!(
        tenants.windows(2).all(|w| w[1] == w[0] + 1),
        "the collectivités' ids are not contiguous"
    );
    let first: i64 = sqlx::query_scalar("SELECT MIN(id) FROM demarches WHERE tenant_id = $1")
        .bind(tenants[0])
        .fetch_one(db.pool())
        .await?;
    let catalogue_time = t.elapsed();

    // Dossiers: a tenth Dijon's (its 32 démarches come first), the rest the others'.
    let before = disk(&db, postgres).await?;
    let t = Instant::now();
    let per_demarche = 32;
    let dijon_share = n_dossiers / 10;
    dossiers(&db, dijon_share, "D", first, per_demarche).await?;
    let mut left = n_dossiers - dijon_share;
    let mut chunk = 0;
    while left > 0 {
        let n = left.min(1_000_000);
        chunk += 1;
        dossiers(
            &db,
            n,
            &format!("R{chunk}"),
            first + per_demarche,
            demarches as i64 - per_demarche,
        )
        .await?;
        left -= n;
    }
    let dossiers_time = t.elapsed();
    common::analyze(&db).await?;
    let per_million = (disk(&db, postgres).await? - before) as f64 / (n_dossiers as f64 / 1e6);
    let t = Instant::now();
    signalements(&db, n_signalements, &tenants).await?;
    let signalements_time = t.elapsed();
    let t = Instant::now();
    journal(&db, &url, &dir, n_journal, &tenants).await?;
    let journal_time = t.elapsed();
    let t = Instant::now();
    guichet_store::pilotage::rebuild(&db).await?;
    let figures_time = t.elapsed();
    common::analyze(&db).await?;
    let total_disk = disk(&db, postgres).await?;
    let counted: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM dossiers")
        .fetch_one(db.pool())
        .await?;

    // Dijon's agent, signed in with the second factor done.
    // Every role of the collectivité, as the demo's agents: the queues and the signalements.
    let agent = common::agent(
        &db,
        tenants[0],
        "agent.bench@exemple.fr",
        &guichet_domain::role::Role::TENANT_ROLES,
    )
    .await?;
    let (session, _) = guichet_store::session::create(&db, agent.id, true, None, None).await?;
    let dijon_demarche = first + 3;
    let middle: i64 = sqlx::query_scalar(
        "SELECT MIN(id) + (MAX(id) - MIN(id)) / 2 FROM dossiers WHERE tenant_id = $1",
    )
    .bind(tenants[0])
    .fetch_one(db.pool())
    .await?;
    db.close().await;

    // A node that only serves: the background work (the daily check of the whole journal, the
    // open data's regeneration for every collectivité) would run on another node.
    let (mut server, base, _) =
        common::serve_with(&bin, &dir, &url, &[("GUICHET_WORKER", "false")]).await?;
    let server_pid = server.id().unwrap_or_default();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(
            [(
                reqwest::header::COOKIE,
                format!("guichet_session={session}").parse()?,
            )]
            .into_iter()
            .collect(),
        )
        .build()?;
    let pages: Vec<(String, String)> = vec![
        (
            "à traiter (déposés, oldest first)".into(),
            "/admin/dijon/dossiers?file=a-traiter".into(),
        ),
        (
            "en instruction".into(),
            "/admin/dijon/dossiers?file=en-instruction".into(),
        ),
        (
            "en retard".into(),
            "/admin/dijon/dossiers?file=en-retard".into(),
        ),
        (
            "traités".into(),
            "/admin/dijon/dossiers?file=traites".into(),
        ),
        (
            "tous, a page in the middle (keyset)".into(),
            format!("/admin/dijon/dossiers?file=tous&curseur={middle}"),
        ),
        (
            "tous, one démarche".into(),
            format!("/admin/dijon/dossiers?file=tous&demarche={dijon_demarche}"),
        ),
        (
            "tous, deposited in one month".into(),
            "/admin/dijon/dossiers?file=tous&du=2025-03-01&au=2025-03-31".into(),
        ),
        (
            "tous, by the applicant's name".into(),
            "/admin/dijon/dossiers?file=tous&q=demandeur+4242".into(),
        ),
        (
            "tous, by number".into(),
            "/admin/dijon/dossiers?file=tous&q=D-424242".into(),
        ),
        (
            "a dossier's page".into(),
            format!("/admin/dijon/dossiers/{middle}"),
        ),
        (
            "signalements of the collectivité".into(),
            "/admin/dijon/signalements".into(),
        ),
        (
            "the collectivité's indicators (public)".into(),
            "/observatoire/dijon".into(),
        ),
        (
            "the région's observatoire (public)".into(),
            "/observatoire".into(),
        ),
    ];
    let mut rows = Vec::new();
    for (label, path) in &pages {
        let url = format!("{base}{path}");
        timed(&client, &url, 5).await?;
        let times = timed(&client, &url, REQUESTS).await?;
        rows.push(format!(
            "| {label} (`{path}`), p50 / p99 ({REQUESTS} requests, one at a time) | {:.1} ms / {:.1} ms |",
            percentile(&times, 0.5),
            percentile(&times, 0.99)
        ));
    }

    // The export of Dijon's dossiers, read as it streams.
    let rss_before = peak_mb(server_pid);
    let t = Instant::now();
    let mut r = client
        .get(format!("{base}/admin/dijon/dossiers.csv?file=tous"))
        .send()
        .await?;
    anyhow::ensure!(r.status() == 200, "export: {}", r.status());
    let (mut bytes, mut lines) = (0usize, 0usize);
    let mut current_peak = 0u64;
    while let Some(chunk) = r.chunk().await? {
        bytes += chunk.len();
        lines += chunk.iter().filter(|b| **b == b'\n').count();
        current_peak = current_peak.max(peak_mb(server_pid));
    }
    let export_time = t.elapsed();
    let _ = server.kill().await;

    // The journal verified by the command operators run.
    let t = Instant::now();
    let mut cmd = std::process::Command::new("/usr/bin/time");
    cmd.args(["-f", "%M", &bin, "audit", "verify", "--data-dir"])
        .arg(&dir);
    if postgres {
        cmd.args(["--database-url", &url]);
    }
    let out = cmd.output()?;
    let verify_time = t.elapsed();
    anyhow::ensure!(
        out.status.success(),
        "audit verify: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let verify_kb: u64 = String::from_utf8_lossy(&out.stderr)
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or(0);

    let mb = |b: f64| b / 1_048_576.0;
    println!("### {backend}\n");
    println!("| measure | result |\n| --- | --- |");
    println!(
        "| collectivités; démarches published | {}; {demarches} ({:.0} s) |",
        tenants.len(),
        catalogue_time.as_secs_f64()
    );
    println!(
        "| dossiers ({} of them Dijon's); time to insert them | {counted}; {:.0} s |",
        dijon_share,
        dossiers_time.as_secs_f64()
    );
    println!(
        "| signalements; journal entries (a chain) | {n_signalements} ({:.0} s); {n_journal} ({:.0} s) |",
        signalements_time.as_secs_f64(),
        journal_time.as_secs_f64()
    );
    println!(
        "| rebuilding the observatoire's figures from every dossier | {:.0} s |",
        figures_time.as_secs_f64()
    );
    println!(
        "| size on disk per million dossiers (indexes included); whole database | {:.0} MB; {:.1} GB |",
        mb(per_million),
        total_disk as f64 / 1e9
    );
    for r in rows {
        println!("{r}");
    }
    println!(
        "| export of Dijon's {} dossiers (CSV, streamed): time; rate; size | {:.1} s; {:.0} dossiers/s; {:.0} MB |",
        lines.saturating_sub(1),
        export_time.as_secs_f64(),
        lines.saturating_sub(1) as f64 / export_time.as_secs_f64(),
        mb(bytes as f64)
    );
    println!(
        "| server's peak memory (VmHWM) before the export; after it | {rss_before} MB; {current_peak} MB |"
    );
    println!(
        "| `guichet audit verify` over {n_journal} entries and more: time; peak memory | {:.1} s; {} MB |\n",
        verify_time.as_secs_f64(),
        verify_kb / 1024
    );
    Ok(())
}
