//! Collectivités (collectivités): joining the platform from the territory referential, and listing.

use crate::db::Db;
use crate::territoire;
use crate::trace::Trace;
use guichet_domain::collectivite::{display_name, slug_for, CollectiviteStatus};
use guichet_domain::siren::{Siren, SirenError};
use guichet_domain::territoire::EntityKind;
use sqlx::any::AnyRow;
use sqlx::Row;

/// Which territory entity should join, as given on the command line.
#[derive(Debug, Clone)]
pub enum Target {
    Siren(String),
    Insee(String),
    Region(String),
    Departement(String),
}

#[derive(Debug, Clone, Default)]
pub struct Contact {
    pub email: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
    pub website: Option<String>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Collectivite {
    pub id: i64,
    pub slug: String,
    pub entity_kind: EntityKind,
    pub entity_code: String,
    pub siren: Option<String>,
    pub name: String,
    pub contact_email: Option<String>,
    pub contact_phone: Option<String>,
    pub contact_address: Option<String>,
    pub website: Option<String>,
    pub status: CollectiviteStatus,
    pub is_operator: bool,
    /// Code of the département the collectivité lies in (none for a région).
    pub departement_code: Option<String>,
    pub region_code: Option<String>,
    pub created_at: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum CollectiviteError {
    #[error(transparent)]
    Siren(#[from] SirenError),
    #[error("aucune commune ni intercommunalité du référentiel n'a le SIREN {0}")]
    UnknownSiren(String),
    #[error("aucune commune du référentiel n'a le code INSEE {0}")]
    UnknownInsee(String),
    #[error("aucune région n'a le code {0}")]
    UnknownRegion(String),
    #[error("aucun département n'a le code {0}")]
    UnknownDepartement(String),
    #[error("{0} est déjà une collectivité de la plateforme (adresse /collectivites/{1})")]
    AlreadyCollectivite(String, String),
    #[error("l'opérateur de la plateforme doit être une région")]
    OperatorMustBeRegion,
    #[error("la plateforme a déjà un opérateur : {0}")]
    OperatorExists(String),
    #[error("le référentiel territorial n'est pas chargé : lancez « guichet territory import »")]
    NoReferential,
    #[error(transparent)]
    Storage(#[from] anyhow::Error),
}

impl From<sqlx::Error> for CollectiviteError {
    fn from(e: sqlx::Error) -> Self {
        Self::Storage(e.into())
    }
}

struct Entity {
    kind: EntityKind,
    code: String,
    siren: Option<String>,
    nom: String,
}

async fn resolve(db: &Db, target: &Target) -> Result<Entity, CollectiviteError> {
    if territoire::imported_version(db).await?.is_none() {
        return Err(CollectiviteError::NoReferential);
    }
    match target {
        Target::Siren(raw) => {
            let siren = Siren::parse(raw)?;
            if let Some(c) = territoire::commune_by_siren(db, siren.as_str()).await? {
                return Ok(Entity {
                    kind: EntityKind::Commune,
                    code: c.insee,
                    siren: c.siren,
                    nom: c.nom,
                });
            }
            match territoire::epci(db, siren.as_str()).await? {
                Some(e) => Ok(Entity {
                    kind: EntityKind::Epci,
                    code: e.siren.clone(),
                    siren: Some(e.siren),
                    nom: e.nom,
                }),
                None => Err(CollectiviteError::UnknownSiren(siren.to_string())),
            }
        }
        Target::Insee(code) => {
            let c = territoire::commune_by_insee(db, code.trim())
                .await?
                .ok_or_else(|| CollectiviteError::UnknownInsee(code.trim().to_string()))?;
            Ok(Entity {
                kind: EntityKind::Commune,
                code: c.insee,
                siren: c.siren,
                nom: c.nom,
            })
        }
        Target::Region(code) => {
            let r = territoire::region(db, code.trim())
                .await?
                .ok_or_else(|| CollectiviteError::UnknownRegion(code.trim().to_string()))?;
            Ok(Entity {
                kind: EntityKind::Region,
                code: r.code,
                siren: None,
                nom: r.nom,
            })
        }
        Target::Departement(code) => {
            let d = territoire::departement(db, code.trim())
                .await?
                .ok_or_else(|| CollectiviteError::UnknownDepartement(code.trim().to_string()))?;
            Ok(Entity {
                kind: EntityKind::Departement,
                code: d.code,
                siren: None,
                nom: d.nom,
            })
        }
    }
}

/// Makes a territory entity a collectivité of the platform. Nothing is written on error.
pub async fn add(
    db: &Db,
    target: &Target,
    contact: &Contact,
    operator: bool,
) -> Result<Collectivite, CollectiviteError> {
    add_traced(db, target, contact, operator, Trace::default()).await
}

/// The same, with its trace in the same commit (whose journal entries name the new
/// collectivité).
pub async fn add_traced(
    db: &Db,
    target: &Target,
    contact: &Contact,
    operator: bool,
    trace: Trace,
) -> Result<Collectivite, CollectiviteError> {
    let entity = resolve(db, target).await?;
    if operator && entity.kind != EntityKind::Region {
        return Err(CollectiviteError::OperatorMustBeRegion);
    }
    let contact = contact.clone();
    let id = db
        .write(move |tx| {
            Box::pin(async move { Ok(insert_in(tx, &entity, &contact, operator, trace).await) })
        })
        .await??;
    by_id(db, id).await?.ok_or_else(|| {
        CollectiviteError::Storage(anyhow::anyhow!(
            "collectivité {id} introuvable après création"
        ))
    })
}

async fn insert_in(
    tx: &mut sqlx::AnyConnection,
    entity: &Entity,
    contact: &Contact,
    operator: bool,
    trace: Trace,
) -> Result<i64, CollectiviteError> {
    let existing = sqlx::query(
        "SELECT name, slug FROM tenants WHERE (entity_kind = $1 AND entity_code = $2) OR siren = $3",
    )
    .bind(entity.kind.code())
    .bind(&entity.code)
    .bind(entity.siren.clone())
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(row) = existing {
        return Err(CollectiviteError::AlreadyCollectivite(
            row.try_get(0)?,
            row.try_get(1)?,
        ));
    }
    if operator {
        if let Some(row) = sqlx::query("SELECT name FROM tenants WHERE is_operator = 1")
            .fetch_optional(&mut *tx)
            .await?
        {
            return Err(CollectiviteError::OperatorExists(row.try_get(0)?));
        }
    }
    let taken: Vec<String> = sqlx::query("SELECT slug FROM tenants")
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()?;
    let slug = slug_for(&entity.nom, &entity.code, |s| taken.iter().any(|t| t == s));
    let now = crate::now_ms();
    let id: i64 = sqlx::query(
        "INSERT INTO tenants (slug, entity_kind, entity_code, siren, name, contact_email, contact_phone,
             contact_address, website, status, is_operator, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) RETURNING id",
    )
    .bind(&slug)
    .bind(entity.kind.code())
    .bind(&entity.code)
    .bind(entity.siren.clone())
    .bind(display_name(entity.kind, &entity.nom))
    .bind(contact.email.clone())
    .bind(contact.phone.clone())
    .bind(contact.address.clone())
    .bind(contact.website.clone())
    .bind(CollectiviteStatus::Active.code())
    .bind(i64::from(operator))
    .bind(now)
    .fetch_one(&mut *tx)
    .await?
    .try_get(0)?;
    // The one door routes to it from now on.
    crate::recherche::bump_in(&mut *tx).await?;
    let mut trace = trace;
    for e in trace.events_mut() {
        e.tenant_id = Some(id);
        e.object_type = Some("collectivite".into());
        e.object_id = Some(slug.clone());
        e.details = serde_json::json!({"operateur": operator}).to_string();
    }
    trace.write(tx).await?;
    Ok(id)
}

/// Collectivités with the département and région they lie in, derived from the referential.
const SELECT: &str = "SELECT t.id, t.slug, t.entity_kind, t.entity_code, t.siren, t.name, t.contact_email,
        t.contact_phone, t.contact_address, t.website, t.status, t.is_operator, t.created_at,
        CASE t.entity_kind
            WHEN 'departement' THEN t.entity_code
            WHEN 'commune' THEN (SELECT c.departement_code FROM communes c
                                 WHERE c.insee = t.entity_code AND c.kind = 'commune-actuelle')
            WHEN 'epci' THEN (SELECT MIN(c.departement_code) FROM communes c
                              WHERE c.epci_siren = t.entity_code AND c.kind = 'commune-actuelle')
        END AS departement_code,
        CASE t.entity_kind
            WHEN 'region' THEN t.entity_code
            WHEN 'departement' THEN (SELECT d.region_code FROM departements d WHERE d.code = t.entity_code)
            WHEN 'commune' THEN (SELECT c.region_code FROM communes c
                                 WHERE c.insee = t.entity_code AND c.kind = 'commune-actuelle')
            WHEN 'epci' THEN (SELECT MIN(c.region_code) FROM communes c
                              WHERE c.epci_siren = t.entity_code AND c.kind = 'commune-actuelle')
        END AS region_code
    FROM tenants t";

fn from_row(row: &AnyRow) -> anyhow::Result<Collectivite> {
    let kind: String = row.try_get("entity_kind")?;
    let status: String = row.try_get("status")?;
    Ok(Collectivite {
        id: row.try_get("id")?,
        slug: row.try_get("slug")?,
        entity_kind: EntityKind::from_code(&kind)
            .ok_or_else(|| anyhow::anyhow!("type inconnu {kind}"))?,
        entity_code: row.try_get("entity_code")?,
        siren: row.try_get("siren")?,
        name: row.try_get("name")?,
        contact_email: row.try_get("contact_email")?,
        contact_phone: row.try_get("contact_phone")?,
        contact_address: row.try_get("contact_address")?,
        website: row.try_get("website")?,
        status: CollectiviteStatus::from_code(&status)
            .ok_or_else(|| anyhow::anyhow!("statut inconnu {status}"))?,
        is_operator: row.try_get::<i64, _>("is_operator")? != 0,
        departement_code: row.try_get("departement_code")?,
        region_code: row.try_get("region_code")?,
        created_at: row.try_get("created_at")?,
    })
}

/// Every collectivité: the operator first, then by level (région, départements, EPCI, communes)
/// and name.
pub async fn list(db: &Db) -> anyhow::Result<Vec<Collectivite>> {
    let sql = format!(
        "{SELECT} ORDER BY t.is_operator DESC,
            CASE t.entity_kind WHEN 'region' THEN 0 WHEN 'departement' THEN 1 WHEN 'epci' THEN 2 ELSE 3 END,
            t.name"
    );
    sqlx::query(&sql)
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(from_row)
        .collect()
}

pub async fn by_slug(db: &Db, slug: &str) -> anyhow::Result<Option<Collectivite>> {
    let sql = format!("{SELECT} WHERE t.slug = $1");
    sqlx::query(&sql)
        .bind(slug)
        .fetch_optional(db.pool())
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

pub async fn by_id(db: &Db, id: i64) -> anyhow::Result<Option<Collectivite>> {
    let sql = format!("{SELECT} WHERE t.id = $1");
    sqlx::query(&sql)
        .bind(id)
        .fetch_optional(db.pool())
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

pub async fn operator(db: &Db) -> anyhow::Result<Option<Collectivite>> {
    let sql = format!("{SELECT} WHERE t.is_operator = 1");
    sqlx::query(&sql)
        .fetch_optional(db.pool())
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

/// Finds the collectivité of a territory entity, if it joined.
pub async fn by_entity(
    db: &Db,
    kind: EntityKind,
    code: &str,
) -> anyhow::Result<Option<Collectivite>> {
    let sql = format!("{SELECT} WHERE t.entity_kind = $1 AND t.entity_code = $2");
    sqlx::query(&sql)
        .bind(kind.code())
        .bind(code)
        .fetch_optional(db.pool())
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

/// What a usager reads of the collectivité handling their dossier (its pages, the accusé de
/// réception): its name and how to reach it.
#[derive(Debug, Clone)]
pub struct Coordonnees {
    pub name: String,
    pub contact_email: Option<String>,
}

impl From<&Collectivite> for Coordonnees {
    fn from(t: &Collectivite) -> Self {
        Coordonnees {
            name: t.name.clone(),
            contact_email: t.contact_email.clone(),
        }
    }
}
