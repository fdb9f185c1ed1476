//! Password policy: long enough, and not one that attackers try first.

use std::collections::HashSet;
use std::io::Read;
use std::sync::LazyLock;

pub const MIN_LENGTH: usize = 12;
pub const MAX_LENGTH: usize = 256;

/// The common-password list shipped in data/ (see data/README.md for provenance and licence).
static COMMON: LazyLock<HashSet<String>> = LazyLock::new(|| {
    let mut text = String::new();
    let gz: &[u8] = include_bytes!("../../../data/common-passwords.txt.gz");
    // The file is part of the binary and checked by tests; an unreadable file yields no list.
    if flate2::read::GzDecoder::new(gz)
        .read_to_string(&mut text)
        .is_err()
    {
        text.clear();
    }
    text.lines().map(str::to_string).collect()
});

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("le mot de passe doit compter au moins {MIN_LENGTH} caractères")]
    TooShort,
    #[error("le mot de passe ne doit pas dépasser {MAX_LENGTH} caractères")]
    TooLong,
    #[error("ce mot de passe fait partie des plus courants : choisissez-en un autre, par exemple une phrase de plusieurs mots")]
    Common,
    #[error("le mot de passe ne doit pas contenir votre adresse électronique")]
    ContainsEmail,
    #[error("le mot de passe ne doit contenir ni caractère invisible ni caractère de contrôle, et pas seulement des espaces")]
    Invisible,
    #[error("ce mot de passe serait deviné trop vite (répétitions, suites, mots courants) : une phrase de quatre mots ou plus est plus sûre et facile à retenir")]
    TooGuessable,
}

/// Characters nobody can see or type knowingly: controls, and format characters (zero-width
/// spaces and joiners, bidirectional overrides, the byte-order mark).
pub fn is_invisible(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{00AD}' | '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{206F}' | '\u{FEFF}')
}

/// The lowest zxcvbn score accepted: 3, "safely unguessable: moderate protection from offline
/// slow-hash scenario" (about 10^10 guesses), which Argon2id hashes make slow.
const MIN_SCORE: u8 = 3;

/// Checks a new password. `email` is the account's address, which the password must not contain.
pub fn check(password: &str, email: &str) -> Result<(), PasswordError> {
    let length = password.chars().count();
    if length < MIN_LENGTH {
        return Err(PasswordError::TooShort);
    }
    if length > MAX_LENGTH {
        return Err(PasswordError::TooLong);
    }
    if password.chars().any(is_invisible) || password.trim().is_empty() {
        return Err(PasswordError::Invisible);
    }
    let lower = password.to_lowercase();
    // "azertyuiop2024!" is as weak as "azertyuiop": strip what people append.
    let base = lower.trim_end_matches(|c: char| c.is_ascii_digit() || c.is_ascii_punctuation());
    if COMMON.contains(&lower) || (base.len() >= 4 && COMMON.contains(base)) {
        return Err(PasswordError::Common);
    }
    let local = email.split('@').next().unwrap_or_default().to_lowercase();
    if local.len() >= 4 && lower.contains(&local) {
        return Err(PasswordError::ContainsEmail);
    }
    let inputs: Vec<&str> = [local.as_str()]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect();
    if (zxcvbn::zxcvbn(password, &inputs).score() as u8) < MIN_SCORE {
        return Err(PasswordError::TooGuessable);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_invisible_and_repeated_passwords_are_refused() {
        assert_eq!(
            check(&" ".repeat(12), "a@b.fr"),
            Err(PasswordError::Invisible)
        );
        assert_eq!(
            check(&"\u{200B}".repeat(12), "a@b.fr"),
            Err(PasswordError::Invisible)
        );
        assert_eq!(
            check("cheval agrafe\u{202E} batterie", "a@b.fr"),
            Err(PasswordError::Invisible)
        );
        assert_eq!(
            check("aaaaaaaaaaaa", "a@b.fr"),
            Err(PasswordError::TooGuessable)
        );
        assert_eq!(
            check("abcdefghijkl", "a@b.fr"),
            Err(PasswordError::TooGuessable)
        );
        assert_eq!(check("cheval agrafe batterie correcte", "a@b.fr"), Ok(()));
    }

    #[test]
    fn the_list_is_loaded() {
        assert!(COMMON.len() > 40_000);
        assert!(COMMON.contains("azertyuiop"));
    }

    #[test]
    fn short_common_and_personal_passwords_are_refused() {
        assert_eq!(check("court", "a@b.fr"), Err(PasswordError::TooShort));
        assert_eq!(check("1qaz2wsx3edc", "a@b.fr"), Err(PasswordError::Common));
        assert_eq!(
            check("azertyuiop2024!", "a@b.fr"),
            Err(PasswordError::Common)
        );
        assert_eq!(
            check("Motdepasse123456", "a@b.fr"),
            Err(PasswordError::Common)
        );
        assert_eq!(
            check("camille.durand-1990", "camille.durand@exemple.fr"),
            Err(PasswordError::ContainsEmail)
        );
        assert!(check("cheval agrafe batterie correcte", "a@b.fr").is_ok());
        assert!(check(&"x".repeat(300), "a@b.fr").is_err());
    }
}
