//! Open data: the datasets of each collectivité and of the platform, their versions, and the
//! refresh that regenerates the datasets made from what the platform holds (a new version only
//! when the content changed).

pub mod patrimoine;

use crate::db::Db;
use guichet_domain::demarche::{Definition, IdentityLevel, TacitRule};
use guichet_domain::donnees::{coordinate_cell, count_cell, Frequence, Genere, Licence};
use sha2::{Digest, Sha256};
use sqlx::any::AnyRow;
use sqlx::Row;

/// The tenant id of the platform's own datasets.
pub const PLATFORM: i64 = 0;

/// How many versions keep their file (older ones keep their date, size and checksum).
pub const FILES_KEPT: i64 = 3;

#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    pub id: i64,
    /// The collectivité, or `PLATFORM`.
    pub tenant_id: i64,
    pub slug: String,
    pub origin: String,
    pub title: String,
    pub description: String,
    pub licence: Licence,
    pub frequency: Frequence,
    /// An uploaded dataset's shipped SCDL schema, by name.
    pub schema_name: Option<String>,
    /// An uploaded dataset's own Table Schema (JSON), when not a shipped one.
    pub schema: Option<String>,
    pub created_at: i64,
    pub modified_at: i64,
}

impl Dataset {
    /// The generated kind, for a dataset the platform makes.
    pub fn genere(&self) -> Option<Genere> {
        (self.origin == "genere")
            .then(|| Genere::from_slug(&self.slug))
            .flatten()
    }
}

#[derive(Debug, Clone)]
pub struct Version {
    pub version: i64,
    pub created_at: i64,
    pub row_count: i64,
    pub byte_size: i64,
    pub sha256: String,
    pub kept: bool,
}

const COLUMNS: &str = "id, tenant_id, slug, origin, title, description, licence, frequency, schema_name, schema, created_at, modified_at";

fn from_row(r: &AnyRow) -> anyhow::Result<Dataset> {
    let licence: String = r.try_get("licence")?;
    let frequency: String = r.try_get("frequency")?;
    Ok(Dataset {
        id: r.try_get("id")?,
        tenant_id: r.try_get("tenant_id")?,
        slug: r.try_get("slug")?,
        origin: r.try_get("origin")?,
        title: r.try_get("title")?,
        description: r.try_get("description")?,
        licence: Licence::from_code(&licence).unwrap_or(Licence::LicenceOuverte),
        frequency: Frequence::from_code(&frequency).unwrap_or(Frequence::Irreguliere),
        schema_name: r.try_get("schema_name")?,
        schema: r.try_get("schema")?,
        created_at: r.try_get("created_at")?,
        modified_at: r.try_get("modified_at")?,
    })
}

/// A page of the published datasets (with at least one version), the platform's first, then by
/// collectivité and title; and how many there are in all.
pub async fn published_page(
    db: &Db,
    offset: i64,
    limit: i64,
) -> anyhow::Result<(Vec<Dataset>, i64)> {
    const PUBLISHED: &str = "EXISTS (SELECT 1 FROM dataset_versions v WHERE v.dataset_id = d.id)";
    let total: i64 = sqlx::query_scalar(&format!(
        "SELECT COUNT(*) FROM datasets d WHERE {PUBLISHED}"
    ))
    .fetch_one(db.pool())
    .await?;
    let page = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM datasets d WHERE {PUBLISHED} ORDER BY tenant_id, title, id LIMIT $1 OFFSET $2"
    ))
    .bind(limit)
    .bind(offset)
    .fetch_all(db.pool())
    .await?
    .iter()
    .map(from_row)
    .collect::<anyhow::Result<_>>()?;
    Ok((page, total))
}

/// The published datasets of a collectivité (or of the platform).
pub async fn of(db: &Db, tenant_id: i64) -> anyhow::Result<Vec<Dataset>> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM datasets d WHERE tenant_id = $1 AND EXISTS (SELECT 1 FROM dataset_versions v WHERE v.dataset_id = d.id) ORDER BY title"
    ))
    .bind(tenant_id)
    .fetch_all(db.pool())
    .await?
    .iter()
    .map(from_row)
    .collect()
}

pub async fn by_slug(db: &Db, tenant_id: i64, slug: &str) -> anyhow::Result<Option<Dataset>> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM datasets WHERE tenant_id = $1 AND slug = $2"
    ))
    .bind(tenant_id)
    .bind(slug)
    .fetch_optional(db.pool())
    .await?
    .as_ref()
    .map(from_row)
    .transpose()
}

/// A dataset's versions, the latest first.
pub async fn versions(db: &Db, dataset_id: i64) -> anyhow::Result<Vec<Version>> {
    sqlx::query(
        "SELECT version, created_at, row_count, byte_size, sha256, CASE WHEN csv IS NULL THEN 0 ELSE 1 END AS kept
         FROM dataset_versions WHERE dataset_id = $1 ORDER BY version DESC",
    )
    .bind(dataset_id)
    .fetch_all(db.pool())
    .await?
    .iter()
    .map(|r| {
        Ok(Version {
            version: r.try_get("version")?,
            created_at: r.try_get("created_at")?,
            row_count: r.try_get("row_count")?,
            byte_size: r.try_get("byte_size")?,
            sha256: r.try_get("sha256")?,
            kept: r.try_get::<i32, _>("kept")? == 1,
        })
    })
    .collect()
}

/// The CSV of a version (the latest when `version` is none), if its file is kept.
pub async fn csv(db: &Db, dataset_id: i64, version: Option<i64>) -> anyhow::Result<Option<String>> {
    let row = match version {
        Some(v) => {
            sqlx::query("SELECT csv FROM dataset_versions WHERE dataset_id = $1 AND version = $2")
                .bind(dataset_id)
                .bind(v)
                .fetch_optional(db.pool())
                .await?
        }
        None => sqlx::query(
            "SELECT csv FROM dataset_versions WHERE dataset_id = $1 ORDER BY version DESC LIMIT 1",
        )
        .bind(dataset_id)
        .fetch_optional(db.pool())
        .await?,
    };
    Ok(row.and_then(|r| r.try_get::<Option<String>, _>("csv").ok().flatten()))
}

/// A dataset's content: its header and rows, as text cells.
pub struct Table {
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// CSV with a header line, comma-separated, UTF-8, as Table Schema reads by default.
    fn to_csv(&self, g: Genere) -> anyhow::Result<String> {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(g.columns().iter().map(|c| c.name))?;
        for row in &self.rows {
            w.write_record(row)?;
        }
        Ok(String::from_utf8(w.into_inner()?)?)
    }
}

/// The rows of a generated dataset of a collectivité, as of now.
async fn generate(
    db: &Db,
    g: Genere,
    t: &crate::collectivite::Collectivite,
    public_url: &str,
) -> anyhow::Result<Table> {
    let rows = match g {
        Genere::Demarches => demarches(db, t, public_url).await?,
        Genere::Signalements => signalements(db, t).await?,
        Genere::DossiersParMois => dossiers_par_mois(db, t).await?,
        Genere::Collectivites => Vec::new(),
        Genere::Indicateurs => indicateurs(db, t).await?,
        Genere::Deliberations => crate::conseil::scdl_rows(db, t, public_url).await?,
    };
    Ok(Table { rows })
}

/// The platform's list of its active collectivités.
fn collectivites_rows(
    active: &[&crate::collectivite::Collectivite],
    public_url: &str,
) -> Vec<Vec<String>> {
    active
        .iter()
        .map(|c| {
            vec![
                c.name.clone(),
                c.siren.clone().unwrap_or_default(),
                c.entity_kind.code().to_string(),
                c.entity_code.clone(),
                format!("{public_url}/collectivites/{}", c.slug),
            ]
        })
        .collect()
}

async fn demarches(
    db: &Db,
    t: &crate::collectivite::Collectivite,
    public_url: &str,
) -> anyhow::Result<Vec<Vec<String>>> {
    let rows = sqlx::query(
        "SELECT d.slug, v.definition FROM demarches d JOIN demarche_versions v
           ON v.tenant_id = d.tenant_id AND v.demarche_id = d.id AND v.version = d.published_version
         WHERE d.tenant_id = $1 AND d.status = 'publiee' ORDER BY d.slug",
    )
    .bind(t.id)
    .fetch_all(db.pool())
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let slug: String = r.try_get("slug")?;
        let text: String = r.try_get("definition")?;
        let def: Definition = serde_json::from_str(&text)?;
        let delay = def.instruction_delay();
        out.push(vec![
            t.name.clone(),
            t.siren.clone().unwrap_or_default(),
            slug.clone(),
            def.title.clone(),
            def.competence.clone().unwrap_or_default(),
            delay.map(|d| d.label()).unwrap_or_default(),
            match (delay, def.tacit_rule) {
                (Some(_), TacitRule::Accord) => "accord".into(),
                (Some(_), TacitRule::Rejet) => "rejet".into(),
                _ => String::new(),
            },
            matches!(
                def.identity,
                IdentityLevel::Franceconnect | IdentityLevel::FranceconnectProposee
            )
            .to_string(),
            format!("{public_url}/demarches/{}/{slug}", t.slug),
        ]);
    }
    Ok(out)
}

async fn signalements(
    db: &Db,
    t: &crate::collectivite::Collectivite,
) -> anyhow::Result<Vec<Vec<String>>> {
    let public: Vec<&str> = guichet_domain::signalement::State::ALL
        .iter()
        .filter(|s| s.is_public())
        .map(|s| s.code())
        .collect();
    let states = public
        .iter()
        .map(|s| format!("'{s}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let rows = sqlx::query(&format!(
        "SELECT s.number, c.label, s.competence, s.commune_insee, s.state, s.created_at, s.resolved_at, s.lat, s.lon
         FROM signalements s JOIN signalement_categories c ON c.id = s.category_id
         WHERE s.tenant_id = $1 AND s.state IN ({states}) ORDER BY s.id"
    ))
    .bind(t.id)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            let state: String = r.try_get("state")?;
            let resolved: Option<i64> = r.try_get("resolved_at")?;
            Ok(vec![
                t.name.clone(),
                r.try_get("number")?,
                r.try_get("label")?,
                r.try_get("competence")?,
                r.try_get("commune_insee")?,
                guichet_domain::signalement::State::from_code(&state)
                    .map(|s| s.label().to_string())
                    .unwrap_or(state),
                guichet_domain::delai::paris_day(r.try_get("created_at")?).to_string(),
                resolved
                    .map(|ms| guichet_domain::delai::paris_day(ms).to_string())
                    .unwrap_or_default(),
                coordinate_cell(r.try_get("lat")?),
                coordinate_cell(r.try_get("lon")?),
            ])
        })
        .collect()
}

async fn dossiers_par_mois(
    db: &Db,
    t: &crate::collectivite::Collectivite,
) -> anyhow::Result<Vec<Vec<String>>> {
    // Counted by the hour in the database (Paris is a whole number of hours from UTC, so an
    // hour falls in one Paris month), then by month here: a few rows per démarche and hour,
    // not one per dossier.
    let rows = sqlx::query(
        "SELECT d.slug, d.title, x.submitted_at / 3600000 AS hour,
                COUNT(*) AS deposited,
                SUM(CASE WHEN x.state = 'accepte' THEN 1 ELSE 0 END) AS accepted,
                SUM(CASE WHEN x.state = 'refuse' THEN 1 ELSE 0 END) AS refused
         FROM dossiers x JOIN demarches d ON d.id = x.demarche_id AND d.tenant_id = x.tenant_id
         WHERE x.tenant_id = $1 AND x.submitted_at IS NOT NULL
         GROUP BY d.slug, d.title, x.submitted_at / 3600000",
    )
    .bind(t.id)
    .fetch_all(db.pool())
    .await?;
    // (slug, month) → (title, deposited, accepted, refused)
    let mut counts: std::collections::BTreeMap<(String, String), (String, i64, i64, i64)> =
        Default::default();
    for r in &rows {
        let hour: i64 = r.try_get("hour")?;
        let month = guichet_domain::delai::paris_day(hour * 3_600_000)
            .strftime("%Y-%m")
            .to_string();
        let entry = counts
            .entry((r.try_get("slug")?, month))
            .or_insert_with(|| (String::new(), 0, 0, 0));
        entry.0 = r.try_get("title")?;
        entry.1 += r.try_get::<i64, _>("deposited")?;
        entry.2 += r.try_get::<i64, _>("accepted")?;
        entry.3 += r.try_get::<i64, _>("refused")?;
    }
    Ok(counts
        .into_iter()
        .map(|((slug, month), (title, deposited, accepted, refused))| {
            vec![
                t.name.clone(),
                slug,
                title,
                month,
                count_cell(deposited),
                count_cell(accepted),
                count_cell(refused),
            ]
        })
        .collect())
}

/// The observatoire's figures of a collectivité, read from the aggregates kept with each change.
async fn indicateurs(
    db: &Db,
    t: &crate::collectivite::Collectivite,
) -> anyhow::Result<Vec<Vec<String>>> {
    let lignes = crate::pilotage::lignes(
        db,
        crate::pilotage::Perimetre::Collectivite(t.id),
        "0000-00",
    )
    .await?;
    let demarches: std::collections::HashMap<i64, (String, String)> =
        crate::demarche::list(db, t.id)
            .await?
            .into_iter()
            .map(|d| (d.id, (d.slug, d.title)))
            .collect();
    let mut rows: Vec<Vec<String>> = lignes
        .iter()
        .filter_map(|l| {
            let (slug, title) = demarches.get(&l.demarche_id)?;
            let c = &l.comptes;
            let mean = if c.ratings >= guichet_domain::pilotage::SMALL {
                format!("{:.1}", c.rating_sum as f64 / c.ratings as f64)
            } else {
                String::new()
            };
            Some(vec![
                t.name.clone(),
                slug.clone(),
                title.clone(),
                l.month.clone(),
                l.canal.code().to_string(),
                count_cell(c.deposited),
                count_cell(c.decided),
                count_cell(c.accepted),
                count_cell(c.refused),
                count_cell(c.closed),
                count_cell(c.tacit),
                count_cell(c.within_deadline),
                count_cell(c.corrections),
                count_cell(c.ratings),
                mean,
            ])
        })
        .collect();
    rows.sort_by(|a, b| (&a[1], &a[3], &a[4]).cmp(&(&b[1], &b[3], &b[4])));
    Ok(rows)
}

/// A file a collectivité publishes, already checked against its schema.
#[derive(Debug, Clone)]
pub struct Upload {
    pub tenant_id: i64,
    pub slug: String,
    pub title: String,
    pub description: String,
    pub licence: Licence,
    pub frequency: Frequence,
    pub schema_name: Option<String>,
    pub schema: Option<String>,
    pub csv: String,
    pub rows: i64,
}

/// Publishes an uploaded file: the dataset (created, or its description updated) and its new
/// version, with the trace, in one commit. None when the slug is a generated dataset's.
pub async fn publish(
    db: &Db,
    u: Upload,
    trace: crate::trace::Trace,
) -> anyhow::Result<Option<Dataset>> {
    let now = crate::now_ms();
    let sha = hex::encode(Sha256::digest(u.csv.as_bytes()));
    db.write(move |conn| {
        Box::pin(async move {
            let existing = sqlx::query(&format!(
                "SELECT {COLUMNS} FROM datasets WHERE tenant_id = $1 AND slug = $2"
            ))
            .bind(u.tenant_id)
            .bind(&u.slug)
            .fetch_optional(&mut *conn)
            .await?
            .as_ref()
            .map(from_row)
            .transpose()?;
            let id = match existing {
                Some(d) if d.origin != "depose" => return Ok(None),
                Some(d) => {
                    sqlx::query("UPDATE datasets SET title = $1, description = $2, licence = $3, frequency = $4, schema_name = $5, schema = $6, modified_at = $7 WHERE id = $8")
                        .bind(&u.title)
                        .bind(&u.description)
                        .bind(u.licence.code())
                        .bind(u.frequency.code())
                        .bind(&u.schema_name)
                        .bind(&u.schema)
                        .bind(now)
                        .bind(d.id)
                        .execute(&mut *conn)
                        .await?;
                    d.id
                }
                None => sqlx::query(
                    "INSERT INTO datasets (tenant_id, slug, origin, title, description, licence, frequency, schema_name, schema, created_at, modified_at)
                     VALUES ($1, $2, 'depose', $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id",
                )
                .bind(u.tenant_id)
                .bind(&u.slug)
                .bind(&u.title)
                .bind(&u.description)
                .bind(u.licence.code())
                .bind(u.frequency.code())
                .bind(&u.schema_name)
                .bind(&u.schema)
                .bind(now)
                .fetch_one(&mut *conn)
                .await?
                .try_get("id")?,
            };
            let Some(version) = add_version(conn, id, &u.csv, &sha, u.rows, now).await? else {
                anyhow::bail!("version du jeu {id} enregistrée en même temps ailleurs");
            };
            let mut trace = trace;
            for event in trace.events_mut() {
                event.object_type = Some("jeu_de_donnees".into());
                event.object_id = Some(format!("{id} v{version}"));
            }
            trace.write(conn).await?;
            sqlx::query(&format!("SELECT {COLUMNS} FROM datasets WHERE id = $1"))
                .bind(id)
                .fetch_optional(&mut *conn)
                .await?
                .as_ref()
                .map(from_row)
                .transpose()
        })
    })
    .await
}

/// Records the CSV as the dataset's next version and lets older versions than the last
/// `FILES_KEPT` go of their file; the version's number, or none when another node recorded that
/// number first.
async fn add_version(
    conn: &mut sqlx::AnyConnection,
    dataset_id: i64,
    csv: &str,
    sha: &str,
    rows: i64,
    now: i64,
) -> anyhow::Result<Option<i64>> {
    let version: i64 = sqlx::query(
        "SELECT COALESCE(MAX(version), 0) + 1 AS next FROM dataset_versions WHERE dataset_id = $1",
    )
    .bind(dataset_id)
    .fetch_one(&mut *conn)
    .await?
    .try_get("next")?;
    let added = sqlx::query(
        "INSERT INTO dataset_versions (dataset_id, version, created_at, row_count, byte_size, sha256, csv) VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (dataset_id, version) DO NOTHING",
    )
    .bind(dataset_id)
    .bind(version)
    .bind(now)
    .bind(rows)
    .bind(i64::try_from(csv.len())?)
    .bind(sha)
    .bind(csv)
    .execute(&mut *conn)
    .await?;
    if added.rows_affected() == 0 {
        return Ok(None);
    }
    sqlx::query("UPDATE dataset_versions SET csv = NULL WHERE dataset_id = $1 AND version <= $2")
        .bind(dataset_id)
        .bind(version - FILES_KEPT)
        .execute(&mut *conn)
        .await?;
    Ok(Some(version))
}

/// What a refresh did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Refreshed {
    pub datasets: usize,
    pub new_versions: usize,
}

/// Regenerates every generated dataset (the platform's, and each active collectivité's) and
/// records a new version of those whose content changed.
pub async fn refresh(db: &Db, public_url: &str, now: i64) -> anyhow::Result<Refreshed> {
    let all = crate::collectivite::list(db).await?;
    let active: Vec<&crate::collectivite::Collectivite> = all
        .iter()
        .filter(|c| c.status == guichet_domain::collectivite::CollectiviteStatus::Active)
        .collect();
    let platform_name = all
        .iter()
        .find(|c| c.is_operator)
        .map(|o| format!("la plateforme Guichet de {}", o.name))
        .unwrap_or_else(|| "la plateforme Guichet".into());
    let mut done = Refreshed::default();
    let table = Table {
        rows: collectivites_rows(&active, public_url),
    };
    done.new_versions += usize::from(
        save(
            db,
            PLATFORM,
            Genere::Collectivites,
            &platform_name,
            &table,
            now,
        )
        .await?,
    );
    done.datasets += 1;
    for t in active {
        // The délibérations, for the collectivités that run their council here.
        let council = !crate::conseil::assemblees(db, t.id).await?.is_empty();
        let own = council.then_some(Genere::Deliberations);
        for g in Genere::PER_COLLECTIVITE.into_iter().chain(own) {
            done.datasets += 1;
            done.new_versions += usize::from(refresh_one(db, t, g, public_url, now).await?);
        }
    }
    Ok(done)
}

/// Regenerates one dataset of a collectivité now (after a change it publishes: a délibération);
/// whether a new version was recorded.
pub async fn refresh_one(
    db: &Db,
    t: &crate::collectivite::Collectivite,
    g: Genere,
    public_url: &str,
    now: i64,
) -> anyhow::Result<bool> {
    let table = generate(db, g, t, public_url).await?;
    save(db, t.id, g, &t.name, &table, now).await
}

/// Records the table as the dataset's new version if it differs from the last one (the dataset
/// is created at its first version); whether a version was added.
async fn save(
    db: &Db,
    tenant_id: i64,
    g: Genere,
    of: &str,
    table: &Table,
    now: i64,
) -> anyhow::Result<bool> {
    let csv = table.to_csv(g)?;
    let sha = hex::encode(Sha256::digest(csv.as_bytes()));
    let rows = i64::try_from(table.rows.len())?;
    let (title, description) = (g.title(of), g.description(of));
    db.write(move |conn| {
        Box::pin(async move {
            // Several nodes may refresh at once: whoever inserts first wins, the others use it.
            sqlx::query(
                "INSERT INTO datasets (tenant_id, slug, origin, title, description, licence, frequency, created_at, modified_at)
                 VALUES ($1, $2, 'genere', $3, $4, $5, $6, $7, $7) ON CONFLICT (tenant_id, slug) DO NOTHING",
            )
            .bind(tenant_id)
            .bind(g.slug())
            .bind(&title)
            .bind(&description)
            .bind(Licence::LicenceOuverte.code())
            .bind(g.frequency().code())
            .bind(now)
            .execute(&mut *conn)
            .await?;
            let id: i64 = sqlx::query("SELECT id FROM datasets WHERE tenant_id = $1 AND slug = $2")
                .bind(tenant_id)
                .bind(g.slug())
                .fetch_one(&mut *conn)
                .await?
                .try_get("id")?;
            let last = sqlx::query(
                "SELECT sha256 FROM dataset_versions WHERE dataset_id = $1 ORDER BY version DESC LIMIT 1",
            )
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
            if let Some(r) = &last {
                if r.try_get::<String, _>("sha256")? == sha {
                    return Ok(false);
                }
            }
            // Another node may have recorded this version first.
            if add_version(conn, id, &csv, &sha, rows, now).await?.is_none() {
                return Ok(false);
            }
            sqlx::query("UPDATE datasets SET modified_at = $1, title = $2, description = $3 WHERE id = $4")
                .bind(now)
                .bind(&title)
                .bind(&description)
                .bind(id)
                .execute(&mut *conn)
                .await?;
            Ok(true)
        })
    })
    .await
}
