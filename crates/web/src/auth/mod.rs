//! Who is asking, and may they: the one authorization layer every route goes through.
//!
//! Every route is declared in `crate::routes` with an [`Access`] rule; there is no other way to add
//! a route, so none can be forgotten (deny by default). The layer resolves the visitor from the
//! session cookie or the API token, checks the anti-CSRF token of every form, and checks the rule,
//! including the collectivité named in the path.

pub mod csrf;
pub mod jeton;
pub mod mandat;
pub mod visitor;

use crate::error::{render, ErrorPage};
use crate::layout::Layout;
use crate::AppState;
use axum::extract::{FromRequestParts, RawPathParams, Request};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use guichet_domain::role::{allowed, Permission, Role};
use guichet_store::collectivite::Collectivite;
pub use visitor::Visitor;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone.
    Public,
    /// A session whose password step is done, second factor pending or not (the second-factor page).
    PasswordDone,
    /// Signed in; if the account has a second factor, it was given.
    SignedIn,
    /// The pages of one dossier: signed in as for `SignedIn`, or a browser that followed the
    /// link of a dossier filed without an account (the handler checks it is this dossier).
    DossierOwner,
    /// Back office of the collectivité named by the `{collectivite}` path segment, with this permission.
    /// Needs the second factor.
    Collectivite(Permission),
    /// The platform operator (an `operateur` of the operating région), with the second factor.
    Operator,
    /// An aidant of a help structure, with the second factor, not acting for anyone.
    Aidant,
    /// An elected member (an assembly's member under this account's confirmed e-mail), with the
    /// second factor, not acting for anyone.
    Elu,
    /// An API token with this scope (`*` for any); a `{collectivite}` in the path must be the token's.
    Api(&'static str),
    /// Only when the server runs as `guichet demo`; 404 otherwise.
    Demo,
    /// A client of a standard protocol that carries its own key in the request (Open311's
    /// `api_key`): no session and no anti-CSRF token; the handler checks the key and scope.
    ApiKeyInRequest,
}

/// The collectivité a back-office route works on, resolved and checked by the layer.
#[derive(Clone)]
pub struct CollectiviteContext {
    pub collectivite: Collectivite,
    pub roles: Vec<Role>,
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

pub async fn authorize(access: Access, req: Request, next: Next) -> Response {
    let Some(state) = req.extensions().get::<AppState>().cloned() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let (mut parts, body) = req.into_parts();
    let collectivite_slug = RawPathParams::from_request_parts(&mut parts, &state)
        .await
        .ok()
        .and_then(|p| {
            p.iter()
                .find(|(k, _)| *k == "collectivite")
                .map(|(_, v)| v.to_string())
        });

    if access == Access::ApiKeyInRequest {
        return next.run(Request::from_parts(parts, body)).await;
    }
    if let Access::Api(scope) = access {
        return jeton::authorize(
            state,
            scope,
            collectivite_slug,
            Request::from_parts(parts, body),
            next,
        )
        .await;
    }
    if access == Access::Demo && !state.config.demo {
        return crate::page::not_found(axum::extract::State(state)).await;
    }

    let visitor = match Visitor::resolve(&state, &parts).await {
        Ok(v) => v,
        Err(e) => return crate::error::AppError::from(e).into_response(),
    };

    // Anti-CSRF: every state-changing form carries the token bound to this browser.
    let mut req = Request::from_parts(parts, body);
    if !is_safe(req.method()) {
        match csrf::check(&state, &visitor, req).await {
            Ok(checked) => req = checked,
            Err(csrf::Refusal::Expired) => return form_expired(),
            Err(csrf::Refusal::TooLarge) => {
                return (StatusCode::PAYLOAD_TOO_LARGE, "formulaire trop volumineux")
                    .into_response()
            }
        }
    }

    let path = req.uri().path().to_string();
    let back = return_path(req.method(), req.uri(), req.headers());
    let decision = decide(
        &state,
        access,
        &visitor,
        collectivite_slug.as_deref(),
        &back,
    )
    .await;
    let collectivite_context = match decision {
        Ok(ctx) => ctx,
        Err(response) => return visitor.finish(response),
    };
    // An aidant acting for a usager: only the usager's pages, within the mandat.
    if let Err(response) = mandat::check_acting(&state, &visitor, req.method(), &path).await {
        return visitor.finish(response);
    }
    if let Some(ctx) = collectivite_context {
        req.extensions_mut().insert(ctx);
    }
    req.extensions_mut().insert(visitor.clone());
    let response = next.run(req).await;
    visitor.finish(response)
}

type Decision = Result<Option<CollectiviteContext>, Response>;

/// Where to take the visitor back after signing in: the page itself for a GET; for a form (a POST
/// that cannot be replayed by a redirect), the page the form was on, so that the action is offered
/// again rather than replayed blindly or answered with 405.
fn return_path(method: &Method, uri: &axum::http::Uri, headers: &axum::http::HeaderMap) -> String {
    if is_safe(method) {
        return uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into());
    }
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    headers
        .get(header::REFERER)
        .and_then(|r| r.to_str().ok())
        .and_then(|r| r.parse::<axum::http::Uri>().ok())
        .filter(|r| r.authority().map(|a| a.as_str()) == host)
        .and_then(|r| safe_next(r.path_and_query().map(|p| p.as_str())))
        .unwrap_or_else(|| "/".into())
}

async fn decide(
    state: &AppState,
    access: Access,
    visitor: &Visitor,
    collectivite_slug: Option<&str>,
    back: &str,
) -> Decision {
    let path = back;
    let to_login = || -> Response {
        let target = format!("/connexion?suite={}", urlencode(back));
        Redirect::to(&target).into_response()
    };
    match access {
        Access::Public | Access::Demo => Ok(None),
        // Handled before: these never reach the session checks.
        Access::Api(_) | Access::ApiKeyInRequest => {
            Err(StatusCode::INTERNAL_SERVER_ERROR.into_response())
        }
        Access::PasswordDone => match visitor.user {
            Some(_) => Ok(None),
            None => Err(to_login()),
        },
        Access::DossierOwner if visitor.user.is_none() && visitor.guest.is_some() => Ok(None),
        Access::SignedIn | Access::DossierOwner => {
            let Some(user) = &visitor.user else {
                return Err(to_login());
            };
            if user.totp_enabled && !visitor.mfa_done() {
                return Err(Redirect::to("/connexion/second-facteur").into_response());
            }
            Ok(None)
        }
        Access::Aidant | Access::Elu => {
            let Some(user) = &visitor.user else {
                return Err(to_login());
            };
            let member = visitor.acting.is_none()
                && if access == Access::Aidant {
                    guichet_store::mandat::memberships(&state.db, user.id)
                        .await
                        .is_ok_and(|m| !m.is_empty())
                } else {
                    user.email_confirmed
                        && guichet_store::conseil::mandats_of(&state.db, &user.email)
                            .await
                            .is_ok_and(|m| !m.is_empty())
                };
            if !member {
                return Err(forbidden(state, visitor).await);
            }
            if !user.totp_enabled {
                return Err(Redirect::to("/compte/securite").into_response());
            }
            if !visitor.mfa_done() {
                return Err(Redirect::to("/connexion/second-facteur").into_response());
            }
            Ok(None)
        }
        Access::Collectivite(_) | Access::Operator => {
            let Some(user) = &visitor.user else {
                return Err(to_login());
            };
            // Rights first: someone without a role here is refused, whatever their second factor.
            let context = if access == Access::Operator {
                let operator = guichet_store::collectivite::operator(&state.db)
                    .await
                    .ok()
                    .flatten();
                if !operator.is_some_and(|op| visitor.roles_in(op.id).contains(&Role::Operateur)) {
                    return Err(forbidden(state, visitor).await);
                }
                None
            } else {
                let Access::Collectivite(permission) = access else {
                    return Err(forbidden(state, visitor).await);
                };
                let Some(slug) = collectivite_slug else {
                    return Err(forbidden(state, visitor).await);
                };
                let collectivite = match guichet_store::collectivite::by_slug(&state.db, slug).await
                {
                    Ok(Some(t)) => t,
                    Ok(None) => {
                        return Err(
                            crate::page::not_found(axum::extract::State(state.clone())).await
                        )
                    }
                    Err(e) => return Err(crate::error::AppError::from(e).into_response()),
                };
                let roles = visitor.roles_in(collectivite.id);
                if !allowed(&roles, permission) {
                    return Err(forbidden(state, visitor).await);
                }
                Some(CollectiviteContext {
                    collectivite,
                    roles,
                })
            };
            // Then the second factor: enrolled, and given in this session.
            if !user.totp_enabled {
                return Err(Redirect::to("/compte/securite").into_response());
            }
            if !visitor.mfa_done() {
                let target = format!("/connexion/second-facteur?suite={}", urlencode(path));
                return Err(Redirect::to(&target).into_response());
            }
            Ok(context)
        }
    }
}

pub async fn forbidden(state: &AppState, visitor: &Visitor) -> Response {
    render(
        &ErrorPage {
            layout: Layout::for_visitor(state, visitor).await,
            heading: "Accès refusé",
            message: "Votre compte ne donne pas accès à cette page. Si vous pensez que c'est une erreur, adressez-vous à l'administrateur de votre collectivité.",
            reference: None,
        },
        StatusCode::FORBIDDEN,
    )
}

/// Percent-encodes a path for a query parameter.
pub fn urlencode(s: &str) -> String {
    serde_urlencoded::to_string([("", s)])
        .map(|e| e[1..].to_string())
        .unwrap_or_default()
}

/// Where to go after login: only local paths, never another site.
pub fn safe_next(next: Option<&str>) -> Option<String> {
    next.filter(|n| n.starts_with('/') && !n.starts_with("//") && !n.contains('\\'))
        .map(str::to_string)
}

/// A form whose anti-CSRF token does not hold.
fn form_expired() -> Response {
    render(
        &ErrorPage {
            layout: Layout::bare(),
            heading: "Formulaire expiré",
            message: "Ce formulaire n'est plus valide (page trop ancienne, ou envoyée depuis un autre site). Revenez à la page précédente, rechargez-la et envoyez-la de nouveau : ce que vous aviez enregistré n'est pas perdu.",
            reference: None,
        },
        StatusCode::FORBIDDEN,
    )
}

impl<S: Send + Sync> FromRequestParts<S> for CollectiviteContext {
    type Rejection = StatusCode;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<CollectiviteContext>()
            .cloned()
            .ok_or(StatusCode::FORBIDDEN)
    }
}
