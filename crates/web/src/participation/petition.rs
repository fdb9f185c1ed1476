//! Pétitions: residents start and sign pétitions addressed to a collectivité
//! (`/participation/{collectivité}/petitions/{id}`); a demand of local consultation follows
//! L1112-16 (certified signatures, a fifth of a commune's electors, one such demand a year); the
//! progress is public and the collectivité answers publicly.

use super::{resident, voter};
use crate::auth::{CollectiviteContext, Visitor};
use crate::error::AppError;
use crate::form::{Errors, Fields};
use crate::layout::Layout;
use crate::page::{html, not_found};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use guichet_domain::demarche::values::parse_integer;
use guichet_domain::participation::{self as rules, Demande};
use guichet_store::collectivite::Collectivite;
use guichet_store::participation::{self as store, NewPetition, Petition};
use guichet_store::trace::Trace;

/// A pétition stays open a year unless answered before.
const OPEN_FOR: i64 = 365 * 86_400_000;

/// The signatures it needs, from the collectivité's declared figures.
pub async fn seuil(
    state: &AppState,
    c: &Collectivite,
    p: &Petition,
) -> anyhow::Result<Option<i64>> {
    let (electeurs, seuil) = store::settings(&state.db, c.id).await?;
    Ok(rules::seuil(p.demande, c.entity_kind, electeurs, seuil))
}

fn year(ms: i64) -> i16 {
    guichet_domain::delai::paris_day(ms).year()
}

#[derive(Template)]
#[template(path = "participation/petition.html")]
struct PetitionPage {
    layout: Layout,
    slug: String,
    p: Petition,
    seuil: Option<i64>,
    ouverte: bool,
    refus: Option<String>,
    signed_in: bool,
    date: String,
    errors: Errors,
    merci: bool,
}

impl PetitionPage {
    fn atteint(&self) -> bool {
        self.seuil.is_some_and(|s| self.p.signatures >= s)
    }

    fn consultation(&self) -> bool {
        self.p.demande == Demande::Consultation
    }
}

/// Why this visitor may not sign, or `None`.
async fn refus(
    state: &AppState,
    visitor: &Visitor,
    c: &Collectivite,
    p: &Petition,
    ouverte: bool,
) -> anyhow::Result<Option<rules::RefusSignature>> {
    let Some(user) = &visitor.user else {
        return Ok((!ouverte).then_some(rules::RefusSignature::Close));
    };
    let now = state.config.clock.now_ms();
    let (deja_signee, autre_demande_cette_annee) =
        store::signed(&state.db, c.id, p.id, &voter(user.id), year(now)).await?;
    let s = rules::Signataire {
        certifie: guichet_store::oidc::is_linked(&state.db, "franceconnect", user.id).await?,
        dans_le_territoire: resident(state, c, user.id).await?,
        deja_signee,
        autre_demande_cette_annee,
    };
    Ok(rules::peut_signer(p.demande, ouverte, &s).err())
}

async fn page(
    state: &AppState,
    visitor: &Visitor,
    slug: &str,
    id: i64,
    errors: Errors,
    merci: bool,
) -> Result<Response, AppError> {
    let Some(c) = guichet_store::collectivite::by_slug(&state.db, slug).await? else {
        return Ok(not_found(State(state.clone())).await);
    };
    let Some(p) = store::petition_by_id(&state.db, c.id, id).await? else {
        return Ok(not_found(State(state.clone())).await);
    };
    let ouverte = state.config.clock.now_ms() < p.closes_at;
    let status = errors.status();
    let page = html(&PetitionPage {
        layout: Layout::for_visitor(state, visitor).await,
        slug: c.slug.clone(),
        seuil: seuil(state, &c, &p).await?,
        refus: refus(state, visitor, &c, &p, ouverte)
            .await?
            .map(|r| r.to_string()),
        signed_in: visitor.user.is_some(),
        date: crate::format::format_day(p.created_at),
        ouverte,
        p,
        errors,
        merci,
    })?;
    Ok((status, page).into_response())
}

#[derive(serde::Deserialize)]
pub struct ShowQuery {
    #[serde(default)]
    merci: Option<String>,
}

pub async fn show(
    State(state): State<AppState>,
    visitor: Visitor,
    Path((slug, id)): Path<(String, i64)>,
    axum::extract::Query(q): axum::extract::Query<ShowQuery>,
) -> Result<Response, AppError> {
    page(
        &state,
        &visitor,
        &slug,
        id,
        Errors::default(),
        q.merci.is_some(),
    )
    .await
}

/// A resident signs: once.
pub async fn sign(
    State(state): State<AppState>,
    visitor: Visitor,
    Path((slug, id)): Path<(String, i64)>,
) -> Result<Response, AppError> {
    let user = visitor.signed_in()?.clone();
    let Some(c) = guichet_store::collectivite::by_slug(&state.db, &slug).await? else {
        return Ok(not_found(State(state)).await);
    };
    let Some(p) = store::petition_by_id(&state.db, c.id, id).await? else {
        return Ok(not_found(State(state)).await);
    };
    let now = state.config.clock.now_ms();
    let refused = |message: String| {
        let (state, visitor, slug) = (state.clone(), visitor.clone(), slug.clone());
        async move {
            let mut errors = Errors::default();
            errors.add("signer", message);
            page(&state, &visitor, &slug, id, errors, false).await
        }
    };
    if let Some(r) = refus(&state, &visitor, &c, &p, now < p.closes_at).await? {
        return refused(r.to_string()).await;
    }
    let event = visitor.event_on(
        Some(c.id),
        "participation.petition.signature",
        "petition",
        p.id,
    );
    if !store::sign(
        &state.db,
        &p,
        voter(user.id),
        year(now),
        now,
        Trace::of(event),
    )
    .await?
    {
        return refused(rules::RefusSignature::DejaSignee.to_string()).await;
    }
    Ok(Redirect::to(&format!("/participation/{slug}/petitions/{id}?merci=1")).into_response())
}

#[derive(Template)]
#[template(path = "participation/petition-nouvelle.html")]
struct NewPage {
    layout: Layout,
    collectivite: Collectivite,
    form: Fields,
    errors: Errors,
}

impl NewPage {
    fn val(&self, field: &str) -> String {
        self.form.get(field)
    }
}

async fn new_page(
    state: &AppState,
    visitor: &Visitor,
    c: Collectivite,
    form: Fields,
    errors: Errors,
) -> Result<Response, AppError> {
    let status = errors.status();
    let page = html(&NewPage {
        layout: Layout::for_visitor(state, visitor).await,
        collectivite: c,
        form,
        errors,
    })?;
    Ok((status, page).into_response())
}

pub async fn new_form(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(slug): Path<String>,
) -> Result<Response, AppError> {
    let Some(c) = guichet_store::collectivite::by_slug(&state.db, &slug).await? else {
        return Ok(not_found(State(state)).await);
    };
    new_page(&state, &visitor, c, Fields::parse(""), Errors::default()).await
}

/// A resident starts a pétition.
pub async fn create(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(slug): Path<String>,
    body: String,
) -> Result<Response, AppError> {
    let user = visitor.signed_in()?.clone();
    let Some(c) = guichet_store::collectivite::by_slug(&state.db, &slug).await? else {
        return Ok(not_found(State(state)).await);
    };
    let f = Fields::parse(&body);
    let mut errors = Errors::default();
    let demande = Demande::from_code(&f.get("demande"));
    if demande.is_none() {
        errors.add("demande", "Choisissez ce que demande la pétition.");
    }
    let title = f.get("titre");
    if title.is_empty() || title.chars().count() > 200 {
        errors.add(
            "titre",
            "Indiquez le titre de la pétition, 200 caractères au plus.",
        );
    }
    let text = f.get("texte");
    if text.chars().count() < 20 || text.chars().count() > 10_000 {
        errors.add(
            "texte",
            "Expliquez ce que vous demandez et pourquoi (de 20 à 10 000 caractères).",
        );
    }
    match resident(&state, &c, user.id).await? {
        Some(true) => {}
        Some(false) => errors.add("demande", rules::RefusSignature::HorsTerritoire.to_string()),
        None => errors.add(
            "demande",
            rules::RefusSignature::CommuneInconnue.to_string(),
        ),
    }
    if demande == Some(Demande::Consultation)
        && !guichet_store::oidc::is_linked(&state.db, "franceconnect", user.id).await?
    {
        errors.add(
            "demande",
            rules::RefusSignature::IdentiteNonCertifiee.to_string(),
        );
    }
    let (Some(demande), true) = (demande, errors.is_empty()) else {
        return new_page(&state, &visitor, c, f, errors).await;
    };
    let now = state.config.clock.now_ms();
    let mut event = visitor.event(Some(c.id), "participation.petition.creation");
    event.details = serde_json::json!({"titre": title, "demande": demande.code()}).to_string();
    let new = NewPetition {
        demande,
        title,
        body: text,
        author_id: user.id,
        closes_at: now + OPEN_FOR,
    };
    let id = store::create_petition(&state.db, c.id, new, now, Trace::of(event)).await?;
    Ok(Redirect::to(&format!("/participation/{slug}/petitions/{id}")).into_response())
}

/// The collectivité declares its electors and its threshold of answer.
pub async fn settings(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    body: String,
) -> Result<Response, AppError> {
    let f = Fields::parse(&body);
    let mut errors = Errors::default();
    let mut number = |field: &str, message: &str| -> Option<i64> {
        let v = f.get(field);
        if v.is_empty() {
            return None;
        }
        let n = parse_integer(&v).filter(|n| *n > 0);
        if n.is_none() {
            errors.add(field, message);
        }
        n
    };
    let electeurs = number(
        "electeurs",
        "Indiquez le nombre d'électeurs inscrits, un nombre entier.",
    );
    let seuil = number(
        "seuil",
        "Indiquez le nombre de signatures, un nombre entier.",
    );
    if !errors.is_empty() {
        return super::admin_page(&state, &visitor, &ctx, f, errors).await;
    }
    let c = &ctx.collectivite;
    let mut event = visitor.event(Some(c.id), "participation.reglages");
    event.details = serde_json::json!({"electeurs": electeurs, "seuil": seuil}).to_string();
    store::set_settings(
        &state.db,
        c.id,
        electeurs,
        seuil,
        state.config.clock.now_ms(),
        Trace::of(event),
    )
    .await?;
    Ok(Redirect::to(&format!("/admin/{}/participation", c.slug)).into_response())
}

/// The collectivité's public answer to a pétition.
pub async fn answer(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    Path((_, id)): Path<(String, i64)>,
    body: String,
) -> Result<Response, AppError> {
    let c = &ctx.collectivite;
    let Some(p) = store::petition_by_id(&state.db, c.id, id).await? else {
        return Ok(not_found(State(state)).await);
    };
    let f = Fields::parse(&body);
    let field = format!("reponse-{}", p.id);
    let text = f.get(&field);
    if text.chars().count() < 10 {
        let mut errors = Errors::default();
        errors.add(
            field,
            "Rédigez la réponse de la collectivité : elle est publiée avec la pétition.",
        );
        return super::admin_page(&state, &visitor, &ctx, f, errors).await;
    }
    let event = visitor.event_on(
        Some(c.id),
        "participation.petition.reponse",
        "petition",
        p.id,
    );
    if !store::answer_petition(
        &state.db,
        c.id,
        p.id,
        text,
        state.config.clock.now_ms(),
        Trace::of(event),
    )
    .await?
    {
        let mut errors = Errors::default();
        errors.add(field, "Cette pétition a déjà reçu sa réponse.");
        return super::admin_page(&state, &visitor, &ctx, f, errors).await;
    }
    Ok(Redirect::to(&format!("/admin/{}/participation", c.slug)).into_response())
}
