//! The minutes of a session (procès-verbal, L2121-15): the secretary drafts the substance of the
//! debates once the session is over, beside what the platform recorded; the council adopts them
//! at the beginning of its next session, before the first vote; the chair and the secretary sign
//! them and they go online as PDF/A within the week.

use super::publication::{chair, pdf_response};
use super::seance::{back, load, refused};
use crate::auth::{CollectiviteContext, Visitor};
use crate::error::AppError;
use crate::form::Fields;
use crate::page::not_found;
use crate::pdf::{archive, Block};
use crate::AppState;
use axum::extract::{Path, State};
use axum::response::Response;
use guichet_domain::conseil::{self as rules, Choix, EtatSeance, SeanceVue};
use guichet_store::collectivite::Collectivite;
use guichet_store::conseil::{self as store, Assemblee, Elu, ProcesVerbal, Seance};
use guichet_store::trace::Trace;
use sha2::Digest;

/// The longest minutes accepted (characters): a long session's debates fit well within.
const MAX_TEXTE: usize = 200_000;

/// The secretary writes (or rewrites) the draft minutes of a session that is over.
pub async fn draft(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    Path((_, id)): Path<(String, i64)>,
    body: String,
) -> Result<Response, AppError> {
    let Some((s, _)) = load(&state, &ctx, id).await? else {
        return Ok(not_found(State(state)).await);
    };
    if !matches!(s.state, EtatSeance::Close | EtatSeance::Carence) {
        return refused(
            &state,
            &visitor,
            &ctx,
            id,
            "pv",
            "Le procès-verbal se rédige une fois la séance terminée.",
        )
        .await;
    }
    let f = Fields::parse(&body);
    let texte = f.get("texte").trim().to_string();
    let mut errors = crate::form::Errors::default();
    if texte.is_empty() {
        errors.add(
            "texte",
            "Rédigez la teneur des débats : ce que chacun a dit d'important sur chaque point.",
        );
    } else if texte.chars().count() > MAX_TEXTE {
        errors.add(
            "texte",
            format!("Le texte dépasse {MAX_TEXTE} caractères : résumez les débats."),
        );
    }
    if !errors.is_empty() {
        return super::seance::render(&state, &visitor, &ctx, id, f, errors).await;
    }
    let c = &ctx.collectivite;
    let event = visitor.event_on(
        Some(c.id),
        "conseil.proces_verbal.redaction",
        "seance",
        s.id,
    );
    let now = state.config.clock.now_ms();
    if !store::draft_proces_verbal(&state.db, c.id, s.id, texte, now, Trace::of(event)).await? {
        return refused(
            &state,
            &visitor,
            &ctx,
            id,
            "pv",
            rules::RefusProcesVerbal::DejaArrete.to_string(),
        )
        .await;
    }
    Ok(back(&ctx, id))
}

/// At the beginning of session `id`, the council adopts the minutes of an earlier session.
pub async fn adopt(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    Path((_, id, earlier)): Path<(String, i64, i64)>,
) -> Result<Response, AppError> {
    let (Some((now_sitting, _)), Some((before, _))) = (
        load(&state, &ctx, id).await?,
        load(&state, &ctx, earlier).await?,
    ) else {
        return Ok(not_found(State(state)).await);
    };
    let c = &ctx.collectivite;
    let pv = store::proces_verbal(&state.db, c.id, before.id).await?;
    let votes_began = !store::deliberations_of(&state.db, c.id, now_sitting.id)
        .await?
        .is_empty();
    let vue = |s: &Seance| SeanceVue {
        assemblee: s.assemblee_id,
        debut_ms: s.starts_at,
        etat: s.state,
    };
    if let Err(refus) = rules::verifier_adoption_pv(
        vue(&before),
        pv.is_some(),
        pv.as_ref().is_some_and(|p| p.adopted_at.is_some()),
        vue(&now_sitting),
        votes_began,
    ) {
        return refused(&state, &visitor, &ctx, id, "pv", refus.to_string()).await;
    }
    let mut event = visitor.event_on(
        Some(c.id),
        "conseil.proces_verbal.adoption",
        "seance",
        before.id,
    );
    event.details = serde_json::json!({"arrete_en_seance": now_sitting.id}).to_string();
    let now = state.config.clock.now_ms();
    if !store::adopt_proces_verbal(
        &state.db,
        c.id,
        before.id,
        now_sitting.id,
        now,
        Trace::of(event),
    )
    .await?
    {
        return refused(
            &state,
            &visitor,
            &ctx,
            id,
            "pv",
            rules::RefusProcesVerbal::DejaArrete.to_string(),
        )
        .await;
    }
    Ok(back(&ctx, id))
}

/// The chair and the secretary sign the adopted minutes: rendered as PDF/A, stored, published.
pub async fn publish(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    Path((_, id)): Path<(String, i64)>,
) -> Result<Response, AppError> {
    let Some((s, a)) = load(&state, &ctx, id).await? else {
        return Ok(not_found(State(state)).await);
    };
    let c = &ctx.collectivite;
    let Some(pv) = store::proces_verbal(&state.db, c.id, s.id)
        .await?
        .filter(|p| p.adopted_at.is_some())
    else {
        return refused(
            &state,
            &visitor,
            &ctx,
            id,
            "pv",
            "Le procès-verbal doit d'abord être arrêté au commencement de la séance suivante.",
        )
        .await;
    };
    if pv.published_at.is_some() {
        return Ok(back(&ctx, id));
    }
    let now = state.config.clock.now_ms();
    let elus = store::elus(&state.db, c.id, a.id).await?;
    let secretaire = s
        .secretaire_id
        .and_then(|x| elus.iter().find(|e| e.id == x))
        .map(|e| format!("{}, secrétaire de séance", e.name));
    let signed_by = match &secretaire {
        Some(sec) => format!("{} et {sec}", chair(&elus, &a)),
        None => chair(&elus, &a),
    };
    let url = format!(
        "{}/conseil/{}/proces-verbaux/{}",
        state.config.public_url.trim_end_matches('/'),
        c.slug,
        s.id
    );
    let blocks = blocks(&state, c, &a, &s, &elus, &pv, &signed_by, now, &url).await?;
    let title = format!(
        "Procès-verbal de la séance du {} — {}",
        crate::format::format_day(s.starts_at),
        c.name
    );
    let bytes = archive(&title, &blocks, now)?;
    let sha256 = hex::encode(sha2::Sha256::digest(&bytes));
    // The file first, then the row that points to it: a crash leaves an unreferenced file.
    let file_id = guichet_store::secret::random_token();
    state.config.files.put(&file_id, &bytes).await?;
    let mut event = visitor.event_on(
        Some(c.id),
        "conseil.proces_verbal.publication",
        "seance",
        s.id,
    );
    event.details = serde_json::json!({"signataires": signed_by, "sha256": sha256}).to_string();
    let published = store::publish_proces_verbal(
        &state.db,
        c.id,
        s.id,
        store::Signature {
            signed_by,
            file_id: file_id.clone(),
            sha256,
        },
        now,
        Trace::of(event),
    )
    .await?;
    if !published {
        state.config.files.delete(&file_id).await?;
    }
    Ok(back(&ctx, id))
}

/// The minutes as a document, with what L2121-15 asks them to state: date and time, the chair,
/// the members present or represented, the secretary, the quorum, the agenda, the délibérations
/// with the reports they rest on, the results with each member's vote in a public ballot, and
/// the substance of the debates.
#[allow(clippy::too_many_arguments)]
async fn blocks(
    state: &AppState,
    c: &Collectivite,
    a: &Assemblee,
    s: &Seance,
    elus: &[Elu],
    pv: &ProcesVerbal,
    signed_by: &str,
    now: i64,
    url: &str,
) -> anyhow::Result<Vec<Block>> {
    let name = |id: i64| {
        elus.iter()
            .find(|e| e.id == id)
            .map(|e| e.name.clone())
            .unwrap_or_default()
    };
    let names = |ids: Vec<i64>| {
        let list: Vec<String> = ids.into_iter().map(name).collect();
        if list.is_empty() {
            "aucun".to_string()
        } else {
            list.join(", ")
        }
    };
    let (presents, proxies) = store::attendance(&state.db, c.id, s.id).await?;
    let absents: Vec<i64> = elus
        .iter()
        .map(|e| e.id)
        .filter(|id| !presents.contains(id) && !proxies.iter().any(|p| p.mandant == *id))
        .collect();
    let quorum = if s.after_seance_id.is_some() {
        "seconde convocation : sans condition de quorum".to_string()
    } else if s.state == EtatSeance::Carence {
        format!(
            "non atteint ({} présents, {} requis) : le conseil est convoqué à nouveau",
            presents.len(),
            rules::quorum_requis(elus.len())
        )
    } else {
        format!(
            "atteint ({} présents, {} requis)",
            presents.len(),
            rules::quorum_requis(elus.len())
        )
    };
    let adopted = match pv.adopted_seance_id {
        Some(x) => store::seance_by_id(&state.db, c.id, x)
            .await?
            .map(|x| crate::format::format_ms(x.starts_at))
            .unwrap_or_default(),
        None => String::new(),
    };
    let mut out = vec![
        Block::Title(format!("{} — {}", c.name, a.name)),
        Block::Heading(format!(
            "Procès-verbal de la séance du {}",
            crate::format::format_ms(s.starts_at)
        )),
        Block::Facts(vec![
            ("Lieu".into(), s.place.clone()),
            ("Présidence".into(), chair(elus, a)),
            (
                "Secrétaire de séance".into(),
                s.secretaire_id.map(name).unwrap_or_else(|| "aucun".into()),
            ),
            ("Membres en exercice".into(), elus.len().to_string()),
            ("Présents".into(), names(presents)),
            (
                "Représentés".into(),
                if proxies.is_empty() {
                    "aucun".into()
                } else {
                    proxies
                        .iter()
                        .map(|p| format!("{} par {}", name(p.mandant), name(p.mandataire)))
                        .collect::<Vec<_>>()
                        .join(", ")
                },
            ),
            ("Absents".into(), names(absents)),
            ("Quorum".into(), quorum),
        ]),
    ];
    if let Some(u) = &s.urgence {
        out.push(Block::Paragraph(format!("Procédure d'urgence : {u}")));
    }
    out.push(Block::Heading("Ordre du jour et délibérations".into()));
    let deliberations = store::deliberations_of(&state.db, c.id, s.id).await?;
    for p in store::points(&state.db, c.id, s.id).await? {
        out.push(Block::Paragraph(format!(
            "{}. {}{} — rapport : {}",
            p.rank,
            p.title,
            if p.secret {
                " (scrutin secret demandé)"
            } else {
                ""
            },
            p.rapport
        )));
        let Some(d) = deliberations.iter().find(|d| d.point_id == p.id) else {
            out.push(Block::Paragraph("Point non délibéré.".into()));
            continue;
        };
        let n = &d.decompte;
        let mut vote = format!(
            "Délibération n° {} : {}. Pour : {}, contre : {}, abstentions : {}, ne prennent pas part au vote : {}.",
            d.numero,
            d.issue.label(),
            n.pour,
            n.contre,
            n.abstention,
            n.nppv
        );
        if !p.secret {
            let votes = store::votes(&state.db, c.id, p.id).await?;
            for choix in Choix::ALL {
                let who: Vec<String> = votes
                    .iter()
                    .filter(|(_, x, _)| *x == choix)
                    .map(|(e, _, proxy)| {
                        if *proxy {
                            format!("{} (procuration)", name(*e))
                        } else {
                            name(*e)
                        }
                    })
                    .collect();
                if !who.is_empty() {
                    vote.push_str(&format!(" {} : {}.", choix.label(), who.join(", ")));
                }
            }
        }
        out.push(Block::Paragraph(vote));
    }
    out.push(Block::Heading("Teneur des débats".into()));
    out.push(Block::Paragraph(pv.texte.clone()));
    out.push(Block::Paragraph(format!(
        "Arrêté au commencement de la séance du {adopted}. Signé électroniquement par {signed_by} le {}. Publié sous forme électronique le {} : {url}",
        crate::format::format_ms(now),
        crate::format::format_day(now)
    )));
    Ok(out)
}

/// Published minutes, their PDF/A as signed.
pub async fn pdf(
    State(state): State<AppState>,
    Path((slug, seance)): Path<(String, i64)>,
) -> Result<Response, AppError> {
    let Some(c) = guichet_store::collectivite::by_slug(&state.db, &slug).await? else {
        return Ok(not_found(State(state)).await);
    };
    let Some(file_id) = store::proces_verbal(&state.db, c.id, seance)
        .await?
        .and_then(|p| p.file_id)
    else {
        return Ok(not_found(State(state)).await);
    };
    let bytes = state.config.files.get(&file_id).await?;
    Ok(pdf_response(bytes, &format!("proces-verbal-{seance}.pdf")))
}
