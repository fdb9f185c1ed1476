//! A collectivité's open data in its back office (publication role): its datasets, and a file to
//! publish, checked against a Table Schema (a shipped SCDL one, or one the collectivité gives)
//! before anything is stored. "Vérifier" shows the result; "Publier" publishes only a valid file,
//! as a new version when the dataset exists.

use crate::auth::{CollectiviteContext, Visitor};
use crate::error::AppError;
use crate::form::{read_form, Errors};
use crate::layout::Layout;
use crate::page::html;
use crate::AppState;
use askama::Template;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use guichet_domain::donnees::schema::{Report, Schema};
use guichet_domain::donnees::shacl::{self, Verdict};
use guichet_domain::donnees::{reserved, scdl, slug, Frequence, Licence, SCDL};
use guichet_store::donnees::{self as store, Dataset, Upload};
use guichet_store::trace::Trace;

/// The largest file accepted.
pub const MAX_CSV_BYTES: usize = 20 * 1024 * 1024;

/// What the form holds, to show it again.
#[derive(Default, Clone)]
struct Typed {
    titre: String,
    description: String,
    licence: String,
    frequence: String,
    schema: String,
}

#[derive(Template)]
#[template(path = "donnees/admin.html")]
struct AdminPage {
    layout: Layout,
    slug: String,
    datasets: Vec<Dataset>,
    schemas: Vec<(&'static str, &'static str)>,
    typed: Typed,
    errors: Errors,
    /// The check of the file: its verdict and its rows.
    report: Option<Report>,
    checked_name: String,
    /// The check of the dataset's DCAT-AP description against the SHACL shapes.
    dcat: Option<Verdict>,
}

async fn render(
    state: &AppState,
    visitor: &Visitor,
    ctx: &CollectiviteContext,
    typed: Typed,
    errors: Errors,
    report: Option<(Report, String)>,
    dcat: Option<Verdict>,
) -> Result<Response, AppError> {
    let status = if errors.is_empty()
        && report.as_ref().is_none_or(|(r, _)| r.valid())
        && dcat.as_ref().is_none_or(|v| v.conforme)
    {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let (report, checked_name) = match report {
        Some((r, name)) => (Some(r), name),
        None => (None, String::new()),
    };
    let page = html(&AdminPage {
        layout: Layout::for_visitor(state, visitor).await,
        slug: ctx.collectivite.slug.clone(),
        datasets: store::of(&state.db, ctx.collectivite.id).await?,
        schemas: SCDL.iter().map(|(n, t, _)| (*n, *t)).collect(),
        typed,
        errors,
        report,
        checked_name,
        dcat,
    })?;
    Ok((status, page).into_response())
}

pub async fn page(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
) -> Result<Response, AppError> {
    let typed = Typed {
        licence: Licence::LicenceOuverte.code().into(),
        frequence: Frequence::Irreguliere.code().into(),
        schema: "deliberations".into(),
        ..Typed::default()
    };
    render(&state, &visitor, &ctx, typed, Errors::default(), None, None).await
}

/// Checks the file and, when asked and valid, publishes it.
pub async fn upload(
    State(state): State<AppState>,
    visitor: Visitor,
    ctx: CollectiviteContext,
    req: Request,
) -> Result<Response, AppError> {
    let (pairs, uploads) = read_form(&state, req).await?;
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    };
    let typed = Typed {
        titre: get("titre"),
        description: get("description"),
        licence: get("licence"),
        frequence: get("frequence"),
        schema: get("schema"),
    };
    let mut errors = Errors::default();
    let name = slug(&typed.titre);
    if typed.titre.chars().count() < 3 || typed.titre.chars().count() > 150 || name.is_empty() {
        errors.add(
            "titre",
            "Donnez un titre de 3 à 150 caractères, avec des lettres.",
        );
    } else if reserved(&name) {
        errors.add("titre", "Ce titre est celui d'un jeu de données produit par la plateforme : choisissez-en un autre.");
    }
    if typed.description.chars().count() < 10 {
        errors.add(
            "description",
            "Décrivez le jeu de données en une phrase au moins (10 caractères).",
        );
    }
    let licence = Licence::from_code(&typed.licence);
    if licence.is_none() {
        errors.add("licence", "Choisissez la licence.");
    }
    let frequency = Frequence::from_code(&typed.frequence);
    if frequency.is_none() {
        errors.add("frequence", "Choisissez la fréquence de mise à jour.");
    }
    let file = |field: &str| uploads.iter().find(|(k, _, _)| k == field);
    // The schema: a shipped one, or the one given.
    let (schema_name, schema_text) = if typed.schema == "autre" {
        match file("schema_fichier") {
            Some((_, _, bytes)) => (None, String::from_utf8_lossy(bytes).into_owned()),
            None => {
                errors.add(
                    "schema_fichier",
                    "Joignez le schéma (fichier JSON Table Schema).",
                );
                (None, String::new())
            }
        }
    } else {
        match scdl(&typed.schema) {
            Some(v) => (Some(typed.schema.clone()), v.to_string()),
            None => {
                errors.add("schema", "Choisissez le schéma que suit le fichier.");
                (None, String::new())
            }
        }
    };
    let schema = if schema_text.is_empty() {
        None
    } else {
        match serde_json::from_str(&schema_text)
            .map_err(|_| "ce n'est pas du JSON".to_string())
            .and_then(|v| Schema::from_json(&v))
        {
            Ok(s) => Some(s),
            Err(why) => {
                errors.add("schema_fichier", format!("Schéma illisible : {why}."));
                None
            }
        }
    };
    let csv = match file("fichier") {
        None => {
            errors.add("fichier", "Joignez le fichier CSV à publier.");
            None
        }
        Some((_, _, bytes)) if bytes.len() > MAX_CSV_BYTES => {
            errors.add("fichier", "Le fichier dépasse 20 Mo.");
            None
        }
        Some((_, file_name, bytes)) => match std::str::from_utf8(bytes) {
            Ok(text) => Some((
                text.trim_start_matches('\u{feff}').to_string(),
                file_name.clone(),
            )),
            Err(_) => {
                errors.add("fichier", "Le fichier doit être un CSV encodé en UTF-8 (enregistrez-le en « CSV UTF-8 »).");
                None
            }
        },
    };
    let (Some(schema), Some((csv, file_name))) = (schema, csv) else {
        return render(&state, &visitor, &ctx, typed, errors, None, None).await;
    };
    let report = schema.validate(csv.as_bytes());
    // The description it would have once published, checked against DCAT-AP 3.0.1.
    let dcat = match (licence, frequency, errors.is_empty()) {
        (Some(licence), Some(frequency), true) => {
            let now = guichet_store::now_ms();
            let draft = Dataset {
                id: 0,
                tenant_id: ctx.collectivite.id,
                slug: name.clone(),
                origin: "depose".into(),
                title: typed.titre.clone(),
                description: typed.description.clone(),
                licence,
                frequency,
                schema_name: schema_name.clone(),
                schema: schema_name.is_none().then(|| schema_text.clone()),
                created_at: now,
                modified_at: now,
            };
            let (turtle, iri) = super::catalogue::draft(&state, &ctx.collectivite, &draft)?;
            Some(shacl::verifier(&turtle, &iri).map_err(|e| anyhow::anyhow!(e))?)
        }
        _ => None,
    };
    let publish = get("action") == "publier";
    let described = dcat.as_ref().is_some_and(|v| v.conforme);
    if !errors.is_empty() || !report.valid() || !described || !publish {
        return render(
            &state,
            &visitor,
            &ctx,
            typed,
            errors,
            Some((report, file_name)),
            dcat,
        )
        .await;
    }
    let (Some(licence), Some(frequency)) = (licence, frequency) else {
        return render(&state, &visitor, &ctx, typed, errors, None, None).await;
    };
    let mut event = visitor.event(Some(ctx.collectivite.id), "donnees.publication");
    event.details = serde_json::json!({ "jeu": name, "lignes": report.rows }).to_string();
    let published = store::publish(
        &state.db,
        Upload {
            tenant_id: ctx.collectivite.id,
            slug: name.clone(),
            title: typed.titre.clone(),
            description: typed.description.clone(),
            licence,
            frequency,
            schema_name: schema_name.clone(),
            schema: schema_name.is_none().then_some(schema_text),
            rows: i64::try_from(report.rows).unwrap_or(i64::MAX),
            csv,
        },
        Trace::of(event),
    )
    .await?;
    match published {
        Some(d) => Ok(
            Redirect::to(&format!("/donnees/{}/{}", ctx.collectivite.slug, d.slug)).into_response(),
        ),
        None => {
            errors.add("titre", "Ce titre est celui d'un jeu de données produit par la plateforme : choisissez-en un autre.");
            render(&state, &visitor, &ctx, typed, errors, None, None).await
        }
    }
}
