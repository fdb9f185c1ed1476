//! The visitor of a request: anonymous, or a signed-in account with its session and roles.

use crate::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderValue};
use axum::response::Response;
use guichet_domain::role::Role;
use guichet_store::compte::User;
use guichet_store::session::Session;

pub const SESSION_COOKIE: &str = "guichet_session";
pub const CSRF_COOKIE: &str = "guichet_csrf";
/// The token of a dossier filed without an account, set when its link is followed.
pub const GUEST_COOKIE: &str = "guichet_dossier";

/// A cookie's name: over https, with the `__Host-` prefix, which browsers honour only for a
/// Secure cookie of the whole site set by the site itself (a sibling sub-domain cannot plant it).
pub fn cookie_name(base: &str, secure: bool) -> String {
    if secure {
        format!("__Host-{base}")
    } else {
        base.to_string()
    }
}

#[derive(Clone, Default)]
pub struct Visitor {
    pub user: Option<User>,
    pub session: Option<Session>,
    pub roles: Vec<(i64, Role)>,
    /// The anti-CSRF token to put in this page's forms.
    pub csrf_token: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// Cookies to set on the response (new CSRF seed, new or cleared session).
    pub set_cookies: Vec<String>,
    /// An aidant acting for the usager (`user`) under a mandat that is in force.
    pub acting: Option<Acting>,
    secure: bool,
    /// The anti-CSRF seed of this browser (its cookie).
    pub csrf_seed: String,
    /// The browser sent no seed: one was made for this response, so no form can match it yet.
    pub csrf_seed_new: bool,
    /// Hash of the token of the dossier this browser files without an account, if any.
    pub guest: Option<String>,
}

/// An aidant acting for a usager: `Visitor::user` is the usager, this is who really acts.
#[derive(Clone)]
pub struct Acting {
    pub aidant: User,
    pub mandat: guichet_store::mandat::Mandat,
}

pub fn cookie_value<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

impl Visitor {
    pub async fn resolve(state: &AppState, parts: &Parts) -> anyhow::Result<Self> {
        let secure = state.config.is_tls();
        let mut visitor = Visitor {
            ip: client_ip(parts, &state.config.trusted_proxies),
            user_agent: user_agent(&parts.headers),
            secure,
            ..Visitor::default()
        };
        let now = guichet_store::now_ms();
        if let Some(token) = cookie_value(&parts.headers, &cookie_name(SESSION_COOKIE, secure)) {
            match guichet_store::session::find(&state.db, token, now).await? {
                Some(signed_in) => {
                    let session = signed_in.session;
                    visitor.user = Some(signed_in.user);
                    visitor.roles = signed_in.roles;
                    if let Some(mid) = session.acting_mandat_id {
                        visitor.act_under(state, &session, mid, now).await?;
                    }
                    visitor.session = Some(session);
                }
                None => visitor
                    .set_cookies
                    .push(visitor.clear_cookie(SESSION_COOKIE)),
            }
        }
        visitor.guest = cookie_value(&parts.headers, &cookie_name(GUEST_COOKIE, secure))
            .filter(|t| t.len() >= 32 && t.len() <= 128)
            .map(guichet_store::secret::hash_token);
        let seed = match cookie_value(&parts.headers, &cookie_name(CSRF_COOKIE, secure))
            .filter(|s| s.len() >= 32)
        {
            Some(seed) => seed.to_string(),
            None => {
                visitor.csrf_seed_new = true;
                let seed = guichet_store::session::new_csrf_seed();
                visitor
                    .set_cookies
                    .push(visitor.cookie(CSRF_COOKIE, &seed, "Strict"));
                seed
            }
        };
        visitor.csrf_seed = seed;
        visitor.csrf_token = super::csrf::token_for(state, &visitor).await?;
        Ok(visitor)
    }

    /// What the anti-CSRF token is bound to besides the browser's seed: the session, so that a
    /// token is worthless once its session ends (and a planted seed gives no token for another).
    pub fn csrf_binding(&self) -> &str {
        self.session
            .as_ref()
            .map(|s| s.id_hash.as_str())
            .unwrap_or("")
    }

    /// Switches to the usager of a mandat still in force (checked at every request: an expiry
    /// or a revocation takes effect at once); otherwise the session stops acting.
    async fn act_under(
        &mut self,
        state: &AppState,
        session: &guichet_store::session::Session,
        mandat_id: i64,
        now: i64,
    ) -> anyhow::Result<()> {
        use guichet_domain::mandat::Status;
        let mandat = guichet_store::mandat::by_id(&state.db, mandat_id)
            .await?
            .filter(|m| m.aidant_user_id == session.user_id && m.status(now) == Status::Active);
        let usager = match &mandat {
            Some(m) => guichet_store::compte::by_id(&state.db, m.usager_user_id).await?,
            None => None,
        };
        match (mandat, usager, self.user.clone()) {
            (Some(mandat), Some(usager), Some(aidant)) => {
                self.user = Some(usager);
                // Acting for a usager gives none of the aidant's own roles.
                self.roles = Vec::new();
                self.acting = Some(Acting { aidant, mandat });
            }
            // The mandat ended or was revoked: the session stops acting (not an action of
            // anyone's, so no journal entry).
            _ => {
                guichet_store::mandat::set_acting(
                    &state.db,
                    &session.id_hash,
                    None,
                    Default::default(),
                )
                .await?
            }
        }
        Ok(())
    }

    /// The signed-in account. A handler reached without one (the authorization layer lets no
    /// such request through to the pages that need it) answers by sending to sign-in.
    pub fn signed_in(&self) -> Result<&User, SignInRequired> {
        self.user.as_ref().ok_or(SignInRequired)
    }

    /// The visitor's session, with the same rule.
    pub fn current_session(&self) -> Result<&Session, SignInRequired> {
        self.session.as_ref().ok_or(SignInRequired)
    }

    pub fn mfa_done(&self) -> bool {
        self.session.as_ref().is_some_and(|s| s.mfa_done)
    }

    pub fn roles_in(&self, tenant_id: i64) -> Vec<Role> {
        self.roles
            .iter()
            .filter(|(t, _)| *t == tenant_id)
            .map(|(_, r)| *r)
            .collect()
    }

    pub fn is_agent(&self) -> bool {
        !self.roles.is_empty()
    }

    fn cookie(&self, base: &str, value: &str, same_site: &str) -> String {
        let name = cookie_name(base, self.secure);
        let secure = if self.secure { "; Secure" } else { "" };
        format!("{name}={value}; Path=/; HttpOnly; SameSite={same_site}{secure}")
    }

    fn clear_cookie(&self, base: &str) -> String {
        let name = cookie_name(base, self.secure);
        let secure = if self.secure { "; Secure" } else { "" };
        format!("{name}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}")
    }

    /// Opens a dossier filed without an account in this browser, for 30 days.
    pub fn set_guest(&mut self, token: &str) {
        let cookie = format!(
            "{}; Max-Age=2592000",
            self.cookie(GUEST_COOKIE, token, "Lax")
        );
        self.set_cookies.push(cookie);
    }

    /// Sets the cookie of a new session (no Max-Age: it ends with the browser or the timeouts),
    /// and the anti-CSRF token of the forms on this response, bound to that session.
    pub async fn set_session(&mut self, state: &AppState, token: &str) -> anyhow::Result<()> {
        let cookie = self.cookie(SESSION_COOKIE, token, "Lax");
        self.set_cookies.push(cookie);
        let binding = guichet_store::secret::hash_token(token);
        self.csrf_token = super::csrf::token_bound(state, &self.csrf_seed, &binding).await?;
        Ok(())
    }

    /// Ends the session in the browser; the forms on this response get a token for no session.
    pub async fn clear_session(&mut self, state: &AppState) -> anyhow::Result<()> {
        let cookie = self.clear_cookie(SESSION_COOKIE);
        self.set_cookies.push(cookie);
        self.session = None;
        self.csrf_token = super::csrf::token_bound(state, &self.csrf_seed, "").await?;
        Ok(())
    }

    /// Adds the pending cookies to a response.
    pub fn finish(&self, mut response: Response) -> Response {
        for c in &self.set_cookies {
            if let Ok(v) = HeaderValue::from_str(c) {
                response.headers_mut().append(header::SET_COOKIE, v);
            }
        }
        response
    }

    /// An audit event attributed to this visitor, about one object (a dossier, a démarche, …).
    pub fn event_on(
        &self,
        tenant_id: Option<i64>,
        action: &str,
        object_type: &str,
        object_id: impl ToString,
    ) -> guichet_domain::journal::Event {
        let mut event = self.event(tenant_id, action);
        event.object_type = Some(object_type.to_string());
        event.object_id = Some(object_id.to_string());
        event
    }

    /// An audit event attributed to this visitor.
    /// An aidant's actions are theirs, on behalf of the usager.
    pub fn event(&self, tenant_id: Option<i64>, action: &str) -> guichet_domain::journal::Event {
        let (actor, on_behalf_of) = match &self.acting {
            Some(a) => (Some(&a.aidant), self.user.as_ref().map(|u| u.email.clone())),
            None => (self.user.as_ref(), None),
        };
        guichet_domain::journal::Event {
            tenant_id,
            actor_id: actor.map(|u| u.id),
            actor: actor
                .map(|u| u.email.clone())
                .unwrap_or_else(|| "anonyme".into()),
            on_behalf_of,
            action: action.to_string(),
            object_type: None,
            object_id: None,
            ip: self.ip.clone(),
            details: "{}".into(),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Visitor {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<Visitor>()
            .cloned()
            .unwrap_or_default())
    }
}

/// The client's address: the connection's peer, or, when the peer is one of the configured
/// trusted proxies, the address they forward (`domain::throttle::client_address`).
pub fn client_ip(
    parts: &axum::http::request::Parts,
    trusted: &[guichet_domain::throttle::TrustedProxy],
) -> Option<String> {
    let peer = parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()?
        .0
        .ip();
    let forwarded: Vec<&str> = parts
        .headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    Some(guichet_domain::throttle::client_address(peer, &forwarded, trusted).to_string())
}

pub fn user_agent(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// A page needs a signed-in visitor and has none: pages send to sign-in (`AppError`), the API
/// answers 401 (its own check, `auth::jeton`).
#[derive(Debug, Clone, Copy)]
pub struct SignInRequired;

impl std::fmt::Display for SignInRequired {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connexion requise")
    }
}

impl std::error::Error for SignInRequired {}
