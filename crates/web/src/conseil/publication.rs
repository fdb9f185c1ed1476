//! After the session: each délibération signed by the chair and published as PDF/A (never
//! modified afterwards: its digest is in the journal), the public pages of the council (next
//! sessions with their agenda and stream, the list of délibérations with the date each went
//! online), the délibérations as open data in the SCDL schema, and the members' convocation
//! page (its first opening is the proof of reading).

use crate::auth::{CollectiviteContext, Visitor};
use crate::error::AppError;
use crate::layout::Layout;
use crate::page::{html, not_found};
use crate::pdf::{archive, Block};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use guichet_domain::conseil::{self as rules, EtatSeance, Fonction};
use guichet_domain::donnees::Genere;
use guichet_store::collectivite::Collectivite;
use guichet_store::conseil::{self as store, Assemblee, Deliberation, Point, Seance};
use guichet_store::trace::Trace;
use sha2::Digest;

/// The délibération as a document: what the PDF/A says.
fn blocks(
    c: &Collectivite,
    assemblee: &str,
    s: &Seance,
    d: &Deliberation,
    chair: &str,
    signed_at: i64,
    url: &str,
) -> Vec<Block> {
    let n = &d.decompte;
    vec![
        Block::Title(format!("{} — {assemblee}", c.name)),
        Block::Heading(format!("Délibération n° {}", d.numero)),
        Block::Facts(vec![
            ("Séance du".into(), crate::format::format_ms(s.starts_at)),
            ("Objet".into(), d.objet.clone()),
            (
                "Matière".into(),
                format!("{} — {}", d.matiere, rules::matiere(&d.matiere).unwrap_or_default()),
            ),
            ("Membres en exercice".into(), d.effectif.to_string()),
            ("Présents".into(), d.presents.to_string()),
            ("Représentés".into(), d.representes.to_string()),
            (
                "Vote".into(),
                format!(
                    "Pour : {} · Contre : {} · Abstentions : {} · Ne prennent pas part au vote : {}",
                    n.pour, n.contre, n.abstention, n.nppv
                ),
            ),
            ("Résultat".into(), d.issue.label().to_string()),
        ]),
        Block::Paragraph(d.texte.clone()),
        Block::Paragraph(format!(
            "Signé électroniquement par {chair} le {}. Publié sous forme électronique le {} : {url}",
            crate::format::format_ms(signed_at),
            crate::format::format_day(signed_at)
        )),
    ]
}

/// The chair signs the délibération: it is rendered as PDF/A, stored, and published.
pub async fn publish(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    Path((_, id)): Path<(String, i64)>,
) -> Result<Response, AppError> {
    let c = &ctx.collectivite;
    let Some(d) = store::deliberation_by_id(&state.db, c.id, id).await? else {
        return Ok(not_found(State(state)).await);
    };
    let event = visitor.event_on(
        Some(c.id),
        "conseil.deliberation.publication",
        "deliberation",
        &d.numero,
    );
    let now = state.config.clock.now_ms();
    sign_and_publish(
        &state.db,
        &state.config.files,
        &state.config.public_url,
        c,
        &d,
        now,
        event,
    )
    .await?;
    Ok(Redirect::to(&format!(
        "/admin/{}/conseil/seances/{}",
        c.slug, d.seance_id
    ))
    .into_response())
}

/// Renders a délibération as PDF/A signed by the chair, stores it and publishes it with its
/// journal entry (`event`, completed with the signatory and the digest). Nothing when it is
/// already published.
pub async fn sign_and_publish(
    db: &guichet_store::Db,
    files: &guichet_store::files::FileStore,
    public_url: &str,
    c: &Collectivite,
    d: &Deliberation,
    now: i64,
    mut event: guichet_domain::journal::Event,
) -> anyhow::Result<()> {
    if d.published_at.is_some() {
        return Ok(());
    }
    let s = store::seance_by_id(db, c.id, d.seance_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("séance"))?;
    let a = store::assemblees(db, c.id)
        .await?
        .into_iter()
        .find(|a| a.id == s.assemblee_id)
        .ok_or_else(|| anyhow::anyhow!("assemblée"))?;
    let chair = chair(&store::elus(db, c.id, a.id).await?, &a);
    let url = format!(
        "{}/conseil/{}/deliberations/{}",
        public_url.trim_end_matches('/'),
        c.slug,
        d.numero
    );
    let title = format!("Délibération n° {} — {}", d.numero, c.name);
    let bytes = archive(&title, &blocks(c, &a.name, &s, d, &chair, now, &url), now)?;
    let sha256 = hex::encode(sha2::Sha256::digest(&bytes));
    // The file first, then the row that points to it: a crash leaves an unreferenced file.
    let file_id = guichet_store::secret::random_token();
    files.put(&file_id, &bytes).await?;
    event.details = serde_json::json!({"signataire": chair, "sha256": sha256}).to_string();
    let published = store::publish(
        db,
        c.id,
        d.id,
        store::Signature {
            signed_by: chair,
            file_id: file_id.clone(),
            sha256,
        },
        now,
        Trace::of(event),
    )
    .await?;
    if !published {
        files.delete(&file_id).await?;
        return Ok(());
    }
    // The open-data dataset follows each publication (the daily refresh would catch up).
    guichet_store::donnees::refresh_one(db, c, Genere::Deliberations, public_url, now).await?;
    Ok(())
}

/// The chair as acts name them: "Nathalie Koenders, Maire".
pub(super) fn chair(elus: &[guichet_store::conseil::Elu], a: &Assemblee) -> String {
    elus.iter()
        .find(|e| e.fonction == Fonction::Presidence)
        .map(|e| format!("{}, {}", e.name, a.organe.presidence()))
        .unwrap_or_else(|| a.organe.presidence().to_string())
}

/// A published act's PDF/A, as the public pages serve it.
pub(super) fn pdf_response(bytes: Vec<u8>, filename: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"{filename}\""),
            ),
            (header::CACHE_CONTROL, "public, max-age=3600".to_string()),
        ],
        bytes,
    )
        .into_response()
}

struct SeanceView {
    s: Seance,
    assemblee: String,
    quand: String,
    stream: Option<String>,
    points: Vec<Point>,
}

struct DeliberationView {
    d: Deliberation,
    date: String,
    publiee: String,
}

#[derive(Template)]
#[template(path = "conseil/public.html")]
struct PublicPage {
    layout: Layout,
    collectivite: Collectivite,
    prochaines: Vec<SeanceView>,
    deliberations: Vec<DeliberationView>,
    suivante: Option<String>,
    /// The published minutes: (session, its day, the day they went online).
    proces_verbaux: Vec<(i64, String, String)>,
}

#[derive(serde::Deserialize)]
pub struct PageQuery {
    #[serde(default)]
    avant: Option<String>,
}

const PER_PAGE: i64 = 50;

/// The council's public page: next sessions, then the published délibérations, the latest
/// first, fifty a page.
pub async fn public(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(slug): Path<String>,
    Query(q): Query<PageQuery>,
) -> Result<Response, AppError> {
    let Some(c) = guichet_store::collectivite::by_slug(&state.db, &slug).await? else {
        return Ok(not_found(State(state)).await);
    };
    let before = q.avant.as_deref().and_then(|n| {
        let (y, r) = n.split_once('-')?;
        Some((y.parse().ok()?, r.parse().ok()?))
    });
    let assemblees = store::assemblees(&state.db, c.id).await?;
    let now = state.config.clock.now_ms();
    let mut prochaines = Vec::new();
    for s in store::seances(&state.db, c.id, 20).await? {
        let upcoming = matches!(s.state, EtatSeance::Convoquee | EtatSeance::Ouverte)
            && s.starts_at > now - 86_400_000;
        let Some(a) = assemblees
            .iter()
            .find(|a| a.id == s.assemblee_id)
            .filter(|_| upcoming)
        else {
            continue;
        };
        prochaines.push(SeanceView {
            assemblee: a.name.clone(),
            quand: crate::format::format_ms(s.starts_at),
            stream: a.stream_url.clone(),
            points: store::points(&state.db, c.id, s.id).await?,
            s,
        });
    }
    prochaines.reverse();
    let mut seances = std::collections::HashMap::new();
    let mut deliberations = Vec::new();
    let list = store::published(&state.db, c.id, before, PER_PAGE + 1).await?;
    let suivante =
        (list.len() as i64 > PER_PAGE).then(|| list[PER_PAGE as usize - 1].numero.clone());
    for d in list.into_iter().take(PER_PAGE as usize) {
        if let std::collections::hash_map::Entry::Vacant(e) = seances.entry(d.seance_id) {
            e.insert(
                store::seance_by_id(&state.db, c.id, d.seance_id)
                    .await?
                    .map(|s| s.starts_at),
            );
        }
        let at = seances
            .get(&d.seance_id)
            .copied()
            .flatten()
            .unwrap_or(d.decided_at);
        deliberations.push(DeliberationView {
            date: crate::format::format_day(at),
            publiee: d
                .published_at
                .map(crate::format::format_day)
                .unwrap_or_default(),
            d,
        });
    }
    let proces_verbaux = store::published_proces_verbaux(&state.db, c.id, 24)
        .await?
        .into_iter()
        .map(|(s, p)| {
            (
                s.id,
                crate::format::format_day(s.starts_at),
                p.published_at
                    .map(crate::format::format_day)
                    .unwrap_or_default(),
            )
        })
        .collect();
    html(&PublicPage {
        layout: Layout::for_visitor(&state, &visitor).await,
        collectivite: c,
        prochaines,
        deliberations,
        suivante,
        proces_verbaux,
    })
}

/// A published délibération, its PDF/A as signed.
pub async fn pdf(
    State(state): State<AppState>,
    Path((slug, numero)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let Some(c) = guichet_store::collectivite::by_slug(&state.db, &slug).await? else {
        return Ok(not_found(State(state)).await);
    };
    let Some((d, file_id)) = store::deliberation_by_numero(&state.db, c.id, &numero)
        .await?
        .and_then(|d| d.file_id.clone().map(|f| (d, f)))
    else {
        return Ok(not_found(State(state)).await);
    };
    let bytes = state.config.files.get(&file_id).await?;
    Ok(pdf_response(
        bytes,
        &format!("deliberation-{}.pdf", d.numero),
    ))
}

/// The published délibérations in the SCDL délibérations schema (CSV, UTF-8, comma), for the
/// open-data portal.
pub async fn scdl(
    State(state): State<AppState>,
    Path(slug): Path<String>,
) -> Result<Response, AppError> {
    let Some(c) = guichet_store::collectivite::by_slug(&state.db, &slug).await? else {
        return Ok(not_found(State(state)).await);
    };
    let mut out = csv::Writer::from_writer(Vec::new());
    // The open-data dataset's columns: the SCDL délibérations schema's, in its order.
    out.write_record(Genere::Deliberations.columns().iter().map(|col| col.name))?;
    for row in store::scdl_rows(&state.db, &c, &state.config.public_url).await? {
        out.write_record(row)?;
    }
    let bytes = out.into_inner().map_err(|e| anyhow::anyhow!("csv: {e}"))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"deliberations-{}.csv\"", c.slug),
            ),
        ],
        bytes,
    )
        .into_response())
}

#[derive(Template)]
#[template(path = "conseil/convocation.html")]
struct ConvocationPage {
    layout: Layout,
    collectivite: String,
    assemblee: String,
    elu: String,
    quand: String,
    lieu: String,
    urgence: Option<String>,
    points: Vec<Point>,
    annexes: Vec<guichet_store::conseil::Annexe>,
    /// The convocation's link, for its annexes.
    token: String,
    recue: String,
}

/// A member opens their convocation: the agenda with the reports and notes; the first opening
/// is recorded as the proof of reading.
pub async fn convocation(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    let hash = guichet_store::secret::hash_token(&token);
    let Some((s, e, x)) = store::convocation_by_token(&state.db, &hash).await? else {
        return Ok(not_found(State(state)).await);
    };
    let now = state.config.clock.now_ms();
    if x.read_at.is_none() {
        let mut event = visitor.event_on(
            Some(s.tenant_id),
            "conseil.convocation.lecture",
            "seance",
            s.id,
        );
        event.actor = e.email.clone();
        store::mark_read(&state.db, hash, now, Trace::of(event)).await?;
    }
    let Some(c) = guichet_store::collectivite::by_id(&state.db, s.tenant_id).await? else {
        return Ok(not_found(State(state)).await);
    };
    let assemblee = store::assemblees(&state.db, c.id)
        .await?
        .into_iter()
        .find(|a| a.id == s.assemblee_id)
        .map(|a| a.name)
        .unwrap_or_default();
    html(&ConvocationPage {
        layout: Layout::for_visitor(&state, &visitor).await,
        collectivite: c.name,
        assemblee,
        elu: e.name,
        quand: crate::format::format_ms(s.starts_at),
        lieu: s.place.clone(),
        urgence: s.urgence.clone(),
        points: store::points(&state.db, s.tenant_id, s.id).await?,
        annexes: store::annexes_of(&state.db, s.tenant_id, s.id).await?,
        token,
        recue: crate::format::format_ms(x.read_at.unwrap_or(now)),
    })
}
