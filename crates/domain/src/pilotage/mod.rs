//! Figures of public action (pilotage): what each dossier adds to the monthly counts of its
//! démarche, how a delay falls into a histogram bucket and how quantiles are read back, small
//! counts withheld. The figures are kept up to date with each change (a change adds the
//! difference between the dossier's contribution after and before it), so that no page ever
//! counts dossiers one by one.

pub mod grille;

use crate::dossier::State;
use std::collections::BTreeMap;

/// How a dossier reached the collectivité.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Canal {
    /// Filed by the usager online (with an account or without).
    EnLigne,
    /// Filed by an aidant: at a counter of a help structure or under a mandat.
    Aidant,
    /// Filed by an agent at the collectivité's counter.
    Guichet,
}

impl Canal {
    pub const ALL: [Canal; 3] = [Self::EnLigne, Self::Aidant, Self::Guichet];

    pub fn code(self) -> &'static str {
        match self {
            Self::EnLigne => "en_ligne",
            Self::Aidant => "aidant",
            Self::Guichet => "guichet",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.code() == code)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::EnLigne => "En ligne",
            Self::Aidant => "Avec un aidant",
            Self::Guichet => "Au guichet",
        }
    }

    /// The channel of a stored dossier: its `channel` column and whether an aidant filed it.
    pub fn of(channel: &str, by_aidant: bool) -> Self {
        match (channel, by_aidant) {
            (_, true) => Self::Aidant,
            ("guichet", false) => Self::Guichet,
            _ => Self::EnLigne,
        }
    }
}

/// What the figures need of a dossier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Faits {
    pub state: State,
    pub canal: Canal,
    /// The first deposit.
    pub submitted_at: Option<i64>,
    pub decided_at: Option<i64>,
    pub deadline_at: Option<i64>,
    pub tacit: bool,
    /// Fields answered at the deposit with a value the usager's profile already held (None:
    /// not measured, as for a dossier filed without an account).
    pub asked_again: Option<i64>,
}

/// Counts of one démarche, month and channel. Signed: a change adds a difference.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Comptes {
    pub deposited: i64,
    /// Deposits whose fields asked again were measured, and how many fields that was.
    pub measured: i64,
    pub asked_again: i64,
    pub corrections: i64,
    pub decided: i64,
    pub accepted: i64,
    pub refused: i64,
    pub closed: i64,
    pub tacit: i64,
    /// Decisions on dossiers that had a legal deadline, and those decided by it.
    pub with_deadline: i64,
    pub within_deadline: i64,
    /// Answers to "Comment s'est passée cette démarche ?" and the sum of their scores (1–10).
    pub ratings: i64,
    pub rating_sum: i64,
}

impl Comptes {
    /// Column names, in the order of `values` (the store's table has the same).
    pub const COLUMNS: [&'static str; 13] = [
        "deposited",
        "measured",
        "asked_again",
        "corrections",
        "decided",
        "accepted",
        "refused",
        "closed",
        "tacit",
        "with_deadline",
        "within_deadline",
        "ratings",
        "rating_sum",
    ];

    pub fn values(&self) -> [i64; 13] {
        [
            self.deposited,
            self.measured,
            self.asked_again,
            self.corrections,
            self.decided,
            self.accepted,
            self.refused,
            self.closed,
            self.tacit,
            self.with_deadline,
            self.within_deadline,
            self.ratings,
            self.rating_sum,
        ]
    }

    pub fn from_values(v: [i64; 13]) -> Self {
        Self {
            deposited: v[0],
            measured: v[1],
            asked_again: v[2],
            corrections: v[3],
            decided: v[4],
            accepted: v[5],
            refused: v[6],
            closed: v[7],
            tacit: v[8],
            with_deadline: v[9],
            within_deadline: v[10],
            ratings: v[11],
            rating_sum: v[12],
        }
    }

    fn combine(&self, other: &Self, sign: i64) -> Self {
        let (a, b) = (self.values(), other.values());
        Self::from_values(std::array::from_fn(|i| a[i] + sign * b[i]))
    }

    pub fn add(&mut self, other: &Self) {
        *self = self.combine(other, 1);
    }

    pub fn is_zero(&self) -> bool {
        self.values().iter().all(|v| *v == 0)
    }
}

/// A month of the Paris calendar, "2026-12".
pub fn month_of(ms: i64) -> String {
    crate::delai::paris_day(ms).strftime("%Y-%m").to_string()
}

/// The months from `first` to `last` included ("2026-01" … "2026-12"), at most 120.
pub fn months(first: &str, last: &str) -> Vec<String> {
    let parse = |m: &str| -> Option<(i32, i32)> {
        let (y, mo) = m.split_once('-')?;
        Some((y.parse().ok()?, mo.parse().ok()?))
    };
    let (Some((mut y, mut m)), Some(end)) = (parse(first), parse(last)) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    while (y, m) <= end && out.len() < 120 {
        out.push(format!("{y:04}-{m:02}"));
        (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    }
    out
}

/// The month `n` months before `month` ("2026-12", 11 → "2026-01").
pub fn months_before(month: &str, n: i32) -> String {
    let (y, m) = month.split_once('-').unwrap_or(("1970", "01"));
    let index = y.parse::<i32>().unwrap_or(1970) * 12 + m.parse::<i32>().unwrap_or(1) - 1 - n;
    format!(
        "{:04}-{:02}",
        index.div_euclid(12),
        index.rem_euclid(12) + 1
    )
}

/// One addition to the figures: counts of a month and channel, and a decision's delay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Apport {
    pub month: String,
    pub canal: Canal,
    pub comptes: Comptes,
    /// The delay bucket (`delay_bucket`) of a decision, counted `delay_count` times.
    pub delay: Option<(i64, i64)>,
}

/// What a dossier as it stands adds to the figures: its deposit in the month of its first
/// deposit, its decision in the month it was decided. A draft adds nothing.
pub fn apports(f: &Faits) -> Vec<Apport> {
    let mut out = Vec::new();
    if f.state == State::Brouillon {
        return out;
    }
    if let Some(at) = f.submitted_at {
        let measured = f.asked_again.map(|n| (1, n)).unwrap_or((0, 0));
        out.push(Apport {
            month: month_of(at),
            canal: f.canal,
            comptes: Comptes {
                deposited: 1,
                measured: measured.0,
                asked_again: measured.1,
                ..Default::default()
            },
            delay: None,
        });
    }
    if let (true, Some(at)) = (f.state.is_final(), f.decided_at) {
        let within = f.deadline_at.map(|due| at <= due);
        out.push(Apport {
            month: month_of(at),
            canal: f.canal,
            comptes: Comptes {
                decided: 1,
                accepted: i64::from(f.state == State::Accepte),
                refused: i64::from(f.state == State::Refuse),
                closed: i64::from(f.state == State::SansSuite),
                tacit: i64::from(f.tacit),
                with_deadline: i64::from(within.is_some()),
                within_deadline: i64::from(within == Some(true)),
                ..Default::default()
            },
            delay: f
                .submitted_at
                .map(|from| (delay_bucket((at - from).max(0) / 86_400_000), 1)),
        });
    }
    out
}

/// What a change of a dossier adds to the figures: its contribution after, less its
/// contribution before (None: the dossier did not exist, or no longer counts).
pub fn difference(before: Option<&Faits>, after: Option<&Faits>) -> Vec<Apport> {
    let mut merged: BTreeMap<(String, Canal), (Comptes, BTreeMap<i64, i64>)> = BTreeMap::new();
    for (faits, sign) in [(after, 1), (before, -1)] {
        for a in faits.map(apports).unwrap_or_default() {
            let entry = merged.entry((a.month, a.canal)).or_default();
            entry.0 = entry.0.combine(&a.comptes, sign);
            if let Some((bucket, n)) = a.delay {
                *entry.1.entry(bucket).or_default() += sign * n;
            }
        }
    }
    let mut out = Vec::new();
    for ((month, canal), (comptes, delays)) in merged {
        let mut delays: Vec<(i64, i64)> = delays.into_iter().filter(|(_, n)| *n != 0).collect();
        // One entry per bucket moved: the first carries the counts.
        let first = delays.pop();
        if comptes.is_zero() && first.is_none() {
            continue;
        }
        out.push(Apport {
            month: month.clone(),
            canal,
            comptes,
            delay: first,
        });
        for d in delays {
            out.push(Apport {
                month: month.clone(),
                canal,
                comptes: Comptes::default(),
                delay: Some(d),
            });
        }
    }
    out
}

/// A correction asked of the usager, counted in the month it was asked.
pub fn correction(at: i64, canal: Canal) -> Apport {
    Apport {
        month: month_of(at),
        canal,
        comptes: Comptes {
            corrections: 1,
            ..Default::default()
        },
        delay: None,
    }
}

/// A satisfaction answer (1–10), counted in the month it was given.
pub fn rating(at: i64, canal: Canal, score: i64) -> Apport {
    Apport {
        month: month_of(at),
        canal,
        comptes: Comptes {
            ratings: 1,
            rating_sum: score,
            ..Default::default()
        },
        delay: None,
    }
}

/// What the figures need of a signalement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaitsSignalement {
    pub tenant_id: i64,
    pub category_id: i64,
    pub commune_insee: String,
    pub state: crate::signalement::State,
    pub created_at: i64,
    pub resolved_at: Option<i64>,
}

/// Counts of signalements of one collectivité, category, commune and month of report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ComptesSignalement {
    /// Made public (confirmed, moderated).
    pub reported: i64,
    pub resolved: i64,
    pub rejected: i64,
    /// Days from report to resolution, summed over the resolved ones.
    pub resolution_days: i64,
}

/// Where a signalement's counts go: collectivité, category, commune, month of report.
pub type CleSignalement = (i64, i64, String, String);

fn signalement_apport(f: &FaitsSignalement) -> Option<(CleSignalement, ComptesSignalement)> {
    use crate::signalement::State as S;
    if !f.state.is_public() {
        return None;
    }
    let resolved = f.state == S::Resolu;
    Some((
        (
            f.tenant_id,
            f.category_id,
            f.commune_insee.clone(),
            month_of(f.created_at),
        ),
        ComptesSignalement {
            reported: 1,
            resolved: i64::from(resolved),
            rejected: i64::from(f.state == S::Rejete),
            resolution_days: match (resolved, f.resolved_at) {
                (true, Some(at)) => (at - f.created_at).max(0) / 86_400_000,
                _ => 0,
            },
        },
    ))
}

/// What a change of a signalement (a report made public, resolved, reopened, transferred to
/// another collectivité) adds to the figures.
pub fn signalement_difference(
    before: Option<&FaitsSignalement>,
    after: Option<&FaitsSignalement>,
) -> Vec<(CleSignalement, ComptesSignalement)> {
    let mut merged: BTreeMap<CleSignalement, ComptesSignalement> = BTreeMap::new();
    for (faits, sign) in [(after, 1), (before, -1)] {
        if let Some((key, c)) = faits.and_then(signalement_apport) {
            let e = merged.entry(key).or_default();
            e.reported += sign * c.reported;
            e.resolved += sign * c.resolved;
            e.rejected += sign * c.rejected;
            e.resolution_days += sign * c.resolution_days;
        }
    }
    merged
        .into_iter()
        .filter(|(_, c)| *c != ComptesSignalement::default())
        .collect()
}

/// The histogram bucket of a processing time in days: each day up to 60, then each week up to
/// 182 days, then each 30 days up to two years, then one bucket. A bucket is named by its
/// first day.
pub fn delay_bucket(days: i64) -> i64 {
    match days {
        d if d <= 60 => d.max(0),
        d if d < 182 => 61 + (d - 61) / 7 * 7,
        d if d < 730 => 182 + (d - 182) / 30 * 30,
        _ => 730,
    }
}

/// The `q` quantile (0 < q ≤ 1) of a histogram of (bucket, count), as the bucket's first day;
/// None when empty.
pub fn quantile(histogram: &[(i64, i64)], q: f64) -> Option<i64> {
    let mut sorted: Vec<(i64, i64)> = histogram.iter().copied().filter(|(_, n)| *n > 0).collect();
    sorted.sort();
    let total: i64 = sorted.iter().map(|(_, n)| n).sum();
    if total == 0 {
        return None;
    }
    let rank = (q * total as f64).ceil().max(1.0) as i64;
    let mut seen = 0;
    for (bucket, n) in sorted {
        seen += n;
        if seen >= rank {
            return Some(bucket);
        }
    }
    None
}

/// Counts under this are withheld from public figures (a person could be recognised).
pub const SMALL: i64 = 5;

/// A public count: "" (withheld) from 1 to 4.
pub fn public_count(n: i64) -> Option<i64> {
    (n == 0 || n >= SMALL).then_some(n)
}

/// A share in percent of `part` in `whole`, when the whole is large enough to be public.
pub fn share(part: i64, whole: i64) -> Option<f64> {
    (whole >= SMALL).then(|| 100.0 * part as f64 / whole as f64)
}

/// A share shown in French: "87,5 %".
pub fn percent(p: f64) -> String {
    format!("{:.1} %", p).replace('.', ",")
}

#[cfg(test)]
mod tests;
