//! Residents' participation: a collectivité consults its residents (a questionnaire of choices,
//! rankings and free text, over a date range), one answer per person, the results published with
//! small counts suppressed. Pure rules: the questionnaire's text format, who may answer, the
//! counting.

use crate::pilotage::SMALL;
use serde::{Deserialize, Serialize};

/// A question of a consultation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Question {
    pub kind: Genre,
    pub label: String,
    /// The options of a choice or a ranking (none for free text).
    pub options: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Genre {
    /// One option among several.
    Choix,
    /// Every option, in the order the resident prefers.
    Classement,
    /// A free answer.
    Texte,
}

impl Genre {
    pub fn code(self) -> &'static str {
        match self {
            Self::Choix => "choix",
            Self::Classement => "classement",
            Self::Texte => "texte",
        }
    }
}

/// Reads a questionnaire written one question a line, as the agent types it:
/// `choix : Quelle installation ? | Fontaine ; Jardin ; Aire de jeux`,
/// `classement : Classez les priorités | Propreté ; Sécurité`, `texte : Une suggestion ?`.
/// The error names the line.
pub fn questionnaire(text: &str) -> Result<Vec<Question>, String> {
    let mut out = Vec::new();
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let n = n + 1;
        let Some((kind, rest)) = line.split_once(':') else {
            return Err(format!(
                "Ligne {n} : commencez par « choix : », « classement : » ou « texte : »."
            ));
        };
        let kind = match kind.trim().to_lowercase().as_str() {
            "choix" => Genre::Choix,
            "classement" => Genre::Classement,
            "texte" => Genre::Texte,
            other => return Err(format!("Ligne {n} : « {other} » n'est pas un type de question (choix, classement ou texte).")),
        };
        let (label, options) = rest.split_once('|').unwrap_or((rest, ""));
        let label = label.trim().to_string();
        if label.is_empty() {
            return Err(format!("Ligne {n} : écrivez la question."));
        }
        let options: Vec<String> = options
            .split(';')
            .map(|o| o.trim().to_string())
            .filter(|o| !o.is_empty())
            .collect();
        match kind {
            Genre::Texte if !options.is_empty() => {
                return Err(format!(
                    "Ligne {n} : une question « texte » n'a pas de réponses proposées."
                ))
            }
            Genre::Choix | Genre::Classement if options.len() < 2 => {
                return Err(format!(
                    "Ligne {n} : proposez au moins deux réponses après « | », séparées par « ; »."
                ))
            }
            _ => {}
        }
        let mut seen = std::collections::HashSet::new();
        if let Some(twice) = options.iter().find(|o| !seen.insert(o.to_lowercase())) {
            return Err(format!("Ligne {n} : « {twice} » est proposé deux fois."));
        }
        out.push(Question {
            kind,
            label,
            options,
        });
    }
    if out.is_empty() {
        return Err("Écrivez au moins une question.".into());
    }
    if out.len() > 30 {
        return Err("Trente questions au plus.".into());
    }
    Ok(out)
}

/// A resident's answer to one question: the option chosen, the options' order (indexes), or text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reponse {
    Choix(usize),
    Classement(Vec<usize>),
    Texte(String),
    /// Left blank (every question is optional, as in a ballot).
    Aucune,
}

/// Reads the answers of a form: `q{i}` holds a choice's index or a text; `q{i}_{option}` a
/// ranking's position (1 = first). The errors name their field.
pub fn reponses(
    questions: &[Question],
    get: impl Fn(&str) -> String,
) -> Result<Vec<Reponse>, Vec<(String, String)>> {
    let mut errors = Vec::new();
    let mut out = Vec::new();
    for (i, q) in questions.iter().enumerate() {
        let field = format!("q{i}");
        match q.kind {
            Genre::Choix => {
                let v = get(&field);
                if v.is_empty() {
                    out.push(Reponse::Aucune);
                } else {
                    match v.parse::<usize>().ok().filter(|x| *x < q.options.len()) {
                        Some(x) => out.push(Reponse::Choix(x)),
                        None => {
                            errors.push((field, "Choisissez une des réponses proposées.".into()))
                        }
                    }
                }
            }
            Genre::Classement => {
                let ranks: Vec<String> = (0..q.options.len())
                    .map(|o| get(&format!("q{i}_{o}")))
                    .collect();
                if ranks.iter().all(String::is_empty) {
                    out.push(Reponse::Aucune);
                    continue;
                }
                let n = q.options.len();
                let parsed: Option<Vec<usize>> = ranks
                    .iter()
                    .map(|r| r.parse::<usize>().ok().filter(|r| (1..=n).contains(r)))
                    .collect();
                let mut order: Vec<(usize, usize)> = match parsed {
                    Some(p) => p.into_iter().enumerate().map(|(o, r)| (r, o)).collect(),
                    None => {
                        errors.push((
                            format!("q{i}_0"),
                            format!("Donnez à chaque réponse un rang de 1 à {n}."),
                        ));
                        continue;
                    }
                };
                order.sort();
                if order.windows(2).any(|w| w[0].0 == w[1].0) {
                    errors.push((
                        format!("q{i}_0"),
                        "Deux réponses ont le même rang : chaque rang une seule fois.".into(),
                    ));
                    continue;
                }
                out.push(Reponse::Classement(
                    order.into_iter().map(|(_, o)| o).collect(),
                ));
            }
            Genre::Texte => {
                let v = get(&field);
                if v.chars().count() > 2000 {
                    errors.push((field, "2 000 caractères au plus.".into()));
                } else if v.is_empty() {
                    out.push(Reponse::Aucune);
                } else {
                    out.push(Reponse::Texte(v));
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// Who may answer a consultation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Public {
    /// Residents who declare a commune of the territory in their profile.
    Residents,
    /// Residents whose identity is certified by FranceConnect: one person, one answer.
    Certifies,
}

impl Public {
    pub fn code(self) -> &'static str {
        match self {
            Self::Residents => "residents",
            Self::Certifies => "certifies",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        [Self::Residents, Self::Certifies]
            .into_iter()
            .find(|p| p.code() == code)
    }
}

/// Why a person may not answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refus {
    #[error("La consultation n'est pas encore ouverte.")]
    PasOuverte,
    #[error("La consultation est close.")]
    Close,
    #[error(
        "Cette consultation demande une identité certifiée : connectez-vous avec FranceConnect."
    )]
    IdentiteNonCertifiee,
    #[error("Indiquez votre commune dans votre profil : la consultation est réservée aux habitants du territoire.")]
    CommuneInconnue,
    #[error("La consultation est réservée aux habitants du territoire de la collectivité.")]
    HorsTerritoire,
    #[error("Vous avez déjà répondu à cette consultation.")]
    DejaRepondu,
}

/// What is known of the person who wants to answer.
pub struct Participant {
    /// Their FranceConnect identity, when their account is linked to one.
    pub certifie: bool,
    /// Whether the commune of their profile lies in the collectivité's territory (none: no
    /// commune declared).
    pub dans_le_territoire: Option<bool>,
    pub deja_repondu: bool,
}

/// Whether this person may answer now.
pub fn peut_repondre(
    public: Public,
    debut_ms: i64,
    fin_ms: i64,
    now: i64,
    p: &Participant,
) -> Result<(), Refus> {
    if now < debut_ms {
        return Err(Refus::PasOuverte);
    }
    if now >= fin_ms {
        return Err(Refus::Close);
    }
    if public == Public::Certifies && !p.certifie {
        return Err(Refus::IdentiteNonCertifiee);
    }
    match p.dans_le_territoire {
        None => return Err(Refus::CommuneInconnue),
        Some(false) => return Err(Refus::HorsTerritoire),
        Some(true) => {}
    }
    if p.deja_repondu {
        return Err(Refus::DejaRepondu);
    }
    Ok(())
}

/// Whether a commune lies in the territory of a collectivité (the commune itself, or its EPCI,
/// département or région); `parent`: the commune a commune déléguée or an arrondissement is in.
pub struct Lieu<'a> {
    pub insee: &'a str,
    pub parent: Option<&'a str>,
    pub epci: Option<&'a str>,
    pub departement: Option<&'a str>,
    pub region: Option<&'a str>,
}

pub fn dans_le_territoire(kind: crate::territoire::EntityKind, code: &str, l: &Lieu) -> bool {
    use crate::territoire::EntityKind as K;
    match kind {
        K::Commune => l.insee == code || l.parent == Some(code),
        K::Epci => l.epci == Some(code),
        K::Departement => l.departement == Some(code),
        K::Region => l.region == Some(code),
    }
}

/// The results of one question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Resultat {
    pub label: String,
    pub kind: Genre,
    /// Per option: the count (choices: votes; rankings: Borda points), none when suppressed.
    pub options: Vec<(String, Option<i64>)>,
    /// How many answered this question.
    pub repondants: i64,
    /// Free answers (texts are shown to the collectivité only, never published).
    pub textes: i64,
}

/// Counts the answers. A count of 1 to 4 is not published (statistical secrecy), nor a whole
/// question answered by fewer than five people.
pub fn resultats(questions: &[Question], answers: &[Vec<Reponse>]) -> Vec<Resultat> {
    let hide = |n: i64| (n > 0 && n < SMALL).then_some(()).map_or(Some(n), |_| None);
    questions
        .iter()
        .enumerate()
        .map(|(i, q)| {
            let mut counts = vec![0i64; q.options.len()];
            let mut repondants = 0;
            let mut textes = 0;
            for a in answers {
                match a.get(i) {
                    Some(Reponse::Choix(o)) if *o < counts.len() => {
                        counts[*o] += 1;
                        repondants += 1;
                    }
                    Some(Reponse::Classement(order)) => {
                        // Borda: the first of n options gets n - 1 points, the last none.
                        let n = order.len() as i64;
                        for (rank, o) in order.iter().enumerate() {
                            if let Some(c) = counts.get_mut(*o) {
                                *c += n - 1 - rank as i64;
                            }
                        }
                        repondants += 1;
                    }
                    Some(Reponse::Texte(_)) => {
                        textes += 1;
                        repondants += 1;
                    }
                    _ => {}
                }
            }
            let too_few = repondants < SMALL;
            Resultat {
                label: q.label.clone(),
                kind: q.kind,
                options: q
                    .options
                    .iter()
                    .zip(counts)
                    .map(|(o, c)| {
                        let shown = if too_few {
                            None
                        } else if q.kind == Genre::Choix {
                            hide(c)
                        } else {
                            Some(c)
                        };
                        (o.clone(), shown)
                    })
                    .collect(),
                repondants,
                textes,
            }
        })
        .collect()
}

/// What a pétition asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Demande {
    /// Anything within the collectivité's powers: answered publicly from the threshold it set.
    Simple,
    /// That the assembly consider organising a local consultation (L1112-16): a fifth of the
    /// electors of a commune, a tenth elsewhere; certified signatures; one such demand signed
    /// per elector, collectivité and year.
    Consultation,
}

impl Demande {
    pub fn code(self) -> &'static str {
        match self {
            Self::Simple => "simple",
            Self::Consultation => "consultation",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        [Self::Simple, Self::Consultation]
            .into_iter()
            .find(|d| d.code() == code)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Simple => "Pétition",
            Self::Consultation => "Demande de consultation locale",
        }
    }
}

/// The signatures a pétition needs: the collectivité's own threshold for a simple one; for a
/// demand of consultation, a fifth of a commune's registered electors or a tenth of another
/// collectivité's (rounded up). `None` while the collectivité has not declared the figure.
pub fn seuil(
    demande: Demande,
    kind: crate::territoire::EntityKind,
    electeurs: Option<i64>,
    seuil_simple: Option<i64>,
) -> Option<i64> {
    match demande {
        Demande::Simple => seuil_simple.filter(|s| *s > 0),
        Demande::Consultation => {
            let e = electeurs.filter(|e| *e > 0)?;
            let part = if kind == crate::territoire::EntityKind::Commune {
                5
            } else {
                10
            };
            Some((e + part - 1) / part)
        }
    }
}

/// Why a person may not sign.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefusSignature {
    #[error("La pétition est close.")]
    Close,
    #[error("Une demande de consultation se signe avec une identité certifiée : connectez-vous avec FranceConnect.")]
    IdentiteNonCertifiee,
    #[error(
        "Indiquez votre commune dans votre profil : seuls les habitants du territoire signent."
    )]
    CommuneInconnue,
    #[error("Seuls les habitants du territoire de la collectivité signent ses pétitions.")]
    HorsTerritoire,
    #[error("Vous avez déjà signé cette pétition.")]
    DejaSignee,
    #[error("Vous avez déjà signé cette année une demande de consultation adressée à cette collectivité : la loi n'en permet qu'une par an.")]
    UneParAn,
}

pub struct Signataire {
    pub certifie: bool,
    pub dans_le_territoire: Option<bool>,
    pub deja_signee: bool,
    /// Whether they signed another demand of consultation to this collectivité this year.
    pub autre_demande_cette_annee: bool,
}

pub fn peut_signer(demande: Demande, ouverte: bool, s: &Signataire) -> Result<(), RefusSignature> {
    use RefusSignature as R;
    if !ouverte {
        return Err(R::Close);
    }
    if demande == Demande::Consultation && !s.certifie {
        return Err(R::IdentiteNonCertifiee);
    }
    match s.dans_le_territoire {
        None => return Err(R::CommuneInconnue),
        Some(false) => return Err(R::HorsTerritoire),
        Some(true) => {}
    }
    if s.deja_signee {
        return Err(R::DejaSignee);
    }
    if demande == Demande::Consultation && s.autre_demande_cette_annee {
        return Err(R::UneParAn);
    }
    Ok(())
}

/// The phase of a participatory budget campaign, from its dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Phase {
    /// Residents propose projects.
    Propositions,
    /// The collectivité's services study them (feasibility, cost).
    Examen,
    /// Residents vote.
    Vote,
    /// The winners are known and followed up.
    Resultats,
}

impl Phase {
    pub fn label(self) -> &'static str {
        match self {
            Self::Propositions => "Dépôt des projets",
            Self::Examen => "Étude des projets par les services",
            Self::Vote => "Vote",
            Self::Resultats => "Résultats et suivi",
        }
    }
}

/// The phase at `now`: proposals until `vote_ms` minus the study, the vote until `fin_ms`.
pub fn phase(propositions_fin_ms: i64, vote_debut_ms: i64, vote_fin_ms: i64, now: i64) -> Phase {
    if now < propositions_fin_ms {
        Phase::Propositions
    } else if now < vote_debut_ms {
        Phase::Examen
    } else if now < vote_fin_ms {
        Phase::Vote
    } else {
        Phase::Resultats
    }
}

/// A resident's ballot: projects (by id, with their cost in euros) within the budget, each once.
pub fn verifier_bulletin(choisis: &[(i64, i64)], budget: i64) -> Result<(), String> {
    if choisis.is_empty() {
        return Err("Choisissez au moins un projet.".into());
    }
    let mut seen = std::collections::HashSet::new();
    if choisis.iter().any(|(id, _)| !seen.insert(*id)) {
        return Err("Chaque projet ne se choisit qu'une fois.".into());
    }
    let total: i64 = choisis.iter().map(|(_, c)| c).sum();
    if total > budget {
        return Err(format!(
            "Vos projets coûtent {} € au total, plus que le budget de {} € : retirez-en un.",
            euros(total),
            euros(budget)
        ));
    }
    Ok(())
}

/// "1 250 000" with the French thousands separator (a narrow no-break space).
pub fn euros(n: i64) -> String {
    let digits = n.abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('\u{202f}');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

/// The winners: projects by votes (then cheaper first), each taken while the budget allows; a
/// project that does not fit is passed over for the next ones that do.
pub fn laureats(projets: &[(i64, i64, i64)], budget: i64) -> Vec<i64> {
    let mut order: Vec<&(i64, i64, i64)> = projets.iter().collect();
    // (id, cost, votes)
    order.sort_by(|a, b| b.2.cmp(&a.2).then(a.1.cmp(&b.1)).then(a.0.cmp(&b.0)));
    let mut left = budget;
    let mut out = Vec::new();
    for (id, cost, votes) in order {
        if *votes > 0 && *cost <= left {
            left -= cost;
            out.push(*id);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "choix : Quel aménagement pour la place ? | Fontaine ; Jardin ; Aire de jeux\n\nclassement : Classez vos priorités | Propreté ; Sécurité ; Mobilité\ntexte : Une suggestion ?";

    #[test]
    fn a_questionnaire_is_read_line_by_line_and_its_errors_name_the_line() {
        let q = questionnaire(TEXT).expect("questionnaire");
        assert_eq!(q.len(), 3);
        assert_eq!(q[0].kind, Genre::Choix);
        assert_eq!(q[1].options, vec!["Propreté", "Sécurité", "Mobilité"]);
        assert_eq!(q[2].options, Vec::<String>::new());
        assert!(questionnaire("choix : Oui ? | Oui")
            .unwrap_err()
            .contains("Ligne 1"));
        assert!(questionnaire("texte : a\nvote : b | c ; d")
            .unwrap_err()
            .contains("Ligne 2"));
        assert!(questionnaire("choix : x | A ; a")
            .unwrap_err()
            .contains("deux fois"));
        assert!(questionnaire("  ").is_err());
    }

    #[test]
    fn answers_are_read_from_the_form_with_their_errors() {
        let q = questionnaire(TEXT).expect("questionnaire");
        let form = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(f, _)| *f == k)
                    .map(|(_, v)| v.to_string())
                    .unwrap_or_default()
            }
        };
        let ok = reponses(
            &q,
            form(&[
                ("q0", "1"),
                ("q1_0", "3"),
                ("q1_1", "1"),
                ("q1_2", "2"),
                ("q2", "Des bancs"),
            ]),
        );
        assert_eq!(
            ok,
            Ok(vec![
                Reponse::Choix(1),
                Reponse::Classement(vec![1, 2, 0]),
                Reponse::Texte("Des bancs".into())
            ])
        );
        let blank = reponses(&q, form(&[]));
        assert_eq!(
            blank,
            Ok(vec![Reponse::Aucune, Reponse::Aucune, Reponse::Aucune])
        );
        let bad = reponses(
            &q,
            form(&[("q0", "7"), ("q1_0", "1"), ("q1_1", "1"), ("q1_2", "2")]),
        );
        let errors = bad.unwrap_err();
        assert_eq!(errors[0].0, "q0");
        assert_eq!(errors[1].0, "q1_0");
    }

    #[test]
    fn one_answer_per_person_of_the_territory_while_it_is_open() {
        let p = |certifie, dans, deja| Participant {
            certifie,
            dans_le_territoire: dans,
            deja_repondu: deja,
        };
        let ok = p(true, Some(true), false);
        assert_eq!(peut_repondre(Public::Certifies, 10, 20, 15, &ok), Ok(()));
        assert_eq!(
            peut_repondre(Public::Certifies, 10, 20, 5, &ok),
            Err(Refus::PasOuverte)
        );
        assert_eq!(
            peut_repondre(Public::Certifies, 10, 20, 20, &ok),
            Err(Refus::Close)
        );
        assert_eq!(
            peut_repondre(Public::Certifies, 10, 20, 15, &p(false, Some(true), false)),
            Err(Refus::IdentiteNonCertifiee)
        );
        assert_eq!(
            peut_repondre(Public::Residents, 10, 20, 15, &p(false, Some(true), false)),
            Ok(())
        );
        assert_eq!(
            peut_repondre(Public::Residents, 10, 20, 15, &p(false, Some(false), false)),
            Err(Refus::HorsTerritoire)
        );
        assert_eq!(
            peut_repondre(Public::Residents, 10, 20, 15, &p(false, None, false)),
            Err(Refus::CommuneInconnue)
        );
        assert_eq!(
            peut_repondre(Public::Certifies, 10, 20, 15, &p(true, Some(true), true)),
            Err(Refus::DejaRepondu)
        );
    }

    #[test]
    fn results_suppress_small_counts() {
        let q = questionnaire(TEXT).expect("questionnaire");
        let mut answers = Vec::new();
        for i in 0..7 {
            answers.push(vec![
                Reponse::Choix(if i < 6 { 0 } else { 1 }),
                Reponse::Classement(vec![0, 1, 2]),
                if i == 0 {
                    Reponse::Texte("x".into())
                } else {
                    Reponse::Aucune
                },
            ]);
        }
        let r = resultats(&q, &answers);
        assert_eq!(r[0].options[0].1, Some(6));
        assert_eq!(r[0].options[1].1, None, "one vote is not published");
        assert_eq!(r[0].options[2].1, Some(0));
        assert_eq!(r[1].options[0].1, Some(14), "Borda: 2 points × 7");
        assert_eq!(r[1].options[2].1, Some(0));
        assert_eq!(r[2].textes, 1);
        let few = resultats(&q, &answers[..3]);
        assert!(
            few[0].options.iter().all(|o| o.1.is_none()),
            "fewer than five answers"
        );
    }

    #[test]
    fn a_consultation_demand_needs_a_fifth_of_a_commune_s_electors() {
        use crate::territoire::EntityKind as K;
        assert_eq!(
            seuil(Demande::Consultation, K::Commune, Some(101_000), None),
            Some(20_200)
        );
        assert_eq!(
            seuil(Demande::Consultation, K::Commune, Some(11), None),
            Some(3)
        );
        assert_eq!(
            seuil(Demande::Consultation, K::Departement, Some(400_001), None),
            Some(40_001)
        );
        assert_eq!(
            seuil(Demande::Consultation, K::Commune, None, Some(10)),
            None
        );
        assert_eq!(
            seuil(Demande::Simple, K::Commune, Some(100), Some(1_000)),
            Some(1_000)
        );
        assert_eq!(seuil(Demande::Simple, K::Commune, Some(100), None), None);
    }

    #[test]
    fn one_consultation_demand_a_year_with_a_certified_identity() {
        let s = |certifie, autre| Signataire {
            certifie,
            dans_le_territoire: Some(true),
            deja_signee: false,
            autre_demande_cette_annee: autre,
        };
        assert_eq!(
            peut_signer(Demande::Consultation, true, &s(true, false)),
            Ok(())
        );
        assert_eq!(
            peut_signer(Demande::Consultation, true, &s(false, false)),
            Err(RefusSignature::IdentiteNonCertifiee)
        );
        assert_eq!(
            peut_signer(Demande::Consultation, true, &s(true, true)),
            Err(RefusSignature::UneParAn)
        );
        assert_eq!(peut_signer(Demande::Simple, true, &s(false, true)), Ok(()));
        assert_eq!(
            peut_signer(Demande::Simple, false, &s(true, false)),
            Err(RefusSignature::Close)
        );
    }

    #[test]
    fn a_ballot_stays_within_the_budget() {
        assert_eq!(
            verifier_bulletin(&[(1, 400_000), (2, 500_000)], 1_000_000),
            Ok(())
        );
        assert!(verifier_bulletin(&[(1, 600_000), (2, 500_000)], 1_000_000)
            .unwrap_err()
            .contains("1\u{202f}100\u{202f}000 €"));
        assert!(verifier_bulletin(&[(1, 1), (1, 1)], 10).is_err());
        assert!(verifier_bulletin(&[], 10).is_err());
    }

    #[test]
    fn winners_by_votes_while_the_budget_allows() {
        // (id, cost, votes): 1 fits, 2 does not after 1, 3 and 4 fit; 5 has no vote.
        let projets = [
            (1, 600, 50),
            (2, 500, 40),
            (3, 300, 30),
            (4, 100, 30),
            (5, 10, 0),
        ];
        assert_eq!(laureats(&projets, 1_000), vec![1, 4, 3]);
        assert_eq!(laureats(&projets, 0), Vec::<i64>::new());
    }

    #[test]
    fn phases_follow_the_dates() {
        assert_eq!(phase(10, 20, 30, 5), Phase::Propositions);
        assert_eq!(phase(10, 20, 30, 15), Phase::Examen);
        assert_eq!(phase(10, 20, 30, 20), Phase::Vote);
        assert_eq!(phase(10, 20, 30, 30), Phase::Resultats);
    }
}
