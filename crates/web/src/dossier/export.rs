//! Exports of a queue, with the queue's filters: CSV streamed page by page, XLSX written in
//! constant memory to a temporary file then streamed. Both journaled.

use crate::auth::{CollectiviteContext, Visitor};
use crate::dossier::instruction::{queue_filter, QueueQuery};
use crate::error::AppError;
use crate::AppState;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use guichet_store::dossier::{self, QueueFilter};
use guichet_store::{demarche, journal, rfc3339};
use std::collections::HashMap;

const COLUMNS: [&str; 12] = [
    "numero",
    "demarche",
    "version",
    "demandeur",
    "etat",
    "decision_implicite",
    "cree_le",
    "depose_le",
    "echeance",
    "decide_le",
    "motif",
    "reponses",
];

/// Rows per database page: the memory an export holds at once.
const PAGE: i64 = 500;

/// The next page of export rows, or an empty vector at the end. Moves the filter's cursor.
async fn next_rows(
    state: &AppState,
    tenant_id: i64,
    filter: &mut QueueFilter,
    titles: &mut HashMap<i64, String>,
) -> anyhow::Result<Vec<[String; 12]>> {
    let page = dossier::queue(&state.db, tenant_id, filter, PAGE).await?;
    let mut rows = Vec::with_capacity(page.len());
    for x in &page {
        if let std::collections::hash_map::Entry::Vacant(e) = titles.entry(x.demarche_id) {
            let t = demarche::get(&state.db, tenant_id, x.demarche_id)
                .await?
                .map(|d| d.title)
                .unwrap_or_default();
            e.insert(t);
        }
        let iso = |ms: Option<i64>| ms.map(rfc3339).unwrap_or_default();
        rows.push([
            x.number.clone(),
            titles.get(&x.demarche_id).cloned().unwrap_or_default(),
            x.version.to_string(),
            x.applicant_name.clone().unwrap_or_default(),
            x.state.code().to_string(),
            if x.tacit { "oui".into() } else { "non".into() },
            iso(Some(x.created_at)),
            iso(x.submitted_at),
            iso(x.deadline_at),
            iso(x.decided_at),
            x.decision_reason.clone().unwrap_or_default(),
            serde_json::to_string(&x.answers.0).unwrap_or_default(),
        ]);
    }
    filter.cursor = page.last().map(|x| x.id);
    Ok(rows)
}

/// The filter of the request, journaled; or the French page that says what is wrong in it.
async fn prepare(
    state: &AppState,
    visitor: &Visitor,
    ctx: &CollectiviteContext,
    q: &QueueQuery,
    format: &str,
) -> Result<Result<QueueFilter, Response>, AppError> {
    let current = if q.file.is_empty() { "tous" } else { &q.file };
    let (filter, errors) = queue_filter(
        state,
        ctx.collectivite.id,
        current,
        q,
        visitor.user.as_ref().map(|u| u.id),
    )
    .await?;
    if let Some((_, message)) = errors.list().first() {
        let page = crate::page::message(
            state,
            visitor,
            "Export impossible",
            vec![message.clone()],
            None,
        )
        .await?;
        return Ok(Err((StatusCode::BAD_REQUEST, page).into_response()));
    }
    let mut event = visitor.event(Some(ctx.collectivite.id), "dossiers.export");
    event.details = serde_json::json!({"format": format, "filtres": q}).to_string();
    journal::append(&state.db, &event).await?;
    Ok(Ok(filter))
}

fn attachment(mime: &str, name: String) -> [(header::HeaderName, String); 2] {
    [
        (header::CONTENT_TYPE, mime.to_string()),
        (
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ),
    ]
}

/// The queue as CSV, streamed page by page (constant memory, whatever the number of dossiers).
pub async fn csv(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    Query(q): Query<QueueQuery>,
) -> Result<Response, AppError> {
    let filter = match prepare(&state, &visitor, &ctx, &q, "csv").await? {
        Ok(f) => f,
        Err(page) => return Ok(page),
    };
    let tenant_id = ctx.collectivite.id;
    let header_line = format!("{}\n", COLUMNS.join(";"));
    let stream = futures_util::stream::unfold(
        (state, filter, Some(header_line), false, HashMap::new()),
        move |(state, mut filter, first, done, mut titles)| async move {
            if let Some(h) = first {
                return Some((
                    Ok::<_, std::io::Error>(h.into_bytes()),
                    (state, filter, None, false, titles),
                ));
            }
            if done {
                return None;
            }
            let rows = match next_rows(&state, tenant_id, &mut filter, &mut titles).await {
                Ok(r) if r.is_empty() => return None,
                Ok(r) => r,
                Err(e) => {
                    return Some((
                        Err(std::io::Error::other(e.to_string())),
                        (state, filter, None, true, titles),
                    ))
                }
            };
            let mut w = csv::WriterBuilder::new()
                .delimiter(b';')
                .has_headers(false)
                .from_writer(Vec::new());
            for r in &rows {
                let _ = w.write_record(
                    r.iter()
                        .map(|c| guichet_domain::text::neutralize_formula(c).into_owned()),
                );
            }
            Some((
                Ok(w.into_inner().unwrap_or_default()),
                (state, filter, None, false, titles),
            ))
        },
    );
    Ok((
        attachment(
            "text/csv; charset=utf-8",
            format!("dossiers-{}.csv", ctx.collectivite.slug),
        ),
        // Fused: a compressing layer may poll again after the end (an unfused unfold panics).
        Body::from_stream(futures_util::StreamExt::fuse(stream)),
    )
        .into_response())
}

/// The queue as an Excel workbook. The worksheet is written row by row in constant-memory mode
/// (rows go to a temporary file, not to memory) by a blocking thread fed page by page; the
/// finished file is then streamed and deleted. The response starts at once; its body follows.
pub async fn xlsx(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    Query(q): Query<QueueQuery>,
) -> Result<Response, AppError> {
    let mut filter = match prepare(&state, &visitor, &ctx, &q, "xlsx").await? {
        Ok(f) => f,
        Err(page) => return Ok(page),
    };
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<[String; 12]>>(2);
    let writer = tokio::task::spawn_blocking(move || -> anyhow::Result<tempfile::NamedTempFile> {
        let mut workbook = rust_xlsxwriter::Workbook::new();
        let sheet = workbook.add_worksheet_with_constant_memory();
        sheet.set_name("Dossiers")?;
        let bold = rust_xlsxwriter::Format::new().set_bold();
        for (c, name) in COLUMNS.iter().enumerate() {
            sheet.write_string_with_format(0, c as u16, *name, &bold)?;
        }
        let mut row = 1u32;
        while let Some(page) = rx.blocking_recv() {
            for r in page {
                for (c, v) in r.iter().enumerate() {
                    sheet.write_string(
                        row,
                        c as u16,
                        guichet_domain::text::neutralize_formula(v),
                    )?;
                }
                row += 1;
            }
        }
        let file = tempfile::NamedTempFile::new()?;
        workbook.save(file.path())?;
        Ok(file)
    });
    // The workbook is written while the response is already under way: a large queue takes
    // longer than the request timeout to write, which bounds only the time to the first byte.
    let tenant_id = ctx.collectivite.id;
    let feed = async move {
        let mut titles = HashMap::new();
        loop {
            let rows = next_rows(&state, tenant_id, &mut filter, &mut titles).await?;
            if rows.is_empty() {
                break;
            }
            // The writer stopped early (it failed): its error is reported below.
            if tx.send(rows).await.is_err() {
                break;
            }
        }
        drop(tx);
        let file = writer.await??;
        // Unlinked once open, readable through the handle until the stream ends.
        let handle = tokio::fs::File::open(file.path()).await?;
        drop(file);
        anyhow::Ok(tokio_util::io::ReaderStream::new(handle))
    };
    let body = futures_util::stream::once(feed)
        .map(|opened| match opened {
            Ok(stream) => stream.left_stream(),
            Err(e) => {
                tracing::error!(error = format!("{e:#}"), "xlsx export failed");
                futures_util::stream::once(async move {
                    Err(std::io::Error::other("export interrompu"))
                })
                .right_stream()
            }
        })
        .flatten();
    Ok((
        attachment(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            format!("dossiers-{}.xlsx", ctx.collectivite.slug),
        ),
        Body::from_stream(body.fuse()),
    )
        .into_response())
}
