//! The usager's profile ("Dites-le nous une fois"): identity, contact, address and household,
//! given once and reused. Each value says where it comes from: declared by the usager, or
//! certified by FranceConnect, and then read-only. Démarche fields bound to a profile key come
//! prefilled (still editable); after a deposit, the values typed that differ from the profile
//! are offered to be saved back.

use crate::demarche::definition::{Definition, Field, FieldKind};
use crate::demarche::values::{check_single, Answers};
use std::collections::BTreeMap;
use time::Date;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Declared,
    FranceConnect,
}

impl Source {
    pub fn code(self) -> &'static str {
        match self {
            Self::Declared => "declare",
            Self::FranceConnect => "franceconnect",
        }
    }

    pub fn from_code(s: &str) -> Option<Self> {
        [Self::Declared, Self::FranceConnect]
            .into_iter()
            .find(|x| x.code() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Declared => "déclaré par vous",
            Self::FranceConnect => "certifié par FranceConnect",
        }
    }
}

/// A value of the profile and where it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Value {
    pub value: String,
    pub source: Source,
}

/// A profile: values by key (`foyer.enfants[1].prenoms` for the second child).
pub type Profil = BTreeMap<String, Value>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Date,
    Phone,
    Address,
    Commune,
    Sex,
}

/// One kind of value of the profile.
pub struct Key {
    pub code: &'static str,
    pub label: &'static str,
    /// The part of the profile page it belongs to.
    pub group: &'static str,
    kind: Kind,
}

impl Key {
    fn field_kind(&self) -> FieldKind {
        match self.kind {
            Kind::Text => FieldKind::ShortText {
                max_length: Some(150),
                pattern: None,
                pattern_message: None,
                example: None,
            },
            Kind::Date => FieldKind::Date {
                min: Some("1900-01-01".into()),
                max: Some("today".into()),
                age: None,
                within: None,
            },
            Kind::Phone => FieldKind::Phone,
            Kind::Address => FieldKind::Address,
            Kind::Commune => FieldKind::Commune,
            Kind::Sex => FieldKind::SingleChoice {
                options: SEXES.iter().map(|s| s.to_string()).collect(),
            },
        }
    }

    /// The HTML input type of the profile form.
    pub fn input(&self) -> &'static str {
        match self.kind {
            Kind::Date => "date",
            Kind::Phone => "tel",
            _ => "text",
        }
    }

    pub fn autocomplete(&self) -> &'static str {
        match self.code {
            "identite.prenoms" => "given-name",
            "identite.nom" | "identite.nom_usage" => "family-name",
            "identite.naissance" => "bday",
            "identite.sexe" => "sex",
            "contact.telephone" => "tel",
            "adresse.postale" => "street-address",
            _ => "off",
        }
    }

    pub fn hint(&self) -> &'static str {
        match self.kind {
            Kind::Date => "JJ/MM/AAAA",
            Kind::Commune => "Code INSEE à 5 caractères, par exemple 21231 pour Dijon.",
            Kind::Sex => "féminin ou masculin",
            _ => "",
        }
    }
}

pub const SEXES: [&str; 2] = ["féminin", "masculin"];

/// The keys of the profile, in the order of the profile page.
pub const KEYS: &[Key] = &[
    key("identite.prenoms", "Prénoms", "Identité", Kind::Text),
    key("identite.nom", "Nom de naissance", "Identité", Kind::Text),
    key("identite.nom_usage", "Nom d'usage", "Identité", Kind::Text),
    key("identite.sexe", "Sexe", "Identité", Kind::Sex),
    key(
        "identite.naissance",
        "Date de naissance",
        "Identité",
        Kind::Date,
    ),
    key(
        "identite.lieu_naissance",
        "Lieu de naissance (code INSEE)",
        "Identité",
        Kind::Text,
    ),
    key(
        "identite.pays_naissance",
        "Pays de naissance (code INSEE)",
        "Identité",
        Kind::Text,
    ),
    key("contact.telephone", "Téléphone", "Contact", Kind::Phone),
    key(
        "adresse.postale",
        "Adresse postale",
        "Adresse",
        Kind::Address,
    ),
    key("adresse.commune", "Commune", "Adresse", Kind::Commune),
    key(
        "foyer.conjoint.prenoms",
        "Prénoms du conjoint",
        "Foyer",
        Kind::Text,
    ),
    key("foyer.conjoint.nom", "Nom du conjoint", "Foyer", Kind::Text),
    key(
        "foyer.conjoint.naissance",
        "Date de naissance du conjoint",
        "Foyer",
        Kind::Date,
    ),
];

/// The values kept for each child: `foyer.enfants[i].<code>`.
pub const CHILD_KEYS: &[Key] = &[
    key("prenoms", "Prénoms", "Enfant", Kind::Text),
    key("nom", "Nom", "Enfant", Kind::Text),
    key("naissance", "Date de naissance", "Enfant", Kind::Date),
];

/// The block key children are bound to.
pub const CHILDREN: &str = "foyer.enfants";
/// At most this many children are kept.
pub const MAX_CHILDREN: usize = 12;

const fn key(code: &'static str, label: &'static str, group: &'static str, kind: Kind) -> Key {
    Key {
        code,
        label,
        group,
        kind,
    }
}

/// A profile key and, for a child's value, which child: `foyer.enfants[2].nom` → (nom, Some(2)).
pub fn parse_key(key: &str) -> Option<(&'static Key, Option<usize>)> {
    if let Some(k) = KEYS.iter().find(|k| k.code == key) {
        return Some((k, None));
    }
    let rest = key.strip_prefix(CHILDREN)?.strip_prefix('[')?;
    let (index, tail) = rest.split_once("].")?;
    let index: usize = index.parse().ok().filter(|i| *i < MAX_CHILDREN)?;
    let k = CHILD_KEYS.iter().find(|k| k.code == tail)?;
    Some((k, Some(index)))
}

/// Checks and normalises a value for a key (French message when refused).
pub fn check(key: &str, value: &str, today: Date) -> Result<String, String> {
    let Some((k, _)) = parse_key(key) else {
        return Err(format!("Information inconnue : {key}"));
    };
    check_single(&k.field_kind(), value, today)
}

/// Why a démarche field cannot be bound to this profile key, if it cannot.
pub fn binding_error(field: &Field, in_block: bool) -> Option<String> {
    let key = field.profile.as_deref()?;
    let id = &field.id;
    let known = if matches!(field.kind, FieldKind::Block { .. }) {
        key == CHILDREN
    } else if in_block {
        CHILD_KEYS.iter().any(|k| k.code == key)
    } else {
        KEYS.iter().any(|k| k.code == key)
    };
    if !known {
        return Some(format!(
            "champ \"{id}\" : « profile » inconnu « {key} » (voir la liste des informations du profil)"
        ));
    }
    if let FieldKind::Block { fields, .. } = &field.kind {
        if fields.iter().all(|f| f.profile.is_none()) {
            return Some(format!(
                "champ \"{id}\" : le bloc est relié aux enfants du foyer mais aucun de ses champs ne dit lequel de leurs renseignements il reprend"
            ));
        }
    }
    None
}

/// The bound fields of a definition: (answer key, profile key), repetitions of a bound block
/// for `children` children.
fn bindings(definition: &Definition, children: usize) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for field in definition.pages.iter().flat_map(|p| &p.fields) {
        match (&field.kind, field.profile.as_deref()) {
            (FieldKind::Block { fields, .. }, Some(CHILDREN)) => {
                for i in 0..children {
                    for inner in fields {
                        if let Some(k) = &inner.profile {
                            out.push((
                                format!("{}[{i}].{}", field.id, inner.id),
                                format!("{CHILDREN}[{i}].{k}"),
                            ));
                        }
                    }
                }
            }
            (FieldKind::Block { .. }, _) => {}
            (_, Some(k)) => out.push((field.id.clone(), k.to_string())),
            _ => {}
        }
    }
    out
}

/// How many children the profile holds.
pub fn children(profile: &Profil) -> usize {
    profile
        .keys()
        .filter_map(|k| parse_key(k))
        .filter_map(|(_, i)| i)
        .map(|i| i + 1)
        .max()
        .unwrap_or(0)
}

/// The answers a new dossier starts with: the bound fields, from the profile.
pub fn prefill(definition: &Definition, profile: &Profil) -> Answers {
    let mut answers = Answers::default();
    for (answer, key) in bindings(definition, children(profile)) {
        if let Some(v) = profile.get(&key) {
            answers.set(answer, vec![v.value.clone()]);
        }
    }
    answers
}

/// A value typed in a dossier that the profile does not hold yet (or holds differently).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub key: String,
    pub label: String,
    pub old: Option<String>,
    pub new: String,
}

/// The values of a deposited dossier worth saving to the profile: bound, valid, different, and
/// not certified by FranceConnect (those are read-only).
pub fn changes(
    definition: &Definition,
    answers: &Answers,
    profile: &Profil,
    today: Date,
) -> Vec<Change> {
    let block_children = definition
        .pages
        .iter()
        .flat_map(|p| &p.fields)
        .filter(|f| f.profile.as_deref() == Some(CHILDREN))
        .map(|f| answers.block_len(&f.id))
        .max()
        .unwrap_or(0)
        .min(MAX_CHILDREN);
    let mut out = Vec::new();
    for (answer, key) in bindings(definition, block_children) {
        let Some(typed) = answers.get(&answer) else {
            continue;
        };
        let Ok(new) = check(&key, typed, today) else {
            continue;
        };
        let old = profile.get(&key);
        if old.is_some_and(|o| o.source == Source::FranceConnect || o.value == new) {
            continue;
        }
        let label = match parse_key(&key) {
            Some((k, Some(i))) => format!("Enfant {} : {}", i + 1, k.label.to_lowercase()),
            Some((k, None)) => k.label.to_string(),
            None => key.clone(),
        };
        out.push(Change {
            key,
            label,
            old: old.map(|o| o.value.clone()),
            new,
        });
    }
    out
}

/// "Dites-le-nous une fois", measured at a deposit: how many answers of fields not bound to the
/// profile repeat a value the profile already held (declared, or certified by FranceConnect):
/// information the usager had to give again. Values compare folded, without spaces or
/// punctuation, dates in either format; values under three characters never count.
pub fn asked_again(definition: &Definition, answers: &Answers, profile: &Profil) -> i64 {
    let known: std::collections::BTreeSet<String> = profile
        .values()
        .map(|v| comparable(&v.value))
        .filter(|v| v.chars().count() >= 3)
        .collect();
    if known.is_empty() {
        return 0;
    }
    let bound: std::collections::BTreeSet<String> = bindings(definition, MAX_CHILDREN)
        .into_iter()
        .map(|(answer, _)| answer)
        .collect();
    answers
        .0
        .iter()
        .filter(|(key, _)| !bound.contains(*key))
        .filter(|(_, values)| values.iter().any(|v| known.contains(&comparable(v))))
        .count() as i64
}

/// A value as compared with the profile: a date in ISO form, else folded letters and digits.
fn comparable(value: &str) -> String {
    if let Some(d) = crate::demarche::values::parse_date(value) {
        return d.to_string();
    }
    crate::text::fold(value)
        .chars()
        .filter(|c| c.is_alphanumeric())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> Date {
        time::macros::date!(2026 - 11 - 30)
    }

    fn definition() -> Definition {
        Definition::from_json(
            r#"{"title": "Cantine", "description": "d", "retention_months": 12, "pages": [{"title": "p", "fields": [
                {"id": "tel", "label": "Téléphone", "type": "phone", "profile": "contact.telephone"},
                {"id": "adresse", "label": "Adresse", "type": "address", "profile": "adresse.postale"},
                {"id": "enfants", "label": "Enfants", "type": "block", "item_label": "Enfant", "profile": "foyer.enfants", "fields": [
                    {"id": "prenom", "label": "Prénom", "type": "short_text", "profile": "prenoms"},
                    {"id": "naissance", "label": "Naissance", "type": "date", "profile": "naissance"},
                    {"id": "ecole", "label": "École", "type": "short_text"}
                ]}
            ]}]}"#,
        )
        .expect("valid definition")
    }

    fn declared(v: &str) -> Value {
        Value {
            value: v.into(),
            source: Source::Declared,
        }
    }

    #[test]
    fn bound_fields_come_prefilled_children_included() {
        let mut p = Profil::new();
        p.insert("contact.telephone".into(), declared("06 12 34 56 78"));
        p.insert("foyer.enfants[0].prenoms".into(), declared("Léa"));
        p.insert("foyer.enfants[1].prenoms".into(), declared("Noé"));
        p.insert("foyer.enfants[1].naissance".into(), declared("2019-03-02"));
        let a = prefill(&definition(), &p);
        assert_eq!(a.get("tel"), Some("06 12 34 56 78"));
        assert_eq!(a.get("enfants[1].prenom"), Some("Noé"));
        assert_eq!(a.get("enfants[1].naissance"), Some("2019-03-02"));
        assert_eq!(a.get("adresse"), None);
        assert_eq!(a.block_len("enfants"), 2);
    }

    #[test]
    fn new_values_are_offered_back_but_never_over_certified_ones() {
        let mut p = Profil::new();
        p.insert("contact.telephone".into(), declared("06 12 34 56 78"));
        p.insert(
            "adresse.postale".into(),
            Value {
                value: "1 rue A, 21000 Dijon".into(),
                source: Source::FranceConnect,
            },
        );
        let mut a = Answers::default();
        a.set("tel", vec!["0612345678".into()]);
        a.set("adresse", vec!["2 rue B, 21000 Dijon".into()]);
        a.set("enfants[0].prenom", vec!["Léa".into()]);
        a.set("enfants[0].naissance", vec!["14/07/2018".into()]);
        let c = changes(&definition(), &a, &p, today());
        let keys: Vec<&str> = c.iter().map(|c| c.key.as_str()).collect();
        // Same phone once normalised; certified address untouched; the child is new.
        assert_eq!(
            keys,
            vec!["foyer.enfants[0].prenoms", "foyer.enfants[0].naissance"]
        );
        assert_eq!(c[1].new, "2018-07-14");
        assert_eq!(c[1].label, "Enfant 1 : date de naissance");
    }

    #[test]
    fn values_the_profile_held_count_when_asked_again_unbound() {
        let mut p = Profil::new();
        p.insert("contact.telephone".into(), declared("06 12 34 56 78"));
        p.insert("identite.naissance".into(), declared("1984-05-02"));
        p.insert("identite.sexe".into(), declared("F"));
        let def = Definition::from_json(
            r#"{"title": "Cantine", "description": "d", "retention_months": 12, "pages": [{"title": "p", "fields": [
                {"id": "tel", "label": "Téléphone", "type": "phone", "profile": "contact.telephone"},
                {"id": "tel2", "label": "Téléphone du parent", "type": "phone"},
                {"id": "naissance", "label": "Votre date de naissance", "type": "date"},
                {"id": "initiale", "label": "Initiale", "type": "short_text"},
                {"id": "motif", "label": "Motif", "type": "short_text"}
            ]}]}"#,
        )
        .expect("valid definition");
        let mut a = Answers::default();
        // Bound and prefilled: not asked again.
        a.set("tel", vec!["06 12 34 56 78".into()]);
        // Unbound, same phone written otherwise, same birth date in French form: asked again.
        a.set("tel2", vec!["0612345678".into()]);
        a.set("naissance", vec!["02/05/1984".into()]);
        // Too short to tell; and a value the profile does not hold.
        a.set("initiale", vec!["F".into()]);
        a.set("motif", vec!["Déménagement".into()]);
        assert_eq!(asked_again(&def, &a, &p), 2);
        assert_eq!(asked_again(&def, &a, &Profil::new()), 0);
    }

    #[test]
    fn keys_and_bindings_are_checked() {
        assert!(parse_key("foyer.enfants[3].nom").is_some());
        assert!(parse_key("foyer.enfants[99].nom").is_none());
        assert!(parse_key("identite.inconnu").is_none());
        assert!(check("identite.naissance", "31/02/2000", today()).is_err());
        assert_eq!(
            check("contact.telephone", "+33612345678", today()).as_deref(),
            Ok("06 12 34 56 78")
        );
        let bad = Definition::from_json(
            r#"{"title": "t", "description": "d", "retention_months": 1, "pages": [{"title": "p", "fields": [
                {"id": "x", "label": "X", "type": "short_text", "profile": "identite.age"}]}]}"#,
        );
        assert!(format!("{bad:?}").contains("identite.age"), "{bad:?}");
    }
}
