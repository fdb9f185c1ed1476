//! A session's life, on one page that works on a tablet (`/admin/{collectivité}/conseil/seances/
//! {id}`): the agenda and its amendments, the convocation at the legal delay, the opening with
//! who is present and the proxies (quorum, or a second convocation), arrivals and departures,
//! each item's vote (the result computed from the votes), the closing.

use super::mails;
use crate::auth::{CollectiviteContext, Visitor};
use crate::error::AppError;
use crate::form::{Errors, Fields};
use crate::layout::Layout;
use crate::page::html;
use crate::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use guichet_domain::conseil::{self as rules, Choix, Decompte, EtatSeance, Fonction, Procuration};
use guichet_domain::territoire::EntityKind;
use guichet_store::conseil::{
    self as store, Annexe, Assemblee, Deliberation, Elu, Point, ProcesVerbal, Seance,
};
use guichet_store::trace::Trace;

/// Who votes on an item: a member present, or the one they hold a proxy for.
struct Votant {
    field: String,
    name: String,
    /// The member present who votes for them.
    par: Option<String>,
}

struct PointView {
    p: Point,
    matiere: String,
    deliberation: Option<Deliberation>,
    annexes: Vec<Annexe>,
}

struct ConvocationView {
    name: String,
    sent: String,
    read: String,
}

#[derive(Template)]
#[template(path = "conseil/seance.html")]
struct SeancePage {
    layout: Layout,
    slug: String,
    s: Seance,
    a: Assemblee,
    quand: String,
    delai: String,
    elus: Vec<Elu>,
    points: Vec<PointView>,
    convocations: Vec<ConvocationView>,
    presents: Vec<i64>,
    procurations: Vec<(String, String)>,
    quorum: String,
    votants: Vec<Votant>,
    matieres: &'static [(&'static str, &'static str)],
    choix: Vec<(&'static str, &'static str)>,
    secretaire: String,
    /// This session's minutes, once it is over.
    pv: Option<ProcesVerbal>,
    /// Earlier sessions' minutes to adopt at this one's beginning: (session, its date).
    pv_a_arreter: Vec<(i64, String)>,
    form: Fields,
    errors: Errors,
}

impl SeancePage {
    fn etat(&self) -> &'static str {
        self.s.state.label()
    }

    fn preparation(&self) -> bool {
        self.s.state == EtatSeance::Preparation
    }

    fn convoquee(&self) -> bool {
        self.s.state == EtatSeance::Convoquee
    }

    fn ouverte(&self) -> bool {
        self.s.state == EtatSeance::Ouverte
    }

    fn carence(&self) -> bool {
        self.s.state == EtatSeance::Carence
    }

    fn present(&self, id: &i64) -> bool {
        self.presents.contains(id)
    }

    /// A field of a secret ballot's counts: `point_{id}_{what}`.
    fn k(&self, point: &i64, what: &str) -> String {
        format!("point_{point}_{what}")
    }

    fn on(&self, prefix: &str, id: &i64) -> bool {
        self.form.checked(&format!("{prefix}_{id}"))
    }

    fn err(&self, prefix: &str, id: &i64) -> Option<String> {
        self.errors
            .get(&format!("{prefix}_{id}"))
            .map(str::to_string)
    }

    /// The item being voted: the first without its délibération.
    fn a_voter(&self) -> Option<&PointView> {
        self.points.iter().find(|p| p.deliberation.is_none())
    }

    fn val(&self, field: &str) -> String {
        self.form.get(field)
    }

    fn checked(&self, field: &str) -> bool {
        self.form.checked(field)
    }

    /// The member a proxy was typed for (the form sent back with errors).
    fn holder_is(&self, mandant: &i64, holder: &i64) -> bool {
        self.form.get(&format!("procuration_{mandant}")) == holder.to_string()
    }

    fn published(&self, d: &Deliberation) -> String {
        d.published_at
            .map(crate::format::format_ms)
            .unwrap_or_default()
    }

    fn terminee(&self) -> bool {
        matches!(self.s.state, EtatSeance::Close | EtatSeance::Carence)
    }

    /// The minutes' text as drafted, or as typed when the form came back.
    fn pv_texte(&self) -> String {
        let typed = self.form.get("texte");
        if typed.is_empty() {
            self.pv
                .as_ref()
                .map(|p| p.texte.clone())
                .unwrap_or_default()
        } else {
            typed
        }
    }

    fn pv_arrete(&self) -> Option<String> {
        self.pv
            .as_ref()
            .and_then(|p| p.adopted_at)
            .map(crate::format::format_ms)
    }

    fn pv_publie(&self) -> Option<String> {
        self.pv
            .as_ref()
            .and_then(|p| p.published_at)
            .map(crate::format::format_ms)
    }

    /// The last day the adopted minutes may go online (L2121-15).
    fn pv_au_plus_tard(&self) -> String {
        self.pv
            .as_ref()
            .and_then(|p| p.adopted_at)
            .map(|at| {
                rules::publication_au_plus_tard(at)
                    .strftime("%d/%m/%Y")
                    .to_string()
            })
            .unwrap_or_default()
    }

    fn choix_de(&self, field: &str) -> String {
        let v = self.form.get(field);
        if v.is_empty() {
            "pour".into()
        } else {
            v
        }
    }
}

/// The session named in the path, in this collectivité, with its assembly.
pub(super) async fn load(
    state: &AppState,
    ctx: &CollectiviteContext,
    id: i64,
) -> anyhow::Result<Option<(Seance, Assemblee)>> {
    let c = ctx.collectivite.id;
    let Some(s) = store::seance_by_id(&state.db, c, id).await? else {
        return Ok(None);
    };
    let a = store::assemblees(&state.db, c)
        .await?
        .into_iter()
        .find(|a| a.id == s.assemblee_id);
    Ok(a.map(|a| (s, a)))
}

/// The population the convocation delay depends on: the commune's or the EPCI's.
async fn population(state: &AppState, ctx: &CollectiviteContext) -> anyhow::Result<i64> {
    use guichet_store::territoire as t;
    let c = &ctx.collectivite;
    Ok(match c.entity_kind {
        EntityKind::Commune => t::commune_by_insee(&state.db, &c.entity_code)
            .await?
            .and_then(|x| x.population),
        EntityKind::Epci => t::epci(&state.db, &c.entity_code)
            .await?
            .and_then(|x| x.population),
        _ => None,
    }
    .unwrap_or(0))
}

pub(super) async fn render(
    state: &AppState,
    visitor: &Visitor,
    ctx: &CollectiviteContext,
    id: i64,
    form: Fields,
    errors: Errors,
) -> Result<Response, AppError> {
    let Some((s, a)) = load(state, ctx, id).await? else {
        return Ok(crate::page::not_found(State(state.clone())).await);
    };
    let c = ctx.collectivite.id;
    let elus = store::elus(&state.db, c, a.id).await?;
    let name = |id: i64| {
        elus.iter()
            .find(|e| e.id == id)
            .map(|e| e.name.clone())
            .unwrap_or_default()
    };
    let deliberations = store::deliberations_of(&state.db, c, s.id).await?;
    let annexes = store::annexes_of(&state.db, c, s.id).await?;
    let points = store::points(&state.db, c, s.id)
        .await?
        .into_iter()
        .map(|p| PointView {
            annexes: annexes
                .iter()
                .filter(|a| a.point_id == p.id)
                .cloned()
                .collect(),
            matiere: rules::matiere(&p.matiere).unwrap_or_default().to_string(),
            deliberation: deliberations.iter().find(|d| d.point_id == p.id).cloned(),
            p,
        })
        .collect();
    let convocations = store::convocations(&state.db, c, s.id)
        .await?
        .into_iter()
        .map(|x| ConvocationView {
            name: name(x.elu_id),
            sent: crate::format::format_ms(x.sent_at),
            read: x.read_at.map(crate::format::format_ms).unwrap_or_default(),
        })
        .collect();
    let (presents, proxies) = store::attendance(&state.db, c, s.id).await?;
    let mut votants: Vec<Votant> = elus
        .iter()
        .filter(|e| presents.contains(&e.id))
        .map(|e| Votant {
            field: format!("vote_{}", e.id),
            name: e.name.clone(),
            par: None,
        })
        .collect();
    for p in &proxies {
        if presents.contains(&p.mandataire) {
            votants.push(Votant {
                field: format!("vote_{}", p.mandant),
                name: name(p.mandant),
                par: Some(name(p.mandataire)),
            });
        }
    }
    let second = s.after_seance_id.is_some();
    let quorum = if second {
        format!(
            "Seconde convocation : le conseil délibère sans condition de quorum ({} présents).",
            presents.len()
        )
    } else {
        format!(
            "{} présents sur {} membres en exercice (quorum : {}) : {}.",
            presents.len(),
            elus.len(),
            rules::quorum_requis(elus.len()),
            if rules::quorum(elus.len(), presents.len(), false) {
                "quorum atteint"
            } else {
                "quorum non atteint"
            }
        )
    };
    let d = rules::delai(a.organe, population(state, ctx).await?);
    let delai = format!(
        "Convocation {} jours francs au moins avant la séance{}.",
        d.jours_francs,
        if d.note_requise {
            ", avec une note explicative de synthèse pour chaque point"
        } else {
            ""
        }
    );
    let pv = store::proces_verbal(&state.db, c, s.id).await?;
    // Earlier minutes are adopted at the beginning of a sitting session, before its first vote.
    let pv_a_arreter = if s.state == EtatSeance::Ouverte && deliberations.is_empty() {
        store::proces_verbaux_a_arreter(&state.db, c, a.id, s.starts_at)
            .await?
            .into_iter()
            .map(|(x, _)| (x.id, crate::format::format_ms(x.starts_at)))
            .collect()
    } else {
        Vec::new()
    };
    let status = errors.status();
    let page = html(&SeancePage {
        secretaire: s.secretaire_id.map(name).unwrap_or_default(),
        pv,
        pv_a_arreter,
        layout: Layout::for_visitor(state, visitor).await,
        slug: ctx.collectivite.slug.clone(),
        quand: crate::format::format_ms(s.starts_at),
        delai,
        procurations: proxies
            .iter()
            .map(|p| (name(p.mandant), name(p.mandataire)))
            .collect(),
        elus,
        points,
        convocations,
        presents,
        quorum,
        votants,
        matieres: rules::MATIERES,
        choix: Choix::ALL.iter().map(|c| (c.code(), c.label())).collect(),
        form,
        errors,
        s,
        a,
    })?;
    Ok((status, page).into_response())
}

pub async fn page(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    Path((_, id)): Path<(String, i64)>,
) -> Result<Response, AppError> {
    render(
        &state,
        &visitor,
        &ctx,
        id,
        Fields::parse(""),
        Errors::default(),
    )
    .await
}

pub(super) fn back(ctx: &CollectiviteContext, id: i64) -> Response {
    Redirect::to(&format!(
        "/admin/{}/conseil/seances/{id}",
        ctx.collectivite.slug
    ))
    .into_response()
}

/// A message on the page when the action does not fit the session's state (a second tab, the
/// back button).
pub(super) async fn refused(
    state: &AppState,
    visitor: &Visitor,
    ctx: &CollectiviteContext,
    id: i64,
    field: &str,
    message: impl Into<String>,
) -> Result<Response, AppError> {
    let mut errors = Errors::default();
    errors.add(field, message);
    render(state, visitor, ctx, id, Fields::parse(""), errors).await
}

/// An item added to the agenda; after the convocation, an amendment of the agenda.
pub async fn add_point(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    Path((_, id)): Path<(String, i64)>,
    body: String,
) -> Result<Response, AppError> {
    let Some((s, _)) = load(&state, &ctx, id).await? else {
        return Ok(crate::page::not_found(State(state)).await);
    };
    let f = Fields::parse(&body);
    let mut errors = Errors::default();
    if !matches!(s.state, EtatSeance::Preparation | EtatSeance::Convoquee) {
        errors.add(
            "titre",
            "L'ordre du jour d'une séance ouverte ou terminée ne change plus.",
        );
    }
    let title = f.get("titre");
    if title.is_empty() {
        errors.add(
            "titre",
            "Indiquez l'objet du point, par exemple « Subvention au club de football ».",
        );
    }
    let matiere = f.get("matiere");
    if rules::matiere(&matiere).is_none() {
        errors.add("matiere", "Choisissez la matière de la nomenclature ACTES.");
    }
    let rapport = f.get("rapport");
    if rapport.is_empty() {
        errors.add(
            "rapport",
            "Rédigez le rapport : l'exposé et la décision proposée.",
        );
    }
    if !errors.is_empty() {
        return render(&state, &visitor, &ctx, id, f, errors).await;
    }
    let late = s.state == EtatSeance::Convoquee;
    let c = &ctx.collectivite;
    let mut event = visitor.event_on(
        Some(c.id),
        if late {
            "conseil.ordre_du_jour.amendement"
        } else {
            "conseil.ordre_du_jour.ajout"
        },
        "seance",
        s.id,
    );
    event.details = serde_json::json!({"objet": title, "matiere": matiere}).to_string();
    let point = store::NewPoint {
        title,
        matiere,
        rapport,
        note: f.get("note"),
        secret: f.checked("secret"),
    };
    store::add_point(
        &state.db,
        c.id,
        s.id,
        point,
        late,
        state.config.clock.now_ms(),
        Trace::of(event),
    )
    .await?;
    Ok(back(&ctx, id))
}

/// Withdraws an item from an agenda still in preparation (to write it again).
pub async fn remove_point(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    Path((_, id, point_id)): Path<(String, i64, i64)>,
) -> Result<Response, AppError> {
    let Some((s, _)) = load(&state, &ctx, id).await? else {
        return Ok(crate::page::not_found(State(state)).await);
    };
    let c = &ctx.collectivite;
    let Some(p) = store::points(&state.db, c.id, s.id)
        .await?
        .into_iter()
        .find(|p| p.id == point_id)
    else {
        return Ok(crate::page::not_found(State(state)).await);
    };
    let mut event = visitor.event_on(Some(c.id), "conseil.ordre_du_jour.retrait", "seance", s.id);
    event.details = serde_json::json!({"objet": p.title}).to_string();
    if !store::remove_point(&state.db, c.id, s.id, p.id, Trace::of(event)).await? {
        return refused(
            &state,
            &visitor,
            &ctx,
            id,
            "titre",
            "La convocation est partie : l'ordre du jour ne change plus que par amendement.",
        )
        .await;
    }
    Ok(back(&ctx, id))
}

/// Sends the convocation to every member in office, checked against the legal delay.
pub async fn convene(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    Path((_, id)): Path<(String, i64)>,
    body: String,
) -> Result<Response, AppError> {
    let Some((s, a)) = load(&state, &ctx, id).await? else {
        return Ok(crate::page::not_found(State(state)).await);
    };
    if s.state != EtatSeance::Preparation {
        return refused(
            &state,
            &visitor,
            &ctx,
            id,
            "urgence",
            "La convocation de cette séance est déjà partie.",
        )
        .await;
    }
    let f = Fields::parse(&body);
    let c = &ctx.collectivite;
    let elus = store::elus(&state.db, c.id, a.id).await?;
    let points = store::points(&state.db, c.id, s.id).await?;
    let now = state.config.clock.now_ms();
    let motif = f.get("motif");
    let urgence = f.checked("urgence").then_some(motif.as_str());
    let after = match s.after_seance_id {
        Some(before) => store::seance_by_id(&state.db, c.id, before)
            .await?
            .map(|b| b.starts_at),
        None => None,
    };
    let check = rules::verifier_convocation(&rules::Convocation {
        organe: a.organe,
        population: population(&state, &ctx).await?,
        envoi_ms: now,
        seance_ms: s.starts_at,
        urgence,
        points: points.len(),
        notes_completes: points.iter().all(|p| !p.note.trim().is_empty()),
        membres: elus.len(),
        apres_carence_ms: after,
    });
    if let Err(refus) = check {
        let field = if matches!(refus, rules::RefusConvocation::UrgenceSansMotif) {
            "motif"
        } else {
            "urgence"
        };
        let mut errors = Errors::default();
        errors.add(field, refus.to_string());
        return render(&state, &visitor, &ctx, id, f, errors).await;
    }
    let mut tokens = Vec::new();
    let mut trace = Trace::default();
    for e in &elus {
        let token = guichet_store::secret::random_token();
        trace = trace.mail(mails::convocation(
            &state.config,
            c,
            &a,
            &s,
            &points,
            e,
            urgence,
            &token,
        ));
        tokens.push((e.id, guichet_store::secret::hash_token(&token)));
    }
    let mut event = visitor.event_on(Some(c.id), "conseil.convocation", "seance", s.id);
    event.details = serde_json::json!({"membres": elus.len(), "jours_francs": rules::jours_francs(now, s.starts_at), "urgence": urgence}).to_string();
    let trace = trace.and(event);
    if store::convene(
        &state.db,
        c.id,
        s.id,
        urgence.map(str::to_string),
        tokens,
        now,
        trace,
    )
    .await?
    .is_none()
    {
        return refused(
            &state,
            &visitor,
            &ctx,
            id,
            "urgence",
            "La convocation de cette séance est déjà partie.",
        )
        .await;
    }
    Ok(back(&ctx, id))
}

/// Opens the session with who is present and the proxies given: the quorum decides whether it
/// sits or must be convened again.
pub async fn open(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    Path((_, id)): Path<(String, i64)>,
    body: String,
) -> Result<Response, AppError> {
    let Some((s, a)) = load(&state, &ctx, id).await? else {
        return Ok(crate::page::not_found(State(state)).await);
    };
    if s.state != EtatSeance::Convoquee {
        return refused(
            &state,
            &visitor,
            &ctx,
            id,
            "presences",
            "Cette séance n'attend pas son ouverture.",
        )
        .await;
    }
    let f = Fields::parse(&body);
    let c = &ctx.collectivite;
    let elus = store::elus(&state.db, c.id, a.id).await?;
    let presents: Vec<i64> = elus
        .iter()
        .filter(|e| f.checked(&format!("present_{}", e.id)))
        .map(|e| e.id)
        .collect();
    let mut errors = Errors::default();
    let mut proxies: Vec<Procuration> = Vec::new();
    for e in &elus {
        let field = format!("procuration_{}", e.id);
        let to = f.get(&field);
        if to.is_empty() {
            continue;
        }
        let Some(holder) = to
            .parse::<i64>()
            .ok()
            .filter(|h| elus.iter().any(|x| x.id == *h))
        else {
            errors.add(field, "Choisissez un membre de l'assemblée.");
            continue;
        };
        let p = Procuration {
            mandant: e.id,
            mandataire: holder,
        };
        match rules::verifier_procuration(p, &proxies, &presents) {
            Ok(()) if !presents.contains(&holder) => {
                errors.add(
                    field,
                    format!(
                        "{} n'est pas présent·e : la procuration ne peut pas être exercée.",
                        elus.iter()
                            .find(|x| x.id == holder)
                            .map(|x| x.name.as_str())
                            .unwrap_or_default()
                    ),
                );
            }
            Ok(()) => proxies.push(p),
            Err(refus) => errors.add(field, format!("{} : {refus}", e.name)),
        }
    }
    let second = s.after_seance_id.is_some();
    let sits = rules::quorum(elus.len(), presents.len(), second);
    // The council names its secretary at the opening (L2121-15), among the members present.
    let secretaire = f
        .get("secretaire")
        .parse::<i64>()
        .ok()
        .filter(|x| presents.contains(x));
    if sits && secretaire.is_none() {
        errors.add(
            "secretaire",
            "Choisissez le ou la secrétaire de séance parmi les membres présents.",
        );
    }
    if !errors.is_empty() {
        return render(&state, &visitor, &ctx, id, f, errors).await;
    }
    let to = if sits {
        EtatSeance::Ouverte
    } else {
        EtatSeance::Carence
    };
    let mut event = visitor.event_on(
        Some(c.id),
        if sits {
            "conseil.seance.ouverture"
        } else {
            "conseil.seance.carence"
        },
        "seance",
        s.id,
    );
    event.details = serde_json::json!({"en_exercice": elus.len(), "presents": presents.len(), "procurations": proxies.len(), "seconde_convocation": second}).to_string();
    let members = elus.iter().map(|e| e.id).collect();
    if !store::open(
        &state.db,
        c.id,
        s.id,
        members,
        presents,
        proxies,
        secretaire.filter(|_| sits),
        to,
        state.config.clock.now_ms(),
        Trace::of(event),
    )
    .await?
    {
        return refused(
            &state,
            &visitor,
            &ctx,
            id,
            "presences",
            "Cette séance n'attend pas son ouverture.",
        )
        .await;
    }
    Ok(back(&ctx, id))
}

/// An arrival or a departure during the session.
pub async fn presence(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    Path((_, id)): Path<(String, i64)>,
    body: String,
) -> Result<Response, AppError> {
    let Some((s, a)) = load(&state, &ctx, id).await? else {
        return Ok(crate::page::not_found(State(state)).await);
    };
    let f = Fields::parse(&body);
    let c = &ctx.collectivite;
    let elus = store::elus(&state.db, c.id, a.id).await?;
    let Some(e) = f
        .get("elu")
        .parse::<i64>()
        .ok()
        .and_then(|x| elus.iter().find(|e| e.id == x))
    else {
        return refused(
            &state,
            &visitor,
            &ctx,
            id,
            "presences",
            "Ce membre n'est pas de l'assemblée.",
        )
        .await;
    };
    if s.state != EtatSeance::Ouverte {
        return refused(
            &state,
            &visitor,
            &ctx,
            id,
            "presences",
            "Les arrivées et départs se notent pendant la séance.",
        )
        .await;
    }
    let present = f.get("present") == "1";
    let mut event = visitor.event_on(
        Some(c.id),
        if present {
            "conseil.seance.arrivee"
        } else {
            "conseil.seance.depart"
        },
        "seance",
        s.id,
    );
    event.details = serde_json::json!({"elu": e.name}).to_string();
    store::set_presence(
        &state.db,
        c.id,
        s.id,
        e.id,
        present,
        state.config.clock.now_ms(),
        Trace::of(event),
    )
    .await?;
    Ok(back(&ctx, id))
}

/// The vote on an item: by name (each member present and each proxy), or the counts of a secret
/// ballot. The result is computed, then recorded with its délibération.
pub async fn vote(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    Path((_, id, point_id)): Path<(String, i64, i64)>,
    body: String,
) -> Result<Response, AppError> {
    let Some((s, a)) = load(&state, &ctx, id).await? else {
        return Ok(crate::page::not_found(State(state)).await);
    };
    let c = &ctx.collectivite;
    let Some(p) = store::points(&state.db, c.id, s.id)
        .await?
        .into_iter()
        .find(|p| p.id == point_id)
    else {
        return Ok(crate::page::not_found(State(state)).await);
    };
    let cible = format!("point_{}", p.id);
    if s.state != EtatSeance::Ouverte {
        return refused(
            &state,
            &visitor,
            &ctx,
            id,
            &cible,
            "On ne vote que pendant la séance.",
        )
        .await;
    }
    let voted = store::deliberations_of(&state.db, c.id, s.id).await?;
    if voted.iter().any(|d| d.point_id == p.id) {
        return refused(
            &state,
            &visitor,
            &ctx,
            id,
            &cible,
            "Ce point a déjà été voté.",
        )
        .await;
    }
    let f = Fields::parse(&body);
    let elus = store::elus(&state.db, c.id, a.id).await?;
    let (presents, proxies) = store::attendance(&state.db, c.id, s.id).await?;
    let represented: Vec<&Procuration> = proxies
        .iter()
        .filter(|x| presents.contains(&x.mandataire))
        .collect();
    let mut errors = Errors::default();
    let mut votes = Vec::new();
    let decompte = if p.secret {
        let mut count = |field: &str| -> i64 {
            match f.get(&format!("{cible}_{field}")).parse::<i64>() {
                Ok(n) if n >= 0 => n,
                _ => {
                    errors.add(
                        format!("{cible}_{field}"),
                        "Indiquez un nombre de bulletins, 0 ou plus.",
                    );
                    0
                }
            }
        };
        let d = Decompte {
            pour: count("pour"),
            contre: count("contre"),
            abstention: count("abstention"),
            nppv: 0,
        };
        let votants = (presents.len() + represented.len()) as i64;
        if errors.is_empty() && d.votants() > votants {
            errors.add(
                format!("{cible}_pour"),
                format!(
                    "Plus de bulletins ({}) que de votants ({votants}).",
                    d.votants()
                ),
            );
        }
        d
    } else {
        let mut voter =
            |elu_id: i64, by_proxy: bool| match Choix::from_code(&f.get(&format!("vote_{elu_id}")))
            {
                Some(choix) => votes.push((elu_id, choix, by_proxy)),
                None => errors.add(format!("vote_{elu_id}"), "Indiquez le vote de ce membre."),
            };
        for e in elus.iter().filter(|e| presents.contains(&e.id)) {
            voter(e.id, false);
        }
        for x in &represented {
            voter(x.mandant, true);
        }
        Decompte::of(votes.iter().map(|v| v.1))
    };
    if !errors.is_empty() {
        return render(&state, &visitor, &ctx, id, f, errors).await;
    }
    let chair = elus
        .iter()
        .find(|e| e.fonction == Fonction::Presidence)
        .map(|e| e.id);
    let voix_presidence = votes
        .iter()
        .find(|v| Some(v.0) == chair && !v.2)
        .map(|v| v.1);
    let issue = rules::resultat(&decompte, voix_presidence, p.secret);
    let year = guichet_domain::delai::paris_day(s.starts_at).year();
    let texte = format!(
        "{assemblee},\n\nVu le code général des collectivités territoriales,\n\nVu le rapport présenté :\n{rapport}\n\nAprès en avoir délibéré{secret}, {decision}.",
        assemblee = a.name,
        rapport = p.rapport,
        secret = if p.secret { " au scrutin secret" } else { "" },
        decision = match issue {
            rules::Issue::Adoptee => "adopte la proposition",
            rules::Issue::Rejetee => "rejette la proposition",
        }
    );
    let mut event = visitor.event_on(Some(c.id), "conseil.vote", "seance", s.id);
    event.details = serde_json::json!({"point": p.title, "pour": decompte.pour, "contre": decompte.contre, "abstention": decompte.abstention, "nppv": decompte.nppv, "issue": issue.code()}).to_string();
    let decision = store::Decision {
        seance_id: s.id,
        point_id: p.id,
        year,
        objet: p.title.clone(),
        matiere: p.matiere.clone(),
        texte,
        issue,
        effectif: elus.len() as i64,
        presents: presents.len() as i64,
        representes: represented.len() as i64,
        decompte,
        votes,
    };
    if store::decide(
        &state.db,
        c.id,
        decision,
        state.config.clock.now_ms(),
        Trace::of(event),
    )
    .await?
    .is_none()
    {
        return refused(
            &state,
            &visitor,
            &ctx,
            id,
            &cible,
            "Ce point a déjà été voté.",
        )
        .await;
    }
    Ok(back(&ctx, id))
}

/// Closes the session.
pub async fn close(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    Path((_, id)): Path<(String, i64)>,
) -> Result<Response, AppError> {
    let Some((s, _)) = load(&state, &ctx, id).await? else {
        return Ok(crate::page::not_found(State(state)).await);
    };
    let c = &ctx.collectivite;
    let event = visitor.event_on(Some(c.id), "conseil.seance.cloture", "seance", s.id);
    if !store::close(
        &state.db,
        c.id,
        s.id,
        state.config.clock.now_ms(),
        Trace::of(event),
    )
    .await?
    {
        return refused(
            &state,
            &visitor,
            &ctx,
            id,
            "cloture",
            "Cette séance n'est pas en cours.",
        )
        .await;
    }
    Ok(back(&ctx, id))
}

/// After a failed quorum, the session convened again (three days later at least), its agenda
/// carried over.
pub async fn reconvene(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    Path((_, id)): Path<(String, i64)>,
    body: String,
) -> Result<Response, AppError> {
    let Some((s, a)) = load(&state, &ctx, id).await? else {
        return Ok(crate::page::not_found(State(state)).await);
    };
    if s.state != EtatSeance::Carence {
        return refused(
            &state,
            &visitor,
            &ctx,
            id,
            "jour",
            "Seule une séance sans quorum est convoquée à nouveau.",
        )
        .await;
    }
    let f = Fields::parse(&body);
    let mut errors = Errors::default();
    let at = super::seance_time(
        &f,
        ["jour", "heure"],
        state.config.clock.now_ms(),
        &mut errors,
    );
    if at.is_some_and(|at| {
        rules::jours_entre(s.starts_at, at) < rules::INTERVALLE_SECONDE_CONVOCATION
    }) {
        errors.add(
            "jour",
            rules::RefusConvocation::IntervalleTropCourt.to_string(),
        );
    }
    let place = Some(f.get("lieu"))
        .filter(|l| !l.is_empty())
        .unwrap_or_else(|| s.place.clone());
    let (Some(at), true) = (at, errors.is_empty()) else {
        return render(&state, &visitor, &ctx, id, f, errors).await;
    };
    let c = &ctx.collectivite;
    let mut event = visitor.event_on(
        Some(c.id),
        "conseil.seance.seconde_convocation",
        "seance",
        s.id,
    );
    event.details = serde_json::json!({"date": crate::format::format_ms(at)}).to_string();
    let new = store::create_seance(
        &state.db,
        c.id,
        a.id,
        store::NewSeance {
            starts_at: at,
            place,
            after_seance_id: Some(s.id),
        },
        state.config.clock.now_ms(),
        Trace::of(event),
    )
    .await?;
    Ok(back(&ctx, new))
}
