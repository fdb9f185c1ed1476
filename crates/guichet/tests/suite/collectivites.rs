//! Collectivités join from the referential; mistakes are refused with nothing written.

use crate::support::TestDb;
use guichet_domain::territoire::EntityKind;
use guichet_store::collectivite::{self, CollectiviteError, Contact, Target};

async fn count(t: &TestDb) -> usize {
    collectivite::list(&t.db).await.expect("list").len()
}

#[tokio::test]
async fn every_level_can_join() {
    let t = TestDb::with_referential().await;
    let region = collectivite::add(
        &t.db,
        &Target::Region("27".into()),
        &Contact::default(),
        true,
    )
    .await
    .expect("région");
    assert_eq!(region.name, "Région Bourgogne-Franche-Comté");
    assert!(region.is_operator);
    let dep = collectivite::add(
        &t.db,
        &Target::Departement("21".into()),
        &Contact::default(),
        false,
    )
    .await
    .expect("département");
    assert_eq!(dep.name, "Département de la Côte-d'Or");
    assert_eq!(dep.region_code.as_deref(), Some("27"));
    let epci = collectivite::add(
        &t.db,
        &Target::Siren("242100410".into()),
        &Contact::default(),
        false,
    )
    .await
    .expect("EPCI");
    assert_eq!(
        (epci.entity_kind, epci.name.as_str()),
        (EntityKind::Epci, "Dijon Métropole")
    );
    assert_eq!(epci.departement_code.as_deref(), Some("21"));
    let contact = Contact {
        email: Some("mairie@semur.example".into()),
        ..Contact::default()
    };
    let commune = collectivite::add(&t.db, &Target::Insee("21603".into()), &contact, false)
        .await
        .expect("commune");
    assert_eq!(commune.slug, "semur-en-auxois");
    assert_eq!(commune.siren.as_deref(), Some("212106033"));
    assert_eq!(
        commune.contact_email.as_deref(),
        Some("mairie@semur.example")
    );

    let listed: Vec<String> = collectivite::list(&t.db)
        .await
        .expect("list")
        .into_iter()
        .map(|t| t.slug)
        .collect();
    assert_eq!(
        listed,
        vec![
            "bourgogne-franche-comte",
            "cote-d-or",
            "dijon-metropole",
            "semur-en-auxois"
        ]
    );
    assert_eq!(
        collectivite::operator(&t.db)
            .await
            .expect("operator")
            .map(|t| t.id),
        Some(region.id)
    );
}

#[tokio::test]
async fn duplicates_and_unknown_entities_are_refused_and_nothing_is_written() {
    let t = TestDb::with_referential().await;
    collectivite::add(
        &t.db,
        &Target::Siren("212102313".into()),
        &Contact::default(),
        false,
    )
    .await
    .expect("Dijon");
    let before = count(&t).await;

    let dup = collectivite::add(
        &t.db,
        &Target::Siren("212 102 313".into()),
        &Contact::default(),
        false,
    )
    .await;
    assert!(
        matches!(dup, Err(CollectiviteError::AlreadyCollectivite(..))),
        "{dup:?}"
    );
    let dup_by_insee = collectivite::add(
        &t.db,
        &Target::Insee("21231".into()),
        &Contact::default(),
        false,
    )
    .await;
    assert!(matches!(
        dup_by_insee,
        Err(CollectiviteError::AlreadyCollectivite(..))
    ));

    // A well-formed SIREN (valid key) that no commune or EPCI has.
    let unknown = collectivite::add(
        &t.db,
        &Target::Siren("732829320".into()),
        &Contact::default(),
        false,
    )
    .await;
    let message = unknown.expect_err("unknown SIREN").to_string();
    assert!(
        message.contains("aucune commune ni intercommunalité"),
        "{message}"
    );

    let bad = collectivite::add(
        &t.db,
        &Target::Siren("212102314".into()),
        &Contact::default(),
        false,
    )
    .await;
    assert!(bad
        .expect_err("bad key")
        .to_string()
        .contains("clé de contrôle"));
    let unknown_dep = collectivite::add(
        &t.db,
        &Target::Departement("00".into()),
        &Contact::default(),
        false,
    )
    .await;
    assert!(matches!(
        unknown_dep,
        Err(CollectiviteError::UnknownDepartement(_))
    ));

    assert_eq!(
        count(&t).await,
        before,
        "nothing written by refused additions"
    );
}

#[tokio::test]
async fn there_is_one_operator_and_it_is_a_region() {
    let t = TestDb::with_referential().await;
    let not_region = collectivite::add(
        &t.db,
        &Target::Departement("21".into()),
        &Contact::default(),
        true,
    )
    .await;
    assert!(matches!(
        not_region,
        Err(CollectiviteError::OperatorMustBeRegion)
    ));
    collectivite::add(
        &t.db,
        &Target::Region("27".into()),
        &Contact::default(),
        true,
    )
    .await
    .expect("operator");
    let second = collectivite::add(
        &t.db,
        &Target::Region("84".into()),
        &Contact::default(),
        true,
    )
    .await;
    assert!(
        matches!(second, Err(CollectiviteError::OperatorExists(_))),
        "{second:?}"
    );
    assert_eq!(count(&t).await, 1);
}

#[tokio::test]
async fn adding_a_collectivite_needs_the_referential() {
    let t = TestDb::empty().await;
    guichet_store::migrate::run(&t.db).await.expect("migrate");
    let err = collectivite::add(
        &t.db,
        &Target::Siren("212102313".into()),
        &Contact::default(),
        false,
    )
    .await;
    assert!(matches!(err, Err(CollectiviteError::NoReferential)));
}

/// A région's hundreds of communes: the home page counts them and links to the directory, which
/// pages them and filters them by level, département and name (accents and case ignored).
#[tokio::test]
async fn a_whole_region_stays_readable_on_the_home_page_and_in_the_directory() {
    let s = crate::support::TestServer::start().await;
    for target in [
        Target::Region("27".into()),
        Target::Departement("21".into()),
    ] {
        collectivite::add(s.db(), &target, &Contact::default(), false)
            .await
            .expect("join");
    }
    let communes: Vec<String> = sqlx::query_scalar(
        "SELECT insee FROM communes WHERE departement_code = '21' AND kind = 'commune-actuelle'
         ORDER BY population DESC LIMIT 130",
    )
    .fetch_all(s.db().pool())
    .await
    .expect("communes");
    for insee in &communes {
        collectivite::add(
            s.db(),
            &Target::Insee(insee.clone()),
            &Contact::default(),
            false,
        )
        .await
        .expect("commune");
    }
    let rows = |html: &str| html.matches("<tr><td><a href=\"/collectivites/").count();

    let (_, home) = s.get_text("/").await;
    assert!(
        home.contains("Département de la Côte-d&#39;Or")
            || home.contains("Département de la Côte-d'Or")
    );
    assert!(
        home.contains("href=\"/collectivites?niveau=commune\">Voir les 130 communes"),
        "{home}"
    );
    assert!(
        !home.contains("/collectivites/beaune"),
        "communes are not listed one by one"
    );

    let (status, first) = s.get_text("/collectivites?niveau=commune").await;
    assert_eq!(status, 200);
    assert!(
        first.contains("130 collectivité(s), page 1 sur 2"),
        "{first}"
    );
    assert_eq!(rows(&first), 100);
    let nav = first
        .split("aria-label=\"Pages\"")
        .nth(1)
        .unwrap_or_default();
    assert!(
        nav.contains("niveau=commune&#38;departement=&#38;nom=&amp;page=2\">Page suivante"),
        "{nav}"
    );
    let (_, second) = s.get_text("/collectivites?niveau=commune&page=2").await;
    assert_eq!(rows(&second), 30);
    let (_, past) = s.get_text("/collectivites?niveau=commune&page=99").await;
    assert_eq!(rows(&past), 30, "past the last page: the last page");

    // Beaune, and the communes named after it (Savigny-lès-Beaune…), whatever the case.
    let (_, beaune) = s.get_text("/collectivites?nom=BEAUNE").await;
    assert!(beaune.contains("/collectivites/beaune\""));
    let names: Vec<&str> = beaune
        .split("<tr><td><a href=\"/collectivites/")
        .skip(1)
        .filter_map(|row| row.split('>').nth(1)?.split('<').next())
        .collect();
    assert!(names.len() > 1, "{names:?}");
    assert!(names.iter().all(|n| n.contains("Beaune")), "{names:?}");
    let (_, accented) = s.get_text("/collectivites?nom=savigny-l%C3%A8s").await;
    assert_eq!(rows(&accented), 1, "accents are matched too");
    let (_, whole) = s.get_text("/collectivites?departement=21").await;
    assert!(
        whole.contains("131 collectivité(s)"),
        "the département and its communes"
    );
    let (_, none) = s.get_text("/collectivites?departement=71").await;
    assert!(none.contains("Aucune collectivité ne correspond à ces critères."));
}
