//! Messages between the usager and the agents of a dossier, each with an optional attached file
//! (PDF, JPEG or PNG, checked by content), each notified by e-mail to the other side. Agents may
//! also write private notes, never shown to the usager (and without attachments, so that a note's
//! file can never be reached from the usager's side).

use crate::auth::{CollectiviteContext, Visitor};
use crate::dossier::depot::{by_usager, usager_dossier_page};
use crate::dossier::instruction::{by, dossier_page};
use crate::dossier::mails;
use crate::dossier::own;
use crate::error::AppError;
use crate::form::read_form;
use crate::form::{Errors, Fields};
use crate::page::not_found;
use crate::AppState;
use axum::extract::{Path, Request, State};
use axum::response::{IntoResponse, Redirect, Response};
use guichet_domain::demarche::values::check_file;
use guichet_domain::dossier::State as DState;
use guichet_domain::role::{allowed, Permission};
use guichet_store::dossier::{self, Dossier};
use guichet_store::files::NewFile;
use guichet_store::trace::Trace;

/// What an attached file may be.
const ACCEPTED: [&str; 3] = ["application/pdf", "image/jpeg", "image/png"];
const MAX_MB: u32 = 10;
const MAX_CHARS: usize = 5000;

/// Checks the attached file, if one was sent: the file to store with the message, or what is
/// wrong with it, in French, for the field.
fn attachment(
    owner: Option<i64>,
    uploads: Vec<(String, String, Vec<u8>)>,
) -> Result<Option<NewFile>, String> {
    let Some((_, name, bytes)) = uploads.into_iter().find(|(k, _, _)| k == "piece") else {
        return Ok(None);
    };
    let accept: Vec<String> = ACCEPTED.iter().map(|s| s.to_string()).collect();
    let mime = check_file(&bytes, &accept, MAX_MB)?;
    Ok(Some(NewFile {
        id: guichet_store::secret::random_token(),
        field_key: "messages".into(),
        owner,
        name,
        mime: mime.to_string(),
        bytes,
    }))
}

/// The usager writes to the service.
pub async fn from_usager(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<i64>,
    req: Request,
) -> Result<Response, AppError> {
    let Some(owned) = own(&state, &visitor, id).await? else {
        return Ok(not_found(State(state)).await);
    };
    let x = &owned.x;
    if x.state == DState::Brouillon {
        return Ok(Redirect::to(&format!("/dossiers/{id}")).into_response());
    }
    let (pairs, uploads) = read_form(&state, req).await?;
    let pairs = Fields(pairs);
    let text = pairs.get("message");
    let mut errors = Errors::default();
    if text.is_empty() {
        errors.add("message", "Écrivez votre message.");
    } else if text.chars().count() > MAX_CHARS {
        errors.add("message", "Votre message dépasse 5 000 caractères.");
    }
    let file = if errors.is_empty() {
        match attachment(visitor.user.as_ref().map(|u| u.id), uploads) {
            Ok(f) => f,
            Err(message) => {
                errors.add("piece", message);
                None
            }
        }
    } else {
        None
    };
    if !errors.is_empty() {
        return usager_dossier_page(&state, &visitor, owned, errors, text, None).await;
    }
    let (slug, agents) = agents_to_tell(&state, x).await?;
    let trace = Trace::default().mails(mails::usager_wrote(
        &state.config,
        x,
        &slug,
        &agents,
        text.chars().count(),
    ));
    dossier::post(
        &state.db,
        &state.config.files,
        x,
        &by_usager(&visitor),
        "message",
        &text,
        file,
        trace,
    )
    .await?;
    usager_dossier_page(
        &state,
        &visitor,
        owned,
        Errors::default(),
        String::new(),
        Some("Message envoyé au service.".into()),
    )
    .await
}

/// The agents who follow the dossier, to tell them the usager wrote: the assigned agent, else the
/// members of the assigned team, else every agent who processes dossiers in the collectivité;
/// with the collectivité's slug, for the link.
async fn agents_to_tell(state: &AppState, x: &Dossier) -> anyhow::Result<(String, Vec<String>)> {
    let members = guichet_store::equipe::members(&state.db, x.tenant_id).await?;
    let processing: Vec<_> = members
        .iter()
        .filter(|m| allowed(&m.roles, Permission::ProcessDossiers))
        .collect();
    let equipe_members = match x.assigned_team {
        Some(equipe) => guichet_store::equipe::equipes(&state.db, x.tenant_id)
            .await?
            .into_iter()
            .find(|t| t.id == equipe)
            .map(|t| t.member_ids)
            .unwrap_or_default(),
        None => Vec::new(),
    };
    let recipients: Vec<String> = if let Some(agent) = x.assigned_to {
        processing
            .iter()
            .filter(|m| m.user_id == agent)
            .map(|m| m.email.clone())
            .collect()
    } else if !equipe_members.is_empty() {
        processing
            .iter()
            .filter(|m| equipe_members.contains(&m.user_id))
            .map(|m| m.email.clone())
            .collect()
    } else {
        processing.iter().map(|m| m.email.clone()).collect()
    };
    let slug = guichet_store::collectivite::by_id(&state.db, x.tenant_id)
        .await?
        .map(|t| t.slug)
        .unwrap_or_default();
    Ok((slug, recipients))
}

/// An agent writes to the usager, or adds a private note.
pub async fn from_agent(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    Path((_, id)): Path<(String, i64)>,
    req: Request,
) -> Result<Response, AppError> {
    let Some(x) = dossier::get_for_agents(&state.db, ctx.collectivite.id, id).await? else {
        return Ok(not_found(State(state)).await);
    };
    let (pairs, uploads) = read_form(&state, req).await?;
    let pairs = Fields(pairs);
    let text = pairs.get("texte");
    let kind = if pairs.get("genre") == "note" {
        "note"
    } else {
        "message"
    };
    let mut errors = Errors::default();
    if text.is_empty() {
        errors.add("texte", "Écrivez le message ou la note.");
    } else if text.chars().count() > MAX_CHARS {
        errors.add("texte", "Le texte dépasse 5 000 caractères.");
    }
    let has_file = uploads.iter().any(|(k, _, _)| k == "piece");
    if kind == "note" && has_file {
        errors.add(
            "piece",
            "Une note privée ne peut pas avoir de pièce jointe : envoyez-la en message.",
        );
    }
    let file = if errors.is_empty() {
        match attachment(visitor.user.as_ref().map(|u| u.id), uploads) {
            Ok(f) => f,
            Err(message) => {
                errors.add("piece", message);
                None
            }
        }
    } else {
        None
    };
    if !errors.is_empty() {
        return dossier_page(&state, &visitor, &ctx, id, errors, None).await;
    }
    let trace = match crate::dossier::usager_email(&state, &x).await? {
        Some(to) if kind == "message" => {
            Trace::default().mail(mails::message(&state.config, &x, &to, &text))
        }
        _ => Trace::default(),
    };
    dossier::post(
        &state.db,
        &state.config.files,
        &x,
        &by(&visitor, &ctx),
        kind,
        &text,
        file,
        trace,
    )
    .await?;
    let flash = if kind == "note" {
        "Note privée ajoutée."
    } else {
        "Message envoyé à l'usager."
    };
    dossier_page(
        &state,
        &visitor,
        &ctx,
        id,
        Errors::default(),
        Some(flash.into()),
    )
    .await
}
