//! Aidants and mandats. The operator or a collectivité registers help structures and their
//! aidants (agent accounts, second factor required). An aidant records a mandat with the usager
//! present (identity checked, domains, duration, consent), prints it with its verification code,
//! and acts for the usager under a permanent banner, only within its domains and while it is in
//! force; every action is journaled with the aidant as actor and the usager as on-behalf-of. The
//! usager sees and revokes their mandats; so can the structure's responsable.

pub mod mails;

use crate::auth::{CollectiviteContext, Visitor};
use crate::error::AppError;
use crate::form::{Errors, Fields};
use crate::layout::Layout;
use crate::page::{html, not_found};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use guichet_domain::mandat::{Consent, Domain, Length, Status};
use guichet_store::compte::{self, Kind, User};
use guichet_store::mandat::{self as store, Mandat, Structure, STRUCTURE_KINDS};
use guichet_store::trace::Trace;

// ---- Help structures and their aidants (operator or collectivité) ---------------------------

#[derive(Template)]
#[template(path = "mandat/structures.html")]
struct StructuresPage {
    layout: Layout,
    /// Where the forms post: /operateur/aidants or /admin/{slug}/aidants.
    base: String,
    heading: String,
    structures: Vec<(Structure, Vec<store::Member>)>,
    kinds: &'static [(&'static str, &'static str)],
    errors: Errors,
    flash: Option<String>,
}

async fn structures_page(
    state: &AppState,
    visitor: &Visitor,
    scope: Option<(i64, String, String)>,
    errors: Errors,
    flash: Option<String>,
) -> Result<Response, AppError> {
    let (tenant_id, base, heading) = match &scope {
        Some((id, slug, name)) => (
            Some(*id),
            format!("/admin/{slug}/aidants"),
            format!("Aidants — {name}"),
        ),
        None => (
            None,
            "/operateur/aidants".to_string(),
            "Aidants de la région".to_string(),
        ),
    };
    let mut structures = Vec::new();
    for s in store::structures(&state.db, tenant_id).await? {
        let aidants = store::aidants_of(&state.db, s.id).await?;
        structures.push((s, aidants));
    }
    let page = StructuresPage {
        layout: Layout::for_visitor(state, visitor).await,
        base,
        heading,
        structures,
        kinds: STRUCTURE_KINDS,
        errors,
        flash,
    };
    crate::page::form_page(&page.errors, &page)
}

fn collectivite_scope(ctx: &CollectiviteContext) -> Option<(i64, String, String)> {
    Some((
        ctx.collectivite.id,
        ctx.collectivite.slug.clone(),
        ctx.collectivite.name.clone(),
    ))
}

pub async fn operator_structures(
    State(state): State<AppState>,
    visitor: Visitor,
) -> Result<Response, AppError> {
    structures_page(&state, &visitor, None, Errors::default(), None).await
}

pub async fn collectivite_structures(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
) -> Result<Response, AppError> {
    structures_page(
        &state,
        &visitor,
        collectivite_scope(&ctx),
        Errors::default(),
        None,
    )
    .await
}

async fn add_structure(
    state: &AppState,
    visitor: &Visitor,
    scope: Option<(i64, String, String)>,
    body: &str,
) -> Result<Response, AppError> {
    let f = Fields::parse(body);
    let mut errors = Errors::default();
    let name = f.get("nom");
    if name.chars().count() < 3 {
        errors.add("nom", "Donnez le nom de la structure.");
    }
    let kind = f.get("type");
    if !STRUCTURE_KINDS.iter().any(|(k, _)| *k == kind) {
        errors.add("type", "Choisissez le type de structure.");
    }
    if !errors.is_empty() {
        return structures_page(state, visitor, scope, errors, None).await;
    }
    let event = visitor.event(scope.as_ref().map(|s| s.0), "aidants.structure.creation");
    store::add_structure(
        &state.db,
        &name,
        &kind,
        &f.get("adresse"),
        scope.as_ref().map(|s| s.0),
        Trace::of(event),
    )
    .await?;
    structures_page(
        state,
        visitor,
        scope,
        Errors::default(),
        Some(format!("Structure « {name} » enregistrée.")),
    )
    .await
}

pub async fn operator_add_structure(
    State(state): State<AppState>,
    visitor: Visitor,
    body: String,
) -> Result<Response, AppError> {
    add_structure(&state, &visitor, None, &body).await
}

pub async fn collectivite_add_structure(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    body: String,
) -> Result<Response, AppError> {
    add_structure(&state, &visitor, collectivite_scope(&ctx), &body).await
}

/// Adds an aidant to a structure: an agent account (created if needed, with a link to choose
/// a password; the second factor is asked at first login).
async fn add_aidant(
    state: &AppState,
    visitor: &Visitor,
    scope: Option<(i64, String, String)>,
    body: &str,
) -> Result<Response, AppError> {
    let f = Fields::parse(body);
    let mut errors = Errors::default();
    let structure = match f.get("structure").parse::<i64>() {
        Ok(id) => store::structure_by_id(&state.db, id)
            .await?
            .filter(|s| s.tenant_id == scope.as_ref().map(|s| s.0)),
        Err(_) => None,
    };
    if structure.is_none() {
        errors.add("structure", "Choisissez la structure.");
    }
    let email = match compte::normalize_email(&f.get("email")) {
        Ok(e) => Some(e),
        Err(_) => {
            errors.add(
                "email",
                "Indiquez l'adresse électronique professionnelle de l'aidant.",
            );
            None
        }
    };
    let name = f.get("nom_aidant");
    if name.chars().count() < 2 {
        errors.add("nom_aidant", "Indiquez le nom de l'aidant.");
    }
    let existing = match &email {
        Some(e) => compte::by_email(&state.db, e).await?,
        None => None,
    };
    if existing.as_ref().is_some_and(|u| u.kind != Kind::Agent) {
        errors.add("email", "Cette adresse est celle d'un compte d'usager : un aidant utilise un compte professionnel distinct.");
    }
    let (Some(structure), Some(email), true) = (structure, email, errors.is_empty()) else {
        return structures_page(state, visitor, scope, errors, None).await;
    };
    let responsable = f.get("responsable") == "oui";
    let mut event = visitor.event(scope.as_ref().map(|s| s.0), "aidants.aidant.ajout");
    event.object_type = Some("structure".into());
    event.object_id = Some(structure.id.to_string());
    event.details = serde_json::json!({ "aidant": email, "responsable": responsable }).to_string();
    let mut trace = Trace::of(event);
    let (aidant, display_name) = match existing {
        Some(u) => (store::NewAidant::Existing(u.id), u.display_name),
        None => {
            let link = compte::Link {
                token: guichet_store::secret::random_token(),
                purpose: compte::Purpose::ResetPassword,
                new_email: None,
            };
            trace = trace.mail(mails::new_aidant(
                &state.config,
                &email,
                &structure.name,
                &link.token,
            ));
            (
                store::NewAidant::New {
                    email: email.clone(),
                    name: name.clone(),
                    link,
                },
                name.clone(),
            )
        }
    };
    store::add_aidant(&state.db, structure.id, aidant, responsable, trace).await?;
    let user_display_name = display_name;
    structures_page(
        state,
        visitor,
        scope,
        Errors::default(),
        Some(format!(
            "{} est aidant de « {} ».",
            user_display_name, structure.name
        )),
    )
    .await
}

pub async fn operator_add_aidant(
    State(state): State<AppState>,
    visitor: Visitor,
    body: String,
) -> Result<Response, AppError> {
    add_aidant(&state, &visitor, None, &body).await
}

pub async fn collectivite_add_aidant(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    body: String,
) -> Result<Response, AppError> {
    add_aidant(&state, &visitor, collectivite_scope(&ctx), &body).await
}

// ---- The aidant's space -----------------------------------------------------------------------

/// The aidant's structures, or a refusal: an aidant is an agent account with its second factor.
async fn aidant_of(
    state: &AppState,
    visitor: &Visitor,
) -> Result<Result<(User, Vec<(Structure, bool)>), Response>, AppError> {
    let Some(user) = visitor.user.clone().filter(|_| visitor.acting.is_none()) else {
        return Ok(Err(crate::auth::forbidden(state, visitor).await));
    };
    let structures = store::memberships(&state.db, user.id).await?;
    if structures.is_empty() {
        return Ok(Err(crate::auth::forbidden(state, visitor).await));
    }
    if !(user.totp_enabled && visitor.mfa_done()) {
        return Ok(Err(Redirect::to("/compte/securite").into_response()));
    }
    Ok(Ok((user, structures)))
}

/// A mandat as lists show it.
pub struct Listed {
    pub m: Mandat,
    pub usager: String,
    pub structure: String,
    pub status: Status,
    pub domains: String,
    pub until: String,
}

async fn listed(state: &AppState, m: Mandat, now: i64) -> anyhow::Result<Listed> {
    let usager = compte::by_id(&state.db, m.usager_user_id)
        .await?
        .map(|u| u.display_name)
        .unwrap_or_default();
    let structure = store::structure_by_id(&state.db, m.structure_id)
        .await?
        .map(|s| s.name)
        .unwrap_or_default();
    Ok(Listed {
        status: m.status(now),
        domains: m
            .domains
            .iter()
            .map(|d| d.label())
            .collect::<Vec<_>>()
            .join(", "),
        until: crate::format::format_ms(m.ends_at),
        usager,
        structure,
        m,
    })
}

#[derive(Template)]
#[template(path = "mandat/aidant.html")]
struct AidantPage {
    layout: Layout,
    structures: Vec<(Structure, bool)>,
    mandats: Vec<Listed>,
    domains: [Domain; 10],
    lengths: [Length; 4],
    document_kinds: [(&'static str, &'static str); 3],
    typed: Fields,
    errors: Errors,
    flash: Option<String>,
}

const DOCUMENT_KINDS: [(&str, &str); 3] = [
    ("carte_identite", "Carte nationale d'identité"),
    ("passeport", "Passeport"),
    ("titre_sejour", "Titre de séjour"),
];

impl AidantPage {
    fn typed(&self, k: &str) -> String {
        self.typed.get(k)
    }
    fn chosen(&self, k: &str, v: &str) -> bool {
        self.typed.all(k).iter().any(|x| x == v)
    }
}

async fn aidant_page(
    state: &AppState,
    visitor: &Visitor,
    user: &User,
    structures: Vec<(Structure, bool)>,
    typed: Fields,
    errors: Errors,
    flash: Option<String>,
) -> Result<Response, AppError> {
    let now = guichet_store::now_ms();
    let mut mandats = Vec::new();
    for m in store::for_aidant(&state.db, user.id).await? {
        mandats.push(listed(state, m, now).await?);
    }
    let page = AidantPage {
        layout: Layout::for_visitor(state, visitor).await,
        structures,
        mandats,
        domains: Domain::ALL,
        lengths: Length::ALL,
        document_kinds: DOCUMENT_KINDS,
        typed,
        errors,
        flash,
    };
    crate::page::form_page(&page.errors, &page)
}

pub async fn space(State(state): State<AppState>, visitor: Visitor) -> Result<Response, AppError> {
    let (user, structures) = match aidant_of(&state, &visitor).await? {
        Ok(a) => a,
        Err(r) => return Ok(r),
    };
    aidant_page(
        &state,
        &visitor,
        &user,
        structures,
        Fields(Vec::new()),
        Errors::default(),
        None,
    )
    .await
}

/// Asks for a mandat, the usager present: the usager then consents with the code sent to the
/// address their account verified, or by signing in with FranceConnect here. No mandat without
/// the usager's own consent; no account is opened for them.
pub async fn create(
    State(state): State<AppState>,
    visitor: Visitor,
    f: Fields,
) -> Result<Response, AppError> {
    let (aidant, structures) = match aidant_of(&state, &visitor).await? {
        Ok(a) => a,
        Err(r) => return Ok(r),
    };
    let mut errors = Errors::default();
    let structure = f.get("structure").parse::<i64>().ok().and_then(|id| {
        structures
            .iter()
            .find(|(s, _)| s.id == id)
            .map(|(s, _)| s.clone())
    });
    let structure = structure.or_else(|| (structures.len() == 1).then(|| structures[0].0.clone()));
    if structure.is_none() {
        errors.add(
            "structure",
            "Choisissez la structure au titre de laquelle vous agissez.",
        );
    }
    let usager = match compte::normalize_email(&f.get("email_usager")) {
        Ok(e) => match compte::by_email(&state.db, &e).await? {
            Some(u) if u.kind == Kind::Usager && u.email_confirmed => Some(u),
            Some(u) if u.kind == Kind::Usager => {
                errors.add("email_usager", "Cette personne n'a pas encore confirmé l'adresse de son compte : elle doit d'abord ouvrir le lien de confirmation reçu.");
                None
            }
            Some(_) => {
                errors.add(
                    "email_usager",
                    "Cette adresse n'est pas celle d'un compte d'usager.",
                );
                None
            }
            None => {
                errors.add("email_usager", "Aucun compte à cette adresse : la personne doit d'abord ouvrir son compte (avec FranceConnect ou son adresse électronique). Pour une démarche ponctuelle, déposez son dossier au guichet.");
                None
            }
        },
        Err(_) => {
            errors.add(
                "email_usager",
                "Indiquez l'adresse électronique du compte de la personne accompagnée.",
            );
            None
        }
    };
    let domains: Vec<Domain> = f
        .all("domaines")
        .iter()
        .filter_map(|c| Domain::from_code(c))
        .collect();
    if domains.is_empty() {
        errors.add("domaines", "Choisissez au moins un domaine.");
    }
    let length = Length::from_code(&f.get("duree"));
    if length.is_none() {
        errors.add("duree", "Choisissez la durée du mandat.");
    }
    let consent = Consent::from_code(&f.get("consentement"));
    let (check, detail) = match consent {
        Some(Consent::FranceConnect) => {
            let linked = match &usager {
                Some(u) => guichet_store::oidc::is_linked(&state.db, "franceconnect", u.id).await?,
                None => true,
            };
            if state.config.franceconnect.is_none() {
                errors.add("consentement", "FranceConnect n'est pas proposé sur cette plateforme : choisissez le code reçu par courriel.");
            } else if !linked {
                errors.add("consentement", "Le compte de cette personne n'est pas relié à FranceConnect : choisissez le code reçu par courriel.");
            }
            ("franceconnect".to_string(), String::new())
        }
        Some(Consent::Code) => {
            // The code proves the address; the identity is checked on a document, in person.
            let kind = f.get("piece");
            let digits = f.get("piece_fin");
            if !DOCUMENT_KINDS.iter().any(|(k, _)| *k == kind) {
                errors.add("piece", "Choisissez la pièce d'identité présentée.");
            }
            if digits.chars().count() != 4 || !digits.chars().all(|c| c.is_ascii_alphanumeric()) {
                errors.add(
                    "piece_fin",
                    "Recopiez les 4 derniers caractères du numéro de la pièce.",
                );
            }
            if f.get("piece_verifiee") != "oui" {
                errors.add(
                    "piece_verifiee",
                    "Confirmez avoir vérifié la pièce en présence de la personne.",
                );
            }
            (
                "document".to_string(),
                format!("{kind} …{}", digits.to_uppercase()),
            )
        }
        None => {
            errors.add(
                "consentement",
                "Indiquez comment la personne donne son accord.",
            );
            (String::new(), String::new())
        }
    };
    let (Some(structure), Some(usager), Some(length), Some(consent), true) =
        (structure, usager, length, consent, errors.is_empty())
    else {
        return aidant_page(&state, &visitor, &aidant, structures, f, errors, None).await;
    };
    let mut event = visitor.event(structure.tenant_id, "mandat.demande");
    event.on_behalf_of = Some(usager.email.clone());
    event.details = serde_json::json!({ "domaines": domains.iter().map(|d| d.code()).collect::<Vec<_>>(), "duree": length.code(), "identite": check, "consentement": consent.code(), "structure": structure.name }).to_string();
    let mut trace = Trace::of(event);
    let code = (consent == Consent::Code).then(|| guichet_store::secret::digit_code(6));
    if let Some(code) = &code {
        trace = trace.mail(mails::consent_code(
            &usager.email,
            &aidant.display_name,
            &structure.name,
            &labels(&domains),
            length,
            code,
        ));
    }
    let id = store::request(
        &state.db,
        &store::NewRequest {
            structure_id: structure.id,
            aidant_user_id: aidant.id,
            usager_user_id: usager.id,
            domains,
            length,
            identity_check: check,
            identity_detail: detail,
        },
        code.as_deref(),
        trace,
    )
    .await?;
    Ok(visitor.finish(Redirect::to(&format!("/aidant/mandats/demandes/{id}")).into_response()))
}

fn labels(domains: &[Domain]) -> String {
    domains
        .iter()
        .map(|d| d.label())
        .collect::<Vec<_>>()
        .join(", ")
}

#[derive(Template)]
#[template(path = "mandat/demande.html")]
struct RequestPage {
    layout: Layout,
    id: i64,
    usager: String,
    domains: String,
    length: &'static str,
    by_code: bool,
    franceconnect: bool,
    errors: Errors,
}

async fn request_page(
    state: &AppState,
    visitor: &Visitor,
    r: &store::Request,
    errors: Errors,
) -> Result<Response, AppError> {
    let usager = compte::by_id(&state.db, r.usager_user_id)
        .await?
        .map(|u| format!("{} ({})", u.display_name, u.email))
        .unwrap_or_default();
    let page = RequestPage {
        layout: Layout::for_visitor(state, visitor).await,
        id: r.id,
        usager,
        domains: labels(&r.domains),
        length: r.length.label(),
        by_code: r.identity_check != "franceconnect",
        franceconnect: r.identity_check == "franceconnect",
        errors,
    };
    crate::page::form_page(&page.errors, &page)
}

/// A request waiting for the usager's consent: the code they read out, or FranceConnect.
pub async fn show_request(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let aidant = visitor.signed_in()?.clone();
    let Some(r) = store::request_of(&state.db, id, aidant.id).await? else {
        return Ok(not_found(State(state)).await);
    };
    if let Some(m) = r.mandat_id {
        return Ok(Redirect::to(&format!("/aidant/mandats/{m}")).into_response());
    }
    request_page(&state, &visitor, &r, Errors::default()).await
}

/// What a mandat granted leaves: its journal entry and the usager's mail, with the link to
/// revoke it at once.
fn granted(
    state: &AppState,
    visitor: &Visitor,
    usager: &guichet_store::compte::User,
    aidant: &str,
    structure: &str,
    revocation: &str,
) -> impl FnOnce(&Mandat) -> Trace + Send + 'static {
    let mut event = visitor.event(None, "mandat.creation");
    event.on_behalf_of = Some(usager.email.clone());
    let (config, to, aidant, structure, revocation) = (
        state.config.clone(),
        usager.email.clone(),
        aidant.to_string(),
        structure.to_string(),
        revocation.to_string(),
    );
    move |m: &Mandat| {
        event.details = serde_json::json!({ "consentement": m.consent_method }).to_string();
        Trace::of(event).mail(mails::given(
            &config,
            m,
            &to,
            &aidant,
            &structure,
            &labels(&m.domains),
            &revocation,
        ))
    }
}

/// The parties of a request, to write the mandat's trace.
async fn parties(
    state: &AppState,
    r: &store::Request,
) -> anyhow::Result<(guichet_store::compte::User, String, String)> {
    let usager = compte::by_id(&state.db, r.usager_user_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("compte de la personne introuvable"))?;
    let aidant = compte::by_id(&state.db, r.aidant_user_id)
        .await?
        .map(|u| u.display_name)
        .unwrap_or_default();
    let structure = store::structure_by_id(&state.db, r.structure_id)
        .await?
        .map(|s| s.name)
        .unwrap_or_default();
    Ok((usager, aidant, structure))
}

/// The aidant types the code the usager received.
pub async fn consent_code(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<i64>,
    f: Fields,
) -> Result<Response, AppError> {
    let aidant = visitor.signed_in()?.clone();
    let Some(r) = store::request_of(&state.db, id, aidant.id).await? else {
        return Ok(not_found(State(state)).await);
    };
    let (usager, aidant_name, structure) = parties(&state, &r).await?;
    let revocation = guichet_store::secret::random_token();
    let notice = granted(
        &state,
        &visitor,
        &usager,
        &aidant_name,
        &structure,
        &revocation,
    );
    let code: String = f.get("code").chars().filter(char::is_ascii_digit).collect();
    match store::consent_with_code(&state.db, id, aidant.id, &code, &revocation, notice).await? {
        Ok(m) => {
            Ok(visitor.finish(Redirect::to(&format!("/aidant/mandats/{}", m.id)).into_response()))
        }
        Err(refused) => {
            let mut errors = Errors::default();
            errors.add("code", refused.message());
            let r = store::request_of(&state.db, id, aidant.id)
                .await?
                .unwrap_or(r);
            request_page(&state, &visitor, &r, errors).await
        }
    }
}

/// The usager signed in with FranceConnect on the aidant's screen (`compte::oidc` hands the
/// verified identity here, without signing anyone in or out).
pub(crate) async fn consent_franceconnect(
    state: &AppState,
    visitor: &Visitor,
    aidant: i64,
    id: i64,
    subject: &str,
) -> Result<Response, AppError> {
    let Some(r) = store::request_of(&state.db, id, aidant).await? else {
        return Ok(not_found(State(state.clone())).await);
    };
    let (usager, aidant_name, structure) = parties(state, &r).await?;
    let revocation = guichet_store::secret::random_token();
    let notice = granted(
        state,
        visitor,
        &usager,
        &aidant_name,
        &structure,
        &revocation,
    );
    match store::consent_with_franceconnect(&state.db, id, aidant, subject, &revocation, notice)
        .await?
    {
        Ok(m) => Ok(Redirect::to(&format!("/aidant/mandats/{}", m.id)).into_response()),
        Err(refused) => {
            let mut errors = Errors::default();
            errors.add("franceconnect", refused.message());
            request_page(state, visitor, &r, errors).await
        }
    }
}

#[derive(Template)]
#[template(path = "mandat/revocation.html")]
struct RevocationPage {
    layout: Layout,
    token: String,
    found: Option<(i64, String, String)>,
    done: bool,
}

/// The link of the mandat's e-mail: the usager revokes it at once, without signing in (the
/// link reached their mailbox).
pub async fn revocation_form(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    revocation_page(&state, &visitor, token, false).await
}

async fn revocation_page(
    state: &AppState,
    visitor: &Visitor,
    token: String,
    done: bool,
) -> Result<Response, AppError> {
    let found = match store::by_revocation_token(&state.db, &token).await? {
        Some(m) => {
            let aidant = compte::by_id(&state.db, m.aidant_user_id)
                .await?
                .map(|u| u.display_name)
                .unwrap_or_default();
            Some((m.id, aidant, crate::format::format_ms(m.ends_at)))
        }
        None => None,
    };
    let status = if found.is_none() && !done {
        StatusCode::NOT_FOUND
    } else {
        StatusCode::OK
    };
    let page = RevocationPage {
        layout: Layout::for_visitor(state, visitor).await,
        token,
        found,
        done,
    };
    Ok((status, html(&page)?).into_response())
}

pub async fn revoke_by_link(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    let Some(m) = store::by_revocation_token(&state.db, &token).await? else {
        return revocation_page(&state, &visitor, token, false).await;
    };
    let mut v = visitor.clone();
    if let Some(u) = compte::by_id(&state.db, m.usager_user_id).await? {
        // The link proves the mailbox: the usager acts.
        v.user = Some(u);
    }
    revoke_and_tell(&state, &v, &m, "usager (lien du courriel)").await?;
    revocation_page(&state, &visitor, token, true).await
}

#[derive(Template)]
#[template(path = "mandat/mandat.html")]
struct MandatPage {
    layout: Layout,
    l: Listed,
    aidant: String,
    identity: String,
    signed: String,
    may_act: bool,
    may_revoke: bool,
}

/// The mandat an aidant may see: their own, or their structure's if responsable.
async fn visible(
    state: &AppState,
    aidant: &User,
    id: i64,
) -> anyhow::Result<Option<(Mandat, bool)>> {
    let Some(m) = store::by_id(&state.db, id).await? else {
        return Ok(None);
    };
    let responsable = store::memberships(&state.db, aidant.id)
        .await?
        .iter()
        .any(|(s, r)| *r && s.id == m.structure_id);
    Ok((m.aidant_user_id == aidant.id || responsable).then_some((m, responsable)))
}

pub async fn show(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let (aidant, _) = match aidant_of(&state, &visitor).await? {
        Ok(a) => a,
        Err(r) => return Ok(r),
    };
    let Some((m, responsable)) = visible(&state, &aidant, id).await? else {
        return Ok(not_found(State(state)).await);
    };
    let now = guichet_store::now_ms();
    let own = m.aidant_user_id == aidant.id;
    let who = compte::by_id(&state.db, m.aidant_user_id)
        .await?
        .map(|u| u.display_name)
        .unwrap_or_default();
    let identity = match m.identity_check.as_str() {
        "franceconnect" => "identité certifiée par FranceConnect".to_string(),
        _ => format!(
            "pièce d'identité vérifiée en présence de la personne ({})",
            m.identity_detail.replace('_', " ")
        ),
    };
    let l = listed(&state, m, now).await?;
    html(&MandatPage {
        layout: Layout::for_visitor(&state, &visitor).await,
        may_act: own && l.status == Status::Active,
        may_revoke: (own || responsable) && l.status == Status::Active,
        signed: crate::format::format_ms(l.m.consent_at),
        aidant: who,
        identity,
        l,
    })
}

/// Starts acting for the usager of an active mandat, in this session.
pub async fn act(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let (aidant, _) = match aidant_of(&state, &visitor).await? {
        Ok(a) => a,
        Err(r) => return Ok(r),
    };
    let Some((m, _)) = visible(&state, &aidant, id).await? else {
        return Ok(not_found(State(state)).await);
    };
    if m.aidant_user_id != aidant.id || m.status(guichet_store::now_ms()) != Status::Active {
        return Ok(crate::auth::forbidden(&state, &visitor).await);
    }
    let Some(session) = &visitor.session else {
        return Ok(crate::auth::forbidden(&state, &visitor).await);
    };
    let mut event = visitor.event(None, "mandat.debut_action");
    event.object_type = Some("mandat".into());
    event.object_id = Some(m.id.to_string());
    if let Some(u) = compte::by_id(&state.db, m.usager_user_id).await? {
        event.on_behalf_of = Some(u.email);
    }
    store::set_acting(&state.db, &session.id_hash, Some(m.id), Trace::of(event)).await?;
    Ok(visitor.finish(Redirect::to("/dossiers").into_response()))
}

/// Stops acting for the usager.
pub async fn stop(State(state): State<AppState>, visitor: Visitor) -> Result<Response, AppError> {
    if let (Some(session), Some(_)) = (&visitor.session, &visitor.acting) {
        let event = visitor.event(None, "mandat.fin_action");
        store::set_acting(&state.db, &session.id_hash, None, Trace::of(event)).await?;
    }
    Ok(visitor.finish(Redirect::to("/aidant").into_response()))
}

async fn revoke_and_tell(
    state: &AppState,
    visitor: &Visitor,
    m: &Mandat,
    by: &str,
) -> anyhow::Result<bool> {
    let mut event = visitor.event(None, "mandat.revocation");
    event.object_type = Some("mandat".into());
    event.object_id = Some(m.id.to_string());
    event.details = serde_json::json!({ "par": by }).to_string();
    let mut trace = Trace::of(event);
    if let Some(u) = compte::by_id(&state.db, m.usager_user_id).await? {
        trace = trace.mail(mails::revoked(m, &u.email, by));
    }
    store::revoke(&state.db, m.id, by, trace).await
}

/// The aidant who holds it, or the structure's responsable, revokes a mandat.
pub async fn revoke_by_aidant(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let (aidant, _) = match aidant_of(&state, &visitor).await? {
        Ok(a) => a,
        Err(r) => return Ok(r),
    };
    let Some((m, _)) = visible(&state, &aidant, id).await? else {
        return Ok(not_found(State(state)).await);
    };
    revoke_and_tell(&state, &visitor, &m, "la structure d'accompagnement").await?;
    Ok(visitor.finish(Redirect::to(&format!("/aidant/mandats/{id}")).into_response()))
}

// ---- The usager's side ------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "mandat/mes-mandats.html")]
struct MyMandatsPage {
    layout: Layout,
    mandats: Vec<(Listed, String)>,
    flash: Option<String>,
}

#[derive(serde::Deserialize, Default)]
pub struct MineQuery {
    #[serde(default)]
    revoque: Option<i64>,
}

pub async fn mine(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(q): Query<MineQuery>,
) -> Result<Response, AppError> {
    let user = visitor.signed_in()?;
    let now = guichet_store::now_ms();
    let mut mandats = Vec::new();
    for m in store::of_usager(&state.db, user.id).await? {
        let aidant = compte::by_id(&state.db, m.aidant_user_id)
            .await?
            .map(|u| u.display_name)
            .unwrap_or_default();
        mandats.push((listed(&state, m, now).await?, aidant));
    }
    html(&MyMandatsPage {
        layout: Layout::for_visitor(&state, &visitor).await,
        mandats,
        flash: q
            .revoque
            .map(|id| format!("Mandat n° {id} révoqué : il ne permet plus d'agir en votre nom.")),
    })
}

pub async fn revoke_by_usager(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let user = visitor.signed_in()?;
    let Some(m) = store::by_id(&state.db, id)
        .await?
        .filter(|m| m.usager_user_id == user.id)
    else {
        return Ok(not_found(State(state)).await);
    };
    revoke_and_tell(&state, &visitor, &m, "par vous").await?;
    Ok(visitor.finish(Redirect::to(&format!("/compte/mandats?revoque={id}")).into_response()))
}

#[derive(Template)]
#[template(path = "mandat/mandat-verification.html")]
struct VerificationPage {
    layout: Layout,
    code: String,
    found: Option<Listed>,
}

#[derive(serde::Deserialize, Default)]
pub struct CodeQuery {
    #[serde(default)]
    code: String,
}

/// Anyone holding a printed mandat checks it is genuine and in force (no names shown).
pub async fn verify(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(q): Query<CodeQuery>,
) -> Result<Response, AppError> {
    let found = match q.code.trim() {
        "" => None,
        code => match store::by_code(&state.db, code).await? {
            Some(m) => Some(listed(&state, m, guichet_store::now_ms()).await?),
            None => None,
        },
    };
    let status = if !q.code.trim().is_empty() && found.is_none() {
        StatusCode::NOT_FOUND
    } else {
        StatusCode::OK
    };
    let page = VerificationPage {
        layout: Layout::for_visitor(&state, &visitor).await,
        code: q.code.trim().to_string(),
        found,
    };
    Ok((status, html(&page)?).into_response())
}

/// E-mails usagers whose mandat ends within 30 days (once per mandat).
pub async fn warn_expiring(state: &AppState, now: i64) -> anyhow::Result<usize> {
    let until = now + guichet_domain::mandat::WARN_DAYS * 86_400_000;
    let due = store::expiring(&state.db, now, until).await?;
    let n = due.len();
    for (m, email) in due {
        let mail = mails::ending(&state.config, &m, &email);
        store::warn(&state.db, m.id, Trace::default().mail(mail)).await?;
    }
    Ok(n)
}
