//! Accounts, login, second factor and sessions, as people use them through the web.

use crate::personas::{self, PASSWORD};
use crate::support::{field_value, Browser, SmtpSink, TestServer};
use guichet_domain::role::Role;
use guichet_store::compte;

fn now_s() -> u64 {
    (guichet_store::now_ms() / 1000) as u64
}

async fn login(b: &Browser, email: &str, password: &str) -> crate::support::Page {
    b.post(
        "/connexion",
        &[("email", email), ("mot_de_passe", password)],
    )
    .await
}

#[tokio::test]
async fn sign_up_confirm_by_email_then_log_in() {
    let smtp = SmtpSink::start().await;
    let s = TestServer::with_smtp(&smtp).await;
    let b = s.browser();

    let page = b.get("/inscription").await;
    assert_eq!(page.status, 200);
    assert!(page.html.contains("<label for=\"mot_de_passe\">"));

    let page = b
        .post(
            "/inscription",
            &[
                ("nom", "Camille Martin"),
                ("email", "Camille.Martin@Exemple.fr"),
                ("mot_de_passe", PASSWORD),
            ],
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.html);
    assert!(page.html.contains("camille.martin@exemple.fr"));

    // Not confirmed yet: login is refused and the link is sent again.
    let refused = login(&b, "camille.martin@exemple.fr", PASSWORD).await;
    assert_eq!(refused.status, 403);
    assert!(refused.html.contains("pas encore confirmée"));

    let mail = smtp
        .wait_for("camille.martin@exemple.fr", "Confirmez votre adresse")
        .await;
    let link = mail.link();
    assert!(link.starts_with(&s.base), "link to this server: {link}");
    let confirmed = b.get(&link).await;
    assert_eq!(confirmed.status, 200);
    assert!(confirmed.html.contains("Adresse confirmée"));
    assert_eq!(
        b.get(&link).await.status,
        404,
        "a confirmation link works once"
    );

    let ok = login(&b, "camille.martin@exemple.fr", PASSWORD).await;
    assert_eq!((ok.status, ok.location.as_deref()), (303, Some("/compte")));
    let account = b.get("/compte").await;
    assert_eq!(account.status, 200);
    assert!(account.html.contains("Camille Martin"));
}

#[tokio::test]
async fn sign_up_refuses_weak_passwords_and_keeps_what_was_typed() {
    let s = TestServer::start().await;
    let b = s.browser();
    for (password, message) in [
        ("court", "au moins 12 caractères"),
        ("azertyuiop2024", "plus courants"),
    ] {
        let page = b
            .post(
                "/inscription",
                &[
                    ("nom", "Léa"),
                    ("email", "lea@exemple.fr"),
                    ("mot_de_passe", password),
                ],
            )
            .await;
        assert_eq!(page.status, 422);
        assert!(page.html.contains(message), "{password}: {}", page.html);
        assert!(
            page.html
                .contains("aria-describedby=\"mot_de_passe-aide mot_de_passe-erreur\""),
            "error tied to its field"
        );
        assert!(
            page.html.contains("href=\"#mot_de_passe\""),
            "summary links to the field"
        );
        assert_eq!(
            field_value(&page.html, "email").as_deref(),
            Some("lea@exemple.fr"),
            "typed e-mail kept"
        );
    }
    assert!(
        compte::by_email(s.db(), "lea@exemple.fr")
            .await
            .expect("lookup")
            .is_none(),
        "nothing written"
    );
}

#[tokio::test]
async fn wrong_passwords_are_throttled_with_a_clear_message() {
    let s = TestServer::start().await;
    let u = personas::usager(&s).await;
    let b = s.browser();
    for _ in 0..4 {
        let page = login(&b, &u.email, "mauvais mot de passe 1").await;
        assert_eq!(page.status, 401);
        assert!(page
            .html
            .contains("Adresse électronique ou mot de passe incorrect"));
    }
    // From this connection, even the right password now waits.
    let held = login(&b, &u.email, PASSWORD).await;
    assert_eq!(held.status, 429);
    assert!(
        held.html
            .contains("Trop de tentatives depuis votre connexion"),
        "{}",
        held.html
    );
    assert!(held.html.contains("secondes"), "{}", held.html);
    let journal = guichet_store::journal::list(s.db(), &Default::default(), 20)
        .await
        .expect("journal");
    assert_eq!(
        journal
            .iter()
            .filter(|e| e.event.action == "connexion.echec")
            .count(),
        4
    );
    assert!(journal
        .iter()
        .any(|e| e.event.action == "connexion.bloquee"));
}

#[tokio::test]
async fn an_invited_agent_enrols_totp_before_any_back_office_page_then_logs_in_with_it() {
    let smtp = SmtpSink::start().await;
    let s = TestServer::with_smtp(&smtp).await;
    let t = personas::collectivites(&s).await;
    let admin = personas::agent(&s, "admin@dijon.fr", &t.dijon, Role::Admin).await;

    let sent = admin
        .browser
        .post(
            "/admin/dijon/equipe/invitations",
            &[("email", "instructeur@dijon.fr"), ("roles", "instructeur")],
        )
        .await;
    assert_eq!(sent.status, 200, "{}", sent.html);
    assert!(sent.html.contains("Invitation envoyée"));
    let mail = smtp.wait_for("instructeur@dijon.fr", "Invitation").await;

    let agent = s.browser();
    let form = agent.get(&mail.link()).await;
    assert_eq!(form.status, 200);
    assert!(form.html.contains("Instructeur"));
    let path = mail.link().replacen(&s.base, "", 1);
    let accepted = agent
        .post(
            &path,
            &[("nom", "Ines Tructeur"), ("mot_de_passe", PASSWORD)],
        )
        .await;
    assert_eq!(accepted.location.as_deref(), Some("/compte/securite"));

    // No back-office page before the second factor.
    let blocked = agent.get("/admin/dijon").await;
    assert_eq!(
        (blocked.status, blocked.location.as_deref()),
        (303, Some("/compte/securite"))
    );

    let enrol = agent.get("/compte/securite").await;
    assert!(enrol.html.contains("<svg"), "QR code shown");
    let secret = enrol
        .html
        .split("<code class=\"secret\">")
        .nth(1)
        .and_then(|r| r.split('<').next())
        .expect("secret shown")
        .to_string();
    let wrong = agent.post("/compte/securite", &[("code", "000000")]).await;
    assert_eq!(wrong.status, 422);
    let code = compte::totp_code(&secret, now_s()).expect("code");
    let done = agent.post("/compte/securite", &[("code", &code)]).await;
    assert_eq!(done.status, 200, "{}", done.html);
    assert!(done.html.contains("codes de secours"));
    let recovery = done
        .html
        .split("<li><code>")
        .nth(1)
        .and_then(|r| r.split('<').next())
        .expect("recovery code")
        .to_string();
    assert_eq!(agent.get("/admin/dijon").await.status, 200);

    // Next login: password, then the code (a new one: the used step cannot be replayed).
    agent.post("/deconnexion", &[]).await;
    let step1 = login(&agent, "instructeur@dijon.fr", PASSWORD).await;
    assert_eq!(step1.location.as_deref(), Some("/connexion/second-facteur"));
    let pending = agent.get("/admin/dijon").await;
    assert!(
        pending
            .location
            .as_deref()
            .is_some_and(|l| l.starts_with("/connexion/second-facteur")),
        "password alone is not enough"
    );
    let replay = agent
        .post("/connexion/second-facteur", &[("code", &code)])
        .await;
    assert_eq!(replay.status, 401, "a used code is refused");
    let next = compte::totp_code(&secret, now_s() + 30).expect("code");
    let ok = agent
        .post("/connexion/second-facteur", &[("code", &next)])
        .await;
    assert_eq!(ok.location.as_deref(), Some("/admin"));
    assert_eq!(agent.get("/admin/dijon").await.status, 200);

    // A recovery code works once.
    agent.post("/deconnexion", &[]).await;
    login(&agent, "instructeur@dijon.fr", PASSWORD).await;
    assert_eq!(
        agent
            .post("/connexion/second-facteur", &[("code", &recovery)])
            .await
            .location
            .as_deref(),
        Some("/admin")
    );
    agent.post("/deconnexion", &[]).await;
    login(&agent, "instructeur@dijon.fr", PASSWORD).await;
    assert_eq!(
        agent
            .post("/connexion/second-facteur", &[("code", &recovery)])
            .await
            .status,
        401
    );
}

#[tokio::test]
async fn the_session_changes_at_login_and_at_the_second_factor() {
    let s = TestServer::start().await;
    let t = personas::collectivites(&s).await;
    let agent = personas::agent(&s, "agent@dijon.fr", &t.dijon, Role::Instructeur).await;
    let secret = agent.totp_secret.clone().expect("secret");

    let b = s.browser();
    b.get("/").await;
    login(&b, &agent.email, PASSWORD).await;
    let after_password = b.cookie("guichet_session").expect("session after login");
    let code = compte::totp_code(&secret, now_s()).expect("code");
    b.post("/connexion/second-facteur", &[("code", &code)])
        .await;
    let after_mfa = b
        .cookie("guichet_session")
        .expect("session after second factor");
    assert_ne!(after_password, after_mfa, "rotated at privilege change");

    // The pre-rotation cookie no longer opens anything.
    let stale = s.browser();
    stale.set_cookie("guichet_session", &after_password);
    let page = stale.get("/compte").await;
    assert_eq!(page.status, 303);
    assert!(page
        .location
        .as_deref()
        .is_some_and(|l| l.starts_with("/connexion")));

    // A session id planted before login is not kept.
    let planted = s.browser();
    planted.set_cookie("guichet_session", "planted-value-0123456789");
    login(&planted, &agent.email, PASSWORD).await;
    assert_ne!(
        planted.cookie("guichet_session").as_deref(),
        Some("planted-value-0123456789")
    );
}

#[tokio::test]
async fn log_out_everywhere_closes_every_session() {
    let s = TestServer::start().await;
    let u = personas::usager(&s).await;
    let laptop = s.browser();
    assert_eq!(login(&laptop, &u.email, PASSWORD).await.status, 303);
    assert_eq!(laptop.get("/compte").await.status, 200);

    let sessions = u.browser.get("/compte/sessions").await;
    assert_eq!(sessions.status, 200);
    assert_eq!(
        sessions.html.matches("<tr><td>").count(),
        2,
        "both devices listed"
    );
    let done = u.browser.post("/compte/sessions/fermer-tout", &[]).await;
    assert!(done.html.contains("déconnecté de partout"), "{}", done.html);

    assert_eq!(
        laptop.get("/compte").await.status,
        303,
        "the other device is logged out"
    );
    assert_eq!(
        u.browser.get("/compte").await.status,
        303,
        "and this one too"
    );
}

#[tokio::test]
async fn a_forgotten_password_is_reset_by_an_emailed_link() {
    let smtp = SmtpSink::start().await;
    let s = TestServer::with_smtp(&smtp).await;
    let u = personas::usager(&s).await;
    let b = s.browser();
    let page = b.post("/mot-de-passe-oublie", &[("email", &u.email)]).await;
    assert!(page.html.contains("Si un compte existe"));
    // The same answer for an unknown address: nothing tells who has an account.
    let unknown = b
        .post("/mot-de-passe-oublie", &[("email", "personne@exemple.fr")])
        .await;
    assert!(unknown.html.contains("Si un compte existe"));

    let mail = smtp.wait_for(&u.email, "nouveau mot de passe").await;
    let path = mail.link().replacen(&s.base, "", 1);
    let weak = b.post(&path, &[("mot_de_passe", "123")]).await;
    assert_eq!(weak.status, 422, "a refused password keeps the link usable");
    let done = b
        .post(
            &path,
            &[("mot_de_passe", "une toute nouvelle phrase secrète")],
        )
        .await;
    assert_eq!(done.status, 200);
    assert!(done.html.contains("mot de passe a été changé"));
    assert_eq!(
        b.post(&path, &[("mot_de_passe", "encore une autre phrase")])
            .await
            .status,
        404,
        "single use"
    );

    assert_eq!(
        u.browser.get("/compte").await.status,
        303,
        "old sessions closed"
    );
    assert_eq!(login(&b, &u.email, PASSWORD).await.status, 401);
    assert_eq!(
        login(&b, &u.email, "une toute nouvelle phrase secrète")
            .await
            .status,
        303
    );
}

#[tokio::test]
async fn forms_without_the_anti_csrf_token_are_refused() {
    let s = TestServer::start().await;
    let u = personas::usager(&s).await;
    let page = u
        .browser
        .post_raw("/compte/sessions/fermer-tout", &[])
        .await;
    assert_eq!(page.status, 403);
    assert!(page.html.contains("Formulaire expiré"));
    let forged = u
        .browser
        .post_raw("/compte/sessions/fermer-tout", &[("_csrf", "00ff")])
        .await;
    assert_eq!(forged.status, 403);
    assert_eq!(
        u.browser.get("/compte").await.status,
        200,
        "nothing happened"
    );
}

#[tokio::test]
async fn an_account_is_deleted_with_its_personal_data() {
    let s = TestServer::start().await;
    let u = personas::usager(&s).await;
    let wrong = u
        .browser
        .post("/compte/suppression", &[("mot_de_passe", "pas le bon")])
        .await;
    assert_eq!(wrong.status, 422);
    let done = u
        .browser
        .post("/compte/suppression", &[("mot_de_passe", PASSWORD)])
        .await;
    assert_eq!(done.status, 200);
    assert!(done.html.contains("Compte supprimé"));
    assert!(compte::by_email(s.db(), &u.email)
        .await
        .expect("lookup")
        .is_none());
    assert_eq!(login(&s.browser(), &u.email, PASSWORD).await.status, 401);
    let journal = guichet_store::journal::list(s.db(), &Default::default(), 10)
        .await
        .expect("journal");
    assert!(
        journal
            .iter()
            .any(|e| e.event.action == "compte.suppression"),
        "the journal keeps the trace"
    );
}

#[tokio::test]
async fn the_operator_sees_the_mails_waiting_and_those_given_up_on_which_go_after_a_month() {
    use guichet_store::outbox;
    // The test plays the mail worker itself.
    let s = TestServer::with(|c| c.worker = false).await;
    let t = crate::personas::collectivites(&s).await;
    let op = crate::personas::operator(&s, &t).await;
    let db = s.db();
    for n in 0..3 {
        outbox::enqueue(
            db,
            None,
            &format!("personne{n}@exemple.fr"),
            "Objet",
            "Texte",
        )
        .await
        .expect("enqueue");
    }
    // The first one sent, the second one given up on after its last attempt, the third waits.
    let now = guichet_store::now_ms();
    let claimed = outbox::claim(db, now, 2, Vec::new()).await.expect("claim");
    assert_eq!(claimed.len(), 2, "the two oldest are claimed");
    let last_attempt = outbox::Mail {
        attempts: outbox::MAX_ATTEMPTS,
        ..claimed[1].clone()
    };
    outbox::mark_failed(db, &last_attempt, "boîte inconnue", now)
        .await
        .expect("give up");
    let none = outbox::claim(db, now, 10, vec![claimed[0].id])
        .await
        .expect("claim");
    assert_eq!(none.len(), 1, "only the third is due: {none:?}");
    assert_eq!(none[0].recipient, "personne2@exemple.fr");

    let page = op.browser.get("/operateur").await;
    assert_eq!(page.status, 200);
    assert!(
        page.html
            .contains("<dt>Courriels en attente</dt><dd>1</dd>"),
        "{}",
        page.html
    );
    assert!(
        page.html.contains("<dt>Courriels en échec</dt><dd>1</dd>"),
        "{}",
        page.html
    );

    // A month after they were queued, the mail sent and the one given up on leave the outbox;
    // the one still waiting stays, however old.
    let month = outbox::KEPT_AFTER_QUEUED_MS;
    assert_eq!(
        outbox::purge_done(db, now - month).await.expect("purge"),
        0,
        "too recent"
    );
    assert_eq!(
        outbox::purge_done(db, now + month + 1_000)
            .await
            .expect("purge"),
        2
    );
    assert_eq!(outbox::backlog(db).await.expect("backlog"), (1, 0));
}
