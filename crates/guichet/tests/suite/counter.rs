//! The counter: an agent files a dossier for a walk-in person without an account, who follows it
//! with the tracking code and their last name, then claims it into an account.

use crate::personas;
use crate::support::{SmtpSink, TestServer};
use guichet_domain::role::Role;
use guichet_store::compte::Kind;

const DEMARCHE: &str = r#"{"title": "Carte de stationnement résident", "description": "d", "retention_months": 12,
  "pages": [{"title": "Demande", "fields": [{"id": "immatriculation", "label": "Immatriculation", "type": "short_text", "required": true}]}]}"#;

#[tokio::test]
async fn a_dossier_filed_at_the_counter_is_followed_with_code_and_name_then_claimed() {
    let smtp = SmtpSink::start().await;
    let s = TestServer::with_smtp(&smtp).await;
    let db = s.db();
    let t = personas::collectivites(&s).await;
    let def = guichet_domain::demarche::Definition::from_json(DEMARCHE).expect("def");
    let d = crate::support::publish(db, t.dijon.id, &def).await;
    let agent = personas::agent(&s, "accueil@dijon.fr", &t.dijon, Role::Instructeur).await;
    let choice = format!("{}:{}", t.dijon.id, d.id);

    let missing = agent
        .browser
        .post(
            "/admin/dijon/guichet",
            &[("demarche", &choice), ("prenom", "Marie")],
        )
        .await;
    assert_eq!(missing.status, 422);
    assert!(missing.html.contains("Indiquez le nom de la personne"));
    let opened = agent
        .browser
        .post(
            "/admin/dijon/guichet",
            &[
                ("demarche", &choice),
                ("prenom", "Marie"),
                ("nom", "Lefèvre"),
                ("email", "marie.lefevre@exemple.fr"),
            ],
        )
        .await;
    let step = opened.location.expect("first step");
    let id: i64 = step
        .trim_start_matches("/dossiers/")
        .split('/')
        .next()
        .and_then(|i| i.parse().ok())
        .expect("id");
    agent
        .browser
        .post(
            &step,
            &[("immatriculation", "AB-123-CD"), ("action", "continuer")],
        )
        .await;
    let deposited = agent
        .browser
        .post(&format!("/dossiers/{id}/depot"), &[])
        .await;
    assert_eq!(deposited.location, Some(format!("/dossiers/{id}?depose=1")));
    let page = agent.browser.get(&format!("/dossiers/{id}")).await;
    let code = page
        .html
        .split("Code de suivi : <strong>")
        .nth(1)
        .and_then(|r| r.split('<').next())
        .expect("the tracking code for the person")
        .to_string();
    assert!(page.html.contains("Marie LEFÈVRE"), "{}", page.html);
    let accuse =
        crate::filing::pdf_text(&agent.browser, &format!("/dossiers/{id}/accuse.pdf")).await;
    assert!(
        accuse.contains(&code) && accuse.contains("Code de suivi"),
        "{accuse}"
    );
    let desk = agent.browser.get("/admin/dijon/guichet").await;
    assert!(
        desk.html.contains(&format!("/dossiers/{id}")) && desk.html.contains(&code),
        "the agent finds it again"
    );
    let x = guichet_store::dossier::get_any(db, id)
        .await
        .expect("q")
        .expect("dossier");
    assert!(x.usager_id.is_none() && x.submitted_at.is_some());
    let mail = smtp
        .wait_for("marie.lefevre@exemple.fr", "Accusé de réception")
        .await;
    assert!(mail.body.contains(&code) && mail.body.contains("/suivi"));
    let journal = guichet_store::journal::list(db, &Default::default(), 100)
        .await
        .expect("journal");
    assert!(journal
        .iter()
        .any(|e| e.event.action == "dossier.guichet" && e.event.details.contains("guichet")));

    // Followed without an account: the code and the last name (accents and case ignored).
    let anonymous = s.browser();
    // Typed as people copy it: lower case, with the spaces of the printed groups.
    assert!(code.contains(' '), "printed in groups: {code}");
    let typed = code.to_lowercase().replace(' ', "+");
    let followed = anonymous
        .get(&format!("/suivi?code={typed}&nom=lefevre"))
        .await;
    assert_eq!(followed.status, 200);
    assert!(
        followed.html.contains(&format!("Dossier n° {}", x.number))
            && followed.html.contains("déposé"),
        "{}",
        followed.html
    );
    let wrong = anonymous
        .get(&format!("/suivi?code={typed}&nom=Martin"))
        .await;
    assert_eq!(wrong.status, 404);
    assert!(!wrong.html.contains(&x.number));

    // Claimed into an account: it joins the person's dossiers and leaves the counter.
    let usager = personas::persona(&s, Kind::Usager, "marie.lefevre@exemple.fr", &[]).await;
    let bad = usager
        .browser
        .post("/compte/rattacher", &[("code", &code), ("nom", "Dupont")])
        .await;
    assert_eq!(bad.status, 422);
    let claimed = usager
        .browser
        .post("/compte/rattacher", &[("code", &code), ("nom", "LEFÈVRE")])
        .await;
    assert_eq!(claimed.location, Some(format!("/dossiers/{id}")));
    assert!(
        guichet_store::dossier::get_for_usager(db, id, usager.user_id)
            .await
            .expect("q")
            .is_some()
    );
    assert!(usager
        .browser
        .get("/dossiers")
        .await
        .html
        .contains(&x.number));
    assert_eq!(
        agent.browser.get(&format!("/dossiers/{id}")).await.status,
        404
    );
    let again = personas::usager(&s).await;
    assert_eq!(
        again
            .browser
            .post("/compte/rattacher", &[("code", &code), ("nom", "Lefèvre")])
            .await
            .status,
        422
    );
}
