//! Table Schema (frictionless) validation of a CSV file, as the specification defines it and
//! frictionless applies it: header labels against field names, each cell cast to its field's type
//! and format, constraints (`required`, `unique`, `minLength`, `maxLength`, `minimum`, `maximum`,
//! `pattern`, `enum`), missing values, the primary key and foreign keys within the file. Every
//! problem is reported with its row and field as frictionless numbers them (the header is row 1)
//! and explained in French. A schema using a type or format not handled here is refused whole
//! rather than half-checked.

use serde_json::Value;
use std::collections::{HashMap, HashSet};

/// At most this many problems are listed; the count goes on.
pub const MAX_LISTED: usize = 500;

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    String(StringFormat),
    Integer,
    Number,
    Boolean {
        truthy: Vec<String>,
        falsy: Vec<String>,
    },
    Date,
    DateTime,
    Year,
    YearMonth,
    Any,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum StringFormat {
    Default,
    Email,
    Uri,
    Uuid,
}

#[derive(Debug, Clone)]
struct Field {
    name: String,
    kind: Kind,
    required: bool,
    unique: bool,
    min_length: Option<usize>,
    max_length: Option<usize>,
    minimum: Option<Value>,
    maximum: Option<Value>,
    pattern: Option<(String, regex::Regex)>,
    values: Option<Vec<Value>>,
}

/// A Table Schema ready to check files.
#[derive(Debug, Clone)]
pub struct Schema {
    fields: Vec<Field>,
    missing: Vec<String>,
    primary_key: Vec<usize>,
    /// (fields, referenced fields of the same file)
    foreign_keys: Vec<(Vec<usize>, Vec<usize>)>,
}

/// What kind of problem, named as frictionless names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IssueKind {
    IncorrectLabel,
    MissingLabel,
    ExtraLabel,
    BlankRow,
    MissingCell,
    ExtraCell,
    TypeError,
    ConstraintError,
    UniqueError,
    PrimaryKey,
    ForeignKey,
}

impl IssueKind {
    pub fn code(self) -> &'static str {
        match self {
            Self::IncorrectLabel => "incorrect-label",
            Self::MissingLabel => "missing-label",
            Self::ExtraLabel => "extra-label",
            Self::BlankRow => "blank-row",
            Self::MissingCell => "missing-cell",
            Self::ExtraCell => "extra-cell",
            Self::TypeError => "type-error",
            Self::ConstraintError => "constraint-error",
            Self::UniqueError => "unique-error",
            Self::PrimaryKey => "primary-key",
            Self::ForeignKey => "foreign-key",
        }
    }
}

/// One problem of a file.
#[derive(Debug, Clone, PartialEq)]
pub struct Issue {
    pub kind: IssueKind,
    /// The row as frictionless counts it: the header is 1, the first data row 2; none for the
    /// header's own problems.
    pub row: Option<usize>,
    /// The field's position, from 1.
    pub field: Option<usize>,
    /// The field's name, when there is one.
    pub field_name: Option<String>,
    pub message: String,
}

/// The verdict on a file.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub rows: usize,
    /// The problems, at most `MAX_LISTED`.
    pub issues: Vec<Issue>,
    /// How many problems in all.
    pub count: usize,
}

impl Issue {
    /// A problem of a whole row.
    fn of_row(kind: IssueKind, row: usize, message: String) -> Self {
        Self {
            kind,
            row: Some(row),
            field: None,
            field_name: None,
            message,
        }
    }

    /// A problem of the cell of field `index` (from 0) in `row`, its message after the place.
    fn of_cell(kind: IssueKind, row: usize, index: usize, name: &str, problem: &str) -> Self {
        Self {
            kind,
            row: Some(row),
            field: Some(index + 1),
            field_name: Some(name.to_string()),
            message: format!("Ligne {row}, colonne « {name} » : {problem}"),
        }
    }
}

impl Report {
    pub fn valid(&self) -> bool {
        self.count == 0
    }

    fn push(&mut self, issue: Issue) {
        self.count += 1;
        if self.issues.len() < MAX_LISTED {
            self.issues.push(issue);
        }
    }
}

fn strings(v: Option<&Value>) -> Option<Vec<String>> {
    v.and_then(Value::as_array).map(|a| {
        a.iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect()
    })
}

fn names(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

impl Schema {
    /// Reads a Table Schema descriptor; what it uses that is not handled is refused by name.
    pub fn from_json(descriptor: &Value) -> Result<Self, String> {
        let list = descriptor
            .get("fields")
            .and_then(Value::as_array)
            .ok_or("le schéma n'a pas de liste « fields »")?;
        if list.is_empty() {
            return Err("le schéma ne décrit aucune colonne".into());
        }
        let mut fields = Vec::with_capacity(list.len());
        for f in list {
            fields.push(Field::from_json(f)?);
        }
        let position = |name: &str| {
            fields
                .iter()
                .position(|f| f.name == name)
                .ok_or(format!("la clé nomme une colonne inconnue : {name}"))
        };
        let primary_key = names(descriptor.get("primaryKey"))
            .iter()
            .map(|n| position(n))
            .collect::<Result<Vec<_>, _>>()?;
        let mut foreign_keys = Vec::new();
        for fk in descriptor
            .get("foreignKeys")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let reference = fk
                .get("reference")
                .ok_or("clé étrangère sans « reference »")?;
            if reference
                .get("resource")
                .and_then(Value::as_str)
                .is_some_and(|r| !r.is_empty())
            {
                return Err(
                    "une clé étrangère vers une autre ressource ne peut pas être vérifiée ici"
                        .into(),
                );
            }
            let own = names(fk.get("fields"))
                .iter()
                .map(|n| position(n))
                .collect::<Result<Vec<_>, _>>()?;
            let other = names(reference.get("fields"))
                .iter()
                .map(|n| position(n))
                .collect::<Result<Vec<_>, _>>()?;
            if own.is_empty() || own.len() != other.len() {
                return Err("clé étrangère mal formée".into());
            }
            foreign_keys.push((own, other));
        }
        Ok(Self {
            missing: strings(descriptor.get("missingValues"))
                .unwrap_or_else(|| vec![String::new()]),
            fields,
            primary_key,
            foreign_keys,
        })
    }

    /// A valid file's rows as JSON objects, each cell cast to its field's type (missing: null).
    pub fn json_rows(&self, csv_bytes: &[u8]) -> Value {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .from_reader(csv_bytes);
        Value::Array(
            reader
                .records()
                .filter_map(Result::ok)
                .map(|r| {
                    let object: serde_json::Map<String, Value> = self
                        .fields
                        .iter()
                        .zip(r.iter())
                        .map(|(f, cell)| {
                            let value = if self.missing.iter().any(|m| m == cell) {
                                Value::Null
                            } else {
                                f.cast(cell).unwrap_or(Value::Null)
                            };
                            (f.name.clone(), value)
                        })
                        .collect();
                    Value::Object(object)
                })
                .collect(),
        )
    }

    pub fn field_names(&self) -> Vec<&str> {
        self.fields.iter().map(|f| f.name.as_str()).collect()
    }

    /// Checks a CSV file (UTF-8, comma-separated, header first).
    pub fn validate(&self, csv_bytes: &[u8]) -> Report {
        let mut report = Report::default();
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(csv_bytes);
        let mut records = reader.records();
        let header: Vec<String> = match records.next() {
            Some(Ok(r)) => r.iter().map(str::to_string).collect(),
            _ => {
                report.push(Issue {
                    kind: IssueKind::MissingLabel,
                    row: None,
                    field: Some(1),
                    field_name: self.fields.first().map(|f| f.name.clone()),
                    message: "Le fichier est vide : la première ligne doit nommer les colonnes."
                        .into(),
                });
                return report;
            }
        };
        self.check_header(&header, &mut report);
        let mut unique_seen: Vec<HashMap<String, usize>> = vec![HashMap::new(); self.fields.len()];
        let mut keys: HashMap<Vec<String>, usize> = HashMap::new();
        let mut rows_keys: Vec<(usize, Vec<Vec<String>>)> = Vec::new();
        for (index, record) in records.enumerate() {
            let row = index + 2;
            let record = match record {
                Ok(r) => r,
                Err(e) => {
                    report.push(Issue::of_row(
                        IssueKind::TypeError,
                        row,
                        format!("Ligne {row} : illisible ({e})."),
                    ));
                    continue;
                }
            };
            report.rows += 1;
            let cells: Vec<&str> = record.iter().collect();
            if cells.iter().all(|c| c.is_empty()) {
                report.push(Issue::of_row(
                    IssueKind::BlankRow,
                    row,
                    format!("Ligne {row} : la ligne est vide."),
                ));
                continue;
            }
            let mut row_ok = true;
            // As frictionless: a column whose label is missing is not checked row by row, and
            // the cells under an extra label are that label's problem.
            for (i, field) in self.fields.iter().enumerate().take(header.len()) {
                let Some(cell) = cells.get(i) else {
                    report.push(Issue::of_cell(
                        IssueKind::MissingCell,
                        row,
                        i,
                        &field.name,
                        "la cellule manque (la ligne est trop courte).",
                    ));
                    // As frictionless: a missing required value is also a broken constraint.
                    if field.required {
                        report.push(Issue::of_cell(
                            IssueKind::ConstraintError,
                            row,
                            i,
                            &field.name,
                            "la valeur est obligatoire.",
                        ));
                    }
                    row_ok = false;
                    continue;
                };
                if let Some(issue) = self.check_cell(field, i, row, cell, &mut unique_seen[i]) {
                    report.push(issue);
                    row_ok = false;
                }
            }
            for (i, _) in cells
                .iter()
                .enumerate()
                .skip(self.fields.len().max(header.len()))
            {
                report.push(Issue {
                    kind: IssueKind::ExtraCell,
                    row: Some(row),
                    field: Some(i + 1),
                    field_name: None,
                    message: format!(
                        "Ligne {row} : une cellule de trop en position {} (le schéma a {} colonnes).",
                        i + 1,
                        self.fields.len()
                    ),
                });
                row_ok = false;
            }
            let key = |positions: &[usize]| -> Vec<String> {
                positions
                    .iter()
                    .map(|&p| cells.get(p).copied().unwrap_or_default().to_string())
                    .collect()
            };
            // As frictionless: the key of every row, whatever else is wrong with it; an empty
            // key is a broken key.
            if !self.primary_key.is_empty() {
                let k = key(&self.primary_key);
                if k.iter().any(|c| self.missing.contains(c)) {
                    report.push(Issue::of_row(
                        IssueKind::PrimaryKey,
                        row,
                        format!(
                            "Ligne {row} : la clé ({}) est vide ; chaque ligne doit en avoir une.",
                            self.primary_key
                                .iter()
                                .map(|&p| self.fields[p].name.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ));
                } else if let Some(first) = keys.get(&k) {
                    report.push(Issue::of_row(
                        IssueKind::PrimaryKey,
                        row,
                        format!(
                            "Ligne {row} : la clé ({}) est déjà celle de la ligne {first}.",
                            k.join(", ")
                        ),
                    ));
                } else {
                    keys.insert(k, row);
                }
            }
            if row_ok && !self.foreign_keys.is_empty() {
                rows_keys.push((
                    row,
                    self.foreign_keys.iter().map(|(own, _)| key(own)).collect(),
                ));
            }
        }
        self.check_foreign_keys(csv_bytes, &rows_keys, &mut report);
        report
    }

    fn check_header(&self, header: &[String], report: &mut Report) {
        for (i, field) in self.fields.iter().enumerate() {
            match header.get(i) {
                None => report.push(Issue {
                    kind: IssueKind::MissingLabel,
                    row: None,
                    field: Some(i + 1),
                    field_name: Some(field.name.clone()),
                    message: format!(
                        "En-tête : la colonne « {} » manque (position {}).",
                        field.name,
                        i + 1
                    ),
                }),
                Some(label) if *label != field.name => report.push(Issue {
                    kind: IssueKind::IncorrectLabel,
                    row: None,
                    field: Some(i + 1),
                    field_name: Some(field.name.clone()),
                    message: format!(
                        "En-tête : la colonne {} s'appelle « {label} » ; le schéma attend « {} ».",
                        i + 1,
                        field.name
                    ),
                }),
                Some(_) => {}
            }
        }
        for (i, label) in header.iter().enumerate().skip(self.fields.len()) {
            report.push(Issue {
                kind: IssueKind::ExtraLabel,
                row: None,
                field: Some(i + 1),
                field_name: None,
                message: format!(
                    "En-tête : la colonne « {label} » (position {}) n'est pas dans le schéma.",
                    i + 1
                ),
            });
        }
    }

    fn check_cell(
        &self,
        field: &Field,
        index: usize,
        row: usize,
        cell: &str,
        seen: &mut HashMap<String, usize>,
    ) -> Option<Issue> {
        let issue = |kind: IssueKind, message: String| {
            Issue::of_cell(kind, row, index, &field.name, &message)
        };
        if self.missing.iter().any(|m| m == cell) {
            return field.required.then(|| {
                issue(
                    IssueKind::ConstraintError,
                    "la valeur est obligatoire.".into(),
                )
            });
        }
        let value = match field.cast(cell) {
            Ok(v) => v,
            Err(expected) => {
                return Some(issue(
                    IssueKind::TypeError,
                    format!("« {} » n'est pas {expected}.", shorten(cell)),
                ))
            }
        };
        if let Some(message) = field.constraint_error(cell, &value) {
            return Some(issue(IssueKind::ConstraintError, message));
        }
        if field.unique {
            let canonical = value.to_string();
            if let Some(first) = seen.get(&canonical) {
                return Some(issue(
                    IssueKind::UniqueError,
                    format!(
                        "« {} » figure déjà ligne {first} ; chaque valeur doit être unique.",
                        shorten(cell)
                    ),
                ));
            }
            seen.insert(canonical, row);
        }
        None
    }

    fn check_foreign_keys(
        &self,
        csv_bytes: &[u8],
        rows_keys: &[(usize, Vec<Vec<String>>)],
        report: &mut Report,
    ) {
        if self.foreign_keys.is_empty() {
            return;
        }
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .from_reader(csv_bytes);
        let rows: Vec<Vec<String>> = reader
            .records()
            .filter_map(Result::ok)
            .map(|r| r.iter().map(str::to_string).collect())
            .collect();
        for (n, (_, referenced)) in self.foreign_keys.iter().enumerate() {
            let targets: HashSet<Vec<String>> = rows
                .iter()
                .map(|r| {
                    referenced
                        .iter()
                        .map(|&p| r.get(p).cloned().unwrap_or_default())
                        .collect()
                })
                .collect();
            for (row, keys) in rows_keys {
                let key = &keys[n];
                if key.iter().all(|c| self.missing.contains(c)) {
                    continue;
                }
                if !targets.contains(key) {
                    report.push(Issue::of_row(
                        IssueKind::ForeignKey,
                        *row,
                        format!(
                            "Ligne {row} : ({}) ne renvoie à aucune ligne du fichier.",
                            key.join(", ")
                        ),
                    ));
                }
            }
        }
    }
}

fn shorten(cell: &str) -> String {
    if cell.chars().count() > 60 {
        format!("{}…", cell.chars().take(60).collect::<String>())
    } else {
        cell.to_string()
    }
}

impl Field {
    fn from_json(f: &Value) -> Result<Self, String> {
        let name = f
            .get("name")
            .and_then(Value::as_str)
            .ok_or("une colonne du schéma n'a pas de nom")?
            .to_string();
        let kind_name = f.get("type").and_then(Value::as_str).unwrap_or("string");
        let format = f.get("format").and_then(Value::as_str).unwrap_or("default");
        let unsupported = || {
            format!("colonne « {name} » : le type {kind_name} au format {format} n'est pas pris en charge")
        };
        let kind = match (kind_name, format) {
            ("string", "default") => Kind::String(StringFormat::Default),
            ("string", "email") => Kind::String(StringFormat::Email),
            ("string", "uri") => Kind::String(StringFormat::Uri),
            ("string", "uuid") => Kind::String(StringFormat::Uuid),
            ("integer", "default") => Kind::Integer,
            ("number", "default") => Kind::Number,
            ("boolean", "default") => Kind::Boolean {
                truthy: strings(f.get("trueValues"))
                    .unwrap_or_else(|| ["true", "True", "TRUE", "1"].map(String::from).to_vec()),
                falsy: strings(f.get("falseValues"))
                    .unwrap_or_else(|| ["false", "False", "FALSE", "0"].map(String::from).to_vec()),
            },
            ("date", "default") => Kind::Date,
            ("datetime", "default") => Kind::DateTime,
            ("year", "default") => Kind::Year,
            ("yearmonth", "default") => Kind::YearMonth,
            ("any", _) => Kind::Any,
            _ => return Err(unsupported()),
        };
        let empty = serde_json::Map::new();
        let c = f
            .get("constraints")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let size = |key: &str| c.get(key).and_then(Value::as_u64).map(|n| n as usize);
        let pattern = match c.get("pattern").and_then(Value::as_str) {
            Some(p) => Some((
                p.to_string(),
                regex::RegexBuilder::new(&format!("^(?:{p})$"))
                    .size_limit(1 << 20)
                    .build()
                    .map_err(|_| format!("colonne « {name} » : motif illisible"))?,
            )),
            None => None,
        };
        let mut field = Self {
            name,
            kind,
            required: c.get("required").and_then(Value::as_bool).unwrap_or(false),
            unique: c.get("unique").and_then(Value::as_bool).unwrap_or(false),
            min_length: size("minLength"),
            max_length: size("maxLength"),
            minimum: c.get("minimum").cloned(),
            maximum: c.get("maximum").cloned(),
            pattern,
            values: None,
        };
        if let Some(list) = c.get("enum").and_then(Value::as_array) {
            // The allowed values, cast like cells (a schema may write them as text).
            let cast: Result<Vec<Value>, _> = list
                .iter()
                .map(|v| match v {
                    Value::String(s) => field.cast(s),
                    other => Ok(other.clone()),
                })
                .collect();
            field.values = Some(cast.map_err(|_| {
                format!(
                    "colonne « {} » : une valeur permise n'est pas du bon type",
                    field.name
                )
            })?);
        }
        Ok(field)
    }

    /// The cell's value, or what it should have been.
    fn cast(&self, cell: &str) -> Result<Value, &'static str> {
        match &self.kind {
            Kind::String(format) => {
                let ok = match format {
                    StringFormat::Default => true,
                    StringFormat::Email => is_email(cell),
                    StringFormat::Uri => is_uri(cell),
                    StringFormat::Uuid => is_uuid(cell),
                };
                if ok {
                    Ok(Value::String(cell.to_string()))
                } else {
                    Err(match format {
                        StringFormat::Email => "une adresse électronique",
                        StringFormat::Uri => "une adresse web (URI avec son schéma, ex. https://…)",
                        _ => "un identifiant UUID",
                    })
                }
            }
            Kind::Integer => {
                let digits = cell.strip_prefix(['-', '+']).unwrap_or(cell);
                if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                    cell.parse::<i64>()
                        .map(Value::from)
                        .map_err(|_| "un nombre entier")
                } else {
                    Err("un nombre entier (chiffres seulement, sans espace ni virgule)")
                }
            }
            Kind::Number => parse_number(cell)
                .map(|n| {
                    serde_json::Number::from_f64(n)
                        .map_or(Value::String(cell.into()), Value::Number)
                })
                .ok_or("un nombre (avec un point décimal, ex. 1234.5)"),
            Kind::Boolean { truthy, falsy } => {
                if truthy.iter().any(|t| t == cell) {
                    Ok(Value::Bool(true))
                } else if falsy.iter().any(|t| t == cell) {
                    Ok(Value::Bool(false))
                } else {
                    Err("un booléen (true ou false)")
                }
            }
            Kind::Date => jiff::civil::Date::strptime("%Y-%m-%d", cell)
                .ok()
                .filter(|_| cell.len() == 10)
                .map(|d| Value::String(d.to_string()))
                .ok_or("une date au format AAAA-MM-JJ (ex. 2026-12-04)"),
            Kind::DateTime => {
                let parsed = cell
                    .parse::<jiff::Timestamp>()
                    .map(|t| t.to_string())
                    .or_else(|_| cell.parse::<jiff::civil::DateTime>().map(|t| t.to_string()));
                parsed
                    .map(Value::String)
                    .map_err(|_| "une date et heure ISO 8601 (ex. 2026-12-04T10:30:00Z)")
            }
            Kind::Year => {
                let digits = cell.strip_prefix('-').unwrap_or(cell);
                if digits.len() == 4 && digits.bytes().all(|b| b.is_ascii_digit()) {
                    cell.parse::<i64>()
                        .map(Value::from)
                        .map_err(|_| "une année")
                } else {
                    Err("une année sur quatre chiffres")
                }
            }
            Kind::YearMonth => {
                let ok = cell.len() == 7
                    && cell.as_bytes()[4] == b'-'
                    && cell[..4].bytes().all(|b| b.is_ascii_digit())
                    && cell[5..].parse::<u8>().is_ok_and(|m| (1..=12).contains(&m));
                if ok {
                    Ok(Value::String(cell.to_string()))
                } else {
                    Err("un mois au format AAAA-MM")
                }
            }
            Kind::Any => Ok(Value::String(cell.to_string())),
        }
    }

    /// The first constraint the value breaks, explained.
    fn constraint_error(&self, cell: &str, value: &Value) -> Option<String> {
        let length = cell.chars().count();
        if let Some(min) = self.min_length {
            if length < min {
                return Some(format!("{length} caractère(s), il en faut au moins {min}."));
            }
        }
        if let Some(max) = self.max_length {
            if length > max {
                return Some(format!("{length} caractères, {max} au plus."));
            }
        }
        if let Some((p, re)) = &self.pattern {
            if !re.is_match(cell) {
                return Some(format!(
                    "« {} » n'a pas la forme attendue (motif {p}).",
                    shorten(cell)
                ));
            }
        }
        if let Some(min) = self.bound(self.minimum.as_ref()) {
            if compare(value, &min).is_some_and(|o| o.is_lt()) {
                return Some(format!(
                    "{} est inférieur au minimum {}.",
                    shorten(cell),
                    plain(&min)
                ));
            }
        }
        if let Some(max) = self.bound(self.maximum.as_ref()) {
            if compare(value, &max).is_some_and(|o| o.is_gt()) {
                return Some(format!(
                    "{} dépasse le maximum {}.",
                    shorten(cell),
                    plain(&max)
                ));
            }
        }
        if let Some(values) = &self.values {
            if !values
                .iter()
                .any(|v| compare(value, v).is_some_and(|o| o.is_eq()))
            {
                let listed: Vec<String> = values.iter().take(12).map(plain).collect();
                return Some(format!(
                    "« {} » n'est pas une valeur permise ({}).",
                    shorten(cell),
                    listed.join(", ")
                ));
            }
        }
        None
    }

    /// A bound cast to the field's type (schemas may write it as text).
    fn bound(&self, bound: Option<&Value>) -> Option<Value> {
        match bound? {
            Value::String(s) => self.cast(s).ok(),
            other => Some(other.clone()),
        }
    }
}

fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn compare(a: &Value, b: &Value) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64()?.partial_cmp(&y.as_f64()?),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

/// A number as Table Schema reads it by default: a decimal point, an optional exponent, and
/// `NaN`, `INF`, `-INF`.
fn parse_number(cell: &str) -> Option<f64> {
    if matches!(cell, "NaN" | "INF" | "-INF" | "+INF") {
        return Some(0.0);
    }
    let body = cell.strip_prefix(['-', '+']).unwrap_or(cell);
    let (mantissa, exponent) = match body.split_once(['e', 'E']) {
        Some((m, e)) => (m, Some(e)),
        None => (body, None),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let ok = (!whole.is_empty() || !fraction.is_empty())
        && digits(whole)
        && digits(fraction)
        && exponent.is_none_or(|e| {
            let e = e.strip_prefix(['-', '+']).unwrap_or(e);
            !e.is_empty() && digits(e)
        });
    ok.then(|| cell.parse::<f64>().ok()).flatten()
}

fn is_email(cell: &str) -> bool {
    let Some((local, domain)) = cell.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && !local.contains(char::is_whitespace)
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && domain
            .chars()
            .all(|c| c.is_alphanumeric() || c == '.' || c == '-')
}

fn is_uri(cell: &str) -> bool {
    let Some((scheme, rest)) = cell.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        && !rest.is_empty()
        && !cell.contains(char::is_whitespace)
}

fn is_uuid(cell: &str) -> bool {
    let parts: Vec<&str> = cell.split('-').collect();
    parts.len() == 5
        && [8, 4, 4, 4, 12]
            .iter()
            .zip(&parts)
            .all(|(n, p)| p.len() == *n && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Schema {
        Schema::from_json(&json!({
            "fields": [
                {"name": "ID", "type": "integer", "constraints": {"required": true, "unique": true}},
                {"name": "NOM", "type": "string", "constraints": {"maxLength": 5}},
                {"name": "DATE", "type": "date"},
                {"name": "MONTANT", "type": "number", "constraints": {"minimum": 0}},
                {"name": "NATURE", "type": "string", "constraints": {"enum": ["a", "b"]}},
                {"name": "PARENT", "type": "integer"}
            ],
            "primaryKey": "ID",
            "foreignKeys": [{"fields": "PARENT", "reference": {"resource": "", "fields": "ID"}}]
        }))
        .expect("schema")
    }

    #[test]
    fn a_valid_file_passes() {
        let r = schema().validate(
            b"ID,NOM,DATE,MONTANT,NATURE,PARENT\n1,abc,2026-12-04,12.5,a,\n2,de,2026-01-31,0,b,1\n",
        );
        assert!(r.valid(), "{:?}", r.issues);
        assert_eq!(r.rows, 2);
    }

    #[test]
    fn each_problem_is_placed_and_explained_in_french() {
        let r = schema().validate(
            b"ID,NOM,DATE,MONTANT,NATURE,PARENT\n1,abcdef,2026-02-30,-1,c,9\nx,ok,2026-01-01,1,a,\n1,ok,2026-01-01,1,a,\n,,,,,\n",
        );
        let placed: Vec<(IssueKind, Option<usize>, Option<usize>)> =
            r.issues.iter().map(|i| (i.kind, i.row, i.field)).collect();
        assert!(
            placed.contains(&(IssueKind::ConstraintError, Some(2), Some(2))),
            "{placed:?}"
        );
        assert!(placed.contains(&(IssueKind::TypeError, Some(2), Some(3))));
        assert!(placed.contains(&(IssueKind::ConstraintError, Some(2), Some(4))));
        assert!(placed.contains(&(IssueKind::ConstraintError, Some(2), Some(5))));
        assert!(placed.contains(&(IssueKind::TypeError, Some(3), Some(1))));
        assert!(placed.contains(&(IssueKind::UniqueError, Some(4), Some(1))));
        assert!(placed.contains(&(IssueKind::BlankRow, Some(5), None)));
        let date = r
            .issues
            .iter()
            .find(|i| i.row == Some(2) && i.field == Some(3))
            .expect("date");
        assert!(
            date.message.contains("Ligne 2, colonne « DATE »")
                && date.message.contains("AAAA-MM-JJ"),
            "{}",
            date.message
        );
    }

    #[test]
    fn the_header_must_name_the_columns_in_order() {
        let r = schema().validate(b"ID,NOM,DATE,MONTANT,PARENT\n");
        let kinds: Vec<IssueKind> = r.issues.iter().map(|i| i.kind).collect();
        assert_eq!(
            kinds,
            vec![IssueKind::IncorrectLabel, IssueKind::MissingLabel]
        );
    }

    #[test]
    fn unsupported_types_refuse_the_schema() {
        let err = Schema::from_json(&json!({"fields": [{"name": "P", "type": "geopoint"}]}))
            .expect_err("refused");
        assert!(err.contains("geopoint"), "{err}");
    }
}
