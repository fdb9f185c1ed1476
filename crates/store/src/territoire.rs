//! The territory referential in the database: import and look-ups.

use crate::db::Db;
use anyhow::Context;
use guichet_domain::territoire::{Commune, CommuneType, Departement, Epci, Referential, Region};
use guichet_domain::text::fold;
use sqlx::any::AnyRow;
use sqlx::Row;
use std::io::Read;

/// The referential shipped with Guichet (see data/README.md for provenance and licence).
pub const SHIPPED: &[u8] = include_bytes!("../../../data/territoire.tsv.gz");
/// Identifies the shipped data set, so that import on start is skipped when already done.
pub const SHIPPED_VERSION: &str = "etalab-decoupage-administratif-6.0.0";

pub fn decompress(gz: &[u8]) -> anyhow::Result<String> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(gz)
        .read_to_string(&mut text)
        .context("le fichier du référentiel n'est pas un gzip UTF-8 valide")?;
    Ok(text)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportReport {
    pub regions: usize,
    pub departements: usize,
    pub epcis: usize,
    pub communes: usize,
    pub skipped: bool,
}

/// Imported version of the referential, if any.
pub async fn imported_version(db: &Db) -> anyhow::Result<Option<String>> {
    let row = sqlx::query("SELECT value FROM territory_meta WHERE key = 'version'")
        .fetch_optional(db.pool())
        .await?;
    Ok(row.map(|r| r.get::<String, _>(0)))
}

/// Imports the shipped referential unless this version is already in the database.
pub async fn import_shipped(db: &Db, force: bool) -> anyhow::Result<ImportReport> {
    if !force && imported_version(db).await?.as_deref() == Some(SHIPPED_VERSION) {
        return Ok(ImportReport {
            regions: 0,
            departements: 0,
            epcis: 0,
            communes: 0,
            skipped: true,
        });
    }
    let referential = Referential::parse(&decompress(SHIPPED)?)?;
    import(db, &referential, SHIPPED_VERSION).await
}

/// Replaces the referential in one transaction: readers see the old one or the new one, whole.
pub async fn import(db: &Db, r: &Referential, version: &str) -> anyhow::Result<ImportReport> {
    let mut tx = db.begin().await?;
    for table in [
        "commune_postal_codes",
        "communes",
        "epcis",
        "departements",
        "regions",
    ] {
        sqlx::query(&format!("DELETE FROM {table}"))
            .execute(&mut *tx)
            .await?;
    }
    let epci_of = r.epci_of_communes();
    let parent_epci = |c: &Commune| -> Option<String> {
        epci_of
            .get(c.insee.as_str())
            .filter(|_| c.kind == CommuneType::Actuelle)
            .or_else(|| c.parent_insee.as_deref().and_then(|p| epci_of.get(p)))
            .map(|s| s.to_string())
    };

    insert_rows(
        &mut tx,
        "regions",
        &["code", "nom", "nom_folded", "chef_lieu"],
        &r.regions,
        |x| {
            vec![
                x.code.clone().into(),
                x.nom.clone().into(),
                fold(&x.nom).into(),
                x.chef_lieu.clone().into(),
            ]
        },
    )
    .await?;
    insert_rows(
        &mut tx,
        "departements",
        &["code", "region_code", "nom", "nom_folded", "chef_lieu"],
        &r.departements,
        |x| {
            vec![
                x.code.clone().into(),
                x.region_code.clone().into(),
                x.nom.clone().into(),
                fold(&x.nom).into(),
                x.chef_lieu.clone().into(),
            ]
        },
    )
    .await?;
    insert_rows(
        &mut tx,
        "epcis",
        &["siren", "nom", "nom_folded", "kind", "population"],
        &r.epcis,
        |x| {
            vec![
                x.siren.clone().into(),
                x.nom.clone().into(),
                fold(&x.nom).into(),
                x.kind.clone().into(),
                x.population.into(),
            ]
        },
    )
    .await?;
    insert_rows(
        &mut tx,
        "communes",
        &[
            "insee",
            "kind",
            "nom",
            "nom_folded",
            "departement_code",
            "region_code",
            "siren",
            "population",
            "parent_insee",
            "epci_siren",
        ],
        &r.communes,
        |c| {
            vec![
                c.insee.clone().into(),
                c.kind.code().to_string().into(),
                c.nom.clone().into(),
                fold(&c.nom).into(),
                c.departement_code.clone().into(),
                c.region_code.clone().into(),
                c.siren.clone().into(),
                c.population.into(),
                c.parent_insee.clone().into(),
                parent_epci(c).into(),
            ]
        },
    )
    .await?;
    let postal: Vec<(String, String, &'static str)> = r
        .communes
        .iter()
        .flat_map(|c| {
            c.postal_codes
                .iter()
                .map(move |p| (p.clone(), c.insee.clone(), c.kind.code()))
        })
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    insert_rows(
        &mut tx,
        "commune_postal_codes",
        &["postal_code", "insee", "kind"],
        &postal,
        |(p, i, k)| vec![p.clone().into(), i.clone().into(), k.to_string().into()],
    )
    .await?;
    sqlx::query(
        "INSERT INTO territory_meta (key, value) VALUES ('version', $1)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )
    .bind(version)
    .execute(&mut *tx)
    .await?;
    // Communes and their chains are what the one door routes by.
    crate::recherche::bump_in(&mut tx).await?;
    tx.commit().await?;
    Ok(ImportReport {
        regions: r.regions.len(),
        departements: r.departements.len(),
        epcis: r.epcis.len(),
        communes: r.communes.len(),
        skipped: false,
    })
}

/// A value bound in a bulk insert.
enum Value {
    Text(Option<String>),
    Int(Option<i64>),
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(Some(v))
    }
}
impl From<Option<String>> for Value {
    fn from(v: Option<String>) -> Self {
        Value::Text(v)
    }
}
impl From<Option<i64>> for Value {
    fn from(v: Option<i64>) -> Self {
        Value::Int(v)
    }
}

/// Multi-row INSERTs in batches: tens of thousands of rows in about a second on either backend.
async fn insert_rows<T>(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    table: &str,
    columns: &[&str],
    items: &[T],
    values: impl Fn(&T) -> Vec<Value>,
) -> anyhow::Result<()> {
    const ROWS_PER_BATCH: usize = 500;
    for chunk in items.chunks(ROWS_PER_BATCH) {
        let mut sql = format!("INSERT INTO {table} ({}) VALUES ", columns.join(", "));
        let mut n = 0;
        for (i, _) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push('(');
            for c in 0..columns.len() {
                if c > 0 {
                    sql.push_str(", ");
                }
                n += 1;
                sql.push_str(&format!("${n}"));
            }
            sql.push(')');
        }
        let mut query = sqlx::query(&sql);
        for item in chunk {
            for v in values(item) {
                query = match v {
                    Value::Text(s) => query.bind(s),
                    Value::Int(i) => query.bind(i),
                };
            }
        }
        query
            .execute(&mut **tx)
            .await
            .with_context(|| format!("import de la table {table}"))?;
    }
    Ok(())
}

/// A commune with the entities it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CommuneDetails {
    pub commune: Commune,
    pub epci: Option<EpciSummary>,
    pub departement: Option<Departement>,
    pub region: Option<Region>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EpciSummary {
    pub siren: String,
    pub nom: String,
    pub kind: String,
}

fn commune_from_row(row: &AnyRow, postal_codes: Vec<String>) -> anyhow::Result<Commune> {
    let kind: String = row.try_get("kind")?;
    Ok(Commune {
        insee: row.try_get("insee")?,
        kind: CommuneType::from_code(&kind).context("type de commune inconnu en base")?,
        nom: row.try_get("nom")?,
        departement_code: row.try_get("departement_code")?,
        region_code: row.try_get("region_code")?,
        siren: row.try_get("siren")?,
        postal_codes,
        population: row.try_get("population")?,
        parent_insee: row.try_get("parent_insee")?,
    })
}

/// Orders commune types so that a commune in its own right comes before former communes.
const KIND_ORDER: &str =
    "CASE c.kind WHEN 'commune-actuelle' THEN 0 WHEN 'arrondissement-municipal' THEN 1 \
     WHEN 'commune-deleguee' THEN 2 ELSE 3 END";

async fn communes_where(
    db: &Db,
    condition: &str,
    bind: &str,
    order: &str,
    limit: i64,
) -> anyhow::Result<Vec<Commune>> {
    let sql = format!(
        "SELECT c.insee, c.kind, c.nom, c.departement_code, c.region_code, c.siren, c.population, c.parent_insee
         FROM communes c WHERE {condition} ORDER BY {order} LIMIT {limit}"
    );
    let rows = sqlx::query(&sql).bind(bind).fetch_all(db.pool()).await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let insee: String = row.try_get("insee")?;
        let kind: String = row.try_get("kind")?;
        let postal = postal_codes_of(db, &insee, &kind).await?;
        out.push(commune_from_row(&row, postal)?);
    }
    Ok(out)
}

async fn postal_codes_of(db: &Db, insee: &str, kind: &str) -> anyhow::Result<Vec<String>> {
    let rows = sqlx::query(
        "SELECT postal_code FROM commune_postal_codes WHERE insee = $1 AND kind = $2 ORDER BY postal_code",
    )
    .bind(insee)
    .bind(kind)
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
}

/// Every entry with this INSEE code (a commune and, sometimes, a commune déléguée of the same
/// code), the commune in its own right first.
pub async fn communes_by_insee(db: &Db, insee: &str) -> anyhow::Result<Vec<Commune>> {
    communes_where(db, "c.insee = $1", insee, KIND_ORDER, 10).await
}

/// The names of communes by INSEE code (communes in their own right), for showing lists.
pub async fn commune_names(
    db: &Db,
    codes: &[String],
) -> anyhow::Result<std::collections::HashMap<String, String>> {
    let mut distinct: Vec<&String> = codes.iter().collect();
    distinct.sort();
    distinct.dedup();
    if distinct.is_empty() {
        return Ok(Default::default());
    }
    let placeholders: Vec<String> = (1..=distinct.len()).map(|n| format!("${n}")).collect();
    let sql = format!(
        "SELECT insee, nom FROM communes WHERE kind = 'commune-actuelle' AND insee IN ({})",
        placeholders.join(", ")
    );
    let mut query = sqlx::query(&sql);
    for code in distinct {
        query = query.bind(code.as_str());
    }
    query
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}

/// The commune (in its own right, when there is one) with this INSEE code.
pub async fn commune_by_insee(db: &Db, insee: &str) -> anyhow::Result<Option<Commune>> {
    Ok(communes_by_insee(db, insee).await?.into_iter().next())
}

pub async fn commune_by_siren(db: &Db, siren: &str) -> anyhow::Result<Option<Commune>> {
    Ok(communes_where(db, "c.siren = $1", siren, KIND_ORDER, 1)
        .await?
        .into_iter()
        .next())
}

pub async fn communes_by_postal_code(db: &Db, postal_code: &str) -> anyhow::Result<Vec<Commune>> {
    communes_where(
        db,
        "EXISTS (SELECT 1 FROM commune_postal_codes p WHERE p.postal_code = $1 AND p.insee = c.insee AND p.kind = c.kind)",
        postal_code,
        &format!("{KIND_ORDER}, c.nom"),
        200,
    )
    .await
}

/// Accent- and case-insensitive prefix search on names ("cote" finds "Côte-d'Or"'s communes,
/// "st " is not expanded), biggest communes first.
pub async fn search_communes(db: &Db, query: &str, limit: i64) -> anyhow::Result<Vec<Commune>> {
    let folded = fold(query);
    if folded.is_empty() {
        return Ok(Vec::new());
    }
    // The folded form holds only letters, digits and spaces, so LIKE's wildcards cannot occur.
    let pattern = format!("{folded}%");
    communes_where(
        db,
        "c.nom_folded LIKE $1",
        &pattern,
        &format!("{KIND_ORDER}, COALESCE(c.population, 0) DESC, c.nom"),
        limit.clamp(1, 100),
    )
    .await
}

/// A commune and the EPCI, département and région it belongs to.
pub async fn commune_details(db: &Db, insee: &str) -> anyhow::Result<Option<CommuneDetails>> {
    let Some(commune) = commune_by_insee(db, insee).await? else {
        return Ok(None);
    };
    let epci = sqlx::query(
        "SELECT e.siren, e.nom, e.kind FROM epcis e JOIN communes c ON c.epci_siren = e.siren
         WHERE c.insee = $1 AND c.kind = $2",
    )
    .bind(&commune.insee)
    .bind(commune.kind.code())
    .fetch_optional(db.pool())
    .await?
    .map(|r| -> anyhow::Result<EpciSummary> {
        Ok(EpciSummary {
            siren: r.try_get(0)?,
            nom: r.try_get(1)?,
            kind: r.try_get(2)?,
        })
    })
    .transpose()?;
    let departement = match &commune.departement_code {
        Some(code) => departement(db, code).await?,
        None => None,
    };
    let region = match &commune.region_code {
        Some(code) => region(db, code).await?,
        None => None,
    };
    Ok(Some(CommuneDetails {
        commune,
        epci,
        departement,
        region,
    }))
}

pub async fn region(db: &Db, code: &str) -> anyhow::Result<Option<Region>> {
    let row = sqlx::query("SELECT code, nom, chef_lieu FROM regions WHERE code = $1")
        .bind(code)
        .fetch_optional(db.pool())
        .await?;
    row.map(|r| {
        Ok(Region {
            code: r.try_get(0)?,
            nom: r.try_get(1)?,
            chef_lieu: r.try_get(2)?,
        })
    })
    .transpose()
}

pub async fn departement(db: &Db, code: &str) -> anyhow::Result<Option<Departement>> {
    let row =
        sqlx::query("SELECT code, region_code, nom, chef_lieu FROM departements WHERE code = $1")
            .bind(code)
            .fetch_optional(db.pool())
            .await?;
    row.map(|r| {
        Ok(Departement {
            code: r.try_get(0)?,
            region_code: r.try_get(1)?,
            nom: r.try_get(2)?,
            chef_lieu: r.try_get(3)?,
        })
    })
    .transpose()
}

pub async fn epci(db: &Db, siren: &str) -> anyhow::Result<Option<Epci>> {
    let Some(row) = sqlx::query("SELECT siren, nom, kind, population FROM epcis WHERE siren = $1")
        .bind(siren)
        .fetch_optional(db.pool())
        .await?
    else {
        return Ok(None);
    };
    let members = sqlx::query(
        "SELECT insee FROM communes WHERE epci_siren = $1 AND kind = 'commune-actuelle' ORDER BY insee",
    )
    .bind(siren)
    .fetch_all(db.pool())
    .await?
    .iter()
    .map(|r| r.try_get(0))
    .collect::<Result<Vec<String>, _>>()?;
    Ok(Some(Epci {
        siren: row.try_get(0)?,
        nom: row.try_get(1)?,
        kind: row.try_get(2)?,
        population: row.try_get(3)?,
        members,
    }))
}

/// Number of entries per table, to check an import.
pub async fn counts(db: &Db) -> anyhow::Result<ImportReport> {
    let count = |table: &'static str| async move {
        let n: i64 = sqlx::query(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(db.pool())
            .await?
            .try_get(0)?;
        anyhow::Ok(n as usize)
    };
    Ok(ImportReport {
        regions: count("regions").await?,
        departements: count("departements").await?,
        epcis: count("epcis").await?,
        communes: count("communes").await?,
        skipped: false,
    })
}

/// Replaces the commune contours with these (one transaction: all or nothing). Returns how many.
pub async fn import_contours(db: &Db, text: &str) -> anyhow::Result<Result<usize, String>> {
    let contours = match guichet_domain::contours::parse(text) {
        Ok(c) => c,
        Err(message) => return Ok(Err(message)),
    };
    let mut tx = db.begin().await?;
    sqlx::query("DELETE FROM commune_contours")
        .execute(&mut *tx)
        .await?;
    for c in &contours {
        let geometry = geojson::Geometry::new(geojson::Value::from(&c.shape)).to_string();
        sqlx::query(
            "INSERT INTO commune_contours (insee, geometry, min_lat, max_lat, min_lon, max_lon) VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (insee) DO UPDATE SET geometry = $2, min_lat = $3, max_lat = $4, min_lon = $5, max_lon = $6",
        )
        .bind(&c.insee)
        .bind(geometry)
        .bind(c.bbox.0)
        .bind(c.bbox.1)
        .bind(c.bbox.2)
        .bind(c.bbox.3)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(Ok(contours.len()))
}

/// The commune a point lies in, when contours were imported.
pub async fn commune_at(db: &Db, lat: f64, lon: f64) -> anyhow::Result<Option<String>> {
    let rows = sqlx::query(
        "SELECT insee, geometry FROM commune_contours WHERE min_lat <= $1 AND max_lat >= $1 AND min_lon <= $2 AND max_lon >= $2",
    )
    .bind(lat)
    .bind(lon)
    .fetch_all(db.pool())
    .await?;
    for r in rows {
        let insee: String = r.try_get(0)?;
        let text: String = r.try_get(1)?;
        let geometry: geojson::Geometry = text.parse()?;
        let shape: geo_types::Geometry<f64> = geometry.value.try_into()?;
        let multi = match shape {
            geo_types::Geometry::Polygon(p) => geo_types::MultiPolygon(vec![p]),
            geo_types::Geometry::MultiPolygon(m) => m,
            _ => continue,
        };
        if guichet_domain::contours::contains(&multi, lat, lon) {
            return Ok(Some(insee));
        }
    }
    Ok(None)
}
