//! Delays as French law counts them: in days, weeks, months or years on the Paris calendar.
//!
//! A delay starts the day of the event (a deposit) and that day does not count; it expires at
//! the end of the last day, midnight Paris time (summer time included). A month runs to the day
//! with the same number in the month it lands in, or to that month's last day when it has none
//! (from 31 January, one month is the last day of February). Calendar arithmetic is
//! `jiff`'s, never a multiple of 24 hours.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Span, Timestamp};
use serde::{Deserialize, Serialize};

/// Europe/Paris from the time-zone database bundled in the binary (no dependency on the host's).
pub fn paris() -> &'static TimeZone {
    static PARIS: std::sync::OnceLock<TimeZone> = std::sync::OnceLock::new();
    PARIS.get_or_init(|| TimeZone::get("Europe/Paris").unwrap_or(TimeZone::UTC))
}

/// The unit of a delay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unite {
    Jours,
    Semaines,
    Mois,
    Ans,
}

impl Unite {
    pub const ALL: [Unite; 4] = [Self::Jours, Self::Semaines, Self::Mois, Self::Ans];

    pub fn code(self) -> &'static str {
        match self {
            Self::Jours => "jours",
            Self::Semaines => "semaines",
            Self::Mois => "mois",
            Self::Ans => "ans",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|u| u.code() == code)
    }
}

/// A delay: "2 mois", "15 jours".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Delai {
    pub amount: u32,
    pub unit: Unite,
}

impl Delai {
    pub fn jours(amount: u32) -> Self {
        Self {
            amount,
            unit: Unite::Jours,
        }
    }

    pub fn mois(amount: u32) -> Self {
        Self {
            amount,
            unit: Unite::Mois,
        }
    }

    fn span(self) -> Span {
        let n = i64::from(self.amount.min(10_000));
        match self.unit {
            Unite::Jours => Span::new().days(n),
            Unite::Semaines => Span::new().weeks(n),
            Unite::Mois => Span::new().months(n),
            Unite::Ans => Span::new().years(n.min(100)),
        }
    }

    /// The day this delay lands on, counted from `day` (which does not count).
    pub fn after(self, day: Date) -> Date {
        day.checked_add(self.span()).unwrap_or(Date::MAX)
    }

    /// The day this delay before `day` (for "at most 3 months ago").
    pub fn before(self, day: Date) -> Date {
        day.checked_sub(self.span()).unwrap_or(Date::MIN)
    }

    /// "2 mois", "1 jour", "3 semaines", "1 an".
    pub fn label(self) -> String {
        let n = self.amount;
        let unit = match (self.unit, n > 1) {
            (Unite::Jours, false) => "jour",
            (Unite::Jours, true) => "jours",
            (Unite::Semaines, false) => "semaine",
            (Unite::Semaines, true) => "semaines",
            (Unite::Mois, _) => "mois",
            (Unite::Ans, false) => "an",
            (Unite::Ans, true) => "ans",
        };
        format!("{n} {unit}")
    }
}

/// The Paris calendar day of an instant (Unix milliseconds, UTC).
pub fn paris_day(ms: i64) -> Date {
    paris()
        .to_datetime(Timestamp::from_millisecond(ms).unwrap_or(Timestamp::UNIX_EPOCH))
        .date()
}

/// The instant a Paris day ends (the next day's midnight, Paris time), in Unix milliseconds.
pub fn end_of_day(day: Date) -> i64 {
    let next = day.tomorrow().unwrap_or(Date::MAX);
    paris()
        .to_timestamp(next.to_datetime(jiff::civil::Time::midnight()))
        .map(|t| t.as_millisecond())
        .unwrap_or(i64::MAX)
}

/// When a delay that started at `start_ms` expires: the end of its last day, Paris time.
pub fn expiry(start_ms: i64, delai: Delai) -> i64 {
    end_of_day(delai.after(paris_day(start_ms)))
}

/// The last day of a delay that expires at `expiry_ms` (the day shown to people).
pub fn last_day(expiry_ms: i64) -> Date {
    paris_day(expiry_ms - 1)
}

/// "1er février 2027", "14 juillet 2026".
pub fn jour_long(day: Date) -> String {
    const MOIS: [&str; 12] = [
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ];
    let d = day.day();
    let jour = if d == 1 {
        "1er".to_string()
    } else {
        d.to_string()
    };
    let mois = MOIS[usize::from(day.month().unsigned_abs()).saturating_sub(1) % 12];
    format!("{jour} {mois} {}", day.year())
}

/// "01/02/2027".
pub fn jour_court(day: Date) -> String {
    format!("{:02}/{:02}/{}", day.day(), day.month(), day.year())
}

/// The instant of a Paris day ("2026-12-10" or "10/12/2026") and hour ("18:30" or "18h30"),
/// summer time included; None when either does not read.
pub fn paris_instant(jour: &str, heure: &str) -> Option<i64> {
    let day = crate::demarche::values::parse_date(jour)?;
    let heure = heure.trim().replace('h', ":");
    let (h, m) = heure.split_once(':').unwrap_or((&heure, "0"));
    let h: i8 = h.trim().parse().ok().filter(|h| (0..24).contains(h))?;
    let m: i8 = if m.trim().is_empty() {
        0
    } else {
        m.trim().parse().ok().filter(|m| (0..60).contains(m))?
    };
    let civil =
        jiff::civil::date(day.year() as i16, day.month() as i8, day.day() as i8).at(h, m, 0, 0);
    paris().to_timestamp(civil).ok().map(|t| t.as_millisecond())
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn at_paris(y: i16, m: i8, d: i8, h: i8) -> i64 {
        paris()
            .to_timestamp(date(y, m, d).at(h, 0, 0, 0))
            .expect("a Paris time")
            .as_millisecond()
    }

    #[test]
    fn a_month_from_the_31st_of_january_is_the_last_day_of_february() {
        assert_eq!(Delai::mois(1).after(date(2027, 1, 31)), date(2027, 2, 28));
        assert_eq!(Delai::mois(1).after(date(2028, 1, 31)), date(2028, 2, 29));
        assert_eq!(Delai::mois(1).after(date(2027, 1, 30)), date(2027, 2, 28));
        assert_eq!(Delai::mois(1).after(date(2027, 3, 30)), date(2027, 4, 30));
        assert_eq!(Delai::mois(1).after(date(2027, 4, 30)), date(2027, 5, 30));
        assert_eq!(Delai::mois(2).after(date(2026, 12, 1)), date(2027, 2, 1));
        assert_eq!(Delai::mois(2).after(date(2026, 12, 31)), date(2027, 2, 28));
    }

    #[test]
    fn the_29th_of_february_and_years() {
        let leap = date(2028, 2, 29);
        assert_eq!(
            Delai {
                amount: 1,
                unit: Unite::Ans
            }
            .after(leap),
            date(2029, 2, 28)
        );
        assert_eq!(
            Delai {
                amount: 4,
                unit: Unite::Ans
            }
            .after(leap),
            date(2032, 2, 29)
        );
        assert_eq!(Delai::mois(12).after(leap), date(2029, 2, 28));
        assert_eq!(Delai::jours(1).after(leap), date(2028, 3, 1));
        assert_eq!(Delai::mois(3).before(date(2027, 5, 31)), date(2027, 2, 28));
    }

    #[test]
    fn days_and_weeks_count_calendar_days() {
        assert_eq!(
            Delai::jours(30).after(date(2026, 12, 1)),
            date(2026, 12, 31)
        );
        assert_eq!(
            Delai {
                amount: 2,
                unit: Unite::Semaines
            }
            .after(date(2026, 12, 25)),
            date(2027, 1, 8)
        );
    }

    #[test]
    fn a_delay_ends_at_midnight_paris_time_across_summer_time_changes() {
        // Deposited at 23:30 Paris time on 1 December (22:30 UTC, still 1 December in UTC too):
        // two months expire at the end of 1 February, Paris time: 23:00 UTC.
        let deposit = at_paris(2026, 12, 1, 23);
        let end = expiry(deposit, Delai::mois(2));
        assert_eq!(end, at_paris(2027, 2, 2, 0));
        assert_eq!(
            jiff::Timestamp::from_millisecond(end).unwrap().to_string(),
            "2027-02-01T23:00:00Z"
        );
        assert_eq!(last_day(end), date(2027, 2, 1));
        // Deposited at 00:30 Paris time on 2 December: still 1 December in UTC, but the Paris day
        // counts.
        let late = at_paris(2026, 12, 2, 0);
        assert_eq!(last_day(expiry(late, Delai::mois(2))), date(2027, 2, 2));
        // Across the change to summer time (28 March 2027): the last day still ends at midnight
        // Paris time, which is then 22:00 UTC.
        let spring = expiry(at_paris(2027, 3, 1, 10), Delai::mois(1));
        assert_eq!(
            jiff::Timestamp::from_millisecond(spring)
                .unwrap()
                .to_string(),
            "2027-04-01T22:00:00Z"
        );
        // And back to winter time (31 October 2027): 30 days from 15 October end on 14 November
        // at 23:00 UTC, not one hour earlier.
        let autumn = expiry(at_paris(2027, 10, 15, 10), Delai::jours(30));
        assert_eq!(
            jiff::Timestamp::from_millisecond(autumn)
                .unwrap()
                .to_string(),
            "2027-11-14T23:00:00Z"
        );
    }

    #[test]
    fn labels_and_dates_in_french() {
        assert_eq!(Delai::mois(2).label(), "2 mois");
        assert_eq!(Delai::jours(1).label(), "1 jour");
        assert_eq!(jour_long(date(2027, 2, 1)), "1er février 2027");
        assert_eq!(jour_long(date(2027, 9, 14)), "14 septembre 2027");
        assert_eq!(jour_court(date(2027, 2, 1)), "01/02/2027");
    }
}
