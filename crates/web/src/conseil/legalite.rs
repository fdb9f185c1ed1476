//! The bundle for the contrôle de légalité: a signed délibération as the collectivité's tiers de
//! télétransmission (S²LOW, Pastell, FAST…) takes it to the prefecture through @ctes. A ZIP with
//! the act's PDF/A and its @ctes envelope (schema ACTES v1.1: nature 1 = délibération, the
//! matter's levels, the object, the day, the internal number), the files named as @ctes names
//! them.

use super::seance::refused;
use crate::auth::{CollectiviteContext, Visitor};
use crate::error::AppError;
use crate::page::not_found;
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use guichet_domain::conseil as rules;
use guichet_store::conseil as store;
use quick_xml::escape::escape;
use std::io::Write;

/// The version of the ACTES nomenclature whose matters the platform ships (its first two levels,
/// common to every prefecture); the tiers de télétransmission sets the prefecture's own when it
/// transmits.
const CLASSIFICATION_DATE_VERSION: &str = "2024-01-01";

/// The @ctes envelope of a délibération whose PDF/A is `document`.
fn enveloppe(
    numero: &str,
    jour: jiff::civil::Date,
    matiere: &str,
    objet: &str,
    document: &str,
    annexes: &[String],
) -> String {
    let mut codes = String::new();
    for (i, code) in rules::codes_matiere(matiere).iter().enumerate() {
        codes.push_str(&format!(
            "  <actes:CodeMatiere{n} actes:CodeMatiere=\"{code}\"/>\n",
            n = i + 1,
            code = escape(*code)
        ));
    }
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<actes:Acte xmlns:actes="http://www.interieur.gouv.fr/ACTES#v1.1-20040216" xmlns:insee="http://xml.insee.fr/schema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://www.interieur.gouv.fr/ACTES#v1.1-20040216 actesv1_1.xsd" actes:Date="{jour}" actes:NumeroInterne="{numero}" actes:CodeNatureActe="1">
{codes}  <actes:Objet>{objet}</actes:Objet>
  <actes:ClassificationDateVersion>{CLASSIFICATION_DATE_VERSION}</actes:ClassificationDateVersion>
  <actes:Document>
    <actes:NomFichier>{document}</actes:NomFichier>
  </actes:Document>
  <actes:Annexes actes:Nombre="{nombre}">
{liste}  </actes:Annexes>
</actes:Acte>
"#,
        jour = jour.strftime("%Y-%m-%d"),
        numero = escape(rules::numero_interne(numero)),
        objet = escape(objet),
        document = escape(document),
        nombre = annexes.len(),
        liste = annexes
            .iter()
            .map(|a| format!(
                "    <actes:Annexe>\n      <actes:NomFichier>{}</actes:NomFichier>\n    </actes:Annexe>\n",
                escape(a)
            ))
            .collect::<String>(),
    )
}

/// The bundle of a signed délibération (journaled: who took it, when).
pub async fn bundle(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    Path((_, id)): Path<(String, i64)>,
) -> Result<Response, AppError> {
    let c = &ctx.collectivite;
    let Some(d) = store::deliberation_by_id(&state.db, c.id, id).await? else {
        return Ok(not_found(State(state)).await);
    };
    let Some(file_id) = d.file_id.clone() else {
        return refused(
            &state,
            &visitor,
            &ctx,
            d.seance_id,
            "legalite",
            format!(
                "La délibération n° {} doit d'abord être signée : le contrôle de légalité reçoit l'acte signé.",
                d.numero
            ),
        )
        .await;
    };
    let Some(s) = store::seance_by_id(&state.db, c.id, d.seance_id).await? else {
        return Ok(not_found(State(state)).await);
    };
    let siret = store::assemblees(&state.db, c.id)
        .await?
        .into_iter()
        .find(|a| a.id == s.assemblee_id)
        .map(|a| a.siret)
        .unwrap_or_default();
    let siren = siret.get(..9).unwrap_or(&siret);
    let departement = c.departement_code.clone().unwrap_or_default();
    let jour = guichet_domain::delai::paris_day(s.starts_at);
    let name = |piece: &str, rang: usize, ext: &str| {
        rules::fichier_actes(piece, &departement, siren, jour, &d.numero, rang, ext)
    };
    let document = name("99_DE", 1, "pdf");
    // The item's annexes follow the act, ranked after it.
    let annexes: Vec<_> = store::annexes_of(&state.db, c.id, s.id)
        .await?
        .into_iter()
        .filter(|a| a.point_id == d.point_id)
        .collect();
    let annexe_names: Vec<String> = (0..annexes.len())
        .map(|i| name("99_AI", i + 2, "pdf"))
        .collect();
    let xml = enveloppe(
        &d.numero,
        jour,
        &d.matiere,
        &d.objet,
        &document,
        &annexe_names,
    );
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    zip.start_file(name("DE", 0, "xml"), options)?;
    zip.write_all(xml.as_bytes())?;
    zip.start_file(document, options)?;
    zip.write_all(&state.config.files.get(&file_id).await?)?;
    for (a, n) in annexes.iter().zip(&annexe_names) {
        zip.start_file(n.as_str(), options)?;
        zip.write_all(&state.config.files.get(&a.file_id).await?)?;
    }
    let bytes = zip.finish()?.into_inner();
    let event = visitor.event_on(
        Some(c.id),
        "conseil.deliberation.legalite",
        "deliberation",
        &d.numero,
    );
    guichet_store::journal::append(&state.db, &event).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/zip".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"legalite-{}.zip\"",
                    rules::numero_interne(&d.numero)
                ),
            ),
        ],
        bytes,
    )
        .into_response())
}
