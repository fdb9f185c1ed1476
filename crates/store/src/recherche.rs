//! The search's generation: a counter bumped by every change of what the one door searches
//! (publication, closing, referential edits). Each node rebuilds its index when the counter moves,
//! so several nodes stay consistent without shared files.

use crate::db::Db;
use sqlx::Row;

/// What the search index reflects: it changes whenever the searched data does.
pub async fn generation(db: &Db) -> anyhow::Result<i64> {
    Ok(
        sqlx::query("SELECT generation FROM search_generation WHERE id = 1")
            .fetch_one(db.pool())
            .await?
            .try_get(0)?,
    )
}

/// Bumps the generation (tools and tests; changes bump it in their own commit with `bump_in`).
pub async fn bump_generation(db: &Db) -> anyhow::Result<()> {
    db.write(|conn| Box::pin(async move { bump_in(conn).await }))
        .await
}

/// Bumps the generation inside the change's transaction.
pub(crate) async fn bump_in(conn: &mut sqlx::AnyConnection) -> anyhow::Result<()> {
    sqlx::query("UPDATE search_generation SET generation = generation + 1 WHERE id = 1")
        .execute(&mut *conn)
        .await?;
    Ok(())
}
