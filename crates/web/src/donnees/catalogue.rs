//! The DCAT-AP catalogue: the platform's (every dataset) or a collectivité's, one page of
//! `PAGE_SIZE` datasets at a time, as JSON-LD or Turtle.

use super::Owner;
use crate::error::AppError;
use crate::recherche::catalogue::Snapshot;
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use guichet_domain::donnees::dcat::{self, Agent, Catalogue, Distribution, Paging};
use guichet_domain::donnees::Genere;
use guichet_domain::territoire::EntityKind;
use guichet_store::collectivite::Collectivite;
use guichet_store::donnees::{self as store, Dataset};
use std::collections::HashMap;
use std::sync::Arc;

/// Datasets per page of the catalogue.
pub const PAGE_SIZE: usize = 50;

/// `/donnees/catalogue.jsonld` and `/donnees/catalogue.ttl`.
pub async fn platform(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::extract::Path(file): axum::extract::Path<String>,
    Query(q): Query<super::FileQuery>,
) -> Result<Response, AppError> {
    match file.strip_prefix("catalogue.") {
        Some(ext) => serve(&state, &headers, None, Some(ext), q.page).await,
        None => Ok(crate::page::not_found(State(state)).await),
    }
}

/// `/donnees/catalogue`: Turtle or JSON-LD as the client accepts; a browser goes to the portal.
pub async fn negotiated(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<super::FileQuery>,
) -> Result<Response, AppError> {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let extension = if accept.contains("text/turtle") {
        "ttl"
    } else if accept.contains("application/ld+json") || accept.contains("application/json") {
        "jsonld"
    } else if accept.contains("text/html") {
        return Ok(Redirect::to("/donnees").into_response());
    } else {
        "jsonld"
    };
    let mut response = serve(&state, &headers, None, Some(extension), q.page).await?;
    response.headers_mut().insert(
        header::VARY,
        header::HeaderValue::from_static("Accept, Accept-Encoding"),
    );
    Ok(response)
}

/// Writes a catalogue in one serialisation.
type Writer = fn(&Catalogue) -> std::io::Result<Vec<u8>>;

/// Catalogue pages already written, by owner, format and page, each with what it was written
/// from: a page is served again as written while its datasets, their count, its publisher and
/// the collectivités (the search snapshot's generation) are the same, and written anew as soon
/// as one of them changes. Harvesters page through the whole catalogue, a few times a day each;
/// the RDF of a page of 50 datasets (3,000 triples) is most of its cost.
#[derive(Default)]
pub struct Written(std::sync::Mutex<HashMap<PageKey, Arc<WrittenPage>>>);

/// A catalogue page: its owner (the collectivité's id, -1 for the platform's whole catalogue),
/// its format's extension and its number.
type PageKey = (i64, &'static str, u64);

/// Pages kept at most (a page of the platform's catalogue is about 100 KB).
const PAGES_KEPT: usize = 64;

/// One written page and what it was written from, compressed once for each encoding asked.
pub struct WrittenPage {
    from: Source,
    body: Bytes,
    brotli: Encoded,
    gzip: Encoded,
}

/// A page compressed once (none if compressing failed).
type Encoded = std::sync::OnceLock<Option<Bytes>>;

impl WrittenPage {
    fn new(from: Source, body: Bytes) -> Self {
        Self {
            from,
            body,
            brotli: std::sync::OnceLock::new(),
            gzip: std::sync::OnceLock::new(),
        }
    }

    /// The page in the encoding the client prefers among Brotli, gzip and none, and that
    /// encoding's name.
    fn encoded(&self, accept_encoding: &str) -> (Bytes, Option<&'static str>) {
        type Compress = fn(&[u8]) -> std::io::Result<Vec<u8>>;
        let encoding = preferred_encoding(accept_encoding);
        let (cell, compress): (&Encoded, Compress) = match encoding {
            Some("br") => (&self.brotli, brotli_compressed),
            Some("gzip") => (&self.gzip, gzip_compressed),
            _ => return (self.body.clone(), None),
        };
        match cell.get_or_init(|| compress(&self.body).ok().map(Bytes::from)) {
            Some(body) => (body.clone(), encoding),
            None => (self.body.clone(), None),
        }
    }
}

/// `body` compressed with Brotli, at a quality worth spending once per page.
fn brotli_compressed(mut body: &[u8]) -> std::io::Result<Vec<u8>> {
    let params = brotli::enc::BrotliEncoderParams {
        quality: 9,
        ..Default::default()
    };
    let mut out = Vec::new();
    brotli::BrotliCompress(&mut body, &mut out, &params)?;
    Ok(out)
}

/// `body` compressed with gzip, at its best.
fn gzip_compressed(body: &[u8]) -> std::io::Result<Vec<u8>> {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(body)?;
    gz.finish()
}

/// The encoding to answer with, given the client's `Accept-Encoding`: Brotli, else gzip, when
/// accepted with a quality above zero (`*` accepts both); none otherwise.
fn preferred_encoding(accept_encoding: &str) -> Option<&'static str> {
    let quality = |wanted: &str| -> f32 {
        let mut found = None;
        for item in accept_encoding.split(',') {
            let mut parts = item.split(';');
            let name = parts.next().unwrap_or_default().trim();
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            if name.eq_ignore_ascii_case(wanted) {
                return q;
            }
            if name == "*" {
                found = Some(q);
            }
        }
        found.unwrap_or(0.0)
    };
    ["br", "gzip"].into_iter().find(|e| quality(e) > 0.0)
}

/// What a page of a catalogue is written from, besides the platform's settings.
#[derive(PartialEq)]
struct Source {
    generation: i64,
    publisher: Agent,
    total: usize,
    datasets: Vec<Dataset>,
}

impl Written {
    fn get(&self, key: &PageKey, from: &Source) -> Option<Arc<WrittenPage>> {
        let pages = self.0.lock().ok()?;
        pages.get(key).filter(|p| p.from == *from).cloned()
    }

    fn put(&self, key: PageKey, page: Arc<WrittenPage>) {
        if let Ok(mut pages) = self.0.lock() {
            if pages.len() >= PAGES_KEPT && !pages.contains_key(&key) {
                pages.clear();
            }
            pages.insert(key, page);
        }
    }
}

/// One page of a catalogue in the format the extension names.
pub(crate) async fn serve(
    state: &AppState,
    request: &HeaderMap,
    owner: Option<&Owner>,
    extension: Option<&str>,
    page: Option<u64>,
) -> Result<Response, AppError> {
    let (extension, kind, write): (&'static str, &str, Writer) = match extension {
        Some("jsonld") => ("jsonld", "application/ld+json", dcat::json_ld),
        Some("ttl") => ("ttl", "text/turtle; charset=utf-8", dcat::turtle),
        _ => return Ok(crate::page::not_found(State(state.clone())).await),
    };
    let page = page.unwrap_or(1).max(1);
    let snap = state.catalogue.snapshot(state).await?;
    let Some(from) = read(state, &snap, owner, page).await? else {
        return Ok((StatusCode::NOT_FOUND, "page inexistante").into_response());
    };
    let key = (
        match owner {
            Some(Owner::Collectivite(c)) => c.id,
            None | Some(Owner::Platform) => -1,
        },
        extension,
        page,
    );
    let written = match state.dcat_pages.get(&key, &from) {
        Some(written) => written,
        None => {
            let catalogue = describe(state, &snap, owner, extension, page, &from);
            let body = Bytes::from(write(&catalogue).map_err(anyhow::Error::from)?);
            let written = Arc::new(WrittenPage::new(from, body));
            state.dcat_pages.put(key, written.clone());
            written
        }
    };
    // Compressed here once per page rather than by the compression layer on each request.
    let accept = request
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let (body, encoding) = written.encoded(accept);
    let mut response = super::published(kind, body, super::CACHED);
    let headers = response.headers_mut();
    headers.insert(
        header::VARY,
        header::HeaderValue::from_static("Accept-Encoding"),
    );
    if let Some(encoding) = encoding {
        headers.insert(
            header::CONTENT_ENCODING,
            header::HeaderValue::from_static(encoding),
        );
    }
    Ok(response)
}

/// The platform's agent: the operator when there is one.
fn platform_agent(state: &AppState, snap: &Snapshot) -> Agent {
    let operator = snap.collectivites().iter().find(|c| c.is_operator);
    match operator {
        Some(o) => Agent {
            iri: agent_iri(state, o),
            name: o.name.clone(),
        },
        None => Agent {
            iri: state.config.link("/#plateforme"),
            name: "Guichet".into(),
        },
    }
}

/// What page `page` (from 1) of the catalogue of `owner` (the platform when none) is written
/// from; none past the last page.
async fn read(
    state: &AppState,
    snap: &Snapshot,
    owner: Option<&Owner>,
    page: u64,
) -> anyhow::Result<Option<Source>> {
    let db = &state.db;
    let start = ((page - 1) as usize) * PAGE_SIZE;
    let ((datasets, total), publisher) = match owner {
        None | Some(Owner::Platform) => (
            store::published_page(db, start as i64, PAGE_SIZE as i64)
                .await
                .map(|(page, total)| (page, total as usize))?,
            platform_agent(state, snap),
        ),
        Some(Owner::Collectivite(c)) => (
            store::of(db, c.id).await.map(|all| {
                let total = all.len();
                (all.into_iter().skip(start).take(PAGE_SIZE).collect(), total)
            })?,
            Agent {
                iri: agent_iri(state, c),
                name: c.name.clone(),
            },
        ),
    };
    let pages = total.div_ceil(PAGE_SIZE).max(1) as u64;
    Ok((page <= pages).then_some(Source {
        generation: snap.generation(),
        publisher,
        total,
        datasets,
    }))
}

/// The catalogue of `owner` (the platform when none), page `page`, from what was read.
fn describe(
    state: &AppState,
    snap: &Snapshot,
    owner: Option<&Owner>,
    extension: &str,
    page: u64,
    from: &Source,
) -> Catalogue {
    let (base, title, description) = match owner {
        None | Some(Owner::Platform) => (
            "/donnees/catalogue".to_string(),
            "Données ouvertes de la plateforme Guichet".to_string(),
            "Les jeux de données publiés sur Guichet par la plateforme et par chaque collectivité : démarches en ligne, signalements, dossiers par mois.".to_string(),
        ),
        Some(Owner::Collectivite(c)) => (
            format!("/donnees/{}/catalogue", c.slug),
            format!("Données ouvertes — {}", c.name),
            format!("Les jeux de données que {} publie sur Guichet.", c.name),
        ),
    };
    let pages = from.total.div_ceil(PAGE_SIZE).max(1) as u64;
    let link = |n: u64| state.config.link(&format!("{base}.{extension}?page={n}"));
    let platform = platform_agent(state, snap);
    let datasets = from
        .datasets
        .iter()
        .map(|d| dataset(state, d, snap.collectivite(d.tenant_id), &platform))
        .collect();
    Catalogue {
        iri: state.config.link(&base),
        title,
        description,
        homepage: state.config.link("/donnees"),
        publisher: from.publisher.clone(),
        datasets,
        paging: Paging {
            this: link(page),
            first: link(1),
            last: link(pages),
            next: (page < pages).then(|| link(page + 1)),
            previous: (page > 1).then(|| link(page - 1)),
            total: from.total as u64,
        },
    }
}

/// The DCAT description a dataset of `c` will have once published (a catalogue of that one
/// dataset, as Turtle), and the dataset's IRI: what the producer's check validates.
pub(crate) fn draft(
    state: &AppState,
    c: &Collectivite,
    d: &Dataset,
) -> anyhow::Result<(String, String)> {
    let publisher = Agent {
        iri: agent_iri(state, c),
        name: c.name.clone(),
    };
    let described = dataset(state, d, Some(c), &publisher);
    let iri = described.iri.clone();
    let base = state
        .config
        .link(&format!("/donnees/{}/catalogue.ttl", c.slug));
    let catalogue = Catalogue {
        iri: state.config.link(&format!("/donnees/{}/catalogue", c.slug)),
        title: format!("Données ouvertes — {}", c.name),
        description: format!("Les jeux de données que {} publie sur Guichet.", c.name),
        homepage: state.config.link("/donnees"),
        publisher,
        datasets: vec![described],
        paging: Paging {
            this: base.clone(),
            first: base.clone(),
            last: base,
            next: None,
            previous: None,
            total: 1,
        },
    };
    Ok((String::from_utf8(dcat::turtle(&catalogue)?)?, iri))
}

/// The publisher's IRI: its page on the platform.
fn agent_iri(state: &AppState, c: &Collectivite) -> String {
    state
        .config
        .link(&format!("/collectivites/{}#organisation", c.slug))
}

/// The INSEE URI of a collectivité's territory (none for an intercommunalité).
fn spatial(c: &Collectivite) -> Option<String> {
    let kind = match c.entity_kind {
        EntityKind::Commune => "commune",
        EntityKind::Departement => "departement",
        EntityKind::Region => "region",
        EntityKind::Epci => return None,
    };
    Some(format!("http://id.insee.fr/geo/{kind}/{}", c.entity_code))
}

fn dataset(
    state: &AppState,
    d: &Dataset,
    owner: Option<&Collectivite>,
    platform: &Agent,
) -> dcat::Dataset {
    let segment = owner.map_or(super::PLATFORM_OWNER, |c| c.slug.as_str());
    let page = state.config.link(&format!("/donnees/{segment}/{}", d.slug));
    let genere = d.genere();
    let schema = super::schema_url(state, segment, d);
    let mut formats = vec![
        ("csv", "text/csv", "CSV"),
        ("json", "application/json", "JSON"),
    ];
    if genere.is_some_and(Genere::located) {
        formats.push(("geojson", "application/geo+json", "GEOJSON"));
    }
    dcat::Dataset {
        iri: page.clone(),
        identifier: format!("{segment}/{}", d.slug),
        title: d.title.clone(),
        description: d.description.clone(),
        landing_page: page.clone(),
        publisher: match owner {
            Some(c) => Agent {
                iri: agent_iri(state, c),
                name: c.name.clone(),
            },
            None => platform.clone(),
        },
        contact: owner.and_then(|c| c.contact_email.clone().map(|e| (c.name.clone(), e))),
        spatial: owner.and_then(spatial).into_iter().collect(),
        frequency: d.frequency,
        keywords: genere
            .map(|g| vec![g.slug().replace('-', " ")])
            .unwrap_or_default(),
        issued_ms: d.created_at,
        modified_ms: d.modified_at,
        distributions: formats
            .into_iter()
            .map(|(ext, media_type, format)| Distribution {
                iri: format!("{page}#{ext}"),
                title: format!("{} ({format})", d.title),
                download_url: format!("{page}.{ext}"),
                media_type,
                format,
                licence: d.licence,
                // The CSV follows the Table Schema; JSON and GeoJSON carry the same fields.
                conforms_to: (ext == "csv").then(|| schema.clone()).flatten(),
                modified_ms: d.modified_at,
            })
            .collect(),
    }
}
