//! "Qui a consulté mes données": the journal's accesses to a usager's data, told in plain words
//! and gathered into episodes (an agent who opens a dossier five times in ten minutes did one
//! thing, not five).

use crate::dossier::State;

/// Accesses by the same person to the same thing this close together are one episode.
pub const EPISODE_GAP_MS: i64 = 30 * 60 * 1000;

/// What a journal action means, for the usager whose data it touched.
pub fn describe(action: &str) -> String {
    match action {
        "dossier.consultation" | "profil.consultation" => "a consulté".into(),
        "dossier.fichier.consultation" => "a ouvert une pièce jointe".into(),
        "dossier.fichiers.export" => "a téléchargé toutes les pièces jointes".into(),
        "dossier.message" => "vous a écrit".into(),
        "dossier.attribution" => "a confié le dossier à un agent ou une équipe".into(),
        "dossier.guichet" => "a ouvert le dossier au guichet".into(),
        "dossier.rattachement" => "a rattaché le dossier à votre compte".into(),
        "dossier.anonymisation" => {
            "a effacé les données personnelles (fin de la durée de conservation)".into()
        }
        "profil.modification" => "a modifié".into(),
        "profil.certification" => "a certifié par FranceConnect".into(),
        "document.consultation" => "a ouvert".into(),
        "document.jointure" => "a joint à un dossier".into(),
        a => match a.strip_prefix("dossier.").and_then(State::from_code) {
            Some(state) => format!("a passé le dossier à l'état « {} »", state.label()),
            None => "a eu accès".into(),
        },
    }
}

/// One access as the journal has it, already in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    pub at: i64,
    pub who: String,
    pub collectivite: String,
    pub what: String,
    pub object: String,
}

/// Accesses gathered: from `first` to `last`, `count` times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Episode {
    pub first: i64,
    pub last: i64,
    pub count: usize,
    pub who: String,
    pub collectivite: String,
    pub what: String,
    pub object: String,
}

/// Gathers accesses given most recent first: the same person doing the same thing to the same
/// object, each within `EPISODE_GAP_MS` of the next, is one episode. Most recent first.
pub fn episodes(accesses: &[Access]) -> Vec<Episode> {
    let mut out: Vec<Episode> = Vec::new();
    for a in accesses {
        let same = out.iter_mut().rev().find(|e| {
            e.who == a.who
                && e.collectivite == a.collectivite
                && e.what == a.what
                && e.object == a.object
                && e.first - a.at <= EPISODE_GAP_MS
        });
        match same {
            Some(e) => {
                e.first = e.first.min(a.at);
                e.count += 1;
            }
            None => out.push(Episode {
                first: a.at,
                last: a.at,
                count: 1,
                who: a.who.clone(),
                collectivite: a.collectivite.clone(),
                what: a.what.clone(),
                object: a.object.clone(),
            }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access(at_min: i64, what: &str) -> Access {
        Access {
            at: at_min * 60_000,
            who: "Service urbanisme".into(),
            collectivite: "Dijon".into(),
            what: describe(what),
            object: "dossier 2026-0000001".into(),
        }
    }

    #[test]
    fn no_raw_code_reaches_the_usager() {
        assert_eq!(
            describe("dossier.en_correction"),
            "a passé le dossier à l'état « en attente de correction »"
        );
        assert_eq!(
            describe("dossier.fichiers.export"),
            "a téléchargé toutes les pièces jointes"
        );
        assert!(!describe("quelque.chose").contains('.'));
    }

    #[test]
    fn five_openings_in_ten_minutes_are_one_episode_and_the_next_day_another() {
        let day = 24 * 60;
        let list: Vec<Access> = [day + 10, day + 8, day + 5, day + 2, day, 30]
            .iter()
            .map(|m| access(*m, "dossier.consultation"))
            .collect();
        let e = episodes(&list);
        assert_eq!(e.len(), 2);
        assert_eq!(
            (e[0].count, e[0].first, e[0].last),
            (5, day * 60_000, (day + 10) * 60_000)
        );
        assert_eq!(e[1].count, 1);
    }

    #[test]
    fn different_actions_stay_apart() {
        let list = vec![
            access(3, "dossier.fichier.consultation"),
            access(1, "dossier.consultation"),
        ];
        assert_eq!(episodes(&list).len(), 2);
    }
}
