//! The e-mails about reports: the link that confirms a report made without an account, the one
//! that confirms following a report, news of a report to its followers, and the alert of a new
//! public report to those who asked for their commune's.

use crate::WebConfig;
use guichet_store::outbox::NewMail;
use guichet_store::signalement::Signalement;

fn mail(s: &Signalement, to: &str, subject: String, body: String) -> NewMail {
    NewMail {
        tenant_id: Some(s.tenant_id),
        recipient: to.to_string(),
        subject,
        body,
    }
}

/// The link that publishes a report made without an account.
pub fn confirm_report(
    config: &WebConfig,
    s: &Signalement,
    to: &str,
    token: &str,
    category: &str,
    commune: &str,
    handler: &str,
) -> NewMail {
    let link = config.link(&format!("/signalements/confirmation/{token}"));
    mail(
        s,
        to,
        format!("Confirmez votre signalement n° {}", s.number),
        format!("Bonjour,\n\nVous avez signalé : {category} à {commune} ({}).\n\nPour le publier et le transmettre à {handler}, ouvrez ce lien :\n\n{link}\n\nSans confirmation, il ne sera ni publié ni traité.", s.address),
    )
}

/// The link that confirms an address wants the news of a report: nothing else is sent to it
/// until then.
pub fn confirm_follow(config: &WebConfig, s: &Signalement, to: &str, token: &str) -> NewMail {
    let link = config.link(&format!("/signalements/suivre/{token}"));
    mail(
        s,
        to,
        format!("Confirmez le suivi du signalement n° {}", s.number),
        format!("Bonjour,\n\nQuelqu'un a demandé que cette adresse reçoive les nouvelles du signalement n° {} ({}).\n\nPour les recevoir, ouvrez ce lien :\n\n{link}\n\nSi vous n'avez rien demandé, ignorez ce message : vous ne recevrez rien d'autre.", s.number, s.address),
    )
}

/// News of a report, to each of its followers.
pub fn news(
    config: &WebConfig,
    s: &Signalement,
    followers: &[String],
    subject: &str,
    text: &str,
) -> Vec<NewMail> {
    let link = config.link(&format!("/signalements/{}", s.number));
    followers
        .iter()
        .map(|to| {
            mail(
                s,
                to,
                format!("Signalement n° {} : {subject}", s.number),
                format!("Bonjour,\n\n{text}\n\nSuivre le signalement :\n{link}"),
            )
        })
        .collect()
}

/// A new public report, to those who asked for their commune's.
pub fn commune_alerts(
    config: &WebConfig,
    s: &Signalement,
    subscribers: &[String],
    category: &str,
) -> Vec<NewMail> {
    let link = config.link(&format!("/signalements/{}", s.number));
    subscribers
        .iter()
        .map(|to| {
            mail(
                s,
                to,
                format!("Nouveau signalement : {category}"),
                format!("Bonjour,\n\nUn nouveau signalement est publié dans votre commune : {category}, {}.\n\n{link}\n\nPour ne plus recevoir ces alertes, retirez-les depuis la liste des signalements de la commune.", s.address),
            )
        })
        .collect()
}
