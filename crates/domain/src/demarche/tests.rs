//! Every field type's validation, conditions and blocks, and the definition format's errors.

use super::values::{check_file, normalize_iban, normalize_phone, normalize_siret};
use super::*;
use time::macros::date;

const CANTINE: &str = r#"{
  "title": "Inscription à la restauration scolaire",
  "description": "Inscrire vos enfants à la cantine.",
  "retention_months": 24,
  "deadline_days": 30,
  "tacit_rule": "accord",
  "pages": [
    {
      "title": "Vous",
      "fields": [
        { "id": "telephone", "label": "Téléphone", "type": "phone", "required": true },
        { "id": "allergie", "label": "Un enfant a-t-il une allergie ?", "type": "yes_no", "required": true },
        { "id": "pai", "label": "Projet d'accueil individualisé", "type": "file",
          "accept": ["application/pdf"], "max_size_mb": 5, "required": true,
          "condition": { "field": "allergie", "equals": ["oui"] } }
      ]
    },
    {
      "title": "Vos enfants",
      "fields": [
        { "id": "enfants", "label": "Enfants", "type": "block", "item_label": "Enfant", "min": 1, "max": 4,
          "fields": [
            { "id": "prenom", "label": "Prénom", "type": "short_text", "required": true },
            { "id": "naissance", "label": "Date de naissance", "type": "date", "min": "2010-01-01", "max": "today", "required": true },
            { "id": "regime", "label": "Régime", "type": "single_choice", "options": ["standard", "sans viande"] }
          ] }
      ]
    }
  ]
}"#;

fn def() -> Definition {
    Definition::from_json(CANTINE).expect("valid definition")
}

fn answers(pairs: &[(&str, &str)]) -> Answers {
    let mut a = Answers::default();
    for (k, v) in pairs {
        a.0.entry((*k).to_string())
            .or_default()
            .push((*v).to_string());
    }
    a
}

const TODAY: time::Date = date!(2026 - 11 - 23);

#[test]
fn a_complete_answer_is_accepted_and_normalized() {
    let ok = validate(
        &def(),
        &answers(&[
            ("telephone", "+33 6 12 34 56 78"),
            ("allergie", "non"),
            ("enfants[0].prenom", " Léa "),
            ("enfants[0].naissance", "14/07/2018"),
            ("enfants[1].prenom", "Noé"),
            ("enfants[1].naissance", "2016-03-02"),
        ]),
        TODAY,
    )
    .expect("valid");
    assert_eq!(ok.get("telephone"), Some("06 12 34 56 78"));
    assert_eq!(ok.get("enfants[0].prenom"), Some("Léa"));
    assert_eq!(ok.get("enfants[0].naissance"), Some("2018-07-14"));
    assert_eq!(ok.block_len("enfants"), 2);
}

#[test]
fn a_condition_makes_a_field_required_only_when_shown() {
    let base = [
        ("telephone", "0612345678"),
        ("enfants[0].prenom", "Léa"),
        ("enfants[0].naissance", "2018-07-14"),
    ];
    let mut with_allergy = base.to_vec();
    with_allergy.push(("allergie", "oui"));
    let errors = validate(&def(), &answers(&with_allergy), TODAY).expect_err("PAI required");
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].key, "pai");
    assert_eq!(errors[0].message, "Joignez ce document.");
    let mut without = base.to_vec();
    without.push(("allergie", "non"));
    assert!(validate(&def(), &answers(&without), TODAY).is_ok());
}

#[test]
fn blocks_respect_their_minimum_and_each_item_is_checked() {
    let errors = validate(
        &def(),
        &answers(&[("telephone", "0612345678"), ("allergie", "non")]),
        TODAY,
    )
    .expect_err("one child needed");
    assert!(errors
        .iter()
        .any(|e| e.key == "enfants" && e.message.contains("au moins 1")));
    let errors = validate(
        &def(),
        &answers(&[
            ("telephone", "0612345678"),
            ("allergie", "non"),
            ("enfants[0].prenom", "Léa"),
            ("enfants[0].naissance", "2030-01-01"),
        ]),
        TODAY,
    )
    .expect_err("future birth date");
    assert_eq!(errors[0].key, "enfants[0].naissance");
    assert!(
        errors[0]
            .message
            .contains("comprise entre 01/01/2010 et 23/11/2026"),
        "{}",
        errors[0].message
    );
}

fn check(kind: FieldKind, value: &str) -> Result<String, String> {
    let d = Definition {
        format: 1,
        title: "t".into(),
        description: "d".into(),
        audience: String::new(),
        documents: vec![],
        competence: None,
        deadline: None,
        deadline_days: None,
        after_correction: Default::default(),
        tacit_rule: TacitRule::Aucune,
        retention_months: 12,
        identity: IdentityLevel::Compte,
        contact: None,
        decision_letter: None,
        rules: vec![],
        ineligibility: vec![],
        routing: vec![],
        annotations: vec![],
        pages: vec![Page {
            title: "p".into(),
            fields: vec![Field {
                id: "f".into(),
                label: "F".into(),
                help: None,
                required: true,
                condition: None,
                profile: None,
                kind,
            }],
        }],
    };
    assert!(d.check().is_empty(), "{:?}", d.check());
    validate(&d, &answers(&[("f", value)]), TODAY)
        .map(|a| a.all("f").join("|"))
        .map_err(|e| e[0].message.clone())
}

#[test]
fn every_field_type_accepts_good_input_and_refuses_bad_input_in_french() {
    use FieldKind as K;
    assert_eq!(check(K::short_text(Some(5)), "abc"), Ok("abc".into()));
    assert!(check(K::short_text(Some(5)), "abcdef")
        .unwrap_err()
        .contains("5 caractères au maximum"));
    assert!(check(K::LongText { max_length: None }, &"x".repeat(10_001)).is_err());
    assert_eq!(
        check(
            K::Integer {
                min: Some(0),
                max: Some(10)
            },
            " 7 "
        ),
        Ok("7".into())
    );
    assert!(check(
        K::Integer {
            min: Some(0),
            max: Some(10)
        },
        "11"
    )
    .unwrap_err()
    .contains("entre 0 et 10"));
    assert!(check(
        K::Integer {
            min: None,
            max: None
        },
        "3,5"
    )
    .unwrap_err()
    .contains("nombre entier"));
    assert_eq!(
        check(
            K::Decimal {
                min: None,
                max: None
            },
            "1 234,50"
        ),
        Ok("1234.5".into())
    );
    assert!(check(
        K::Decimal {
            min: None,
            max: None
        },
        "douze"
    )
    .unwrap_err()
    .contains("Saisissez un nombre"));
    assert_eq!(
        check(K::date(None, None), "29/02/2024"),
        Ok("2024-02-29".into())
    );
    assert!(check(K::date(None, None), "30/02/2024")
        .unwrap_err()
        .contains("date valide"));
    assert!(check(K::date(None, Some("today".into())), "2027-01-01").is_err());
    assert_eq!(
        check(K::Email, " Camille@Exemple.FR "),
        Ok("camille@exemple.fr".into())
    );
    assert!(check(K::Email, "camille@")
        .unwrap_err()
        .contains("adresse électronique valide"));
    assert_eq!(
        check(K::Phone, "0033 3 80 00 00 01"),
        Ok("03 80 00 00 01".into())
    );
    assert!(check(K::Phone, "12345")
        .unwrap_err()
        .contains("10 chiffres"));
    assert!(check(K::Address, "ici").is_err());
    assert_eq!(check(K::Commune, "21231"), Ok("21231".into()));
    assert_eq!(check(K::Commune, "2a004"), Ok("2A004".into()));
    assert!(check(K::Commune, "Dijon").is_err());
    let options = vec!["a".to_string(), "b".to_string()];
    assert_eq!(
        check(
            K::SingleChoice {
                options: options.clone()
            },
            "b"
        ),
        Ok("b".into())
    );
    assert!(check(
        K::SingleChoice {
            options: options.clone()
        },
        "c"
    )
    .is_err());
    assert!(check(
        K::MultipleChoice {
            options,
            min: None,
            max: None
        },
        "z"
    )
    .is_err());
    assert_eq!(check(K::YesNo, "oui"), Ok("oui".into()));
    assert!(check(K::YesNo, "peut-être").is_err());
    assert_eq!(check(K::Checkbox, "on"), Ok("coche".into()));
    assert_eq!(
        check(K::Siret, "212 102 313 00013"),
        Ok("21210231300013".into())
    );
    assert!(check(K::Siret, "21210231300016")
        .unwrap_err()
        .contains("clé de contrôle"));
    assert!(check(K::Siret, "2121023130001")
        .unwrap_err()
        .contains("14 chiffres"));
    assert_eq!(
        check(K::Iban, "fr76 3000 6000 0112 3456 7890 189"),
        Ok("FR76 3000 6000 0112 3456 7890 189".into())
    );
    assert!(check(K::Iban, "FR76 3000 6000 0112 3456 7890 188")
        .unwrap_err()
        .contains("IBAN n'est pas valide"));
    let file = K::File {
        accept: vec!["application/pdf".into()],
        max_size_mb: 1,
        max_files: 1,
    };
    assert!(
        check(file, "../../etc/passwd").is_err(),
        "only references to checked uploads"
    );
}

#[test]
fn normalizers_on_their_own() {
    assert_eq!(
        normalize_phone("06.12.34.56.78").as_deref(),
        Some("06 12 34 56 78")
    );
    assert_eq!(normalize_phone("0012345678"), None);
    assert_eq!(
        normalize_siret("35600000000001"),
        Ok("35600000000001".into()),
        "La Poste's rule"
    );
    assert!(normalize_iban("DE89 3704 0044 0532 0130 00").is_ok());
}

#[test]
fn files_are_judged_by_their_content_not_their_name() {
    let pdf = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n".to_vec();
    let png = [
        0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, b'I', b'H', b'D', b'R',
    ];
    let accept = vec!["application/pdf".to_string()];
    assert_eq!(check_file(&pdf, &accept, 1), Ok("application/pdf"));
    let disguised = check_file(&png, &accept, 1).expect_err("a PNG named .pdf is refused");
    assert!(disguised.contains("formats acceptés : PDF"), "{disguised}");
    assert!(check_file(b"MZ\x90\x00 an executable", &accept, 1).is_err());
    let big = [pdf.clone(), vec![0u8; 1024 * 1024]].concat();
    assert!(check_file(&big, &accept, 1)
        .expect_err("too big")
        .contains("1 Mo"));
    assert!(check_file(&[], &accept, 1)
        .expect_err("empty")
        .contains("vide"));
}

#[test]
fn definition_errors_give_the_line() {
    let broken = CANTINE.replace("\"type\": \"phone\"", "\"type\": \"telephone\"");
    let errors = Definition::from_json(&broken).expect_err("unknown type");
    assert_eq!(errors[0].line, 11, "{errors:?}");
    assert!(errors[0].message.contains("type inconnu"), "{errors:?}");

    let bad_condition = CANTINE.replace("\"field\": \"allergie\"", "\"field\": \"prenom_parent\"");
    let errors = Definition::from_json(&bad_condition).expect_err("condition on unknown field");
    assert_eq!(errors[0].line, 13, "{errors:?}");
    assert!(errors[0]
        .message
        .contains("n'est pas un champ placé avant lui"));

    let duplicate = CANTINE.replace("\"id\": \"prenom\"", "\"id\": \"telephone\"");
    let errors = Definition::from_json(&duplicate).expect_err("duplicate id");
    assert!(errors
        .iter()
        .any(|e| e.message.contains("identifiant en double")));

    let typo = CANTINE.replace(
        "\"required\": true },\n        { \"id\": \"allergie\"",
        "\"requird\": true },\n        { \"id\": \"allergie\"",
    );
    let errors = Definition::from_json(&typo).expect_err("unknown property");
    assert!(
        errors[0].message.contains("propriété inconnue « requird »"),
        "{errors:?}"
    );
    assert_eq!(errors[0].line, 11);

    let syntax = CANTINE.replacen("\"retention_months\": 24,", "\"retention_months\": 24", 1);
    let errors = Definition::from_json(&syntax).expect_err("bad JSON");
    assert_eq!(errors[0].line, 5);
}

#[test]
fn the_format_round_trips() {
    let d = def();
    let again = Definition::from_json(&d.to_json()).expect("round trip");
    assert_eq!(d, again);
}

#[test]
fn the_documented_example_is_a_valid_definition() {
    let doc = include_str!("../../../../docs/DEMARCHE_FORMAT.md");
    let json = doc
        .split("## A complete example")
        .nth(1)
        .and_then(|section| section.split("```json\n").nth(1))
        .and_then(|rest| rest.split("```").next())
        .expect("example in the doc");
    let d = Definition::from_json(json).expect("the documented example is valid");
    assert_eq!(d.pages.len(), 3);
    assert!(d.field("pai").is_some_and(|f| f.condition.is_some()));
    assert_eq!(
        d.all_fields().iter().filter(|f| f.kind.has_value()).count(),
        14
    );
}

#[test]
fn block_items_are_added_removed_and_renumbered() {
    let (mut a, action) = Answers::from_form(
        [
            ("_csrf", "x"),
            ("enfants[0].prenom", "A"),
            ("enfants[1].prenom", "B"),
            ("enfants[2].prenom", "C"),
            ("nom", "X"),
            ("action", "continuer"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
    );
    assert_eq!(action.as_deref(), Some("continuer"));
    assert!(!a.0.contains_key("_csrf"));
    a.remove_item("enfants[1]");
    assert_eq!(a.get("enfants[0].prenom"), Some("A"));
    assert_eq!(a.get("enfants[1].prenom"), Some("C"));
    assert_eq!(a.block_len("enfants"), 2);
    assert_eq!(a.get("nom"), Some("X"));
    a.add_item("enfants");
    assert_eq!(a.block_len("enfants"), 3);
    a.remove_item("not a block item");
    assert_eq!(a.block_len("enfants"), 3);
}

/// The corpora the fuzzers built (fuzz/corpus/<target>/), replayed on every test run.
fn replay(target: &str, run: fn(&[u8])) -> usize {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("corpus {}: {e}", dir.display()))
    {
        let path = entry.expect("entry").path();
        let data = std::fs::read(&path).expect("read");
        run(&data);
        n += 1;
    }
    n
}

#[test]
fn the_definition_fuzz_corpus_replays_without_panic() {
    assert!(replay("demarche_definition", super::fuzz::definition) > 0);
}

#[test]
fn the_form_fuzz_corpus_replays_without_panic() {
    assert!(replay("form_decoder", super::fuzz::form) > 0);
}

#[test]
fn an_error_names_its_field_and_the_repetition_it_is_in() {
    let d = def();
    assert_eq!(d.key_label("enfants[1].prenom"), "Enfant 2 — Prénom");
    assert_eq!(d.key_label("telephone"), "Téléphone");
    assert_eq!(d.key_label("inconnu"), "inconnu");
}
