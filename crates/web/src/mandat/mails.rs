//! The e-mails of mandats, to the usager: a mandat given (with how to revoke it at once), revoked,
//! ending soon.

use crate::WebConfig;
use guichet_store::mandat::Mandat;
use guichet_store::outbox::NewMail;

fn mail(to: &str, subject: &str, body: String) -> NewMail {
    NewMail {
        tenant_id: None,
        recipient: to.to_string(),
        subject: subject.to_string(),
        body,
    }
}

/// The usager gave a mandat: what it allows, until when, its code, and how to revoke it at once.
pub fn given(
    config: &WebConfig,
    m: &Mandat,
    to: &str,
    aidant: &str,
    structure: &str,
    domains: &str,
    revocation: &str,
) -> NewMail {
    mail(
        to,
        "Vous avez confié un mandat à un aidant",
        format!(
            "Bonjour,\n\nVous avez confié à {aidant} ({structure}) un mandat pour agir en votre nom dans ces domaines : {domains}, jusqu'au {}.\n\nCode de vérification : {}\n\nSi vous n'êtes pas d'accord, révoquez-le tout de suite avec ce lien (sans vous connecter) :\n{}\n\nVous voyez aussi vos mandats, et pouvez les révoquer, dans votre compte : {}\n",
            crate::format::format_ms(m.ends_at),
            m.verification_code,
            config.link(&format!("/mandats/revocation/{revocation}")),
            config.link("/compte/mandats")
        ),
    )
}

/// The code the usager reads out to the aidant to give the mandat.
pub fn consent_code(
    to: &str,
    aidant: &str,
    structure: &str,
    domains: &str,
    length: guichet_domain::mandat::Length,
    code: &str,
) -> NewMail {
    mail(
        to,
        &format!("Code pour confier un mandat : {code}"),
        format!(
            "Bonjour,\n\n{aidant} ({structure}) vous demande un mandat pour agir en votre nom dans ces domaines : {domains}, pour {}.\n\nSi vous êtes à ses côtés et d'accord, donnez-lui ce code : {code}\n\nIl est valable 15 minutes. Si vous n'avez rien demandé, ne le donnez à personne et ignorez ce message : aucun mandat ne sera créé.\n",
            length.label().to_lowercase()
        ),
    )
}

/// A mandat was revoked.
pub fn revoked(m: &Mandat, to: &str, by: &str) -> NewMail {
    mail(
        to,
        "Mandat révoqué",
        format!(
            "Bonjour,\n\nLe mandat n° {} confié à un aidant a été révoqué ({by}). Il ne permet plus d'agir en votre nom.\n",
            m.id
        ),
    )
}

/// A mandat ends soon.
pub fn ending(config: &WebConfig, m: &Mandat, to: &str) -> NewMail {
    mail(
        to,
        "Votre mandat arrive à échéance",
        format!(
            "Bonjour,\n\nLe mandat n° {} que vous avez confié à un aidant prend fin le {}. Pour le prolonger, revoyez votre aidant ; sinon, rien à faire.\n\nVos mandats : {}\n",
            m.id,
            crate::format::format_ms(m.ends_at),
            config.link("/compte/mandats")
        ),
    )
}

/// An aidant's account was opened: the link to choose a password.
pub fn new_aidant(config: &WebConfig, to: &str, structure: &str, token: &str) -> NewMail {
    let link = config.link(&format!("/mot-de-passe/nouveau/{token}"));
    mail(
        to,
        "Votre compte d'aidant sur Guichet",
        format!("Bonjour,\n\nUn compte d'aidant vous a été ouvert pour « {structure} ». Choisissez votre mot de passe avec ce lien (valable une heure ; ensuite, utilisez « Mot de passe oublié ») :\n\n{link}\n\nÀ votre première connexion, vous activerez un second facteur (application d'authentification)."),
    )
}
