//! Tell us once: the profile prefills bound fields and takes back what was typed, the document
//! vault attaches a document to a dossier in one action and warns before one expires, and the
//! usager sees who opened their dossier.

use crate::personas;
use crate::support::{SmtpSink, TestServer};
use guichet_domain::role::Role;

const CANTINE: &str = r#"{
  "title": "Inscription à la cantine",
  "description": "Inscrire ses enfants à la restauration scolaire.",
  "retention_months": 24,
  "competence": "restauration_scolaire",
  "pages": [{"title": "Votre demande", "fields": [
    {"id": "tel", "label": "Téléphone", "type": "phone", "required": true, "profile": "contact.telephone"},
    {"id": "adresse", "label": "Adresse", "type": "address", "required": true, "profile": "adresse.postale"},
    {"id": "enfants", "label": "Enfants", "type": "block", "item_label": "Enfant", "profile": "foyer.enfants", "fields": [
      {"id": "prenom", "label": "Prénom", "type": "short_text", "required": true, "profile": "prenoms"},
      {"id": "naissance", "label": "Date de naissance", "type": "date", "required": true, "profile": "naissance"}
    ]},
    {"id": "justificatif", "label": "Justificatif de domicile", "type": "file", "accept": ["application/pdf"], "max_size_mb": 1}
  ]}]
}"#;

const PDF: &[u8] =
    b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";

fn part(bytes: &[u8], name: &str, mime: &str) -> reqwest::multipart::Part {
    reqwest::multipart::Part::bytes(bytes.to_vec())
        .file_name(name.to_string())
        .mime_str(mime)
        .expect("mime")
}

fn fr(d: time::Date) -> String {
    format!("{:02}/{:02}/{}", d.day(), u8::from(d.month()), d.year())
}

#[tokio::test]
async fn the_profile_prefills_takes_back_the_coffre_attaches_and_the_usager_sees_who_opened_the_dossier(
) {
    let smtp = SmtpSink::start().await;
    let s = TestServer::with_smtp(&smtp).await;
    let db = s.db();
    let t = personas::collectivites(&s).await;
    let def = guichet_domain::demarche::Definition::from_json(CANTINE).expect("definition");
    let d = crate::support::publish(db, t.dijon.id, &def).await;
    let u = personas::usager(&s).await;

    // The profile: a bad date is refused with its field, and nothing is saved.
    let refused = u
        .browser
        .post(
            "/compte/profil",
            &[
                ("contact.telephone", "06 12 34 56 78"),
                ("identite.naissance", "31/02/1990"),
                ("action", "enregistrer"),
            ],
        )
        .await;
    assert_eq!(refused.status, 422);
    assert!(
        refused.html.contains("Saisissez une date valide")
            && refused.html.contains("href=\"#identite.naissance\""),
        "{}",
        refused.html
    );
    assert!(guichet_store::profil::get(db, u.user_id)
        .await
        .expect("profile")
        .is_empty());
    let saved = u
        .browser
        .post(
            "/compte/profil",
            &[
                ("contact.telephone", "+33612345678"),
                ("adresse.postale", "12 rue de la Liberté, 21000 Dijon"),
                ("enfants", "1"),
                ("foyer.enfants[0].prenoms", "Léa"),
                ("foyer.enfants[0].naissance", "14/07/2018"),
                ("action", "enregistrer"),
            ],
        )
        .await;
    assert_eq!(
        saved.location.as_deref(),
        Some("/compte/profil?enregistre=1")
    );
    let profile = guichet_store::profil::get(db, u.user_id)
        .await
        .expect("profile");
    assert_eq!(profile["contact.telephone"].value, "06 12 34 56 78");
    assert_eq!(profile["foyer.enfants[0].naissance"].value, "2018-07-14");

    // The vault: a text file is refused by its content; a PDF valid 10 more days is kept.
    // "Today" as residents read it: in Paris.
    let today = guichet_web::format::paris_today();
    let soon = fr(today + time::Duration::days(10));
    let bad = reqwest::multipart::Form::new()
        .text("type", "justificatif_domicile")
        .part(
            "fichier",
            part(b"pas un PDF", "facture.pdf", "application/pdf"),
        );
    let refused = u.browser.post_multipart("/compte/documents", bad).await;
    assert_eq!(refused.status, 422);
    assert!(refused.html.contains("pas accepté"), "{}", refused.html);
    let good = reqwest::multipart::Form::new()
        .text("type", "justificatif_domicile")
        .text("valable_jusqu_au", soon.clone())
        .part("fichier", part(PDF, "facture-eau.pdf", "application/pdf"));
    let added = u.browser.post_multipart("/compte/documents", good).await;
    assert_eq!(
        added.location.as_deref(),
        Some("/compte/documents?fait=ajout")
    );
    let coffre = u.browser.get("/compte/documents").await;
    assert!(
        coffre.html.contains("facture-eau.pdf") && coffre.html.contains("expire dans 10 jours"),
        "{}",
        coffre.html
    );
    let doc = guichet_store::coffre::list(db, u.user_id)
        .await
        .expect("vault")
        .pop()
        .expect("document");

    // A new dossier comes prefilled from the profile, child included, and offers the vault.
    let started = u
        .browser
        .post(&format!("/demarches/dijon/{}/dossiers", d.slug), &[])
        .await;
    let step = started.location.expect("step");
    let form = u.browser.get(&step).await;
    assert!(
        form.html.contains("value=\"06 12 34 56 78\"")
            && form.html.contains("value=\"Léa\"")
            && form.html.contains("value=\"2018-07-14\""),
        "{}",
        form.html
    );
    assert!(form.html.contains("name=\"depuis_coffre:justificatif\""));
    let filled = reqwest::multipart::Form::new()
        .text("tel", "07 11 22 33 44")
        .text("adresse", "12 rue de la Liberté, 21000 Dijon")
        .text("enfants[0].prenom", "Léa")
        .text("enfants[0].naissance", "2018-07-14")
        .text("depuis_coffre:justificatif", doc.id.clone())
        .text("action", "continuer");
    let next = u.browser.post_multipart(&step, filled).await;
    assert!(
        next.location
            .as_deref()
            .is_some_and(|l| l.ends_with("/recapitulatif")),
        "{}",
        next.html
    );
    let dossier_id: i64 = step
        .trim_start_matches("/dossiers/")
        .split('/')
        .next()
        .and_then(|i| i.parse().ok())
        .expect("id");
    let x = guichet_store::dossier::get_for_usager(db, dossier_id, u.user_id)
        .await
        .expect("q")
        .expect("dossier");
    let files = guichet_store::files::of_dossier(db, t.dijon.id, dossier_id)
        .await
        .expect("files");
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].name, "facture-eau.pdf");
    let journal = guichet_store::journal::list(db, &Default::default(), 200)
        .await
        .expect("journal");
    assert!(journal
        .iter()
        .any(|e| e.event.action == "document.jointure" && e.event.details.contains(&x.number)));

    // Deposited: the new phone number is offered to the profile, and saved when accepted.
    u.browser
        .post(&format!("/dossiers/{dossier_id}/depot"), &[])
        .await;
    let page = u.browser.get(&format!("/dossiers/{dossier_id}")).await;
    assert!(
        page.html
            .contains("Enregistrer ces informations dans votre profil")
            && page
                .html
                .contains("07 11 22 33 44 (au lieu de 06 12 34 56 78)"),
        "{}",
        page.html
    );
    let taken = u
        .browser
        .post(
            &format!("/dossiers/{dossier_id}/profil"),
            &[("cles", "contact.telephone")],
        )
        .await;
    assert_eq!(
        taken.location,
        Some(format!("/dossiers/{dossier_id}?profil=1"))
    );
    assert_eq!(
        guichet_store::profil::get(db, u.user_id).await.expect("p")["contact.telephone"].value,
        "07 11 22 33 44"
    );
    let after = u.browser.get(&format!("/dossiers/{dossier_id}")).await;
    assert!(!after.html.contains("Enregistrer ces informations"));

    // Who saw my data: nobody yet; then the agent who opened the dossier.
    let nobody = u.browser.get("/compte/acces").await;
    assert!(
        nobody.html.contains("Personne n'a encore consulté")
            || nobody.html.contains("Personne n&#39;a encore consulté")
    );
    let agent = personas::agent(&s, "instructrice@dijon.fr", &t.dijon, Role::Instructeur).await;
    let opened = agent
        .browser
        .get(&format!("/admin/dijon/dossiers/{dossier_id}"))
        .await;
    assert_eq!(opened.status, 200);
    let seen = u.browser.get("/compte/acces").await;
    assert!(
        !seen.html.contains("instructrice@dijon.fr")
            && seen.html.contains("Un agent de Dijon")
            && seen.html.contains("a consulté")
            && seen.html.contains("Dijon")
            && seen.html.contains(&x.number),
        "{}",
        seen.html
    );

    // The document expires in 10 days: the usager is e-mailed once.
    let warned = guichet_web::coffre::warn_expiring(&s.state, today)
        .await
        .expect("warn");
    assert_eq!(warned, 1);
    let again = guichet_web::coffre::warn_expiring(&s.state, today)
        .await
        .expect("warn");
    assert_eq!(again, 0, "warned once");
    let mail = smtp.wait_for(&u.email, "expire bientôt").await;
    assert!(mail.body.contains(&soon) && mail.body.contains("/compte/documents"));
}
