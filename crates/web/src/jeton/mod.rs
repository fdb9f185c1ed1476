//! API tokens of an agent for one collectivité. A token acts with its scopes and, at each use,
//! no more than its owner's current roles allow; it expires (a year at most). Admins see and can
//! revoke every token of their collectivité.

pub mod api;

use crate::auth::{CollectiviteContext, Visitor};
use crate::error::AppError;
use crate::form::Errors;
use crate::form::Fields;
use crate::format::format_ms;
use crate::layout::Layout;
use crate::page::html;
use crate::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use guichet_store::collectivite::Collectivite;
use guichet_store::jeton::{self, SCOPES};
use guichet_store::trace::Trace;

pub struct TokenRow {
    pub id: i64,
    pub name: String,
    pub scopes: String,
    pub created: String,
    pub last_used: String,
    pub expires: String,
    pub owner: String,
    /// Scopes the owner's roles no longer allow (the token is refused for them).
    pub dormant: String,
}

fn is_admin(ctx: &CollectiviteContext) -> bool {
    guichet_domain::role::allowed(&ctx.roles, guichet_domain::role::Permission::ManageEquipe)
}

/// The scopes this agent may give a token: those their roles here allow.
fn grantable(ctx: &CollectiviteContext) -> Vec<(&'static str, &'static str)> {
    SCOPES
        .iter()
        .copied()
        .filter(|(s, _)| {
            guichet_domain::role::scope_permission(s)
                .is_some_and(|p| guichet_domain::role::allowed(&ctx.roles, p))
        })
        .collect()
}

#[derive(Template)]
#[template(path = "jeton/jetons.html")]
struct TokensPage {
    layout: Layout,
    collectivite: Collectivite,
    tokens: Vec<TokenRow>,
    scopes: Vec<(&'static str, &'static str)>,
    /// Admins see every agent's tokens.
    all: bool,
    max_days: u32,
    new_token: Option<String>,
    flash: Option<String>,
    errors: Errors,
}

async fn render(
    state: &AppState,
    visitor: &Visitor,
    ctx: &CollectiviteContext,
    new_token: Option<String>,
    flash: Option<String>,
    errors: Errors,
) -> Result<Response, AppError> {
    let user_id = visitor.user.as_ref().map(|u| u.id).unwrap_or_default();
    let all = is_admin(ctx);
    let owner = if all { None } else { Some(user_id) };
    let tokens = jeton::list(&state.db, ctx.collectivite.id, owner)
        .await?
        .into_iter()
        .map(|t| TokenRow {
            id: t.id,
            dormant: t
                .scopes
                .iter()
                .filter(|s| !guichet_domain::role::token_allows(&t.scopes, &t.owner_roles, s))
                .cloned()
                .collect::<Vec<_>>()
                .join(", "),
            name: t.name,
            scopes: t.scopes.join(", "),
            created: format_ms(t.created_at),
            last_used: t
                .last_used_at
                .map(format_ms)
                .unwrap_or_else(|| "jamais".into()),
            expires: crate::format::format_day(t.expires_at),
            owner: t.owner_email,
        })
        .collect();
    let status = errors.status();
    let page = TokensPage {
        layout: Layout::for_visitor(state, visitor).await,
        collectivite: ctx.collectivite.clone(),
        tokens,
        scopes: grantable(ctx),
        all,
        max_days: state.config.api_token_days,
        new_token,
        flash,
        errors,
    };
    Ok((status, html(&page)?).into_response())
}

pub async fn page(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
) -> Result<Response, AppError> {
    render(&state, &visitor, &ctx, None, None, Errors::default()).await
}

pub async fn create(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    body: String,
) -> Result<Response, AppError> {
    let pairs = Fields::parse(&body).0;
    let name = pairs
        .iter()
        .find(|(k, _)| k == "nom")
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_default();
    let asked: Vec<String> = pairs
        .iter()
        .filter(|(k, _)| k == "portees")
        .map(|(_, v)| v.clone())
        .collect();
    let allowed = grantable(&ctx);
    let scopes: Vec<String> = asked
        .iter()
        .filter(|v| allowed.iter().any(|(s, _)| s == v))
        .cloned()
        .collect();
    let mut errors = Errors::default();
    if scopes.len() != asked.len() {
        errors.add(
            "portees",
            "Vos rôles ne permettent pas certaines de ces portées : un jeton ne peut pas faire plus que vous.",
        );
    }
    if name.is_empty() || name.chars().count() > 80 {
        errors.add("nom", "Donnez au jeton un nom de 1 à 80 caractères.");
    }
    if scopes.is_empty() {
        errors.add("portees", "Choisissez au moins une portée.");
    }
    if !errors.is_empty() {
        return render(&state, &visitor, &ctx, None, None, errors).await;
    }
    let user_id = visitor.user.as_ref().map(|u| u.id).unwrap_or_default();
    let mut event = visitor.event(Some(ctx.collectivite.id), "jeton.creation");
    event.details = serde_json::json!({"nom": name, "portees": scopes}).to_string();
    let (_, secret) = jeton::create(
        &state.db,
        ctx.collectivite.id,
        user_id,
        &name,
        &scopes,
        state.config.api_token_days,
        Trace::of(event),
    )
    .await?;
    render(
        &state,
        &visitor,
        &ctx,
        Some(secret),
        None,
        Errors::default(),
    )
    .await
}

pub async fn revoke(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    Path((_, id)): Path<(String, i64)>,
) -> Result<Response, AppError> {
    let user_id = visitor.user.as_ref().map(|u| u.id).unwrap_or_default();
    // An admin revokes any token of the collectivité; an agent, their own.
    let owner = if is_admin(&ctx) { None } else { Some(user_id) };
    let event = visitor.event(Some(ctx.collectivite.id), "jeton.revocation");
    let done = jeton::revoke(&state.db, ctx.collectivite.id, owner, id, Trace::of(event)).await?;
    let flash = if done {
        "Jeton révoqué : il ne fonctionne plus."
    } else {
        "Ce jeton n'existe pas ou est déjà révoqué."
    };
    render(
        &state,
        &visitor,
        &ctx,
        None,
        Some(flash.into()),
        Errors::default(),
    )
    .await
}
