//! Login throttling that an attacker cannot turn against the victim.
//!
//! Failures are counted per (account, network): after a few, each further attempt from that
//! network waits longer (30 s, 1 min, 2 min… up to 15 min), while the owner, signing in from
//! their own network, is not held back. A network that fails on many accounts waits as a whole
//! (that network only, never the platform). The client's network is the address the connection
//! comes from, or the one a trusted proxy forwards (see `client_address`).

use std::net::IpAddr;

/// Failures counted over this window, in milliseconds.
pub const WINDOW_MS: i64 = 15 * 60 * 1000;
/// Failures of one account from one network before delays start.
pub const FREE_FAILURES: usize = 4;
/// The first delay, doubled at each further failure.
pub const FIRST_DELAY_MS: i64 = 30 * 1000;
/// The longest delay.
pub const MAX_DELAY_MS: i64 = WINDOW_MS;
/// Failures from one network, any account, before that network waits for the window to pass.
pub const MAX_FAILURES_PER_NETWORK: usize = 30;
/// Failures of one account from one network at which its owner is alerted (once per window):
/// when the delays start.
pub const ALERT_AT: usize = FREE_FAILURES;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// Try again after this many seconds (rounded up).
    Wait {
        seconds: i64,
    },
}

impl Verdict {
    /// "30 secondes", "2 minutes": what the page says.
    pub fn wait_text(self) -> Option<String> {
        let Verdict::Wait { seconds } = self else {
            return None;
        };
        Some(if seconds < 60 {
            format!("{seconds} seconde{}", if seconds > 1 { "s" } else { "" })
        } else {
            let minutes = (seconds + 59) / 60;
            format!("{minutes} minute{}", if minutes > 1 { "s" } else { "" })
        })
    }
}

/// The delay after `n` failures of one account from one network.
pub fn delay_after(n: usize) -> i64 {
    if n < FREE_FAILURES {
        return 0;
    }
    let doublings = (n - FREE_FAILURES).min(16) as u32;
    (FIRST_DELAY_MS << doublings).min(MAX_DELAY_MS)
}

fn recent(failures: &[i64], now: i64) -> Vec<i64> {
    let mut r: Vec<i64> = failures
        .iter()
        .copied()
        .filter(|t| now - t < WINDOW_MS)
        .collect();
    r.sort_unstable();
    r
}

/// Decides from the failure times (ms) of this account from this network, and of the network
/// over all accounts, within the window.
pub fn verdict(pair_failures: &[i64], network_failures: &[i64], now: i64) -> Verdict {
    let pair = recent(pair_failures, now);
    let pair_until = pair.last().map(|last| last + delay_after(pair.len()));
    let network = recent(network_failures, now);
    let network_until = (network.len() >= MAX_FAILURES_PER_NETWORK)
        .then(|| network[network.len() - MAX_FAILURES_PER_NETWORK] + WINDOW_MS);
    match [pair_until, network_until].into_iter().flatten().max() {
        Some(t) if t > now => Verdict::Wait {
            seconds: ((t - now) + 999) / 1000,
        },
        _ => Verdict::Allowed,
    }
}

/// The network a client belongs to for throttling: its IPv4 address, or the /64 of its IPv6
/// address (one subscriber's link).
pub fn network_of(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// A network (an address, or an address with a prefix length) whose forwarded headers are
/// believed: the platform's own reverse proxies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrustedProxy {
    base: IpAddr,
    prefix: u8,
}

impl std::str::FromStr for TrustedProxy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s.trim(), None),
        };
        let base: IpAddr = addr
            .parse()
            .map_err(|_| format!("« {s} » n'est pas une adresse IP"))?;
        let max = if base.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("« {s} » : longueur de préfixe invalide"))?,
            None => max,
        };
        Ok(TrustedProxy { base, prefix })
    }
}

impl TrustedProxy {
    pub fn contains(&self, ip: IpAddr) -> bool {
        fn bits(ip: IpAddr) -> (u128, u8) {
            match ip {
                IpAddr::V4(v4) => (u32::from(v4) as u128, 32),
                IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                    Some(v4) => (u32::from(v4) as u128, 32),
                    None => (u128::from(v6), 128),
                },
            }
        }
        let (base, width) = bits(self.base);
        let (addr, addr_width) = bits(ip);
        if width != addr_width {
            return false;
        }
        let shift = u32::from(width - self.prefix);
        shift >= 128 || (base >> shift) == (addr >> shift)
    }
}

/// The client's address: the connection's peer, unless the peer is a trusted proxy, in which
/// case `X-Forwarded-For` is read from the right, skipping trusted proxies, and the first address
/// that is not one is the client (addresses further left were written by the client itself and
/// are never believed).
pub fn client_address(peer: IpAddr, forwarded_for: &[&str], trusted: &[TrustedProxy]) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|t| t.contains(ip));
    if !is_trusted(peer) {
        return peer;
    }
    let hops: Vec<&str> = forwarded_for
        .iter()
        .flat_map(|h| h.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        let Ok(ip) = hop.parse::<IpAddr>() else {
            // An unreadable hop: what is left of it cannot be trusted.
            break;
        };
        client = ip;
        if !is_trusted(ip) {
            break;
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_after_a_few_failures_and_stop_at_the_window() {
        let now = 100 * 60_000;
        let failures = |n: i64| -> Vec<i64> { (0..n).map(|i| now - 1000 - i).collect() };
        assert_eq!(verdict(&failures(3), &[], now), Verdict::Allowed);
        assert_eq!(
            verdict(&failures(4), &[], now),
            Verdict::Wait { seconds: 29 }
        );
        assert_eq!(
            verdict(&failures(5), &[], now),
            Verdict::Wait { seconds: 59 }
        );
        assert_eq!(delay_after(30), MAX_DELAY_MS);
        let old: Vec<i64> = (0..10).map(|i| now - WINDOW_MS - i).collect();
        assert_eq!(
            verdict(&old, &[], now),
            Verdict::Allowed,
            "old failures expire"
        );
        assert_eq!(
            Verdict::Wait { seconds: 90 }.wait_text().as_deref(),
            Some("2 minutes")
        );
    }

    #[test]
    fn a_network_trying_many_accounts_waits() {
        let now = 10_000_000;
        let network: Vec<i64> = (0..30).map(|i| now - i * 1000).collect();
        assert!(matches!(verdict(&[], &network, now), Verdict::Wait { .. }));
    }

    #[test]
    fn forwarded_addresses_are_believed_only_from_trusted_proxies() {
        let trusted: Vec<TrustedProxy> = vec!["10.0.0.0/8".parse().unwrap()];
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        // A client connecting directly cannot choose its address.
        assert_eq!(
            client_address(ip("198.51.100.9"), &["203.0.113.1"], &trusted),
            ip("198.51.100.9")
        );
        // Behind the proxy: the rightmost untrusted hop, not what the client prepended.
        assert_eq!(
            client_address(
                ip("10.0.0.2"),
                &["1.2.3.4, 198.51.100.9", "10.0.0.3"],
                &trusted
            ),
            ip("198.51.100.9")
        );
        assert_eq!(
            client_address(ip("10.0.0.2"), &[], &trusted),
            ip("10.0.0.2")
        );
        assert!("10.0.0.0/33".parse::<TrustedProxy>().is_err());
        assert!("::1".parse::<TrustedProxy>().unwrap().contains(ip("::1")));
        assert_eq!(network_of(ip("2001:db8:1:2:3:4:5:6")), "2001:db8:1:2::/64");
    }
}
