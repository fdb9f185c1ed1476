//! The entry of the back office: the visitor's collectivités, and each one's home.

use crate::auth::{CollectiviteContext, Visitor};
use crate::error::AppError;
use crate::layout::Layout;
use crate::page::html;
use crate::AppState;
use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use guichet_domain::role::{allowed, Permission};
use guichet_store::collectivite::Collectivite;

#[derive(Template)]
#[template(path = "collectivite/admin-index.html")]
struct IndexPage {
    layout: Layout,
    /// (link, name, roles)
    collectivites: Vec<(String, String, String)>,
}

pub async fn index(State(state): State<AppState>, visitor: Visitor) -> Result<Response, AppError> {
    if visitor.is_agent() && !visitor.user.as_ref().is_some_and(|u| u.totp_enabled) {
        return Ok(Redirect::to("/compte/securite").into_response());
    }
    let mut collectivites = Vec::new();
    let mut ids: Vec<i64> = visitor.roles.iter().map(|(t, _)| *t).collect();
    ids.dedup();
    for id in ids {
        if let Some(t) = guichet_store::collectivite::by_id(&state.db, id).await? {
            let roles: Vec<&str> = visitor.roles_in(id).iter().map(|r| r.label()).collect();
            collectivites.push((format!("/admin/{}", t.slug), t.name, roles.join(", ")));
        }
    }
    if collectivites.len() == 1 {
        return Ok(Redirect::to(&collectivites[0].0).into_response());
    }
    html(&IndexPage {
        layout: Layout::for_visitor(&state, &visitor).await,
        collectivites,
    })
}

#[derive(Template)]
#[template(path = "collectivite/admin-home.html")]
struct HomePage {
    layout: Layout,
    collectivite: Collectivite,
    roles: Vec<&'static str>,
    links: Vec<(String, &'static str)>,
}

pub async fn home(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
) -> Result<Response, AppError> {
    let slug = &ctx.collectivite.slug;
    let mut links = Vec::new();
    if allowed(&ctx.roles, Permission::ProcessDossiers) {
        links.push((format!("/admin/{slug}/dossiers"), "Dossiers à instruire"));
    }
    if allowed(&ctx.roles, Permission::ModerateSignalements) {
        links.push((
            format!("/admin/{slug}/signalements"),
            "Signalements à traiter",
        ));
    }
    if allowed(&ctx.roles, Permission::ProcessDossiers) {
        links.push((
            format!("/admin/{slug}/guichet"),
            "Déposer un dossier au guichet pour une personne sans compte",
        ));
    }
    if allowed(&ctx.roles, Permission::DesignDemarches) {
        links.push((format!("/admin/{slug}/demarches"), "Démarches"));
    }
    if allowed(&ctx.roles, Permission::ConfigureSignalements) {
        links.push((
            format!("/admin/{slug}/signalements/categories"),
            "Catégories de signalements",
        ));
    }
    if allowed(&ctx.roles, Permission::ManageEquipe) {
        links.push((format!("/admin/{slug}/equipe"), "Équipe et rôles"));
    }
    if allowed(&ctx.roles, Permission::PublishData) {
        links.push((format!("/admin/{slug}/donnees"), "Données ouvertes"));
        links.push((
            format!("/admin/{slug}/observatoire"),
            "Observatoire : audit d'accessibilité, avis des usagers",
        ));
    }
    if allowed(&ctx.roles, Permission::ViewJournal) {
        links.push((format!("/admin/{slug}/journal"), "Journal d'audit"));
    }
    if allowed(&ctx.roles, Permission::ManageJetons) {
        links.push((format!("/admin/{slug}/jetons"), "Jetons d'API"));
    }
    if allowed(&ctx.roles, Permission::OperatePlatform) {
        links.push(("/operateur".to_string(), "Opération de la plateforme"));
    }
    html(&HomePage {
        layout: Layout::for_visitor(&state, &visitor).await,
        roles: ctx.roles.iter().map(|r| r.label()).collect(),
        collectivite: ctx.collectivite,
        links,
    })
}
