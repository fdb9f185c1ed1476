//! Open data: the datasets a collectivité (or the platform) publishes, their licences, update
//! frequencies and Table Schemas (frictionless), the rule that suppresses small counts, and their
//! files (CSV, JSON, GeoJSON). The DCAT-AP description of the catalogue is in `dcat`.

pub mod dcat;
pub mod patrimoine;
pub mod schema;
pub mod shacl;

use serde_json::{json, Value};

/// The licences a dataset may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Licence {
    /// Etalab's Licence Ouverte 2.0, the default of French public bodies.
    LicenceOuverte,
    /// Open Database License 1.0 (share-alike).
    Odbl,
}

impl Licence {
    pub fn code(self) -> &'static str {
        match self {
            Self::LicenceOuverte => "lo-2.0",
            Self::Odbl => "odbl-1.0",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        [Self::LicenceOuverte, Self::Odbl]
            .into_iter()
            .find(|l| l.code() == code)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::LicenceOuverte => "Licence Ouverte 2.0 (Etalab)",
            Self::Odbl => "Open Database License (ODbL) 1.0",
        }
    }

    pub fn url(self) -> &'static str {
        match self {
            Self::LicenceOuverte => "https://www.etalab.gouv.fr/licence-ouverte-open-licence/",
            Self::Odbl => "https://opendatacommons.org/licenses/odbl/1-0/",
        }
    }
}

/// How often a dataset is updated, as the EU's frequency vocabulary names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frequence {
    Quotidienne,
    Hebdomadaire,
    Mensuelle,
    Irreguliere,
}

impl Frequence {
    pub fn code(self) -> &'static str {
        match self {
            Self::Quotidienne => "DAILY",
            Self::Hebdomadaire => "WEEKLY",
            Self::Mensuelle => "MONTHLY",
            Self::Irreguliere => "IRREG",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        [
            Self::Quotidienne,
            Self::Hebdomadaire,
            Self::Mensuelle,
            Self::Irreguliere,
        ]
        .into_iter()
        .find(|f| f.code() == code)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Quotidienne => "quotidienne",
            Self::Hebdomadaire => "hebdomadaire",
            Self::Mensuelle => "mensuelle",
            Self::Irreguliere => "irrégulière",
        }
    }

    /// The concept in the EU's authority table.
    pub fn uri(self) -> String {
        format!(
            "http://publications.europa.eu/resource/authority/frequency/{}",
            self.code()
        )
    }
}

/// A column's type, as Table Schema names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    String,
    Integer,
    Number,
    Boolean,
    Date,
    YearMonth,
}

impl FieldType {
    pub fn code(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Integer => "integer",
            Self::Number => "number",
            Self::Boolean => "boolean",
            Self::Date => "date",
            Self::YearMonth => "yearmonth",
        }
    }
}

/// A column of a generated dataset.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub name: &'static str,
    pub kind: FieldType,
    pub title: &'static str,
    pub description: &'static str,
    pub required: bool,
    /// A regular expression every value matches (Table Schema `pattern`).
    pub pattern: Option<&'static str>,
}

const fn col(
    name: &'static str,
    kind: FieldType,
    title: &'static str,
    description: &'static str,
    required: bool,
) -> Column {
    Column {
        name,
        kind,
        title,
        description,
        required,
        pattern: None,
    }
}

const fn with_pattern(mut c: Column, pattern: &'static str) -> Column {
    c.pattern = Some(pattern);
    c
}

use FieldType::{Boolean, Date, Integer, Number, YearMonth};

const COLL_NOM: Column = col(
    "COLL_NOM",
    FieldType::String,
    "Collectivité",
    "Nom de la collectivité",
    true,
);
const COLL_SIREN: Column = with_pattern(
    col(
        "COLL_SIREN",
        FieldType::String,
        "SIREN",
        "Numéro SIREN de la collectivité",
        false,
    ),
    "[0-9]{9}",
);

const DEMARCHES: &[Column] = &[
    COLL_NOM,
    COLL_SIREN,
    DEMARCHE_ID,
    DEMARCHE_TITRE,
    col(
        "COMPETENCE",
        FieldType::String,
        "Compétence",
        "Code de la compétence exercée",
        false,
    ),
    col(
        "DELAI",
        FieldType::String,
        "Délai",
        "Délai d'instruction annoncé",
        false,
    ),
    col(
        "SILENCE",
        FieldType::String,
        "Silence",
        "Ce que vaut le silence de l'administration au terme du délai (accord ou rejet)",
        false,
    ),
    col(
        "FRANCECONNECT",
        Boolean,
        "FranceConnect",
        "La démarche propose ou exige FranceConnect",
        true,
    ),
    with_pattern(
        col(
            "URL",
            FieldType::String,
            "Adresse",
            "Adresse de la démarche en ligne",
            true,
        ),
        "https?://\\S+",
    ),
];

const SIGNALEMENTS: &[Column] = &[
    COLL_NOM,
    col(
        "NUMERO",
        FieldType::String,
        "Numéro",
        "Numéro du signalement",
        true,
    ),
    col(
        "CATEGORIE",
        FieldType::String,
        "Catégorie",
        "Catégorie du signalement",
        true,
    ),
    col(
        "COMPETENCE",
        FieldType::String,
        "Compétence",
        "Code de la compétence concernée",
        true,
    ),
    with_pattern(
        col(
            "COMMUNE_INSEE",
            FieldType::String,
            "Commune (code INSEE)",
            "Code officiel géographique de la commune",
            true,
        ),
        "[0-9][0-9AB][0-9]{3}",
    ),
    col(
        "ETAT",
        FieldType::String,
        "État",
        "État du signalement",
        true,
    ),
    col(
        "DATE_SIGNALEMENT",
        Date,
        "Date du signalement",
        "Jour du signalement (heure de Paris)",
        true,
    ),
    col(
        "DATE_RESOLUTION",
        Date,
        "Date de résolution",
        "Jour de la résolution (heure de Paris), vide si non résolu",
        false,
    ),
    col(
        "LATITUDE",
        Number,
        "Latitude",
        "Latitude WGS 84, arrondie à quatre décimales",
        false,
    ),
    col(
        "LONGITUDE",
        Number,
        "Longitude",
        "Longitude WGS 84, arrondie à quatre décimales",
        false,
    ),
];

const DEMARCHE_ID: Column = col(
    "DEMARCHE_ID",
    FieldType::String,
    "Identifiant",
    "Identifiant de la démarche dans la collectivité",
    true,
);

const DEMARCHE_TITRE: Column = col(
    "DEMARCHE_TITRE",
    FieldType::String,
    "Démarche",
    "Titre de la démarche",
    true,
);

const DOSSIERS_PAR_MOIS: &[Column] = &[
    COLL_NOM,
    DEMARCHE_ID,
    DEMARCHE_TITRE,
    col(
        "MOIS",
        YearMonth,
        "Mois",
        "Mois du dépôt (heure de Paris)",
        true,
    ),
    col(
        "DEPOSES",
        Integer,
        "Déposés",
        "Dossiers déposés dans le mois (vide : moins de 5, non publié)",
        false,
    ),
    col(
        "ACCEPTES",
        Integer,
        "Acceptés",
        "Dossiers déposés dans le mois et acceptés (vide : moins de 5)",
        false,
    ),
    col(
        "REFUSES",
        Integer,
        "Refusés",
        "Dossiers déposés dans le mois et refusés (vide : moins de 5)",
        false,
    ),
];

const COLLECTIVITES: &[Column] = &[
    COLL_NOM,
    COLL_SIREN,
    col(
        "TYPE",
        FieldType::String,
        "Type",
        "Nature de la collectivité (commune, EPCI, département, région)",
        true,
    ),
    col(
        "CODE",
        FieldType::String,
        "Code officiel",
        "Code INSEE de la commune, du département ou de la région, SIREN de l'EPCI",
        true,
    ),
    with_pattern(
        col(
            "URL",
            FieldType::String,
            "Adresse",
            "Page de la collectivité sur la plateforme",
            true,
        ),
        "https?://\\S+",
    ),
];

/// The SCDL délibérations schema's fields, in its order.
const DELIBERATIONS: &[Column] = &[
    COLL_NOM,
    with_pattern(
        col(
            "COLL_SIRET",
            FieldType::String,
            "SIRET",
            "SIRET de la collectivité délibérante",
            true,
        ),
        "^\\d{14}$",
    ),
    col(
        "DELIB_ID",
        FieldType::String,
        "Numéro",
        "Numéro de la délibération (année-rang)",
        true,
    ),
    col(
        "DELIB_DATE",
        Date,
        "Date",
        "Date de la séance (heure de Paris)",
        true,
    ),
    with_pattern(
        col(
            "DELIB_MATIERE_CODE",
            FieldType::String,
            "Code matière",
            "Matière de la nomenclature ACTES (niveau 2)",
            true,
        ),
        "^\\d\\.\\d{1,2}$",
    ),
    col(
        "DELIB_MATIERE_NOM",
        FieldType::String,
        "Matière",
        "Nom de la matière ACTES",
        true,
    ),
    col(
        "DELIB_OBJET",
        FieldType::String,
        "Objet",
        "Objet de la délibération",
        true,
    ),
    col(
        "BUDGET_ANNEE",
        FieldType::String,
        "Exercice",
        "Exercice budgétaire concerné",
        false,
    ),
    col(
        "BUDGET_NOM",
        FieldType::String,
        "Budget",
        "Budget concerné",
        false,
    ),
    col(
        "PREF_ID",
        FieldType::String,
        "Préfecture",
        "Identifiant de la préfecture",
        false,
    ),
    col(
        "PREF_DATE",
        Date,
        "Date de transmission",
        "Date de réception au contrôle de légalité",
        false,
    ),
    col(
        "VOTE_EFFECTIF",
        Integer,
        "Membres en exercice",
        "Membres en exercice",
        false,
    ),
    col(
        "VOTE_REEL",
        Integer,
        "Votants",
        "Membres ayant pris part au vote",
        false,
    ),
    col("VOTE_POUR", Integer, "Pour", "Votes pour", false),
    col("VOTE_CONTRE", Integer, "Contre", "Votes contre", false),
    col(
        "VOTE_ABSTENTION",
        Integer,
        "Abstentions",
        "Abstentions",
        false,
    ),
    col(
        "DELIB_URL",
        FieldType::String,
        "Adresse",
        "Adresse de l'acte publié (PDF/A)",
        false,
    ),
];

const INDICATEURS: &[Column] = &[
    COLL_NOM,
    DEMARCHE_ID,
    DEMARCHE_TITRE,
    col(
        "MOIS",
        YearMonth,
        "Mois",
        "Mois du dépôt ou de la décision (heure de Paris)",
        true,
    ),
    with_pattern(
        col(
            "CANAL",
            FieldType::String,
            "Canal",
            "en_ligne, aidant (avec un aidant) ou guichet (au guichet de la collectivité)",
            true,
        ),
        "en_ligne|aidant|guichet",
    ),
    col(
        "DEPOSES",
        Integer,
        "Déposés",
        "Dossiers déposés dans le mois (vide : moins de 5, non publié)",
        false,
    ),
    col(
        "DECIDES",
        Integer,
        "Décidés",
        "Décisions rendues dans le mois (vide : moins de 5)",
        false,
    ),
    col(
        "ACCEPTES",
        Integer,
        "Acceptés",
        "Décisions d'acceptation du mois (vide : moins de 5)",
        false,
    ),
    col(
        "REFUSES",
        Integer,
        "Refusés",
        "Décisions de refus du mois (vide : moins de 5)",
        false,
    ),
    col(
        "SANS_SUITE",
        Integer,
        "Sans suite",
        "Dossiers classés sans suite dans le mois (vide : moins de 5)",
        false,
    ),
    col(
        "IMPLICITES",
        Integer,
        "Implicites",
        "Décisions implicites (silence de l'administration) du mois (vide : moins de 5)",
        false,
    ),
    col(
        "DANS_LE_DELAI",
        Integer,
        "Dans le délai",
        "Décisions du mois rendues dans le délai légal (vide : moins de 5)",
        false,
    ),
    col(
        "CORRECTIONS",
        Integer,
        "Corrections",
        "Corrections demandées aux usagers dans le mois (vide : moins de 5)",
        false,
    ),
    col(
        "AVIS",
        Integer,
        "Avis",
        "Réponses à « Comment s'est passée cette démarche ? » (vide : moins de 5)",
        false,
    ),
    col(
        "NOTE_MOYENNE",
        Number,
        "Note moyenne",
        "Note moyenne sur 10 de ces réponses (vide : moins de 5 réponses)",
        false,
    ),
];

/// The datasets the platform generates from what it holds, refreshed by its worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Genere {
    /// The démarches a collectivité offers online.
    Demarches,
    /// A collectivité's public signalements, without personal data.
    Signalements,
    /// Dossiers deposited per démarche and month, with decisions; small counts suppressed.
    DossiersParMois,
    /// The collectivités of the platform (the platform's own dataset).
    Collectivites,
    /// The observatoire's figures per démarche, month and channel; small counts suppressed.
    Indicateurs,
    /// The council's published délibérations, in the SCDL délibérations schema (for the
    /// collectivités that run their council on the platform).
    Deliberations,
}

impl Genere {
    /// Per collectivité, in the order pages show them.
    pub const PER_COLLECTIVITE: [Genere; 4] = [
        Self::Demarches,
        Self::Signalements,
        Self::DossiersParMois,
        Self::Indicateurs,
    ];

    pub fn slug(self) -> &'static str {
        match self {
            Self::Demarches => "demarches",
            Self::Signalements => "signalements",
            Self::DossiersParMois => "dossiers-par-mois",
            Self::Collectivites => "collectivites",
            Self::Indicateurs => "indicateurs",
            Self::Deliberations => "deliberations",
        }
    }

    pub fn from_slug(slug: &str) -> Option<Self> {
        [
            Self::Demarches,
            Self::Signalements,
            Self::DossiersParMois,
            Self::Collectivites,
            Self::Indicateurs,
            Self::Deliberations,
        ]
        .into_iter()
        .find(|g| g.slug() == slug)
    }

    /// What it holds, whoever publishes it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Demarches => "Démarches en ligne",
            Self::Signalements => "Signalements",
            Self::DossiersParMois => "Dossiers déposés par démarche et par mois",
            Self::Collectivites => "Collectivités",
            Self::Indicateurs => "Indicateurs de l'observatoire des démarches",
            Self::Deliberations => "Délibérations",
        }
    }

    pub fn title(self, of: &str) -> String {
        format!("{} — {of}", self.label())
    }

    pub fn description(self, of: &str) -> String {
        match self {
            Self::Demarches => format!("Les démarches administratives que {of} propose en ligne sur Guichet : titre, compétence, délai d'instruction annoncé, ce que vaut le silence de l'administration, FranceConnect."),
            Self::Signalements => format!("Les signalements publics traités par {of} (voirie, propreté, éclairage…) : catégorie, commune, état, dates et position arrondie. Sans donnée personnelle : ni description, ni adresse, ni auteur."),
            Self::DossiersParMois => format!("Le nombre de dossiers déposés chaque mois pour chaque démarche de {of}, et combien ont été acceptés ou refusés. Les nombres de 1 à 4 ne sont pas publiés (secret statistique)."),
            Self::Collectivites => format!("Les collectivités qui proposent leurs démarches sur {of}."),
            Self::Deliberations => format!("Les délibérations du conseil de {of}, publiées en ligne au format PDF/A : numéro, date, matière de la nomenclature ACTES, objet, votes et adresse de l'acte (schéma SCDL Délibérations)."),
            Self::Indicateurs => format!("Les chiffres de l'observatoire pour chaque démarche de {of}, par mois et par canal (en ligne, avec un aidant, au guichet) : dossiers déposés, décisions, décisions dans le délai légal, décisions implicites, corrections demandées, satisfaction des usagers. Les nombres de 1 à 4 ne sont pas publiés (secret statistique)."),
        }
    }

    pub fn frequency(self) -> Frequence {
        match self {
            Self::Demarches | Self::Signalements => Frequence::Quotidienne,
            Self::DossiersParMois => Frequence::Mensuelle,
            Self::Collectivites => Frequence::Irreguliere,
            Self::Indicateurs => Frequence::Quotidienne,
            Self::Deliberations => Frequence::Irreguliere,
        }
    }

    pub fn columns(self) -> &'static [Column] {
        match self {
            Self::Demarches => DEMARCHES,
            Self::Signalements => SIGNALEMENTS,
            Self::DossiersParMois => DOSSIERS_PAR_MOIS,
            Self::Collectivites => COLLECTIVITES,
            Self::Indicateurs => INDICATEURS,
            Self::Deliberations => DELIBERATIONS,
        }
    }

    /// Whether its rows have a position (then a GeoJSON distribution is offered).
    pub fn located(self) -> bool {
        self == Self::Signalements
    }

    /// Its Table Schema (frictionless), with the address it is published at.
    pub fn table_schema(self, url: &str) -> Value {
        let fields: Vec<Value> = self
            .columns()
            .iter()
            .map(|c| {
                let mut constraints = serde_json::Map::new();
                if c.required {
                    constraints.insert("required".into(), json!(true));
                }
                if let Some(p) = c.pattern {
                    constraints.insert("pattern".into(), json!(p));
                }
                if c.kind == Integer {
                    constraints.insert("minimum".into(), json!(0));
                }
                let mut field = json!({
                    "name": c.name,
                    "title": c.title,
                    "description": c.description,
                    "type": c.kind.code(),
                });
                if c.kind == Boolean {
                    field["trueValues"] = json!(["true"]);
                    field["falseValues"] = json!(["false"]);
                }
                if !constraints.is_empty() {
                    field["constraints"] = Value::Object(constraints);
                }
                field
            })
            .collect();
        json!({
            "$schema": "https://specs.frictionlessdata.io/schemas/table-schema.json",
            "name": self.slug(),
            "title": self.label(),
            "path": url,
            "fields": fields,
            "missingValues": [""],
        })
    }
}

/// The SCDL schemas shipped with Guichet (schema.data.gouv.fr, MIT): name, title, descriptor.
pub const SCDL: [(&str, &str, &str); 5] = [
    (
        "deliberations",
        "Délibérations (SCDL 2.1.5)",
        include_str!("../../schemas/scdl/deliberations.schema.json"),
    ),
    (
        "subventions",
        "Subventions (SCDL 2.1.1)",
        include_str!("../../schemas/scdl/subventions.schema.json"),
    ),
    (
        "equipements",
        "Équipements (SCDL 0.1.5)",
        include_str!("../../schemas/scdl/equipements.schema.json"),
    ),
    (
        "budget",
        "Budget (SCDL 0.8.3)",
        include_str!("../../schemas/scdl/budget.schema.json"),
    ),
    (
        "catalogue",
        "Catalogue simplifié (SCDL 0.1.3)",
        include_str!("../../schemas/scdl/catalogue.schema.json"),
    ),
];

/// A shipped SCDL schema's descriptor, by name.
pub fn scdl(name: &str) -> Option<Value> {
    SCDL.iter()
        .find(|(n, _, _)| *n == name)
        .and_then(|(_, _, text)| serde_json::from_str(text).ok())
}

/// A dataset's address part from its title: lower-case ASCII letters and digits joined by
/// hyphens, at most 60 characters.
pub fn slug(title: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let folded: String = title
        .nfd()
        .filter(|c| c.is_ascii())
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                ' '
            }
        })
        .collect();
    let joined = folded.split_whitespace().collect::<Vec<_>>().join("-");
    joined
        .chars()
        .take(60)
        .collect::<String>()
        .trim_end_matches('-')
        .to_string()
}

/// Names a dataset may not take: the generated ones, the catalogue's and the register's.
pub fn reserved(slug: &str) -> bool {
    matches!(slug, "catalogue" | "patrimoine") || Genere::from_slug(slug).is_some()
}

/// Counts from 1 to 4 are not published (statistical secret): a blank cell instead.
pub const SMALLEST_PUBLISHED: i64 = 5;

pub fn count_cell(n: i64) -> String {
    if n > 0 && n < SMALLEST_PUBLISHED {
        String::new()
    } else {
        n.to_string()
    }
}

/// A coordinate rounded to four decimals (about ten metres): where, not whose door.
pub fn coordinate_cell(value: Option<f64>) -> String {
    value
        .filter(|v| v.is_finite())
        .map(|v| format!("{:.4}", v))
        .unwrap_or_default()
}

/// A dataset's rows as JSON objects typed by its columns (a blank cell is `null`).
pub fn json_rows(columns: &[Column], rows: &[Vec<String>]) -> Value {
    Value::Array(
        rows.iter()
            .map(|row| {
                let object: serde_json::Map<String, Value> = columns
                    .iter()
                    .zip(row)
                    .map(|(c, cell)| (c.name.to_string(), typed(c.kind, cell)))
                    .collect();
                Value::Object(object)
            })
            .collect(),
    )
}

fn typed(kind: FieldType, cell: &str) -> Value {
    if cell.is_empty() {
        return Value::Null;
    }
    match kind {
        Integer => cell.parse::<i64>().map(Value::from).unwrap_or(Value::Null),
        Number => cell.parse::<f64>().map(Value::from).unwrap_or(Value::Null),
        Boolean => Value::Bool(cell == "true"),
        _ => Value::String(cell.to_string()),
    }
}

/// A located dataset's rows as a GeoJSON FeatureCollection (rows without a position left out).
pub fn geojson_rows(columns: &[Column], rows: &[Vec<String>]) -> Value {
    let position = |name: &str| columns.iter().position(|c| c.name == name);
    let (Some(lat), Some(lon)) = (position("LATITUDE"), position("LONGITUDE")) else {
        return json!({ "type": "FeatureCollection", "features": [] });
    };
    let features: Vec<Value> = rows
        .iter()
        .filter_map(|row| {
            let y: f64 = row.get(lat)?.parse().ok()?;
            let x: f64 = row.get(lon)?.parse().ok()?;
            let properties: serde_json::Map<String, Value> = columns
                .iter()
                .zip(row)
                .enumerate()
                .filter(|(i, _)| *i != lat && *i != lon)
                .map(|(_, (c, cell))| (c.name.to_string(), typed(c.kind, cell)))
                .collect();
            Some(json!({
                "type": "Feature",
                "geometry": { "type": "Point", "coordinates": [x, y] },
                "properties": properties,
            }))
        })
        .collect();
    json!({ "type": "FeatureCollection", "features": features })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_counts_are_blank_and_zero_stays() {
        assert_eq!(count_cell(0), "0");
        assert_eq!(count_cell(1), "");
        assert_eq!(count_cell(4), "");
        assert_eq!(count_cell(5), "5");
        assert_eq!(coordinate_cell(Some(47.322_047_9)), "47.3220");
        assert_eq!(coordinate_cell(None), "");
        assert_eq!(coordinate_cell(Some(f64::NAN)), "");
    }

    #[test]
    fn every_generated_dataset_has_a_schema_whose_fields_are_its_columns() {
        for g in [
            Genere::Demarches,
            Genere::Signalements,
            Genere::DossiersParMois,
            Genere::Collectivites,
            Genere::Indicateurs,
        ] {
            assert_eq!(Genere::from_slug(g.slug()), Some(g));
            let schema = g.table_schema("https://x/s.json");
            let names: Vec<&str> = schema["fields"]
                .as_array()
                .expect("fields")
                .iter()
                .filter_map(|f| f["name"].as_str())
                .collect();
            let columns: Vec<&str> = g.columns().iter().map(|c| c.name).collect();
            assert_eq!(names, columns);
        }
    }

    #[test]
    fn json_and_geojson_type_the_cells() {
        let rows = vec![vec![
            "Dijon".to_string(),
            "S-1".into(),
            "Voirie".into(),
            "voirie".into(),
            "21231".into(),
            "nouveau".into(),
            "2026-12-01".into(),
            String::new(),
            "47.3220".into(),
            "5.0415".into(),
        ]];
        let json = json_rows(SIGNALEMENTS, &rows);
        assert_eq!(json[0]["LATITUDE"], 47.322);
        assert_eq!(json[0]["DATE_RESOLUTION"], Value::Null);
        let geo = geojson_rows(SIGNALEMENTS, &rows);
        assert_eq!(geo["features"][0]["geometry"]["coordinates"][0], 5.0415);
        assert_eq!(geo["features"][0]["properties"]["NUMERO"], "S-1");
        assert!(geo["features"][0]["properties"].get("LATITUDE").is_none());
    }
}
