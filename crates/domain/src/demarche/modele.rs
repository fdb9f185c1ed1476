//! Shared templates: what an adopting collectivité may adjust, and how its adjustments are kept
//! when it updates to the template's next version.

use super::definition::Definition;

/// What adopters of a template may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Adjustable {
    /// The service contact printed on the accusé de réception.
    Contact,
    /// The instruction deadline and the rule at its expiry.
    Deadline,
    /// Description, audience, documents to prepare, decision letter.
    Texts,
}

impl Adjustable {
    pub const ALL: [Adjustable; 3] = [Self::Contact, Self::Deadline, Self::Texts];

    pub fn code(self) -> &'static str {
        match self {
            Self::Contact => "contact",
            Self::Deadline => "delai",
            Self::Texts => "textes",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Contact => "le service à contacter",
            Self::Deadline => "le délai d'instruction et la règle à son expiration",
            Self::Texts => "les textes (description, public, documents, lettre de décision)",
        }
    }

    pub fn parse_list(s: &str) -> Vec<Adjustable> {
        Self::ALL
            .into_iter()
            .filter(|a| s.split(',').any(|p| p.trim() == a.code()))
            .collect()
    }
}

/// The template's definition with the adopter's allowed adjustments applied.
pub fn adjust(template: &Definition, local: &Definition, allowed: &[Adjustable]) -> Definition {
    let mut out = template.clone();
    for a in allowed {
        match a {
            Adjustable::Contact => out.contact = local.contact.clone(),
            Adjustable::Deadline => {
                out.deadline = local.deadline;
                out.deadline_days = local.deadline_days;
                out.tacit_rule = local.tacit_rule;
                out.after_correction = local.after_correction;
            }
            Adjustable::Texts => {
                out.description = local.description.clone();
                out.audience = local.audience.clone();
                out.documents = local.documents.clone();
                out.decision_letter = local.decision_letter.clone();
            }
        }
    }
    out
}

/// Whether `local` differs from the template only in what is allowed.
pub fn only_allowed_changes(
    template: &Definition,
    local: &Definition,
    allowed: &[Adjustable],
) -> bool {
    adjust(template, local, allowed) == *local
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demarche::TacitRule;

    fn base() -> Definition {
        Definition::from_json(
            r#"{"title": "Aide", "description": "D", "retention_months": 12, "deadline_days": 30,
                "contact": "Région", "pages": [{"title": "P", "fields": [
                {"id": "nom", "label": "Nom", "type": "short_text"}]}]}"#,
        )
        .expect("valid")
    }

    #[test]
    fn allowed_adjustments_survive_an_update_and_others_do_not_pass() {
        let mut local = base();
        local.contact = Some("Mairie de Dijon".into());
        local.deadline_days = Some(20);
        local.tacit_rule = TacitRule::Accord;
        let allowed = [Adjustable::Contact, Adjustable::Deadline];
        assert!(only_allowed_changes(&base(), &local, &allowed));
        let mut next = base();
        next.pages[0].title = "Vous".into();
        let updated = adjust(&next, &local, &allowed);
        assert_eq!(updated.pages[0].title, "Vous", "the template's change");
        assert_eq!(
            updated.contact.as_deref(),
            Some("Mairie de Dijon"),
            "the local contact"
        );
        assert_eq!(
            updated.instruction_delay(),
            Some(crate::delai::Delai::jours(20))
        );
        let mut forbidden = local.clone();
        forbidden.description = "Autre".into();
        assert!(!only_allowed_changes(&base(), &forbidden, &allowed));
        assert!(only_allowed_changes(&base(), &forbidden, &Adjustable::ALL));
        assert_eq!(
            Adjustable::parse_list("contact, textes"),
            vec![Adjustable::Contact, Adjustable::Texts]
        );
    }
}
