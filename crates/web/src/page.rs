//! What every page shares: rendering a template, a form page with its status, a simple message
//! page, the 404 page.

use crate::auth::visitor::Visitor;
use crate::error::{render, AppError, ErrorPage};
use crate::layout::Layout;
use crate::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

/// Renders a template into a 200 page, or a 500 page if rendering fails.
pub(crate) fn html(template: &impl Template) -> Result<Response, AppError> {
    Ok(Html(template.render()?).into_response())
}

/// A page with a form: 422 when it comes back with errors, 200 otherwise.
pub(crate) fn form_page(
    errors: &crate::form::Errors,
    template: &impl Template,
) -> Result<Response, AppError> {
    let status = errors.status();
    Ok((status, html(template)?).into_response())
}

#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage {
    layout: Layout,
    heading: &'static str,
    paragraphs: Vec<String>,
    link: Option<(String, &'static str)>,
}

/// A simple page: a heading, a few paragraphs, an optional link onward.
pub(crate) async fn message(
    state: &AppState,
    visitor: &Visitor,
    heading: &'static str,
    paragraphs: Vec<String>,
    link: Option<(&'static str, &'static str)>,
) -> Result<Response, AppError> {
    message_to(
        state,
        visitor,
        heading,
        paragraphs,
        link.map(|(h, l)| (h.to_string(), l)),
    )
    .await
}

/// The same, with a link onward built at run time.
pub(crate) async fn message_to(
    state: &AppState,
    visitor: &Visitor,
    heading: &'static str,
    paragraphs: Vec<String>,
    link: Option<(String, &'static str)>,
) -> Result<Response, AppError> {
    html(&MessagePage {
        layout: Layout::for_visitor(state, visitor).await,
        heading,
        paragraphs,
        link,
    })
}

pub async fn not_found(State(state): State<AppState>) -> Response {
    render(
        &ErrorPage {
            layout: Layout::for_visitor(&state, &Visitor::default()).await,
            heading: "Page introuvable",
            message: "La page que vous cherchez n'existe pas ou n'existe plus. Vérifiez l'adresse, ou repartez de l'accueil.",
            reference: None,
        },
        StatusCode::NOT_FOUND,
    )
}

/// Serves a file of a dossier as a download, whatever its type (never rendered inline).
pub fn download(f: &guichet_store::files::StoredFile, bytes: Vec<u8>) -> Response {
    attachment(&f.mime, &f.name, bytes)
}

/// Any stored file as a download (dossier files, vault documents): never rendered inline,
/// never cached.
pub fn attachment(mime: &str, name: &str, bytes: Vec<u8>) -> Response {
    use axum::http::header;
    (
        [
            (header::CONTENT_TYPE, mime.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"{}\"",
                    name.replace(|c: char| !c.is_ascii() || c == '"', "_")
                ),
            ),
            (header::CACHE_CONTROL, "private, no-store".to_string()),
        ],
        bytes,
    )
        .into_response()
}

/// One page of a list shown a page at a time.
pub struct Paged<T> {
    pub items: Vec<T>,
    /// From 1; a page past the last is the last.
    pub page: usize,
    pub pages: usize,
    /// Items over every page.
    pub total: usize,
}

/// Page `asked` (the first when none) of `all`, `per` items a page.
pub fn paged<T>(
    all: impl ExactSizeIterator<Item = T>,
    asked: Option<usize>,
    per: usize,
) -> Paged<T> {
    let total = all.len();
    let pages = total.div_ceil(per).max(1);
    let page = asked.unwrap_or(1).clamp(1, pages);
    Paged {
        items: all.skip((page - 1) * per).take(per).collect(),
        page,
        pages,
        total,
    }
}
