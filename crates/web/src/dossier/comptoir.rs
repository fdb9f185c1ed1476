//! The counter (accueil physique): an agent or an aidant files a dossier for a walk-in person
//! who has no account (identity and contact typed, channel "guichet") and prints the accusé de
//! réception with a tracking code. The person follows the dossier with the code and their last
//! name, or claims it into an account later.

use crate::auth::{CollectiviteContext, Visitor};
use crate::error::AppError;
use crate::form::{Errors, Fields};
use crate::layout::Layout;
use crate::page::html;
use crate::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use guichet_store::trace::Trace;
use guichet_store::{collectivite, comptoir, demarche, dossier};

#[derive(Template)]
#[template(path = "dossier/guichet.html")]
struct CounterPage {
    layout: Layout,
    action: String,
    /// (value "collectivité:id", label)
    demarches: Vec<(String, String)>,
    /// The dossiers this person filed here and nobody has claimed yet: (id, number, applicant,
    /// state, tracking code).
    filed: Vec<(i64, String, String, &'static str, String)>,
    typed: Fields,
    errors: Errors,
}

impl CounterPage {
    fn typed(&self, k: &str) -> String {
        self.typed.get(k)
    }
}

/// The published démarches offered at this counter: a collectivité's, or every one (aidants).
async fn offered(
    state: &AppState,
    tenant_id: Option<i64>,
) -> anyhow::Result<Vec<(String, String)>> {
    let collectivites = match tenant_id {
        Some(id) => collectivite::by_id(&state.db, id)
            .await?
            .into_iter()
            .collect(),
        None => collectivite::list(&state.db).await?,
    };
    let mut out = Vec::new();
    for t in collectivites {
        for d in demarche::list(&state.db, t.id).await? {
            if d.status == demarche::Status::Publiee {
                out.push((
                    format!("{}:{}", t.id, d.id),
                    format!("{} — {}", d.title, t.name),
                ));
            }
        }
    }
    Ok(out)
}

async fn page(
    state: &AppState,
    visitor: &Visitor,
    action: String,
    tenant_id: Option<i64>,
    typed: Fields,
    errors: Errors,
) -> Result<Response, AppError> {
    let filed = match &visitor.user {
        Some(u) => comptoir::by_filer(&state.db, u.id)
            .await?
            .into_iter()
            .map(|(id, number, who, code, tracking)| {
                let label = guichet_domain::dossier::State::from_code(&code)
                    .map(|s| s.label())
                    .unwrap_or("");
                (
                    id,
                    number,
                    who,
                    label,
                    guichet_domain::text::group_code(&tracking),
                )
            })
            .collect(),
        None => Vec::new(),
    };
    let page = CounterPage {
        layout: Layout::for_visitor(state, visitor).await,
        action,
        demarches: offered(state, tenant_id).await?,
        filed,
        typed,
        errors,
    };
    crate::page::form_page(&page.errors, &page)
}

pub async fn agent_form(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
) -> Result<Response, AppError> {
    let action = format!("/admin/{}/guichet", ctx.collectivite.slug);
    page(
        &state,
        &visitor,
        action,
        Some(ctx.collectivite.id),
        Fields(Vec::new()),
        Errors::default(),
    )
    .await
}

pub async fn aidant_form(
    State(state): State<AppState>,
    visitor: Visitor,
) -> Result<Response, AppError> {
    page(
        &state,
        &visitor,
        "/aidant/guichet".into(),
        None,
        Fields(Vec::new()),
        Errors::default(),
    )
    .await
}

/// Opens the draft for the person and sends the agent to its first step.
async fn open(
    state: &AppState,
    visitor: &Visitor,
    action: String,
    tenant_id: Option<i64>,
    body: &str,
) -> Result<Response, AppError> {
    let f = Fields::parse(body);
    let user = visitor.signed_in()?.clone();
    let mut errors = Errors::default();
    let chosen = f.get("demarche");
    let target = chosen
        .split_once(':')
        .and_then(|(t, d)| Some((t.parse::<i64>().ok()?, d.parse::<i64>().ok()?)))
        .filter(|(t, _)| tenant_id.is_none_or(|only| only == *t));
    let d = match target {
        Some((t, id)) => demarche::get(&state.db, t, id)
            .await?
            .filter(|d| d.status == demarche::Status::Publiee),
        None => None,
    };
    if d.is_none() {
        errors.add("demarche", "Choisissez la démarche.");
    }
    let (first, last) = (f.get("prenom"), f.get("nom"));
    if first.is_empty() {
        errors.add("prenom", "Indiquez le prénom de la personne.");
    }
    if last.is_empty() {
        errors.add(
            "nom",
            "Indiquez le nom de la personne : il lui servira, avec le code, à suivre son dossier.",
        );
    }
    let email = f.get("email");
    if !email.is_empty() && guichet_store::compte::normalize_email(&email).is_err() {
        errors.add(
            "email",
            "Adresse électronique invalide (elle est facultative).",
        );
    }
    let phone = f.get("telephone");
    if !phone.is_empty() && guichet_domain::demarche::values::normalize_phone(&phone).is_none() {
        errors.add(
            "telephone",
            "Numéro de téléphone invalide (il est facultatif).",
        );
    }
    let (Some(d), true) = (d, errors.is_empty()) else {
        return page(state, visitor, action, tenant_id, f, errors).await;
    };
    let contact = [email, phone]
        .into_iter()
        .filter(|v| !v.is_empty())
        .collect::<Vec<_>>()
        .join(" — ");
    let mut event = visitor.event(Some(d.tenant_id), "dossier.guichet");
    event.details = serde_json::json!({ "canal": "guichet", "par": user.email }).to_string();
    let draft = dossier::Draft {
        tenant_id: d.tenant_id,
        demarche_id: d.id,
        version: d.published_version.unwrap_or(1),
        usager_id: None,
        applicant_name: format!("{first} {}", last.to_uppercase()),
        answers: Default::default(),
        commune_insee: None,
        // Opened at a help structure's counter (not a collectivité's): an aidant filed it.
        aidant_id: tenant_id.is_none().then_some(user.id),
    };
    let (x, _) =
        comptoir::open(&state.db, draft, user.id, &last, &contact, Trace::of(event)).await?;
    Ok(visitor.finish(Redirect::to(&format!("/dossiers/{}/etapes/0", x.id)).into_response()))
}

pub async fn agent_open(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    body: String,
) -> Result<Response, AppError> {
    let action = format!("/admin/{}/guichet", ctx.collectivite.slug);
    open(&state, &visitor, action, Some(ctx.collectivite.id), &body).await
}

pub async fn aidant_open(
    State(state): State<AppState>,
    visitor: Visitor,
    body: String,
) -> Result<Response, AppError> {
    open(&state, &visitor, "/aidant/guichet".into(), None, &body).await
}

#[derive(Template)]
#[template(path = "dossier/suivi.html")]
struct TrackPage {
    layout: Layout,
    code: String,
    nom: String,
    /// (number, démarche, collectivité, state label, history)
    found: Option<(
        String,
        String,
        String,
        &'static str,
        Vec<crate::dossier::HistoryLine>,
    )>,
    error: Option<String>,
}

#[derive(serde::Deserialize, Default)]
pub struct TrackQuery {
    #[serde(default)]
    code: String,
    #[serde(default)]
    nom: String,
}

/// The person follows their dossier with the code and their last name (no account needed).
pub async fn track(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(q): Query<TrackQuery>,
) -> Result<Response, AppError> {
    let mut found = None;
    let mut error = None;
    if !q.code.trim().is_empty() || !q.nom.trim().is_empty() {
        match comptoir::find(&state.db, &q.code, &q.nom).await? {
            Some((_, id)) => {
                if let Some(x) = dossier::get_any(&state.db, id).await? {
                    let title = demarche::get(&state.db, x.tenant_id, x.demarche_id).await?.map(|d| d.title).unwrap_or_default();
                    let collectivite_name = collectivite::by_id(&state.db, x.tenant_id).await?.map(|t| t.name).unwrap_or_default();
                    let files = guichet_store::files::of_dossier(&state.db, x.tenant_id, x.id).await?;
                    let history = crate::dossier::history_lines(&state, &x, false, &files).await?;
                    found = Some((x.number.clone(), title, collectivite_name, x.state.label(), history));
                }
            }
            None => error = Some("Aucun dossier ne correspond à ce code et à ce nom. Vérifiez le code imprimé sur l'accusé de réception et le nom de famille.".to_string()),
        }
    }
    let status = if error.is_some() {
        StatusCode::NOT_FOUND
    } else {
        StatusCode::OK
    };
    let page = TrackPage {
        layout: Layout::for_visitor(&state, &visitor).await,
        code: q.code.trim().to_string(),
        nom: q.nom.trim().to_string(),
        found,
        error,
    };
    Ok((status, html(&page)?).into_response())
}

#[derive(Template)]
#[template(path = "dossier/rattacher.html")]
struct ClaimPage {
    layout: Layout,
    code: String,
    nom: String,
    errors: Errors,
}

pub async fn claim_form(
    State(state): State<AppState>,
    visitor: Visitor,
) -> Result<Response, AppError> {
    html(&ClaimPage {
        layout: Layout::for_visitor(&state, &visitor).await,
        code: String::new(),
        nom: String::new(),
        errors: Errors::default(),
    })
}

/// A signed-in person takes a dossier filed for them at the counter into their account.
pub async fn claim(
    State(state): State<AppState>,
    visitor: Visitor,
    f: Fields,
) -> Result<Response, AppError> {
    let user = visitor.signed_in()?.clone();
    let (code, nom) = (f.get("code"), f.get("nom"));
    let found = comptoir::find(&state.db, &code, &nom).await?;
    let claimed = match found {
        Some((tenant_id, id)) => {
            let number = dossier::get_any(&state.db, id)
                .await?
                .map(|x| x.number)
                .unwrap_or_default();
            let event =
                visitor.event_on(Some(tenant_id), "dossier.rattachement", "dossier", &number);
            comptoir::claim(&state.db, id, user.id, Trace::of(event))
                .await?
                .then_some(id)
        }
        None => None,
    };
    match claimed {
        Some(id) => Ok(visitor.finish(Redirect::to(&format!("/dossiers/{id}")).into_response())),
        None => {
            let mut errors = Errors::default();
            errors.add("code", "Aucun dossier à rattacher ne correspond à ce code et à ce nom (ou il est déjà rattaché à un compte).");
            let page = ClaimPage {
                layout: Layout::for_visitor(&state, &visitor).await,
                code,
                nom,
                errors,
            };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, html(&page)?).into_response())
        }
    }
}

/// What the agent or aidant at the counter sees on the dossier page: the code to hand over.
pub(crate) async fn counter_note(
    state: &AppState,
    visitor: &Visitor,
    x: &guichet_store::dossier::Dossier,
) -> anyhow::Result<Option<String>> {
    if x.usager_id.is_some() {
        return Ok(None);
    }
    let Some(c) = comptoir::of(&state.db, x.id).await? else {
        return Ok(None);
    };
    // The agent or aidant who filed it at the counter; or the person who filed it without an
    // account (the page is only shown to the browser that followed the dossier's link).
    let shown = match &visitor.user {
        Some(user) => c.counter_by == Some(user.id),
        None => c.channel == comptoir::Channel::SansCompte,
    };
    Ok(c.tracking_code
        .filter(|_| shown)
        .map(|code| guichet_domain::text::group_code(&code)))
}
