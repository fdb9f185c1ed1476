//! The official referential of French territories: régions, départements, EPCI and communes.

use serde::Serialize;

/// The kinds of commune entries of the official referential (code officiel géographique).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum CommuneType {
    /// A commune in its own right.
    Actuelle,
    /// A former commune merged into a commune nouvelle, kept as a commune déléguée.
    Deleguee,
    /// A former commune associated to another (fusion-association).
    Associee,
    /// An arrondissement of Paris, Lyon or Marseille.
    ArrondissementMunicipal,
}

impl CommuneType {
    pub const ALL: [CommuneType; 4] = [
        Self::Actuelle,
        Self::Deleguee,
        Self::Associee,
        Self::ArrondissementMunicipal,
    ];

    /// The identifier used by the referential and stored in the database.
    pub fn code(self) -> &'static str {
        match self {
            Self::Actuelle => "commune-actuelle",
            Self::Deleguee => "commune-deleguee",
            Self::Associee => "commune-associee",
            Self::ArrondissementMunicipal => "arrondissement-municipal",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.code() == code)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Actuelle => "commune",
            Self::Deleguee => "commune déléguée",
            Self::Associee => "commune associée",
            Self::ArrondissementMunicipal => "arrondissement municipal",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Region {
    pub code: String,
    pub nom: String,
    pub chef_lieu: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Departement {
    pub code: String,
    pub region_code: String,
    pub nom: String,
    pub chef_lieu: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Epci {
    pub siren: String,
    pub nom: String,
    /// CC, CA, CU or METRO (plus MET69 for the Métropole de Lyon).
    pub kind: String,
    pub population: Option<i64>,
    /// INSEE codes of the member communes.
    pub members: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Commune {
    pub insee: String,
    pub kind: CommuneType,
    pub nom: String,
    pub departement_code: Option<String>,
    pub region_code: Option<String>,
    pub siren: Option<String>,
    pub postal_codes: Vec<String>,
    pub population: Option<i64>,
    /// For a commune déléguée or associée, or an arrondissement: the INSEE code of the commune
    /// it belongs to.
    pub parent_insee: Option<String>,
}

/// The whole referential, as parsed from the shipped file.
#[derive(Debug, Default, Clone)]
pub struct Referential {
    pub regions: Vec<Region>,
    pub departements: Vec<Departement>,
    pub epcis: Vec<Epci>,
    pub communes: Vec<Commune>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("référentiel territorial illisible, ligne {line} : {reason}")]
pub struct ReferentialError {
    pub line: usize,
    pub reason: String,
}

impl Referential {
    /// Parses the tab-separated format written by `scripts/build-territory.py`.
    pub fn parse(text: &str) -> Result<Self, ReferentialError> {
        let mut referential = Referential::default();
        for (index, line) in text.lines().enumerate() {
            if line.is_empty() {
                continue;
            }
            let err = |reason: &str| ReferentialError {
                line: index + 1,
                reason: reason.to_string(),
            };
            let cols: Vec<&str> = line.split('\t').collect();
            let col = |i: usize| cols.get(i).copied().unwrap_or_default();
            let opt = |i: usize| Some(col(i)).filter(|s| !s.is_empty()).map(str::to_string);
            let num = |i: usize| -> Result<Option<i64>, ReferentialError> {
                match col(i) {
                    "" => Ok(None),
                    s => s.parse().map(Some).map_err(|_| err("nombre attendu")),
                }
            };
            let list = |i: usize| -> Vec<String> {
                col(i)
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            };
            match (cols[0], cols.len()) {
                ("R", 4) => referential.regions.push(Region {
                    code: col(1).into(),
                    nom: col(2).into(),
                    chef_lieu: opt(3),
                }),
                ("D", 5) => referential.departements.push(Departement {
                    code: col(1).into(),
                    region_code: col(2).into(),
                    nom: col(3).into(),
                    chef_lieu: opt(4),
                }),
                ("E", 6) => referential.epcis.push(Epci {
                    siren: col(1).into(),
                    nom: col(2).into(),
                    kind: col(3).into(),
                    population: num(4)?,
                    members: list(5),
                }),
                ("C", 10) => referential.communes.push(Commune {
                    insee: col(1).into(),
                    kind: CommuneType::from_code(col(2))
                        .ok_or_else(|| err("type de commune inconnu"))?,
                    nom: col(3).into(),
                    departement_code: opt(4),
                    region_code: opt(5),
                    siren: opt(6),
                    postal_codes: list(7),
                    population: num(8)?,
                    parent_insee: opt(9),
                }),
                _ => return Err(err("enregistrement inattendu")),
            }
        }
        Ok(referential)
    }

    /// The EPCI each commune belongs to, keyed by the commune's INSEE code. A commune déléguée or
    /// associée, or an arrondissement, belongs to the EPCI of its parent commune.
    pub fn epci_of_communes(&self) -> std::collections::HashMap<&str, &str> {
        let mut map = std::collections::HashMap::new();
        for epci in &self.epcis {
            for member in &epci.members {
                map.insert(member.as_str(), epci.siren.as_str());
            }
        }
        map
    }
}

/// A territory entity that can join the platform as a collectivité.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum EntityKind {
    Region,
    Departement,
    Epci,
    Commune,
}

impl EntityKind {
    pub const ALL: [EntityKind; 4] = [Self::Region, Self::Departement, Self::Epci, Self::Commune];

    pub fn code(self) -> &'static str {
        match self {
            Self::Region => "region",
            Self::Departement => "departement",
            Self::Epci => "epci",
            Self::Commune => "commune",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == code)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Region => "Région",
            Self::Departement => "Département",
            Self::Epci => "Intercommunalité",
            Self::Commune => "Commune",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "R\t27\tBourgogne-Franche-Comté\t21231\n\
D\t21\t27\tCôte-d'Or\t21231\n\
E\t242100410\tDijon Métropole\tMETRO\t263672\t21231,21617\n\
C\t21231\tcommune-actuelle\tDijon\t21\t27\t212102313\t21000\t161830\t\n\
C\t21617\tcommune-actuelle\tTalant\t21\t27\t212106173\t21240\t11000\t\n";

    #[test]
    fn parses_every_record_kind() {
        let r = Referential::parse(SAMPLE).expect("sample parses");
        assert_eq!(r.regions[0].nom, "Bourgogne-Franche-Comté");
        assert_eq!(r.departements[0].region_code, "27");
        assert_eq!(r.epcis[0].members, vec!["21231", "21617"]);
        let dijon = &r.communes[0];
        assert_eq!(dijon.kind, CommuneType::Actuelle);
        assert_eq!(dijon.postal_codes, vec!["21000"]);
        assert_eq!(dijon.population, Some(161_830));
        assert_eq!(r.epci_of_communes().get("21231"), Some(&"242100410"));
    }

    #[test]
    fn reports_the_bad_line() {
        let err = Referential::parse("R\t27\tX\t\nC\t1\tvillage\tX\t\t\t\t\t\t\n").unwrap_err();
        assert_eq!(err.line, 2);
        assert!(err.to_string().contains("ligne 2"));
    }
}
