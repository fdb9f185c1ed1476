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

/// A cell of a CSV or spreadsheet export that a spreadsheet will not run as a formula (OWASP's
/// "CSV injection"): text starting with `=`, `+`, `-`, `@`, a tab or a carriage return gets a
/// leading apostrophe. Plain numbers ("-4.5") are left as they are: they cannot be formulas, and
/// a prefix would turn them into text.
pub fn neutralize_formula(cell: &str) -> std::borrow::Cow<'_, str> {
    let risky = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let number = cell.trim().parse::<f64>().is_ok_and(f64::is_finite);
    if risky && !number {
        std::borrow::Cow::Owned(format!("'{cell}"))
    } else {
        std::borrow::Cow::Borrowed(cell)
    }
}

#[cfg(test)]
mod formula_tests {
    use super::neutralize_formula as n;

    #[test]
    fn formulas_typed_by_the_public_are_not_run_by_a_spreadsheet() {
        assert_eq!(
            n("=HYPERLINK(\"http://x\",\"clic\")"),
            "'=HYPERLINK(\"http://x\",\"clic\")"
        );
        assert_eq!(n("+33 6 12"), "'+33 6 12");
        assert_eq!(n("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(n("-2+3"), "'-2+3");
        assert_eq!(n("\t=1"), "'\t=1");
        assert_eq!(n("\r=1"), "'\r=1");
    }

    #[test]
    fn ordinary_text_and_numbers_are_untouched() {
        assert_eq!(n("Camille Martin"), "Camille Martin");
        assert_eq!(n("-4.5"), "-4.5");
        assert_eq!(n("47.32"), "47.32");
        assert_eq!(n(""), "");
    }
}

/// Extensions that make a browser or a desktop run or render a file: never kept on a stored name.
const DANGEROUS_EXTENSIONS: &[&str] = &[
    "html", "htm", "xhtml", "shtml", "svg", "svgz", "xml", "js", "mjs", "hta", "exe", "com", "bat",
    "cmd", "msi", "scr", "ps1", "vbs", "jar", "sh", "php", "lnk", "dll", "app",
];

/// A file name safe to show and to send in a download header: the last path segment, without
/// control, invisible or bidirectional characters (a right-to-left override makes "fdp.exe" read
/// "exe.pdf"), without quotes, 120 characters at most, and ending with the extension of the type
/// its content was found to be (`extension`), so that a PDF never downloads as `.html`.
pub fn safe_file_name(name: &str, extension: Option<&str>) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let cleaned: String = base
        .chars()
        .filter(|c| {
            !c.is_control() && !crate::password::is_invisible(*c) && !matches!(c, '"' | '\'' | ';')
        })
        .take(120)
        .collect();
    let cleaned = cleaned.trim().to_string();
    let (stem, ext) = match cleaned.rsplit_once('.') {
        Some((s, e)) if !e.is_empty() => (
            s.trim_start_matches('.').to_string(),
            Some(e.to_lowercase()),
        ),
        _ => (cleaned.trim_matches('.').to_string(), None),
    };
    let stem = if stem.trim().is_empty() {
        "document".to_string()
    } else {
        stem
    };
    let same = |a: &str, b: &str| a == b || matches!((a, b), ("jpeg", "jpg") | ("jpg", "jpeg"));
    match (ext, extension) {
        (Some(e), Some(want)) if same(&e, want) => format!("{stem}.{e}"),
        // Another extension: kept in the stem (unless dangerous), the true one appended.
        (Some(e), Some(want)) if DANGEROUS_EXTENSIONS.contains(&e.as_str()) => {
            format!("{stem}.{want}")
        }
        (Some(e), Some(want)) => format!("{stem}.{e}.{want}"),
        (None, Some(want)) => format!("{stem}.{want}"),
        (Some(e), None) if DANGEROUS_EXTENSIONS.contains(&e.as_str()) => format!("{stem}_{e}"),
        (Some(e), None) => format!("{stem}.{e}"),
        (None, None) => stem,
    }
}

#[cfg(test)]
mod file_name_tests {
    use super::safe_file_name as n;

    #[test]
    fn a_stored_name_says_what_the_content_is_and_cannot_be_run() {
        assert_eq!(n("facture.pdf", Some("pdf")), "facture.pdf");
        assert_eq!(n("page.html", Some("pdf")), "page.pdf");
        assert_eq!(n("photo.JPEG", Some("jpg")), "photo.jpeg");
        assert_eq!(n("scan", Some("png")), "scan.png");
        assert_eq!(n("note.txt", Some("pdf")), "note.txt.pdf");
        assert_eq!(n("../../etc/passwd", None), "passwd");
        assert_eq!(n("C:\\Users\\x\\rib.pdf", Some("pdf")), "rib.pdf");
        assert_eq!(n("script.html", None), "script_html");
    }

    #[test]
    fn bidirectional_and_invisible_characters_are_removed() {
        // "facture\u{202E}fdp.exe" displays as "factureexe.pdf".
        assert_eq!(n("facture\u{202E}fdp.exe", Some("pdf")), "facturefdp.pdf");
        assert_eq!(n("a\u{200B}b\u{0007}.pdf", Some("pdf")), "ab.pdf");
        assert_eq!(n("\"\u{202E}\".pdf", Some("pdf")), "document.pdf");
    }
}
