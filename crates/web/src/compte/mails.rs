//! The e-mails about a person's account: the links that prove an address is theirs, and what
//! they must know (someone failing to sign in, a change of address asked).

use crate::WebConfig;
use guichet_store::outbox::NewMail;

fn mail(to: &str, subject: &str, body: String) -> NewMail {
    NewMail {
        tenant_id: None,
        recipient: to.to_string(),
        subject: subject.to_string(),
        body,
    }
}

/// The link that confirms the address of a new account, leading on to where they were going.
pub fn confirmation(config: &WebConfig, to: &str, token: &str, suite: Option<&str>) -> NewMail {
    let back = suite
        .map(|s| format!("?suite={}", crate::auth::urlencode(s)))
        .unwrap_or_default();
    let link = config.link(&format!("/inscription/confirmation/{token}{back}"));
    mail(
        to,
        "Confirmez votre adresse électronique",
        format!("Bonjour,\n\nPour activer votre compte Guichet, ouvrez ce lien (valable 48 heures) :\n\n{link}\n\nSi vous n'avez pas créé de compte, ignorez ce message."),
    )
}

/// Someone fails to sign in to the account (sent once per throttling window): the owner is not
/// locked out, and learns what to do if it was not them.
pub fn failed_sign_ins(config: &WebConfig, to: &str) -> NewMail {
    let reset = config.link("/mot-de-passe-oublie");
    mail(
        to,
        "Tentatives de connexion à votre compte",
        format!("Bonjour,\n\nPlusieurs tentatives de connexion à votre compte Guichet ont échoué. Par sécurité, les nouvelles tentatives depuis cette connexion sont ralenties ; vous pouvez toujours vous connecter depuis la vôtre.\n\nSi c'était vous, rien à faire. Sinon, votre mot de passe a peut-être été deviné ailleurs : changez-le dès maintenant ({reset}) et activez la double authentification dans « Mon compte »."),
    )
}

/// The link to choose a new password.
pub fn reset(config: &WebConfig, to: &str, token: &str) -> NewMail {
    let link = config.link(&format!("/mot-de-passe/nouveau/{token}"));
    mail(
        to,
        "Choisir un nouveau mot de passe",
        format!("Bonjour,\n\nPour choisir un nouveau mot de passe, ouvrez ce lien (valable une heure) :\n\n{link}\n\nSi vous n'avez rien demandé, ignorez ce message : votre mot de passe reste inchangé."),
    )
}

/// The link that gives the account its new address, sent to that address.
pub fn new_address(config: &WebConfig, to: &str, token: &str) -> NewMail {
    let link = config.link(&format!("/compte/courriel/confirmation/{token}"));
    mail(
        to,
        "Confirmez votre nouvelle adresse",
        format!("Bonjour,\n\nPour utiliser cette adresse pour votre compte Guichet, ouvrez ce lien (valable 48 heures) :\n\n{link}"),
    )
}

/// The warning to the current address that a change was asked.
pub fn address_change_asked(to: &str) -> NewMail {
    mail(
        to,
        "Changement d'adresse demandé",
        "Bonjour,\n\nUn changement de l'adresse électronique de votre compte Guichet a été demandé. Si ce n'est pas vous, changez votre mot de passe et fermez vos sessions depuis la page « Mon compte ».".into(),
    )
}
