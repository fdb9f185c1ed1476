//! The one door: what a resident of a commune can do, whoever handles it. Combines the search
//! index (démarches, competences, national services) with routing by competence: a competence
//! found by the search is routed to the entity that holds it for the resident's commune, which
//! either offers its démarches here or is named with the way to contact it.

use crate::AppState;
use guichet_domain::competence::{competent, situation_label, Chain, Holder, Level};
use guichet_domain::signalement::RoadKind;
use guichet_search::{Doc, SearchIndex};
use guichet_store::collectivite::{self, Collectivite};
use guichet_store::competence;
use guichet_store::demarche;
use guichet_store::signalement::Category;
use std::collections::HashMap;
use std::sync::Arc;

/// A published démarche as the catalogue knows it.
#[derive(Debug, Clone)]
pub struct Offer {
    pub id: i64,
    pub collectivite: Arc<Collectivite>,
    pub slug: String,
    pub title: String,
    pub description: String,
    pub competence: Option<String>,
    /// The shared template it was made from, if any.
    pub template_id: Option<i64>,
    /// FranceConnect is asked or offered to file it.
    pub franceconnect: bool,
}

/// The index and what its keys refer to, for one generation of the searched data, with the
/// answers of each commune asked about, computed once per generation.
pub struct Snapshot {
    generation: i64,
    index: SearchIndex,
    /// Every published démarche, by id.
    offers: std::collections::BTreeMap<i64, Offer>,
    /// The published démarches of each collectivité, by id.
    by_tenant: HashMap<i64, Vec<i64>>,
    /// The offers of each (competence, collectivité), by title.
    by_competence: HashMap<(String, i64), Vec<i64>>,
    competences: HashMap<String, guichet_domain::competence::Competence>,
    services: HashMap<i64, competence::NationalService>,
    overrides: Vec<guichet_domain::competence::Override>,
    /// Every collectivité, by id, in the order of the directory and by the entity it is.
    collectivites: HashMap<i64, Arc<Collectivite>>,
    ordered: Vec<Arc<Collectivite>>,
    /// (code, "name (code)") of the départements where collectivités are, by code.
    departements: Vec<(String, String)>,
    by_entity: HashMap<(&'static str, String), i64>,
    /// The signalement categories offered (the platform's first, then the collectivités' own).
    categories: Vec<Category>,
    /// What each commune asked about is offered, by INSEE code.
    locals: Bounded<Arc<Local>>,
    /// The communes meant by what residents typed.
    resolutions: Bounded<Resolution>,
    /// The answers of searches already asked, by query and commune.
    answers: Bounded<Arc<Answer>>,
    /// The shared templates and the collectivités that publish a démarche made from each,
    /// worked out on the first question.
    adoptions: std::sync::OnceLock<Vec<Adoption>>,
    /// The collectivités that publish démarches, by name (then address), worked out on the
    /// first question.
    offering_by_name: std::sync::OnceLock<Vec<Arc<Collectivite>>>,
}

/// A shared template and the collectivités that publish a démarche made from it.
pub struct Adoption {
    pub template_id: i64,
    /// The title of the first démarche made from it (by id).
    pub title: String,
    pub collectivites: usize,
}

/// What a search answers: the things to do, grouped, and the problems to report.
pub struct Answer {
    pub groups: Vec<Group>,
    pub reports: Vec<ReportOffer>,
}

/// "Signaler un problème" offered by a search: the category, the link to the prefilled form,
/// and who handles it in the resident's commune (or why nobody on Guichet does).
#[derive(Debug, Clone)]
pub struct ReportOffer {
    pub label: String,
    pub url: String,
    pub handled_by: Option<String>,
    pub elsewhere: Option<String>,
}

/// The commune meant by what a resident typed: its INSEE code, or the communes to choose from
/// (INSEE code, label), none when nothing matches.
pub type Resolution = Result<String, Vec<(String, String)>>;

/// A map that forgets everything when it grows past its bound: the communes asked about in one
/// generation, without letting a visitor who asks for every commune fill the memory.
struct Bounded<V>(std::sync::Mutex<HashMap<String, V>>, usize);

const BOUND: usize = 10_000;

impl<V: Clone> Bounded<V> {
    fn new() -> Self {
        Self::of(BOUND)
    }

    fn of(bound: usize) -> Self {
        Self(std::sync::Mutex::new(HashMap::new()), bound)
    }

    fn get(&self, key: &str) -> Option<V> {
        self.0.lock().ok()?.get(key).cloned()
    }

    fn put(&self, key: &str, value: V) {
        if let Ok(mut map) = self.0.lock() {
            if map.len() >= self.1 {
                map.clear();
            }
            map.insert(key.to_string(), value);
        }
    }
}

/// Who answers for one competence in one commune.
#[derive(Debug, Clone)]
struct Route {
    holder: Holder,
    /// The holder's name as residents know it ("Mairie de Dijon", "Dijon Métropole").
    name: String,
    /// The holder's collectivité, if it joined the platform.
    joined: Option<i64>,
}

/// What the one door answers to the residents of one commune: the routing of every competence
/// and the démarches offered there by every level.
pub struct Local {
    pub place: Place,
    routes: HashMap<String, Route>,
    /// Offers covering the commune, by title.
    offered: Vec<i64>,
}

/// Kept in the application state; rebuilt when the searched data changes (on any node), one
/// build at a time, while the previous snapshot keeps answering.
#[derive(Default)]
pub struct Catalogue {
    current: std::sync::RwLock<Option<Arc<Snapshot>>>,
    building: tokio::sync::Mutex<()>,
    /// A build runs in the background.
    rebuilding: std::sync::atomic::AtomicBool,
    /// How long the last build took, in ms.
    last_build_ms: std::sync::atomic::AtomicU64,
}

/// Lowers the flag of a background build when it ends, however it ends.
struct Done<'a>(&'a std::sync::atomic::AtomicBool);

impl Drop for Done<'_> {
    fn drop(&mut self) {
        self.0.store(false, std::sync::atomic::Ordering::SeqCst);
    }
}

/// How long the request that notices a change waits for the new snapshot before it answers
/// from the previous one, when builds are slow (seconds for a région's 100,000 démarches); a
/// catalogue built in less than `QUICK_BUILD` is waited for, so that a change is seen at once.
const FRESH_WAIT: std::time::Duration = std::time::Duration::from_millis(300);
const QUICK_BUILD: u64 = 1_000;

/// One thing the resident can do.
#[derive(Debug, Clone)]
pub enum Item {
    /// A démarche filed here.
    Demarche {
        title: String,
        description: String,
        url: String,
        authority: String,
        /// Offered to residents of the commune asked about (always true without a commune).
        here: bool,
    },
    /// The competent authority does not offer it here: who it is and how to reach it.
    Elsewhere {
        what: String,
        authority: String,
        /// Why it is not here, in plain words.
        reason: String,
        contact: Option<String>,
        link: Option<String>,
    },
    /// A procedure handled by the State, on its own website.
    National {
        title: String,
        description: String,
        url: String,
    },
}

impl Item {
    pub fn title(&self) -> &str {
        match self {
            Self::Demarche { title, .. } | Self::National { title, .. } => title,
            Self::Elsewhere { what, .. } => what,
        }
    }

    fn rank(&self) -> u8 {
        match self {
            Self::Demarche { here: true, .. } | Self::Elsewhere { .. } => 0,
            Self::National { .. } => 1,
            Self::Demarche { here: false, .. } => 2,
        }
    }
}

/// Items grouped by life situation, best group first.
#[derive(Debug, Clone)]
pub struct Group {
    pub label: &'static str,
    pub items: Vec<Item>,
}

pub(crate) fn collectivite_covers(t: &Collectivite, chain: &Chain) -> bool {
    chain
        .at(Level::of_entity(t.entity_kind))
        .is_some_and(|h| h.code == t.entity_code)
}

impl Catalogue {
    fn current(&self) -> Option<Arc<Snapshot>> {
        self.current.read().ok()?.clone()
    }

    /// The current snapshot. When the searched data changed since it was built, the first
    /// request to notice starts the build and waits for it a little; meanwhile the others answer
    /// from the previous snapshot. Without any snapshot yet, everyone waits for the first.
    pub async fn snapshot(&self, state: &AppState) -> anyhow::Result<Arc<Snapshot>> {
        use std::sync::atomic::Ordering::SeqCst;
        let generation = guichet_store::recherche::generation(&state.db).await?;
        let stale = match self.current() {
            Some(s) if s.generation >= generation => return Ok(s),
            Some(s) => s,
            None => return self.rebuild(state, generation).await,
        };
        if self.rebuilding.swap(true, SeqCst) {
            return Ok(stale);
        }
        let task = {
            let state = state.clone();
            tokio::spawn(async move {
                let _done = Done(&state.catalogue.rebuilding);
                state.catalogue.rebuild(&state, generation).await
            })
        };
        let wait = if self.last_build_ms.load(SeqCst) < QUICK_BUILD {
            std::time::Duration::MAX
        } else {
            FRESH_WAIT
        };
        match tokio::time::timeout(wait, task).await {
            Ok(Ok(fresh)) => fresh,
            // Still building (or the build failed: the next request tries again).
            _ => Ok(stale),
        }
    }

    /// Builds the snapshot of `generation` unless a build since has (one build at a time).
    async fn rebuild(&self, state: &AppState, generation: i64) -> anyhow::Result<Arc<Snapshot>> {
        let _one = self.building.lock().await;
        if let Some(s) = self.current().filter(|s| s.generation >= generation) {
            return Ok(s);
        }
        let started = std::time::Instant::now();
        let fresh = Arc::new(build(state, generation).await?);
        self.last_build_ms.store(
            started.elapsed().as_millis().try_into().unwrap_or(u64::MAX),
            std::sync::atomic::Ordering::SeqCst,
        );
        if let Ok(mut slot) = self.current.write() {
            *slot = Some(fresh.clone());
        }
        Ok(fresh)
    }
}

async fn build(state: &AppState, generation: i64) -> anyhow::Result<Snapshot> {
    let ordered: Vec<Arc<Collectivite>> = collectivite::list(&state.db)
        .await?
        .into_iter()
        .map(Arc::new)
        .collect();
    let collectivites: HashMap<i64, Arc<Collectivite>> =
        ordered.iter().map(|t| (t.id, t.clone())).collect();
    let mut codes: Vec<&String> = ordered
        .iter()
        .filter_map(|t| t.departement_code.as_ref())
        .collect();
    codes.sort();
    codes.dedup();
    let mut departements = Vec::new();
    for code in codes {
        let label = match guichet_store::territoire::departement(&state.db, code).await? {
            Some(d) => format!("{} ({code})", d.nom),
            None => code.clone(),
        };
        departements.push((code.clone(), label));
    }
    let mut docs = Vec::new();
    let mut offers = std::collections::BTreeMap::new();
    let mut by_tenant: HashMap<i64, Vec<i64>> = HashMap::new();
    let competences: HashMap<String, _> = competence::list(&state.db)
        .await?
        .into_iter()
        .map(|c| (c.code.clone(), c))
        .collect();
    for (d, def) in demarche::all_published(&state.db).await? {
        let Some(t) = collectivites.get(&d.tenant_id) else {
            continue;
        };
        // A démarche is also found by the words of its competence ("cantine" for catering).
        let keywords = def
            .competence
            .as_ref()
            .and_then(|c| competences.get(c))
            .map(|c| format!("{} {}", c.label, c.keywords))
            .unwrap_or_default();
        docs.push(Doc {
            key: format!("d:{}", d.id),
            title: def.title.clone(),
            body: format!("{} {} {keywords}", def.description, def.audience),
        });
        by_tenant.entry(d.tenant_id).or_default().push(d.id);
        offers.insert(
            d.id,
            Offer {
                id: d.id,
                collectivite: t.clone(),
                slug: d.slug.clone(),
                title: def.title.clone(),
                description: def.description.clone(),
                competence: def.competence.clone(),
                template_id: d.template_id,
                franceconnect: matches!(
                    def.identity,
                    guichet_domain::demarche::IdentityLevel::Franceconnect
                        | guichet_domain::demarche::IdentityLevel::FranceconnectProposee
                ),
            },
        );
    }
    for c in competences.values() {
        docs.push(Doc {
            key: format!("c:{}", c.code),
            title: c.label.clone(),
            body: c.keywords.clone(),
        });
    }
    let services: HashMap<i64, _> = competence::national_services(&state.db)
        .await?
        .into_iter()
        .map(|s| (s.id, s))
        .collect();
    for s in services.values() {
        docs.push(Doc {
            key: format!("s:{}", s.id),
            title: s.title.clone(),
            body: format!("{} {}", s.description, s.keywords),
        });
    }
    let synonyms: Vec<Vec<String>> = competence::synonyms(&state.db)
        .await?
        .into_iter()
        .map(|(_, terms)| terms)
        .collect();
    let index = SearchIndex::build(docs, &synonyms)?;
    let mut by_competence: HashMap<(String, i64), Vec<i64>> = HashMap::new();
    for (id, o) in &offers {
        if let Some(c) = &o.competence {
            by_competence
                .entry((c.clone(), o.collectivite.id))
                .or_default()
                .push(*id);
        }
    }
    for ids in by_competence.values_mut() {
        ids.sort_by(|a, b| offers[a].title.cmp(&offers[b].title));
    }
    let by_entity = collectivites
        .values()
        .map(|t| ((t.entity_kind.code(), t.entity_code.clone()), t.id))
        .collect();
    Ok(Snapshot {
        generation,
        index,
        offers,
        by_tenant,
        by_competence,
        competences,
        services,
        overrides: competence::overrides(&state.db).await?,
        collectivites,
        ordered,
        departements,
        by_entity,
        categories: guichet_store::signalement::offered(&state.db).await?,
        locals: Bounded::new(),
        resolutions: Bounded::new(),
        // An answer weighs a few kilobytes: the most frequent searches of the moment.
        answers: Bounded::of(2_000),
        adoptions: std::sync::OnceLock::new(),
        offering_by_name: std::sync::OnceLock::new(),
    })
}

/// The commune a resident lives in, as the catalogue needs it.
#[derive(Debug, Clone)]
pub struct Place {
    pub insee: String,
    pub name: String,
    pub chain: Chain,
}

impl Snapshot {
    /// What is offered to the residents of this commune, worked out on the first question of the
    /// generation about it; none for a code that is not a current commune.
    async fn local(&self, state: &AppState, insee: &str) -> anyhow::Result<Option<Arc<Local>>> {
        if let Some(local) = self.locals.get(insee) {
            return Ok(Some(local));
        }
        let Some(c) = guichet_store::territoire::commune_by_insee(&state.db, insee).await? else {
            return Ok(None);
        };
        let Some(chain) = competence::chain(&state.db, insee).await? else {
            return Ok(None);
        };
        let mut names: HashMap<Holder, String> = HashMap::new();
        let mut routes = HashMap::new();
        for c in self.competences.values() {
            let Some(holder) = competent(c, &self.overrides, &chain) else {
                continue;
            };
            let name = match names.get(&holder) {
                Some(n) => n.clone(),
                None => {
                    let n = competence::holder_name(&state.db, &holder).await?;
                    names.insert(holder.clone(), n.clone());
                    n
                }
            };
            let joined = holder
                .level
                .entity_kind()
                .and_then(|k| self.by_entity.get(&(k.code(), holder.code.clone())))
                .copied();
            routes.insert(
                c.code.clone(),
                Route {
                    holder,
                    name,
                    joined,
                },
            );
        }
        let mut offered: Vec<i64> = self
            .offers
            .iter()
            .filter(|(_, o)| collectivite_covers(&o.collectivite, &chain))
            .map(|(i, _)| *i)
            .collect();
        offered.sort_by(|a, b| self.offers[a].title.cmp(&self.offers[b].title));
        let local = Arc::new(Local {
            place: Place {
                insee: c.insee,
                name: c.nom,
                chain,
            },
            routes,
            offered,
        });
        self.locals.put(insee, local.clone());
        Ok(Some(local))
    }

    fn joined(&self, route: &Route) -> Option<&Collectivite> {
        route
            .joined
            .and_then(|id| self.collectivites.get(&id))
            .map(|t| t.as_ref())
    }
}

pub async fn place(state: &AppState, insee: &str) -> anyhow::Result<Option<Place>> {
    let snap = state.catalogue.snapshot(state).await?;
    snap.place(state, insee).await
}

impl Snapshot {
    /// The commune of this INSEE code, if it is a current one.
    pub async fn place(&self, state: &AppState, insee: &str) -> anyhow::Result<Option<Place>> {
        Ok(self.local(state, insee).await?.map(|l| l.place.clone()))
    }
}

/// The commune meant by what a resident typed, remembered for the generation.
pub async fn resolution(
    snap: &Snapshot,
    typed: &str,
    resolve: impl std::future::Future<Output = anyhow::Result<Resolution>>,
) -> anyhow::Result<Resolution> {
    if let Some(r) = snap.resolutions.get(typed) {
        return Ok(r);
    }
    let r = resolve.await?;
    snap.resolutions.put(typed, r.clone());
    Ok(r)
}

fn demarche_item(o: &Offer, place: Option<&Place>) -> Item {
    Item::Demarche {
        title: o.title.clone(),
        description: o.description.clone(),
        url: format!("/demarches/{}/{}", o.collectivite.slug, o.slug),
        authority: o.collectivite.name.clone(),
        here: place.is_none_or(|p| collectivite_covers(&o.collectivite, &p.chain)),
    }
}

/// Where a resident can reach an authority that is not on Guichet: the official directory.
fn directory_link(h: &Holder, name: &str) -> String {
    let what = match h.level {
        Level::Commune => "mairie",
        Level::Epci => "intercommunalite",
        Level::Departement => "conseil-departemental",
        Level::Region => "conseil-regional",
        Level::Etat => "prefecture",
    };
    format!(
        "https://lannuaire.service-public.gouv.fr/recherche?whoWhat={what}&where={}",
        name.replace(' ', "+")
    )
}

/// What a resident of `place` (if known) can do for `query`, grouped by life situation.
pub async fn find(
    state: &AppState,
    query: &str,
    place: Option<&Place>,
) -> anyhow::Result<Vec<Group>> {
    let snap = state.catalogue.snapshot(state).await?;
    find_in(state, &snap, query, place).await
}

/// [`find`] in the snapshot already read.
pub async fn find_in(
    state: &AppState,
    snap: &Snapshot,
    query: &str,
    place: Option<&Place>,
) -> anyhow::Result<Vec<Group>> {
    let local = match place {
        Some(p) => snap.local(state, &p.insee).await?,
        None => None,
    };
    let hits = snap.index.search(query, 30)?;
    // (item, life situation, relevance)
    let mut items: Vec<(Item, String, f32)> = Vec::new();
    let mut seen_offers = std::collections::HashSet::new();
    // Démarches and services found by their own words come first; competences found are routed
    // after them, in the search's order.
    let (direct, routed): (Vec<_>, Vec<_>) =
        hits.into_iter().partition(|h| !h.key.starts_with("c:"));
    for hit in direct.into_iter().chain(routed) {
        let (kind, id) = hit.key.split_once(':').unwrap_or_default();
        match kind {
            "d" => {
                let Some(o) = id
                    .parse()
                    .ok()
                    .and_then(|i: i64| snap.offers.get(&i).map(|o| (i, o)))
                else {
                    continue;
                };
                if seen_offers.insert(o.0) {
                    let situation =
                        o.1.competence
                            .as_ref()
                            .and_then(|c| snap.competences.get(c))
                            .map(|c| c.situation.clone())
                            .unwrap_or_default();
                    items.push((demarche_item(o.1, place), situation, hit.score));
                }
            }
            "c" => {
                let (Some(c), Some(local)) = (snap.competences.get(id), &local) else {
                    continue;
                };
                let Some(route) = local.routes.get(&c.code) else {
                    continue;
                };
                if route.holder.level == Level::Etat {
                    items.push((
                        Item::Elsewhere {
                            what: c.label.clone(),
                            authority: "Services de l'État".into(),
                            reason: "Cette compétence relève de l'État, pas des collectivités : elle n'est pas traitée sur Guichet.".into(),
                            contact: None,
                            link: Some("https://www.service-public.gouv.fr/".into()),
                        },
                        c.situation.clone(),
                        hit.score,
                    ));
                    continue;
                }
                let offered = route
                    .joined
                    .and_then(|t| snap.by_competence.get(&(c.code.clone(), t)));
                if let Some(offered) = offered {
                    for i in offered {
                        if seen_offers.insert(*i) {
                            items.push((
                                demarche_item(&snap.offers[i], place),
                                c.situation.clone(),
                                hit.score,
                            ));
                        }
                    }
                    continue;
                }
                let name = &route.name;
                let joined = snap.joined(route);
                let (reason, contact) = match joined {
                    Some(t) => (
                        format!("{} utilise Guichet mais ne propose pas encore cette démarche en ligne : contactez ses services.", t.name),
                        [t.contact_phone.clone(), t.contact_email.clone()]
                            .into_iter()
                            .flatten()
                            .reduce(|a, b| format!("{a} — {b}")),
                    ),
                    None => (
                        format!("Pour {}, c'est {name} qui s'en occupe. Cette collectivité ne propose pas encore ses démarches sur Guichet : adressez-vous directement à elle.", local.place.name),
                        None,
                    ),
                };
                items.push((
                    Item::Elsewhere {
                        what: c.label.clone(),
                        authority: name.clone(),
                        reason,
                        contact,
                        link: Some(
                            joined
                                .and_then(|t| t.website.clone())
                                .unwrap_or_else(|| directory_link(&route.holder, name)),
                        ),
                    },
                    c.situation.clone(),
                    hit.score,
                ));
            }
            "s" => {
                if let Some(s) = id.parse().ok().and_then(|i: i64| snap.services.get(&i)) {
                    items.push((
                        Item::National {
                            title: s.title.clone(),
                            description: s.description.clone(),
                            url: s.url.clone(),
                        },
                        s.situation.clone(),
                        hit.score,
                    ));
                }
            }
            _ => {}
        }
    }
    // Among the relevant answers (at least half as good as the best), what is offered to the
    // resident's commune first, then the State's services, then démarches of elsewhere; the
    // search's order within each.
    let best = items.iter().map(|(_, _, s)| *s).fold(0.0f32, f32::max);
    items.sort_by_key(|(i, _, score)| (*score < best / 2.0, i.rank()));
    let mut groups: Vec<Group> = Vec::new();
    for (item, situation, _) in items {
        let label = situation_label(&situation);
        match groups.iter_mut().find(|g| g.label == label) {
            Some(g) => g.items.push(item),
            None => groups.push(Group {
                label,
                items: vec![item],
            }),
        }
    }
    Ok(groups)
}

/// Everything offered on Guichet to a resident of this commune, by every level, grouped by life
/// situation (the catalogue shown when only the commune is given).
pub async fn offered_in(
    state: &AppState,
    snap: &Snapshot,
    place: &Place,
) -> anyhow::Result<Vec<Group>> {
    let Some(local) = snap.local(state, &place.insee).await? else {
        return Ok(Vec::new());
    };
    let offers = local.offered.iter().filter_map(|i| snap.offers.get(i));
    let mut groups: Vec<Group> = guichet_domain::competence::SITUATIONS
        .iter()
        .map(|(_, label)| Group {
            label,
            items: Vec::new(),
        })
        .collect();
    let mut others = Group {
        label: situation_label(""),
        items: Vec::new(),
    };
    for o in offers {
        let situation = o
            .competence
            .as_ref()
            .and_then(|c| snap.competences.get(c))
            .map(|c| c.situation.as_str())
            .unwrap_or("");
        let item = demarche_item(o, Some(place));
        match groups
            .iter_mut()
            .find(|g| g.label == situation_label(situation))
        {
            Some(g) => g.items.push(item),
            None => others.items.push(item),
        }
    }
    groups.push(others);
    groups.retain(|g| !g.items.is_empty());
    Ok(groups)
}

/// Titles that complete what is being typed, for the suggestions of the search field.
pub async fn suggestions(state: &AppState, query: &str) -> anyhow::Result<Vec<String>> {
    let snap = state.catalogue.snapshot(state).await?;
    let mut out = Vec::new();
    for hit in snap.index.search(query, 12)? {
        let (kind, id) = hit.key.split_once(':').unwrap_or_default();
        let title = match kind {
            "d" => id
                .parse()
                .ok()
                .and_then(|i: i64| snap.offers.get(&i))
                .map(|o| o.title.clone()),
            "c" => snap.competences.get(id).map(|c| c.label.clone()),
            "s" => id
                .parse()
                .ok()
                .and_then(|i: i64| snap.services.get(&i))
                .map(|s| s.title.clone()),
            _ => None,
        };
        if let Some(t) = title.filter(|t| !out.contains(t)) {
            out.push(t);
        }
        if out.len() == 8 {
            break;
        }
    }
    Ok(out)
}

/// The number of documents searched (for the metrics and the operator).
pub async fn size(state: &AppState) -> anyhow::Result<usize> {
    Ok(state.catalogue.snapshot(state).await?.index.len())
}

/// Who handles a signalement of this category here (with the competence it falls under), or why
/// nobody on Guichet does (in French, for the resident).
pub async fn route_signalement(
    state: &AppState,
    category: &Category,
    road: Option<RoadKind>,
    place: &Place,
) -> anyhow::Result<Result<(Collectivite, String), String>> {
    let code = match (category.road, road) {
        (true, Some(r)) => r.competence().to_string(),
        _ => category.competence.clone(),
    };
    let snap = state.catalogue.snapshot(state).await?;
    route_in(state, &snap, code, place).await
}

/// [`route_signalement`] with the snapshot already read.
pub async fn route_in(
    state: &AppState,
    snap: &Snapshot,
    code: String,
    place: &Place,
) -> anyhow::Result<Result<(Collectivite, String), String>> {
    if !snap.competences.contains_key(&code) {
        return Ok(Err(
            "Cette catégorie n'est rattachée à aucune compétence connue.".into(),
        ));
    }
    let Some(route) = snap
        .local(state, &place.insee)
        .await?
        .and_then(|l| l.routes.get(&code).cloned())
    else {
        return Ok(Err("Nous ne savons pas qui est compétent ici.".into()));
    };
    if route.holder.level == Level::Etat {
        return Ok(Err("Les routes nationales et les autoroutes relèvent de l'État, pas des collectivités : signalez le problème à la direction interdépartementale des routes (DIR) de votre région, ou appelez le 112 en cas de danger immédiat.".into()));
    }
    match snap.joined(&route) {
        Some(t) => Ok(Ok((t.clone(), code))),
        None => Ok(Err(format!("À {}, c'est {} qui s'occupe de ce problème ; cette collectivité ne reçoit pas encore de signalements sur Guichet : contactez-la directement.", place.name, route.name))),
    }
}

impl Snapshot {
    /// The answer to `query` in `commune` (empty: none given), worked out by `answer` the first
    /// time it is asked in this generation.
    pub async fn answer(
        &self,
        query: &str,
        commune: &str,
        answer: impl std::future::Future<Output = anyhow::Result<Answer>>,
    ) -> anyhow::Result<Arc<Answer>> {
        let key = format!("{}\u{0}{commune}", guichet_domain::text::fold(query));
        if let Some(a) = self.answers.get(&key) {
            return Ok(a);
        }
        let a = Arc::new(answer.await?);
        self.answers.put(&key, a.clone());
        Ok(a)
    }

    /// The signalement categories offered on the platform (the platform's first, then the
    /// collectivités' own).
    pub fn categories(&self) -> &[Category] {
        &self.categories
    }

    /// Every collectivité: the operator first, then by level and name.
    pub fn collectivites(&self) -> &[Arc<Collectivite>] {
        &self.ordered
    }

    /// Every published démarche, by id.
    pub fn offers(&self) -> impl ExactSizeIterator<Item = &Offer> {
        self.offers.values()
    }

    /// The published démarches of a collectivité, by id.
    pub fn offers_of(&self, tenant_id: i64) -> impl Iterator<Item = &Offer> {
        self.by_tenant
            .get(&tenant_id)
            .into_iter()
            .flatten()
            .filter_map(|i| self.offers.get(i))
    }

    /// The shared templates in use, by id, with how many collectivités publish a démarche made
    /// from each: once per snapshot (the région's observatoire compares them).
    pub fn adoptions(&self) -> &[Adoption] {
        self.adoptions.get_or_init(|| {
            let mut by_template: std::collections::BTreeMap<
                i64,
                (&str, std::collections::HashSet<i64>),
            > = Default::default();
            for o in self.offers.values() {
                if let Some(t) = o.template_id {
                    by_template
                        .entry(t)
                        .or_insert_with(|| (o.title.as_str(), Default::default()))
                        .1
                        .insert(o.collectivite.id);
                }
            }
            by_template
                .into_iter()
                .map(|(template_id, (title, c))| Adoption {
                    template_id,
                    title: title.to_string(),
                    collectivites: c.len(),
                })
                .collect()
        })
    }

    /// The collectivités that publish démarches, by name (then address).
    pub fn offering_by_name(&self) -> &[Arc<Collectivite>] {
        self.offering_by_name.get_or_init(|| {
            let mut offering: Vec<Arc<Collectivite>> = self
                .by_tenant
                .keys()
                .filter_map(|t| self.collectivites.get(t).cloned())
                .collect();
            offering.sort_by(|a, b| (&a.name, &a.slug).cmp(&(&b.name, &b.slug)));
            offering
        })
    }

    /// (code, label) of the départements where collectivités are.
    pub fn departements(&self) -> &[(String, String)] {
        &self.departements
    }

    /// The search generation this snapshot was built for.
    pub fn generation(&self) -> i64 {
        self.generation
    }

    pub fn collectivite(&self, id: i64) -> Option<&Collectivite> {
        self.collectivites.get(&id).map(|t| t.as_ref())
    }

    /// Whether collectivité `id` is one of the levels of this commune.
    pub fn covers(&self, id: i64, chain: &Chain) -> bool {
        self.collectivites
            .get(&id)
            .is_some_and(|t| collectivite_covers(t, chain))
    }
}
