//! The council online: assemblies, their sessions (séances), the convocation's legal delay, the
//! quorum, proxies (procurations), the votes and what they decide. Rules of the CGCT:
//! - convocation sent electronically by default (L2121-10), three jours francs before the session
//!   below 3,500 inhabitants (L2121-11), five from 3,500 with an explanatory note (L2121-12); in an
//!   emergency the mayor may shorten it, never below one jour franc, and says why at the opening;
//! - quorum: a majority of the members in office physically present; failing it, the council is
//!   convened again at least three days later and then deliberates without quorum (L2121-17);
//! - a member who cannot attend may give a written proxy to a colleague; nobody holds more than
//!   one (L2121-20); decisions are taken at the absolute majority of the votes cast; on a tie, save
//!   in a secret ballot, the chair's vote prevails (L2121-20);
//! - the list of délibérations is online within a week of the session (L2121-25), the minutes
//!   within a week of their adoption at the next session (L2121-15).
//!
//! An EPCI's council follows the rules of the communes of 3,500 inhabitants and more when it has
//! one (L5211-1): its population decides here. Départements and régions send their reports twelve
//! days before (L3121-19, L4132-18). Time is passed in: instants are Unix milliseconds (UTC),
//! days are counted on the Paris calendar.

use crate::delai::paris_day;
use serde::Serialize;

/// The population from which the stricter municipal rules apply (L2121-12).
pub const SEUIL_HABITANTS: i64 = 3_500;

/// The days between a failed session and the next convocation's session (L2121-17).
pub const INTERVALLE_SECONDE_CONVOCATION: i64 = 3;

/// A deliberative assembly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Organe {
    ConseilMunicipal,
    ConseilCommunautaire,
    ConseilDepartemental,
    ConseilRegional,
    /// A committee (commission): prepares, does not deliberate; no legal delay.
    Commission,
}

impl Organe {
    pub const ALL: [Organe; 5] = [
        Self::ConseilMunicipal,
        Self::ConseilCommunautaire,
        Self::ConseilDepartemental,
        Self::ConseilRegional,
        Self::Commission,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::ConseilMunicipal => "conseil_municipal",
            Self::ConseilCommunautaire => "conseil_communautaire",
            Self::ConseilDepartemental => "conseil_departemental",
            Self::ConseilRegional => "conseil_regional",
            Self::Commission => "commission",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.code() == code)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::ConseilMunicipal => "Conseil municipal",
            Self::ConseilCommunautaire => "Conseil communautaire",
            Self::ConseilDepartemental => "Conseil départemental",
            Self::ConseilRegional => "Conseil régional",
            Self::Commission => "Commission",
        }
    }

    /// Whether it may sit by videoconference (not a municipal council).
    pub fn visioconference(self) -> bool {
        !matches!(self, Self::ConseilMunicipal)
    }

    /// The title of whoever chairs it.
    pub fn presidence(self) -> &'static str {
        match self {
            Self::ConseilMunicipal => "Maire",
            _ => "Président·e",
        }
    }
}

/// A member's function in the assembly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Fonction {
    /// The mayor or the president: chairs, and has the casting vote.
    Presidence,
    /// Adjoint·e or vice-président·e.
    Adjoint,
    Conseiller,
}

impl Fonction {
    pub const ALL: [Fonction; 3] = [Self::Presidence, Self::Adjoint, Self::Conseiller];

    pub fn code(self) -> &'static str {
        match self {
            Self::Presidence => "presidence",
            Self::Adjoint => "adjoint",
            Self::Conseiller => "conseiller",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.code() == code)
    }

    pub fn label(self, organe: Organe) -> &'static str {
        match (self, organe) {
            (Self::Presidence, o) => o.presidence(),
            (Self::Adjoint, Organe::ConseilMunicipal) => "Adjoint·e",
            (Self::Adjoint, _) => "Vice-président·e",
            (Self::Conseiller, _) => "Conseiller·ère",
        }
    }
}

/// What the law asks of a convocation to this assembly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delai {
    /// Jours francs between the day it is sent and the day of the session, at least.
    pub jours_francs: i64,
    /// Whether an explanatory note (note explicative de synthèse) goes with it.
    pub note_requise: bool,
    /// Whether an emergency may shorten the delay (to one jour franc).
    pub urgence_possible: bool,
}

/// The delay a convocation needs, by assembly and population.
pub fn delai(organe: Organe, population: i64) -> Delai {
    let grande = population >= SEUIL_HABITANTS;
    match organe {
        Organe::ConseilMunicipal | Organe::ConseilCommunautaire => Delai {
            jours_francs: if grande { 5 } else { 3 },
            note_requise: grande,
            urgence_possible: true,
        },
        Organe::ConseilDepartemental | Organe::ConseilRegional => Delai {
            jours_francs: 12,
            note_requise: true,
            urgence_possible: false,
        },
        Organe::Commission => Delai {
            jours_francs: 0,
            note_requise: false,
            urgence_possible: false,
        },
    }
}

/// Jours francs between two instants: the whole days strictly between the day of the first and
/// the day of the second, on the Paris calendar (neither the day of sending nor that of the
/// session counts).
pub fn jours_francs(envoi_ms: i64, seance_ms: i64) -> i64 {
    (jours_entre(envoi_ms, seance_ms) - 1).max(0)
}

/// Calendar days between two instants' Paris days.
pub fn jours_entre(from_ms: i64, to_ms: i64) -> i64 {
    paris_day(from_ms)
        .until(paris_day(to_ms))
        .map(|s| s.get_days() as i64)
        .unwrap_or(0)
}

/// Why a convocation cannot be sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefusConvocation {
    #[error("La séance n'a aucun point à l'ordre du jour.")]
    OrdreDuJourVide,
    #[error("La séance est déjà passée.")]
    SeancePassee,
    #[error("La convocation doit partir {requis} jours francs au moins avant la séance ; il n'en reste que {restants}. Choisissez une date plus tardive, ou la procédure d'urgence en la justifiant.")]
    TropTard { requis: i64, restants: i64 },
    #[error("Même en urgence, la convocation doit partir un jour franc au moins avant la séance.")]
    UrgenceTropCourte,
    #[error("Cette assemblée ne peut pas abréger le délai de convocation.")]
    UrgenceImpossible,
    #[error("Expliquez en quoi il y a urgence : le motif est lu à l'ouverture de la séance.")]
    UrgenceSansMotif,
    #[error("Dans une collectivité de 3 500 habitants et plus, une note explicative de synthèse accompagne la convocation : rédigez-la pour chaque point.")]
    NoteManquante,
    #[error("Après un quorum non atteint, la nouvelle séance a lieu trois jours au moins après la précédente.")]
    IntervalleTropCourt,
    #[error("Le conseil n'a aucun membre en exercice à convoquer.")]
    AucunMembre,
}

/// What is known of a session when its convocation is about to be sent.
pub struct Convocation<'a> {
    pub organe: Organe,
    pub population: i64,
    pub envoi_ms: i64,
    pub seance_ms: i64,
    /// The reason of an emergency, when the short procedure is chosen.
    pub urgence: Option<&'a str>,
    pub points: usize,
    /// Whether every point has its explanatory note.
    pub notes_completes: bool,
    pub membres: usize,
    /// The session whose quorum failed, when this one is the second convocation.
    pub apres_carence_ms: Option<i64>,
}

/// Checks a convocation against the law before it is sent.
pub fn verifier_convocation(c: &Convocation) -> Result<(), RefusConvocation> {
    use RefusConvocation as R;
    if c.points == 0 {
        return Err(R::OrdreDuJourVide);
    }
    if c.membres == 0 {
        return Err(R::AucunMembre);
    }
    if c.seance_ms <= c.envoi_ms {
        return Err(R::SeancePassee);
    }
    let d = delai(c.organe, c.population);
    if d.note_requise && !c.notes_completes {
        return Err(R::NoteManquante);
    }
    if let Some(avant) = c.apres_carence_ms {
        if jours_entre(avant, c.seance_ms) < INTERVALLE_SECONDE_CONVOCATION {
            return Err(R::IntervalleTropCourt);
        }
    }
    let restants = jours_francs(c.envoi_ms, c.seance_ms);
    match c.urgence.map(str::trim) {
        None => {
            if restants < d.jours_francs {
                return Err(R::TropTard {
                    requis: d.jours_francs,
                    restants,
                });
            }
        }
        Some(motif) => {
            if !d.urgence_possible {
                return Err(R::UrgenceImpossible);
            }
            if motif.chars().count() < 10 {
                return Err(R::UrgenceSansMotif);
            }
            if restants < 1 {
                return Err(R::UrgenceTropCourte);
            }
        }
    }
    Ok(())
}

/// Whether enough members are present for the assembly to deliberate: a majority of those in
/// office, physically present (proxies do not count), unless this is the second convocation.
pub fn quorum(en_exercice: usize, presents: usize, seconde_convocation: bool) -> bool {
    seconde_convocation || presents * 2 > en_exercice
}

/// The fewest members present for the quorum.
pub fn quorum_requis(en_exercice: usize) -> usize {
    en_exercice / 2 + 1
}

/// Why a proxy cannot be recorded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefusProcuration {
    #[error("Un membre ne peut pas se donner procuration à lui-même.")]
    ASoiMeme,
    #[error("Ce membre a déjà donné procuration.")]
    DejaDonnee,
    #[error("Le mandataire porte déjà une procuration : un membre n'en porte qu'une.")]
    DejaPortee,
    #[error("Ce membre a lui-même donné procuration : il ne peut pas en recevoir.")]
    MandataireAbsent,
    #[error("Un membre présent vote lui-même : il ne donne pas procuration.")]
    MandantPresent,
}

/// One proxy of a session: `mandant` (absent) lets `mandataire` vote for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Procuration {
    pub mandant: i64,
    pub mandataire: i64,
}

/// Checks a new proxy against those of the session and who is present.
pub fn verifier_procuration(
    nouvelle: Procuration,
    existantes: &[Procuration],
    presents: &[i64],
) -> Result<(), RefusProcuration> {
    use RefusProcuration as R;
    if nouvelle.mandant == nouvelle.mandataire {
        return Err(R::ASoiMeme);
    }
    if presents.contains(&nouvelle.mandant) {
        return Err(R::MandantPresent);
    }
    if existantes.iter().any(|p| p.mandant == nouvelle.mandant) {
        return Err(R::DejaDonnee);
    }
    if existantes
        .iter()
        .any(|p| p.mandataire == nouvelle.mandataire)
    {
        return Err(R::DejaPortee);
    }
    if existantes.iter().any(|p| p.mandant == nouvelle.mandataire) {
        return Err(R::MandataireAbsent);
    }
    Ok(())
}

/// A member's vote on an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Choix {
    Pour,
    Contre,
    Abstention,
    /// Ne prend pas part au vote (e.g. an interested member).
    NePrendPasPart,
}

impl Choix {
    pub const ALL: [Choix; 4] = [
        Self::Pour,
        Self::Contre,
        Self::Abstention,
        Self::NePrendPasPart,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::Pour => "pour",
            Self::Contre => "contre",
            Self::Abstention => "abstention",
            Self::NePrendPasPart => "nppv",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.code() == code)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Pour => "Pour",
            Self::Contre => "Contre",
            Self::Abstention => "Abstention",
            Self::NePrendPasPart => "Ne prend pas part au vote",
        }
    }
}

/// The counted votes of an item.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Decompte {
    pub pour: i64,
    pub contre: i64,
    pub abstention: i64,
    pub nppv: i64,
}

impl Decompte {
    pub fn of(choix: impl IntoIterator<Item = Choix>) -> Self {
        let mut d = Self::default();
        for c in choix {
            match c {
                Choix::Pour => d.pour += 1,
                Choix::Contre => d.contre += 1,
                Choix::Abstention => d.abstention += 1,
                Choix::NePrendPasPart => d.nppv += 1,
            }
        }
        d
    }

    /// Votes cast (suffrages exprimés): abstentions and those taking no part are not.
    pub fn exprimes(&self) -> i64 {
        self.pour + self.contre
    }

    /// Members who took part in the vote (present or represented, NPPV left out).
    pub fn votants(&self) -> i64 {
        self.pour + self.contre + self.abstention
    }
}

/// Whether an item is adopted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Issue {
    Adoptee,
    Rejetee,
}

impl Issue {
    pub fn code(self) -> &'static str {
        match self {
            Self::Adoptee => "adoptee",
            Self::Rejetee => "rejetee",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        [Self::Adoptee, Self::Rejetee]
            .into_iter()
            .find(|i| i.code() == code)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Adoptee => "Adoptée",
            Self::Rejetee => "Rejetée",
        }
    }
}

/// The outcome of a vote: the absolute majority of the votes cast; on a tie, save in a secret
/// ballot, the chair's own vote decides. Never typed: always computed from the count.
pub fn resultat(d: &Decompte, voix_presidence: Option<Choix>, scrutin_secret: bool) -> Issue {
    if d.exprimes() > 0 && d.pour * 2 > d.exprimes() {
        return Issue::Adoptee;
    }
    if d.pour > 0 && d.pour == d.contre && !scrutin_secret && voix_presidence == Some(Choix::Pour) {
        return Issue::Adoptee;
    }
    Issue::Rejetee
}

/// The state of a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum EtatSeance {
    /// The agenda is being written.
    Preparation,
    /// Members were convened.
    Convoquee,
    /// The session was opened with its quorum (or on second convocation).
    Ouverte,
    /// Opened without quorum: to be convened again.
    Carence,
    Close,
}

impl EtatSeance {
    pub fn code(self) -> &'static str {
        match self {
            Self::Preparation => "preparation",
            Self::Convoquee => "convoquee",
            Self::Ouverte => "ouverte",
            Self::Carence => "carence",
            Self::Close => "close",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        [
            Self::Preparation,
            Self::Convoquee,
            Self::Ouverte,
            Self::Carence,
            Self::Close,
        ]
        .into_iter()
        .find(|e| e.code() == code)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Preparation => "En préparation",
            Self::Convoquee => "Convoquée",
            Self::Ouverte => "En cours",
            Self::Carence => "Quorum non atteint",
            Self::Close => "Terminée",
        }
    }
}

/// The last day the list of a session's délibérations may go online (a week after it,
/// L2121-25), and the same for the minutes after their adoption (L2121-15).
pub fn publication_au_plus_tard(seance_ms: i64) -> jiff::civil::Date {
    let day = paris_day(seance_ms);
    day.checked_add(jiff::Span::new().days(7)).unwrap_or(day)
}

/// Why the minutes (procès-verbal) of a session cannot be adopted (arrêté) now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RefusProcesVerbal {
    #[error("Le procès-verbal s'arrête au commencement d'une séance suivante de la même assemblée, une fois celle-ci ouverte.")]
    PasLaSeanceSuivante,
    #[error(
        "Le procès-verbal s'arrête au commencement de la séance suivante, avant le premier vote."
    )]
    VoteCommence,
    #[error("Ce procès-verbal n'est pas encore rédigé.")]
    NonRedige,
    #[error("Ce procès-verbal est déjà arrêté.")]
    DejaArrete,
}

/// A session as the minutes' rules see it.
#[derive(Debug, Clone, Copy)]
pub struct SeanceVue {
    pub assemblee: i64,
    pub debut_ms: i64,
    pub etat: EtatSeance,
}

/// The minutes of `precedente`, drafted and not yet adopted, are adopted at the beginning of a
/// later session of the same assembly: once it sits, before its first vote (L2121-15).
pub fn verifier_adoption_pv(
    precedente: SeanceVue,
    redige: bool,
    arrete: bool,
    suivante: SeanceVue,
    votes_commences: bool,
) -> Result<(), RefusProcesVerbal> {
    if arrete {
        return Err(RefusProcesVerbal::DejaArrete);
    }
    if !redige {
        return Err(RefusProcesVerbal::NonRedige);
    }
    if suivante.assemblee != precedente.assemblee
        || suivante.debut_ms <= precedente.debut_ms
        || suivante.etat != EtatSeance::Ouverte
        || !matches!(precedente.etat, EtatSeance::Close | EtatSeance::Carence)
    {
        return Err(RefusProcesVerbal::PasLaSeanceSuivante);
    }
    if votes_commences {
        return Err(RefusProcesVerbal::VoteCommence);
    }
    Ok(())
}

/// An act's internal number as the contrôle de légalité's exchange (@ctes) accepts it: capitals,
/// digits and underscores, fifteen characters at most ("2026-017" → "2026_017").
pub fn numero_interne(numero: &str) -> String {
    numero
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .take(15)
        .collect()
}

/// The levels of an ACTES matter code ("7.5" → ["7", "5"]), as @ctes's CodeMatiere1, 2….
pub fn codes_matiere(matiere: &str) -> Vec<&str> {
    matiere
        .split('.')
        .filter(|x| !x.is_empty())
        .take(5)
        .collect()
}

/// The name @ctes gives a file of a délibération's transmission: its kind of document (99_DE:
/// the act, 99_AI: an annex), the département (three characters), the SIREN, the day, the internal
/// number, and the file's rank in the transmission.
pub fn fichier_actes(
    piece: &str,
    departement: &str,
    siren: &str,
    jour: jiff::civil::Date,
    numero: &str,
    rang: usize,
    extension: &str,
) -> String {
    format!(
        "{piece}-{departement:0>3}-{siren}-{}-{}-DE-1-1_{rang}.{extension}",
        jour.strftime("%Y%m%d"),
        numero_interne(numero)
    )
}

/// The matters of the ACTES nomenclature (second level), the code SCDL's DELIB_MATIERE_CODE
/// takes and the contrôle de légalité sorts acts by.
pub const MATIERES: &[(&str, &str)] = &[
    ("1.1", "Marchés publics"),
    ("1.2", "Délégation de service public"),
    ("1.3", "Conventions de mandat"),
    ("1.4", "Autres types de contrats"),
    ("1.5", "Transactions /protocole d'accord transactionnel"),
    ("1.6", "Maîtrise d'œuvre"),
    ("1.7", "Actes spéciaux et divers"),
    ("2.1", "Documents d'urbanisme"),
    (
        "2.2",
        "Actes relatifs au droit d'occupation ou d'utilisation des sols",
    ),
    ("2.3", "Droit de préemption urbain"),
    ("3.1", "Acquisitions"),
    ("3.2", "Aliénations"),
    ("3.3", "Locations"),
    ("3.4", "Limites territoriales"),
    ("3.5", "Autres actes de gestion du domaine public"),
    ("3.6", "Autres actes de gestion du domaine privé"),
    ("4.1", "Personnel titulaires et stagiaires de la F.P.T."),
    ("4.2", "Personnel contractuel"),
    ("4.3", "Fonction publique hospitalière"),
    ("4.4", "Autres catégories de personnels"),
    ("4.5", "Régime indemnitaire"),
    ("5.1", "Election exécutif"),
    ("5.2", "Fonctionnement des assemblées"),
    ("5.3", "Désignation de représentants"),
    ("5.4", "Délégation de fonctions"),
    ("5.5", "Délégation de signature"),
    ("5.6", "Exercice des mandats locaux"),
    ("5.7", "Intercommunalité"),
    ("5.8", "Décision d'ester en justice"),
    ("6.1", "Police municipale"),
    ("6.4", "Autres actes réglementaires"),
    ("6.5", "Actes pris au nom de l'Etat"),
    ("7.1", "Décisions budgétaires"),
    ("7.2", "Fiscalité"),
    ("7.3", "Emprunts"),
    ("7.4", "Interventions économiques"),
    ("7.5", "Subventions"),
    ("7.6", "Contributions budgétaires"),
    ("7.7", "Avances"),
    ("7.8", "Fonds de concours"),
    ("7.9", "Prise de participation (SEM, etc.)"),
    ("7.10", "Divers"),
    ("8.1", "Enseignement"),
    ("8.2", "Aide sociale"),
    ("8.3", "Voirie"),
    ("8.4", "Aménagement du territoire"),
    ("8.5", "Politique de la ville-habitat-logement"),
    ("8.6", "Emploi-formation professionnelle"),
    ("8.7", "Transports"),
    ("8.8", "Environnement"),
    ("8.9", "Culture"),
    ("9.1", "Autres domaines de compétences des communes"),
    ("9.2", "Autres domaines de compétences des départements"),
    ("9.3", "Autres domaines de compétences des régions"),
    ("9.4", "Voeux et motions"),
];

/// The name of an ACTES matter.
pub fn matiere(code: &str) -> Option<&'static str> {
    MATIERES.iter().find(|(c, _)| *c == code).map(|(_, n)| *n)
}

/// A délibération's number: the year of its session and its rank among the collectivité's
/// délibérations of that year (`2026-017`).
pub fn numero(annee: i16, rang: i64) -> String {
    format!("{annee}-{rang:03}")
}

/// The instant of a session typed as a Paris day ("2026-12-10" or "10/12/2026") and an hour
/// ("18:30" or "18h30").
pub fn horaire(jour: &str, heure: &str) -> Option<i64> {
    crate::delai::paris_instant(jour, heure)
}

/// A SIRET (14 digits, Luhn): the one SCDL's COLL_SIRET asks for. La Poste's establishments are
/// the known exception to the Luhn key.
pub fn siret_valide(siret: &str) -> bool {
    siret.len() == 14
        && siret.bytes().all(|b| b.is_ascii_digit())
        && (crate::siren::luhn_valid(siret) || siret.starts_with("356000000"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Unix ms of a Paris wall-clock time.
    fn paris(y: i16, m: i8, d: i8, h: i8) -> i64 {
        crate::delai::paris()
            .to_timestamp(jiff::civil::date(y, m, d).at(h, 0, 0, 0))
            .expect("instant")
            .as_millisecond()
    }

    #[test]
    fn jours_francs_count_neither_the_day_sent_nor_the_session_day() {
        // Sent on Monday 1st at 23:00, session on Saturday 6th at 9:00: the 2nd to the 5th.
        assert_eq!(jours_francs(paris(2026, 6, 1, 23), paris(2026, 6, 6, 9)), 4);
        assert_eq!(jours_francs(paris(2026, 6, 1, 0), paris(2026, 6, 7, 23)), 5);
        assert_eq!(jours_francs(paris(2026, 6, 1, 8), paris(2026, 6, 2, 8)), 0);
        // Across the change to winter time (25 October 2026).
        assert_eq!(
            jours_francs(paris(2026, 10, 23, 12), paris(2026, 10, 29, 12)),
            5
        );
    }

    fn convocation(envoi: i64, seance: i64, population: i64) -> Convocation<'static> {
        Convocation {
            organe: Organe::ConseilMunicipal,
            population,
            envoi_ms: envoi,
            seance_ms: seance,
            urgence: None,
            points: 2,
            notes_completes: true,
            membres: 9,
            apres_carence_ms: None,
        }
    }

    #[test]
    fn from_3500_inhabitants_five_jours_francs_below_three() {
        let envoi = paris(2026, 6, 1, 10);
        let four = paris(2026, 6, 6, 18);
        let five = paris(2026, 6, 7, 18);
        assert_eq!(
            verifier_convocation(&convocation(envoi, four, 160_000)),
            Err(RefusConvocation::TropTard {
                requis: 5,
                restants: 4
            })
        );
        assert_eq!(
            verifier_convocation(&convocation(envoi, five, 160_000)),
            Ok(())
        );
        let three = paris(2026, 6, 5, 18);
        assert_eq!(
            verifier_convocation(&convocation(envoi, three, 900)),
            Ok(())
        );
        let two = paris(2026, 6, 4, 18);
        assert!(verifier_convocation(&convocation(envoi, two, 900)).is_err());
    }

    #[test]
    fn an_emergency_shortens_to_one_jour_franc_with_a_reason() {
        let envoi = paris(2026, 6, 1, 10);
        let mut c = convocation(envoi, paris(2026, 6, 3, 18), 160_000);
        c.urgence = Some("vite");
        assert_eq!(
            verifier_convocation(&c),
            Err(RefusConvocation::UrgenceSansMotif)
        );
        c.urgence = Some("Subvention d'urgence après la tempête du 30 mai");
        assert_eq!(verifier_convocation(&c), Ok(()));
        c.seance_ms = paris(2026, 6, 2, 18);
        assert_eq!(
            verifier_convocation(&c),
            Err(RefusConvocation::UrgenceTropCourte)
        );
        c.organe = Organe::ConseilRegional;
        assert_eq!(
            verifier_convocation(&c),
            Err(RefusConvocation::UrgenceImpossible)
        );
    }

    #[test]
    fn a_note_goes_with_the_convocation_from_3500_inhabitants() {
        let mut c = convocation(paris(2026, 6, 1, 10), paris(2026, 6, 20, 18), 160_000);
        c.notes_completes = false;
        assert_eq!(
            verifier_convocation(&c),
            Err(RefusConvocation::NoteManquante)
        );
        c.population = 1_200;
        assert_eq!(verifier_convocation(&c), Ok(()));
    }

    #[test]
    fn the_second_convocation_is_three_days_after_the_failed_session() {
        let failed = paris(2026, 6, 10, 18);
        let mut c = convocation(paris(2026, 6, 10, 20), paris(2026, 6, 12, 18), 160_000);
        c.apres_carence_ms = Some(failed);
        c.urgence = Some("Seconde convocation après carence");
        assert_eq!(
            verifier_convocation(&c),
            Err(RefusConvocation::IntervalleTropCourt)
        );
        c.seance_ms = paris(2026, 6, 13, 18);
        assert_eq!(verifier_convocation(&c), Ok(()));
    }

    #[test]
    fn quorum_is_a_majority_of_members_in_office_present() {
        assert!(!quorum(9, 4, false));
        assert!(quorum(9, 5, false));
        assert!(!quorum(10, 5, false));
        assert!(quorum(10, 6, false));
        assert!(quorum(10, 2, true));
        assert_eq!(quorum_requis(10), 6);
        assert_eq!(quorum_requis(9), 5);
    }

    #[test]
    fn one_proxy_per_member() {
        let p = |a, b| Procuration {
            mandant: a,
            mandataire: b,
        };
        let existing = [p(1, 2)];
        assert_eq!(
            verifier_procuration(p(3, 2), &existing, &[2]),
            Err(RefusProcuration::DejaPortee)
        );
        assert_eq!(
            verifier_procuration(p(1, 4), &existing, &[4]),
            Err(RefusProcuration::DejaDonnee)
        );
        assert_eq!(
            verifier_procuration(p(3, 1), &existing, &[]),
            Err(RefusProcuration::MandataireAbsent)
        );
        assert_eq!(
            verifier_procuration(p(3, 3), &existing, &[]),
            Err(RefusProcuration::ASoiMeme)
        );
        assert_eq!(
            verifier_procuration(p(4, 3), &existing, &[4, 3]),
            Err(RefusProcuration::MandantPresent)
        );
        assert_eq!(verifier_procuration(p(3, 4), &existing, &[4]), Ok(()));
    }

    #[test]
    fn absolute_majority_of_votes_cast_and_the_chair_s_casting_vote() {
        let d = Decompte {
            pour: 4,
            contre: 3,
            abstention: 5,
            nppv: 1,
        };
        assert_eq!(resultat(&d, None, false), Issue::Adoptee);
        let tie = Decompte {
            pour: 4,
            contre: 4,
            abstention: 1,
            nppv: 0,
        };
        assert_eq!(resultat(&tie, Some(Choix::Pour), false), Issue::Adoptee);
        assert_eq!(resultat(&tie, Some(Choix::Contre), false), Issue::Rejetee);
        assert_eq!(resultat(&tie, Some(Choix::Pour), true), Issue::Rejetee);
        let none = Decompte {
            pour: 0,
            contre: 0,
            abstention: 6,
            nppv: 0,
        };
        assert_eq!(
            resultat(&none, Some(Choix::Abstention), false),
            Issue::Rejetee
        );
        assert_eq!(
            Decompte::of([
                Choix::Pour,
                Choix::Pour,
                Choix::Contre,
                Choix::NePrendPasPart
            ]),
            Decompte {
                pour: 2,
                contre: 1,
                abstention: 0,
                nppv: 1
            }
        );
    }

    #[test]
    fn a_session_s_time_is_read_in_paris_time() {
        assert_eq!(
            horaire("2026-12-10", "18:30"),
            Some(paris(2026, 12, 10, 18) + 30 * 60_000)
        );
        assert_eq!(horaire("10/07/2026", "9h"), Some(paris(2026, 7, 10, 9)));
        assert_eq!(horaire("2026-12-10", "25:00"), None);
        assert_eq!(horaire("demain", "18:00"), None);
    }

    #[test]
    fn matters_and_numbers() {
        assert_eq!(matiere("7.5"), Some("Subventions"));
        assert_eq!(matiere("7.55"), None);
        assert_eq!(numero(2026, 7), "2026-007");
        assert!(siret_valide("21210231600008"));
        assert!(!siret_valide("21210231600010"));
        assert!(!siret_valide("2121023160001"));
        assert!(!siret_valide("2121023160001A"));
    }

    #[test]
    fn minutes_are_adopted_at_the_beginning_of_the_next_session() {
        let s = |assemblee, jour, etat| SeanceVue {
            assemblee,
            debut_ms: paris(2026, 6, jour, 18),
            etat,
        };
        let done = s(1, 13, EtatSeance::Close);
        let next = s(1, 29, EtatSeance::Ouverte);
        assert_eq!(verifier_adoption_pv(done, true, false, next, false), Ok(()));
        // Not before it sits, nor once votes began, nor in another assembly or an earlier one.
        let refused = Err(RefusProcesVerbal::PasLaSeanceSuivante);
        let convened = s(1, 29, EtatSeance::Convoquee);
        assert_eq!(
            verifier_adoption_pv(done, true, false, convened, false),
            refused
        );
        assert_eq!(
            verifier_adoption_pv(done, true, false, next, true),
            Err(RefusProcesVerbal::VoteCommence)
        );
        let commission = s(2, 29, EtatSeance::Ouverte);
        assert_eq!(
            verifier_adoption_pv(done, true, false, commission, false),
            refused
        );
        let earlier = s(1, 7, EtatSeance::Ouverte);
        assert_eq!(
            verifier_adoption_pv(done, true, false, earlier, false),
            refused
        );
        // A session still running has no minutes to adopt; a failed quorum has its own.
        let running = s(1, 13, EtatSeance::Ouverte);
        assert_eq!(
            verifier_adoption_pv(running, true, false, next, false),
            refused
        );
        let carence = s(1, 7, EtatSeance::Carence);
        assert_eq!(
            verifier_adoption_pv(carence, true, false, next, false),
            Ok(())
        );
        assert_eq!(
            verifier_adoption_pv(done, false, false, next, false),
            Err(RefusProcesVerbal::NonRedige)
        );
        assert_eq!(
            verifier_adoption_pv(done, true, true, next, false),
            Err(RefusProcesVerbal::DejaArrete)
        );
    }

    #[test]
    fn acts_are_named_as_the_legality_exchange_expects() {
        assert_eq!(numero_interne("2026-017"), "2026_017");
        assert_eq!(
            numero_interne("a-very-long-number-indeed"),
            "A_VERY_LONG_NUM"
        );
        assert_eq!(codes_matiere("7.5"), vec!["7", "5"]);
        let day = jiff::civil::date(2026, 6, 13);
        assert_eq!(
            fichier_actes("99_DE", "21", "212102316", day, "2026-001", 1, "pdf"),
            "99_DE-021-212102316-20260613-2026_001-DE-1-1_1.pdf"
        );
    }
}
