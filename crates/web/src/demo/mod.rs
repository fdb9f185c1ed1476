//! Demo only: the e-mails Guichet would have sent, so that a visitor can follow their links.

use crate::auth::Visitor;
use crate::error::AppError;
use crate::layout::Layout;
use crate::mail::{StoredMail, Transport};
use crate::page::html;
use crate::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};

#[derive(Template)]
#[template(path = "demo/courriels.html")]
struct MailsPage {
    layout: Layout,
    /// (file, subject, recipient)
    mails: Vec<(String, String, String)>,
    /// (account, current code)
    codes: Vec<(String, String)>,
}

fn dir(state: &AppState) -> Option<std::path::PathBuf> {
    match &state.config.mail.transport {
        Transport::Directory(d) => Some(d.clone()),
        Transport::Smtp(_) => None,
    }
}

fn read(raw: &[u8]) -> Option<StoredMail> {
    serde_json::from_slice(raw).ok()
}

pub async fn mails(State(state): State<AppState>, visitor: Visitor) -> Result<Response, AppError> {
    let mut mails = Vec::new();
    if let Some(dir) = dir(&state) {
        if let Ok(mut entries) = tokio::fs::read_dir(&dir).await {
            while let Ok(Some(entry)) = entries.next_entry().await {
                let name = entry.file_name().to_string_lossy().to_string();
                let Some(stem) = name.strip_suffix(".json") else {
                    continue;
                };
                if let Some(m) = tokio::fs::read(entry.path())
                    .await
                    .ok()
                    .as_deref()
                    .and_then(read)
                {
                    mails.push((stem.to_string(), m.subject, m.to));
                }
            }
        }
    }
    mails.sort_by(|a, b| b.0.cmp(&a.0));
    let now_s = (guichet_store::now_ms() / 1000) as u64;
    let mut codes = Vec::new();
    for email in guichet_store::compte::demo_agents(&state.db).await? {
        let code = guichet_store::compte::totp_code(
            &guichet_store::compte::demo_totp_secret(&email),
            now_s,
        )?;
        codes.push((email, code));
    }
    html(&MailsPage {
        layout: Layout::for_visitor(&state, &visitor).await,
        mails,
        codes,
    })
}

#[derive(Template)]
#[template(path = "demo/courriel.html")]
struct MailPage {
    layout: Layout,
    subject: String,
    to: String,
    /// (text, is_link)
    lines: Vec<(String, bool)>,
}

pub async fn mail(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(name): Path<String>,
) -> Result<Response, AppError> {
    let valid = name.len() < 20 && name.chars().all(|c| c.is_ascii_digit());
    let stored = match (valid, dir(&state)) {
        (true, Some(dir)) => tokio::fs::read(dir.join(format!("{name}.json")))
            .await
            .ok()
            .as_deref()
            .and_then(read),
        _ => None,
    };
    let Some(StoredMail { subject, to, body }) = stored else {
        return Ok(crate::page::not_found(State(state)).await.into_response());
    };
    let lines = body
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            (
                l.trim().to_string(),
                l.trim().starts_with("http://") || l.trim().starts_with("https://"),
            )
        })
        .collect();
    html(&MailPage {
        layout: Layout::for_visitor(&state, &visitor).await,
        subject,
        to,
        lines,
    })
}
