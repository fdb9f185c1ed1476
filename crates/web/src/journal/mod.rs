//! The audit journal as admins (their collectivité) and operators (the platform) read it:
//! filtered, paginated, exportable as CSV (streamed, constant memory).

use crate::auth::{CollectiviteContext, Visitor};
use crate::error::AppError;
use crate::format::format_ms;
use crate::layout::Layout;
use crate::page::html;
use crate::AppState;
use askama::Template;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use guichet_domain::journal::Entry;
use guichet_store::journal::{self, Filter};
use serde::Deserialize;

#[derive(Deserialize, Default, Clone)]
pub struct JournalQuery {
    #[serde(default)]
    pub action: String,
    #[serde(default)]
    pub texte: String,
    #[serde(default)]
    pub du: String,
    #[serde(default)]
    pub au: String,
    pub avant: Option<i64>,
}

pub struct Row {
    pub id: i64,
    pub at: String,
    pub actor: String,
    pub on_behalf_of: Option<String>,
    pub action: String,
    pub object: String,
    pub ip: String,
}

#[derive(Template)]
#[template(path = "journal/journal.html")]
struct JournalPage {
    layout: Layout,
    scope_name: String,
    back: Option<String>,
    base: String,
    export: String,
    q: JournalQuery,
    rows: Vec<Row>,
    next_page: Option<String>,
    error: Option<String>,
}

const PAGE: i64 = 100;

fn date_ms(s: &str) -> Result<Option<i64>, String> {
    if s.trim().is_empty() {
        return Ok(None);
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(s.trim(), format)
        .map(|d| Some(d.midnight().assume_utc().unix_timestamp() * 1000))
        .map_err(|_| format!("La date « {s} » n'est pas valide : utilisez le format jj/mm/aaaa."))
}

fn filter(tenant_id: Option<i64>, q: &JournalQuery) -> Result<Filter, String> {
    Ok(Filter {
        tenant_id,
        actor_id: None,
        action: Some(q.action.trim().to_string()).filter(|s| !s.is_empty()),
        text: Some(q.texte.trim().to_string()).filter(|s| !s.is_empty()),
        from_ms: date_ms(&q.du)?,
        // "au" is inclusive: up to the end of that day.
        to_ms: date_ms(&q.au)?.map(|t| t + 86_400_000),
        before_id: q.avant,
    })
}

fn row(e: &Entry) -> Row {
    Row {
        id: e.id,
        at: format_ms(e.at),
        actor: e.event.actor.clone(),
        on_behalf_of: e.event.on_behalf_of.clone(),
        action: e.event.action.clone(),
        object: match (&e.event.object_type, &e.event.object_id) {
            (Some(t), Some(i)) => format!("{t} {i}"),
            (Some(t), None) => t.clone(),
            _ => "—".into(),
        },
        ip: e.event.ip.clone().unwrap_or_else(|| "—".into()),
    }
}

fn query_string(q: &JournalQuery, avant: Option<i64>) -> String {
    let mut pairs = vec![
        ("action", q.action.clone()),
        ("texte", q.texte.clone()),
        ("du", q.du.clone()),
        ("au", q.au.clone()),
    ];
    if let Some(a) = avant {
        pairs.push(("avant", a.to_string()));
    }
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}

async fn render(
    state: &AppState,
    visitor: &Visitor,
    tenant_id: Option<i64>,
    scope_name: String,
    base: String,
    back: Option<String>,
    q: JournalQuery,
) -> Result<Response, AppError> {
    let (rows, error) = match filter(tenant_id, &q) {
        Ok(f) => (journal::list(&state.db, &f, PAGE).await?, None),
        Err(msg) => (Vec::new(), Some(msg)),
    };
    let next_page = (rows.len() as i64 == PAGE)
        .then(|| {
            rows.last()
                .map(|e| format!("{base}?{}", query_string(&q, Some(e.id))))
        })
        .flatten();
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = JournalPage {
        layout: Layout::for_visitor(state, visitor).await,
        scope_name,
        back,
        export: format!("{base}.csv?{}", query_string(&q, None)),
        base,
        q,
        rows: rows.iter().map(row).collect(),
        next_page,
        error,
    };
    Ok((status, html(&page)?).into_response())
}

pub async fn page(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    Query(q): Query<JournalQuery>,
) -> Result<Response, AppError> {
    let base = format!("/admin/{}/journal", ctx.collectivite.slug);
    let back = Some(format!("/admin/{}", ctx.collectivite.slug));
    render(
        &state,
        &visitor,
        Some(ctx.collectivite.id),
        ctx.collectivite.name.clone(),
        base,
        back,
        q,
    )
    .await
}

pub async fn platform_page(
    state: AppState,
    visitor: Visitor,
    q: JournalQuery,
) -> Result<Response, AppError> {
    render(
        &state,
        &visitor,
        None,
        "Toute la plateforme".into(),
        "/operateur/journal".into(),
        Some("/operateur".into()),
        q,
    )
    .await
}

pub async fn export(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    Query(q): Query<JournalQuery>,
) -> Result<Response, AppError> {
    let f = match filter(Some(ctx.collectivite.id), &q) {
        Ok(f) => f,
        Err(msg) => return Ok((StatusCode::UNPROCESSABLE_ENTITY, msg).into_response()),
    };
    let mut event = visitor.event(Some(ctx.collectivite.id), "journal.export");
    event.details = serde_json::json!({"filtre": query_string(&q, None)}).to_string();
    journal::append(&state.db, &event).await?;
    Ok(csv_stream(
        state,
        f,
        &format!("journal-{}.csv", ctx.collectivite.slug),
    ))
}

/// Streams the matching entries as CSV, page by page: memory stays constant whatever the size.
fn csv_stream(state: AppState, filter: Filter, filename: &str) -> Response {
    let header_line = "numero;date_utc;auteur;pour_le_compte_de;action;objet_type;objet_id;ip;details;empreinte\n".to_string();
    let stream = futures_util::stream::unfold(
        (state, filter, false, Some(header_line)),
        |(state, mut filter, done, first)| async move {
            if let Some(h) = first {
                return Some((
                    Ok::<_, std::io::Error>(h.into_bytes()),
                    (state, filter, false, None),
                ));
            }
            if done {
                return None;
            }
            let entries = match journal::list(&state.db, &filter, 2000).await {
                Ok(e) => e,
                Err(e) => {
                    return Some((
                        Err(std::io::Error::other(e.to_string())),
                        (state, filter, true, None),
                    ))
                }
            };
            if entries.is_empty() {
                return None;
            }
            let mut writer = csv::WriterBuilder::new()
                .delimiter(b';')
                .has_headers(false)
                .from_writer(Vec::new());
            for e in &entries {
                let at =
                    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(e.at) * 1_000_000)
                        .ok()
                        .and_then(|t| {
                            t.format(&time::format_description::well_known::Rfc3339)
                                .ok()
                        })
                        .unwrap_or_default();
                let record = [
                    e.id.to_string(),
                    at,
                    e.event.actor.clone(),
                    e.event.on_behalf_of.clone().unwrap_or_default(),
                    e.event.action.clone(),
                    e.event.object_type.clone().unwrap_or_default(),
                    e.event.object_id.clone().unwrap_or_default(),
                    e.event.ip.clone().unwrap_or_default(),
                    e.event.details.clone(),
                    e.hash.clone(),
                ];
                let _ = writer.write_record(
                    record
                        .iter()
                        .map(|c| guichet_domain::text::neutralize_formula(c).into_owned()),
                );
            }
            filter.before_id = entries.last().map(|e| e.id);
            let bytes = writer.into_inner().unwrap_or_default();
            Some((Ok(bytes), (state, filter, false, None)))
        },
    );
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        // Fused: a compressing layer may poll again after the end (an unfused unfold panics).
        Body::from_stream(futures_util::StreamExt::fuse(stream)),
    )
        .into_response()
}
