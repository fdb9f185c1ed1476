//! The one door: a resident says where they live and what they want, and gets the right
//! démarche of the right authority, whatever its level — or, when that authority has not joined,
//! its name and how to reach it. Plus the search quality set (see tests/data).

use crate::support::TestServer;
use guichet_domain::competence::{Holder, Level, Override};
use guichet_domain::demarche::Definition;
use guichet_store::collectivite::{self, Collectivite, Contact, Target};
use guichet_store::competence;
use guichet_web::recherche::catalogue::{self, Item};

async fn join(s: &TestServer, target: Target) -> Collectivite {
    collectivite::add(s.db(), &target, &Contact::default(), false)
        .await
        .expect("join")
}

/// Publishes a small démarche of that competence for the collectivité.
async fn offer(s: &TestServer, t: &Collectivite, title: &str, description: &str, competence: &str) {
    let json = serde_json::json!({
        "title": title,
        "description": description,
        "competence": competence,
        "retention_months": 12,
        "pages": [{"title": "Votre demande", "fields": [
            {"id": "demande", "label": "Votre demande", "type": "long_text", "required": true}
        ]}]
    });
    let def = Definition::from_json(&json.to_string()).expect("definition");
    crate::support::publish(s.db(), t.id, &def).await;
}

async fn place(s: &TestServer, insee: &str) -> catalogue::Place {
    catalogue::place(&s.state, insee)
        .await
        .expect("q")
        .expect("commune")
}

fn titles(groups: &[catalogue::Group]) -> Vec<String> {
    groups
        .iter()
        .flat_map(|g| g.items.iter().map(|i| i.title().to_string()))
        .collect()
}

#[tokio::test]
async fn a_resident_of_semur_en_auxois_is_routed_to_the_right_level() {
    let s = TestServer::start().await;
    let semur = join(&s, Target::Insee("21603".into())).await;
    let cote_d_or = join(&s, Target::Departement("21".into())).await;
    offer(
        &s,
        &semur,
        "Inscription à la restauration scolaire",
        "Les repas des écoles de Semur-en-Auxois.",
        "restauration_scolaire",
    )
    .await;
    offer(
        &s,
        &cote_d_or,
        "Demande d'allocation personnalisée d'autonomie",
        "Aide aux personnes âgées qui perdent leur autonomie.",
        "autonomie",
    )
    .await;
    offer(
        &s,
        &cote_d_or,
        "Signaler un problème sur une route départementale",
        "Chaussée dégradée, signalisation, sur une route départementale.",
        "routes_departementales",
    )
    .await;
    let here = place(&s, "21603").await;

    let cantine = catalogue::find(&s.state, "cantine", Some(&here))
        .await
        .expect("find");
    assert_eq!(
        titles(&cantine)[0],
        "Inscription à la restauration scolaire"
    );
    match &cantine[0].items[0] {
        Item::Demarche {
            authority,
            here,
            url,
            ..
        } => {
            assert_eq!(authority, "Semur-en-Auxois");
            assert!(here);
            assert!(url.starts_with(&format!("/demarches/{}/", semur.slug)));
        }
        other => panic!("a démarche of the commune, got {other:?}"),
    }

    // "route abîmée": the département's démarche for its roads, and the commune for its streets.
    let road = catalogue::find(&s.state, "route abîmée", Some(&here))
        .await
        .expect("find");
    let items: Vec<&Item> = road.iter().flat_map(|g| &g.items).collect();
    assert!(items.iter().any(|i| matches!(i, Item::Demarche { title, authority, .. }
        if title == "Signaler un problème sur une route départementale" && authority == "Département de la Côte-d'Or")), "{items:?}");
    assert!(
        items
            .iter()
            .any(|i| matches!(i, Item::Elsewhere { what, authority, .. }
        if what == "Voirie communale" && authority == "Mairie de Semur-en-Auxois")),
        "{items:?}"
    );

    let apa = catalogue::find(&s.state, "apa", Some(&here))
        .await
        .expect("find");
    assert_eq!(
        titles(&apa)[0],
        "Demande d'allocation personnalisée d'autonomie"
    );

    // Montbard has not joined: the answer names its mairie and how to reach it.
    let montbard = place(&s, "21425").await;
    let there = catalogue::find(&s.state, "cantine", Some(&montbard))
        .await
        .expect("find");
    match &there[0].items[0] {
        Item::Elsewhere {
            authority,
            reason,
            link,
            ..
        } => {
            assert_eq!(authority, "Mairie de Montbard");
            assert!(
                reason.contains("ne propose pas encore ses démarches sur Guichet"),
                "{reason}"
            );
            assert!(link
                .as_deref()
                .is_some_and(|l| l.contains("lannuaire.service-public.gouv.fr")));
        }
        other => panic!("the competent authority named, got {other:?}"),
    }
    // If Montbard delegated school catering to its EPCI, the EPCI is named instead.
    let chain = competence::chain(s.db(), "21425")
        .await
        .expect("q")
        .expect("chain");
    let epci = chain.epci.clone().expect("Montbard is in an EPCI");
    competence::set_override(
        s.db(),
        &Override {
            competence: "restauration_scolaire".into(),
            scope_level: Level::Commune,
            scope_code: "21425".into(),
            holder: Holder {
                level: Level::Epci,
                code: epci.clone(),
            },
        },
        Default::default(),
    )
    .await
    .expect("override");
    guichet_store::recherche::bump_generation(s.db())
        .await
        .expect("bump");
    let delegated = catalogue::find(&s.state, "cantine", Some(&montbard))
        .await
        .expect("find");
    let epci_name = guichet_store::territoire::epci(s.db(), &epci)
        .await
        .expect("q")
        .expect("epci")
        .nom;
    assert!(
        matches!(&delegated[0].items[0], Item::Elsewhere { authority, .. } if *authority == epci_name)
    );

    // The same through the page, as a resident sees it (commune typed by name).
    let (status, html) = s
        .get_text("/recherche?q=cantine&commune=Semur-en-Auxois")
        .await;
    assert_eq!(status, 200);
    assert!(
        html.contains("Pour un habitant de Semur-en-Auxois"),
        "{html}"
    );
    assert!(
        html.contains("Inscription à la restauration scolaire")
            && html.contains("Traité par Semur-en-Auxois")
    );
    let (status, html) = s.get_text("/recherche?q=passeport&commune=Atlantide").await;
    assert_eq!(status, 422);
    assert!(html.contains("Commune introuvable"), "{html}");
    // Only the commune: every démarche offered there, by every level, grouped by life situation.
    let (_, html) = s.get_text("/recherche?q=&commune=21603").await;
    assert!(
        html.contains("Les démarches en ligne pour les habitants de Semur-en-Auxois"),
        "{html}"
    );
    let family = html
        .find("Famille et enfance")
        .expect("a group for the commune's démarche");
    let solidarity = html
        .find("Solidarité et santé")
        .expect("a group for the département's");
    assert!(family < solidarity);
    assert!(
        html.contains("Traité par Semur-en-Auxois")
            && html.contains("Traité par Département de la Côte-d&#39;Or"),
        "{html}"
    );
    // A postal code shared by several communes: the resident picks theirs.
    let (_, html) = s.get_text("/recherche?q=passeport&commune=21140").await;
    assert!(html.contains("Plusieurs communes correspondent"), "{html}");
    assert!(
        html.contains("commune=21603"),
        "Semur-en-Auxois offered: {html}"
    );
    let (_, html) = s.get_text("/recherche?q=passeport&commune=21603").await;
    assert!(
        html.contains("Passeport") && html.contains("pas traité sur Guichet"),
        "{html}"
    );
}

#[tokio::test]
async fn forty_french_queries_find_what_residents_expect_first() {
    let s = TestServer::start().await;
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/");
    let catalogue_tsv = std::fs::read_to_string(format!("{data}catalogue.tsv")).expect("catalogue");
    let mut collectivites: std::collections::HashMap<String, Collectivite> = Default::default();
    for line in catalogue_tsv
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let cols: Vec<&str> = line.split('\t').collect();
        let who = cols[0].to_string();
        if !collectivites.contains_key(&who) {
            let (kind, code) = who.split_once(':').expect("kind:code");
            let target = match kind {
                "commune" => Target::Insee(code.into()),
                "epci" => Target::Siren(code.into()),
                "departement" => Target::Departement(code.into()),
                _ => Target::Region(code.into()),
            };
            collectivites.insert(who.clone(), join(&s, target).await);
        }
        offer(&s, &collectivites[&who], cols[1], cols[2], cols[3]).await;
    }
    let dijon = place(&s, "21231").await;
    let queries = std::fs::read_to_string(format!("{data}search-queries.tsv")).expect("queries");
    let mut failures = Vec::new();
    let mut count = 0;
    for line in queries
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let (query, expected) = line.split_once('\t').expect("query<TAB>expected");
        count += 1;
        let found = titles(
            &catalogue::find(&s.state, query, Some(&dijon))
                .await
                .expect("find"),
        );
        if found.first().map(String::as_str) != Some(expected) {
            failures.push(format!(
                "« {query} » → {:?}, attendu « {expected} »",
                found.iter().take(3).collect::<Vec<_>>()
            ));
        }
    }
    assert!(count >= 40, "at least 40 queries");
    assert!(
        failures.is_empty(),
        "{} of {count} queries failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn the_operator_maintains_the_referential_and_the_search_follows() {
    let s = TestServer::start().await;
    let t = crate::personas::collectivites(&s).await;
    let op = crate::personas::operator(&s, &t).await;
    let b = &op.browser;
    let dijon = place(&s, "21231").await;

    // CSV: exported, and an import with one bad line changes nothing.
    let csv = b.get("/operateur/referentiel/competences.csv").await;
    assert!(csv
        .html
        .starts_with("code;libelle;niveau;situation;mots_cles"));
    assert!(csv
        .html
        .contains("restauration_scolaire;Restauration scolaire;commune"));
    let bad = format!(
        "{}piscines;Piscines;quartier;citoyennete;piscine\n",
        csv.html
            .lines()
            .take(2)
            .map(|l| format!("{l}\n"))
            .collect::<String>()
    );
    let refused = b
        .post(
            "/operateur/referentiel/competences/import",
            &[("csv", &bad)],
        )
        .await;
    assert_eq!(refused.status, 422);
    assert!(
        refused
            .html
            .contains("ligne 3 : niveau « quartier » inconnu"),
        "{}",
        refused.html
    );
    assert!(competence::get(s.db(), "piscines")
        .await
        .expect("q")
        .is_none());
    let good = "code;libelle;niveau;situation;mots_cles\npiscines;Piscines et équipements sportifs;epci;environnement_cadre_de_vie;piscine, gymnase, stade\n";
    let imported = b
        .post(
            "/operateur/referentiel/competences/import",
            &[("csv", good)],
        )
        .await;
    assert!(
        imported.html.contains("1 compétences importées"),
        "{}",
        imported.html
    );
    // The new competence routes at once: Dijon Métropole holds it for Dijon.
    let found = catalogue::find(&s.state, "piscine", Some(&dijon))
        .await
        .expect("find");
    assert!(
        matches!(&found[0].items[0], Item::Elsewhere { authority, .. } if authority.contains("Dijon Métropole")),
        "{found:?}"
    );

    // An override through the page: in Dijon, swimming pools are the commune's.
    let bad_scope = b
        .post(
            "/operateur/referentiel/exceptions",
            &[
                ("competence", "piscines"),
                ("portee", "commune"),
                ("portee_code", "99999"),
                ("titulaire", "commune"),
                ("titulaire_code", "21231"),
            ],
        )
        .await;
    assert_eq!(bad_scope.status, 422);
    assert!(
        bad_scope.html.contains("Ce territoire n&#39;existe pas"),
        "{}",
        bad_scope.html
    );
    b.post(
        "/operateur/referentiel/exceptions",
        &[
            ("competence", "piscines"),
            ("portee", "commune"),
            ("portee_code", "21231"),
            ("titulaire", "commune"),
            ("titulaire_code", "21231"),
        ],
    )
    .await;
    let found = catalogue::find(&s.state, "piscine", Some(&dijon))
        .await
        .expect("find");
    assert!(
        matches!(&found[0].items[0], Item::Elsewhere { authority, .. } if authority == "Mairie de Dijon"),
        "Dijon has joined and names itself: {found:?}"
    );

    // Overrides as CSV: exported with the one just made; a bad import changes nothing.
    let exported = b.get("/operateur/referentiel/exceptions.csv").await;
    assert!(
        exported
            .html
            .contains("piscines;commune;21231;commune;21231"),
        "{}",
        exported.html
    );
    let refused = b
        .post(
            "/operateur/referentiel/exceptions/import",
            &[("csv_exceptions", "competence;portee;code_portee;titulaire;code_titulaire\npiscines;canton;1;commune;21231\n")],
        )
        .await;
    assert_eq!(refused.status, 422);
    assert!(refused.html.contains("Import refusé"), "{}", refused.html);
    // Synonyms and national services added by the operator are searched at once.
    assert!(titles(
        &catalogue::find(&s.state, "aquagym", Some(&dijon))
            .await
            .expect("find")
    )
    .is_empty());
    b.post(
        "/operateur/referentiel/synonymes",
        &[("termes", "aquagym, piscine")],
    )
    .await;
    let found = titles(
        &catalogue::find(&s.state, "aquagym", Some(&dijon))
            .await
            .expect("find"),
    );
    assert_eq!(
        found.first().map(String::as_str),
        Some("Piscines et équipements sportifs")
    );
    let refused = b
        .post(
            "/operateur/referentiel/services",
            &[
                ("titre", "Service civique"),
                ("adresse", "javascript:alert(1)"),
                ("situation_service", "emploi_formation"),
            ],
        )
        .await;
    assert_eq!(refused.status, 422);
    b.post(
        "/operateur/referentiel/services",
        &[
            ("titre", "Service civique"),
            ("adresse", "https://www.service-civique.gouv.fr/"),
            (
                "description_service",
                "Une mission d'intérêt général pour les 16-25 ans.",
            ),
            ("situation_service", "emploi_formation"),
            ("mots_cles_service", "volontariat, engagement"),
        ],
    )
    .await;
    let found = titles(
        &catalogue::find(&s.state, "volontariat", Some(&dijon))
            .await
            .expect("find"),
    );
    assert_eq!(found.first().map(String::as_str), Some("Service civique"));
    let journal = guichet_store::journal::list(s.db(), &Default::default(), 50)
        .await
        .expect("journal");
    for action in [
        "referentiel.import",
        "referentiel.exception",
        "referentiel.synonymes",
        "referentiel.service",
    ] {
        assert!(
            journal.iter().any(|e| e.event.action == action),
            "{action} journaled"
        );
    }
}

/// The answers to a search are kept until what is searched or routed changes: a collectivité
/// joining, then publishing, changes the answer to the very same question at once.
#[tokio::test]
async fn the_same_search_follows_what_changes() {
    let s = TestServer::start().await;
    let ask = "/recherche?q=cantine&commune=21603";
    let (status, before) = s.get_text(ask).await;
    assert_eq!(status, 200);
    assert!(
        before.contains("ne propose pas encore ses démarches sur Guichet"),
        "Semur-en-Auxois has not joined: {before}"
    );
    let semur = join(&s, Target::Insee("21603".into())).await;
    let (_, joined) = s.get_text(ask).await;
    assert!(
        joined.contains("utilise Guichet mais ne propose pas encore cette démarche"),
        "joined, nothing published yet: {joined}"
    );
    offer(
        &s,
        &semur,
        "Inscription à la restauration scolaire",
        "Les repas des écoles de Semur-en-Auxois.",
        "restauration_scolaire",
    )
    .await;
    let (_, published) = s.get_text(ask).await;
    assert!(
        published.contains("/demarches/semur-en-auxois/"),
        "published: {published}"
    );
}
