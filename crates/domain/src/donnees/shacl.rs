//! The check a producer sees before publishing: the DCAT-AP description of their dataset
//! validated against the official DCAT-AP 3.0.1 SHACL shapes (SEMIC, shipped in
//! `schemas/dcat-ap/`) by a SHACL engine (the rudof project's `shacl` crate), each result told
//! in plain French with what to fix.

use rudof_rdf::rdf_core::RDFFormat;
use rudof_rdf::rdf_impl::{OxigraphInMemory, ReaderMode};
use shacl::validator::processor::{GraphValidation, ShaclProcessor};
use shacl::validator::store::{Graph, ShaclDataManager};
use shacl::validator::{ShaclConfig, ShaclValidationMode};

/// The DCAT-AP 3.0.1 shapes, as published by SEMIC.
pub const SHAPES: &str = include_str!("../../schemas/dcat-ap/dcat-ap-3.0.1-SHACL.ttl");

/// One result of the check, for the producer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Constat {
    /// What it is about: "le jeu de données", "la distribution CSV"…
    pub sujet: String,
    pub message: String,
    /// A violation (publication would give an invalid description), or a recommendation.
    pub bloquant: bool,
}

/// The result of the check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub conforme: bool,
    pub constats: Vec<Constat>,
}

fn local_name(iri: &str) -> &str {
    iri.rsplit(['#', '/']).next().unwrap_or(iri)
}

/// The property, as the producer calls it.
fn propriete(local: &str) -> String {
    match local {
        "title" => "le titre".into(),
        "description" => "la description".into(),
        "accessURL" => "l'adresse d'accès".into(),
        "downloadURL" => "l'adresse de téléchargement".into(),
        "license" => "la licence".into(),
        "publisher" => "le producteur".into(),
        "contactPoint" => "le contact".into(),
        "accrualPeriodicity" => "la fréquence de mise à jour".into(),
        "conformsTo" => "le schéma suivi".into(),
        "issued" => "la date de publication".into(),
        "modified" => "la date de mise à jour".into(),
        "spatial" => "la couverture géographique".into(),
        "keyword" => "les mots-clés".into(),
        "mediaType" | "format" => "le format".into(),
        "identifier" => "l'identifiant".into(),
        "landingPage" => "la page d'accueil".into(),
        "language" => "la langue".into(),
        "theme" => "le thème".into(),
        other => format!("la propriété « {other} »"),
    }
}

/// What the focus node is, for the producer.
fn sujet(focus: &str, dataset: &str) -> String {
    match focus.strip_prefix(dataset) {
        Some("") => "le jeu de données".into(),
        Some(rest) if rest.starts_with('#') => {
            format!("la distribution {}", rest[1..].to_uppercase())
        }
        _ if focus.ends_with("#organisation") => "le producteur".into(),
        _ if focus.contains("/catalogue") => "le catalogue".into(),
        _ => focus.to_string(),
    }
}

fn message(component: &str, property: &str) -> String {
    let capitalised = {
        let mut c = property.chars();
        c.next()
            .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
            .unwrap_or_default()
    };
    match component {
        "MinCountConstraintComponent" => format!("{capitalised} manque : renseignez-la."),
        "MaxCountConstraintComponent" => {
            format!("{capitalised} a plusieurs valeurs : n'en gardez qu'une.")
        }
        "NodeKindConstraintComponent" => {
            format!("{capitalised} doit être une adresse web (IRI), pas un simple texte.")
        }
        "DatatypeConstraintComponent" => format!(
            "{capitalised} n'a pas le type attendu (une date, un nombre…) : corrigez sa valeur."
        ),
        "ClassConstraintComponent" => {
            format!("{capitalised} ne désigne pas le bon type de ressource.")
        }
        other => format!("{capitalised} ne respecte pas la règle {other} de DCAT-AP 3.0.1."),
    }
}

/// Checks a DCAT description (Turtle) of the dataset `dataset` (its IRI) against the DCAT-AP
/// 3.0.1 shapes. Err when the description or the shapes cannot be read.
pub fn verifier(turtle: &str, dataset: &str) -> Result<Verdict, String> {
    let schema =
        ShaclDataManager::load(&mut SHAPES.as_bytes(), "dcat-ap", &RDFFormat::Turtle, None)
            .map_err(|e| format!("formes DCAT-AP illisibles : {e}"))?;
    let data = OxigraphInMemory::from_reader(
        &mut turtle.as_bytes(),
        "description",
        &RDFFormat::Turtle,
        None,
        &ReaderMode::default(),
    )
    .map_err(|e| format!("description illisible : {e}"))?;
    let mut validation = GraphValidation::new(Graph::from(data));
    let report = validation
        .validate(
            &schema,
            &ShaclValidationMode::Native,
            &ShaclConfig::default(),
        )
        .map_err(|e| format!("validation impossible : {e}"))?;
    let mut constats: Vec<Constat> = report
        .results()
        .iter()
        .map(|r| {
            let path = r.path().map(|p| p.to_string()).unwrap_or_default();
            let path = path.trim_matches(|c| c == '<' || c == '>');
            let component = r.constraint_component().to_string();
            let component = component.trim_matches(|c| c == '<' || c == '>');
            let focus = r.focus_node().to_string();
            Constat {
                sujet: sujet(focus.trim_matches(|c| c == '<' || c == '>'), dataset),
                message: message(local_name(component), &propriete(local_name(path))),
                bloquant: format!("{:?}", r.severity()).contains("Violation"),
            }
        })
        .collect();
    constats.sort_by(|a, b| (&a.sujet, &a.message).cmp(&(&b.sujet, &b.message)));
    constats.dedup();
    Ok(Verdict {
        conforme: report.conforms(),
        constats,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DATASET: &str = "https://guichet.example/donnees/dijon/budget";

    fn description(extra: &str) -> String {
        format!(
            r#"@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix dct: <http://purl.org/dc/terms/> .
<{DATASET}> a dcat:Dataset ;
  dct:title "Budget"@fr ;
  {extra}
  dcat:distribution <{DATASET}#csv> .
<{DATASET}#csv> a dcat:Distribution ;
  dcat:accessURL "budget.csv" .
"#
        )
    }

    #[test]
    fn a_missing_description_and_a_text_address_are_told_in_french() {
        let v = verifier(&description(""), DATASET).expect("checked");
        assert!(!v.conforme);
        let said: Vec<String> = v
            .constats
            .iter()
            .map(|c| format!("{} : {}", c.sujet, c.message))
            .collect();
        assert!(
            said.contains(
                &"le jeu de données : La description manque : renseignez-la.".to_string()
            ),
            "{said:?}"
        );
        assert!(
            said.contains(
                &"la distribution CSV : L'adresse d'accès doit être une adresse web (IRI), pas un simple texte."
                    .to_string()
            ),
            "{said:?}"
        );
    }

    #[test]
    fn a_complete_description_conforms() {
        let ok = format!(
            r#"@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix dct: <http://purl.org/dc/terms/> .
<{DATASET}> a dcat:Dataset ;
  dct:title "Budget"@fr ;
  dct:description "Le budget primitif."@fr ;
  dcat:distribution <{DATASET}#csv> .
<{DATASET}#csv> a dcat:Distribution ;
  dcat:accessURL <{DATASET}.csv> .
"#
        );
        let v = verifier(&ok, DATASET).expect("checked");
        assert!(v.conforme, "{:?}", v.constats);
    }

    #[test]
    fn an_unreadable_description_is_an_error_not_a_verdict() {
        assert!(verifier("ceci n'est pas du Turtle", DATASET).is_err());
    }
}
