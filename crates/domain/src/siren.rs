//! SIREN: the 9-digit identifier of every French legal entity, public ones included.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct Siren(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SirenError {
    #[error("un SIREN compte exactement 9 chiffres (reçu « {0} »)")]
    Format(String),
    #[error("le SIREN {0} n'est pas valide (clé de contrôle incorrecte)")]
    Checksum(String),
}

impl Siren {
    /// Parses a SIREN, accepting spaces as typed on forms ("212 102 313"), and checks its Luhn key.
    pub fn parse(input: &str) -> Result<Self, SirenError> {
        let digits: String = input.chars().filter(|c| !c.is_whitespace()).collect();
        if digits.len() != 9 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(SirenError::Format(input.trim().to_string()));
        }
        if !luhn_valid(&digits) {
            return Err(SirenError::Checksum(digits));
        }
        Ok(Self(digits))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Siren {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Luhn checksum over ASCII digits, as used by SIREN and SIRET.
pub fn luhn_valid(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let dd = d * 2;
                if dd > 9 {
                    dd - 9
                } else {
                    dd
                }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_real_sirens() {
        assert_eq!(
            Siren::parse("212102313").map(|s| s.to_string()),
            Ok("212102313".into())
        );
        assert!(
            Siren::parse("242 100 410").is_ok(),
            "Dijon Métropole, typed with spaces"
        );
    }

    #[test]
    fn rejects_bad_sirens_with_a_french_message() {
        let err = Siren::parse("212102314").unwrap_err();
        assert!(err.to_string().contains("clé de contrôle"));
        let err = Siren::parse("12AB").unwrap_err();
        assert!(err.to_string().contains("9 chiffres"));
    }
}
