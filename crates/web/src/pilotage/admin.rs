//! The collectivité's side of the observatoire (`/admin/{collectivité}/observatoire`): its
//! declared accessibility audit, and what its usagers wrote with their satisfaction answers.

use crate::auth::{CollectiviteContext, Visitor};
use crate::error::AppError;
use crate::form::{Errors, Fields};
use crate::layout::Layout;
use crate::page::html;
use crate::AppState;
use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use guichet_store::trace::Trace;

/// A comment as the page shows it.
struct Comment {
    demarche: String,
    score: i64,
    comment: String,
    at: String,
}

#[derive(Template)]
#[template(path = "pilotage/admin.html")]
struct AdminPage {
    layout: Layout,
    slug: String,
    rate: String,
    audited: String,
    errors: Errors,
    comments: Vec<Comment>,
}

async fn render(
    state: &AppState,
    visitor: &Visitor,
    ctx: &CollectiviteContext,
    form: Option<(String, String)>,
    errors: Errors,
) -> Result<Response, AppError> {
    let c = &ctx.collectivite;
    let (rate, audited) = match form {
        Some(f) => f,
        None => guichet_store::pilotage::accessibility(&state.db)
            .await?
            .remove(&c.id)
            .map(|(r, d)| (r.to_string(), d))
            .unwrap_or_default(),
    };
    let titles: std::collections::HashMap<i64, String> =
        guichet_store::demarche::list(&state.db, c.id)
            .await?
            .into_iter()
            .map(|d| (d.id, d.title))
            .collect();
    let comments = guichet_store::pilotage::comments(&state.db, c.id, 20)
        .await?
        .into_iter()
        .map(|x| Comment {
            demarche: titles.get(&x.demarche_id).cloned().unwrap_or_default(),
            score: x.score,
            comment: x.comment,
            at: crate::format::format_ms(x.at),
        })
        .collect();
    let status = errors.status();
    let page = html(&AdminPage {
        layout: Layout::for_visitor(state, visitor).await,
        slug: c.slug.clone(),
        rate,
        audited,
        errors,
        comments,
    })?;
    Ok((status, page).into_response())
}

pub async fn page(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
) -> Result<Response, AppError> {
    render(&state, &visitor, &ctx, None, Errors::default()).await
}

/// Declares the audit (or withdraws it when both fields are empty).
pub async fn declare(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    body: String,
) -> Result<Response, AppError> {
    let f = Fields::parse(&body);
    let (rate, audited) = (
        f.get("taux").trim().to_string(),
        f.get("date").trim().to_string(),
    );
    let mut errors = Errors::default();
    let audit = if rate.is_empty() && audited.is_empty() {
        None
    } else {
        let parsed = rate.trim_end_matches('%').trim().parse::<i64>().ok();
        let parsed = parsed.filter(|r| (0..=100).contains(r));
        if parsed.is_none() {
            errors.add(
                "taux",
                "Indiquez le taux de conformité, un nombre de 0 à 100.",
            );
        }
        let day = guichet_domain::demarche::values::parse_date(&audited);
        if day.is_none() {
            errors.add(
                "date",
                "Indiquez la date de l'audit, par exemple 2026-09-15.",
            );
        }
        parsed.zip(day).map(|(r, d)| (r, d.to_string()))
    };
    if !errors.is_empty() {
        return render(&state, &visitor, &ctx, Some((rate, audited)), errors).await;
    }
    let c = &ctx.collectivite;
    let mut event = visitor.event(Some(c.id), "accessibilite.declaration");
    event.details = serde_json::json!({ "taux": audit.as_ref().map(|a| a.0), "date": audit.as_ref().map(|a| a.1.clone()) }).to_string();
    guichet_store::pilotage::declare_accessibility(&state.db, c.id, audit, Trace::of(event))
        .await?;
    Ok(Redirect::to(&format!("/admin/{}/observatoire", c.slug)).into_response())
}
