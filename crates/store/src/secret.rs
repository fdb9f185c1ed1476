//! Random secrets and tokens. Tokens are shown once (in a cookie, a link, a form) and stored only as
//! their SHA-256, so a copy of the database gives nobody a working token.

use crate::db::Db;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::Row;

/// A short code people copy from paper (a mandat's verification code, a dossier's tracking
/// code): letters and digits that cannot be misread (`READABLE_ALPHABET`).
pub fn readable_code(len: usize) -> String {
    use rand::seq::IndexedRandom;
    let alphabet = guichet_domain::text::READABLE_ALPHABET;
    // The thread's generator is a CSPRNG seeded from the OS.
    let mut rng = rand::rng();
    (0..len)
        .filter_map(|_| alphabet.choose(&mut rng).map(|b| char::from(*b)))
        .collect()
}

/// A code of `len` decimal digits, to be read aloud or typed from a phone.
pub fn digit_code(len: usize) -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..len)
        .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
        .collect()
}

/// 32 random bytes from the OS generator, URL-safe base64 without padding.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A platform-wide secret, created on first use and shared by every node through the database.
pub async fn platform_secret(db: &Db, name: &str) -> anyhow::Result<String> {
    if let Some(row) = sqlx::query("SELECT value FROM platform_secrets WHERE name = $1")
        .bind(name)
        .fetch_optional(db.pool())
        .await?
    {
        return Ok(row.try_get(0)?);
    }
    let owned = name.to_string();
    db.write(move |conn| {
        Box::pin(async move {
            sqlx::query("INSERT INTO platform_secrets (name, value, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING")
                .bind(owned)
                .bind(random_token())
                .bind(crate::now_ms())
                .execute(&mut *conn)
                .await?;
            Ok(())
        })
    })
    .await?;
    // Another node may have won the race: read what is stored.
    Ok(
        sqlx::query("SELECT value FROM platform_secrets WHERE name = $1")
            .bind(name)
            .fetch_one(db.pool())
            .await?
            .try_get(0)?,
    )
}

/// A 32-byte key kept in a file outside the database (hex), created with mode 0600 if missing.
/// `what` names it in errors ("clé d'ancrage").
pub fn key_file(path: &std::path::Path, what: &str) -> anyhow::Result<[u8; 32]> {
    if path.exists() {
        return read_key_file(path, what);
    }
    let mut secret = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut secret);
    write_private_file(path, hex::encode(secret).as_bytes())?;
    Ok(secret)
}

/// Writes a new file readable by its owner only (mode 0600), refusing to replace one; its parent
/// directory is created if missing.
pub fn write_private_file(path: &std::path::Path, contents: &[u8]) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    use std::io::Write;
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.sync_all()?;
    Ok(())
}

/// A 32-byte key read from a file (hex); an error naming it if missing or malformed.
pub fn read_key_file(path: &std::path::Path, what: &str) -> anyhow::Result<[u8; 32]> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("{what} illisible : {} ({e})", path.display()))?;
    let bytes = hex::decode(text.trim())
        .map_err(|_| anyhow::anyhow!("{what} illisible : {}", path.display()))?;
    bytes
        .try_into()
        .map_err(|_| anyhow::anyhow!("{what} de longueur invalide : {}", path.display()))
}
