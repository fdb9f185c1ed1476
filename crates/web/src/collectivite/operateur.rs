//! The operator's view of the platform.

use crate::auth::Visitor;
use crate::error::AppError;
use crate::form::Errors;
use crate::journal::JournalQuery;
use crate::layout::Layout;
use crate::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use guichet_store::collectivite::Collectivite;
use guichet_store::journal::Intact;

/// A collectivité of the platform and how many admins it has (none: it needs an invitation).
pub struct CollectiviteRow {
    pub collectivite: std::sync::Arc<Collectivite>,
    pub admins: i64,
}

#[derive(Template)]
#[template(path = "collectivite/operateur.html")]
struct OperatorPage {
    layout: Layout,
    database: &'static str,
    /// A page of the collectivités, those without an administrator first.
    collectivites: Vec<CollectiviteRow>,
    total: usize,
    without_admin: usize,
    page: usize,
    pages: usize,
    mails_pending: i64,
    mails_failed: i64,
    audit_status: String,
    /// The last signed anchor of the chain's head, in words.
    anchor_status: String,
    errors: Errors,
    flash: Option<String>,
}

#[derive(serde::Deserialize)]
pub struct PageQuery {
    page: Option<usize>,
}

pub async fn page(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(q): Query<PageQuery>,
) -> Result<Response, AppError> {
    page_at(
        &state,
        &visitor,
        Errors::default(),
        None,
        q.page.unwrap_or(1),
    )
    .await
}

/// Collectivités a page of the operator's list.
const PER_PAGE: usize = 100;

/// The operator's page, with what a form sent from it got wrong.
pub(crate) async fn page_with(
    state: &AppState,
    visitor: &Visitor,
    errors: Errors,
    flash: Option<String>,
) -> Result<Response, AppError> {
    page_at(state, visitor, errors, flash, 1).await
}

async fn page_at(
    state: &AppState,
    visitor: &Visitor,
    errors: Errors,
    flash: Option<String>,
    page: usize,
) -> Result<Response, AppError> {
    // From the checkpoint on: the whole chain is checked again every day by the worker.
    let audit_status = match guichet_store::journal::verify_recent(&state.db).await? {
        Ok(Intact {
            checked,
            full_at: Some(at),
        }) => format!(
            "intègre ({checked} entrée(s) vérifiée(s) depuis le dernier contrôle ; chaîne entière vérifiée le {})",
            crate::format::format_ms(at)
        ),
        Ok(Intact { full_at: None, .. }) => "intègre (aucune entrée)".to_string(),
        Err(b) => format!("ROMPU à l'entrée {} : {}", b.id, b.reason),
    };
    let anchor_status = match &state.config.anchoring {
        None => "non configuré : le journal n'est pas ancré hors de la base".to_string(),
        Some(a) => match a.last() {
            Ok(Some(last)) => format!(
                "dernier ancrage signé le {} (entrée {}), dans {}",
                crate::format::format_ms(last.at),
                last.id,
                a.dir.display()
            ),
            Ok(None) => "aucun ancrage écrit pour l'instant".to_string(),
            Err(e) => format!("ANCRAGES ILLISIBLES : {e}"),
        },
    };
    let (mails_pending, mails_failed) = guichet_store::outbox::backlog(&state.db).await?;
    let counts = guichet_store::equipe::admin_counts(&state.db).await?;
    let snap = state.catalogue.snapshot(state).await?;
    let mut collectivites: Vec<CollectiviteRow> = snap
        .collectivites()
        .iter()
        .map(|t| CollectiviteRow {
            admins: counts.get(&t.id).copied().unwrap_or(0),
            collectivite: t.clone(),
        })
        .collect();
    // Those waiting for their first administrator first: what the operator has to do.
    collectivites.sort_by_key(|t| t.admins > 0);
    let without_admin = collectivites.iter().filter(|t| t.admins == 0).count();
    let shown = crate::page::paged(collectivites.into_iter(), Some(page), PER_PAGE);
    let page = OperatorPage {
        layout: Layout::for_visitor(state, visitor).await,
        database: state.db.backend().name(),
        without_admin,
        collectivites: shown.items,
        total: shown.total,
        page: shown.page,
        pages: shown.pages,
        mails_pending,
        mails_failed,
        audit_status,
        anchor_status,
        errors,
        flash,
    };
    crate::page::form_page(&page.errors, &page)
}

pub async fn journal(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(q): Query<JournalQuery>,
) -> Result<Response, AppError> {
    crate::journal::platform_page(state, visitor, q).await
}
