//! The audit journal in the database: append in the caller's transaction, list, verify.

use crate::db::Db;
use guichet_domain::journal::{entry_hash, Broken, Entry, Event, Verifier};
use sqlx::any::AnyRow;
use sqlx::Row;

/// Reads the head and locks it: appends are serialized on every backend.
async fn lock_head(tx: &mut sqlx::AnyConnection) -> anyhow::Result<(i64, String)> {
    let head = sqlx::query(
        "UPDATE audit_head SET last_id = last_id WHERE singleton = 1 RETURNING last_id, last_hash",
    )
    .fetch_one(&mut *tx)
    .await?;
    Ok((head.try_get(0)?, head.try_get(1)?))
}

async fn write_head(tx: &mut sqlx::AnyConnection, id: i64, hash: &str) -> anyhow::Result<()> {
    sqlx::query("UPDATE audit_head SET last_id = $1, last_hash = $2 WHERE singleton = 1")
        .bind(id)
        .bind(hash)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// The journal's head in a batch: read once (and locked) at the batch's first entry, moved by
/// each entry, written once before the commit.
#[derive(Default)]
struct BatchHead {
    /// The head as read from the database, once read.
    read: Option<(i64, String)>,
    /// The heads after each entry of the batch.
    moved: Vec<(i64, String)>,
}

impl BatchHead {
    fn current(&self) -> Option<(i64, String)> {
        self.moved.last().or(self.read.as_ref()).cloned()
    }
}

impl crate::writer::Share for BatchHead {
    fn mark(&self) -> usize {
        // A job that read the head undoes the read too (its savepoint released the lock).
        if self.read.is_none() {
            usize::MAX
        } else {
            self.moved.len()
        }
    }
    fn undo(&mut self, mark: usize) {
        if mark == usize::MAX {
            self.read = None;
            self.moved.clear();
        } else {
            self.moved.truncate(mark);
        }
    }
    fn finish<'c>(
        self: Box<Self>,
        conn: &'c mut sqlx::AnyConnection,
    ) -> crate::writer::WriteFuture<'c, ()> {
        Box::pin(async move {
            if let Some((id, hash)) = self.moved.last() {
                write_head(conn, *id, hash).await?;
            }
            Ok(())
        })
    }
    fn as_any_mut(&mut self) -> &mut dyn std::any::Any {
        self
    }
}

/// Appends an event inside `tx`, so that it commits with the change it records, or not at all.
pub async fn append_in(tx: &mut sqlx::AnyConnection, event: &Event) -> anyhow::Result<i64> {
    use crate::writer::Value::{Int, Text};
    let in_batch = crate::writer::with_share(|h: &mut BatchHead| h.current());
    let (last_id, prev_hash) = match in_batch {
        Some(Some(head)) => head,
        Some(None) => {
            let head = lock_head(tx).await?;
            crate::writer::with_share(|h: &mut BatchHead| h.read = Some(head.clone()));
            head
        }
        None => lock_head(tx).await?,
    };
    let id = last_id + 1;
    let at = crate::now_ms();
    let hash = entry_hash(id, at, event, &prev_hash);
    crate::writer::insert_later(
        tx,
        "audit_events",
        &[
            "id",
            "at",
            "tenant_id",
            "actor_id",
            "actor",
            "on_behalf_of",
            "action",
            "object_type",
            "object_id",
            "ip",
            "details",
            "prev_hash",
            "hash",
        ],
        vec![
            Int(Some(id)),
            Int(Some(at)),
            Int(event.tenant_id),
            Int(event.actor_id),
            Text(Some(event.actor.clone())),
            Text(event.on_behalf_of.clone()),
            Text(Some(event.action.clone())),
            Text(event.object_type.clone()),
            Text(event.object_id.clone()),
            Text(event.ip.clone()),
            Text(Some(event.details.clone())),
            Text(Some(prev_hash)),
            Text(Some(hash.clone())),
        ],
    )
    .await?;
    let moved = crate::writer::with_share(|h: &mut BatchHead| h.moved.push((id, hash.clone())));
    if moved.is_none() {
        write_head(tx, id, &hash).await?;
    }
    Ok(id)
}

/// Appends an event in a transaction of its own.
pub async fn append(db: &Db, event: &Event) -> anyhow::Result<i64> {
    let event = event.clone();
    db.write(move |conn| Box::pin(async move { append_in(conn, &event).await }))
        .await
}

pub(crate) fn from_row(row: &AnyRow) -> anyhow::Result<Entry> {
    Ok(Entry {
        id: row.try_get("id")?,
        at: row.try_get("at")?,
        event: Event {
            tenant_id: row.try_get("tenant_id")?,
            actor_id: row.try_get("actor_id")?,
            actor: row.try_get("actor")?,
            on_behalf_of: row.try_get("on_behalf_of")?,
            action: row.try_get("action")?,
            object_type: row.try_get("object_type")?,
            object_id: row.try_get("object_id")?,
            ip: row.try_get("ip")?,
            details: row.try_get("details")?,
        },
        prev_hash: row.try_get("prev_hash")?,
        hash: row.try_get("hash")?,
    })
}

pub(crate) const COLUMNS: &str =
    "id, at, tenant_id, actor_id, actor, on_behalf_of, action, object_type, object_id, ip, details, prev_hash, hash";

/// The head recorded by the last append, if any entry was ever appended.
async fn head(db: &Db) -> anyhow::Result<Option<(i64, String)>> {
    Ok(
        sqlx::query("SELECT last_id, last_hash FROM audit_head WHERE singleton = 1")
            .fetch_optional(db.pool())
            .await?
            .map(|r| -> anyhow::Result<(i64, String)> { Ok((r.try_get(0)?, r.try_get(1)?)) })
            .transpose()?
            .filter(|(id, _)| *id > 0),
    )
}

/// The chain found intact: how many entries were checked, and the last one with its hash.
struct Walked {
    checked: usize,
    last: Option<(i64, String)>,
}

/// Checks the entries after the verifier's last one up to the head, page by page (constant
/// memory), then the head. The head is read first: every entry up to it has committed (entries
/// and head move in the same transaction), so an append during the walk is not taken for a
/// removal.
async fn walk(db: &Db, mut verifier: Verifier) -> anyhow::Result<Result<Walked, Broken>> {
    let head = head(db).await?;
    let until = head.as_ref().map_or(i64::MAX, |(id, _)| *id);
    let mut after = verifier.last().map_or(0, |(id, _)| id);
    loop {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM audit_events WHERE id > $1 AND id <= $2 ORDER BY id LIMIT 5000"
        ))
        .bind(after)
        .bind(until)
        .fetch_all(db.pool())
        .await?;
        if rows.is_empty() {
            break;
        }
        for row in &rows {
            let entry = from_row(row)?;
            after = entry.id;
            if let Err(broken) = verifier.check(&entry) {
                return Ok(Err(broken));
            }
        }
    }
    let last = verifier.last().map(|(id, hash)| (id, hash.to_string()));
    Ok(verifier
        .finish(head)
        .map(|checked| Walked { checked, last }))
}

/// Where the chain was last found intact.
struct Checkpoint {
    last_id: i64,
    last_hash: String,
    full_at: i64,
}

async fn checkpoint(db: &Db) -> anyhow::Result<Option<Checkpoint>> {
    sqlx::query("SELECT last_id, last_hash, full_at FROM audit_checkpoint WHERE singleton = 1")
        .fetch_optional(db.pool())
        .await?
        .map(|r| {
            Ok(Checkpoint {
                last_id: r.try_get(0)?,
                last_hash: r.try_get(1)?,
                full_at: r.try_get(2)?,
            })
        })
        .transpose()
}

/// Which checkpoint an intact walk leaves.
enum Moved {
    /// A walk of the whole chain: its last entry, checked whole now.
    Whole,
    /// A walk from the checkpoint at this id: moved on only if it is still there (a whole check
    /// that found the chain broken meanwhile removed it, and it stays removed).
    From(i64),
}

/// Records a walk's outcome, through the writer: intact, its last entry becomes the checkpoint;
/// broken, the checkpoint goes, so that every check walks the whole chain, and shows the break,
/// until it is repaired.
async fn record(
    db: &Db,
    walked: Result<Walked, Broken>,
    moved: Moved,
) -> anyhow::Result<Result<usize, Broken>> {
    let change = match &walked {
        Ok(Walked { last: None, .. }) => None,
        Ok(Walked {
            last: Some((id, hash)),
            ..
        }) => match moved {
            Moved::From(from) if *id == from => None,
            Moved::From(from) => Some(
                sqlx::query(
                    "UPDATE audit_checkpoint SET last_id = $1, last_hash = $2
                     WHERE singleton = 1 AND last_id = $3",
                )
                .bind(*id)
                .bind(hash.clone())
                .bind(from),
            ),
            Moved::Whole => Some(
                sqlx::query(
                    "INSERT INTO audit_checkpoint (singleton, last_id, last_hash, full_at) VALUES (1, $1, $2, $3)
                     ON CONFLICT (singleton) DO UPDATE SET last_id = excluded.last_id,
                       last_hash = excluded.last_hash, full_at = excluded.full_at",
                )
                .bind(*id)
                .bind(hash.clone())
                .bind(crate::now_ms()),
            ),
        },
        Err(_) => Some(sqlx::query("DELETE FROM audit_checkpoint")),
    };
    if let Some(statement) = change {
        db.write(move |conn| {
            Box::pin(async move {
                statement.execute(&mut *conn).await?;
                Ok(())
            })
        })
        .await?;
    }
    Ok(walked.map(|w| w.checked))
}

/// Re-computes the whole chain. Ok(number of entries checked). Moves the checkpoint (`record`).
pub async fn verify(db: &Db) -> anyhow::Result<Result<usize, Broken>> {
    let walked = walk(db, Verifier::default()).await?;
    record(db, walked, Moved::Whole).await
}

/// The chain found intact by `verify_recent`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Intact {
    /// Entries checked this time: those after the checkpoint.
    pub checked: usize,
    /// When the whole chain was last found intact (None: the journal is empty).
    pub full_at: Option<i64>,
}

/// Checks the entries after the checkpoint (all of them when there is none), and moves the
/// checkpoint to the last one: the operator's page stays as fast with ten million entries as
/// with ten. The entries before it are checked again by `verify`, every day
/// (`verify_whole_if_due`). Anything amiss at the checkpoint itself falls back to `verify`.
pub async fn verify_recent(db: &Db) -> anyhow::Result<Result<Intact, Broken>> {
    let whole = |checked| Intact {
        checked,
        full_at: (checked > 0).then(crate::now_ms),
    };
    let Some(cp) = checkpoint(db).await? else {
        return Ok(verify(db).await?.map(whole));
    };
    let at_checkpoint: Option<String> =
        sqlx::query_scalar("SELECT hash FROM audit_events WHERE id = $1")
            .bind(cp.last_id)
            .fetch_optional(db.pool())
            .await?;
    if at_checkpoint.as_deref() != Some(cp.last_hash.as_str()) {
        return Ok(verify(db).await?.map(whole));
    }
    let walked = walk(db, Verifier::resume(cp.last_id, &cp.last_hash)).await?;
    Ok(record(db, walked, Moved::From(cp.last_id))
        .await?
        .map(|checked| Intact {
            checked,
            full_at: Some(cp.full_at),
        }))
}

/// Checks the whole chain when the last whole check is older than `every_ms` (or there is no
/// checkpoint); None when not due.
pub async fn verify_whole_if_due(
    db: &Db,
    now: i64,
    every_ms: i64,
) -> anyhow::Result<Option<Result<usize, Broken>>> {
    match checkpoint(db).await? {
        Some(cp) if now - cp.full_at < every_ms => Ok(None),
        _ => Ok(Some(verify(db).await?)),
    }
}

#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Entries about this collectivité, and its agents' entries that concern no collectivité
    /// (their sign-ins); never what they did in another collectivité they also work for.
    pub tenant_id: Option<i64>,
    pub actor_id: Option<i64>,
    /// Matches the start of the action code, e.g. "connexion" or "role".
    pub action: Option<String>,
    /// Free text searched in the actor and the object.
    pub text: Option<String>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    /// Keyset pagination: entries with a smaller id.
    pub before_id: Option<i64>,
}

/// Entries matching the filter, newest first.
pub async fn list(db: &Db, filter: &Filter, limit: i64) -> anyhow::Result<Vec<Entry>> {
    let mut sql = format!("SELECT {COLUMNS} FROM audit_events WHERE 1 = 1");
    let mut n = 0;
    let mut next = || {
        n += 1;
        format!("${n}")
    };
    if filter.tenant_id.is_some() {
        let p = next();
        sql += &format!(
            " AND (tenant_id = {p} OR (tenant_id IS NULL AND actor_id IN (SELECT user_id FROM memberships WHERE tenant_id = {p})))"
        );
    }
    if filter.actor_id.is_some() {
        sql += &format!(" AND actor_id = {}", next());
    }
    if filter.action.is_some() {
        sql += &format!(" AND action LIKE {}", next());
    }
    if filter.text.is_some() {
        let p = next();
        sql += &format!(" AND (LOWER(actor) LIKE {p} OR LOWER(COALESCE(object_id, '')) LIKE {p} OR LOWER(COALESCE(on_behalf_of, '')) LIKE {p})");
    }
    if filter.from_ms.is_some() {
        sql += &format!(" AND at >= {}", next());
    }
    if filter.to_ms.is_some() {
        sql += &format!(" AND at < {}", next());
    }
    if filter.before_id.is_some() {
        sql += &format!(" AND id < {}", next());
    }
    sql += &format!(" ORDER BY id DESC LIMIT {}", limit.clamp(1, 10_000));
    let mut q = sqlx::query(&sql);
    if let Some(t) = filter.tenant_id {
        q = q.bind(t);
    }
    if let Some(a) = filter.actor_id {
        q = q.bind(a);
    }
    if let Some(a) = &filter.action {
        q = q.bind(format!("{}%", escape_like(a)));
    }
    if let Some(t) = &filter.text {
        q = q.bind(format!("%{}%", escape_like(&t.to_lowercase())));
    }
    if let Some(f) = filter.from_ms {
        q = q.bind(f);
    }
    if let Some(t) = filter.to_ms {
        q = q.bind(t);
    }
    if let Some(b) = filter.before_id {
        q = q.bind(b);
    }
    q.fetch_all(db.pool()).await?.iter().map(from_row).collect()
}

/// LIKE wildcards typed by a user are taken literally (we drop them: no escape clause is portable
/// without care, and they add nothing to a search box).
pub(crate) fn escape_like(s: &str) -> String {
    s.replace(['%', '_', '\\'], "")
}
