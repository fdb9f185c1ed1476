//! Outgoing requests (webhooks, and any future one): they never reach the platform's own
//! network. Names are resolved by a resolver that drops every non-public address
//! (`guichet_domain::net::is_public`), literal addresses are checked the same way, and redirects
//! are not followed; a host the operator allow-lists (`outgoing_allowed_hosts`) is exempt.

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// Resolves names to their public addresses only.
struct PublicOnly {
    allowed: Arc<Vec<String>>,
}

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let allowed = self.allowed.clone();
        Box::pin(async move {
            let host = name.as_str().to_string();
            let exempt = allowed.iter().any(|a| a.eq_ignore_ascii_case(&host));
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| exempt || guichet_domain::net::is_public(a.ip()))
                .collect();
            if found.is_empty() {
                return Err(format!("{host} : aucune adresse publique").into());
            }
            Ok(Box::new(found.into_iter()) as Addrs)
        })
    }
}

/// A client for outgoing requests: public addresses only, no redirect followed, 10 s at most.
pub fn client(allowed: &[String]) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .dns_resolver(Arc::new(PublicOnly {
            allowed: Arc::new(allowed.to_vec()),
        }))
        .user_agent("Guichet/1")
        .build()
        .unwrap_or_default()
}

/// Whether the platform may send a request to this URL: a literal address must be public (the
/// resolver sees only names), unless allow-listed.
pub fn allowed_target(url: &str, allowed: &[String]) -> bool {
    let Ok(parsed) = reqwest::Url::parse(url) else {
        return false;
    };
    let Some(host) = parsed.host_str() else {
        return false;
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if allowed.iter().any(|a| a.eq_ignore_ascii_case(bare)) {
        return true;
    }
    match bare.parse::<IpAddr>() {
        Ok(ip) => guichet_domain::net::is_public(ip),
        // A name: checked address by address when it is resolved.
        Err(_) => true,
    }
}
