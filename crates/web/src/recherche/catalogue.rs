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
    pub collectivite: Collectivite,
    pub slug: String,
    pub title: String,
    pub description: String,
    pub competence: Option<String>,
}

/// The index and what its keys refer to, for one generation of the searched data.
pub struct Snapshot {
    generation: i64,
    index: SearchIndex,
    offers: HashMap<i64, Offer>,
    competences: HashMap<String, guichet_domain::competence::Competence>,
    services: HashMap<i64, competence::NationalService>,
    overrides: Vec<guichet_domain::competence::Override>,
}

/// Kept in the application state; rebuilt when the searched data changes (on any node).
#[derive(Default)]
pub struct Catalogue {
    current: tokio::sync::RwLock<Option<Arc<Snapshot>>>,
}

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

/// Who holds this competence for a resident of that commune, and its collectivité if it joined
/// the platform. The one place where routing meets the collectivités.
pub async fn holder(
    state: &AppState,
    competence: &guichet_domain::competence::Competence,
    overrides: &[guichet_domain::competence::Override],
    chain: &Chain,
) -> anyhow::Result<Option<(Holder, Option<Collectivite>)>> {
    let Some(h) = competent(competence, overrides, chain) else {
        return Ok(None);
    };
    let joined = match h.level.entity_kind() {
        Some(kind) => collectivite::by_entity(&state.db, kind, &h.code).await?,
        None => None,
    };
    Ok(Some((h, joined)))
}

impl Catalogue {
    /// The current snapshot, rebuilt first if the searched data changed since.
    pub async fn snapshot(&self, state: &AppState) -> anyhow::Result<Arc<Snapshot>> {
        let generation = guichet_store::recherche::generation(&state.db).await?;
        if let Some(s) = self.current.read().await.as_ref() {
            if s.generation == generation {
                return Ok(s.clone());
            }
        }
        let mut slot = self.current.write().await;
        if let Some(s) = slot.as_ref() {
            if s.generation == generation {
                return Ok(s.clone());
            }
        }
        let fresh = Arc::new(build(state, generation).await?);
        *slot = Some(fresh.clone());
        Ok(fresh)
    }
}

async fn build(state: &AppState, generation: i64) -> anyhow::Result<Snapshot> {
    let collectivites: HashMap<i64, Collectivite> = collectivite::list(&state.db)
        .await?
        .into_iter()
        .map(|t| (t.id, t))
        .collect();
    let mut docs = Vec::new();
    let mut offers = HashMap::new();
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
        offers.insert(
            d.id,
            Offer {
                collectivite: t.clone(),
                slug: d.slug.clone(),
                title: def.title.clone(),
                description: def.description.clone(),
                competence: def.competence.clone(),
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
    Ok(Snapshot {
        generation,
        index,
        offers,
        competences,
        services,
        overrides: competence::overrides(&state.db).await?,
    })
}

/// The commune a resident lives in, as the catalogue needs it.
#[derive(Debug, Clone)]
pub struct Place {
    pub insee: String,
    pub name: String,
    pub chain: Chain,
}

pub async fn place(state: &AppState, insee: &str) -> anyhow::Result<Option<Place>> {
    let Some(c) = guichet_store::territoire::commune_by_insee(&state.db, insee).await? else {
        return Ok(None);
    };
    Ok(competence::chain(&state.db, insee)
        .await?
        .map(|chain| Place {
            insee: c.insee,
            name: c.nom,
            chain,
        }))
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
                let (Some(c), Some(p)) = (snap.competences.get(id), place) else {
                    continue;
                };
                let Some((holder, joined)) = holder(state, c, &snap.overrides, &p.chain).await?
                else {
                    continue;
                };
                if holder.level == Level::Etat {
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
                let mut offered: Vec<(i64, &Offer)> = snap
                    .offers
                    .iter()
                    .filter(|(_, o)| {
                        o.competence.as_deref() == Some(c.code.as_str())
                            && joined.as_ref().is_some_and(|t| t.id == o.collectivite.id)
                    })
                    .map(|(i, o)| (*i, o))
                    .collect();
                offered.sort_by(|a, b| a.1.title.cmp(&b.1.title));
                if !offered.is_empty() {
                    for (i, o) in offered {
                        if seen_offers.insert(i) {
                            items.push((demarche_item(o, place), c.situation.clone(), hit.score));
                        }
                    }
                    continue;
                }
                let name = competence::holder_name(&state.db, &holder).await?;
                let (reason, contact) = match &joined {
                    Some(t) => (
                        format!("{} utilise Guichet mais ne propose pas encore cette démarche en ligne : contactez ses services.", t.name),
                        [t.contact_phone.clone(), t.contact_email.clone()]
                            .into_iter()
                            .flatten()
                            .reduce(|a, b| format!("{a} — {b}")),
                    ),
                    None => (
                        format!("Pour {}, c'est {name} qui s'en occupe. Cette collectivité ne propose pas encore ses démarches sur Guichet : adressez-vous directement à elle.", p.name),
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
                                .and_then(|t| t.website)
                                .unwrap_or_else(|| directory_link(&holder, &name)),
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
pub async fn offered_in(state: &AppState, place: &Place) -> anyhow::Result<Vec<Group>> {
    let snap = state.catalogue.snapshot(state).await?;
    let mut offers: Vec<&Offer> = snap
        .offers
        .values()
        .filter(|o| collectivite_covers(&o.collectivite, &place.chain))
        .collect();
    offers.sort_by(|a, b| a.title.cmp(&b.title));
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
    let Some(c) = competence::get(&state.db, &code).await? else {
        return Ok(Err(
            "Cette catégorie n'est rattachée à aucune compétence connue.".into(),
        ));
    };
    let overrides = competence::overrides(&state.db).await?;
    let Some((holder, joined)) =
        crate::recherche::catalogue::holder(state, &c, &overrides, &place.chain).await?
    else {
        return Ok(Err("Nous ne savons pas qui est compétent ici.".into()));
    };
    if holder.level == Level::Etat {
        return Ok(Err("Les routes nationales et les autoroutes relèvent de l'État, pas des collectivités : signalez le problème à la direction interdépartementale des routes (DIR) de votre région, ou appelez le 112 en cas de danger immédiat.".into()));
    }
    match joined {
        Some(t) => Ok(Ok((t, code))),
        None => {
            let name = competence::holder_name(&state.db, &holder).await?;
            Ok(Err(format!("À {}, c'est {name} qui s'occupe de ce problème ; cette collectivité ne reçoit pas encore de signalements sur Guichet : contactez-la directement.", place.name)))
        }
    }
}
