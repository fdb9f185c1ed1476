//! Group commit: the writes of many requests share one transaction and one durable commit.
//!
//! A durable commit waits for the disk (fsync on SQLite, WAL flush on PostgreSQL), and the audit
//! chain makes every journaled change wait for the one before it. One task takes the writes that
//! wait in its queue, runs each in a savepoint of a single transaction, commits once, then answers
//! each caller. A write that fails is rolled back to its savepoint alone; the others commit. No
//! caller hears "done" before the commit that holds its write is durable.

use crate::db::{connect, Backend, Durability};
use crate::journal::write_head;
use futures_util::FutureExt;
use sqlx::{AnyConnection, Connection};
use std::any::Any as AnyValue;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use tokio::sync::{mpsc, oneshot};

tokio::task_local! {
    /// What a batch in progress keeps between its jobs.
    static BATCH: std::cell::RefCell<Batch>;
}

/// The state of the batch in progress: the audit chain's head, read once and written back once,
/// and rows that need no answer, inserted together before the commit (one statement per table
/// instead of one per row).
#[derive(Debug, Clone, Default)]
struct Batch {
    head: Option<(i64, String)>,
    head_moved: bool,
    rows: Vec<LaterRow>,
    webhook_events: Vec<WebhookEvent>,
}

/// An event for a démarche's webhook, if it has one: the démarches of the batch are looked up
/// once, before the commit, instead of once per event.
#[derive(Debug, Clone)]
pub(crate) struct WebhookEvent {
    pub tenant_id: i64,
    pub demarche_id: i64,
    pub body: String,
    pub at: i64,
}

#[derive(Debug, Clone)]
pub(crate) struct LaterRow {
    pub table: &'static str,
    pub columns: &'static [&'static str],
    pub values: Vec<Value>,
}

/// A value of a row inserted later.
#[derive(Debug, Clone)]
pub(crate) enum Value {
    Int(Option<i64>),
    Text(Option<String>),
}

/// Inside a batch: the audit chain's head once read (None before). Outside: Err.
pub(crate) fn batch_head() -> Result<Option<(i64, String)>, ()> {
    BATCH.try_with(|b| b.borrow().head.clone()).map_err(|_| ())
}

pub(crate) fn set_batch_head(id: i64, hash: String) {
    BATCH.with(|b| {
        let mut b = b.borrow_mut();
        b.head = Some((id, hash));
        b.head_moved = true;
    });
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
    };
    let kept = BATCH.try_with(|b| b.borrow_mut().rows.push(row.clone()));
    if kept.is_err() {
        insert_rows(conn, &[row]).await?;
    }
    Ok(())
}

/// Inside a batch, keeps a webhook event for the lookup before the commit and gives None;
/// elsewhere gives it back.
pub(crate) fn webhook_event_later(event: WebhookEvent) -> Option<WebhookEvent> {
    let mut event = Some(event);
    let kept = BATCH.try_with(|b| {
        if let Some(e) = event.take() {
            b.borrow_mut().webhook_events.push(e);
        }
    });
    match kept {
        Ok(()) => None,
        Err(_) => event,
    }
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
        let sql = format!(
            "INSERT INTO {} ({}) VALUES {tuples}",
            first.table,
            first.columns.join(", ")
        );
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
            .find(|g| g[0].table == row.table && g[0].columns == row.columns)
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

type Output = anyhow::Result<Box<dyn AnyValue + Send>>;
type Job = Box<
    dyn for<'c> FnOnce(&'c mut AnyConnection) -> WriteFuture<'c, Box<dyn AnyValue + Send>> + Send,
>;

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
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pending")
    }
}

impl Writer {
    /// Starts the writer on a thread of its own, with its own connection: its turn between two
    /// statements never waits behind the requests queued on the main runtime.
    pub(crate) fn start(url: String, backend: Backend, durability: Durability) -> Self {
        let (queue, jobs) = mpsc::unbounded_channel();
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
                runtime.block_on(run(url, backend, durability, jobs))
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "writer thread");
        }
        Self { queue }
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
            Box::pin(async move {
                job(conn)
                    .await
                    .map(|v| Box::new(v) as Box<dyn AnyValue + Send>)
            })
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

async fn run(
    url: String,
    backend: Backend,
    durability: Durability,
    mut messages: mpsc::UnboundedReceiver<Message>,
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
            None => match connect(&url, backend, durability).await {
                Ok(c) => commit_batch(conn.insert(c), backend, jobs).await,
                Err(e) => Err(e),
            },
        };
        match result {
            Ok(outputs) => {
                for (reply, output) in replies.into_iter().zip(outputs) {
                    let _ = reply.send(output);
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

async fn commit_batch(
    conn: &mut AnyConnection,
    backend: Backend,
    jobs: Vec<Job>,
) -> anyhow::Result<Vec<Output>> {
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
                let (head, head_moved, rows, webhook_events) = BATCH.with(|b| {
                    let b = b.borrow();
                    (
                        b.head.clone(),
                        b.head_moved,
                        b.rows.len(),
                        b.webhook_events.len(),
                    )
                });
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
                    // Its journal entries and its rows kept for later go with it.
                    BATCH.with(|b| {
                        let mut b = b.borrow_mut();
                        b.head = head;
                        b.head_moved = head_moved;
                        b.rows.truncate(rows);
                        b.webhook_events.truncate(webhook_events);
                    });
                }
                sqlx::raw_sql(next).execute(&mut *tx).await?;
                outputs.push(output);
            }
            let batch = BATCH.with(|b| std::mem::take(&mut *b.borrow_mut()));
            let mut rows = batch.rows;
            rows.extend(crate::webhook::deliveries_of(&mut tx, batch.webhook_events).await?);
            flush_rows(&mut tx, rows).await?;
            if let (Some((id, hash)), true) = (batch.head, batch.head_moved) {
                write_head(&mut tx, id, &hash).await?;
            }
            tx.commit().await?;
            Ok(outputs)
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::statement_size;

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
