//! Dossiers through their life: versions of the démarche, the workflow, the tacit decision at the
//! deadline (clock injected, not slept), and the journal that records it all.

use crate::support::TestDb;
use guichet_domain::demarche::{Answers, Definition};
use guichet_domain::dossier::{Action, Actor, State, DAY_MS};
use guichet_store::collectivite::{self, Contact, Target};
use guichet_store::dossier::{self, By, ChangeError};
use guichet_store::{demarche, journal};

const DEFINITION: &str = r#"{
  "title": "Demande d'autorisation de terrasse",
  "description": "Installer une terrasse sur le domaine public.",
  "retention_months": 36,
  "deadline_days": 30,
  "tacit_rule": "accord",
  "pages": [ { "title": "Votre commerce", "fields": [
    { "id": "siret", "label": "SIRET", "type": "siret", "required": true },
    { "id": "surface", "label": "Surface (m²)", "type": "decimal", "min": 1, "max": 200, "required": true }
  ] } ]
}"#;

fn usager(id: i64) -> By {
    By {
        actor: Actor::Usager,
        user_id: Some(id),
        label: "camille@exemple.fr".into(),
        ip: None,
        on_behalf_of: None,
    }
}

fn agent() -> By {
    By {
        actor: Actor::Agent,
        user_id: None,
        label: "instructeur@dijon.fr".into(),
        ip: Some("127.0.0.1".into()),
        on_behalf_of: None,
    }
}

async fn setup() -> (TestDb, i64, demarche::Demarche, Definition) {
    let t = TestDb::with_referential().await;
    let dijon = collectivite::add(
        &t.db,
        &Target::Insee("21231".into()),
        &Contact::default(),
        false,
    )
    .await
    .expect("Dijon");
    let def = Definition::from_json(DEFINITION).expect("definition");
    let d = demarche::create(&t.db, dijon.id, &def, Default::default())
        .await
        .expect("démarche");
    assert_eq!(d.slug, "demande-d-autorisation-de-terrasse");
    assert_eq!(
        demarche::publish(&t.db, &d, Default::default())
            .await
            .expect("publish"),
        Some(1)
    );
    let d = demarche::get(&t.db, dijon.id, d.id)
        .await
        .expect("q")
        .expect("démarche");
    (t, dijon.id, d, def)
}

fn answers() -> Answers {
    let mut a = Answers::default();
    a.set("siret", vec!["21210231300013".into()]);
    a.set("surface", vec!["12.5".into()]);
    a
}

#[tokio::test]
async fn a_dossier_goes_through_correction_to_acceptance_and_every_step_is_journaled() {
    let (t, tenant_id, d, def) = setup().await;
    let draft = dossier::create_draft(&t.db, tenant_id, d.id, 1, None, "Camille Martin")
        .await
        .expect("draft");
    assert_eq!(draft.state, State::Brouillon);
    assert!(draft.number.ends_with(&format!("{:07}", draft.id)));
    assert!(dossier::save_answers(&t.db, &draft, &def, &answers())
        .await
        .expect("save"));

    let reload = |id| {
        let db = t.db.clone();
        async move {
            dossier::get(&db, tenant_id, id)
                .await
                .expect("q")
                .expect("dossier")
        }
    };
    let mut x = reload(draft.id).await;
    assert_eq!(x.answers.get("surface"), Some("12.5"), "the draft is kept");
    assert_eq!(
        dossier::change(&t.db, &x, &def, &Action::Submit, &usager(1))
            .await
            .expect("submit"),
        State::Depose
    );
    x = reload(x.id).await;
    let since = guichet_domain::delai::paris_day(x.complete_since.expect("since"));
    assert_eq!(
        guichet_domain::delai::last_day(x.deadline_at.expect("deadline")),
        since.checked_add(jiff::Span::new().days(30)).expect("day"),
        "thirty calendar days, ending at midnight Paris time"
    );
    dossier::change(&t.db, &x, &def, &Action::StartInstruction, &agent())
        .await
        .expect("instruction");
    x = reload(x.id).await;
    let correction = Action::RequestCorrection {
        message: "La surface semble erronée.".into(),
    };
    dossier::change(&t.db, &x, &def, &correction, &agent())
        .await
        .expect("correction");
    x = reload(x.id).await;
    assert_eq!(x.state, State::EnCorrection);
    assert!(dossier::save_answers(&t.db, &x, &def, &answers())
        .await
        .expect("the usager may correct"));
    assert_eq!(
        dossier::change(&t.db, &x, &def, &Action::Submit, &usager(1))
            .await
            .expect("resubmit"),
        State::EnInstruction
    );
    x = reload(x.id).await;
    let accepted = dossier::change(
        &t.db,
        &x,
        &def,
        &Action::Accept {
            conditions: String::new(),
        },
        &agent(),
    )
    .await
    .expect("accept");
    assert_eq!(accepted, State::Accepte);
    x = reload(x.id).await;
    assert!(x.decided_at.is_some() && !x.tacit);
    assert!(
        !dossier::save_answers(&t.db, &x, &def, &answers())
            .await
            .expect("save"),
        "no edit after the decision"
    );

    let history = dossier::history(&t.db, tenant_id, x.id, false)
        .await
        .expect("history");
    let steps: Vec<&str> = history
        .iter()
        .filter_map(|h| h.to_state.map(|s| s.code()))
        .collect();
    assert_eq!(
        steps,
        [
            "depose",
            "en_instruction",
            "en_correction",
            "en_instruction",
            "accepte"
        ]
    );
    assert_eq!(
        history[2].body.as_deref(),
        Some("La surface semble erronée.")
    );
    let journal = journal::list(&t.db, &Default::default(), 20)
        .await
        .expect("journal");
    assert_eq!(
        journal
            .iter()
            .filter(|e| e.event.action.starts_with("dossier."))
            .count(),
        5
    );
    assert_eq!(
        journal::verify(&t.db).await.expect("verify"),
        Ok(journal.len())
    );
}

#[tokio::test]
async fn the_tacit_rule_applies_at_the_deadline_without_sleeping() {
    let (t, tenant_id, d, def) = setup().await;
    let x = dossier::create_draft(&t.db, tenant_id, d.id, 1, None, "Dominique")
        .await
        .expect("draft");
    dossier::change(&t.db, &x, &def, &Action::Submit, &usager(1))
        .await
        .expect("submit");
    let x = dossier::get(&t.db, tenant_id, x.id)
        .await
        .expect("q")
        .expect("dossier");
    let due = x.deadline_at.expect("deadline");

    assert!(
        dossier::apply_tacit_decisions(&t.db, due - 1, |_, _| Default::default())
            .await
            .expect("job")
            .is_empty(),
        "not before"
    );
    let decided = dossier::apply_tacit_decisions(&t.db, due, |_, _| Default::default())
        .await
        .expect("job");
    assert_eq!(
        decided.iter().map(|d| d.number.clone()).collect::<Vec<_>>(),
        vec![x.number.clone()]
    );
    let x = dossier::get(&t.db, tenant_id, x.id)
        .await
        .expect("q")
        .expect("dossier");
    assert_eq!(x.state, State::Accepte);
    assert!(x.tacit, "recorded as a tacit decision");
    let journal = journal::list(&t.db, &Default::default(), 5)
        .await
        .expect("journal");
    let entry = journal
        .iter()
        .find(|e| e.event.action == "dossier.accepte")
        .expect("journaled");
    assert!(entry.event.actor.contains("silence vaut accord"));
    assert!(entry.event.details.contains("\"implicite\":true"));
    assert!(
        dossier::apply_tacit_decisions(&t.db, due + 30 * DAY_MS, |_, _| Default::default())
            .await
            .expect("job")
            .is_empty(),
        "once only"
    );
}

#[tokio::test]
async fn two_agents_acting_at_once_cannot_both_decide() {
    let (t, tenant_id, d, def) = setup().await;
    let x = dossier::create_draft(&t.db, tenant_id, d.id, 1, None, "X")
        .await
        .expect("draft");
    dossier::change(&t.db, &x, &def, &Action::Submit, &usager(1))
        .await
        .expect("submit");
    let seen_by_both = dossier::get(&t.db, tenant_id, x.id)
        .await
        .expect("q")
        .expect("dossier");
    dossier::change(
        &t.db,
        &seen_by_both,
        &def,
        &Action::StartInstruction,
        &agent(),
    )
    .await
    .expect("first");
    let second = dossier::change(
        &t.db,
        &seen_by_both,
        &def,
        &Action::Close {
            reason: "doublon".into(),
        },
        &agent(),
    )
    .await;
    assert!(matches!(second, Err(ChangeError::Conflict)), "{second:?}");
    let refused = dossier::change(
        &t.db,
        &seen_by_both,
        &def,
        &Action::Accept {
            conditions: String::new(),
        },
        &agent(),
    )
    .await;
    assert!(
        matches!(refused, Err(ChangeError::Refused(_))),
        "accepting a dossier not in instruction: {refused:?}"
    );
}

#[tokio::test]
async fn editing_a_published_demarche_makes_a_new_version_and_dossiers_keep_theirs() {
    let (t, tenant_id, d, def) = setup().await;
    let x = dossier::create_draft(
        &t.db,
        tenant_id,
        d.id,
        d.published_version.expect("v1"),
        None,
        "X",
    )
    .await
    .expect("draft");
    let mut v2 = def.clone();
    v2.title = "Demande d'autorisation de terrasse ou d'étalage".into();
    assert_eq!(
        demarche::save_draft(&t.db, &d, &v2, |_| Default::default())
            .await
            .expect("draft v2"),
        2
    );
    let d = demarche::get(&t.db, tenant_id, d.id)
        .await
        .expect("q")
        .expect("démarche");
    assert_eq!((d.published_version, d.draft_version), (Some(1), Some(2)));
    assert_eq!(d.title, def.title, "usagers still see the published title");
    demarche::publish(&t.db, &d, Default::default())
        .await
        .expect("publish v2");
    let d = demarche::get(&t.db, tenant_id, d.id)
        .await
        .expect("q")
        .expect("démarche");
    assert_eq!(
        (d.published_version, d.draft_version, d.title.as_str()),
        (Some(2), None, v2.title.as_str())
    );
    let x = dossier::get(&t.db, tenant_id, x.id)
        .await
        .expect("q")
        .expect("dossier");
    assert_eq!(x.version, 1);
    let frozen = demarche::definition(&t.db, tenant_id, d.id, 1)
        .await
        .expect("q")
        .expect("v1");
    assert_eq!(frozen.title, def.title, "version 1 is frozen");
}

#[tokio::test]
async fn the_queue_filters_and_pages_by_keyset() {
    let (t, tenant_id, d, def) = setup().await;
    let mut ids = Vec::new();
    for name in [
        "Élodie Durand",
        "Eric Dupont",
        "Zoé Martin",
        "Marc Petit",
        "Anne Roy",
    ] {
        let x = dossier::create_draft(&t.db, tenant_id, d.id, 1, None, name)
            .await
            .expect("draft");
        dossier::change(&t.db, &x, &def, &Action::Submit, &usager(1))
            .await
            .expect("submit");
        ids.push(x.id);
    }
    let unsubmitted = dossier::create_draft(&t.db, tenant_id, d.id, 1, None, "Brouillon")
        .await
        .expect("draft");
    let all = dossier::queue(&t.db, tenant_id, &Default::default(), 100)
        .await
        .expect("queue");
    assert_eq!(all.len(), 5, "drafts are not in the queue");
    assert!(all.iter().all(|x| x.id != unsubmitted.id));
    let page1 = dossier::queue(&t.db, tenant_id, &Default::default(), 2)
        .await
        .expect("page 1");
    let page2 = dossier::queue(
        &t.db,
        tenant_id,
        &dossier::QueueFilter {
            cursor: page1.last().map(|x| x.id),
            ..Default::default()
        },
        2,
    )
    .await
    .expect("page 2");
    assert_eq!(
        page1.iter().chain(&page2).map(|x| x.id).collect::<Vec<_>>(),
        vec![ids[4], ids[3], ids[2], ids[1]]
    );
    let by_name = dossier::queue(
        &t.db,
        tenant_id,
        &dossier::QueueFilter {
            text: Some("elodie".into()),
            ..Default::default()
        },
        10,
    )
    .await
    .expect("search");
    assert_eq!(by_name.len(), 1, "accent-insensitive name search");
    // Names are found by their beginning, however short (a long prefix is read from the index
    // of names, a short one by walking the queue): the same answers either way.
    for (typed, expected) in [("ÉLO", 1), ("el", 1), ("elodie durand", 1), ("durand", 0)] {
        let found = dossier::queue(
            &t.db,
            tenant_id,
            &dossier::QueueFilter {
                text: Some(typed.into()),
                ..Default::default()
            },
            10,
        )
        .await
        .expect("search");
        assert_eq!(found.len(), expected, "search for {typed:?}");
    }
    let number = all[0].number.clone();
    let by_number = dossier::queue(
        &t.db,
        tenant_id,
        &dossier::QueueFilter {
            text: Some(number.clone()),
            ..Default::default()
        },
        10,
    )
    .await
    .expect("search");
    assert_eq!(by_number.len(), 1);
    let other = collectivite::add(
        &t.db,
        &Target::Insee("71270".into()),
        &Contact::default(),
        false,
    )
    .await
    .expect("Mâcon");
    assert!(
        dossier::queue(&t.db, other.id, &Default::default(), 10)
            .await
            .expect("queue")
            .is_empty(),
        "Mâcon sees none of Dijon's"
    );
}

/// That day at the hour `h`, Paris time, as stored.
fn paris_ms(y: i16, m: i8, d: i8, h: i8) -> i64 {
    crate::support::paris_ms(y, m, d, h, 0)
}

/// Deposit on 1 December (due at the end of 31 December), correction asked on 11 December
/// (20 days left), corrected on 20 December: the dossier's page and the tacit rule now count.
async fn correct_on_the_twentieth(policy: &str) -> (TestDb, dossier::Dossier) {
    let (t, tenant_id, d, _) = setup().await;
    let def = Definition::from_json(&DEFINITION.replace(
        r#""tacit_rule": "accord","#,
        &format!(r#""tacit_rule": "accord", "after_correction": "{policy}","#),
    ))
    .expect("definition");
    let x = dossier::create_draft(&t.db, tenant_id, d.id, 1, None, "Dominique")
        .await
        .expect("draft");
    let steps = [
        (Action::Submit, usager(1), paris_ms(2026, 12, 1, 9)),
        (Action::StartInstruction, agent(), paris_ms(2026, 12, 2, 9)),
        (
            Action::RequestCorrection {
                message: "Le SIRET est celui du siège.".into(),
            },
            agent(),
            paris_ms(2026, 12, 11, 9),
        ),
        (Action::Submit, usager(1), paris_ms(2026, 12, 20, 18)),
    ];
    for (action, by, at) in steps {
        let x = dossier::get(&t.db, tenant_id, x.id)
            .await
            .expect("q")
            .expect("dossier");
        dossier::change_as_of(&t.db, &x, &def, &action, &by, at)
            .await
            .expect("step");
    }
    let x = dossier::get(&t.db, tenant_id, x.id)
        .await
        .expect("q")
        .expect("dossier");
    (t, x)
}

#[tokio::test]
async fn after_a_correction_the_clock_restarts_or_resumes_as_the_demarche_says() {
    use guichet_domain::delai::last_day;
    let (_t, restarted) = correct_on_the_twentieth("recommence").await;
    assert_eq!(restarted.state, State::EnInstruction);
    assert_eq!(
        last_day(restarted.deadline_at.expect("due")),
        jiff::civil::date(2027, 1, 19),
        "thirty days again from 20 December"
    );
    assert_eq!(restarted.suspended_at, None);
    let (_t, resumed) = correct_on_the_twentieth("reprend").await;
    assert_eq!(
        last_day(resumed.deadline_at.expect("due")),
        jiff::civil::date(2027, 1, 9),
        "the 20 days left run from 20 December"
    );
    // A definition that names an unknown policy is refused with its line.
    let errors = Definition::from_json(&DEFINITION.replace(
        r#""tacit_rule": "accord","#,
        r#""tacit_rule": "accord", "after_correction": "suspend","#,
    ))
    .expect_err("unknown policy");
    assert!(errors[0].message.contains("suspend"), "{errors:?}");
}
