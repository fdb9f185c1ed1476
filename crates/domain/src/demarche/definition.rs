//! The definition of a démarche, and its JSON format (docs/DEMARCHE_FORMAT.md).

use crate::delai::Delai;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// What happens when the instruction deadline passes without a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TacitRule {
    /// Silence vaut accord: the request is accepted.
    Accord,
    /// Silence vaut rejet: the request is refused.
    Rejet,
    /// Nothing happens automatically.
    #[default]
    Aucune,
}

impl TacitRule {
    pub fn label(self) -> &'static str {
        match self {
            Self::Accord => "silence vaut accord",
            Self::Rejet => "silence vaut rejet",
            Self::Aucune => "pas de décision implicite",
        }
    }
}

/// What a correction request does to the instruction clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ApresCorrection {
    /// The dossier was incomplete: the whole delay runs again from the corrected deposit
    /// (CRPA art. L114-5, the common case).
    #[default]
    Recommence,
    /// The clock was suspended: it resumes with the days that were left.
    Reprend,
}

impl ApresCorrection {
    pub fn label(self) -> &'static str {
        match self {
            Self::Recommence => "le délai recommence à la réception des compléments",
            Self::Reprend => "le délai reprend là où il s'était arrêté",
        }
    }
}

/// The identity a usager needs to file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum IdentityLevel {
    Aucune,
    #[default]
    Compte,
    Franceconnect,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Definition {
    /// Version of this format.
    #[serde(default = "format_version")]
    pub format: u32,
    pub title: String,
    /// Plain-language description: what the démarche is for.
    pub description: String,
    /// Who it is for.
    #[serde(default)]
    pub audience: String,
    /// Documents to have at hand before starting.
    #[serde(default)]
    pub documents: Vec<String>,
    /// Code of the competence (see the one-door referential), e.g. "restauration_scolaire".
    #[serde(default)]
    pub competence: Option<String>,
    /// Instruction deadline from the (complete) deposit, in days, weeks, months or years:
    /// `{"amount": 2, "unit": "mois"}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<Delai>,
    /// The same in days, as the first versions of the format wrote it; read, never written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline_days: Option<u32>,
    #[serde(default)]
    pub tacit_rule: TacitRule,
    /// What a correction request does to the clock.
    #[serde(default, skip_serializing_if = "is_default")]
    pub after_correction: ApresCorrection,
    /// Months personal data is kept after the decision.
    pub retention_months: u32,
    #[serde(default)]
    pub identity: IdentityLevel,
    /// Contact of the service, printed on the accusé de réception.
    #[serde(default)]
    pub contact: Option<String>,
    /// Text of the decision letter, with placeholders ({numero}, {demandeur}, {demarche},
    /// {decision}, {motif}, {date}, {collectivite}); a standard letter when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_letter: Option<String>,
    /// Steps of the form, in order.
    pub pages: Vec<Page>,
}

fn format_version() -> u32 {
    1
}

fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Page {
    pub title: String,
    pub fields: Vec<Field>,
}

// No deny_unknown_fields here: serde cannot combine it with `flatten`; `check_keys` does that job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Field {
    /// Stable identifier: letters, digits and underscores, unique in the definition.
    pub id: String,
    pub label: String,
    #[serde(default)]
    pub help: Option<String>,
    #[serde(default)]
    pub required: bool,
    /// Shown (and required) only when this holds.
    #[serde(default)]
    pub condition: Option<Condition>,
    /// The profile value this field is prefilled from and offered to save back to
    /// (`crate::profil`): a key such as "contact.telephone"; "foyer.enfants" for a block;
    /// "prenoms", "nom" or "naissance" for a field of that block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    #[serde(flatten)]
    pub kind: FieldKind,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FieldKind {
    ShortText {
        #[serde(default)]
        max_length: Option<u32>,
    },
    LongText {
        #[serde(default)]
        max_length: Option<u32>,
    },
    Integer {
        #[serde(default)]
        min: Option<i64>,
        #[serde(default)]
        max: Option<i64>,
    },
    Decimal {
        #[serde(default)]
        min: Option<f64>,
        #[serde(default)]
        max: Option<f64>,
    },
    Date {
        /// ISO dates (YYYY-MM-DD) or "today".
        #[serde(default)]
        min: Option<String>,
        #[serde(default)]
        max: Option<String>,
    },
    Email,
    Phone,
    Address,
    Commune,
    SingleChoice {
        options: Vec<String>,
    },
    MultipleChoice {
        options: Vec<String>,
        #[serde(default)]
        min: Option<u32>,
        #[serde(default)]
        max: Option<u32>,
    },
    YesNo,
    Checkbox,
    File {
        /// Accepted types, as MIME types: application/pdf, image/jpeg, image/png, …
        accept: Vec<String>,
        max_size_mb: u32,
        #[serde(default = "one")]
        max_files: u32,
    },
    Siret,
    Iban,
    /// A heading that splits a page (no value).
    Heading,
    /// An explanation shown to the usager (no value); `label` holds the text.
    Explanation,
    /// A block repeated by the usager, e.g. one per child.
    Block {
        fields: Vec<Field>,
        #[serde(default)]
        min: u32,
        #[serde(default = "ten")]
        max: u32,
        /// Title of one repetition, e.g. "Enfant".
        item_label: String,
    },
}

fn one() -> u32 {
    1
}

fn ten() -> u32 {
    10
}

impl FieldKind {
    /// Whether the field holds a value typed by the usager.
    pub fn has_value(&self) -> bool {
        !matches!(self, Self::Heading | Self::Explanation)
    }

    pub fn label(&self) -> &'static str {
        match self {
            Self::ShortText { .. } => "texte court",
            Self::LongText { .. } => "texte long",
            Self::Integer { .. } => "nombre entier",
            Self::Decimal { .. } => "nombre décimal",
            Self::Date { .. } => "date",
            Self::Email => "adresse électronique",
            Self::Phone => "téléphone",
            Self::Address => "adresse postale",
            Self::Commune => "commune",
            Self::SingleChoice { .. } => "choix unique",
            Self::MultipleChoice { .. } => "choix multiple",
            Self::YesNo => "oui / non",
            Self::Checkbox => "case à cocher",
            Self::File { .. } => "pièce jointe",
            Self::Siret => "SIRET",
            Self::Iban => "IBAN",
            Self::Heading => "intertitre",
            Self::Explanation => "texte explicatif",
            Self::Block { .. } => "bloc répétable",
        }
    }
}

/// Show the field only when another field (earlier in the form) has one of these values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    pub field: String,
    /// The field's value must be one of these ("oui"/"non" for yes/no, "coche" for a checkbox).
    pub equals: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("ligne {line} : {message}")]
pub struct DefinitionError {
    /// 1-based line in the JSON text (0 when the definition was not read from text).
    pub line: usize,
    pub message: String,
}

impl Definition {
    /// Reads a definition from its JSON format and checks it; errors give the line.
    pub fn from_json(text: &str) -> Result<Self, Vec<DefinitionError>> {
        let definition: Definition = serde_json::from_str(text).map_err(|e| {
            vec![DefinitionError {
                line: e.line(),
                message: translate_serde(&e.to_string()),
            }]
        })?;
        let mut errors = check_keys(text);
        errors.extend(definition.check());
        for e in &mut errors {
            e.line = locate(text, &e.message);
        }
        if errors.is_empty() {
            Ok(definition)
        } else {
            Err(errors)
        }
    }

    /// The instruction deadline, whichever way the definition wrote it.
    pub fn instruction_delay(&self) -> Option<Delai> {
        self.deadline.or(self.deadline_days.map(Delai::jours))
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Every field, blocks' inner fields included, in form order.
    pub fn all_fields(&self) -> Vec<&Field> {
        fn walk<'a>(fields: &'a [Field], out: &mut Vec<&'a Field>) {
            for f in fields {
                out.push(f);
                if let FieldKind::Block { fields, .. } = &f.kind {
                    walk(fields, out);
                }
            }
        }
        let mut out = Vec::new();
        for p in &self.pages {
            walk(&p.fields, &mut out);
        }
        out
    }

    /// The commune a dossier is about: the value of the first commune field outside blocks.
    pub fn commune_of(&self, answers: &crate::demarche::Answers) -> Option<String> {
        self.pages
            .iter()
            .flat_map(|p| &p.fields)
            .filter(|f| matches!(f.kind, FieldKind::Commune))
            .find_map(|f| answers.0.get(&f.id).and_then(|v| v.first()).cloned())
    }

    pub fn field(&self, id: &str) -> Option<&Field> {
        self.all_fields().into_iter().find(|f| f.id == id)
    }

    /// What an answer's key means to the usager, for an error summary: `enfants[1].prenom` is
    /// "Enfant 2 — Prénom"; a key of no field is given back as it is.
    pub fn key_label(&self, key: &str) -> String {
        let mut parts = Vec::new();
        let mut fields: Vec<&Field> = self.pages.iter().flat_map(|p| &p.fields).collect();
        for segment in key.split('.') {
            let (id, index) = match segment.split_once('[') {
                Some((id, rest)) => (id, rest.trim_end_matches(']').parse::<usize>().ok()),
                None => (segment, None),
            };
            let Some(field) = fields.iter().copied().find(|f| f.id == id) else {
                return key.to_string();
            };
            match (&field.kind, index) {
                (
                    FieldKind::Block {
                        fields: inner,
                        item_label,
                        ..
                    },
                    Some(i),
                ) => {
                    parts.push(format!("{item_label} {}", i + 1));
                    fields = inner.iter().collect();
                }
                _ => parts.push(field.label.clone()),
            }
        }
        parts.join(" — ")
    }

    /// What prevents publishing a definition that is otherwise valid (an editor's work in
    /// progress may have them): a page or a block with nothing for the usager to fill.
    pub fn publication_problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self
            .competence
            .as_deref()
            .is_none_or(|c| c.trim().is_empty())
        {
            problems.push(
                "indiquez la compétence de la démarche, qui l'oriente vers les bons habitants"
                    .to_string(),
            );
        }
        for page in &self.pages {
            if !page.fields.iter().any(|f| f.kind.has_value()) {
                problems.push(format!("la page « {} » ne demande rien", page.title));
            }
        }
        for f in self.all_fields() {
            if let FieldKind::Block { fields, .. } = &f.kind {
                if fields.is_empty() {
                    problems.push(format!("le bloc « {} » ne contient aucun champ", f.label));
                }
            }
        }
        problems
    }

    /// Checks what the JSON schema cannot: unique ids, conditions on earlier fields, sane bounds.
    pub fn check(&self) -> Vec<DefinitionError> {
        let mut errors = Vec::new();
        let mut err = |message: String| errors.push(DefinitionError { line: 0, message });
        if self.title.trim().is_empty() {
            err("le titre « title » est vide".into());
        }
        if self.pages.is_empty() {
            err("la démarche doit avoir au moins une page".into());
        }
        if self.deadline.is_some() && self.deadline_days.is_some() {
            err("le délai d'instruction est donné deux fois : gardez « deadline » et retirez « deadline_days »".into());
        }
        match self.instruction_delay() {
            Some(d) if d.amount == 0 => {
                err("le délai d'instruction « deadline » ne peut pas être nul".into())
            }
            Some(d) if d.label().len() > 20 || d.amount > 3650 => {
                err("le délai d'instruction « deadline » est trop long".into())
            }
            None if self.tacit_rule != TacitRule::Aucune => err(format!(
                "la règle « {} » demande un délai d'instruction « deadline »",
                self.tacit_rule.label()
            )),
            _ => {}
        }
        if self.retention_months == 0 || self.retention_months > 1200 {
            err(
                "la durée de conservation « retention_months » doit être entre 1 et 1200 mois"
                    .into(),
            );
        }
        let mut seen: HashSet<&str> = HashSet::new();
        let mut earlier: Vec<&Field> = Vec::new();
        fn check_fields<'a>(
            fields: &'a [Field],
            in_block: bool,
            seen: &mut HashSet<&'a str>,
            earlier: &mut Vec<&'a Field>,
            err: &mut dyn FnMut(String),
        ) {
            for f in fields {
                let id = f.id.as_str();
                if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    err(format!("champ \"{id}\" : l'identifiant ne doit contenir que lettres, chiffres et _"));
                }
                if !seen.insert(id) {
                    err(format!("champ \"{id}\" : identifiant en double"));
                }
                if f.label.trim().is_empty() {
                    err(format!("champ \"{id}\" : le libellé « label » est vide"));
                }
                if let Some(message) = crate::profil::binding_error(f, in_block) {
                    err(message);
                }
                if let Some(c) = &f.condition {
                    match earlier.iter().find(|e| e.id == c.field) {
                        None => err(format!(
                            "champ \"{id}\" : la condition porte sur \"{}\", qui n'est pas un champ placé avant lui",
                            c.field
                        )),
                        Some(target) => {
                            if let FieldKind::SingleChoice { options } | FieldKind::MultipleChoice { options, .. } = &target.kind {
                                for v in &c.equals {
                                    if !options.contains(v) {
                                        err(format!("champ \"{id}\" : la condition attend « {v} », qui n'est pas une option de \"{}\"", c.field));
                                    }
                                }
                            }
                        }
                    }
                    if c.equals.is_empty() {
                        err(format!(
                            "champ \"{id}\" : la condition n'a aucune valeur « equals »"
                        ));
                    }
                }
                match &f.kind {
                    FieldKind::SingleChoice { options }
                    | FieldKind::MultipleChoice { options, .. } => {
                        if options.is_empty() {
                            err(format!("champ \"{id}\" : aucune option"));
                        }
                        let unique: HashSet<&String> = options.iter().collect();
                        if unique.len() != options.len() {
                            err(format!("champ \"{id}\" : option en double"));
                        }
                    }
                    FieldKind::Integer {
                        min: Some(a),
                        max: Some(b),
                    } if a > b => err(format!("champ \"{id}\" : le minimum dépasse le maximum")),
                    FieldKind::Decimal {
                        min: Some(a),
                        max: Some(b),
                    } if a > b => err(format!("champ \"{id}\" : le minimum dépasse le maximum")),
                    FieldKind::File {
                        accept,
                        max_size_mb,
                        max_files,
                    } => {
                        if accept.is_empty() {
                            err(format!("champ \"{id}\" : aucun type de fichier accepté"));
                        }
                        for a in accept {
                            if !crate::demarche::values::KNOWN_FILE_TYPES
                                .iter()
                                .any(|(m, _, _)| m == a)
                            {
                                err(format!(
                                    "champ \"{id}\" : type de fichier « {a} » non pris en charge"
                                ));
                            }
                        }
                        if *max_size_mb == 0 || *max_size_mb > 50 {
                            err(format!(
                                "champ \"{id}\" : la taille maximale doit être entre 1 et 50 Mo"
                            ));
                        }
                        if *max_files == 0 || *max_files > 20 {
                            err(format!(
                                "champ \"{id}\" : le nombre de fichiers doit être entre 1 et 20"
                            ));
                        }
                    }
                    FieldKind::Date { min, max } => {
                        for d in [min, max].into_iter().flatten() {
                            if d != "today" && crate::demarche::values::parse_date(d).is_none() {
                                err(format!("champ \"{id}\" : date « {d} » invalide (AAAA-MM-JJ ou \"today\")"));
                            }
                        }
                    }
                    FieldKind::Block {
                        fields, min, max, ..
                    } => {
                        if in_block {
                            err(format!("champ \"{id}\" : un bloc répétable ne peut pas contenir un autre bloc"));
                        }
                        if min > max || *max == 0 || *max > 100 {
                            err(format!("champ \"{id}\" : répétitions entre {min} et {max} impossibles (maximum 100)"));
                        }
                        earlier.push(f);
                        check_fields(fields, true, seen, earlier, err);
                        continue;
                    }
                    _ => {}
                }
                earlier.push(f);
            }
        }
        for page in &self.pages {
            if page.title.trim().is_empty() {
                err("une page n'a pas de titre".into());
            }
            check_fields(&page.fields, false, &mut seen, &mut earlier, &mut err);
        }
        errors
    }
}

/// The properties each field type allows, besides the common ones.
fn allowed_keys(kind: &str) -> &'static [&'static str] {
    match kind {
        "short_text" | "long_text" => &["max_length"],
        "integer" | "decimal" | "date" => &["min", "max"],
        "single_choice" => &["options"],
        "multiple_choice" => &["options", "min", "max"],
        "file" => &["accept", "max_size_mb", "max_files"],
        "block" => &["fields", "min", "max", "item_label"],
        _ => &[],
    }
}

const COMMON_KEYS: &[&str] = &[
    "id",
    "label",
    "help",
    "required",
    "condition",
    "type",
    "profile",
];

/// Unknown properties of fields (a typo such as "requird" must not pass silently).
fn check_keys(text: &str) -> Vec<DefinitionError> {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(text) else {
        return Vec::new();
    };
    let mut errors = Vec::new();
    fn walk(fields: &serde_json::Value, errors: &mut Vec<DefinitionError>) {
        for f in fields.as_array().into_iter().flatten() {
            let Some(obj) = f.as_object() else { continue };
            let id = obj.get("id").and_then(|v| v.as_str()).unwrap_or_default();
            let kind = obj.get("type").and_then(|v| v.as_str()).unwrap_or_default();
            for key in obj.keys() {
                if !COMMON_KEYS.contains(&key.as_str())
                    && !allowed_keys(kind).contains(&key.as_str())
                {
                    errors.push(DefinitionError {
                        line: 0,
                        message: format!(
                            "champ \"{id}\" : propriété inconnue « {key} » pour le type {kind}"
                        ),
                    });
                }
            }
            if let Some(inner) = obj.get("fields") {
                walk(inner, errors);
            }
        }
    }
    for page in value
        .get("pages")
        .and_then(|p| p.as_array())
        .into_iter()
        .flatten()
    {
        if let Some(fields) = page.get("fields") {
            walk(fields, &mut errors);
        }
    }
    errors
}

/// The line where the field named in a message is defined (its `"id": "…"`), else 1.
fn locate(text: &str, message: &str) -> usize {
    let id = message.split('"').nth(1).unwrap_or_default();
    if id.is_empty() {
        return 1;
    }
    text.lines()
        .position(|l| {
            let compact: String = l.chars().filter(|c| !c.is_whitespace()).collect();
            compact.contains(&format!("\"id\":\"{id}\""))
        })
        .map(|i| i + 1)
        .unwrap_or(1)
}

/// serde's messages, in French for the people who write definitions.
fn translate_serde(message: &str) -> String {
    let m = message.split(" at line ").next().unwrap_or(message);
    if let Some(rest) = m.strip_prefix("missing field ") {
        return format!("champ obligatoire manquant : {rest}");
    }
    if let Some(rest) = m.strip_prefix("unknown field ") {
        return format!(
            "propriété inconnue : {}",
            rest.split(", expected").next().unwrap_or(rest)
        );
    }
    if let Some(rest) = m.strip_prefix("unknown variant ") {
        return format!(
            "type inconnu : {}",
            rest.split(", expected").next().unwrap_or(rest)
        );
    }
    if m.starts_with("invalid type") {
        return format!("type de valeur incorrect ({m})");
    }
    if m.starts_with("expected")
        || m.starts_with("EOF")
        || m.starts_with("trailing")
        || m.starts_with("key must")
    {
        return format!("JSON mal formé ({m})");
    }
    m.to_string()
}
