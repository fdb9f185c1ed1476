//! The operator maintains the one-door referential: competences (default level, life situation,
//! keywords), overrides per territory, national services and the search's synonyms. Competences
//! import and export as CSV. Every change is journaled and refreshes the search on every node.

use crate::auth::Visitor;
use crate::error::AppError;
use crate::form::{Errors, Fields};
use crate::layout::Layout;
use crate::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use guichet_domain::competence::{Competence, Holder, Level, Override, SITUATIONS};
use guichet_store::competence::{self, NationalService};
use guichet_store::journal;
use guichet_store::trace::Trace;

#[derive(Template)]
#[template(path = "competence/referentiel.html")]
struct ReferentialPage {
    layout: Layout,
    competences: Vec<Competence>,
    overrides: Vec<Override>,
    services: Vec<NationalService>,
    synonyms: Vec<(i64, String)>,
    levels: [Level; 5],
    situations: &'static [(&'static str, &'static str)],
    errors: Errors,
    flash: Option<String>,
}

async fn referential_page(
    state: &AppState,
    visitor: &Visitor,
    errors: Errors,
    flash: Option<String>,
) -> Result<Response, AppError> {
    let page = ReferentialPage {
        layout: Layout::for_visitor(state, visitor).await,
        competences: competence::list(&state.db).await?,
        overrides: competence::overrides(&state.db).await?,
        services: competence::national_services(&state.db).await?,
        synonyms: competence::synonyms(&state.db)
            .await?
            .into_iter()
            .map(|(id, terms)| (id, terms.join(", ")))
            .collect(),
        levels: Level::ALL,
        situations: SITUATIONS,
        errors,
        flash,
    };
    crate::page::form_page(&page.errors, &page)
}

/// The page again, with a confirmation at the top.
async fn done(state: &AppState, visitor: &Visitor, message: String) -> Result<Response, AppError> {
    referential_page(state, visitor, Errors::default(), Some(message)).await
}

pub async fn page(State(state): State<AppState>, visitor: Visitor) -> Result<Response, AppError> {
    referential_page(&state, &visitor, Errors::default(), None).await
}

/// A journal entry about the referential.
fn event(
    visitor: &Visitor,
    action: &str,
    details: serde_json::Value,
) -> guichet_domain::journal::Event {
    let mut event = visitor.event(None, action);
    event.details = details.to_string();
    event
}

/// The trace of a change of the referential: its journal entry.
fn trace(visitor: &Visitor, action: &str, details: serde_json::Value) -> Trace {
    Trace::of(event(visitor, action, details))
}

/// Adds or changes one competence.
pub async fn save_competence(
    State(state): State<AppState>,
    visitor: Visitor,
    f: Fields,
) -> Result<Response, AppError> {
    let mut errors = Errors::default();
    let code = f.get("code");
    if code.is_empty()
        || !code
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        errors.add("code", "Le code ne contient que des minuscules, des chiffres et _ (par exemple « eclairage_public »).");
    }
    let label = f.get("libelle");
    if label.is_empty() {
        errors.add("libelle", "Donnez un libellé.");
    }
    let level = Level::from_code(&f.get("niveau"));
    if level.is_none() {
        errors.add("niveau", "Choisissez un niveau.");
    }
    let situation = f.get("situation");
    if !SITUATIONS.iter().any(|(c, _)| *c == situation) {
        errors.add("situation", "Choisissez une situation de vie.");
    }
    let (Some(level), true) = (level, errors.is_empty()) else {
        return referential_page(&state, &visitor, errors, None).await;
    };
    let c = Competence {
        code,
        label,
        level,
        situation,
        keywords: f.get("mots_cles"),
    };
    competence::upsert(
        &state.db,
        &c,
        trace(
            &visitor,
            "referentiel.competence",
            serde_json::json!({"code": c.code, "niveau": c.level.code()}),
        ),
    )
    .await?;
    done(
        &state,
        &visitor,
        format!("Compétence « {} » enregistrée.", c.label),
    )
    .await
}

/// Adds (or replaces) an override for a territory, or removes it.
pub async fn save_override(
    State(state): State<AppState>,
    visitor: Visitor,
    f: Fields,
) -> Result<Response, AppError> {
    let mut errors = Errors::default();
    let code = f.get("competence");
    if competence::get(&state.db, &code).await?.is_none() {
        errors.add("competence", "Choisissez une compétence du référentiel.");
    }
    let scope = Level::from_code(&f.get("portee"))
        .filter(|l| matches!(l, Level::Commune | Level::Epci | Level::Departement));
    let scope_code = f.get("portee_code");
    match scope {
        None => errors.add("portee", "La portée est une commune, une intercommunalité ou un département."),
        Some(l) if !entity_exists(&state, l, &scope_code).await? => errors.add("portee_code", "Ce territoire n'existe pas dans le référentiel (code INSEE, SIREN ou numéro de département)."),
        _ => {}
    }
    if f.get("action") == "supprimer" {
        if let (Some(scope), true) = (scope, errors.is_empty()) {
            competence::remove_override(&state.db, &code, scope, &scope_code, trace(&visitor, "referentiel.exception.suppression", serde_json::json!({"competence": code, "portee": scope.code(), "code": scope_code}))).await?;
            return done(&state, &visitor, "Exception supprimée.".into()).await;
        }
        return referential_page(&state, &visitor, errors, None).await;
    }
    let holder_level = Level::from_code(&f.get("titulaire"));
    let holder_code = f.get("titulaire_code");
    match holder_level {
        None => errors.add(
            "titulaire",
            "Choisissez le niveau qui exerce la compétence.",
        ),
        Some(Level::Etat) => {}
        Some(l) if !entity_exists(&state, l, &holder_code).await? => errors.add(
            "titulaire_code",
            "Cette collectivité n'existe pas dans le référentiel.",
        ),
        _ => {}
    }
    let (Some(scope), Some(holder_level), true) = (scope, holder_level, errors.is_empty()) else {
        return referential_page(&state, &visitor, errors, None).await;
    };
    let o = Override {
        competence: code,
        scope_level: scope,
        scope_code,
        holder: Holder {
            level: holder_level,
            code: if holder_level == Level::Etat {
                String::new()
            } else {
                holder_code
            },
        },
    };
    competence::set_override(&state.db, &o, trace(&visitor, "referentiel.exception", serde_json::json!({"competence": o.competence, "portee": o.scope_level.code(), "code": o.scope_code, "titulaire": o.holder.level.code(), "titulaire_code": o.holder.code}))).await?;
    done(&state, &visitor, "Exception enregistrée.".into()).await
}

async fn entity_exists(state: &AppState, level: Level, code: &str) -> anyhow::Result<bool> {
    use guichet_store::territoire as t;
    Ok(match level {
        Level::Commune => t::commune_by_insee(&state.db, code).await?.is_some(),
        Level::Epci => t::epci(&state.db, code).await?.is_some(),
        Level::Departement => t::departement(&state.db, code).await?.is_some(),
        Level::Region => t::region(&state.db, code).await?.is_some(),
        Level::Etat => true,
    })
}

pub async fn export_csv(
    State(state): State<AppState>,
    visitor: Visitor,
) -> Result<Response, AppError> {
    let text = competence::competences_csv(&competence::list(&state.db).await?)?;
    journal::append(
        &state.db,
        &event(&visitor, "referentiel.export", serde_json::json!({})),
    )
    .await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"competences.csv\"",
            ),
        ],
        text,
    )
        .into_response())
}

/// Imports competences from CSV: all lines are checked first; nothing is written on error.
pub async fn import_csv(
    State(state): State<AppState>,
    visitor: Visitor,
    body: String,
) -> Result<Response, AppError> {
    let text = Fields::parse(&body).get("csv");
    match competence::parse_competences_csv(&text) {
        Ok(list) => {
            competence::save_all(
                &state.db,
                &list,
                trace(
                    &visitor,
                    "referentiel.import",
                    serde_json::json!({"competences": list.len()}),
                ),
            )
            .await?;
            done(
                &state,
                &visitor,
                format!("{} compétences importées.", list.len()),
            )
            .await
        }
        Err(problems) => import_refused(&state, &visitor, "csv", &problems).await,
    }
}

pub async fn save_service(
    State(state): State<AppState>,
    visitor: Visitor,
    f: Fields,
) -> Result<Response, AppError> {
    if f.get("action") == "supprimer" {
        if let Ok(id) = f.get("id").parse() {
            competence::remove_national_service(
                &state.db,
                id,
                trace(
                    &visitor,
                    "referentiel.service.suppression",
                    serde_json::json!({"id": id}),
                ),
            )
            .await?;
        }
        return done(&state, &visitor, "Service retiré.".into()).await;
    }
    let mut errors = Errors::default();
    let s = NationalService {
        id: 0,
        title: f.get("titre"),
        description: f.get("description_service"),
        url: f.get("adresse"),
        situation: f.get("situation_service"),
        keywords: f.get("mots_cles_service"),
    };
    if s.title.is_empty() {
        errors.add("titre", "Donnez le nom du service.");
    }
    if !s.url.starts_with("https://") || s.url.contains(char::is_whitespace) {
        errors.add(
            "adresse",
            "L'adresse du service officiel commence par https://.",
        );
    }
    if !SITUATIONS.iter().any(|(c, _)| *c == s.situation) {
        errors.add("situation_service", "Choisissez une situation de vie.");
    }
    if !errors.is_empty() {
        return referential_page(&state, &visitor, errors, None).await;
    }
    competence::add_national_service(
        &state.db,
        &s,
        trace(
            &visitor,
            "referentiel.service",
            serde_json::json!({"titre": s.title}),
        ),
    )
    .await?;
    done(&state, &visitor, format!("Service « {} » ajouté.", s.title)).await
}

pub async fn save_synonyms(
    State(state): State<AppState>,
    visitor: Visitor,
    f: Fields,
) -> Result<Response, AppError> {
    if f.get("action") == "supprimer" {
        if let Ok(id) = f.get("id").parse() {
            competence::remove_synonyms(
                &state.db,
                id,
                trace(
                    &visitor,
                    "referentiel.synonymes.suppression",
                    serde_json::json!({"id": id}),
                ),
            )
            .await?;
        }
        return done(&state, &visitor, "Synonymes retirés.".into()).await;
    }
    let terms: Vec<String> = f
        .get("termes")
        .split(',')
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect();
    if terms.len() < 2 {
        let mut errors = Errors::default();
        errors.add(
            "termes",
            "Indiquez au moins deux expressions équivalentes, séparées par des virgules.",
        );
        return referential_page(&state, &visitor, errors, None).await;
    }
    competence::add_synonyms(
        &state.db,
        &terms,
        trace(
            &visitor,
            "referentiel.synonymes",
            serde_json::json!({"termes": terms}),
        ),
    )
    .await?;
    done(&state, &visitor, "Synonymes ajoutés.".into()).await
}

pub async fn export_overrides_csv(
    State(state): State<AppState>,
    visitor: Visitor,
) -> Result<Response, AppError> {
    let text = competence::overrides_csv(&competence::overrides(&state.db).await?)?;
    journal::append(
        &state.db,
        &event(
            &visitor,
            "referentiel.export",
            serde_json::json!({"exceptions": true}),
        ),
    )
    .await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"exceptions.csv\"",
            ),
        ],
        text,
    )
        .into_response())
}

/// Imports overrides from CSV: all lines are checked first; nothing is written on error.
pub async fn import_overrides_csv(
    State(state): State<AppState>,
    visitor: Visitor,
    body: String,
) -> Result<Response, AppError> {
    let text = Fields::parse(&body).get("csv_exceptions");
    let known = competence::list(&state.db).await?;
    match competence::parse_overrides_csv(&text, &known) {
        Ok(list) => {
            competence::save_overrides(
                &state.db,
                &list,
                trace(
                    &visitor,
                    "referentiel.import",
                    serde_json::json!({"exceptions": list.len()}),
                ),
            )
            .await?;
            done(
                &state,
                &visitor,
                format!("{} exceptions importées.", list.len()),
            )
            .await
        }
        Err(problems) => import_refused(&state, &visitor, "csv_exceptions", &problems).await,
    }
}

/// The page again with why an import was refused (nothing was written).
async fn import_refused(
    state: &AppState,
    visitor: &Visitor,
    field: &str,
    problems: &[String],
) -> Result<Response, AppError> {
    let mut errors = Errors::default();
    errors.add(
        field,
        format!(
            "Import refusé, rien n'a été modifié : {}.",
            problems.join(" ; ")
        ),
    );
    referential_page(state, visitor, errors, None).await
}
