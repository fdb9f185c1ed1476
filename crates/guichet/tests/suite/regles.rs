//! The démarche language as residents meet it, through the web: an age on 1 September, a field
//! that only applies after an earlier answer, a rule between two dates, a format, a case of
//! ineligibility. Each bad answer is refused with its French message tied to its field, and
//! nothing typed is lost.

use crate::personas;
use crate::support::TestServer;
use guichet_domain::demarche::Definition;

/// Dijon's school catering, as its admin writes it.
const CANTINE: &str = r#"{
  "title": "Inscription à la restauration scolaire",
  "description": "Inscrire vos enfants à la cantine.",
  "competence": "restauration_scolaire",
  "retention_months": 24,
  "deadline": { "amount": 1, "unit": "mois" },
  "pages": [
    { "title": "Votre foyer", "fields": [
      { "id": "allergie", "label": "Un enfant a-t-il une allergie alimentaire ?", "type": "yes_no", "required": true },
      { "id": "garde", "label": "Mode de garde", "type": "single_choice", "options": ["parents", "garde alternée", "autre"] },
      { "id": "garde_precision", "label": "Précisez le mode de garde", "type": "short_text", "required": true,
        "condition": { "field": "garde", "equals": ["autre"] } }
    ] },
    { "title": "Vos enfants", "fields": [
      { "id": "enfants", "label": "Enfants", "type": "block", "item_label": "Enfant", "min": 1, "max": 4, "fields": [
        { "id": "prenom", "label": "Prénom", "type": "short_text", "required": true },
        { "id": "naissance", "label": "Date de naissance", "type": "date", "required": true,
          "age": { "min": 2, "max": 12, "on": { "day": "09-01" } } }
      ] },
      { "id": "pai", "label": "Projet d'accueil individualisé (PAI)", "type": "file", "accept": ["application/pdf"],
        "max_size_mb": 5, "required": true, "condition": { "field": "allergie", "equals": ["oui"] } },
      { "id": "activites", "label": "Activités périscolaires", "type": "block", "item_label": "Activité", "min": 0, "max": 3, "fields": [
        { "id": "nom", "label": "Activité", "type": "short_text", "required": true }
      ] }
    ] }
  ]
}"#;

/// A terrace permit: the end after the start, a Kbis of less than 3 months, an RNA number.
const TERRASSE: &str = r#"{
  "title": "Terrasse estivale",
  "description": "Occuper le domaine public l'été.",
  "competence": "occupation_domaine_public",
  "retention_months": 24,
  "pages": [
    { "title": "La terrasse", "fields": [
      { "id": "debut", "label": "Date de début", "type": "date", "required": true },
      { "id": "fin", "label": "Date de fin", "type": "date", "required": true },
      { "id": "kbis", "label": "Date de l'extrait Kbis", "type": "date", "required": true, "within": { "amount": 3, "unit": "mois" } },
      { "id": "association", "label": "Numéro RNA de l'association (le cas échéant)", "type": "rna" },
      { "id": "alcool", "label": "Vendrez-vous de l'alcool fort ?", "type": "yes_no", "required": true }
    ] }
  ],
  "rules": [
    { "field": "fin", "compare": "after", "to": "debut", "message": "La date de fin doit suivre la date de début." }
  ],
  "ineligibility": [
    { "condition": { "field": "alcool", "equals": ["oui"] },
      "message": "une terrasse estivale ne permet pas la vente d'alcool fort ; demandez une licence à la mairie." }
  ]
}"#;

fn paris_today() -> jiff::civil::Date {
    guichet_domain::delai::paris_day(guichet_store::now_ms())
}

#[tokio::test]
async fn a_child_s_age_and_a_pai_only_when_an_allergy_was_declared() {
    let s = TestServer::start().await;
    let t = personas::collectivites(&s).await;
    let u = personas::usager(&s).await;
    let def = Definition::from_json(CANTINE).expect("definition");
    crate::support::publish(s.db(), t.dijon.id, &def).await;
    let started = u
        .browser
        .post(
            "/demarches/dijon/inscription-a-la-restauration-scolaire/dossiers",
            &[],
        )
        .await;
    let step0 = started.location.expect("first step");
    let step1 = step0.replace("/etapes/0", "/etapes/1");

    // Same-step condition: spelled out for a browser without JavaScript, in a wrapper the script
    // hides while it does not apply.
    let first = u.browser.get(&step0).await;
    assert!(
        first
            .html
            .contains("À remplir seulement si vous avez répondu « autre » à « Mode de garde »"),
        "{}",
        first.html
    );
    assert!(
        first.html.contains("class=\"conditionnel\""),
        "{}",
        first.html
    );
    assert!(
        first.html.contains("/static/conditions."),
        "the script is loaded"
    );

    let next = u
        .browser
        .post(
            &step0,
            &[
                ("allergie", "non"),
                ("garde", "parents"),
                ("action", "continuer"),
            ],
        )
        .await;
    assert_eq!(
        next.location.as_deref(),
        Some(step1.as_str()),
        "{}",
        next.html
    );

    // No allergy: the PAI does not apply, so it is not there at all; the optional block of
    // activities starts with no repetition and a button to add one.
    let kids = u.browser.get(&step1).await;
    assert!(!kids.html.contains("Projet d'accueil"), "{}", kids.html);
    assert!(kids.html.contains("Enfant 1"));
    assert!(!kids.html.contains("Activité 1"), "{}", kids.html);
    assert!(kids.html.contains("Ajouter : activité"));
    assert!(kids
        .html
        .contains("Âge demandé : entre 2 et 12 ans au 1er septembre."));

    // A child too old on 1 September of the year of the request.
    let year = paris_today().year();
    let old = u
        .browser
        .post(
            &step1,
            &[
                ("enfants[0].prenom", "Louise"),
                ("enfants[0].naissance", &format!("{}-08-31", year - 13)),
                ("action", "continuer"),
            ],
        )
        .await;
    assert_eq!(old.status, 422);
    assert!(
        old.html.contains(&format!(
            "Enfant 1 — Date de naissance : Il faut avoir entre 2 et 12 ans au 1er septembre {year}"
        )),
        "{}",
        old.html
    );
    assert!(
        old.html
            .contains("aria-describedby=\"enfants-0--naissance-aide enfants-0--naissance-erreur\""),
        "{}",
        old.html
    );
    assert!(
        old.html.contains("value=\"Louise\""),
        "what was typed is kept"
    );

    // Back on the first step, an allergy: now the PAI is asked, and required.
    u.browser
        .post(
            &step0,
            &[
                ("allergie", "oui"),
                ("garde", "parents"),
                ("action", "continuer"),
            ],
        )
        .await;
    let with_pai = u
        .browser
        .post(
            &step1,
            &[
                ("enfants[0].prenom", "Louise"),
                ("enfants[0].naissance", &format!("{}-03-01", year - 6)),
                ("action", "continuer"),
            ],
        )
        .await;
    assert_eq!(with_pai.status, 422);
    assert!(
        with_pai
            .html
            .contains("Projet d&#39;accueil individualisé (PAI) : Joignez ce document.")
            || with_pai
                .html
                .contains("Projet d'accueil individualisé (PAI) : Joignez ce document."),
        "{}",
        with_pai.html
    );
    assert!(
        !with_pai
            .html
            .contains("À remplir seulement si vous avez répondu « oui »"),
        "settled, not spelled out"
    );
}

#[tokio::test]
async fn rules_between_fields_formats_and_ineligibility_on_a_step() {
    let s = TestServer::start().await;
    let t = personas::collectivites(&s).await;
    let u = personas::usager(&s).await;
    let def = Definition::from_json(TERRASSE).expect("definition");
    crate::support::publish(s.db(), t.dijon.id, &def).await;
    let started = u
        .browser
        .post("/demarches/dijon/terrasse-estivale/dossiers", &[])
        .await;
    let step0 = started.location.expect("first step");
    let today = paris_today();
    let old_kbis = today
        .checked_sub(jiff::Span::new().months(3).days(1))
        .expect("day")
        .to_string();
    let bad = u
        .browser
        .post(
            &step0,
            &[
                ("debut", "2027-06-15"),
                ("fin", "2027-06-01"),
                ("kbis", &old_kbis),
                ("association", "W21-2001"),
                ("alcool", "non"),
                ("action", "continuer"),
            ],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(
        bad.html
            .contains("Date de fin : La date de fin doit suivre la date de début."),
        "{}",
        bad.html
    );
    assert!(
        bad.html.contains("aria-describedby=\"fin-erreur\""),
        "{}",
        bad.html
    );
    assert!(
        bad.html
            .contains("Date de l&#39;extrait Kbis : La date doit dater de moins de 3 mois"),
        "{}",
        bad.html
    );
    assert!(
        bad.html
            .contains("commence par W suivi de 9 chiffres ou lettres"),
        "{}",
        bad.html
    );
    assert!(
        bad.html.contains("value=\"2027-06-15\""),
        "dates typed are kept"
    );

    // Not eligible: the deposit stops with the explanation.
    let kbis = today.to_string();
    let stop = u
        .browser
        .post(
            &step0,
            &[
                ("debut", "2027-06-01"),
                ("fin", "2027-09-30"),
                ("kbis", &kbis),
                ("association", "w212001234"),
                ("alcool", "oui"),
                ("action", "continuer"),
            ],
        )
        .await;
    assert_eq!(stop.status, 422);
    assert!(
        stop.html.contains(
            "Vous ne pouvez pas déposer cette demande : une terrasse estivale ne permet pas"
        ),
        "{}",
        stop.html
    );

    let ok = u
        .browser
        .post(
            &step0,
            &[
                ("debut", "2027-06-01"),
                ("fin", "2027-09-30"),
                ("kbis", &kbis),
                ("association", "w212001234"),
                ("alcool", "non"),
                ("action", "continuer"),
            ],
        )
        .await;
    assert!(
        ok.location
            .as_deref()
            .is_some_and(|l| l.ends_with("/recapitulatif")),
        "{}",
        ok.html
    );
    let id: i64 = step0
        .trim_start_matches("/dossiers/")
        .split('/')
        .next()
        .and_then(|n| n.parse().ok())
        .expect("dossier id");
    let filed = u.browser.post(&format!("/dossiers/{id}/depot"), &[]).await;
    assert_eq!(
        filed.location.as_deref(),
        Some(&*format!("/dossiers/{id}?depose=1"))
    );
    let x = guichet_store::dossier::get(s.db(), t.dijon.id, id)
        .await
        .expect("q")
        .expect("dossier");
    assert_eq!(
        x.answers.get("association"),
        Some("W212001234"),
        "kept in its normal form"
    );
}
