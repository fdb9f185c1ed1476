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

/// Starts a dossier of `u` on Dijon's démarche `slug`: its first step and its id.
async fn start(u: &personas::Persona, slug: &str) -> (String, i64) {
    let started = u
        .browser
        .post(&format!("/demarches/dijon/{slug}/dossiers"), &[])
        .await;
    let step = started.location.expect("first step");
    let id = crate::support::id_from(&step, "/dossiers/");
    (step, id)
}

/// Deposits a dossier whose steps are done: the page of the accusé follows.
async fn deposit(u: &personas::Persona, id: i64) {
    let filed = u.browser.post(&format!("/dossiers/{id}/depot"), &[]).await;
    assert_eq!(
        filed.location.as_deref(),
        Some(&*format!("/dossiers/{id}?depose=1"))
    );
}

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
    let (step0, _) = start(&u, "inscription-a-la-restauration-scolaire").await;
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
    // Not applying yet, the field is not announced as required.
    assert!(
        first.html.contains("<label for=\"garde_precision\">Précisez le mode de garde <span class=\"meta\" data-obligatoire hidden>(obligatoire)</span></label>"),
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
    let (step0, id) = start(&u, "terrasse-estivale").await;
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
    deposit(&u, id).await;
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

/// Files the catering dossier of two children, with an allergy and its PAI, through the web.
async fn file_cantine(u: &personas::Persona) -> i64 {
    let (step0, id) = start(u, "inscription-a-la-restauration-scolaire").await;
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
    let year = paris_today().year();
    let pdf = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
        .to_vec();
    let form = crate::support::multipart(&[
        ("enfants[0].prenom", "Léa"),
        ("enfants[0].naissance", &format!("{}-07-14", year - 8)),
        ("enfants[1].prenom", "Noé"),
        ("enfants[1].naissance", &format!("{}-02-03", year - 5)),
        ("action", "continuer"),
    ])
    .part(
        "pai",
        crate::support::file_part("PAI Léa.pdf", pdf, "application/pdf"),
    );
    let done = u
        .browser
        .post_multipart(&format!("/dossiers/{id}/etapes/1"), form)
        .await;
    assert!(
        done.location
            .as_deref()
            .is_some_and(|l| l.ends_with("/recapitulatif")),
        "{}",
        done.html
    );
    deposit(u, id).await;
    id
}

#[tokio::test]
async fn exports_have_a_column_per_field_and_a_row_per_child_in_xlsx_and_csv() {
    use guichet_domain::role::Role;
    let s = TestServer::start().await;
    let t = personas::collectivites(&s).await;
    let u = personas::usager(&s).await;
    let def = Definition::from_json(CANTINE).expect("definition");
    let d = crate::support::publish(s.db(), t.dijon.id, &def).await;
    file_cantine(&u).await;
    let x = guichet_store::dossier::list_for_usager(s.db(), u.user_id)
        .await
        .expect("list")
        .pop()
        .expect("dossier");
    let agent = personas::agent(&s, "instructeur@dijon.fr", &t.dijon, Role::Instructeur).await;
    let year = paris_today().year();

    // XLSX: the dossiers' sheet, one column per field; the children's sheet, one row each.
    let r = agent
        .browser
        .client
        .get(format!(
            "{}/admin/dijon/dossiers.xlsx?file=tous&demarche={}",
            s.base, d.id
        ))
        .header("accept-encoding", "gzip, br")
        .send()
        .await
        .expect("export");
    assert_eq!(r.status(), 200);
    let bytes = r.bytes().await.expect("body");
    use calamine::{Data, Reader};
    let mut book =
        calamine::Xlsx::new(std::io::Cursor::new(bytes.to_vec())).expect("a valid XLSX file");
    assert_eq!(book.sheet_names(), ["Dossiers", "enfants", "activites"]);
    let main = book.worksheet_range("Dossiers").expect("sheet");
    let header: Vec<String> = (0..main.width())
        .map(|c| main.get((0, c)).map(|v| v.to_string()).unwrap_or_default())
        .collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("column {name} in {header:?}"))
    };
    assert_eq!(
        main.get((1, col("numero"))).map(|v| v.to_string()),
        Some(x.number.clone())
    );
    assert_eq!(
        main.get((
            1,
            col("Un enfant a-t-il une allergie alimentaire ? (allergie)")
        ))
        .map(|v| v.to_string()),
        Some("oui".into())
    );
    let pai = main
        .get((1, col("Projet d'accueil individualisé (PAI) (pai)")))
        .map(|v| v.to_string())
        .unwrap_or_default();
    assert!(
        pai.starts_with("PAI Léa.pdf <")
            && pai.contains(&format!("/admin/dijon/dossiers/{}/fichiers/", x.id)),
        "{pai}"
    );
    assert!(
        !header.iter().any(|h| h == "reponses"),
        "no JSON cell: {header:?}"
    );
    let kids = book.worksheet_range("enfants").expect("children's sheet");
    assert_eq!(kids.height(), 3, "a header and one row per child");
    assert_eq!(
        kids.get((0, 2)).map(|v| v.to_string()),
        Some("Prénom (prenom)".into())
    );
    assert_eq!(
        kids.get((1, 0)).map(|v| v.to_string()),
        Some(x.number.clone())
    );
    assert_eq!(kids.get((1, 1)), Some(&Data::Float(1.0)));
    assert_eq!(kids.get((1, 2)).map(|v| v.to_string()), Some("Léa".into()));
    assert_eq!(kids.get((2, 2)).map(|v| v.to_string()), Some("Noé".into()));
    // The birth date is a date, not text.
    match kids.get((1, 3)) {
        Some(Data::DateTime(dt)) => {
            // Excel counts days from 30 December 1899.
            let day = jiff::civil::date(1899, 12, 30)
                .checked_add(jiff::Span::new().days(dt.as_f64() as i64))
                .expect("a day");
            assert_eq!(day.to_string(), format!("{}-07-14", year - 8));
        }
        other => panic!("a date cell, found {other:?}"),
    }
    assert_eq!(
        book.worksheet_range("activites").expect("sheet").height(),
        1,
        "no activity: the header only"
    );

    // CSV: a ZIP of the same tables.
    let r = agent
        .browser
        .client
        .get(format!(
            "{}/admin/dijon/dossiers.zip?file=tous&demarche={}",
            s.base, d.id
        ))
        .send()
        .await
        .expect("export");
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/zip");
    let bytes = r.bytes().await.expect("body");
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).expect("a valid ZIP");
    let names: Vec<String> = zip.file_names().map(str::to_string).collect();
    assert_eq!(names, ["dossiers.csv", "enfants.csv", "activites.csv"]);
    let table =
        |zip: &mut zip::ZipArchive<std::io::Cursor<Vec<u8>>>, name: &str| -> Vec<Vec<String>> {
            let file = zip.by_name(name).expect("table");
            csv::ReaderBuilder::new()
                .delimiter(b';')
                .has_headers(false)
                .from_reader(file)
                .records()
                .map(|r| {
                    r.expect("a CSV record")
                        .iter()
                        .map(str::to_string)
                        .collect()
                })
                .collect()
        };
    let children = table(&mut zip, "enfants.csv");
    assert_eq!(children.len(), 3);
    assert_eq!(
        children[0][..4],
        [
            "numero",
            "rang",
            "Prénom (prenom)",
            "Date de naissance (naissance)"
        ]
    );
    assert_eq!(
        children[1],
        [
            x.number.clone(),
            "1".into(),
            "Léa".into(),
            format!("{}-07-14", year - 8)
        ]
    );
    assert_eq!(children[2][2], "Noé");
    let dossiers = table(&mut zip, "dossiers.csv");
    assert_eq!(dossiers.len(), 2);
    assert_eq!(dossiers[1][0], x.number);

    // Over every démarche, the answers are words in one column, not JSON.
    let r = agent
        .browser
        .client
        .get(format!("{}/admin/dijon/dossiers.csv?file=tous", s.base))
        .send()
        .await
        .expect("export");
    let text = r.text().await.expect("body");
    assert!(text.contains("Enfants 2 — Prénom (prenom) : Noé"), "{text}");
    assert!(!text.contains("[\""), "no JSON: {text}");
}

/// A démarche anyone may file without an account.
const SANS_COMPTE: &str = r#"{
  "title": "Demande de composteur",
  "description": "Recevoir un composteur de jardin.",
  "competence": "collecte_dechets",
  "retention_months": 12,
  "identity": "aucune",
  "pages": [ { "title": "Vous", "fields": [
    { "id": "adresse", "label": "Adresse de livraison", "type": "address", "required": true }
  ] } ]
}"#;

#[tokio::test]
async fn a_resident_without_an_account_files_confirms_the_address_and_attaches_the_dossier_later() {
    use crate::support::SmtpSink;
    use guichet_store::compte::Kind;
    let smtp = SmtpSink::start().await;
    let s = TestServer::with_smtp(&smtp).await;
    let t = personas::collectivites(&s).await;
    let def = Definition::from_json(SANS_COMPTE).expect("definition");
    crate::support::publish(s.db(), t.dijon.id, &def).await;
    let visitor = s.browser();
    let page = visitor.get("/demarches/dijon/demande-de-composteur").await;
    assert!(page.html.contains("Commencer sans compte"), "{}", page.html);

    // A wrong address: refused in French, what was typed kept.
    let bad = visitor
        .post(
            "/demarches/dijon/demande-de-composteur/sans-compte",
            &[("nom", "Paul Girard"), ("email", "paul.girard@")],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(
        bad.html
            .contains("Saisissez une adresse électronique valide"),
        "{}",
        bad.html
    );
    assert!(bad.html.contains("value=\"Paul Girard\""));

    let sent = visitor
        .post(
            "/demarches/dijon/demande-de-composteur/sans-compte",
            &[("nom", "Paul Girard"), ("email", "Paul.Girard@Exemple.fr")],
        )
        .await;
    assert_eq!(sent.status, 200, "{}", sent.html);
    assert!(
        sent.html
            .contains("vient d&#39;être envoyé à paul.girard@exemple.fr")
            || sent
                .html
                .contains("vient d'être envoyé à paul.girard@exemple.fr"),
        "{}",
        sent.html
    );
    let mail = smtp
        .wait_for("paul.girard@exemple.fr", "Demande de composteur")
        .await;
    let link = mail
        .body
        .split_whitespace()
        .find(|w| w.contains("/dossiers/invitation/"))
        .expect("the link")
        .to_string();
    let path = &link[link.find("/dossiers/invitation/").expect("path")..];

    // Without the link, the dossier is nobody's to open.
    let stranger = s.browser();
    let id: i64 = sqlx::query_scalar("SELECT id FROM dossiers WHERE counter_contact = $1")
        .bind("paul.girard@exemple.fr")
        .fetch_one(s.db().pool())
        .await
        .expect("the draft");
    let closed = stranger.get(&format!("/dossiers/{id}/etapes/0")).await;
    assert!(
        closed
            .location
            .as_deref()
            .is_some_and(|l| l.starts_with("/connexion")),
        "{:?}",
        closed.location
    );
    let forged = stranger
        .get("/dossiers/invitation/pas-un-jeton-valable-pas-un-jeton-valable")
        .await;
    assert_eq!(forged.status, 404);

    // Following the link (on another device) opens the draft; the resident files it.
    let phone = s.browser();
    let opened = phone.get(path).await;
    assert_eq!(
        opened.location.as_deref(),
        Some(&*format!("/dossiers/{id}/etapes/0"))
    );
    let step = phone
        .post(
            &format!("/dossiers/{id}/etapes/0"),
            &[
                ("adresse", "4 rue Musette, 21000 Dijon"),
                ("action", "continuer"),
            ],
        )
        .await;
    assert_eq!(
        step.location.as_deref(),
        Some(&*format!("/dossiers/{id}/recapitulatif")),
        "{}",
        step.html
    );
    // The link opens its own dossier, and no other.
    let other = guichet_store::dossier::create_draft(s.db(), t.dijon.id, 1, 1, None, "Autre")
        .await
        .expect("another draft");
    for path in [
        format!("/dossiers/{}", other.id),
        format!("/dossiers/{}/etapes/0", other.id),
    ] {
        let page = phone.get(&path).await;
        assert_eq!(page.status, 404, "{path}");
    }
    let filed = phone.post(&format!("/dossiers/{id}/depot"), &[]).await;
    assert_eq!(
        filed.location.as_deref(),
        Some(&*format!("/dossiers/{id}?depose=1"))
    );
    let accuse = smtp
        .wait_for("paul.girard@exemple.fr", "Accusé de réception")
        .await;
    assert!(
        accuse.body.contains("déposé sans compte"),
        "{}",
        accuse.body
    );
    let code_line = accuse
        .body
        .lines()
        .find(|l| l.starts_with("Code de suivi"))
        .expect("the code")
        .to_string();
    let code = code_line
        .trim_start_matches("Code de suivi : ")
        .trim()
        .to_string();
    let view = phone.get(&format!("/dossiers/{id}?depose=1")).await;
    assert!(view.html.contains("Accusé de réception"), "{}", view.html);
    assert!(
        view.html.contains(&code),
        "the page gives the tracking code"
    );

    // Later, with an account: the dossier is attached, and the link no longer opens it.
    let paul = personas::persona(&s, Kind::Usager, "paul.girard@exemple.fr", &[]).await;
    let claimed = paul
        .browser
        .post("/compte/rattacher", &[("code", &code), ("nom", "Girard")])
        .await;
    assert_eq!(claimed.location, Some(format!("/dossiers/{id}")));
    let again = s.browser().get(path).await;
    assert_eq!(again.status, 404);
    let old_cookie = phone.get(&format!("/dossiers/{id}")).await;
    assert_ne!(
        old_cookie.status, 200,
        "the guest cookie no longer opens an attached dossier"
    );

    // A démarche that needs an account offers no such path.
    let with_account = Definition::from_json(
        &SANS_COMPTE
            .replace(r#""identity": "aucune""#, r#""identity": "compte""#)
            .replace("composteur", "bac"),
    )
    .expect("definition");
    crate::support::publish(s.db(), t.dijon.id, &with_account).await;
    let refused = s
        .browser()
        .post(
            "/demarches/dijon/demande-de-bac/sans-compte",
            &[("nom", "Paul Girard"), ("email", "paul@exemple.fr")],
        )
        .await;
    assert_eq!(refused.status, 404);
}

/// A school-transport request routed to a team by the school chosen.
const TRANSPORT: &str = r#"{
  "title": "Transport scolaire adapté",
  "description": "Un transport vers l'école pour un enfant en situation de handicap.",
  "competence": "transports_scolaires",
  "retention_months": 24,
  "pages": [ { "title": "L'école", "fields": [
    { "id": "ecole", "label": "École", "type": "single_choice", "required": true,
      "options": ["École Montchapet", "École Darcy", "Collège Rameau"] }
  ] } ],
  "routing": [
    { "condition": { "field": "ecole", "equals": ["École Montchapet", "École Darcy"] }, "team": "Service des écoles" },
    { "condition": { "field": "ecole", "equals": ["Collège Rameau"] }, "team": "Service des collèges" }
  ]
}"#;

#[tokio::test]
async fn a_new_dossier_goes_to_the_team_its_answers_name_and_publication_checks_the_teams() {
    use guichet_domain::role::Role;
    let s = TestServer::start().await;
    let t = personas::collectivites(&s).await;
    let admin = personas::agent(&s, "admin@dijon.fr", &t.dijon, Role::Admin).await;
    let def = Definition::from_json(TRANSPORT).expect("definition");
    let d = guichet_store::demarche::create(s.db(), t.dijon.id, &def, Default::default())
        .await
        .expect("draft");
    // Publication names the team that is missing.
    let refused = admin
        .browser
        .post(&format!("/admin/dijon/demarches/{}/publication", d.id), &[])
        .await;
    assert_eq!(refused.status, 422, "{}", refused.html);
    assert!(
        refused.html.contains("l&#39;équipe « Service des écoles »")
            || refused.html.contains("l'équipe « Service des écoles »"),
        "{}",
        refused.html
    );
    let ecoles = guichet_store::equipe::create_equipe(
        s.db(),
        t.dijon.id,
        "Service des écoles",
        Default::default(),
    )
    .await
    .expect("q")
    .expect("team");
    let colleges = guichet_store::equipe::create_equipe(
        s.db(),
        t.dijon.id,
        "Service des collèges",
        Default::default(),
    )
    .await
    .expect("q")
    .expect("team");
    let published = admin
        .browser
        .post(&format!("/admin/dijon/demarches/{}/publication", d.id), &[])
        .await;
    assert!(
        published.html.contains("Version 1 publiée"),
        "{}",
        published.html
    );

    let u = personas::usager(&s).await;
    for (school, team) in [("Collège Rameau", colleges), ("École Darcy", ecoles)] {
        let (step, id) = start(&u, "transport-scolaire-adapte").await;
        u.browser
            .post(&step, &[("ecole", school), ("action", "continuer")])
            .await;
        deposit(&u, id).await;
        let x = guichet_store::dossier::get(s.db(), t.dijon.id, id)
            .await
            .expect("q")
            .expect("dossier");
        assert_eq!(x.assigned_team, Some(team), "{school}");
    }
}

/// An association grant whose instructeurs score the project and set the amount granted.
const SUBVENTION: &str = r#"{
  "title": "Subvention aux associations",
  "description": "Aide au fonctionnement des associations dijonnaises.",
  "competence": "vie_associative",
  "retention_months": 60,
  "decision_letter": "Dossier {numero} : {decision}. Montant accordé : {annotation.montant} euros.",
  "pages": [ { "title": "L'association", "fields": [
    { "id": "rna", "label": "Numéro RNA", "type": "rna", "required": true },
    { "id": "demande", "label": "Montant demandé (€)", "type": "decimal", "min": 0, "required": true }
  ] } ],
  "annotations": [
    { "id": "note", "label": "Note du projet (sur 20)", "type": "integer", "min": 0, "max": 20, "required": true },
    { "id": "montant", "label": "Montant accordé (€)", "type": "decimal", "min": 0 },
    { "id": "avis_commission", "label": "Avis de la commission", "type": "long_text" }
  ]
}"#;

#[tokio::test]
async fn agents_fill_private_annotations_used_in_the_letter_and_the_export_never_shown_to_the_usager(
) {
    use guichet_domain::role::Role;
    let s = TestServer::start().await;
    let t = personas::collectivites(&s).await;
    let def = Definition::from_json(SUBVENTION).expect("definition");
    let d = crate::support::publish(s.db(), t.dijon.id, &def).await;
    let u = personas::usager(&s).await;
    let (step, id) = start(&u, "subvention-aux-associations").await;
    u.browser
        .post(
            &step,
            &[
                ("rna", "W212001234"),
                ("demande", "1500"),
                ("action", "continuer"),
            ],
        )
        .await;
    deposit(&u, id).await;

    let agent = personas::agent(&s, "instructeur@dijon.fr", &t.dijon, Role::Instructeur).await;
    let page = agent
        .browser
        .get(&format!("/admin/dijon/dossiers/{id}"))
        .await;
    assert!(
        page.html.contains("Annotations privées") && page.html.contains("Note du projet (sur 20)"),
        "{}",
        page.html
    );
    let bad = agent
        .browser
        .post(
            &format!("/admin/dijon/dossiers/{id}/annotations"),
            &[("note", "25"), ("montant", "mille")],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(
        bad.html
            .contains("Note du projet (sur 20) : La valeur doit être comprise entre 0 et 20."),
        "{}",
        bad.html
    );
    assert!(
        bad.html
            .contains("Montant accordé (€) : Saisissez un nombre"),
        "{}",
        bad.html
    );
    assert!(bad.html.contains("value=\"mille\""), "typed values kept");
    let x = guichet_store::dossier::get(s.db(), t.dijon.id, id)
        .await
        .expect("q")
        .expect("dossier");
    assert!(
        x.annotations.0.is_empty(),
        "nothing saved from a refused form"
    );

    let ok = agent
        .browser
        .post(
            &format!("/admin/dijon/dossiers/{id}/annotations"),
            &[
                ("note", "16"),
                ("montant", "1 200,50"),
                ("avis_commission", "Projet solide, budget réaliste."),
            ],
        )
        .await;
    assert!(ok.html.contains("Annotations enregistrées."), "{}", ok.html);
    assert!(
        ok.html
            .contains("Annotations privées : Note du projet (sur 20) = 16"),
        "a private line in the history"
    );
    let x = guichet_store::dossier::get(s.db(), t.dijon.id, id)
        .await
        .expect("q")
        .expect("dossier");
    assert_eq!(x.annotations.get("montant"), Some("1200.5"));

    // The usager sees none of it.
    let mine = u.browser.get(&format!("/dossiers/{id}")).await;
    assert!(
        !mine.html.contains("Projet solide") && !mine.html.contains("Annotations"),
        "{}",
        mine.html
    );

    // The decision letter uses the amount granted; the export has the annotations' columns.
    agent
        .browser
        .post(
            &format!("/admin/dijon/dossiers/{id}/action"),
            &[("action", "instruire")],
        )
        .await;
    agent
        .browser
        .post(
            &format!("/admin/dijon/dossiers/{id}/action"),
            &[("action", "accepter")],
        )
        .await;
    let letter = crate::filing::pdf_text(
        &agent.browser,
        &format!("/admin/dijon/dossiers/{id}/decision.pdf"),
    )
    .await;
    assert!(
        letter.contains("Montant accordé : 1200.5 euros"),
        "{letter}"
    );
    let csv = agent
        .browser
        .client
        .get(format!(
            "{}/admin/dijon/dossiers.csv?file=tous&demarche={}",
            s.base, d.id
        ))
        .send()
        .await
        .expect("export")
        .text()
        .await
        .expect("body");
    let mut lines = csv.lines();
    let header = lines.next().expect("header");
    assert!(header.ends_with("Annotation : Note du projet (sur 20) (note);Annotation : Montant accordé (€) (montant);Annotation : Avis de la commission (avis_commission)"), "{header}");
    assert!(
        lines
            .next()
            .expect("row")
            .ends_with(";16;1200.5;Projet solide, budget réaliste."),
        "{csv}"
    );
}

#[tokio::test]
async fn an_expert_outside_the_collectivite_gives_an_opinion_once_through_a_link() {
    use crate::support::SmtpSink;
    use guichet_domain::role::Role;
    let smtp = SmtpSink::start().await;
    let s = TestServer::with_smtp(&smtp).await;
    let t = personas::collectivites(&s).await;
    let def = Definition::from_json(SUBVENTION).expect("definition");
    crate::support::publish(s.db(), t.dijon.id, &def).await;
    let u = personas::usager(&s).await;
    let (step, id) = start(&u, "subvention-aux-associations").await;
    u.browser
        .post(
            &step,
            &[
                ("rna", "W212001234"),
                ("demande", "1500"),
                ("action", "continuer"),
            ],
        )
        .await;
    u.browser.post(&format!("/dossiers/{id}/depot"), &[]).await;

    let agent = personas::agent(&s, "instructeur@dijon.fr", &t.dijon, Role::Instructeur).await;
    let bad = agent
        .browser
        .post(
            &format!("/admin/dijon/dossiers/{id}/avis"),
            &[
                ("expert", "pas une adresse"),
                ("question", "Le budget est-il réaliste ?"),
            ],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(
        bad.html
            .contains("Saisissez l&#39;adresse électronique de l&#39;expert")
            || bad
                .html
                .contains("Saisissez l'adresse électronique de l'expert"),
        "{}",
        bad.html
    );
    let asked = agent
        .browser
        .post(
            &format!("/admin/dijon/dossiers/{id}/avis"),
            &[
                ("expert", "Expert@Cabinet.example"),
                ("question", "Le budget est-il réaliste ?"),
            ],
        )
        .await;
    assert!(
        asked
            .html
            .contains("Avis demandé à expert@cabinet.example."),
        "{}",
        asked.html
    );
    assert!(asked.html.contains("en attente"));
    let mail = smtp
        .wait_for("expert@cabinet.example", "Demande d'avis")
        .await;
    let link = mail
        .body
        .split_whitespace()
        .find(|w| w.contains("/avis/"))
        .expect("link")
        .to_string();
    let path = link[link.find("/avis/").expect("path")..].to_string();

    // The expert, without an account: reads the dossier and the question, answers once.
    let expert = s.browser();
    let page = expert.get(&path).await;
    assert_eq!(page.status, 200);
    assert!(
        page.html.contains("Le budget est-il réaliste ?") && page.html.contains("W212001234"),
        "{}",
        page.html
    );
    let empty = expert.post(&path, &[("avis", "")]).await;
    assert_eq!(empty.status, 422);
    assert!(empty.html.contains("Écrivez votre avis"), "{}", empty.html);
    let given = expert
        .post(
            &path,
            &[("avis", "Budget réaliste, frais de salle un peu élevés.")],
        )
        .await;
    assert_eq!(given.status, 200, "{}", given.html);
    let again = expert.post(&path, &[("avis", "Autre chose")]).await;
    assert_eq!(again.status, 410, "single use");
    assert_eq!(expert.get(&path).await.status, 410);
    assert_eq!(
        s.browser()
            .get("/avis/jeton-inconnu-jeton-inconnu-jeton-inconnu")
            .await
            .status,
        404
    );

    // The answer is in the dossier, for the agents only.
    let dossier = agent
        .browser
        .get(&format!("/admin/dijon/dossiers/{id}"))
        .await;
    assert!(
        dossier
            .html
            .contains("Avis : Budget réaliste, frais de salle un peu élevés.")
            && dossier.html.contains("rendu"),
        "{}",
        dossier.html
    );
    let mine = u.browser.get(&format!("/dossiers/{id}")).await;
    assert!(!mine.html.contains("Budget réaliste"), "{}", mine.html);
    let journal = guichet_store::journal::list(s.db(), &Default::default(), 50)
        .await
        .expect("journal");
    assert!(journal.iter().any(
        |e| e.event.action == "dossier.avis_rendu" && e.event.actor == "expert@cabinet.example"
    ));
}

#[tokio::test]
async fn the_editor_shows_rules_routing_and_annotations_in_words_and_keeps_them() {
    use guichet_domain::role::Role;
    let s = TestServer::start().await;
    let t = personas::collectivites(&s).await;
    let admin = personas::agent(&s, "admin@dijon.fr", &t.dijon, Role::Admin).await;
    let with_rules = SUBVENTION.replace(
        r#""annotations": ["#,
        r#""rules": [ { "field": "demande", "compare": "le", "to": "demande", "message": "Toujours vrai." } ],
  "routing": [ { "condition": { "field": "demande", "compare": "gt", "value": "10000" }, "team": "Grands projets" } ],
  "annotations": ["#,
    );
    let def = Definition::from_json(&with_rules).expect("definition");
    let d = guichet_store::demarche::create(s.db(), t.dijon.id, &def, Default::default())
        .await
        .expect("draft");
    let editor = admin
        .browser
        .get(&format!("/admin/dijon/demarches/{}/editeur", d.id))
        .await;
    assert_eq!(editor.status, 200);
    for line in [
        "Règle : « Montant demandé (€) » est inférieur ou égal à « Montant demandé (€) » — « Toujours vrai. »",
        "Orientation vers l&#39;équipe « Grands projets » si « Montant demandé (€) » est supérieur à 10000",
        "Annotation privée : « Note du projet (sur 20) » (nombre entier, obligatoire)",
    ] {
        assert!(editor.html.contains(line) || editor.html.contains(&line.replace("&#39;", "'")), "{line}: {}", editor.html);
    }
    let saved = admin
        .browser
        .post(
            &format!("/admin/dijon/demarches/{}/editeur/reglages", d.id),
            &[
                ("titre", "Subvention de fonctionnement"),
                ("description", "Aide au fonctionnement des associations."),
                ("conservation", "60"),
                ("identite", "compte"),
                ("competence", "vie_associative"),
            ],
        )
        .await;
    assert!(
        saved.html.contains("Réglages enregistrés"),
        "{}",
        saved.html
    );
    let d = guichet_store::demarche::get(s.db(), t.dijon.id, d.id)
        .await
        .expect("q")
        .expect("démarche");
    let kept = guichet_store::demarche::definition(
        s.db(),
        t.dijon.id,
        d.id,
        d.draft_version.expect("draft"),
    )
    .await
    .expect("q")
    .expect("definition");
    assert_eq!(kept.title, "Subvention de fonctionnement");
    assert_eq!(
        (kept.rules.len(), kept.routing.len(), kept.annotations.len()),
        (1, 1, 3),
        "kept by the editor"
    );
}

#[tokio::test]
async fn at_the_end_of_retention_a_dossier_filed_without_an_account_keeps_no_address_nor_avis() {
    use guichet_domain::dossier::{Action, Actor};
    use guichet_store::dossier;
    let s = TestServer::start().await;
    let t = personas::collectivites(&s).await;
    let def = Definition::from_json(SANS_COMPTE).expect("definition");
    crate::support::publish(s.db(), t.dijon.id, &def).await;
    let visitor = s.browser();
    visitor
        .post(
            "/demarches/dijon/demande-de-composteur/sans-compte",
            &[("nom", "Paul Girard"), ("email", "paul.girard@exemple.fr")],
        )
        .await;
    let id: i64 = sqlx::query_scalar("SELECT id FROM dossiers WHERE counter_contact = $1")
        .bind("paul.girard@exemple.fr")
        .fetch_one(s.db().pool())
        .await
        .expect("the draft");
    let by = |actor| dossier::By {
        actor,
        user_id: None,
        label: "test".into(),
        ip: None,
        on_behalf_of: None,
    };
    for (action, actor) in [
        (Action::Submit, Actor::Usager),
        (Action::StartInstruction, Actor::Agent),
        (
            Action::Accept {
                conditions: String::new(),
            },
            Actor::Agent,
        ),
    ] {
        let x = dossier::get(s.db(), t.dijon.id, id)
            .await
            .expect("q")
            .expect("dossier");
        dossier::change(s.db(), &x, &def, &action, &by(actor))
            .await
            .expect("step");
    }
    guichet_store::avis::request(
        s.db(),
        guichet_store::avis::NewAvis {
            tenant_id: t.dijon.id,
            dossier_id: id,
            expert_email: "expert@cabinet.example".into(),
            question: "Le jardin est-il assez grand ?".into(),
            token_hash: "x".repeat(64),
            requested_by: "agent@dijon.fr".into(),
        },
        Default::default(),
    )
    .await
    .expect("avis");
    let x = dossier::get(s.db(), t.dijon.id, id)
        .await
        .expect("q")
        .expect("dossier");
    let end = guichet_store::retention::anonymise_at(
        x.decided_at.expect("decided"),
        def.retention_months,
    );
    guichet_web::jobs::retention(&s.state, end + 1)
        .await
        .expect("retention");
    let contact: Option<String> =
        sqlx::query_scalar("SELECT counter_contact FROM dossiers WHERE id = $1")
            .bind(id)
            .fetch_one(s.db().pool())
            .await
            .expect("q");
    assert_eq!(contact, None, "the address given is gone");
    assert!(
        guichet_store::avis::of_dossier(s.db(), t.dijon.id, id)
            .await
            .expect("q")
            .is_empty(),
        "and the avis"
    );
}

#[tokio::test]
async fn starts_without_an_account_are_limited_per_address_and_per_network() {
    use guichet_store::comptoir::{GUEST_STARTS_PER_HOUR, GUEST_STARTS_PER_NETWORK_HOUR};
    let s = TestServer::start().await;
    let t = personas::collectivites(&s).await;
    let def = Definition::from_json(SANS_COMPTE).expect("definition");
    crate::support::publish(s.db(), t.dijon.id, &def).await;
    let visitor = s.browser();
    let start = |email: String| {
        let visitor = &visitor;
        async move {
            visitor
                .post(
                    "/demarches/dijon/demande-de-composteur/sans-compte",
                    &[("nom", "Paul Girard"), ("email", &email)],
                )
                .await
        }
    };
    // One address: the mails it receives are bounded.
    for _ in 0..GUEST_STARTS_PER_HOUR {
        assert_eq!(start("paul@exemple.fr".into()).await.status, 200);
    }
    let refused = start("paul@exemple.fr".into()).await;
    assert_eq!(refused.status, 429);
    assert!(
        refused.html.contains("avec l&#39;adresse paul@exemple.fr")
            || refused.html.contains("avec l'adresse paul@exemple.fr"),
        "{}",
        refused.html
    );
    // One network, many addresses: bounded too.
    for i in GUEST_STARTS_PER_HOUR..GUEST_STARTS_PER_NETWORK_HOUR {
        assert_eq!(
            start(format!("voisin{i}@exemple.fr")).await.status,
            200,
            "start {i}"
        );
    }
    let refused = start("encore@exemple.fr".into()).await;
    assert_eq!(refused.status, 429);
    assert!(
        refused.html.contains("depuis ce réseau"),
        "{}",
        refused.html
    );
    let drafts: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM dossiers WHERE channel = 'sans_compte'")
            .fetch_one(s.db().pool())
            .await
            .expect("count");
    assert_eq!(
        drafts, GUEST_STARTS_PER_NETWORK_HOUR,
        "nothing made beyond the limits"
    );
}

#[tokio::test]
async fn an_admin_adds_and_removes_a_rule_between_two_dates_in_the_editor() {
    use guichet_domain::role::Role;
    let s = TestServer::start().await;
    let t = personas::collectivites(&s).await;
    let admin = personas::agent(&s, "admin@dijon.fr", &t.dijon, Role::Admin).await;
    let def = Definition::from_json(&TERRASSE.replace(
        r#"  "rules": [
    { "field": "fin", "compare": "after", "to": "debut", "message": "La date de fin doit suivre la date de début." }
  ],
"#,
        "",
    ))
    .expect("definition");
    assert!(def.rules.is_empty());
    let d = guichet_store::demarche::create(s.db(), t.dijon.id, &def, Default::default())
        .await
        .expect("draft");
    let base = format!("/admin/dijon/demarches/{}/editeur", d.id);
    let page = admin.browser.get(&base).await;
    assert!(
        page.html.contains("Ajouter une règle entre deux champs"),
        "{}",
        page.html
    );
    // A date against a Kbis date is fine; a message is required.
    let no_message = admin
        .browser
        .post(
            &format!("{base}/regles"),
            &[
                ("regle_champ", "fin"),
                ("regle_comparaison", "after"),
                ("regle_autre", "debut"),
                ("regle_message", ""),
            ],
        )
        .await;
    assert_eq!(no_message.status, 422);
    assert!(
        no_message.html.contains("Écrivez le message"),
        "{}",
        no_message.html
    );
    let added = admin
        .browser
        .post(
            &format!("{base}/regles"),
            &[
                ("regle_champ", "fin"),
                ("regle_comparaison", "after"),
                ("regle_autre", "debut"),
                ("regle_message", "La fin doit suivre le début."),
            ],
        )
        .await;
    assert!(added.html.contains("Règle ajoutée"), "{}", added.html);
    assert!(added.html.contains("Règle : « Date de fin » est après le « Date de début » — « La fin doit suivre le début. »"), "{}", added.html);
    let latest = |html: &str| html.contains("Règle : « Date de fin »");
    let d2 = guichet_store::demarche::get(s.db(), t.dijon.id, d.id)
        .await
        .expect("q")
        .expect("d");
    let saved = guichet_store::demarche::definition(
        s.db(),
        t.dijon.id,
        d.id,
        d2.draft_version.expect("draft"),
    )
    .await
    .expect("q")
    .expect("def");
    assert_eq!(saved.rules.len(), 1);
    assert_eq!(saved.rules[0].to, "debut");
    // A rule the checks refuse (an unknown field) is refused with the reason, nothing saved.
    let bad = admin
        .browser
        .post(
            &format!("{base}/regles"),
            &[
                ("regle_champ", "fin"),
                ("regle_comparaison", "le"),
                ("regle_autre", "nope"),
                ("regle_message", "M"),
            ],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(
        bad.html.contains("règle 2") && bad.html.contains("nope"),
        "{}",
        bad.html
    );
    let removed = admin
        .browser
        .post(&format!("{base}/regles/0/suppression"), &[])
        .await;
    assert!(
        removed.html.contains("Règle retirée") && !latest(&removed.html),
        "{}",
        removed.html
    );
}
