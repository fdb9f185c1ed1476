pub mod accessibilite;
pub mod mentions;
use crate::error::AppError;
use crate::layout::Layout;
use crate::page::html;
use crate::AppState;
use askama::Template;
use axum::extract::State;
use axum::response::Response;
use guichet_domain::territoire::EntityKind;
use guichet_store::collectivite::Collectivite;
use std::sync::Arc;

/// The collectivités of one level; a level with many (the communes of a région) is only
/// counted, with the link to its part of the directory.
pub struct Group {
    pub label: &'static str,
    pub collectivites: Vec<Arc<Collectivite>>,
    pub total: usize,
    pub link: String,
}

/// More than this many collectivités of a level are not listed on the home page.
const LISTED: usize = 12;

#[derive(Template)]
#[template(path = "accueil/home.html")]
struct HomePage {
    layout: Layout,
    groups: Vec<Group>,
    // The search form's values and errors (empty on the home page).
    q: String,
    commune: String,
    errors: crate::form::Errors,
    suggest_js: &'static str,
}

pub async fn page(
    State(state): State<AppState>,
    visitor: crate::auth::Visitor,
) -> Result<Response, AppError> {
    let snap = state.catalogue.snapshot(&state).await?;
    let groups = [
        (EntityKind::Region, "Région"),
        (EntityKind::Departement, "Départements"),
        (EntityKind::Epci, "Intercommunalités"),
        (EntityKind::Commune, "Communes"),
    ]
    .into_iter()
    .map(|(kind, label)| {
        let of_level: Vec<_> = snap
            .collectivites()
            .iter()
            .filter(|t| t.entity_kind == kind)
            .collect();
        Group {
            label,
            total: of_level.len(),
            collectivites: if of_level.len() > LISTED {
                Vec::new()
            } else {
                of_level.into_iter().cloned().collect()
            },
            link: format!("/collectivites?niveau={}", kind.code()),
        }
    })
    .filter(|g| g.total > 0)
    .collect();
    html(&HomePage {
        layout: Layout::for_visitor(&state, &visitor).await,
        groups,
        q: String::new(),
        commune: String::new(),
        errors: crate::form::Errors::default(),
        suggest_js: &crate::assets::SUGGEST_JS.href,
    })
}
