//! The no-code editor, end to end: an admin builds a démarche field by field (a condition, a
//! repeatable block, a file field), without JavaScript, publishes it; a usager fills it over two
//! sessions, submits and gets the accusé by e-mail and as PDF; the agent asks for a correction,
//! the usager corrects, the agent accepts and the usager is told; the journal verifies.

use crate::filing::{login, pdf_text};
use crate::personas;
use crate::support::{SmtpSink, TestServer};
use guichet_domain::demarche::FieldKind;
use guichet_domain::role::Role;
use guichet_store::compte::Kind;

#[tokio::test]
async fn an_admin_builds_a_demarche_in_the_editor_and_it_goes_through_its_whole_life() {
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
    let b = &admin.browser;

    // A new démarche, then its settings.
    let created = b
        .post(
            "/admin/dijon/demarches/nouvelle",
            &[("titre", "Aide aux séjours de vacances")],
        )
        .await;
    let editor = created.location.expect("to the editor");
    assert!(editor.ends_with("/editeur"), "{editor}");
    let id: i64 = editor
        .trim_start_matches("/admin/dijon/demarches/")
        .trim_end_matches("/editeur")
        .parse()
        .expect("id");
    let base = format!("/admin/dijon/demarches/{id}/editeur");
    // Nothing to fill and no competence yet: publishing is refused, with the reasons.
    let early = b
        .post(&format!("/admin/dijon/demarches/{id}/publication"), &[])
        .await;
    assert_eq!(early.status, 422);
    assert!(
        early.html.contains("indiquez la compétence") && early.html.contains("ne demande rien"),
        "{}",
        early.html
    );
    let bad = b
        .post(
            &format!("{base}/reglages"),
            &[
                ("titre", "Aide aux séjours de vacances"),
                ("description", "Une aide pour les séjours des enfants."),
                ("delai", "trente"),
                ("silence", "accord"),
                ("conservation", "24"),
            ],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(
        bad.html.contains("Le délai est un nombre entre 1 et 3650"),
        "{}",
        bad.html
    );
    let ok = b
        .post(
            &format!("{base}/reglages"),
            &[
                ("titre", "Aide aux séjours de vacances"),
                ("description", "Une aide pour les séjours des enfants."),
                ("delai", "2"),
                ("delai_unite", "mois"),
                ("apres_correction", "reprend"),
                ("silence", "accord"),
                ("conservation", "24"),
                ("identite", "compte"),
                ("competence", "periscolaire"),
                ("contact", "Service enfance — 03 80 00 00 20"),
                ("lettre", "Dossier {numero} : {decision}.\n\n{motif}"),
            ],
        )
        .await;
    assert!(ok.html.contains("Réglages enregistrés"), "{}", ok.html);

    // Fields: a yes/no, a block shown only when "oui", a first name inside the block, a file.
    let add = |label: &'static str, kind: &'static str, place: String| {
        let url = format!("{base}/champs");
        async move {
            let r = b
                .post(
                    &url,
                    &[("type", kind), ("libelle", label), ("emplacement", &place)],
                )
                .await;
            r.location
                .unwrap_or_else(|| panic!("{label} added: {}", r.html))
        }
    };
    let yes_no = add("Partez-vous avec des enfants ?", "yes_no", "p0".into()).await;
    assert!(
        yes_no.ends_with("/champs/partez_vous_avec_des_enfants"),
        "{yes_no}"
    );
    b.post(
        &yes_no,
        &[
            ("libelle", "Partez-vous avec des enfants ?"),
            ("obligatoire", "oui"),
        ],
    )
    .await;
    let block = add("Enfants", "block", "p0".into()).await;
    // A condition on a value the source cannot take is refused with the reason.
    let refused = b
        .post(
            &block,
            &[
                ("libelle", "Enfants"),
                ("min", "1"),
                ("max", "4"),
                ("intitule_element", "Enfant"),
                ("condition_champ", "partez_vous_avec_des_enfants"),
                ("condition_valeurs", ""),
            ],
        )
        .await;
    assert_eq!(refused.status, 422);
    assert!(
        refused.html.contains("Indiquez la ou les valeurs"),
        "{}",
        refused.html
    );
    let saved = b
        .post(
            &block,
            &[
                ("libelle", "Enfants"),
                ("min", "1"),
                ("max", "4"),
                ("intitule_element", "Enfant"),
                ("condition_champ", "partez_vous_avec_des_enfants"),
                ("condition_valeurs", "oui"),
            ],
        )
        .await;
    assert!(
        saved.html.contains("Champ « Enfants » enregistré"),
        "{}",
        saved.html
    );
    let first_name = add("Prénom de l'enfant", "short_text", "b:enfants".into()).await;
    b.post(
        &first_name,
        &[("libelle", "Prénom de l'enfant"), ("obligatoire", "oui")],
    )
    .await;
    let file = add("Justificatif de domicile", "file", "p0".into()).await;
    let file_saved = b
        .post(
            &file,
            &[
                ("libelle", "Justificatif de domicile"),
                ("obligatoire", "oui"),
                ("formats", "application/pdf"),
                ("taille_max", "2"),
                ("nombre_max", "1"),
            ],
        )
        .await;
    assert!(
        file_saved.html.contains("enregistré"),
        "{}",
        file_saved.html
    );
    // Moving the yes/no below the block it drives is refused: nothing saved.
    let moved = b
        .post(&format!("{yes_no}/actions"), &[("action", "descendre")])
        .await;
    assert_eq!(moved.status, 422);
    assert!(
        moved.html.contains("Modification refusée"),
        "{}",
        moved.html
    );

    // The stored draft is what the admin built.
    let d = guichet_store::demarche::get(s.db(), t.dijon.id, id)
        .await
        .expect("q")
        .expect("d");
    let def = guichet_store::demarche::definition(
        s.db(),
        t.dijon.id,
        id,
        d.draft_version.expect("draft"),
    )
    .await
    .expect("q")
    .expect("definition");
    assert_eq!(
        def.instruction_delay(),
        Some(guichet_domain::delai::Delai::mois(2))
    );
    assert_eq!(
        def.after_correction,
        guichet_domain::demarche::ApresCorrection::Reprend
    );
    let ids: Vec<&str> = def.pages[0].fields.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "partez_vous_avec_des_enfants",
            "enfants",
            "justificatif_de_domicile"
        ]
    );
    let Some(FieldKind::Block {
        fields, min, max, ..
    }) = def.field("enfants").map(|f| &f.kind)
    else {
        panic!("a block")
    };
    assert_eq!((fields.len(), *min, *max), (1, 1, 4));
    assert!(
        matches!(&def.field("justificatif_de_domicile").expect("file").kind,
        FieldKind::File { accept, max_size_mb: 2, .. } if accept == &vec!["application/pdf".to_string()])
    );

    let published = b
        .post(&format!("/admin/dijon/demarches/{id}/publication"), &[])
        .await;
    assert!(
        published.html.contains("Version 1 publiée"),
        "{}",
        published.html
    );

    // The usager starts on a computer: yes, one child, and the file; saves the draft.
    let usager = personas::usager(&s).await;
    let started = usager
        .browser
        .post(
            "/demarches/dijon/aide-aux-sejours-de-vacances/dossiers",
            &[],
        )
        .await;
    let step = started.location.expect("first step");
    let dossier_id: i64 = step
        .trim_start_matches("/dossiers/")
        .split('/')
        .next()
        .expect("id")
        .parse()
        .expect("id");
    let pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n";
    let form = reqwest::multipart::Form::new()
        .text("partez_vous_avec_des_enfants", "oui")
        .text("enfants[0].prenom_de_l_enfant", "Léa")
        .text("action", "enregistrer")
        .part(
            "justificatif_de_domicile",
            crate::support::file_part("facture.pdf", pdf, "application/pdf"),
        );
    let saved = usager.browser.post_multipart(&step, form).await;
    assert!(
        saved.html.contains("Brouillon enregistré"),
        "{}",
        saved.html
    );

    // On a phone, later: the draft is there; the usager submits.
    let phone = s.browser();
    login(&phone, &usager.email).await;
    let resumed = phone.get(&step).await;
    assert!(
        resumed.html.contains("Léa") && resumed.html.contains("facture.pdf"),
        "{}",
        resumed.html
    );
    let next = phone
        .post(
            &step,
            &[
                ("partez_vous_avec_des_enfants", "oui"),
                ("enfants[0].prenom_de_l_enfant", "Léa"),
                ("action", "continuer"),
            ],
        )
        .await;
    assert_eq!(
        next.location.as_deref(),
        Some(&*format!("/dossiers/{dossier_id}/recapitulatif")),
        "{}",
        next.html
    );
    phone
        .post(&format!("/dossiers/{dossier_id}/depot"), &[])
        .await;
    let mail = smtp.wait_for(&usager.email, "Accusé de réception").await;
    assert!(mail.body.contains("Service enfance"), "{}", mail.body);
    let accuse = pdf_text(&phone, &format!("/dossiers/{dossier_id}/accuse.pdf")).await;
    assert!(
        accuse.contains("Aide aux séjours de vacances") && accuse.contains("silence vaut accord"),
        "{accuse}"
    );

    // Correction, then acceptance; the usager is told each time.
    let agent_view = format!("/admin/dijon/dossiers/{dossier_id}");
    b.post(&format!("{agent_view}/action"), &[("action", "instruire")])
        .await;
    b.post(
        &format!("{agent_view}/action"),
        &[
            ("action", "corriger"),
            ("motif", "Ajoutez le deuxième enfant."),
        ],
    )
    .await;
    smtp.wait_for(&usager.email, "en attente de correction")
        .await;
    let corrected = phone
        .post(
            &step,
            &[
                ("partez_vous_avec_des_enfants", "oui"),
                ("enfants[0].prenom_de_l_enfant", "Léa"),
                ("enfants[1].prenom_de_l_enfant", "Tom"),
                ("action", "continuer"),
            ],
        )
        .await;
    assert!(corrected.location.is_some(), "{}", corrected.html);
    phone
        .post(&format!("/dossiers/{dossier_id}/depot"), &[])
        .await;
    let accepted = b
        .post(&format!("{agent_view}/action"), &[("action", "accepter")])
        .await;
    assert!(
        accepted.html.contains("Tom"),
        "the correction reached the agent"
    );
    smtp.wait_for(&usager.email, "accepté").await;
    // The decision letter follows the admin's template.
    let letter = pdf_text(&phone, &format!("/dossiers/{dossier_id}/decision.pdf")).await;
    assert!(letter.contains("votre demande est acceptée"), "{letter}");
    assert!(guichet_store::journal::verify(s.db())
        .await
        .expect("verify")
        .is_ok());
}
