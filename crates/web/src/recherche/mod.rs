//! "Que souhaitez-vous faire ?": the search of the one door, by plain GET forms (works without
//! JavaScript), with the resident's commune so that each need goes to the competent authority.

pub mod catalogue;

use crate::auth::Visitor;
use crate::error::AppError;
use crate::form::Errors;
use crate::layout::Layout;
use crate::page::html;
use crate::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use catalogue::{Group, Place};
use guichet_domain::text::fold;
use serde::Deserialize;

#[derive(Deserialize, Default)]
pub struct SearchQuery {
    #[serde(default)]
    pub q: String,
    /// Postal code, name or INSEE code of the resident's commune.
    #[serde(default)]
    pub commune: String,
}

#[derive(Template)]
#[template(path = "recherche/recherche.html")]
struct ResultsPage {
    layout: Layout,
    q: String,
    commune: String,
    place: Option<Place>,
    /// Several communes match what was typed: (INSEE, label).
    choices: Vec<(String, String)>,
    groups: Vec<Group>,
    /// Problems to report that match the search, routed like démarches.
    reports: Vec<ReportOffer>,
    searched: bool,
    errors: Errors,
    suggest_js: &'static str,
}

/// "Signaler un problème" offered by a search: the category, the link to the prefilled form,
/// and who handles it in the resident's commune (or why nobody on Guichet does).
pub struct ReportOffer {
    pub label: String,
    pub url: String,
    pub handled_by: Option<String>,
    pub elsewhere: Option<String>,
}

/// The signalement categories a search describes, offered in the resident's commune.
async fn report_offers(
    state: &AppState,
    query: &str,
    place: Option<&Place>,
) -> anyhow::Result<Vec<ReportOffer>> {
    let matching: Vec<_> = guichet_store::signalement::offered(&state.db)
        .await?
        .into_iter()
        .filter(|c| guichet_domain::signalement::matches_search(query, &c.code, &c.label))
        .collect();
    // The collectivités are read only when one of their own categories matches.
    let collectivites = if matching.iter().any(|c| c.tenant_id.is_some()) {
        guichet_store::collectivite::list(&state.db).await?
    } else {
        Vec::new()
    };
    let mut offers = Vec::new();
    for c in matching {
        // A collectivité's own category is offered on its territory only.
        if let (Some(owner), Some(p)) = (c.tenant_id, place) {
            let covers = collectivites
                .iter()
                .find(|t| t.id == owner)
                .is_some_and(|t| catalogue::collectivite_covers(t, &p.chain));
            if !covers {
                continue;
            }
        }
        let (handled_by, elsewhere) = match place {
            Some(p) => match catalogue::route_signalement(state, &c, None, p).await? {
                Ok((t, _)) => (Some(t.name), None),
                Err(reason) => (None, Some(reason)),
            },
            None => (None, None),
        };
        let commune = place
            .map(|p| format!("&commune={}", p.insee))
            .unwrap_or_default();
        offers.push(ReportOffer {
            url: format!("/signalements/nouveau?categorie={}{commune}", c.id),
            label: c.label,
            handled_by,
            elsewhere,
        });
    }
    Ok(offers)
}

/// The commune meant by what the resident typed: one, several to choose from, or none.
pub async fn resolve_commune(
    state: &AppState,
    typed: &str,
) -> anyhow::Result<Result<Place, Vec<(String, String)>>> {
    let typed = typed.trim();
    let is_code = typed.len() == 5 && typed.chars().filter(char::is_ascii_digit).count() >= 3;
    let mut found = if is_code {
        let mut c = guichet_store::territoire::communes_by_insee(&state.db, typed).await?;
        c.extend(guichet_store::territoire::communes_by_postal_code(&state.db, typed).await?);
        c
    } else {
        let all = guichet_store::territoire::search_communes(&state.db, typed, 20).await?;
        let exact: Vec<_> = all
            .iter()
            .filter(|c| fold(&c.nom) == fold(typed))
            .cloned()
            .collect();
        if exact.is_empty() {
            all
        } else {
            exact
        }
    };
    found.retain(|c| c.kind.code() == "commune-actuelle");
    found.dedup_by(|a, b| a.insee == b.insee);
    if found.len() == 1 {
        if let Some(p) = catalogue::place(state, &found[0].insee).await? {
            return Ok(Ok(p));
        }
    }
    Ok(Err(found
        .into_iter()
        .map(|c| {
            let label = format!(
                "{} ({})",
                c.nom,
                c.postal_codes.first().cloned().unwrap_or_default()
            );
            (c.insee, label)
        })
        .collect()))
}

pub async fn page(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(q): Query<SearchQuery>,
) -> Result<Response, AppError> {
    let mut errors = Errors::default();
    let mut place = None;
    let mut choices = Vec::new();
    if !q.commune.trim().is_empty() {
        match resolve_commune(&state, &q.commune).await? {
            Ok(p) => place = Some(p),
            Err(list) if list.is_empty() => errors.add(
                "commune",
                "Commune introuvable : vérifiez le nom ou le code postal.",
            ),
            Err(list) => choices = list,
        }
    }
    let searched = !q.q.trim().is_empty();
    if q.q.chars().count() > 200 {
        errors.add(
            "q",
            "Votre recherche est trop longue : 200 caractères au plus.",
        );
    }
    let groups = match (&place, searched && errors.is_empty() && choices.is_empty()) {
        (_, true) => catalogue::find(&state, &q.q, place.as_ref()).await?,
        // Only the commune: everything offered to its residents, by every level.
        (Some(p), false) if errors.is_empty() => catalogue::offered_in(&state, p).await?,
        _ => Vec::new(),
    };
    let reports = if searched && errors.is_empty() && choices.is_empty() {
        report_offers(&state, &q.q, place.as_ref()).await?
    } else {
        Vec::new()
    };
    let status = errors.status();
    let page = ResultsPage {
        layout: Layout::for_visitor(&state, &visitor).await,
        commune: place
            .as_ref()
            .map(|p| p.name.clone())
            .unwrap_or_else(|| q.commune.clone()),
        q: q.q,
        place,
        choices,
        groups,
        reports,
        searched,
        errors,
        suggest_js: &crate::assets::SUGGEST_JS.href,
    };
    Ok((status, html(&page)?).into_response())
}

/// Titles completing what is typed in the search field (used by the page's script).
pub async fn suggestions(
    State(state): State<AppState>,
    Query(q): Query<SearchQuery>,
) -> Result<Response, AppError> {
    let text: String = q.q.chars().take(200).collect();
    let list = if text.trim().chars().count() < 2 {
        Vec::new()
    } else {
        catalogue::suggestions(&state, &text).await?
    };
    Ok(Json(list).into_response())
}
