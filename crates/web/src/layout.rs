//! What every page's layout needs.

use crate::AppState;

pub struct Layout {
    pub css: &'static str,
    pub operator: Option<String>,
}

impl Layout {
    pub async fn new(state: &AppState) -> Self {
        let operator = guichet_store::tenant::operator(&state.db)
            .await
            .ok()
            .flatten()
            .map(|t| t.name);
        Self {
            css: crate::assets::CSS.href.as_str(),
            operator,
        }
    }

    /// For pages rendered without the database (panics, fatal errors).
    pub fn bare() -> Self {
        Self {
            css: crate::assets::CSS.href.as_str(),
            operator: None,
        }
    }
}
