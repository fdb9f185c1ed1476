//! Letters as PDF: the accusé de réception of a deposit and the decision letter, for the usager
//! (their own dossier) and for the agents of the collectivité (journaled like any access).

use crate::auth::{CollectiviteContext, Visitor};
use crate::dossier::depot::accuse;
use crate::dossier::own;
use crate::error::AppError;
use crate::page::not_found;
use crate::pdf::{letter, Block};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use guichet_domain::demarche::ApresCorrection;
use guichet_domain::demarche::Definition;
use guichet_domain::dossier::State as DState;
use guichet_store::collectivite::Coordonnees;
use guichet_store::dossier::Dossier;
use guichet_store::{demarche, dossier, journal};

/// The accusé de réception: what was received, when, and what happens next. `follow` is the full
/// address of the page where a dossier is followed with its code (printed for counter dossiers).
pub fn accuse_pdf(x: &Dossier, def: &Definition, t: &Coordonnees, follow: &str) -> Option<Vec<u8>> {
    let a = accuse(x, def, t)?;
    let mut blocks = vec![
            Block::Title(format!("Accusé de réception — {}", t.name)),
            Block::Paragraph(format!(
                "{} accuse réception de votre demande « {} ».",
                t.name, def.title
            )),
            Block::Facts(vec![
                ("Numéro du dossier".into(), x.number.clone()),
                (
                    "Demandeur".into(),
                    x.applicant_name.clone().unwrap_or_default(),
                ),
                ("Déposé le".into(), a.deposited),
                ("Délai d'instruction".into(), a.deadline),
                ("Service à contacter".into(), a.contact),
            ]),
            Block::Paragraph(a.rule),
            Block::Paragraph(format!(
                "Si votre dossier est incomplet, le service vous demandera les éléments manquants ; {}. Vous pouvez suivre votre dossier et échanger avec le service depuis votre espace Guichet.",
                match def.after_correction {
                    ApresCorrection::Recommence => "le délai court alors de nouveau à partir de leur réception",
                    ApresCorrection::Reprend => "le délai est alors suspendu jusqu'à leur réception",
                }
            )),
    ];
    if let Some(appeal) = a.appeal {
        blocks.push(Block::Paragraph(format!(
            "Voies et délais de recours : {appeal}"
        )));
    }
    // Filed at the counter: how to follow it without an account.
    if let Some(code) = &x.tracking_code {
        blocks.push(Block::Facts(vec![(
            "Code de suivi".into(),
            guichet_domain::text::group_code(code),
        )]));
        blocks.push(Block::Paragraph(format!(
            "Déposé au guichet : suivez ce dossier à l'adresse {follow} avec ce code et votre nom de famille, ou rattachez-le à votre compte Guichet."
        )));
    }
    Some(letter(
        &format!("Accusé de réception — dossier n° {}", x.number),
        &blocks,
    ))
}

/// The decision letter, from the démarche's template (or a standard text), once decided.
pub fn decision_pdf(
    x: &Dossier,
    def: &Definition,
    t: &Coordonnees,
    _follow: &str,
) -> Option<Vec<u8>> {
    let decided = x.decided_at?;
    if !x.state.is_final() {
        return None;
    }
    let decision = match (x.state, x.tacit) {
        (DState::Accepte, true) => "accord implicite (le délai d'instruction est écoulé)",
        (DState::Refuse, true) => "rejet implicite (le délai d'instruction est écoulé)",
        (DState::Accepte, false) => "votre demande est acceptée",
        (DState::Refuse, false) => "votre demande est refusée",
        _ => "votre demande est classée sans suite",
    };
    let motif = x.decision_reason.clone().unwrap_or_default();
    let date = crate::format::format_day(decided);
    let template = def.decision_letter.clone().unwrap_or_else(|| {
        "Madame, Monsieur,\n\nVous avez déposé le dossier n° {numero} pour la démarche « {demarche} ». Après instruction, {collectivite} vous informe de la décision suivante : {decision}.\n\n{motif}\n\nCette décision peut faire l'objet d'un recours gracieux auprès de {collectivite} ou d'un recours contentieux devant le tribunal administratif dans un délai de deux mois à compter de sa notification.".into()
    });
    // An acceptance carries its conditions; a refusal or a closing, its reason.
    let motif_text = match (motif.is_empty(), x.state) {
        (true, _) => String::new(),
        (false, DState::Accepte) => format!("Conditions : {motif}"),
        (false, _) => format!("Motif : {motif}"),
    };
    // The agents' annotations privées the letter names: {annotation.montant_accorde}.
    let mut template = template;
    for f in &def.annotations {
        template = template.replace(
            &format!("{{annotation.{}}}", f.id),
            &x.annotations.all(&f.id).join(", "),
        );
    }
    let body = template
        .replace("{numero}", &x.number)
        .replace("{demandeur}", x.applicant_name.as_deref().unwrap_or(""))
        .replace("{demarche}", &def.title)
        .replace("{decision}", decision)
        .replace("{motif}", &motif_text)
        .replace("{date}", &date)
        .replace("{collectivite}", &t.name);
    let mut blocks = vec![
        Block::Title(format!("Décision — {}", t.name)),
        Block::Facts(vec![
            ("Dossier".into(), x.number.clone()),
            (
                "Destinataire".into(),
                x.applicant_name.clone().unwrap_or_default(),
            ),
            ("Date de la décision".into(), date),
        ]),
    ];
    blocks.extend(
        body.split("\n\n")
            .filter(|p| !p.trim().is_empty())
            .map(|p| Block::Paragraph(p.to_string())),
    );
    Some(letter(
        &format!("Décision — dossier n° {}", x.number),
        &blocks,
    ))
}

fn pdf_response(bytes: Vec<u8>, name: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"{name}\""),
            ),
        ],
        bytes,
    )
        .into_response()
}

type Render = fn(&Dossier, &Definition, &Coordonnees, &str) -> Option<Vec<u8>>;

async fn for_usager(
    state: AppState,
    visitor: Visitor,
    id: i64,
    render: Render,
    name: &str,
) -> Result<Response, AppError> {
    let Some(crate::dossier::Own {
        x,
        def,
        coordonnees,
    }) = own(&state, &visitor, id).await?
    else {
        return Ok(not_found(State(state)).await);
    };
    match render(&x, &def, &coordonnees, &state.config.link("/suivi")) {
        Some(bytes) => Ok(pdf_response(bytes, format!("{name}-{}.pdf", x.number))),
        None => Ok(not_found(State(state)).await),
    }
}

async fn for_agent(
    state: AppState,
    visitor: Visitor,
    ctx: CollectiviteContext,
    id: i64,
    render: Render,
    name: &str,
) -> Result<Response, AppError> {
    let Some(x) = dossier::get_for_agents(&state.db, ctx.collectivite.id, id).await? else {
        return Ok(not_found(State(state)).await);
    };
    let Some(def) = demarche::definition(&state.db, x.tenant_id, x.demarche_id, x.version).await?
    else {
        return Ok(not_found(State(state)).await);
    };
    let follow = state.config.link("/suivi");
    let Some(bytes) = render(&x, &def, &Coordonnees::from(&ctx.collectivite), &follow) else {
        return Ok(not_found(State(state)).await);
    };
    let event = visitor.event_on(
        Some(ctx.collectivite.id),
        &format!("dossier.{name}"),
        "dossier",
        &x.number,
    );
    journal::append(&state.db, &event).await?;
    Ok(pdf_response(bytes, format!("{name}-{}.pdf", x.number)))
}

pub async fn usager_accuse(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    for_usager(state, visitor, id, accuse_pdf, "accuse").await
}

pub async fn usager_decision(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    for_usager(state, visitor, id, decision_pdf, "decision").await
}

pub async fn agent_accuse(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    Path((_, id)): Path<(String, i64)>,
) -> Result<Response, AppError> {
    for_agent(state, visitor, ctx, id, accuse_pdf, "accuse").await
}

pub async fn agent_decision(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    Path((_, id)): Path<(String, i64)>,
) -> Result<Response, AppError> {
    for_agent(state, visitor, ctx, id, decision_pdf, "decision").await
}
