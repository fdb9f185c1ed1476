//! Mandats (Aidants Connect): a usager, present and with their identity checked, lets an aidant
//! of a help structure act for them in chosen domains for a limited time. Expiry and revocation
//! take effect at once; outside its domains the aidant is refused.

/// The domains a mandat covers (those of Aidants Connect).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Domain {
    PapiersCitoyennete,
    Famille,
    SocialSante,
    Travail,
    Logement,
    Transports,
    ArgentImpots,
    Justice,
    Etrangers,
    Loisirs,
}

impl Domain {
    pub const ALL: [Domain; 10] = [
        Self::PapiersCitoyennete,
        Self::Famille,
        Self::SocialSante,
        Self::Travail,
        Self::Logement,
        Self::Transports,
        Self::ArgentImpots,
        Self::Justice,
        Self::Etrangers,
        Self::Loisirs,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::PapiersCitoyennete => "papiers",
            Self::Famille => "famille",
            Self::SocialSante => "social",
            Self::Travail => "travail",
            Self::Logement => "logement",
            Self::Transports => "transports",
            Self::ArgentImpots => "argent",
            Self::Justice => "justice",
            Self::Etrangers => "etranger",
            Self::Loisirs => "loisirs",
        }
    }

    pub fn from_code(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.code() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::PapiersCitoyennete => "Papiers et citoyenneté",
            Self::Famille => "Famille",
            Self::SocialSante => "Social et santé",
            Self::Travail => "Travail",
            Self::Logement => "Logement",
            Self::Transports => "Transports",
            Self::ArgentImpots => "Argent et impôts",
            Self::Justice => "Justice",
            Self::Etrangers => "Étrangers",
            Self::Loisirs => "Loisirs",
        }
    }

    /// The domain of a démarche, from the life situation of its competence (one-door
    /// referential); None when it has none (then no mandat covers it).
    pub fn of_situation(situation: &str) -> Option<Self> {
        Some(match situation {
            "citoyennete" => Self::PapiersCitoyennete,
            "famille_enfance" => Self::Famille,
            "solidarite_sante" => Self::SocialSante,
            "emploi_formation" | "entreprises_associations" => Self::Travail,
            "logement" | "environnement_cadre_de_vie" => Self::Logement,
            "transports" => Self::Transports,
            "argent_impots" => Self::ArgentImpots,
            "justice" => Self::Justice,
            "etrangers" => Self::Etrangers,
            "loisirs" => Self::Loisirs,
            _ => return None,
        })
    }
}

/// How long a mandat lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Length {
    Today,
    OneMonth,
    SixMonths,
    TwelveMonths,
}

impl Length {
    pub const ALL: [Length; 4] = [
        Self::Today,
        Self::OneMonth,
        Self::SixMonths,
        Self::TwelveMonths,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::Today => "jour",
            Self::OneMonth => "1m",
            Self::SixMonths => "6m",
            Self::TwelveMonths => "12m",
        }
    }

    pub fn from_code(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.code() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Today => "Aujourd'hui seulement",
            Self::OneMonth => "Un mois",
            Self::SixMonths => "Six mois",
            Self::TwelveMonths => "Douze mois",
        }
    }

    /// When a mandat signed at `start` ends: the end of that day, or the same time so many
    /// months later (the last day of a shorter month).
    pub fn end(self, start: time::OffsetDateTime) -> time::OffsetDateTime {
        let months = match self {
            Self::Today => {
                let next = start.date().next_day().unwrap_or(start.date());
                return next.midnight().assume_offset(start.offset());
            }
            Self::OneMonth => 1,
            Self::SixMonths => 6,
            Self::TwelveMonths => 12,
        };
        let total = start.month() as i32 - 1 + months;
        let year = start.year() + total / 12;
        let month = time::Month::try_from((total % 12 + 1) as u8).unwrap_or(time::Month::January);
        let last = month.length(year);
        let day = start.day().min(last);
        time::Date::from_calendar_date(year, month, day)
            .map(|d| d.with_time(start.time()).assume_offset(start.offset()))
            .unwrap_or(start)
    }
}

/// Where a mandat stands at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Active,
    Expired,
    Revoked,
}

impl Status {
    pub fn of(ends_at_ms: i64, revoked_at_ms: Option<i64>, now_ms: i64) -> Self {
        match revoked_at_ms {
            Some(r) if r <= now_ms => Self::Revoked,
            _ if now_ms >= ends_at_ms => Self::Expired,
            _ => Self::Active,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Active => "en cours",
            Self::Expired => "expiré",
            Self::Revoked => "révoqué",
        }
    }
}

/// Whether an aidant acting under a mandat may act on a démarche of this domain.
pub fn covers(domains: &[Domain], status: Status, demarche: Option<Domain>) -> bool {
    status == Status::Active && demarche.is_some_and(|d| domains.contains(&d))
}

/// The usager is warned this many days before a mandat ends.
pub const WARN_DAYS: i64 = 30;

/// How the usager gave their consent to a mandat: with a code sent to the address their account
/// verified, read out to the aidant, or by signing in with FranceConnect at the counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consent {
    Code,
    FranceConnect,
}

impl Consent {
    pub fn code(self) -> &'static str {
        match self {
            Self::Code => "code",
            Self::FranceConnect => "franceconnect",
        }
    }

    pub fn from_code(s: &str) -> Option<Self> {
        match s {
            "code" => Some(Self::Code),
            "franceconnect" => Some(Self::FranceConnect),
            _ => None,
        }
    }

    /// How the mandat's page says it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Code => "code reçu par la personne sur son adresse électronique",
            Self::FranceConnect => "connexion de la personne avec FranceConnect",
        }
    }
}

/// A request waits this long for the usager's consent.
pub const REQUEST_LIFETIME_MS: i64 = 15 * 60 * 1000;
/// Wrong codes tried before the request is given up.
pub const MAX_CODE_ATTEMPTS: i64 = 5;

/// Why a consent was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The request is older than `REQUEST_LIFETIME_MS`, or was used.
    Expired,
    /// Too many wrong codes: a new request is needed.
    TooManyAttempts,
    /// A wrong code; this many tries are left.
    WrongCode { left: i64 },
    /// The FranceConnect identity is not the one of the usager's account.
    NotTheUsager,
}

impl Refused {
    /// What the aidant reads.
    pub fn message(self) -> String {
        match self {
            Self::Expired => "Cette demande de mandat a expiré ou a déjà servi : recommencez-la.".into(),
            Self::TooManyAttempts => "Trop de codes erronés : par sécurité, cette demande est annulée. Recommencez-la.".into(),
            Self::WrongCode { left } => format!(
                "Ce code n'est pas le bon. Demandez à la personne de relire le code reçu ({left} essai{} restant{}).",
                if left > 1 { "s" } else { "" },
                if left > 1 { "s" } else { "" }
            ),
            Self::NotTheUsager => "Cette identité FranceConnect n'est pas celle du compte de la personne : le mandat n'est pas créé.".into(),
        }
    }
}

/// Whether a code may still be tried on a request made at `created_at` and tried `attempts`
/// times.
pub fn may_try(created_at: i64, attempts: i64, now: i64) -> Result<(), Refused> {
    if now - created_at > REQUEST_LIFETIME_MS {
        return Err(Refused::Expired);
    }
    if attempts >= MAX_CODE_ATTEMPTS {
        return Err(Refused::TooManyAttempts);
    }
    Ok(())
}

/// The outcome of a wrong code, once counted (`attempts` includes it).
pub fn after_wrong_code(attempts: i64) -> Refused {
    if attempts >= MAX_CODE_ATTEMPTS {
        Refused::TooManyAttempts
    } else {
        Refused::WrongCode {
            left: MAX_CODE_ATTEMPTS - attempts,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_consent_code_is_tried_five_times_within_fifteen_minutes() {
        let t0 = 1_000_000;
        assert_eq!(may_try(t0, 0, t0 + REQUEST_LIFETIME_MS), Ok(()));
        assert_eq!(
            may_try(t0, 0, t0 + REQUEST_LIFETIME_MS + 1),
            Err(Refused::Expired)
        );
        assert_eq!(may_try(t0, 5, t0), Err(Refused::TooManyAttempts));
        assert_eq!(after_wrong_code(1), Refused::WrongCode { left: 4 });
        assert_eq!(after_wrong_code(5), Refused::TooManyAttempts);
        assert!(Refused::WrongCode { left: 1 }
            .message()
            .contains("1 essai restant"));
        assert_eq!(Consent::from_code("code"), Some(Consent::Code));
    }
    use time::macros::datetime;

    #[test]
    fn a_mandat_lasts_the_day_or_whole_months() {
        let signed = datetime!(2026-01-31 10:00 UTC);
        assert_eq!(Length::Today.end(signed), datetime!(2026-02-01 00:00 UTC));
        assert_eq!(
            Length::OneMonth.end(signed),
            datetime!(2026-02-28 10:00 UTC)
        );
        assert_eq!(
            Length::SixMonths.end(signed),
            datetime!(2026-07-31 10:00 UTC)
        );
        assert_eq!(
            Length::TwelveMonths.end(signed),
            datetime!(2027-01-31 10:00 UTC)
        );
    }

    #[test]
    fn only_an_active_mandat_covers_only_its_domains() {
        let domains = [Domain::Famille, Domain::Logement];
        let end = 1_000;
        assert!(covers(
            &domains,
            Status::of(end, None, 999),
            Some(Domain::Famille)
        ));
        assert!(!covers(
            &domains,
            Status::of(end, None, 999),
            Some(Domain::Transports)
        ));
        assert!(
            !covers(
                &domains,
                Status::of(end, None, 1_000),
                Some(Domain::Famille)
            ),
            "expired"
        );
        assert!(
            !covers(
                &domains,
                Status::of(end, Some(500), 999),
                Some(Domain::Famille)
            ),
            "revoked"
        );
        assert!(
            !covers(&domains, Status::Active, None),
            "a démarche without a domain"
        );
        assert_eq!(
            Domain::of_situation("famille_enfance"),
            Some(Domain::Famille)
        );
        assert_eq!(Domain::from_code("argent"), Some(Domain::ArgentImpots));
    }
}
