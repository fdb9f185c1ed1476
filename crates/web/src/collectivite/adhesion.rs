//! A collectivité joins the platform: the operator adds it from the referential, invites its first
//! admin, and follows the invitations until someone administers it. The admin does the rest.

use crate::auth::Visitor;
use crate::error::AppError;
use crate::form::Errors;
use crate::format::format_ms;
use crate::layout::Layout;
use crate::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use guichet_domain::role::Role;
use guichet_store::collectivite::{self, Collectivite, CollectiviteError, Contact, Target};
use guichet_store::compte;
use guichet_store::equipe::{self, Invitation};
use guichet_store::trace::Trace;
use serde::Deserialize;

pub struct OpenInvitation {
    pub id: i64,
    pub email: String,
    pub expires: String,
    pub expired: bool,
}

#[derive(Template)]
#[template(path = "collectivite/operateur-collectivite.html")]
struct CollectivitePage {
    layout: Layout,
    collectivite: Collectivite,
    admins: Vec<equipe::Member>,
    invitations: Vec<OpenInvitation>,
    errors: Errors,
    flash: Option<String>,
    email: String,
}

async fn collectivite_or_404(
    state: &AppState,
    slug: &str,
) -> Result<Result<Collectivite, Response>, AppError> {
    Ok(match collectivite::by_slug(&state.db, slug).await? {
        Some(t) => Ok(t),
        None => Err(crate::page::not_found(State(state.clone())).await),
    })
}

fn listed(i: Invitation, now: i64) -> OpenInvitation {
    OpenInvitation {
        id: i.id,
        email: i.email,
        expires: format_ms(i.expires_at),
        expired: i.expires_at <= now,
    }
}

async fn collectivite_page(
    state: &AppState,
    visitor: &Visitor,
    collectivite: Collectivite,
    errors: Errors,
    flash: Option<String>,
    email: String,
) -> Result<Response, AppError> {
    let now = guichet_store::now_ms();
    let admins = equipe::members(&state.db, collectivite.id)
        .await?
        .into_iter()
        .filter(|m| m.roles.contains(&Role::Admin))
        .collect();
    let invitations = equipe::open_invitations(&state.db, collectivite.id)
        .await?
        .into_iter()
        .map(|i| listed(i, now))
        .collect();
    let page = CollectivitePage {
        layout: Layout::for_visitor(state, visitor).await,
        collectivite,
        admins,
        invitations,
        errors,
        flash,
        email,
    };
    crate::page::form_page(&page.errors, &page)
}

/// The operator's page of one collectivité: its admins and the invitations under way.
pub async fn show(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(slug): Path<String>,
) -> Result<Response, AppError> {
    let collectivite = match collectivite_or_404(&state, &slug).await? {
        Ok(t) => t,
        Err(page) => return Ok(page),
    };
    collectivite_page(
        &state,
        &visitor,
        collectivite,
        Errors::default(),
        None,
        String::new(),
    )
    .await
}

#[derive(Deserialize)]
pub struct NewCollectivite {
    #[serde(default)]
    niveau: String,
    #[serde(default)]
    code: String,
}

/// Adds a collectivité from the referential (a commune by INSEE code, an EPCI or a commune by
/// SIREN, a département or a région by code), journaled with it.
pub async fn add(
    State(state): State<AppState>,
    visitor: Visitor,
    Form(f): Form<NewCollectivite>,
) -> Result<Response, AppError> {
    let code = f.code.trim().to_string();
    let target = match f.niveau.as_str() {
        "commune" => Some(Target::Insee(code.clone())),
        "siren" => Some(Target::Siren(code.replace(' ', ""))),
        "departement" => Some(Target::Departement(code.clone())),
        "region" => Some(Target::Region(code.clone())),
        _ => None,
    };
    let mut errors = Errors::default();
    let Some(target) = target.filter(|_| !code.is_empty()) else {
        errors.add(
            "code",
            "Choisissez le niveau et indiquez le code de la collectivité (par exemple 21425 pour une commune).",
        );
        return crate::collectivite::operateur::page_with(&state, &visitor, errors, None).await;
    };
    let event = visitor.event(None, "collectivite.ajout");
    match collectivite::add_traced(
        &state.db,
        &target,
        &Contact::default(),
        false,
        Trace::of(event),
    )
    .await
    {
        Ok(t) => Ok(Redirect::to(&format!("/operateur/collectivites/{}", t.slug)).into_response()),
        Err(CollectiviteError::Storage(e)) => Err(e.into()),
        Err(e) => {
            errors.add("code", crate::compte::capitalize(&e.to_string()));
            crate::collectivite::operateur::page_with(&state, &visitor, errors, None).await
        }
    }
}

#[derive(Deserialize)]
pub struct AdminInvitation {
    #[serde(default)]
    email: String,
}

/// Invites the first (or another) admin of a collectivité: an e-mail with a link valid seven
/// days; the admin enrols a second factor at first sign-in.
pub async fn invite(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(slug): Path<String>,
    Form(f): Form<AdminInvitation>,
) -> Result<Response, AppError> {
    let collectivite = match collectivite_or_404(&state, &slug).await? {
        Ok(t) => t,
        Err(page) => return Ok(page),
    };
    let Ok(email) = compte::normalize_email(&f.email) else {
        let mut errors = Errors::default();
        errors.add(
            "email",
            "Indiquez une adresse électronique valide, par exemple secretariat@mairie-exemple.fr.",
        );
        return collectivite_page(&state, &visitor, collectivite, errors, None, f.email).await;
    };
    let mut event = visitor.event(Some(collectivite.id), "equipe.invitation");
    event.details =
        serde_json::json!({"email": email, "roles": [Role::Admin.code()], "par": "operateur"})
            .to_string();
    let roles = [Role::Admin];
    let token = guichet_store::secret::random_token();
    let mail = crate::equipe::mails::invitation(
        &state.config.link("/invitation/"),
        &token,
        &collectivite,
        None,
        &roles,
        &email,
    );
    equipe::invite(
        &state.db,
        equipe::NewInvitation {
            tenant_id: collectivite.id,
            email: email.clone(),
            roles: roles.to_vec(),
            invited_by: visitor.user.as_ref().map(|u| u.id),
        },
        &token,
        Trace::of(event).mail(mail),
    )
    .await?;
    let flash = format!("Invitation envoyée à {email}.");
    collectivite_page(
        &state,
        &visitor,
        collectivite,
        Errors::default(),
        Some(flash),
        String::new(),
    )
    .await
}

/// Sends a pending (or expired) invitation again, with a new link.
pub async fn resend(
    State(state): State<AppState>,
    visitor: Visitor,
    Path((slug, id)): Path<(String, i64)>,
) -> Result<Response, AppError> {
    let collectivite = match collectivite_or_404(&state, &slug).await? {
        Ok(t) => t,
        Err(page) => return Ok(page),
    };
    let open = equipe::open_invitations(&state.db, collectivite.id).await?;
    let Some(invitation) = open.into_iter().find(|i| i.id == id) else {
        return Ok(crate::page::not_found(State(state)).await);
    };
    let event = visitor.event(Some(collectivite.id), "equipe.invitation_renvoyee");
    let token = guichet_store::secret::random_token();
    let mail = crate::equipe::mails::invitation(
        &state.config.link("/invitation/"),
        &token,
        &collectivite,
        None,
        &invitation.roles,
        &invitation.email,
    );
    let sent = equipe::resend(
        &state.db,
        collectivite.id,
        id,
        &token,
        Trace::of(event).mail(mail),
    )
    .await?;
    let flash = if sent {
        format!("Invitation renvoyée à {}.", invitation.email)
    } else {
        "Cette invitation n'est plus en attente.".into()
    };
    collectivite_page(
        &state,
        &visitor,
        collectivite,
        Errors::default(),
        Some(flash),
        String::new(),
    )
    .await
}

/// Revokes a pending invitation: its link stops working.
pub async fn revoke(
    State(state): State<AppState>,
    visitor: Visitor,
    Path((slug, id)): Path<(String, i64)>,
) -> Result<Response, AppError> {
    let collectivite = match collectivite_or_404(&state, &slug).await? {
        Ok(t) => t,
        Err(page) => return Ok(page),
    };
    let event = visitor.event(Some(collectivite.id), "equipe.invitation_revoquee");
    if !equipe::revoke_invitation(&state.db, collectivite.id, id, Trace::of(event)).await? {
        return Ok((
            StatusCode::NOT_FOUND,
            crate::page::not_found(State(state)).await,
        )
            .into_response());
    }
    let flash = Some("Invitation révoquée : son lien ne fonctionne plus.".to_string());
    collectivite_page(
        &state,
        &visitor,
        collectivite,
        Errors::default(),
        flash,
        String::new(),
    )
    .await
}
