//! Residents' participation: Dijon consults its residents certified by FranceConnect; each
//! answers once, people from elsewhere and uncertified accounts are turned away, and the results
//! are published at the close with small counts suppressed.

use crate::personas::{self, Persona};
use crate::support::{paris_ms, TestServer};
use guichet_domain::profil::Source;
use guichet_domain::role::Role;
use guichet_store::compte::Kind;
use guichet_store::trace::Trace;
use guichet_store::Clock;

/// A resident of this commune whose account is linked to a FranceConnect identity.
async fn certified(s: &TestServer, email: &str, insee: &str) -> Persona {
    let p = personas::persona(s, Kind::Usager, email, &[]).await;
    sqlx::query("INSERT INTO oidc_identities (provider, subject, user_id, created_at) VALUES ('franceconnect', $1, $2, 0)")
        .bind(format!("fc-{email}"))
        .bind(p.user_id)
        .execute(s.db().pool())
        .await
        .expect("identity");
    guichet_store::profil::save(
        s.db(),
        p.user_id,
        &[("adresse.commune".to_string(), insee.to_string())],
        Source::FranceConnect,
        Trace::default(),
    )
    .await
    .expect("profile");
    p
}

#[tokio::test]
async fn a_consultation_takes_one_answer_per_certified_resident_and_publishes_its_results() {
    let clock = Clock::fixed(paris_ms(2026, 6, 1, 10, 0));
    let c = clock.clone();
    let s = TestServer::with(move |config| config.clock = c).await;
    let t = personas::collectivites(&s).await;
    let admin = personas::agent(&s, "democratie@dijon.fr", &t.dijon, Role::Admin).await;
    let b = &admin.browser;
    let mut form = vec![
        ("titre", "Aménagement de la place du Théâtre"),
        ("description", "Donnez votre avis avant les travaux de 2027."),
        ("questions", "choix : Quel aménagement ? | Fontaine ; Jardin ; Aire de jeux\nvote : Classez vos priorités | Ombre ; Bancs"),
        ("public", "certifies"),
        ("du", "2026-06-01"),
        ("au", "2026-06-14"),
    ];
    let page = b
        .post("/admin/dijon/participation/consultations", &form)
        .await;
    assert_eq!(page.status, 422);
    assert!(
        page.html
            .contains("Ligne 2 : « vote » n&#39;est pas un type de question"),
        "{}",
        page.html
    );
    form[2].1 = "choix : Quel aménagement ? | Fontaine ; Jardin ; Aire de jeux\nclassement : Classez vos priorités | Ombre ; Bancs ; Eau\ntexte : Une suggestion ?";
    let page = b
        .post("/admin/dijon/participation/consultations", &form)
        .await;
    assert_eq!(page.status, 303, "{}", page.html);
    let id = guichet_store::participation::list(s.db(), t.dijon.id)
        .await
        .expect("list")[0]
        .id;
    let path = format!("/participation/dijon/consultations/{id}");

    // Signed out: the page invites to sign in.
    let anon = s.browser().get(&path).await;
    assert_eq!(anon.status, 200);
    assert!(anon.html.contains("Se connecter pour répondre"));
    // An account without FranceConnect is turned away, by the page and by a forged post.
    let plain = personas::usager(&s).await;
    let page = plain.browser.get(&path).await;
    assert!(page.html.contains("connectez-vous avec FranceConnect"));
    let page = plain.browser.post(&path, &[("q0", "0")]).await;
    assert_eq!(page.status, 422);
    // Someone from Mâcon is not a resident of Dijon.
    let macon = certified(&s, "habitant@macon.example", "71270").await;
    let page = macon.browser.post(&path, &[("q0", "0")]).await;
    assert_eq!(page.status, 422);
    assert!(page.html.contains("réservée aux habitants du territoire"));

    // A resident of Dijon answers; a ranking with a rank twice is refused, what was typed stays.
    let camille = certified(&s, "camille.r@exemple.fr", "21231").await;
    let page = camille
        .browser
        .post(
            &path,
            &[
                ("q0", "1"),
                ("q1_0", "1"),
                ("q1_1", "1"),
                ("q1_2", "2"),
                ("q2", "Des bancs à l'ombre"),
            ],
        )
        .await;
    assert_eq!(page.status, 422);
    assert!(page.html.contains("Deux réponses ont le même rang"));
    assert!(page.html.contains("Des bancs à l&#39;ombre"));
    let answer = [
        ("q0", "1"),
        ("q1_0", "2"),
        ("q1_1", "1"),
        ("q1_2", "3"),
        ("q2", "Des bancs à l'ombre"),
    ];
    let page = camille.browser.post(&path, &answer).await;
    assert_eq!(page.status, 303);
    let page = camille.browser.get(&path).await;
    assert!(page.html.contains("Vous avez déjà répondu"));
    assert!(!page.html.contains("Envoyer ma réponse"));
    // Answering again (another tab, the back button) adds nothing.
    let page = camille.browser.post(&path, &answer).await;
    assert_eq!(page.status, 422);
    // Five more residents: four want a fountain, one an aire de jeux.
    for n in 0..5 {
        let r = certified(&s, &format!("habitant{n}@dijon.example"), "21231").await;
        let choice = if n == 4 { "2" } else { "0" };
        let page = r
            .browser
            .post(
                &path,
                &[("q0", choice), ("q1_0", "1"), ("q1_1", "2"), ("q1_2", "3")],
            )
            .await;
        assert_eq!(page.status, 303, "{}", page.html);
    }
    let stored = guichet_store::participation::answers(s.db(), t.dijon.id, id)
        .await
        .expect("answers");
    assert_eq!(stored.len(), 6, "one answer per person");
    // No results before the close.
    let (status, _) = s.get_text(&format!("{path}/resultats.csv")).await;
    assert_eq!(status, 404);

    // Monday 15 June: closed, results published.
    clock.set(paris_ms(2026, 6, 15, 0, 5));
    let page = s.browser().get(&path).await;
    assert!(page.html.contains("6 réponse(s)"));
    assert!(page.html.contains("<td>Fontaine</td><td>moins de 5</td>"));
    let (status, csv) = s.get_text(&format!("{path}/resultats.csv")).await;
    assert_eq!(status, 200);
    // Four for the fountain, one for the garden, one for the playground: none published (1 to 4).
    assert!(
        csv.contains("Quel aménagement ?,choix,Fontaine,,6"),
        "{csv}"
    );
    assert!(csv.contains("Quel aménagement ?,choix,Jardin,,6"), "{csv}");
    assert!(
        csv.contains("Quel aménagement ?,choix,Aire de jeux,,6"),
        "{csv}"
    );
    // Borda points of the ranking: Ombre first five times (2 × 5) and second once (1).
    assert!(
        csv.contains("Classez vos priorités,classement,Ombre,11,6"),
        "{csv}"
    );
    assert!(!csv.contains("ombre\""), "free texts are not published");
    let late = certified(&s, "retard@dijon.example", "21231").await;
    let page = late.browser.post(&path, &[("q0", "0")]).await;
    assert_eq!(page.status, 422);
    assert!(page.html.contains("La consultation est close"));
}
