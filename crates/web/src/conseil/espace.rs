//! The members' space (`/elu`): an elected member signs in with their own account, the second
//! factor required, and finds, for each of their mandates, the sessions they are convened to
//! with the agenda, the reports and the explanatory notes (opening it is the proof of reading, as
//! the convocation's link is); the chair signs the délibérations there in person.

use super::publication::sign_and_publish;
use crate::auth::Visitor;
use crate::error::AppError;
use crate::layout::Layout;
use crate::page::{html, not_found};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use guichet_domain::conseil::{EtatSeance, Fonction};
use guichet_store::collectivite::Collectivite;
use guichet_store::conseil::{self as store, Annexe, Deliberation, Elu, Point, Seance};
use guichet_store::trace::Trace;

struct SeanceView {
    s: Seance,
    quand: String,
    points: Vec<Point>,
    annexes: Vec<Annexe>,
}

struct MandatView {
    collectivite: Collectivite,
    assemblee: String,
    fonction: &'static str,
    seances: Vec<SeanceView>,
    /// What the chair has to sign.
    a_signer: Vec<Deliberation>,
}

#[derive(Template)]
#[template(path = "conseil/elu.html")]
struct EspacePage {
    layout: Layout,
    mandats: Vec<MandatView>,
}

/// The signed-in member's mandates. The route layer (`Access::Elu`) already let through only an
/// account sitting in an assembly, its second factor given, not acting for anyone.
pub(super) async fn mandats(
    state: &AppState,
    visitor: &Visitor,
) -> anyhow::Result<Vec<(i64, Elu)>> {
    match &visitor.user {
        Some(user) => store::mandats_of(&state.db, &user.email).await,
        None => Ok(Vec::new()),
    }
}

pub async fn page(State(state): State<AppState>, visitor: Visitor) -> Result<Response, AppError> {
    let mandats = mandats(&state, &visitor).await?;
    let now = state.config.clock.now_ms();
    let mut views = Vec::new();
    for (tenant, e) in mandats {
        let Some(c) = guichet_store::collectivite::by_id(&state.db, tenant).await? else {
            continue;
        };
        let Some(a) = store::assemblees(&state.db, tenant)
            .await?
            .into_iter()
            .find(|a| a.id == e.assemblee_id)
        else {
            continue;
        };
        let mut seances = Vec::new();
        for s in store::seances(&state.db, tenant, 20).await? {
            if s.assemblee_id != a.id
                || !matches!(s.state, EtatSeance::Convoquee | EtatSeance::Ouverte)
            {
                continue;
            }
            // Reading the agenda here is the proof of reading of the convocation.
            let event =
                visitor.event_on(Some(tenant), "conseil.convocation.lecture", "seance", s.id);
            store::mark_read_by_member(&state.db, tenant, s.id, e.id, now, Trace::of(event))
                .await?;
            seances.push(SeanceView {
                annexes: store::annexes_of(&state.db, tenant, s.id).await?,
                quand: crate::format::format_ms(s.starts_at),
                points: store::points(&state.db, tenant, s.id).await?,
                s,
            });
        }
        seances.reverse();
        let a_signer = if e.fonction == Fonction::Presidence {
            store::unsigned(&state.db, tenant, a.id).await?
        } else {
            Vec::new()
        };
        views.push(MandatView {
            fonction: e.fonction.label(a.organe),
            assemblee: a.name,
            collectivite: c,
            seances,
            a_signer,
        });
    }
    html(&EspacePage {
        layout: Layout::for_visitor(&state, &visitor).await,
        mandats: views,
    })
}

/// The chair signs a délibération in person: it is published as PDF/A, the journal naming them.
pub async fn sign(
    State(state): State<AppState>,
    visitor: Visitor,
    Path((slug, id)): Path<(String, i64)>,
) -> Result<Response, AppError> {
    let mandats = mandats(&state, &visitor).await?;
    let Some(c) = guichet_store::collectivite::by_slug(&state.db, &slug).await? else {
        return Ok(not_found(State(state)).await);
    };
    let Some(d) = store::deliberation_by_id(&state.db, c.id, id).await? else {
        return Ok(not_found(State(state)).await);
    };
    let Some(s) = store::seance_by_id(&state.db, c.id, d.seance_id).await? else {
        return Ok(not_found(State(state)).await);
    };
    // Only the chair of the assembly that decided it, in office now.
    let chairs = mandats.iter().any(|(tenant, e)| {
        *tenant == c.id && e.assemblee_id == s.assemblee_id && e.fonction == Fonction::Presidence
    });
    if !chairs {
        return Ok(crate::auth::forbidden(&state, &visitor).await);
    }
    let event = visitor.event_on(
        Some(c.id),
        "conseil.deliberation.publication",
        "deliberation",
        &d.numero,
    );
    sign_and_publish(
        &state.db,
        &state.config.files,
        &state.config.public_url,
        &c,
        &d,
        state.config.clock.now_ms(),
        event,
    )
    .await?;
    Ok(Redirect::to("/elu").into_response())
}
