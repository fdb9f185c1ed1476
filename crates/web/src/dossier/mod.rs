//! Dossiers, from the usager's deposit to the agents' decision: filing (`depot`), processing
//! (`instruction`), messages (`echanges`), letters (`courrier`), exports, the counter (`comptoir`)
//! and the API. What several of them show is here: the usager's own dossier, answers, history.

pub mod api;
pub mod avis;
pub mod comptoir;
pub mod courrier;
pub mod depot;
pub mod echanges;
pub mod export;
pub mod instruction;
pub mod mails;

use crate::auth::Visitor;
use crate::demarche::formulaire::esc;
use crate::AppState;
use guichet_domain::demarche::{values, Answers, Definition, Field, FieldKind};
use guichet_store::dossier::{self, Dossier};
use guichet_store::{demarche, files};

/// A dossier the visitor may fill and follow as its usager, with its definition and the
/// collectivité handling it.
pub(crate) struct Own {
    pub x: Dossier,
    pub def: Definition,
    pub coordonnees: guichet_store::collectivite::Coordonnees,
}

/// The usager's own dossier (or the one being filed at the counter), or None: someone else's
/// is "not found".
pub(crate) async fn own(
    state: &AppState,
    visitor: &Visitor,
    id: i64,
) -> anyhow::Result<Option<Own>> {
    // The usager's own, or one this agent or aidant is filing at the counter; without an
    // account, the one whose link this browser followed.
    let owned = match (&visitor.user, &visitor.guest) {
        (Some(user), _) => dossier::own(&state.db, id, user.id, visitor.acting.is_none()).await?,
        (None, Some(token_hash)) => dossier::own_as_guest(&state.db, id, token_hash).await?,
        (None, None) => None,
    };
    let Some((x, coordonnees)) = owned else {
        return Ok(None);
    };
    let Some(def) = demarche::definition(&state.db, x.tenant_id, x.demarche_id, x.version).await?
    else {
        return Ok(None);
    };
    Ok(Some(Own {
        x,
        def,
        coordonnees,
    }))
}

/// Escapes for the summary of answers (used by the agents' view too).
pub fn answers_html(
    def: &Definition,
    answers: &Answers,
    names: &std::collections::HashMap<String, String>,
) -> String {
    let mut out = String::new();
    for p in &def.pages {
        let mut rows = Vec::new();
        summarize(&p.fields, answers, None, names, &mut rows);
        out.push_str(&format!("<h3>{}</h3><dl class=\"facts\">", esc(&p.title)));
        for (k, v) in rows {
            out.push_str(&format!("<dt>{}</dt><dd>{}</dd>", esc(&k), esc(&v)));
        }
        out.push_str("</dl>");
    }
    out
}

/// Names of a dossier's files, by id.
/// What the summary of answers shows for ids: file names by file id, and commune names by
/// `commune:<INSEE code>` (people read "Dijon (21231)", not a code).
/// `files`: the dossier's files (`files::of_dossier`), read once by the page.
pub(crate) async fn file_names(
    state: &AppState,
    x: &Dossier,
    def: &Definition,
    files: &[files::StoredFile],
) -> anyhow::Result<std::collections::HashMap<String, String>> {
    let mut names: std::collections::HashMap<String, String> = files
        .iter()
        .map(|f| (f.id.clone(), f.name.clone()))
        .collect();
    // The answers of commune fields only (a block's too: `ecoles[0].commune`).
    let communes: std::collections::HashSet<&str> = def
        .all_fields()
        .into_iter()
        .filter(|f| matches!(f.kind, FieldKind::Commune))
        .map(|f| f.id.as_str())
        .collect();
    let codes: Vec<String> = x
        .answers
        .0
        .iter()
        .filter(|(key, _)| communes.contains(key.rsplit('.').next().unwrap_or(key)))
        .flat_map(|(_, values)| values.iter().cloned())
        .collect();
    for (code, name) in guichet_store::territoire::commune_names(&state.db, &codes).await? {
        names.insert(format!("commune:{code}"), format!("{name} ({code})"));
    }
    Ok(names)
}

/// One line of a dossier's history as shown on its pages.
pub struct HistoryLine {
    pub at: String,
    pub who: String,
    pub what: String,
    /// The file attached to a message: (id, name).
    pub file: Option<(String, String)>,
}

/// The history of a dossier: for agents with their private notes, for the usager without;
/// `files`: the dossier's files, which name the attachments of messages.
pub async fn history_lines(
    state: &AppState,
    x: &Dossier,
    for_agents: bool,
    files: &[files::StoredFile],
) -> anyhow::Result<Vec<HistoryLine>> {
    let names: std::collections::HashMap<&str, &str> = files
        .iter()
        .map(|f| (f.id.as_str(), f.name.as_str()))
        .collect();
    // The usager hears from the service, never from an agent's personal address.
    let (service, agents): (String, std::collections::HashSet<i64>) = if for_agents {
        (String::new(), Default::default())
    } else {
        let service = guichet_store::collectivite::by_id(&state.db, x.tenant_id)
            .await?
            .map(|t| t.name)
            .unwrap_or_else(|| "Le service".into());
        let agents = guichet_store::equipe::members(&state.db, x.tenant_id)
            .await?
            .into_iter()
            .map(|m| m.user_id)
            .collect();
        (service, agents)
    };
    Ok(dossier::history(&state.db, x.tenant_id, x.id, for_agents)
        .await?
        .into_iter()
        .map(|h| {
            let body = h.body.clone().unwrap_or_default();
            let what = match (h.kind.as_str(), h.to_state, for_agents) {
                ("etat", Some(s), true) if !body.is_empty() => format!("→ {} : {body}", s.label()),
                ("etat", Some(s), true) => format!("→ {}", s.label()),
                ("etat", Some(s), false) if !body.is_empty() => {
                    format!("Dossier {} : {body}", s.label())
                }
                ("etat", Some(s), false) => format!("Dossier {}", s.label()),
                ("note", _, _) => format!("Note privée : {body}"),
                (_, _, true) => format!("Message : {body}"),
                _ => body,
            };
            let who = match h.actor_id {
                _ if for_agents => h.actor,
                Some(id) if Some(id) == x.usager_id => "Vous".to_string(),
                Some(id) if agents.contains(&id) => service.clone(),
                None => "Guichet".to_string(),
                // An aidant or a counter agent of another structure: named as they acted.
                Some(_) => h.actor,
            };
            HistoryLine {
                at: crate::format::format_ms(h.at),
                who,
                what,
                file: h
                    .file_id
                    .and_then(|f| names.get(f.as_str()).map(|n| (f.clone(), n.to_string()))),
            }
        })
        .collect())
}

/// A value as the usager reads it back.
pub(crate) fn display(
    field: &Field,
    values: &[&str],
    names: &std::collections::HashMap<String, String>,
) -> String {
    match &field.kind {
        FieldKind::File { .. } => values
            .iter()
            .map(|v| {
                names
                    .get(v.trim_start_matches("fichier:"))
                    .cloned()
                    .unwrap_or_else(|| "document".into())
            })
            .collect::<Vec<_>>()
            .join(", "),
        FieldKind::Checkbox => "oui".into(),
        FieldKind::Commune => values
            .iter()
            .map(|v| {
                names
                    .get(&format!("commune:{v}"))
                    .cloned()
                    .unwrap_or_else(|| v.to_string())
            })
            .collect::<Vec<_>>()
            .join(", "),
        FieldKind::Date { .. } => values
            .iter()
            .filter_map(|v| values::parse_date(v))
            .map(|d| format!("{:02}/{:02}/{}", d.day(), u8::from(d.month()), d.year()))
            .collect::<Vec<_>>()
            .join(", "),
        _ => values.join(", "),
    }
}

pub(crate) fn summarize(
    fields: &[Field],
    answers: &Answers,
    prefix: Option<&str>,
    names: &std::collections::HashMap<String, String>,
    out: &mut Vec<(String, String)>,
) {
    for f in fields {
        let key = prefix
            .map(|p| format!("{p}.{}", f.id))
            .unwrap_or_else(|| f.id.clone());
        if !f.kind.has_value() || !values::is_shown(f, answers, prefix) {
            continue;
        }
        if let FieldKind::Block {
            fields: inner,
            item_label,
            ..
        } = &f.kind
        {
            for i in 0..answers.block_len(&key) {
                out.push((format!("{item_label} {}", i + 1), String::new()));
                summarize(inner, answers, Some(&format!("{key}[{i}]")), names, out);
            }
            continue;
        }
        let v = answers.all(&key);
        out.push((
            f.label.clone(),
            if v.is_empty() {
                "(sans réponse)".into()
            } else {
                display(f, &v, names)
            },
        ));
    }
}

/// The address of the dossier's usager, to tell them of it (none for a counter dossier nobody
/// claimed).
pub(crate) async fn usager_email(state: &AppState, x: &Dossier) -> anyhow::Result<Option<String>> {
    Ok(match x.usager_id {
        Some(id) => guichet_store::compte::by_id(&state.db, id)
            .await?
            .map(|u| u.email),
        None => None,
    })
}
