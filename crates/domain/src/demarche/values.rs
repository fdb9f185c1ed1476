//! What a usager typed, checked against the definition: every field type's rules, conditions,
//! repeatable blocks. Messages are in French and tied to the input they concern.

use super::definition::{AgeBound, Comparaison, Condition, Definition, Field, FieldKind, Regle};
use crate::delai::{jour_court, jour_long, Delai};
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
pub fn parse_decimal(s: &str) -> Option<f64> {
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

/// "12 000" and "12000" both read as 12000.
pub fn parse_integer(s: &str) -> Option<i64> {
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
    field
        .condition
        .as_ref()
        .is_none_or(|c| holds(c, answers, item))
}

/// Whether a condition holds; inside a block, a field of the same repetition is read first.
pub fn holds(c: &Condition, answers: &Answers, item: Option<&str>) -> bool {
    if !c.all.is_empty() || !c.any.is_empty() {
        return c.all.iter().all(|x| holds(x, answers, item))
            && (c.any.is_empty() || c.any.iter().any(|x| holds(x, answers, item)));
    }
    let local = item.map(|p| format!("{p}.{}", c.field));
    let values = local
        .as_deref()
        .filter(|k| answers.0.contains_key(*k))
        .map(|k| answers.all(k))
        .unwrap_or_else(|| answers.all(&c.field));
    if !c.equals.is_empty() {
        return values.iter().any(|v| c.equals.iter().any(|e| e == v));
    }
    if !c.differs.is_empty() {
        return !values.is_empty() && !values.iter().any(|v| c.differs.iter().any(|e| e == v));
    }
    if let Some(option) = &c.includes {
        return values.iter().any(|v| v == option);
    }
    match (c.compare, &c.value, values.first()) {
        (Some(op), Some(value), Some(answer)) => {
            compare_values(answer, value).is_some_and(|o| op.holds(o))
        }
        _ => false,
    }
}

/// Two answers compared as dates when both are, else as numbers.
fn compare_values(a: &str, b: &str) -> Option<std::cmp::Ordering> {
    if let (Some(x), Some(y)) = (parse_date(a), parse_date(b)) {
        return Some(x.cmp(&y));
    }
    let (x, y) = (parse_decimal(a)?, parse_decimal(b)?);
    x.partial_cmp(&y)
}

/// A pattern for the whole answer, compiled with limits (the `regex` crate does not backtrack).
pub fn compile_pattern(pattern: &str) -> Result<regex::Regex, String> {
    if pattern.chars().count() > 300 {
        return Err("300 caractères au plus".into());
    }
    regex::RegexBuilder::new(&format!("^(?:{pattern})$"))
        .size_limit(1 << 20)
        .build()
        .map_err(|e| match e {
            regex::Error::CompiledTooBig(_) => "trop complexe".to_string(),
            _ => "syntaxe incorrecte".to_string(),
        })
}

fn civil(d: Date) -> jiff::civil::Date {
    jiff::civil::Date::new(d.year() as i16, u8::from(d.month()) as i8, d.day() as i8)
        .unwrap_or(jiff::civil::Date::MIN)
}

/// Checks a birth date against an age bound, for a deposit on `today`.
fn check_age(
    birth: jiff::civil::Date,
    age: &AgeBound,
    today: jiff::civil::Date,
) -> Result<(), String> {
    let reference = age
        .on
        .as_ref()
        .and_then(|on| on.resolve(today))
        .unwrap_or(today);
    let years = |n: u32| jiff::Span::new().years(i64::from(n));
    // Born on or before this day to have `min` years on the reference day...
    let latest = age.min.and_then(|n| reference.checked_sub(years(n)).ok());
    // ...and strictly after this one to be at most `max` years old.
    let earliest = age
        .max
        .and_then(|n| reference.checked_sub(years(n + 1)).ok())
        .and_then(|d| d.tomorrow().ok());
    let too_young = latest.is_some_and(|l| birth > l);
    let too_old = earliest.is_some_and(|e| birth < e);
    if !too_young && !too_old {
        return Ok(());
    }
    let on = if age.on.is_some() {
        format!("au {}", jour_long(reference))
    } else {
        "à la date de la demande".to_string()
    };
    let born = match (earliest, latest) {
        (Some(e), Some(l)) => format!(
            "naissance entre le {} et le {}",
            jour_court(e),
            jour_court(l)
        ),
        (None, Some(l)) => format!("naissance au plus tard le {}", jour_court(l)),
        (Some(e), None) => format!("naissance au plus tôt le {}", jour_court(e)),
        (None, None) => String::new(),
    };
    Err(match (age.min, age.max) {
        (Some(a), Some(b)) => format!("Il faut avoir entre {a} et {b} ans {on} ({born})."),
        (Some(a), None) => format!("Il faut avoir au moins {a} ans {on} ({born})."),
        (_, Some(b)) => format!("Il faut avoir au plus {b} ans {on} ({born})."),
        (None, None) => String::new(),
    })
}

/// Checks that a date is at most `within` before the deposit day, and not after it.
fn check_within(
    day: jiff::civil::Date,
    within: Delai,
    today: jiff::civil::Date,
) -> Result<(), String> {
    let from = within.before(today);
    if day < from || day > today {
        return Err(format!(
            "La date doit dater de moins de {} : entre le {} et le {}.",
            within.label(),
            jour_court(from),
            jour_court(today)
        ));
    }
    Ok(())
}

/// An RNA number: W followed by 9 letters or digits, given back in capitals.
pub fn normalize_rna(s: &str) -> Result<String, &'static str> {
    let compact: String = s
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_uppercase();
    let ok = compact.len() == 10
        && compact.starts_with('W')
        && compact[1..].chars().all(|c| c.is_ascii_alphanumeric());
    if ok {
        Ok(compact)
    } else {
        Err("Un numéro RNA commence par W suivi de 9 chiffres ou lettres, par exemple W212001234.")
    }
}

/// A French postal code: five digits, of an existing département (01 to 95, 97, 98; 20 for Corsica).
pub fn normalize_postal_code(s: &str) -> Result<String, &'static str> {
    let code: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    let valid = code.len() == 5
        && code.bytes().all(|b| b.is_ascii_digit())
        && code[..2]
            .parse::<u8>()
            .is_ok_and(|d| (1..=95).contains(&d) || d == 97 || d == 98);
    if valid {
        Ok(code)
    } else {
        Err("Un code postal compte 5 chiffres, par exemple 21000.")
    }
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
    check_between(definition, None, &out, &mut errors);
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// The page of a top-level field, or of the block a "block.field" path is in.
fn page_of(definition: &Definition, path: &str) -> Option<usize> {
    let id = path.split('.').next().unwrap_or(path);
    definition
        .pages
        .iter()
        .position(|p| p.fields.iter().any(|f| f.id == id))
}

/// Rules between fields and cases of ineligibility, on the answers that are valid (`out`). On a page step
/// (`page`), only those whose last field is on that page: the others wait for their page.
fn check_between(
    definition: &Definition,
    page: Option<usize>,
    out: &Answers,
    errors: &mut Vec<FieldError>,
) {
    let due = |paths: &[&str]| match page {
        None => true,
        Some(p) => paths.iter().filter_map(|f| page_of(definition, f)).max() == Some(p),
    };
    for rule in &definition.rules {
        let checked = rule.sum.as_deref().unwrap_or(&rule.field);
        if due(&[checked, &rule.to]) {
            check_rule(rule, out, errors);
        }
    }
    for case in &definition.ineligibility {
        let fields = case.condition.fields();
        if due(&fields) && holds(&case.condition, out, None) {
            let key = fields
                .iter()
                .max_by_key(|f| page_of(definition, f))
                .map(|f| f.to_string())
                .unwrap_or_default();
            errors.push(FieldError {
                key,
                message: format!(
                    "Vous ne pouvez pas déposer cette demande : {}",
                    case.message.trim()
                ),
            });
        }
    }
}

fn check_rule(rule: &Regle, out: &Answers, errors: &mut Vec<FieldError>) {
    let compare = |a: &str, b: &str| -> Option<bool> {
        let ordering = match (parse_date(a), parse_date(b)) {
            (Some(x), Some(y)) => {
                let (x, y) = (civil(x), civil(y));
                // With a gap, compare with the other date moved by it.
                let y = match (rule.gap, rule.compare) {
                    (Some(g), Comparaison::Before | Comparaison::Lt | Comparaison::Le) => {
                        g.before(y)
                    }
                    (Some(g), _) => g.after(y),
                    (None, _) => y,
                };
                let o = x.cmp(&y);
                // "at least a gap after": on the day itself is enough.
                if rule.gap.is_some() && o == std::cmp::Ordering::Equal {
                    return Some(true);
                }
                o
            }
            _ => parse_decimal(a)?.partial_cmp(&parse_decimal(b)?)?,
        };
        Some(rule.compare.holds(ordering))
    };
    let fail = |key: String, errors: &mut Vec<FieldError>| {
        errors.push(FieldError {
            key,
            message: rule.message.trim().to_string(),
        })
    };
    if let Some(sum) = &rule.sum {
        let Some((block, inner)) = sum.split_once('.') else {
            return;
        };
        let Some(limit) = out.get(&rule.to) else {
            return;
        };
        let total: f64 = (0..out.block_len(block))
            .filter_map(|i| {
                out.get(&format!("{block}[{i}].{inner}"))
                    .and_then(parse_decimal)
            })
            .sum();
        if compare(&total.to_string(), limit) == Some(false) {
            fail(block.to_string(), errors);
        }
        return;
    }
    match rule.field.split_once('.') {
        None => {
            if let (Some(a), Some(b)) = (out.get(&rule.field), out.get(&rule.to)) {
                if compare(a, b) == Some(false) {
                    fail(rule.field.clone(), errors);
                }
            }
        }
        Some((block, inner)) => {
            let same = rule
                .to
                .split_once('.')
                .filter(|(b, _)| *b == block)
                .map(|(_, f)| f);
            for i in 0..out.block_len(block) {
                let key = format!("{block}[{i}].{inner}");
                let other = match same {
                    Some(f) => out.get(&format!("{block}[{i}].{f}")),
                    None => out.get(&rule.to),
                };
                if let (Some(a), Some(b)) = (out.get(&key), other) {
                    if compare(a, b) == Some(false) {
                        fail(key, errors);
                    }
                }
            }
        }
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
    for (i, p) in definition.pages.iter().enumerate().take(page + 1) {
        let mut page_errors = Vec::new();
        validate_fields(&p.fields, answers, None, today, &mut out, &mut page_errors);
        if i == page {
            errors = page_errors;
        }
    }
    check_between(definition, Some(page), &out, &mut errors);
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
        let min_choices = match field.kind {
            FieldKind::MultipleChoice { min: Some(m), .. } if m > 0 => Some(m),
            _ => None,
        };
        if values.is_empty() {
            if let (Some(m), false) = (min_choices, field.required) {
                errors.push(FieldError {
                    key,
                    message: if m == 1 {
                        "Choisissez au moins une réponse.".to_string()
                    } else {
                        format!("Choisissez au moins {m} réponses.")
                    },
                });
                continue;
            }
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
        FieldKind::ShortText { max_length, pattern, pattern_message, example } => {
            let limit = max_length.unwrap_or(200);
            if single.chars().count() > limit as usize {
                return Err(format!("{limit} caractères au maximum (vous en avez saisi {}).", single.chars().count()));
            }
            if let Some(p) = pattern {
                let fits = compile_pattern(p).is_ok_and(|re| re.is_match(single));
                if !fits {
                    let example = example.as_deref().map(|x| format!(" Exemple : {x}.")).unwrap_or_default();
                    return Err(match pattern_message {
                        Some(m) if !m.trim().is_empty() => format!("{}{example}", m.trim()),
                        _ => format!("Le format de la réponse n'est pas celui attendu.{example}"),
                    });
                }
            }
            one(single.to_string())
        }
        FieldKind::LongText { max_length } => {
            let limit = max_length.unwrap_or(10_000);
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
        FieldKind::Date { min, max, age, within } => {
            let Some(d) = parse_date(single) else {
                return Err("Saisissez une date valide, par exemple 14/07/2015.".into());
            };
            let (lo, hi) = (date_bound(min, today), date_bound(max, today));
            if lo.is_some_and(|m| d < m) || hi.is_some_and(|m| d > m) {
                return Err(bounds_message(lo.map(format_fr), hi.map(format_fr)).replace("compris entre", "comprise entre"));
            }
            if let Some(a) = age {
                check_age(civil(d), a, civil(today))?;
            }
            if let Some(w) = within {
                check_within(civil(d), *w, civil(today))?;
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
        FieldKind::Rna => normalize_rna(single).map(|s| vec![s]).map_err(str::to_string),
        FieldKind::CodePostal => normalize_postal_code(single).map(|s| vec![s]).map_err(str::to_string),
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
