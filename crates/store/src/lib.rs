//! Storage of Guichet: one schema, one set of migrations and one data-access layer that runs on
//! embedded SQLite (default) and on PostgreSQL. Queries are written once, in the SQL both speak,
//! with `$1`-style parameters, through sqlx's `Any` driver.

pub mod anchor;
pub mod avis;
pub mod backup;
pub mod coffre;
pub mod collectivite;
pub mod competence;
pub mod compte;
pub mod comptoir;
pub mod conn;
pub mod conseil;
pub mod db;
pub mod demarche;
pub mod donnees;
pub mod dossier;
pub mod equipe;
pub mod etat;
mod failover;
pub mod files;
pub mod jeton;
pub mod journal;
pub mod mandat;
pub mod migrate;
pub mod modele;
pub mod objects;
pub mod oidc;
pub mod outbox;
pub mod participation;
pub mod pilotage;
pub mod profil;
pub mod recherche;
pub mod retention;
pub mod sealed;
pub mod secret;
pub mod session;
pub mod signalement;
pub mod territoire;
pub mod throttle;
pub mod trace;
pub mod webhook;
pub mod writer;

pub use db::{Backend, Db};

/// Current time as stored in every `*_at` column: Unix milliseconds, UTC.
pub fn now_ms() -> i64 {
    let now = time::OffsetDateTime::now_utc();
    (now.unix_timestamp_nanos() / 1_000_000) as i64
}

/// The clock of the rules that count days (a council's convocation delay…): the system's time,
/// or a time a test sets, so that a journey across days runs in a second.
#[derive(Debug, Clone, Default)]
pub struct Clock(Option<std::sync::Arc<std::sync::atomic::AtomicI64>>);

impl Clock {
    /// A clock that shows `ms` until it is set again.
    pub fn fixed(ms: i64) -> Self {
        Self(Some(std::sync::Arc::new(ms.into())))
    }

    pub fn now_ms(&self) -> i64 {
        match &self.0 {
            Some(t) => t.load(std::sync::atomic::Ordering::SeqCst),
            None => now_ms(),
        }
    }

    /// Moves a fixed clock (the system's clock cannot be moved).
    pub fn set(&self, ms: i64) {
        if let Some(t) = &self.0 {
            t.store(ms, std::sync::atomic::Ordering::SeqCst);
        }
    }
}

pub use guichet_domain::delai::paris;

/// Now in French time (summer time included): what people count in days, months and years
/// (a mandat's end, the year of a public number), whatever the server's own zone.
pub fn paris_now() -> time::OffsetDateTime {
    let now = time::OffsetDateTime::now_utc();
    let seconds = paris().to_offset(jiff::Timestamp::now()).seconds();
    now.to_offset(time::UtcOffset::from_whole_seconds(seconds).unwrap_or(time::UtcOffset::UTC))
}

/// A stored instant as RFC 3339 (UTC), for APIs and exports.
pub fn rfc3339(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod paris_tests {
    #[test]
    fn french_time_is_one_or_two_hours_ahead_of_utc() {
        let offset = super::paris_now().offset().whole_hours();
        assert!(offset == 1 || offset == 2, "offset {offset}");
    }
}
