//! The usager's document vault: typed documents with their date of validity, attached to any
//! dossier in one action; the usager is warned before one expires.

use time::Date;

/// Kinds of documents, as (code, label).
pub const KINDS: &[(&str, &str)] = &[
    ("justificatif_domicile", "Justificatif de domicile"),
    ("piece_identite", "Pièce d'identité"),
    ("avis_imposition", "Avis d'imposition"),
    ("rib", "RIB (relevé d'identité bancaire)"),
    ("quotient_familial", "Attestation de quotient familial"),
    ("livret_famille", "Livret de famille"),
    ("attestation_assurance", "Attestation d'assurance"),
    ("autre", "Autre document"),
];

pub fn kind_label(code: &str) -> Option<&'static str> {
    KINDS.iter().find(|(c, _)| *c == code).map(|(_, l)| *l)
}

/// The usager is warned this many days before a document stops being valid.
pub const WARN_DAYS: i64 = 30;

/// Where a document stands on `today`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validity {
    /// No end date, or not soon.
    Valid,
    /// Ends within `WARN_DAYS`: so many days left.
    ExpiresSoon(i64),
    Expired,
}

pub fn validity(valid_until: Option<Date>, today: Date) -> Validity {
    match valid_until {
        None => Validity::Valid,
        Some(end) if end < today => Validity::Expired,
        Some(end) => {
            let left = (end - today).whole_days();
            if left <= WARN_DAYS {
                Validity::ExpiresSoon(left)
            } else {
                Validity::Valid
            }
        }
    }
}

impl Validity {
    /// What the usager reads next to the document.
    pub fn label(self) -> String {
        match self {
            Self::Valid => "valide".into(),
            Self::ExpiresSoon(0) => "expire aujourd'hui".into(),
            Self::ExpiresSoon(1) => "expire demain".into(),
            Self::ExpiresSoon(n) => format!("expire dans {n} jours"),
            Self::Expired => "expiré".into(),
        }
    }

    pub fn warns(self) -> bool {
        !matches!(self, Self::Valid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn a_document_is_flagged_thirty_days_before_it_expires() {
        let today = date!(2026 - 11 - 30);
        assert_eq!(validity(None, today), Validity::Valid);
        assert_eq!(
            validity(Some(date!(2027 - 01 - 15)), today),
            Validity::Valid
        );
        assert_eq!(
            validity(Some(date!(2026 - 12 - 30)), today),
            Validity::ExpiresSoon(30)
        );
        assert_eq!(validity(Some(today), today).label(), "expire aujourd'hui");
        assert_eq!(
            validity(Some(date!(2026 - 11 - 29)), today),
            Validity::Expired
        );
        assert_eq!(kind_label("rib"), Some("RIB (relevé d'identité bancaire)"));
    }
}
