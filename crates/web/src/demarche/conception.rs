//! Designing démarches (admins): import a definition, edit it as a new draft version, preview,
//! publish, close, reopen, export.

use crate::auth::{CollectiviteContext, Visitor};
use crate::demarche::formulaire::Renderer;
use crate::error::AppError;
use crate::form::Errors;
use crate::layout::Layout;
use crate::page::{html, not_found};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use guichet_domain::demarche::{Answers, Definition, DefinitionError};
use guichet_store::collectivite::Collectivite;
use guichet_store::demarche::{self, Demarche, Status};
use guichet_store::trace::Trace;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "demarche/admin-demarches.html")]
struct ListPage {
    layout: Layout,
    collectivite: Collectivite,
    rows: Vec<(i64, String, &'static str)>,
    errors: Errors,
    definition: String,
}

async fn list_page(
    state: &AppState,
    visitor: &Visitor,
    ctx: &CollectiviteContext,
    errors: Errors,
    definition: String,
) -> Result<Response, AppError> {
    let rows = demarche::list(&state.db, ctx.collectivite.id)
        .await?
        .into_iter()
        .map(|d| (d.id, d.title, d.status.label()))
        .collect();
    let status = errors.status();
    let page = ListPage {
        layout: Layout::for_visitor(state, visitor).await,
        collectivite: ctx.collectivite.clone(),
        rows,
        errors,
        definition,
    };
    Ok((status, html(&page)?).into_response())
}

pub async fn list(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
) -> Result<Response, AppError> {
    list_page(&state, &visitor, &ctx, Errors::default(), String::new()).await
}

#[derive(Deserialize)]
pub struct DefinitionForm {
    #[serde(default)]
    definition: String,
}

fn definition_errors(errors: &[DefinitionError]) -> Errors {
    let mut e = Errors::default();
    let text: Vec<String> = errors.iter().map(|d| d.to_string()).collect();
    e.add(
        "definition",
        format!("La définition n'est pas valide : {}", text.join(" ; ")),
    );
    e
}

pub async fn import(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    Form(f): Form<DefinitionForm>,
) -> Result<Response, AppError> {
    let def = match Definition::from_json(&f.definition) {
        Ok(d) => d,
        Err(errors) => {
            return list_page(
                &state,
                &visitor,
                &ctx,
                definition_errors(&errors),
                f.definition,
            )
            .await
        }
    };
    let event = visitor.event(Some(ctx.collectivite.id), "demarche.creation");
    let d = demarche::create(&state.db, ctx.collectivite.id, &def, Trace::of(event)).await?;
    Ok(Redirect::to(&format!(
        "/admin/{}/demarches/{}",
        ctx.collectivite.slug, d.id
    ))
    .into_response())
}

#[derive(Deserialize)]
pub struct NewForm {
    #[serde(default)]
    titre: String,
}

/// Creates an empty démarche (one page, no field yet) to be built with the editor.
pub async fn create(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    Form(f): Form<NewForm>,
) -> Result<Response, AppError> {
    let title = f.titre.trim();
    if title.is_empty() || title.chars().count() > 200 {
        let mut errors = Errors::default();
        errors.add("titre", "Donnez un titre de 1 à 200 caractères.");
        return list_page(&state, &visitor, &ctx, errors, String::new()).await;
    }
    let def = Definition::from_json(
        &serde_json::json!({
            "title": title,
            "description": "À compléter : à quoi sert cette démarche.",
            "retention_months": 12,
            "pages": [{"title": "Votre demande", "fields": []}],
        })
        .to_string(),
    )
    .map_err(|e| anyhow::anyhow!("définition initiale invalide : {e:?}"))?;
    let event = visitor.event(Some(ctx.collectivite.id), "demarche.creation");
    let d = demarche::create(&state.db, ctx.collectivite.id, &def, Trace::of(event)).await?;
    Ok(Redirect::to(&format!(
        "/admin/{}/demarches/{}/editeur",
        ctx.collectivite.slug, d.id
    ))
    .into_response())
}

#[derive(Template)]
#[template(path = "demarche/admin-demarche.html")]
struct DemarchePage {
    layout: Layout,
    collectivite: Collectivite,
    d: Demarche,
    shown_version: i64,
    preview: String,
    definition: String,
    errors: Errors,
    flash: Option<String>,
    webhook_url: Option<String>,
    /// The webhook's new secret, shown once right after it is set.
    webhook_secret: Option<String>,
    /// Latest deliveries: (created, status, attempts, last error).
    deliveries: Vec<(String, &'static str, i64, String)>,
    templates: crate::demarche::modele::TemplateView,
}

/// The démarche's page with one error (tied to `key`).
pub(crate) async fn page_with_error(
    state: &AppState,
    visitor: &Visitor,
    ctx: &CollectiviteContext,
    id: i64,
    key: &str,
    message: &str,
) -> Result<Response, AppError> {
    let mut errors = Errors::default();
    errors.add(key, message);
    demarche_page(state, visitor, ctx, id, errors, None, Extras::default()).await
}

/// The démarche's page with a message at the top.
pub(crate) async fn page_with_flash(
    state: &AppState,
    visitor: &Visitor,
    ctx: &CollectiviteContext,
    id: i64,
    flash: String,
) -> Result<Response, AppError> {
    let extras = Extras {
        flash: Some(flash),
        ..Default::default()
    };
    demarche_page(state, visitor, ctx, id, Errors::default(), None, extras).await
}

/// What the admin page shows besides the definition.
#[derive(Default)]
struct Extras {
    flash: Option<String>,
    webhook_secret: Option<String>,
}

/// The démarche and the definition being edited (the draft, else the published version).
pub(crate) async fn load(
    state: &AppState,
    ctx: &CollectiviteContext,
    id: i64,
) -> anyhow::Result<Option<(Demarche, i64, Definition)>> {
    let Some(d) = demarche::get(&state.db, ctx.collectivite.id, id).await? else {
        return Ok(None);
    };
    let version = d.draft_version.or(d.published_version).unwrap_or(1);
    let Some(def) = demarche::definition(&state.db, ctx.collectivite.id, d.id, version).await?
    else {
        return Ok(None);
    };
    Ok(Some((d, version, def)))
}

async fn demarche_page(
    state: &AppState,
    visitor: &Visitor,
    ctx: &CollectiviteContext,
    id: i64,
    errors: Errors,
    typed: Option<String>,
    extras: Extras,
) -> Result<Response, AppError> {
    let Some((d, version, def)) = load(state, ctx, id).await? else {
        return Ok(not_found(State(state.clone())).await);
    };
    let labels = def
        .all_fields()
        .iter()
        .map(|f| (f.id.clone(), f.label.clone()))
        .collect::<Vec<_>>();
    let mut preview = String::new();
    for p in &def.pages {
        preview.push_str(&format!(
            "<h3>{}</h3>",
            crate::demarche::formulaire::esc(&p.title)
        ));
        // The preview's controls are not submitted anywhere; their ids are prefixed to stay unique.
        preview.push_str(
            &Renderer {
                answers: &Answers::default(),
                errors: &[],
                labels: labels.clone(),
                id_prefix: "apercu-",
                file_names: &Default::default(),
                coffre: &[],
                settle_earlier: false,
            }
            .render(&p.fields),
        );
    }
    let status = errors.status();
    let page = DemarchePage {
        layout: Layout::for_visitor(state, visitor).await,
        collectivite: ctx.collectivite.clone(),
        shown_version: version,
        preview,
        definition: typed.unwrap_or_else(|| def.to_json()),
        errors,
        flash: extras.flash,
        webhook_url: guichet_store::webhook::settings(&state.db, ctx.collectivite.id, d.id)
            .await?
            .map(|w| w.url),
        webhook_secret: extras.webhook_secret,
        deliveries: guichet_store::webhook::recent(&state.db, ctx.collectivite.id, d.id, 10)
            .await?
            .into_iter()
            .map(|w| {
                let status = match w.status.as_str() {
                    "delivered" => "remis",
                    "failed" => "abandonné",
                    _ => "en attente",
                };
                (
                    crate::format::format_ms(w.created_at),
                    status,
                    w.attempts,
                    w.last_error.unwrap_or_default(),
                )
            })
            .collect(),
        templates: crate::demarche::modele::view(state, &d).await?,
        d,
    };
    Ok((status, html(&page)?).into_response())
}

pub async fn show(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    Path((_, id)): Path<(String, i64)>,
) -> Result<Response, AppError> {
    demarche_page(
        &state,
        &visitor,
        &ctx,
        id,
        Errors::default(),
        None,
        Extras::default(),
    )
    .await
}

pub async fn save(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    Path((_, id)): Path<(String, i64)>,
    Form(f): Form<DefinitionForm>,
) -> Result<Response, AppError> {
    let Some(d) = demarche::get(&state.db, ctx.collectivite.id, id).await? else {
        return Ok(not_found(State(state)).await);
    };
    let def = match Definition::from_json(&f.definition) {
        Ok(def) => def,
        Err(errors) => {
            return demarche_page(
                &state,
                &visitor,
                &ctx,
                id,
                definition_errors(&errors),
                Some(f.definition),
                Extras::default(),
            )
            .await
        }
    };
    if let Err(message) = crate::demarche::modele::check_adopted_edit(&state, &d, &def).await? {
        let mut errors = Errors::default();
        errors.add("definition", message);
        return demarche_page(
            &state,
            &visitor,
            &ctx,
            id,
            errors,
            Some(f.definition),
            Extras::default(),
        )
        .await;
    }
    let event = visitor.event(Some(ctx.collectivite.id), "demarche.modification");
    let version = demarche::save_draft(&state.db, &d, &def, move |version| {
        Trace::of(with_details(
            event,
            serde_json::json!({ "version": version }),
        ))
    })
    .await?;
    demarche_page(
        &state,
        &visitor,
        &ctx,
        id,
        Errors::default(),
        None,
        Extras {
            flash: Some(format!("Brouillon de la version {version} enregistré.")),
            ..Default::default()
        },
    )
    .await
}

async fn set(
    state: AppState,
    visitor: Visitor,
    ctx: CollectiviteContext,
    id: i64,
    what: &str,
) -> Result<Response, AppError> {
    let Some(d) = demarche::get(&state.db, ctx.collectivite.id, id).await? else {
        return Ok(not_found(State(state)).await);
    };
    if what == "publication" {
        if let Some((_, _, def)) = load(&state, &ctx, id).await? {
            let mut problems = def.publication_problems();
            // A requirement the platform cannot meet would turn every resident away with a 403.
            if def.identity == guichet_domain::demarche::IdentityLevel::Franceconnect
                && state.config.franceconnect.is_none()
            {
                problems.push("elle demande une identité FranceConnect, mais FranceConnect n'est pas configuré sur cette plateforme : choisissez l'identité « compte » dans les réglages, ou demandez à l'opérateur de configurer FranceConnect".into());
            }
            if let Some(code) = def.competence.as_deref().filter(|c| !c.trim().is_empty()) {
                if guichet_store::competence::get(&state.db, code)
                    .await?
                    .is_none()
                {
                    problems.push(format!(
                        "la compétence « {code} » n'existe pas dans le référentiel"
                    ));
                }
            }
            // Routing names the collectivité's teams: each must exist.
            if !def.routing.is_empty() {
                let teams = guichet_store::equipe::equipes(&state.db, ctx.collectivite.id).await?;
                for rule in &def.routing {
                    if !teams.iter().any(|t| t.name == rule.team) {
                        problems.push(format!(
                            "l'orientation nomme l'équipe « {} », que la collectivité n'a pas : créez-la dans « Équipe » ou corrigez son nom",
                            rule.team
                        ));
                    }
                }
            }
            if !problems.is_empty() {
                let mut errors = Errors::default();
                errors.add(
                    "publication",
                    format!("Publication impossible : {}.", problems.join(" ; ")),
                );
                return demarche_page(&state, &visitor, &ctx, id, errors, None, Extras::default())
                    .await;
            }
        }
    }
    let trace = Trace::of(visitor.event(Some(ctx.collectivite.id), &format!("demarche.{what}")));
    let flash = match what {
        "publication" => match demarche::publish(&state.db, &d, trace).await? {
            Some(v) => format!("Version {v} publiée : les nouveaux dossiers l'utilisent."),
            None => "Rien à publier.".into(),
        },
        "fermeture" => {
            demarche::set_status(&state.db, &d, Status::Fermee, trace).await?;
            "Démarche fermée aux nouveaux dossiers ; les dossiers en cours continuent.".into()
        }
        _ => {
            if d.published_version.is_some() {
                demarche::set_status(&state.db, &d, Status::Publiee, trace).await?;
            }
            "Démarche rouverte.".into()
        }
    };
    demarche_page(
        &state,
        &visitor,
        &ctx,
        id,
        Errors::default(),
        None,
        Extras {
            flash: Some(flash),
            ..Default::default()
        },
    )
    .await
}

#[derive(Deserialize)]
pub struct WebhookForm {
    #[serde(default)]
    url: String,
}

/// Sets the démarche's webhook URL (a new secret is drawn and shown once), or removes it.
pub async fn webhook(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    Path((_, id)): Path<(String, i64)>,
    Form(f): Form<WebhookForm>,
) -> Result<Response, AppError> {
    let Some(d) = demarche::get(&state.db, ctx.collectivite.id, id).await? else {
        return Ok(not_found(State(state)).await);
    };
    let url = f.url.trim();
    if !url.is_empty() {
        let refused = crate::webhook::acceptable_url(url, state.config.is_tls()).and_then(|()| {
            if crate::outgoing::allowed_target(url, &state.config.outgoing_allowed_hosts) {
                Ok(())
            } else {
                Err("Cette adresse est celle d'un réseau privé ou réservé : Guichet n'y envoie rien. Indiquez l'adresse publique du logiciel destinataire.")
            }
        });
        if let Err(message) = refused {
            let mut errors = Errors::default();
            errors.add("url", message);
            return demarche_page(&state, &visitor, &ctx, id, errors, None, Extras::default())
                .await;
        }
    }
    // The secret itself never goes to the journal.
    let mut event = visitor.event_on(
        Some(ctx.collectivite.id),
        "demarche.webhook",
        "demarche",
        &d.slug,
    );
    event.details = serde_json::json!({"url": Some(url).filter(|u| !u.is_empty())}).to_string();
    let secret = guichet_store::webhook::configure(
        &state.db,
        ctx.collectivite.id,
        d.id,
        Some(url).filter(|u| !u.is_empty()),
        Trace::of(event),
    )
    .await?;
    let flash = if secret.is_some() {
        "Webhook enregistré. Copiez son secret maintenant : il ne sera plus affiché."
    } else {
        "Webhook supprimé."
    };
    demarche_page(
        &state,
        &visitor,
        &ctx,
        id,
        Errors::default(),
        None,
        Extras {
            flash: Some(flash.into()),
            webhook_secret: secret,
        },
    )
    .await
}

pub async fn publish(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    Path((_, id)): Path<(String, i64)>,
) -> Result<Response, AppError> {
    set(state, visitor, ctx, id, "publication").await
}

pub async fn close(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    Path((_, id)): Path<(String, i64)>,
) -> Result<Response, AppError> {
    set(state, visitor, ctx, id, "fermeture").await
}

pub async fn reopen(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    Path((_, id)): Path<(String, i64)>,
) -> Result<Response, AppError> {
    set(state, visitor, ctx, id, "reouverture").await
}

pub async fn export(
    State(state): State<AppState>,
    ctx: CollectiviteContext,
    Path((_, id)): Path<(String, i64)>,
) -> Result<Response, AppError> {
    let Some((d, _, def)) = load(&state, &ctx, id).await? else {
        return Ok(not_found(State(state)).await);
    };
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/json; charset=utf-8".to_string(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}.json\"", d.slug),
            ),
        ],
        def.to_json(),
    )
        .into_response())
}

/// A journal entry with its details.
pub(crate) fn with_details(
    mut event: guichet_domain::journal::Event,
    details: serde_json::Value,
) -> guichet_domain::journal::Event {
    event.details = details.to_string();
    event
}
