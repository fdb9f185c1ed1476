//! Delivery of signed webhook events (queued by the store with each state change).
//!
//! Each POST carries the JSON event and two headers: `X-Guichet-Timestamp` (Unix seconds) and
//! `X-Guichet-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" keyed by the secret>`,
//! so that the receiver can check both origin and freshness (docs/WEBHOOKS.md).

use crate::AppState;
use guichet_store::webhook;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The signature header's value for a body sent at `timestamp`.
pub fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC accepts any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Whether a URL may receive webhooks: https, or http when Guichet itself runs without TLS
/// (development, tests); never credentials in the URL.
pub fn acceptable_url(url: &str, tls: bool) -> Result<(), &'static str> {
    let rest = if let Some(r) = url.strip_prefix("https://") {
        r
    } else if let Some(r) = url.strip_prefix("http://") {
        if tls {
            return Err("L'adresse doit commencer par https://.");
        }
        r
    } else {
        return Err("L'adresse doit commencer par https://.");
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty()
        || host.contains('@')
        || url.len() > 500
        || url.chars().any(char::is_whitespace)
    {
        return Err("Adresse invalide : indiquez une adresse web complète, sans identifiants.");
    }
    Ok(())
}

/// Delivers every due event once; failures are retried later with backoff. `now` is injected so
/// that tests can move time. Returns (delivered, failed) counts.
pub async fn deliver_due(state: &AppState, now: i64) -> anyhow::Result<(usize, usize)> {
    let allowed = &state.config.outgoing_allowed_hosts;
    let http = crate::outgoing::client(allowed);
    let (mut ok, mut failed) = (0, 0);
    while let Some(d) = webhook::claim(&state.db, now).await? {
        let Some(settings) = webhook::settings(&state.db, d.tenant_id, d.demarche_id).await? else {
            // The webhook was removed meanwhile: nothing to send to.
            webhook::mark_failed(&state.db, &d, "webhook supprimé", now).await?;
            failed += 1;
            continue;
        };
        // Only "delivered" or "failed" is recorded where agents see it: the details (a status,
        // refused or timed out) would make the démarche page a scanner of other networks.
        if !crate::outgoing::allowed_target(&d.url, allowed) {
            tracing::warn!(delivery = d.id, "webhook to a non-public address refused");
            webhook::mark_failed(&state.db, &d, FAILED, now).await?;
            failed += 1;
            continue;
        }
        let timestamp = now / 1000;
        let result = http
            .post(&d.url)
            .header("Content-Type", "application/json")
            .header("X-Guichet-Timestamp", timestamp.to_string())
            .header(
                "X-Guichet-Signature",
                signature(&settings.secret, timestamp, &d.body),
            )
            .header("X-Guichet-Delivery", d.id.to_string())
            .body(d.body.clone())
            .send()
            .await;
        match result {
            Ok(r) if r.status().is_success() => {
                webhook::mark_delivered(&state.db, d.id, now).await?;
                ok += 1;
            }
            Ok(r) => {
                tracing::warn!(
                    delivery = d.id,
                    status = r.status().as_u16(),
                    "webhook refused by its receiver"
                );
                webhook::mark_failed(&state.db, &d, FAILED, now).await?;
                failed += 1;
            }
            Err(e) => {
                // The URL is not logged: it may carry a partner's token in its path.
                tracing::warn!(
                    delivery = d.id,
                    error = error_text(&e),
                    "webhook delivery failed"
                );
                webhook::mark_failed(&state.db, &d, FAILED, now).await?;
                failed += 1;
            }
        }
    }
    Ok((ok, failed))
}

/// What the démarche page says of a failed delivery, whatever the cause.
const FAILED: &str = "échec de la remise";

fn error_text(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "délai dépassé (10 s)".into()
    } else if e.is_connect() {
        "connexion impossible".into()
    } else {
        "erreur de transport".into()
    }
}
