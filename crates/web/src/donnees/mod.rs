//! The open-data portal: `/donnees` lists the datasets of the platform and of each collectivité;
//! each dataset has its page (licence, frequency, schema, versions) and its files (CSV, JSON,
//! GeoJSON where located); the DCAT-AP 3.0.1 catalogue is at `/donnees/catalogue.jsonld` and
//! `.ttl` (and `/donnees/catalogue` by content negotiation), for the platform and per
//! collectivité (`/donnees/{collectivité}/catalogue.jsonld`), paged with Hydra.

pub mod admin;
pub mod catalogue;
pub mod patrimoine;

use crate::error::AppError;
use crate::layout::Layout;
use crate::page::html;
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use guichet_domain::donnees::{geojson_rows, json_rows, Genere};
use guichet_store::collectivite::Collectivite;
use guichet_store::donnees::{self as store, Dataset, PLATFORM};
use serde::Deserialize;

/// The path segment of the platform's own datasets.
pub const PLATFORM_OWNER: &str = "plateforme";

/// Whose datasets a path names: the platform, or a collectivité.
pub(crate) enum Owner {
    Platform,
    Collectivite(Box<Collectivite>),
}

impl Owner {
    pub(crate) async fn from_path(state: &AppState, segment: &str) -> anyhow::Result<Option<Self>> {
        if segment == PLATFORM_OWNER {
            return Ok(Some(Self::Platform));
        }
        Ok(guichet_store::collectivite::by_slug(&state.db, segment)
            .await?
            .map(|c| Self::Collectivite(Box::new(c))))
    }

    pub(crate) fn tenant_id(&self) -> i64 {
        match self {
            Self::Platform => PLATFORM,
            Self::Collectivite(c) => c.id,
        }
    }

    pub(crate) fn segment(&self) -> &str {
        match self {
            Self::Platform => PLATFORM_OWNER,
            Self::Collectivite(c) => &c.slug,
        }
    }

    pub(crate) fn name(&self) -> &str {
        match self {
            Self::Platform => "la plateforme Guichet",
            Self::Collectivite(c) => &c.name,
        }
    }
}

/// A dataset as the portal lists it.
struct Listed {
    owner: String,
    owner_name: String,
    dataset: Dataset,
    modified: String,
}

#[derive(Template)]
#[template(path = "donnees/portail.html")]
struct PortalPage {
    layout: Layout,
    datasets: Vec<Listed>,
    total: i64,
    page: i64,
    pages: i64,
}

/// Datasets a page of the portal.
const PORTAL_PAGE: i64 = 50;

#[derive(serde::Deserialize)]
pub struct PortalQuery {
    page: Option<i64>,
}

/// `/donnees`: every published dataset, a page at a time.
pub async fn portal(
    State(state): State<AppState>,
    visitor: crate::auth::Visitor,
    Query(q): Query<PortalQuery>,
) -> Result<Response, AppError> {
    let snap = state.catalogue.snapshot(&state).await?;
    let page = q.page.unwrap_or(1).max(1);
    let (datasets, total) =
        store::published_page(&state.db, (page - 1) * PORTAL_PAGE, PORTAL_PAGE).await?;
    let datasets = datasets
        .into_iter()
        .map(|d| {
            let (owner, owner_name) = match snap.collectivite(d.tenant_id) {
                Some(c) => (c.slug.clone(), c.name.clone()),
                None => (PLATFORM_OWNER.into(), "Plateforme".into()),
            };
            Listed {
                owner,
                owner_name,
                modified: crate::format::format_day(d.modified_at),
                dataset: d,
            }
        })
        .collect();
    html(&PortalPage {
        layout: Layout::for_visitor(&state, &visitor).await,
        datasets,
        total,
        page,
        pages: (total + PORTAL_PAGE - 1) / PORTAL_PAGE,
    })
}

/// A version as the dataset page shows it.
struct VersionLine {
    version: i64,
    date: String,
    rows: i64,
    size: String,
    sha256: String,
    kept: bool,
}

#[derive(Template)]
#[template(path = "donnees/jeu.html")]
struct DatasetPage {
    layout: Layout,
    owner: String,
    owner_name: String,
    dataset: Dataset,
    located: bool,
    schema: Option<String>,
    versions: Vec<VersionLine>,
}

#[derive(Deserialize, Default)]
pub struct FileQuery {
    #[serde(default)]
    version: Option<i64>,
    #[serde(default)]
    page: Option<u64>,
}

/// `/donnees/{owner}/{file}`: a dataset's page (`demarches`), one of its files
/// (`demarches.csv`, `.json`, `.geojson`, `?version=N` for an older one), or the owner's
/// catalogue (`catalogue.jsonld`, `catalogue.ttl`).
pub async fn dataset(
    State(state): State<AppState>,
    visitor: crate::auth::Visitor,
    headers: axum::http::HeaderMap,
    Path((owner, file)): Path<(String, String)>,
    Query(q): Query<FileQuery>,
) -> Result<Response, AppError> {
    let Some(owner) = Owner::from_path(&state, &owner).await? else {
        return Ok(crate::page::not_found(State(state)).await);
    };
    let (slug, extension) = match file.rsplit_once('.') {
        Some((s, e)) => (s, Some(e)),
        None => (file.as_str(), None),
    };
    if slug == "catalogue" {
        return catalogue::serve(&state, &headers, Some(&owner), extension, q.page).await;
    }
    if let (Owner::Collectivite(c), "patrimoine", Some("csv")) = (&owner, slug, extension) {
        return patrimoine::export(&state, c).await;
    }
    let Some(d) = store::by_slug(&state.db, owner.tenant_id(), slug).await? else {
        return Ok(crate::page::not_found(State(state)).await);
    };
    match extension {
        None => page(&state, &visitor, &owner, d).await,
        Some(ext) => download(&state, &d, ext, q.version).await,
    }
}

async fn page(
    state: &AppState,
    visitor: &crate::auth::Visitor,
    owner: &Owner,
    d: Dataset,
) -> Result<Response, AppError> {
    let versions = store::versions(&state.db, d.id)
        .await?
        .into_iter()
        .map(|v| VersionLine {
            version: v.version,
            date: crate::format::format_ms(v.created_at),
            rows: v.row_count,
            size: human_size(v.byte_size),
            sha256: v.sha256,
            kept: v.kept,
        })
        .collect::<Vec<_>>();
    if versions.is_empty() {
        return Ok(crate::page::not_found(State(state.clone())).await);
    }
    let genere = d.genere();
    html(&DatasetPage {
        layout: Layout::for_visitor(state, visitor).await,
        owner: owner.segment().to_string(),
        owner_name: owner.name().to_string(),
        located: genere.is_some_and(Genere::located),
        schema: schema_url(state, owner.segment(), &d),
        versions,
        dataset: d,
    })
}

/// A file of a dataset: the CSV as stored, or JSON / GeoJSON typed by the dataset's schema.
async fn download(
    state: &AppState,
    d: &Dataset,
    extension: &str,
    version: Option<i64>,
) -> Result<Response, AppError> {
    let Some(g) = d.genere() else {
        return uploaded(state, d, extension, version).await;
    };
    let kind = match extension {
        "csv" => "text/csv; charset=utf-8",
        "json" => "application/json",
        "geojson" if g.located() => "application/geo+json",
        _ => return Ok(crate::page::not_found(State(state.clone())).await),
    };
    let Some(csv) = store::csv(&state.db, d.id, version).await? else {
        return Ok(crate::page::not_found(State(state.clone())).await);
    };
    let body = match extension {
        "csv" => csv,
        other => {
            let rows = read_rows(&csv)?;
            let value = if other == "json" {
                json_rows(g.columns(), &rows)
            } else {
                geojson_rows(g.columns(), &rows)
            };
            value.to_string()
        }
    };
    let name = format!("{}-{}.{extension}", d.slug, d.tenant_id);
    Ok((
        [(
            header::CONTENT_DISPOSITION,
            format!("inline; filename=\"{name}\""),
        )],
        published(kind, body, CACHED),
    )
        .into_response())
}

/// A file of an uploaded dataset: the CSV as published, or JSON typed by its schema.
async fn uploaded(
    state: &AppState,
    d: &Dataset,
    extension: &str,
    version: Option<i64>,
) -> Result<Response, AppError> {
    let (Some(schema), Some(csv)) = (table_schema(d), store::csv(&state.db, d.id, version).await?)
    else {
        return Ok(crate::page::not_found(State(state.clone())).await);
    };
    let (kind, body) = match extension {
        "csv" => ("text/csv; charset=utf-8", csv),
        "json" => (
            "application/json",
            schema.json_rows(csv.as_bytes()).to_string(),
        ),
        _ => return Ok(crate::page::not_found(State(state.clone())).await),
    };
    Ok(published(kind, body, CACHED))
}

/// An uploaded dataset's Table Schema: the shipped SCDL one it names, or its own.
pub(crate) fn table_schema(d: &Dataset) -> Option<guichet_domain::donnees::schema::Schema> {
    let descriptor = match (&d.schema_name, &d.schema) {
        (Some(name), _) => guichet_domain::donnees::scdl(name)?,
        (None, Some(text)) => serde_json::from_str(text).ok()?,
        (None, None) => return None,
    };
    guichet_domain::donnees::schema::Schema::from_json(&descriptor).ok()
}

/// Where a dataset's schema is published: the platform's for a generated dataset, the official
/// address of a shipped SCDL schema, or the platform's copy of one the collectivité gave.
pub(crate) fn schema_url(state: &AppState, owner: &str, d: &Dataset) -> Option<String> {
    if let Some(g) = d.genere() {
        return Some(
            state
                .config
                .link(&format!("/donnees/schemas/{}.json", g.slug())),
        );
    }
    match (&d.schema_name, &d.schema) {
        (Some(name), _) => guichet_domain::donnees::scdl(name)?
            .get("path")
            .and_then(|p| p.as_str())
            .map(str::to_string),
        (None, Some(_)) => Some(
            state
                .config
                .link(&format!("/donnees/schemas/{owner}/{}.json", d.slug)),
        ),
        (None, None) => None,
    }
}

/// `/donnees/schemas/{owner}/{slug}.json`: the Table Schema a collectivité gave for its dataset.
pub async fn given_schema(
    State(state): State<AppState>,
    Path((owner, file)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let found = match (
        Owner::from_path(&state, &owner).await?,
        file.strip_suffix(".json"),
    ) {
        (Some(o), Some(slug)) => store::by_slug(&state.db, o.tenant_id(), slug).await?,
        _ => None,
    };
    let Some(text) = found.and_then(|d| d.schema) else {
        return Ok(crate::page::not_found(State(state)).await);
    };
    Ok(published("application/json", text, None))
}

/// How long shared caches may keep a dataset's file or a catalogue page.
const CACHED: Option<u32> = Some(300);

/// A published file of the portal: its type, readable from any origin, kept `max_age` seconds by
/// caches when given.
pub(crate) fn published(
    kind: &str,
    body: impl Into<axum::body::Body>,
    max_age: Option<u32>,
) -> Response {
    let mut response = axum::response::Response::new(body.into());
    let headers = response.headers_mut();
    let value =
        |v: &str| header::HeaderValue::from_str(v).unwrap_or(header::HeaderValue::from_static(""));
    headers.insert(header::CONTENT_TYPE, value(kind));
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        header::HeaderValue::from_static("*"),
    );
    if let Some(seconds) = max_age {
        headers.insert(
            header::CACHE_CONTROL,
            value(&format!("public, max-age={seconds}")),
        );
    }
    response
}

fn read_rows(csv: &str) -> anyhow::Result<Vec<Vec<String>>> {
    csv::Reader::from_reader(csv.as_bytes())
        .records()
        .map(|r| Ok(r?.iter().map(str::to_string).collect()))
        .collect()
}

/// `/donnees/schemas/{name}.json`: the Table Schema of a generated dataset.
pub async fn schema(
    State(state): State<AppState>,
    Path(file): Path<String>,
) -> Result<Response, AppError> {
    let Some(g) = file.strip_suffix(".json").and_then(Genere::from_slug) else {
        return Ok(crate::page::not_found(State(state)).await);
    };
    let url = state.config.link(&format!("/donnees/schemas/{file}"));
    Ok(published(
        "application/json",
        g.table_schema(&url).to_string(),
        None,
    ))
}

fn human_size(bytes: i64) -> String {
    match bytes {
        b if b < 1024 => format!("{b} octets"),
        b if b < 1024 * 1024 => format!("{:.1} Ko", b as f64 / 1024.0).replace('.', ","),
        b => format!("{:.1} Mo", b as f64 / 1_048_576.0).replace('.', ","),
    }
}
