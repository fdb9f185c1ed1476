//! The no-code editor of a démarche (admins), without JavaScript: general settings, pages, and
//! fields added, edited, moved and removed one form at a time. Every change goes to the draft
//! version (a published version is never modified) and is kept only if the definition stays
//! valid; otherwise the reasons are shown and nothing is saved.

use crate::auth::{CollectiviteContext, Visitor};
use crate::demarche::conception::load;
use crate::error::AppError;
use crate::form::{Errors, Fields};
use crate::layout::Layout;
use crate::page::{html, not_found};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use guichet_domain::delai::{Delai, Unite};
use guichet_domain::demarche::edit::{new_id, Edit};
use guichet_domain::demarche::values::KNOWN_FILE_TYPES;
use guichet_domain::demarche::{
    AgeBound, ApresCorrection, Condition, Definition, DefinitionError, Field, FieldKind,
    IdentityLevel, JourDeReference, TacitRule,
};
use guichet_store::collectivite::Collectivite;
use guichet_store::demarche::{self, Demarche};
use guichet_store::trace::Trace;

/// The field types the editor offers: (code of the JSON format, label).
pub const FIELD_TYPES: &[(&str, &str)] = &[
    ("short_text", "Texte court"),
    ("long_text", "Texte long"),
    ("integer", "Nombre entier"),
    ("decimal", "Nombre décimal"),
    ("date", "Date"),
    ("email", "Adresse électronique"),
    ("phone", "Téléphone"),
    ("address", "Adresse postale"),
    ("commune", "Commune"),
    ("single_choice", "Choix unique"),
    ("multiple_choice", "Choix multiple"),
    ("yes_no", "Oui / non"),
    ("checkbox", "Case à cocher (ex. consentement)"),
    ("file", "Pièce jointe"),
    ("siret", "SIRET"),
    ("iban", "IBAN"),
    ("rna", "Numéro RNA (association)"),
    ("code_postal", "Code postal"),
    ("heading", "Intertitre"),
    ("explanation", "Texte explicatif"),
    ("block", "Bloc répétable (ex. un par enfant)"),
];

fn type_code(kind: &FieldKind) -> &'static str {
    match kind {
        FieldKind::ShortText { .. } => "short_text",
        FieldKind::LongText { .. } => "long_text",
        FieldKind::Integer { .. } => "integer",
        FieldKind::Decimal { .. } => "decimal",
        FieldKind::Date { .. } => "date",
        FieldKind::Email => "email",
        FieldKind::Phone => "phone",
        FieldKind::Address => "address",
        FieldKind::Commune => "commune",
        FieldKind::SingleChoice { .. } => "single_choice",
        FieldKind::MultipleChoice { .. } => "multiple_choice",
        FieldKind::YesNo => "yes_no",
        FieldKind::Checkbox => "checkbox",
        FieldKind::File { .. } => "file",
        FieldKind::Siret => "siret",
        FieldKind::Iban => "iban",
        FieldKind::Rna => "rna",
        FieldKind::CodePostal => "code_postal",
        FieldKind::Heading => "heading",
        FieldKind::Explanation => "explanation",
        FieldKind::Block { .. } => "block",
    }
}

/// What the field form shows: the values as typed (strings), for a new field or an existing one.
#[derive(Default, Clone)]
pub struct FieldValues {
    pub id: String,
    pub kind: String,
    pub label: String,
    pub help: String,
    pub required: bool,
    pub condition_field: String,
    pub condition_values: String,
    /// A condition the simple form cannot show (combined, compares…), kept as JSON.
    pub condition_json: String,
    /// In words, for the admin.
    pub condition_words: String,
    pub pattern: String,
    pub pattern_message: String,
    pub example: String,
    pub age_min: String,
    pub age_max: String,
    /// "01/09": the reference day of an age, empty for the day of the request.
    pub age_day: String,
    pub age_year_offset: String,
    pub within: String,
    pub within_unit: String,
    pub options: String,
    pub min: String,
    pub max: String,
    pub max_length: String,
    pub accept: Vec<String>,
    pub max_size_mb: String,
    pub max_files: String,
    pub item_label: String,
    /// The profile value it is prefilled from (empty: none).
    pub profile: String,
}

impl FieldValues {
    pub fn accepts(&self, mime: &str) -> bool {
        self.accept.iter().any(|a| a == mime)
    }

    fn of(f: &Field) -> Self {
        let mut v = Self {
            id: f.id.clone(),
            kind: type_code(&f.kind).into(),
            label: f.label.clone(),
            help: f.help.clone().unwrap_or_default(),
            required: f.required,
            profile: f.profile.clone().unwrap_or_default(),
            ..Default::default()
        };
        match &f.condition {
            Some(c) if c.is_simple() => {
                v.condition_field = c.field.clone();
                v.condition_values = c.equals.join("\n");
            }
            Some(c) => {
                v.condition_json = serde_json::to_string(c).unwrap_or_default();
                v.condition_words = c.describe(&|id: &str| id.to_string());
            }
            None => {}
        }
        let opt = |x: Option<String>| x.unwrap_or_default();
        match &f.kind {
            FieldKind::ShortText {
                max_length,
                pattern,
                pattern_message,
                example,
            } => {
                v.max_length = opt(max_length.map(|m| m.to_string()));
                v.pattern = opt(pattern.clone());
                v.pattern_message = opt(pattern_message.clone());
                v.example = opt(example.clone());
            }
            FieldKind::LongText { max_length } => {
                v.max_length = opt(max_length.map(|m| m.to_string()));
            }
            FieldKind::Integer { min, max } => {
                v.min = opt(min.map(|m| m.to_string()));
                v.max = opt(max.map(|m| m.to_string()));
            }
            FieldKind::Decimal { min, max } => {
                v.min = opt(min.map(|m| m.to_string()));
                v.max = opt(max.map(|m| m.to_string()));
            }
            FieldKind::Date {
                min,
                max,
                age,
                within,
            } => {
                v.min = opt(min.clone());
                v.max = opt(max.clone());
                if let Some(a) = age {
                    v.age_min = opt(a.min.map(|n| n.to_string()));
                    v.age_max = opt(a.max.map(|n| n.to_string()));
                    if let Some((m, d)) = a.on.as_ref().and_then(|on| on.month_day()) {
                        v.age_day = format!("{d:02}/{m:02}");
                        v.age_year_offset =
                            a.on.as_ref().map_or(0, |on| on.year_offset).to_string();
                    }
                }
                if let Some(w) = within {
                    v.within = w.amount.to_string();
                    v.within_unit = w.unit.code().to_string();
                }
            }
            FieldKind::SingleChoice { options } => v.options = options.join("\n"),
            FieldKind::MultipleChoice { options, min, max } => {
                v.options = options.join("\n");
                v.min = opt(min.map(|m| m.to_string()));
                v.max = opt(max.map(|m| m.to_string()));
            }
            FieldKind::File {
                accept,
                max_size_mb,
                max_files,
            } => {
                v.accept = accept.clone();
                v.max_size_mb = max_size_mb.to_string();
                v.max_files = max_files.to_string();
            }
            FieldKind::Block {
                min,
                max,
                item_label,
                ..
            } => {
                v.min = min.to_string();
                v.max = max.to_string();
                v.item_label = item_label.clone();
            }
            _ => {}
        }
        v
    }

    fn from_form(form: &Fields, kind: String) -> Self {
        Self {
            id: form.get("identifiant"),
            kind,
            label: form.get("libelle"),
            help: form.get("aide"),
            required: form.checked("obligatoire"),
            condition_field: form.get("condition_champ"),
            condition_values: form.get("condition_valeurs"),
            condition_json: form.get("condition_json"),
            condition_words: String::new(),
            pattern: form.get("motif"),
            pattern_message: form.get("motif_message"),
            example: form.get("exemple"),
            age_min: form.get("age_min"),
            age_max: form.get("age_max"),
            age_day: form.get("age_jour"),
            age_year_offset: form.get("age_decalage"),
            within: form.get("recent"),
            within_unit: form.get("recent_unite"),
            options: form.get("options"),
            min: form.get("min"),
            max: form.get("max"),
            max_length: form.get("longueur_max"),
            accept: form.all("formats"),
            max_size_mb: form.get("taille_max"),
            max_files: form.get("nombre_max"),
            item_label: form.get("intitule_element"),
            profile: form.get("profil"),
        }
    }

    /// The field these values describe, or French errors tied to the inputs.
    fn to_field(&self, errors: &mut Errors) -> Option<Field> {
        if self.label.is_empty() {
            errors.add("libelle", "Donnez un libellé au champ.");
        }
        fn number<T: std::str::FromStr>(
            v: &str,
            key: &str,
            what: &str,
            errors: &mut Errors,
        ) -> Option<T> {
            if v.is_empty() {
                return None;
            }
            let parsed = v.replace(',', ".").replace(' ', "").parse().ok();
            if parsed.is_none() {
                errors.add(key, format!("{what} doit être un nombre."));
            }
            parsed
        }
        let lines = |v: &str| -> Vec<String> {
            v.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect()
        };
        let kind = match self.kind.as_str() {
            "short_text" => FieldKind::ShortText {
                max_length: number(
                    &self.max_length,
                    "longueur_max",
                    "La longueur maximale",
                    errors,
                ),
                pattern: Some(self.pattern.clone()).filter(|p| !p.is_empty()),
                pattern_message: Some(self.pattern_message.clone()).filter(|p| !p.is_empty()),
                example: Some(self.example.clone()).filter(|p| !p.is_empty()),
            },
            "long_text" => FieldKind::LongText {
                max_length: number(
                    &self.max_length,
                    "longueur_max",
                    "La longueur maximale",
                    errors,
                ),
            },
            "integer" => FieldKind::Integer {
                min: number(&self.min, "min", "Le minimum", errors),
                max: number(&self.max, "max", "Le maximum", errors),
            },
            "decimal" => FieldKind::Decimal {
                min: number(&self.min, "min", "Le minimum", errors),
                max: number(&self.max, "max", "Le maximum", errors),
            },
            "date" => {
                let date = |v: &str, key: &str, errors: &mut Errors| -> Option<String> {
                    if v.is_empty() {
                        return None;
                    }
                    if v == "today" || v == "aujourd'hui" {
                        return Some("today".into());
                    }
                    match guichet_domain::demarche::values::parse_date(v) {
                        Some(d) => Some(d.to_string()),
                        None => {
                            errors.add(key, "Date invalide : JJ/MM/AAAA ou « aujourd'hui ».");
                            None
                        }
                    }
                };
                let age_min: Option<u32> =
                    number(&self.age_min, "age_min", "L'âge minimum", errors);
                let age_max: Option<u32> =
                    number(&self.age_max, "age_max", "L'âge maximum", errors);
                let on = if self.age_day.is_empty() {
                    None
                } else {
                    match self.age_day.split_once('/') {
                        Some((d, m)) if d.len() <= 2 && m.len() <= 2 => Some(JourDeReference {
                            day: format!("{m:0>2}-{d:0>2}"),
                            year_offset: number(
                                &self.age_year_offset,
                                "age_decalage",
                                "Le décalage d'année",
                                errors,
                            )
                            .unwrap_or(0),
                        }),
                        _ => {
                            errors.add("age_jour", "Jour de référence : JJ/MM, par exemple 01/09.");
                            None
                        }
                    }
                };
                let within =
                    number(&self.within, "recent", "La durée", errors).map(|amount| Delai {
                        amount,
                        unit: Unite::parse(&self.within_unit).unwrap_or(Unite::Mois),
                    });
                FieldKind::Date {
                    min: date(&self.min, "min", errors),
                    max: date(&self.max, "max", errors),
                    age: (age_min.is_some() || age_max.is_some() || on.is_some()).then_some(
                        AgeBound {
                            min: age_min,
                            max: age_max,
                            on,
                        },
                    ),
                    within,
                }
            }
            "email" => FieldKind::Email,
            "phone" => FieldKind::Phone,
            "address" => FieldKind::Address,
            "commune" => FieldKind::Commune,
            "single_choice" => FieldKind::SingleChoice {
                options: lines(&self.options),
            },
            "multiple_choice" => FieldKind::MultipleChoice {
                options: lines(&self.options),
                min: number(&self.min, "min", "Le minimum", errors),
                max: number(&self.max, "max", "Le maximum", errors),
            },
            "yes_no" => FieldKind::YesNo,
            "checkbox" => FieldKind::Checkbox,
            "file" => FieldKind::File {
                accept: self.accept.clone(),
                max_size_mb: number(
                    &self.max_size_mb,
                    "taille_max",
                    "La taille maximale",
                    errors,
                )
                .unwrap_or(10),
                max_files: number(
                    &self.max_files,
                    "nombre_max",
                    "Le nombre de fichiers",
                    errors,
                )
                .unwrap_or(1),
            },
            "siret" => FieldKind::Siret,
            "iban" => FieldKind::Iban,
            "rna" => FieldKind::Rna,
            "code_postal" => FieldKind::CodePostal,
            "heading" => FieldKind::Heading,
            "explanation" => FieldKind::Explanation,
            "block" => FieldKind::Block {
                fields: Vec::new(),
                min: number(&self.min, "min", "Le minimum", errors).unwrap_or(0),
                max: number(&self.max, "max", "Le maximum", errors).unwrap_or(10),
                item_label: if self.item_label.is_empty() {
                    "Élément".into()
                } else {
                    self.item_label.clone()
                },
            },
            _ => {
                errors.add("type", "Choisissez un type de champ dans la liste.");
                return None;
            }
        };
        let condition = if self.condition_field.is_empty() {
            // A condition written in the JSON format is kept as it was.
            serde_json::from_str::<Condition>(&self.condition_json).ok()
        } else {
            let equals = lines(&self.condition_values.replace(';', "\n"));
            if equals.is_empty() {
                errors.add(
                    "condition_valeurs",
                    "Indiquez la ou les valeurs qui font apparaître le champ.",
                );
            }
            Some(Condition::equals(self.condition_field.clone(), equals))
        };
        errors.is_empty().then(|| Field {
            id: self.id.clone(),
            label: self.label.clone(),
            help: Some(self.help.clone()).filter(|h| !h.is_empty()),
            required: self.required && kind.has_value(),
            condition,
            profile: Some(self.profile.clone()).filter(|p| !p.is_empty()),
            kind,
        })
    }
}

/// One line of the editor's outline.
pub struct Line {
    pub id: String,
    pub label: String,
    pub kind: &'static str,
    pub required: bool,
    pub condition: String,
    pub in_block: bool,
}

/// A page of the outline: (index, title, lines, blocks of the page: (id, label)).
pub struct OutlinePage {
    pub index: usize,
    pub title: String,
    pub lines: Vec<Line>,
    pub blocks: Vec<(String, String)>,
}

fn outline(def: &Definition) -> Vec<OutlinePage> {
    let describe = |f: &Field, in_block: bool| Line {
        id: f.id.clone(),
        label: f.label.clone(),
        kind: f.kind.label(),
        required: f.required,
        condition: f
            .condition
            .as_ref()
            .map(|c| {
                let label = |id: &str| {
                    def.field(id)
                        .map(|s| s.label.clone())
                        .unwrap_or_else(|| id.to_string())
                };
                format!("si {}", c.describe(&label))
            })
            .unwrap_or_default(),
        in_block,
    };
    def.pages
        .iter()
        .enumerate()
        .map(|(index, p)| {
            let mut lines = Vec::new();
            let mut blocks = Vec::new();
            for f in &p.fields {
                lines.push(describe(f, false));
                if let FieldKind::Block { fields, .. } = &f.kind {
                    blocks.push((f.id.clone(), f.label.clone()));
                    lines.extend(fields.iter().map(|g| describe(g, true)));
                }
            }
            OutlinePage {
                index,
                title: p.title.clone(),
                lines,
                blocks,
            }
        })
        .collect()
}

/// The units an instruction deadline is counted in: (code, label).
const UNITS: [(&str, &str); 4] = [
    ("jours", "jours"),
    ("semaines", "semaines"),
    ("mois", "mois"),
    ("ans", "ans"),
];

#[derive(Template)]
#[template(path = "demarche/editeur.html")]
struct EditorPage {
    layout: Layout,
    collectivite: Collectivite,
    d: Demarche,
    version: i64,
    def: Definition,
    documents: String,
    deadline: String,
    deadline_unit: &'static str,
    units: &'static [(&'static str, &'static str)],
    contact: String,
    /// The referential's competences: (code, label, level).
    competences: Vec<(String, String, &'static str)>,
    pages: Vec<OutlinePage>,
    types: &'static [(&'static str, &'static str)],
    errors: Errors,
    flash: Option<String>,
}

#[derive(Template)]
#[template(path = "demarche/editeur-champ.html")]
struct FieldPage {
    layout: Layout,
    collectivite: Collectivite,
    d: Demarche,
    v: FieldValues,
    type_label: &'static str,
    /// Fields that may drive a condition: (id, label).
    sources: Vec<(String, String)>,
    formats: Vec<(&'static str, &'static str)>,
    errors: Errors,
}

impl EditorPage {
    /// The fields a rule may compare (numbers and dates, `bloc.champ` inside blocks): (path, label).
    fn comparable_fields(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for f in self.def.pages.iter().flat_map(|p| &p.fields) {
            let comparable = |k: &FieldKind| {
                matches!(
                    k,
                    FieldKind::Integer { .. } | FieldKind::Decimal { .. } | FieldKind::Date { .. }
                )
            };
            match &f.kind {
                FieldKind::Block {
                    fields, item_label, ..
                } => {
                    for inner in fields.iter().filter(|i| comparable(&i.kind)) {
                        out.push((
                            format!("{}.{}", f.id, inner.id),
                            format!("{} (chaque « {item_label} »)", inner.label),
                        ));
                    }
                }
                k if comparable(k) => out.push((f.id.clone(), f.label.clone())),
                _ => {}
            }
        }
        out
    }

    fn comparisons(&self) -> &'static [(&'static str, &'static str)] {
        &COMPARISONS
    }

    /// The rules between fields, cases of ineligibility, routing and annotations, in words; a
    /// rule between fields with its place, to remove it.
    fn rules_in_words(&self) -> Vec<(Option<usize>, String)> {
        let def = &self.def;
        let label = |id: &str| {
            def.field(id)
                .or_else(|| id.split_once('.').and_then(|(_, inner)| def.field(inner)))
                .map(|f| f.label.clone())
                .unwrap_or_else(|| id.to_string())
        };
        let mut out = Vec::new();
        for (i, r) in def.rules.iter().enumerate() {
            let checked = match &r.sum {
                Some(sum) => format!("la somme de « {} »", label(sum)),
                None => format!("« {} »", label(&r.field)),
            };
            out.push((
                Some(i),
                format!(
                    "Règle : {checked} {} « {} »{} — « {} »",
                    r.compare.words(),
                    label(&r.to),
                    r.gap
                        .map(|g| format!(" (écart d'au moins {})", g.label()))
                        .unwrap_or_default(),
                    r.message
                ),
            ));
        }
        for c in &def.ineligibility {
            out.push((
                None,
                format!(
                    "Inéligible si {} — « {} »",
                    c.condition.describe(&label),
                    c.message
                ),
            ));
        }
        for o in &def.routing {
            out.push((
                None,
                format!(
                    "Orientation vers l'équipe « {} » si {}",
                    o.team,
                    o.condition.describe(&label)
                ),
            ));
        }
        for a in &def.annotations {
            out.push((
                None,
                format!(
                    "Annotation privée : « {} » ({}{})",
                    a.label,
                    a.kind.label(),
                    if a.required { ", obligatoire" } else { "" }
                ),
            ));
        }
        out
    }
}

impl FieldPage {
    /// The profile values a field can be bound to: (group, [(key, label)]).
    fn profile_choices(&self) -> Vec<(&'static str, Vec<(&'static str, &'static str)>)> {
        use guichet_domain::profil::{CHILDREN, CHILD_KEYS, KEYS};
        let mut groups: Vec<(&'static str, Vec<(&'static str, &'static str)>)> = Vec::new();
        for k in KEYS {
            match groups.iter_mut().find(|(g, _)| *g == k.group) {
                Some((_, list)) => list.push((k.code, k.label)),
                None => groups.push((k.group, vec![(k.code, k.label)])),
            }
        }
        groups.push((
            "Enfants du foyer",
            std::iter::once((CHILDREN, "Les enfants (pour un bloc répété)"))
                .chain(CHILD_KEYS.iter().map(|k| (k.code, k.label)))
                .collect(),
        ));
        groups
    }
}

fn status(errors: &Errors) -> StatusCode {
    if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    }
}

fn definition_errors(key: &str, errors: &[DefinitionError]) -> Errors {
    let mut e = Errors::default();
    for d in errors {
        e.add(key, format!("Modification refusée : {}.", d.message));
    }
    e
}

async fn editor_page(
    state: &AppState,
    visitor: &Visitor,
    ctx: &CollectiviteContext,
    id: i64,
    errors: Errors,
    flash: Option<String>,
) -> Result<Response, AppError> {
    let Some((d, version, def)) = load(state, ctx, id).await? else {
        return Ok(not_found(State(state.clone())).await);
    };
    let page = EditorPage {
        layout: Layout::for_visitor(state, visitor).await,
        collectivite: ctx.collectivite.clone(),
        version,
        documents: def.documents.join("\n"),
        deadline: def
            .instruction_delay()
            .map(|d| d.amount.to_string())
            .unwrap_or_default(),
        deadline_unit: def
            .instruction_delay()
            .map_or(Unite::Jours, |d| d.unit)
            .code(),
        units: &UNITS,
        contact: def.contact.clone().unwrap_or_default(),
        competences: guichet_store::competence::list(&state.db)
            .await?
            .into_iter()
            .map(|c| (c.code, c.label, c.level.label()))
            .collect(),
        pages: outline(&def),
        types: FIELD_TYPES,
        def,
        d,
        flash,
        errors,
    };
    Ok((status(&page.errors), html(&page)?).into_response())
}

pub async fn show(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    Path((_, id)): Path<(String, i64)>,
) -> Result<Response, AppError> {
    editor_page(&state, &visitor, &ctx, id, Errors::default(), None).await
}

/// Saves the edited definition as the draft version and journals it; refused (with the reason)
/// when the démarche follows a shared template that does not allow this change.
async fn save(
    state: &AppState,
    visitor: &Visitor,
    ctx: &CollectiviteContext,
    d: &Demarche,
    def: &Definition,
    what: &str,
) -> Result<i64, SaveError> {
    if let Err(message) = crate::demarche::modele::check_adopted_edit(state, d, def).await? {
        return Err(SaveError::Refused(message));
    }
    let event = visitor.event(Some(ctx.collectivite.id), "demarche.modification");
    let what = what.to_string();
    let version = demarche::save_draft(&state.db, d, def, move |version| {
        Trace::of(crate::demarche::conception::with_details(
            event,
            serde_json::json!({"version": version, "editeur": what}),
        ))
    })
    .await?;
    Ok(version)
}

enum SaveError {
    Refused(String),
    Storage(anyhow::Error),
}

impl From<anyhow::Error> for SaveError {
    fn from(e: anyhow::Error) -> Self {
        Self::Storage(e)
    }
}

/// The editor with the reason a save was refused, or the storage error.
async fn refused(
    state: &AppState,
    visitor: &Visitor,
    ctx: &CollectiviteContext,
    id: i64,
    e: SaveError,
) -> Result<Response, AppError> {
    match e {
        SaveError::Refused(message) => {
            let mut errors = Errors::default();
            errors.add("plan", message);
            editor_page(state, visitor, ctx, id, errors, None).await
        }
        SaveError::Storage(e) => Err(e.into()),
    }
}

/// Applies an edit; on success back to the editor with a message, else the errors.
async fn apply(
    state: AppState,
    visitor: Visitor,
    ctx: CollectiviteContext,
    id: i64,
    edit: Edit,
    done: &str,
) -> Result<Response, AppError> {
    let Some((d, _, def)) = load(&state, &ctx, id).await? else {
        return Ok(not_found(State(state)).await);
    };
    match def.apply(edit) {
        Ok(new) => {
            let version = match save(&state, &visitor, &ctx, &d, &new, done).await {
                Ok(v) => v,
                Err(e) => return refused(&state, &visitor, &ctx, id, e).await,
            };
            editor_page(
                &state,
                &visitor,
                &ctx,
                id,
                Errors::default(),
                Some(format!("{done} (brouillon de la version {version}).")),
            )
            .await
        }
        Err(errors) => {
            editor_page(
                &state,
                &visitor,
                &ctx,
                id,
                definition_errors("plan", &errors),
                None,
            )
            .await
        }
    }
}

pub async fn settings(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    Path((_, id)): Path<(String, i64)>,
    form: Fields,
) -> Result<Response, AppError> {
    let Some((d, _, mut def)) = load(&state, &ctx, id).await? else {
        return Ok(not_found(State(state)).await);
    };
    let mut errors = Errors::default();
    let title = form.get("titre");
    if title.is_empty() {
        errors.add("titre", "Donnez un titre à la démarche.");
    }
    let description = form.get("description");
    if description.is_empty() {
        errors.add("description", "Décrivez la démarche en quelques mots.");
    }
    let deadline = form.get("delai");
    let unit = Unite::parse(&form.get("delai_unite")).unwrap_or(Unite::Jours);
    let instruction_delay = if deadline.is_empty() {
        None
    } else {
        match deadline.parse::<u32>() {
            Ok(amount) if (1..=3650).contains(&amount) => Some(Delai { amount, unit }),
            _ => {
                errors.add("delai", "Le délai est un nombre entre 1 et 3650.");
                None
            }
        }
    };
    let retention = match form.get("conservation").parse::<u32>() {
        Ok(n) if (1..=1200).contains(&n) => n,
        _ => {
            errors.add(
                "conservation",
                "La durée de conservation est un nombre de mois entre 1 et 1200.",
            );
            def.retention_months
        }
    };
    let tacit_rule = match form.get("silence").as_str() {
        "accord" => TacitRule::Accord,
        "rejet" => TacitRule::Rejet,
        _ => TacitRule::Aucune,
    };
    if tacit_rule != TacitRule::Aucune && instruction_delay.is_none() {
        errors.add(
            "silence",
            "Une décision implicite suppose un délai d'instruction : indiquez-le.",
        );
    }
    let competence = form.get("competence");
    if !competence.is_empty()
        && guichet_store::competence::get(&state.db, &competence)
            .await?
            .is_none()
    {
        errors.add("competence", "Choisissez une compétence dans la liste.");
    }
    if !errors.is_empty() {
        return editor_page(&state, &visitor, &ctx, id, errors, None).await;
    }
    def.competence = Some(competence).filter(|c| !c.is_empty());
    def.title = title;
    def.description = description;
    def.audience = form.get("public");
    def.documents = form
        .get("documents")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    def.deadline = instruction_delay;
    def.deadline_days = None;
    def.tacit_rule = tacit_rule;
    def.after_correction = match form.get("apres_correction").as_str() {
        "reprend" => ApresCorrection::Reprend,
        _ => ApresCorrection::Recommence,
    };
    def.retention_months = retention;
    def.identity = match form.get("identite").as_str() {
        "aucune" => IdentityLevel::Aucune,
        "franceconnect" => IdentityLevel::Franceconnect,
        "franceconnect_proposee" => IdentityLevel::FranceconnectProposee,
        _ => IdentityLevel::Compte,
    };
    def.contact = Some(form.get("contact")).filter(|c| !c.is_empty());
    def.decision_letter = Some(form.get("lettre")).filter(|c| !c.is_empty());
    let problems = def.check();
    if !problems.is_empty() {
        return editor_page(
            &state,
            &visitor,
            &ctx,
            id,
            definition_errors("titre", &problems),
            None,
        )
        .await;
    }
    let version = match save(&state, &visitor, &ctx, &d, &def, "réglages").await {
        Ok(v) => v,
        Err(e) => return refused(&state, &visitor, &ctx, id, e).await,
    };
    editor_page(
        &state,
        &visitor,
        &ctx,
        id,
        Errors::default(),
        Some(format!(
            "Réglages enregistrés (brouillon de la version {version})."
        )),
    )
    .await
}

/// The comparisons the editor offers for a rule: (code, words).
const COMPARISONS: [(&str, &str); 7] = [
    ("after", "est après"),
    ("before", "est avant"),
    ("le", "est inférieur ou égal à"),
    ("ge", "est supérieur ou égal à"),
    ("lt", "est inférieur à"),
    ("gt", "est supérieur à"),
    ("eq", "est égal à"),
];

/// Adds a rule between two fields, with the admin's message: refused, with the reason, when the
/// definition's checks refuse it (two fields that cannot be compared, for instance).
pub async fn add_rule(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    Path((_, id)): Path<(String, i64)>,
    body: String,
) -> Result<Response, AppError> {
    let form = Fields::parse(&body);
    let mut errors = Errors::default();
    let compare = serde_json::from_value::<guichet_domain::demarche::Comparaison>(
        serde_json::Value::String(form.get("regle_comparaison")),
    );
    if compare.is_err() {
        errors.add(
            "regle_comparaison",
            "Choisissez une comparaison dans la liste.",
        );
    }
    let message = form.get("regle_message");
    if message.is_empty() {
        errors.add(
            "regle_message",
            "Écrivez le message que l'usager lira si la règle n'est pas respectée.",
        );
    }
    let (Ok(compare), true) = (compare, errors.is_empty()) else {
        return editor_page(&state, &visitor, &ctx, id, errors, None).await;
    };
    let rule = guichet_domain::demarche::Regle {
        field: form.get("regle_champ"),
        sum: None,
        compare,
        to: form.get("regle_autre"),
        gap: None,
        message,
    };
    apply(
        state,
        visitor,
        ctx,
        id,
        Edit::AddRule { rule },
        "Règle ajoutée",
    )
    .await
}

pub async fn remove_rule(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    Path((_, id, index)): Path<(String, i64, usize)>,
) -> Result<Response, AppError> {
    apply(
        state,
        visitor,
        ctx,
        id,
        Edit::RemoveRule { index },
        "Règle retirée",
    )
    .await
}

pub async fn add_page(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    Path((_, id)): Path<(String, i64)>,
    body: String,
) -> Result<Response, AppError> {
    let title = Fields::parse(&body).get("titre_page");
    if title.is_empty() {
        let mut errors = Errors::default();
        errors.add("titre_page", "Donnez un titre à la nouvelle page.");
        return editor_page(&state, &visitor, &ctx, id, errors, None).await;
    }
    apply(
        state,
        visitor,
        ctx,
        id,
        Edit::AddPage { title },
        "Page ajoutée",
    )
    .await
}

pub async fn page_action(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    Path((_, id, page)): Path<(String, i64, usize)>,
    form: Fields,
) -> Result<Response, AppError> {
    if form.get("action") == "supprimer" {
        return apply(
            state,
            visitor,
            ctx,
            id,
            Edit::RemovePage { page },
            "Page supprimée",
        )
        .await;
    }
    let title = form.get("titre");
    if title.is_empty() {
        let mut errors = Errors::default();
        errors.add("plan", "Le titre d'une page ne peut pas être vide.");
        return editor_page(&state, &visitor, &ctx, id, errors, None).await;
    }
    apply(
        state,
        visitor,
        ctx,
        id,
        Edit::RenamePage { page, title },
        "Page renommée",
    )
    .await
}

/// Adds a field (type, label, place); its other properties are set on its own page next.
pub async fn add_field(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    Path((_, id)): Path<(String, i64)>,
    form: Fields,
) -> Result<Response, AppError> {
    let Some((d, _, def)) = load(&state, &ctx, id).await? else {
        return Ok(not_found(State(state)).await);
    };
    let mut values = FieldValues::from_form(&form, form.get("type"));
    values.id = new_id(&def, &values.label);
    // A new file field accepts PDF and images until the admin says otherwise.
    if values.kind == "file" {
        values.accept = vec![
            "application/pdf".into(),
            "image/jpeg".into(),
            "image/png".into(),
        ];
    }
    if matches!(values.kind.as_str(), "single_choice" | "multiple_choice") {
        values.options = "Option 1\nOption 2".into();
    }
    let mut errors = Errors::default();
    let field = values.to_field(&mut errors);
    // "p3" is page 3; "b:enfants" the block "enfants" (on its page).
    let place = form.get("emplacement");
    let (page, block) = if let Some(b) = place.strip_prefix("b:") {
        let page = def
            .pages
            .iter()
            .position(|p| p.fields.iter().any(|f| f.id == b))
            .unwrap_or(usize::MAX);
        (page, Some(b.to_string()))
    } else {
        (
            place
                .strip_prefix('p')
                .and_then(|p| p.parse().ok())
                .unwrap_or(usize::MAX),
            None,
        )
    };
    let Some(field) = field.filter(|_| errors.is_empty()) else {
        return editor_page(&state, &visitor, &ctx, id, errors, None).await;
    };
    let field_id = field.id.clone();
    match def.apply(Edit::AddField { page, block, field }) {
        Ok(new) => {
            if let Err(e) = save(&state, &visitor, &ctx, &d, &new, "champ ajouté").await {
                return refused(&state, &visitor, &ctx, id, e).await;
            }
            Ok(Redirect::to(&format!(
                "/admin/{}/demarches/{id}/editeur/champs/{field_id}",
                ctx.collectivite.slug
            ))
            .into_response())
        }
        Err(problems) => {
            editor_page(
                &state,
                &visitor,
                &ctx,
                id,
                definition_errors("libelle", &problems),
                None,
            )
            .await
        }
    }
}

async fn field_page(
    state: &AppState,
    visitor: &Visitor,
    ctx: &CollectiviteContext,
    d: Demarche,
    def: &Definition,
    v: FieldValues,
    errors: Errors,
) -> Result<Response, AppError> {
    let sources = def
        .all_fields()
        .into_iter()
        .filter(|f| {
            f.id != v.id && f.kind.has_value() && !matches!(f.kind, FieldKind::Block { .. })
        })
        .map(|f| (f.id.clone(), f.label.clone()))
        .collect();
    let page = FieldPage {
        layout: Layout::for_visitor(state, visitor).await,
        collectivite: ctx.collectivite.clone(),
        d,
        type_label: FIELD_TYPES
            .iter()
            .find(|(c, _)| *c == v.kind)
            .map(|(_, l)| *l)
            .unwrap_or(""),
        v,
        sources,
        formats: KNOWN_FILE_TYPES.iter().map(|(m, l, _)| (*m, *l)).collect(),
        errors,
    };
    Ok((status(&page.errors), html(&page)?).into_response())
}

pub async fn edit_field(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    Path((_, id, field)): Path<(String, i64, String)>,
) -> Result<Response, AppError> {
    let Some((d, _, def)) = load(&state, &ctx, id).await? else {
        return Ok(not_found(State(state)).await);
    };
    let Some(f) = def.field(&field) else {
        return Ok(not_found(State(state)).await);
    };
    let v = FieldValues::of(f);
    field_page(&state, &visitor, &ctx, d, &def, v, Errors::default()).await
}

pub async fn update_field(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    Path((_, id, field)): Path<(String, i64, String)>,
    form: Fields,
) -> Result<Response, AppError> {
    let Some((d, _, def)) = load(&state, &ctx, id).await? else {
        return Ok(not_found(State(state)).await);
    };
    let Some(current) = def.field(&field) else {
        return Ok(not_found(State(state)).await);
    };
    // The type and the identifier do not change: answers already given refer to them.
    let mut v = FieldValues::from_form(&form, type_code(&current.kind).into());
    v.id = current.id.clone();
    let mut errors = Errors::default();
    let Some(new_field) = v.to_field(&mut errors) else {
        return field_page(&state, &visitor, &ctx, d, &def, v, errors).await;
    };
    match def.apply(Edit::UpdateField {
        id: field.clone(),
        field: new_field,
    }) {
        Ok(new) => {
            let version = match save(&state, &visitor, &ctx, &d, &new, "champ modifié").await {
                Ok(v) => v,
                Err(e) => return refused(&state, &visitor, &ctx, id, e).await,
            };
            editor_page(
                &state,
                &visitor,
                &ctx,
                id,
                Errors::default(),
                Some(format!(
                    "Champ « {} » enregistré (brouillon de la version {version}).",
                    v.label
                )),
            )
            .await
        }
        Err(problems) => {
            field_page(
                &state,
                &visitor,
                &ctx,
                d,
                &def,
                v,
                definition_errors("libelle", &problems),
            )
            .await
        }
    }
}

pub async fn field_action(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    Path((_, id, field)): Path<(String, i64, String)>,
    body: String,
) -> Result<Response, AppError> {
    let (edit, done) = match Fields::parse(&body).get("action").as_str() {
        "monter" => (
            Edit::MoveField {
                id: field,
                up: true,
            },
            "Champ déplacé",
        ),
        "descendre" => (
            Edit::MoveField {
                id: field,
                up: false,
            },
            "Champ déplacé",
        ),
        "supprimer" => (Edit::RemoveField { id: field }, "Champ supprimé"),
        _ => {
            let mut errors = Errors::default();
            errors.add("plan", "Action inconnue.");
            return editor_page(&state, &visitor, &ctx, id, errors, None).await;
        }
    };
    apply(state, visitor, ctx, id, edit, done).await
}
