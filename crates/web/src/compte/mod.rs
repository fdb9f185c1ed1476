//! Accounts of usagers and agents: sign-up, confirmation, login, password reset, account page,
//! sessions, deletion.

pub mod mails;
pub mod oidc;
pub mod oidc_keys;
pub mod securite;

use crate::auth::{safe_next, Visitor};
use crate::error::AppError;
use crate::form::Errors;
use crate::layout::Layout;
use crate::page::{html, message};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use guichet_domain::password;
use guichet_store::compte::{self, CompteError, Kind, Purpose};
use guichet_store::trace::Trace;
use guichet_store::{journal, session, throttle};
use serde::Deserialize;

// ---- Sign-up --------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "compte/inscription.html")]
struct SignupPage {
    layout: Layout,
    errors: Errors,
    nom: String,
    email: String,
    /// Where the new usager was going: the confirmation link leads back there.
    suite: Option<String>,
}

pub async fn signup_form(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(q): Query<NextQuery>,
) -> Result<Response, AppError> {
    html(&SignupPage {
        layout: Layout::for_visitor(&state, &visitor).await,
        errors: Errors::default(),
        nom: String::new(),
        email: String::new(),
        suite: safe_next(q.suite.as_deref()),
    })
}

#[derive(Deserialize)]
pub struct SignupForm {
    #[serde(default)]
    nom: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    mot_de_passe: String,
}

pub async fn signup(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(q): Query<NextQuery>,
    Form(f): Form<SignupForm>,
) -> Result<Response, AppError> {
    let suite = safe_next(q.suite.as_deref());
    let mut errors = Errors::default();
    let nom = f.nom.trim().to_string();
    if nom.is_empty() {
        errors.add("nom", "Indiquez votre prénom et votre nom.");
    } else if nom.chars().count() > 120 {
        errors.add("nom", "Le nom ne doit pas dépasser 120 caractères.");
    }
    let email = match compte::normalize_email(&f.email) {
        Ok(e) => Some(e),
        Err(_) => {
            errors.add(
                "email",
                "Indiquez une adresse électronique valide, par exemple camille.martin@exemple.fr.",
            );
            None
        }
    };
    if let Err(e) = password::check(&f.mot_de_passe, email.as_deref().unwrap_or_default()) {
        errors.add("mot_de_passe", capitalize(&e.to_string()));
    }
    if let (true, Some(email)) = (errors.is_empty(), email.as_ref()) {
        let link = link(Purpose::ConfirmEmail, None);
        let trace = Trace::of(visitor.event(None, "compte.creation")).mail(mails::confirmation(
            &state.config,
            email,
            &link.token,
            suite.as_deref(),
        ));
        match compte::sign_up(
            &state.db,
            Kind::Usager,
            email,
            &nom,
            &f.mot_de_passe,
            link,
            trace,
        )
        .await
        {
            Ok(user) => {
                return message(
                    &state,
                    &visitor,
                    "Confirmez votre adresse",
                    vec![format!("Nous avons envoyé un lien de confirmation à {}. Ouvrez-le pour activer votre compte ; il est valable 48 heures.", user.email)],
                    None,
                )
                .await;
            }
            Err(CompteError::EmailTaken) => {
                // Say it plainly: the address is the user's own, and a reset link is the way back.
                errors.add("email", "Un compte existe déjà avec cette adresse. Connectez-vous, ou utilisez « Mot de passe oublié ».");
            }
            Err(CompteError::InvalidEmail) => errors.add("email", "Adresse électronique invalide."),
            Err(CompteError::Storage(e)) => return Err(e.into()),
        }
    }
    let page = SignupPage {
        layout: Layout::for_visitor(&state, &visitor).await,
        errors,
        nom,
        email: f.email,
        suite,
    };
    Ok((StatusCode::UNPROCESSABLE_ENTITY, html(&page)?).into_response())
}

pub fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => {
            first.to_uppercase().collect::<String>()
                + c.as_str()
                + if s.ends_with('.') { "" } else { "." }
        }
        None => String::new(),
    }
}

pub async fn confirm_email(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(token): Path<String>,
    Query(q): Query<NextQuery>,
) -> Result<Response, AppError> {
    // Signing in leads on to where the usager was going when they signed up.
    let login = match safe_next(q.suite.as_deref()) {
        Some(s) => format!("/connexion?suite={}", crate::auth::urlencode(&s)),
        None => "/connexion".to_string(),
    };
    let trace = Trace::of(visitor.event(None, "compte.confirmation"));
    match compte::confirm_email(&state.db, &token, trace).await? {
        Some(_) => {
            crate::page::message_to(
                &state,
                &visitor,
                "Adresse confirmée",
                vec!["Votre compte est actif. Connectez-vous pour continuer.".into()],
                Some((login.clone(), "Se connecter")),
            )
            .await
        }
        None => {
            let page = crate::page::message_to(
                &state,
                &visitor,
                "Lien expiré ou déjà utilisé",
                vec!["Ce lien de confirmation n'est plus valable. Connectez-vous avec votre adresse et votre mot de passe : un nouveau lien vous sera envoyé.".into()],
                Some((login.clone(), "Se connecter")),
            )
            .await?;
            Ok((StatusCode::NOT_FOUND, page).into_response())
        }
    }
}

// ---- Login and logout -----------------------------------------------------------------------

#[derive(Template)]
#[template(path = "compte/connexion.html")]
struct LoginPage {
    layout: Layout,
    errors: Errors,
    email: String,
    suite: Option<String>,
    flash: Option<String>,
    /// Other ways in, when configured.
    franceconnect: bool,
    agents_sso: bool,
}

impl LoginPage {
    async fn new(
        state: &AppState,
        visitor: &Visitor,
        errors: Errors,
        email: String,
        suite: Option<String>,
        flash: Option<String>,
    ) -> Self {
        Self {
            layout: Layout::for_visitor(state, visitor).await,
            errors,
            email,
            suite,
            flash,
            franceconnect: state.config.franceconnect.is_some(),
            agents_sso: state.config.agent_sso.is_some(),
        }
    }
}

#[derive(Deserialize, Default)]
pub struct NextQuery {
    suite: Option<String>,
}

pub async fn login_form(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(q): Query<NextQuery>,
) -> Result<Response, AppError> {
    html(
        &LoginPage::new(
            &state,
            &visitor,
            Errors::default(),
            String::new(),
            safe_next(q.suite.as_deref()),
            None,
        )
        .await,
    )
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    mot_de_passe: String,
}

pub async fn login(
    State(state): State<AppState>,
    mut visitor: Visitor,
    Query(q): Query<NextQuery>,
    Form(f): Form<LoginForm>,
) -> Result<Response, AppError> {
    let now = guichet_store::now_ms();
    let suite = safe_next(q.suite.as_deref());
    let ip = visitor.ip.clone();
    let fail = |errors: Errors, status: StatusCode, visitor: Visitor, email: String| {
        let state = state.clone();
        let suite = suite.clone();
        async move {
            let page = LoginPage::new(&state, &visitor, errors, email, suite, None).await;
            Ok::<Response, AppError>((status, html(&page)?).into_response())
        }
    };
    let verdict = throttle::check(&state.db, &f.email, ip.as_deref(), now).await?;
    if let Some(wait) = verdict.wait_text() {
        let mut errors = Errors::default();
        errors.add(
            "email",
            format!("Trop de tentatives depuis votre connexion. Par sécurité, réessayez dans {wait} ou choisissez « Mot de passe oublié »."),
        );
        let mut event = visitor.event(None, "connexion.bloquee");
        event.actor =
            compte::normalize_email(&f.email).unwrap_or_else(|_| "adresse invalide".into());
        journal::append(&state.db, &event).await?;
        return fail(errors, StatusCode::TOO_MANY_REQUESTS, visitor, f.email).await;
    }
    let Some(user) = compte::authenticate(&state.db, &f.email, &f.mot_de_passe).await? else {
        let mut event = visitor.event(None, "connexion.echec");
        event.actor =
            compte::normalize_email(&f.email).unwrap_or_else(|_| "adresse invalide".into());
        // The owner of an existing account hears when the delays start.
        let alert = compte::by_email(&state.db, &f.email)
            .await?
            .map(|owner| mails::failed_sign_ins(&state.config, &owner.email));
        throttle::record_failure(
            &state.db,
            &f.email,
            ip.as_deref(),
            now,
            Trace::of(event),
            alert,
        )
        .await?;
        let mut errors = Errors::default();
        errors.add("email", "Adresse électronique ou mot de passe incorrect.");
        return fail(errors, StatusCode::UNAUTHORIZED, visitor, f.email).await;
    };
    if user.kind == Kind::Usager && !user.email_confirmed {
        let link = link(Purpose::ConfirmEmail, None);
        let mail = mails::confirmation(&state.config, &user.email, &link.token, suite.as_deref());
        compte::send_link(&state.db, user.id, link, Trace::default().mail(mail)).await?;
        let mut errors = Errors::default();
        errors.add("email", "Votre adresse n'est pas encore confirmée : nous venons de vous renvoyer le lien de confirmation.");
        return fail(errors, StatusCode::FORBIDDEN, visitor, f.email).await;
    }
    let mut event = visitor.event(None, "connexion.reussie");
    event.actor = user.email.clone();
    event.actor_id = Some(user.id);
    // A new session at every login: a session id planted before login is worthless.
    let (token, _) = compte::sign_in(
        &state.db,
        &user,
        visitor.session.as_ref().map(|s| s.id_hash.as_str()),
        opening(&visitor, user.id, false),
        Trace::of(event),
    )
    .await?;
    visitor.set_session(&state, &token).await?;
    let target = if user.totp_enabled {
        match &suite {
            Some(s) => format!(
                "/connexion/second-facteur?suite={}",
                crate::auth::urlencode(s)
            ),
            None => "/connexion/second-facteur".into(),
        }
    } else if user.kind == Kind::Agent {
        "/compte/securite".to_string()
    } else {
        suite.unwrap_or_else(|| "/compte".into())
    };
    Ok(visitor.finish(Redirect::to(&target).into_response()))
}

pub async fn logout(
    State(state): State<AppState>,
    mut visitor: Visitor,
) -> Result<Response, AppError> {
    // A session opened through FranceConnect (or agents' sign-on) ends at the provider too.
    let mut target = "/".to_string();
    if let Some(s) = &visitor.session {
        match crate::compte::oidc::logout_url(&state, &s.id_hash).await {
            Ok(Some(url)) => target = url,
            Ok(None) => {}
            Err(e) => tracing::warn!(error = format!("{e:#}"), "logout at the provider"),
        }
        session::close(
            &state.db,
            &s.id_hash,
            Trace::of(visitor.event(None, "deconnexion")),
        )
        .await?;
    }
    visitor.clear_session(&state).await?;
    Ok(visitor.finish(Redirect::to(&target).into_response()))
}

// ---- Forgotten password ---------------------------------------------------------------------

#[derive(Template)]
#[template(path = "compte/mot-de-passe-oublie.html")]
struct ForgotPage {
    layout: Layout,
    errors: Errors,
    email: String,
}

pub async fn forgot_form(
    State(state): State<AppState>,
    visitor: Visitor,
) -> Result<Response, AppError> {
    html(&ForgotPage {
        layout: Layout::for_visitor(&state, &visitor).await,
        errors: Errors::default(),
        email: String::new(),
    })
}

#[derive(Deserialize)]
pub struct ForgotForm {
    #[serde(default)]
    email: String,
}

pub async fn forgot(
    State(state): State<AppState>,
    visitor: Visitor,
    Form(f): Form<ForgotForm>,
) -> Result<Response, AppError> {
    let Ok(email) = compte::normalize_email(&f.email) else {
        let mut errors = Errors::default();
        errors.add("email", "Indiquez une adresse électronique valide.");
        let page = ForgotPage {
            layout: Layout::for_visitor(&state, &visitor).await,
            errors,
            email: f.email,
        };
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, html(&page)?).into_response());
    };
    // Same answer whether or not an account exists: the page must not reveal who has one.
    if let Some(user) = compte::by_email(&state.db, &email).await? {
        let link = link(Purpose::ResetPassword, None);
        let mut event = visitor.event(None, "mot_de_passe.demande");
        event.actor = user.email.clone();
        event.actor_id = Some(user.id);
        let trace = Trace::of(event).mail(mails::reset(&state.config, &user.email, &link.token));
        compte::send_link(&state.db, user.id, link, trace).await?;
    }
    message(
        &state,
        &visitor,
        "Vérifiez votre messagerie",
        vec![format!("Si un compte existe pour {email}, un lien pour choisir un nouveau mot de passe vient d'y être envoyé. Il est valable une heure.")],
        None,
    )
    .await
}

#[derive(Template)]
#[template(path = "compte/mot-de-passe-nouveau.html")]
struct ResetPage {
    layout: Layout,
    errors: Errors,
    token: String,
}

pub async fn reset_form(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    html(&ResetPage {
        layout: Layout::for_visitor(&state, &visitor).await,
        errors: Errors::default(),
        token,
    })
}

#[derive(Deserialize)]
pub struct ResetForm {
    #[serde(default)]
    mot_de_passe: String,
}

pub async fn reset(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(token): Path<String>,
    Form(f): Form<ResetForm>,
) -> Result<Response, AppError> {
    // Check the password before using the single-use token, so a refused password keeps the link
    // valid; with the account's address, as on every other path.
    let mut errors = Errors::default();
    let email = match compte::peek_email_token(&state.db, &token, Purpose::ResetPassword).await? {
        Some(user_id) => compte::by_id(&state.db, user_id)
            .await?
            .map(|u| u.email)
            .unwrap_or_default(),
        None => String::new(),
    };
    if let Err(e) = password::check(&f.mot_de_passe, &email) {
        errors.add("mot_de_passe", capitalize(&e.to_string()));
        let page = ResetPage {
            layout: Layout::for_visitor(&state, &visitor).await,
            errors,
            token,
        };
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, html(&page)?).into_response());
    }
    let trace = Trace::of(visitor.event(None, "mot_de_passe.reinitialisation"));
    let Some(_) = compte::reset_password(&state.db, &token, &f.mot_de_passe, trace).await? else {
        let page = message(
            &state,
            &visitor,
            "Lien expiré ou déjà utilisé",
            vec!["Ce lien n'est plus valable. Demandez-en un nouveau.".into()],
            Some(("/mot-de-passe-oublie", "Demander un nouveau lien")),
        )
        .await?;
        return Ok((StatusCode::NOT_FOUND, page).into_response());
    };
    let page = LoginPage::new(
        &state,
        &visitor,
        Errors::default(),
        String::new(),
        None,
        Some("Votre mot de passe a été changé. Connectez-vous avec le nouveau.".into()),
    )
    .await;
    html(&page)
}

// ---- The account page -------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "compte/compte.html")]
struct AccountPage {
    layout: Layout,
    user: compte::User,
    errors: Errors,
    flash: Option<String>,
    /// None: FranceConnect is not offered; else whether this account is linked to it.
    franceconnect: Option<bool>,
    /// An aidant of a help structure (link to their space).
    aidant: bool,
    /// Sits in an assembly: the members' space is offered.
    elu: bool,
}

async fn account_page(
    state: &AppState,
    visitor: &Visitor,
    errors: Errors,
    flash: Option<String>,
) -> Result<Response, AppError> {
    let user = visitor.signed_in()?.clone();
    let status = errors.status();
    let franceconnect = match state.config.franceconnect {
        Some(_) => Some(guichet_store::oidc::is_linked(&state.db, "franceconnect", user.id).await?),
        None => None,
    };
    let aidant = !guichet_store::mandat::memberships(&state.db, user.id)
        .await?
        .is_empty();
    let elu = user.email_confirmed
        && !guichet_store::conseil::mandats_of(&state.db, &user.email)
            .await?
            .is_empty();
    let page = AccountPage {
        layout: Layout::for_visitor(state, visitor).await,
        user,
        errors,
        flash,
        franceconnect,
        aidant,
        elu,
    };
    Ok((status, html(&page)?).into_response())
}

pub async fn account(
    State(state): State<AppState>,
    visitor: Visitor,
) -> Result<Response, AppError> {
    account_page(&state, &visitor, Errors::default(), None).await
}

#[derive(Deserialize)]
pub struct PasswordChange {
    #[serde(default)]
    actuel: String,
    #[serde(default)]
    nouveau: String,
}

pub async fn change_password(
    State(state): State<AppState>,
    mut visitor: Visitor,
    Form(f): Form<PasswordChange>,
) -> Result<Response, AppError> {
    let user = visitor.signed_in()?.clone();
    let mut errors = Errors::default();
    if !compte::verify_password(&state.db, user.id, &f.actuel).await? {
        errors.add("actuel", "Le mot de passe actuel est incorrect.");
    }
    if let Err(e) = password::check(&f.nouveau, &user.email) {
        errors.add("nouveau", capitalize(&e.to_string()));
    }
    if !errors.is_empty() {
        return account_page(&state, &visitor, errors, None).await;
    }
    // Other devices are logged out; this one gets a fresh session.
    let (token, new_session) = compte::change_password(
        &state.db,
        user.id,
        &f.nouveau,
        opening(&visitor, user.id, visitor.mfa_done()),
        Trace::of(visitor.event(None, "mot_de_passe.changement")),
    )
    .await?;
    visitor.set_session(&state, &token).await?;
    visitor.session = Some(new_session);
    let response = account_page(
        &state,
        &visitor,
        Errors::default(),
        Some("Mot de passe changé. Vos autres appareils ont été déconnectés.".into()),
    )
    .await?;
    Ok(visitor.finish(response))
}

#[derive(Deserialize)]
pub struct EmailChange {
    #[serde(default)]
    nouvel_email: String,
}

pub async fn change_email(
    State(state): State<AppState>,
    visitor: Visitor,
    Form(f): Form<EmailChange>,
) -> Result<Response, AppError> {
    let user = visitor.signed_in()?.clone();
    let mut errors = Errors::default();
    let email = match compte::normalize_email(&f.nouvel_email) {
        Ok(e) if e == user.email => {
            errors.add("nouvel_email", "C'est déjà l'adresse de votre compte.");
            None
        }
        Ok(e) => Some(e),
        Err(_) => {
            errors.add("nouvel_email", "Indiquez une adresse électronique valide.");
            None
        }
    };
    let Some(email) = email else {
        return account_page(&state, &visitor, errors, None).await;
    };
    let mut event = visitor.event(None, "courriel.changement_demande");
    event.details = serde_json::json!({"nouvelle_adresse": email}).to_string();
    // The same answer whether or not the address is someone else's: no mail then.
    if compte::by_email(&state.db, &email).await?.is_none() {
        let link = link(Purpose::ChangeEmail, Some(&email));
        let trace = Trace::of(event)
            .mail(mails::new_address(&state.config, &email, &link.token))
            .mail(mails::address_change_asked(&user.email));
        compte::send_link(&state.db, user.id, link, trace).await?;
    } else {
        journal::append(&state.db, &event).await?;
    }
    account_page(
        &state,
        &visitor,
        Errors::default(),
        Some(format!("Un lien de confirmation a été envoyé à {email}.")),
    )
    .await
}

pub async fn confirm_new_email(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    let trace = Trace::of(visitor.event(None, "courriel.changement"));
    let new_email = match compte::confirm_new_email(&state.db, &token, trace).await {
        Ok(Some((user, _))) => user.email,
        Ok(None) => {
            let page = message(
                &state,
                &visitor,
                "Lien expiré ou déjà utilisé",
                vec!["Ce lien n'est plus valable. Refaites la demande depuis votre compte.".into()],
                Some(("/compte", "Mon compte")),
            )
            .await?;
            return Ok((StatusCode::NOT_FOUND, page).into_response());
        }
        Err(CompteError::EmailTaken) => {
            return message(
                &state,
                &visitor,
                "Adresse déjà utilisée",
                vec!["Cette adresse est devenue celle d'un autre compte entre-temps.".into()],
                Some(("/compte", "Mon compte")),
            )
            .await;
        }
        Err(e) => return Err(anyhow::anyhow!("{e}").into()),
    };
    message(
        &state,
        &visitor,
        "Adresse changée",
        vec![format!(
            "Votre compte utilise désormais l'adresse {new_email}."
        )],
        Some(("/compte", "Mon compte")),
    )
    .await
}

// ---- Sessions -------------------------------------------------------------------------------

pub struct SessionRow {
    pub device: String,
    pub ip: String,
    pub created: String,
    pub last_seen: String,
    pub current: bool,
}

#[derive(Template)]
#[template(path = "compte/sessions.html")]
struct SessionsPage {
    layout: Layout,
    sessions: Vec<SessionRow>,
    flash: Option<String>,
}

fn device_of(user_agent: Option<&str>) -> String {
    let ua = user_agent.unwrap_or_default();
    let browser = ["Firefox", "Edg", "Chrome", "Safari"]
        .into_iter()
        .find(|b| ua.contains(b))
        .map(|b| if b == "Edg" { "Edge" } else { b })
        .unwrap_or("Navigateur inconnu");
    let os = ["Android", "iPhone", "Windows", "Mac OS", "Linux"]
        .into_iter()
        .find(|o| ua.contains(o))
        .unwrap_or("système inconnu");
    format!("{browser} sur {os}")
}

pub async fn sessions(
    State(state): State<AppState>,
    visitor: Visitor,
) -> Result<Response, AppError> {
    let user = visitor.signed_in()?;
    let current = visitor.session.as_ref().map(|s| s.id_hash.clone());
    let sessions = session::list_for_user(&state.db, user.id)
        .await?
        .into_iter()
        .map(|s| SessionRow {
            device: device_of(s.user_agent.as_deref()),
            ip: s.ip.clone().unwrap_or_else(|| "—".into()),
            created: crate::format::format_ms(s.created_at),
            last_seen: crate::format::format_ms(s.last_seen_at),
            current: Some(&s.id_hash) == current.as_ref(),
        })
        .collect();
    html(&SessionsPage {
        layout: Layout::for_visitor(&state, &visitor).await,
        sessions,
        flash: None,
    })
}

pub async fn logout_everywhere(
    State(state): State<AppState>,
    mut visitor: Visitor,
) -> Result<Response, AppError> {
    let user = visitor.signed_in()?.clone();
    let closed = session::close_all(
        &state.db,
        user.id,
        Trace::of(visitor.event(None, "deconnexion.partout")),
    )
    .await?;
    visitor.clear_session(&state).await?;
    visitor.user = None;
    visitor.session = None;
    let page = LoginPage::new(
        &state,
        &visitor,
        Errors::default(),
        user.email,
        None,
        Some(format!(
            "Vous avez été déconnecté de partout ({closed} session{} fermée{}).",
            if closed > 1 { "s" } else { "" },
            if closed > 1 { "s" } else { "" }
        )),
    )
    .await;
    Ok(visitor.finish(html(&page)?))
}

// ---- Deletion -------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "compte/suppression.html")]
struct DeletePage {
    layout: Layout,
    errors: Errors,
}

pub async fn delete_form(
    State(state): State<AppState>,
    visitor: Visitor,
) -> Result<Response, AppError> {
    html(&DeletePage {
        layout: Layout::for_visitor(&state, &visitor).await,
        errors: Errors::default(),
    })
}

#[derive(Deserialize)]
pub struct DeleteForm {
    #[serde(default)]
    mot_de_passe: String,
}

pub async fn delete(
    State(state): State<AppState>,
    mut visitor: Visitor,
    Form(f): Form<DeleteForm>,
) -> Result<Response, AppError> {
    let user = visitor.signed_in()?.clone();
    if !compte::verify_password(&state.db, user.id, &f.mot_de_passe).await? {
        let mut errors = Errors::default();
        errors.add(
            "mot_de_passe",
            "Mot de passe incorrect : le compte n'a pas été supprimé.",
        );
        let page = DeletePage {
            layout: Layout::for_visitor(&state, &visitor).await,
            errors,
        };
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, html(&page)?).into_response());
    }
    let event = visitor.event_on(None, "compte.suppression", "compte", user.id.to_string());
    compte::delete(&state.db, user.id, Trace::of(event)).await?;
    visitor.clear_session(&state).await?;
    visitor.user = None;
    visitor.session = None;
    visitor.roles.clear();
    let page = message(
        &state,
        &visitor,
        "Compte supprimé",
        vec!["Votre compte et vos données personnelles ont été effacés.".into()],
        Some(("/", "Retour à l'accueil")),
    )
    .await?;
    Ok(visitor.finish(page))
}

/// A link to send by e-mail, with a fresh token.
fn link(purpose: Purpose, new_email: Option<&str>) -> compte::Link {
    compte::Link {
        token: guichet_store::secret::random_token(),
        purpose,
        new_email: new_email.map(str::to_string),
    }
}

/// The session a sign-in opens for this visitor.
pub(crate) fn opening(visitor: &Visitor, user_id: i64, mfa_done: bool) -> session::Opening {
    session::Opening {
        user_id,
        mfa_done,
        ip: visitor.ip.clone(),
        user_agent: visitor.user_agent.clone(),
    }
}
