//! Exports of a queue, with the queue's filters. Filtered on one démarche, an export has one
//! column per field (label and key), files by name and link, choices as text, dates and numbers
//! typed, and one table per repeatable block with one row per repetition keyed by the dossier
//! number. CSV is streamed page by page (the dossiers' table) or given as a ZIP of every table;
//! XLSX has one sheet per table. Both are written in constant memory and journaled.

use crate::auth::{CollectiviteContext, Visitor};
use crate::dossier::instruction::{queue_filter, QueueQuery};
use crate::error::AppError;
use crate::AppState;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use guichet_domain::demarche::tableau::{Cell, Tableau};
use guichet_store::dossier::{self, QueueFilter};
use guichet_store::{demarche, journal, rfc3339};
use std::collections::HashMap;
use std::io::Write;

const COMMON: [&str; 11] = [
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
];

/// Rows per database page: the memory an export holds at once.
const PAGE: i64 = 500;

/// What the export is made of: on one démarche, its tables; on several, the answers in words in
/// one column.
struct Shape {
    tableau: Option<Tableau>,
}

impl Shape {
    fn headers(&self) -> Vec<String> {
        let mut h: Vec<String> = COMMON.iter().map(|c| (*c).to_string()).collect();
        match &self.tableau {
            Some(t) => h.extend(
                t.columns
                    .iter()
                    .chain(&t.annotations)
                    .map(|c| c.header.clone()),
            ),
            None => h.push("reponses".into()),
        }
        h
    }

    /// Each block's table: (name of its sheet or file, headers).
    fn block_tables(&self) -> Vec<(String, Vec<String>)> {
        let Some(t) = &self.tableau else {
            return Vec::new();
        };
        t.blocks
            .iter()
            .map(|b| {
                let mut h = vec!["numero".to_string(), "rang".to_string()];
                h.extend(b.columns.iter().map(|c| c.header.clone()));
                (b.id.clone(), h)
            })
            .collect()
    }
}

/// One dossier in the export: its row, and its rows in each block's table.
struct Row {
    cells: Vec<Cell>,
    blocks: Vec<Vec<Vec<Cell>>>,
}

/// The tables of a démarche over all its published versions, newest first.
async fn tableau_of(state: &AppState, tenant_id: i64, demarche_id: i64) -> anyhow::Result<Tableau> {
    let latest = demarche::get(&state.db, tenant_id, demarche_id)
        .await?
        .and_then(|d| d.published_version.or(d.draft_version))
        .unwrap_or(1);
    let mut versions = Vec::new();
    for v in (1..=latest).rev() {
        if let Some(def) = demarche::definition(&state.db, tenant_id, demarche_id, v).await? {
            versions.push(def);
        }
    }
    Ok(Tableau::of(&versions.iter().collect::<Vec<_>>()))
}

/// The answers in words ("Quotient familial (quotient) : 850 ; Enfants 1 — Prénom : Léa"), for
/// an export over several démarches.
fn in_words(
    t: &Tableau,
    answers: &guichet_domain::demarche::Answers,
    file: &dyn Fn(&str) -> String,
) -> String {
    let mut parts: Vec<String> = t
        .columns
        .iter()
        .zip(t.row(answers, file))
        .filter(|(_, c)| *c != Cell::Empty)
        .map(|(col, c)| format!("{} : {}", col.header, c.csv()))
        .collect();
    for (b, block) in t.blocks.iter().enumerate() {
        for (rank, cells) in t.block_rows(b, answers, file) {
            for (col, c) in block.columns.iter().zip(cells) {
                if c != Cell::Empty {
                    parts.push(format!(
                        "{} {rank} — {} : {}",
                        block.label,
                        col.header,
                        c.csv()
                    ));
                }
            }
        }
    }
    parts.join(" ; ")
}

/// The next page of export rows, or an empty vector at the end. Moves the filter's cursor.
async fn next_rows(
    state: &AppState,
    ctx: &(i64, String),
    shape: &Shape,
    filter: &mut QueueFilter,
    cache: &mut HashMap<i64, (String, Tableau)>,
) -> anyhow::Result<Vec<Row>> {
    let (tenant_id, slug) = (ctx.0, &ctx.1);
    let page = dossier::queue(&state.db, tenant_id, filter, PAGE).await?;
    let ids: Vec<i64> = page.iter().map(|x| x.id).collect();
    let files = guichet_store::files::names_of_dossiers(&state.db, tenant_id, &ids).await?;
    let file = |id: &str| match files.get(id) {
        Some((dossier_id, name)) => format!(
            "{name} <{}>",
            state.config.link(&format!(
                "/admin/{slug}/dossiers/{dossier_id}/fichiers/{id}"
            ))
        ),
        None => id.to_string(),
    };
    let mut rows = Vec::with_capacity(page.len());
    for x in &page {
        if let std::collections::hash_map::Entry::Vacant(e) = cache.entry(x.demarche_id) {
            let title = demarche::get(&state.db, tenant_id, x.demarche_id)
                .await?
                .map(|d| d.title)
                .unwrap_or_default();
            let t = match &shape.tableau {
                Some(_) => Tableau::default(),
                None => tableau_of(state, tenant_id, x.demarche_id).await?,
            };
            e.insert((title, t));
        }
        let (title, own) = &cache[&x.demarche_id];
        let iso = |ms: Option<i64>| Cell::Text(ms.map(rfc3339).unwrap_or_default());
        let mut cells = vec![
            Cell::Text(x.number.clone()),
            Cell::Text(title.clone()),
            Cell::Number(x.version as f64),
            Cell::Text(x.applicant_name.clone().unwrap_or_default()),
            Cell::Text(x.state.code().to_string()),
            Cell::Text(if x.tacit { "oui" } else { "non" }.into()),
            iso(Some(x.created_at)),
            iso(x.submitted_at),
            iso(x.deadline_at),
            iso(x.decided_at),
            Cell::Text(x.decision_reason.clone().unwrap_or_default()),
        ];
        let mut blocks = Vec::new();
        match &shape.tableau {
            Some(t) => {
                cells.extend(t.row(&x.answers, &file));
                cells.extend(t.annotation_row(&x.annotations));
                for b in 0..t.blocks.len() {
                    blocks.push(
                        t.block_rows(b, &x.answers, &file)
                            .into_iter()
                            .map(|(rank, mut c)| {
                                c.insert(0, Cell::Number(rank as f64));
                                c.insert(0, Cell::Text(x.number.clone()));
                                c
                            })
                            .collect(),
                    );
                }
            }
            None => cells.push(Cell::Text(in_words(own, &x.answers, &file))),
        }
        rows.push(Row { cells, blocks });
    }
    filter.cursor = page.last().map(|x| x.id);
    Ok(rows)
}

fn csv_line(cells: impl IntoIterator<Item = String>) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new()
        .delimiter(b';')
        .has_headers(false)
        .from_writer(Vec::new());
    let _ = w.write_record(
        cells
            .into_iter()
            .map(|c| guichet_domain::text::neutralize_formula(&c).into_owned()),
    );
    w.into_inner().unwrap_or_default()
}

/// The filter of the request, journaled; or the French page that says what is wrong in it.
async fn prepare(
    state: &AppState,
    visitor: &Visitor,
    ctx: &CollectiviteContext,
    q: &QueueQuery,
    format: &str,
) -> Result<Result<(QueueFilter, Shape), Response>, AppError> {
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
    let tableau = match filter.demarche_id {
        Some(id) => Some(tableau_of(state, ctx.collectivite.id, id).await?),
        None => None,
    };
    Ok(Ok((filter, Shape { tableau })))
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

/// The dossiers' table as CSV, streamed page by page (constant memory, whatever the number).
pub async fn csv(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    Query(q): Query<QueueQuery>,
) -> Result<Response, AppError> {
    let (filter, shape) = match prepare(&state, &visitor, &ctx, &q, "csv").await? {
        Ok(f) => f,
        Err(page) => return Ok(page),
    };
    let who = (ctx.collectivite.id, ctx.collectivite.slug.clone());
    let header_line = csv_line(shape.headers());
    let shape = std::sync::Arc::new(shape);
    let stream = futures_util::stream::unfold(
        (state, filter, Some(header_line), false, HashMap::new()),
        move |(state, mut filter, first, done, mut cache)| {
            let (who, shape) = (who.clone(), std::sync::Arc::clone(&shape));
            async move {
                if let Some(h) = first {
                    return Some((
                        Ok::<_, std::io::Error>(h),
                        (state, filter, None, false, cache),
                    ));
                }
                if done {
                    return None;
                }
                let rows = match next_rows(&state, &who, &shape, &mut filter, &mut cache).await {
                    Ok(r) if r.is_empty() => return None,
                    Ok(r) => r,
                    Err(e) => {
                        return Some((
                            Err(std::io::Error::other(e.to_string())),
                            (state, filter, None, true, cache),
                        ))
                    }
                };
                let mut out = Vec::new();
                for r in &rows {
                    out.extend(csv_line(r.cells.iter().map(Cell::csv)));
                }
                Some((Ok(out), (state, filter, None, false, cache)))
            }
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

/// Feeds pages of rows to a blocking writer, then streams the file it wrote (and deletes it).
/// The response starts at once: a large queue takes longer than the request timeout to write,
/// which bounds only the time to the first byte.
fn write_then_stream<W>(
    state: AppState,
    who: (i64, String),
    shape: Shape,
    mut filter: QueueFilter,
    write: W,
) -> Body
where
    W: FnOnce(
            &Shape,
            tokio::sync::mpsc::Receiver<Vec<Row>>,
        ) -> anyhow::Result<tempfile::NamedTempFile>
        + Send
        + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel::<Vec<Row>>(2);
    let shape = std::sync::Arc::new(shape);
    let for_writer = std::sync::Arc::clone(&shape);
    let writer = tokio::task::spawn_blocking(move || write(&for_writer, rx));
    let feed = async move {
        let mut cache = HashMap::new();
        loop {
            let rows = next_rows(&state, &who, &shape, &mut filter, &mut cache).await?;
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
                tracing::error!(error = format!("{e:#}"), "export failed");
                futures_util::stream::once(async move {
                    Err(std::io::Error::other("export interrompu"))
                })
                .right_stream()
            }
        })
        .flatten();
    Body::from_stream(body.fuse())
}

/// Every table as CSV in a ZIP: `dossiers.csv`, and one file per repeatable block.
pub async fn zip(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    Query(q): Query<QueueQuery>,
) -> Result<Response, AppError> {
    let (filter, shape) = match prepare(&state, &visitor, &ctx, &q, "zip").await? {
        Ok(f) => f,
        Err(page) => return Ok(page),
    };
    let who = (ctx.collectivite.id, ctx.collectivite.slug.clone());
    let body = write_then_stream(state, who, shape, filter, |shape, mut rx| {
        // Each table goes to its own temporary file as rows come; the ZIP is assembled at the end.
        let tables = shape.block_tables();
        let mut files = Vec::new();
        for _ in 0..=tables.len() {
            files.push(std::io::BufWriter::new(tempfile::tempfile()?));
        }
        files[0].write_all(&csv_line(shape.headers()))?;
        for (i, (_, headers)) in tables.iter().enumerate() {
            files[i + 1].write_all(&csv_line(headers.clone()))?;
        }
        while let Some(page) = rx.blocking_recv() {
            for r in page {
                files[0].write_all(&csv_line(r.cells.iter().map(Cell::csv)))?;
                for (b, rows) in r.blocks.iter().enumerate() {
                    for cells in rows {
                        files[b + 1].write_all(&csv_line(cells.iter().map(Cell::csv)))?;
                    }
                }
            }
        }
        let out = tempfile::NamedTempFile::new()?;
        let mut zip = zip::ZipWriter::new(std::io::BufWriter::new(out.reopen()?));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        let names =
            std::iter::once("dossiers".to_string()).chain(tables.iter().map(|(n, _)| n.clone()));
        for (name, file) in names.zip(files) {
            let mut file = file.into_inner().map_err(|e| e.into_error())?;
            std::io::Seek::rewind(&mut file)?;
            zip.start_file(format!("{name}.csv"), options)?;
            std::io::copy(&mut file, &mut zip)?;
        }
        zip.finish()?.flush()?;
        Ok(out)
    });
    Ok((
        attachment(
            "application/zip",
            format!("dossiers-{}.zip", ctx.collectivite.slug),
        ),
        body,
    )
        .into_response())
}

/// Writes a typed cell: numbers as numbers, dates as dates (shown 14/07/2018), text neutralised.
fn write_cell(
    sheet: &mut rust_xlsxwriter::Worksheet,
    row: u32,
    col: u16,
    cell: &Cell,
    date: &rust_xlsxwriter::Format,
) -> Result<(), rust_xlsxwriter::XlsxError> {
    match cell {
        Cell::Empty => {}
        Cell::Number(n) => {
            sheet.write_number(row, col, *n)?;
        }
        Cell::Date(d) => match rust_xlsxwriter::ExcelDateTime::from_ymd(
            d.year() as u16,
            d.month() as u8,
            d.day() as u8,
        ) {
            Ok(excel) => {
                sheet.write_date_with_format(row, col, &excel, date)?;
            }
            Err(_) => {
                sheet.write_string(row, col, d.to_string())?;
            }
        },
        Cell::Text(t) => {
            sheet.write_string(row, col, guichet_domain::text::neutralize_formula(t))?;
        }
    }
    Ok(())
}

/// A sheet's name: at most 31 characters, none of []:*?/\, unique in the workbook.
fn sheet_name(name: &str, taken: &[String]) -> String {
    let clean: String = name
        .chars()
        .filter(|c| !"[]:*?/\\".contains(*c))
        .take(28)
        .collect();
    let mut candidate = clean.clone();
    let mut n = 2;
    while taken.iter().any(|t| t.eq_ignore_ascii_case(&candidate))
        || candidate.eq_ignore_ascii_case("Dossiers")
    {
        candidate = format!("{clean}{n}");
        n += 1;
    }
    candidate
}

/// The queue as an Excel workbook: a sheet for the dossiers, one per repeatable block. Sheets are
/// written row by row in constant-memory mode (rows go to temporary files, not to memory).
pub async fn xlsx(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    Query(q): Query<QueueQuery>,
) -> Result<Response, AppError> {
    let (filter, shape) = match prepare(&state, &visitor, &ctx, &q, "xlsx").await? {
        Ok(f) => f,
        Err(page) => return Ok(page),
    };
    let who = (ctx.collectivite.id, ctx.collectivite.slug.clone());
    let body = write_then_stream(state, who, shape, filter, |shape, mut rx| {
        let mut workbook = rust_xlsxwriter::Workbook::new();
        let bold = rust_xlsxwriter::Format::new().set_bold();
        let date = rust_xlsxwriter::Format::new().set_num_format("dd/mm/yyyy");
        let mut tables = vec![("Dossiers".to_string(), shape.headers())];
        let mut taken = Vec::new();
        for (name, headers) in shape.block_tables() {
            let name = sheet_name(&name, &taken);
            taken.push(name.clone());
            tables.push((name, headers));
        }
        for (name, headers) in &tables {
            let sheet = workbook.add_worksheet_with_constant_memory();
            sheet.set_name(name)?;
            for (c, h) in headers.iter().enumerate() {
                sheet.write_string_with_format(0, c as u16, h, &bold)?;
            }
        }
        let mut next = vec![1u32; tables.len()];
        while let Some(page) = rx.blocking_recv() {
            for r in page {
                let sheet = workbook.worksheet_from_index(0)?;
                for (c, cell) in r.cells.iter().enumerate() {
                    write_cell(sheet, next[0], c as u16, cell, &date)?;
                }
                next[0] += 1;
                for (b, rows) in r.blocks.iter().enumerate() {
                    let sheet = workbook.worksheet_from_index(b + 1)?;
                    for cells in rows {
                        for (c, cell) in cells.iter().enumerate() {
                            write_cell(sheet, next[b + 1], c as u16, cell, &date)?;
                        }
                        next[b + 1] += 1;
                    }
                }
            }
        }
        let file = tempfile::NamedTempFile::new()?;
        workbook.save(file.path())?;
        Ok(file)
    });
    Ok((
        attachment(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            format!("dossiers-{}.xlsx", ctx.collectivite.slug),
        ),
        body,
    )
        .into_response())
}
