//! Competences: which level of local public action holds a domain (by default under French law,
//! or as overridden for a territory), and so who is competent for a resident of a given commune.

use serde::{Deserialize, Serialize};

/// The level that holds a competence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Commune,
    Epci,
    Departement,
    Region,
    /// The State: procedures handled outside Guichet.
    Etat,
}

impl Level {
    pub const ALL: [Level; 5] = [
        Self::Commune,
        Self::Epci,
        Self::Departement,
        Self::Region,
        Self::Etat,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::Commune => "commune",
            Self::Epci => "epci",
            Self::Departement => "departement",
            Self::Region => "region",
            Self::Etat => "etat",
        }
    }

    pub fn from_code(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.code() == s)
    }

    /// The level of a territory entity (a collectivité is one of them).
    pub fn of_entity(kind: crate::territoire::EntityKind) -> Self {
        use crate::territoire::EntityKind as K;
        match kind {
            K::Commune => Self::Commune,
            K::Epci => Self::Epci,
            K::Departement => Self::Departement,
            K::Region => Self::Region,
        }
    }

    /// The kind of entity of this level; none for the State.
    pub fn entity_kind(self) -> Option<crate::territoire::EntityKind> {
        use crate::territoire::EntityKind as K;
        Some(match self {
            Self::Commune => K::Commune,
            Self::Epci => K::Epci,
            Self::Departement => K::Departement,
            Self::Region => K::Region,
            Self::Etat => return None,
        })
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Commune => "commune",
            Self::Epci => "intercommunalité",
            Self::Departement => "département",
            Self::Region => "région",
            Self::Etat => "État",
        }
    }
}

/// The life situations the catalogue is grouped by.
pub const SITUATIONS: &[(&str, &str)] = &[
    ("famille_enfance", "Famille et enfance"),
    ("logement", "Logement"),
    ("transports", "Transports"),
    ("solidarite_sante", "Solidarité et santé"),
    ("emploi_formation", "Emploi et formation"),
    (
        "environnement_cadre_de_vie",
        "Environnement et cadre de vie",
    ),
    ("entreprises_associations", "Entreprises et associations"),
    ("citoyennete", "Citoyenneté"),
];

pub fn situation_label(code: &str) -> &'static str {
    SITUATIONS
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, l)| *l)
        .unwrap_or("Autres démarches")
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Competence {
    pub code: String,
    pub label: String,
    pub level: Level,
    pub situation: String,
    pub keywords: String,
}

/// An entity of the territory, or the State.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Holder {
    pub level: Level,
    /// INSEE code (commune), SIREN (EPCI), code (département, région); empty for the State.
    pub code: String,
}

/// Where a commune sits: its EPCI, département and région.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Chain {
    pub commune: String,
    pub epci: Option<String>,
    pub departement: Option<String>,
    pub region: Option<String>,
}

/// "For this scope, that holder": the scope is a commune, an EPCI or a département.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Override {
    pub competence: String,
    pub scope_level: Level,
    pub scope_code: String,
    pub holder: Holder,
}

impl Chain {
    /// The entity of this level the commune belongs to. A commune outside any EPCI keeps the
    /// EPCI's competences itself.
    pub fn at(&self, level: Level) -> Option<Holder> {
        let code = match level {
            Level::Commune => Some(self.commune.clone()),
            Level::Epci => {
                return self
                    .epci
                    .clone()
                    .map(|code| Holder { level, code })
                    .or_else(|| self.at(Level::Commune))
            }
            Level::Departement => self.departement.clone(),
            Level::Region => self.region.clone(),
            Level::Etat => Some(String::new()),
        }?;
        Some(Holder { level, code })
    }

    fn scope_matches(&self, level: Level, code: &str) -> bool {
        match level {
            Level::Commune => self.commune == code,
            Level::Epci => self.epci.as_deref() == Some(code),
            Level::Departement => self.departement.as_deref() == Some(code),
            Level::Region => self.region.as_deref() == Some(code),
            Level::Etat => false,
        }
    }
}

/// Who is competent for a resident of this commune: the override of the narrowest scope that
/// covers the commune, else the default level.
pub fn competent(competence: &Competence, overrides: &[Override], chain: &Chain) -> Option<Holder> {
    let narrowest = [
        Level::Commune,
        Level::Epci,
        Level::Departement,
        Level::Region,
    ]
    .into_iter()
    .find_map(|scope| {
        overrides.iter().find(|o| {
            o.competence == competence.code
                && o.scope_level == scope
                && chain.scope_matches(scope, &o.scope_code)
        })
    });
    match narrowest {
        Some(o) => Some(o.holder.clone()),
        None => chain.at(competence.level),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn semur() -> Chain {
        Chain {
            commune: "21603".into(),
            epci: Some("242101434".into()),
            departement: Some("21".into()),
            region: Some("27".into()),
        }
    }

    fn competence(code: &str, level: Level) -> Competence {
        Competence {
            code: code.into(),
            label: code.into(),
            level,
            situation: "famille_enfance".into(),
            keywords: String::new(),
        }
    }

    #[test]
    fn default_levels_follow_the_commune_up() {
        let c = semur();
        let at = |l| competent(&competence("x", l), &[], &c).expect("holder");
        assert_eq!(at(Level::Commune).code, "21603");
        assert_eq!(at(Level::Epci).code, "242101434");
        assert_eq!(at(Level::Departement).code, "21");
        assert_eq!(at(Level::Region).code, "27");
        assert_eq!(at(Level::Etat).level, Level::Etat);
        let alone = Chain {
            epci: None,
            ..semur()
        };
        assert_eq!(
            competent(&competence("x", Level::Epci), &[], &alone).expect("holder"),
            Holder {
                level: Level::Commune,
                code: "21603".into()
            },
            "a commune outside any EPCI keeps its competences"
        );
    }

    #[test]
    fn the_narrowest_override_wins() {
        let catering = competence("restauration_scolaire", Level::Commune);
        let to_epci = Override {
            competence: "restauration_scolaire".into(),
            scope_level: Level::Departement,
            scope_code: "21".into(),
            holder: Holder {
                level: Level::Epci,
                code: "242101434".into(),
            },
        };
        let back_to_commune = Override {
            competence: "restauration_scolaire".into(),
            scope_level: Level::Commune,
            scope_code: "21603".into(),
            holder: Holder {
                level: Level::Commune,
                code: "21603".into(),
            },
        };
        assert_eq!(
            competent(&catering, std::slice::from_ref(&to_epci), &semur())
                .expect("holder")
                .level,
            Level::Epci
        );
        assert_eq!(
            competent(&catering, &[to_epci.clone(), back_to_commune], &semur())
                .expect("holder")
                .level,
            Level::Commune
        );
        let elsewhere = Chain {
            commune: "71270".into(),
            epci: None,
            departement: Some("71".into()),
            region: Some("27".into()),
        };
        assert_eq!(
            competent(&catering, &[to_epci], &elsewhere)
                .expect("holder")
                .code,
            "71270",
            "an override applies to its scope only"
        );
    }
}
