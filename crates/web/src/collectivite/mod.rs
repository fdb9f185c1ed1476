pub mod adhesion;
pub mod admin;
pub mod operateur;
use crate::error::AppError;
use crate::layout::Layout;
use crate::page::html;
use crate::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use guichet_domain::collectivite::CollectiviteStatus;
use guichet_domain::territoire::EntityKind;
use guichet_store::{collectivite, territoire};

#[derive(Template)]
#[template(path = "collectivite/collectivites.html")]
struct ListPage {
    layout: Layout,
    collectivites: Vec<std::sync::Arc<collectivite::Collectivite>>,
    q: DirectoryQuery,
    /// Collectivités matching the filters, over every page.
    total: usize,
    page: usize,
    pages: usize,
    /// The filters as a query string, for the links to the other pages.
    filters: String,
    levels: [EntityKind; 4],
    /// (code, name) of the départements holding collectivités.
    departements: Vec<(String, String)>,
}

/// The directory's filters, by plain GET form.
#[derive(serde::Deserialize, serde::Serialize, Default)]
pub struct DirectoryQuery {
    #[serde(default)]
    pub niveau: String,
    #[serde(default)]
    pub departement: String,
    #[serde(default)]
    pub nom: String,
    #[serde(default, skip_serializing)]
    pub page: Option<usize>,
}

/// Collectivités a page of the directory.
const PER_PAGE: usize = 100;

pub async fn list(
    State(state): State<AppState>,
    visitor: crate::auth::Visitor,
    axum::extract::Query(q): axum::extract::Query<DirectoryQuery>,
) -> Result<Response, AppError> {
    let snap = state.catalogue.snapshot(&state).await?;
    let name = guichet_domain::text::fold(q.nom.trim());
    let matching: Vec<_> = snap
        .collectivites()
        .iter()
        .filter(|t| q.niveau.is_empty() || t.entity_kind.code() == q.niveau)
        .filter(|t| {
            q.departement.is_empty() || t.departement_code.as_deref() == Some(&q.departement)
        })
        .filter(|t| name.is_empty() || guichet_domain::text::fold(&t.name).contains(&name))
        .collect();
    let shown = crate::page::paged(matching.into_iter(), q.page, PER_PAGE);
    html(&ListPage {
        layout: Layout::for_visitor(&state, &visitor).await,
        collectivites: shown.items.into_iter().cloned().collect(),
        filters: serde_urlencoded::to_string(&q).unwrap_or_default(),
        q,
        total: shown.total,
        page: shown.page,
        pages: shown.pages,
        levels: EntityKind::ALL,
        departements: snap.departements().to_vec(),
    })
}

#[derive(Template)]
#[template(path = "collectivite/collectivite.html")]
struct CollectivitePage {
    layout: Layout,
    collectivite: collectivite::Collectivite,
    /// (slug, title)
    demarches: Vec<(String, String)>,
    territory: Vec<(&'static str, String)>,
    contact: Vec<(&'static str, String)>,
}

pub async fn page(
    State(state): State<AppState>,
    visitor: crate::auth::Visitor,
    Path(slug): Path<String>,
) -> Result<Response, AppError> {
    let Some(t) = collectivite::by_slug(&state.db, &slug).await? else {
        return Ok(crate::page::not_found(State(state)).await.into_response());
    };
    let db = &state.db;
    let mut facts: Vec<(&'static str, String)> = Vec::new();
    match t.entity_kind {
        EntityKind::Commune => {
            if let Some(d) = territoire::commune_details(db, &t.entity_code).await? {
                facts.push(("Code INSEE", d.commune.insee.clone()));
                if !d.commune.postal_codes.is_empty() {
                    facts.push(("Code(s) postal(aux)", d.commune.postal_codes.join(", ")));
                }
                if let Some(p) = d.commune.population {
                    facts.push(("Population", format_population(p)));
                }
                if let Some(e) = d.epci {
                    facts.push(("Intercommunalité", e.nom));
                }
                if let Some(dep) = d.departement {
                    facts.push(("Département", format!("{} ({})", dep.nom, dep.code)));
                }
                if let Some(r) = d.region {
                    facts.push(("Région", r.nom));
                }
            }
        }
        EntityKind::Epci => {
            if let Some(e) = territoire::epci(db, &t.entity_code).await? {
                facts.push(("SIREN", e.siren));
                facts.push(("Communes membres", e.members.len().to_string()));
                if let Some(p) = e.population {
                    facts.push(("Population", format_population(p)));
                }
            }
        }
        EntityKind::Departement => {
            facts.push(("Numéro", t.entity_code.clone()));
            if let Some(r) = t.region_code.as_deref() {
                if let Some(r) = territoire::region(db, r).await? {
                    facts.push(("Région", r.nom));
                }
            }
        }
        EntityKind::Region => facts.push(("Code région", t.entity_code.clone())),
    }
    let contact = [
        ("Courriel", t.contact_email.clone()),
        ("Téléphone", t.contact_phone.clone()),
        ("Adresse", t.contact_address.clone()),
        ("Site internet", t.website.clone()),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.map(|v| (k, v)))
    .collect();
    let demarches = guichet_store::demarche::list_published(&state.db, t.id)
        .await?
        .into_iter()
        .map(|d| (d.slug, d.title))
        .collect();
    html(&CollectivitePage {
        layout: Layout::for_visitor(&state, &visitor).await,
        demarches,
        collectivite: t,
        territory: facts,
        contact,
    })
}

/// "161 830": French thousands separator (narrow no-break space).
fn format_population(n: i64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('\u{202f}');
        }
        out.push(c);
    }
    out + " habitants"
}

#[cfg(test)]
mod tests {
    #[test]
    fn population_reads_the_french_way() {
        assert_eq!(
            super::format_population(161_830),
            "161\u{202f}830 habitants"
        );
        assert_eq!(super::format_population(830), "830 habitants");
    }
}
