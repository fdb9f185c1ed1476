//! The team of a collectivité: its agents, their roles, invitations.

pub mod mails;

use crate::auth::{CollectiviteContext, Visitor};
use crate::compte::capitalize;
use crate::error::AppError;
use crate::form::Errors;
use crate::form::Fields;
use crate::format::format_ms;
use crate::layout::Layout;
use crate::page::{html, message};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use guichet_domain::role::Role;
use guichet_store::compte;
use guichet_store::trace::Trace;
use guichet_store::{collectivite::Collectivite, equipe};
use serde::Deserialize;

pub struct PendingInvitation {
    pub email: String,
    pub expires: String,
}

#[derive(Template)]
#[template(path = "equipe/equipe.html")]
struct EquipePage {
    layout: Layout,
    collectivite: Collectivite,
    members: Vec<equipe::Member>,
    grantable: Vec<Role>,
    invitations: Vec<PendingInvitation>,
    /// Teams of agents, dossiers can be assigned to them.
    equipes: Vec<equipe::Equipe>,
    errors: Errors,
    flash: Option<String>,
}

/// Roles that can be given in this collectivité: `operateur` only on the operator's own collectivité.
fn grantable(collectivite: &Collectivite) -> Vec<Role> {
    let mut roles = Role::TENANT_ROLES.to_vec();
    if collectivite.is_operator {
        roles.push(Role::Operateur);
    }
    roles
}

async fn equipe_page(
    state: &AppState,
    visitor: &Visitor,
    ctx: &CollectiviteContext,
    errors: Errors,
    flash: Option<String>,
) -> Result<Response, AppError> {
    let now = guichet_store::now_ms();
    let status = errors.status();
    let page = EquipePage {
        layout: Layout::for_visitor(state, visitor).await,
        collectivite: ctx.collectivite.clone(),
        members: equipe::members(&state.db, ctx.collectivite.id).await?,
        grantable: grantable(&ctx.collectivite),
        invitations: equipe::pending_invitations(&state.db, ctx.collectivite.id, now)
            .await?
            .into_iter()
            .map(|i| PendingInvitation {
                email: i.email,
                expires: format_ms(i.expires_at),
            })
            .collect(),
        equipes: equipe::equipes(&state.db, ctx.collectivite.id).await?,
        errors,
        flash,
    };
    Ok((status, html(&page)?).into_response())
}

#[derive(Deserialize)]
pub struct NewEquipe {
    #[serde(default)]
    nom: String,
}

/// Creates a team of agents (e.g. "Service urbanisme").
pub async fn create_equipe(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    Form(f): Form<NewEquipe>,
) -> Result<Response, AppError> {
    let name = f.nom.trim();
    let mut errors = Errors::default();
    if name.is_empty() || name.chars().count() > 80 {
        errors.add("nom", "Donnez un nom d'équipe de 1 à 80 caractères.");
        return equipe_page(&state, &visitor, &ctx, errors, None).await;
    }
    let mut event = visitor.event(Some(ctx.collectivite.id), "equipe.creation");
    event.object_type = Some("equipe".into());
    let trace = Trace::of(event);
    if equipe::create_equipe(&state.db, ctx.collectivite.id, name, trace)
        .await?
        .is_none()
    {
        errors.add("nom", "Une équipe porte déjà ce nom.");
        return equipe_page(&state, &visitor, &ctx, errors, None).await;
    }
    equipe_page(
        &state,
        &visitor,
        &ctx,
        Errors::default(),
        Some(format!("Équipe « {name} » créée.")),
    )
    .await
}

#[derive(Deserialize)]
pub struct EquipeMemberChange {
    agent: i64,
    action: String,
}

/// Adds an agent of the collectivité to a team, or removes them.
pub async fn change_equipe_member(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    Path((_, team_id)): Path<(String, i64)>,
    Form(f): Form<EquipeMemberChange>,
) -> Result<Response, AppError> {
    let members = equipe::members(&state.db, ctx.collectivite.id).await?;
    let Some(agent) = members.iter().find(|m| m.user_id == f.agent) else {
        let mut errors = Errors::default();
        errors.add(
            "equipes",
            "Cet agent ne fait pas partie de la collectivité.",
        );
        return equipe_page(&state, &visitor, &ctx, errors, None).await;
    };
    let add = f.action == "ajouter";
    let mut event = visitor.event_on(
        Some(ctx.collectivite.id),
        if add {
            "equipe.ajout"
        } else {
            "equipe.retrait"
        },
        "equipe",
        team_id.to_string(),
    );
    event.details = serde_json::json!({"agent": agent.email}).to_string();
    let trace = Trace::of(event);
    if !equipe::set_equipe_member(
        &state.db,
        ctx.collectivite.id,
        team_id,
        agent.user_id,
        add,
        trace,
    )
    .await?
    {
        return Ok(crate::page::not_found(State(state)).await);
    }
    let flash = if add {
        format!("{} ajouté à l'équipe.", agent.display_name)
    } else {
        format!("{} retiré de l'équipe.", agent.display_name)
    };
    equipe_page(&state, &visitor, &ctx, Errors::default(), Some(flash)).await
}

pub async fn page(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
) -> Result<Response, AppError> {
    equipe_page(&state, &visitor, &ctx, Errors::default(), None).await
}

pub async fn invite(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    body: String,
) -> Result<Response, AppError> {
    // Repeated checkboxes (roles=a&roles=b) need a list-aware decoder.
    let pairs = Fields::parse(&body).0;
    let email_raw = pairs
        .iter()
        .find(|(k, _)| k == "email")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let allowed = grantable(&ctx.collectivite);
    let roles: Vec<Role> = pairs
        .iter()
        .filter(|(k, _)| k == "roles")
        .filter_map(|(_, v)| Role::from_code(v))
        .filter(|r| allowed.contains(r))
        .collect();
    let mut errors = Errors::default();
    let email = compte::normalize_email(&email_raw).ok();
    if email.is_none() {
        errors.add("email", "Indiquez une adresse électronique valide.");
    }
    if roles.is_empty() {
        errors.add("roles", "Choisissez au moins un rôle.");
    }
    let (Some(email), true) = (email, errors.is_empty()) else {
        return equipe_page(&state, &visitor, &ctx, errors, None).await;
    };
    let inviter = visitor.user.as_ref().map(|u| u.display_name.clone());
    let mut event = visitor.event(Some(ctx.collectivite.id), "equipe.invitation");
    event.details = serde_json::json!({"email": email, "roles": roles.iter().map(|r| r.code()).collect::<Vec<_>>()}).to_string();
    let token = guichet_store::secret::random_token();
    let mail = mails::invitation(
        &state.config.link("/invitation/"),
        &token,
        &ctx.collectivite,
        inviter.as_deref(),
        &roles,
        &email,
    );
    equipe::invite(
        &state.db,
        equipe::NewInvitation {
            tenant_id: ctx.collectivite.id,
            email: email.clone(),
            roles: roles.clone(),
            invited_by: visitor.user.as_ref().map(|u| u.id),
        },
        &token,
        Trace::of(event).mail(mail),
    )
    .await?;
    equipe_page(
        &state,
        &visitor,
        &ctx,
        Errors::default(),
        Some(format!("Invitation envoyée à {email}.")),
    )
    .await
}

#[derive(Deserialize)]
pub struct RoleChange {
    agent: i64,
    role: String,
    action: String,
}

pub async fn change_role(
    State(state): State<AppState>,
    mut visitor: Visitor,
    ctx: CollectiviteContext,
    Form(f): Form<RoleChange>,
) -> Result<Response, AppError> {
    let mut errors = Errors::default();
    let role = Role::from_code(&f.role).filter(|r| grantable(&ctx.collectivite).contains(r));
    let members = equipe::members(&state.db, ctx.collectivite.id).await?;
    let target = members.iter().find(|m| m.user_id == f.agent);
    let me = visitor.user.as_ref().map(|u| u.id);
    match (role, target) {
        (None, _) => errors.add("roles", "Rôle inconnu."),
        (_, None) => errors.add("roles", "Cet agent ne fait pas partie de l'équipe."),
        (Some(role), Some(target)) => {
            let grant = f.action == "donner";
            if !grant && Some(target.user_id) == me && matches!(role, Role::Admin | Role::Operateur)
            {
                errors.add("roles", "Vous ne pouvez pas retirer vous-même votre rôle d'administration : demandez-le à un autre administrateur.");
            } else {
                let mut event = visitor.event(
                    Some(ctx.collectivite.id),
                    if grant {
                        "role.attribution"
                    } else {
                        "role.retrait"
                    },
                );
                event.object_type = Some("agent".into());
                event.object_id = Some(target.user_id.to_string());
                event.details =
                    serde_json::json!({"role": role.code(), "agent": target.email}).to_string();
                // Privilege change: the agent's sessions restart, so new rights apply everywhere
                // at once.
                equipe::change_role(
                    &state.db,
                    ctx.collectivite.id,
                    target.user_id,
                    role,
                    grant,
                    me,
                    Trace::of(event),
                )
                .await?;
                if Some(target.user_id) == me {
                    visitor.clear_session(&state).await?;
                }
                let flash = format!(
                    "Rôle {} {} {}.",
                    role.label(),
                    if grant { "donné à" } else { "retiré à" },
                    target.display_name
                );
                return Ok(visitor.finish(
                    equipe_page(&state, &visitor, &ctx, Errors::default(), Some(flash)).await?,
                ));
            }
        }
    }
    equipe_page(&state, &visitor, &ctx, errors, None).await
}

// ---- Accepting an invitation ----------------------------------------------------------------

#[derive(Template)]
#[template(path = "equipe/invitation.html")]
struct InvitationPage {
    layout: Layout,
    token: String,
    collectivite_name: String,
    roles: Vec<&'static str>,
    email: String,
    existing: bool,
    nom: String,
    errors: Errors,
}

async fn expired(state: &AppState, visitor: &Visitor) -> Result<Response, AppError> {
    let page = message(
        state,
        visitor,
        "Invitation expirée ou déjà utilisée",
        vec!["Ce lien d'invitation n'est plus valable. Demandez une nouvelle invitation à l'administrateur de votre collectivité.".into()],
        None,
    )
    .await?;
    Ok((StatusCode::NOT_FOUND, page).into_response())
}

async fn invitation_page(
    state: &AppState,
    visitor: &Visitor,
    token: String,
    inv: &equipe::Invitation,
    nom: String,
    errors: Errors,
) -> Result<Response, AppError> {
    let collectivite = guichet_store::collectivite::by_id(&state.db, inv.tenant_id).await?;
    let status = errors.status();
    let page = InvitationPage {
        layout: Layout::for_visitor(state, visitor).await,
        token,
        collectivite_name: collectivite.map(|t| t.name).unwrap_or_default(),
        roles: inv.roles.iter().map(|r| r.label()).collect(),
        email: inv.email.clone(),
        existing: compte::by_email(&state.db, &inv.email).await?.is_some(),
        nom,
        errors,
    };
    Ok((status, html(&page)?).into_response())
}

pub async fn invitation_form(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    match equipe::find_invitation(&state.db, &token, guichet_store::now_ms()).await? {
        Some(inv) => {
            invitation_page(
                &state,
                &visitor,
                token,
                &inv,
                String::new(),
                Errors::default(),
            )
            .await
        }
        None => expired(&state, &visitor).await,
    }
}

#[derive(Deserialize)]
pub struct AcceptForm {
    #[serde(default)]
    nom: String,
    #[serde(default)]
    mot_de_passe: String,
}

pub async fn accept_invitation(
    State(state): State<AppState>,
    mut visitor: Visitor,
    Path(token): Path<String>,
    Form(f): Form<AcceptForm>,
) -> Result<Response, AppError> {
    let Some(inv) = equipe::find_invitation(&state.db, &token, guichet_store::now_ms()).await?
    else {
        return expired(&state, &visitor).await;
    };
    let mut errors = Errors::default();
    let invitee = match compte::by_email(&state.db, &inv.email).await? {
        Some(existing) => {
            if compte::verify_password(&state.db, existing.id, &f.mot_de_passe).await? {
                Some(equipe::Invitee::Existing(existing))
            } else {
                errors.add("mot_de_passe", "Mot de passe incorrect.");
                None
            }
        }
        None => {
            let nom = f.nom.trim();
            if nom.is_empty() {
                errors.add("nom", "Indiquez votre prénom et votre nom.");
            }
            if let Err(e) = guichet_domain::password::check(&f.mot_de_passe, &inv.email) {
                errors.add("mot_de_passe", capitalize(&e.to_string()));
            }
            errors.is_empty().then(|| equipe::Invitee::New {
                name: nom.to_string(),
                password: f.mot_de_passe.clone(),
            })
        }
    };
    let Some(invitee) = invitee else {
        return invitation_page(&state, &visitor, token, &inv, f.nom, errors).await;
    };
    let mut event = visitor.event_on(
        Some(inv.tenant_id),
        "equipe.invitation_acceptee",
        "invitation",
        inv.id.to_string(),
    );
    event.actor = inv.email.clone();
    let accepted = equipe::accept(
        &state.db,
        &inv,
        invitee,
        visitor.session.as_ref().map(|s| s.id_hash.as_str()),
        crate::compte::opening(&visitor, 0, false),
        Trace::of(event),
    )
    .await?;
    let Some((user, cookie, new_session)) = accepted else {
        return expired(&state, &visitor).await;
    };
    visitor.set_session(&state, &cookie).await?;
    visitor.session = Some(new_session);
    visitor.user = Some(user.clone());
    let target = if user.totp_enabled {
        "/connexion/second-facteur"
    } else {
        "/compte/securite"
    };
    Ok(visitor.finish(Redirect::to(target).into_response()))
}
