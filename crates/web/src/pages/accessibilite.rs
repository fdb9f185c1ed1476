use super::html;
use crate::error::AppError;
use crate::layout::Layout;
use crate::AppState;
use askama::Template;
use axum::extract::State;
use axum::response::Response;

#[derive(Template)]
#[template(path = "accessibilite.html")]
struct AccessibilitePage {
    layout: Layout,
}

pub async fn page(
    State(state): State<AppState>,
    visitor: crate::auth::Visitor,
) -> Result<Response, AppError> {
    html(&AccessibilitePage {
        layout: Layout::for_visitor(&state, &visitor).await,
    })
}
