//! The council online (`/admin/{collectivité}/conseil`): the collectivité's assemblies, their
//! members and sessions. A session's life (agenda, convocation, opening with the quorum, votes,
//! closing) is in `seance`; the délibérations' signature, publication as PDF/A and the public
//! pages in `publication`; the e-mails in `mails`.

pub mod annexes;
pub mod espace;
pub mod legalite;
pub mod mails;
pub mod proces_verbal;
pub mod publication;
pub mod seance;

use crate::auth::{CollectiviteContext, Visitor};
use crate::error::AppError;
use crate::form::{Errors, Fields};
use crate::layout::Layout;
use crate::page::html;
use crate::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use guichet_domain::conseil::{self as rules, Fonction, Organe};
use guichet_store::conseil::{self as store, Assemblee, Elu, NewAssemblee, Seance};
use guichet_store::trace::Trace;

/// An assembly as the admin page shows it.
struct AssembleeView {
    a: Assemblee,
    elus: Vec<Elu>,
    seances: Vec<Seance>,
    /// The ids (and names) of its forms' fields, unique on the page: member's name, e-mail,
    /// function; session's day, hour, place.
    ids: [String; 6],
}

/// The fields of an assembly's forms.
fn ids(assemblee: i64) -> [String; 6] {
    [
        "elu-nom",
        "elu-courriel",
        "elu-fonction",
        "seance-jour",
        "seance-heure",
        "seance-lieu",
    ]
    .map(|f| format!("{f}-{assemblee}"))
}

#[derive(Template)]
#[template(path = "conseil/admin.html")]
struct AdminPage {
    layout: Layout,
    slug: String,
    assemblees: Vec<AssembleeView>,
    organes: Vec<(&'static str, &'static str)>,
    fonctions: Vec<(&'static str, &'static str)>,
    /// The form sent with errors, shown as typed.
    form: Fields,
    errors: Errors,
}

impl AdminPage {
    fn val(&self, field: &str) -> String {
        self.form.get(field)
    }

    /// Whether the form of this field was sent (then it is shown open).
    fn typed(&self, field: &str) -> bool {
        self.form.0.iter().any(|(k, _)| k == field)
    }

    fn fonction(&self, e: &Elu, a: &Assemblee) -> &'static str {
        e.fonction.label(a.organe)
    }

    fn when(&self, ms: &i64) -> String {
        crate::format::format_ms(*ms)
    }
}

async fn render(
    state: &AppState,
    visitor: &Visitor,
    ctx: &CollectiviteContext,
    form: Fields,
    errors: Errors,
) -> Result<Response, AppError> {
    let c = &ctx.collectivite;
    let mut assemblees = Vec::new();
    let seances = store::seances(&state.db, c.id, 200).await?;
    for a in store::assemblees(&state.db, c.id).await? {
        assemblees.push(AssembleeView {
            ids: ids(a.id),
            elus: store::elus(&state.db, c.id, a.id).await?,
            seances: seances
                .iter()
                .filter(|s| s.assemblee_id == a.id)
                .cloned()
                .collect(),
            a,
        });
    }
    let status = errors.status();
    let page = html(&AdminPage {
        layout: Layout::for_visitor(state, visitor).await,
        slug: c.slug.clone(),
        assemblees,
        organes: Organe::ALL.iter().map(|o| (o.code(), o.label())).collect(),
        fonctions: Fonction::ALL
            .iter()
            .map(|f| (f.code(), f.label(Organe::ConseilMunicipal)))
            .collect(),
        form,
        errors,
    })?;
    Ok((status, page).into_response())
}

pub async fn page(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
) -> Result<Response, AppError> {
    render(&state, &visitor, &ctx, Fields::parse(""), Errors::default()).await
}

fn back(ctx: &CollectiviteContext) -> Response {
    Redirect::to(&format!("/admin/{}/conseil", ctx.collectivite.slug)).into_response()
}

/// A new assembly of the collectivité.
pub async fn create_assemblee(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    body: String,
) -> Result<Response, AppError> {
    let f = Fields::parse(&body);
    let mut errors = Errors::default();
    let organe = Organe::from_code(&f.get("organe"));
    if organe.is_none() {
        errors.add("organe", "Choisissez le type d'assemblée.");
    }
    let name = f.get("nom");
    if name.is_empty() {
        errors.add(
            "nom",
            "Indiquez le nom de l'assemblée, par exemple « Conseil municipal de Dijon ».",
        );
    }
    let siret = f.get("siret").replace(' ', "");
    if !rules::siret_valide(&siret) {
        errors.add("siret", "Indiquez le SIRET de la collectivité : 14 chiffres, tel qu'il figure au répertoire Sirene.");
    }
    let stream = f.get("diffusion");
    if !stream.is_empty() && !stream.starts_with("https://") {
        errors.add(
            "diffusion",
            "Indiquez une adresse commençant par https://, ou laissez vide.",
        );
    }
    let (Some(organe), true) = (organe, errors.is_empty()) else {
        return render(&state, &visitor, &ctx, f, errors).await;
    };
    let c = &ctx.collectivite;
    let mut event = visitor.event(Some(c.id), "conseil.assemblee.creation");
    event.details = serde_json::json!({"organe": organe.code(), "nom": name}).to_string();
    store::create_assemblee(
        &state.db,
        NewAssemblee {
            tenant_id: c.id,
            organe,
            name,
            siret,
            stream_url: Some(stream).filter(|s| !s.is_empty()),
        },
        state.config.clock.now_ms(),
        Trace::of(event),
    )
    .await?;
    Ok(back(&ctx))
}

/// The assembly of this collectivité named in the path, if any.
async fn assemblee_of(
    state: &AppState,
    ctx: &CollectiviteContext,
    id: i64,
) -> anyhow::Result<Option<Assemblee>> {
    Ok(store::assemblees(&state.db, ctx.collectivite.id)
        .await?
        .into_iter()
        .find(|a| a.id == id))
}

/// A new member of an assembly.
pub async fn add_elu(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    Path((_, id)): Path<(String, i64)>,
    body: String,
) -> Result<Response, AppError> {
    let Some(a) = assemblee_of(&state, &ctx, id).await? else {
        return Ok(crate::page::not_found(State(state)).await);
    };
    let f = Fields::parse(&body);
    let [nom, courriel, fonction_id, ..] = ids(a.id);
    let mut errors = Errors::default();
    let name = f.get(&nom);
    if name.is_empty() {
        errors.add(&nom, "Indiquez le nom de l'élu·e.");
    }
    let email = guichet_store::compte::normalize_email(&f.get(&courriel)).ok();
    if email.is_none() {
        errors.add(
            &courriel,
            "Indiquez une adresse électronique valide : la convocation y est envoyée.",
        );
    }
    let fonction = Fonction::from_code(&f.get(&fonction_id));
    if fonction.is_none() {
        errors.add(&fonction_id, "Choisissez la fonction.");
    }
    let elus = store::elus(&state.db, ctx.collectivite.id, a.id).await?;
    if fonction == Some(Fonction::Presidence)
        && elus.iter().any(|e| e.fonction == Fonction::Presidence)
    {
        errors.add(
            &fonction_id,
            format!(
                "L'assemblée a déjà sa présidence ({}).",
                a.organe.presidence()
            ),
        );
    }
    let (Some(email), Some(fonction), true) = (email, fonction, errors.is_empty()) else {
        return render(&state, &visitor, &ctx, f, errors).await;
    };
    let c = &ctx.collectivite;
    let mut event = visitor.event_on(Some(c.id), "conseil.elu.ajout", "assemblee", a.id);
    event.details = serde_json::json!({"nom": name, "fonction": fonction.code()}).to_string();
    store::add_elu(
        &state.db,
        c.id,
        a.id,
        store::NewElu {
            name,
            email,
            fonction,
        },
        state.config.clock.now_ms(),
        Trace::of(event),
    )
    .await?;
    Ok(back(&ctx))
}

/// A new session of an assembly.
pub async fn create_seance(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    Path((_, id)): Path<(String, i64)>,
    body: String,
) -> Result<Response, AppError> {
    let Some(a) = assemblee_of(&state, &ctx, id).await? else {
        return Ok(crate::page::not_found(State(state)).await);
    };
    let f = Fields::parse(&body);
    let [_, _, _, jour, heure, lieu] = ids(a.id);
    let mut errors = Errors::default();
    let at = seance_time(
        &f,
        [&jour, &heure],
        state.config.clock.now_ms(),
        &mut errors,
    );
    let place = f.get(&lieu);
    if place.is_empty() {
        errors.add(
            &lieu,
            "Indiquez le lieu de la séance, par exemple « Salle du conseil, hôtel de ville ».",
        );
    }
    let (Some(at), true) = (at, errors.is_empty()) else {
        return render(&state, &visitor, &ctx, f, errors).await;
    };
    let c = &ctx.collectivite;
    let mut event = visitor.event_on(Some(c.id), "conseil.seance.creation", "assemblee", a.id);
    event.details =
        serde_json::json!({"date": crate::format::format_ms(at), "lieu": place}).to_string();
    let id = store::create_seance(
        &state.db,
        c.id,
        a.id,
        store::NewSeance {
            starts_at: at,
            place,
            after_seance_id: None,
        },
        state.config.clock.now_ms(),
        Trace::of(event),
    )
    .await?;
    Ok(Redirect::to(&format!("/admin/{}/conseil/seances/{id}", c.slug)).into_response())
}

/// The date and hour of a session typed in the fields `[day, hour]`, in the future.
fn seance_time(f: &Fields, [jour, heure]: [&str; 2], now: i64, errors: &mut Errors) -> Option<i64> {
    let at = rules::horaire(&f.get(jour), &f.get(heure));
    match at {
        None => {
            if rules::horaire(&f.get(jour), "00:00").is_none() {
                errors.add(
                    jour,
                    "Indiquez le jour de la séance, par exemple 2026-12-15.",
                );
            } else {
                errors.add(heure, "Indiquez l'heure de la séance, par exemple 18:30.");
            }
            None
        }
        Some(at) if at <= now => {
            errors.add(jour, "La séance doit avoir lieu dans le futur.");
            None
        }
        Some(at) => Some(at),
    }
}
