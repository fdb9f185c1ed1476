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

    // The collectivité's participation page lists it, under a plain title.
    let list = s.browser().get("/participation/dijon").await;
    assert!(
        list.html
            .contains("<title>Participation — Dijon — Guichet</title>"),
        "{}",
        list.html
    );
    assert!(list.html.contains("Aménagement de la place du Théâtre"));
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

#[tokio::test]
async fn a_demand_of_consultation_reaches_its_threshold_with_one_demand_a_year_per_elector() {
    let clock = Clock::fixed(paris_ms(2026, 6, 1, 10, 0));
    let c = clock.clone();
    let s = TestServer::with(move |config| config.clock = c).await;
    let t = personas::collectivites(&s).await;
    let admin = personas::agent(&s, "democratie@dijon.fr", &t.dijon, Role::Admin).await;
    // Dijon declares its electors (a small roll, for the test): a fifth of 11 is 3 signatures.
    let page = admin
        .browser
        .post(
            "/admin/dijon/participation/reglages",
            &[("electeurs", "onze")],
        )
        .await;
    assert_eq!(page.status, 422);
    assert!(page.html.contains("nombre d&#39;électeurs inscrits"));
    let page = admin
        .browser
        .post(
            "/admin/dijon/participation/reglages",
            &[("electeurs", "11"), ("seuil", "2")],
        )
        .await;
    assert_eq!(page.status, 303);

    let alice = certified(&s, "alice@dijon.example", "21231").await;
    let demand = [
        ("demande", "consultation"),
        (
            "titre",
            "Consulter les habitants sur la piétonnisation de la rue de la Liberté",
        ),
        (
            "texte",
            "Nous demandons que les habitants soient consultés avant toute décision.",
        ),
    ];
    // Without FranceConnect, no demand of consultation.
    let plain = personas::usager(&s).await;
    guichet_store::profil::save(
        s.db(),
        plain.user_id,
        &[("adresse.commune".to_string(), "21231".to_string())],
        Source::Declared,
        Trace::default(),
    )
    .await
    .expect("profile");
    let page = plain
        .browser
        .post("/participation/dijon/petitions", &demand)
        .await;
    assert_eq!(page.status, 422);
    assert!(page.html.contains("connectez-vous avec FranceConnect"));
    let page = alice
        .browser
        .post("/participation/dijon/petitions", &demand)
        .await;
    assert_eq!(page.status, 303);
    let first = page.location.expect("location");
    let sign = |path: &str| format!("{path}/signer");

    let bruno = certified(&s, "bruno@dijon.example", "21231").await;
    let chloe = certified(&s, "chloe@dijon.example", "21231").await;
    for p in [&alice, &bruno] {
        assert_eq!(p.browser.post(&sign(&first), &[]).await.status, 303);
    }
    // Twice is once.
    assert_eq!(alice.browser.post(&sign(&first), &[]).await.status, 422);
    let page = s.browser().get(&first).await;
    assert!(
        page.html
            .contains("<strong>2</strong> signature(s) sur les 3 nécessaires"),
        "{}",
        page.html
    );
    assert!(!page.html.contains("Le seuil est atteint"));
    // An uncertified account cannot sign it.
    let page = plain.browser.post(&sign(&first), &[]).await;
    assert_eq!(page.status, 422);
    assert_eq!(chloe.browser.post(&sign(&first), &[]).await.status, 303);
    let page = s.browser().get(&first).await;
    assert!(page.html.contains("Le seuil est atteint"));

    // Another demand of consultation this year: Alice has signed one already.
    let other = [
        ("demande", "consultation"),
        (
            "titre",
            "Consulter les habitants sur les horaires des piscines",
        ),
        (
            "texte",
            "Nous demandons une consultation sur l'ouverture le dimanche.",
        ),
    ];
    let page = chloe
        .browser
        .post("/participation/dijon/petitions", &other)
        .await;
    let second = page.location.expect("location");
    let page = alice.browser.post(&sign(&second), &[]).await;
    assert_eq!(page.status, 422);
    assert!(page
        .html
        .contains("la loi n&#39;en permet qu&#39;une par an"));
    // A simple pétition needs no certified identity.
    let simple = [
        ("demande", "simple"),
        ("titre", "Plus de bancs au parc de la Colombière"),
        (
            "texte",
            "Les personnes âgées manquent de bancs pour se reposer au parc.",
        ),
    ];
    let page = plain
        .browser
        .post("/participation/dijon/petitions", &simple)
        .await;
    let third = page.location.expect("location");
    assert_eq!(plain.browser.post(&sign(&third), &[]).await.status, 303);
    assert_eq!(alice.browser.post(&sign(&third), &[]).await.status, 303);

    // The collectivité answers publicly; the pétition closes.
    let id: i64 = third.rsplit('/').next().expect("id").parse().expect("id");
    let field = format!("reponse-{id}");
    let page = admin
        .browser
        .post(
            &format!("/admin/dijon/participation/petitions/{id}/reponse"),
            &[(&field, "Six bancs seront posés au printemps.")],
        )
        .await;
    assert_eq!(page.status, 303);
    let page = s.browser().get(&third).await;
    assert!(page.html.contains("Six bancs seront posés au printemps."));
    let page = bruno.browser.post(&sign(&third), &[]).await;
    assert_eq!(page.status, 422);
    assert!(page.html.contains("La pétition est close"));

    // Next year, Alice may sign another demand of consultation.
    clock.set(paris_ms(2027, 1, 5, 10, 0));
    assert_eq!(alice.browser.post(&sign(&second), &[]).await.status, 303);
}

#[tokio::test]
async fn a_participatory_budget_from_proposals_to_winners_and_their_follow_up() {
    let clock = Clock::fixed(paris_ms(2026, 3, 1, 10, 0));
    let c = clock.clone();
    let s = TestServer::with(move |config| config.clock = c).await;
    let t = personas::collectivites(&s).await;
    let admin = personas::agent(&s, "democratie@dijon.fr", &t.dijon, Role::Admin).await;
    let mut campaign = vec![
        ("budget_titre", "Budget participatif 2026"),
        ("montant", "100 000"),
        ("propositions_fin", "2026-03-31"),
        ("vote_debut", "2026-03-20"),
        ("vote_fin", "2026-04-30"),
    ];
    let page = admin
        .browser
        .post("/admin/dijon/participation/budgets", &campaign)
        .await;
    assert_eq!(page.status, 422);
    assert!(page
        .html
        .contains("Le vote commence après le dépôt des projets"));
    campaign[3].1 = "2026-04-10";
    assert_eq!(
        admin
            .browser
            .post("/admin/dijon/participation/budgets", &campaign)
            .await
            .status,
        303
    );
    let id = guichet_store::participation::budgets(s.db(), t.dijon.id)
        .await
        .expect("budgets")[0]
        .id;
    let path = format!("/participation/dijon/budgets/{id}");

    // Residents propose; someone from Mâcon cannot.
    let residents = [
        certified(&s, "r1@dijon.example", "21231").await,
        certified(&s, "r2@dijon.example", "21231").await,
        certified(&s, "r3@dijon.example", "21231").await,
        certified(&s, "r4@dijon.example", "21231").await,
        certified(&s, "r5@dijon.example", "21231").await,
    ];
    let outsider = certified(&s, "voisin@macon.example", "71270").await;
    let projects = [
        (
            "Un jardin partagé",
            "Un jardin partagé pour les familles du quartier des Grésilles.",
            "Parc des Grésilles",
        ),
        (
            "Des bancs au lac Kir",
            "Des bancs et des tables de pique-nique tout autour du lac Kir.",
            "Lac Kir",
        ),
        (
            "Une boîte à livres",
            "Une boîte à livres en bois devant la médiathèque du centre.",
            "Place de la Libération",
        ),
        (
            "Un téléphérique",
            "Un téléphérique entre la gare et le quartier de Fontaine-d'Ouche.",
            "Gare de Dijon",
        ),
    ];
    let propose = format!("{path}/projets");
    let page = outsider
        .browser
        .post(
            &propose,
            &[
                ("titre", "Projet"),
                ("description", "Une description assez longue."),
                ("lieu", "Mâcon"),
            ],
        )
        .await;
    assert_eq!(page.status, 422);
    assert!(page.html.contains("réservée aux habitants du territoire"));
    let page = residents[0]
        .browser
        .post(
            &propose,
            &[
                ("titre", "Court"),
                ("description", "Trop court"),
                ("lieu", ""),
            ],
        )
        .await;
    assert_eq!(page.status, 422);
    assert!(page.html.contains("Décrivez le projet") && page.html.contains("Indiquez où"));
    for (r, (title, description, place)) in residents.iter().zip(projects) {
        let page = r
            .browser
            .post(
                &propose,
                &[
                    ("titre", title),
                    ("description", description),
                    ("lieu", place),
                ],
            )
            .await;
        assert_eq!(page.status, 303, "{}", page.html);
    }

    // The study: costs, or why not; no more proposals.
    clock.set(paris_ms(2026, 4, 2, 10, 0));
    let page = residents[4]
        .browser
        .post(
            &propose,
            &[
                ("titre", "Tard"),
                ("description", "Une description assez longue."),
                ("lieu", "Dijon"),
            ],
        )
        .await;
    assert_eq!(page.status, 422);
    assert!(page.html.contains("Le dépôt des projets est terminé"));
    let ids: Vec<i64> = guichet_store::participation::projets(s.db(), t.dijon.id, id, 0, 10)
        .await
        .expect("projects")
        .iter()
        .map(|p| p.id)
        .collect();
    let (jardin, bancs, livres, telepherique) = (ids[0], ids[1], ids[2], ids[3]);
    let review = |p: i64| format!("/admin/dijon/participation/budgets/{id}/projets/{p}/examen");
    let page = admin.browser.post(&review(telepherique), &[]).await;
    assert_eq!(page.status, 422);
    assert!(page.html.contains("expliquez pourquoi"));
    for (p, cost) in [(jardin, "60 000"), (bancs, "50000"), (livres, "30000")] {
        let field = format!("cout-{p}");
        assert_eq!(
            admin
                .browser
                .post(&review(p), &[(&field, cost)])
                .await
                .status,
            303
        );
    }
    let motif = format!("motif-{telepherique}");
    let page = admin
        .browser
        .post(
            &review(telepherique),
            &[(&motif, "Son coût dépasse de loin le budget.")],
        )
        .await;
    assert_eq!(page.status, 303);

    // The vote: within the budget, once.
    clock.set(paris_ms(2026, 4, 15, 10, 0));
    let vote = format!("{path}/vote");
    let (j, b, l, tl) = (
        jardin.to_string(),
        bancs.to_string(),
        livres.to_string(),
        telepherique.to_string(),
    );
    let page = residents[0]
        .browser
        .post(&vote, &[("projet", &j), ("projet", &b)])
        .await;
    assert_eq!(page.status, 422);
    assert!(page.html.contains("plus que le budget"), "{}", page.html);
    let page = residents[0].browser.post(&vote, &[("projet", &tl)]).await;
    assert_eq!(page.status, 422);
    assert!(page.html.contains("n&#39;est pas soumis au vote"));
    let ballots: [&[&str]; 5] = [&[&j, &l], &[&j, &l], &[&b, &l], &[&b], &[&j]];
    for (r, ballot) in residents.iter().zip(ballots) {
        let fields: Vec<(&str, &str)> = ballot.iter().map(|p| ("projet", *p)).collect();
        assert_eq!(r.browser.post(&vote, &fields).await.status, 303);
    }
    let page = residents[0].browser.post(&vote, &[("projet", &l)]).await;
    assert_eq!(page.status, 422);
    assert!(page.html.contains("Vous avez déjà voté"));

    // The results: the garden and the book box (3 votes each, 90 000 €); the benches (2 votes,
    // 50 000 €) no longer fit.
    clock.set(paris_ms(2026, 5, 1, 10, 0));
    let page = s.browser().get(&path).await;
    assert!(page.html.contains("Un jardin partagé</strong> <span class=\"meta\">Parc des Grésilles · 60\u{202f}000 € · 3 voix</span>\n<br>Lauréat"), "{}", page.html);
    assert!(page.html.contains("Une boîte à livres</strong> <span class=\"meta\">Place de la Libération · 30\u{202f}000 € · 3 voix</span>\n<br>Lauréat"));
    let bancs_line = page
        .html
        .split("Des bancs au lac Kir</strong>")
        .nth(1)
        .and_then(|rest| rest.split("</li>").next())
        .expect("the benches are listed");
    assert!(bancs_line.contains("50\u{202f}000 € · 2 voix") && !bancs_line.contains("Lauréat"));
    let follow = |p: i64| format!("/admin/dijon/participation/budgets/{id}/projets/{p}/suivi");
    let (field, note) = (format!("avancement-{jardin}"), format!("note-{jardin}"));
    let page = admin
        .browser
        .post(
            &follow(jardin),
            &[
                (&field, "en_travaux"),
                (&note, "Clôture posée, premiers bacs en avril."),
            ],
        )
        .await;
    assert_eq!(page.status, 303);
    let field = format!("avancement-{bancs}");
    let page = admin
        .browser
        .post(&follow(bancs), &[(&field, "en_travaux")])
        .await;
    assert_eq!(page.status, 422, "only a winner is followed up");
    let page = s.browser().get(&path).await;
    assert!(page
        .html
        .contains("Lauréat — En travaux : Clôture posée, premiers bacs en avril."));
}
