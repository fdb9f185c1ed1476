//! Demo data: the région Bourgogne-Franche-Comté and some of its collectivités. Idempotent.

use guichet_domain::role::Role;
use guichet_domain::territoire::EntityKind;
use guichet_store::collectivite::{self, Contact, Target};
use guichet_store::compte::{self, Kind};
use guichet_store::trace::Trace;
use guichet_store::{equipe, territoire, Db};

/// The password of every demo account (demo only; documented in the README).
pub const DEMO_PASSWORD: &str = "demo-guichet-2026";
pub const DEMO_USAGER: &str = "usager@demo.example";
pub const DEMO_OPERATOR: &str = "operateur@demo.example";

struct DemoCollectivite {
    target: Target,
    kind: EntityKind,
    code: &'static str,
    contact: Contact,
    operator: bool,
}

fn contact(email: &str, phone: &str, address: &str) -> Contact {
    Contact {
        email: Some(email.into()),
        phone: Some(phone.into()),
        address: Some(address.into()),
        website: None,
    }
}

/// The communes of the demo; their EPCI join too.
const DEMO_COMMUNES: &[(&str, &str, &str, &str)] = &[
    (
        "21231",
        "accueil@dijon.example",
        "03 80 00 00 01",
        "Hôtel de ville, place de la Libération, 21000 Dijon",
    ),
    (
        "71270",
        "accueil@macon.example",
        "03 85 00 00 02",
        "Hôtel de ville, rue Sigorgne, 71000 Mâcon",
    ),
    (
        "21603",
        "mairie@semur-en-auxois.example",
        "03 80 00 00 03",
        "Mairie, place Gaveau, 21140 Semur-en-Auxois",
    ),
];

pub async fn seed(
    db: &Db,
    files: &guichet_store::files::FileStore,
    public_url: &str,
) -> anyhow::Result<()> {
    let mut wanted = vec![
        DemoCollectivite {
            target: Target::Region("27".into()),
            kind: EntityKind::Region,
            code: "27",
            contact: contact(
                "contact@bfc.example",
                "03 81 00 00 00",
                "4 square Castan, 25000 Besançon",
            ),
            operator: true,
        },
        DemoCollectivite {
            target: Target::Departement("21".into()),
            kind: EntityKind::Departement,
            code: "21",
            contact: contact(
                "contact@cotedor.example",
                "03 80 00 00 21",
                "53 bis rue de la Préfecture, 21000 Dijon",
            ),
            operator: false,
        },
        DemoCollectivite {
            target: Target::Departement("71".into()),
            kind: EntityKind::Departement,
            code: "71",
            contact: contact(
                "contact@saoneetloire.example",
                "03 85 00 00 71",
                "Espace Duhesme, 71000 Mâcon",
            ),
            operator: false,
        },
    ];
    let mut epcis = Vec::new();
    for (insee, email, phone, address) in DEMO_COMMUNES {
        wanted.push(DemoCollectivite {
            target: Target::Insee((*insee).into()),
            kind: EntityKind::Commune,
            code: insee,
            contact: contact(email, phone, address),
            operator: false,
        });
        if let Some(e) = territoire::commune_details(db, insee)
            .await?
            .and_then(|d| d.epci)
        {
            epcis.push(e.siren);
        }
    }
    for t in wanted {
        if collectivite::by_entity(db, t.kind, t.code).await?.is_none() {
            collectivite::add(db, &t.target, &t.contact, t.operator).await?;
        }
    }
    for siren in &epcis {
        if collectivite::by_entity(db, EntityKind::Epci, siren)
            .await?
            .is_none()
        {
            collectivite::add(
                db,
                &Target::Siren(siren.clone()),
                &Contact::default(),
                false,
            )
            .await?;
        }
    }
    seed_accounts(db).await?;
    seed_demarches(db).await?;
    seed_signalements(db).await?;
    seed_profile(db).await?;
    seed_aidant(db).await?;
    seed_history(db).await?;
    seed_conseil(db, files, public_url).await?;
    seed_participation(db).await
}

/// A consultation of Dijon's residents, open for three weeks more.
async fn seed_participation(db: &Db) -> anyhow::Result<()> {
    use guichet_domain::participation::{questionnaire, Public};
    use guichet_store::participation::{self as store, NewConsultation};
    const DAY: i64 = 86_400_000;
    let Some(dijon) = collectivite::by_entity(db, EntityKind::Commune, "21231").await? else {
        return Ok(());
    };
    if !store::list(db, dijon.id).await?.is_empty() {
        return Ok(());
    }
    let now = guichet_store::now_ms();
    let questions = questionnaire(
        "choix : Quel aménagement pour la place du Théâtre ? | Une fontaine ; Un jardin ; Une aire de jeux\n\
         classement : Classez vos priorités pour la place | De l'ombre ; Des bancs ; Moins de voitures\n\
         texte : Une idée à nous soumettre ?",
    )
    .map_err(|e| anyhow::anyhow!(e))?;
    let event = guichet_domain::journal::Event {
        actor: "démonstration".into(),
        action: "participation.consultation.creation".into(),
        tenant_id: Some(dijon.id),
        details: "{}".into(),
        ..Default::default()
    };
    store::create(
        db,
        dijon.id,
        NewConsultation {
            title: "Aménagement de la place du Théâtre".into(),
            description: "La place sera réaménagée en 2027 : dites-nous ce que vous souhaitez."
                .into(),
            questions,
            public: Public::Residents,
            starts_at: now - 7 * DAY,
            ends_at: now + 21 * DAY,
        },
        now - 7 * DAY,
        Trace::of(event.clone()),
    )
    .await?;
    // A participatory budget whose vote is open.
    let budget = store::create_budget(
        db,
        dijon.id,
        store::NewBudget {
            title: "Budget participatif 2027".into(),
            description: "500 000 euros pour des projets proposés et choisis par les Dijonnais."
                .into(),
            amount: 500_000,
            proposals_until: now - 40 * DAY,
            vote_from: now - 5 * DAY,
            vote_until: now + 25 * DAY,
        },
        now - 90 * DAY,
        Trace::of(event.clone()),
    )
    .await?;
    let projects = [
        (
            "Un jardin partagé aux Grésilles",
            "Des bacs, un abri et un point d'eau pour cultiver ensemble.",
            "Parc des Grésilles",
            Some(180_000),
            "",
        ),
        (
            "Des bancs autour du lac Kir",
            "Quarante bancs et dix tables de pique-nique.",
            "Lac Kir",
            Some(120_000),
            "",
        ),
        (
            "Une boîte à livres par quartier",
            "Douze boîtes à livres en bois fabriquées par un chantier d'insertion.",
            "Tous les quartiers",
            Some(36_000),
            "",
        ),
        (
            "Un téléphérique gare – Fontaine-d'Ouche",
            "Relier la gare au quartier par les airs.",
            "Gare de Dijon",
            None,
            "Son coût, plusieurs dizaines de millions d'euros, dépasse de loin le budget.",
        ),
    ];
    let author = compte::by_email(db, "usager@demo.example")
        .await?
        .map(|u| u.id)
        .unwrap_or(0);
    for (title, description, place, cost, note) in projects {
        let id = store::propose(
            db,
            dijon.id,
            budget,
            store::NewProjet {
                title: title.into(),
                description: description.into(),
                place: place.into(),
                author_id: author,
            },
            now - 60 * DAY,
            Trace::of(event.clone()),
        )
        .await?;
        store::review(
            db,
            dijon.id,
            id,
            cost,
            note.into(),
            Trace::of(event.clone()),
        )
        .await?;
    }
    Ok(())
}

/// Dijon's municipal council: nine members, a session three weeks ago whose three délibérations
/// are published as PDF/A, and the next session, convened for ten days from now.
async fn seed_conseil(
    db: &Db,
    files: &guichet_store::files::FileStore,
    public_url: &str,
) -> anyhow::Result<()> {
    use guichet_domain::conseil::{self as rules, Choix, Decompte, EtatSeance, Fonction, Organe};
    use guichet_store::conseil::{self as store, Decision, NewAssemblee, NewPoint};
    const DAY: i64 = 86_400_000;
    let Some(dijon) = collectivite::by_entity(db, EntityKind::Commune, "21231").await? else {
        return Ok(());
    };
    if !store::assemblees(db, dijon.id).await?.is_empty() {
        return Ok(());
    }
    let demo = |action: &str| guichet_domain::journal::Event {
        actor: "démonstration".into(),
        action: action.into(),
        tenant_id: Some(dijon.id),
        details: "{}".into(),
        ..Default::default()
    };
    let now = guichet_store::now_ms();
    // 18:00 in Paris on the day `days` from today.
    let at = |days: i64| {
        let day = guichet_domain::delai::paris_day(now + days * DAY);
        rules::horaire(&day.to_string(), "18:00").unwrap_or(now + days * DAY)
    };
    let a = store::create_assemblee(
        db,
        NewAssemblee {
            tenant_id: dijon.id,
            organe: Organe::ConseilMunicipal,
            name: "Conseil municipal de Dijon".into(),
            siret: "21210231600008".into(),
            stream_url: Some("https://video.dijon.example/conseil".into()),
        },
        now - 90 * DAY,
        Trace::of(demo("conseil.assemblee.creation")),
    )
    .await?;
    ensure_account(db, Kind::Agent, DEMO_ELUE, "Nathalie Koenders", true).await?;
    let members = [
        ("Nathalie Koenders", Fonction::Presidence),
        ("Antoine Hoareau", Fonction::Adjoint),
        ("Sladana Zivkovic", Fonction::Adjoint),
        ("Claire Tomaselli", Fonction::Conseiller),
        ("Denis Hameau", Fonction::Conseiller),
        ("Emmanuel Bichot", Fonction::Conseiller),
        ("Océane Charret-Godard", Fonction::Conseiller),
        ("Laurent Bourguignat", Fonction::Conseiller),
        ("Stéphanie Modde", Fonction::Conseiller),
    ];
    let mut ids = Vec::new();
    for (i, (name, fonction)) in members.iter().enumerate() {
        let id = store::add_elu(
            db,
            dijon.id,
            a,
            store::NewElu {
                name: name.to_string(),
                // The mayor has her account (second factor on): the members' space can be tried.
                email: if i == 0 {
                    DEMO_ELUE.to_string()
                } else {
                    format!("elu{}@dijon.example", i + 1)
                },
                fonction: *fonction,
            },
            now - 90 * DAY,
            Trace::of(demo("conseil.elu.ajout")),
        )
        .await?;
        ids.push(id);
    }
    let agenda = [
        ("Budget supplémentaire 2026", "7.1", "Le budget supplémentaire reprend les résultats de 2025 et ajuste les crédits de fonctionnement.", "Reprise des résultats et ajustements, sans hausse des taux."),
        ("Subvention à l'association Les Restos du cœur", "7.5", "Il est proposé d'attribuer une subvention de 15 000 euros à l'antenne dijonnaise pour l'hiver.", "Aide alimentaire : 2 400 familles accompagnées l'an dernier."),
        ("Dénomination de la place Simone-Veil", "9.1", "Il est proposé de nommer place Simone-Veil la place nouvellement aménagée du quartier Heudelet.", "Nom proposé par le conseil de quartier."),
    ];
    let past = at(-21);
    let seance = store::create_seance(
        db,
        dijon.id,
        a,
        store::NewSeance {
            starts_at: past,
            place: "Salle de Flore, hôtel de ville".into(),
            after_seance_id: None,
        },
        past - 20 * DAY,
        Trace::of(demo("conseil.seance.creation")),
    )
    .await?;
    for (title, matiere, rapport, note) in agenda {
        let p = NewPoint {
            title: title.into(),
            matiere: matiere.into(),
            rapport: rapport.into(),
            note: note.into(),
            secret: false,
        };
        store::add_point(
            db,
            dijon.id,
            seance,
            p,
            false,
            past - 15 * DAY,
            Trace::of(demo("conseil.ordre_du_jour.ajout")),
        )
        .await?;
    }
    let tokens = ids
        .iter()
        .map(|id| {
            (
                *id,
                guichet_store::secret::hash_token(&guichet_store::secret::random_token()),
            )
        })
        .collect();
    store::convene(
        db,
        dijon.id,
        seance,
        None,
        tokens,
        past - 8 * DAY,
        Trace::of(demo("conseil.convocation")),
    )
    .await?;
    // Seven present; Laurent Bourguignat gives his proxy to Claire Tomaselli.
    let presents: Vec<i64> = ids
        .iter()
        .copied()
        .filter(|id| *id != ids[7] && *id != ids[8])
        .collect();
    let proxy = rules::Procuration {
        mandant: ids[7],
        mandataire: ids[3],
    };
    store::open(
        db,
        dijon.id,
        seance,
        ids.clone(),
        presents.clone(),
        vec![proxy],
        Some(ids[2]),
        EtatSeance::Ouverte,
        past,
        Trace::of(demo("conseil.seance.ouverture")),
    )
    .await?;
    let points = store::points(db, dijon.id, seance).await?;
    for (n, p) in points.iter().enumerate() {
        // The budget has two votes against and an abstention; the others are unanimous.
        let choix = |id: i64| match (n, id) {
            (0, id) if id == ids[5] || id == ids[6] => Choix::Contre,
            (0, id) if id == ids[4] => Choix::Abstention,
            _ => Choix::Pour,
        };
        let mut votes: Vec<(i64, Choix, bool)> =
            presents.iter().map(|id| (*id, choix(*id), false)).collect();
        votes.push((proxy.mandant, choix(proxy.mandant), true));
        let decompte = Decompte::of(votes.iter().map(|v| v.1));
        let issue = rules::resultat(&decompte, Some(choix(ids[0])), false);
        let decision = Decision {
            seance_id: seance,
            point_id: p.id,
            year: guichet_domain::delai::paris_day(past).year(),
            objet: p.title.clone(),
            matiere: p.matiere.clone(),
            texte: format!("Conseil municipal de Dijon,\n\nVu le code général des collectivités territoriales,\n\nVu le rapport présenté :\n{}\n\nAprès en avoir délibéré, adopte la proposition.", p.rapport),
            issue,
            effectif: ids.len() as i64,
            presents: presents.len() as i64,
            representes: 1,
            decompte,
            votes,
        };
        store::decide(
            db,
            dijon.id,
            decision,
            past + (n as i64 + 1) * 600_000,
            Trace::of(demo("conseil.vote")),
        )
        .await?;
    }
    store::close(
        db,
        dijon.id,
        seance,
        past + 3 * 3_600_000,
        Trace::of(demo("conseil.seance.cloture")),
    )
    .await?;
    for d in store::deliberations_of(db, dijon.id, seance).await? {
        guichet_web::conseil::publication::sign_and_publish(
            db,
            files,
            public_url,
            &dijon,
            &d,
            past + 2 * DAY,
            demo("conseil.deliberation.publication"),
        )
        .await?;
    }
    // Its minutes are drafted, to be adopted at the beginning of the next session.
    store::draft_proces_verbal(
        db,
        dijon.id,
        seance,
        "Budget primitif : l'adjoint aux finances présente les grands équilibres ; deux conseillers de l'opposition regrettent la hausse des dépenses de fonctionnement. Les autres points sont adoptés sans débat.".into(),
        past + DAY,
        Trace::of(demo("conseil.proces_verbal.redaction")),
    )
    .await?;
    // The next session, convened.
    let next = at(10);
    let seance = store::create_seance(
        db,
        dijon.id,
        a,
        store::NewSeance {
            starts_at: next,
            place: "Salle de Flore, hôtel de ville".into(),
            after_seance_id: None,
        },
        now - 2 * DAY,
        Trace::of(demo("conseil.seance.creation")),
    )
    .await?;
    let p = NewPoint { title: "Tarifs de la restauration scolaire à la rentrée 2027".into(), matiere: "7.10".into(), rapport: "Il est proposé de maintenir les tarifs et d'ajouter une tranche pour les quotients familiaux les plus bas.".into(), note: "Tarif le plus bas : 0,50 euro le repas.".into(), secret: false };
    store::add_point(
        db,
        dijon.id,
        seance,
        p,
        false,
        now - 2 * DAY,
        Trace::of(demo("conseil.ordre_du_jour.ajout")),
    )
    .await?;
    let tokens = ids
        .iter()
        .map(|id| {
            (
                *id,
                guichet_store::secret::hash_token(&guichet_store::secret::random_token()),
            )
        })
        .collect();
    store::convene(
        db,
        dijon.id,
        seance,
        None,
        tokens,
        now - DAY,
        Trace::of(demo("conseil.convocation")),
    )
    .await?;
    Ok(())
}

/// A year of dossiers for the observatoire: Dijon shares its composteur démarche as a template,
/// Mâcon and the département of Côte-d'Or adopt and publish it, and each receives dossiers over
/// the last twelve months (online, with an aidant, at the counter), decided in varied delays,
/// with satisfaction answers (Mâcon's pass the hundred needed to show a score). Dijon's own
/// queue is left as the demo's journeys expect it.
async fn seed_history(db: &Db) -> anyhow::Result<()> {
    use guichet_domain::dossier::{Action, Actor};
    use guichet_store::{demarche, dossier, modele, pilotage};
    let (Some(dijon), Some(macon), Some(cote_d_or)) = (
        collectivite::by_slug(db, "dijon").await?,
        collectivite::by_slug(db, "macon").await?,
        collectivite::by_slug(db, "cote-d-or").await?,
    ) else {
        return Ok(());
    };
    if !modele::list(db).await?.is_empty() {
        return Ok(());
    }
    let Some(source) = demarche::list(db, dijon.id)
        .await?
        .into_iter()
        .find(|d| d.slug.contains("composteur"))
    else {
        return Ok(());
    };
    let version = source.published_version.unwrap_or(1);
    let Some(def) = demarche::definition(db, dijon.id, source.id, version).await? else {
        return Ok(());
    };
    let (template_id, _) = modele::publish(db, &source, &def, &[], |_, _| Trace::default()).await?;
    let Some(template) = modele::get(db, template_id).await? else {
        return Ok(());
    };
    // Declared accessibility audits: Mâcon's total, Dijon's partial.
    for (t, rate) in [(&macon, 100), (&dijon, 75)] {
        let day = "2026-06-15".to_string();
        pilotage::declare_accessibility(db, t.id, Some((rate, day)), Trace::default()).await?;
    }
    let now = guichet_store::now_ms();
    const DAY: i64 = 86_400_000;
    // A small deterministic generator: the same demo every time.
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    for (t, count, ratings) in [(&macon, 160usize, 110usize), (&cote_d_or, 45, 20)] {
        let adopted = modele::adopt(db, &template, t.id, Trace::default()).await?;
        demarche::publish(db, &adopted, Default::default()).await?;
        let Some(d) = demarche::get(db, t.id, adopted.id).await? else {
            continue;
        };
        let v = d.published_version.unwrap_or(1);
        let Some(def) = demarche::definition(db, t.id, d.id, v).await? else {
            continue;
        };
        let agent = dossier::By {
            actor: Actor::Agent,
            user_id: None,
            label: agent_email(&t.slug),
            ip: None,
            on_behalf_of: None,
        };
        let usager = dossier::By {
            actor: Actor::Usager,
            label: "usager".into(),
            ..agent.clone()
        };
        let mut rated = 0;
        for i in 0..count {
            let draft = dossier::Draft {
                tenant_id: t.id,
                demarche_id: d.id,
                version: v,
                usager_id: None,
                applicant_name: format!("Habitant {i}"),
                answers: Default::default(),
                commune_insee: None,
                aidant_id: None,
            };
            let x = match next(10) {
                // One in ten at the counter, one in ten with an aidant.
                0 => {
                    guichet_store::comptoir::open(db, draft, 0, "Habitant", "", Trace::default())
                        .await?
                        .0
                }
                1 => {
                    dossier::start_draft(
                        db,
                        dossier::Draft {
                            aidant_id: Some(0),
                            ..draft
                        },
                    )
                    .await?
                }
                _ => dossier::start_draft(db, draft).await?,
            };
            let deposited = now - (next(360) as i64 + 1) * DAY;
            let step = |x: dossier::Dossier, action: Action, by: &dossier::By, at: i64| {
                let (db, def, by) = (db.clone(), def.clone(), by.clone());
                async move {
                    dossier::change_as_of(&db, &x, &def, &action, &by, at)
                        .await
                        .map_err(|e| anyhow::anyhow!("{e}"))?;
                    dossier::get(&db, x.tenant_id, x.id)
                        .await?
                        .ok_or_else(|| anyhow::anyhow!("dossier de démo disparu"))
                }
            };
            let x = step(x, Action::Submit, &usager, deposited).await?;
            let took = (next(50) as i64 + 1) * DAY;
            if deposited + took + DAY > now {
                continue;
            }
            let mut x = step(x, Action::StartInstruction, &agent, deposited + DAY).await?;
            if next(6) == 0 {
                let asked = Action::RequestCorrection {
                    message: "Joignez un justificatif de domicile.".into(),
                };
                x = step(x, asked, &agent, deposited + 2 * DAY).await?;
                x = step(x, Action::Submit, &usager, deposited + 3 * DAY).await?;
            }
            let decision = match next(10) {
                0 => Action::Refuse {
                    reason: "Le logement n'a pas de jardin.".into(),
                },
                1 => Action::Close {
                    reason: "Demande en double.".into(),
                },
                _ => Action::Accept {
                    conditions: String::new(),
                },
            };
            let x = step(x, decision, &agent, deposited + took).await?;
            if rated < ratings {
                rated += 1;
                let score = [10, 9, 9, 8, 8, 8, 7, 7, 6, 4][next(10) as usize];
                pilotage::rate(
                    db,
                    &x,
                    pilotage::Moment::Decision,
                    score,
                    None,
                    Trace::default(),
                )
                .await?;
            }
        }
    }
    Ok(())
}

/// An aidant of a France Services in Montbard, with a one-year mandat from the demo usager for
/// family matters (Dijon's school catering is one).
pub const DEMO_AIDANT: &str = "aidant@demo.example";
/// Dijon's mayor, who signs délibérations in the members' space.
pub const DEMO_ELUE: &str = "maire.dijon@demo.example";

async fn seed_aidant(db: &Db) -> anyhow::Result<()> {
    use guichet_domain::mandat::{Domain, Length};
    use guichet_store::mandat;
    let id = ensure_account(db, Kind::Agent, DEMO_AIDANT, "Alex Aidant", true).await?;
    if !mandat::memberships(db, id).await?.is_empty() {
        return Ok(());
    }
    let Some(usager) = compte::by_email(db, DEMO_USAGER).await? else {
        return Ok(());
    };
    let event = |action: &str| guichet_domain::journal::Event {
        tenant_id: None,
        actor_id: None,
        actor: "démonstration".into(),
        on_behalf_of: None,
        action: action.into(),
        object_type: None,
        object_id: None,
        ip: None,
        details: "{}".into(),
    };
    let structure = mandat::add_structure(
        db,
        "France Services de Montbard",
        "france_services",
        "2 rue Piron, 21500 Montbard",
        None,
        Trace::of(event("aidants.structure.creation")),
    )
    .await?;
    mandat::add_aidant(
        db,
        structure,
        mandat::NewAidant::Existing(id),
        true,
        Trace::of(event("aidants.aidant.ajout")),
    )
    .await?;
    let start = guichet_store::paris_now();
    mandat::create(
        db,
        &mandat::NewMandat {
            structure_id: structure,
            aidant_user_id: id,
            usager_user_id: usager.id,
            domains: vec![Domain::Famille, Domain::SocialSante],
            identity_check: "document".into(),
            identity_detail: "carte_identite …4F2A".into(),
            starts_at: start.unix_timestamp() * 1000,
            ends_at: Length::TwelveMonths.end(start).unix_timestamp() * 1000,
        },
        move |_: &mandat::Mandat| Trace::of(event("mandat.creation")),
    )
    .await?;
    Ok(())
}

/// The demo usager's profile: identity, contact and address (not the children, so that the
/// deposited dossiers offer to save them).
async fn seed_profile(db: &Db) -> anyhow::Result<()> {
    use guichet_domain::profil::Source;
    let Some(usager) = compte::by_email(db, DEMO_USAGER).await? else {
        return Ok(());
    };
    if !guichet_store::profil::get(db, usager.id).await?.is_empty() {
        return Ok(());
    }
    let values: Vec<(String, String)> = [
        ("identite.prenoms", "Camille"),
        ("identite.nom", "Usager"),
        ("contact.telephone", "06 12 34 56 78"),
        ("adresse.postale", "12 rue de la Liberté, 21000 Dijon"),
        ("adresse.commune", "21231"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let event = guichet_domain::journal::Event {
        tenant_id: None,
        actor_id: Some(usager.id),
        actor: DEMO_USAGER.into(),
        on_behalf_of: None,
        action: "profil.modification".into(),
        object_type: Some("profil".into()),
        object_id: Some(usager.id.to_string()),
        ip: None,
        details: "{}".into(),
    };
    guichet_store::profil::save(
        db,
        usager.id,
        &values,
        Source::Declared,
        guichet_store::trace::Trace::of(event),
    )
    .await
}

/// Signalements in Dijon, in several states, with positions for the maps; Dijon asks two
/// questions about illegal dumping. The first one is S<year>-000001.
async fn seed_signalements(db: &Db) -> anyhow::Result<()> {
    use guichet_domain::signalement::State;
    use guichet_store::signalement::{self as store, NewReport};
    let Some(dijon) = collectivite::by_slug(db, "dijon").await? else {
        return Ok(());
    };
    if !store::of_collectivite(db, dijon.id, None, 1)
        .await?
        .is_empty()
    {
        return Ok(());
    }
    let usager = compte::by_email(db, DEMO_USAGER).await?;
    let categories = store::categories(db).await?;
    let id_of = |code: &str| categories.iter().find(|c| c.code == code).map(|c| c.id);
    let event = |action: &str, object: Option<String>| guichet_domain::journal::Event {
        tenant_id: Some(dijon.id),
        actor_id: None,
        actor: "démonstration".into(),
        on_behalf_of: None,
        action: action.into(),
        object_type: object.as_ref().map(|_| "signalement".to_string()),
        object_id: object,
        ip: None,
        details: "{}".into(),
    };
    let questions = ["Quel volume environ ?", "Y a-t-il des produits dangereux ?"];
    if let Some(dumping) = id_of("depot_sauvage") {
        store::save_settings(
            db,
            dijon.id,
            dumping,
            &questions.map(String::from),
            false,
            Trace::of(event("signalement.categorie.modification", None)),
        )
        .await?;
    }
    let reports = [
        (
            "eclairage_public",
            "eclairage_public",
            "Place Darcy, devant la fontaine",
            (47.32226, 5.03186),
            "Le lampadaire ne s'allume plus depuis lundi.",
            State::Nouveau,
            vec![],
        ),
        (
            "depot_sauvage",
            "proprete_espaces_verts",
            "Rue de la Liberté, angle rue Bossuet",
            (47.32152, 5.03905),
            "Des cartons et un vieux fauteuil sur le trottoir.",
            State::EnCours,
            vec![(questions[0], "Un demi-mètre cube"), (questions[1], "Non")],
        ),
        (
            "chaussee_degradee",
            "voirie_communale",
            "Rue Monge, devant le n° 20",
            (47.31905, 5.03402),
            "Un nid-de-poule profond sur la chaussée.",
            State::Resolu,
            vec![],
        ),
        (
            "tags",
            "proprete_espaces_verts",
            "Quai Navier",
            (47.31581, 5.02807),
            "Tags sur le mur du quai.",
            State::AModerer,
            vec![],
        ),
    ];
    for (code, competence, address, position, description, target, answers) in reports {
        let Some(category_id) = id_of(code) else {
            continue;
        };
        let s = store::create(
            db,
            &NewReport {
                tenant_id: dijon.id,
                category_id,
                competence: competence.into(),
                commune_insee: "21231".into(),
                address: address.into(),
                position: Some(position),
                road_kind: None,
                road_number: None,
                description: description.into(),
                answers: answers
                    .into_iter()
                    .map(|(q, a)| (q.to_string(), a.to_string()))
                    .collect(),
                reporter_user_id: usager.as_ref().map(|u| u.id),
                reporter_email: usager.as_ref().map(|u| u.email.clone()),
                state: if target == State::AModerer {
                    State::AModerer
                } else {
                    State::Nouveau
                },
                confirm_token_hash: None,
                ip: None,
            },
        )
        .await?;
        let mut current = s.clone();
        for (to, note) in [
            (
                State::PrisEnCompte,
                "Signalement transmis au service concerné.",
            ),
            (State::EnCours, "Intervention programmée cette semaine."),
            (State::Resolu, "Chaussée reprise."),
        ] {
            if current.state == target || !guichet_domain::signalement::can_move(current.state, to)
            {
                break;
            }
            let e = event(
                &format!("signalement.{}", to.code()),
                Some(s.number.clone()),
            );
            store::change_state(db, &current, to, note, None, &dijon.name, move |_, _| {
                guichet_store::trace::Trace::of(e)
            })
            .await?;
            current = store::by_id(db, s.id).await?.unwrap_or(current);
        }
    }
    Ok(())
}

/// Realistic démarches of the demo collectivités, published.
const DEMO_DEMARCHES: &[(&str, &str)] = &[
    ("dijon", include_str!("../demo/dijon-cantine.json")),
    ("dijon", include_str!("../demo/dijon-terrasse.json")),
    ("dijon", include_str!("../demo/dijon-composteur.json")),
    ("cote-d-or", include_str!("../demo/cotedor-logement.json")),
    (
        "bourgogne-franche-comte",
        include_str!("../demo/region-permis.json"),
    ),
];

async fn seed_demarches(db: &Db) -> anyhow::Result<()> {
    use guichet_domain::demarche::Definition;
    use guichet_store::demarche;
    for (slug, json) in DEMO_DEMARCHES {
        let Some(t) = collectivite::by_slug(db, slug).await? else {
            continue;
        };
        let def = Definition::from_json(json)
            .map_err(|e| anyhow::anyhow!("démarche de démo invalide : {e:?}"))?;
        let existing = demarche::list(db, t.id).await?;
        if existing.iter().any(|d| d.title == def.title) {
            continue;
        }
        let d = demarche::create(db, t.id, &def, Default::default()).await?;
        demarche::publish(db, &d, Default::default()).await?;
    }
    seed_dossiers(db).await
}

/// Dossiers of the demo usager on Dijon's school catering, one in every state.
async fn seed_dossiers(db: &Db) -> anyhow::Result<()> {
    use guichet_domain::demarche::Answers;
    use guichet_domain::dossier::{Action, Actor};
    use guichet_store::{demarche, dossier};
    let Some(usager) = compte::by_email(db, DEMO_USAGER).await? else {
        return Ok(());
    };
    if !dossier::list_for_usager(db, usager.id).await?.is_empty() {
        return Ok(());
    }
    let Some(dijon) = collectivite::by_slug(db, "dijon").await? else {
        return Ok(());
    };
    let Some(cantine) =
        demarche::by_slug(db, dijon.id, "inscription-a-la-restauration-scolaire").await?
    else {
        return Ok(());
    };
    let version = cantine.published_version.unwrap_or(1);
    let Some(def) = demarche::definition(db, dijon.id, cantine.id, version).await? else {
        return Ok(());
    };
    let mut answers = Answers::default();
    for (k, v) in [
        ("telephone", "06 12 34 56 78"),
        ("adresse", "12 rue de la Liberté, 21000 Dijon"),
        ("quotient", "850"),
        ("enfants[0].prenom", "Léa"),
        ("enfants[0].nom", "Usager"),
        ("enfants[0].naissance", "2018-07-14"),
        ("enfants[0].ecole", "Élémentaire Montchapet"),
        ("enfants[0].jours", "lundi"),
        ("enfants[0].jours", "jeudi"),
        ("enfants[0].allergie", "non"),
        ("reglement", "coche"),
    ] {
        answers
            .0
            .entry(k.to_string())
            .or_default()
            .push(v.to_string());
    }
    let usager_by = dossier::By {
        actor: Actor::Usager,
        user_id: Some(usager.id),
        label: usager.email.clone(),
        ip: None,
        on_behalf_of: None,
    };
    let agent_email = agent_email("dijon");
    let agent_id = compte::by_email(db, &agent_email).await?.map(|u| u.id);
    let agent_by = dossier::By {
        actor: Actor::Agent,
        user_id: agent_id,
        label: agent_email,
        ip: None,
        on_behalf_of: None,
    };
    let plans: &[&[Action]] = &[
        &[],
        &[Action::Submit],
        &[Action::Submit, Action::StartInstruction],
        &[
            Action::Submit,
            Action::StartInstruction,
            Action::RequestCorrection {
                message: "Indiquez les jours de cantine de chaque enfant.".into(),
            },
        ],
        &[
            Action::Submit,
            Action::StartInstruction,
            Action::Accept {
                conditions: String::new(),
            },
        ],
        &[
            Action::Submit,
            Action::StartInstruction,
            Action::Refuse {
                reason: "L'enfant n'est pas scolarisé dans une école publique de Dijon.".into(),
            },
        ],
        &[
            Action::Submit,
            Action::Close {
                reason: "Demande en double.".into(),
            },
        ],
    ];
    for plan in plans {
        let mut x = dossier::create_draft(
            db,
            dijon.id,
            cantine.id,
            version,
            Some(usager.id),
            &usager.display_name,
        )
        .await?;
        dossier::save_answers(db, &x, &def, &answers).await?;
        for action in plan.iter() {
            let by = if matches!(action, Action::Submit) {
                &usager_by
            } else {
                &agent_by
            };
            dossier::change(db, &x, &def, action, by)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            x = dossier::get(db, dijon.id, x.id)
                .await?
                .ok_or_else(|| anyhow::anyhow!("dossier de démo disparu"))?;
        }
    }
    Ok(())
}

/// The address of the demo agent of a collectivité.
pub fn agent_email(slug: &str) -> String {
    format!("agent.{slug}@demo.example")
}

async fn ensure_account(
    db: &Db,
    kind: Kind,
    email: &str,
    name: &str,
    totp: bool,
) -> anyhow::Result<i64> {
    let user = match compte::by_email(db, email).await? {
        Some(u) => u,
        None => compte::create(db, kind, email, name, Some(DEMO_PASSWORD))
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?,
    };
    compte::mark_email_confirmed(db, user.id).await?;
    if totp && !user.totp_enabled {
        compte::force_totp(db, user.id, &compte::demo_totp_secret(email)).await?;
    }
    Ok(user.id)
}

/// One usager, one agent per collectivité (with every role, so that each can be tried), one operator.
async fn seed_accounts(db: &Db) -> anyhow::Result<()> {
    ensure_account(db, Kind::Usager, DEMO_USAGER, "Camille Usager", false).await?;
    for t in collectivite::list(db).await? {
        let email = agent_email(&t.slug);
        let id =
            ensure_account(db, Kind::Agent, &email, &format!("Agent {}", t.name), true).await?;
        for role in Role::TENANT_ROLES {
            equipe::grant(db, t.id, id, role, None).await?;
        }
        if t.is_operator {
            let op = ensure_account(
                db,
                Kind::Agent,
                DEMO_OPERATOR,
                "Opérateur de la région",
                true,
            )
            .await?;
            equipe::grant(db, t.id, op, Role::Operateur, None).await?;
            equipe::grant(db, t.id, op, Role::Admin, None).await?;
        }
    }
    Ok(())
}

pub async fn print_welcome(db: &Db, address: std::net::SocketAddr) -> anyhow::Result<()> {
    println!("Guichet (démo) : http://{address}/");
    println!("Collectivités de démonstration :");
    for t in collectivite::list(db).await? {
        println!("  - {} : http://{address}/collectivites/{}", t.name, t.slug);
    }
    println!();
    println!("Comptes de démonstration (mot de passe de tous : {DEMO_PASSWORD}) :");
    println!("  - usager : {DEMO_USAGER}");
    println!(
        "  - opérateur : {DEMO_OPERATOR} (second facteur, clé TOTP {})",
        compte::demo_totp_secret(DEMO_OPERATOR)
    );
    for t in collectivite::list(db).await? {
        let email = agent_email(&t.slug);
        println!(
            "  - agent de {} (admin, instructeur, modérateur, publication) : {email} (clé TOTP {})",
            t.name,
            compte::demo_totp_secret(&email)
        );
    }
    println!(
        "Codes du second facteur en cours et courriels envoyés : http://{address}/demo/courriels"
    );
    Ok(())
}
