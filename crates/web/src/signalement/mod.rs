//! Reporting a problem in public space, without JavaScript: commune, category (and for roads,
//! which kind of road, which decides the competence), address and optional coordinates,
//! description, up to three photos. Routed at once to the collectivité that holds the
//! competence for that commune. Anonymous reports are published only once their e-mail is
//! confirmed; open reports of the same category within 50 m are offered first ("moi aussi").
//! Public pages never show personal data.

pub mod categories;
pub mod mails;
pub mod open311;
pub mod photos;
pub mod traitement;

use crate::auth::Visitor;
use crate::carte::Carte;
use crate::error::AppError;
use crate::form::read_form;
use crate::form::Errors;
use crate::layout::Layout;
use crate::page::{html, not_found};
use crate::recherche::resolve_commune;
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use guichet_domain::signalement::{
    check_details, check_road, initial_state, parse_position, within_rate, RoadKind,
    State as SState, MAX_PHOTOS,
};
use guichet_store::collectivite::{self, Collectivite};
use guichet_store::signalement::{self as store, Category, NewReport, Signalement};
use guichet_store::trace::Trace;
use serde::Deserialize;

/// At most this many reports per reporter per hour, and per IP address (a shared address, a
/// library or a France Services counter, gets more room).

#[derive(Template)]
#[template(path = "signalement/signaler.html")]
struct ReportPage {
    layout: Layout,
    /// The platform's categories.
    categories: Vec<Category>,
    /// The collectivités' own categories, by collectivité name.
    own: Vec<(String, Vec<Category>)>,
    asked: Option<Asked>,
    roads: [RoadKind; 3],
    v: Values,
    signed_in: bool,
    errors: Errors,
    /// Open reports nearby: (number, category label, description, address).
    nearby: Vec<(String, String, String, String)>,
    carte: Option<Carte>,
}

/// The extra questions of the category, as set by the collectivité that will handle the report:
/// asked once the report is routed, answers optional.
struct Asked {
    /// `category@collectivité`: the questions were shown for this routing (another category or
    /// place asks again).
    key: String,
    by: String,
    /// (field name, question, answer typed)
    fields: Vec<(String, String, String)>,
}

impl Asked {
    fn of(category: &Category, handler: &Collectivite, pairs: &[(String, String)]) -> Option<Self> {
        if category.questions.is_empty() {
            return None;
        }
        let fields = category
            .questions
            .iter()
            .enumerate()
            .map(|(i, q)| {
                let name = format!("q{}", i + 1);
                let value = pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.trim().to_string())
                    .unwrap_or_default();
                (name, q.clone(), value)
            })
            .collect();
        Some(Self {
            key: format!("{}@{}", category.id, handler.id),
            by: handler.name.clone(),
            fields,
        })
    }

    fn answered(&self, pairs: &[(String, String)]) -> bool {
        pairs
            .iter()
            .any(|(k, v)| k == "precisions" && *v == self.key)
    }

    /// The answers given, or the first too long one.
    fn answers(&self, errors: &mut Errors) -> Vec<(String, String)> {
        use guichet_domain::signalement::MAX_ANSWER_CHARS;
        let mut answers = Vec::new();
        for (name, question, value) in &self.fields {
            if value.chars().count() > MAX_ANSWER_CHARS {
                errors.add(
                    name.clone(),
                    format!("Réponse trop longue ({MAX_ANSWER_CHARS} caractères au plus)."),
                );
            } else if !value.is_empty() {
                answers.push((question.clone(), value.clone()));
            }
        }
        answers
    }
}

/// What was typed, kept when the form comes back with errors.
#[derive(Default, Clone)]
pub struct Values {
    pub commune: String,
    pub categorie: String,
    pub voie: String,
    pub numero_route: String,
    pub adresse: String,
    pub latitude: String,
    pub longitude: String,
    pub description: String,
    pub email: String,
}

impl Values {
    fn from(pairs: &[(String, String)]) -> Self {
        let get = |k: &str| {
            pairs
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.trim().to_string())
                .unwrap_or_default()
        };
        Self {
            commune: get("commune"),
            categorie: get("categorie"),
            voie: get("voie"),
            numero_route: get("numero_route"),
            adresse: get("adresse"),
            latitude: get("latitude"),
            longitude: get("longitude"),
            description: get("description"),
            email: get("email"),
        }
    }
}

async fn report_page(
    state: &AppState,
    visitor: &Visitor,
    v: Values,
    errors: Errors,
    nearby: Vec<(String, String, String, String)>,
    asked: Option<Asked>,
) -> Result<Response, AppError> {
    let mut categories = Vec::new();
    let mut own: Vec<(String, Vec<Category>)> = Vec::new();
    let snap = state.catalogue.snapshot(state).await?;
    for c in snap.categories() {
        match c.tenant_id.and_then(|t| snap.collectivite(t)) {
            None => categories.push(c.clone()),
            Some(t) => match own.iter_mut().find(|(n, _)| *n == t.name) {
                Some((_, list)) => list.push(c.clone()),
                None => own.push((t.name.clone(), vec![c.clone()])),
            },
        }
    }
    let page = ReportPage {
        layout: Layout::for_visitor(state, visitor).await,
        categories,
        own,
        asked,
        roads: RoadKind::ALL,
        signed_in: visitor.user.is_some(),
        v,
        errors,
        nearby,
        carte: Carte::of(&state.config.map),
    };
    crate::page::form_page(&page.errors, &page)
}

/// What a link to the form may choose beforehand (from the search results).
#[derive(Deserialize, Default)]
pub struct Prefill {
    #[serde(default)]
    commune: String,
    #[serde(default)]
    categorie: String,
}

pub async fn form(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(p): Query<Prefill>,
) -> Result<Response, AppError> {
    let commune = match crate::recherche::catalogue::place(&state, p.commune.trim()).await? {
        Some(place) => place.name,
        None => String::new(),
    };
    report_page(
        &state,
        &visitor,
        Values {
            commune,
            categorie: p.categorie.chars().filter(char::is_ascii_digit).collect(),
            ..Values::default()
        },
        Errors::default(),
        Vec::new(),
        None,
    )
    .await
}

pub async fn submit(
    State(state): State<AppState>,
    visitor: Visitor,
    req: Request,
) -> Result<Response, AppError> {
    let (pairs, uploads) = read_form(&state, req).await?;
    let v = Values::from(&pairs);
    // A field people do not see: only robots fill it in.
    let honeypot = pairs
        .iter()
        .any(|(k, val)| k == "site_web" && !val.trim().is_empty());
    let mut errors = Errors::default();
    let position = match parse_position(&v.latitude, &v.longitude) {
        Ok(p) => p,
        Err((field, message)) => {
            errors.add(field, message);
            None
        }
    };
    let place = match locate(&state, &v.commune, position).await? {
        Ok(place) => Some(place),
        Err(message) => {
            errors.add("commune", message);
            None
        }
    };
    let category = match v.categorie.parse::<i64>() {
        Ok(id) => store::category(&state.db, id).await?.filter(|c| c.active),
        Err(_) => None,
    };
    if category.is_none() {
        errors.add("categorie", "Choisissez le type de problème.");
    }
    let road = RoadKind::from_code(&v.voie);
    let photos: Vec<Vec<u8>> = uploads
        .into_iter()
        .filter(|(k, _, _)| k == "photos")
        .map(|(_, _, b)| b)
        .collect();
    let problems = check_road(category.as_ref().is_some_and(|c| c.road), road)
        .into_iter()
        .chain(check_details(
            &v.adresse,
            position,
            &v.description,
            photos.len(),
        ));
    for (field, message) in problems {
        errors.add(field, message);
    }
    let email = if visitor.user.is_some() {
        None
    } else {
        match guichet_store::compte::normalize_email(&v.email) {
            Ok(e) => Some(e),
            Err(_) => {
                errors.add("email", "Indiquez une adresse électronique valide : nous vous y enverrons un lien pour confirmer le signalement.");
                None
            }
        }
    };
    if honeypot {
        // Robots get the same answer as people, and nothing is stored.
        return Ok(Redirect::to("/signalements/merci").into_response());
    }
    // The rate limits before any costly work: a storm of photos from one address stops here.
    let user_id = visitor.user.as_ref().map(|u| u.id);
    let since = guichet_store::now_ms() - 3_600_000;
    let from_ip = match visitor.ip.as_deref() {
        Some(ip) => store::recent_from_ip(&state.db, ip, since).await?,
        None => 0,
    };
    let by_reporter =
        store::recent_by_reporter(&state.db, user_id, email.as_deref(), since).await?;
    if !within_rate(by_reporter, from_ip) {
        errors.add(
            "description",
            "Vous avez fait beaucoup de signalements en peu de temps : réessayez dans une heure.",
        );
        return report_page(&state, &visitor, v, errors, Vec::new(), None).await;
    }
    let cleaned = match clean_photos(photos).await {
        Ok(cleaned) => cleaned,
        Err(message) => {
            errors.add("photos", message);
            Vec::new()
        }
    };
    let (Some(place), Some(category), true) = (place, category, errors.is_empty()) else {
        return report_page(&state, &visitor, v, errors, Vec::new(), None).await;
    };
    let (handler, competence_code) =
        match crate::recherche::catalogue::route_signalement(&state, &category, road, &place)
            .await?
        {
            Ok(r) => r,
            Err(message) => {
                errors.add("categorie", message);
                return report_page(&state, &visitor, v, errors, Vec::new(), None).await;
            }
        };
    // A collectivité's own category is for the places it handles.
    if category.tenant_id.is_some_and(|owner| owner != handler.id) {
        errors.add("categorie", format!("« {} » est une catégorie propre à une autre collectivité, qui ne traite pas ce problème à {} : choisissez une catégorie générale.", category.label, place.name));
        return report_page(&state, &visitor, v, errors, Vec::new(), None).await;
    }
    let category = store::as_handled_by(&state.db, &category, handler.id).await?;
    // The collectivité's extra questions: shown once, then answered (or not) with the report.
    let asked = Asked::of(&category, &handler, &pairs);
    let mut answers = Vec::new();
    if let Some(a) = &asked {
        if !a.answered(&pairs) {
            return report_page(&state, &visitor, v, Errors::default(), Vec::new(), asked).await;
        }
        answers = a.answers(&mut errors);
        if !errors.is_empty() {
            return report_page(&state, &visitor, v, errors, Vec::new(), asked).await;
        }
    }
    // Possible duplicates first, unless the resident already said it is another problem.
    let confirmed_new = pairs.iter().any(|(k, val)| k == "nouveau" && val == "oui");
    if let (Some(at), false) = (position, confirmed_new) {
        let near = store::open_near(&state.db, category.id, at).await?;
        if !near.is_empty() {
            let nearby = near
                .into_iter()
                .map(|s| (s.number, category.label.clone(), s.description, s.address))
                .collect();
            return report_page(&state, &visitor, v, Errors::default(), nearby, asked).await;
        }
    }
    let token = guichet_store::secret::random_token();
    let initial = initial_state(email.is_some(), category.moderated);
    let reporter_email = email
        .clone()
        .or_else(|| visitor.user.as_ref().map(|u| u.email.clone()));
    let mut event = visitor.event(Some(handler.id), "signalement.creation");
    event.details =
        serde_json::json!({"categorie": category.code, "commune": place.insee}).to_string();
    let notice = report_notice(
        &state,
        event,
        &category.label,
        &place.name,
        &handler.name,
        email.clone().map(|to| (to, token.clone())),
    );
    let s = store::report(
        &state.db,
        &state.config.files,
        NewReport {
            tenant_id: handler.id,
            category_id: category.id,
            competence: competence_code,
            commune_insee: place.insee.clone(),
            address: v.adresse.clone(),
            position,
            road_kind: road.map(|r| r.code().to_string()),
            road_number: Some(v.numero_route.clone()).filter(|n| !n.is_empty()),
            description: v.description.clone(),
            answers,
            reporter_user_id: user_id,
            reporter_email: reporter_email.clone(),
            state: initial,
            confirm_token_hash: email
                .as_ref()
                .map(|_| guichet_store::secret::hash_token(&token)),
            ip: visitor.ip.clone(),
        },
        cleaned,
        notice,
    )
    .await?;
    if email.is_some() {
        return Ok(Redirect::to("/signalements/merci?confirmer=1").into_response());
    }
    if initial == SState::AModerer {
        return Ok(Redirect::to("/signalements/merci").into_response());
    }
    Ok(Redirect::to(&format!("/signalements/{}", s.number)).into_response())
}

/// Where the problem is: with coordinates and imported contours, the commune the point is in;
/// else the commune typed. The message for the resident when it cannot be told.
async fn locate(
    state: &AppState,
    typed: &str,
    position: Option<(f64, f64)>,
) -> anyhow::Result<Result<crate::recherche::catalogue::Place, String>> {
    if let Some((lat, lon)) = position {
        if let Some(insee) = guichet_store::territoire::commune_at(&state.db, lat, lon).await? {
            if let Some(place) = crate::recherche::catalogue::place(state, &insee).await? {
                return Ok(Ok(place));
            }
        }
    }
    if typed.is_empty() {
        return Ok(Err("Indiquez la commune.".into()));
    }
    Ok(match resolve_commune(state, typed).await? {
        Ok(p) => Ok(p),
        Err(list) if list.is_empty() => {
            Err("Commune introuvable : vérifiez le nom ou le code postal.".into())
        }
        Err(list) => {
            let names: Vec<String> = list.into_iter().take(6).map(|(_, l)| l).collect();
            Err(format!(
                "Plusieurs communes correspondent : précisez ({}).",
                names.join(", ")
            ))
        }
    })
}

/// The photos decoded within their limits, resized and re-encoded (no metadata kept), off the
/// request threads; the first refusal, for the resident.
async fn clean_photos(photos: Vec<Vec<u8>>) -> Result<Vec<Vec<u8>>, String> {
    let mut cleaned = Vec::new();
    for p in photos.into_iter().take(MAX_PHOTOS) {
        cleaned.push(photos::clean_bounded(p).await?);
    }
    Ok(cleaned)
}

/// What a new report leaves: its journal entry, the alerts of its commune when it is public at
/// once, and for a report made without an account, the link that confirms it.
fn report_notice(
    state: &AppState,
    event: guichet_domain::journal::Event,
    category: &str,
    commune: &str,
    handler: &str,
    confirm: Option<(String, String)>,
) -> impl FnOnce(&Signalement, &store::Audience) -> Trace + Send + 'static {
    let config = state.config.clone();
    let (category, commune, handler) = (
        category.to_string(),
        commune.to_string(),
        handler.to_string(),
    );
    move |s, audience| {
        let trace = Trace::of(on(event, s)).mails(mails::commune_alerts(
            &config,
            s,
            &audience.commune_alerts,
            &category,
        ));
        match confirm {
            Some((to, token)) => trace.mail(mails::confirm_report(
                &config, s, &to, &token, &category, &commune, &handler,
            )),
            None => trace,
        }
    }
}

/// The journal entry of a report, once it has its number.
pub(crate) fn on(
    mut event: guichet_domain::journal::Event,
    s: &Signalement,
) -> guichet_domain::journal::Event {
    event.tenant_id = Some(s.tenant_id);
    event.object_type = Some("signalement".into());
    event.object_id = Some(s.number.clone());
    event
}

/// The news of a public change of a report, and the alerts of the commune when it has just
/// become public.
pub(crate) fn public_news(
    config: &crate::WebConfig,
    s: &Signalement,
    audience: &store::Audience,
    category: &str,
    news: Option<(&str, &str)>,
) -> Vec<guichet_store::outbox::NewMail> {
    let mut out = mails::commune_alerts(config, s, &audience.commune_alerts, category);
    if let Some((subject, text)) = news {
        out.extend(mails::news(config, s, &audience.followers, subject, text));
    }
    out
}

pub async fn thanks(State(state): State<AppState>, visitor: Visitor) -> Result<Response, AppError> {
    crate::page::message(
        &state,
        &visitor,
        "Merci pour votre signalement",
        vec!["Si vous l'avez fait sans compte, un courriel vient de vous être envoyé : ouvrez le lien qu'il contient pour confirmer le signalement. Il sera alors publié et transmis à la collectivité compétente.".into()],
        Some(("/", "Revenir à l'accueil")),
    )
    .await
}

pub async fn confirm(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    let pending = store::awaiting_confirmation(&state.db, &token).await?;
    // Moderated if the platform or the collectivité that handles it wants it.
    let (moderated, label) = match &pending {
        Some(s) => match store::category(&state.db, s.category_id).await? {
            Some(c) => {
                let c = store::as_handled_by(&state.db, &c, s.tenant_id).await?;
                (c.moderated, c.label)
            }
            None => (false, String::new()),
        },
        None => (false, String::new()),
    };
    let to = if moderated {
        SState::AModerer
    } else {
        SState::Nouveau
    };
    let mut event = visitor.event(None, "signalement.confirmation");
    event.actor = "usager (lien de confirmation)".into();
    let config = state.config.clone();
    let confirmed = match pending {
        Some(_) => {
            store::confirm(&state.db, &token, to, move |s, audience| {
                Trace::of(on(event, s)).mails(public_news(&config, s, audience, &label, None))
            })
            .await?
        }
        None => None,
    };
    match confirmed {
        Some(s) => Ok(Redirect::to(&format!("/signalements/{}", s.number)).into_response()),
        None => {
            let page = crate::page::message(
                &state,
                &visitor,
                "Lien invalide ou déjà utilisé",
                vec!["Ce lien de confirmation n'est pas valide, ou le signalement est déjà confirmé.".into()],
                Some(("/signalements/nouveau", "Faire un signalement")),
            )
            .await?;
            Ok((StatusCode::NOT_FOUND, page).into_response())
        }
    }
}

#[derive(Template)]
#[template(path = "signalement/signalement.html")]
struct PublicPage {
    layout: Layout,
    s: Signalement,
    category: String,
    commune: String,
    authority: String,
    reported: String,
    photos: Vec<String>,
    /// (date, what)
    history: Vec<(String, String)>,
    flash: Option<String>,
    signed_in: bool,
    errors: Errors,
    carte: Option<Carte>,
}

async fn public_page(
    state: &AppState,
    visitor: &Visitor,
    number: &str,
    flash: Option<String>,
    errors: Errors,
) -> Result<Response, AppError> {
    let Some(s) = store::by_number(&state.db, number).await? else {
        return Ok(not_found(State(state.clone())).await);
    };
    if !s.state.is_public() {
        return Ok(not_found(State(state.clone())).await);
    }
    let category = store::category(&state.db, s.category_id)
        .await?
        .map(|c| c.label)
        .unwrap_or_default();
    let commune = guichet_store::territoire::commune_by_insee(&state.db, &s.commune_insee)
        .await?
        .map(|c| c.nom)
        .unwrap_or_default();
    let authority = collectivite::by_id(&state.db, s.tenant_id)
        .await?
        .map(|t| t.name)
        .unwrap_or_default();
    let history = store::history(&state.db, s.id)
        .await?
        .into_iter()
        .map(|e| {
            let what = match (e.kind.as_str(), e.to_state) {
                ("transfert", _) => format!(
                    "Transmis à une autre collectivité : {}",
                    e.body.unwrap_or_default()
                ),
                (_, Some(st)) => match e.body.filter(|b| !b.is_empty()) {
                    Some(b) => format!("{} : {b}", upper_first(st.label())),
                    None => upper_first(st.label()),
                },
                _ => e.body.unwrap_or_default(),
            };
            (crate::format::format_ms(e.at), what)
        })
        .collect();
    let page = PublicPage {
        layout: Layout::for_visitor(state, visitor).await,
        photos: store::photos(&state.db, s.id).await?,
        reported: crate::format::format_day(s.created_at),
        category,
        commune,
        authority,
        history,
        flash,
        signed_in: visitor.user.is_some(),
        errors,
        s,
        carte: Carte::of(&state.config.map),
    };
    crate::page::form_page(&page.errors, &page)
}

pub async fn show(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(number): Path<String>,
) -> Result<Response, AppError> {
    public_page(&state, &visitor, &number, None, Errors::default()).await
}

/// "Moi aussi": follow an existing report (told of its changes) instead of making a new one.
pub async fn me_too(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(number): Path<String>,
    body: String,
) -> Result<Response, AppError> {
    let Some(s) = store::by_number(&state.db, &number)
        .await?
        .filter(|s| s.state.is_public())
    else {
        return Ok(not_found(State(state)).await);
    };
    let typed = serde_urlencoded::from_str::<Vec<(String, String)>>(&body)
        .unwrap_or_default()
        .into_iter()
        .find(|(k, _)| k == "email")
        .map(|(_, v)| v)
        .unwrap_or_default();
    let email = match &visitor.user {
        Some(u) => Some(u.email.clone()),
        None => guichet_store::compte::normalize_email(&typed).ok(),
    };
    let Some(email) = email else {
        let mut errors = Errors::default();
        errors.add(
            "email",
            "Indiquez une adresse électronique valide pour suivre ce signalement.",
        );
        return public_page(&state, &visitor, &number, None, errors).await;
    };
    let verified = visitor.user.is_some();
    let token = guichet_store::secret::random_token();
    let event = on(visitor.event(None, "signalement.moi_aussi"), &s);
    let (config, followed, to) = (state.config.clone(), s.clone(), email.clone());
    let link = token.clone();
    let outcome = store::follow(
        &state.db,
        s.id,
        &email,
        verified,
        visitor.ip.as_deref(),
        &token,
        move |outcome| match outcome {
            store::Follow::Limited | store::Follow::Already => Trace::default(),
            store::Follow::Confirmed => Trace::of(event),
            store::Follow::Pending => {
                Trace::of(event).mail(mails::confirm_follow(&config, &followed, &to, &link))
            }
        },
    )
    .await?;
    let flash = match outcome {
        store::Follow::Confirmed => {
            "C'est noté : vous serez prévenu par courriel de chaque évolution de ce signalement."
        }
        store::Follow::Already => {
            "Cette adresse suit déjà ce signalement (ou une confirmation lui a déjà été envoyée)."
        }
        store::Follow::Pending => {
            "Un courriel vient de vous être envoyé : ouvrez le lien qu'il contient pour confirmer que vous souhaitez suivre ce signalement."
        }
        store::Follow::Limited => {
            let mut errors = Errors::default();
            errors.add(
                "email",
                "Trop de demandes de suivi pour cette adresse ou depuis votre connexion. Réessayez plus tard.",
            );
            let page = public_page(&state, &visitor, &number, None, errors).await?;
            return Ok((StatusCode::TOO_MANY_REQUESTS, page).into_response());
        }
    };
    public_page(
        &state,
        &visitor,
        &number,
        Some(flash.into()),
        Errors::default(),
    )
    .await
}

/// The link of a follow confirmation: from now on, news of the report go to this address.
pub async fn confirm_follow(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    let mut event = visitor.event(None, "signalement.suivi_confirme");
    event.actor = "usager (lien de confirmation)".into();
    match store::confirm_follow(&state.db, &token, move |s| Trace::of(on(event, s))).await? {
        Some(s) => {
            public_page(
                &state,
                &visitor,
                &s.number,
                Some("C'est confirmé : vous serez prévenu par courriel de chaque évolution de ce signalement.".into()),
                Errors::default(),
            )
            .await
        }
        None => {
            let page = crate::page::message(
                &state,
                &visitor,
                "Lien invalide ou déjà utilisé",
                vec![
                    "Ce lien de confirmation n'est pas valide, ou le suivi est déjà confirmé."
                        .into(),
                ],
                Some(("/signalements/nouveau", "Faire un signalement")),
            )
            .await?;
            Ok((StatusCode::NOT_FOUND, page).into_response())
        }
    }
}

pub async fn photo(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let Some(owner) = store::photo_owner(&state.db, &id).await? else {
        return Ok(not_found(State(state)).await);
    };
    if !store::by_id(&state.db, owner)
        .await?
        .is_some_and(|s| s.state.is_public())
    {
        return Ok(not_found(State(state)).await);
    }
    let bytes = state.config.files.get(&id).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/jpeg"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        bytes,
    )
        .into_response())
}

#[derive(Template)]
#[template(path = "signalement/signalements-commune.html")]
struct CommunePage {
    layout: Layout,
    commune: String,
    /// Empty for a collectivité's list (no alerts there).
    insee: String,
    signed_in: bool,
    subscribed: bool,
    heading: String,
    flash: Option<String>,
    /// Public reports with their category's label and date (no personal data is shown).
    rows: Vec<(Signalement, String, String)>,
    carte: Option<Carte>,
}

/// The public list of a commune's reports.
#[derive(serde::Deserialize, Default)]
pub struct CommuneQuery {
    #[serde(default)]
    alerte: String,
}

pub async fn of_commune(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(insee): Path<String>,
    axum::extract::Query(q): axum::extract::Query<CommuneQuery>,
) -> Result<Response, AppError> {
    let Some(c) = guichet_store::territoire::commune_by_insee(&state.db, &insee).await? else {
        return Ok(not_found(State(state)).await);
    };
    let labels = store::category_labels(&state.db).await?;
    let rows = store::public_of_commune(&state.db, &insee, 200)
        .await?
        .into_iter()
        .map(|s| {
            let label = labels.get(&s.category_id).cloned().unwrap_or_default();
            let day = crate::format::format_day(s.created_at);
            (s, label, day)
        })
        .collect();
    let subscribed = match &visitor.user {
        Some(u) => store::commune_subscribers(&state.db, &insee)
            .await?
            .contains(&u.email),
        None => false,
    };
    html(&CommunePage {
        layout: Layout::for_visitor(&state, &visitor).await,
        commune: c.nom.clone(),
        insee,
        signed_in: visitor.user.is_some(),
        subscribed,
        heading: format!("Signalements à {}", c.nom),
        flash: match q.alerte.as_str() {
            "ok" => Some(
                "Alertes activées : vous recevrez un courriel à chaque nouveau signalement public."
                    .into(),
            ),
            "retiree" => Some("Alertes retirées.".into()),
            _ => None,
        },
        rows,
        carte: Carte::of(&state.config.map),
    })
}

/// "pris en compte" → "Pris en compte".
fn upper_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Tells the people who follow a commune that a new report is public there.
#[derive(serde::Deserialize)]
pub struct AlertForm {
    #[serde(default)]
    action: String,
}

/// A signed-in resident asks to be told of new reports in a commune (or stops).
pub async fn alerts(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(insee): Path<String>,
    axum::Form(f): axum::Form<AlertForm>,
) -> Result<Response, AppError> {
    let Some(user) = &visitor.user else {
        return Ok(
            Redirect::to(&format!("/connexion?suite=/communes/{insee}/signalements"))
                .into_response(),
        );
    };
    if guichet_store::territoire::commune_by_insee(&state.db, &insee)
        .await?
        .is_none()
    {
        return Ok(not_found(State(state)).await);
    }
    let event = visitor.event_on(
        None,
        &format!(
            "alertes.{}",
            if f.action == "retirer" {
                "retrait"
            } else {
                "abonnement"
            }
        ),
        "commune",
        &insee,
    );
    if f.action == "retirer" {
        store::unsubscribe_commune(&state.db, &insee, &user.email, Trace::of(event)).await?;
    } else {
        store::subscribe_commune(&state.db, &insee, &user.email, Trace::of(event)).await?;
    }
    Ok(Redirect::to(&format!(
        "/communes/{insee}/signalements?alerte={}",
        if f.action == "retirer" {
            "retiree"
        } else {
            "ok"
        }
    ))
    .into_response())
}

/// The public list of the reports a collectivité handles.
pub async fn of_collectivite(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(slug): Path<String>,
) -> Result<Response, AppError> {
    let Some(t) = collectivite::by_slug(&state.db, &slug).await? else {
        return Ok(not_found(State(state)).await);
    };
    let labels = store::category_labels(&state.db).await?;
    let rows = store::of_collectivite(&state.db, t.id, None, 200)
        .await?
        .into_iter()
        .filter(|s| s.state.is_public())
        .map(|s| {
            let label = labels.get(&s.category_id).cloned().unwrap_or_default();
            let day = crate::format::format_day(s.created_at);
            (s, label, day)
        })
        .collect();
    html(&CommunePage {
        layout: Layout::for_visitor(&state, &visitor).await,
        heading: format!("Signalements traités par {}", t.name),
        commune: t.name,
        insee: String::new(),
        signed_in: false,
        subscribed: false,
        flash: None,
        rows,
        carte: Carte::of(&state.config.map),
    })
}
