//! Shared templates (modèles mutualisés): a collectivité publishes a démarche as a template; an
//! admin of another one browses the catalogue and adopts it in one action, adjusts what the
//! template allows, and when the template gets a new version reads what changed and updates.

use crate::auth::{CollectiviteContext, Visitor};
use crate::error::AppError;
use crate::layout::Layout;
use crate::page::{html, not_found};
use crate::AppState;
use askama::Template as Askama;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use guichet_domain::demarche::diff;
use guichet_domain::demarche::modele::{adjust, only_allowed_changes, Adjustable};
use guichet_domain::demarche::Definition;
use guichet_store::collectivite::Collectivite;
use guichet_store::demarche::{self, Demarche};
use guichet_store::modele::{self, Template};
use guichet_store::trace::Trace;

/// What the démarche's admin page says about templates.
pub struct TemplateView {
    /// This démarche is published as a template: (version, adopters).
    pub published: Option<(i64, i64)>,
    /// This démarche follows a template.
    pub follows: Option<Following>,
    pub adjustables: Vec<(&'static str, &'static str)>,
}

pub struct Following {
    pub title: String,
    pub publisher: String,
    pub version: i64,
    pub allowed: Vec<&'static str>,
    /// A newer version and what changes in it.
    pub update: Option<(i64, Vec<String>)>,
}

pub async fn view(state: &AppState, d: &Demarche) -> anyhow::Result<TemplateView> {
    let published = modele::of_demarche(&state.db, d.id)
        .await?
        .map(|t| (t.current_version, t.adopters));
    let follows = match (d.template_id, d.template_version) {
        (Some(tid), Some(v)) => match modele::get(&state.db, tid).await? {
            Some(t) => {
                let update = if t.current_version > v {
                    let old = modele::definition(&state.db, t.id, v).await?;
                    let new = modele::definition(&state.db, t.id, t.current_version).await?;
                    match (old, new) {
                        (Some(old), Some(new)) => {
                            Some((t.current_version, diff::describe(&old, &new)))
                        }
                        _ => None,
                    }
                } else {
                    None
                };
                Some(Following {
                    title: t.title.clone(),
                    publisher: t.publisher.clone(),
                    version: v,
                    allowed: t.adjustable.iter().map(|a| a.label()).collect(),
                    update,
                })
            }
            None => None,
        },
        _ => None,
    };
    Ok(TemplateView {
        published,
        follows,
        adjustables: Adjustable::ALL
            .iter()
            .map(|a| (a.code(), a.label()))
            .collect(),
    })
}

/// For a démarche that follows a template: whether this new definition only changes what the
/// template allows. `Ok(())` for a démarche of its own.
pub async fn check_adopted_edit(
    state: &AppState,
    d: &Demarche,
    new: &Definition,
) -> anyhow::Result<Result<(), String>> {
    let (Some(tid), Some(v)) = (d.template_id, d.template_version) else {
        return Ok(Ok(()));
    };
    let (Some(t), Some(base)) = (
        modele::get(&state.db, tid).await?,
        modele::definition(&state.db, tid, v).await?,
    ) else {
        return Ok(Ok(()));
    };
    if only_allowed_changes(&base, new, &t.adjustable) {
        Ok(Ok(()))
    } else {
        let allowed: Vec<&str> = t.adjustable.iter().map(|a| a.label()).collect();
        Ok(Err(format!(
            "Cette démarche suit le modèle « {} » : vous pouvez seulement modifier {}. Le reste suit le modèle.",
            t.title,
            if allowed.is_empty() { "rien".to_string() } else { allowed.join(", ") }
        )))
    }
}

#[derive(Askama)]
#[template(path = "demarche/modeles.html")]
struct CataloguePage {
    layout: Layout,
    collectivite: Collectivite,
    /// (template, adopted here as démarche id)
    templates: Vec<(Template, Option<i64>)>,
    flash: Option<String>,
}

pub async fn catalogue(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
) -> Result<Response, AppError> {
    let mut templates = Vec::new();
    for t in modele::list(&state.db).await? {
        let here = modele::adopted_by(&state.db, t.id, ctx.collectivite.id).await?;
        templates.push((t, here));
    }
    html(&CataloguePage {
        layout: Layout::for_visitor(&state, &visitor).await,
        collectivite: ctx.collectivite,
        templates,
        flash: None,
    })
}

/// Adopts a template in one action: a draft démarche following its current version.
pub async fn adopt(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    Path((_, id)): Path<(String, i64)>,
) -> Result<Response, AppError> {
    let Some(t) = modele::get(&state.db, id).await? else {
        return Ok(not_found(State(state)).await);
    };
    if let Some(existing) = modele::adopted_by(&state.db, t.id, ctx.collectivite.id).await? {
        return Ok(Redirect::to(&format!(
            "/admin/{}/demarches/{existing}",
            ctx.collectivite.slug
        ))
        .into_response());
    }
    let mut event = visitor.event(Some(ctx.collectivite.id), "modele.adoption");
    event.details = serde_json::json!({"modele": t.id, "version": t.current_version}).to_string();
    let d = modele::adopt(&state.db, &t, ctx.collectivite.id, Trace::of(event)).await?;
    Ok(Redirect::to(&format!(
        "/admin/{}/demarches/{}",
        ctx.collectivite.slug, d.id
    ))
    .into_response())
}

/// Publishes the démarche's published version as a template, or as its template's next version.
pub async fn publish(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    Path((_, id)): Path<(String, i64)>,
    body: String,
) -> Result<Response, AppError> {
    let Some(d) = demarche::get(&state.db, ctx.collectivite.id, id).await? else {
        return Ok(not_found(State(state)).await);
    };
    let Some(version) = d.published_version else {
        return crate::demarche::conception::page_with_error(
            &state,
            &visitor,
            &ctx,
            id,
            "modele",
            "Publiez la démarche avant d'en faire un modèle.",
        )
        .await;
    };
    if d.template_id.is_some() {
        return crate::demarche::conception::page_with_error(
            &state,
            &visitor,
            &ctx,
            id,
            "modele",
            "Une démarche adoptée d'un modèle ne peut pas devenir elle-même un modèle.",
        )
        .await;
    }
    let Some(def) = demarche::definition(&state.db, ctx.collectivite.id, d.id, version).await?
    else {
        return Ok(not_found(State(state)).await);
    };
    let chosen = crate::form::Fields::parse(&body).all("ajustable");
    let adjustable: Vec<Adjustable> = Adjustable::ALL
        .into_iter()
        .filter(|a| chosen.iter().any(|v| v == a.code()))
        .collect();
    let event = visitor.event(Some(ctx.collectivite.id), "modele.publication");
    let (_, v) = modele::publish(&state.db, &d, &def, &adjustable, move |tid, v| {
        Trace::of(crate::demarche::conception::with_details(
            event,
            serde_json::json!({"modele": tid, "version": v}),
        ))
    })
    .await?;
    crate::demarche::conception::page_with_flash(
        &state,
        &visitor,
        &ctx,
        id,
        format!("Modèle publié (version {v}) : les autres collectivités peuvent l'adopter."),
    )
    .await
}

/// Updates an adopted démarche to its template's current version, keeping the adjustments the
/// template allows; the result is a draft, published when the admin decides.
pub async fn update(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    Path((_, id)): Path<(String, i64)>,
) -> Result<Response, AppError> {
    let Some(d) = demarche::get(&state.db, ctx.collectivite.id, id).await? else {
        return Ok(not_found(State(state)).await);
    };
    let (Some(tid), Some(_)) = (d.template_id, d.template_version) else {
        return Ok(not_found(State(state)).await);
    };
    let Some(t) = modele::get(&state.db, tid).await? else {
        return Ok(not_found(State(state)).await);
    };
    let current = d.draft_version.or(d.published_version).unwrap_or(1);
    let (Some(local), Some(next)) = (
        demarche::definition(&state.db, ctx.collectivite.id, d.id, current).await?,
        modele::definition(&state.db, t.id, t.current_version).await?,
    ) else {
        return Ok(not_found(State(state)).await);
    };
    let updated = adjust(&next, &local, &t.adjustable);
    let event = visitor.event(Some(ctx.collectivite.id), "modele.mise_a_jour");
    let (tid, tv) = (t.id, t.current_version);
    let version = modele::follow(&state.db, &d, &updated, tid, tv, move |version| {
        Trace::of(crate::demarche::conception::with_details(
            event,
            serde_json::json!({"modele": tid, "version_modele": tv, "version": version}),
        ))
    })
    .await?;
    crate::demarche::conception::page_with_flash(&state, &visitor, &ctx, id, format!("Démarche mise à jour vers la version {} du modèle, en brouillon (version {version}) : vérifiez-la puis publiez-la.", t.current_version)).await
}
