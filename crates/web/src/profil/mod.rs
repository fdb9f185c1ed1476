//! The usager's profile ("Dites-le nous une fois"): identity, contact, address and household,
//! each value with its source; values certified by FranceConnect are read-only. Also the offer,
//! after a deposit, to save what was typed back to the profile, and "who saw my data": every
//! access by an agent or an aidant to the usager's dossiers, documents and profile.

use crate::auth::Visitor;
use crate::error::AppError;
use crate::form::{Errors, Fields};
use crate::layout::Layout;
use crate::page::html;
use crate::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use guichet_domain::profil::{self, Profil, Source, CHILDREN, CHILD_KEYS, KEYS};
use guichet_store::profil as store;
use guichet_store::trace::Trace;

/// Today in Paris.
pub(crate) fn today() -> time::Date {
    crate::format::paris_today()
}

/// One input of the profile form.
pub struct Row {
    pub key: String,
    pub label: &'static str,
    pub input: &'static str,
    pub autocomplete: &'static str,
    pub hint: &'static str,
    pub value: String,
    pub certified: bool,
}

#[derive(Template)]
#[template(path = "profil/profil.html")]
struct ProfilPage {
    layout: Layout,
    groups: Vec<(&'static str, Vec<Row>)>,
    children: Vec<Vec<Row>>,
    errors: Errors,
    flash: Option<String>,
}

/// Rows by group, and each child's rows.
type Rows = (Vec<(&'static str, Vec<Row>)>, Vec<Vec<Row>>);

/// The form's rows: the typed values if the form came back, the profile's otherwise.
fn rows(profile: &Profil, typed: Option<&Fields>, children: usize) -> Rows {
    let row = |key: String, k: &'static profil::Key| {
        let stored = profile.get(&key);
        let certified = stored.is_some_and(|v| v.source == Source::FranceConnect);
        let value = match (typed, certified) {
            (Some(f), false) => f.get(&key),
            _ => stored.map(|v| v.value.clone()).unwrap_or_default(),
        };
        Row {
            label: k.label,
            input: k.input(),
            autocomplete: k.autocomplete(),
            hint: k.hint(),
            value,
            certified,
            key,
        }
    };
    let mut groups: Vec<(&'static str, Vec<Row>)> = Vec::new();
    for k in KEYS {
        let r = row(k.code.to_string(), k);
        match groups.iter_mut().find(|(g, _)| *g == k.group) {
            Some((_, list)) => list.push(r),
            None => groups.push((k.group, vec![r])),
        }
    }
    let children = (0..children)
        .map(|i| {
            CHILD_KEYS
                .iter()
                .map(|k| row(format!("{CHILDREN}[{i}].{}", k.code), k))
                .collect()
        })
        .collect();
    (groups, children)
}

async fn page(
    state: &AppState,
    visitor: &Visitor,
    typed: Option<&Fields>,
    children: usize,
    errors: Errors,
    flash: Option<String>,
) -> Result<Response, AppError> {
    let user = visitor.signed_in()?;
    let profile = store::get(&state.db, user.id).await?;
    let (groups, children) = rows(&profile, typed, children);
    let page = ProfilPage {
        layout: Layout::for_visitor(state, visitor).await,
        groups,
        children,
        errors,
        flash,
    };
    crate::page::form_page(&page.errors, &page)
}

#[derive(serde::Deserialize, Default)]
pub struct ShowQuery {
    #[serde(default)]
    enregistre: Option<String>,
}

pub async fn show(
    State(state): State<AppState>,
    visitor: Visitor,
    axum::extract::Query(q): axum::extract::Query<ShowQuery>,
) -> Result<Response, AppError> {
    let user = visitor.signed_in()?;
    if visitor.acting.is_some() {
        // An aidant looking at the profile: the usager will see it in "who saw my data".
        let event = visitor.event_on(None, "profil.consultation", "profil", user.id);
        guichet_store::journal::append(&state.db, &event).await?;
    }
    let profile = store::get(&state.db, user.id).await?;
    let flash = q.enregistre.map(|_| {
        "Profil enregistré. Les démarches reliées à votre profil seront préremplies.".to_string()
    });
    page(
        &state,
        &visitor,
        None,
        profil::children(&profile),
        Errors::default(),
        flash,
    )
    .await
}

/// Saves the whole form (or adds / removes a child's rows without saving yet).
pub async fn save(
    State(state): State<AppState>,
    visitor: Visitor,
    f: Fields,
) -> Result<Response, AppError> {
    let user = visitor.signed_in()?;
    let stored = store::get(&state.db, user.id).await?;
    let before = profil::children(&stored);
    let mut children = f
        .get("enfants")
        .parse::<usize>()
        .unwrap_or(before)
        .min(profil::MAX_CHILDREN);
    let action = f.get("action");
    if action == "ajouter_enfant" {
        children = (children + 1).min(profil::MAX_CHILDREN);
        return page(
            &state,
            &visitor,
            Some(&f),
            children,
            Errors::default(),
            None,
        )
        .await;
    }
    if let Some(i) = action
        .strip_prefix("retirer_enfant:")
        .and_then(|i| i.parse::<usize>().ok())
        .filter(|i| *i < children)
    {
        // Shift the following children's typed values up by one.
        let mut shifted = Vec::new();
        for (k, v) in &f.0 {
            match profil::parse_key(k) {
                Some((_, Some(j))) if j == i => {}
                Some((key, Some(j))) if j > i => {
                    shifted.push((format!("{CHILDREN}[{}].{}", j - 1, key.code), v.clone()))
                }
                _ => shifted.push((k.clone(), v.clone())),
            }
        }
        let f = Fields(shifted);
        return page(
            &state,
            &visitor,
            Some(&f),
            children - 1,
            Errors::default(),
            None,
        )
        .await;
    }
    let today = today();
    let mut errors = Errors::default();
    let mut values = Vec::new();
    let keys = KEYS.iter().map(|k| k.code.to_string()).chain(
        (0..profil::MAX_CHILDREN.max(before)).flat_map(|i| {
            CHILD_KEYS
                .iter()
                .map(move |k| format!("{CHILDREN}[{i}].{}", k.code))
        }),
    );
    // Collected: the loop below awaits.
    let keys: Vec<String> = keys.collect();
    for key in keys {
        if stored
            .get(&key)
            .is_some_and(|v| v.source == Source::FranceConnect)
        {
            continue;
        }
        let typed = match profil::parse_key(&key) {
            Some((_, Some(i))) if i >= children => String::new(),
            _ => f.get(&key),
        };
        if typed.is_empty() {
            if stored.contains_key(&key) {
                values.push((key, String::new()));
            }
            continue;
        }
        let checked = profil::check(&key, &typed, today);
        // A commune of the referential, not just five characters.
        let unknown_commune = match (&checked, key.as_str()) {
            (Ok(v), "adresse.commune") => guichet_store::territoire::commune_by_insee(&state.db, v)
                .await?
                .is_none(),
            _ => false,
        };
        match checked {
            Ok(_) if unknown_commune => errors.add(
                key,
                "Commune inconnue : indiquez son code INSEE (par exemple 21231 pour Dijon).",
            ),
            Ok(v) => values.push((key, v)),
            Err(message) => errors.add(key, message),
        }
    }
    if !errors.is_empty() {
        return page(&state, &visitor, Some(&f), children, errors, None).await;
    }
    let changed: Vec<String> = values
        .iter()
        .filter(|(k, v)| stored.get(k).map(|s| &s.value) != Some(v))
        .map(|(k, _)| k.clone())
        .collect();
    let mut event = visitor.event_on(None, "profil.modification", "profil", user.id);
    event.details = serde_json::json!({ "informations": changed }).to_string();
    store::save(
        &state.db,
        user.id,
        &values,
        Source::Declared,
        Trace::of(event),
    )
    .await?;
    Ok(visitor.finish(Redirect::to("/compte/profil?enregistre=1").into_response()))
}

/// Saves to the profile the values of a deposited dossier the usager ticked.
pub async fn save_back(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<i64>,
    f: Fields,
) -> Result<Response, AppError> {
    let Some(crate::dossier::Own { x, def, .. }) =
        crate::dossier::own(&state, &visitor, id).await?
    else {
        return Ok(crate::page::not_found(State(state)).await);
    };
    let user = visitor.signed_in()?;
    let chosen = f.all("cles");
    let profile = store::get(&state.db, user.id).await?;
    let values: Vec<(String, String)> = profil::changes(&def, &x.answers, &profile, today())
        .into_iter()
        .filter(|c| chosen.contains(&c.key))
        .map(|c| (c.key, c.new))
        .collect();
    if !values.is_empty() {
        let mut event = visitor.event_on(None, "profil.modification", "profil", user.id);
        event.details = serde_json::json!({
            "informations": values.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            "dossier": x.number,
        })
        .to_string();
        store::save(
            &state.db,
            user.id,
            &values,
            Source::Declared,
            Trace::of(event),
        )
        .await?;
    }
    Ok(visitor
        .finish(Redirect::to(&format!("/dossiers/{id}?profil={}", values.len())).into_response()))
}

#[derive(Template)]
#[template(path = "profil/acces.html")]
struct AccessPage {
    layout: Layout,
    /// One line per access episode, most recent first: (when, who, collectivité, what, on what).
    rows: Vec<[String; 5]>,
}

/// "Who saw my data": every access by someone else, from the journal, in plain words and one
/// line per episode.
pub async fn accesses(
    State(state): State<AppState>,
    visitor: Visitor,
) -> Result<Response, AppError> {
    use guichet_domain::acces::{describe, episodes, Access};
    let user = visitor.signed_in()?;
    let collectivites: std::collections::HashMap<i64, String> =
        guichet_store::collectivite::list(&state.db)
            .await?
            .into_iter()
            .map(|t| (t.id, t.name))
            .collect();
    let list: Vec<Access> = store::accesses(&state.db, user.id, 1000)
        .await?
        .into_iter()
        .map(|e| {
            let collectivite = e
                .event
                .tenant_id
                .and_then(|t| collectivites.get(&t).cloned())
                .unwrap_or_else(|| "—".into());
            // An aidant is named (the usager chose them); an agent speaks for their service.
            let who = match (&e.event.on_behalf_of, e.event.tenant_id) {
                (Some(_), _) => format!("{} (aidant, pour vous)", e.event.actor),
                (None, Some(_)) => format!("Un agent de {collectivite}"),
                (None, None) => "Guichet".to_string(),
            };
            let object = match e.event.object_type.as_deref() {
                Some("dossier") => {
                    format!("dossier {}", e.event.object_id.clone().unwrap_or_default())
                }
                Some("document") => "un document de votre porte-documents".to_string(),
                Some("profil") => "votre profil".to_string(),
                _ => String::new(),
            };
            Access {
                at: e.at,
                who,
                collectivite,
                what: describe(&e.event.action),
                object,
            }
        })
        .collect();
    let rows = episodes(&list)
        .into_iter()
        .map(|e| {
            let when = if e.count == 1 {
                crate::format::format_ms(e.last)
            } else {
                format!(
                    "{}, de {} à {} ({} fois)",
                    crate::format::format_day(e.first),
                    crate::format::format_hour(e.first),
                    crate::format::format_hour(e.last),
                    e.count
                )
            };
            [when, e.who, e.collectivite, e.what, e.object]
        })
        .collect();
    html(&AccessPage {
        layout: Layout::for_visitor(&state, &visitor).await,
        rows,
    })
}
