//! The background worker, one per node (safe with several: every job claims its rows): sends
//! e-mails and webhook events as they are queued, applies tacit decisions when deadlines pass, purges expired
//! sessions, old login failures and the mails sent a month ago, regenerates the open data.

use crate::AppState;
use std::time::Duration;

/// How often the periodic jobs run.
const TACIT_EVERY_MS: i64 = 60_000;
const PURGE_EVERY_MS: i64 = 600_000;
/// Orphan file contents are looked for once a day (a whole listing of the file store).
const SWEEP_EVERY_MS: i64 = 24 * 3600 * 1000;
/// The whole audit chain is checked again this often (pages check what follows the checkpoint).
const AUDIT_WHOLE_EVERY_MS: i64 = 24 * 3_600_000;

/// Applies due tacit decisions, each committed with the usager told. Returns how many dossiers
/// were decided.
pub async fn tacit_decisions(state: &AppState, now: i64) -> anyhow::Result<usize> {
    let decided =
        guichet_store::dossier::apply_tacit_decisions(&state.db, now, |after, email| match email {
            Some(to) => guichet_store::trace::Trace::default().mail(crate::dossier::mails::tacit(
                &state.config,
                after,
                to,
            )),
            None => guichet_store::trace::Trace::default(),
        })
        .await?;
    Ok(decided.len())
}

/// Warns usagers two weeks before their dossier's personal data goes, and anonymises dossiers
/// whose retention period has passed.
pub async fn retention(state: &AppState, now: i64) -> anyhow::Result<usize> {
    guichet_store::retention::warn_due(&state.db, now, |x, email, at| match email {
        Some(to) => guichet_store::trace::Trace::default().mail(crate::dossier::mails::retention(
            &state.config,
            x,
            to,
            &crate::format::format_day(at),
        )),
        None => guichet_store::trace::Trace::default(),
    })
    .await?;
    Ok(
        guichet_store::retention::anonymise_due(&state.db, &state.config.files, now)
            .await?
            .len(),
    )
}

/// The chain's head is anchored at least this often (and at shutdown).
const ANCHOR_EVERY_MS: i64 = 60_000;

/// Anchors the audit chain's head now, if anchoring is configured and the head moved.
pub async fn anchor(state: &AppState) {
    if let Some(a) = &state.config.anchoring {
        match a.anchor_now(&state.db).await {
            Ok(Some(written)) => tracing::debug!(entry = written.id, "audit chain anchored"),
            Ok(None) => {}
            Err(e) => tracing::error!(error = format!("{e:#}"), "audit chain anchor"),
        }
    }
}

/// Records this node's service measures of the last minute or so (the observatoire's
/// availability and response time).
pub async fn record_service(state: &AppState, now: i64) {
    let (served, failed, total_ms) = crate::observe::take_service();
    if served == 0 {
        return;
    }
    let day = guichet_domain::delai::paris_day(now).to_string();
    if let Err(e) =
        guichet_store::pilotage::record_service(&state.db, day, served, failed, total_ms).await
    {
        tracing::error!(error = format!("{e:#}"), "service measures");
    }
}

const SERVICE_EVERY_MS: i64 = 60_000;

pub async fn run_worker(state: AppState, mut stop: tokio::sync::watch::Receiver<bool>) {
    let (mut last_purge, mut last_tacit, mut last_anchor) = (0i64, 0i64, 0i64);
    let mut last_sweep = 0i64;
    let mut last_service = guichet_store::now_ms();
    // Woken as soon as a commit queued mails, on this node; every few seconds otherwise (mails
    // queued by another node, retries).
    let mut commits = state.db.subscribe();
    loop {
        if let Err(e) = crate::mail::drain(&state).await {
            tracing::error!(error = format!("{e:#}"), "e-mail worker");
        }
        let now = guichet_store::now_ms();
        if let Err(e) = crate::webhook::deliver_due(&state, now).await {
            tracing::error!(error = format!("{e:#}"), "webhooks");
        }
        if now - last_service >= SERVICE_EVERY_MS {
            last_service = now;
            record_service(&state, now).await;
        }
        if now - last_anchor >= ANCHOR_EVERY_MS {
            last_anchor = now;
            anchor(&state).await;
        }
        if now - last_tacit > TACIT_EVERY_MS {
            last_tacit = now;
            match tacit_decisions(&state, now).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(dossiers = n, "tacit decisions applied"),
                Err(e) => tracing::error!(error = format!("{e:#}"), "tacit decisions"),
            }
        }
        if now - last_sweep > SWEEP_EVERY_MS {
            last_sweep = now;
            match guichet_store::files::sweep(&state.db, &state.config.files, now).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(files = n, "orphan file contents deleted"),
                Err(e) => tracing::error!(error = format!("{e:#}"), "file store sweep"),
            }
        }
        if now - last_purge > PURGE_EVERY_MS {
            last_purge = now;
            match retention(&state, now).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(
                    dossiers = n,
                    "dossiers anonymised at the end of their retention period"
                ),
                Err(e) => tracing::error!(error = format!("{e:#}"), "retention"),
            }
            let today = crate::format::paris_date(now);
            match crate::coffre::warn_expiring(&state, today).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(documents = n, "usagers warned of expiring documents"),
                Err(e) => tracing::error!(error = format!("{e:#}"), "expiring documents"),
            }
            match crate::mandat::warn_expiring(&state, now).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(mandats = n, "usagers warned of mandats ending soon"),
                Err(e) => tracing::error!(error = format!("{e:#}"), "expiring mandats"),
            }
            match guichet_store::outbox::purge_done(
                &state.db,
                now - guichet_store::outbox::KEPT_AFTER_QUEUED_MS,
            )
            .await
            {
                Ok(0) => {}
                Ok(n) => tracing::info!(mails = n, "old mails removed from the outbox"),
                Err(e) => tracing::error!(error = format!("{e:#}"), "outbox purge"),
            }
            match guichet_store::journal::verify_whole_if_due(&state.db, now, AUDIT_WHOLE_EVERY_MS)
                .await
            {
                Ok(None | Some(Ok(_))) => {}
                Ok(Some(Err(b))) => {
                    tracing::error!(entry = b.id, reason = %b.reason, "audit chain broken")
                }
                Err(e) => tracing::error!(error = format!("{e:#}"), "audit chain check"),
            }
            match guichet_store::donnees::refresh(&state.db, &state.config.link(""), now).await {
                Ok(r) if r.new_versions > 0 => {
                    tracing::info!(versions = r.new_versions, "open data refreshed")
                }
                Ok(_) => {}
                Err(e) => tracing::error!(error = format!("{e:#}"), "open data refresh"),
            }
            let _ = guichet_store::session::purge_expired(&state.db, now).await;
            let _ = guichet_store::throttle::purge_old(&state.db, now).await;
        }
        tokio::select! {
            _ = stop.changed() => {
                // The last head before stopping, so that no acknowledged entry is unanchored.
                anchor(&state).await;
                record_service(&state, guichet_store::now_ms()).await;
                break;
            }
            topic = commits.recv() => match topic {
                Ok(t) if t == guichet_store::outbox::TOPIC => {}
                Ok(_) => continue,
                // Missed announcements: look anyway.
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                    tokio::time::sleep(Duration::from_secs(5)).await
                }
            },
            () = tokio::time::sleep(Duration::from_secs(5)) => {},
        }
    }
}
