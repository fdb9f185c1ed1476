//! Group commit: the writes of many requests share one transaction and one durable commit.
//!
//! A durable commit waits for the disk (fsync on SQLite, WAL flush on PostgreSQL), and the audit
//! chain makes every journaled change wait for the one before it. One task takes the writes that
//! wait in its queue, runs each in a savepoint of a single transaction, commits once, then answers
//! each caller. A write that fails is rolled back to its savepoint alone; the others commit. No
//! caller hears "done" before the commit that holds its write is durable.

use crate::audit::{write_head, BatchHead, BATCH_HEAD};
use crate::db::Backend;
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

/// At most this many writes share a commit: a batch stays short enough for its p99.
const MAX_BATCH: usize = 512;

#[derive(Debug, Clone)]
pub struct Writer {
    queue: mpsc::UnboundedSender<Pending>,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pending")
    }
}

impl Writer {
    pub(crate) fn start(pool: AnyPool, backend: Backend) -> Self {
        let (queue, jobs) = mpsc::unbounded_channel();
        tokio::spawn(run(pool, backend, jobs));
        Self { queue }
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
            .send(Pending { job, reply })
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

async fn run(pool: AnyPool, backend: Backend, mut jobs: mpsc::UnboundedReceiver<Pending>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while jobs.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let pending = std::mem::take(&mut batch);
        let (jobs_of_batch, replies): (Vec<Job>, Vec<_>) =
            pending.into_iter().map(|p| (p.job, p.reply)).unzip();
        match commit_batch(&pool, backend, jobs_of_batch).await {
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
            for job in jobs {
                let before = BATCH_HEAD.with(|b| b.borrow().clone());
                let mut savepoint = tx.begin().await?;
                let output = match AssertUnwindSafe(job(&mut savepoint)).catch_unwind().await {
                    Ok(output) => output,
                    Err(_) => Err(anyhow::anyhow!("erreur interne pendant l'enregistrement")),
                };
                match &output {
                    Ok(_) => savepoint.commit().await?,
                    Err(_) => {
                        savepoint.rollback().await?;
                        // Its journal entries are undone with it.
                        BATCH_HEAD.with(|b| *b.borrow_mut() = before);
                    }
                }
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
