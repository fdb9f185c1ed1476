//! Retention of personal data: a decided dossier keeps its personal data for the retention period
//! its démarche states, then is anonymised. Statistics (démarche, dates, states, decision) remain.

use crate::db::Db;
use crate::dossier::Dossier;
use crate::files::FileStore;
use crate::trace::Trace;
use guichet_domain::delai::Delai;
use guichet_domain::dossier::DAY_MS;
use sqlx::Row;

/// Warned this long before the anonymisation.
pub const WARNING_MS: i64 = 14 * DAY_MS;
/// When a decided dossier's personal data goes: at the end of the last day of its retention,
/// counted in calendar months on the Paris calendar.
pub fn anonymise_at(decided_at: i64, retention_months: u32) -> i64 {
    guichet_domain::delai::expiry(decided_at, Delai::mois(retention_months))
}

/// Decided dossiers not anonymised yet, with their retention months, oldest decisions first.
async fn candidates(db: &Db, limit: i64) -> anyhow::Result<Vec<(Dossier, u32, Option<i64>)>> {
    let rows = sqlx::query(
        "SELECT tenant_id, id, retention_warned_at FROM dossiers
         WHERE decided_at IS NOT NULL AND anonymised_at IS NULL ORDER BY decided_at LIMIT $1",
    )
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    let mut out = Vec::new();
    for r in rows {
        let (tenant_id, id): (i64, i64) = (r.try_get(0)?, r.try_get(1)?);
        let warned: Option<i64> = r.try_get(2)?;
        let Some(d) = crate::dossier::get(db, tenant_id, id).await? else {
            continue;
        };
        let Some(def) =
            crate::demarche::definition(db, d.tenant_id, d.demarche_id, d.version).await?
        else {
            continue;
        };
        out.push((d, def.retention_months, warned));
    }
    Ok(out)
}

/// Warns the usagers whose dossier's personal data goes within two weeks: each dossier marked
/// warned in one commit with what `notice` makes of it, its usager's address and the date the
/// data goes (the usager's mail). Returns how many were warned.
pub async fn warn_due<N>(db: &Db, now: i64, notice: N) -> anyhow::Result<usize>
where
    N: Fn(&Dossier, Option<&str>, i64) -> Trace,
{
    let mut warned_now = 0;
    for (d, months, warned) in candidates(db, 5000).await? {
        let Some(decided) = d.decided_at else {
            continue;
        };
        let at = anonymise_at(decided, months);
        if warned.is_some() || now < at - WARNING_MS || now >= at {
            continue;
        }
        let email = match d.usager_id {
            Some(id) => crate::compte::by_id(db, id).await?.map(|u| u.email),
            None => None,
        };
        let trace = notice(&d, email.as_deref(), at);
        let (tenant_id, id) = (d.tenant_id, d.id);
        let done = crate::trace::commit_if(db, trace, move |conn| {
            Box::pin(async move {
                let done = sqlx::query("UPDATE dossiers SET retention_warned_at = $1 WHERE tenant_id = $2 AND id = $3 AND retention_warned_at IS NULL")
                    .bind(now)
                    .bind(tenant_id)
                    .bind(id)
                    .execute(&mut *conn)
                    .await?;
                Ok((done.rows_affected() == 1).then_some(()))
            })
        })
        .await?;
        warned_now += usize::from(done.is_some());
    }
    Ok(warned_now)
}

/// Anonymises every dossier past its retention period: answers, applicant, link to the account,
/// messages and notes, files. Returns the numbers anonymised. Journaled.
pub async fn anonymise_due(db: &Db, files: &FileStore, now: i64) -> anyhow::Result<Vec<String>> {
    let mut done = Vec::new();
    for (d, months, _) in candidates(db, 5000).await? {
        let Some(decided) = d.decided_at else {
            continue;
        };
        if now < anonymise_at(decided, months) {
            continue;
        }
        let stored = crate::files::of_dossier(db, d.tenant_id, d.id).await?;
        let (tenant_id, id, number, count) = (d.tenant_id, d.id, d.number.clone(), stored.len());
        db.write(move |tx| Box::pin(async move {
        sqlx::query(
            "UPDATE dossiers SET answers = '{}', annotations = '{}', applicant_name = NULL, applicant_folded = NULL, usager_id = NULL,
                 decision_reason = NULL, applicant_last_name = NULL, counter_contact = NULL, guest_token_hash = NULL,
                 anonymised_at = $1 WHERE tenant_id = $2 AND id = $3",
        )
        .bind(now)
        .bind(tenant_id)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE dossier_events SET body = NULL, actor = CASE WHEN actor_id IS NULL THEN actor ELSE 'agent ou usager' END WHERE tenant_id = $1 AND dossier_id = $2")
            .bind(tenant_id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        // Experts' addresses, the questions put to them and their answers.
        sqlx::query("DELETE FROM avis WHERE tenant_id = $1 AND dossier_id = $2")
            .bind(tenant_id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM files WHERE tenant_id = $1 AND dossier_id = $2")
            .bind(tenant_id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        crate::journal::append_in(
            tx,
            &guichet_domain::journal::Event {
                tenant_id: Some(tenant_id),
                actor: "système (durée de conservation)".into(),
                action: "dossier.anonymisation".into(),
                object_type: Some("dossier".into()),
                object_id: Some(number),
                details: serde_json::json!({"conservation_mois": months, "fichiers_supprimes": count}).to_string(),
                ..Default::default()
            },
        )
        .await?;
        Ok(())
        })).await?;
        // Contents go after the commit: a crash in between leaves orphan files, never a dossier
        // pointing to missing ones.
        for f in &stored {
            files.delete(&f.id).await?;
        }
        done.push(d.number.clone());
    }
    Ok(done)
}
