//! What every page's layout needs.

use crate::auth::visitor::Visitor;
use crate::AppState;

pub struct Layout {
    pub css: &'static str,
    pub operator: Option<String>,
    /// The signed-in person's name, for the header.
    pub user: Option<String>,
    pub is_agent: bool,
    pub csrf: String,
    pub demo: bool,
    /// The permanent banner of an aidant acting for a usager: (usager, mandat n°, domains,
    /// until).
    pub acting: Option<(String, i64, String, String)>,
}

impl Layout {
    pub async fn for_visitor(state: &AppState, visitor: &Visitor) -> Self {
        let operator = guichet_store::collectivite::operator(&state.db)
            .await
            .ok()
            .flatten()
            .map(|t| t.name);
        Self {
            css: crate::assets::CSS.href.as_str(),
            operator,
            user: visitor.user.as_ref().map(|u| u.display_name.clone()),
            is_agent: visitor.is_agent(),
            csrf: visitor.csrf_token.clone(),
            demo: state.config.demo,
            acting: visitor.acting.as_ref().map(|a| {
                (
                    visitor
                        .user
                        .as_ref()
                        .map(|u| u.display_name.clone())
                        .unwrap_or_default(),
                    a.mandat.id,
                    a.mandat
                        .domains
                        .iter()
                        .map(|d| d.label())
                        .collect::<Vec<_>>()
                        .join(", "),
                    crate::format::format_ms(a.mandat.ends_at),
                )
            }),
        }
    }

    /// For pages rendered without a request context (panics, fatal errors).
    pub fn bare() -> Self {
        Self {
            css: crate::assets::CSS.href.as_str(),
            operator: None,
            user: None,
            is_agent: false,
            csrf: String::new(),
            demo: false,
            acting: None,
        }
    }
}
