//! The public status page (`/etat`): each service's state for residents, and the maintenances the
//! operator announces (`/operateur/etat`). The probes are measured at most every few seconds per
//! node, so the page stays cheap when many residents check it during an incident.

use crate::auth::Visitor;
use crate::error::AppError;
use crate::form::{Errors, Fields};
use crate::layout::Layout;
use crate::AppState;
use askama::Template;
use axum::extract::State;
use axum::response::Response;
use guichet_domain::etat::{self, Maintenance, Probes, Service, Status};
use guichet_store::etat as store;
use guichet_store::trace::Trace;

/// How long measured probes are reused.
const PROBES_KEPT_MS: i64 = 5_000;

/// The last probes of this node, with when they were measured.
#[derive(Clone, Default)]
pub struct ProbeCache(std::sync::Arc<tokio::sync::Mutex<Option<(i64, Probes)>>>);

impl AppState {
    /// The probes of the services' dependencies, measured at most every few seconds.
    pub async fn probes_now(&self, now: i64) -> Probes {
        self.probes.get(self, now).await
    }
}

impl ProbeCache {
    async fn get(&self, state: &AppState, now: i64) -> Probes {
        let mut kept = self.0.lock().await;
        match *kept {
            Some((at, probes)) if now - at < PROBES_KEPT_MS => probes,
            _ => {
                let probes = store::probe(&state.db, &state.config.files, now).await;
                *kept = Some((now, probes));
                probes
            }
        }
    }
}

pub struct Ligne {
    pub label: &'static str,
    pub status: Status,
}

pub struct Annonce {
    pub id: i64,
    pub services: String,
    pub from: String,
    pub to: String,
    pub message: String,
    pub current: bool,
}

fn annonces(list: &[Maintenance], now: i64) -> Vec<Annonce> {
    list.iter()
        .map(|m| Annonce {
            id: m.id,
            services: m
                .services
                .iter()
                .map(|s| s.label())
                .collect::<Vec<_>>()
                .join(", "),
            from: crate::format::format_ms(m.starts_at),
            to: crate::format::format_ms(m.ends_at),
            message: m.message.clone(),
            current: m.current(now),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "etat/etat.html")]
struct EtatPage {
    layout: Layout,
    lignes: Vec<Ligne>,
    all_normal: bool,
    annonces: Vec<Annonce>,
    measured: String,
}

/// The status page: public, no session needed, never cached by the browser.
pub async fn page(State(state): State<AppState>, visitor: Visitor) -> Result<Response, AppError> {
    let now = state.config.clock.now_ms();
    let probes = state.probes_now(now).await;
    // Without the database, the announcements cannot be read: the page still answers.
    let announced = if probes.database {
        store::announced(&state.db, now).await.unwrap_or_default()
    } else {
        Vec::new()
    };
    let lignes: Vec<Ligne> = Service::ALL
        .into_iter()
        .map(|s| Ligne {
            label: s.label(),
            status: etat::status_of(s, &probes, &announced, now),
        })
        .collect();
    let page = EtatPage {
        layout: Layout::for_visitor(&state, &visitor).await,
        all_normal: lignes.iter().all(|l| l.status == Status::Normal),
        lignes,
        annonces: annonces(&announced, now),
        measured: crate::format::format_ms(now),
    };
    let mut response = crate::page::html(&page)?;
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    if !probes.database {
        *response.status_mut() = axum::http::StatusCode::SERVICE_UNAVAILABLE;
    }
    Ok(response)
}

#[derive(Template)]
#[template(path = "etat/operateur.html")]
struct OperateurPage {
    layout: Layout,
    services: [Service; 5],
    annonces: Vec<Annonce>,
    f: Fields,
    errors: Errors,
    flash: Option<String>,
}

async fn operator_page(
    state: &AppState,
    visitor: &Visitor,
    f: Fields,
    errors: Errors,
    flash: Option<String>,
) -> Result<Response, AppError> {
    let now = state.config.clock.now_ms();
    let page = OperateurPage {
        layout: Layout::for_visitor(state, visitor).await,
        services: Service::ALL,
        annonces: annonces(&store::announced(&state.db, now).await?, now),
        f,
        errors,
        flash,
    };
    crate::page::form_page(&page.errors, &page)
}

pub async fn operator(
    State(state): State<AppState>,
    visitor: Visitor,
) -> Result<Response, AppError> {
    operator_page(
        &state,
        &visitor,
        Fields(Vec::new()),
        Errors::default(),
        None,
    )
    .await
}

/// Announces a maintenance, or cancels one (`action=annuler`).
pub async fn save(
    State(state): State<AppState>,
    visitor: Visitor,
    f: Fields,
) -> Result<Response, AppError> {
    let now = state.config.clock.now_ms();
    if f.get("action") == "annuler" {
        let id: i64 = f.get("id").parse().unwrap_or(0);
        let mut event = visitor.event(None, "etat.maintenance.annulation");
        event.object_type = Some("maintenance".into());
        event.object_id = Some(id.to_string());
        let done = store::cancel(&state.db, id, now, Trace::of(event)).await?;
        let flash = if done {
            "Maintenance annulée."
        } else {
            "Cette maintenance est déjà terminée ou annulée."
        };
        return operator_page(
            &state,
            &visitor,
            Fields(Vec::new()),
            Errors::default(),
            Some(flash.into()),
        )
        .await;
    }
    let services: Vec<Service> = f
        .all("services")
        .iter()
        .filter_map(|c| Service::from_code(c))
        .collect();
    let starts_at =
        guichet_domain::delai::paris_instant(&f.get("debut_jour"), &f.get("debut_heure"));
    let ends_at = guichet_domain::delai::paris_instant(&f.get("fin_jour"), &f.get("fin_heure"));
    let message = f.get("message");
    let problems = etat::check(&services, starts_at, ends_at, &message, now);
    let (Some(starts_at), Some(ends_at), true) = (starts_at, ends_at, problems.is_empty()) else {
        let mut errors = Errors::default();
        for (field, why) in problems {
            errors.add(field, why);
        }
        return operator_page(&state, &visitor, f, errors, None).await;
    };
    let mut event = visitor.event(None, "etat.maintenance.annonce");
    event.object_type = Some("maintenance".into());
    event.details = serde_json::json!({
        "services": services.iter().map(|s| s.code()).collect::<Vec<_>>(),
        "debut": guichet_store::rfc3339(starts_at),
        "fin": guichet_store::rfc3339(ends_at),
    })
    .to_string();
    store::announce(
        &state.db,
        store::NewMaintenance {
            services,
            starts_at,
            ends_at,
            message: message.trim().to_string(),
        },
        now,
        Trace::of(event),
    )
    .await?;
    operator_page(
        &state,
        &visitor,
        Fields(Vec::new()),
        Errors::default(),
        Some("Maintenance annoncée sur la page d'état.".into()),
    )
    .await
}
