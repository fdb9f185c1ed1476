//! Where the audit chain's anchors live, outside the database: the signing key in a file of its
//! own (created on first use, readable by the server's user only) and the anchors in a directory
//! where each is written once and never rewritten (an append-only object store in production; see
//! docs/SECURITY.md).

use crate::db::Db;
use guichet_domain::anchor::{self, Anchor, AnchorError};
use sqlx::Row;
use std::path::{Path, PathBuf};

/// The key and the place of the anchors.
#[derive(Clone)]
pub struct Anchoring {
    secret: [u8; 32],
    /// Public keys whose anchors are trusted: the current key's first, then retired ones.
    pub trusted: Vec<String>,
    pub dir: PathBuf,
}

/// Never prints the secret key.
impl std::fmt::Debug for Anchoring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Anchoring")
            .field("trusted", &self.trusted)
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

/// Reads the signing key from `path`, creating it if there is none, with its public half beside
/// it (to give to whoever checks the anchors elsewhere).
fn load_or_create_key(path: &Path) -> anyhow::Result<[u8; 32]> {
    let secret = crate::secret::key_file(path, "clé d'ancrage")?;
    let public = path.with_extension("pub");
    if !public.exists() {
        std::fs::write(public, anchor::public_key(&secret))?;
    }
    Ok(secret)
}

impl Anchoring {
    /// The key at `key_file` (created if missing) and the anchors in `dir`; `retired` are the
    /// public keys of earlier keys, still trusted for the anchors they signed.
    pub fn open(key_file: &Path, dir: &Path, retired: &[String]) -> anyhow::Result<Self> {
        let secret = load_or_create_key(key_file)?;
        std::fs::create_dir_all(dir)?;
        let mut trusted = vec![anchor::public_key(&secret)];
        trusted.extend(retired.iter().map(|k| k.trim().to_lowercase()));
        Ok(Self {
            secret,
            trusted,
            dir: dir.to_path_buf(),
        })
    }

    /// Every anchor written, oldest first. A file that does not parse is reported as an error:
    /// it is not ours, or it was tampered with.
    pub fn list(&self) -> anyhow::Result<Vec<Anchor>> {
        self.names()?.iter().map(|p| read_anchor(p)).collect()
    }

    /// The anchor files, oldest first (their names begin with the time they were written).
    fn names(&self) -> anyhow::Result<Vec<PathBuf>> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(&self.dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        names.sort();
        Ok(names)
    }

    /// The newest anchor, reading only its file (every minute, and at each metrics scrape: the
    /// directory grows by one file a minute).
    pub fn last(&self) -> anyhow::Result<Option<Anchor>> {
        self.names()?.last().map(|p| read_anchor(p)).transpose()
    }

    /// Writes an anchor once: to a temporary name, synced, then linked to its final name (which
    /// fails rather than replace an existing anchor).
    fn write(&self, a: &Anchor) -> anyhow::Result<()> {
        let name = self.dir.join(format!("{:013}-{:012}.json", a.at, a.id));
        let temp = self.dir.join(format!(".{:013}-{:012}.tmp", a.at, a.id));
        {
            use std::io::Write;
            let mut f = std::fs::File::create(&temp)?;
            f.write_all(serde_json::to_string(a)?.as_bytes())?;
            f.sync_all()?;
        }
        let linked = std::fs::hard_link(&temp, &name);
        let _ = std::fs::remove_file(&temp);
        linked?;
        if let Ok(d) = std::fs::File::open(&self.dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }

    /// Anchors the chain's head now, unless the last anchor already holds it. Returns the anchor
    /// written.
    pub async fn anchor_now(&self, db: &Db) -> anyhow::Result<Option<Anchor>> {
        let (id, hash) = head(db).await?;
        if self
            .last()?
            .is_some_and(|last| last.id == id && last.hash == hash)
        {
            return Ok(None);
        }
        let a = anchor::sign(&self.secret, id, &hash, crate::now_ms());
        self.write(&a)?;
        Ok(Some(a))
    }

    /// Checks the journal against every anchor: the number of anchors checked, or the first that
    /// the journal contradicts (with why).
    pub async fn verify(&self, db: &Db) -> anyhow::Result<Result<usize, (Anchor, AnchorError)>> {
        let (head_id, _) = head(db).await?;
        let anchors = self.list()?;
        for a in &anchors {
            let stored = hash_of(db, a.id).await?;
            if let Err(e) = anchor::check(a, &self.trusted, head_id, stored.as_deref()) {
                return Ok(Err((a.clone(), e)));
            }
        }
        Ok(Ok(anchors.len()))
    }
}

fn read_anchor(p: &Path) -> anyhow::Result<Anchor> {
    let text = std::fs::read_to_string(p)?;
    serde_json::from_str(&text).map_err(|_| anyhow::anyhow!("ancrage illisible : {}", p.display()))
}

/// The chain's head as the database records it: (last id, last hash).
pub async fn head(db: &Db) -> anyhow::Result<(i64, String)> {
    let row = sqlx::query("SELECT last_id, last_hash FROM audit_head WHERE singleton = 1")
        .fetch_one(db.pool())
        .await?;
    Ok((row.try_get(0)?, row.try_get(1)?))
}

/// The stored hash of an entry, if it is there.
pub async fn hash_of(db: &Db, id: i64) -> anyhow::Result<Option<String>> {
    Ok(sqlx::query("SELECT hash FROM audit_events WHERE id = $1")
        .bind(id)
        .fetch_optional(db.pool())
        .await?
        .map(|r| r.try_get(0))
        .transpose()?)
}
