//! Signalements: a problem in public space reported by a resident, routed by competence, then
//! processed by the authority with public notes. Pure rules: states and transitions, the road
//! kind that decides the competence, the distance that makes a duplicate.

use crate::competence::Level;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// An anonymous report waiting for its e-mail confirmation (not public yet).
    AConfirmer,
    /// Waiting for a moderator (moderated categories).
    AModerer,
    Nouveau,
    PrisEnCompte,
    EnCours,
    Resolu,
    Rejete,
}

impl State {
    pub const ALL: [State; 7] = [
        Self::AConfirmer,
        Self::AModerer,
        Self::Nouveau,
        Self::PrisEnCompte,
        Self::EnCours,
        Self::Resolu,
        Self::Rejete,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::AConfirmer => "a_confirmer",
            Self::AModerer => "a_moderer",
            Self::Nouveau => "nouveau",
            Self::PrisEnCompte => "pris_en_compte",
            Self::EnCours => "en_cours",
            Self::Resolu => "resolu",
            Self::Rejete => "rejete",
        }
    }

    pub fn from_code(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.code() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::AConfirmer => "en attente de confirmation",
            Self::AModerer => "en attente de modération",
            Self::Nouveau => "nouveau",
            Self::PrisEnCompte => "pris en compte",
            Self::EnCours => "en cours",
            Self::Resolu => "résolu",
            Self::Rejete => "rejeté",
        }
    }

    /// Whether the public sees it.
    pub fn is_public(self) -> bool {
        !matches!(self, Self::AConfirmer | Self::AModerer)
    }

    /// Still to be dealt with: shown as a possible duplicate of a new report.
    pub fn is_open(self) -> bool {
        matches!(self, Self::Nouveau | Self::PrisEnCompte | Self::EnCours)
    }
}

/// Why a report is rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectReason {
    HorsCompetence,
    Doublon,
    NonFonde,
}

impl RejectReason {
    pub const ALL: [RejectReason; 3] = [Self::HorsCompetence, Self::Doublon, Self::NonFonde];

    pub fn code(self) -> &'static str {
        match self {
            Self::HorsCompetence => "hors_competence",
            Self::Doublon => "doublon",
            Self::NonFonde => "non_fonde",
        }
    }

    pub fn from_code(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.code() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::HorsCompetence => "hors compétence",
            Self::Doublon => "doublon",
            Self::NonFonde => "non fondé",
        }
    }
}

/// Whether an agent may move a report from one state to another.
pub fn can_move(from: State, to: State) -> bool {
    use State::*;
    matches!(
        (from, to),
        (AModerer, Nouveau)
            | (AModerer, Rejete)
            | (Nouveau, PrisEnCompte)
            | (Nouveau, EnCours)
            | (Nouveau, Resolu)
            | (Nouveau, Rejete)
            | (PrisEnCompte, EnCours)
            | (PrisEnCompte, Resolu)
            | (PrisEnCompte, Rejete)
            | (EnCours, Resolu)
            | (EnCours, Rejete)
            // Reopened when the problem is back.
            | (Resolu, EnCours)
    )
}

/// The kind of road a resident reports about: it decides who is competent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoadKind {
    /// Rue ou route communale.
    Communale,
    Departementale,
    /// Route nationale or autoroute: the State's services.
    NationaleOuAutoroute,
}

impl RoadKind {
    pub const ALL: [RoadKind; 3] = [
        Self::Communale,
        Self::Departementale,
        Self::NationaleOuAutoroute,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::Communale => "communale",
            Self::Departementale => "departementale",
            Self::NationaleOuAutoroute => "nationale",
        }
    }

    pub fn from_code(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.code() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Communale => "une rue ou une route communale",
            Self::Departementale => "une route départementale (D…)",
            Self::NationaleOuAutoroute => "une route nationale (N…) ou une autoroute (A…)",
        }
    }

    /// The competence that holds this kind of road.
    pub fn competence(self) -> &'static str {
        match self {
            Self::Communale => "voirie_communale",
            Self::Departementale => "routes_departementales",
            Self::NationaleOuAutoroute => "routes_nationales",
        }
    }

    /// The level that holds it by default (the referential may say otherwise).
    pub fn level(self) -> Level {
        match self {
            Self::Communale => Level::Commune,
            Self::Departementale => Level::Departement,
            Self::NationaleOuAutoroute => Level::Etat,
        }
    }
}

/// Reports of the same category closer than this are shown as possible duplicates.
pub const DUPLICATE_RADIUS_M: f64 = 50.0;

/// Following reports by e-mail is confirmed by the address's owner; until then nothing is sent
/// but the confirmation request, and those are limited so that nobody can flood an address or
/// subscribe many: unconfirmed requests per address over a day, requests per network per hour.
pub const MAX_PENDING_FOLLOWS_PER_ADDRESS: i64 = 3;
pub const MAX_FOLLOW_REQUESTS_PER_NETWORK: i64 = 20;

/// Whether one more follow request may be made (counts of the day's unconfirmed requests for the
/// address, of the hour's requests from the network).
pub fn follow_allowed(pending_for_address: i64, from_network: i64) -> bool {
    pending_for_address < MAX_PENDING_FOLLOWS_PER_ADDRESS
        && from_network < MAX_FOLLOW_REQUESTS_PER_NETWORK
}

/// Whether two points (latitude, longitude in degrees) are within `radius` metres.
pub fn within(a: (f64, f64), b: (f64, f64), radius: f64) -> bool {
    use geo::{Distance, Haversine, Point};
    Haversine.distance(Point::new(a.1, a.0), Point::new(b.1, b.0)) <= radius
}

/// Checks coordinates typed or sent by a client: latitude and longitude in degrees, on Earth.
pub fn valid_position(lat: f64, lon: f64) -> bool {
    lat.is_finite()
        && lon.is_finite()
        && (-90.0..=90.0).contains(&lat)
        && (-180.0..=180.0).contains(&lon)
}

/// A report has at most this many photos.
pub const MAX_PHOTOS: usize = 3;
/// Reports one reporter (account or address) may make in an hour, and one network.
pub const MAX_PER_REPORTER_HOUR: i64 = 10;
pub const MAX_PER_NETWORK_HOUR: i64 = 30;

/// A problem with what was typed in the report form: the field and what to do, in French.
pub type Problem = (&'static str, String);

/// The coordinates typed (decimal degrees, comma or point), if any.
pub fn parse_position(latitude: &str, longitude: &str) -> Result<Option<(f64, f64)>, Problem> {
    let (latitude, longitude) = (latitude.trim(), longitude.trim());
    if latitude.is_empty() && longitude.is_empty() {
        return Ok(None);
    }
    let lat = latitude.replace(',', ".").parse::<f64>().ok();
    let lon = longitude.replace(',', ".").parse::<f64>().ok();
    match lat.zip(lon).filter(|(a, b)| valid_position(*a, *b)) {
        Some(p) => Ok(Some(p)),
        None => Err(("latitude", "Coordonnées invalides : latitude entre -90 et 90, longitude entre -180 et 180, en degrés décimaux (ex. 47,3222).".into())),
    }
}

/// The rules of a report's details, whatever its place and category: where it is (an address,
/// or coordinates), what it is (10 to 2,000 characters), three photos at most.
pub fn check_details(
    address: &str,
    position: Option<(f64, f64)>,
    description: &str,
    photos: usize,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    if address.trim().is_empty() && position.is_none() {
        problems.push(("adresse", "Indiquez l'adresse ou le lieu précis.".into()));
    }
    let length = description.trim().chars().count();
    if length < 10 {
        problems.push((
            "description",
            "Décrivez le problème en quelques mots (10 caractères au moins).".into(),
        ));
    } else if length > 2000 {
        problems.push((
            "description",
            "La description dépasse 2 000 caractères.".into(),
        ));
    }
    if photos > MAX_PHOTOS {
        problems.push(("photos", "Trois photos au plus.".into()));
    }
    problems
}

/// A road category needs the kind of road, which decides who is competent.
pub fn check_road(road_category: bool, road: Option<RoadKind>) -> Option<Problem> {
    (road_category && road.is_none()).then(|| {
        (
            "voie",
            "Indiquez sur quel type de route se trouve le problème.".into(),
        )
    })
}

/// The state a new report starts in: made without an account, it waits for its e-mail
/// confirmation; else in a moderated category, for moderation; else it is public at once.
pub fn initial_state(anonymous: bool, moderated: bool) -> State {
    if anonymous {
        State::AConfirmer
    } else if moderated {
        State::AModerer
    } else {
        State::Nouveau
    }
}

/// Whether one more report may be made, from the reports of the last hour by this reporter and
/// from this network (checked before any photo is decoded).
pub fn within_rate(by_reporter: i64, from_network: i64) -> bool {
    by_reporter < MAX_PER_REPORTER_HOUR && from_network < MAX_PER_NETWORK_HOUR
}

/// A collectivité asks at most this many extra questions per category.
pub const MAX_QUESTIONS: usize = 5;
const MAX_QUESTION_CHARS: usize = 200;
/// The longest answer kept.
pub const MAX_ANSWER_CHARS: usize = 500;

/// The extra questions of a category, typed one per line by a collectivité admin. Blank lines
/// are dropped; the reasons for a refusal are in French.
pub fn parse_questions(text: &str) -> Result<Vec<String>, String> {
    let questions: Vec<String> = text
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| !l.is_empty())
        .collect();
    if questions.len() > MAX_QUESTIONS {
        return Err(format!("{MAX_QUESTIONS} questions au plus."));
    }
    if let Some(q) = questions
        .iter()
        .find(|q| q.chars().count() > MAX_QUESTION_CHARS)
    {
        return Err(format!(
            "Question trop longue ({MAX_QUESTION_CHARS} caractères au plus) : « {} … »",
            q.chars().take(40).collect::<String>()
        ));
    }
    for (i, q) in questions.iter().enumerate() {
        if questions[..i].contains(q) {
            return Err(format!("La question « {q} » est en double."));
        }
    }
    Ok(questions)
}

/// A category label typed by a collectivité admin.
pub fn check_label(label: &str) -> Result<String, String> {
    let label = label.split_whitespace().collect::<Vec<_>>().join(" ");
    match label.chars().count() {
        0..=2 => Err("Donnez un libellé de 3 caractères au moins.".into()),
        3..=120 => Ok(label),
        _ => Err("Libellé trop long (120 caractères au plus).".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_says_where_and_what_in_a_few_words_with_three_photos_at_most() {
        assert_eq!(parse_position("", ""), Ok(None));
        assert_eq!(
            parse_position("47,3222", " 5.0415 "),
            Ok(Some((47.3222, 5.0415)))
        );
        assert_eq!(parse_position("91", "5").map_err(|p| p.0), Err("latitude"));
        assert_eq!(parse_position("47", "").map_err(|p| p.0), Err("latitude"));
        let fields = |p: Vec<Problem>| p.into_iter().map(|(f, _)| f).collect::<Vec<_>>();
        assert_eq!(
            fields(check_details("", None, "trou", 4)),
            ["adresse", "description", "photos"]
        );
        assert!(check_details("", Some((47.0, 5.0)), "Lampadaire éteint", 3).is_empty());
        assert_eq!(
            fields(check_details("Rue", None, &"x".repeat(2001), 0)),
            ["description"]
        );
        assert_eq!(check_road(true, None).map(|p| p.0), Some("voie"));
        assert_eq!(check_road(true, Some(RoadKind::Communale)), None);
        assert!(within_rate(9, 29) && !within_rate(10, 0) && !within_rate(0, 30));
        assert_eq!(initial_state(true, true), State::AConfirmer);
        assert_eq!(initial_state(false, true), State::AModerer);
        assert_eq!(initial_state(false, false), State::Nouveau);
    }

    #[test]
    fn extra_questions_are_one_per_line_few_and_distinct() {
        assert_eq!(
            parse_questions("  Depuis quand ?\n\n Le  lampadaire clignote-t-il ?\r\n").unwrap(),
            vec!["Depuis quand ?", "Le lampadaire clignote-t-il ?"]
        );
        assert_eq!(parse_questions("").unwrap(), Vec::<String>::new());
        assert!(parse_questions("a\nb\nc\nd\ne\nf").is_err());
        assert!(parse_questions("Même ?\nMême ?").is_err());
        assert!(parse_questions(&"x".repeat(201)).is_err());
        assert!(check_label("  Trottinette   mal garée ").unwrap() == "Trottinette mal garée");
        assert!(check_label("ab").is_err());
    }

    #[test]
    fn the_workflow_allows_only_forward_moves_and_reopening() {
        assert!(can_move(State::Nouveau, State::PrisEnCompte));
        assert!(can_move(State::EnCours, State::Resolu));
        assert!(can_move(State::Resolu, State::EnCours));
        assert!(!can_move(State::Rejete, State::Nouveau));
        assert!(
            !can_move(State::AConfirmer, State::Nouveau),
            "only the e-mail confirms"
        );
        assert!(!State::AConfirmer.is_public() && State::Nouveau.is_public());
    }

    #[test]
    fn the_road_kind_decides_the_competence() {
        assert_eq!(
            RoadKind::Departementale.competence(),
            "routes_departementales"
        );
        assert_eq!(RoadKind::Communale.level(), Level::Commune);
        assert_eq!(RoadKind::NationaleOuAutoroute.level(), Level::Etat);
    }

    #[test]
    fn duplicates_are_within_fifty_metres() {
        // Place Darcy, Dijon, and points about 30 m and 120 m east.
        let darcy = (47.32226, 5.03186);
        assert!(within(darcy, (47.32226, 5.03226), DUPLICATE_RADIUS_M));
        assert!(!within(darcy, (47.32226, 5.03345), DUPLICATE_RADIUS_M));
        assert!(
            valid_position(47.3, 5.0)
                && !valid_position(91.0, 0.0)
                && !valid_position(f64::NAN, 0.0)
        );
    }
}

/// Words residents use for the platform's categories, beyond the words of their labels.
fn everyday_words(code: &str) -> &'static [&'static str] {
    match code {
        "chaussee_degradee" => &[
            "trou", "route", "rue", "chaussee", "bitume", "goudron", "nid", "poule", "trottoir",
        ],
        "signalisation" => &["panneau", "feu", "marquage", "stop", "passage"],
        "eclairage_public" => &["lampadaire", "lumiere", "reverbere", "eclairage", "eteint"],
        "depot_sauvage" => &["ordure", "dechet", "encombrant", "sac", "gravat", "depot"],
        "tags" => &["tag", "graffiti", "peinture"],
        "arbre_espace_vert" => &["arbre", "branche", "haie", "pelouse", "parc", "jardin"],
        "bac_collecte" => &["poubelle", "bac", "conteneur", "collecte", "benne"],
        "fuite_eau" => &["fuite", "eau", "inondation", "canalisation", "egout"],
        "mobilier_urbain" => &["banc", "abribus", "potelet", "barriere", "poteau"],
        _ => &[],
    }
}

/// Words too common to mean anything in a search.
const STOP_WORDS: &[&str] = &[
    "de", "du", "des", "la", "le", "les", "un", "une", "et", "en", "au", "aux", "sur", "dans",
    "pour", "par", "mon", "ma", "mes", "est", "il", "y", "a", "ou", "qui", "que", "pas",
];

fn meaningful(text: &str) -> Vec<String> {
    crate::text::fold(text)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() >= 3 && !STOP_WORDS.contains(w))
        .map(|w| {
            w.strip_suffix('s')
                .filter(|s| s.len() >= 3)
                .unwrap_or(w)
                .to_string()
        })
        .collect()
}

/// Whether a search describes a problem of this category ("nid de poule", "lampadaires en
/// panne"): a meaningful word of the search is a word of its label or an everyday word for it.
pub fn matches_search(query: &str, code: &str, label: &str) -> bool {
    let words = meaningful(query);
    if words.is_empty() {
        return false;
    }
    let mut known = meaningful(label);
    known.extend(everyday_words(code).iter().map(|w| w.to_string()));
    words.iter().any(|w| known.contains(w))
}

#[cfg(test)]
mod search_tests {
    use super::matches_search;

    #[test]
    fn a_pothole_in_the_residents_words_is_a_damaged_road() {
        let label = "Chaussée dégradée, nid-de-poule";
        assert!(matches_search("nid de poule", "chaussee_degradee", label));
        assert!(matches_search(
            "Trou dans la route",
            "chaussee_degradee",
            label
        ));
        assert!(matches_search("chaussées", "chaussee_degradee", label));
        assert!(!matches_search(
            "inscription cantine",
            "chaussee_degradee",
            label
        ));
        assert!(!matches_search("de la", "chaussee_degradee", label));
    }

    #[test]
    fn a_collectivite_s_own_category_matches_by_its_label() {
        assert!(matches_search(
            "bornes de recharge",
            "borne_recharge",
            "Borne de recharge en panne"
        ));
    }
}
