//! Anti-CSRF tokens: a random seed in a SameSite=Strict, HttpOnly cookie, and in every form the
//! HMAC-SHA256, under a platform secret, of that seed and of the session the page was made for.
//! A forged request from another site has neither; a token outlives neither its browser nor its
//! session.

use super::visitor::Visitor;
use crate::AppState;
use axum::body::Body;
use axum::extract::Request;
use axum::http::header;
use hmac::{Hmac, Mac};

pub const FIELD: &str = "_csrf";
/// Forms are small; file uploads use multipart with the token in the query string.
const MAX_FORM_BYTES: usize = 1024 * 1024;

async fn mac_for(
    state: &AppState,
    seed: &str,
    binding: &str,
) -> anyhow::Result<Hmac<sha2::Sha256>> {
    let key = state
        .csrf_key
        .get_or_try_init(|| guichet_store::secret::platform_secret(&state.db, "csrf"))
        .await?;
    let mut mac =
        Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).map_err(|e| anyhow::anyhow!("{e}"))?;
    // Length-prefixed, so that no (seed, binding) pair reads as another.
    mac.update(&(seed.len() as u64).to_be_bytes());
    mac.update(seed.as_bytes());
    mac.update(binding.as_bytes());
    Ok(mac)
}

/// The token of the forms shown to this visitor.
pub async fn token_for(state: &AppState, visitor: &Visitor) -> anyhow::Result<String> {
    token_bound(state, &visitor.csrf_seed, visitor.csrf_binding()).await
}

/// The token for a seed and a session binding (the session's hash, or empty for none).
pub async fn token_bound(state: &AppState, seed: &str, binding: &str) -> anyhow::Result<String> {
    Ok(hex::encode(
        mac_for(state, seed, binding).await?.finalize().into_bytes(),
    ))
}

/// Why a state-changing request was refused.
pub enum Refusal {
    /// No token, or not this browser's and session's: the form expired or came from elsewhere.
    Expired,
    /// A form body over `MAX_FORM_BYTES`.
    TooLarge,
}

/// Checks the token of a state-changing request and gives the request back, body intact.
pub async fn check(state: &AppState, visitor: &Visitor, req: Request) -> Result<Request, Refusal> {
    // No seed from the browser: a form cannot carry a token for one made just now.
    if visitor.csrf_seed_new {
        return Err(Refusal::Expired);
    }
    let seed = visitor.csrf_seed.clone();
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let from_query = req
        .uri()
        .query()
        .and_then(|q| serde_urlencoded::from_str::<Vec<(String, String)>>(q).ok())
        .and_then(|pairs| pairs.into_iter().find(|(k, _)| k == FIELD).map(|(_, v)| v));
    let (given, req) = if content_type.starts_with("application/x-www-form-urlencoded") {
        let (parts, body) = req.into_parts();
        let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
            .await
            .map_err(|_| Refusal::TooLarge)?;
        let given = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
            .ok()
            .and_then(|pairs| pairs.into_iter().find(|(k, _)| k == FIELD).map(|(_, v)| v));
        (given, Request::from_parts(parts, Body::from(bytes)))
    } else {
        (from_query, req)
    };
    let Some(given) = given.and_then(|g| hex::decode(g).ok()) else {
        return Err(Refusal::Expired);
    };
    let mac = mac_for(state, &seed, visitor.csrf_binding())
        .await
        .map_err(|_| Refusal::Expired)?;
    // verify_slice compares in constant time.
    match mac.verify_slice(&given) {
        Ok(()) => Ok(req),
        Err(_) => Err(Refusal::Expired),
    }
}
