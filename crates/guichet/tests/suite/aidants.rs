//! Aidants and mandats: the operator registers a structure and its aidant; the aidant records a
//! mandat with the usager present, acts within its domains (allowed) and outside them or after
//! revocation or expiry (refused); the journal names the aidant as actor and the usager as
//! on-behalf-of; the usager sees the mandat and revokes it.

use crate::personas;
use crate::support::{SmtpSink, TestServer};
use guichet_store::compte::Kind;

fn demarche(title: &str, competence: &str) -> String {
    format!(
        r#"{{"title": "{title}", "description": "d", "retention_months": 12, "competence": "{competence}",
            "pages": [{{"title": "Demande", "fields": [{{"id": "motif", "label": "Motif", "type": "short_text", "required": true}}]}}]}}"#
    )
}

#[tokio::test]
async fn an_aidant_acts_within_the_mandat_only_while_it_is_in_force() {
    let smtp = SmtpSink::start().await;
    let s = TestServer::with_smtp(&smtp).await;
    let db = s.db();
    let t = personas::collectivites(&s).await;
    let operator = personas::operator(&s, &t).await;
    let aidant = personas::persona(&s, Kind::Agent, "aidant@france-services.fr", &[]).await;
    let usager = personas::usager(&s).await;
    let mut slugs = Vec::new();
    for (title, competence) in [
        ("Inscription à la cantine", "restauration_scolaire"),
        ("Permis de construire", "urbanisme"),
    ] {
        let def = guichet_domain::demarche::Definition::from_json(&demarche(title, competence))
            .expect("def");
        let d = crate::support::publish(db, t.dijon.id, &def).await;
        slugs.push(d.slug);
    }

    // The operator registers a France Services and its aidant.
    let refused = operator
        .browser
        .post("/operateur/aidants/structures", &[("nom", "x")])
        .await;
    assert_eq!(refused.status, 422);
    let added = operator
        .browser
        .post(
            "/operateur/aidants/structures",
            &[
                ("nom", "France Services de Montbard"),
                ("type", "france_services"),
            ],
        )
        .await;
    assert!(
        added
            .html
            .contains("Structure « France Services de Montbard » enregistrée"),
        "{}",
        added.html
    );
    let structure = guichet_store::mandat::structures(db, None)
        .await
        .expect("s")
        .pop()
        .expect("structure");
    let member = operator
        .browser
        .post(
            "/operateur/aidants/membres",
            &[
                ("structure", &structure.id.to_string()),
                ("nom_aidant", "Alex Aidant"),
                ("email", "aidant@france-services.fr"),
                ("responsable", "oui"),
            ],
        )
        .await;
    assert!(member.html.contains("est aidant de"), "{}", member.html);
    // A usager's account cannot be made an aidant.
    let wrong = operator
        .browser
        .post(
            "/operateur/aidants/membres",
            &[
                ("structure", &structure.id.to_string()),
                ("nom_aidant", "Camille"),
                ("email", &usager.email),
            ],
        )
        .await;
    assert_eq!(wrong.status, 422);
    // Nobody else reaches the aidant's space.
    assert_eq!(usager.browser.get("/aidant").await.status, 403);

    // The mandat, with the usager present: checked before it is recorded.
    let incomplete = aidant
        .browser
        .post(
            "/aidant/mandats",
            &[("email_usager", &usager.email), ("domaines", "famille")],
        )
        .await;
    assert_eq!(incomplete.status, 422);
    assert!(
        incomplete
            .html
            .contains("Indiquez comment la personne donne son accord"),
        "{}",
        incomplete.html
    );
    let id = give_mandat(&aidant, &smtp, &usager.email, "famille", "1m", "ab12").await;
    let location = format!("/aidant/mandats/{id}");
    let mandat = guichet_store::mandat::by_id(db, id)
        .await
        .expect("q")
        .expect("mandat");
    let printable = aidant.browser.get(&location).await;
    assert!(
        printable.html.contains(&mandat.verification_code) && printable.html.contains("Famille")
    );
    smtp.wait_for(&usager.email, "Vous avez confié un mandat")
        .await;
    let checked = s
        .browser()
        .get(&format!(
            "/mandats/verification?code={}",
            mandat.verification_code.to_lowercase()
        ))
        .await;
    assert!(
        checked.html.contains(&format!("Mandat n° {id} : en cours")),
        "{}",
        checked.html
    );
    assert!(
        !checked.html.contains("Camille"),
        "no names on the public check"
    );

    // Acting: a permanent banner; within the domain (school canteen: famille) allowed.
    let act = aidant
        .browser
        .post(&format!("/aidant/mandats/{id}/agir"), &[])
        .await;
    assert_eq!(act.location.as_deref(), Some("/dossiers"));
    let home = aidant.browser.get("/dossiers").await;
    assert!(
        home.html.contains("Vous agissez pour camille"),
        "{}",
        home.html
    );
    let started = aidant
        .browser
        .post(&format!("/demarches/dijon/{}/dossiers", slugs[0]), &[])
        .await;
    let step = started.location.expect("started for the usager");
    let dossier_id: i64 = step
        .trim_start_matches("/dossiers/")
        .split('/')
        .next()
        .and_then(|i| i.parse().ok())
        .expect("id");
    let x = guichet_store::dossier::get_for_usager(db, dossier_id, usager.user_id)
        .await
        .expect("q")
        .expect("the usager's dossier");
    aidant
        .browser
        .post(
            &step,
            &[("motif", "Inscription de Léa"), ("action", "continuer")],
        )
        .await;
    let deposited = aidant
        .browser
        .post(&format!("/dossiers/{dossier_id}/depot"), &[])
        .await;
    assert!(deposited.location.is_some(), "{}", deposited.html);

    // Outside the domains (urbanisme: logement), or the usager's own settings: refused.
    let outside = aidant
        .browser
        .post(&format!("/demarches/dijon/{}/dossiers", slugs[1]), &[])
        .await;
    assert_eq!(outside.status, 403);
    assert!(
        outside
            .html
            .contains("ne fait pas partie des domaines du mandat"),
        "{}",
        outside.html
    );
    let settings = aidant.browser.get("/compte/sessions").await;
    assert_eq!(settings.status, 403);
    assert_eq!(
        aidant.browser.get("/aidant").await.status,
        403,
        "not the aidant's own space while acting"
    );

    // The journal: the aidant acted, on behalf of the usager.
    let journal = guichet_store::journal::list(db, &Default::default(), 200)
        .await
        .expect("journal");
    let deposit = journal
        .iter()
        .find(|e| {
            e.event.object_id.as_deref() == Some(x.number.as_str())
                && e.event.actor == "aidant@france-services.fr"
        })
        .expect("the deposit, by the aidant");
    assert_eq!(
        deposit.event.on_behalf_of.as_deref(),
        Some(usager.email.as_str())
    );
    assert!(journal.iter().any(|e| e.event.action == "mandat.refus"));

    // The usager sees the mandat and what the aidant did, and revokes it: effective at once.
    let mine = usager.browser.get("/compte/mandats").await;
    assert!(mine.html.contains(&format!("Mandat n° {id}")) && mine.html.contains("en cours"));
    let seen = usager.browser.get("/compte/acces").await;
    assert!(
        seen.html
            .contains("aidant@france-services.fr (aidant, pour vous)"),
        "{}",
        seen.html
    );
    let revoked = usager
        .browser
        .post(&format!("/compte/mandats/{id}/revocation"), &[])
        .await;
    assert_eq!(
        revoked.location,
        Some(format!("/compte/mandats?revoque={id}"))
    );
    smtp.wait_for(&usager.email, "Mandat révoqué").await;
    let after = aidant.browser.get(&format!("/dossiers/{dossier_id}")).await;
    assert_eq!(
        after.status, 404,
        "no longer acting: the usager's dossier is not the aidant's"
    );
    assert!(!aidant
        .browser
        .get("/dossiers")
        .await
        .html
        .contains("Vous agissez pour"));
    assert_eq!(
        aidant
            .browser
            .post(&format!("/aidant/mandats/{id}/agir"), &[])
            .await
            .status,
        403
    );

    // An expired mandat stops acting at the next request.
    let second_id = give_mandat(&aidant, &smtp, &usager.email, "famille", "jour", "9Z9Z").await;
    aidant
        .browser
        .post(&format!("/aidant/mandats/{second_id}/agir"), &[])
        .await;
    assert!(aidant
        .browser
        .get("/dossiers")
        .await
        .html
        .contains("Vous agissez pour"));
    sqlx::query("UPDATE mandats SET ends_at = $1 WHERE id = $2")
        .bind(guichet_store::now_ms() - 1000)
        .bind(second_id)
        .execute(db.pool())
        .await
        .expect("expire");
    assert_eq!(
        aidant
            .browser
            .get(&format!("/dossiers/{dossier_id}"))
            .await
            .status,
        404
    );
    assert!(!aidant
        .browser
        .get("/dossiers")
        .await
        .html
        .contains("Vous agissez pour"));

    // The usager is warned once when a mandat in force ends within 30 days.
    let third_id = give_mandat(&aidant, &smtp, &usager.email, "logement", "6m", "7K7K").await;
    let now = guichet_store::now_ms();
    assert_eq!(
        guichet_web::mandat::warn_expiring(&s.state, now)
            .await
            .expect("warn"),
        0,
        "six months away"
    );
    sqlx::query("UPDATE mandats SET ends_at = $1 WHERE id = $2")
        .bind(now + 10 * 86_400_000)
        .bind(third_id)
        .execute(db.pool())
        .await
        .expect("ten days left");
    assert_eq!(
        guichet_web::mandat::warn_expiring(&s.state, now)
            .await
            .expect("warn"),
        1
    );
    assert_eq!(
        guichet_web::mandat::warn_expiring(&s.state, now)
            .await
            .expect("warn"),
        0,
        "once"
    );
    smtp.wait_for(&usager.email, "Votre mandat arrive à échéance")
        .await;
}

/// A mandat given as an aidant and a usager do it: the aidant asks, the usager reads out the
/// code received at the address of their account, the aidant types it. Returns the mandat's id.
pub async fn give_mandat(
    aidant: &crate::personas::Persona,
    smtp: &crate::support::SmtpSink,
    usager_email: &str,
    domaine: &str,
    duree: &str,
    piece_fin: &str,
) -> i64 {
    let seen = smtp.matching(usager_email, "Code pour confier un mandat");
    let asked = aidant
        .browser
        .post(
            "/aidant/mandats",
            &[
                ("email_usager", usager_email),
                ("consentement", "code"),
                ("piece", "passeport"),
                ("piece_fin", piece_fin),
                ("piece_verifiee", "oui"),
                ("domaines", domaine),
                ("duree", duree),
            ],
        )
        .await;
    let request = asked
        .location
        .clone()
        .unwrap_or_else(|| panic!("asked: {}", asked.html));
    let code = consent_code(smtp, usager_email, &seen).await;
    let given = aidant
        .browser
        .post(&format!("{request}/code"), &[("code", code.as_str())])
        .await;
    given
        .location
        .unwrap_or_else(|| panic!("given: {}", given.html))
        .trim_start_matches("/aidant/mandats/")
        .parse()
        .expect("id")
}

/// The consent code mailed to this address that is not one of those `seen` before.
pub async fn consent_code(
    smtp: &crate::support::SmtpSink,
    to: &str,
    seen: &[crate::support::ReceivedMail],
) -> String {
    let mail = smtp
        .wait_for_other(to, "Code pour confier un mandat", seen)
        .await;
    mail.subject.rsplit(' ').next().expect("code").to_string()
}
