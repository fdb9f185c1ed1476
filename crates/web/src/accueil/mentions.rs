//! The legal and trust pages: mentions légales, données personnelles (RGPD), conditions
//! d'utilisation. Filled from configuration (who publishes and hosts the platform, the DPO) and
//! from the platform itself (the collectivités, the démarches and their retention periods).

use crate::auth::Visitor;
use crate::error::AppError;
use crate::layout::Layout;
use crate::page::html;
use crate::AppState;
use askama::Template;
use axum::extract::State;
use axum::response::Response;

/// What the operator declares about itself; a missing item is shown as not filled in.
#[derive(Debug, Clone, Default)]
pub struct LegalInfo {
    pub publisher: Option<String>,
    pub director: Option<String>,
    pub address: Option<String>,
    pub host: Option<String>,
    pub dpo: Option<String>,
}

/// The text shown for an item the operator has not configured.
const NOT_SET: &str = "non renseigné par l'opérateur";

fn or_not_set(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| NOT_SET.to_string())
}

/// Who publishes the platform: the configured publisher, else the operating région.
async fn publisher(state: &AppState) -> String {
    match &state.config.legal.publisher {
        Some(p) => p.clone(),
        None => guichet_store::collectivite::operator(&state.db)
            .await
            .ok()
            .flatten()
            .map(|t| t.name)
            .unwrap_or_else(|| NOT_SET.to_string()),
    }
}

#[derive(Template)]
#[template(path = "accueil/mentions-legales.html")]
struct NoticePage {
    layout: Layout,
    publisher: String,
    director: String,
    address: String,
    host: String,
    dpo: String,
}

pub async fn notice(State(state): State<AppState>, visitor: Visitor) -> Result<Response, AppError> {
    let legal = &state.config.legal;
    html(&NoticePage {
        layout: Layout::for_visitor(&state, &visitor).await,
        publisher: publisher(&state).await,
        director: or_not_set(&legal.director),
        address: or_not_set(&legal.address),
        host: or_not_set(&legal.host),
        dpo: or_not_set(&legal.dpo),
    })
}

/// A published démarche as the privacy page lists it: who handles it and how long its dossiers
/// are kept.
pub struct Retention {
    pub demarche: String,
    pub collectivite: String,
    pub months: u32,
}

#[derive(Template)]
#[template(path = "accueil/donnees-personnelles.html")]
struct PrivacyPage {
    layout: Layout,
    publisher: String,
    dpo: String,
    retentions: Vec<Retention>,
}

pub async fn privacy(
    State(state): State<AppState>,
    visitor: Visitor,
) -> Result<Response, AppError> {
    let names: std::collections::HashMap<i64, String> =
        guichet_store::collectivite::list(&state.db)
            .await?
            .into_iter()
            .map(|t| (t.id, t.name))
            .collect();
    let mut retentions: Vec<Retention> = guichet_store::demarche::all_published(&state.db)
        .await?
        .into_iter()
        .map(|(demarche, definition)| Retention {
            collectivite: names.get(&demarche.tenant_id).cloned().unwrap_or_default(),
            demarche: definition.title,
            months: definition.retention_months,
        })
        .collect();
    retentions.sort_by(|a, b| (&a.collectivite, &a.demarche).cmp(&(&b.collectivite, &b.demarche)));
    html(&PrivacyPage {
        layout: Layout::for_visitor(&state, &visitor).await,
        publisher: publisher(&state).await,
        dpo: or_not_set(&state.config.legal.dpo),
        retentions,
    })
}

#[derive(Template)]
#[template(path = "accueil/conditions.html")]
struct TermsPage {
    layout: Layout,
    publisher: String,
}

pub async fn terms(State(state): State<AppState>, visitor: Visitor) -> Result<Response, AppError> {
    html(&TermsPage {
        layout: Layout::for_visitor(&state, &visitor).await,
        publisher: publisher(&state).await,
    })
}
