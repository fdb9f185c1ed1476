//! Filing a dossier: the démarche's page, the steps (saved as a draft at every step), the review,
//! the deposit with its accusé de réception, and the usager's view of their dossier.

use crate::auth::Visitor;
use crate::demarche::formulaire::Renderer;
use crate::dossier::{file_names, mails, own, summarize, Own};
use crate::error::AppError;
use crate::form::read_form;
use crate::form::Errors;
use crate::format::format_ms;
use crate::layout::Layout;
use crate::page::download;
use crate::page::{html, not_found};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use guichet_domain::delai::{jour_court, last_day};
use guichet_domain::demarche::{values, Answers, Definition, FieldError};
use guichet_domain::dossier::etape::{self, Upload};
use guichet_domain::dossier::{tacit_notice, Action, Actor, State as DState};
use guichet_store::collectivite::Collectivite;
use guichet_store::dossier::{self, By, Dossier};
use guichet_store::trace::Trace;
use guichet_store::{collectivite, demarche};
use serde::Deserialize;

/// Today in Paris.
fn today() -> time::Date {
    crate::format::paris_today()
}

async fn published(
    state: &AppState,
    collectivite_slug: &str,
    slug: &str,
) -> anyhow::Result<Option<(Collectivite, demarche::Demarche, Definition)>> {
    let Some(t) = collectivite::by_slug(&state.db, collectivite_slug).await? else {
        return Ok(None);
    };
    let Some(d) = demarche::by_slug(&state.db, t.id, slug).await? else {
        return Ok(None);
    };
    let Some(v) = d.published_version else {
        return Ok(None);
    };
    let Some(def) = demarche::definition(&state.db, t.id, d.id, v).await? else {
        return Ok(None);
    };
    Ok(Some((t, d, def)))
}

#[derive(Template)]
#[template(path = "dossier/demarche.html")]
struct DemarchePage {
    layout: Layout,
    collectivite: Collectivite,
    slug: String,
    def: Definition,
    open: bool,
    /// FranceConnect is proposed, configured, and the visitor's account is not linked to it yet:
    /// the link to use it (back to this page).
    franceconnect_offer: Option<String>,
    /// The démarche may be filed without an account and the visitor is not signed in.
    without_account: bool,
    errors: Errors,
    nom: String,
    email: String,
}

impl DemarchePage {
    fn needs_franceconnect(&self) -> bool {
        self.def.identity == guichet_domain::demarche::IdentityLevel::Franceconnect
    }
}

pub async fn page(
    State(state): State<AppState>,
    visitor: Visitor,
    Path((collectivite_slug, slug)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let Some((t, d, def)) = published(&state, &collectivite_slug, &slug).await? else {
        return Ok(not_found(State(state)).await);
    };
    let page = DemarchePage::new(&state, &visitor, t, d, def, Errors::default()).await?;
    html(&page)
}

impl DemarchePage {
    /// The page of a démarche for this visitor; `errors` of the form to start without an account.
    async fn new(
        state: &AppState,
        visitor: &Visitor,
        t: Collectivite,
        d: demarche::Demarche,
        def: Definition,
        errors: Errors,
    ) -> anyhow::Result<Self> {
        use guichet_domain::demarche::IdentityLevel;
        // FranceConnect offered: only to whoever has not linked it yet (one read, only then).
        let offered = def.identity == IdentityLevel::FranceconnectProposee
            && state.config.franceconnect.is_some();
        let linked = match (&visitor.user, offered) {
            (Some(u), true) => {
                guichet_store::oidc::is_linked(&state.db, "franceconnect", u.id).await?
            }
            _ => false,
        };
        let franceconnect_offer = (offered && !linked).then(|| {
            format!(
                "/connexion/franceconnect?suite={}",
                crate::auth::urlencode(&format!("/demarches/{}/{}", t.slug, d.slug))
            )
        });
        Ok(Self {
            layout: Layout::for_visitor(state, visitor).await,
            without_account: def.identity == IdentityLevel::Aucune && visitor.user.is_none(),
            collectivite: t,
            open: d.status == demarche::Status::Publiee,
            slug: d.slug,
            def,
            franceconnect_offer,
            errors,
            nom: String::new(),
            email: String::new(),
        })
    }
}

/// Starts a dossier without an account: the person gives their name and e-mail address; the
/// draft is made with its tracking code, and a link that opens it goes to that address (following
/// it confirms the address). Only for démarches that allow it.
pub async fn start_without_account(
    State(state): State<AppState>,
    visitor: Visitor,
    Path((collectivite_slug, slug)): Path<(String, String)>,
    form: crate::form::Fields,
) -> Result<Response, AppError> {
    let Some((t, d, def)) = published(&state, &collectivite_slug, &slug).await? else {
        return Ok(not_found(State(state)).await);
    };
    if d.status != demarche::Status::Publiee
        || def.identity != guichet_domain::demarche::IdentityLevel::Aucune
    {
        return Ok(not_found(State(state)).await);
    }
    let (nom, email) = (form.get("nom"), form.get("email"));
    let mut errors = Errors::default();
    let full_name = nom.split_whitespace().collect::<Vec<_>>().join(" ");
    if full_name.chars().count() < 2 || full_name.chars().count() > 150 {
        errors.add("nom", "Indiquez vos prénom et nom.");
    }
    let address = values::normalize_email(&email);
    if address.is_none() {
        errors.add(
            "email",
            "Saisissez une adresse électronique valide, par exemple camille.martin@exemple.fr.",
        );
    }
    let (Some(address), true) = (address, errors.is_empty()) else {
        let page = DemarchePage {
            nom,
            email,
            ..DemarchePage::new(&state, &visitor, t, d, def, errors).await?
        };
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, html(&page)?).into_response());
    };
    let last_name = full_name
        .rsplit(' ')
        .next()
        .unwrap_or(&full_name)
        .to_string();
    let token = guichet_store::secret::random_token();
    let link = state.config.link(&format!("/dossiers/invitation/{token}"));
    let (tenant, title, to) = (t.id, def.title.clone(), address.clone());
    let mut event = visitor.event(Some(t.id), "dossier.sans_compte");
    event.details = serde_json::json!({"demarche": d.id}).to_string();
    let started = guichet_store::comptoir::open_online(
        &state.db,
        dossier::Draft {
            tenant_id: t.id,
            demarche_id: d.id,
            version: d.published_version.unwrap_or(1),
            usager_id: None,
            applicant_name: full_name.clone(),
            commune_insee: None,
            answers: Default::default(),
            aidant_id: None,
        },
        &last_name,
        &address,
        &guichet_store::secret::hash_token(&token),
        visitor.ip.as_deref(),
        move |x, code| {
            Trace::of(event).mail(mails::guest_link(tenant, &to, &title, x, code, &link))
        },
    )
    .await?;
    use guichet_store::comptoir::TooMany;
    let lines = match started {
        Ok(_) => vec![
            format!("Un lien pour commencer « {} » vient d'être envoyé à {address}.", def.title),
            "Ouvrez-le depuis ce navigateur ou un autre : il confirme votre adresse et ouvre votre dossier. Il reste valable tant que le dossier n'est pas rattaché à un compte.".into(),
        ],
        Err(TooMany::Address) => vec![format!(
            "Trop de dossiers ont été commencés avec l'adresse {address} dans l'heure : utilisez les liens déjà reçus, ou réessayez plus tard."
        )],
        Err(TooMany::Network) => vec![
            "Trop de dossiers sans compte ont été commencés depuis ce réseau dans l'heure : réessayez plus tard, ou créez un compte Guichet.".into(),
        ],
    };
    let status = if started.is_ok() {
        StatusCode::OK
    } else {
        StatusCode::TOO_MANY_REQUESTS
    };
    let page =
        crate::page::message(&state, &visitor, "Vérifiez votre messagerie", lines, None).await?;
    Ok((status, page).into_response())
}

/// The link of a dossier filed without an account: opens it in this browser.
pub async fn invitation(
    State(state): State<AppState>,
    mut visitor: Visitor,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    let found = match token.len() {
        32..=128 => {
            guichet_store::comptoir::by_guest_token(
                &state.db,
                &guichet_store::secret::hash_token(&token),
            )
            .await?
        }
        _ => None,
    };
    let Some((tenant_id, id)) = found else {
        let page = crate::page::message(
            &state,
            &visitor,
            "Lien inconnu",
            vec!["Ce lien n'ouvre aucun dossier : il est incomplet, ou le dossier a été rattaché à un compte (connectez-vous pour le retrouver). Vous pouvez aussi suivre un dossier déposé avec son code de suivi.".into()],
            Some(("/suivi", "Suivre un dossier avec son code")),
        )
        .await?;
        return Ok((StatusCode::NOT_FOUND, page).into_response());
    };
    visitor.set_guest(&token);
    let x = dossier::get(&state.db, tenant_id, id).await?;
    let to = match x {
        Some(x) if x.state == DState::Brouillon => format!("/dossiers/{id}/etapes/0"),
        _ => format!("/dossiers/{id}"),
    };
    Ok(visitor.finish(Redirect::to(&to).into_response()))
}

pub async fn start(
    State(state): State<AppState>,
    visitor: Visitor,
    Path((collectivite_slug, slug)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let user = visitor.signed_in()?;
    let Some((t, d, def)) = published(&state, &collectivite_slug, &slug).await? else {
        return Ok(not_found(State(state)).await);
    };
    if d.status != demarche::Status::Publiee {
        return Ok(not_found(State(state)).await);
    }
    // A démarche that requires a certified identity: FranceConnect first.
    if def.identity == guichet_domain::demarche::IdentityLevel::Franceconnect
        && !guichet_store::oidc::is_linked(&state.db, "franceconnect", user.id).await?
    {
        let back = format!("/demarches/{collectivite_slug}/{slug}");
        return if state.config.franceconnect.is_some() {
            let page = crate::page::message_to(
                &state,
                &visitor,
                "Identité FranceConnect demandée",
                vec![format!("{} demande pour cette démarche une identité vérifiée par FranceConnect. Identifiez-vous avec FranceConnect : votre compte en sera relié une fois pour toutes, puis vous reviendrez ici commencer la démarche.", t.name)],
                Some((
                    format!("/connexion/franceconnect?suite={}", crate::auth::urlencode(&back)),
                    "S'identifier avec FranceConnect",
                )),
            )
            .await?;
            Ok((StatusCode::FORBIDDEN, page).into_response())
        } else {
            Ok((
                StatusCode::FORBIDDEN,
                crate::page::message(&state, &visitor, "Identité FranceConnect demandée", vec!["Cette démarche demande une identité vérifiée par FranceConnect, qui n'est pas encore proposée sur cette plateforme : contactez directement la collectivité.".into()], None).await?,
            )
                .into_response())
        };
    }
    let version = d.published_version.unwrap_or(1);
    // Tell us once: the fields bound to the profile start with its values.
    let profile = guichet_store::profil::get(&state.db, user.id).await?;
    let answers = guichet_domain::profil::prefill(&def, &profile);
    let x = dossier::start_draft(
        &state.db,
        dossier::Draft {
            tenant_id: t.id,
            demarche_id: d.id,
            version,
            usager_id: Some(user.id),
            applicant_name: user.display_name.clone(),
            commune_insee: def.commune_of(&answers),
            answers,
            aidant_id: visitor.acting.as_ref().map(|a| a.aidant.id),
        },
    )
    .await?;
    Ok(Redirect::to(&format!("/dossiers/{}/etapes/0", x.id)).into_response())
}

fn labels(def: &Definition) -> Vec<(String, String)> {
    def.all_fields()
        .iter()
        .map(|f| (f.id.clone(), f.label.clone()))
        .collect()
}

#[derive(Template)]
#[template(path = "dossier/etape.html")]
struct StepPage {
    layout: Layout,
    title: String,
    number: String,
    id: i64,
    step: usize,
    steps: usize,
    page_title: String,
    fields_html: String,
    multipart: bool,
    errors: Errors,
    flash: Option<String>,
    autosave_js: &'static str,
    conditions_js: &'static str,
}

async fn step_page(
    state: &AppState,
    visitor: &Visitor,
    x: &Dossier,
    def: &Definition,
    step: usize,
    errors: Vec<FieldError>,
    flash: Option<String>,
) -> Result<Response, AppError> {
    let page = &def.pages[step];
    let files = guichet_store::files::of_dossier(&state.db, x.tenant_id, x.id).await?;
    let names = file_names(state, x, def, &files).await?;
    // Documents of the vault, offered next to each file field that accepts their type.
    let today = today();
    let coffre: Vec<(String, String, String)> = match &visitor.user {
        Some(u) if crate::demarche::formulaire::has_files(&page.fields) => {
            guichet_store::coffre::list(&state.db, u.id)
                .await?
                .into_iter()
                .map(|d| {
                    let l = crate::coffre::listed(d, today);
                    let label = format!("{} — {} ({})", l.kind, l.d.name, l.validity.label());
                    (l.d.id, label, l.d.mime)
                })
                .collect()
        }
        _ => Vec::new(),
    };
    let fields_html = Renderer {
        answers: &x.answers,
        errors: &errors,
        labels: labels(def),
        id_prefix: "",
        file_names: &names,
        coffre: &coffre,
        settle_earlier: true,
    }
    .render(&page.fields);
    let mut summary = Errors::default();
    // Each error names its field, and the repetition it is in ("Enfant 2 — Prénom : …").
    for e in &errors {
        summary.add(
            crate::demarche::formulaire::dom_id(&e.key),
            format!("{} : {}", def.key_label(&e.key), e.message),
        );
    }
    let status = summary.status();
    let page = StepPage {
        autosave_js: &crate::assets::AUTOSAVE_JS.href,
        conditions_js: &crate::assets::CONDITIONS_JS.href,
        layout: Layout::for_visitor(state, visitor).await,
        title: def.title.clone(),
        number: x.number.clone(),
        id: x.id,
        step,
        steps: def.pages.len(),
        page_title: page.title.clone(),
        multipart: crate::demarche::formulaire::has_files(&page.fields),
        fields_html,
        errors: summary,
        flash,
    };
    Ok((status, html(&page)?).into_response())
}

pub async fn step(
    State(state): State<AppState>,
    visitor: Visitor,
    Path((id, step)): Path<(i64, usize)>,
) -> Result<Response, AppError> {
    let Some(Own { x, def, .. }) = own(&state, &visitor, id).await? else {
        return Ok(not_found(State(state)).await);
    };
    if !x.state.editable_by_usager() {
        return Ok(Redirect::to(&format!("/dossiers/{id}")).into_response());
    }
    if step >= def.pages.len() {
        return Ok(not_found(State(state)).await);
    }
    step_page(&state, &visitor, &x, &def, step, Vec::new(), None).await
}

pub async fn save_step(
    State(state): State<AppState>,
    visitor: Visitor,
    Path((id, step)): Path<(i64, usize)>,
    req: axum::extract::Request,
) -> Result<Response, AppError> {
    let Some(Own { mut x, def, .. }) = own(&state, &visitor, id).await? else {
        return Ok(not_found(State(state)).await);
    };
    if !x.state.editable_by_usager() || step >= def.pages.len() {
        return Ok(Redirect::to(&format!("/dossiers/{id}")).into_response());
    }
    // The page's script saves each change on its own: it wants no page back.
    let autosave = req.headers().contains_key("x-autosave");
    let (pairs, uploaded) = read_form(&state, req).await?;
    let mut uploads: Vec<Upload> = uploaded
        .into_iter()
        .map(|(key, name, bytes)| Upload {
            key,
            name,
            bytes,
            id: guichet_store::secret::random_token(),
            from_coffre: None,
        })
        .collect();
    // A document chosen in the coffre is attached like an upload, with the same checks; from
    // then on the collectivité holds a copy, which the journal records.
    if let Some(user) = &visitor.user {
        for (k, doc_id) in &pairs {
            let Some(key) = k
                .strip_prefix("depuis_coffre:")
                .filter(|_| !doc_id.is_empty())
            else {
                continue;
            };
            if let Some(d) = guichet_store::coffre::get(&state.db, user.id, doc_id).await? {
                uploads.push(Upload {
                    key: key.to_string(),
                    bytes: state.config.files.get(&d.id).await?,
                    name: d.name,
                    id: guichet_store::secret::random_token(),
                    from_coffre: Some(d.id),
                });
            }
        }
    }
    let (typed, action) = Answers::from_form(pairs);
    let action = etape::Action::parse(action.as_deref());
    let applied = etape::apply(&def, step, &x.answers, typed, uploads, &action);
    let mut trace = Trace::default();
    for a in applied
        .stored
        .iter()
        .filter(|a| a.upload.from_coffre.is_some())
    {
        let doc = a.upload.from_coffre.as_deref().unwrap_or_default();
        let mut event = visitor.event_on(Some(x.tenant_id), "document.jointure", "document", doc);
        event.details =
            serde_json::json!({ "dossier": x.number, "champ": a.upload.key }).to_string();
        trace = trace.and(event);
    }
    let owner = visitor.user.as_ref().map(|u| u.id);
    let added = applied
        .stored
        .into_iter()
        .map(|a| guichet_store::files::NewFile {
            id: a.upload.id,
            field_key: a.upload.key,
            owner,
            name: a.upload.name,
            mime: a.mime.to_string(),
            bytes: a.upload.bytes,
        })
        .collect();
    x.answers = applied.answers;
    let saved = dossier::save_step(
        &state.db,
        &state.config.files,
        &x,
        &def,
        dossier::StepChange {
            answers: x.answers.clone(),
            added,
            removed: applied.removed,
        },
        trace,
    )
    .await?;
    if !saved {
        return Ok(Redirect::to(&format!("/dossiers/{id}")).into_response());
    }
    let upload_errors = applied.refused;
    if autosave && action == etape::Action::Save {
        return Ok(axum::http::StatusCode::NO_CONTENT.into_response());
    }
    let saved_at = crate::format::format_hour(guichet_store::now_ms());
    if !upload_errors.is_empty() {
        let message = format!("Brouillon enregistré à {saved_at} ; un fichier a été refusé.");
        return step_page(
            &state,
            &visitor,
            &x,
            &def,
            step,
            upload_errors,
            Some(message),
        )
        .await;
    }
    if action.stays() {
        return step_page(
            &state,
            &visitor,
            &x,
            &def,
            step,
            Vec::new(),
            Some(format!("Brouillon enregistré à {saved_at}.")),
        )
        .await;
    }
    let errors = values::validate_page(&def, step, &x.answers, today());
    if !errors.is_empty() {
        return step_page(
            &state,
            &visitor,
            &x,
            &def,
            step,
            errors,
            Some(format!(
                "Brouillon enregistré à {saved_at}, avec des réponses à corriger."
            )),
        )
        .await;
    }
    let next = if step + 1 < def.pages.len() {
        format!("/dossiers/{id}/etapes/{}", step + 1)
    } else {
        format!("/dossiers/{id}/recapitulatif")
    };
    Ok(Redirect::to(&next).into_response())
}

pub struct Section {
    pub title: String,
    pub edit: String,
    pub answers: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "dossier/recapitulatif.html")]
struct ReviewPage {
    layout: Layout,
    title: String,
    number: String,
    id: i64,
    sections: Vec<Section>,
    problems: Vec<(String, String)>,
}

pub async fn review(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let Some(Own { x, def, .. }) = own(&state, &visitor, id).await? else {
        return Ok(not_found(State(state)).await);
    };
    if !x.state.editable_by_usager() {
        return Ok(Redirect::to(&format!("/dossiers/{id}")).into_response());
    }
    let mut problems = Vec::new();
    for (i, _) in def.pages.iter().enumerate() {
        for e in values::validate_page(&def, i, &x.answers, today()) {
            problems.push((
                format!(
                    "/dossiers/{id}/etapes/{i}#{}",
                    crate::demarche::formulaire::dom_id(&e.key)
                ),
                format!("{} : {}", def.key_label(&e.key), e.message),
            ));
        }
    }
    let files = guichet_store::files::of_dossier(&state.db, x.tenant_id, x.id).await?;
    let names = file_names(&state, &x, &def, &files).await?;
    let sections = def
        .pages
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let mut answers = Vec::new();
            summarize(&p.fields, &x.answers, None, &names, &mut answers);
            Section {
                title: p.title.clone(),
                edit: format!("/dossiers/{id}/etapes/{i}"),
                answers,
            }
        })
        .collect();
    html(&ReviewPage {
        layout: Layout::for_visitor(&state, &visitor).await,
        title: def.title.clone(),
        number: x.number.clone(),
        id,
        sections,
        problems,
    })
}

/// The usager, or the aidant acting for them (then the actor, the usager on-behalf-of).
pub(crate) fn by_usager(visitor: &Visitor) -> By {
    let event = visitor.event(None, "");
    By {
        actor: Actor::Usager,
        user_id: event.actor_id,
        label: event.actor,
        ip: visitor.ip.clone(),
        on_behalf_of: event.on_behalf_of,
    }
}

pub struct Accuse {
    pub deposited: String,
    /// "2 mois (réponse au plus tard le 01/02/2027)", or that no delay is set.
    pub deadline: String,
    /// The day the request is réputée acceptée or rejetée, in a sentence.
    pub rule: String,
    /// For a tacit rejection: how and until when to appeal.
    pub appeal: Option<String>,
    pub contact: String,
}

pub(crate) fn accuse(
    x: &Dossier,
    def: &Definition,
    coordonnees: &guichet_store::collectivite::Coordonnees,
) -> Option<Accuse> {
    let deposited = x.submitted_at?;
    let notice = tacit_notice(def.tacit_rule, x.deadline_at, &coordonnees.name);
    Some(Accuse {
        deposited: format_ms(deposited),
        deadline: match (def.instruction_delay(), x.deadline_at) {
            (Some(delay), Some(due)) => format!(
                "{} (réponse au plus tard le {})",
                delay.label(),
                jour_court(last_day(due))
            ),
            _ => "aucun délai fixé".into(),
        },
        rule: notice.outcome,
        appeal: notice.appeal,
        contact: accuse_contact(def, coordonnees),
    })
}

/// Whom the accusé names to contact: the démarche's service, else the collectivité.
fn accuse_contact(
    def: &Definition,
    coordonnees: &guichet_store::collectivite::Coordonnees,
) -> String {
    def.contact
        .clone()
        .or_else(|| coordonnees.contact_email.clone())
        .unwrap_or_else(|| coordonnees.name.clone())
}

pub async fn submit(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let Some(Own {
        x,
        def,
        coordonnees,
    }) = own(&state, &visitor, id).await?
    else {
        return Ok(not_found(State(state)).await);
    };
    let normalized = match values::validate(&def, &x.answers, today()) {
        Ok(n) => n,
        Err(_) => return Ok(Redirect::to(&format!("/dossiers/{id}/recapitulatif")).into_response()),
    };
    // Filed at the counter: the accusé goes to the person's address, if one was given, with the
    // tracking code instead of a link to an account.
    let recipient = if x.usager_id.is_none() {
        guichet_store::comptoir::of(&state.db, x.id)
            .await?
            .and_then(|c| {
                let to = c.contact.split(" — ").find(|v| v.contains('@'))?.to_string();
                Some((
                    to,
                    format!(
                        "\n\nCode de suivi : {}\nSuivre le dossier avec ce code et votre nom : {}\nVous pourrez aussi le rattacher à un compte Guichet.\n",
                        guichet_domain::text::group_code(&c.tracking_code.unwrap_or_default()),
                        state.config.link("/suivi")
                    ),
                    match c.channel {
                        guichet_store::comptoir::Channel::Guichet => ", déposé au guichet",
                        guichet_store::comptoir::Channel::SansCompte => ", déposé sans compte",
                    },
                ))
            })
    } else {
        visitor.user.as_ref().map(|user| {
            let link = state.config.link(&format!("/dossiers/{id}"));
            (
                user.email.clone(),
                format!("\n\nSuivre votre dossier :\n{link}\n\nL'accusé de réception en PDF :\n{link}/accuse.pdf"),
                "",
            )
        })
    };
    // The accusé de réception commits with the deposit: no dossier is déposé without its
    // acknowledgment queued, and no acknowledgment goes out for a deposit that did not commit.
    let mailed = recipient.is_some();
    let notice = |after: &Dossier| match (recipient, accuse(after, &def, &coordonnees)) {
        (Some((to, follow, place)), Some(a)) => Trace::default().mail(mails::accuse(
            after,
            &mails::Accuse {
                to,
                collectivite: &coordonnees.name,
                title: &def.title,
                place,
                follow: &follow,
                deposited: &a.deposited,
                deadline: &a.deadline,
                appeal: a.appeal.as_deref(),
                rule: &a.rule,
                contact: &a.contact,
            },
        )),
        _ => Trace::default(),
    };
    // A first deposit goes to the team the démarche routes it to, if the collectivité has it.
    let team = match def.team_for(&normalized) {
        Some(name) if x.assigned_team.is_none() && x.state == DState::Brouillon => {
            guichet_store::equipe::equipes(&state.db, x.tenant_id)
                .await?
                .into_iter()
                .find(|t| t.name == name)
                .map(|t| t.id)
        }
        _ => None,
    };
    // "Dites-le-nous une fois", measured on a first deposit by a usager with an account: the
    // answers that repeat what their profile already held.
    let asked_again = match (x.state, x.usager_id) {
        (DState::Brouillon, Some(usager)) => {
            let profile = guichet_store::profil::get(&state.db, usager).await?;
            Some(guichet_domain::profil::asked_again(
                &def,
                &normalized,
                &profile,
            ))
        }
        _ => None,
    };
    let along = dossier::Along {
        answers: Some(normalized),
        notice,
        team,
        asked_again,
    };
    match dossier::change_with(
        &state.db,
        &x,
        &def,
        &Action::Submit,
        &by_usager(&visitor),
        along,
    )
    .await
    {
        Ok(_) => {}
        Err(dossier::ChangeError::Storage(e)) => return Err(e.into()),
        Err(_) => return Ok(Redirect::to(&format!("/dossiers/{id}")).into_response()),
    }
    // The page says "envoyé par courriel" only when an accusé was queued.
    let depose = if mailed { 1 } else { 0 };
    Ok(Redirect::to(&format!("/dossiers/{id}?depose={depose}")).into_response())
}

#[derive(Template)]
#[template(path = "dossier/dossier-usager.html")]
struct UsagerDossierPage {
    layout: Layout,
    d: Dossier,
    title: String,
    collectivite_name: String,
    accuse: Option<Accuse>,
    editable: bool,
    withdrawable: bool,
    history: Vec<crate::dossier::HistoryLine>,
    errors: Errors,
    /// What was typed in the message form, kept when it is refused.
    message: String,
    flash: Option<String>,
    /// Values typed that the profile does not hold yet: offered to be saved there.
    profile_changes: Vec<guichet_domain::profil::Change>,
    /// Filed at the counter by this agent or aidant: the tracking code to hand over.
    counter_code: Option<String>,
    /// "depot" or "decision": the satisfaction question to ask, if not answered yet.
    satisfaction: Option<&'static str>,
    max_comment: usize,
    /// The full address where a dossier is followed with its code.
    follow_url: String,
}

#[derive(Deserialize, Default)]
pub struct ViewQuery {
    depose: Option<u8>,
    /// How many values were just saved to the profile.
    profil: Option<usize>,
    /// A satisfaction answer was just given.
    avis: Option<u8>,
}

pub async fn view(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<i64>,
    Query(q): Query<ViewQuery>,
) -> Result<Response, AppError> {
    let Some(owned) = own(&state, &visitor, id).await? else {
        return Ok(not_found(State(state)).await);
    };
    let number = &owned.x.number;
    let flash = match (q.depose, q.profil) {
        (Some(1), _) => Some(format!("Votre dossier est déposé. Un accusé de réception vous a été envoyé par courriel ; il figure aussi ci-dessous. Conservez le numéro {number}.")),
        (Some(_), _) => Some(format!("Le dossier est déposé. Aucune adresse électronique n'a été donnée : imprimez l'accusé de réception ci-dessous et remettez-le, avec le code de suivi. Numéro {number}.")),
        (None, Some(0)) => Some("Votre profil n'a pas changé.".to_string()),
        (None, Some(n)) => Some(format!("{n} information(s) enregistrée(s) dans votre profil : vos prochaines démarches en seront préremplies.")),
        _ if q.avis.is_some() => Some("Merci pour votre avis : il compte dans l'observatoire des démarches.".to_string()),
        _ => None,
    };
    usager_dossier_page(
        &state,
        &visitor,
        owned,
        Errors::default(),
        String::new(),
        flash,
    )
    .await
}

/// The usager's page of their dossier: state, accusé, history and messages, forms.
pub(crate) async fn usager_dossier_page(
    state: &AppState,
    visitor: &Visitor,
    Own {
        x,
        def,
        coordonnees,
    }: Own,
    errors: Errors,
    message: String,
    flash: Option<String>,
) -> Result<Response, AppError> {
    let files = guichet_store::files::of_dossier(&state.db, x.tenant_id, x.id).await?;
    let history = crate::dossier::history_lines(state, &x, false, &files).await?;
    // After the deposit, what was typed may be worth keeping in the profile.
    let profile_changes = match (&visitor.user, x.state) {
        (Some(u), s) if s != DState::Brouillon && x.usager_id == Some(u.id) => {
            let profile = guichet_store::profil::get(&state.db, u.id).await?;
            guichet_domain::profil::changes(&def, &x.answers, &profile, today())
        }
        _ => Vec::new(),
    };
    let status = errors.status();
    let page = UsagerDossierPage {
        layout: Layout::for_visitor(state, visitor).await,
        accuse: accuse(&x, &def, &coordonnees),
        editable: x.state.editable_by_usager(),
        withdrawable: matches!(
            x.state,
            DState::Depose | DState::EnInstruction | DState::EnCorrection
        ),
        title: def.title.clone(),
        collectivite_name: coordonnees.name,
        history,
        errors,
        message,
        flash,
        profile_changes,
        counter_code: crate::dossier::comptoir::counter_note(state, visitor, &x).await?,
        satisfaction: crate::pilotage::satisfaction::to_ask(state, visitor, &x).await?,
        max_comment: crate::pilotage::satisfaction::MAX_COMMENT,
        follow_url: state.config.link("/suivi"),
        d: x,
    };
    Ok((status, html(&page)?).into_response())
}

pub async fn withdraw(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let Some(Own { x, def, .. }) = own(&state, &visitor, id).await? else {
        return Ok(not_found(State(state)).await);
    };
    match dossier::change(&state.db, &x, &def, &Action::Withdraw, &by_usager(&visitor)).await {
        Ok(_) | Err(dossier::ChangeError::Refused(_)) | Err(dossier::ChangeError::Conflict) => {
            Ok(Redirect::to(&format!("/dossiers/{id}")).into_response())
        }
        Err(dossier::ChangeError::Storage(e)) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "dossier/mes-dossiers.html")]
struct MyDossiersPage {
    layout: Layout,
    /// (id, démarche title, number, state)
    rows: Vec<(i64, String, String, &'static str)>,
}

pub async fn mine(State(state): State<AppState>, visitor: Visitor) -> Result<Response, AppError> {
    let user = visitor.signed_in()?;
    let mut rows = Vec::new();
    for x in dossier::lines_for_usager(&state.db, user.id).await? {
        // An aidant sees only the dossiers within the mandat's domains.
        if visitor.acting.is_some()
            && !crate::auth::mandat::in_scope(
                &state,
                &visitor,
                &axum::http::Method::GET,
                &format!("/dossiers/{}", x.id),
            )
            .await?
        {
            continue;
        }
        rows.push((x.id, x.title, x.number, x.state.label()));
    }
    html(&MyDossiersPage {
        layout: Layout::for_visitor(&state, &visitor).await,
        rows,
    })
}

/// The usager downloads a file of their own dossier.
pub async fn file(
    State(state): State<AppState>,
    visitor: Visitor,
    Path((id, file_id)): Path<(i64, String)>,
) -> Result<Response, AppError> {
    let Some(Own { x, .. }) = own(&state, &visitor, id).await? else {
        return Ok(not_found(State(state)).await);
    };
    let Some(f) = guichet_store::files::get(&state.db, x.tenant_id, x.id, &file_id).await? else {
        return Ok(not_found(State(state)).await);
    };
    let bytes = state.config.files.get(&f.id).await?;
    Ok(download(&f, bytes))
}
