//! The observatoire of local démarches (`/observatoire`): the figures of public action of the
//! région, of each collectivité and of each démarche over the last twelve months (volumes by
//! channel, processing times, decisions within the legal deadline, tacit decisions, corrections
//! asked, signalements resolved), the grid of the national observatoire applied to every
//! published démarche, and the comparison of the collectivités that adopted the same shared
//! template. Every figure is read from aggregates kept with each change; counts under 5 are
//! withheld; charts are SVG drawn here, each with its table.

pub mod admin;
pub mod graphique;
pub mod satisfaction;

use crate::error::AppError;
use crate::layout::Layout;
use crate::page::html;
use crate::recherche::catalogue::Offer;
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use graphique::{count, empile, Graphique, Serie};
use guichet_domain::pilotage::grille::{self, Critere, Mesures, Service};
use guichet_domain::pilotage::{
    month_of, months, months_before, percent, quantile, share, Canal, Comptes, SMALL,
};
use guichet_store::collectivite::Collectivite;
use guichet_store::pilotage::{self as store, Ligne, Perimetre};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// The automatic accessibility check of the platform's pages, written by the browser suite
/// (`tests/browser`): pages checked with axe-core and violations found.
const AXE: &str = include_str!("axe.json");

fn axe() -> Option<(i64, i64)> {
    let v: serde_json::Value = serde_json::from_str(AXE).ok()?;
    Some((v["pages"].as_i64()?, v["violations"].as_i64()?))
}

/// The twelve months shown: this one and the eleven before, Paris calendar.
pub(crate) struct Periode {
    pub first: String,
    pub months: Vec<String>,
    pub label: String,
}

pub(crate) fn periode(now: i64) -> Periode {
    let last = month_of(now);
    let first = months_before(&last, 11);
    Periode {
        label: format!(
            "de {} à {}",
            graphique::month_label(&first),
            graphique::month_label(&last)
        ),
        months: months(&first, &last),
        first,
    }
}

/// A published démarche as the grid and the tables name it.
pub(crate) struct Offre {
    pub tenant_id: i64,
    pub id: i64,
    pub slug: String,
    pub title: String,
    pub collectivite: String,
    pub collectivite_slug: String,
    pub franceconnect: bool,
    pub template_id: Option<i64>,
}

fn offre(o: &Offer) -> Offre {
    Offre {
        tenant_id: o.collectivite.id,
        id: o.id,
        slug: o.slug.clone(),
        title: o.title.clone(),
        collectivite: o.collectivite.name.clone(),
        collectivite_slug: o.collectivite.slug.clone(),
        franceconnect: o.franceconnect,
        template_id: o.template_id,
    }
}

/// The published démarches of a collectivité, from the catalogue (read once per change of
/// what is published).
async fn offres_of(state: &AppState, c: &Collectivite) -> anyhow::Result<Vec<Offre>> {
    let snap = state.catalogue.snapshot(state).await?;
    Ok(snap.offers_of(c.id).map(offre).collect())
}

/// "12 jours", "1 jour", "—".
fn days(d: Option<i64>) -> String {
    match d {
        None => "—".into(),
        Some(1) => "1 jour".into(),
        Some(730) => "730 jours ou plus".into(),
        Some(n) => format!("{n} jours"),
    }
}

fn share_text(part: i64, whole: i64) -> String {
    share(part, whole)
        .map(percent)
        .unwrap_or_else(|| "—".into())
}

/// The figures of a perimeter over the period, as shown.
pub(crate) struct Synthese {
    pub deposited: String,
    pub by_canal: Vec<(&'static str, String, String)>,
    pub decided: String,
    pub accepted: String,
    pub refused: String,
    pub closed: String,
    pub tacit: String,
    pub corrections: String,
    pub within: String,
    pub median: String,
    pub p90: String,
    pub satisfaction: String,
}

fn totals<'a>(lignes: impl Iterator<Item = &'a Ligne>) -> (Comptes, [i64; 3]) {
    let (mut all, mut by_canal) = (Comptes::default(), [0i64; 3]);
    for l in lignes {
        all.add(&l.comptes);
        let i = Canal::ALL.iter().position(|c| *c == l.canal).unwrap_or(0);
        by_canal[i] += l.comptes.deposited;
    }
    (all, by_canal)
}

fn synthese(all: &Comptes, by_canal: [i64; 3], histogram: &[(i64, i64)]) -> Synthese {
    let decided: i64 = histogram.iter().map(|(_, n)| n).sum();
    let quantiles = decided >= SMALL;
    Synthese {
        deposited: count(all.deposited),
        by_canal: Canal::ALL
            .iter()
            .zip(by_canal)
            .map(|(c, n)| (c.label(), count(n), share_text(n, all.deposited)))
            .collect(),
        decided: count(all.decided),
        accepted: count(all.accepted),
        refused: count(all.refused),
        closed: count(all.closed),
        tacit: count(all.tacit),
        corrections: count(all.corrections),
        within: share_text(all.within_deadline, all.with_deadline),
        median: days(quantiles.then(|| quantile(histogram, 0.5)).flatten()),
        p90: days(quantiles.then(|| quantile(histogram, 0.9)).flatten()),
        satisfaction: if all.ratings >= grille::MIN_RATINGS {
            format!(
                "{} / 10 ({} avis)",
                format!("{:.1}", all.rating_sum as f64 / all.ratings as f64).replace('.', ","),
                all.ratings
            )
        } else {
            format!("moins de {} avis", grille::MIN_RATINGS)
        },
    }
}

fn merged(h: &HashMap<(i64, i64), Vec<(i64, i64)>>) -> Vec<(i64, i64)> {
    let mut all: BTreeMap<i64, i64> = BTreeMap::new();
    for v in h.values() {
        for (b, n) in v {
            *all.entry(*b).or_default() += n;
        }
    }
    all.into_iter().collect()
}

/// The charts of a perimeter: deposits by channel and, when `decisions`, decisions by outcome,
/// per month. (Pages that also list démarches or collectivités show the first only, to stay
/// light.)
fn charts(p: &Periode, lignes: &[Ligne], decisions_too: bool) -> Vec<Graphique> {
    let index: HashMap<&str, usize> = p
        .months
        .iter()
        .enumerate()
        .map(|(i, m)| (m.as_str(), i))
        .collect();
    let n = p.months.len();
    let mut canaux = vec![vec![0i64; n]; 3];
    let mut decisions = vec![vec![0i64; n]; 3];
    for l in lignes {
        let Some(&i) = index.get(l.month.as_str()) else {
            continue;
        };
        let c = Canal::ALL.iter().position(|c| *c == l.canal).unwrap_or(0);
        canaux[c][i] += l.comptes.deposited;
        decisions[0][i] += l.comptes.accepted;
        decisions[1][i] += l.comptes.refused;
        decisions[2][i] += l.comptes.closed;
    }
    let [en_ligne, aidant, guichet] = <[Vec<i64>; 3]>::try_from(canaux).unwrap_or_default();
    let [acceptes, refuses, clos] = <[Vec<i64>; 3]>::try_from(decisions).unwrap_or_default();
    let mut charts = vec![
        empile(
            "graphique-depots",
            "Dossiers déposés par mois, selon le canal".into(),
            &p.months,
            vec![
                Serie {
                    label: "En ligne",
                    class: "serie-1",
                    values: en_ligne,
                },
                Serie {
                    label: "Avec un aidant",
                    class: "serie-2",
                    values: aidant,
                },
                Serie {
                    label: "Au guichet",
                    class: "serie-3",
                    values: guichet,
                },
            ],
        ),
        empile(
            "graphique-decisions",
            "Décisions par mois".into(),
            &p.months,
            vec![
                Serie {
                    label: "Acceptés",
                    class: "serie-1",
                    values: acceptes,
                },
                Serie {
                    label: "Refusés",
                    class: "serie-2",
                    values: refuses,
                },
                Serie {
                    label: "Classés sans suite",
                    class: "serie-3",
                    values: clos,
                },
            ],
        ),
    ];
    charts.truncate(if decisions_too { 2 } else { 1 });
    charts
}

/// A démarche's line of the grid.
pub(crate) struct LigneGrille {
    pub offre: Offre,
    pub criteres: Vec<Critere>,
}

/// The grid of the démarches offered, from the figures of the period.
fn grid(
    offres: Vec<Offre>,
    lignes: &[Ligne],
    accessibility: &HashMap<i64, (i64, String)>,
) -> Vec<LigneGrille> {
    let mut by_demarche: HashMap<(i64, i64), (Comptes, i64)> = HashMap::new();
    for l in lignes {
        let e = by_demarche.entry((l.tenant_id, l.demarche_id)).or_default();
        e.0.add(&l.comptes);
        if l.canal == Canal::EnLigne {
            e.1 += l.comptes.deposited;
        }
    }
    let axe = axe();
    offres
        .into_iter()
        .map(|o| {
            let (c, online) = by_demarche
                .get(&(o.tenant_id, o.id))
                .copied()
                .unwrap_or_default();
            let m = Mesures {
                published: true,
                franceconnect: o.franceconnect,
                ratings: c.ratings,
                rating_sum: c.rating_sum,
                measured: c.measured,
                asked_again: c.asked_again,
                deposited_online: online,
                deposited: c.deposited,
                accessibility_rate: accessibility.get(&o.tenant_id).map(|a| a.0),
                axe,
            };
            LigneGrille {
                criteres: grille::grille(&m),
                offre: o,
            }
        })
        .collect()
}

/// The figures of each démarche of a collectivité (or of each collectivité for a template).
pub(crate) struct LigneDemarche {
    pub label: String,
    pub href: String,
    pub deposited: String,
    pub decided: String,
    pub within: String,
    pub median: String,
    pub p90: String,
    pub tacit: String,
    pub corrections: String,
    pub satisfaction: String,
}

fn per_demarche(
    offres: &[Offre],
    lignes: &[Ligne],
    histograms: &HashMap<(i64, i64), Vec<(i64, i64)>>,
    label: impl Fn(&Offre) -> String,
) -> Vec<LigneDemarche> {
    offres
        .iter()
        .map(|o| {
            let (c, by_canal) = totals(
                lignes
                    .iter()
                    .filter(|l| (l.tenant_id, l.demarche_id) == (o.tenant_id, o.id)),
            );
            let h = histograms
                .get(&(o.tenant_id, o.id))
                .cloned()
                .unwrap_or_default();
            let s = synthese(&c, by_canal, &h);
            LigneDemarche {
                label: label(o),
                href: format!("/observatoire/{}/{}", o.collectivite_slug, o.slug),
                deposited: s.deposited,
                decided: s.decided,
                within: s.within,
                median: s.median,
                p90: s.p90,
                tacit: s.tacit,
                corrections: s.corrections,
                satisfaction: s.satisfaction,
            }
        })
        .collect()
}

async fn service_criteria(state: &AppState, p: &Periode) -> anyhow::Result<Vec<Critere>> {
    let (requests, failed, total_ms) =
        store::service(&state.db, &format!("{}-01", p.first)).await?;
    Ok(grille::service(&Service {
        requests,
        failed,
        total_ms,
        axe: axe(),
    }))
}

/// Signalements by category and commune, as shown.
pub(crate) struct LigneSignalement {
    pub category: String,
    pub commune: String,
    pub reported: String,
    pub resolved: String,
    pub share: String,
    pub mean: String,
}

async fn signalement_lines(
    state: &AppState,
    tenant: Option<i64>,
    p: &Periode,
) -> anyhow::Result<Vec<LigneSignalement>> {
    let rows = store::signalements(&state.db, tenant, &p.first).await?;
    let labels = guichet_store::signalement::category_labels(&state.db).await?;
    let codes: Vec<String> = rows.iter().map(|r| r.1.clone()).collect();
    let names = guichet_store::territoire::commune_names(&state.db, &codes).await?;
    Ok(rows
        .into_iter()
        .filter(|(_, _, c)| c.reported > 0)
        .map(|(category, commune, c)| LigneSignalement {
            category: labels.get(&category).cloned().unwrap_or_default(),
            commune: names.get(&commune).cloned().unwrap_or(commune),
            reported: count(c.reported),
            resolved: count(c.resolved),
            share: share_text(c.resolved, c.reported),
            mean: if c.resolved >= SMALL {
                days(Some(c.resolution_days / c.resolved))
            } else {
                "—".into()
            },
        })
        .collect())
}

#[derive(Deserialize, Default)]
pub struct PageQuery {
    #[serde(default)]
    page: Option<usize>,
    /// The page of the table by collectivité.
    #[serde(default)]
    collectivites: Option<usize>,
}

/// Collectivités a page of the région's table.
const COLLECTIVITES_PAGE: usize = 50;

const GRID_PAGE: usize = 10;

/// Collectivités of the région, each with its totals.
pub(crate) struct LigneCollectivite {
    pub name: String,
    pub slug: String,
    pub deposited: String,
    pub within: String,
    pub median: String,
}

/// The collectivités shown, each with its totals over the period.
fn per_collectivite<'a>(
    shown: impl Iterator<Item = &'a Collectivite>,
    digest: &RegionDigest,
) -> Vec<LigneCollectivite> {
    shown
        .map(|c| {
            let (comptes, h) = digest
                .by_tenant
                .get(&c.id)
                .map(|(comptes, h)| (*comptes, h.as_slice()))
                .unwrap_or_default();
            let s = synthese(&comptes, [0; 3], h);
            LigneCollectivite {
                name: c.name.clone(),
                slug: c.slug.clone(),
                deposited: s.deposited,
                within: s.within,
                median: s.median,
            }
        })
        .collect()
}

/// Templates adopted by at least two collectivités: (id, title, adopters).
pub(crate) struct Comparable {
    pub id: i64,
    pub title: String,
    pub adopters: usize,
}

#[derive(Template)]
#[template(path = "pilotage/region.html")]
struct RegionPage {
    layout: Layout,
    periode: String,
    synthese: Synthese,
    charts: Vec<Graphique>,
    service: Vec<Critere>,
    collectivites: Vec<LigneCollectivite>,
    /// The table by collectivité's page, its number of pages and of collectivités.
    cpage: usize,
    cpages: usize,
    ctotal: usize,
    comparables: Vec<Comparable>,
    grid: Vec<LigneGrille>,
    page: usize,
    pages: usize,
    total: usize,
}

/// The région's figures as its page uses them, worked out once per reading.
#[derive(Default)]
pub(crate) struct RegionDigest {
    /// Summed over every collectivité, by month and channel: what the charts draw.
    by_month: Vec<Ligne>,
    all: Comptes,
    by_canal: [i64; 3],
    /// The decision delays' histogram of the whole région.
    delays: Vec<(i64, i64)>,
    /// Each collectivité's totals and delays' histogram.
    by_tenant: HashMap<i64, (Comptes, Vec<(i64, i64)>)>,
}

impl RegionDigest {
    /// From the figures and delays summed by collectivité: one pass over each.
    fn of(lignes: Vec<Ligne>, histograms: HashMap<(i64, i64), Vec<(i64, i64)>>) -> Self {
        let delays = merged(&histograms);
        let mut by_tenant: HashMap<i64, (Comptes, BTreeMap<i64, i64>)> = HashMap::new();
        let mut by_month: BTreeMap<(String, Canal), Comptes> = BTreeMap::new();
        for l in lignes {
            by_tenant.entry(l.tenant_id).or_default().0.add(&l.comptes);
            by_month
                .entry((l.month, l.canal))
                .or_default()
                .add(&l.comptes);
        }
        for ((tenant, _), v) in histograms {
            let h = &mut by_tenant.entry(tenant).or_default().1;
            for (b, n) in v {
                *h.entry(b).or_default() += n;
            }
        }
        let by_month: Vec<Ligne> = by_month
            .into_iter()
            .map(|((month, canal), comptes)| Ligne {
                tenant_id: 0,
                demarche_id: 0,
                month,
                canal,
                comptes,
            })
            .collect();
        // The région's totals from its lines by month: a few dozen, not every collectivité's.
        let (all, by_canal) = totals(by_month.iter());
        Self {
            by_month,
            all,
            by_canal,
            delays,
            by_tenant: by_tenant
                .into_iter()
                .map(|(t, (c, h))| (t, (c, h.into_iter().collect())))
                .collect(),
        }
    }
}

/// The région's figures summed by collectivité, read at most once a minute by each node:
/// summing a région's figures takes about a second at ten million dossiers, and a public
/// statistics page may be a minute behind. The région's totals and each page of the table by
/// collectivité are added up from them (reading a page's collectivités on each request took 60
/// ms at ten million dossiers). When they are a minute old, one request reads them again and
/// the others answer from the previous minute's meanwhile; only the first reading of a month
/// makes everyone wait.
#[derive(Default)]
pub struct RegionFigures {
    /// The last sums read: when, from which month, what.
    last: std::sync::RwLock<Option<(std::time::Instant, String, Arc<RegionDigest>)>>,
    /// Held by the request that reads them again.
    reading: tokio::sync::Mutex<()>,
}

const REGION_FIGURES_AGE: std::time::Duration = std::time::Duration::from_secs(60);

impl RegionFigures {
    async fn get(
        &self,
        db: &guichet_store::Db,
        from_month: &str,
    ) -> anyhow::Result<Arc<RegionDigest>> {
        if let Some((fresh, sums)) = self.last(from_month) {
            if fresh {
                return Ok(sums);
            }
            let Ok(reading) = self.reading.try_lock() else {
                // Another request reads them again: the previous minute's meanwhile.
                return Ok(sums);
            };
            return self.read(db, from_month, reading).await;
        }
        let reading = self.reading.lock().await;
        self.read(db, from_month, reading).await
    }

    /// The last sums if they start at `from_month`, and whether they are less than a minute old.
    fn last(&self, from_month: &str) -> Option<(bool, Arc<RegionDigest>)> {
        let last = self.last.read().ok()?;
        let (at, month, sums) = last.as_ref()?;
        (month == from_month).then(|| (at.elapsed() < REGION_FIGURES_AGE, sums.clone()))
    }

    /// Reads the sums and keeps them, unless the request that held `reading` before just did.
    async fn read(
        &self,
        db: &guichet_store::Db,
        from_month: &str,
        _reading: tokio::sync::MutexGuard<'_, ()>,
    ) -> anyhow::Result<Arc<RegionDigest>> {
        if let Some((true, sums)) = self.last(from_month) {
            return Ok(sums);
        }
        let sums = Arc::new(RegionDigest::of(
            store::lignes_by_collectivite(db, from_month).await?,
            store::delays_by_collectivite(db, from_month).await?,
        ));
        if let Ok(mut last) = self.last.write() {
            *last = Some((
                std::time::Instant::now(),
                from_month.to_string(),
                sums.clone(),
            ));
        }
        Ok(sums)
    }
}

/// `/observatoire`: the région.
pub async fn region(
    State(state): State<AppState>,
    visitor: crate::auth::Visitor,
    Query(q): Query<PageQuery>,
) -> Result<Response, AppError> {
    let p = periode(guichet_store::now_ms());
    // The région's figures summed by collectivité (once a minute); the démarches' only for
    // those shown: a page of constant cost, whatever the number of démarches.
    let digest = state.region_figures.get(&state.db, &p.first).await?;
    let snap = state.catalogue.snapshot(&state).await?;
    let table = crate::page::paged(
        snap.offering_by_name().iter().map(|c| c.as_ref()),
        q.collectivites,
        COLLECTIVITES_PAGE,
    );
    let collectivites = per_collectivite(table.items.into_iter(), &digest);
    let comparables = snap
        .adoptions()
        .iter()
        .filter(|a| a.collectivites >= 2)
        .map(|a| Comparable {
            id: a.template_id,
            title: a.title.clone(),
            adopters: a.collectivites,
        })
        .collect();
    let grid_page = crate::page::paged(snap.offers(), q.page, GRID_PAGE);
    let shown: Vec<Offre> = grid_page.items.into_iter().map(offre).collect();
    let accessibility = store::accessibility(&state.db).await?;
    let ids: Vec<(i64, i64)> = shown.iter().map(|o| (o.tenant_id, o.id)).collect();
    let shown_lignes = store::lignes_of_demarches(&state.db, &ids, &p.first).await?;
    html(&RegionPage {
        layout: Layout::for_visitor(&state, &visitor).await,
        synthese: synthese(&digest.all, digest.by_canal, &digest.delays),
        charts: charts(&p, &digest.by_month, false),
        service: service_criteria(&state, &p).await?,
        grid: grid(shown, &shown_lignes, &accessibility),
        periode: p.label,
        collectivites,
        cpage: table.page,
        cpages: table.pages,
        ctotal: table.total,
        comparables,
        page: grid_page.page,
        pages: grid_page.pages,
        total: grid_page.total,
    })
}

#[derive(Template)]
#[template(path = "pilotage/collectivite.html")]
struct CollectivitePage {
    layout: Layout,
    collectivite: Collectivite,
    periode: String,
    synthese: Synthese,
    charts: Vec<Graphique>,
    service: Vec<Critere>,
    demarches: Vec<LigneDemarche>,
    grid: Vec<LigneGrille>,
    signalements: Vec<LigneSignalement>,
    audit: Option<(i64, String)>,
}

/// `/observatoire/{collectivite}`.
pub async fn collectivite(
    State(state): State<AppState>,
    visitor: crate::auth::Visitor,
    Path(slug): Path<String>,
) -> Result<Response, AppError> {
    let Some(c) = guichet_store::collectivite::by_slug(&state.db, &slug).await? else {
        return Ok(crate::page::not_found(State(state)).await);
    };
    let p = periode(guichet_store::now_ms());
    let scope = Perimetre::Collectivite(c.id);
    let lignes = store::lignes(&state.db, scope, &p.first).await?;
    let histograms = store::delays(&state.db, scope, &p.first).await?;
    let (all, by_canal) = totals(lignes.iter());
    let offres = offres_of(&state, &c).await?;
    let accessibility = store::accessibility(&state.db).await?;
    html(&CollectivitePage {
        layout: Layout::for_visitor(&state, &visitor).await,
        synthese: synthese(&all, by_canal, &merged(&histograms)),
        charts: charts(&p, &lignes, false),
        service: service_criteria(&state, &p).await?,
        demarches: per_demarche(&offres, &lignes, &histograms, |o| o.title.clone()),
        grid: grid(offres, &lignes, &accessibility),
        signalements: signalement_lines(&state, Some(c.id), &p).await?,
        audit: accessibility.get(&c.id).cloned(),
        periode: p.label,
        collectivite: c,
    })
}

#[derive(Template)]
#[template(path = "pilotage/demarche.html")]
struct DemarchePage {
    layout: Layout,
    offre: Offre,
    periode: String,
    synthese: Synthese,
    charts: Vec<Graphique>,
    criteres: Vec<Critere>,
    service: Vec<Critere>,
}

/// `/observatoire/{collectivite}/{demarche}`.
pub async fn demarche(
    State(state): State<AppState>,
    visitor: crate::auth::Visitor,
    Path((slug, demarche)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let Some(c) = guichet_store::collectivite::by_slug(&state.db, &slug).await? else {
        return Ok(crate::page::not_found(State(state)).await);
    };
    let Some(offre) = offres_of(&state, &c)
        .await?
        .into_iter()
        .find(|o| o.slug == demarche)
    else {
        return Ok(crate::page::not_found(State(state)).await);
    };
    let p = periode(guichet_store::now_ms());
    let scope = Perimetre::Demarche(c.id, offre.id);
    let lignes = store::lignes(&state.db, scope, &p.first).await?;
    let histograms = store::delays(&state.db, scope, &p.first).await?;
    let (all, by_canal) = totals(lignes.iter());
    let accessibility = store::accessibility(&state.db).await?;
    let mut line = grid(vec![offre], &lignes, &accessibility);
    let Some(LigneGrille { offre, criteres }) = line.pop() else {
        return Ok(crate::page::not_found(State(state)).await);
    };
    html(&DemarchePage {
        layout: Layout::for_visitor(&state, &visitor).await,
        synthese: synthese(&all, by_canal, &merged(&histograms)),
        charts: charts(&p, &lignes, true),
        service: service_criteria(&state, &p).await?,
        periode: p.label,
        offre,
        criteres,
    })
}

#[derive(Template)]
#[template(path = "pilotage/modele.html")]
struct ModelePage {
    layout: Layout,
    title: String,
    periode: String,
    lines: Vec<LigneDemarche>,
}

/// `/observatoire/modeles/{id}`: the collectivités that adopted one shared template, compared.
pub async fn modele(
    State(state): State<AppState>,
    visitor: crate::auth::Visitor,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let offres: Vec<Offre> = state
        .catalogue
        .snapshot(&state)
        .await?
        .offers()
        .filter(|o| o.template_id == Some(id))
        .map(offre)
        .collect();
    let Some(title) = offres.first().map(|o| o.title.clone()) else {
        return Ok(crate::page::not_found(State(state)).await);
    };
    let p = periode(guichet_store::now_ms());
    let lignes = store::lignes(&state.db, Perimetre::Modele(id), &p.first).await?;
    let histograms = store::delays(&state.db, Perimetre::Modele(id), &p.first).await?;
    html(&ModelePage {
        layout: Layout::for_visitor(&state, &visitor).await,
        lines: per_demarche(&offres, &lignes, &histograms, |o| o.collectivite.clone()),
        periode: p.label,
        title,
    })
}

#[cfg(test)]
mod region_figures_tests {
    use super::*;

    #[test]
    fn the_digest_adds_up_the_region_by_month_and_each_collectivite_apart() {
        let ligne = |tenant_id, demarche_id, month: &str, canal, deposited| Ligne {
            tenant_id,
            demarche_id,
            month: month.into(),
            canal,
            comptes: Comptes {
                deposited,
                ..Default::default()
            },
        };
        let digest = RegionDigest::of(
            vec![
                ligne(1, 10, "2026-11", Canal::EnLigne, 3),
                ligne(2, 20, "2026-11", Canal::EnLigne, 4),
                ligne(2, 21, "2026-11", Canal::Guichet, 5),
                ligne(1, 10, "2026-12", Canal::EnLigne, 7),
            ],
            HashMap::from([
                ((1, 10), vec![(2, 1), (5, 2)]),
                ((2, 20), vec![(2, 3)]),
                ((2, 21), vec![(9, 1)]),
            ]),
        );
        assert_eq!(digest.all.deposited, 19);
        let by_month: Vec<(&str, Canal, i64)> = digest
            .by_month
            .iter()
            .map(|l| (l.month.as_str(), l.canal, l.comptes.deposited))
            .collect();
        assert_eq!(
            by_month,
            [
                ("2026-11", Canal::EnLigne, 7),
                ("2026-11", Canal::Guichet, 5),
                ("2026-12", Canal::EnLigne, 7),
            ]
        );
        assert_eq!(digest.delays, [(2, 4), (5, 2), (9, 1)]);
        assert_eq!(digest.by_tenant[&1].0.deposited, 10);
        assert_eq!(
            digest.by_tenant[&2],
            (
                Comptes {
                    deposited: 9,
                    ..Default::default()
                },
                vec![(2, 3), (9, 1)]
            )
        );
    }

    #[tokio::test]
    async fn a_minute_old_reading_answers_while_one_request_reads_again() {
        // A database without the platform's tables: any reading of the figures fails.
        let db = guichet_store::Db::connect("sqlite::memory:", &Default::default())
            .await
            .expect("database");
        let figures = RegionFigures::default();
        let old: Arc<RegionDigest> = Arc::default();
        let at = std::time::Instant::now()
            .checked_sub(REGION_FIGURES_AGE * 2)
            .expect("uptime");
        *figures.last.write().expect("lock") = Some((at, "2026-01".into(), old.clone()));
        // Another request is reading them again: the previous sums, without waiting.
        let reading = figures.reading.lock().await;
        let sums = figures.get(&db, "2026-01").await.expect("previous sums");
        assert!(Arc::ptr_eq(&sums, &old));
        drop(reading);
        // Nobody is: this request reads them (and finds no table here).
        assert!(figures.get(&db, "2026-01").await.is_err());
        // Another month's: never the previous month's sums.
        let reading = figures.reading.lock().await;
        let waiting = tokio::time::timeout(
            std::time::Duration::from_millis(100),
            figures.get(&db, "2026-02"),
        )
        .await;
        assert!(waiting.is_err(), "waits for the reading of its month");
        drop(reading);
    }
}
