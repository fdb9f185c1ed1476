//! OpenID Connect relying party: "Se connecter avec FranceConnect" for usagers (FranceConnect v2:
//! discovery, authorization code flow, random state bound to the browser and nonce, `acr_values`
//! with the level returned checked, identity claims, ID token and signed userinfo verified
//! against the provider's keys, the provider's error callback, logout at the provider), and the
//! same code for agents' single sign-on (ProConnect-style) when configured. FranceConnect+
//! encrypts the ID token and userinfo to Guichet's keys (`oidc_keys`): they are opened here
//! before the signature is checked, and a provider set to encrypt is refused a plain answer.

use crate::auth::Visitor;
use crate::error::AppError;
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use guichet_domain::franceconnect::{acr_satisfies, Identity};
use guichet_store::compte::{self, Kind};
use guichet_store::oidc as store;
use guichet_store::trace::Trace;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreGenderClaim, CoreIdTokenClaims};
use openidconnect::{
    AdditionalClaims, AuthType, AuthenticationContextClass, AuthorizationCode, ClientId,
    ClientSecret, CsrfToken, EndSessionUrl, EndpointMaybeSet, EndpointNotSet, EndpointSet,
    IssuerUrl, LogoutRequest, Nonce, OAuth2TokenResponse, PostLogoutRedirectUrl,
    ProviderMetadataWithLogout, RedirectUrl, Scope, TokenResponse, UserInfoClaims,
};
use serde::{Deserialize, Serialize};

/// A provider Guichet trusts, from configuration.
#[derive(Clone)]
pub struct OidcProvider {
    pub issuer: String,
    pub client_id: String,
    /// Never logged.
    pub client_secret: String,
    /// The eIDAS level asked (FranceConnect: eidas1); empty for none.
    pub acr: String,
    /// The provider encrypts the ID token and userinfo to Guichet's keys (FranceConnect+): an
    /// answer in clear is refused.
    pub encrypted: bool,
}

impl std::fmt::Debug for OidcProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcProvider")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("acr", &self.acr)
            .field("encrypted", &self.encrypted)
            .finish_non_exhaustive()
    }
}

/// Which provider a route is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    /// Usagers, with certified identity.
    FranceConnect,
    /// Agents' single sign-on.
    Agents,
}

impl Which {
    fn from_path(s: &str) -> Option<Self> {
        match s {
            "franceconnect" => Some(Self::FranceConnect),
            "agents" => Some(Self::Agents),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Self::FranceConnect => "franceconnect",
            Self::Agents => "agents",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::FranceConnect => "FranceConnect",
            Self::Agents => "l'identification des agents",
        }
    }

    fn config(self, state: &AppState) -> Option<&OidcProvider> {
        match self {
            Self::FranceConnect => state.config.franceconnect.as_ref(),
            Self::Agents => state.config.agent_sso.as_ref(),
        }
    }

    /// The scopes asked: FranceConnect's identity claims, or what an agent needs.
    fn scopes(self) -> &'static [&'static str] {
        match self {
            Self::FranceConnect => &[
                "given_name",
                "family_name",
                "birthdate",
                "birthplace",
                "birthcountry",
                "gender",
                "email",
                "preferred_username",
            ],
            Self::Agents => &["email", "given_name", "usual_name"],
        }
    }
}

/// FranceConnect's claims that OpenID Connect does not name.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
struct FcClaims {
    #[serde(default)]
    birthplace: Option<String>,
    #[serde(default)]
    birthcountry: Option<String>,
}
impl AdditionalClaims for FcClaims {}

type Rp = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// The HTTP client towards providers: no redirects followed (they would open the door to
/// request forgery), short timeouts.
fn http() -> anyhow::Result<openidconnect::reqwest::Client> {
    Ok(openidconnect::reqwest::Client::builder()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(10))
        .build()?)
}

const COOKIE: &str = "guichet_oidc";

fn callback_url(state: &AppState, which: Which) -> String {
    state
        .config
        .link(&format!("/connexion/{}/retour", which.code()))
}

/// Providers' discovery documents and keys, read again after a few minutes rather than at
/// every step of every login (start, callback, logout).
#[derive(Default)]
pub struct DiscoveryCache(std::sync::Mutex<std::collections::HashMap<String, Discovered>>);

/// A provider's client, its end-session endpoint, and when they were read.
type Discovered = (std::time::Instant, Rp, Option<EndSessionUrl>);

/// How long a discovery document (and the provider's keys) is trusted before it is read again.
const DISCOVERY_TTL: std::time::Duration = std::time::Duration::from_secs(300);

/// The client of a provider, from its discovery document (cached).
async fn client(
    state: &AppState,
    which: Which,
    p: &OidcProvider,
) -> anyhow::Result<(Rp, Option<EndSessionUrl>)> {
    let key = format!(
        "{}|{}|{}",
        p.issuer,
        p.client_id,
        callback_url(state, which)
    );
    if let Ok(cache) = state.oidc_discovery.0.lock() {
        if let Some((at, rp, end)) = cache.get(&key) {
            if at.elapsed() < DISCOVERY_TTL {
                return Ok((rp.clone(), end.clone()));
            }
        }
    }
    let (rp, end) = discover(state, which, p).await?;
    if let Ok(mut cache) = state.oidc_discovery.0.lock() {
        cache.insert(key, (std::time::Instant::now(), rp.clone(), end.clone()));
    }
    Ok((rp, end))
}

/// Reads the provider's discovery document and builds the client.
async fn discover(
    state: &AppState,
    which: Which,
    p: &OidcProvider,
) -> anyhow::Result<(Rp, Option<EndSessionUrl>)> {
    let meta =
        ProviderMetadataWithLogout::discover_async(IssuerUrl::new(p.issuer.clone())?, &http()?)
            .await
            .map_err(|e| anyhow::anyhow!("découverte de {} impossible : {e}", p.issuer))?;
    let end_session = meta.additional_metadata().end_session_endpoint.clone();
    let rp = CoreClient::from_provider_metadata(
        meta,
        ClientId::new(p.client_id.clone()),
        Some(ClientSecret::new(p.client_secret.clone())),
    )
    .set_redirect_uri(RedirectUrl::new(callback_url(state, which))?)
    .set_auth_type(AuthType::RequestBody);
    Ok((rp, end_session))
}

#[derive(Deserialize, Default)]
pub struct StartQuery {
    /// Where to go once logged in.
    #[serde(default)]
    suite: Option<String>,
}

/// Sends the browser to the provider. A signed-in usager links the identity to their account.
pub async fn start(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(provider): Path<String>,
    Query(q): Query<StartQuery>,
) -> Result<Response, AppError> {
    let Some(which) = Which::from_path(&provider) else {
        return Ok(crate::page::not_found(State(state)).await);
    };
    let Some(p) = which.config(&state).cloned() else {
        return refusal(
            &state,
            &visitor,
            which,
            "Ce moyen de connexion n'est pas proposé sur cette plateforme.",
            StatusCode::NOT_FOUND,
        )
        .await;
    };
    let (rp, _) = match client(&state, which, &p).await {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(
                error = format!("{e:#}"),
                provider = which.code(),
                "OpenID Connect discovery"
            );
            return refusal(&state, &visitor, which, "Le service de connexion ne répond pas pour l'instant. Réessayez dans quelques minutes, ou connectez-vous avec votre adresse électronique.", StatusCode::BAD_GATEWAY).await;
        }
    };
    let mut request = rp.authorize_url(
        CoreAuthenticationFlow::AuthorizationCode,
        CsrfToken::new_random,
        Nonce::new_random,
    );
    for s in which.scopes() {
        request = request.add_scope(Scope::new((*s).to_string()));
    }
    if !p.acr.is_empty() {
        request = request.add_auth_context_value(AuthenticationContextClass::new(p.acr.clone()));
    }
    // A usager consenting to a mandat on an aidant's screen authenticates now, whoever signed in
    // on that browser before.
    if consent_request(q.suite.as_deref().unwrap_or_default()).is_some() {
        request = request.add_prompt(openidconnect::core::CoreAuthPrompt::Login);
    }
    let (url, csrf, nonce) = request.url();
    let return_to = crate::auth::safe_next(q.suite.as_deref()).unwrap_or_else(|| match which {
        Which::FranceConnect => "/compte".into(),
        Which::Agents => "/admin".into(),
    });
    store::start(
        &state.db,
        csrf.secret(),
        &store::Pending {
            provider: which.code().into(),
            nonce: nonce.secret().clone(),
            user_id: visitor.user.as_ref().map(|u| u.id),
            return_to,
        },
    )
    .await?;
    // The state is bound to this browser: a callback carried to another browser is refused.
    let secure = if state.config.is_tls() {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{COOKIE}={}; Path=/connexion; HttpOnly; SameSite=Lax; Max-Age=600{secure}",
        csrf.secret()
    );
    let mut response = Redirect::to(url.as_str()).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        cookie.parse().map_err(anyhow::Error::from)?,
    );
    Ok(visitor.finish(response))
}

#[derive(Deserialize, Default)]
pub struct CallbackQuery {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    error_description: Option<String>,
}

/// What went wrong, in French, on a page (nothing is changed).
async fn refusal(
    state: &AppState,
    visitor: &Visitor,
    which: Which,
    message: &str,
    status: StatusCode,
) -> Result<Response, AppError> {
    let page = crate::page::message(
        state,
        visitor,
        "Connexion impossible",
        vec![
            message.to_string(),
            format!("Aucune information n'a été enregistrée. Vous pouvez réessayer avec {}, ou vous connecter avec votre adresse électronique et votre mot de passe.", which.name()),
        ],
        Some(("/connexion", "Revenir à la connexion")),
    )
    .await?;
    Ok((status, page).into_response())
}

/// The provider sends the browser back here, with a code or an error.
pub async fn callback(
    State(state): State<AppState>,
    mut visitor: Visitor,
    Path(provider): Path<String>,
    headers: axum::http::HeaderMap,
    Query(q): Query<CallbackQuery>,
) -> Result<Response, AppError> {
    let Some(which) = Which::from_path(&provider) else {
        return Ok(crate::page::not_found(State(state)).await);
    };
    let Some(p) = which.config(&state).cloned() else {
        return Ok(crate::page::not_found(State(state)).await);
    };
    let bound = crate::auth::visitor::cookie_value(&headers, COOKIE).map(str::to_string);
    let given = q.state.clone().unwrap_or_default();
    // The state must be the one this browser started with, and still under way (used once).
    let pending = match bound.filter(|b| !given.is_empty() && *b == given) {
        Some(s) => store::take(&state.db, &s, which.code()).await?,
        None => None,
    };
    if let Some(error) = &q.error {
        let reason = match error.as_str() {
            "access_denied" => {
                "Vous avez annulé la connexion, ou refusé de transmettre vos informations."
                    .to_string()
            }
            _ => format!(
                "{} a refusé la connexion ({}).",
                which.name(),
                q.error_description.clone().unwrap_or_else(|| error.clone())
            ),
        };
        let mut event = visitor.event(None, &format!("connexion.{}.refus", which.code()));
        event.details = serde_json::json!({ "erreur": error }).to_string();
        guichet_store::journal::append(&state.db, &event).await?;
        return refusal(&state, &visitor, which, &reason, StatusCode::BAD_REQUEST).await;
    }
    let Some(pending) = pending else {
        let mut event = visitor.event(None, &format!("connexion.{}.refus", which.code()));
        event.details = serde_json::json!({ "motif": "state" }).to_string();
        guichet_store::journal::append(&state.db, &event).await?;
        return refusal(&state, &visitor, which, "Ce retour de connexion ne correspond à aucune connexion commencée dans ce navigateur, ou il a expiré.", StatusCode::BAD_REQUEST).await;
    };
    let Some(code) = q.code.clone().filter(|c| !c.is_empty()) else {
        return refusal(
            &state,
            &visitor,
            which,
            "Le service de connexion n'a pas transmis de code.",
            StatusCode::BAD_REQUEST,
        )
        .await;
    };
    let identity = match verify(&state, which, &p, &code, &pending.nonce).await {
        Ok(i) => i,
        Err(reason) => {
            tracing::warn!(provider = which.code(), reason = %reason, "OpenID Connect login refused");
            let mut event = visitor.event(None, &format!("connexion.{}.refus", which.code()));
            event.details = serde_json::json!({ "motif": reason }).to_string();
            guichet_store::journal::append(&state.db, &event).await?;
            return refusal(&state, &visitor, which, "La réponse du service de connexion n'a pas pu être vérifiée : par sécurité, elle est refusée.", StatusCode::BAD_REQUEST).await;
        }
    };
    // The usager consenting to a mandat on an aidant's screen: the identity goes to the mandat,
    // nobody is signed in or out.
    if let (Which::FranceConnect, Some(id), Some(aidant)) =
        (which, consent_request(&pending.return_to), pending.user_id)
    {
        let mut event = visitor.event(None, "connexion.franceconnect.consentement_mandat");
        event.details = serde_json::json!({ "demande": id }).to_string();
        guichet_store::journal::append(&state.db, &event).await?;
        return crate::mandat::consent_franceconnect(
            &state,
            &visitor,
            aidant,
            id,
            &identity.subject,
        )
        .await;
    }
    finish_login(&state, &mut visitor, which, pending, identity).await
}

/// The mandat request a FranceConnect sign-in was started for, if any.
fn consent_request(return_to: &str) -> Option<i64> {
    return_to
        .strip_prefix("/aidant/mandats/demandes/")
        .and_then(|id| id.parse().ok())
}

/// What a verified login gives.
struct Verified {
    subject: String,
    id_token: String,
    identity: Identity,
}

/// Exchanges the code and verifies everything the provider says; the reason when refused.
async fn verify(
    state: &AppState,
    which: Which,
    p: &OidcProvider,
    code: &str,
    nonce: &str,
) -> Result<Verified, String> {
    let (rp, _) = client(state, which, p)
        .await
        .map_err(|e| format!("{e:#}"))?;
    let http = http().map_err(|e| e.to_string())?;
    let http = Opening {
        http,
        keys: state.config.oidc_keys.clone(),
        encrypted: p.encrypted,
    };
    let tokens = rp
        .exchange_code(AuthorizationCode::new(code.to_string()))
        .map_err(|e| format!("configuration : {e}"))?
        .request_async(&http)
        .await
        .map_err(|e| format!("échange du code : {:#}", anyhow::Error::new(e)))?;
    let id_token = tokens
        .id_token()
        .ok_or_else(|| "pas de jeton d'identité".to_string())?;
    // Signature against the provider's keys, issuer, audience, expiry and nonce.
    let claims: &CoreIdTokenClaims = id_token
        .claims(&rp.id_token_verifier(), &Nonce::new(nonce.to_string()))
        .map_err(|e| format!("jeton d'identité : {e}"))?;
    let acr = claims.auth_context_ref().map(|a| a.as_str().to_string());
    if !acr_satisfies(&p.acr, acr.as_deref()) {
        return Err(format!(
            "niveau {} insuffisant (demandé : {})",
            acr.unwrap_or_default(),
            p.acr
        ));
    }
    let subject = claims.subject().clone();
    // The userinfo answer is a JWT signed by the provider, for the same subject.
    let info: UserInfoClaims<FcClaims, CoreGenderClaim> = rp
        .user_info(tokens.access_token().clone(), Some(subject.clone()))
        .map_err(|e| format!("configuration : {e}"))?
        .require_signed_response(which == Which::FranceConnect)
        .request_async(&http)
        .await
        .map_err(|e| format!("userinfo : {:#}", anyhow::Error::new(e)))?;
    let standard = info.standard_claims();
    let extra = info.additional_claims();
    let identity = Identity {
        given_name: standard
            .given_name()
            .and_then(|c| c.get(None))
            .map(|v| v.as_str().to_string())
            .unwrap_or_default(),
        family_name: standard
            .family_name()
            .and_then(|c| c.get(None))
            .map(|v| v.as_str().to_string())
            .unwrap_or_default(),
        preferred_username: standard
            .preferred_username()
            .map(|v| v.as_str().to_string()),
        birthdate: standard.birthdate().map(|v| v.as_str().to_string()),
        birthplace: extra.birthplace.clone(),
        birthcountry: extra.birthcountry.clone(),
        gender: standard.gender().map(|g| g.as_str().to_string()),
        email: standard.email().map(|e| e.as_str().to_string()),
    };
    Ok(Verified {
        subject: subject.as_str().to_string(),
        id_token: id_token.to_string(),
        identity,
    })
}

/// Why an answer of the provider was refused before the OpenID Connect checks.
#[derive(Debug)]
struct Unopened(String);

impl std::fmt::Display for Unopened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Unopened {}

/// The HTTP client of the token and userinfo requests, which opens encrypted answers.
struct Opening {
    http: openidconnect::reqwest::Client,
    keys: std::sync::Arc<super::oidc_keys::DecryptionKeys>,
    encrypted: bool,
}

impl<'c> openidconnect::AsyncHttpClient<'c> for Opening {
    type Error = Unopened;
    type Future = std::pin::Pin<
        Box<
            dyn std::future::Future<Output = Result<openidconnect::HttpResponse, Unopened>>
                + Send
                + 'c,
        >,
    >;

    fn call(&'c self, request: openidconnect::HttpRequest) -> Self::Future {
        Box::pin(opening(&self.http, &self.keys, self.encrypted, request))
    }
}

/// Sends a request to the provider and opens its answer: the ID token of the token response and
/// the userinfo JWT, when encrypted to Guichet (JWE), are replaced by the signed token they hold,
/// which the OpenID Connect checks then verify as any other. A provider set to encrypt
/// (`encrypted`) that answers in clear is refused: nobody in between downgrades it.
async fn opening(
    http: &openidconnect::reqwest::Client,
    keys: &super::oidc_keys::DecryptionKeys,
    encrypted: bool,
    request: openidconnect::HttpRequest,
) -> Result<openidconnect::HttpResponse, Unopened> {
    use openidconnect::AsyncHttpClient;
    let mut response = http
        .call(request)
        .await
        .map_err(|e| Unopened(e.to_string()))?;
    if !response.status().is_success() {
        return Ok(response);
    }
    let is_jwt = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/jwt"));
    let open = |token: &str| -> Result<Option<String>, Unopened> {
        if super::oidc_keys::is_encrypted(token) {
            keys.open(token).map(Some).map_err(Unopened)
        } else if encrypted {
            Err(Unopened(
                "réponse en clair d'un fournisseur qui chiffre".into(),
            ))
        } else {
            Ok(None)
        }
    };
    if is_jwt {
        let body = String::from_utf8_lossy(response.body()).trim().to_string();
        if let Some(inner) = open(&body)? {
            *response.body_mut() = inner.into_bytes();
        }
        return Ok(response);
    }
    // A token response carries the ID token in its JSON; a userinfo answer in plain JSON is
    // refused when the provider encrypts.
    let Ok(mut json) =
        serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(response.body())
    else {
        return Ok(response);
    };
    match json.get("id_token").and_then(|t| t.as_str()).map(&open) {
        Some(Ok(Some(inner))) => {
            json.insert("id_token".into(), serde_json::Value::String(inner));
            *response.body_mut() =
                serde_json::to_vec(&json).map_err(|e| Unopened(e.to_string()))?;
        }
        Some(Err(e)) => return Err(e),
        Some(Ok(None)) => {}
        None if encrypted && !json.contains_key("access_token") => {
            return Err(Unopened(
                "réponse en clair d'un fournisseur qui chiffre".into(),
            ))
        }
        None => {}
    }
    Ok(response)
}

/// Guichet's public encryption keys, for providers that encrypt to it (FranceConnect+).
pub async fn jwks(State(state): State<AppState>) -> Response {
    if state.config.oidc_keys.is_empty() {
        return crate::page::not_found(State(state)).await;
    }
    (
        [
            (header::CONTENT_TYPE, "application/jwk-set+json"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        state.config.oidc_keys.jwks().to_string(),
    )
        .into_response()
}

/// Links or finds the account, stores the certified values, opens the session.
async fn finish_login(
    state: &AppState,
    visitor: &mut Visitor,
    which: Which,
    pending: store::Pending,
    v: Verified,
) -> Result<Response, AppError> {
    let provider = which.code();
    let linked = store::user_of(&state.db, provider, &v.subject).await?;
    let email = v.identity.email.clone().unwrap_or_default();
    let account = match (linked, pending.user_id) {
        (Some(id), Some(current)) if id != current => {
            return refusal(
                state,
                visitor,
                which,
                "Cette identité est déjà reliée à un autre compte Guichet.",
                StatusCode::CONFLICT,
            )
            .await;
        }
        (Some(id), _) => store::Account::Linked(id),
        (None, Some(current)) => {
            let mut event = visitor.event(None, &format!("connexion.{provider}.liaison"));
            event.details = serde_json::json!({ "fournisseur": provider }).to_string();
            store::Account::Link(current, event)
        }
        (None, None) => match (which, compte::by_email(&state.db, &email).await?) {
            // An agent's identity: the agent account with that (verified) address.
            (Which::Agents, Some(u)) if u.kind == Kind::Agent => {
                let mut event = visitor.event(None, "connexion.agents.liaison");
                event.actor = u.email.clone();
                event.actor_id = Some(u.id);
                store::Account::Link(u.id, event)
            }
            (Which::Agents, _) => {
                return refusal(state, visitor, which, "Aucun compte d'agent ne correspond à cette adresse : demandez une invitation à l'administrateur de votre collectivité.", StatusCode::FORBIDDEN).await;
            }
            // An account already uses that address: its owner links FranceConnect from it,
            // after logging in (no account is taken over by an e-mail address).
            (Which::FranceConnect, Some(_)) => {
                return refusal(state, visitor, which, "Un compte Guichet utilise déjà l'adresse électronique de votre identité FranceConnect. Connectez-vous à ce compte avec votre mot de passe, puis reliez FranceConnect depuis la page « Mon compte ».", StatusCode::CONFLICT).await;
            }
            (Which::FranceConnect, None) => store::Account::Create {
                email: email.clone(),
                name: v.identity.display_name(),
                event: visitor.event(None, "compte.creation.franceconnect"),
            },
        },
    };
    let certified = (which == Which::FranceConnect).then(|| {
        let mut event = visitor.event(None, "profil.certification");
        event.object_type = Some("profil".into());
        event.actor = "FranceConnect".into();
        (v.identity.profile_values(), event)
    });
    // A new session, as at every login.
    let (user, token, _) = store::sign_in(
        &state.db,
        store::SignIn {
            provider: provider.to_string(),
            subject: v.subject.clone(),
            account,
            certified,
            old_session: visitor.session.as_ref().map(|s| s.id_hash.clone()),
            opening: crate::compte::opening(visitor, 0, false),
            id_token: v.id_token.clone(),
        },
        Trace::of(visitor.event(None, &format!("connexion.{provider}"))),
    )
    .await?;
    visitor.set_session(state, &token).await?;
    let target = if user.totp_enabled {
        format!(
            "/connexion/second-facteur?suite={}",
            crate::auth::urlencode(&pending.return_to)
        )
    } else if user.kind == Kind::Agent {
        "/compte/securite".to_string()
    } else {
        pending.return_to
    };
    let clear = format!("{COOKIE}=; Path=/connexion; HttpOnly; SameSite=Lax; Max-Age=0");
    let mut response = Redirect::to(&target).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        clear.parse().map_err(anyhow::Error::from)?,
    );
    Ok(visitor.finish(response))
}

/// Where to send the browser after the local logout, when the session came from a provider:
/// its end-session endpoint, with the ID token as hint, a state and the way back.
pub async fn logout_url(state: &AppState, session_hash: &str) -> anyhow::Result<Option<String>> {
    let Some((provider, id_token)) = store::session_token(&state.db, session_hash).await? else {
        return Ok(None);
    };
    let Some(which) = Which::from_path(&provider) else {
        return Ok(None);
    };
    let Some(p) = which.config(state).cloned() else {
        return Ok(None);
    };
    let (_, end_session) = client(state, which, &p).await?;
    let Some(end) = end_session else {
        return Ok(None);
    };
    let token: openidconnect::core::CoreIdToken =
        serde_json::from_value(serde_json::Value::String(id_token))?;
    let url = LogoutRequest::from(end)
        .set_id_token_hint(&token)
        .set_post_logout_redirect_uri(PostLogoutRedirectUrl::new(
            state.config.link("/deconnexion/fin"),
        )?)
        .set_state(CsrfToken::new_random())
        .http_get_url();
    Ok(Some(url.to_string()))
}

/// Back from the provider's logout.
pub async fn logged_out(
    State(state): State<AppState>,
    visitor: Visitor,
) -> Result<Response, AppError> {
    Ok(crate::page::message(
        &state,
        &visitor,
        "Vous êtes déconnecté",
        vec!["Vous êtes déconnecté de Guichet et du service de connexion. Pensez à fermer le navigateur sur un ordinateur partagé.".into()],
        Some(("/", "Revenir à l'accueil")),
    )
    .await?
    .into_response())
}
