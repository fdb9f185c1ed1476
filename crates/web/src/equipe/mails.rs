//! The e-mails of a collectivité's team: the invitation that carries its link.

use guichet_domain::role::Role;
use guichet_store::collectivite::Collectivite;
use guichet_store::outbox::NewMail;

/// The e-mail that carries an invitation's link: `base` is the link without its token
/// (`https://…/invitation/`).
pub fn invitation(
    base: &str,
    token: &str,
    collectivite: &Collectivite,
    inviter: Option<&str>,
    roles: &[Role],
    email: &str,
) -> NewMail {
    let labels: Vec<&str> = roles.iter().map(|r| r.label()).collect();
    let intro = format!(
        "{} vous invite à rejoindre l'équipe de {} sur Guichet (rôles : {}).",
        inviter.unwrap_or("L'opérateur de la plateforme"),
        collectivite.name,
        labels.join(", ")
    );
    NewMail {
        tenant_id: Some(collectivite.id),
        recipient: email.to_string(),
        subject: format!("Invitation à rejoindre {} sur Guichet", collectivite.name),
        body: format!(
            "Bonjour,\n\n{intro}\n\nPour accepter, ouvrez ce lien (valable 7 jours) :\n\n{base}{token}\n\nÀ votre première connexion, vous activerez un second facteur d'authentification (une application de codes sur votre téléphone)."
        ),
    }
}
