//! Categories of signalements per collectivité (its admins): extra questions and moderation for
//! the platform's categories when it handles the report, and categories of its own (label,
//! competence, moderation, questions), which can be switched off. Every change is journaled.

use crate::auth::{CollectiviteContext, Visitor};
use crate::error::AppError;
use crate::form::{Errors, Fields};
use crate::layout::Layout;
use crate::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use guichet_domain::competence::Competence;
use guichet_domain::signalement::{check_label, parse_questions};
use guichet_store::collectivite::Collectivite;
use guichet_store::signalement::{self as store, Category, OwnCategory};
use guichet_store::trace::Trace;

#[derive(Template)]
#[template(path = "signalement/signalement-categories.html")]
struct CategoriesPage {
    layout: Layout,
    collectivite: Collectivite,
    /// The platform's categories as this collectivité set them.
    platform: Vec<Category>,
    own: Vec<Category>,
    competences: Vec<Competence>,
    /// What was typed in the form that came back with errors: (form id, values).
    typed: Option<(String, Fields)>,
    errors: Errors,
    flash: Option<String>,
}

impl CategoriesPage {
    /// The value to show in a field of a form: what was typed if that form came back, else the
    /// stored value.
    fn value(&self, form: &str, field: &str, stored: &str) -> String {
        match &self.typed {
            Some((id, fields)) if id == form => fields.get(field),
            _ => stored.to_string(),
        }
    }

    fn checked(&self, form: &str, field: &str, stored: &bool) -> bool {
        match &self.typed {
            Some((id, fields)) if id == form => fields.get(field) == "oui",
            _ => *stored,
        }
    }
}

async fn page(
    state: &AppState,
    visitor: &Visitor,
    ctx: &CollectiviteContext,
    typed: Option<(String, Fields)>,
    errors: Errors,
    flash: Option<String>,
) -> Result<Response, AppError> {
    let page = CategoriesPage {
        layout: Layout::for_visitor(state, visitor).await,
        collectivite: ctx.collectivite.clone(),
        platform: store::for_collectivite(&state.db, ctx.collectivite.id)
            .await?
            .into_iter()
            .filter(|c| c.tenant_id.is_none())
            .collect(),
        own: store::own_categories(&state.db, ctx.collectivite.id).await?,
        competences: guichet_store::competence::list(&state.db).await?,
        typed,
        errors,
        flash,
    };
    crate::page::form_page(&page.errors, &page)
}

pub async fn show(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
) -> Result<Response, AppError> {
    page(&state, &visitor, &ctx, None, Errors::default(), None).await
}

/// Reads an own category's form; errors are tied to the fields of form `form`.
async fn read_own(
    state: &AppState,
    form: &str,
    f: &Fields,
    errors: &mut Errors,
) -> anyhow::Result<Option<OwnCategory>> {
    let label = check_label(&f.get("libelle"))
        .map_err(|e| errors.add(format!("{form}-libelle"), e))
        .ok();
    let competence = guichet_store::competence::get(&state.db, &f.get("competence")).await?;
    if competence.is_none() {
        errors.add(format!("{form}-competence"), "Choisissez une compétence.");
    }
    let questions = parse_questions(&f.get("questions"))
        .map_err(|e| errors.add(format!("{form}-questions"), e))
        .ok();
    Ok(match (label, competence, questions) {
        (Some(label), Some(c), Some(questions)) => Some(OwnCategory {
            label,
            competence: c.code,
            moderated: f.get("moderation") == "oui",
            questions,
            // A new category is active; an existing one as its box says.
            active: form == "nouvelle" || f.get("active") == "oui",
        }),
        _ => None,
    })
}

/// Adds a category of the collectivité's own.
pub async fn add(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    f: Fields,
) -> Result<Response, AppError> {
    let mut errors = Errors::default();
    let Some(c) = read_own(&state, "nouvelle", &f, &mut errors).await? else {
        return page(
            &state,
            &visitor,
            &ctx,
            Some(("nouvelle".into(), f)),
            errors,
            None,
        )
        .await;
    };
    let mut event = visitor.event_on(
        Some(ctx.collectivite.id),
        "signalement.categorie.creation",
        "categorie",
        &c.label,
    );
    event.details = serde_json::json!({"competence": c.competence, "questions": c.questions, "moderation": c.moderated}).to_string();
    store::add_own(&state.db, ctx.collectivite.id, &c, Trace::of(event)).await?;
    let flash = format!("Catégorie « {} » ajoutée.", c.label);
    page(&state, &visitor, &ctx, None, Errors::default(), Some(flash)).await
}

/// Saves one category: the questions and moderation of a platform category, or every setting
/// of an own category.
pub async fn save(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    Path((_, id)): Path<(String, i64)>,
    f: Fields,
) -> Result<Response, AppError> {
    let form = format!("c{id}");
    let mut errors = Errors::default();
    let category = store::category(&state.db, id)
        .await?
        .filter(|c| c.tenant_id.is_none() || c.tenant_id == Some(ctx.collectivite.id));
    let Some(category) = category else {
        // Another collectivité's category does not exist here.
        return Ok(crate::page::not_found(State(state)).await);
    };
    let mut event = visitor.event_on(
        Some(ctx.collectivite.id),
        "signalement.categorie.modification",
        "categorie",
        &category.code,
    );
    if category.tenant_id.is_none() {
        let questions = match parse_questions(&f.get("questions")) {
            Ok(q) => q,
            Err(e) => {
                errors.add(format!("{form}-questions"), e);
                return page(&state, &visitor, &ctx, Some((form, f)), errors, None).await;
            }
        };
        let moderated = f.get("moderation") == "oui";
        event.details =
            serde_json::json!({"questions": questions, "moderation": moderated}).to_string();
        store::save_settings(
            &state.db,
            ctx.collectivite.id,
            id,
            &questions,
            moderated,
            Trace::of(event),
        )
        .await?;
    } else {
        let Some(c) = read_own(&state, &form, &f, &mut errors).await? else {
            return page(&state, &visitor, &ctx, Some((form, f)), errors, None).await;
        };
        event.details = serde_json::json!({"libelle": c.label, "competence": c.competence, "questions": c.questions, "moderation": c.moderated, "active": c.active}).to_string();
        store::update_own(&state.db, ctx.collectivite.id, id, &c, Trace::of(event)).await?;
    }
    let flash = format!("Catégorie « {} » enregistrée.", category.label);
    page(&state, &visitor, &ctx, None, Errors::default(), Some(flash)).await
}
