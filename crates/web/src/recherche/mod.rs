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
use catalogue::{Answer, Group, Place, ReportOffer, Snapshot};
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

/// The signalement categories a search describes, offered in the resident's commune.
async fn report_offers(
    state: &AppState,
    snap: &Snapshot,
    query: &str,
    place: Option<&Place>,
) -> anyhow::Result<Vec<ReportOffer>> {
    let mut offers = Vec::new();
    for c in snap
        .categories()
        .iter()
        .filter(|c| guichet_domain::signalement::matches_search(query, &c.code, &c.label))
    {
        // A collectivité's own category is offered on its territory only.
        if let (Some(owner), Some(p)) = (c.tenant_id, place) {
            if !snap.covers(owner, &p.chain) {
                continue;
            }
        }
        let (handled_by, elsewhere) = match place {
            Some(p) => match catalogue::route_in(state, snap, c.competence.clone(), p).await? {
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
            label: c.label.clone(),
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
    let snap = state.catalogue.snapshot(state).await?;
    resolve_in(state, &snap, typed).await
}

async fn resolve_in(
    state: &AppState,
    snap: &Snapshot,
    typed: &str,
) -> anyhow::Result<Result<Place, Vec<(String, String)>>> {
    let typed = typed.trim();
    let resolved = catalogue::resolution(snap, typed, lookup(state, typed)).await?;
    Ok(match resolved {
        Ok(insee) => match snap.place(state, &insee).await? {
            Some(p) => Ok(p),
            None => Err(Vec::new()),
        },
        Err(choices) => Err(choices),
    })
}

/// The communes of the referential matching what was typed: a postal or INSEE code, or a name.
async fn lookup(state: &AppState, typed: &str) -> anyhow::Result<catalogue::Resolution> {
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
        return Ok(Ok(found.remove(0).insee));
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
    let snap = state.catalogue.snapshot(&state).await?;
    if !q.commune.trim().is_empty() {
        match resolve_in(&state, &snap, &q.commune).await? {
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
    // Answers are remembered per query and commune until what is searched changes.
    let answer = match (&place, searched && errors.is_empty() && choices.is_empty()) {
        (_, true) => {
            let insee = place.as_ref().map(|p| p.insee.as_str()).unwrap_or("");
            snap.answer(&q.q, insee, async {
                Ok(Answer {
                    groups: catalogue::find_in(&state, &snap, &q.q, place.as_ref()).await?,
                    reports: report_offers(&state, &snap, &q.q, place.as_ref()).await?,
                })
            })
            .await?
        }
        // Only the commune: everything offered to its residents, by every level.
        (Some(p), false) if errors.is_empty() => {
            snap.answer("", &p.insee, async {
                Ok(Answer {
                    groups: catalogue::offered_in(&state, &snap, p).await?,
                    reports: Vec::new(),
                })
            })
            .await?
        }
        _ => std::sync::Arc::new(Answer {
            groups: Vec::new(),
            reports: Vec::new(),
        }),
    };
    let (groups, reports) = (answer.groups.clone(), answer.reports.clone());
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
