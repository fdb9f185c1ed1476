//! Errors shown to users: a page in the site's layout, never a stack trace or an SQL message.

use crate::layout::Layout;
use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub layout: Layout,
    pub heading: &'static str,
    pub message: &'static str,
    pub reference: Option<String>,
}

pub fn render(page: &ErrorPage, status: StatusCode) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(_) => (status, page.heading).into_response(),
    }
}

/// An internal failure: logged with a reference the user can quote, shown as a plain 500 page.
/// A request body over the limit is not a failure: it is answered 413 with a French page.
pub struct AppError(anyhow::Error);

/// The request's body went over the size the platform accepts.
#[derive(Debug)]
pub struct BodyTooLarge;

impl std::fmt::Display for BodyTooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("corps de requête trop volumineux")
    }
}

impl std::error::Error for BodyTooLarge {}

pub fn too_large_page() -> Response {
    render(
        &ErrorPage {
            layout: Layout::bare(),
            heading: "Envoi trop volumineux",
            message: "Ce que vous avez envoyé dépasse la taille acceptée (60 Mo en tout, et la taille indiquée pour chaque pièce). Revenez à la page précédente et joignez des fichiers plus légers, ou un à la fois : ce que vous aviez déjà enregistré n'est pas perdu.",
            reference: None,
        },
        StatusCode::PAYLOAD_TOO_LARGE,
    )
}

impl<E: Into<anyhow::Error>> From<E> for AppError {
    fn from(e: E) -> Self {
        Self(e.into())
    }
}

fn incident_reference() -> String {
    let nanos = time::OffsetDateTime::now_utc().unix_timestamp_nanos();
    format!("{:x}", (nanos as u64) & 0xff_ffff_ffff)
}

pub fn internal_error_page(reference: String) -> Response {
    render(
        &ErrorPage {
            layout: Layout::bare(),
            heading: "Une erreur est survenue",
            message: "Le service n'a pas pu traiter votre demande. Rien de ce que vous aviez déjà enregistré n'est perdu. Réessayez dans quelques instants.",
            reference: Some(reference),
        },
        StatusCode::INTERNAL_SERVER_ERROR,
    )
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if self.0.downcast_ref::<BodyTooLarge>().is_some() {
            return too_large_page();
        }
        if self
            .0
            .downcast_ref::<crate::auth::visitor::SignInRequired>()
            .is_some()
        {
            return axum::response::Redirect::to("/connexion").into_response();
        }
        let reference = incident_reference();
        tracing::error!(reference, error = format!("{:#}", self.0), "request failed");
        internal_error_page(reference)
    }
}

pub fn panic_response(_panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let reference = incident_reference();
    tracing::error!(reference, "handler panicked");
    internal_error_page(reference)
}

/// Requests the router or an extractor rejects (malformed path parameter, form fields of the wrong
/// type, body too large) get a French page in the site's layout instead of the framework's English
/// plain text. API routes keep JSON.
pub async fn french_rejections(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let api = req.uri().path().starts_with("/api/");
    let response = next.run(req).await;
    let status = response.status();
    let plain = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/plain"));
    if !plain || !(status.is_client_error()) {
        return response;
    }
    let (heading, message) = match status {
        StatusCode::PAYLOAD_TOO_LARGE => ("Envoi trop volumineux", "Ce que vous avez envoyé dépasse la taille autorisée. Réduisez la taille des fichiers, puis réessayez."),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ("Formulaire non reconnu", "Le formulaire n'a pas été envoyé dans un format attendu. Revenez à la page précédente et réessayez."),
        _ => ("Demande invalide", "L'adresse ou le formulaire envoyé contient une valeur invalide. Revenez à la page précédente, vérifiez vos réponses et réessayez."),
    };
    if api {
        // The API answers every malformed request the same documented way: 400 and a reason.
        let reason = match status {
            StatusCode::PAYLOAD_TOO_LARGE => return crate::api::error(status, "too_large", "corps de requête trop volumineux"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "corps JSON attendu, avec l'en-tête Content-Type: application/json",
            StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED => return response,
            _ => "paramètre ou corps JSON invalide : vérifiez-les avec la description OpenAPI (/api/v1/openapi.json)",
        };
        return crate::api::error(StatusCode::BAD_REQUEST, "bad_request", reason);
    }
    render(
        &ErrorPage {
            layout: Layout::bare(),
            heading,
            message,
            reference: None,
        },
        status,
    )
}
