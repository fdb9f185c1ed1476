//! Where an aidant acting for a usager may go: the usager's démarches and dossiers, profile and
//! documents, within the mandat's domains and while it is in force. Checked by the authorization
//! layer for every request, and by the pages that list the usager's dossiers.

use crate::auth::Visitor;
use crate::error::AppError;
use crate::page::message;
use crate::AppState;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use guichet_domain::mandat::{covers, Domain};

/// Pages an aidant acting for a usager may open: the usager's démarches and dossiers, profile
/// and documents, public pages; never the usager's account settings nor any back office.
fn acting_may_open(path: &str) -> bool {
    const ALLOWED: [&str; 11] = [
        "/demarches/",
        "/dossiers",
        "/compte/profil",
        "/compte/documents",
        "/recherche",
        "/collectivites",
        "/signalements",
        "/communes/",
        "/static/",
        "/aidant/arreter",
        "/deconnexion",
    ];
    path == "/" || ALLOWED.iter().any(|p| path.starts_with(p))
}

/// The mandat domain of a démarche: that of its competence's life situation.
async fn domain_of(
    state: &AppState,
    def: &guichet_domain::demarche::Definition,
) -> anyhow::Result<Option<Domain>> {
    let Some(code) = &def.competence else {
        return Ok(None);
    };
    Ok(guichet_store::competence::get(&state.db, code)
        .await?
        .and_then(|c| Domain::of_situation(&c.situation)))
}

/// Whether the mandat covers the démarche of this dossier, or of this démarche being started.
pub(crate) async fn in_scope(
    state: &AppState,
    visitor: &Visitor,
    method: &Method,
    path: &str,
) -> anyhow::Result<bool> {
    let (Some(a), Some(usager)) = (&visitor.acting, &visitor.user) else {
        return Ok(true);
    };
    let now = guichet_store::now_ms();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let def = match segments.as_slice() {
        ["dossiers", id, ..] => {
            let Ok(id) = id.parse::<i64>() else {
                return Ok(true);
            };
            match guichet_store::dossier::get_for_usager(&state.db, id, usager.id).await? {
                Some(x) => {
                    guichet_store::demarche::definition(
                        &state.db,
                        x.tenant_id,
                        x.demarche_id,
                        x.version,
                    )
                    .await?
                }
                None => return Ok(true),
            }
        }
        ["demarches", collectivite, slug, "dossiers"] if method == Method::POST => {
            let Some(t) = guichet_store::collectivite::by_slug(&state.db, collectivite).await?
            else {
                return Ok(true);
            };
            match guichet_store::demarche::by_slug(&state.db, t.id, slug).await? {
                Some(d) => {
                    guichet_store::demarche::definition(
                        &state.db,
                        t.id,
                        d.id,
                        d.published_version.unwrap_or(1),
                    )
                    .await?
                }
                None => return Ok(true),
            }
        }
        _ => return Ok(true),
    };
    let Some(def) = def else {
        return Ok(true);
    };
    Ok(covers(
        &a.mandat.domains,
        a.mandat.status(now),
        domain_of(state, &def).await?,
    ))
}

/// Refuses what an aidant acting for a usager may not do (called for every request).
pub(crate) async fn check_acting(
    state: &AppState,
    visitor: &Visitor,
    method: &Method,
    path: &str,
) -> Result<(), Response> {
    let Some(a) = &visitor.acting else {
        return Ok(());
    };
    let name = visitor
        .user
        .as_ref()
        .map(|u| u.display_name.clone())
        .unwrap_or_default();
    let refuse = |text: String| async move {
        let mut event = visitor.event(None, "mandat.refus");
        event.object_type = Some("mandat".into());
        event.object_id = Some(a.mandat.id.to_string());
        event.details = serde_json::json!({ "page": path }).to_string();
        let _ = guichet_store::journal::append(&state.db, &event).await;
        let page = message(
            state,
            visitor,
            "Hors du mandat",
            vec![text],
            Some(("/dossiers", "Revenir aux dossiers")),
        )
        .await;
        match page {
            Ok(p) => (StatusCode::FORBIDDEN, p).into_response(),
            Err(e) => e.into_response(),
        }
    };
    if !acting_may_open(path) {
        return Err(refuse(format!("Vous agissez pour {name} : cette page est réservée à son titulaire. Arrêtez d'agir pour {name} pour retrouver votre espace.")).await);
    }
    match in_scope(state, visitor, method, path).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(refuse(format!("Cette démarche ne fait pas partie des domaines du mandat que {name} vous a confié ({}).", a.mandat.domains.iter().map(|d| d.label()).collect::<Vec<_>>().join(", "))).await),
        Err(e) => Err(AppError::from(e).into_response()),
    }
}
