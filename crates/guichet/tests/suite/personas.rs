//! The people of the tests: a usager, agents of Dijon and Mâcon with various roles, the operator.

use crate::support::{Browser, TestServer};
use guichet_domain::role::Role;
use guichet_store::collectivite::{self, Collectivite, Contact, Target};
use guichet_store::compte::{self, Kind};
use guichet_store::{equipe, session};

pub const PASSWORD: &str = "cheval agrafe batterie correcte";

pub struct Collectivites {
    pub region: Collectivite,
    pub dijon: Collectivite,
    pub macon: Collectivite,
}

/// The région (operator), Dijon and Mâcon join the platform.
pub async fn collectivites(s: &TestServer) -> Collectivites {
    let db = s.db();
    Collectivites {
        region: collectivite::add(db, &Target::Region("27".into()), &Contact::default(), true)
            .await
            .expect("région"),
        dijon: collectivite::add(
            db,
            &Target::Insee("21231".into()),
            &Contact::default(),
            false,
        )
        .await
        .expect("Dijon"),
        macon: collectivite::add(
            db,
            &Target::Insee("71270".into()),
            &Contact::default(),
            false,
        )
        .await
        .expect("Mâcon"),
    }
}

pub struct Persona {
    pub browser: Browser,
    pub user_id: i64,
    pub email: String,
    pub totp_secret: Option<String>,
}

/// An account with a signed-in browser (session opened as a successful login would).
pub async fn persona(
    s: &TestServer,
    kind: Kind,
    email: &str,
    roles: &[(&Collectivite, Role)],
) -> Persona {
    let db = s.db();
    let user = compte::create(
        db,
        kind,
        email,
        email.split('@').next().unwrap_or("x"),
        Some(PASSWORD),
    )
    .await
    .expect("account");
    compte::mark_email_confirmed(db, user.id)
        .await
        .expect("confirm");
    let mut totp_secret = None;
    if kind == Kind::Agent {
        let secret = compte::new_totp_secret();
        compte::force_totp(db, user.id, &secret)
            .await
            .expect("totp");
        totp_secret = Some(secret);
    }
    for (t, role) in roles {
        equipe::grant(db, t.id, user.id, *role, None)
            .await
            .expect("role");
    }
    let (cookie, _) = session::create(
        db,
        user.id,
        kind == Kind::Agent,
        Some("127.0.0.1"),
        Some("test"),
    )
    .await
    .expect("session");
    let browser = s.browser();
    browser.set_cookie("guichet_session", &cookie);
    Persona {
        browser,
        user_id: user.id,
        email: email.to_string(),
        totp_secret,
    }
}

/// An agent with one role in one collectivité, signed in.
pub async fn agent(s: &TestServer, email: &str, c: &Collectivite, role: Role) -> Persona {
    persona(s, Kind::Agent, email, &[(c, role)]).await
}

/// An agent of Dijon who designs démarches and processes dossiers (admin and instructeur).
pub async fn dijon_instructing_admin(s: &TestServer, t: &Collectivites, email: &str) -> Persona {
    persona(
        s,
        Kind::Agent,
        email,
        &[(&t.dijon, Role::Admin), (&t.dijon, Role::Instructeur)],
    )
    .await
}

pub async fn usager(s: &TestServer) -> Persona {
    persona(s, Kind::Usager, "camille@exemple.fr", &[]).await
}

/// The région's operator.
pub async fn operator(s: &TestServer, t: &Collectivites) -> Persona {
    persona(
        s,
        Kind::Agent,
        "operateur@region.fr",
        &[(&t.region, Role::Operateur)],
    )
    .await
}

pub fn anonymous(s: &TestServer) -> Persona {
    Persona {
        browser: s.browser(),
        user_id: 0,
        email: String::new(),
        totp_secret: None,
    }
}
