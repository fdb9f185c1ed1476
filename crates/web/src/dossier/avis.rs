//! Opinions (avis) of experts outside the collectivité: an instructeur asks one by e-mail, the
//! expert answers once through the link, without an account; the answer is kept in the dossier.

use crate::auth::{CollectiviteContext, Visitor};
use crate::dossier::instruction::dossier_page;
use crate::error::AppError;
use crate::form::{Errors, Fields};
use crate::layout::Layout;
use crate::page::{html, not_found};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use guichet_domain::journal::Event;
use guichet_store::avis::{self, Avis, NewAvis};
use guichet_store::dossier::Dossier;
use guichet_store::outbox::NewMail;
use guichet_store::trace::Trace;
use guichet_store::{demarche, dossier};

/// What the dossier's page lists of its avis.
pub struct AvisLine {
    pub expert: String,
    pub question: String,
    pub asked: String,
    /// The answer, or where the request stands.
    pub answer: Option<String>,
    pub status: &'static str,
}

pub(crate) async fn lines(
    state: &AppState,
    tenant_id: i64,
    dossier_id: i64,
) -> anyhow::Result<Vec<AvisLine>> {
    let now = guichet_store::now_ms();
    Ok(avis::of_dossier(&state.db, tenant_id, dossier_id)
        .await?
        .into_iter()
        .map(|a| AvisLine {
            status: match (a.answered_at, a.expires_at > now) {
                (Some(_), _) => "rendu",
                (None, true) => "en attente",
                (None, false) => "lien expiré sans réponse",
            },
            expert: a.expert_email,
            question: a.question,
            asked: crate::format::format_day(a.requested_at),
            answer: a.answer,
        })
        .collect())
}

/// An instructeur asks an expert's opinion on a dossier.
pub async fn request(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    Path((_, id)): Path<(String, i64)>,
    form: Fields,
) -> Result<Response, AppError> {
    let Some(x) = dossier::get_for_agents(&state.db, ctx.collectivite.id, id).await? else {
        return Ok(not_found(State(state)).await);
    };
    if x.state == guichet_domain::dossier::State::Brouillon {
        return Ok(not_found(State(state)).await);
    }
    let mut errors = Errors::default();
    let email = guichet_domain::demarche::values::normalize_email(&form.get("expert"));
    if email.is_none() {
        errors.add(
            "expert",
            "Saisissez l'adresse électronique de l'expert, par exemple expert@exemple.fr.",
        );
    }
    let question = form.get("question");
    if question.chars().count() < 5 || question.chars().count() > 2000 {
        errors.add(
            "question",
            "Posez votre question à l'expert (5 à 2000 caractères).",
        );
    }
    let (Some(email), true) = (email, errors.is_empty()) else {
        return dossier_page(&state, &visitor, &ctx, id, errors, None).await;
    };
    let title = demarche::get(&state.db, ctx.collectivite.id, x.demarche_id)
        .await?
        .map(|d| d.title)
        .unwrap_or_default();
    let token = guichet_store::secret::random_token();
    let link = state.config.link(&format!("/avis/{token}"));
    let mail = NewMail {
        tenant_id: Some(ctx.collectivite.id),
        recipient: email.clone(),
        subject: format!("Demande d'avis — dossier n° {}", x.number),
        body: format!(
            "Bonjour,\n\n{} vous demande votre avis sur le dossier n° {} (« {title} ») :\n\n{question}\n\nPour lire le dossier et répondre, ouvrez ce lien (valable 30 jours, pour une seule réponse) :\n{link}\n\nCe lien est personnel : ne le transférez pas.",
            ctx.collectivite.name, x.number
        ),
    };
    let event = visitor.event_on(
        Some(ctx.collectivite.id),
        "dossier.avis_demande",
        "dossier",
        &x.number,
    );
    avis::request(
        &state.db,
        NewAvis {
            tenant_id: ctx.collectivite.id,
            dossier_id: x.id,
            expert_email: email.clone(),
            question,
            token_hash: guichet_store::secret::hash_token(&token),
            requested_by: visitor
                .user
                .as_ref()
                .map(|u| u.email.clone())
                .unwrap_or_default(),
        },
        Trace::of(event).mail(mail),
    )
    .await?;
    dossier_page(
        &state,
        &visitor,
        &ctx,
        id,
        Errors::default(),
        Some(format!("Avis demandé à {email}.")),
    )
    .await
}

#[derive(Template)]
#[template(path = "dossier/avis.html")]
struct AvisPage {
    layout: Layout,
    collectivite: String,
    title: String,
    number: String,
    question: String,
    answers_html: String,
    token: String,
    answer: String,
    errors: Errors,
}

/// The request a token opens, still open; or the French page that says why not.
async fn open(
    state: &AppState,
    visitor: &Visitor,
    token: &str,
) -> Result<Result<(Avis, Dossier), Response>, AppError> {
    let found = match token.len() {
        32..=128 => avis::by_token(&state.db, &guichet_store::secret::hash_token(token)).await?,
        _ => None,
    };
    let now = guichet_store::now_ms();
    let (status, text) = match &found {
        None => (
            StatusCode::NOT_FOUND,
            "Ce lien ne correspond à aucune demande d'avis : vérifiez qu'il est complet.",
        ),
        Some(a) if a.answered_at.is_some() => (
            StatusCode::GONE,
            "Votre avis a déjà été transmis : ce lien ne sert qu'une fois. Merci.",
        ),
        Some(a) if a.expires_at <= now => (
            StatusCode::GONE,
            "Ce lien a expiré : le service peut vous envoyer une nouvelle demande.",
        ),
        Some(_) => (StatusCode::OK, ""),
    };
    let x = match &found {
        Some(a) if status == StatusCode::OK => {
            dossier::get_for_agents(&state.db, a.tenant_id, a.dossier_id).await?
        }
        _ => None,
    };
    match (found, x) {
        (Some(a), Some(x)) => Ok(Ok((a, x))),
        _ => {
            let page =
                crate::page::message(state, visitor, "Demande d'avis", vec![text.into()], None)
                    .await?;
            Ok(Err((status, page).into_response()))
        }
    }
}

/// An event of the expert's, about the dossier.
fn expert_event(visitor: &Visitor, a: &Avis, x: &Dossier, action: &str) -> Event {
    let mut event = visitor.event_on(Some(a.tenant_id), action, "dossier", &x.number);
    event.actor = a.expert_email.clone();
    event
}

async fn avis_page(
    state: &AppState,
    visitor: &Visitor,
    (a, x): (&Avis, &Dossier),
    token: String,
    answer: String,
    errors: Errors,
) -> Result<Response, AppError> {
    let Some(def) = demarche::definition(&state.db, x.tenant_id, x.demarche_id, x.version).await?
    else {
        return Ok(not_found(State(state.clone())).await);
    };
    let collectivite = guichet_store::collectivite::by_id(&state.db, a.tenant_id)
        .await?
        .map(|t| t.name)
        .unwrap_or_default();
    // Files are named, not given: the expert reads the answers the service shares.
    let files = guichet_store::files::of_dossier(&state.db, x.tenant_id, x.id).await?;
    let names = crate::dossier::file_names(state, x, &def, &files).await?;
    let status = errors.status();
    let page = AvisPage {
        layout: Layout::for_visitor(state, visitor).await,
        collectivite,
        title: def.title.clone(),
        number: x.number.clone(),
        question: a.question.clone(),
        answers_html: crate::dossier::answers_html(&def, &x.answers, &names),
        token,
        answer,
        errors,
    };
    Ok((status, html(&page)?).into_response())
}

/// The expert's page: the question, the dossier's answers, the form.
pub async fn show(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    let (a, x) = match open(&state, &visitor, &token).await? {
        Ok(found) => found,
        Err(page) => return Ok(page),
    };
    // The expert reads a usager's dossier: in the journal, as every look at one.
    let event = expert_event(&visitor, &a, &x, "dossier.consultation");
    guichet_store::journal::append(&state.db, &event).await?;
    avis_page(
        &state,
        &visitor,
        (&a, &x),
        token,
        String::new(),
        Errors::default(),
    )
    .await
}

/// The expert's answer, once.
pub async fn answer(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(token): Path<String>,
    form: Fields,
) -> Result<Response, AppError> {
    let (a, x) = match open(&state, &visitor, &token).await? {
        Ok(found) => found,
        Err(page) => return Ok(page),
    };
    let text = form.get("avis");
    if text.chars().count() < 2 || text.chars().count() > 10_000 {
        let mut errors = Errors::default();
        errors.add("avis", "Écrivez votre avis (10 000 caractères au plus).");
        return avis_page(&state, &visitor, (&a, &x), token, text, errors).await;
    }
    let event = expert_event(&visitor, &a, &x, "dossier.avis_rendu");
    let saved = avis::answer(&state.db, &a, &text, Trace::of(event)).await?;
    let lines = if saved {
        vec!["Merci : votre avis a été transmis au service, qui le joint au dossier.".into()]
    } else {
        vec!["Votre avis a déjà été transmis, ou le lien a expiré : rien n'a été enregistré de nouveau.".into()]
    };
    let page = crate::page::message(&state, &visitor, "Avis transmis", lines, None).await?;
    Ok((
        if saved {
            StatusCode::OK
        } else {
            StatusCode::GONE
        },
        page,
    )
        .into_response())
}
