//! Guichet's own keys as an OpenID Connect relying party. FranceConnect+ (and any provider set up
//! the same way) encrypts the ID token and the userinfo answer to the relying party: JWE with
//! RSA-OAEP for an RSA key or ECDH-ES for a P-256 key, content in A256GCM. The public halves are
//! published as a JWKS (`/.well-known/jwks.json`) for the provider to fetch; the private halves
//! come from key files kept outside the database (see docs/SECURITY.md for the rotation).

use josekit::jwe::{self, JweDecrypter, JweHeader};
use josekit::jwk::alg::ec::{EcCurve, EcKeyPair};
use josekit::jwk::alg::rsa::RsaKeyPair;
use josekit::jwk::{Jwk, KeyPair};
use josekit::JoseError;

/// The only content encryption accepted (FranceConnect+'s).
const CONTENT_ENCRYPTION: &str = "A256GCM";

/// The smallest RSA key accepted.
const RSA_MIN_BITS: u32 = 2048;

/// The kind of key `generate` makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// RSA 3072 bits, for RSA-OAEP.
    Rsa,
    /// P-256, for ECDH-ES.
    Ec,
}

/// A new private key, PEM (PKCS#8).
pub fn generate(kind: KeyKind) -> anyhow::Result<Vec<u8>> {
    Ok(match kind {
        KeyKind::Rsa => RsaKeyPair::generate(3072)?.to_pem_private_key(),
        KeyKind::Ec => EcKeyPair::generate(EcCurve::P256)?.to_pem_private_key(),
    })
}

/// One key: its public JWK as published, and what opens what was encrypted to it.
struct Key {
    kid: String,
    public: Jwk,
    decrypter: Box<dyn JweDecrypter>,
}

/// The relying party's decryption keys: the current one first, then retired ones still
/// published and still opening what was encrypted to them. Empty when no provider encrypts.
#[derive(Default)]
pub struct DecryptionKeys {
    keys: Vec<Key>,
}

impl std::fmt::Debug for DecryptionKeys {
    /// Key ids only: never the private halves.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.keys.iter().map(|k| &k.kid))
            .finish()
    }
}

/// Whether a compact token is a JWE (five parts) rather than a JWS (three).
pub fn is_encrypted(token: &str) -> bool {
    token.split('.').count() == 5
}

impl DecryptionKeys {
    /// Keys from PEM private keys (RSA of 2048 bits or more, or EC P-256); `names` say which file
    /// each came from, in errors.
    pub fn from_pems(pems: &[(String, Vec<u8>)]) -> anyhow::Result<Self> {
        let mut keys = Vec::new();
        for (name, pem) in pems {
            let key = Key::from_pem(pem)
                .map_err(|e| anyhow::anyhow!("clé de chiffrement OpenID Connect {name} : {e}"))?;
            if keys.iter().any(|k: &Key| k.kid == key.kid) {
                anyhow::bail!("clé de chiffrement OpenID Connect {name} donnée deux fois");
            }
            keys.push(key);
        }
        Ok(Self { keys })
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The public keys, as the JWKS a provider reads (`use` = `enc`, with `alg` and `kid`).
    pub fn jwks(&self) -> serde_json::Value {
        let keys: Vec<serde_json::Value> = self
            .keys
            .iter()
            .map(|k| serde_json::Value::Object(k.public.as_ref().clone()))
            .collect();
        serde_json::json!({ "keys": keys })
    }

    /// Opens a JWE compact token encrypted to one of the keys (chosen by `kid`, or the only key
    /// of the header's algorithm when the provider gives none) and returns what it holds: for
    /// FranceConnect+, the signed token (JWS) still to be verified. The reason when refused.
    pub fn open(&self, token: &str) -> Result<String, String> {
        let select = |header: &JweHeader| -> Result<Option<&dyn JweDecrypter>, JoseError> {
            if header.content_encryption() != Some(CONTENT_ENCRYPTION) {
                return Err(JoseError::InvalidJweFormat(anyhow::anyhow!(
                    "chiffrement {} refusé (attendu : {CONTENT_ENCRYPTION})",
                    header.content_encryption().unwrap_or("absent")
                )));
            }
            if header.compression().is_some() {
                return Err(JoseError::InvalidJweFormat(anyhow::anyhow!(
                    "compression refusée"
                )));
            }
            let alg = header.algorithm().unwrap_or_default();
            let mut candidates = self.keys.iter().filter(|k| {
                k.decrypter.algorithm().name() == alg
                    && header.key_id().is_none_or(|kid| kid == k.kid)
            });
            Ok(candidates.next().map(|k| k.decrypter.as_ref()))
        };
        let (payload, _) = jwe::deserialize_compact_with_selector(token, select)
            .map_err(|e| format!("jeton chiffré : {e}"))?;
        String::from_utf8(payload).map_err(|_| "jeton chiffré : contenu illisible".to_string())
    }
}

impl Key {
    fn from_pem(pem: &[u8]) -> Result<Self, String> {
        let (pair, alg): (Box<dyn KeyPair>, &str) = match RsaKeyPair::from_pem(pem) {
            Ok(rsa) if rsa.key_len() * 8 < RSA_MIN_BITS => {
                return Err(format!(
                    "clé RSA de {} bits, il en faut au moins {RSA_MIN_BITS}",
                    rsa.key_len() * 8
                ))
            }
            Ok(rsa) => (Box::new(rsa), "RSA-OAEP"),
            Err(_) => match EcKeyPair::from_pem(pem, Some(EcCurve::P256)) {
                Ok(ec) => (Box::new(ec), "ECDH-ES"),
                Err(_) => {
                    return Err("ni une clé privée RSA ni une clé privée EC P-256 (PEM)".into())
                }
            },
        };
        let mut public = pair.to_jwk_public_key();
        let kid = thumbprint(&public)?;
        public.set_key_id(kid.clone());
        public.set_key_use("enc");
        public.set_algorithm(alg);
        let private = pair.to_jwk_key_pair();
        let decrypter: Box<dyn JweDecrypter> = match alg {
            "RSA-OAEP" => Box::new(
                jwe::RSA_OAEP
                    .decrypter_from_jwk(&private)
                    .map_err(|e| e.to_string())?,
            ),
            _ => Box::new(
                jwe::ECDH_ES
                    .decrypter_from_jwk(&private)
                    .map_err(|e| e.to_string())?,
            ),
        };
        Ok(Self {
            kid,
            public,
            decrypter,
        })
    }
}

/// The key's JWK thumbprint (RFC 7638): SHA-256 of its required members in lexicographic order,
/// base64url. Stable across restarts and the same as other tools compute.
fn thumbprint(public: &Jwk) -> Result<String, String> {
    use base64::Engine;
    use sha2::Digest;
    let member = |name: &str| {
        public
            .parameter(name)
            .and_then(|v| v.as_str())
            .map(str::to_string)
            .ok_or_else(|| format!("membre {name} absent de la clé publique"))
    };
    // serde_json writes an object's members in key order without whitespace.
    let required: serde_json::Map<String, serde_json::Value> = match public.key_type() {
        "RSA" => ["e", "kty", "n"].as_slice(),
        _ => ["crv", "kty", "x", "y"].as_slice(),
    }
    .iter()
    .map(|name| Ok((name.to_string(), serde_json::Value::String(member(name)?))))
    .collect::<Result<_, String>>()?;
    let canonical = serde_json::to_string(&required).map_err(|e| e.to_string())?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(canonical.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use josekit::jwe::JweHeader;

    fn encrypt_to(keys: &DecryptionKeys, index: usize, alg: &str, enc: &str) -> String {
        let mut header = JweHeader::new();
        header.set_content_encryption(enc);
        header.set_key_id(keys.keys[index].kid.clone());
        let public = &keys.keys[index].public;
        let encrypter: Box<dyn jwe::JweEncrypter> = match alg {
            "RSA-OAEP" => Box::new(jwe::RSA_OAEP.encrypter_from_jwk(public).expect("rsa")),
            _ => Box::new(jwe::ECDH_ES.encrypter_from_jwk(public).expect("ec")),
        };
        jwe::serialize_compact(b"a.b.c", &header, encrypter.as_ref()).expect("encrypt")
    }

    fn keys() -> DecryptionKeys {
        DecryptionKeys::from_pems(&[
            ("ec".into(), generate(KeyKind::Ec).expect("ec")),
            ("rsa".into(), generate(KeyKind::Rsa).expect("rsa")),
        ])
        .expect("keys")
    }

    #[test]
    fn both_kinds_open_what_was_encrypted_to_them_and_publish_their_public_half_only() {
        let keys = keys();
        let ec = encrypt_to(&keys, 0, "ECDH-ES", "A256GCM");
        let rsa = encrypt_to(&keys, 1, "RSA-OAEP", "A256GCM");
        assert!(is_encrypted(&ec) && is_encrypted(&rsa) && !is_encrypted("a.b.c"));
        assert_eq!(keys.open(&ec).as_deref(), Ok("a.b.c"));
        assert_eq!(keys.open(&rsa).as_deref(), Ok("a.b.c"));
        let jwks = keys.jwks();
        let published = jwks["keys"].as_array().expect("keys");
        assert_eq!(published.len(), 2);
        assert_eq!(published[0]["alg"], "ECDH-ES");
        assert_eq!(published[1]["alg"], "RSA-OAEP");
        for k in published {
            assert_eq!(k["use"], "enc");
            assert!(k.get("d").is_none() && k.get("p").is_none(), "{k}");
        }
        assert!(!format!("{keys:?}").contains("\"d\""));
    }

    #[test]
    fn other_content_encryptions_other_keys_and_tampering_are_refused() {
        let keys = keys();
        let cbc = encrypt_to(&keys, 0, "ECDH-ES", "A128CBC-HS256");
        assert!(keys.open(&cbc).is_err());
        let elsewhere =
            DecryptionKeys::from_pems(&[("autre".into(), generate(KeyKind::Ec).expect("ec"))])
                .expect("keys");
        let token = encrypt_to(&keys, 0, "ECDH-ES", "A256GCM");
        assert!(elsewhere.open(&token).is_err());
        let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
        let flipped = if parts[3].starts_with('A') { "B" } else { "A" };
        parts[3].replace_range(0..1, flipped);
        assert!(keys.open(&parts.join(".")).is_err());
    }

    #[test]
    fn short_rsa_keys_and_other_files_are_refused_by_name() {
        let short = RsaKeyPair::generate(1024)
            .expect("rsa")
            .to_pem_private_key();
        let err = DecryptionKeys::from_pems(&[("vieille.pem".into(), short)])
            .expect_err("too short")
            .to_string();
        assert!(err.contains("vieille.pem") && err.contains("1024"), "{err}");
        let err = DecryptionKeys::from_pems(&[("texte".into(), b"bonjour".to_vec())])
            .expect_err("not a key")
            .to_string();
        assert!(err.contains("texte"), "{err}");
    }
}
