//! Residents' participation. Consultations: the collectivité writes a questionnaire
//! (`/admin/{collectivité}/participation`), residents of its territory answer once over the
//! dates it set (`/participation/{collectivité}/consultations/{id}`), the results are published
//! when it closes, small counts suppressed, as a page and as CSV.

use crate::auth::{CollectiviteContext, Visitor};
use crate::error::AppError;
use crate::form::{Errors, Fields};
use crate::layout::Layout;
use crate::page::{html, not_found};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use guichet_domain::participation::{self as rules, Genre, Public, Question, Resultat};
use guichet_store::collectivite::Collectivite;
use guichet_store::participation::{self as store, Consultation, NewConsultation};
use guichet_store::trace::Trace;

pub mod budget;
pub mod petition;

const DAY: i64 = 86_400_000;

/// A consultation as lists show it.
struct Ligne {
    c: Consultation,
    du: String,
    au: String,
    ouverte: bool,
    close: bool,
}

fn ligne(c: Consultation, now: i64) -> Ligne {
    Ligne {
        du: crate::format::format_day(c.starts_at),
        // The last day it is open (it closes at the end of that day).
        au: crate::format::format_day(c.ends_at - 1),
        ouverte: c.starts_at <= now && now < c.ends_at,
        close: now >= c.ends_at,
        c,
    }
}

#[derive(Template)]
#[template(path = "participation/admin.html")]
struct AdminPage {
    layout: Layout,
    slug: String,
    consultations: Vec<(Ligne, i64)>,
    /// Pétitions with the signatures they need.
    petitions: Vec<(guichet_store::participation::Petition, String)>,
    budgets: Vec<guichet_store::participation::Budget>,
    electeurs: String,
    seuil: String,
    form: Fields,
    errors: Errors,
}

impl AdminPage {
    fn val(&self, field: &str) -> String {
        self.form.get(field)
    }

    fn reponse_id(&self, id: &i64) -> String {
        format!("reponse-{id}")
    }
}

pub(super) async fn admin_page(
    state: &AppState,
    visitor: &Visitor,
    ctx: &CollectiviteContext,
    form: Fields,
    errors: Errors,
) -> Result<Response, AppError> {
    let c = &ctx.collectivite;
    let now = state.config.clock.now_ms();
    let mut consultations = Vec::new();
    for x in store::list(&state.db, c.id).await? {
        let n = store::answer_count(&state.db, c.id, x.id).await?;
        consultations.push((ligne(x, now), n));
    }
    let mut petitions = Vec::new();
    for p in store::petitions(&state.db, c.id).await? {
        let needed = petition::seuil(state, c, &p)
            .await?
            .map(|s| format!("{} / {s}", p.signatures))
            .unwrap_or_else(|| format!("{} (seuil à déclarer)", p.signatures));
        petitions.push((p, needed));
    }
    let (electeurs, seuil) = store::settings(&state.db, c.id).await?;
    let typed = |field: &str, stored: Option<i64>| {
        if form.0.iter().any(|(k, _)| k == field) {
            form.get(field)
        } else {
            stored.map(|n| n.to_string()).unwrap_or_default()
        }
    };
    let (electeurs, seuil) = (typed("electeurs", electeurs), typed("seuil", seuil));
    let status = errors.status();
    let page = html(&AdminPage {
        layout: Layout::for_visitor(state, visitor).await,
        slug: c.slug.clone(),
        consultations,
        petitions,
        budgets: store::budgets(&state.db, c.id).await?,
        electeurs,
        seuil,
        form,
        errors,
    })?;
    Ok((status, page).into_response())
}

pub async fn admin(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
) -> Result<Response, AppError> {
    admin_page(&state, &visitor, &ctx, Fields::parse(""), Errors::default()).await
}

/// A new consultation, from its questionnaire's text.
pub async fn create(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    body: String,
) -> Result<Response, AppError> {
    let f = Fields::parse(&body);
    let mut errors = Errors::default();
    let title = f.get("titre");
    if title.is_empty() {
        errors.add("titre", "Indiquez le titre de la consultation.");
    }
    let questions = match rules::questionnaire(&f.get("questions")) {
        Ok(q) => Some(q),
        Err(message) => {
            errors.add("questions", message);
            None
        }
    };
    let public = Public::from_code(&f.get("public"));
    if public.is_none() {
        errors.add("public", "Choisissez qui peut répondre.");
    }
    let (du, au) = crate::form::day_range(&f.get("du"), &f.get("au"), &mut errors);
    if du.is_none() && !errors.has("du") {
        errors.add("du", "Indiquez le premier jour de la consultation.");
    }
    if au.is_none() && !errors.has("au") {
        errors.add("au", "Indiquez le dernier jour de la consultation.");
    }
    let now = state.config.clock.now_ms();
    if let (Some(du), Some(au)) = (du, au) {
        if au <= du {
            errors.add("au", "Le dernier jour vient après le premier.");
        } else if au <= now {
            errors.add("au", "La consultation doit se terminer dans le futur.");
        } else if au - du > 366 * DAY {
            errors.add("au", "Une consultation dure un an au plus.");
        }
    }
    let (Some(questions), Some(public), Some(starts_at), Some(ends_at), true) =
        (questions, public, du, au, errors.is_empty())
    else {
        return admin_page(&state, &visitor, &ctx, f, errors).await;
    };
    let c = &ctx.collectivite;
    let mut event = visitor.event(Some(c.id), "participation.consultation.creation");
    event.details = serde_json::json!({"titre": title, "questions": questions.len()}).to_string();
    let new = NewConsultation {
        title,
        description: f.get("description"),
        questions,
        public,
        starts_at,
        ends_at,
    };
    store::create(&state.db, c.id, new, now, Trace::of(event)).await?;
    Ok(Redirect::to(&format!("/admin/{}/participation", c.slug)).into_response())
}

#[derive(Template)]
#[template(path = "participation/public.html")]
struct ListPage {
    layout: Layout,
    collectivite: Collectivite,
    consultations: Vec<Ligne>,
    petitions: Vec<guichet_store::participation::Petition>,
    budgets: Vec<guichet_store::participation::Budget>,
}

/// The collectivité's consultations, open and closed.
pub async fn list(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(slug): Path<String>,
) -> Result<Response, AppError> {
    let Some(c) = guichet_store::collectivite::by_slug(&state.db, &slug).await? else {
        return Ok(not_found(State(state)).await);
    };
    let now = state.config.clock.now_ms();
    let consultations = store::list(&state.db, c.id)
        .await?
        .into_iter()
        .filter(|x| x.starts_at <= now)
        .map(|x| ligne(x, now))
        .collect();
    let petitions = store::petitions(&state.db, c.id).await?;
    let budgets = store::budgets(&state.db, c.id).await?;
    html(&ListPage {
        layout: Layout::for_visitor(&state, &visitor).await,
        collectivite: c,
        consultations,
        petitions,
        budgets,
    })
}

#[derive(Template)]
#[template(path = "participation/consultation.html")]
struct ConsultationPage {
    layout: Layout,
    slug: String,
    x: Ligne,
    /// Why this visitor cannot answer (none: the form is shown).
    refus: Option<String>,
    signed_in: bool,
    resultats: Vec<Resultat>,
    repondants: i64,
    form: Fields,
    errors: Errors,
    merci: bool,
}

impl ConsultationPage {
    fn text(&self, question: &usize) -> String {
        self.form.get(&format!("q{question}"))
    }

    /// The error of question `q{question}{suffix}`.
    fn error(&self, question: &usize, suffix: &str) -> Option<String> {
        self.errors
            .get(&format!("q{question}{suffix}"))
            .map(str::to_string)
    }

    fn chosen(&self, question: &usize, option: &usize) -> bool {
        self.form.get(&format!("q{question}")) == option.to_string()
    }

    fn rank(&self, question: &usize, option: &usize) -> String {
        self.form.get(&format!("q{question}_{option}"))
    }

    fn is(&self, q: &Question, kind: &str) -> bool {
        q.kind.code() == kind
    }

    fn shown(&self, n: &Option<i64>) -> String {
        n.map(|n| n.to_string())
            .unwrap_or_else(|| "moins de 5".into())
    }

    fn ranking(&self, r: &Resultat) -> bool {
        r.kind == Genre::Classement
    }
}

/// Why this visitor may not answer, or `None`.
async fn refus(
    state: &AppState,
    visitor: &Visitor,
    c: &Collectivite,
    x: &Consultation,
) -> anyhow::Result<Option<rules::Refus>> {
    let now = state.config.clock.now_ms();
    let Some(user) = &visitor.user else {
        // Dates first: a closed consultation says so to everyone.
        return Ok(rules::peut_repondre(
            x.public,
            x.starts_at,
            x.ends_at,
            now,
            &rules::Participant {
                certifie: true,
                dans_le_territoire: Some(true),
                deja_repondu: false,
            },
        )
        .err());
    };
    let certifie = guichet_store::oidc::is_linked(&state.db, "franceconnect", user.id).await?;
    let dans_le_territoire = resident(state, c, user.id).await?;
    let deja_repondu = store::has_answered(&state.db, c.id, x.id, &voter(user.id)).await?;
    let p = rules::Participant {
        certifie,
        dans_le_territoire,
        deja_repondu,
    };
    Ok(rules::peut_repondre(x.public, x.starts_at, x.ends_at, now, &p).err())
}

/// Whether the commune of the account's profile lies in the collectivité's territory (none: no
/// commune declared).
pub(super) async fn resident(
    state: &AppState,
    c: &Collectivite,
    user_id: i64,
) -> anyhow::Result<Option<bool>> {
    let profile = guichet_store::profil::get(&state.db, user_id).await?;
    let Some(v) = profile.get("adresse.commune") else {
        return Ok(None);
    };
    Ok(Some(
        match guichet_store::territoire::commune_details(&state.db, &v.value).await? {
            None => false,
            Some(d) => rules::dans_le_territoire(
                c.entity_kind,
                &c.entity_code,
                &rules::Lieu {
                    insee: &d.commune.insee,
                    parent: d.commune.parent_insee.as_deref(),
                    epci: d.epci.as_ref().map(|e| e.siren.as_str()),
                    departement: d.commune.departement_code.as_deref(),
                    region: d.commune.region_code.as_deref(),
                },
            ),
        },
    ))
}

/// Who answered, as a key that says nothing of them. With FranceConnect required, an account is
/// one certified person (an identity links to one account only).
pub(super) fn voter(user_id: i64) -> String {
    guichet_store::secret::hash_token(&format!("participant:{user_id}"))
}

async fn consultation_page(
    state: &AppState,
    visitor: &Visitor,
    slug: &str,
    id: i64,
    form: Fields,
    errors: Errors,
    merci: bool,
) -> Result<Response, AppError> {
    let Some(c) = guichet_store::collectivite::by_slug(&state.db, slug).await? else {
        return Ok(not_found(State(state.clone())).await);
    };
    let now = state.config.clock.now_ms();
    let Some(x) = store::get(&state.db, c.id, id)
        .await?
        .filter(|x| x.starts_at <= now)
    else {
        return Ok(not_found(State(state.clone())).await);
    };
    let refus = refus(state, visitor, &c, &x).await?;
    let (resultats, repondants) = if now >= x.ends_at {
        let answers = store::answers(&state.db, c.id, x.id).await?;
        (
            rules::resultats(&x.questions, &answers),
            answers.len() as i64,
        )
    } else {
        (Vec::new(), 0)
    };
    let status = errors.status();
    let page = html(&ConsultationPage {
        layout: Layout::for_visitor(state, visitor).await,
        slug: c.slug.clone(),
        x: ligne(x, now),
        refus: refus.map(|r| r.to_string()),
        signed_in: visitor.user.is_some(),
        resultats,
        repondants,
        form,
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
    let merci = q.merci.is_some();
    consultation_page(
        &state,
        &visitor,
        &slug,
        id,
        Fields::parse(""),
        Errors::default(),
        merci,
    )
    .await
}

/// A resident answers: once, if they may.
pub async fn answer(
    State(state): State<AppState>,
    visitor: Visitor,
    Path((slug, id)): Path<(String, i64)>,
    body: String,
) -> Result<Response, AppError> {
    let user = visitor.signed_in()?.clone();
    let Some(c) = guichet_store::collectivite::by_slug(&state.db, &slug).await? else {
        return Ok(not_found(State(state)).await);
    };
    let Some(x) = store::get(&state.db, c.id, id).await? else {
        return Ok(not_found(State(state)).await);
    };
    let f = Fields::parse(&body);
    if let Some(r) = refus(&state, &visitor, &c, &x).await? {
        let mut errors = Errors::default();
        errors.add("q0", r.to_string());
        return consultation_page(&state, &visitor, &slug, id, f, errors, false).await;
    }
    let answers = match rules::reponses(&x.questions, |k| f.get(k)) {
        Ok(a) => a,
        Err(list) => {
            let mut errors = Errors::default();
            for (field, message) in list {
                errors.add(field, message);
            }
            return consultation_page(&state, &visitor, &slug, id, f, errors, false).await;
        }
    };
    let event = visitor.event_on(
        Some(c.id),
        "participation.consultation.reponse",
        "consultation",
        x.id,
    );
    let now = state.config.clock.now_ms();
    if !store::answer(
        &state.db,
        c.id,
        x.id,
        voter(user.id),
        &answers,
        now,
        Trace::of(event),
    )
    .await?
    {
        let mut errors = Errors::default();
        errors.add("q0", rules::Refus::DejaRepondu.to_string());
        return consultation_page(&state, &visitor, &slug, id, f, errors, false).await;
    }
    Ok(Redirect::to(&format!("/participation/{slug}/consultations/{id}?merci=1")).into_response())
}

/// The results of a closed consultation as CSV: question, answer, count (blank when fewer than
/// five), respondents.
pub async fn results_csv(
    State(state): State<AppState>,
    Path((slug, id)): Path<(String, i64)>,
) -> Result<Response, AppError> {
    let Some(c) = guichet_store::collectivite::by_slug(&state.db, &slug).await? else {
        return Ok(not_found(State(state)).await);
    };
    let now = state.config.clock.now_ms();
    let Some(x) = store::get(&state.db, c.id, id)
        .await?
        .filter(|x| now >= x.ends_at)
    else {
        return Ok(not_found(State(state)).await);
    };
    let answers = store::answers(&state.db, c.id, x.id).await?;
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(["question", "type", "reponse", "nombre", "repondants"])?;
    for r in rules::resultats(&x.questions, &answers) {
        for (option, n) in &r.options {
            out.write_record([
                r.label.as_str(),
                r.kind.code(),
                option.as_str(),
                &n.map(|n| n.to_string()).unwrap_or_default(),
                &r.repondants.to_string(),
            ])?;
        }
    }
    let bytes = out.into_inner().map_err(|e| anyhow::anyhow!("csv: {e}"))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"consultation-{}-resultats.csv\"",
                    x.id
                ),
            ),
        ],
        bytes,
    )
        .into_response())
}
