//! The observatoire as its readers meet it: a resident's deposit, the satisfaction question and
//! the decision feed the figures at once; the grid applies the national thresholds (satisfaction
//! from 100 answers, accessibility only when total, "Dites-le-nous une fois" measured on the
//! answers); small counts are withheld; the figures kept with each change are exactly what a
//! rebuild from the data finds; a collectivité declares its audit, and only its publishers may.

use crate::personas;
use crate::support::TestServer;
use guichet_domain::demarche::Definition;
use guichet_domain::dossier::{Action, Actor};
use guichet_domain::role::Role;
use guichet_store::dossier::{self, By};
use sqlx::Row;

const COMPOSTEUR: &str = r#"{
  "title": "Demande de composteur",
  "description": "Recevoir un composteur individuel.",
  "competence": "dechets",
  "deadline": {"amount": 2, "unit": "mois"},
  "tacit_rule": "accord",
  "retention_months": 12,
  "pages": [{"title": "Vous", "fields": [
    {"id": "nom", "label": "Nom", "type": "short_text", "required": true},
    {"id": "telephone", "label": "Téléphone", "type": "phone", "required": true}
  ]}]
}"#;

fn agent_by(label: &str) -> By {
    By {
        actor: Actor::Agent,
        user_id: None,
        label: label.into(),
        ip: None,
        on_behalf_of: None,
    }
}

/// Every figure row, in a stable order, to compare the incremental figures with a rebuild.
async fn figures(db: &guichet_store::Db) -> Vec<String> {
    let mut out = Vec::new();
    for (table, order) in [
        ("dossier_figures", "tenant_id, demarche_id, month, channel"),
        ("dossier_delays", "tenant_id, demarche_id, month, bucket"),
        (
            "signalement_figures",
            "tenant_id, category_id, commune_insee, month",
        ),
    ] {
        let rows = sqlx::query(&format!("SELECT * FROM {table} ORDER BY {order}"))
            .fetch_all(db.pool())
            .await
            .expect("figures");
        for r in rows {
            let cells: Vec<String> = (0..r.len())
                .map(|i| {
                    r.try_get::<i64, _>(i)
                        .map(|n| n.to_string())
                        .or_else(|_| r.try_get::<String, _>(i))
                        .unwrap_or_default()
                })
                .collect();
            // Rows brought back to zero by a change say nothing a rebuild would keep.
            if cells.iter().skip(4).all(|c| c == "0") {
                continue;
            }
            out.push(format!("{table}: {}", cells.join(",")));
        }
    }
    out
}

#[tokio::test]
async fn a_deposit_its_rating_and_its_decision_feed_the_observatoire_at_once() {
    let s = TestServer::with(|c| c.worker = false).await;
    let db = s.db();
    let t = personas::collectivites(&s).await;
    let def = Definition::from_json(COMPOSTEUR).expect("definition");
    let d = crate::support::publish(db, t.dijon.id, &def).await;
    let u = personas::usager(&s).await;
    // The usager's profile already holds the phone number the démarche asks again.
    u.browser
        .post(
            "/compte/profil",
            &[
                ("contact.telephone", "06 12 34 56 78"),
                ("action", "enregistrer"),
            ],
        )
        .await;

    // Before anything: the page exists, says there is nothing yet, and withholds nothing.
    let empty = s.browser().get("/observatoire/dijon").await;
    assert_eq!(empty.status, 200);
    assert!(
        empty.html.contains("Dossiers déposés</dt><dd>0"),
        "{}",
        empty.html
    );

    // The usager files online, typing the phone number again.
    let started = u
        .browser
        .post(&format!("/demarches/dijon/{}/dossiers", d.slug), &[])
        .await;
    let step = started.location.expect("first step");
    let id = crate::support::id_from(&step, "/dossiers/");
    u.browser
        .post(
            &step,
            &[
                ("nom", "Camille Martin"),
                ("telephone", "0612345678"),
                ("action", "continuer"),
            ],
        )
        .await;
    let deposited = u.browser.post(&format!("/dossiers/{id}/depot"), &[]).await;
    assert!(
        deposited
            .location
            .as_deref()
            .is_some_and(|l| l.starts_with(&format!("/dossiers/{id}?depose="))),
        "{:?}",
        deposited.location
    );
    let x = dossier::get(db, t.dijon.id, id)
        .await
        .expect("read")
        .expect("dossier");
    assert_eq!(x.asked_again, Some(1), "the phone was asked again");

    // The dossier's page asks how it went; a missing score names its field, in French.
    let page = u.browser.get(&format!("/dossiers/{id}")).await;
    assert!(
        page.html
            .contains("Comment s&#39;est passée cette démarche ?")
            || page.html.contains("Comment s'est passée cette démarche ?")
    );
    let refused = u
        .browser
        .post(
            &format!("/dossiers/{id}/satisfaction"),
            &[("commentaire", "Rapide")],
        )
        .await;
    assert_eq!(refused.status, 422);
    assert!(
        refused.html.contains("Choisissez une note de 1 à 10.")
            && refused.html.contains("id=\"note-erreur\""),
        "{}",
        refused.html
    );
    let too_long = "x".repeat(1001);
    let refused = u
        .browser
        .post(
            &format!("/dossiers/{id}/satisfaction"),
            &[("note", "11"), ("commentaire", too_long.as_str())],
        )
        .await;
    assert_eq!(refused.status, 422);
    assert!(refused.html.contains("plus de 1000 caractères"));
    let rated = u
        .browser
        .post(
            &format!("/dossiers/{id}/satisfaction"),
            &[("note", "9"), ("commentaire", "Simple et rapide.")],
        )
        .await;
    assert_eq!(rated.location, Some(format!("/dossiers/{id}?avis=1")));
    let after = u.browser.get(&format!("/dossiers/{id}?avis=1")).await;
    assert!(after.html.contains("Merci pour votre avis"));
    assert!(
        !after.html.contains("name=\"note\""),
        "asked once per moment"
    );
    // Answering twice counts once.
    u.browser
        .post(&format!("/dossiers/{id}/satisfaction"), &[("note", "1")])
        .await;
    // Someone else cannot rate it.
    let other = personas::persona(
        &s,
        guichet_store::compte::Kind::Usager,
        "autre@exemple.fr",
        &[],
    )
    .await;
    let foreign = other
        .browser
        .post(&format!("/dossiers/{id}/satisfaction"), &[("note", "1")])
        .await;
    assert_eq!(foreign.status, 404);

    // Five more dossiers, one at the counter and one with an aidant, so that counts show.
    let agent = agent_by("agent@dijon.fr");
    let usager = By {
        actor: Actor::Usager,
        ..agent_by("usager")
    };
    for i in 0..5 {
        let draft = dossier::Draft {
            tenant_id: t.dijon.id,
            demarche_id: d.id,
            version: 1,
            usager_id: None,
            applicant_name: format!("Habitant {i}"),
            answers: Default::default(),
            commune_insee: None,
            aidant_id: (i == 1).then_some(u.user_id),
        };
        let x = if i == 0 {
            guichet_store::comptoir::open(
                db,
                draft,
                0,
                "Habitant",
                "",
                guichet_store::trace::Trace::default(),
            )
            .await
            .expect("counter")
            .0
        } else {
            dossier::start_draft(db, draft).await.expect("draft")
        };
        dossier::change(db, &x, &def, &Action::Submit, &usager)
            .await
            .expect("deposit");
    }
    // The first dossier: a correction, then accepted; reopened and refused.
    let mut x = dossier::get(db, t.dijon.id, id)
        .await
        .expect("r")
        .expect("x");
    for action in [
        Action::StartInstruction,
        Action::RequestCorrection {
            message: "Précisez l'adresse.".into(),
        },
    ] {
        dossier::change(db, &x, &def, &action, &agent)
            .await
            .expect("change");
        x = dossier::get(db, t.dijon.id, id)
            .await
            .expect("r")
            .expect("x");
    }
    dossier::change(db, &x, &def, &Action::Submit, &usager)
        .await
        .expect("corrected");
    x = dossier::get(db, t.dijon.id, id)
        .await
        .expect("r")
        .expect("x");
    let accept = Action::Accept {
        conditions: String::new(),
    };
    dossier::change(db, &x, &def, &accept, &agent)
        .await
        .expect("accepted");
    x = dossier::get(db, t.dijon.id, id)
        .await
        .expect("r")
        .expect("x");
    let admin = By {
        actor: Actor::Admin,
        ..agent_by("admin@dijon.fr")
    };
    dossier::change(db, &x, &def, &Action::Reopen, &admin)
        .await
        .expect("reopened");
    x = dossier::get(db, t.dijon.id, id)
        .await
        .expect("r")
        .expect("x");
    let refuse = Action::Refuse {
        reason: "Hors zone.".into(),
    };
    dossier::change(db, &x, &def, &refuse, &agent)
        .await
        .expect("refused");

    // The figures kept with each change are exactly those a rebuild finds.
    let kept = figures(db).await;
    guichet_store::pilotage::rebuild(db).await.expect("rebuild");
    assert_eq!(kept, figures(db).await);

    // The public page: 6 deposits (5 online… 1 at the counter and 1 with an aidant withheld),
    // one decision (withheld), a correction (withheld), and the grid.
    let page = s.browser().get("/observatoire/dijon").await;
    assert_eq!(page.status, 200);
    let html = &page.html;
    assert!(
        html.contains("Dossiers déposés</dt><dd>6 (en ligne : moins de 5, avec un aidant : moins de 5, au guichet : moins de 5)"),
        "{html}"
    );
    assert!(html.contains("Décisions</dt><dd>moins de 5"), "{html}");
    assert!(html.contains("<svg") && html.contains("role=\"img\""));
    assert!(
        html.contains("<th scope=\"col\">Mois</th>"),
        "a table with each chart"
    );
    // One answer: not enough to show a score.
    assert!(html.contains("Moins de 100 avis"), "{html}");
    // One deposit measured: not enough to judge "Dites-le-nous une fois".
    assert!(html.contains("Pas assez de dépôts mesurés"), "{html}");
    assert!(html.contains("Aucun audit déclaré"));
    let demarche_page = s
        .browser()
        .get(&format!("/observatoire/dijon/{}", d.slug))
        .await;
    assert_eq!(demarche_page.status, 200);
    assert!(demarche_page.html.contains("Demande de composteur"));
    assert_eq!(
        s.browser().get("/observatoire/dijon/inconnue").await.status,
        404
    );
    assert_eq!(
        s.browser().get("/observatoire/nulle-part").await.status,
        404
    );
    let region = s.browser().get("/observatoire").await;
    assert_eq!(region.status, 200);
    // The région's table by collectivité adds up the same deposits as Dijon's page.
    let row = region
        .html
        .split("href=\"/observatoire/dijon\"")
        .nth(1)
        .and_then(|r| r.split("</tr>").next())
        .unwrap_or_default();
    assert!(row.contains("<td>6</td>"), "Dijon's row: {row}");
    assert!(
        region.html.contains("Dossiers déposés</dt><dd>6 "),
        "the région's total"
    );
}

#[tokio::test]
async fn the_grid_shows_satisfaction_from_a_hundred_answers_and_accessibility_only_when_total() {
    let s = TestServer::with(|c| c.worker = false).await;
    let db = s.db();
    let t = personas::collectivites(&s).await;
    let def = Definition::from_json(COMPOSTEUR).expect("definition");
    let d = crate::support::publish(db, t.dijon.id, &def).await;
    let usager = By {
        actor: Actor::Usager,
        ..agent_by("usager")
    };
    let mut deposited = Vec::new();
    for i in 0..100 {
        let x = dossier::create_draft(db, t.dijon.id, d.id, 1, None, &format!("H{i}"))
            .await
            .expect("draft");
        let along = dossier::Along {
            answers: None,
            notice: |_: &dossier::Dossier| guichet_store::trace::Trace::default(),
            team: None,
            asked_again: Some(0),
        };
        deposited.push(
            dossier::change_with(db, &x, &def, &Action::Submit, &usager, along)
                .await
                .expect("deposit"),
        );
    }
    let rate = |x: &dossier::Dossier, score: i64| {
        let (db, x) = (db.clone(), x.clone());
        async move {
            guichet_store::pilotage::rate(
                &db,
                &x,
                guichet_store::pilotage::Moment::Depot,
                score,
                None,
                guichet_store::trace::Trace::default(),
            )
            .await
            .expect("rate")
        }
    };
    for x in &deposited[..99] {
        assert!(rate(x, 9).await);
    }
    let page = s.browser().get("/observatoire/dijon").await;
    assert!(page.html.contains("Moins de 100 avis"), "{}", page.html);
    assert!(rate(&deposited[99], 8).await);
    assert!(!rate(&deposited[99], 1).await, "once per moment");
    let page = s.browser().get("/observatoire/dijon").await;
    assert!(page.html.contains("9,0 / 10 (100 avis)"), "{}", page.html);
    // Nothing typed twice on 100 deposits.
    assert!(page.html.contains("Aucune information connue redemandée"));

    // Only a publisher declares the audit; a bad rate is refused with its field.
    let instructeur = personas::agent(&s, "instr@dijon.fr", &t.dijon, Role::Instructeur).await;
    let denied = instructeur
        .browser
        .post(
            "/admin/dijon/observatoire/accessibilite",
            &[("taux", "100"), ("date", "2026-06-15")],
        )
        .await;
    assert!(
        denied.status == 403 || denied.status == 404,
        "{}",
        denied.status
    );
    let publisher = personas::agent(&s, "pub@dijon.fr", &t.dijon, Role::Publication).await;
    let bad = publisher
        .browser
        .post(
            "/admin/dijon/observatoire/accessibilite",
            &[("taux", "120"), ("date", "hier")],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(
        bad.html.contains("un nombre de 0 à 100") && bad.html.contains("date de l&#39;audit")
            || bad.html.contains("date de l'audit"),
        "{}",
        bad.html
    );
    for (rate, expected) in [
        ("99", "Partiellement conforme"),
        ("100", "Totalement conforme"),
    ] {
        let ok = publisher
            .browser
            .post(
                "/admin/dijon/observatoire/accessibilite",
                &[("taux", rate), ("date", "2026-06-15")],
            )
            .await;
        assert_eq!(ok.location.as_deref(), Some("/admin/dijon/observatoire"));
        let page = s.browser().get("/observatoire/dijon").await;
        assert!(page.html.contains(expected), "{expected}");
    }
    let journal: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_events WHERE action = 'accessibilite.declaration'",
    )
    .fetch_one(db.pool())
    .await
    .expect("journal");
    assert_eq!(journal, 2);
}

#[tokio::test]
async fn signalements_count_where_they_are_handled_and_follow_a_transfer() {
    use guichet_domain::signalement::State;
    use guichet_store::signalement as reports;
    let s = TestServer::with(|c| c.worker = false).await;
    let db = s.db();
    let t = personas::collectivites(&s).await;
    let category = reports::categories(db).await.expect("c").remove(0);
    let mut made = Vec::new();
    for i in 0..6 {
        made.push(
            reports::create(
                db,
                &reports::NewReport {
                    tenant_id: t.dijon.id,
                    category_id: category.id,
                    competence: category.competence.clone(),
                    commune_insee: "21231".into(),
                    address: format!("{i} rue des Godrans"),
                    position: None,
                    road_kind: None,
                    road_number: None,
                    description: "Lampadaire éteint".into(),
                    answers: Vec::new(),
                    reporter_user_id: None,
                    reporter_email: None,
                    state: if i == 5 {
                        State::AModerer
                    } else {
                        State::Nouveau
                    },
                    confirm_token_hash: None,
                    ip: None,
                },
            )
            .await
            .expect("report"),
        );
    }
    let trace =
        |_: &reports::Signalement, _: &reports::Audience| guichet_store::trace::Trace::default();
    reports::change_state(db, &made[0], State::Resolu, "Réparé.", None, "agent", trace)
        .await
        .expect("resolved");
    reports::change_state(db, &made[5], State::Nouveau, "", None, "modérateur", trace)
        .await
        .expect("moderated");
    reports::transfer(db, &made[1], t.macon.id, "Pas chez nous.", "agent", trace)
        .await
        .expect("transfer");
    let kept = figures(db).await;
    guichet_store::pilotage::rebuild(db).await.expect("rebuild");
    assert_eq!(kept, figures(db).await);
    let page = s.browser().get("/observatoire/dijon").await;
    // Five reported here (one moved away, one published after moderation), one resolved.
    assert!(
        page.html.contains(&format!(
            "<th scope=\"row\">{}</th><td>Dijon</td><td>5</td><td>moins de 5</td><td>20,0 %</td>",
            category.label
        )),
        "{}",
        page.html
    );
}
