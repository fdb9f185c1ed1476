//! The rules real procedures need, each with good and bad input: ages on a reference day,
//! recent documents, rules between fields, formats, combined conditions, ineligibility, and the
//! definitions that can never work refused at import.

use super::values::{holds, validate_page};
use super::*;
use time::macros::date;

/// Dijon's school catering: children of 2 to 12 on 1 September, a PAI only with an allergy.
const CANTINE: &str = r#"{
  "title": "Inscription à la restauration scolaire",
  "description": "Inscrire vos enfants à la cantine.",
  "retention_months": 24,
  "pages": [
    { "title": "Vos enfants", "fields": [
      { "id": "enfants", "label": "Enfants", "type": "block", "item_label": "Enfant", "min": 1, "max": 4,
        "fields": [
          { "id": "prenom", "label": "Prénom", "type": "short_text", "required": true },
          { "id": "naissance", "label": "Date de naissance", "type": "date", "required": true,
            "age": { "min": 2, "max": 12, "on": { "day": "09-01" } } },
          { "id": "allergie", "label": "Allergie alimentaire ?", "type": "yes_no", "required": true },
          { "id": "pai", "label": "Projet d'accueil individualisé (PAI)", "type": "file", "accept": ["application/pdf"],
            "max_size_mb": 5, "required": true, "condition": { "field": "allergie", "equals": ["oui"] } }
        ] }
    ] }
  ]
}"#;

/// An association grant in the shape of the Cerfa 12156.
const SUBVENTION: &str = r#"{
  "title": "Demande de subvention",
  "description": "Cerfa 12156.",
  "retention_months": 60,
  "deadline": { "amount": 2, "unit": "mois" },
  "tacit_rule": "rejet",
  "pages": [
    { "title": "L'association", "fields": [
      { "id": "rna", "label": "Numéro RNA", "type": "rna", "required": true },
      { "id": "cp", "label": "Code postal du siège", "type": "code_postal", "required": true },
      { "id": "siege", "label": "Le siège est-il en Bourgogne-Franche-Comté ?", "type": "yes_no" },
      { "id": "agrement", "label": "Numéro d'agrément", "type": "short_text",
        "pattern": "[0-9]{2}-[A-Z]{3}-[0-9]{4}", "pattern_message": "Le numéro d'agrément s'écrit 2 chiffres, 3 lettres, 4 chiffres.",
        "example": "21-JEP-0042" },
      { "id": "statuts", "label": "Date des statuts à jour", "type": "date", "within": { "amount": 3, "unit": "mois" } }
    ] },
    { "title": "Le projet", "fields": [
      { "id": "debut", "label": "Début du projet", "type": "date", "required": true },
      { "id": "fin", "label": "Fin du projet", "type": "date", "required": true },
      { "id": "budget", "label": "Budget total (€)", "type": "decimal", "min": 0, "required": true },
      { "id": "montant", "label": "Montant demandé (€)", "type": "decimal", "min": 0, "required": true },
      { "id": "depenses", "label": "Dépenses", "type": "block", "item_label": "Dépense", "min": 0, "max": 10, "fields": [
        { "id": "objet", "label": "Objet", "type": "short_text", "required": true },
        { "id": "cout", "label": "Montant (€)", "type": "decimal", "min": 0, "required": true }
      ] },
      { "id": "themes", "label": "Thèmes", "type": "multiple_choice", "options": ["sport", "culture", "social"], "min": 1 }
    ] }
  ],
  "rules": [
    { "field": "fin", "compare": "after", "to": "debut", "message": "La fin du projet doit suivre son début." },
    { "field": "montant", "compare": "le", "to": "budget", "message": "Le montant demandé ne peut pas dépasser le budget total." },
    { "sum": "depenses.cout", "compare": "le", "to": "budget", "message": "Le total des dépenses dépasse le budget total." }
  ],
  "ineligibility": [
    { "condition": { "field": "siege", "equals": ["non"] },
      "message": "cette aide est réservée aux associations de la région." }
  ]
}"#;

fn answers(pairs: &[(&str, &str)]) -> Answers {
    let mut a = Answers::default();
    for (k, v) in pairs {
        a.0.entry((*k).to_string())
            .or_default()
            .push((*v).to_string());
    }
    a
}

fn errors_of(def: &Definition, pairs: &[(&str, &str)], today: time::Date) -> Vec<(String, String)> {
    match validate(def, &answers(pairs), today) {
        Ok(_) => Vec::new(),
        Err(e) => e.into_iter().map(|e| (e.key, e.message)).collect(),
    }
}

#[test]
fn a_child_must_be_between_2_and_12_on_the_first_of_september() {
    let def = Definition::from_json(CANTINE).expect("valid");
    let today = date!(2027 - 05 - 10);
    let child = |birth: &'static str| {
        errors_of(
            &def,
            &[
                ("enfants[0].prenom", "Lou"),
                ("enfants[0].naissance", birth),
                ("enfants[0].allergie", "non"),
            ],
            today,
        )
    };
    // 2 years on 1 September 2027: born on 1 September 2025 at the latest.
    assert_eq!(child("01/09/2025"), vec![]);
    // 12 on 1 September 2027, 13 the day after: born on 2 September 2014 at the earliest.
    assert_eq!(child("02/09/2014"), vec![]);
    let young = child("02/09/2025");
    assert_eq!(young.len(), 1);
    assert_eq!(young[0].0, "enfants[0].naissance");
    assert_eq!(
        young[0].1,
        "Il faut avoir entre 2 et 12 ans au 1er septembre 2027 (naissance entre le 02/09/2014 et le 01/09/2025)."
    );
    assert!(child("01/09/2014")[0].1.contains("entre 2 et 12 ans"));
    // The reference follows the year of the deposit: the same child a year later is 13.
    let later = errors_of(
        &def,
        &[
            ("enfants[0].prenom", "Lou"),
            ("enfants[0].naissance", "02/09/2014"),
            ("enfants[0].allergie", "non"),
        ],
        date!(2028 - 05 - 10),
    );
    assert!(later[0].1.contains("au 1er septembre 2028"), "{later:?}");
}

#[test]
fn the_pai_is_asked_only_for_a_child_with_an_allergy() {
    let def = Definition::from_json(CANTINE).expect("valid");
    let today = date!(2027 - 05 - 10);
    let base = [
        ("enfants[0].prenom", "Lou"),
        ("enfants[0].naissance", "2020-03-01"),
    ];
    let mut with = base.to_vec();
    with.push(("enfants[0].allergie", "oui"));
    let errors = errors_of(&def, &with, today);
    assert_eq!(
        errors,
        vec![(
            "enfants[0].pai".to_string(),
            "Joignez ce document.".to_string()
        )]
    );
    let mut without = base.to_vec();
    without.push(("enfants[0].allergie", "non"));
    assert_eq!(errors_of(&def, &without, today), vec![]);
}

#[test]
fn at_least_18_on_the_day_of_the_request() {
    let def = Definition::from_json(
        r#"{ "title": "Aide au permis", "description": "Apprentis.", "retention_months": 24,
          "pages": [ { "title": "Vous", "fields": [
            { "id": "naissance", "label": "Date de naissance", "type": "date", "required": true, "age": { "min": 18 } }
          ] } ] }"#,
    )
    .expect("valid");
    let today = date!(2026 - 12 - 04);
    assert_eq!(
        errors_of(&def, &[("naissance", "2008-12-04")], today),
        vec![]
    );
    let minor = errors_of(&def, &[("naissance", "2008-12-05")], today);
    assert_eq!(
        minor[0].1,
        "Il faut avoir au moins 18 ans à la date de la demande (naissance au plus tard le 04/12/2008)."
    );
}

#[test]
fn a_document_dated_at_most_three_months_ago() {
    let def = Definition::from_json(SUBVENTION).expect("valid");
    let page = |statuts: &str| {
        validate_page(
            &def,
            0,
            &answers(&[("rna", "W212001234"), ("cp", "21000"), ("statuts", statuts)]),
            date!(2026 - 12 - 04),
        )
    };
    assert!(page("04/09/2026").is_empty());
    assert!(page("2026-12-04").is_empty());
    let old = page("03/09/2026");
    assert_eq!(
        old[0].message,
        "La date doit dater de moins de 3 mois : entre le 04/09/2026 et le 04/12/2026."
    );
    assert!(!page("05/12/2026").is_empty(), "not in the future");
}

#[test]
fn formats_rna_postal_code_and_the_admins_pattern() {
    let def = Definition::from_json(SUBVENTION).expect("valid");
    let page = |pairs: &[(&str, &str)]| {
        validate_page(&def, 0, &answers(pairs), date!(2026 - 12 - 04))
            .into_iter()
            .map(|e| (e.key, e.message))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        page(&[
            ("rna", "w 212 001 234"),
            ("cp", "21000"),
            ("agrement", "21-JEP-0042")
        ]),
        vec![]
    );
    let bad = page(&[
        ("rna", "212001234"),
        ("cp", "2100"),
        ("agrement", "21JEP42"),
    ]);
    assert_eq!(bad.len(), 3, "{bad:?}");
    assert!(bad[0].1.contains("commence par W"));
    assert!(bad[1].1.contains("5 chiffres"));
    assert_eq!(
        bad[2].1,
        "Le numéro d'agrément s'écrit 2 chiffres, 3 lettres, 4 chiffres. Exemple : 21-JEP-0042."
    );
    assert!(!page(&[("rna", "W212001234"), ("cp", "00100")]).is_empty());
}

#[test]
fn rules_between_fields_and_a_blocks_sum() {
    let def = Definition::from_json(SUBVENTION).expect("valid");
    let first = [("rna", "W212001234"), ("cp", "21000")];
    let today = date!(2026 - 12 - 04);
    let with = |more: &[(&'static str, &'static str)]| {
        let mut all = first.to_vec();
        all.extend_from_slice(&[("themes", "sport")]);
        all.extend_from_slice(more);
        errors_of(&def, &all, today)
    };
    let good = [
        ("debut", "2027-03-01"),
        ("fin", "2027-06-30"),
        ("budget", "10000"),
        ("montant", "4000"),
        ("depenses[0].objet", "Salle"),
        ("depenses[0].cout", "6000"),
        ("depenses[1].objet", "Matériel"),
        ("depenses[1].cout", "4000"),
    ];
    assert_eq!(with(&good), vec![]);
    let mut bad = good.to_vec();
    bad[1] = ("fin", "2027-03-01");
    bad[3] = ("montant", "12000");
    bad[7] = ("depenses[1].cout", "4000,01");
    let errors = with(&bad);
    assert_eq!(
        errors,
        vec![
            (
                "fin".into(),
                "La fin du projet doit suivre son début.".into()
            ),
            (
                "montant".into(),
                "Le montant demandé ne peut pas dépasser le budget total.".into()
            ),
            (
                "depenses".into(),
                "Le total des dépenses dépasse le budget total.".into()
            ),
        ]
    );
    // On the step, the rules of that page only, once its fields are valid.
    let step = validate_page(&def, 1, &answers(&bad), today);
    assert_eq!(
        step.len(),
        4,
        "the three rules, and the theme to choose: {step:?}"
    );
}

#[test]
fn a_multiple_choice_with_a_minimum_needs_an_answer_even_if_not_required() {
    let def = Definition::from_json(SUBVENTION).expect("valid");
    let step = validate_page(
        &def,
        1,
        &answers(&[
            ("debut", "2027-03-01"),
            ("fin", "2027-06-30"),
            ("budget", "1"),
            ("montant", "1"),
        ]),
        date!(2026 - 12 - 04),
    );
    assert_eq!(step.len(), 1);
    assert_eq!(step[0].key, "themes");
    assert_eq!(step[0].message, "Choisissez au moins une réponse.");
}

#[test]
fn ineligibility_stops_the_deposit_with_its_explanation() {
    let def = Definition::from_json(SUBVENTION).expect("valid");
    let step = validate_page(
        &def,
        0,
        &answers(&[("rna", "W212001234"), ("cp", "97400"), ("siege", "non")]),
        date!(2026 - 12 - 04),
    );
    assert_eq!(step.len(), 1);
    assert_eq!(step[0].key, "siege");
    assert_eq!(
        step[0].message,
        "Vous ne pouvez pas déposer cette demande : cette aide est réservée aux associations de la région."
    );
}

#[test]
fn conditions_combine() {
    let c: Condition = serde_json::from_str(
        r#"{ "any": [ { "field": "age", "compare": "ge", "value": "60" },
                      { "all": [ { "field": "handicap", "equals": ["oui"] }, { "field": "aides", "includes": "APA" } ] } ] }"#,
    )
    .expect("condition");
    assert!(holds(&c, &answers(&[("age", "61")]), None));
    assert!(!holds(&c, &answers(&[("age", "59")]), None));
    assert!(!holds(
        &c,
        &answers(&[("age", "59"), ("handicap", "oui")]),
        None
    ));
    assert!(holds(
        &c,
        &answers(&[("handicap", "oui"), ("aides", "PCH"), ("aides", "APA")]),
        None
    ));
    let differs: Condition =
        serde_json::from_str(r#"{ "field": "statut", "differs": ["salarié"] }"#)
            .expect("condition");
    assert!(holds(&differs, &answers(&[("statut", "apprenti")]), None));
    assert!(!holds(&differs, &answers(&[("statut", "salarié")]), None));
    assert!(
        !holds(&differs, &answers(&[]), None),
        "not answered: nothing to differ from"
    );
    let label = |id: &str| format!("<{id}>");
    assert_eq!(
        c.describe(&label),
        "(« <age> » est supérieur ou égal à 60 ou vous avez répondu « oui » à « <handicap> » et vous avez coché « APA » à « <aides> »)"
    );
}

#[test]
fn definitions_that_can_never_work_are_refused_with_their_line() {
    let refused = |json: &str| -> Vec<String> {
        Definition::from_json(json)
            .expect_err("refused")
            .into_iter()
            .map(|e| e.to_string())
            .collect()
    };
    let base = |extra: &str, fields: &str| {
        format!(
            r#"{{ "title": "T", "description": "D", "retention_months": 12{extra},
  "pages": [ {{ "title": "P", "fields": [
    {fields}
  ] }} ] }}"#
        )
    };
    let field = r#"{ "id": "a", "label": "A", "type": "yes_no" }"#;
    let e = refused(&base(r#", "tacit_rule": "accord""#, field));
    assert!(e[0].contains("demande un délai d'instruction"), "{e:?}");
    let e = refused(&base(r#", "deadline_days": 0"#, field));
    assert!(e[0].contains("ne peut pas être nul"), "{e:?}");
    let e = refused(&base(
        "",
        r#"{ "id": "b", "label": "B", "type": "block", "item_label": "X", "fields": [
      { "id": "c", "label": "C", "type": "yes_no" } ] },
    { "id": "d", "label": "D", "type": "short_text",
      "condition": { "field": "c", "equals": ["oui"] } }"#,
    ));
    assert!(
        e[0].starts_with("ligne 5 :") && e[0].contains("autre bloc"),
        "{e:?}"
    );
    let e = refused(&base(
        "",
        r#"{ "id": "p", "label": "P", "type": "short_text", "pattern": "(" }"#,
    ));
    assert!(e[0].contains("motif « pattern » invalide"), "{e:?}");
    let e = refused(&base(
        "",
        r#"{ "id": "n", "label": "N", "type": "date", "age": { "min": 12, "max": 2, "on": { "day": "02-30" } } }"#,
    ));
    assert_eq!(e.len(), 2, "{e:?}");
    let e = refused(&base(
        r#", "rules": [ { "field": "a", "compare": "le", "to": "nope", "message": "M" } ]"#,
        field,
    ));
    assert!(
        e[0].starts_with("ligne 1 : règle 1") && e[0].contains("nope"),
        "{e:?}"
    );
    let e = refused(&base(
        "",
        r#"{ "id": "x", "label": "X", "type": "yes_no", "condition": { "field": "a" } }"#,
    ));
    assert!(e[0].contains("aucune valeur"), "{e:?}");
}
