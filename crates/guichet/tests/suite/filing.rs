//! The whole life of a démarche through the web, as its users live it: an admin imports and
//! publishes it, a usager fills it over two sessions and submits it, receives the accusé de
//! réception by e-mail, an agent asks for a correction, the usager corrects, the agent accepts.

use crate::personas::{self, PASSWORD};
use crate::support::{id_from, paris_ms, Browser, SmtpSink, TestServer};
use guichet_domain::role::Role;
use guichet_store::compte::Kind;

const TERRASSE: &str = r#"{
  "title": "Demande d'autorisation de terrasse",
  "description": "Installer une terrasse de café ou de restaurant sur le domaine public.",
  "audience": "Commerçants de Dijon",
  "documents": ["Extrait Kbis"],
  "competence": "occupation_domaine_public",
  "deadline_days": 30,
  "tacit_rule": "accord",
  "retention_months": 36,
  "contact": "Service du domaine public — 03 80 00 00 10",
  "pages": [
    { "title": "Votre établissement", "fields": [
      { "id": "enseigne", "label": "Nom de l'établissement", "type": "short_text", "required": true },
      { "id": "siret", "label": "SIRET", "type": "siret", "required": true },
      { "id": "chauffage", "label": "Chauffage extérieur ?", "type": "yes_no", "required": true },
      { "id": "puissance", "label": "Puissance du chauffage (kW)", "type": "decimal", "min": 0, "max": 50, "required": true,
        "condition": { "field": "chauffage", "equals": ["oui"] } }
    ] },
    { "title": "La terrasse", "fields": [
      { "id": "zones", "label": "Emplacements", "type": "block", "item_label": "Emplacement", "min": 1, "max": 3, "fields": [
        { "id": "adresse", "label": "Adresse", "type": "address", "required": true },
        { "id": "surface", "label": "Surface (m²)", "type": "decimal", "min": 1, "max": 200, "required": true }
      ] },
      { "id": "engagement", "label": "Je m'engage à respecter le règlement des terrasses", "type": "checkbox", "required": true }
    ] }
  ]
}"#;

pub async fn login(b: &Browser, email: &str) {
    let page = b
        .post(
            "/connexion",
            &[("email", email), ("mot_de_passe", PASSWORD)],
        )
        .await;
    assert_eq!(page.status, 303, "login of {email}: {}", page.html);
}

/// The text of a PDF served at `path`, as a reader would extract it.
pub async fn pdf_text(b: &Browser, path: &str) -> String {
    let r = b
        .client
        .get(format!("{}{path}", b.base))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 200, "{path}");
    assert_eq!(r.headers()["content-type"], "application/pdf");
    let bytes = r.bytes().await.expect("body");
    let doc = lopdf::Document::load_mem(&bytes).expect("a valid PDF");
    let pages: Vec<u32> = doc.get_pages().keys().copied().collect();
    doc.extract_text(&pages).expect("text")
}

#[tokio::test]
async fn design_publish_file_over_two_sessions_correct_and_accept() {
    let smtp = SmtpSink::start().await;
    let s = TestServer::with_smtp(&smtp).await;
    let t = personas::collectivites(&s).await;
    let admin = personas::persona(
        &s,
        Kind::Agent,
        "admin@dijon.fr",
        &[(&t.dijon, Role::Admin), (&t.dijon, Role::Instructeur)],
    )
    .await;

    // The admin imports the definition; a mistake is reported with its line, nothing is created.
    let broken = TERRASSE.replace("\"type\": \"siret\"", "\"type\": \"numero_siret\"");
    let refused = admin
        .browser
        .post("/admin/dijon/demarches", &[("definition", &broken)])
        .await;
    assert_eq!(refused.status, 422, "{}", refused.html);
    assert!(
        refused.html.contains("ligne 14 : type inconnu"),
        "{}",
        refused.html
    );
    let created = admin
        .browser
        .post("/admin/dijon/demarches", &[("definition", TERRASSE)])
        .await;
    let location = created.location.expect("redirect to the démarche");
    let demarche_id = id_from(&location, "/admin/dijon/demarches/");
    let page = admin.browser.get(&location).await;
    assert!(
        page.html.contains("brouillon"),
        "not public before publication"
    );
    assert_eq!(
        s.browser()
            .get("/demarches/dijon/demande-d-autorisation-de-terrasse")
            .await
            .status,
        404
    );
    let published = admin
        .browser
        .post(
            &format!("/admin/dijon/demarches/{demarche_id}/publication"),
            &[],
        )
        .await;
    assert!(published.html.contains("Version 1 publiée"));

    // A usager finds it on Dijon's page and starts.
    let usager = personas::usager(&s).await;
    let dijon = usager
        .browser
        .get("/demarches/dijon/demande-d-autorisation-de-terrasse")
        .await;
    assert_eq!(dijon.status, 200);
    assert!(dijon.html.contains("30 jours") && dijon.html.contains("silence vaut accord"));
    let started = usager
        .browser
        .post(
            "/demarches/dijon/demande-d-autorisation-de-terrasse/dossiers",
            &[],
        )
        .await;
    let step0 = started.location.expect("first step");
    let dossier_id = id_from(&step0, "/dossiers/");

    // Step 1 with a wrong SIRET: the errors are listed and tied to their fields, typed values kept.
    let bad = usager
        .browser
        .post(
            &step0,
            &[
                ("enseigne", "Le Bistrot"),
                ("siret", "12345678901234"),
                ("chauffage", "oui"),
                ("action", "continuer"),
            ],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.html.contains("clé de contrôle"), "SIRET refused");
    assert!(
        bad.html.contains("Ce champ est obligatoire"),
        "heating power required when heating: {}",
        bad.html
    );
    assert!(
        bad.html.contains("value=\"Le Bistrot\""),
        "what was typed is kept"
    );
    assert!(bad.html.contains("aria-describedby=\"siret-erreur\""));
    let ok = usager
        .browser
        .post(
            &step0,
            &[
                ("enseigne", "Le Bistrot"),
                ("siret", "212 102 313 00013"),
                ("chauffage", "oui"),
                ("puissance", "4,5"),
                ("action", "continuer"),
            ],
        )
        .await;
    assert_eq!(
        ok.location.as_deref(),
        Some(&*format!("/dossiers/{dossier_id}/etapes/1"))
    );

    // Step 2: add a second emplacement without JavaScript, save the draft, and stop there.
    let step1 = format!("/dossiers/{dossier_id}/etapes/1");
    let added = usager
        .browser
        .post(
            &step1,
            &[
                ("zones[0].adresse", "1 place de la Libération, 21000 Dijon"),
                ("zones[0].surface", "12"),
                ("action", "ajouter:zones"),
            ],
        )
        .await;
    assert!(added.html.contains("Emplacement 2"), "{}", added.html);
    let saved = usager
        .browser
        .post(
            &step1,
            &[
                ("zones[0].adresse", "1 place de la Libération, 21000 Dijon"),
                ("zones[0].surface", "12"),
                ("zones[1].adresse", "3 rue des Forges, 21000 Dijon"),
                ("action", "enregistrer"),
            ],
        )
        .await;
    assert!(
        saved.html.contains("Brouillon enregistré à"),
        "{}",
        saved.html
    );

    // Later, on another device: the draft is there.
    let phone = s.browser();
    login(&phone, &usager.email).await;
    let resumed = phone.get(&step1).await;
    assert!(
        resumed.html.contains("3 rue des Forges"),
        "draft kept across devices"
    );
    let done = phone
        .post(
            &step1,
            &[
                ("zones[0].adresse", "1 place de la Libération, 21000 Dijon"),
                ("zones[0].surface", "12"),
                ("zones[1].adresse", "3 rue des Forges, 21000 Dijon"),
                ("zones[1].surface", "8,5"),
                ("engagement", "coche"),
                ("action", "continuer"),
            ],
        )
        .await;
    assert_eq!(
        done.location.as_deref(),
        Some(&*format!("/dossiers/{dossier_id}/recapitulatif"))
    );
    let review = phone
        .get(&format!("/dossiers/{dossier_id}/recapitulatif"))
        .await;
    assert!(
        review.html.contains("Le Bistrot")
            && review.html.contains("8,5")
            && review.html.contains("Déposer mon dossier"),
        "{}",
        review.html
    );
    let submitted = phone
        .post(&format!("/dossiers/{dossier_id}/depot"), &[])
        .await;
    assert_eq!(
        submitted.location.as_deref(),
        Some(&*format!("/dossiers/{dossier_id}?depose=1"))
    );
    let accuse = phone.get(&format!("/dossiers/{dossier_id}?depose=1")).await;
    assert!(
        accuse.html.contains("Accusé de réception")
            && accuse.html.contains("silence vaut accord")
            && accuse.html.contains("Service du domaine public")
            && accuse.html.contains(&t.dijon.name)
    );
    let mail = smtp.wait_for(&usager.email, "Accusé de réception").await;
    assert!(
        mail.body.contains("Délai")
            && mail.body.contains("silence vaut accord")
            && mail
                .body
                .contains(&format!("{} a bien reçu votre dossier", t.dijon.name)),
        "{}",
        mail.body
    );
    // The same accusé as a PDF, linked from the e-mail.
    assert!(mail
        .body
        .contains(&format!("/dossiers/{dossier_id}/accuse.pdf")));
    let text = pdf_text(&phone, &format!("/dossiers/{dossier_id}/accuse.pdf")).await;
    assert!(
        text.contains("Accusé de réception")
            && text.contains("Demande d'autorisation de terrasse")
            && text.contains("silence vaut accord")
            && text.contains("Service du domaine public"),
        "{text}"
    );
    let number = guichet_store::dossier::get_for_usager(s.db(), dossier_id, usager.user_id)
        .await
        .expect("q")
        .expect("dossier")
        .number;
    assert!(text.contains(&number), "{text}");

    // Another usager cannot see it.
    let other = personas::persona(&s, Kind::Usager, "autre@exemple.fr", &[]).await;
    assert_eq!(
        other
            .browser
            .get(&format!("/dossiers/{dossier_id}"))
            .await
            .status,
        404
    );

    // The agent finds it in "à traiter", asks for a correction.
    let queue = admin.browser.get("/admin/dijon/dossiers").await;
    assert!(
        queue.html.contains("Camille") || queue.html.contains("camille"),
        "{}",
        queue.html
    );
    let agent_view = format!("/admin/dijon/dossiers/{dossier_id}");
    let view = admin.browser.get(&agent_view).await;
    assert!(view.html.contains("Le Bistrot"));
    let no_reason = admin
        .browser
        .post(
            &format!("{agent_view}/action"),
            &[("action", "refuser"), ("motif", "")],
        )
        .await;
    assert!(
        no_reason.html.contains("Action impossible"),
        "a refusal needs a reason"
    );
    admin
        .browser
        .post(&format!("{agent_view}/action"), &[("action", "instruire")])
        .await;
    let asked = admin
        .browser
        .post(
            &format!("{agent_view}/action"),
            &[
                ("action", "corriger"),
                (
                    "motif",
                    "La surface du 2e emplacement dépasse l'autorisation.",
                ),
            ],
        )
        .await;
    assert!(
        asked.html.contains("en attente de correction"),
        "{}",
        asked.html
    );
    let mail = smtp
        .wait_for(&usager.email, "en attente de correction")
        .await;
    assert!(mail.body.contains("dépasse l'autorisation"));

    // The usager corrects and submits again.
    phone
        .post(
            &step1,
            &[
                ("zones[0].adresse", "1 place de la Libération, 21000 Dijon"),
                ("zones[0].surface", "12"),
                ("zones[1].adresse", "3 rue des Forges, 21000 Dijon"),
                ("zones[1].surface", "6"),
                ("engagement", "coche"),
                ("action", "continuer"),
            ],
        )
        .await;
    phone
        .post(&format!("/dossiers/{dossier_id}/depot"), &[])
        .await;
    let accepted = admin
        .browser
        .post(&format!("{agent_view}/action"), &[("action", "accepter")])
        .await;
    assert!(accepted.html.contains("accepté"), "{}", accepted.html);
    smtp.wait_for(&usager.email, "accepté").await;
    let final_view = phone.get(&format!("/dossiers/{dossier_id}")).await;
    assert!(final_view.html.contains("accepté"));
    // The decision letter, from the standard template.
    let letter = pdf_text(&phone, &format!("/dossiers/{dossier_id}/decision.pdf")).await;
    assert!(
        letter.contains("votre demande est acceptée") && letter.contains(&number),
        "{letter}"
    );
    assert_eq!(
        other
            .browser
            .get(&format!("/dossiers/{dossier_id}/decision.pdf"))
            .await
            .status,
        404,
        "nobody else gets the letter"
    );
    assert!(
        !final_view.html.contains("Modifier mon dossier"),
        "no edit after the decision"
    );

    // The journal has every step, and its chain verifies.
    let journal = guichet_store::journal::list(s.db(), &Default::default(), 200)
        .await
        .expect("journal");
    for action in [
        "dossier.depose",
        "dossier.en_instruction",
        "dossier.en_correction",
        "dossier.accepte",
        "dossier.consultation",
        "demarche.publication",
    ] {
        assert!(
            journal.iter().any(|e| e.event.action == action),
            "{action} journaled"
        );
    }
    assert!(guichet_store::journal::verify(s.db())
        .await
        .expect("verify")
        .is_ok());
}

#[tokio::test]
async fn a_malformed_address_gets_a_french_error_page() {
    let s = TestServer::start().await;
    let u = personas::usager(&s).await;
    let page = u.browser.get("/dossiers/pas-un-nombre").await;
    assert_eq!(page.status, 400);
    assert!(page.html.contains("Demande invalide"), "{}", page.html);
}

#[tokio::test]
async fn the_usager_is_told_when_silence_decides() {
    use guichet_domain::demarche::Definition;
    use guichet_domain::dossier::{Action, Actor};
    use guichet_store::dossier;
    let smtp = SmtpSink::start().await;
    let s = TestServer::with_smtp(&smtp).await;
    let t = personas::collectivites(&s).await;
    let u = personas::usager(&s).await;
    let def = Definition::from_json(TERRASSE).expect("definition");
    let d = crate::support::publish(s.db(), t.dijon.id, &def).await;
    let x = dossier::create_draft(s.db(), t.dijon.id, d.id, 1, Some(u.user_id), "Camille")
        .await
        .expect("draft");
    let by = dossier::By {
        actor: Actor::Usager,
        user_id: Some(u.user_id),
        label: u.email.clone(),
        ip: None,
        on_behalf_of: None,
    };
    dossier::change(s.db(), &x, &def, &Action::Submit, &by)
        .await
        .expect("submit");
    let x = dossier::get(s.db(), t.dijon.id, x.id)
        .await
        .expect("q")
        .expect("dossier");

    let n = guichet_web::jobs::tacit_decisions(&s.state, x.deadline_at.expect("deadline"))
        .await
        .expect("job");
    assert_eq!(n, 1);
    let mail = smtp.wait_for(&u.email, "décision implicite").await;
    assert!(mail.body.contains("accepté"), "{}", mail.body);
    // Thirty calendar days after the Paris day of the deposit, at the end of that day.
    let since = guichet_domain::delai::paris_day(x.complete_since.expect("since"));
    assert_eq!(
        guichet_domain::delai::last_day(x.deadline_at.expect("deadline")),
        since.checked_add(jiff::Span::new().days(30)).expect("day")
    );
}

/// Publishes the démarche `json` in Dijon and deposits a dossier of the usager's at `at` (the
/// clock injected): the définition and the dossier as deposited.
async fn deposit_at(
    s: &TestServer,
    t: &personas::Collectivites,
    u: &personas::Persona,
    json: &str,
    at: i64,
) -> (
    guichet_domain::demarche::Definition,
    guichet_store::dossier::Dossier,
) {
    use guichet_domain::dossier::{Action, Actor};
    use guichet_store::dossier;
    let def = guichet_domain::demarche::Definition::from_json(json).expect("definition");
    let d = crate::support::publish(s.db(), t.dijon.id, &def).await;
    let x = dossier::create_draft(s.db(), t.dijon.id, d.id, 1, Some(u.user_id), "Camille")
        .await
        .expect("draft");
    let by = dossier::By {
        actor: Actor::Usager,
        user_id: Some(u.user_id),
        label: u.email.clone(),
        ip: None,
        on_behalf_of: None,
    };
    dossier::change_as_of(s.db(), &x, &def, &Action::Submit, &by, at)
        .await
        .expect("submit");
    let x = dossier::get(s.db(), t.dijon.id, x.id)
        .await
        .expect("q")
        .expect("dossier");
    (def, x)
}

#[tokio::test]
async fn two_months_of_silence_from_the_first_of_december_accept_on_the_second_of_february() {
    use guichet_domain::dossier::State;
    use guichet_store::dossier;
    let smtp = SmtpSink::start().await;
    let s = TestServer::with_smtp(&smtp).await;
    let t = personas::collectivites(&s).await;
    let u = personas::usager(&s).await;
    let json = TERRASSE.replace(
        r#""deadline_days": 30,"#,
        r#""deadline": { "amount": 2, "unit": "mois" },"#,
    );
    // Deposited on 1 December 2026 at 23:30, Paris time (22:30 UTC).
    let (_, x) = deposit_at(&s, &t, &u, &json, paris_ms(2026, 12, 1, 23, 30)).await;

    // The usager's page says when silence will decide.
    login(&u.browser, &u.email).await;
    let page = u.browser.get(&format!("/dossiers/{}", x.id)).await;
    assert!(
        page.html
            .contains("2 mois (réponse au plus tard le 01/02/2027)"),
        "{}",
        page.html
    );
    assert!(
        page.html.contains("réputée acceptée le 2 février 2027"),
        "{}",
        page.html
    );
    let pdf = pdf_text(&u.browser, &format!("/dossiers/{}/accuse.pdf", x.id)).await;
    assert!(pdf.contains("2 février 2027"), "{pdf}");

    // Not on 1 February at 23:59 Paris time, nor on the 60th day (30 January).
    for early in [paris_ms(2027, 1, 30, 12, 0), paris_ms(2027, 2, 1, 23, 59)] {
        let n = guichet_web::jobs::tacit_decisions(&s.state, early)
            .await
            .expect("job");
        assert_eq!(n, 0, "decided too early, at {early}");
    }
    let still = dossier::get(s.db(), t.dijon.id, x.id)
        .await
        .expect("q")
        .expect("dossier");
    assert_eq!(still.state, State::Depose);
    // At midnight starting 2 February, Paris time: accepted by silence, the usager told.
    let n = guichet_web::jobs::tacit_decisions(&s.state, paris_ms(2027, 2, 2, 0, 0))
        .await
        .expect("job");
    assert_eq!(n, 1);
    let decided = dossier::get(s.db(), t.dijon.id, x.id)
        .await
        .expect("q")
        .expect("dossier");
    assert_eq!(decided.state, State::Accepte);
    assert!(decided.tacit);
    let mail = smtp.wait_for(&u.email, "décision implicite").await;
    assert!(mail.body.contains("accepté"), "{}", mail.body);
}

#[tokio::test]
async fn a_tacit_rejection_tells_how_to_appeal_on_the_accuse() {
    let smtp = SmtpSink::start().await;
    let s = TestServer::with_smtp(&smtp).await;
    let t = personas::collectivites(&s).await;
    let u = personas::usager(&s).await;
    let json = TERRASSE
        .replace(
            r#""deadline_days": 30,"#,
            r#""deadline": { "amount": 4, "unit": "semaines" },"#,
        )
        .replace(r#""tacit_rule": "accord""#, r#""tacit_rule": "rejet""#);
    let (_, x) = deposit_at(&s, &t, &u, &json, paris_ms(2026, 12, 4, 9, 0)).await;
    login(&u.browser, &u.email).await;
    let page = u.browser.get(&format!("/dossiers/{}", x.id)).await;
    assert!(
        page.html
            .contains("4 semaines (réponse au plus tard le 01/01/2027)"),
        "{}",
        page.html
    );
    assert!(
        page.html.contains("réputée rejetée le 2 janvier 2027"),
        "{}",
        page.html
    );
    assert!(
        page.html.contains("Voies et délais de recours"),
        "{}",
        page.html
    );
    assert!(
        page.html.contains("tribunal administratif"),
        "{}",
        page.html
    );
    let pdf = pdf_text(&u.browser, &format!("/dossiers/{}/accuse.pdf", x.id)).await;
    assert!(pdf.contains("recours"), "{pdf}");
}

const PERMIS_DE_CONSTRUIRE: &str = r#"{
  "title": "Déclaration de travaux",
  "description": "Déclarer des travaux sur une maison.",
  "retention_months": 12,
  "pages": [ { "title": "Travaux", "fields": [
    { "id": "description", "label": "Description des travaux", "type": "short_text", "required": true },
    { "id": "plan", "label": "Plan de situation", "type": "file", "accept": ["application/pdf"], "max_size_mb": 1, "required": true }
  ] } ]
}"#;

#[tokio::test]
async fn files_are_checked_by_content_and_size_and_an_agent_s_download_is_journaled() {
    let s = TestServer::start().await;
    let t = personas::collectivites(&s).await;
    let def =
        guichet_domain::demarche::Definition::from_json(PERMIS_DE_CONSTRUIRE).expect("definition");
    let d = crate::support::publish(s.db(), t.dijon.id, &def).await;
    let u = personas::usager(&s).await;
    let started = u
        .browser
        .post(&format!("/demarches/dijon/{}/dossiers", d.slug), &[])
        .await;
    let step = started.location.expect("step");
    let form = u.browser.get(&step).await;
    assert!(
        form.html.contains("enctype=\"multipart/form-data\"")
            && form.html.contains("type=\"file\"")
    );
    assert!(form.html.contains("Formats acceptés : PDF ; 1 Mo maximum"));

    // A PNG named .pdf: refused by its content; the description typed is kept.
    let png = vec![
        0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, b'I', b'H', b'D', b'R', 0, 0,
        0, 1,
    ];
    let disguised = reqwest::multipart::Form::new()
        .text("description", "Véranda de 12 m²")
        .text("action", "continuer")
        .part(
            "plan",
            crate::support::file_part("plan.pdf", png, "application/pdf"),
        );
    let refused = u.browser.post_multipart(&step, disguised).await;
    assert_eq!(refused.status, 422, "{}", refused.html);
    assert!(
        refused.html.contains("n&#39;a pas été joint")
            || refused.html.contains("n'a pas été joint"),
        "{}",
        refused.html
    );
    assert!(
        refused.html.contains("Véranda de 12 m²"),
        "what was typed is kept"
    );

    let pdf = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
        .to_vec();
    let too_big = [pdf.clone(), vec![b' '; 1024 * 1024]].concat();
    let big = reqwest::multipart::Form::new()
        .text("description", "Véranda")
        .text("action", "enregistrer")
        .part(
            "plan",
            crate::support::file_part("plan.pdf", too_big, "application/pdf"),
        );
    let refused = u.browser.post_multipart(&step, big).await;
    assert!(
        refused.html.contains("1 Mo"),
        "size refused: {}",
        refused.html
    );

    let good = reqwest::multipart::Form::new()
        .text("description", "Véranda de 12 m²")
        .text("action", "continuer")
        .part(
            "plan",
            crate::support::file_part("plan situation.pdf", pdf.clone(), "application/pdf"),
        );
    let ok = u.browser.post_multipart(&step, good).await;
    assert!(
        ok.location
            .as_deref()
            .is_some_and(|l| l.ends_with("/recapitulatif")),
        "{:?} {}",
        ok.location,
        ok.html
    );
    let dossier_id: i64 = step
        .trim_start_matches("/dossiers/")
        .split('/')
        .next()
        .and_then(|i| i.parse().ok())
        .expect("id");
    let review = u
        .browser
        .get(&format!("/dossiers/{dossier_id}/recapitulatif"))
        .await;
    assert!(review.html.contains("plan situation.pdf"));
    u.browser
        .post(&format!("/dossiers/{dossier_id}/depot"), &[])
        .await;

    let agent = personas::agent(&s, "instructeur@dijon.fr", &t.dijon, Role::Instructeur).await;
    let page = agent
        .browser
        .get(&format!("/admin/dijon/dossiers/{dossier_id}"))
        .await;
    let href = page
        .html
        .split("href=\"")
        .find(|h| h.contains("/fichiers/"))
        .and_then(|h| h.split('"').next())
        .expect("file link")
        .to_string();
    let download = agent
        .browser
        .client
        .get(format!("{}{href}", s.base))
        .send()
        .await
        .expect("download");
    assert_eq!(download.status(), 200);
    assert!(download.headers()["content-disposition"]
        .to_str()
        .expect("ascii")
        .starts_with("attachment"));
    assert_eq!(
        download.bytes().await.expect("bytes").to_vec(),
        pdf,
        "the stored file is the uploaded one"
    );
    let journal = guichet_store::journal::list(s.db(), &Default::default(), 20)
        .await
        .expect("journal");
    assert!(journal
        .iter()
        .any(|e| e.event.action == "dossier.fichier.consultation"
            && e.event.actor == "instructeur@dijon.fr"));

    let zip = agent
        .browser
        .client
        .get(format!(
            "{}/admin/dijon/dossiers/{dossier_id}/fichiers.zip",
            s.base
        ))
        .send()
        .await
        .expect("zip");
    assert_eq!(zip.headers()["content-type"], "application/zip");
    let bytes = zip.bytes().await.expect("bytes");
    assert!(bytes.starts_with(b"PK"), "a ZIP archive");

    // Assignment to an agent who processes dossiers, journaled; "suivis par moi" lists it.
    let me: String = agent.user_id.to_string();
    let assigned = agent
        .browser
        .post(
            &format!("/admin/dijon/dossiers/{dossier_id}/attribution"),
            &[("agent", &me)],
        )
        .await;
    assert!(
        assigned.html.contains("Dossier attribué à"),
        "{}",
        assigned.html
    );
    let mine = agent.browser.get("/admin/dijon/dossiers?file=suivis").await;
    assert!(mine
        .html
        .contains(&format!("/admin/dijon/dossiers/{dossier_id}\"")));
    let stranger = agent
        .browser
        .post(
            &format!("/admin/dijon/dossiers/{dossier_id}/attribution"),
            &[("agent", "999999")],
        )
        .await;
    assert_eq!(stranger.status, 422);

    let other = personas::persona(&s, Kind::Usager, "autre@exemple.fr", &[]).await;
    let usager_href = href.replace("/admin/dijon", "");
    assert_eq!(
        other.browser.get(&usager_href).await.status,
        404,
        "another usager cannot fetch it"
    );
    let macon = personas::agent(&s, "agent@macon.fr", &t.macon, Role::Instructeur).await;
    assert_eq!(
        macon.browser.get(&href).await.status,
        403,
        "nor an agent of Mâcon"
    );
}

#[tokio::test]
async fn a_queue_of_100000_dossiers_exports_as_a_stream() {
    use guichet_domain::demarche::Definition;
    let s = TestServer::start().await;
    let t = personas::collectivites(&s).await;
    let def = Definition::from_json(TERRASSE).expect("definition");
    let d = crate::support::publish(s.db(), t.dijon.id, &def).await;
    // 100,000 submitted dossiers in one statement, on either database.
    sqlx::query(
        "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < 100000)
         INSERT INTO dossiers (tenant_id, number, demarche_id, version, state, answers, applicant_name, applicant_folded,
             created_at, updated_at, submitted_at)
         SELECT $1, 'T-' || CAST(n AS TEXT), $2, 1, 'depose', '{\"enseigne\":[\"Café\"]}', 'Demandeur ' || CAST(n AS TEXT),
             'demandeur ' || CAST(n AS TEXT), n, n, n FROM seq",
    )
    .bind(t.dijon.id)
    .bind(d.id)
    .execute(s.db().pool())
    .await
    .expect("bulk insert");
    let agent = personas::agent(&s, "instructeur@dijon.fr", &t.dijon, Role::Instructeur).await;
    let r = agent
        .browser
        .client
        .get(format!("{}/admin/dijon/dossiers.csv?file=tous", s.base))
        .send()
        .await
        .expect("export");
    assert_eq!(r.status(), 200);
    assert!(
        r.headers().get("content-length").is_none(),
        "streamed, not built in memory first"
    );
    let body = r.text().await.expect("body");
    let lines: Vec<&str> = body.lines().collect();
    assert_eq!(lines.len(), 100_001, "header and every dossier");
    assert!(lines[0].starts_with("numero;demarche"));
    assert!(lines[1].starts_with("T-100000;Demande d'autorisation de terrasse"));
    // The same queue as an Excel workbook, every row there, readable by a spreadsheet library.
    let r = agent
        .browser
        .client
        .get(format!("{}/admin/dijon/dossiers.xlsx?file=tous", s.base))
        .send()
        .await
        .expect("export");
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-type"],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    let bytes = r.bytes().await.expect("body");
    use calamine::Reader;
    let mut workbook =
        calamine::Xlsx::new(std::io::Cursor::new(bytes.to_vec())).expect("a valid XLSX file");
    let sheet = workbook.worksheet_range("Dossiers").expect("sheet");
    assert_eq!(sheet.height(), 100_001, "header and every dossier");
    assert_eq!(
        sheet.get((0, 0)).map(|c| c.to_string()),
        Some("numero".into())
    );
    assert_eq!(
        sheet.get((1, 0)).map(|c| c.to_string()),
        Some("T-100000".into())
    );
    assert_eq!(
        sheet.get((100_000, 3)).map(|c| c.to_string()),
        Some("Demandeur 1".into())
    );
    // On the démarche, every table as CSV in a ZIP: a column per field, a file per block.
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
    let bytes = r.bytes().await.expect("body");
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).expect("a valid ZIP");
    let mut dossiers = String::new();
    std::io::Read::read_to_string(
        &mut zip.by_name("dossiers.csv").expect("table"),
        &mut dossiers,
    )
    .expect("text");
    let lines: Vec<&str> = dossiers.lines().collect();
    assert_eq!(lines.len(), 100_001, "header and every dossier");
    assert!(
        lines[0].contains("Nom de l'établissement (enseigne)"),
        "{}",
        lines[0]
    );
    assert!(
        lines[100_000].starts_with("T-1;") && lines[100_000].contains(";Café"),
        "{}",
        lines[100_000]
    );
    assert!(zip.by_name("zones.csv").is_ok(), "the block's table");
    let queue = agent
        .browser
        .get("/admin/dijon/dossiers?file=a-traiter")
        .await;
    assert!(queue.html.contains("Page suivante"), "paginated");
}

#[tokio::test]
async fn personal_data_goes_at_the_end_of_the_retention_period_after_a_warning() {
    use guichet_domain::demarche::Definition;
    use guichet_domain::dossier::{Action, Actor};
    use guichet_store::dossier;
    use guichet_store::retention::{anonymise_at, WARNING_MS};
    let smtp = SmtpSink::start().await;
    let s = TestServer::with_smtp(&smtp).await;
    let t = personas::collectivites(&s).await;
    let u = personas::usager(&s).await;
    let def = Definition::from_json(PERMIS_DE_CONSTRUIRE).expect("definition");
    let d = crate::support::publish(s.db(), t.dijon.id, &def).await;
    let x = dossier::create_draft(
        s.db(),
        t.dijon.id,
        d.id,
        1,
        Some(u.user_id),
        "Camille Martin",
    )
    .await
    .expect("draft");
    let pdf = b"%PDF-1.7\n%%EOF\n".to_vec();
    let f = guichet_store::files::NewFile {
        id: guichet_store::secret::random_token(),
        field_key: "plan".into(),
        owner: Some(u.user_id),
        name: "plan.pdf".into(),
        mime: "application/pdf".into(),
        bytes: pdf,
    };
    let mut answers = guichet_domain::demarche::Answers::default();
    answers.set("description", vec!["Véranda".into()]);
    answers.set("plan", vec![format!("fichier:{}", f.id)]);
    let file_id = f.id.clone();
    dossier::save_step(
        s.db(),
        &s.state.config.files,
        &x,
        &def,
        dossier::StepChange {
            answers,
            added: vec![f],
            removed: Vec::new(),
        },
        Default::default(),
    )
    .await
    .expect("save");
    let usager = dossier::By {
        actor: Actor::Usager,
        user_id: Some(u.user_id),
        label: u.email.clone(),
        ip: None,
        on_behalf_of: None,
    };
    let agent = dossier::By {
        actor: Actor::Agent,
        user_id: None,
        label: "agent@dijon.fr".into(),
        ip: None,
        on_behalf_of: None,
    };
    let mut x = dossier::get(s.db(), t.dijon.id, x.id)
        .await
        .expect("q")
        .expect("d");
    for (action, by) in [
        (Action::Submit, &usager),
        (Action::StartInstruction, &agent),
        (
            Action::Accept {
                conditions: String::new(),
            },
            &agent,
        ),
    ] {
        dossier::change(s.db(), &x, &def, &action, by)
            .await
            .expect("change");
        x = dossier::get(s.db(), t.dijon.id, x.id)
            .await
            .expect("q")
            .expect("d");
    }
    let decided = x.decided_at.expect("decided");
    let end = anonymise_at(decided, 12);
    // Twelve calendar months, Paris time: the same day number a year later, at midnight.
    let day = guichet_domain::delai::paris_day(decided);
    assert_eq!(
        guichet_domain::delai::last_day(end),
        day.checked_add(jiff::Span::new().years(1))
            .expect("a year later")
    );

    assert_eq!(
        guichet_web::jobs::retention(&s.state, end - WARNING_MS - 1)
            .await
            .expect("job"),
        0
    );
    assert!(
        smtp.received()
            .iter()
            .all(|m| !m.subject.contains("supprimées")),
        "not warned too early"
    );
    assert_eq!(
        guichet_web::jobs::retention(&s.state, end - WARNING_MS)
            .await
            .expect("job"),
        0,
        "warned, not yet anonymised"
    );
    let warning = smtp.wait_for(&u.email, "seront supprimées").await;
    assert!(warning.body.contains(&x.number));
    guichet_web::jobs::retention(&s.state, end - WARNING_MS + 1000)
        .await
        .expect("job");
    let warnings = smtp
        .received()
        .iter()
        .filter(|m| m.subject.contains("seront supprimées"))
        .count();
    assert_eq!(warnings, 1, "warned once");

    assert_eq!(
        guichet_web::jobs::retention(&s.state, end)
            .await
            .expect("job"),
        1
    );
    let after = dossier::get(s.db(), t.dijon.id, x.id)
        .await
        .expect("q")
        .expect("statistics remain");
    assert!(
        after.answers.0.is_empty() && after.applicant_name.is_none() && after.usager_id.is_none()
    );
    assert_eq!(
        after.state,
        guichet_domain::dossier::State::Accepte,
        "the decision remains, for statistics"
    );
    assert!(guichet_store::files::of_dossier(s.db(), t.dijon.id, x.id)
        .await
        .expect("files")
        .is_empty());
    assert!(
        s.state.config.files.get(&file_id).await.is_err(),
        "the file's content is deleted"
    );
    assert!(guichet_store::journal::list(s.db(), &Default::default(), 5)
        .await
        .expect("journal")
        .iter()
        .any(|e| e.event.action == "dossier.anonymisation"));
    assert!(guichet_store::journal::verify(s.db())
        .await
        .expect("verify")
        .is_ok());
    assert_eq!(
        guichet_web::jobs::retention(&s.state, end + 31 * guichet_domain::dossier::DAY_MS)
            .await
            .expect("job"),
        0,
        "once only"
    );
}
