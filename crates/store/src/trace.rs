//! The one write path: a change commits with its trace (its journal entries and the e-mails it
//! sends) in one transaction of the group commit, or not at all. A crash can leave neither a
//! change without its journal entry nor a mail about a change that did not happen.

use crate::db::Db;
use crate::outbox::NewMail;
use crate::writer::WriteFuture;
use guichet_domain::journal::Event;

/// What a change leaves behind: its journal entries and its e-mails.
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct Trace {
    journal: Vec<Event>,
    mails: Vec<NewMail>,
}

impl Trace {
    /// A trace of one journal entry.
    pub fn of(event: Event) -> Self {
        Self {
            journal: vec![event],
            mails: Vec::new(),
        }
    }

    /// One more journal entry.
    pub fn and(mut self, event: Event) -> Self {
        self.journal.push(event);
        self
    }

    /// One more e-mail.
    pub fn mail(mut self, mail: NewMail) -> Self {
        self.mails.push(mail);
        self
    }

    /// More e-mails.
    pub fn mails(mut self, mails: impl IntoIterator<Item = NewMail>) -> Self {
        self.mails.extend(mails);
        self
    }

    /// The journal entries, to complete them once the change is known (the object's number…).
    pub(crate) fn events_mut(&mut self) -> &mut [Event] {
        &mut self.journal
    }

    /// Names the account that acted, once the change knows it (an account just created, a link
    /// opened by its owner).
    pub(crate) fn set_actor(&mut self, user_id: i64, email: &str) {
        for e in &mut self.journal {
            e.actor_id = Some(user_id);
            e.actor = email.to_string();
        }
    }

    /// Writes the journal entries and queues the e-mails inside the change's transaction.
    pub async fn write(self, conn: &mut sqlx::AnyConnection) -> anyhow::Result<()> {
        for event in &self.journal {
            crate::journal::append_in(conn, event).await?;
        }
        for mail in &self.mails {
            crate::outbox::enqueue_in(conn, mail).await?;
        }
        Ok(())
    }
}

/// Commits `change` and its trace in the next group commit; answers once both are durable.
/// A change that fails leaves no trace.
pub async fn commit<T, F>(db: &Db, trace: Trace, change: F) -> anyhow::Result<T>
where
    T: Send + 'static,
    F: for<'c> FnOnce(&'c mut sqlx::AnyConnection) -> WriteFuture<'c, T> + Send + 'static,
{
    db.write(move |conn| {
        Box::pin(async move {
            let out = change(&mut *conn).await?;
            trace.write(conn).await?;
            Ok(out)
        })
    })
    .await
}

/// Like `commit`, for a change that may find nothing to do (a link already used, a row already
/// gone): the trace is written only when it gives `Some`.
pub async fn commit_if<T, F>(db: &Db, trace: Trace, change: F) -> anyhow::Result<Option<T>>
where
    T: Send + 'static,
    F: for<'c> FnOnce(&'c mut sqlx::AnyConnection) -> WriteFuture<'c, Option<T>> + Send + 'static,
{
    db.write(move |conn| {
        Box::pin(async move {
            let out = change(&mut *conn).await?;
            if out.is_some() {
                trace.write(conn).await?;
            }
            Ok(out)
        })
    })
    .await
}

/// Like `commit_if`, for a change of one row that may find it changed already (a second click, a
/// second tab): `change` says how many rows it touched; the trace is written only when it is one.
pub async fn commit_one<F>(db: &Db, trace: Trace, change: F) -> anyhow::Result<bool>
where
    F: for<'c> FnOnce(&'c mut sqlx::AnyConnection) -> WriteFuture<'c, u64> + Send + 'static,
{
    Ok(commit_if(db, trace, move |conn| {
        Box::pin(async move { Ok((change(conn).await? == 1).then_some(())) })
    })
    .await?
    .is_some())
}
