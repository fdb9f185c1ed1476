//! Group commit: the writes of many requests share one transaction and one durable commit.
//!
//! A durable commit waits for the disk (fsync on SQLite, WAL flush on PostgreSQL), and the audit
//! chain makes every journaled change wait for the one before it. One task takes the writes that
//! wait in its queue, runs each in a savepoint of a single transaction, commits once, then answers
//! each caller. A write that fails is rolled back to its savepoint alone; the others commit. No
//! caller hears "done" before the commit that holds its write is durable.

use crate::audit::{write_head, BatchHead, BATCH_HEAD};
use crate::db::{open_pool, Backend, Durability};
use futures_util::FutureExt;
use sqlx::{AnyConnection, AnyPool, Connection};
use std::any::Any as AnyValue;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use tokio::sync::{mpsc, oneshot};

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
                runtime.block_on(async move {
                    match open_pool(&url, backend, 1, durability).await {
                        Ok(pool) => run(pool, backend, jobs).await,
                        Err(e) => {
                            tracing::error!(error = %e, "writer connection");
                            refuse_all(jobs, &format!("{e:#}")).await;
                        }
                    }
                })
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

/// Without a connection every write is refused with the reason, rather than left waiting.
async fn refuse_all(mut messages: mpsc::UnboundedReceiver<Message>, reason: &str) {
    while let Some(message) = messages.recv().await {
        match message {
            Message::Write(p) => {
                let _ = p
                    .reply
                    .send(Err(anyhow::anyhow!("enregistrement impossible : {reason}")));
            }
            Message::Close(done) => {
                let _ = done.send(());
                return;
            }
        }
    }
}

async fn run(pool: AnyPool, backend: Backend, mut messages: mpsc::UnboundedReceiver<Message>) {
    let mut received = Vec::with_capacity(MAX_BATCH);
    let mut closing = None;
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
        match commit_batch(&pool, backend, jobs).await {
            Ok(outputs) => {
                for (reply, output) in replies.into_iter().zip(outputs) {
                    let _ = reply.send(output);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "group commit failed");
                let message = format!("enregistrement impossible : {e}");
                for reply in replies {
                    let _ = reply.send(Err(anyhow::anyhow!(message.clone())));
                }
            }
        }
    }
    pool.close().await;
    if let Some(done) = closing {
        let _ = done.send(());
    }
}

async fn commit_batch(
    pool: &AnyPool,
    backend: Backend,
    jobs: Vec<Job>,
) -> anyhow::Result<Vec<Output>> {
    let mut conn = pool.acquire().await?;
    let mut tx = match backend {
        Backend::Sqlite => conn.begin_with("BEGIN IMMEDIATE").await?,
        Backend::Postgres => conn.begin().await?,
    };
    let journal = std::cell::RefCell::new(BatchHead::default());
    BATCH_HEAD
        .scope(journal, async move {
            let mut outputs = Vec::with_capacity(jobs.len());
            let last = jobs.len().saturating_sub(1);
            // Savepoints by hand: closing one and opening the next take one round trip.
            sqlx::raw_sql("SAVEPOINT job").execute(&mut *tx).await?;
            for (k, job) in jobs.into_iter().enumerate() {
                let before = BATCH_HEAD.with(|b| b.borrow().clone());
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
                    // Its journal entries are undone with it.
                    BATCH_HEAD.with(|b| *b.borrow_mut() = before);
                }
                sqlx::raw_sql(next).execute(&mut *tx).await?;
                outputs.push(output);
            }
            if let BatchHead {
                head: Some((id, hash)),
                moved: true,
            } = BATCH_HEAD.with(|b| b.borrow().clone())
            {
                write_head(&mut tx, id, &hash).await?;
            }
            tx.commit().await?;
            Ok(outputs)
        })
        .await
}
