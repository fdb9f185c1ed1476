//! Login throttling: too many failures for an account or from an address lock it for a while.

/// Failures counted over this window, in milliseconds.
pub const WINDOW_MS: i64 = 15 * 60 * 1000;
pub const MAX_FAILURES_PER_ACCOUNT: usize = 5;
pub const MAX_FAILURES_PER_IP: usize = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// Try again after this many minutes (rounded up).
    Locked {
        minutes: i64,
    },
}

/// Decides from the failure times (ms) of the account and of the IP address within the window.
pub fn verdict(account_failures: &[i64], ip_failures: &[i64], now: i64) -> Verdict {
    let locked_until = |failures: &[i64], max: usize| -> Option<i64> {
        let mut recent: Vec<i64> = failures
            .iter()
            .copied()
            .filter(|t| now - t < WINDOW_MS)
            .collect();
        if recent.len() < max {
            return None;
        }
        recent.sort_unstable();
        // Unlocks when the oldest failure that keeps the count at the limit leaves the window.
        Some(recent[recent.len() - max] + WINDOW_MS)
    };
    let until = [
        locked_until(account_failures, MAX_FAILURES_PER_ACCOUNT),
        locked_until(ip_failures, MAX_FAILURES_PER_IP),
    ]
    .into_iter()
    .flatten()
    .max();
    match until {
        Some(t) => Verdict::Locked {
            minutes: ((t - now) + 59_999) / 60_000,
        },
        None => Verdict::Allowed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_failures_lock_the_account_for_the_rest_of_the_window() {
        let now = 100 * 60_000;
        let failures: Vec<i64> = (0..4).map(|i| now - i * 60_000).collect();
        assert_eq!(verdict(&failures, &[], now), Verdict::Allowed);
        let failures: Vec<i64> = (0..5).map(|i| now - i * 60_000).collect();
        assert_eq!(
            verdict(&failures, &[], now),
            Verdict::Locked { minutes: 11 }
        );
        let old: Vec<i64> = (0..5).map(|i| now - WINDOW_MS - i).collect();
        assert_eq!(
            verdict(&old, &[], now),
            Verdict::Allowed,
            "old failures expire"
        );
    }

    #[test]
    fn an_address_trying_many_accounts_is_locked() {
        let now = 10_000_000;
        let ip: Vec<i64> = (0..30).map(|i| now - i * 1000).collect();
        assert!(matches!(verdict(&[], &ip, now), Verdict::Locked { .. }));
    }
}
