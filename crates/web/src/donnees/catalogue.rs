//! The DCAT-AP catalogue: the platform's (every dataset) or a collectivité's, one page of
//! `PAGE_SIZE` datasets at a time, as JSON-LD or Turtle.

use super::Owner;
use crate::error::AppError;
use crate::AppState;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use guichet_domain::donnees::dcat::{self, Agent, Catalogue, Distribution, Paging};
use guichet_domain::donnees::Genere;
use guichet_domain::territoire::EntityKind;
use guichet_store::collectivite::Collectivite;
use guichet_store::donnees::{self as store, Dataset};

/// Datasets per page of the catalogue.
pub const PAGE_SIZE: usize = 50;

/// `/donnees/catalogue.jsonld` and `/donnees/catalogue.ttl`.
pub async fn platform(
    State(state): State<AppState>,
    axum::extract::Path(file): axum::extract::Path<String>,
    Query(q): Query<super::FileQuery>,
) -> Result<Response, AppError> {
    match file.strip_prefix("catalogue.") {
        Some(ext) => serve(&state, None, Some(ext), q.page).await,
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
    let mut response = serve(&state, None, Some(extension), q.page).await?;
    response
        .headers_mut()
        .insert(header::VARY, header::HeaderValue::from_static("Accept"));
    Ok(response)
}

/// Writes a catalogue in one serialisation.
type Writer = fn(&Catalogue) -> std::io::Result<Vec<u8>>;

/// One page of a catalogue in the format the extension names.
pub(crate) async fn serve(
    state: &AppState,
    owner: Option<&Owner>,
    extension: Option<&str>,
    page: Option<u64>,
) -> Result<Response, AppError> {
    let (kind, write): (&str, Writer) = match extension {
        Some("jsonld") => ("application/ld+json", dcat::json_ld),
        Some("ttl") => ("text/turtle; charset=utf-8", dcat::turtle),
        _ => return Ok(crate::page::not_found(State(state.clone())).await),
    };
    let Some(catalogue) = build(state, owner, extension.unwrap_or("jsonld"), page).await? else {
        return Ok((StatusCode::NOT_FOUND, "page inexistante").into_response());
    };
    let body = write(&catalogue).map_err(anyhow::Error::from)?;
    Ok(super::published(kind, body, super::CACHED))
}

/// The catalogue of `owner` (the platform when none), page `page` (from 1); none past the last.
async fn build(
    state: &AppState,
    owner: Option<&Owner>,
    extension: &str,
    page: Option<u64>,
) -> anyhow::Result<Option<Catalogue>> {
    let db = &state.db;
    let snap = state.catalogue.snapshot(state).await?;
    let operator = snap
        .collectivites()
        .iter()
        .find(|c| c.is_operator)
        .map(|c| c.as_ref().clone());
    let page = page.unwrap_or(1).max(1);
    let start = ((page - 1) as usize) * PAGE_SIZE;
    let platform_agent = Agent {
        iri: match &operator {
            Some(o) => agent_iri(state, o),
            None => state.config.link("/#plateforme"),
        },
        name: operator
            .as_ref()
            .map(|o| o.name.clone())
            .unwrap_or_else(|| "Guichet".into()),
    };
    let ((datasets, total), base, title, description, publisher) = match owner {
        None | Some(Owner::Platform) => (
            store::published_page(db, start as i64, PAGE_SIZE as i64)
                .await
                .map(|(page, total)| (page, total as usize))?,
            "/donnees/catalogue".to_string(),
            "Données ouvertes de la plateforme Guichet".to_string(),
            "Les jeux de données publiés sur Guichet par la plateforme et par chaque collectivité : démarches en ligne, signalements, dossiers par mois.".to_string(),
            platform_agent.clone(),
        ),
        Some(Owner::Collectivite(c)) => (
            store::of(db, c.id).await.map(|all| {
                let total = all.len();
                (
                    all.into_iter().skip(start).take(PAGE_SIZE).collect(),
                    total,
                )
            })?,
            format!("/donnees/{}/catalogue", c.slug),
            format!("Données ouvertes — {}", c.name),
            format!("Les jeux de données que {} publie sur Guichet.", c.name),
            Agent {
                iri: agent_iri(state, c),
                name: c.name.clone(),
            },
        ),
    };
    let pages = total.div_ceil(PAGE_SIZE).max(1) as u64;
    if page > pages {
        return Ok(None);
    }
    let link = |n: u64| state.config.link(&format!("{base}.{extension}?page={n}"));
    let mut described = Vec::new();
    for d in datasets {
        let owner = snap.collectivite(d.tenant_id);
        described.push(dataset(state, &d, owner, &platform_agent));
    }
    Ok(Some(Catalogue {
        iri: state.config.link(&base),
        title,
        description,
        homepage: state.config.link("/donnees"),
        publisher,
        datasets: described,
        paging: Paging {
            this: link(page),
            first: link(1),
            last: link(pages),
            next: (page < pages).then(|| link(page + 1)),
            previous: (page > 1).then(|| link(page - 1)),
            total: total as u64,
        },
    }))
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
