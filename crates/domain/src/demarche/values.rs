//! What a usager typed, checked against the definition: every field type's rules, conditions,
//! repeatable blocks. Messages are in French and tied to the input they concern.

use super::definition::{Definition, Field, FieldKind};
use crate::siren::luhn_valid;
use std::collections::BTreeMap;
use time::Date;

/// The values of a form, by input name: `id` for a field, `id[2].sub` for a field of the third
/// repetition of block `id`. A multiple choice or a file field has several values.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Answers(pub BTreeMap<String, Vec<String>>);

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldError {
    /// The input name the message is tied to.
    pub key: String,
    pub message: String,
}

/// File types Guichet accepts, recognised by their content: (MIME type, label, extension).
pub const KNOWN_FILE_TYPES: &[(&str, &str, &str)] = &[
    ("application/pdf", "PDF", "pdf"),
    ("image/jpeg", "JPEG", "jpg"),
    ("image/png", "PNG", "png"),
    ("image/webp", "WebP", "webp"),
    ("application/vnd.oasis.opendocument.text", "ODT", "odt"),
    (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "DOCX",
        "docx",
    ),
];

impl Answers {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .get(key)
            .and_then(|v| v.first())
            .map(String::as_str)
            .filter(|s| !s.trim().is_empty())
    }

    pub fn all(&self, key: &str) -> Vec<&str> {
        self.0
            .get(key)
            .map(|v| {
                v.iter()
                    .map(String::as_str)
                    .filter(|s| !s.trim().is_empty())
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn set(&mut self, key: impl Into<String>, values: Vec<String>) {
        self.0.insert(key.into(), values);
    }

    /// Reads a submitted form: every value by input name, except the anti-CSRF token; the
    /// `action` button pressed is returned apart.
    pub fn from_form(pairs: Vec<(String, String)>) -> (Self, Option<String>) {
        let mut answers = Self::default();
        let mut action = None;
        for (k, v) in pairs {
            match k.as_str() {
                "_csrf" => {}
                "action" => action = Some(v),
                _ => answers.0.entry(k).or_default().push(v),
            }
        }
        (answers, action)
    }

    /// Removes one repetition of a block (`enfants[1]`) and renumbers the following ones.
    pub fn remove_item(&mut self, item: &str) {
        let Some((block, index)) = item.rsplit_once('[').and_then(|(b, rest)| {
            rest.trim_end_matches(']')
                .parse::<usize>()
                .ok()
                .map(|i| (b.to_string(), i))
        }) else {
            return;
        };
        let prefix = format!("{block}[");
        let mut moved = BTreeMap::new();
        for (k, v) in std::mem::take(&mut self.0) {
            let parsed = k
                .strip_prefix(&prefix)
                .and_then(|rest| rest.split_once(']'))
                .and_then(|(i, tail)| i.parse::<usize>().ok().map(|i| (i, tail.to_string())));
            match parsed {
                Some((i, _)) if i == index => {}
                Some((i, tail)) if i > index => {
                    moved.insert(format!("{block}[{}]{tail}", i - 1), v);
                }
                _ => {
                    moved.insert(k, v);
                }
            }
        }
        self.0 = moved;
    }

    /// Adds an empty repetition at the end of a block.
    pub fn add_item(&mut self, block: &str) {
        let n = self.block_len(block);
        self.0
            .insert(format!("{block}[{n}].__"), vec![String::new()]);
    }

    /// How many repetitions of a block were filled or added: one more than the highest index.
    pub fn block_len(&self, block: &str) -> usize {
        let prefix = format!("{block}[");
        self.0
            .keys()
            .filter_map(|k| k.strip_prefix(&prefix))
            .filter_map(|rest| rest.split(']').next())
            .filter_map(|i| i.parse::<usize>().ok())
            .map(|i| i + 1)
            .max()
            .unwrap_or(0)
    }
}

pub fn parse_date(s: &str) -> Option<Date> {
    let s = s.trim();
    let iso = time::macros::format_description!("[year]-[month]-[day]");
    let fr = time::macros::format_description!("[day]/[month]/[year]");
    Date::parse(s, iso).or_else(|_| Date::parse(s, fr)).ok()
}

/// "1 234,5" and "1234.5" both read as 1234.5.
fn parse_decimal(s: &str) -> Option<f64> {
    let cleaned: String = s
        .trim()
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{202f}')
        .collect();
    cleaned
        .replace(',', ".")
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
}

fn parse_integer(s: &str) -> Option<i64> {
    let cleaned: String = s
        .trim()
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{202f}')
        .collect();
    cleaned.parse::<i64>().ok()
}

/// A French phone number: 10 digits starting with 0, or +33 / 0033 followed by 9 digits.
/// Returns it as "06 12 34 56 78".
pub fn normalize_phone(s: &str) -> Option<String> {
    let digits: String = s
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '+')
        .collect();
    let national = if let Some(rest) = digits
        .strip_prefix("+33")
        .or_else(|| digits.strip_prefix("0033"))
    {
        format!("0{}", rest.strip_prefix('0').unwrap_or(rest))
    } else {
        digits
    };
    let valid = national.len() == 10
        && national.starts_with('0')
        && national.as_bytes()[1] != b'0'
        && national.bytes().all(|b| b.is_ascii_digit());
    valid.then(|| {
        national
            .as_bytes()
            .chunks(2)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    })
}

/// A SIRET: 14 digits, Luhn key (La Poste's establishments use their own rule).
pub fn normalize_siret(s: &str) -> Result<String, &'static str> {
    let digits: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    if digits.len() != 14 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err("Un SIRET compte exactement 14 chiffres.");
    }
    let la_poste = digits.starts_with("356000000");
    let ok = if la_poste {
        digits.bytes().map(|b| u32::from(b - b'0')).sum::<u32>() % 5 == 0
    } else {
        luhn_valid(&digits)
    };
    if ok {
        Ok(digits)
    } else {
        Err("Ce SIRET n'existe pas : vérifiez les 14 chiffres (la clé de contrôle est fausse).")
    }
}

/// An IBAN checked by its ISO 13616 key; returned in groups of four.
pub fn normalize_iban(s: &str) -> Result<String, &'static str> {
    let compact: String = s
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_uppercase();
    match compact.parse::<iban::Iban>() {
        Ok(iban) => Ok(iban.to_string()),
        Err(_) => Err("Cet IBAN n'est pas valide : vérifiez-le sur votre RIB (il commence par deux lettres, FR pour la France)."),
    }
}

pub fn normalize_email(s: &str) -> Option<String> {
    let email = s.trim().to_lowercase();
    let ok = email.len() <= 254
        && !email.contains(char::is_whitespace)
        && email.matches('@').count() == 1
        && email.split_once('@').is_some_and(|(l, d)| {
            !l.is_empty() && d.contains('.') && !d.starts_with('.') && !d.ends_with('.')
        });
    ok.then_some(email)
}

/// Checks the content of an uploaded file: its real type (magic bytes, not the name or the
/// browser's claim) must be accepted, and its size within the limit. Returns the MIME type.
pub fn check_file(
    bytes: &[u8],
    accept: &[String],
    max_size_mb: u32,
) -> Result<&'static str, String> {
    if bytes.is_empty() {
        return Err("Le fichier est vide.".into());
    }
    if bytes.len() as u64 > u64::from(max_size_mb) * 1024 * 1024 {
        return Err(format!(
            "Le fichier dépasse la taille maximale de {max_size_mb} Mo."
        ));
    }
    let labels: Vec<&str> = KNOWN_FILE_TYPES
        .iter()
        .filter(|(m, _, _)| accept.iter().any(|a| a == m))
        .map(|(_, l, _)| *l)
        .collect();
    let detected = infer::get(bytes).map(|t| t.mime_type());
    let found = KNOWN_FILE_TYPES
        .iter()
        .find(|(m, _, _)| Some(*m) == detected)
        .map(|(m, _, _)| *m);
    match found {
        Some(m) if accept.iter().any(|a| a == m) => Ok(m),
        _ => Err(format!(
            "Ce type de fichier n'est pas accepté ici (formats acceptés : {}). Le contenu du fichier est vérifié, pas seulement son nom.",
            labels.join(", ")
        )),
    }
}

/// Whether a field is shown, given the answers (inside a block, `item` is the repetition's prefix).
pub fn is_shown(field: &Field, answers: &Answers, item: Option<&str>) -> bool {
    let Some(c) = &field.condition else {
        return true;
    };
    let local = item.map(|p| format!("{p}.{}", c.field));
    let values = local
        .as_deref()
        .filter(|k| answers.0.contains_key(*k))
        .map(|k| answers.all(k))
        .unwrap_or_else(|| answers.all(&c.field));
    values.iter().any(|v| c.equals.iter().any(|e| e == v))
}

/// Validates the answers; returns the normalized answers (only shown fields), or every error.
pub fn validate(
    definition: &Definition,
    answers: &Answers,
    today: Date,
) -> Result<Answers, Vec<FieldError>> {
    let mut out = Answers::default();
    let mut errors = Vec::new();
    for page in &definition.pages {
        validate_fields(&page.fields, answers, None, today, &mut out, &mut errors);
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// Validates only the fields of one page (when the usager moves to the next step).
pub fn validate_page(
    definition: &Definition,
    page: usize,
    answers: &Answers,
    today: Date,
) -> Vec<FieldError> {
    let mut out = Answers::default();
    let mut errors = Vec::new();
    if let Some(p) = definition.pages.get(page) {
        validate_fields(&p.fields, answers, None, today, &mut out, &mut errors);
    }
    errors
}

fn validate_fields(
    fields: &[Field],
    answers: &Answers,
    item: Option<&str>,
    today: Date,
    out: &mut Answers,
    errors: &mut Vec<FieldError>,
) {
    for field in fields {
        if !field.kind.has_value() || !is_shown(field, answers, item) {
            continue;
        }
        let key = match item {
            Some(p) => format!("{p}.{}", field.id),
            None => field.id.clone(),
        };
        if let FieldKind::Block {
            fields: inner,
            min,
            max,
            item_label,
        } = &field.kind
        {
            let n = answers.block_len(&key);
            if n < *min as usize {
                errors.push(FieldError {
                    key: key.clone(),
                    message: format!("Ajoutez au moins {min} « {item_label} »."),
                });
            }
            if n > *max as usize {
                errors.push(FieldError {
                    key: key.clone(),
                    message: format!("Au plus {max} « {item_label} »."),
                });
            }
            for i in 0..n.min(*max as usize) {
                let prefix = format!("{key}[{i}]");
                validate_fields(inner, answers, Some(&prefix), today, out, errors);
            }
            continue;
        }
        let values = answers.all(&key);
        if values.is_empty() {
            if field.required {
                let message = match field.kind {
                    FieldKind::Checkbox => "Cochez cette case pour continuer.".to_string(),
                    FieldKind::File { .. } => "Joignez ce document.".to_string(),
                    FieldKind::SingleChoice { .. }
                    | FieldKind::YesNo
                    | FieldKind::MultipleChoice { .. } => "Choisissez une réponse.".to_string(),
                    _ => "Ce champ est obligatoire.".to_string(),
                };
                errors.push(FieldError { key, message });
            }
            continue;
        }
        match check_value(&field.kind, &values, today) {
            Ok(normalized) => out.set(key, normalized),
            Err(message) => errors.push(FieldError { key, message }),
        }
    }
}

fn date_bound(bound: &Option<String>, today: Date) -> Option<Date> {
    bound.as_deref().and_then(|b| {
        if b == "today" {
            Some(today)
        } else {
            parse_date(b)
        }
    })
}

fn format_fr(d: Date) -> String {
    format!("{:02}/{:02}/{}", d.day(), u8::from(d.month()), d.year())
}

/// Checks and normalises one value as a field of this type would (the profile uses it).
pub fn check_single(kind: &FieldKind, value: &str, today: Date) -> Result<String, String> {
    check_value(kind, &[value], today).map(|v| v.into_iter().next().unwrap_or_default())
}

fn check_value(kind: &FieldKind, values: &[&str], today: Date) -> Result<Vec<String>, String> {
    let single = values[0].trim();
    let one = |v: String| Ok(vec![v]);
    match kind {
        FieldKind::ShortText { max_length } | FieldKind::LongText { max_length } => {
            let limit = max_length.unwrap_or(if matches!(kind, FieldKind::ShortText { .. }) { 200 } else { 10_000 });
            if single.chars().count() > limit as usize {
                return Err(format!("{limit} caractères au maximum (vous en avez saisi {}).", single.chars().count()));
            }
            one(single.to_string())
        }
        FieldKind::Integer { min, max } => {
            let Some(n) = parse_integer(single) else {
                return Err("Saisissez un nombre entier, par exemple 3.".into());
            };
            if min.is_some_and(|m| n < m) || max.is_some_and(|m| n > m) {
                return Err(bounds_message(min.map(|v| v.to_string()), max.map(|v| v.to_string())));
            }
            one(n.to_string())
        }
        FieldKind::Decimal { min, max } => {
            let Some(n) = parse_decimal(single) else {
                return Err("Saisissez un nombre, par exemple 12,50.".into());
            };
            if min.is_some_and(|m| n < m) || max.is_some_and(|m| n > m) {
                return Err(bounds_message(min.map(|v| v.to_string()), max.map(|v| v.to_string())));
            }
            one(n.to_string())
        }
        FieldKind::Date { min, max } => {
            let Some(d) = parse_date(single) else {
                return Err("Saisissez une date valide, par exemple 14/07/2015.".into());
            };
            let (lo, hi) = (date_bound(min, today), date_bound(max, today));
            if lo.is_some_and(|m| d < m) || hi.is_some_and(|m| d > m) {
                return Err(bounds_message(lo.map(format_fr), hi.map(format_fr)).replace("compris entre", "comprise entre"));
            }
            one(d.to_string())
        }
        FieldKind::Email => normalize_email(single)
            .map(|e| vec![e])
            .ok_or_else(|| "Saisissez une adresse électronique valide, par exemple camille.martin@exemple.fr.".into()),
        FieldKind::Phone => normalize_phone(single)
            .map(|p| vec![p])
            .ok_or_else(|| "Saisissez un numéro de téléphone français à 10 chiffres, par exemple 06 12 34 56 78.".into()),
        FieldKind::Address => {
            if single.chars().count() < 5 || single.chars().count() > 300 {
                return Err("Saisissez l'adresse complète : numéro, rue, code postal et commune.".into());
            }
            one(single.to_string())
        }
        FieldKind::Commune => {
            // An INSEE code; its existence is checked against the referential by the caller.
            let ok = single.len() == 5 && single.chars().filter(char::is_ascii_digit).count() >= 3 && single.chars().all(|c| c.is_ascii_alphanumeric());
            if ok {
                one(single.to_uppercase())
            } else {
                Err("Choisissez une commune dans la liste.".into())
            }
        }
        FieldKind::SingleChoice { options } => {
            if options.iter().any(|o| o == single) {
                one(single.to_string())
            } else {
                Err("Choisissez une des réponses proposées.".into())
            }
        }
        FieldKind::MultipleChoice { options, min, max } => {
            let mut chosen: Vec<String> = Vec::new();
            for v in values {
                if !options.iter().any(|o| o == v) {
                    return Err("Choisissez parmi les réponses proposées.".into());
                }
                if !chosen.iter().any(|c| c == v) {
                    chosen.push((*v).to_string());
                }
            }
            if min.is_some_and(|m| chosen.len() < m as usize) || max.is_some_and(|m| chosen.len() > m as usize) {
                return Err(match (min, max) {
                    (Some(a), Some(b)) => format!("Choisissez entre {a} et {b} réponses."),
                    (Some(a), None) => format!("Choisissez au moins {a} réponses."),
                    (_, Some(b)) => format!("Choisissez au plus {b} réponses."),
                    _ => String::new(),
                });
            }
            Ok(chosen)
        }
        FieldKind::YesNo => match single {
            "oui" | "non" => one(single.to_string()),
            _ => Err("Répondez par oui ou par non.".into()),
        },
        FieldKind::Checkbox => match single {
            "coche" | "on" | "oui" => one("coche".into()),
            _ => Err("Valeur de case à cocher inattendue.".into()),
        },
        FieldKind::File { max_files, .. } => {
            if values.len() > *max_files as usize {
                return Err(format!("{max_files} fichier(s) au maximum."));
            }
            // Values are references to files already checked at upload.
            if values.iter().any(|v| !v.starts_with("fichier:")) {
                return Err("Pièce jointe invalide : joignez de nouveau le document.".into());
            }
            Ok(values.iter().map(|v| (*v).to_string()).collect())
        }
        FieldKind::Siret => normalize_siret(single).map(|s| vec![s]).map_err(str::to_string),
        FieldKind::Iban => normalize_iban(single).map(|s| vec![s]).map_err(str::to_string),
        FieldKind::Heading | FieldKind::Explanation | FieldKind::Block { .. } => Ok(Vec::new()),
    }
}

fn bounds_message(min: Option<String>, max: Option<String>) -> String {
    match (min, max) {
        (Some(a), Some(b)) => format!("La valeur doit être compris entre {a} et {b}.")
            .replace("être compris", "être comprise"),
        (Some(a), None) => format!("La valeur doit être au moins {a}."),
        (None, Some(b)) => format!("La valeur doit être au plus {b}."),
        (None, None) => String::new(),
    }
}
