//! The register of a collectivité's information assets: kept by its publishers in the back
//! office (`/admin/{collectivité}/donnees/patrimoine`), published as a CSV in the SCDL
//! `catalogue` schema (`/donnees/{collectivité}/patrimoine.csv`).

use crate::auth::{CollectiviteContext, Visitor};
use crate::error::AppError;
use crate::form::{Errors, Fields};
use crate::layout::Layout;
use crate::page::html;
use crate::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use guichet_domain::donnees::patrimoine::{
    check, scdl_row, Actif, COLUMNS, FREQUENCES, LICENCES, MAILLES,
};
use guichet_store::collectivite::Collectivite;
use guichet_store::donnees::patrimoine::{self as store, Entry};
use guichet_store::trace::Trace;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "donnees/patrimoine.html")]
struct RegisterPage {
    layout: Layout,
    slug: String,
    entries: Vec<Entry>,
    /// The asset in the form, and its id when it is a change.
    actif: Actif,
    editing: Option<i64>,
    errors: Errors,
    mailles: &'static [&'static str],
    frequences: &'static [&'static str],
    licences: &'static [&'static str],
}

#[derive(Deserialize, Default)]
pub struct RegisterQuery {
    #[serde(default)]
    modifier: Option<i64>,
}

async fn render(
    state: &AppState,
    visitor: &Visitor,
    ctx: &CollectiviteContext,
    actif: Actif,
    editing: Option<i64>,
    errors: Errors,
) -> Result<Response, AppError> {
    let status = errors.status();
    let page = html(&RegisterPage {
        layout: Layout::for_visitor(state, visitor).await,
        slug: ctx.collectivite.slug.clone(),
        entries: store::of(&state.db, ctx.collectivite.id).await?,
        actif,
        editing,
        errors,
        mailles: &MAILLES,
        frequences: &FREQUENCES,
        licences: &LICENCES,
    })?;
    Ok((status, page).into_response())
}

pub async fn page(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    Query(q): Query<RegisterQuery>,
) -> Result<Response, AppError> {
    let editing = match q.modifier {
        Some(id) => store::get(&state.db, ctx.collectivite.id, id).await?,
        None => None,
    };
    let (actif, id) = match editing {
        Some(e) => (e.actif, Some(e.id)),
        None => (
            Actif {
                frequence: "Annuelle".into(),
                maille: "Communale".into(),
                couverture: ctx.collectivite.name.clone(),
                licence: "Licence Ouverte-LO".into(),
                ..Actif::default()
            },
            None,
        ),
    };
    render(&state, &visitor, &ctx, actif, id, Errors::default()).await
}

fn from_form(f: &Fields) -> Actif {
    let text = |k: &str| f.get(k).trim().to_string();
    Actif {
        titre: text("titre"),
        description: text("description"),
        service: text("service"),
        base_legale: text("base_legale"),
        donnees_personnelles: f.get("donnees_personnelles") == "oui",
        conservation: text("conservation"),
        frequence: text("frequence"),
        ouvert: f.get("ouvert") == "oui",
        motif: text("motif"),
        theme: text("theme"),
        mots_cles: text("mots_cles"),
        maille: text("maille"),
        couverture: text("couverture"),
        debut: text("debut"),
        fin: text("fin"),
        formats: text("formats"),
        url: text("url"),
        licence: text("licence"),
        siret: text("siret").replace(' ', ""),
    }
}

/// Saves the asset of the form (added, or changed when `id` is given), or removes one.
pub async fn save(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    body: String,
) -> Result<Response, AppError> {
    let f = Fields::parse(&body);
    let id = f.get("id").parse::<i64>().ok();
    let back = format!("/admin/{}/donnees/patrimoine", ctx.collectivite.slug);
    if f.get("action") == "supprimer" {
        let Some(id) = id else {
            return Ok(Redirect::to(&back).into_response());
        };
        let mut event = visitor.event(Some(ctx.collectivite.id), "patrimoine.suppression");
        event.object_type = Some("patrimoine".into());
        event.object_id = Some(id.to_string());
        store::remove(&state.db, ctx.collectivite.id, id, Trace::of(event)).await?;
        return Ok(Redirect::to(&back).into_response());
    }
    let actif = from_form(&f);
    let problems = check(&actif);
    if !problems.is_empty() {
        let mut errors = Errors::default();
        for (field, message) in problems {
            errors.add(field, message);
        }
        return render(&state, &visitor, &ctx, actif, id, errors).await;
    }
    let action = if id.is_some() {
        "patrimoine.modification"
    } else {
        "patrimoine.ajout"
    };
    let mut event = visitor.event(Some(ctx.collectivite.id), action);
    event.object_type = Some("patrimoine".into());
    event.object_id = id.map(|i| i.to_string());
    event.details = serde_json::json!({ "titre": actif.titre }).to_string();
    match store::save(&state.db, ctx.collectivite.id, id, actif, Trace::of(event)).await? {
        Some(_) => Ok(Redirect::to(&back).into_response()),
        None => Ok(crate::page::not_found(State(state)).await),
    }
}

/// The register as a CSV of the SCDL `catalogue` schema.
pub(crate) async fn export(state: &AppState, c: &Collectivite) -> Result<Response, AppError> {
    let page = state
        .config
        .link(&format!("/donnees/{}/patrimoine.csv", c.slug));
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(COLUMNS).map_err(anyhow::Error::from)?;
    for e in store::of(&state.db, c.id).await? {
        let day = |ms: i64| guichet_domain::delai::paris_day(ms).to_string();
        w.write_record(scdl_row(
            &e.actif,
            e.id,
            &c.name,
            &day(e.created_at),
            &day(e.updated_at),
            &format!("{page}#{}", e.id),
        ))
        .map_err(anyhow::Error::from)?;
    }
    let body = w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(super::published("text/csv; charset=utf-8", body, None))
}
