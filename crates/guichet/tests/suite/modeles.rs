//! Shared templates end to end: the région publishes a démarche as a template, Dijon adopts it
//! in one action, adjusts only what the template allows, the template gets a new version, Dijon
//! reads what changed and updates, keeping its adjustments.

use crate::personas;
use crate::support::TestServer;
use guichet_domain::role::Role;

const AIDE: &str = r#"{
  "title": "Aide au permis de conduire pour les apprentis",
  "description": "Une aide pour financer le permis des apprentis.",
  "competence": "formation_professionnelle",
  "retention_months": 24,
  "deadline_days": 60,
  "contact": "Région — service apprentissage",
  "pages": [ { "title": "Vous", "fields": [
    { "id": "nom", "label": "Nom", "type": "short_text", "required": true }
  ] } ]
}"#;

#[tokio::test]
async fn a_template_is_adopted_adjusted_and_updated_with_the_changes_shown() {
    let s = TestServer::start().await;
    let t = personas::collectivites(&s).await;
    let region = personas::agent(&s, "admin@region.fr", &t.region, Role::Admin).await;
    let dijon = personas::agent(&s, "admin@dijon.fr", &t.dijon, Role::Admin).await;
    let rs = &t.region.slug;

    // The région publishes its démarche, then offers it as a template (contact and deadline adjustable).
    let created = region
        .browser
        .post(&format!("/admin/{rs}/demarches"), &[("definition", AIDE)])
        .await;
    let page = created.location.expect("created");
    region
        .browser
        .post(&format!("{page}/publication"), &[])
        .await;
    let offered = region
        .browser
        .post(
            &format!("{page}/modele"),
            &[("ajustable", "contact"), ("ajustable", "delai")],
        )
        .await;
    assert!(
        offered.html.contains("Modèle publié (version 1)"),
        "{}",
        offered.html
    );

    // Dijon browses the catalogue and adopts it in one action.
    let catalogue = dijon.browser.get("/admin/dijon/modeles").await;
    assert_eq!(catalogue.status, 200);
    assert!(catalogue
        .html
        .contains("Aide au permis de conduire pour les apprentis"));
    assert!(
        catalogue.html.contains("utilisé par 0 collectivité(s)"),
        "{}",
        catalogue.html
    );
    let template_id = guichet_store::modele::list(s.db()).await.expect("list")[0].id;
    let adopted = dijon
        .browser
        .post(&format!("/admin/dijon/modeles/{template_id}/adoption"), &[])
        .await;
    let mine = adopted.location.expect("to the adopted démarche");
    let id: i64 = mine
        .trim_start_matches("/admin/dijon/demarches/")
        .parse()
        .expect("id");
    let view = dijon.browser.get(&mine).await;
    assert!(
        view.html
            .contains("suit le modèle « Aide au permis de conduire pour les apprentis »"),
        "{}",
        view.html
    );

    // Allowed: contact and deadline. Not allowed: the description, the fields.
    let editor = format!("/admin/dijon/demarches/{id}/editeur");
    let settings = |description: &'static str| {
        vec![
            ("titre", "Aide au permis de conduire pour les apprentis"),
            ("description", description),
            ("competence", "formation_professionnelle"),
            ("delai", "30"),
            ("silence", "aucune"),
            ("conservation", "24"),
            ("identite", "compte"),
            ("contact", "Mairie de Dijon — 03 80 74 51 51"),
        ]
    };
    let ok = dijon
        .browser
        .post(
            &format!("{editor}/reglages"),
            &settings("Une aide pour financer le permis des apprentis."),
        )
        .await;
    assert!(ok.html.contains("Réglages enregistrés"), "{}", ok.html);
    let refused = dijon
        .browser
        .post(
            &format!("{editor}/reglages"),
            &settings("Autre description"),
        )
        .await;
    assert_eq!(refused.status, 422);
    assert!(refused.html.contains("suit le modèle"), "{}", refused.html);
    let field = dijon
        .browser
        .post(
            &format!("{editor}/champs"),
            &[
                ("type", "email"),
                ("libelle", "Courriel"),
                ("emplacement", "p0"),
            ],
        )
        .await;
    assert_eq!(field.status, 422, "fields follow the template");
    dijon
        .browser
        .post(&format!("{mine}/publication"), &[])
        .await;
    let catalogue = dijon.browser.get("/admin/dijon/modeles").await;
    assert!(catalogue.html.contains("utilisé par 1 collectivité(s)"));
    assert!(catalogue.html.contains("Déjà adopté"));

    // The région adds a field and publishes version 2 of the template.
    let region_id = page
        .trim_start_matches(&format!("/admin/{rs}/demarches/"))
        .to_string();
    let v2 = AIDE.replace(
        r#"{ "id": "nom", "label": "Nom", "type": "short_text", "required": true }"#,
        r#"{ "id": "nom", "label": "Nom", "type": "short_text", "required": true },
    { "id": "iban", "label": "IBAN pour le versement", "type": "iban", "required": true }"#,
    );
    region
        .browser
        .post(
            &format!("/admin/{rs}/demarches/{region_id}/brouillon"),
            &[("definition", &v2)],
        )
        .await;
    region
        .browser
        .post(
            &format!("/admin/{rs}/demarches/{region_id}/publication"),
            &[],
        )
        .await;
    let v2_offered = region
        .browser
        .post(
            &format!("/admin/{rs}/demarches/{region_id}/modele"),
            &[("ajustable", "contact"), ("ajustable", "delai")],
        )
        .await;
    assert!(v2_offered.html.contains("version 2"), "{}", v2_offered.html);

    // Dijon sees what changes, and updates.
    let view = dijon.browser.get(&mine).await;
    assert!(
        view.html
            .contains("Nouvelle version 2 du modèle disponible"),
        "{}",
        view.html
    );
    assert!(
        view.html
            .contains("Champ ajouté : « IBAN pour le versement » (IBAN, obligatoire)"),
        "{}",
        view.html
    );
    let updated = dijon
        .browser
        .post(&format!("{mine}/mise-a-jour"), &[])
        .await;
    assert!(
        updated
            .html
            .contains("mise à jour vers la version 2 du modèle"),
        "{}",
        updated.html
    );
    assert!(!updated
        .html
        .contains("Nouvelle version 2 du modèle disponible"));
    let d = guichet_store::demarche::get(s.db(), t.dijon.id, id)
        .await
        .expect("q")
        .expect("d");
    let def = guichet_store::demarche::definition(
        s.db(),
        t.dijon.id,
        id,
        d.draft_version.expect("a draft"),
    )
    .await
    .expect("q")
    .expect("def");
    assert!(def.field("iban").is_some(), "the template's new field");
    assert_eq!(
        def.contact.as_deref(),
        Some("Mairie de Dijon — 03 80 74 51 51"),
        "Dijon's contact kept"
    );
    assert_eq!(
        def.instruction_delay(),
        Some(guichet_domain::delai::Delai::jours(30)),
        "Dijon's deadline kept"
    );
    let journal = guichet_store::journal::list(s.db(), &Default::default(), 100)
        .await
        .expect("journal");
    for action in [
        "modele.publication",
        "modele.adoption",
        "modele.mise_a_jour",
    ] {
        assert!(journal.iter().any(|e| e.event.action == action), "{action}");
    }
}
