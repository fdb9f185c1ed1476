//! Secrets at rest: the TOTP seeds and webhook secrets are stored sealed (AES-256-GCM, `ring`)
//! with a key kept outside the database, so that a copy of the database alone gives no second
//! factor and no way to forge a webhook's signature.
//!
//! A sealed value reads `scelle:v1:<key id>:<nonce and ciphertext, base64url>`; the key id is the
//! start of the key's SHA-256, so that values sealed with a retired key are still opened, and
//! resealed with the current key at the next start (`migrate::reseal_secrets`). A value without the prefix is
//! one stored before sealing existed: it is opened as it is, and sealed at the next start.

use base64::Engine;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};
use sha2::{Digest, Sha256};

const PREFIX: &str = "scelle:v1:";

/// The keys that seal and open secrets: the current one, and retired ones still able to open.
pub struct Sealer {
    current: Option<(String, LessSafeKey)>,
    retired: Vec<(String, LessSafeKey)>,
    random: SystemRandom,
}

/// Never prints a key: only the ids of the keys.
impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealer")
            .field("current", &self.current.as_ref().map(|(id, _)| id))
            .field(
                "retired",
                &self.retired.iter().map(|(id, _)| id).collect::<Vec<_>>(),
            )
            .finish()
    }
}

fn key_id(key: &[u8; 32]) -> String {
    hex::encode(&Sha256::digest(key)[..4])
}

fn aead_key(key: &[u8; 32]) -> anyhow::Result<LessSafeKey> {
    UnboundKey::new(&AES_256_GCM, key)
        .map(LessSafeKey::new)
        .map_err(|_| anyhow::anyhow!("clé de scellement invalide"))
}

impl Sealer {
    /// Seals with `current`; opens with it and with the `retired` keys.
    pub fn new(current: &[u8; 32], retired: &[[u8; 32]]) -> anyhow::Result<Self> {
        Ok(Self {
            current: Some((key_id(current), aead_key(current)?)),
            retired: retired
                .iter()
                .map(|k| Ok((key_id(k), aead_key(k)?)))
                .collect::<anyhow::Result<_>>()?,
            random: SystemRandom::new(),
        })
    }

    /// No key: nothing can be sealed (a database opened without its key by a tool that needs no
    /// secret).
    pub fn none() -> Self {
        Self {
            current: None,
            retired: Vec::new(),
            random: SystemRandom::new(),
        }
    }

    pub fn seal(&self, plaintext: &str) -> anyhow::Result<String> {
        let Some((id, key)) = &self.current else {
            anyhow::bail!(
                "aucune clé de scellement configurée : le secret ne peut pas être enregistré"
            );
        };
        let mut nonce = [0u8; NONCE_LEN];
        self.random
            .fill(&mut nonce)
            .map_err(|_| anyhow::anyhow!("aléa indisponible"))?;
        let mut data = plaintext.as_bytes().to_vec();
        key.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(id.as_bytes()),
            &mut data,
        )
        .map_err(|_| anyhow::anyhow!("scellement impossible"))?;
        let mut out = nonce.to_vec();
        out.extend(data);
        Ok(format!(
            "{PREFIX}{id}:{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(out)
        ))
    }

    /// The secret a stored value holds; an error if it was sealed with an unknown key or altered.
    pub fn open(&self, stored: &str) -> anyhow::Result<String> {
        let Some(rest) = stored.strip_prefix(PREFIX) else {
            return Ok(stored.to_string());
        };
        let (id, payload) = rest
            .split_once(':')
            .ok_or_else(|| anyhow::anyhow!("secret scellé mal formé"))?;
        let key = self
            .current
            .iter()
            .chain(&self.retired)
            .find(|(k, _)| k == id)
            .map(|(_, k)| k)
            .ok_or_else(|| anyhow::anyhow!("secret scellé avec une clé inconnue ({id})"))?;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| anyhow::anyhow!("secret scellé mal formé"))?;
        if bytes.len() < NONCE_LEN {
            anyhow::bail!("secret scellé mal formé");
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce)
            .map_err(|_| anyhow::anyhow!("secret scellé mal formé"))?;
        let mut data = sealed.to_vec();
        let plain = key
            .open_in_place(nonce, Aad::from(id.as_bytes()), &mut data)
            .map_err(|_| anyhow::anyhow!("secret scellé altéré ou clé erronée ({id})"))?;
        String::from_utf8(plain.to_vec()).map_err(|_| anyhow::anyhow!("secret scellé illisible"))
    }

    /// How every value sealed with the current key begins (a SQL `LIKE` prefix needs no escaping:
    /// hex digits and colons).
    pub fn current_prefix(&self) -> Option<String> {
        self.current
            .as_ref()
            .map(|(id, _)| format!("{PREFIX}{id}:"))
    }

    /// Whether a stored value is plain, or sealed with another key than the current one.
    pub fn needs_reseal(&self, stored: &str) -> bool {
        match (&self.current, stored.strip_prefix(PREFIX)) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some((id, _)), Some(rest)) => !rest.starts_with(&format!("{id}:")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_with_their_key_and_unaltered() {
        let (a, b) = ([1u8; 32], [2u8; 32]);
        let sealer = Sealer::new(&a, &[]).expect("key");
        let one = sealer.seal("JBSWY3DPEHPK3PXP").expect("sealed");
        let two = sealer.seal("JBSWY3DPEHPK3PXP").expect("sealed");
        assert!(one.starts_with("scelle:v1:") && !one.contains("JBSWY3DPEHPK3PXP"));
        assert_ne!(one, two, "a fresh nonce each time");
        assert_eq!(sealer.open(&one).expect("opened"), "JBSWY3DPEHPK3PXP");
        // Another key cannot open it; an altered value does not open.
        assert!(Sealer::new(&b, &[]).expect("key").open(&one).is_err());
        let mut altered = one.clone();
        altered.pop();
        altered.push(if one.ends_with('A') { 'B' } else { 'A' });
        assert!(sealer.open(&altered).is_err());
        // A value stored before sealing existed is read as it is, and marked for sealing.
        assert_eq!(sealer.open("plain").expect("legacy"), "plain");
        assert!(sealer.needs_reseal("plain") && !sealer.needs_reseal(&one));
        // After a rotation, the retired key still opens, and the value is marked for resealing.
        let rotated = Sealer::new(&b, &[a]).expect("keys");
        assert_eq!(rotated.open(&one).expect("opened"), "JBSWY3DPEHPK3PXP");
        assert!(rotated.needs_reseal(&one));
        assert!(Sealer::none().seal("x").is_err());
    }
}
