//! A collectivité's information assets (patrimoine informationnel): what each dataset it holds is,
//! who owns it, why it exists and on what legal basis, whether it holds personal data, how long
//! it is kept, how often it changes, and whether it is open (and why not). Checked here, and
//! written as a row of the SCDL `catalogue` schema.

/// The SCDL's spatial levels.
pub const MAILLES: [&str; 7] = [
    "Infracommunale",
    "Communale",
    "Intercommunale",
    "Cantonale",
    "Départementale",
    "Régionale",
    "Autre",
];

/// The SCDL's update frequencies.
pub const FREQUENCES: [&str; 15] = [
    "Inconnue",
    "Ponctuelle",
    "Irrégulière",
    "Continuelle",
    "Toutes les heures",
    "Quotidienne ou plusieurs fois par jour",
    "Hebdomadaire ou plusieurs fois par semaine",
    "Mensuelle ou plusieurs fois par mois",
    "Bimestrielle",
    "Trimestrielle",
    "Semestrielle",
    "Annuelle",
    "Biennale",
    "Triennale",
    "Quinquennale",
];

/// The SCDL's licences.
pub const LICENCES: [&str; 4] = [
    "Licence Ouverte-LO",
    "Open Database License-ODBL",
    "Creative Commons-CC",
    "Spécifique ou autre",
];

/// The SCDL `catalogue` columns, in order.
pub const COLUMNS: [&str; 20] = [
    "COLL_NOM",
    "COLL_SIRET",
    "ID",
    "TITRE",
    "DESCRIPTION",
    "THEME",
    "PRODUCTEUR_NOM",
    "PRODUCTEUR_SIRET",
    "COUV_SPAT_MAILLE",
    "COUV_SPAT_NOM",
    "COUV_TEMP_DEBUT",
    "COUV_TEMP_FIN",
    "DATE_PUBL",
    "FREQ_MAJ",
    "DATE_MAJ",
    "MOTS_CLES",
    "LICENCE",
    "NOMBRE_RESSOURCES",
    "FORMAT_RESSOURCES",
    "URL",
];

/// An information asset as its admin describes it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Actif {
    pub titre: String,
    /// What it is for (finalité).
    pub description: String,
    /// The owner service.
    pub service: String,
    pub base_legale: String,
    pub donnees_personnelles: bool,
    /// How long it is kept.
    pub conservation: String,
    pub frequence: String,
    pub ouvert: bool,
    /// Why it is not open, when it is not.
    pub motif: String,
    pub theme: String,
    pub mots_cles: String,
    pub maille: String,
    pub couverture: String,
    /// Period covered, ISO days.
    pub debut: String,
    pub fin: String,
    pub formats: String,
    /// Where it is published (an open asset), or its page.
    pub url: String,
    pub licence: String,
    /// The producer's SIRET (14 digits).
    pub siret: String,
}

/// What is wrong with an asset, field by field, in French.
pub fn check(a: &Actif) -> Vec<(&'static str, String)> {
    let mut errors = Vec::new();
    let mut need = |field: &'static str, value: &str, what: &str| {
        if value.trim().is_empty() {
            errors.push((field, format!("Indiquez {what}.")));
        }
    };
    need("titre", &a.titre, "le nom du jeu de données");
    need("description", &a.description, "à quoi servent ces données");
    need("service", &a.service, "le service qui en est responsable");
    need(
        "base_legale",
        &a.base_legale,
        "la base légale (ou « aucune »)",
    );
    need("conservation", &a.conservation, "la durée de conservation");
    need("theme", &a.theme, "un thème");
    need("mots_cles", &a.mots_cles, "au moins un mot-clé");
    need("couverture", &a.couverture, "le territoire couvert");
    need("formats", &a.formats, "le format des fichiers (ex. csv)");
    if !a.ouvert && a.motif.trim().len() < 5 {
        errors.push((
            "motif",
            "Expliquez pourquoi ces données ne sont pas ouvertes (secret, données personnelles…)."
                .to_string(),
        ));
    }
    if a.ouvert && a.donnees_personnelles {
        errors.push((
            "ouvert",
            "Des données personnelles ne peuvent être ouvertes qu'anonymisées : décrivez le jeu anonymisé, ou indiquez qu'il n'est pas ouvert.".to_string(),
        ));
    }
    if !FREQUENCES.contains(&a.frequence.as_str()) {
        errors.push((
            "frequence",
            "Choisissez la fréquence de mise à jour.".into(),
        ));
    }
    if !MAILLES.contains(&a.maille.as_str()) {
        errors.push((
            "maille",
            "Choisissez l'échelle du territoire couvert.".into(),
        ));
    }
    if !LICENCES.contains(&a.licence.as_str()) {
        errors.push(("licence", "Choisissez la licence.".into()));
    }
    if a.siret.len() != 14 || !a.siret.bytes().all(|b| b.is_ascii_digit()) {
        errors.push((
            "siret",
            "Le SIRET du producteur a 14 chiffres (SIREN et NIC), sans espace.".into(),
        ));
    }
    let day = |s: &str| jiff::civil::Date::strptime("%Y-%m-%d", s).ok();
    match (day(&a.debut), day(&a.fin)) {
        (None, _) => errors.push(("debut", "Date de début au format AAAA-MM-JJ.".into())),
        (_, None) => errors.push(("fin", "Date de fin au format AAAA-MM-JJ.".into())),
        (Some(d), Some(f)) if f < d => {
            errors.push(("fin", "La fin de la période suit son début.".into()))
        }
        _ => {}
    }
    if a.ouvert && !(a.url.starts_with("https://") || a.url.starts_with("http://")) {
        errors.push((
            "url",
            "Donnez l'adresse web où les données ouvertes sont publiées (https://…).".into(),
        ));
    }
    errors
}

/// The asset as a row of the SCDL `catalogue`. `page` is
/// where the register shows it, used when the asset is not published elsewhere.
pub fn scdl_row(
    a: &Actif,
    id: i64,
    collectivite: &str,
    published: &str,
    updated: &str,
    page: &str,
) -> Vec<String> {
    let keywords: Vec<String> = a
        .mots_cles
        .split([',', ';'])
        .map(|k| k.trim().to_lowercase())
        .filter(|k| !k.is_empty())
        .collect();
    vec![
        collectivite.to_string(),
        a.siret.clone(),
        id.to_string(),
        a.titre.clone(),
        a.description.clone(),
        a.theme.clone(),
        a.service.clone(),
        a.siret.clone(),
        a.maille.clone(),
        a.couverture.clone(),
        a.debut.clone(),
        a.fin.clone(),
        published.to_string(),
        a.frequence.clone(),
        updated.to_string(),
        keywords.join(";"),
        a.licence.clone(),
        "1".into(),
        a.formats.trim().to_lowercase(),
        if a.url.is_empty() {
            page.to_string()
        } else {
            a.url.clone()
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actif() -> Actif {
        Actif {
            titre: "Fichier des associations".into(),
            description: "Suivre les associations subventionnées.".into(),
            service: "Vie associative".into(),
            base_legale: "CGCT L2311-7".into(),
            donnees_personnelles: true,
            conservation: "10 ans".into(),
            frequence: "Annuelle".into(),
            ouvert: false,
            motif: "Contient les coordonnées des présidents.".into(),
            theme: "Associations".into(),
            mots_cles: "associations, subventions".into(),
            maille: "Communale".into(),
            couverture: "Dijon".into(),
            debut: "2020-01-01".into(),
            fin: "2026-12-31".into(),
            formats: "CSV".into(),
            url: String::new(),
            licence: "Spécifique ou autre".into(),
            siret: "21210231300015".into(),
        }
    }

    #[test]
    fn a_described_asset_passes_and_a_closed_one_says_why() {
        assert!(check(&actif()).is_empty(), "{:?}", check(&actif()));
        let mut a = actif();
        a.motif.clear();
        assert_eq!(check(&a)[0].0, "motif");
        a = actif();
        a.ouvert = true;
        let fields: Vec<&str> = check(&a).iter().map(|e| e.0).collect();
        assert!(
            fields.contains(&"ouvert") && fields.contains(&"url"),
            "{fields:?}"
        );
    }

    #[test]
    fn the_row_follows_the_scdl_columns() {
        let row = scdl_row(
            &actif(),
            7,
            "Dijon",
            "2026-12-04",
            "2026-12-04",
            "https://x/p#7",
        );
        assert_eq!(row.len(), COLUMNS.len());
        assert_eq!(row[15], "associations;subventions");
        assert_eq!(row[19], "https://x/p#7");
    }
}
