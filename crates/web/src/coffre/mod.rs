//! The usager's document vault: typed documents with their date of validity, kept for them
//! alone; attached to a dossier in one action (a copy then goes to that collectivité); a warning
//! before one expires, on the page and by e-mail.

use crate::auth::Visitor;
use crate::error::AppError;
use crate::form::read_form;
use crate::form::Errors;
use crate::layout::Layout;
use crate::page::not_found;
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Request, State};
use axum::response::{IntoResponse, Redirect, Response};
use guichet_domain::coffre::{kind_label, validity, Validity, KINDS};
use guichet_domain::demarche::values::{check_file, parse_date};
use guichet_store::coffre::{self as store, Document, NewDocument};
use guichet_store::trace::Trace;

/// Vault documents: PDF or images, 10 MB at most.
const ACCEPTED: [&str; 3] = ["application/pdf", "image/jpeg", "image/png"];
const MAX_MB: u32 = 10;

/// A document as the page lists it.
pub struct Listed {
    pub d: Document,
    pub kind: &'static str,
    pub validity: Validity,
    /// "jj/mm/aaaa"
    pub until: String,
}

pub(crate) fn listed(d: Document, today: time::Date) -> Listed {
    let end = d.valid_until.as_deref().and_then(parse_date);
    Listed {
        kind: kind_label(&d.kind).unwrap_or("Document"),
        validity: validity(end, today),
        until: end
            .map(|e| format!("{:02}/{:02}/{}", e.day(), u8::from(e.month()), e.year()))
            .unwrap_or_default(),
        d,
    }
}

#[derive(Template)]
#[template(path = "coffre/coffre.html")]
struct CoffrePage {
    layout: Layout,
    docs: Vec<Listed>,
    kinds: &'static [(&'static str, &'static str)],
    /// What was chosen in the upload form, kept when it is refused: (kind, date).
    typed: (String, String),
    errors: Errors,
    flash: Option<String>,
}

async fn page(
    state: &AppState,
    visitor: &Visitor,
    typed: (String, String),
    errors: Errors,
    flash: Option<String>,
) -> Result<Response, AppError> {
    let user = visitor.signed_in()?;
    let today = crate::profil::today();
    let docs = store::list(&state.db, user.id)
        .await?
        .into_iter()
        .map(|d| listed(d, today))
        .collect();
    let page = CoffrePage {
        layout: Layout::for_visitor(state, visitor).await,
        docs,
        kinds: KINDS,
        typed,
        errors,
        flash,
    };
    crate::page::form_page(&page.errors, &page)
}

#[derive(serde::Deserialize, Default)]
pub struct ShowQuery {
    #[serde(default)]
    fait: String,
}

pub async fn show(
    State(state): State<AppState>,
    visitor: Visitor,
    axum::extract::Query(q): axum::extract::Query<ShowQuery>,
) -> Result<Response, AppError> {
    let flash = match q.fait.as_str() {
        "ajout" => Some("Document ajouté à votre porte-documents.".to_string()),
        "suppression" => Some("Document supprimé de votre porte-documents. Les copies déjà jointes à des dossiers restent dans ces dossiers.".to_string()),
        _ => None,
    };
    page(
        &state,
        &visitor,
        Default::default(),
        Errors::default(),
        flash,
    )
    .await
}

pub async fn add(
    State(state): State<AppState>,
    visitor: Visitor,
    req: Request,
) -> Result<Response, AppError> {
    let user = visitor.signed_in()?.clone();
    let (pairs, uploads) = read_form(&state, req).await?;
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    };
    let (kind, until) = (get("type"), get("valable_jusqu_au"));
    let mut errors = Errors::default();
    if kind_label(&kind).is_none() {
        errors.add("type", "Choisissez le type de document.");
    }
    let valid_until = if until.is_empty() {
        None
    } else {
        match parse_date(&until) {
            Some(d) => Some(d.to_string()),
            None => {
                errors.add(
                    "valable_jusqu_au",
                    "Date invalide : écrivez-la au format JJ/MM/AAAA.",
                );
                None
            }
        }
    };
    let accept: Vec<String> = ACCEPTED.iter().map(|s| s.to_string()).collect();
    let file = uploads.iter().find(|(k, _, _)| k == "fichier");
    let mime = match file {
        None => {
            errors.add("fichier", "Choisissez le fichier à ajouter.");
            None
        }
        Some((_, _, bytes)) => match check_file(bytes, &accept, MAX_MB) {
            Ok(m) => Some(m),
            Err(message) => {
                errors.add("fichier", message);
                None
            }
        },
    };
    let (Some((_, name, bytes)), Some(mime), true) = (file, mime, errors.is_empty()) else {
        return page(&state, &visitor, (kind, until), errors, None).await;
    };
    let mut event = visitor.event_on(None, "document.ajout", "document", "");
    event.details = serde_json::json!({ "type": kind }).to_string();
    store::add(
        &state.db,
        &state.config.files,
        user.id,
        &NewDocument {
            kind: &kind,
            name,
            mime,
            valid_until,
            bytes,
        },
        Trace::of(event),
    )
    .await?;
    Ok(visitor.finish(Redirect::to("/compte/documents?fait=ajout").into_response()))
}

/// The usager downloads their own document (never rendered inline).
pub async fn download(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let user = visitor.signed_in()?;
    let Some(d) = store::get(&state.db, user.id, &id).await? else {
        return Ok(not_found(State(state)).await);
    };
    if visitor.acting.is_some() {
        // An aidant opening a document: the usager sees it in "who saw my data".
        let event = visitor.event_on(None, "document.consultation", "document", &d.id);
        guichet_store::journal::append(&state.db, &event).await?;
    }
    let bytes = state.config.files.get(&d.id).await?;
    Ok(crate::page::attachment(&d.mime, &d.name, bytes))
}

pub async fn remove(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let user = visitor.signed_in()?;
    let Some(d) = store::get(&state.db, user.id, &id).await? else {
        return Ok(not_found(State(state)).await);
    };
    let event = visitor.event_on(None, "document.suppression", "document", &d.id);
    store::remove(&state.db, &state.config.files, &d, Trace::of(event)).await?;
    Ok(visitor.finish(Redirect::to("/compte/documents?fait=suppression").into_response()))
}

/// E-mails each usager whose document stops being valid within 30 days (once per document).
pub async fn warn_expiring(state: &AppState, today: time::Date) -> anyhow::Result<usize> {
    let until = today + time::Duration::days(guichet_domain::coffre::WARN_DAYS);
    let due = store::expiring(&state.db, &today.to_string(), &until.to_string()).await?;
    let n = due.len();
    for (d, email) in due {
        let l = listed(d, today);
        let mail = guichet_store::outbox::NewMail {
            tenant_id: None,
            recipient: email,
            subject: format!("Votre document « {} » expire bientôt", l.kind),
            body: format!(
                "Bonjour,\n\nLe document « {} » ({}) de votre porte-documents n'est plus valable après le {}.\n\nPensez à le remplacer par un document à jour avant de le joindre à une démarche :\n\n{}\n",
                l.kind,
                l.d.name,
                l.until,
                state.config.link("/compte/documents")
            ),
        };
        store::warn(&state.db, &l.d.id, Trace::default().mail(mail)).await?;
    }
    Ok(n)
}
