//! Text folding shared by look-ups and slugs.

use unicode_normalization::UnicodeNormalization;

/// Lower-cases, strips accents and turns every run of non-alphanumeric characters into one space,
/// so that "Côte-d'Or", "cote d or" and "COTE D'OR" compare equal.
pub fn fold(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    let mut pending_space = false;
    for c in input.nfd() {
        if unicode_normalization::char::is_combining_mark(c) {
            continue;
        }
        let c = match c {
            'œ' | 'Œ' => {
                push_word(&mut out, &mut pending_space, "oe");
                continue;
            }
            'æ' | 'Æ' => {
                push_word(&mut out, &mut pending_space, "ae");
                continue;
            }
            c => c,
        };
        if c.is_alphanumeric() {
            if pending_space && !out.is_empty() {
                out.push(' ');
            }
            pending_space = false;
            out.extend(c.to_lowercase());
        } else {
            pending_space = true;
        }
    }
    out
}

fn push_word(out: &mut String, pending_space: &mut bool, s: &str) {
    if *pending_space && !out.is_empty() {
        out.push(' ');
    }
    *pending_space = false;
    out.push_str(s);
}

/// A URL slug: folded text with hyphens, e.g. "Côte-d'Or" → "cote-d-or".
pub fn slugify(input: &str) -> String {
    fold(input).replace(' ', "-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_accents_case_and_punctuation() {
        assert_eq!(fold("Côte-d'Or"), "cote d or");
        assert_eq!(fold("  ÎLE-DE-FRANCE "), "ile de france");
        assert_eq!(fold("Œuilly"), "oeuilly");
        assert_eq!(fold("Saint-Étienne"), "saint etienne");
    }

    #[test]
    fn slugs_are_url_safe() {
        assert_eq!(
            slugify("Bourgogne-Franche-Comté"),
            "bourgogne-franche-comte"
        );
        assert_eq!(slugify("Semur-en-Auxois"), "semur-en-auxois");
        assert_eq!(slugify("L'Haÿ-les-Roses"), "l-hay-les-roses");
    }
}

/// The letters and digits of codes people copy from paper or read aloud (tracking codes,
/// mandat verification codes): none that can be taken for another (no I, L, O, 0 or 1).
pub const READABLE_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";

/// A code as people type it, made comparable: case, spaces and dashes do not matter.
pub fn normalize_code(typed: &str) -> String {
    typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-' && *c != '.')
        .flat_map(char::to_uppercase)
        .collect()
}

/// A code shown to people in groups of four ("ABCD EFGH JK"), easier to copy.
pub fn group_code(code: &str) -> String {
    let chars: Vec<char> = code.chars().collect();
    chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod code_tests {
    use super::*;

    #[test]
    fn a_code_typed_in_lower_case_with_spaces_is_the_same_code() {
        assert_eq!(normalize_code(" abcd efgh-jk "), "ABCDEFGHJK");
        assert_eq!(group_code("ABCDEFGHJK"), "ABCD EFGH JK");
    }

    #[test]
    fn the_alphabet_has_no_letter_that_reads_as_another() {
        for c in b"ILO01" {
            assert!(!READABLE_ALPHABET.contains(c), "{}", *c as char);
        }
    }
}
