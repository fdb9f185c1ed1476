//! Group commit: the writes of many requests share one transaction and one durable commit.
//!
//! A durable commit waits for the disk (fsync on SQLite, WAL flush on PostgreSQL), and the audit
//! chain makes every journaled change wait for the one before it. One task takes the writes that
//! wait in its queue, runs each in a savepoint of a single transaction, commits once, then answers
//! each caller. A write that fails is rolled back to its savepoint alone; the others commit. No
//! caller hears "done" before the commit that holds its write is durable.

use crate::conn::{connect, Backend, Durability};
use futures_util::FutureExt;
use sqlx::{AnyConnection, Connection};
use std::any::{Any, TypeId};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use tokio::sync::{mpsc, oneshot};

tokio::task_local! {
    /// What a batch in progress keeps between its jobs.
    static BATCH: std::cell::RefCell<Batch>;
}

/// What a capability keeps in a batch between its jobs (the journal's head, events whose
/// recipients are looked up once): undone with a job that fails, finished once, in the batch's
/// transaction, before the commit. The writer knows none of them: each is found by its type.
pub trait Share: Any + Send {
    /// Where the share stands before a job, to undo that job's part if it fails.
    fn mark(&self) -> usize;
    /// Forgets what was added since `mark`.
    fn undo(&mut self, mark: usize);
    /// Writes what the batch left (rows it inserts go with the batch's other rows).
    fn finish<'c>(self: Box<Self>, conn: &'c mut AnyConnection) -> WriteFuture<'c, ()>;
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

/// The state of the batch in progress: rows that need no answer, inserted together before the
/// commit (one statement per table instead of one per row), the capabilities' shares, and the
/// topics to announce once the batch has committed.
#[derive(Default)]
struct Batch {
    rows: Vec<LaterRow>,
    shares: Vec<(TypeId, Box<dyn Share>)>,
    topics: Vec<&'static str>,
}

/// A job's marks, to undo its part of the batch if it fails.
struct Marks {
    rows: usize,
    topics: usize,
    shares: Vec<(TypeId, usize)>,
}

impl Batch {
    fn marks(&self) -> Marks {
        Marks {
            rows: self.rows.len(),
            topics: self.topics.len(),
            shares: self.shares.iter().map(|(t, s)| (*t, s.mark())).collect(),
        }
    }

    fn undo(&mut self, marks: Marks) {
        self.rows.truncate(marks.rows);
        self.topics.truncate(marks.topics);
        // A share first used by the failed job goes with it.
        self.shares
            .retain(|(t, _)| marks.shares.iter().any(|(m, _)| m == t));
        for (t, s) in &mut self.shares {
            if let Some((_, mark)) = marks.shares.iter().find(|(m, _)| m == t) {
                s.undo(*mark);
            }
        }
    }
}

/// Inside a batch: runs `f` on the batch's share of type `S` (made with `Default` at its first
/// use) and gives its result. Outside a batch: None.
pub(crate) fn with_share<S: Share + Default, R>(f: impl FnOnce(&mut S) -> R) -> Option<R> {
    BATCH
        .try_with(|b| {
            let mut b = b.borrow_mut();
            let id = TypeId::of::<S>();
            let index = match b.shares.iter().position(|(t, _)| *t == id) {
                Some(i) => i,
                None => {
                    b.shares.push((id, Box::<S>::default()));
                    b.shares.len() - 1
                }
            };
            let share = b.shares[index].1.as_any_mut().downcast_mut::<S>()?;
            Some(f(share))
        })
        .ok()
        .flatten()
}

/// Announces `topic` to the database's subscribers (`Db::subscribe`) once the batch holding this
/// job has committed; nothing if the job fails. False outside a batch: the caller announces
/// after its own commit.
pub(crate) fn announce(topic: &'static str) -> bool {
    BATCH
        .try_with(|b| {
            let mut b = b.borrow_mut();
            if !b.topics.contains(&topic) {
                b.topics.push(topic);
            }
        })
        .is_ok()
}

/// Where committed topics are announced (`Db::subscribe`).
pub type Announcer = tokio::sync::broadcast::Sender<&'static str>;

#[derive(Debug, Clone)]
pub(crate) struct LaterRow {
    pub table: &'static str,
    pub columns: &'static [&'static str],
    pub values: Vec<Value>,
    /// For counters: the leading columns that key the row; the others (integers) are added to
    /// the row of that key, created when missing.
    pub key: usize,
}

/// A value of a row inserted later.
#[derive(Debug, Clone)]
pub(crate) enum Value {
    Int(Option<i64>),
    Text(Option<String>),
}

/// Inserts a row nobody waits to read: inside a batch, with the other rows of its table just
/// before the commit (a failed job's rows are dropped with it); elsewhere, at once.
pub(crate) async fn insert_later(
    conn: &mut AnyConnection,
    table: &'static str,
    columns: &'static [&'static str],
    values: Vec<Value>,
) -> anyhow::Result<()> {
    let row = LaterRow {
        table,
        columns,
        values,
        key: 0,
    };
    let kept = BATCH.try_with(|b| b.borrow_mut().rows.push(row.clone()));
    if kept.is_err() {
        insert_rows(conn, &[row]).await?;
    }
    Ok(())
}

/// Adds to counters nobody waits to read: the first `key` columns name the row, the other
/// (integer) columns are added to it, the row made when missing. Inside a batch, the additions
/// of every job to the same row are summed and written once, just before the commit (a failed
/// job's are dropped with it); elsewhere, at once.
pub(crate) async fn add_later(
    conn: &mut AnyConnection,
    table: &'static str,
    columns: &'static [&'static str],
    key: usize,
    values: Vec<Value>,
) -> anyhow::Result<()> {
    let row = LaterRow {
        table,
        columns,
        values,
        key,
    };
    let kept = BATCH.try_with(|b| b.borrow_mut().rows.push(row.clone()));
    if kept.is_err() {
        insert_rows(conn, &[row]).await?;
    }
    Ok(())
}

/// Counter rows with the same key summed into one (a statement may not touch a row twice).
fn summed(rows: &[LaterRow]) -> Vec<LaterRow> {
    let mut out: Vec<LaterRow> = Vec::new();
    let same_key = |a: &LaterRow, b: &LaterRow| {
        a.values[..a.key]
            .iter()
            .zip(&b.values[..b.key])
            .all(|(x, y)| match (x, y) {
                (Value::Int(x), Value::Int(y)) => x == y,
                (Value::Text(x), Value::Text(y)) => x == y,
                _ => false,
            })
    };
    for row in rows {
        match out.iter_mut().find(|o| same_key(o, row)) {
            Some(o) => {
                for (total, add) in o.values.iter_mut().zip(&row.values).skip(row.key) {
                    if let (Value::Int(Some(t)), Value::Int(Some(a))) = (total, add) {
                        *t += a;
                    }
                }
            }
            None => out.push(row.clone()),
        }
    }
    out
}

/// Parameters per statement, under the limits of both databases.
const MAX_PARAMETERS: usize = 30_000;

/// How many of `n` rows the next statement inserts: a power of two, so that a handful of
/// statement shapes stay prepared on the connection whatever the batch sizes (37 rows: 32, 4, 1).
pub(crate) fn statement_size(n: usize, width: usize) -> usize {
    let limit = (MAX_PARAMETERS / width.max(1)).max(1);
    let n = n.min(limit);
    if n == 0 {
        0
    } else {
        1 << n.ilog2()
    }
}

/// Runs the statement `sql(list)` on these ids, `list` being their placeholders after those of
/// `lead` (bound first), in power-of-two chunks so that a few statement shapes stay prepared.
/// Gives the rows the statements return.
pub(crate) async fn by_ids(
    conn: &mut sqlx::AnyConnection,
    ids: &[i64],
    lead: &[i64],
    sql: impl Fn(&str) -> String,
) -> anyhow::Result<Vec<sqlx::any::AnyRow>> {
    let mut rows = Vec::new();
    let mut rest = ids;
    while !rest.is_empty() {
        let (chunk, after) = rest.split_at(statement_size(rest.len(), 1));
        rest = after;
        let sql = sql(&id_list(chunk.len(), lead.len() + 1));
        let mut query = sqlx::query(&sql);
        for value in lead.iter().chain(chunk) {
            query = query.bind(*value);
        }
        rows.extend(query.fetch_all(&mut *conn).await?);
    }
    Ok(rows)
}

/// `$first, $first+1, …`: the placeholders of `n` ids.
fn id_list(n: usize, first: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Inserts rows of one table and column list, as few statements as the parameter limit allows.
async fn insert_rows(conn: &mut AnyConnection, rows: &[LaterRow]) -> anyhow::Result<()> {
    let Some(first) = rows.first() else {
        return Ok(());
    };
    let counters = (first.key > 0).then(|| summed(rows));
    let rows = counters.as_deref().unwrap_or(rows);
    let width = first.columns.len();
    let mut rest = rows;
    while !rest.is_empty() {
        let (chunk, after) = rest.split_at(statement_size(rest.len(), width));
        rest = after;
        let tuples = (0..chunk.len())
            .map(|r| {
                let params = (1..=width)
                    .map(|c| format!("${}", r * width + c))
                    .collect::<Vec<_>>()
                    .join(", ");
                format!("({params})")
            })
            .collect::<Vec<_>>()
            .join(", ");
        let mut sql = format!(
            "INSERT INTO {} ({}) VALUES {tuples}",
            first.table,
            first.columns.join(", ")
        );
        if first.key > 0 {
            let sums: Vec<String> = first.columns[first.key..]
                .iter()
                .map(|c| format!("{c} = {}.{c} + excluded.{c}", first.table))
                .collect();
            sql.push_str(&format!(
                " ON CONFLICT ({}) DO UPDATE SET {}",
                first.columns[..first.key].join(", "),
                sums.join(", ")
            ));
        }
        let mut query = sqlx::query(&sql);
        for row in chunk {
            for value in &row.values {
                query = match value {
                    Value::Int(v) => query.bind(*v),
                    Value::Text(v) => query.bind(v.clone()),
                };
            }
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Inserts the rows kept by the batch, table by table, each table's rows in their order.
async fn flush_rows(conn: &mut AnyConnection, rows: Vec<LaterRow>) -> anyhow::Result<()> {
    let mut groups: Vec<Vec<LaterRow>> = Vec::new();
    for row in rows {
        match groups
            .iter_mut()
            .find(|g| g[0].table == row.table && g[0].columns == row.columns && g[0].key == row.key)
        {
            Some(group) => group.push(row),
            None => groups.push(vec![row]),
        }
    }
    for group in groups {
        insert_rows(conn, &group).await?;
    }
    Ok(())
}

/// The future of one write, borrowing the batch's connection.
pub type WriteFuture<'c, T> = Pin<Box<dyn Future<Output = anyhow::Result<T>> + Send + 'c>>;

type Output = anyhow::Result<Box<dyn Any + Send>>;
type Job =
    Box<dyn for<'c> FnOnce(&'c mut AnyConnection) -> WriteFuture<'c, Box<dyn Any + Send>> + Send>;

struct Pending {
    job: Job,
    reply: oneshot::Sender<Output>,
}

enum Message {
    Write(Pending),
    /// Finish what is queued, close the connection, answer.
    Close(oneshot::Sender<()>),
}

/// At most this many writes share a commit: a batch stays short enough for its p99.
const MAX_BATCH: usize = 512;

#[derive(Debug, Clone)]
pub struct Writer {
    queue: mpsc::UnboundedSender<Message>,
    announcer: Announcer,
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pending")
    }
}

impl Writer {
    /// Starts the writer on a thread of its own, with its own connection: its turn between two
    /// statements never waits behind the requests queued on the main runtime.
    pub(crate) fn start(
        target: crate::failover::Target,
        backend: Backend,
        durability: Durability,
    ) -> Self {
        let (queue, jobs) = mpsc::unbounded_channel();
        let (announcer, _) = tokio::sync::broadcast::channel(64);
        let announces = announcer.clone();
        let spawned = std::thread::Builder::new()
            .name("guichet-writer".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(e) => return tracing::error!(error = %e, "writer runtime"),
                };
                runtime.block_on(run(target, backend, durability, jobs, announces))
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "writer thread");
        }
        Self { queue, announcer }
    }

    /// Where committed topics are announced.
    pub(crate) fn announcer(&self) -> &Announcer {
        &self.announcer
    }

    /// Commits what is queued, then closes the writer's connection.
    pub(crate) async fn close(&self) {
        let (done, closed) = oneshot::channel();
        if self.queue.send(Message::Close(done)).is_ok() {
            let _ = closed.await;
        }
    }

    /// Runs `job` in the next shared transaction; answers once that transaction is committed.
    /// An error from `job` undoes its own writes only.
    pub async fn write<T, F>(&self, job: F) -> anyhow::Result<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut AnyConnection) -> WriteFuture<'c, T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move |conn| {
            Box::pin(async move { job(conn).await.map(|v| Box::new(v) as Box<dyn Any + Send>) })
        });
        self.queue
            .send(Message::Write(Pending { job, reply }))
            .map_err(|_| anyhow::anyhow!("base de données fermée"))?;
        let value = answer
            .await
            .map_err(|_| anyhow::anyhow!("écriture interrompue"))??;
        value
            .downcast::<T>()
            .map(|v| *v)
            .map_err(|_| anyhow::anyhow!("type de résultat inattendu"))
    }
}

/// How long a batch waits for the database to accept a connection again (a restart, a failover
/// to the standby) before its writes are refused. Nothing of the batch has run yet: waiting is
/// safe, and a resident sees a slow answer instead of an error.
const RECONNECT_WITHIN: std::time::Duration = std::time::Duration::from_secs(15);

/// A connection to the database as it is now (the primary, behind a multi-host URL), retried
/// until `RECONNECT_WITHIN`.
async fn reconnect(
    target: &crate::failover::Target,
    backend: Backend,
    durability: Durability,
) -> anyhow::Result<AnyConnection> {
    let deadline = tokio::time::Instant::now() + RECONNECT_WITHIN;
    loop {
        match connect(&target.url(), backend, durability).await {
            Ok(c) => return Ok(c),
            Err(e) if tokio::time::Instant::now() >= deadline => return Err(e),
            Err(e) => {
                tracing::warn!(error = %e, "database unreachable: the group commit waits");
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
        }
    }
}

async fn run(
    target: crate::failover::Target,
    backend: Backend,
    durability: Durability,
    mut messages: mpsc::UnboundedReceiver<Message>,
    announcer: Announcer,
) {
    let mut received = Vec::with_capacity(MAX_BATCH);
    let mut closing = None;
    // One connection, opened at the first write and again after a failed batch (the server may
    // have restarted).
    let mut conn: Option<AnyConnection> = None;
    while closing.is_none() && messages.recv_many(&mut received, MAX_BATCH).await > 0 {
        let mut jobs = Vec::with_capacity(received.len());
        let mut replies = Vec::with_capacity(received.len());
        for message in received.drain(..) {
            match message {
                Message::Write(p) => {
                    jobs.push(p.job);
                    replies.push(p.reply);
                }
                Message::Close(done) => closing = Some(done),
            }
        }
        if jobs.is_empty() {
            continue;
        }
        let result = match conn.as_mut() {
            Some(c) => commit_batch(c, backend, jobs).await,
            None => match reconnect(&target, backend, durability).await {
                Ok(c) => commit_batch(conn.insert(c), backend, jobs).await,
                Err(e) => Err(e),
            },
        };
        match result {
            Ok((outputs, topics)) => {
                for (reply, output) in replies.into_iter().zip(outputs) {
                    let _ = reply.send(output);
                }
                for topic in topics {
                    let _ = announcer.send(topic);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "group commit failed");
                conn = None;
                let message = format!("enregistrement impossible : {e}");
                for reply in replies {
                    let _ = reply.send(Err(anyhow::anyhow!(message.clone())));
                }
            }
        }
    }
    if let Some(c) = conn {
        let _ = c.close().await;
    }
    if let Some(done) = closing {
        let _ = done.send(());
    }
}

/// Runs the jobs, each in its own savepoint, then finishes the shares, inserts the rows kept for
/// later and commits; gives each job's output and the topics to announce.
async fn commit_batch(
    conn: &mut AnyConnection,
    backend: Backend,
    jobs: Vec<Job>,
) -> anyhow::Result<(Vec<Output>, Vec<&'static str>)> {
    let mut tx = match backend {
        Backend::Sqlite => conn.begin_with("BEGIN IMMEDIATE").await?,
        Backend::Postgres => conn.begin().await?,
    };
    BATCH
        .scope(Default::default(), async move {
            let mut outputs = Vec::with_capacity(jobs.len());
            let last = jobs.len().saturating_sub(1);
            // Savepoints by hand: closing one and opening the next take one round trip.
            sqlx::raw_sql("SAVEPOINT job").execute(&mut *tx).await?;
            for (k, job) in jobs.into_iter().enumerate() {
                let marks = BATCH.with(|b| b.borrow().marks());
                let output = match AssertUnwindSafe(job(&mut tx)).catch_unwind().await {
                    Ok(output) => output,
                    Err(_) => Err(anyhow::anyhow!("erreur interne pendant l'enregistrement")),
                };
                let next = match (&output, k == last) {
                    (Ok(_), false) => "RELEASE SAVEPOINT job; SAVEPOINT job",
                    (Ok(_), true) => "RELEASE SAVEPOINT job",
                    (Err(_), false) => {
                        "ROLLBACK TO SAVEPOINT job; RELEASE SAVEPOINT job; SAVEPOINT job"
                    }
                    (Err(_), true) => "ROLLBACK TO SAVEPOINT job; RELEASE SAVEPOINT job",
                };
                if output.is_err() {
                    // Its journal entries, rows and announcements go with it.
                    BATCH.with(|b| b.borrow_mut().undo(marks));
                }
                sqlx::raw_sql(next).execute(&mut *tx).await?;
                outputs.push(output);
            }
            let shares = BATCH.with(|b| std::mem::take(&mut b.borrow_mut().shares));
            for (_, share) in shares {
                share.finish(&mut tx).await?;
            }
            let (rows, topics) = BATCH.with(|b| {
                let mut b = b.borrow_mut();
                (std::mem::take(&mut b.rows), std::mem::take(&mut b.topics))
            });
            flush_rows(&mut tx, rows).await?;
            tx.commit().await?;
            Ok((outputs, topics))
        })
        .await
}

#[cfg(test)]
mod tests {
    #[test]
    fn counters_of_one_key_are_summed_into_one_row() {
        let row = |month: &str, n: i64| LaterRow {
            table: "t",
            columns: &["k", "month", "n", "m"],
            values: vec![
                Value::Int(Some(1)),
                Value::Text(Some(month.into())),
                Value::Int(Some(n)),
                Value::Int(Some(-n)),
            ],
            key: 2,
        };
        let out = summed(&[row("2026-11", 1), row("2026-12", 5), row("2026-11", 2)]);
        assert_eq!(out.len(), 2);
        assert!(matches!(out[0].values[2], Value::Int(Some(3))));
        assert!(matches!(out[0].values[3], Value::Int(Some(-3))));
        assert!(matches!(out[1].values[2], Value::Int(Some(5))));
    }

    use super::{statement_size, summed, LaterRow, Value};

    #[test]
    fn rows_go_in_power_of_two_statements_under_the_parameter_limit() {
        let mut sizes = Vec::new();
        let mut n = 37;
        while n > 0 {
            let s = statement_size(n, 13);
            sizes.push(s);
            n -= s;
        }
        assert_eq!(sizes, vec![32, 4, 1]);
        assert_eq!(statement_size(0, 13), 0);
        // 30,000 parameters / 13 columns = 2,307 rows at most: 2,048.
        assert_eq!(statement_size(100_000, 13), 2048);
    }
}
