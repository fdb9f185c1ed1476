//! The one door: a resident says where they live and what they want, and gets the right
//! démarche of the right authority, whatever its level — or, when that authority has not joined,
//! its name and how to reach it. Plus the search quality set (see tests/data).

use crate::support::TestServer;
use guichet_domain::competence::{Holder, Level, Override};
use guichet_domain::demarche::Definition;
use guichet_store::tenant::{self, Contact, Target, Tenant};
use guichet_store::{competence, demarche};
use guichet_web::catalogue::{self, Item};

async fn join(s: &TestServer, target: Target) -> Tenant {
    tenant::add(s.db(), &target, &Contact::default(), false)
        .await
        .expect("join")
}

/// Publishes a small démarche of that competence for the tenant.
async fn offer(s: &TestServer, t: &Tenant, title: &str, description: &str, competence: &str) {
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
    let d = demarche::create(s.db(), t.id, &def).await.expect("create");
    demarche::publish(s.db(), &d).await.expect("publish");
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
    )
    .await
    .expect("override");
    competence::bump_generation(s.db()).await.expect("bump");
    let delegated = catalogue::find(&s.state, "cantine", Some(&montbard))
        .await
        .expect("find");
    let epci_name = guichet_store::territory::epci(s.db(), &epci)
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
    let mut tenants: std::collections::HashMap<String, Tenant> = Default::default();
    for line in catalogue_tsv
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let cols: Vec<&str> = line.split('\t').collect();
        let who = cols[0].to_string();
        if !tenants.contains_key(&who) {
            let (kind, code) = who.split_once(':').expect("kind:code");
            let target = match kind {
                "commune" => Target::Insee(code.into()),
                "epci" => Target::Siren(code.into()),
                "departement" => Target::Departement(code.into()),
                _ => Target::Region(code.into()),
            };
            tenants.insert(who.clone(), join(&s, target).await);
        }
        offer(&s, &tenants[&who], cols[1], cols[2], cols[3]).await;
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
