//! The e-mails of the council: the convocation, sent to each member with their own link (its
//! first opening is the proof of reading).

use crate::WebConfig;
use guichet_store::collectivite::Collectivite;
use guichet_store::conseil::{Assemblee, Elu, Point, Seance};
use guichet_store::outbox::NewMail;

/// The convocation of one member: when, where, the agenda, and the link to the reports.
#[allow(clippy::too_many_arguments)]
pub fn convocation(
    config: &WebConfig,
    c: &Collectivite,
    a: &Assemblee,
    s: &Seance,
    points: &[Point],
    e: &Elu,
    urgence: Option<&str>,
    token: &str,
) -> NewMail {
    let link = config.link(&format!("/convocation/{token}"));
    let agenda: String = points
        .iter()
        .map(|p| format!("{}. {}\n", p.rank, p.title))
        .collect();
    let urgence = urgence
        .map(|m| format!("\nProcédure d'urgence : {m}\n"))
        .unwrap_or_default();
    NewMail {
        tenant_id: Some(c.id),
        recipient: e.email.clone(),
        subject: format!(
            "Convocation : {} du {}",
            a.name,
            crate::format::format_day(s.starts_at)
        ),
        body: format!(
            "Bonjour {name},\n\nVous êtes convoqué·e à la séance du {assemblee} le {quand}, {lieu}.\n{urgence}\nOrdre du jour :\n{agenda}\nLes rapports et la note explicative de synthèse sont sur cette page, qui confirme aussi que vous avez bien reçu la convocation :\n\n{link}\n\nSi vous ne pouvez pas être présent·e, vous pouvez donner procuration écrite à un·e collègue (un membre ne porte qu'une procuration).",
            name = e.name,
            assemblee = a.name,
            quand = crate::format::format_ms(s.starts_at),
            lieu = s.place,
        ),
    }
}
