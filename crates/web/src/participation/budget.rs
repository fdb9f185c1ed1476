//! Participatory budgets: a campaign with its budget and dates; residents propose projects
//! (with where); the services study them (feasible with a cost, or not with the reason);
//! residents vote once for projects within the budget; the winners are computed from the votes
//! and followed up until done.

use super::{resident, voter};
use crate::auth::{CollectiviteContext, Visitor};
use crate::error::AppError;
use crate::form::{Errors, Fields};
use crate::layout::Layout;
use crate::page::{html, not_found};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use guichet_domain::demarche::values::{parse_date, parse_integer};
use guichet_domain::participation::{self as rules, Phase};
use guichet_store::collectivite::Collectivite;
use guichet_store::participation::{self as store, Budget, NewBudget, NewProjet, Projet};
use guichet_store::trace::Trace;

const PER_PAGE: i64 = 100;

fn phase(b: &Budget, now: i64) -> Phase {
    rules::phase(b.proposals_until, b.vote_from, b.vote_until, now)
}

fn winners(b: &Budget, projets: &[Projet]) -> Vec<i64> {
    let candidates: Vec<(i64, i64, i64)> = projets
        .iter()
        .filter_map(|p| p.cost.map(|c| (p.id, c, p.votes)))
        .collect();
    rules::laureats(&candidates, b.amount)
}

#[derive(Template)]
#[template(path = "participation/budget.html")]
struct BudgetPage {
    layout: Layout,
    slug: String,
    b: Budget,
    phase: Phase,
    projets: Vec<Projet>,
    laureats: Vec<i64>,
    suivante: Option<i64>,
    refus: Option<String>,
    signed_in: bool,
    form: Fields,
    errors: Errors,
    merci: bool,
}

impl BudgetPage {
    fn euros(&self, n: &i64) -> String {
        rules::euros(*n)
    }

    fn cost(&self, p: &Projet) -> String {
        p.cost.map(rules::euros).unwrap_or_default()
    }

    fn is(&self, phase: &str) -> bool {
        format!("{:?}", self.phase) == phase
    }

    fn laureat(&self, p: &Projet) -> bool {
        self.laureats.contains(&p.id)
    }

    fn chosen(&self, p: &Projet) -> bool {
        self.form.all("projet").contains(&p.id.to_string())
    }

    fn val(&self, field: &str) -> String {
        self.form.get(field)
    }

    fn progress(&self, p: &Projet) -> &'static str {
        progress_label(p.progress.as_deref().unwrap_or_default())
    }
}

pub const PROGRESS: [(&str, &str); 3] = [
    ("a_l_etude", "À l'étude"),
    ("en_travaux", "En travaux"),
    ("realise", "Réalisé"),
];

fn progress_label(code: &str) -> &'static str {
    PROGRESS
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, l)| *l)
        .unwrap_or("Pas encore commencé")
}

/// Why this visitor may not propose or vote now, or `None`.
async fn refus(
    state: &AppState,
    visitor: &Visitor,
    c: &Collectivite,
    b: &Budget,
    phase: Phase,
) -> anyhow::Result<Option<String>> {
    let Some(user) = &visitor.user else {
        return Ok(None);
    };
    match resident(state, c, user.id).await? {
        None => return Ok(Some(rules::Refus::CommuneInconnue.to_string())),
        Some(false) => return Ok(Some(rules::Refus::HorsTerritoire.to_string())),
        Some(true) => {}
    }
    if phase == Phase::Vote && store::has_voted(&state.db, c.id, b.id, &voter(user.id)).await? {
        return Ok(Some("Vous avez déjà voté : merci.".into()));
    }
    Ok(None)
}

#[derive(serde::Deserialize, Default)]
pub struct PageQuery {
    #[serde(default)]
    apres: Option<i64>,
    #[serde(default)]
    merci: Option<String>,
}

#[allow(clippy::too_many_arguments)]
async fn page(
    state: &AppState,
    visitor: &Visitor,
    slug: &str,
    id: i64,
    q: PageQuery,
    form: Fields,
    errors: Errors,
) -> Result<Response, AppError> {
    let Some(c) = guichet_store::collectivite::by_slug(&state.db, slug).await? else {
        return Ok(not_found(State(state.clone())).await);
    };
    let Some(b) = store::budget_by_id(&state.db, c.id, id).await? else {
        return Ok(not_found(State(state.clone())).await);
    };
    let phase = phase(&b, state.config.clock.now_ms());
    // Proposals and study: a hundred a page; vote and results: every project studied feasible.
    let (projets, laureats, suivante) = match phase {
        Phase::Propositions | Phase::Examen => {
            let mut list =
                store::projets(&state.db, c.id, b.id, q.apres.unwrap_or(0), PER_PAGE + 1).await?;
            let next = (list.len() as i64 > PER_PAGE).then(|| list[PER_PAGE as usize - 1].id);
            list.truncate(PER_PAGE as usize);
            (list, Vec::new(), next)
        }
        Phase::Vote | Phase::Resultats => {
            let mut list = store::recevables(&state.db, c.id, b.id).await?;
            let w = if phase == Phase::Resultats {
                winners(&b, &list)
            } else {
                Vec::new()
            };
            if phase == Phase::Resultats {
                list.sort_by_key(|p| (!w.contains(&p.id), -p.votes));
            }
            (list, w, None)
        }
    };
    let status = errors.status();
    let page = html(&BudgetPage {
        layout: Layout::for_visitor(state, visitor).await,
        slug: c.slug.clone(),
        refus: refus(state, visitor, &c, &b, phase).await?,
        signed_in: visitor.user.is_some(),
        b,
        phase,
        projets,
        laureats,
        suivante,
        form,
        errors,
        merci: q.merci.is_some(),
    })?;
    Ok((status, page).into_response())
}

pub async fn show(
    State(state): State<AppState>,
    visitor: Visitor,
    Path((slug, id)): Path<(String, i64)>,
    Query(q): Query<PageQuery>,
) -> Result<Response, AppError> {
    page(
        &state,
        &visitor,
        &slug,
        id,
        q,
        Fields::parse(""),
        Errors::default(),
    )
    .await
}

/// A resident proposes a project while proposals are open.
pub async fn propose(
    State(state): State<AppState>,
    visitor: Visitor,
    Path((slug, id)): Path<(String, i64)>,
    body: String,
) -> Result<Response, AppError> {
    let user = visitor.signed_in()?.clone();
    let Some(c) = guichet_store::collectivite::by_slug(&state.db, &slug).await? else {
        return Ok(not_found(State(state)).await);
    };
    let Some(b) = store::budget_by_id(&state.db, c.id, id).await? else {
        return Ok(not_found(State(state)).await);
    };
    let f = Fields::parse(&body);
    let mut errors = Errors::default();
    let now = state.config.clock.now_ms();
    if phase(&b, now) != Phase::Propositions {
        errors.add("titre", "Le dépôt des projets est terminé.");
    } else if let Some(r) = refus(&state, &visitor, &c, &b, Phase::Propositions).await? {
        errors.add("titre", r);
    }
    let (title, description, place) = (f.get("titre"), f.get("description"), f.get("lieu"));
    if title.is_empty() || title.chars().count() > 200 {
        errors.add(
            "titre",
            "Indiquez le nom du projet, 200 caractères au plus.",
        );
    }
    if description.chars().count() < 20 || description.chars().count() > 5_000 {
        errors.add(
            "description",
            "Décrivez le projet (de 20 à 5 000 caractères).",
        );
    }
    if place.is_empty() {
        errors.add("lieu", "Indiquez où : une adresse, une place, un quartier.");
    }
    if !errors.is_empty() {
        return page(&state, &visitor, &slug, id, PageQuery::default(), f, errors).await;
    }
    let mut event = visitor.event_on(Some(c.id), "participation.budget.projet", "budget", b.id);
    event.details = serde_json::json!({"titre": title}).to_string();
    let new = NewProjet {
        title,
        description,
        place,
        author_id: user.id,
    };
    store::propose(&state.db, c.id, b.id, new, now, Trace::of(event)).await?;
    Ok(Redirect::to(&format!("/participation/{slug}/budgets/{id}?merci=1")).into_response())
}

/// A resident's ballot: projects within the budget, once.
pub async fn vote(
    State(state): State<AppState>,
    visitor: Visitor,
    Path((slug, id)): Path<(String, i64)>,
    body: String,
) -> Result<Response, AppError> {
    let user = visitor.signed_in()?.clone();
    let Some(c) = guichet_store::collectivite::by_slug(&state.db, &slug).await? else {
        return Ok(not_found(State(state)).await);
    };
    let Some(b) = store::budget_by_id(&state.db, c.id, id).await? else {
        return Ok(not_found(State(state)).await);
    };
    let f = Fields::parse(&body);
    let mut errors = Errors::default();
    let now = state.config.clock.now_ms();
    if phase(&b, now) != Phase::Vote {
        errors.add("projets", "Le vote n'est pas ouvert.");
    } else if let Some(r) = refus(&state, &visitor, &c, &b, Phase::Vote).await? {
        errors.add("projets", r);
    }
    let feasible = store::recevables(&state.db, c.id, b.id).await?;
    let mut chosen = Vec::new();
    for v in f.all("projet") {
        match v
            .parse::<i64>()
            .ok()
            .and_then(|x| feasible.iter().find(|p| p.id == x))
        {
            Some(p) => chosen.push((p.id, p.cost.unwrap_or(0))),
            None => errors.add(
                "projets",
                "Un des projets choisis n'est pas soumis au vote.",
            ),
        }
    }
    if errors.is_empty() {
        if let Err(message) = rules::verifier_bulletin(&chosen, b.amount) {
            errors.add("projets", message);
        }
    }
    if !errors.is_empty() {
        return page(&state, &visitor, &slug, id, PageQuery::default(), f, errors).await;
    }
    let event = visitor.event_on(Some(c.id), "participation.budget.vote", "budget", b.id);
    let ids = chosen.iter().map(|(id, _)| *id).collect();
    if !store::vote(
        &state.db,
        c.id,
        b.id,
        voter(user.id),
        ids,
        now,
        Trace::of(event),
    )
    .await?
    {
        errors.add("projets", "Vous avez déjà voté : merci.");
        return page(&state, &visitor, &slug, id, PageQuery::default(), f, errors).await;
    }
    Ok(Redirect::to(&format!("/participation/{slug}/budgets/{id}?merci=1")).into_response())
}

/// A new campaign (from the participation admin page).
pub async fn create(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    body: String,
) -> Result<Response, AppError> {
    let f = Fields::parse(&body);
    let mut errors = Errors::default();
    let title = f.get("budget_titre");
    if title.is_empty() {
        errors.add("budget_titre", "Indiquez le titre de la campagne.");
    }
    let amount = parse_integer(f.get("montant").trim_end_matches('€')).filter(|n| *n > 0);
    if amount.is_none() {
        errors.add("montant", "Indiquez le budget en euros, un nombre entier.");
    }
    let mut day = |field: &str, message: &str| {
        let d = parse_date(&f.get(field)).map(crate::format::paris_midnight);
        if d.is_none() {
            errors.add(field, message);
        }
        d
    };
    let proposals_until = day(
        "propositions_fin",
        "Indiquez le jour où le dépôt des projets se termine.",
    );
    let vote_from = day("vote_debut", "Indiquez le premier jour du vote.");
    let vote_until = day("vote_fin", "Indiquez le jour où le vote se termine.");
    if let (Some(p), Some(v), Some(e)) = (proposals_until, vote_from, vote_until) {
        if !(p <= v && v < e) {
            errors.add(
                "vote_debut",
                "Le vote commence après le dépôt des projets et se termine après avoir commencé.",
            );
        }
    }
    let (Some(amount), Some(proposals_until), Some(vote_from), Some(vote_until), true) = (
        amount,
        proposals_until,
        vote_from,
        vote_until,
        errors.is_empty(),
    ) else {
        return super::admin_page(&state, &visitor, &ctx, f, errors).await;
    };
    let c = &ctx.collectivite;
    let mut event = visitor.event(Some(c.id), "participation.budget.creation");
    event.details = serde_json::json!({"titre": title, "montant": amount}).to_string();
    let new = NewBudget {
        title,
        description: f.get("budget_description"),
        amount,
        proposals_until,
        vote_from,
        vote_until,
    };
    store::create_budget(
        &state.db,
        c.id,
        new,
        state.config.clock.now_ms(),
        Trace::of(event),
    )
    .await?;
    Ok(Redirect::to(&format!("/admin/{}/participation", c.slug)).into_response())
}

#[derive(Template)]
#[template(path = "participation/budget-admin.html")]
struct AdminPage {
    layout: Layout,
    slug: String,
    b: Budget,
    phase: Phase,
    projets: Vec<Projet>,
    laureats: Vec<i64>,
    /// The last project of this page, when more follow.
    suivante: Option<i64>,
    total: i64,
    progress: [(&'static str, &'static str); 3],
    form: Fields,
    errors: Errors,
}

impl AdminPage {
    fn field(&self, name: &str, p: &Projet) -> String {
        format!("{name}-{}", p.id)
    }

    fn typed(&self, name: &str, p: &Projet) -> String {
        self.form.get(&format!("{name}-{}", p.id))
    }

    fn error(&self, name: &str, p: &Projet) -> Option<String> {
        self.errors
            .get(&format!("{name}-{}", p.id))
            .map(str::to_string)
    }

    fn laureat(&self, p: &Projet) -> bool {
        self.laureats.contains(&p.id)
    }

    fn cost(&self, p: &Projet) -> String {
        p.cost.map(rules::euros).unwrap_or_default()
    }
}

/// The services' page of a campaign, a hundred projects a page from `after` (keyset).
async fn admin_page(
    state: &AppState,
    visitor: &Visitor,
    ctx: &CollectiviteContext,
    id: i64,
    after: i64,
    form: Fields,
    errors: Errors,
) -> Result<Response, AppError> {
    let c = &ctx.collectivite;
    let Some(b) = store::budget_by_id(&state.db, c.id, id).await? else {
        return Ok(not_found(State(state.clone())).await);
    };
    let phase = phase(&b, state.config.clock.now_ms());
    let mut projets = store::projets(&state.db, c.id, b.id, after, PER_PAGE + 1).await?;
    let suivante = (projets.len() as i64 > PER_PAGE).then(|| projets[PER_PAGE as usize - 1].id);
    projets.truncate(PER_PAGE as usize);
    let laureats = if phase == Phase::Resultats {
        winners(&b, &store::recevables(&state.db, c.id, b.id).await?)
    } else {
        Vec::new()
    };
    let status = errors.status();
    let page = html(&AdminPage {
        layout: Layout::for_visitor(state, visitor).await,
        slug: c.slug.clone(),
        b,
        phase,
        projets,
        laureats,
        suivante,
        total: store::projet_count(&state.db, c.id, id).await?,
        progress: PROGRESS,
        form,
        errors,
    })?;
    Ok((status, page).into_response())
}

pub async fn admin(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    Path((_, id)): Path<(String, i64)>,
    Query(q): Query<PageQuery>,
) -> Result<Response, AppError> {
    admin_page(
        &state,
        &visitor,
        &ctx,
        id,
        q.apres.unwrap_or(0),
        Fields::parse(""),
        Errors::default(),
    )
    .await
}

/// The services' study of a project: a cost makes it feasible; without one, the reason why not.
pub async fn review(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    Path((_, id, projet)): Path<(String, i64, i64)>,
    body: String,
) -> Result<Response, AppError> {
    let c = &ctx.collectivite;
    let Some(b) = store::budget_by_id(&state.db, c.id, id).await? else {
        return Ok(not_found(State(state)).await);
    };
    let Some(p) = store::projet_by_id(&state.db, c.id, b.id, projet).await? else {
        return Ok(not_found(State(state)).await);
    };
    let f = Fields::parse(&body);
    let (cout, motif) = (format!("cout-{}", p.id), format!("motif-{}", p.id));
    let mut errors = Errors::default();
    if phase(&b, state.config.clock.now_ms()) >= Phase::Vote {
        errors.add(&cout, "Le vote a commencé : l'étude des projets est close.");
    }
    let typed = f.get(&cout).trim_end_matches('€').trim().to_string();
    let cost = if typed.is_empty() {
        None
    } else {
        let n = parse_integer(&typed).filter(|n| *n > 0 && *n <= b.amount);
        if n.is_none() {
            errors.add(
                &cout,
                format!(
                    "Indiquez le coût en euros, au plus le budget ({} €).",
                    rules::euros(b.amount)
                ),
            );
        }
        n
    };
    let note = f.get(&motif);
    if typed.is_empty() && note.is_empty() {
        errors.add(
            &motif,
            "Sans coût, le projet n'est pas soumis au vote : expliquez pourquoi à son auteur.",
        );
    }
    if !errors.is_empty() {
        return admin_page(&state, &visitor, &ctx, id, p.id - 1, f, errors).await;
    }
    let mut event = visitor.event_on(Some(c.id), "participation.budget.examen", "budget", b.id);
    event.details = serde_json::json!({"projet": p.title, "cout": cost}).to_string();
    store::review(&state.db, c.id, p.id, cost, note, Trace::of(event)).await?;
    Ok(Redirect::to(&format!("/admin/{}/participation/budgets/{id}", c.slug)).into_response())
}

/// The follow-up of a winning project, shown on the public page.
pub async fn follow_up(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    Path((_, id, projet)): Path<(String, i64, i64)>,
    body: String,
) -> Result<Response, AppError> {
    let c = &ctx.collectivite;
    let Some(b) = store::budget_by_id(&state.db, c.id, id).await? else {
        return Ok(not_found(State(state)).await);
    };
    let won = phase(&b, state.config.clock.now_ms()) == Phase::Resultats
        && winners(&b, &store::recevables(&state.db, c.id, b.id).await?).contains(&projet);
    let f = Fields::parse(&body);
    let field = format!("avancement-{projet}");
    let progress = f.get(&field);
    if !won || !PROGRESS.iter().any(|(c, _)| *c == progress) {
        let mut errors = Errors::default();
        errors.add(field, "Choisissez où en est ce projet lauréat.");
        return admin_page(&state, &visitor, &ctx, id, projet - 1, f, errors).await;
    }
    let mut event = visitor.event_on(Some(c.id), "participation.budget.suivi", "budget", b.id);
    event.details = serde_json::json!({"projet": projet, "avancement": progress}).to_string();
    store::follow_up(
        &state.db,
        c.id,
        projet,
        progress,
        f.get(&format!("note-{projet}")),
        Trace::of(event),
    )
    .await?;
    Ok(Redirect::to(&format!("/admin/{}/participation/budgets/{id}", c.slug)).into_response())
}
