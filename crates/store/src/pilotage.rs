//! The figures of public action (pilotage), kept up to date in the transaction of each change
//! (`apply_in`), rebuilt once from the data when they first appear (`rebuild`), and read by the
//! observatoire a few aggregate rows at a time.

use crate::db::Db;
use crate::trace::Trace;
use guichet_domain::pilotage::{
    signalement_difference, Apport, Canal, CleSignalement, Comptes, ComptesSignalement, Faits,
    FaitsSignalement,
};
use sqlx::Row;
use std::collections::{BTreeMap, HashMap};

/// The columns of `dossier_figures`: its key, then the counts of `Comptes`, in their order.
static FIGURE_COLUMNS: std::sync::LazyLock<Vec<&'static str>> = std::sync::LazyLock::new(|| {
    let mut columns = vec!["tenant_id", "demarche_id", "month", "channel"];
    columns.extend(Comptes::COLUMNS);
    columns
});

const DELAY_COLUMNS: [&str; 5] = ["tenant_id", "demarche_id", "month", "bucket", "n"];

const SIGNALEMENT_COLUMNS: [&str; 8] = [
    "tenant_id",
    "category_id",
    "commune_insee",
    "month",
    "reported",
    "resolved",
    "rejected",
    "resolution_days",
];

/// Adds what a change of a dossier of `demarche_id` contributes, in the change's transaction
/// (summed with the other changes of its batch into one write per figure row).
pub(crate) async fn apply_in(
    conn: &mut sqlx::AnyConnection,
    tenant_id: i64,
    demarche_id: i64,
    apports: &[Apport],
) -> anyhow::Result<()> {
    use crate::writer::{add_later, Value::Int, Value::Text};
    for a in apports {
        if !a.comptes.is_zero() {
            let mut values = vec![
                Int(Some(tenant_id)),
                Int(Some(demarche_id)),
                Text(Some(a.month.clone())),
                Text(Some(a.canal.code().to_string())),
            ];
            values.extend(a.comptes.values().map(|v| Int(Some(v))));
            add_later(conn, "dossier_figures", &FIGURE_COLUMNS, 4, values).await?;
        }
        if let Some((bucket, n)) = a.delay {
            let values = vec![
                Int(Some(tenant_id)),
                Int(Some(demarche_id)),
                Text(Some(a.month.clone())),
                Int(Some(bucket)),
                Int(Some(n)),
            ];
            add_later(conn, "dossier_delays", &DELAY_COLUMNS, 4, values).await?;
        }
    }
    Ok(())
}

/// Adds what a change of a signalement contributes, in the change's transaction.
pub(crate) async fn apply_signalement_in(
    conn: &mut sqlx::AnyConnection,
    before: Option<&FaitsSignalement>,
    after: Option<&FaitsSignalement>,
) -> anyhow::Result<()> {
    for (key, c) in signalement_difference(before, after) {
        upsert_signalement(conn, &key, &c).await?;
    }
    Ok(())
}

async fn upsert_signalement(
    conn: &mut sqlx::AnyConnection,
    (tenant_id, category_id, commune, month): &CleSignalement,
    c: &ComptesSignalement,
) -> anyhow::Result<()> {
    use crate::writer::Value::{Int, Text};
    let values = vec![
        Int(Some(*tenant_id)),
        Int(Some(*category_id)),
        Text(Some(commune.clone())),
        Text(Some(month.clone())),
        Int(Some(c.reported)),
        Int(Some(c.resolved)),
        Int(Some(c.rejected)),
        Int(Some(c.resolution_days)),
    ];
    crate::writer::add_later(conn, "signalement_figures", &SIGNALEMENT_COLUMNS, 4, values).await
}

const DOSSIER_FACTS: &str =
    "id, tenant_id, demarche_id, state, channel, aidant_id, submitted_at, decided_at, deadline_at, tacit, asked_again";

fn faits_of(r: &sqlx::any::AnyRow) -> anyhow::Result<Faits> {
    let state: String = r.try_get("state")?;
    let channel: String = r.try_get("channel")?;
    Ok(Faits {
        state: guichet_domain::dossier::State::from_code(&state)
            .ok_or_else(|| anyhow::anyhow!("état inconnu {state}"))?,
        canal: Canal::of(
            &channel,
            r.try_get::<Option<i64>, _>("aidant_id")?.is_some(),
        ),
        submitted_at: r.try_get("submitted_at")?,
        decided_at: r.try_get("decided_at")?,
        deadline_at: r.try_get("deadline_at")?,
        tacit: r.try_get::<i64, _>("tacit")? != 0,
        asked_again: r.try_get("asked_again")?,
    })
}

type Totals = BTreeMap<(i64, i64, String, Canal), Comptes>;
type Delays = BTreeMap<(i64, i64, String, i64), i64>;

/// Recomputes every figure from the data (dossiers, their correction requests, satisfaction
/// answers, signalements), in one transaction. Run when the figures first appear, and by the
/// benchmark after it loads its data set directly.
pub async fn rebuild(db: &Db) -> anyhow::Result<()> {
    let mut tx = db.begin().await?;
    let (mut totals, mut delays) = (Totals::new(), Delays::new());
    let mut last = 0i64;
    loop {
        let rows = sqlx::query(&format!(
            "SELECT {DOSSIER_FACTS} FROM dossiers WHERE id > $1 AND state <> 'brouillon' ORDER BY id LIMIT 50000"
        ))
        .bind(last)
        .fetch_all(&mut *tx)
        .await?;
        let Some(end) = rows.last() else { break };
        last = end.try_get("id")?;
        for r in &rows {
            let key = (r.try_get("tenant_id")?, r.try_get("demarche_id")?);
            for a in guichet_domain::pilotage::apports(&faits_of(r)?) {
                add(&mut totals, &mut delays, key, &a);
            }
        }
    }
    let corrections = sqlx::query(
        "SELECT x.tenant_id, x.demarche_id, x.channel, x.aidant_id, e.at FROM dossier_events e JOIN dossiers x ON x.id = e.dossier_id
         WHERE e.kind = 'etat' AND e.to_state = 'en_correction'",
    )
    .fetch_all(&mut *tx)
    .await?;
    for r in &corrections {
        let canal = Canal::of(
            &r.try_get::<String, _>("channel")?,
            r.try_get::<Option<i64>, _>("aidant_id")?.is_some(),
        );
        let a = guichet_domain::pilotage::correction(r.try_get("at")?, canal);
        let key = (r.try_get("tenant_id")?, r.try_get("demarche_id")?);
        add(&mut totals, &mut delays, key, &a);
    }
    let ratings = sqlx::query(
        "SELECT s.tenant_id, s.demarche_id, s.score, s.at, x.channel, x.aidant_id FROM satisfaction s JOIN dossiers x ON x.id = s.dossier_id",
    )
    .fetch_all(&mut *tx)
    .await?;
    for r in &ratings {
        let canal = Canal::of(
            &r.try_get::<String, _>("channel")?,
            r.try_get::<Option<i64>, _>("aidant_id")?.is_some(),
        );
        let a = guichet_domain::pilotage::rating(r.try_get("at")?, canal, r.try_get("score")?);
        let key = (r.try_get("tenant_id")?, r.try_get("demarche_id")?);
        add(&mut totals, &mut delays, key, &a);
    }
    for table in ["dossier_figures", "dossier_delays", "signalement_figures"] {
        sqlx::query(&format!("DELETE FROM {table}"))
            .execute(&mut *tx)
            .await?;
    }
    for ((tenant_id, demarche_id, month, canal), comptes) in totals {
        let a = Apport {
            month,
            canal,
            comptes,
            delay: None,
        };
        apply_in(&mut tx, tenant_id, demarche_id, &[a]).await?;
    }
    for ((tenant_id, demarche_id, month, bucket), n) in delays {
        let a = Apport {
            month,
            canal: Canal::EnLigne,
            comptes: Comptes::default(),
            delay: Some((bucket, n)),
        };
        apply_in(&mut tx, tenant_id, demarche_id, &[a]).await?;
    }
    let signalements = sqlx::query(
        "SELECT tenant_id, category_id, commune_insee, state, created_at, resolved_at FROM signalements",
    )
    .fetch_all(&mut *tx)
    .await?;
    let mut counted: BTreeMap<CleSignalement, ComptesSignalement> = BTreeMap::new();
    for r in &signalements {
        let state: String = r.try_get("state")?;
        let Some(state) = guichet_domain::signalement::State::from_code(&state) else {
            continue;
        };
        let f = FaitsSignalement {
            tenant_id: r.try_get("tenant_id")?,
            category_id: r.try_get("category_id")?,
            commune_insee: r.try_get("commune_insee")?,
            state,
            created_at: r.try_get("created_at")?,
            resolved_at: r.try_get("resolved_at")?,
        };
        for (key, c) in signalement_difference(None, Some(&f)) {
            let e = counted.entry(key).or_default();
            e.reported += c.reported;
            e.resolved += c.resolved;
            e.rejected += c.rejected;
            e.resolution_days += c.resolution_days;
        }
    }
    for (key, c) in &counted {
        upsert_signalement(&mut tx, key, c).await?;
    }
    tx.commit().await?;
    Ok(())
}

fn add(totals: &mut Totals, delays: &mut Delays, (tenant, demarche): (i64, i64), a: &Apport) {
    totals
        .entry((tenant, demarche, a.month.clone(), a.canal))
        .or_default()
        .add(&a.comptes);
    if let Some((bucket, n)) = a.delay {
        *delays
            .entry((tenant, demarche, a.month.clone(), bucket))
            .or_default() += n;
    }
}

/// Which dossiers a figure covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Perimetre {
    Region,
    Collectivite(i64),
    Demarche(i64, i64),
    /// Every démarche adopted from a shared template (and the template's own).
    Modele(i64),
}

impl Perimetre {
    /// The condition on (tenant_id, demarche_id), with its parameters from `$first`.
    fn condition(self, first: usize) -> (String, Vec<i64>) {
        match self {
            Self::Region => ("1 = 1".into(), vec![]),
            Self::Collectivite(t) => (format!("tenant_id = ${first}"), vec![t]),
            Self::Demarche(t, d) => (
                format!("tenant_id = ${first} AND demarche_id = ${}", first + 1),
                vec![t, d],
            ),
            Self::Modele(m) => (
                format!("demarche_id IN (SELECT id FROM demarches WHERE template_id = ${first})"),
                vec![m],
            ),
        }
    }
}

/// One row of figures: a month and channel of a démarche.
#[derive(Debug, Clone)]
pub struct Ligne {
    pub tenant_id: i64,
    pub demarche_id: i64,
    pub month: String,
    pub canal: Canal,
    pub comptes: Comptes,
}

/// The figures of a perimeter from `from_month` on, by démarche, month and channel.
pub async fn lignes(db: &Db, p: Perimetre, from_month: &str) -> anyhow::Result<Vec<Ligne>> {
    let (condition, params) = p.condition(2);
    read_lignes(
        db,
        &format!(
            "SELECT tenant_id, demarche_id, month, channel, {} FROM dossier_figures WHERE month >= $1 AND {condition}",
            Comptes::COLUMNS.join(", ")
        ),
        from_month,
        params,
    )
    .await
}

/// Figures from `from_month` on, summed by collectivité, month and channel (démarche 0): every
/// collectivité's in one reading of the month's rows, from which the région's totals and any
/// page of the table by collectivité are added up without reading again.
pub async fn lignes_by_collectivite(db: &Db, from_month: &str) -> anyhow::Result<Vec<Ligne>> {
    read_lignes(
        db,
        &format!(
            "SELECT tenant_id, 0 AS demarche_id, month, channel, {} FROM dossier_figures
             WHERE month >= $1 GROUP BY tenant_id, month, channel",
            summed()
        ),
        from_month,
        Vec::new(),
    )
    .await
}

/// The figures of these démarches, (collectivité, démarche), from `from_month` on, by month and
/// channel: read by the table's key, whatever the size of the région.
pub async fn lignes_of_demarches(
    db: &Db,
    ids: &[(i64, i64)],
    from_month: &str,
) -> anyhow::Result<Vec<Ligne>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let pairs: Vec<String> = (0..ids.len())
        .map(|i| {
            format!(
                "(tenant_id = ${} AND demarche_id = ${})",
                2 + 2 * i,
                3 + 2 * i
            )
        })
        .collect();
    read_lignes(
        db,
        &format!(
            "SELECT tenant_id, demarche_id, month, channel, {} FROM dossier_figures WHERE month >= $1 AND ({})",
            Comptes::COLUMNS.join(", "),
            pairs.join(" OR ")
        ),
        from_month,
        ids.iter().flat_map(|(t, d)| [*t, *d]).collect(),
    )
    .await
}

/// Every figure column, summed.
fn summed() -> String {
    Comptes::COLUMNS
        .iter()
        .map(|c| format!("CAST(SUM({c}) AS BIGINT) AS {c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

async fn read_lignes(
    db: &Db,
    sql: &str,
    from_month: &str,
    params: Vec<i64>,
) -> anyhow::Result<Vec<Ligne>> {
    let mut q = sqlx::query(sql).bind(from_month);
    for v in params {
        q = q.bind(v);
    }
    let rows = q.fetch_all(db.pool()).await?;
    rows.iter()
        .map(|r| {
            let channel: String = r.try_get("channel")?;
            let mut values = [0i64; 13];
            for (i, c) in Comptes::COLUMNS.iter().enumerate() {
                values[i] = r.try_get(*c)?;
            }
            Ok(Ligne {
                tenant_id: r.try_get("tenant_id")?,
                demarche_id: r.try_get("demarche_id")?,
                month: r.try_get("month")?,
                canal: Canal::from_code(&channel).unwrap_or(Canal::EnLigne),
                comptes: Comptes::from_values(values),
            })
        })
        .collect()
}

/// The histograms of processing times of a perimeter from `from_month` on, by démarche:
/// (tenant, démarche) → [(bucket, count)].
pub async fn delays(
    db: &Db,
    p: Perimetre,
    from_month: &str,
) -> anyhow::Result<HashMap<(i64, i64), Vec<(i64, i64)>>> {
    let (condition, params) = p.condition(2);
    read_delays(
        db,
        &format!(
            "SELECT tenant_id, demarche_id, bucket, CAST(SUM(n) AS BIGINT) AS n FROM dossier_delays WHERE month >= $1 AND {condition}
             GROUP BY tenant_id, demarche_id, bucket"
        ),
        from_month,
        params,
    )
    .await
}

/// Histograms of processing times from `from_month` on, each collectivité's under
/// (collectivité, 0), in one reading.
pub async fn delays_by_collectivite(
    db: &Db,
    from_month: &str,
) -> anyhow::Result<HashMap<(i64, i64), Vec<(i64, i64)>>> {
    read_delays(
        db,
        "SELECT tenant_id, 0 AS demarche_id, bucket, CAST(SUM(n) AS BIGINT) AS n FROM dossier_delays
         WHERE month >= $1 GROUP BY tenant_id, bucket",
        from_month,
        Vec::new(),
    )
    .await
}

async fn read_delays(
    db: &Db,
    sql: &str,
    from_month: &str,
    params: Vec<i64>,
) -> anyhow::Result<HashMap<(i64, i64), Vec<(i64, i64)>>> {
    let mut q = sqlx::query(sql).bind(from_month);
    for v in params {
        q = q.bind(v);
    }
    let mut out: HashMap<(i64, i64), Vec<(i64, i64)>> = HashMap::new();
    for r in q.fetch_all(db.pool()).await? {
        out.entry((r.try_get("tenant_id")?, r.try_get("demarche_id")?))
            .or_default()
            .push((r.try_get("bucket")?, r.try_get("n")?));
    }
    Ok(out)
}

/// Signalements of a collectivité (or the région) reported from `from_month` on, by category
/// and commune.
pub async fn signalements(
    db: &Db,
    tenant_id: Option<i64>,
    from_month: &str,
) -> anyhow::Result<Vec<(i64, String, ComptesSignalement)>> {
    let condition = match tenant_id {
        Some(_) => "AND tenant_id = $2",
        None => "",
    };
    let sql = format!(
        "SELECT category_id, commune_insee, CAST(SUM(reported) AS BIGINT) AS reported, CAST(SUM(resolved) AS BIGINT) AS resolved,
                CAST(SUM(rejected) AS BIGINT) AS rejected, CAST(SUM(resolution_days) AS BIGINT) AS resolution_days
         FROM signalement_figures WHERE month >= $1 {condition}
         GROUP BY category_id, commune_insee ORDER BY category_id, commune_insee"
    );
    let mut q = sqlx::query(&sql).bind(from_month);
    if let Some(t) = tenant_id {
        q = q.bind(t);
    }
    let rows = q.fetch_all(db.pool()).await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("category_id")?,
                r.try_get("commune_insee")?,
                ComptesSignalement {
                    reported: r.try_get("reported")?,
                    resolved: r.try_get("resolved")?,
                    rejected: r.try_get("rejected")?,
                    resolution_days: r.try_get("resolution_days")?,
                },
            ))
        })
        .collect()
}

/// When a usager answers "Comment s'est passée cette démarche ?".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moment {
    Depot,
    Decision,
}

impl Moment {
    pub fn code(self) -> &'static str {
        match self {
            Self::Depot => "depot",
            Self::Decision => "decision",
        }
    }
}

/// A satisfaction answer, with its figure and its trace, in one commit. False when this
/// dossier already has its answer for that moment.
pub async fn rate(
    db: &Db,
    d: &crate::dossier::Dossier,
    moment: Moment,
    score: i64,
    comment: Option<String>,
    trace: Trace,
) -> anyhow::Result<bool> {
    let (tenant_id, demarche_id, dossier_id, canal) = (d.tenant_id, d.demarche_id, d.id, d.canal);
    db.write(move |conn| {
        Box::pin(async move {
            let now = crate::now_ms();
            let inserted = sqlx::query(
                "INSERT INTO satisfaction (dossier_id, moment, tenant_id, demarche_id, score, comment, at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (dossier_id, moment) DO NOTHING",
            )
            .bind(dossier_id)
            .bind(moment.code())
            .bind(tenant_id)
            .bind(demarche_id)
            .bind(score)
            .bind(comment)
            .bind(now)
            .execute(&mut *conn)
            .await?
            .rows_affected();
            if inserted != 1 {
                return Ok(false);
            }
            let a = guichet_domain::pilotage::rating(now, canal, score);
            apply_in(conn, tenant_id, demarche_id, &[a]).await?;
            trace.write(conn).await?;
            Ok(true)
        })
    })
    .await
}

/// The moments a dossier's usager has already answered.
pub async fn answered(db: &Db, dossier_id: i64) -> anyhow::Result<Vec<String>> {
    Ok(
        sqlx::query_scalar("SELECT moment FROM satisfaction WHERE dossier_id = $1")
            .bind(dossier_id)
            .fetch_all(db.pool())
            .await?,
    )
}

/// A comment left with a satisfaction answer.
#[derive(Debug, Clone)]
pub struct Commentaire {
    pub demarche_id: i64,
    pub score: i64,
    pub comment: String,
    pub at: i64,
}

/// The latest comments of a collectivité's usagers.
pub async fn comments(db: &Db, tenant_id: i64, limit: i64) -> anyhow::Result<Vec<Commentaire>> {
    let rows = sqlx::query(
        "SELECT demarche_id, score, comment, at FROM satisfaction
         WHERE tenant_id = $1 AND comment IS NOT NULL ORDER BY at DESC LIMIT $2",
    )
    .bind(tenant_id)
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Commentaire {
                demarche_id: r.try_get("demarche_id")?,
                score: r.try_get("score")?,
                comment: r.try_get("comment")?,
                at: r.try_get("at")?,
            })
        })
        .collect()
}

/// Adds a node's service measures of a Paris day (page requests, failures, total time).
pub async fn record_service(
    db: &Db,
    day: String,
    requests: i64,
    failed: i64,
    total_ms: i64,
) -> anyhow::Result<()> {
    db.write(move |conn| {
        Box::pin(async move {
            sqlx::query(
                "INSERT INTO service_days (day, requests, failed, total_ms) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (day) DO UPDATE SET requests = service_days.requests + excluded.requests,
                   failed = service_days.failed + excluded.failed, total_ms = service_days.total_ms + excluded.total_ms",
            )
            .bind(day)
            .bind(requests)
            .bind(failed)
            .bind(total_ms)
            .execute(&mut *conn)
            .await?;
            Ok(())
        })
    })
    .await
}

/// The platform's service measures from `from_day` ("2026-12-04") on: requests, failed, total
/// milliseconds.
pub async fn service(db: &Db, from_day: &str) -> anyhow::Result<(i64, i64, i64)> {
    let r = sqlx::query(
        "SELECT CAST(COALESCE(SUM(requests), 0) AS BIGINT) AS requests, CAST(COALESCE(SUM(failed), 0) AS BIGINT) AS failed,
                CAST(COALESCE(SUM(total_ms), 0) AS BIGINT) AS total_ms FROM service_days WHERE day >= $1",
    )
    .bind(from_day)
    .fetch_one(db.pool())
    .await?;
    Ok((
        r.try_get("requests")?,
        r.try_get("failed")?,
        r.try_get("total_ms")?,
    ))
}

/// The declared accessibility audits: collectivité → (conformity rate, date of the audit).
pub async fn accessibility(db: &Db) -> anyhow::Result<HashMap<i64, (i64, String)>> {
    let rows = sqlx::query(
        "SELECT id, accessibility_rate, accessibility_audited FROM tenants WHERE accessibility_rate IS NOT NULL",
    )
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("id")?,
                (
                    r.try_get("accessibility_rate")?,
                    r.try_get::<Option<String>, _>("accessibility_audited")?
                        .unwrap_or_default(),
                ),
            ))
        })
        .collect()
}

/// Declares (or withdraws, with None) a collectivité's accessibility audit, with its trace.
pub async fn declare_accessibility(
    db: &Db,
    tenant_id: i64,
    audit: Option<(i64, String)>,
    trace: Trace,
) -> anyhow::Result<()> {
    db.write(move |conn| {
        Box::pin(async move {
            let (rate, date) = audit.unzip();
            sqlx::query("UPDATE tenants SET accessibility_rate = $1, accessibility_audited = $2 WHERE id = $3")
                .bind(rate)
                .bind(date)
                .bind(tenant_id)
                .execute(&mut *conn)
                .await?;
            trace.write(conn).await?;
            Ok(())
        })
    })
    .await
}
