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
    /// FranceConnect is offered first; an ordinary account does as well.
    FranceconnectProposee,
    /// A certified identity: FranceConnect before starting.
    Franceconnect,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
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
    /// Rules between fields.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<Regle>,
    /// Cases where the démarche does not apply.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ineligibility: Vec<Ineligibilite>,
    /// The team a new dossier goes to, by its answers: the first rule that holds.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routing: Vec<Orientation>,
    /// Annotations privées: fields the agents fill (an inspection report, a score, an amount
    /// granted), never shown to the usager.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub annotations: Vec<Field>,
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
        /// A regular expression the whole answer must match (`regex` syntax, no backtracking).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pattern: Option<String>,
        /// The admin's message when the pattern does not match.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pattern_message: Option<String>,
        /// An answer that fits, shown to the usager ("W212001234").
        #[serde(default, skip_serializing_if = "Option::is_none")]
        example: Option<String>,
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
        /// ISO dates (YYYY-MM-DD) or "today" (the day of the deposit).
        #[serde(default)]
        min: Option<String>,
        #[serde(default)]
        max: Option<String>,
        /// A birth date: the age it gives on a reference day.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        age: Option<AgeBound>,
        /// At most this long before the deposit, and not after it (a Kbis, a proof of address).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        within: Option<Delai>,
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
    /// The number of an association in the Répertoire national des associations: W + 9 characters.
    Rna,
    /// A French postal code: five digits.
    CodePostal,
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
    /// A short text of at most `max_length` characters, with no pattern.
    pub fn short_text(max_length: Option<u32>) -> Self {
        Self::ShortText {
            max_length,
            pattern: None,
            pattern_message: None,
            example: None,
        }
    }

    /// A date between fixed bounds ("today" is the day of the deposit), nothing relative.
    pub fn date(min: Option<String>, max: Option<String>) -> Self {
        Self::Date {
            min,
            max,
            age: None,
            within: None,
        }
    }

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
            Self::Rna => "numéro RNA",
            Self::CodePostal => "code postal",
            Self::Heading => "intertitre",
            Self::Explanation => "texte explicatif",
            Self::Block { .. } => "bloc répétable",
        }
    }
}

/// An age bound on a birth date: "between 2 and 12 years on 1 September".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgeBound {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<u32>,
    /// The day the age is reached; the day of the deposit when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on: Option<JourDeReference>,
}

/// A fixed day of the year, in the year of the deposit plus an offset: 1 September of the
/// school year is `{"day": "09-01"}`, 1 January of next year `{"day": "01-01", "year_offset": 1}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JourDeReference {
    /// Month and day, "MM-DD".
    pub day: String,
    #[serde(default, skip_serializing_if = "is_default")]
    pub year_offset: i32,
}

impl JourDeReference {
    /// (month, day) when "MM-DD" names a day that exists in some year.
    pub fn month_day(&self) -> Option<(i8, i8)> {
        let (m, d) = self.day.split_once('-')?;
        let (m, d): (i8, i8) = (m.parse().ok()?, d.parse().ok()?);
        jiff::civil::Date::new(2028, m, d).ok().map(|_| (m, d))
    }

    /// The day for a deposit on `deposit`; the 29th of February falls back to the 28th.
    pub fn resolve(&self, deposit: jiff::civil::Date) -> Option<jiff::civil::Date> {
        let (m, d) = self.month_day()?;
        let year = i32::from(deposit.year()) + self.year_offset;
        let year = i16::try_from(year).ok()?;
        jiff::civil::Date::new(year, m, d)
            .or_else(|_| jiff::civil::Date::new(year, m, d - 1))
            .ok()
    }
}

/// How a value compares with another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Comparaison {
    /// Strictly less (for dates: before).
    Lt,
    Le,
    Eq,
    Ge,
    /// Strictly more (for dates: after).
    Gt,
    Before,
    After,
}

impl Comparaison {
    pub fn holds(self, ordering: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering::{Equal, Greater, Less};
        match self {
            Self::Lt | Self::Before => ordering == Less,
            Self::Le => ordering != Greater,
            Self::Eq => ordering == Equal,
            Self::Ge => ordering != Less,
            Self::Gt | Self::After => ordering == Greater,
        }
    }

    /// "est inférieur ou égal à", for spelled-out conditions.
    pub fn words(self) -> &'static str {
        match self {
            Self::Lt => "est inférieur à",
            Self::Le => "est inférieur ou égal à",
            Self::Eq => "est égal à",
            Self::Ge => "est supérieur ou égal à",
            Self::Gt => "est supérieur à",
            Self::Before => "est avant le",
            Self::After => "est après le",
        }
    }
}

/// When a field is shown: a test on an earlier field (`equals`, `differs`, `includes` or
/// `compare` with `value`), or a combination of conditions (`all`, `any`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub field: String,
    /// The field's value is one of these ("oui"/"non" for yes/no, "coche" for a checkbox).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub equals: Vec<String>,
    /// The field was answered with none of these.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub differs: Vec<String>,
    /// A multiple choice includes this option.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub includes: Option<String>,
    /// The field's number or date compares so with `value`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compare: Option<Comparaison>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Every one of these holds.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub all: Vec<Condition>,
    /// At least one of these holds.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub any: Vec<Condition>,
}

impl Condition {
    /// The condition of the first versions of the format: one field, one of these values.
    pub fn equals(field: impl Into<String>, values: Vec<String>) -> Self {
        Self {
            field: field.into(),
            equals: values,
            ..Default::default()
        }
    }

    /// Whether the editor's simple form (one field, values it equals) can show it.
    pub fn is_simple(&self) -> bool {
        *self == Self::equals(self.field.clone(), self.equals.clone()) && !self.field.is_empty()
    }

    /// The fields it reads.
    pub fn fields(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        if !self.field.is_empty() {
            out.push(&self.field);
        }
        for c in self.all.iter().chain(&self.any) {
            out.extend(c.fields());
        }
        out
    }

    /// The condition in words, after "si": `vous avez répondu « oui » à « Chauffage ? »`.
    pub fn describe(&self, label: &dyn Fn(&str) -> String) -> String {
        let quoted = |v: &[String]| v.join(" » ou « ");
        if !self.all.is_empty() || !self.any.is_empty() {
            let all: Vec<String> = self.all.iter().map(|c| c.describe(label)).collect();
            let any: Vec<String> = self.any.iter().map(|c| c.describe(label)).collect();
            let mut parts = Vec::new();
            if !all.is_empty() {
                parts.push(all.join(" et "));
            }
            if !any.is_empty() {
                parts.push(format!("({})", any.join(" ou ")));
            }
            return parts.join(" et ");
        }
        let target = label(&self.field);
        if !self.equals.is_empty() {
            format!(
                "vous avez répondu « {} » à « {target} »",
                quoted(&self.equals)
            )
        } else if !self.differs.is_empty() {
            format!(
                "vous avez répondu autre chose que « {} » à « {target} »",
                quoted(&self.differs)
            )
        } else if let Some(v) = &self.includes {
            format!("vous avez coché « {v} » à « {target} »")
        } else if let (Some(c), Some(v)) = (self.compare, &self.value) {
            format!("« {target} » {} {v}", c.words())
        } else {
            format!("vous avez répondu à « {target} »")
        }
    }

    /// What is wrong with its shape, if anything.
    fn shape_error(&self) -> Option<&'static str> {
        let combined = !self.all.is_empty() || !self.any.is_empty();
        let tests = usize::from(!self.equals.is_empty())
            + usize::from(!self.differs.is_empty())
            + usize::from(self.includes.is_some())
            + usize::from(self.compare.is_some());
        if combined {
            if !self.field.is_empty() || tests > 0 {
                return Some(
                    "une condition combinée (« all », « any ») ne porte pas elle-même sur un champ",
                );
            }
            return None;
        }
        if self.field.is_empty() {
            return Some("la condition ne dit pas sur quel champ « field » elle porte");
        }
        if tests == 0 {
            return Some("la condition n'a aucune valeur « equals »");
        }
        if tests > 1 {
            return Some("la condition a plusieurs tests : combinez-les avec « all » ou « any »");
        }
        if self.compare.is_some() != self.value.is_some() {
            return Some("une comparaison « compare » demande une valeur « value »");
        }
        None
    }
}

/// A rule between fields: a field (or the sum of a block's field) compared with another field,
/// with the admin's message tied to the field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Regle {
    /// The field checked: "date_fin", or "block.field" for a field of each repetition.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub field: String,
    /// Instead of `field`: the sum of a block's numbers, "depenses.montant".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sum: Option<String>,
    pub compare: Comparaison,
    /// The other field: "date_debut", or "block.field" for the same repetition.
    pub to: String,
    /// For dates: at least this much after (or before) the other date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gap: Option<Delai>,
    pub message: String,
}

/// Where a new dossier goes: to the collectivité's team of this name when the condition holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Orientation {
    pub condition: Condition,
    pub team: String,
}

/// A case where the démarche does not apply: the deposit stops with the explanation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ineligibilite {
    pub condition: Condition,
    pub message: String,
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

    /// The annotations as a form of one page, to validate and show them like answers.
    pub fn annotations_form(&self) -> Definition {
        Definition {
            title: self.title.clone(),
            retention_months: self.retention_months,
            pages: vec![Page {
                title: "Annotations privées".into(),
                fields: self.annotations.clone(),
            }],
            ..Default::default()
        }
    }

    /// The team a dossier with these answers goes to, by the first routing rule that holds.
    pub fn team_for(&self, answers: &crate::demarche::Answers) -> Option<&str> {
        self.routing
            .iter()
            .find(|r| crate::demarche::values::holds(&r.condition, answers, None))
            .map(|r| r.team.as_str())
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
        if self.description.trim().is_empty() {
            err("la description « description » est vide : dites en quelques mots à quoi sert la démarche".into());
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
                    check_condition(c, &format!("champ \"{id}\""), earlier, err);
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
                    FieldKind::Date {
                        min,
                        max,
                        age,
                        within,
                    } => {
                        for d in [min, max].into_iter().flatten() {
                            if d != "today" && crate::demarche::values::parse_date(d).is_none() {
                                err(format!("champ \"{id}\" : date « {d} » invalide (AAAA-MM-JJ ou \"today\")"));
                            }
                        }
                        if let Some(a) = age {
                            if a.min.is_none() && a.max.is_none() {
                                err(format!("champ \"{id}\" : l'âge « age » demande un minimum « min » ou un maximum « max »"));
                            }
                            if let (Some(lo), Some(hi)) = (a.min, a.max) {
                                if lo > hi {
                                    err(format!(
                                        "champ \"{id}\" : l'âge minimum dépasse l'âge maximum"
                                    ));
                                }
                            }
                            if a.min.max(a.max).is_some_and(|n| n > 150) {
                                err(format!("champ \"{id}\" : un âge ne dépasse pas 150 ans"));
                            }
                            if let Some(on) = &a.on {
                                if on.month_day().is_none() {
                                    err(format!("champ \"{id}\" : jour de référence « {} » invalide (MM-JJ, par exemple 09-01 pour le 1er septembre)", on.day));
                                }
                                if on.year_offset.abs() > 5 {
                                    err(format!("champ \"{id}\" : décalage d'année « year_offset » entre -5 et 5"));
                                }
                            }
                        }
                        if within.is_some_and(|w| w.amount == 0 || w.amount > 1200) {
                            err(format!(
                                "champ \"{id}\" : la durée « within » doit être entre 1 et 1200"
                            ));
                        }
                    }
                    FieldKind::ShortText {
                        pattern: Some(p),
                        example,
                        ..
                    } => match crate::demarche::values::compile_pattern(p) {
                        Err(e) => err(format!("champ \"{id}\" : motif « pattern » invalide ({e})")),
                        Ok(re) => {
                            if let Some(x) = example.as_ref().filter(|x| !re.is_match(x)) {
                                err(format!(
                                    "champ \"{id}\" : l'exemple « {x} » ne respecte pas le motif"
                                ));
                            }
                        }
                    },
                    FieldKind::Block {
                        fields, min, max, ..
                    } => {
                        if in_block {
                            err(format!("champ \"{id}\" : un bloc répétable ne peut pas contenir un autre bloc"));
                        }
                        if min > max || *max == 0 || *max > 100 {
                            err(format!("champ \"{id}\" : répétitions entre {min} et {max} impossibles (maximum 100)"));
                        }
                        // Fields of a block are seen by the fields after them in the same
                        // block only: a condition outside the block could not say which
                        // repetition it reads.
                        let mut inside = earlier.clone();
                        check_fields(fields, true, seen, &mut inside, err);
                        earlier.push(f);
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
        for (i, rule) in self.rules.iter().enumerate() {
            self.check_rule(i + 1, rule, &mut err);
        }
        // Annotations: the same fields, with ids of their own; no file or block, and conditions
        // on earlier annotations only.
        let mut agents: Vec<&Field> = Vec::new();
        for f in &self.annotations {
            if matches!(f.kind, FieldKind::File { .. } | FieldKind::Block { .. }) {
                err(format!(
                    "champ \"{}\" : une annotation ne peut pas être une pièce jointe ni un bloc",
                    f.id
                ));
            }
        }
        check_fields(&self.annotations, false, &mut seen, &mut agents, &mut err);
        for (i, rule) in self.routing.iter().enumerate() {
            let at = format!("orientation {}", i + 1);
            check_condition(&rule.condition, &at, &earlier, &mut err);
            if rule.team.trim().is_empty() {
                err(format!("{at} : le nom de l'équipe « team » est vide"));
            }
        }
        for (i, case) in self.ineligibility.iter().enumerate() {
            let at = format!("cas d'inéligibilité {}", i + 1);
            check_condition(&case.condition, &at, &earlier, &mut err);
            if case.message.trim().is_empty() {
                err(format!("{at} : le message « message » est vide"));
            }
        }
        errors
    }

    /// The field a rule names: "id" outside blocks, or "block.id"; with its block, if any.
    pub fn rule_field(&self, path: &str) -> Option<(Option<&Field>, &Field)> {
        let top = self.pages.iter().flat_map(|p| &p.fields);
        match path.split_once('.') {
            None => top.filter(|f| f.id == path).map(|f| (None, f)).next(),
            Some((block, inner)) => top.filter(|f| f.id == block).find_map(|b| match &b.kind {
                FieldKind::Block { fields, .. } => {
                    fields.iter().find(|f| f.id == inner).map(|f| (Some(b), f))
                }
                _ => None,
            }),
        }
    }

    fn check_rule(&self, n: usize, rule: &Regle, err: &mut dyn FnMut(String)) {
        let at = format!("règle {n}");
        let numeric = |f: &Field| {
            matches!(
                f.kind,
                FieldKind::Integer { .. } | FieldKind::Decimal { .. }
            )
        };
        let date = |f: &Field| matches!(f.kind, FieldKind::Date { .. });
        if rule.message.trim().is_empty() {
            err(format!("{at} : le message « message » est vide"));
        }
        let Some((to_block, to)) = self.rule_field(&rule.to) else {
            return err(format!("{at} : « to » désigne « {} », qui n'est pas un champ (écrivez bloc.champ pour un champ de bloc)", rule.to));
        };
        let checked = match (&rule.sum, rule.field.is_empty()) {
            (Some(sum), true) => match self.rule_field(sum) {
                Some((Some(_), f)) if numeric(f) => {
                    if to_block.is_some() || !numeric(to) {
                        err(format!(
                            "{at} : une somme se compare à un nombre hors des blocs"
                        ));
                    }
                    return;
                }
                _ => {
                    return err(format!(
                        "{at} : « sum » doit désigner un nombre d'un bloc (bloc.champ)"
                    ))
                }
            },
            (None, false) => self.rule_field(&rule.field),
            _ => return err(format!("{at} : indiquez soit « field », soit « sum »")),
        };
        let Some((block, field)) = checked else {
            return err(format!("{at} : « field » désigne « {} », qui n'est pas un champ (écrivez bloc.champ pour un champ de bloc)", rule.field));
        };
        if to_block.is_some() && to_block.map(|b| &b.id) != block.map(|b| &b.id) {
            err(format!(
                "{at} : « to » est dans un bloc : il doit être du même bloc que « field »"
            ));
        }
        let same_kind = (numeric(field) && numeric(to)) || (date(field) && date(to));
        if !same_kind {
            err(format!(
                "{at} : on ne compare que deux nombres ou deux dates"
            ));
        }
        if rule.gap.is_some() && !date(field) {
            err(format!(
                "{at} : un écart « gap » ne s'applique qu'à des dates"
            ));
        }
        if matches!(rule.compare, Comparaison::Before | Comparaison::After) && !date(field) {
            err(format!(
                "{at} : « before » et « after » comparent des dates"
            ));
        }
    }
}

/// Checks a condition against the fields placed before the one it shows (`earlier`).
fn check_condition(c: &Condition, at: &str, earlier: &[&Field], err: &mut dyn FnMut(String)) {
    if let Some(problem) = c.shape_error() {
        err(format!("{at} : {problem}"));
        return;
    }
    for inner in c.all.iter().chain(&c.any) {
        check_condition(inner, at, earlier, err);
    }
    if c.field.is_empty() {
        return;
    }
    let Some(target) = earlier.iter().rev().find(|e| e.id == c.field) else {
        return err(format!(
            "{at} : la condition porte sur \"{}\", qui n'est pas un champ placé avant lui (ni un champ d'un autre bloc)",
            c.field
        ));
    };
    let options: Option<Vec<String>> = match &target.kind {
        FieldKind::SingleChoice { options } | FieldKind::MultipleChoice { options, .. } => {
            Some(options.clone())
        }
        FieldKind::YesNo => Some(vec!["oui".into(), "non".into()]),
        FieldKind::Checkbox => Some(vec!["coche".into()]),
        _ => None,
    };
    if let Some(options) = options {
        for v in c.equals.iter().chain(&c.differs).chain(&c.includes) {
            if !options.contains(v) {
                err(format!(
                    "{at} : la condition attend « {v} », qui n'est pas une réponse possible de \"{}\"",
                    c.field
                ));
            }
        }
    }
    if c.includes.is_some() && !matches!(target.kind, FieldKind::MultipleChoice { .. }) {
        err(format!(
            "{at} : « includes » ne s'applique qu'à un choix multiple"
        ));
    }
    if let (Some(_), Some(v)) = (c.compare, &c.value) {
        let ok = match target.kind {
            FieldKind::Integer { .. } | FieldKind::Decimal { .. } => {
                crate::demarche::values::parse_decimal(v).is_some()
            }
            FieldKind::Date { .. } => crate::demarche::values::parse_date(v).is_some(),
            _ => false,
        };
        if !ok {
            err(format!(
                "{at} : « compare » demande un champ nombre ou date et une valeur de ce type (« {v} »)"
            ));
        }
    }
}

/// The properties each field type allows, besides the common ones.
fn allowed_keys(kind: &str) -> &'static [&'static str] {
    match kind {
        "short_text" => &["max_length", "pattern", "pattern_message", "example"],
        "long_text" => &["max_length"],
        "integer" | "decimal" => &["min", "max"],
        "date" => &["min", "max", "age", "within"],
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
    if let Some(fields) = value.get("annotations") {
        walk(fields, &mut errors);
    }
    errors
}

/// The line where the field named in a message is defined (its `"id": "…"`), else 1.
fn locate(text: &str, message: &str) -> usize {
    // "règle 2 : …" is on the line of the second rule's "compare"; a case of ineligibility on
    // its "condition".
    for (prefix, section, key) in [
        ("règle ", "\"rules\"", "\"compare\""),
        ("cas d'inéligibilité ", "\"ineligibility\"", "\"condition\""),
        ("orientation ", "\"routing\"", "\"condition\""),
    ] {
        let Some(n) = message
            .strip_prefix(prefix)
            .and_then(|rest| rest.split(' ').next())
            .and_then(|n| n.parse::<usize>().ok())
        else {
            continue;
        };
        let start = text.lines().position(|l| l.contains(section)).unwrap_or(0);
        return text
            .lines()
            .enumerate()
            .skip(start)
            .filter(|(_, l)| l.contains(key))
            .nth(n.saturating_sub(1))
            .map_or(start + 1, |(i, _)| i + 1);
    }
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
