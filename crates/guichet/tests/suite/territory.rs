//! The territory referential: complete, and answering the look-ups residents and agents need.

use crate::support::TestDb;
use guichet_domain::territoire::{CommuneType, Referential};
use guichet_store::territoire;
use sqlx::Row;
use std::collections::BTreeSet;

#[tokio::test]
async fn every_commune_of_the_source_is_queryable() {
    let t = TestDb::with_referential().await;
    let source = Referential::parse(&territoire::decompress(territoire::SHIPPED).expect("gzip"))
        .expect("parse");
    assert_eq!(
        source.communes.len(),
        37_590,
        "the source lists 37,590 communes of all types"
    );

    let counts = territoire::counts(&t.db).await.expect("counts");
    assert_eq!(
        (
            counts.regions,
            counts.departements,
            counts.epcis,
            counts.communes
        ),
        (26, 109, 1_255, 37_590)
    );

    // The whole content, compared entry by entry: code, type, name and every postal code.
    let expected: BTreeSet<(String, String, String, String)> = source
        .communes
        .iter()
        .map(|c| {
            (
                c.insee.clone(),
                c.kind.code().to_string(),
                c.nom.clone(),
                c.postal_codes.join(","),
            )
        })
        .collect();
    let rows = sqlx::query("SELECT c.insee, c.kind, c.nom FROM communes c")
        .fetch_all(t.db.pool())
        .await
        .expect("all communes");
    let postal = sqlx::query("SELECT insee, kind, postal_code FROM commune_postal_codes ORDER BY insee, kind, postal_code")
        .fetch_all(t.db.pool())
        .await
        .expect("postal codes");
    let mut by_commune: std::collections::HashMap<(String, String), Vec<String>> =
        Default::default();
    for r in &postal {
        by_commune
            .entry((r.get(0), r.get(1)))
            .or_default()
            .push(r.get(2));
    }
    let stored: BTreeSet<(String, String, String, String)> = rows
        .iter()
        .map(|r| {
            let key: (String, String) = (r.get(0), r.get(1));
            let mut codes = by_commune.get(&key).cloned().unwrap_or_default();
            codes.sort();
            (key.0, key.1, r.get(2), codes.join(","))
        })
        .collect();
    let mut expected_sorted = expected.clone();
    expected_sorted = expected_sorted
        .into_iter()
        .map(|(a, b, c, d)| {
            let mut codes: Vec<&str> = d.split(',').filter(|s| !s.is_empty()).collect();
            codes.sort();
            (a, b, c, codes.join(","))
        })
        .collect();
    assert_eq!(stored.len(), 37_590);
    assert!(
        stored == expected_sorted,
        "stored referential differs from the source"
    );

    // And through the look-up functions, one entry of every type.
    for kind in CommuneType::ALL {
        let sample = source
            .communes
            .iter()
            .find(|c| c.kind == kind)
            .expect("a sample of each type");
        let found = territoire::communes_by_insee(&t.db, &sample.insee)
            .await
            .expect("lookup");
        assert!(
            found.iter().any(|c| c.kind == kind && c.nom == sample.nom),
            "{} ({}) not found by its INSEE code",
            sample.nom,
            kind.code()
        );
    }
}

#[tokio::test]
async fn dijon_belongs_to_dijon_metropole_cote_d_or_and_bourgogne_franche_comte() {
    let t = TestDb::with_referential().await;
    let d = territoire::commune_details(&t.db, "21231")
        .await
        .expect("lookup")
        .expect("Dijon exists");
    assert_eq!(d.commune.nom, "Dijon");
    assert_eq!(d.commune.siren.as_deref(), Some("212102313"));
    assert_eq!(d.commune.postal_codes, vec!["21000"]);
    assert!(d.commune.population.unwrap_or(0) > 150_000);
    assert_eq!(
        d.epci.as_ref().map(|e| e.nom.as_str()),
        Some("Dijon Métropole")
    );
    assert_eq!(d.departement.as_ref().map(|x| x.code.as_str()), Some("21"));
    assert_eq!(
        d.region.as_ref().map(|x| (x.code.as_str(), x.nom.as_str())),
        Some(("27", "Bourgogne-Franche-Comté"))
    );
}

#[tokio::test]
async fn a_commune_deleguee_belongs_to_the_epci_of_its_commune_nouvelle() {
    let t = TestDb::with_referential().await;
    let row = sqlx::query(
        "SELECT d.insee, p.epci_siren FROM communes d JOIN communes p
           ON p.insee = d.parent_insee AND p.kind = 'commune-actuelle'
         WHERE d.kind = 'commune-deleguee' AND d.insee <> d.parent_insee AND p.epci_siren IS NOT NULL
         ORDER BY d.insee LIMIT 1",
    )
    .fetch_one(t.db.pool())
    .await
    .expect("a commune déléguée");
    let insee: String = row.get(0);
    let parent_epci: String = row.get(1);
    let entries = territoire::communes_by_insee(&t.db, &insee)
        .await
        .expect("lookup");
    let deleguee = entries
        .iter()
        .find(|c| c.kind == CommuneType::Deleguee)
        .expect("déléguée");
    assert!(deleguee.parent_insee.is_some());
    let epci_of_deleguee: Option<String> = sqlx::query_scalar(
        "SELECT epci_siren FROM communes WHERE insee = $1 AND kind = 'commune-deleguee'",
    )
    .bind(&insee)
    .fetch_one(t.db.pool())
    .await
    .expect("epci");
    assert_eq!(epci_of_deleguee, Some(parent_epci));
}

#[tokio::test]
async fn communes_are_found_by_postal_code() {
    let t = TestDb::with_referential().await;
    let found = territoire::communes_by_postal_code(&t.db, "21140")
        .await
        .expect("lookup");
    assert!(
        found.iter().any(|c| c.nom == "Semur-en-Auxois"),
        "{found:?}"
    );
    assert!(found
        .iter()
        .all(|c| c.postal_codes.contains(&"21140".to_string())));
    let macon = territoire::communes_by_postal_code(&t.db, "71000")
        .await
        .expect("lookup");
    assert!(macon.iter().any(|c| c.nom == "Mâcon"));
    assert!(territoire::communes_by_postal_code(&t.db, "99999")
        .await
        .expect("lookup")
        .is_empty());
}

#[tokio::test]
async fn names_are_found_by_prefix_whatever_the_accents_and_case() {
    let t = TestDb::with_referential().await;
    for query in ["macon", "MÂCON", "Mâc", "mac"] {
        let found = territoire::search_communes(&t.db, query, 10)
            .await
            .expect("search");
        assert_eq!(
            found.first().map(|c| c.nom.as_str()),
            Some("Mâcon"),
            "query {query:?}: {found:?}"
        );
    }
    let found = territoire::search_communes(&t.db, "semur en a", 10)
        .await
        .expect("search");
    assert_eq!(found.first().map(|c| c.insee.as_str()), Some("21603"));
    let found = territoire::search_communes(&t.db, "l'hay les", 10)
        .await
        .expect("search");
    assert!(
        found.iter().any(|c| c.nom == "L'Haÿ-les-Roses"),
        "{found:?}"
    );
    // LIKE wildcards typed by a user match nothing special.
    assert!(territoire::search_communes(&t.db, "%", 10)
        .await
        .expect("search")
        .is_empty());
    assert!(territoire::search_communes(&t.db, "zzzzqqq", 10)
        .await
        .expect("search")
        .is_empty());
}

#[tokio::test]
async fn import_is_idempotent() {
    let t = TestDb::with_referential().await;
    let again = territoire::import_shipped(&t.db, false)
        .await
        .expect("second import");
    assert!(again.skipped, "the same version is not imported twice");
    let forced = territoire::import_shipped(&t.db, true)
        .await
        .expect("forced import");
    assert_eq!(forced.communes, 37_590);
    let counts = territoire::counts(&t.db).await.expect("counts");
    assert_eq!(
        (counts.regions, counts.communes, counts.epcis),
        (26, 37_590, 1_255)
    );
}
