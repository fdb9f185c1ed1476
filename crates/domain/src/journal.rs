//! The audit journal's chain: each entry carries the hash of the previous one, so that altering or
//! removing any row breaks the chain from that row on.
//!
//! One global chain for the whole platform (not one per collectivité): appends are serialized by
//! the database anyway, and a single chain leaves no collectivité's journal to be truncated
//! unnoticed. Each entry still names its collectivité, for filtering.

use serde::Serialize;
use sha2::{Digest, Sha256};

/// The `prev_hash` of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What an entry says, before it is chained.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Event {
    pub tenant_id: Option<i64>,
    pub actor_id: Option<i64>,
    /// Who acted, as a person reads it (an e-mail address, "système", an API token's name).
    pub actor: String,
    /// The usager an aidant acted for, if any.
    pub on_behalf_of: Option<String>,
    pub action: String,
    pub object_type: Option<String>,
    pub object_id: Option<String>,
    pub ip: Option<String>,
    /// Extra facts, as a JSON object.
    pub details: String,
}

/// A stored entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    pub id: i64,
    pub at: i64,
    pub event: Event,
    pub prev_hash: String,
    pub hash: String,
}

/// The hash of an entry: SHA-256 over a canonical JSON array of every field and the previous hash.
pub fn entry_hash(id: i64, at: i64, event: &Event, prev_hash: &str) -> String {
    let canonical = serde_json::json!([
        prev_hash,
        id,
        at,
        event.tenant_id,
        event.actor_id,
        event.actor,
        event.on_behalf_of,
        event.action,
        event.object_type,
        event.object_id,
        event.ip,
        event.details,
    ]);
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broken {
    /// The first entry that does not verify (or the last intact one, when the tail was removed).
    pub id: i64,
    pub reason: String,
}

/// Walks the chain incrementally. Feed entries in id order, then call `finish` with the head the
/// database recorded at the last append.
pub struct Verifier {
    prev_hash: String,
    last_id: Option<i64>,
    pub checked: usize,
}

impl Default for Verifier {
    fn default() -> Self {
        Self {
            prev_hash: GENESIS.to_string(),
            last_id: None,
            checked: 0,
        }
    }
}

impl Verifier {
    /// Carries on after an entry already found intact (a checkpoint): the entries after it are
    /// checked against its hash.
    pub fn resume(last_id: i64, last_hash: &str) -> Self {
        Self {
            prev_hash: last_hash.to_string(),
            last_id: Some(last_id),
            checked: 0,
        }
    }

    /// The last entry found intact so far, with its hash.
    pub fn last(&self) -> Option<(i64, &str)> {
        self.last_id.map(|id| (id, self.prev_hash.as_str()))
    }

    pub fn check(&mut self, entry: &Entry) -> Result<(), Broken> {
        if entry.prev_hash != self.prev_hash {
            return Err(Broken {
                id: entry.id,
                reason: match self.last_id {
                    Some(prev) => format!(
                        "ne suit pas l'entrée {prev} (entrée supprimée ou modifiée avant elle)"
                    ),
                    None => "la première entrée ne part pas de l'origine de la chaîne".to_string(),
                },
            });
        }
        if entry_hash(entry.id, entry.at, &entry.event, &entry.prev_hash) != entry.hash {
            return Err(Broken {
                id: entry.id,
                reason: "son contenu a été modifié".to_string(),
            });
        }
        self.prev_hash = entry.hash.clone();
        self.last_id = Some(entry.id);
        self.checked += 1;
        Ok(())
    }

    pub fn finish(self, head: Option<(i64, String)>) -> Result<usize, Broken> {
        match head {
            None if self.last_id.is_none() => Ok(self.checked),
            None => Err(Broken {
                id: self.last_id.unwrap_or_default(),
                reason: "la tête de chaîne a disparu".to_string(),
            }),
            Some((id, hash)) => {
                if Some(id) == self.last_id && hash == self.prev_hash {
                    Ok(self.checked)
                } else {
                    Err(Broken {
                        id,
                        reason: match self.last_id {
                            Some(last) => format!("la chaîne s'arrête à l'entrée {last} : les entrées suivantes ont été supprimées"),
                            None => "toutes les entrées ont été supprimées".to_string(),
                        },
                    })
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> Vec<Entry> {
        let mut prev = GENESIS.to_string();
        (1..=n)
            .map(|id| {
                let event = Event {
                    actor: format!("agent{id}@exemple.fr"),
                    action: "connexion".into(),
                    details: "{}".into(),
                    ..Event::default()
                };
                let hash = entry_hash(id, id * 1000, &event, &prev);
                let e = Entry {
                    id,
                    at: id * 1000,
                    event,
                    prev_hash: prev.clone(),
                    hash: hash.clone(),
                };
                prev = hash;
                e
            })
            .collect()
    }

    fn verify(entries: &[Entry], head: Option<(i64, String)>) -> Result<usize, Broken> {
        let mut v = Verifier::default();
        for e in entries {
            v.check(e)?;
        }
        v.finish(head)
    }

    #[test]
    fn an_intact_chain_verifies() {
        let c = chain(5);
        let head = Some((5, c[4].hash.clone()));
        assert_eq!(verify(&c, head), Ok(5));
    }

    #[test]
    fn a_changed_field_names_its_entry() {
        let mut c = chain(5);
        c[2].event.actor = "quelquun@exemple.fr".into();
        let head = Some((5, c[4].hash.clone()));
        assert_eq!(verify(&c, head).map_err(|b| b.id), Err(3));
    }

    #[test]
    fn a_removed_entry_is_found_at_the_next_one() {
        let mut c = chain(5);
        c.remove(1);
        let head = Some((5, c[3].hash.clone()));
        assert_eq!(verify(&c, head).map_err(|b| b.id), Err(3));
    }

    #[test]
    fn resuming_after_a_checkpoint_checks_only_what_follows_it() {
        let mut c = chain(6);
        let head = Some((6, c[5].hash.clone()));
        let mut v = Verifier::resume(3, &c[2].hash);
        for e in &c[3..] {
            v.check(e).expect("intact");
        }
        assert_eq!(v.finish(head.clone()), Ok(3));
        // An entry after the checkpoint changed, or the one right after it removed.
        c[4].event.details = "{\"x\":1}".into();
        let mut v = Verifier::resume(3, &c[2].hash);
        let broken = c[3..]
            .iter()
            .try_for_each(|e| v.check(e))
            .expect_err("changed");
        assert_eq!(broken.id, 5);
        let mut v = Verifier::resume(3, &c[2].hash);
        assert_eq!(v.check(&c[4]).map_err(|b| b.id), Err(5));
    }

    #[test]
    fn a_removed_tail_is_found_by_the_head() {
        let c = chain(5);
        let head = Some((5, c[4].hash.clone()));
        let err = verify(&c[..3], head).expect_err("tail removed");
        assert!(err.reason.contains("l'entrée 3"));
    }
}
