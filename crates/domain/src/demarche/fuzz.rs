//! Entry points shared by the fuzz targets (`fuzz/`) and the tests that replay their corpora:
//! whatever the bytes, these must return, never panic.

use super::{values, Answers, Definition};
use std::sync::LazyLock;

/// The definition parser and checker on arbitrary text.
pub fn definition(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(d) = Definition::from_json(text) {
            // A definition that parses must survive its own round trip.
            let again = Definition::from_json(&d.to_json());
            assert!(
                again.is_ok(),
                "a valid definition no longer parses after export"
            );
        }
    }
}

/// The documented example démarche: conditions, a block, files, every common type.
static EXAMPLE: LazyLock<Option<Definition>> = LazyLock::new(|| {
    let doc = include_str!("../../../../docs/DEMARCHE_FORMAT.md");
    let json = doc.split("```json\n").nth(1)?.split("```").next()?;
    Definition::from_json(json).ok()
});

/// The form decoder: an arbitrary url-encoded body, decoded, its block actions applied, then
/// validated page by page and whole against the example démarche.
pub fn form(data: &[u8]) {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(data).unwrap_or_default();
    let (mut answers, action): (Answers, Option<String>) = Answers::from_form(pairs);
    if let Some(a) = action {
        if let Some(block) = a.strip_prefix("ajouter:") {
            answers.add_item(block);
        } else if let Some(item) = a.strip_prefix("retirer:") {
            answers.remove_item(item);
        }
    }
    let Some(def) = EXAMPLE.as_ref() else { return };
    let today = time::macros::date!(2026 - 11 - 23);
    for page in 0..def.pages.len() {
        let _ = values::validate_page(def, page, &answers, today);
    }
    if let Ok(normalized) = values::validate(def, &answers, today) {
        // Normalized answers are valid answers.
        assert!(
            values::validate(def, &normalized, today).is_ok(),
            "normalization is not stable"
        );
    }
}
