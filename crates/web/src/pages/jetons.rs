//! API tokens of an agent for one collectivité.

use super::html;
use crate::auth::{TenantContext, Visitor};
use crate::error::AppError;
use crate::form::Errors;
use crate::format::format_ms;
use crate::layout::Layout;
use crate::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use guichet_store::api_token::{self, SCOPES};
use guichet_store::{audit, tenant::Tenant};

pub struct TokenRow {
    pub id: i64,
    pub name: String,
    pub scopes: String,
    pub created: String,
    pub last_used: String,
}

#[derive(Template)]
#[template(path = "jetons.html")]
struct TokensPage {
    layout: Layout,
    tenant: Tenant,
    tokens: Vec<TokenRow>,
    scopes: &'static [(&'static str, &'static str)],
    new_token: Option<String>,
    flash: Option<String>,
    errors: Errors,
}

async fn render(
    state: &AppState,
    visitor: &Visitor,
    ctx: &TenantContext,
    new_token: Option<String>,
    flash: Option<String>,
    errors: Errors,
) -> Result<Response, AppError> {
    let user_id = visitor.user.as_ref().map(|u| u.id).unwrap_or_default();
    let tokens = api_token::list(&state.db, ctx.tenant.id, user_id)
        .await?
        .into_iter()
        .map(|t| TokenRow {
            id: t.id,
            name: t.name,
            scopes: t.scopes.join(", "),
            created: format_ms(t.created_at),
            last_used: t
                .last_used_at
                .map(format_ms)
                .unwrap_or_else(|| "jamais".into()),
        })
        .collect();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = TokensPage {
        layout: Layout::for_visitor(state, visitor).await,
        tenant: ctx.tenant.clone(),
        tokens,
        scopes: SCOPES,
        new_token,
        flash,
        errors,
    };
    Ok((status, html(&page)?).into_response())
}

pub async fn page(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: TenantContext,
) -> Result<Response, AppError> {
    render(&state, &visitor, &ctx, None, None, Errors::default()).await
}

pub async fn create(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: TenantContext,
    body: String,
) -> Result<Response, AppError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(&body).unwrap_or_default();
    let name = pairs
        .iter()
        .find(|(k, _)| k == "nom")
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_default();
    let scopes: Vec<String> = pairs
        .iter()
        .filter(|(k, v)| k == "portees" && SCOPES.iter().any(|(s, _)| s == v))
        .map(|(_, v)| v.clone())
        .collect();
    let mut errors = Errors::default();
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
    let (token, secret) =
        api_token::create(&state.db, ctx.tenant.id, user_id, &name, &scopes).await?;
    let mut event = visitor.event_on(
        Some(ctx.tenant.id),
        "jeton.creation",
        "jeton",
        token.id.to_string(),
    );
    event.details = serde_json::json!({"nom": name, "portees": scopes}).to_string();
    audit::append(&state.db, &event).await?;
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
    ctx: TenantContext,
    Path((_, id)): Path<(String, i64)>,
) -> Result<Response, AppError> {
    let user_id = visitor.user.as_ref().map(|u| u.id).unwrap_or_default();
    let done = api_token::revoke(&state.db, ctx.tenant.id, user_id, id).await?;
    if done {
        let event = visitor.event_on(
            Some(ctx.tenant.id),
            "jeton.revocation",
            "jeton",
            id.to_string(),
        );
        audit::append(&state.db, &event).await?;
    }
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
