//! Processing signalements (modérateurs of the collectivité that handles them): the list by
//! state, a report with its history, state changes with a public note (a reason for a
//! rejection), moderation, transfer to the competent collectivité. Each public change is
//! e-mailed to the reporter and to every follower.

use crate::auth::{CollectiviteContext, Visitor};
use crate::carte::Carte;
use crate::error::AppError;
use crate::form::{Errors, Fields};
use crate::layout::Layout;
use crate::page::not_found;
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use guichet_domain::signalement::{can_move, RejectReason, State as SState};
use guichet_store::collectivite::{self, Collectivite};
use guichet_store::signalement::{self as store, Signalement};
use guichet_store::trace::Trace;
use serde::{Deserialize, Serialize};

const STATES: [SState; 6] = [
    SState::AModerer,
    SState::Nouveau,
    SState::PrisEnCompte,
    SState::EnCours,
    SState::Resolu,
    SState::Rejete,
];

#[derive(Template)]
#[template(path = "signalement/signalements-admin.html")]
struct ListPage {
    layout: Layout,
    collectivite: Collectivite,
    states: [SState; 6],
    current: String,
    q: ListQuery,
    /// The query string of the filters, for the exports.
    query: String,
    /// (id, label) of the categories to filter on.
    categories: Vec<(i64, String)>,
    errors: Errors,
    /// Each report with its category's label and its commune's name.
    rows: Vec<(Signalement, String, String)>,
    /// Resolved reports: how many, median and 90th percentile of the time to resolve.
    stats: (usize, String, String),
    flash: Option<String>,
    carte: Option<Carte>,
    /// May adjust the categories (link shown).
    configure: bool,
}

fn hours(h: Option<f64>) -> String {
    match h {
        None => "—".into(),
        Some(h) if h < 48.0 => format!("{h:.0} h"),
        Some(h) => format!("{:.1} jours", h / 24.0),
    }
}

#[derive(Deserialize, Serialize, Default, Clone)]
#[serde(default)]
pub struct ListQuery {
    etat: String,
    categorie: String,
    commune: String,
    du: String,
    au: String,
    q: String,
}

/// The store's filter from the query; errors tied to the fields.
async fn filter_of(
    state: &AppState,
    q: &ListQuery,
    errors: &mut Errors,
) -> anyhow::Result<store::Filter> {
    let (from_ms, before_ms) = crate::form::day_range(&q.du, &q.au, errors);
    let category_id = match q.categorie.trim() {
        "" => None,
        c => match c.parse::<i64>() {
            Ok(id) => Some(id),
            Err(_) => {
                errors.add("categorie", "Choisissez une catégorie dans la liste.");
                None
            }
        },
    };
    Ok(store::Filter {
        state: SState::from_code(&q.etat).filter(|s| STATES.contains(s)),
        category_id,
        commune_insee: crate::form::commune_filter(state, &q.commune, errors).await?,
        from_ms,
        before_ms,
        text: Some(q.q.trim().to_string()).filter(|t| !t.is_empty()),
    })
}

async fn list_page(
    state: &AppState,
    visitor: &Visitor,
    ctx: &CollectiviteContext,
    q: ListQuery,
    flash: Option<String>,
) -> Result<Response, AppError> {
    let mut errors = Errors::default();
    let filter = filter_of(state, &q, &mut errors).await?;
    let labels = store::category_labels(&state.db).await?;
    let rows = if errors.is_empty() {
        store::filtered(&state.db, ctx.collectivite.id, &filter, 200).await?
    } else {
        Vec::new()
    };
    let codes: Vec<String> = rows.iter().map(|s| s.commune_insee.clone()).collect();
    let communes = guichet_store::territoire::commune_names(&state.db, &codes).await?;
    let rows = rows
        .into_iter()
        .map(|s| {
            let label = labels.get(&s.category_id).cloned().unwrap_or_default();
            let commune = communes
                .get(&s.commune_insee)
                .cloned()
                .unwrap_or_else(|| s.commune_insee.clone());
            (s, label, commune)
        })
        .collect();
    let (n, median, p90) = store::resolution_hours(&state.db, ctx.collectivite.id).await?;
    let mut categories: Vec<(i64, String)> =
        store::for_collectivite(&state.db, ctx.collectivite.id)
            .await?
            .into_iter()
            .map(|c| (c.id, c.label))
            .collect();
    categories.sort_by(|a, b| a.1.cmp(&b.1));
    let page = ListPage {
        layout: Layout::for_visitor(state, visitor).await,
        collectivite: ctx.collectivite.clone(),
        states: STATES,
        current: filter
            .state
            .map(|s| s.code().to_string())
            .unwrap_or_default(),
        query: serde_urlencoded::to_string(&q).unwrap_or_default(),
        q,
        categories,
        errors,
        rows,
        stats: (n, hours(median), hours(p90)),
        flash,
        carte: Carte::of(&state.config.map),
        configure: guichet_domain::role::allowed(
            &ctx.roles,
            guichet_domain::role::Permission::ConfigureSignalements,
        ),
    };
    crate::page::form_page(&page.errors, &page)
}

pub async fn list(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    Query(q): Query<ListQuery>,
) -> Result<Response, AppError> {
    list_page(&state, &visitor, &ctx, q, None).await
}

/// The same state change, with the same public note, for several reports at once.
pub async fn bulk(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    pairs: Fields,
) -> Result<Response, AppError> {
    let to = SState::from_code(&pairs.get("etat"))
        .filter(|s| !matches!(s, SState::Rejete | SState::AConfirmer | SState::AModerer));
    let note = pairs.get("note");
    let ids: Vec<i64> = pairs
        .all("ids")
        .iter()
        .filter_map(|v| v.parse().ok())
        .take(200)
        .collect();
    let message = match to {
        None => "Choisissez l'état à donner aux signalements cochés (un rejet se fait un par un, avec son motif).".to_string(),
        Some(_) if ids.is_empty() => "Cochez au moins un signalement.".to_string(),
        Some(to) => {
            let (mut done, mut skipped) = (0, 0);
            for id in ids {
                let Some(s) = load(&state, &ctx, id).await? else {
                    skipped += 1;
                    continue;
                };
                if !can_move(s.state, to) {
                    skipped += 1;
                    continue;
                }
                let mut event = visitor.event_on(Some(ctx.collectivite.id), &format!("signalement.{}", to.code()), "signalement", &s.number);
                event.details = serde_json::json!({"de": s.state.code(), "vers": to.code(), "lot": true}).to_string();
                let notice = notice(&state, &ctx, event, s.category_id, to, None, &note).await?;
                if store::change_state(&state.db, &s, to, &note, None, &collectivite_label(&ctx), notice).await? {
                    done += 1;
                } else {
                    skipped += 1;
                }
            }
            format!("{done} signalement(s) passé(s) à « {} »{}.", to.label(), if skipped > 0 { format!(" ; {skipped} laissé(s) tels quels (changement impossible depuis leur état)") } else { String::new() })
        }
    };
    list_page(&state, &visitor, &ctx, ListQuery::default(), Some(message)).await
}

/// The collectivité's reports as CSV or GeoJSON (those with coordinates are points; others have
/// no geometry), with the filters of the list, journaled.
pub async fn export(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    Path((_, file)): Path<(String, String)>,
    Query(q): Query<ListQuery>,
) -> Result<Response, AppError> {
    let geojson = match file.as_str() {
        "signalements.csv" => false,
        "signalements.geojson" => true,
        _ => return Ok(not_found(State(state)).await),
    };
    let labels = store::category_labels(&state.db).await?;
    let mut errors = Errors::default();
    let filter = filter_of(&state, &q, &mut errors).await?;
    if !errors.is_empty() {
        // The list page shows the same filters with their errors.
        return list_page(&state, &visitor, &ctx, q, None).await;
    }
    let list = store::filtered(&state.db, ctx.collectivite.id, &filter, 500).await?;
    let mut event = visitor.event(Some(ctx.collectivite.id), "signalements.export");
    event.details = serde_json::json!({"format": if geojson { "geojson" } else { "csv" }, "nombre": list.len()}).to_string();
    guichet_store::journal::append(&state.db, &event).await?;
    use axum::http::header;
    if geojson {
        let features: Vec<serde_json::Value> = list
            .iter()
            .map(|s| {
                serde_json::json!({
                    "type": "Feature",
                    "geometry": s.position.map(|(lat, lon)| serde_json::json!({"type": "Point", "coordinates": [lon, lat]})),
                    "properties": {
                        "numero": s.number, "categorie": labels.get(&s.category_id), "etat": s.state.code(),
                        "commune": s.commune_insee, "adresse": s.address, "description": s.description,
                        "cree_le": guichet_store::rfc3339(s.created_at), "modifie_le": guichet_store::rfc3339(s.updated_at),
                    }
                })
            })
            .collect();
        let body =
            serde_json::json!({"type": "FeatureCollection", "features": features}).to_string();
        return Ok((
            [
                (header::CONTENT_TYPE, "application/geo+json"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"signalements.geojson\"",
                ),
            ],
            body,
        )
            .into_response());
    }
    let mut w = csv::WriterBuilder::new()
        .delimiter(b';')
        .from_writer(Vec::new());
    w.write_record([
        "numero",
        "categorie",
        "etat",
        "commune",
        "adresse",
        "latitude",
        "longitude",
        "description",
        "cree_le",
        "modifie_le",
    ])?;
    for s in &list {
        let record = [
            s.number.clone(),
            labels.get(&s.category_id).cloned().unwrap_or_default(),
            s.state.code().to_string(),
            s.commune_insee.clone(),
            s.address.clone(),
            s.position.map(|p| p.0.to_string()).unwrap_or_default(),
            s.position.map(|p| p.1.to_string()).unwrap_or_default(),
            s.description.clone(),
            guichet_store::rfc3339(s.created_at),
            guichet_store::rfc3339(s.updated_at),
        ];
        w.write_record(
            record
                .iter()
                .map(|c| guichet_domain::text::neutralize_formula(c).into_owned()),
        )?;
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"signalements.csv\"",
            ),
        ],
        w.into_inner()?,
    )
        .into_response())
}

#[derive(Template)]
#[template(path = "signalement/signalement-admin.html")]
struct DetailPage {
    layout: Layout,
    collectivite: Collectivite,
    s: Signalement,
    category: String,
    /// The states it may move to.
    moves: Vec<SState>,
    reasons: [RejectReason; 3],
    history: Vec<(String, String, String)>,
    errors: Errors,
    flash: Option<String>,
    carte: Option<Carte>,
    /// The commune's name.
    commune: String,
    /// Ids of the report's photos.
    photos: Vec<String>,
}

async fn load(
    state: &AppState,
    ctx: &CollectiviteContext,
    id: i64,
) -> anyhow::Result<Option<Signalement>> {
    Ok(store::by_id(&state.db, id)
        .await?
        // Another collectivité's report does not exist here; nor an unconfirmed one.
        .filter(|s| s.tenant_id == ctx.collectivite.id && s.state != SState::AConfirmer))
}

async fn detail_page(
    state: &AppState,
    visitor: &Visitor,
    ctx: &CollectiviteContext,
    id: i64,
    errors: Errors,
    flash: Option<String>,
) -> Result<Response, AppError> {
    let Some(s) = load(state, ctx, id).await? else {
        return Ok(not_found(State(state.clone())).await);
    };
    let event = visitor.event_on(
        Some(ctx.collectivite.id),
        "signalement.consultation",
        "signalement",
        &s.number,
    );
    guichet_store::journal::append(&state.db, &event).await?;
    let history = store::history(&state.db, s.id)
        .await?
        .into_iter()
        .map(|e| {
            let what = match e.to_state {
                Some(st) => format!(
                    "→ {}{}",
                    st.label(),
                    e.body.map(|b| format!(" : {b}")).unwrap_or_default()
                ),
                None => format!("Transfert : {}", e.body.unwrap_or_default()),
            };
            (crate::format::format_ms(e.at), e.actor, what)
        })
        .collect();
    let page = DetailPage {
        layout: Layout::for_visitor(state, visitor).await,
        collectivite: ctx.collectivite.clone(),
        category: store::category(&state.db, s.category_id)
            .await?
            .map(|c| c.label)
            .unwrap_or_default(),
        moves: STATES
            .into_iter()
            .filter(|to| can_move(s.state, *to))
            .collect(),
        reasons: RejectReason::ALL,
        history,
        errors,
        flash,
        carte: Carte::of(&state.config.map),
        commune: guichet_store::territoire::commune_by_insee(&state.db, &s.commune_insee)
            .await?
            .map(|c| c.nom)
            .unwrap_or_else(|| s.commune_insee.clone()),
        photos: store::photos(&state.db, s.id).await?,
        s,
    };
    crate::page::form_page(&page.errors, &page)
}

pub async fn show(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    Path((_, id)): Path<(String, i64)>,
) -> Result<Response, AppError> {
    detail_page(&state, &visitor, &ctx, id, Errors::default(), None).await
}

/// What a state change leaves: its journal entry, news to the followers when the change is
/// public, alerts of the commune when the report has just become public.
async fn notice(
    state: &AppState,
    ctx: &CollectiviteContext,
    event: guichet_domain::journal::Event,
    category_id: i64,
    to: SState,
    reason: Option<&'static str>,
    note: &str,
) -> anyhow::Result<impl FnOnce(&Signalement, &store::Audience) -> Trace + Send + 'static> {
    let category = store::category(&state.db, category_id)
        .await?
        .map(|c| c.label)
        .unwrap_or_default();
    let mut text = format!("Votre signalement est désormais : {}.", to.label());
    if let Some(r) = reason {
        text.push_str(&format!(" Motif : {r}."));
    }
    if !note.is_empty() {
        text.push_str(&format!(
            "\n\nMessage de {} : {note}",
            ctx.collectivite.name
        ));
    }
    let config = state.config.clone();
    Ok(move |s: &Signalement, audience: &store::Audience| {
        let news = to.is_public().then_some((to.label(), text.as_str()));
        Trace::of(event).mails(crate::signalement::public_news(
            &config, s, audience, &category, news,
        ))
    })
}

pub async fn change(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    Path((_, id)): Path<(String, i64)>,
    pairs: Fields,
) -> Result<Response, AppError> {
    let Some(s) = load(&state, &ctx, id).await? else {
        return Ok(not_found(State(state)).await);
    };
    let mut errors = Errors::default();
    let to = SState::from_code(&pairs.get("etat")).filter(|to| can_move(s.state, *to));
    if to.is_none() {
        errors.add("etat", "Choisissez un nouvel état possible.");
    }
    let note = pairs.get("note");
    if note.chars().count() > 2000 {
        errors.add("note", "La note dépasse 2 000 caractères.");
    }
    let reason = RejectReason::from_code(&pairs.get("motif"));
    if to == Some(SState::Rejete) && reason.is_none() {
        errors.add(
            "motif",
            "Un rejet a un motif : hors compétence, doublon ou non fondé.",
        );
    }
    let (Some(to), true) = (to, errors.is_empty()) else {
        return detail_page(&state, &visitor, &ctx, id, errors, None).await;
    };
    let actor = collectivite_label(&ctx);
    let mut event = visitor.event_on(
        Some(ctx.collectivite.id),
        &format!("signalement.{}", to.code()),
        "signalement",
        &s.number,
    );
    event.details = serde_json::json!({"de": s.state.code(), "vers": to.code(), "motif": reason.map(|r| r.code())}).to_string();
    let reason_label = if to == SState::Rejete {
        reason.map(|r| r.label())
    } else {
        None
    };
    let notice = notice(&state, &ctx, event, s.category_id, to, reason_label, &note).await?;
    if !store::change_state(&state.db, &s, to, &note, reason_label, &actor, notice).await? {
        let mut errors = Errors::default();
        errors.add(
            "etat",
            "Le signalement a changé entre-temps : rechargez la page.",
        );
        return detail_page(&state, &visitor, &ctx, id, errors, None).await;
    }
    detail_page(
        &state,
        &visitor,
        &ctx,
        id,
        Errors::default(),
        Some(format!("Signalement {} : {}.", s.number, to.label())),
    )
    .await
}

fn collectivite_label(ctx: &CollectiviteContext) -> String {
    ctx.collectivite.name.clone()
}

/// Hands the report to the competent collectivité; the history goes with it.
pub async fn transfer(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    Path((_, id)): Path<(String, i64)>,
    pairs: Fields,
) -> Result<Response, AppError> {
    let Some(s) = load(&state, &ctx, id).await? else {
        return Ok(not_found(State(state)).await);
    };
    let target = collectivite::by_slug(&state.db, &pairs.get("collectivite")).await?;
    let Some(target) = target.filter(|t| t.id != ctx.collectivite.id) else {
        let mut errors = Errors::default();
        errors.add("collectivite", "Indiquez l'identifiant d'une autre collectivité présente sur Guichet (par exemple cote-d-or).");
        return detail_page(&state, &visitor, &ctx, id, errors, None).await;
    };
    let note = format!("de {} à {}", ctx.collectivite.name, target.name);
    let mut event = visitor.event_on(
        Some(ctx.collectivite.id),
        "signalement.transfert",
        "signalement",
        &s.number,
    );
    event.details = serde_json::json!({"vers": target.slug}).to_string();
    let (config, text) = (
        state.config.clone(),
        format!(
            "Votre signalement a été transmis à {}, qui est compétente pour ce problème.",
            target.name
        ),
    );
    store::transfer(
        &state.db,
        &s,
        target.id,
        &note,
        &collectivite_label(&ctx),
        move |s, audience| {
            Trace::of(event).mails(crate::signalement::mails::news(
                &config,
                s,
                &audience.followers,
                "transmis à la collectivité compétente",
                &text,
            ))
        },
    )
    .await?;
    let page = crate::page::message(
        &state,
        &visitor,
        "Signalement transmis",
        vec![format!(
            "Le signalement {} est désormais traité par {}. Son historique l'accompagne.",
            s.number, target.name
        )],
        None,
    )
    .await?;
    Ok(page)
}

/// A photo of one of the collectivité's reports, public or not yet (moderation needs to see it).
pub async fn photo(
    State(state): State<AppState>,
    ctx: CollectiviteContext,
    Path((_, id, file)): Path<(String, i64, String)>,
) -> Result<Response, AppError> {
    let Some(s) = load(&state, &ctx, id).await? else {
        return Ok(not_found(State(state)).await);
    };
    if !store::photos(&state.db, s.id).await?.contains(&file) {
        return Ok(not_found(State(state)).await);
    }
    let bytes = state.config.files.get(&file).await?;
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "image/jpeg"),
            (axum::http::header::CACHE_CONTROL, "private, max-age=3600"),
        ],
        bytes,
    )
        .into_response())
}
