//! The operator's view of the platform.

use super::html;
use super::journal::JournalQuery;
use crate::auth::Visitor;
use crate::error::AppError;
use crate::layout::Layout;
use crate::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use guichet_store::audit::Intact;
use guichet_store::tenant::{self, Tenant};

#[derive(Template)]
#[template(path = "operateur.html")]
struct OperatorPage {
    layout: Layout,
    database: &'static str,
    tenants: Vec<Tenant>,
    mails_pending: i64,
    mails_failed: i64,
    audit_status: String,
}

pub async fn page(State(state): State<AppState>, visitor: Visitor) -> Result<Response, AppError> {
    // From the checkpoint on: the whole chain is checked again every day by the worker.
    let audit_status = match guichet_store::audit::verify_recent(&state.db).await? {
        Ok(Intact {
            checked,
            full_at: Some(at),
        }) => format!(
            "intègre ({checked} entrée(s) vérifiée(s) depuis le dernier contrôle ; chaîne entière vérifiée le {})",
            super::compte::format_ms(at)
        ),
        Ok(Intact { full_at: None, .. }) => "intègre (aucune entrée)".to_string(),
        Err(b) => format!("ROMPU à l'entrée {} : {}", b.id, b.reason),
    };
    let (mails_pending, mails_failed) = guichet_store::outbox::backlog(&state.db).await?;
    html(&OperatorPage {
        layout: Layout::for_visitor(&state, &visitor).await,
        database: state.db.backend().name(),
        tenants: tenant::list(&state.db).await?,
        mails_pending,
        mails_failed,
        audit_status,
    })
}

pub async fn journal(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(q): Query<JournalQuery>,
) -> Result<Response, AppError> {
    super::journal::platform_page(state, visitor, q).await
}
