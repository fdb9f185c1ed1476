use crate::error::AppError;
use crate::layout::Layout;
use crate::page::html;
use crate::AppState;
use askama::Template;
use axum::extract::State;
use axum::response::Response;

/// The browser suite's last published measure (docs/SOBRIETY.md, written by it): one table row
/// per page or page state checked with axe-core at 320 px, every one with no violation (the
/// suite fails otherwise).
const MEASURED: &str = include_str!("../../../../docs/SOBRIETY.md");

/// How many pages and page states the last automatic check covered.
fn pages_checked() -> usize {
    MEASURED
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| kind") && !l.starts_with("| ---"))
        .count()
}

#[derive(Template)]
#[template(path = "accueil/accessibilite.html")]
struct AccessibilitePage {
    layout: Layout,
    checked: usize,
}

pub async fn page(
    State(state): State<AppState>,
    visitor: crate::auth::Visitor,
) -> Result<Response, AppError> {
    html(&AccessibilitePage {
        layout: Layout::for_visitor(&state, &visitor).await,
        checked: pages_checked(),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_statement_counts_the_pages_of_the_last_measure() {
        assert!(super::pages_checked() > 50, "{}", super::pages_checked());
    }
}
