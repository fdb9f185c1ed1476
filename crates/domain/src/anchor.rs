//! Anchors of the audit chain: at regular times, the chain's head (last entry id, its hash, the
//! time) signed with an Ed25519 key kept outside the database and written outside it too. Someone
//! who can write to the database can rewrite the chain and its head consistently, but cannot make
//! a signed anchor agree with the rewritten entries: `check` then names the anchor.

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};

/// One anchor: the head of the chain at `at` (ms, UTC), signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Anchor {
    /// Id of the last entry of the chain when anchored (0 for an empty journal).
    pub id: i64,
    /// Its hash.
    pub hash: String,
    pub at: i64,
    /// The public key that signed, hex.
    pub key: String,
    /// Ed25519 signature of `message(id, hash, at)`, hex.
    pub signature: String,
}

/// What is signed: a versioned, unambiguous text.
fn message(id: i64, hash: &str, at: i64) -> Vec<u8> {
    format!("guichet-ancrage-journal:v1:{id}:{hash}:{at}").into_bytes()
}

/// The public key of a 32-byte secret key, hex.
pub fn public_key(secret: &[u8; 32]) -> String {
    hex::encode(SigningKey::from_bytes(secret).verifying_key().to_bytes())
}

/// Signs the head of the chain.
pub fn sign(secret: &[u8; 32], id: i64, hash: &str, at: i64) -> Anchor {
    let key = SigningKey::from_bytes(secret);
    let signature = key.sign(&message(id, hash, at));
    Anchor {
        id,
        hash: hash.to_string(),
        at,
        key: hex::encode(key.verifying_key().to_bytes()),
        signature: hex::encode(signature.to_bytes()),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnchorError {
    #[error("l'ancrage du {at} n'est pas signé par une clé de confiance")]
    UntrustedKey { at: i64 },
    #[error("la signature de l'ancrage du {at} est invalide")]
    BadSignature { at: i64 },
    #[error("l'entrée {id}, ancrée le {at}, a disparu du journal (la fin du journal a été supprimée ou le journal vidé)")]
    Removed { id: i64, at: i64 },
    #[error("l'entrée {id}, ancrée le {at}, a été réécrite (son empreinte ne correspond plus)")]
    Rewritten { id: i64, at: i64 },
}

impl AnchorError {
    /// When the anchor concerned was written (ms, UTC).
    pub fn at(&self) -> i64 {
        match self {
            Self::UntrustedKey { at }
            | Self::BadSignature { at }
            | Self::Removed { at, .. }
            | Self::Rewritten { at, .. } => *at,
        }
    }
}

/// Checks an anchor's signature against the trusted public keys (hex): the current key and the
/// retired ones kept after a rotation.
pub fn verify_signature(anchor: &Anchor, trusted: &[String]) -> Result<(), AnchorError> {
    let at = anchor.at;
    if !trusted.iter().any(|k| k.eq_ignore_ascii_case(&anchor.key)) {
        return Err(AnchorError::UntrustedKey { at });
    }
    let key: [u8; 32] = hex::decode(&anchor.key)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or(AnchorError::UntrustedKey { at })?;
    let signature: [u8; 64] = hex::decode(&anchor.signature)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or(AnchorError::BadSignature { at })?;
    let key = VerifyingKey::from_bytes(&key).map_err(|_| AnchorError::UntrustedKey { at })?;
    key.verify(
        &message(anchor.id, &anchor.hash, anchor.at),
        &Signature::from_bytes(&signature),
    )
    .map_err(|_| AnchorError::BadSignature { at })
}

/// Checks a journal against an anchor: the anchored entry must still be there with the hash it
/// had. `head` is the id of the journal's last entry now; `hash_of` gives an entry's stored hash.
/// (The chain itself is checked separately: an intact chain whose anchored entries kept their
/// hashes cannot have been rewritten before the last anchor.)
pub fn check(
    anchor: &Anchor,
    trusted: &[String],
    head: i64,
    hash_of: Option<&str>,
) -> Result<(), AnchorError> {
    verify_signature(anchor, trusted)?;
    if anchor.id == 0 {
        return Ok(());
    }
    let (id, at) = (anchor.id, anchor.at);
    if head < anchor.id {
        return Err(AnchorError::Removed { id, at });
    }
    match hash_of {
        None => Err(AnchorError::Removed { id, at }),
        Some(h) if h != anchor.hash => Err(AnchorError::Rewritten { id, at }),
        Some(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: [u8; 32] = [7; 32];

    #[test]
    fn a_signed_anchor_verifies_and_a_changed_one_does_not() {
        let a = sign(&SECRET, 42, "abc", 1_000);
        let trusted = vec![public_key(&SECRET)];
        assert_eq!(check(&a, &trusted, 50, Some("abc")), Ok(()));
        let mut moved = a.clone();
        moved.id = 41;
        assert_eq!(
            check(&moved, &trusted, 50, Some("abc")),
            Err(AnchorError::BadSignature { at: 1_000 })
        );
        assert_eq!(
            check(&a, &[public_key(&[8; 32])], 50, Some("abc")),
            Err(AnchorError::UntrustedKey { at: 1_000 })
        );
    }

    #[test]
    fn a_removed_tail_an_emptied_journal_and_a_rewritten_entry_are_named() {
        let a = sign(&SECRET, 42, "abc", 1_000);
        let trusted = vec![public_key(&SECRET)];
        assert_eq!(
            check(&a, &trusted, 40, None),
            Err(AnchorError::Removed { id: 42, at: 1_000 })
        );
        assert_eq!(
            check(&a, &trusted, 0, None),
            Err(AnchorError::Removed { id: 42, at: 1_000 })
        );
        assert_eq!(
            check(&a, &trusted, 60, Some("rechained")),
            Err(AnchorError::Rewritten { id: 42, at: 1_000 })
        );
    }

    #[test]
    fn a_retired_key_still_vouches_for_its_anchors() {
        let old = sign(&SECRET, 10, "h", 5);
        let new_secret = [9; 32];
        let trusted = vec![public_key(&new_secret), public_key(&SECRET)];
        assert_eq!(check(&old, &trusted, 10, Some("h")), Ok(()));
    }
}
