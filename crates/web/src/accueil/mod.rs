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
use guichet_store::collectivite::{self, Collectivite};

pub struct Group {
    pub label: &'static str,
    pub collectivites: Vec<Collectivite>,
}

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
    let collectivites = collectivite::list(&state.db).await?;
    let groups = [
        (EntityKind::Region, "Région"),
        (EntityKind::Departement, "Départements"),
        (EntityKind::Epci, "Intercommunalités"),
        (EntityKind::Commune, "Communes"),
    ]
    .into_iter()
    .map(|(kind, label)| Group {
        label,
        collectivites: collectivites
            .iter()
            .filter(|t| t.entity_kind == kind)
            .cloned()
            .collect(),
    })
    .filter(|g| !g.collectivites.is_empty())
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
