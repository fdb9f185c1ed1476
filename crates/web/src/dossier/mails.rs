//! The e-mails of a dossier's life: the accusé de réception, the usager told of a change, of a
//! message, of a tacit decision, of the end of the retention period; the agents told that the
//! usager wrote (without the message: e-mails to agents carry no personal data).

use crate::WebConfig;
use guichet_domain::dossier::State;
use guichet_store::dossier::Dossier;
use guichet_store::outbox::NewMail;

/// A mail to the usager about their dossier, with the link to it.
pub fn to_usager(
    config: &WebConfig,
    x: &Dossier,
    to: &str,
    subject: String,
    text: &str,
) -> NewMail {
    let link = config.link(&format!("/dossiers/{}", x.id));
    NewMail {
        tenant_id: Some(x.tenant_id),
        recipient: to.to_string(),
        subject,
        body: format!("Bonjour,\n\n{text}\n\nVoir votre dossier :\n{link}"),
    }
}

/// The dossier changed state, with the service's message if any.
pub fn state_change(
    config: &WebConfig,
    x: &Dossier,
    to: &str,
    title: &str,
    state: State,
    motif: &str,
) -> NewMail {
    let mut text = format!(
        "Votre dossier n° {} « {title} » est désormais : {}.",
        x.number,
        state.label()
    );
    if !motif.trim().is_empty() {
        text.push_str(&format!("\n\nMessage du service : {}", motif.trim()));
    }
    if state == State::EnCorrection {
        text.push_str("\n\nCorrigez votre dossier puis déposez-le de nouveau.");
    }
    to_usager(
        config,
        x,
        to,
        format!("Dossier n° {} : {}", x.number, state.label()),
        &text,
    )
}

/// The service wrote to the usager.
pub fn message(config: &WebConfig, x: &Dossier, to: &str, text: &str) -> NewMail {
    to_usager(
        config,
        x,
        to,
        format!("Nouveau message sur votre dossier n° {}", x.number),
        &format!("Le service vous a écrit :\n\n{text}"),
    )
}

/// The deadline passed without an explicit decision: the démarche's rule applied.
pub fn tacit(config: &WebConfig, x: &Dossier, to: &str) -> NewMail {
    to_usager(
        config,
        x,
        to,
        format!(
            "Dossier n° {} : {} (décision implicite)",
            x.number,
            x.state.label()
        ),
        &format!(
            "Le délai d'instruction de votre dossier n° {} est écoulé sans décision explicite. Conformément à la règle de cette démarche, votre demande est {} (décision implicite).",
            x.number,
            x.state.label()
        ),
    )
}

/// The dossier's personal data goes on `day`.
pub fn retention(config: &WebConfig, x: &Dossier, to: &str, day: &str) -> NewMail {
    to_usager(
        config,
        x,
        to,
        format!("Dossier n° {} : vos données seront supprimées le {day}", x.number),
        &format!(
            "La durée de conservation de votre dossier n° {} arrive à son terme : le {day}, vos réponses, vos pièces jointes et vos messages seront supprimés. Seules des statistiques anonymes seront gardées. Si vous souhaitez garder une copie, consultez votre dossier avant cette date.",
            x.number
        ),
    )
}

/// The usager wrote: the agents who follow the dossier are told, without the message.
pub fn usager_wrote(
    config: &WebConfig,
    x: &Dossier,
    collectivite_slug: &str,
    agents: &[String],
    length: usize,
) -> Vec<NewMail> {
    let link = config.link(&format!("/admin/{collectivite_slug}/dossiers/{}", x.id));
    agents
        .iter()
        .map(|to| NewMail {
            tenant_id: Some(x.tenant_id),
            recipient: to.clone(),
            subject: format!("Nouveau message de l'usager — dossier n° {}", x.number),
            body: format!(
                "Le demandeur du dossier n° {} a écrit un message ({length} caractères).\n\nLe lire et répondre :\n{link}",
                x.number
            ),
        })
        .collect()
}

/// The link that opens a dossier started without an account; following it confirms the address.
pub fn guest_link(
    tenant_id: i64,
    to: &str,
    title: &str,
    x: &Dossier,
    code: &str,
    link: &str,
) -> NewMail {
    NewMail {
        tenant_id: Some(tenant_id),
        recipient: to.to_string(),
        subject: format!("Votre démarche « {title} »"),
        body: format!(
            "Bonjour,\n\nPour commencer votre démarche « {title} » (dossier n° {}), ouvrez ce lien :\n{link}\n\nIl confirme votre adresse et ouvre votre dossier dans ce navigateur ; gardez ce message pour y revenir. Votre code de suivi : {}.\n\nSi vous n'avez rien demandé, ignorez ce message : rien ne sera déposé.",
            x.number,
            guichet_domain::text::group_code(code)
        ),
    }
}

/// What the accusé de réception says, besides the dossier.
pub struct Accuse<'a> {
    pub to: String,
    pub collectivite: &'a str,
    pub title: &'a str,
    /// ", déposé au guichet" at the counter.
    pub place: &'a str,
    /// How to follow the dossier: the link to it, or the counter's tracking code.
    pub follow: &'a str,
    pub deposited: &'a str,
    pub deadline: &'a str,
    pub rule: &'a str,
    pub appeal: Option<&'a str>,
    pub contact: &'a str,
}

/// The accusé de réception of a deposit.
pub fn accuse(x: &Dossier, a: &Accuse) -> NewMail {
    NewMail {
        tenant_id: Some(x.tenant_id),
        recipient: a.to.clone(),
        subject: format!("Accusé de réception — dossier n° {}", x.number),
        body: format!(
            "Bonjour,\n\n{} a bien reçu votre dossier « {} »{}.\n\nNuméro du dossier : {}\nDéposé le : {}\nDélai : {}\n\n{}{}\n\nService : {}{}",
            a.collectivite, a.title, a.place, x.number, a.deposited, a.deadline, a.rule,
            a.appeal.map(|p| format!("\n\n{p}")).unwrap_or_default(), a.contact, a.follow
        ),
    }
}
