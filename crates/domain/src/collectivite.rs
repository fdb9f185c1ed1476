//! Collectivités: the territory entities that joined the platform (the collectivités).

use crate::territoire::EntityKind;
use crate::text::slugify;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum CollectiviteStatus {
    /// Joined and serving its residents.
    Active,
    /// Temporarily closed by the operator: its pages say so, nothing new can be filed.
    Suspended,
}

impl CollectiviteStatus {
    pub fn code(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Suspended => "suspended",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "active" => Some(Self::Active),
            "suspended" => Some(Self::Suspended),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Suspended => "suspendue",
        }
    }
}

/// Display name of a collectivité from its territory entity, as residents know it.
pub fn display_name(kind: EntityKind, nom: &str) -> String {
    match kind {
        EntityKind::Region => format!("Région {nom}"),
        EntityKind::Departement => format!("Département {}", with_article(nom)),
        EntityKind::Epci | EntityKind::Commune => nom.to_string(),
    }
}

/// "de la Côte-d'Or", "de Saône-et-Loire", "de l'Yonne": the form after "Département".
fn with_article(nom: &str) -> String {
    // Names of départements that take an article in French usage.
    const FEMININE_LA: &[&str] = &[
        "Côte-d'Or",
        "Haute-",
        "Corrèze",
        "Creuse",
        "Dordogne",
        "Drôme",
        "Gironde",
        "Loire",
        "Lozère",
        "Manche",
        "Marne",
        "Meuse",
        "Moselle",
        "Nièvre",
        "Sarthe",
        "Savoie",
        "Seine",
        "Somme",
        "Vienne",
        "Mayenne",
        "Meurthe-et-Moselle",
        "Charente",
        "Corse-du-Sud",
        "Haute-Corse",
        "Réunion",
        "Guadeloupe",
        "Martinique",
        "Guyane",
        "Creuse",
    ];
    if nom.starts_with(['A', 'E', 'I', 'O', 'U', 'Y', 'É', 'Î']) {
        return format!("de l'{nom}");
    }
    if nom.contains("-et-") && !nom.starts_with("Meurthe") && !nom.starts_with("Haute") {
        return format!("de {nom}");
    }
    if FEMININE_LA.iter().any(|p| nom.starts_with(p)) {
        return format!("de la {nom}");
    }
    format!("du {nom}")
}

/// The slug of a new collectivité: its folded name, or name and code when the name is taken.
pub fn slug_for(nom: &str, code: &str, taken: impl Fn(&str) -> bool) -> String {
    let base = slugify(nom);
    if !taken(&base) {
        return base;
    }
    format!("{base}-{code}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_read_as_residents_say_them() {
        assert_eq!(
            display_name(EntityKind::Region, "Bourgogne-Franche-Comté"),
            "Région Bourgogne-Franche-Comté"
        );
        assert_eq!(
            display_name(EntityKind::Departement, "Côte-d'Or"),
            "Département de la Côte-d'Or"
        );
        assert_eq!(
            display_name(EntityKind::Departement, "Saône-et-Loire"),
            "Département de Saône-et-Loire"
        );
        assert_eq!(
            display_name(EntityKind::Departement, "Yonne"),
            "Département de l'Yonne"
        );
        assert_eq!(
            display_name(EntityKind::Departement, "Doubs"),
            "Département du Doubs"
        );
        assert_eq!(display_name(EntityKind::Commune, "Dijon"), "Dijon");
    }

    #[test]
    fn slug_falls_back_to_code_when_taken() {
        assert_eq!(slug_for("Saint-Martin", "21550", |_| false), "saint-martin");
        assert_eq!(
            slug_for("Saint-Martin", "21550", |s| s == "saint-martin"),
            "saint-martin-21550"
        );
    }
}
