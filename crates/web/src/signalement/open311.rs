//! Open311 GeoReport v2 at `/open311/v2/`: discovery, services, service definitions, service
//! requests (POST with an API key of the collectivité, GET with the spec's filters), one
//! request, the request id from a token. Every answer in JSON or XML as the file extension
//! says; errors in the spec's format. `jurisdiction_id` is the collectivité's SIREN (its slug is
//! accepted too). Service codes are the categories of signalements.

use crate::form::Fields;
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use guichet_domain::open311::{parse_datetime, parse_request, split_format, status, Error, Format};
use guichet_domain::signalement::State as SState;
use guichet_store::collectivite::{self, Collectivite};
use guichet_store::signalement::{self as store, Category, NewReport, Signalement};
use guichet_store::trace::Trace;
use quick_xml::events::{BytesDecl, BytesText, Event};
use quick_xml::Writer;
use std::collections::HashMap;

/// One record: its fields in order, absent values written as empty (XML) or null (JSON).
type Record = Vec<(&'static str, Option<String>)>;

fn render(
    format: Format,
    list: &str,
    item: &str,
    records: &[Record],
    status_code: StatusCode,
) -> Response {
    match format {
        Format::Json => {
            let array: Vec<serde_json::Value> = records
                .iter()
                .map(|r| {
                    serde_json::Value::Object(
                        r.iter()
                            .map(|(k, v)| {
                                (
                                    k.to_string(),
                                    v.clone()
                                        .map_or(serde_json::Value::Null, |s| json_value(k, s)),
                                )
                            })
                            .collect(),
                    )
                })
                .collect();
            (
                status_code,
                [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
                serde_json::Value::Array(array).to_string(),
            )
                .into_response()
        }
        Format::Xml => {
            let mut w = Writer::new(Vec::new());
            let _ = w.write_event(Event::Decl(BytesDecl::new("1.0", Some("utf-8"), None)));
            let _ = w.create_element(list).write_inner_content(|w| {
                for r in records {
                    w.create_element(item).write_inner_content(|w| {
                        for (k, v) in r {
                            w.create_element(*k)
                                .write_text_content(BytesText::new(v.as_deref().unwrap_or("")))?;
                        }
                        Ok(())
                    })?;
                }
                Ok(())
            });
            (
                status_code,
                [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
                w.into_inner(),
            )
                .into_response()
        }
    }
}

/// Numbers and booleans as JSON numbers and booleans, where the spec has them.
fn json_value(key: &str, s: String) -> serde_json::Value {
    match key {
        "lat" | "long" => s
            .parse::<f64>()
            .map(serde_json::Value::from)
            .unwrap_or(serde_json::Value::String(s)),
        "metadata" | "variable" | "required" => serde_json::Value::Bool(s == "true"),
        "order" | "code" => s
            .parse::<i64>()
            .map(serde_json::Value::from)
            .unwrap_or(serde_json::Value::String(s)),
        _ => serde_json::Value::String(s),
    }
}

fn error(format: Format, e: Error) -> Response {
    let code = StatusCode::from_u16(e.code).unwrap_or(StatusCode::BAD_REQUEST);
    render(
        format,
        "errors",
        "error",
        &[vec![
            ("code", Some(e.code.to_string())),
            ("description", Some(e.description)),
        ]],
        code,
    )
}

fn err(code: u16, description: &str) -> Error {
    Error {
        code,
        description: description.to_string(),
    }
}

/// The answer to a file name with another extension than .json or .xml.
fn unknown_format() -> Response {
    error(Format::Json, err(404, "format inconnu : .json ou .xml"))
}

/// The preamble of an answer about one jurisdiction: the format the file's extension names, the
/// collectivité `jurisdiction_id` names, and any failure answered in the spec's error format.
async fn in_jurisdiction(
    state: &AppState,
    file: &str,
    q: &HashMap<String, String>,
    answer: impl AsyncFnOnce(&str, Format, Collectivite) -> anyhow::Result<Response>,
) -> Response {
    let Some((name, format)) = split_format(file) else {
        return unknown_format();
    };
    let result: anyhow::Result<Response> = async {
        match jurisdiction(state, q.get("jurisdiction_id").map(String::as_str)).await? {
            Ok(t) => answer(name, format, t).await,
            Err(e) => Ok(error(format, e)),
        }
    }
    .await;
    result.unwrap_or_else(|e| {
        tracing::error!(error = format!("{e:#}"), "open311");
        error(format, err(500, "erreur interne"))
    })
}

async fn jurisdiction(
    state: &AppState,
    id: Option<&str>,
) -> anyhow::Result<Result<Collectivite, Error>> {
    let Some(id) = id.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(Err(err(
            400,
            "jurisdiction_id manquant : le SIREN de la collectivité",
        )));
    };
    Ok(collectivite::list(&state.db)
        .await?
        .into_iter()
        .find(|t| t.siren.as_deref() == Some(id) || t.slug == id)
        .ok_or_else(|| err(404, "jurisdiction_id inconnu")))
}

pub async fn root(
    State(state): State<AppState>,
    Path(file): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Some((name, format)) = split_format(&file) else {
        return unknown_format();
    };
    let result = match name {
        "discovery" => Ok(discovery(&state, format)),
        "services" => services(&state, format, &q).await,
        "requests" => requests(&state, format, &q).await,
        _ => Ok(error(format, err(404, "ressource inconnue"))),
    };
    result.unwrap_or_else(|e| {
        tracing::error!(error = format!("{e:#}"), "open311");
        error(format, err(500, "erreur interne"))
    })
}

fn discovery(state: &AppState, format: Format) -> Response {
    let endpoint = state.config.link("/open311/v2/");
    let record = vec![
        ("changeset", Some("2026-11-23T00:00:00Z".into())),
        ("contact", Some("L'opérateur de la plateforme Guichet".into())),
        ("key_service", Some("Clé api_key délivrée par un administrateur de la collectivité (page Jetons d'API, droit « open311 »)".into())),
        ("specification", Some("http://wiki.open311.org/GeoReport_v2".into())),
        ("url", Some(endpoint)),
        ("type", Some("production".into())),
        ("formats", Some("application/json, text/xml".into())),
    ];
    match format {
        Format::Json => {
            let body = serde_json::json!({
                "changeset": record[0].1, "contact": record[1].1, "key_service": record[2].1,
                "endpoints": [{"specification": record[3].1, "url": record[4].1, "changeset": record[0].1, "type": "production", "formats": ["application/json", "text/xml"]}]
            });
            (
                [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
                body.to_string(),
            )
                .into_response()
        }
        Format::Xml => render(format, "discovery", "endpoint", &[record], StatusCode::OK),
    }
}

fn service_record(c: &Category) -> Record {
    vec![
        ("service_code", Some(c.code.clone())),
        ("service_name", Some(c.label.clone())),
        ("description", Some(c.label.clone())),
        (
            "metadata",
            Some((c.road || !c.questions.is_empty()).to_string()),
        ),
        ("type", Some("realtime".into())),
        ("keywords", Some(c.competence.clone())),
        ("group", Some(c.competence.clone())),
    ]
}

async fn services(
    state: &AppState,
    format: Format,
    q: &HashMap<String, String>,
) -> anyhow::Result<Response> {
    let t = match jurisdiction(state, q.get("jurisdiction_id").map(String::as_str)).await? {
        Ok(t) => t,
        Err(e) => return Ok(error(format, e)),
    };
    let records: Vec<Record> = store::for_collectivite(&state.db, t.id)
        .await?
        .iter()
        .map(service_record)
        .collect();
    Ok(render(
        format,
        "services",
        "service",
        &records,
        StatusCode::OK,
    ))
}

/// A service's definition: its attributes (the road kind for road categories, the extra questions).
pub async fn service_definition(
    State(state): State<AppState>,
    Path(file): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    in_jurisdiction(&state, &file, &q, async |code, format, t| {
        let Some(c) = store::for_collectivite(&state.db, t.id).await?.into_iter().find(|c| c.code == code) else {
            return Ok(error(format, err(404, "service_code inconnu")));
        };
        let mut attributes = Vec::new();
        if c.road {
            attributes.push(serde_json::json!({
                "variable": true, "code": "voie", "datatype": "singlevaluelist", "required": true, "datatype_description": "Le type de route",
                "order": 1, "description": "Le problème est sur",
                "values": guichet_domain::signalement::RoadKind::ALL.iter().map(|r| serde_json::json!({"key": r.code(), "name": r.label()})).collect::<Vec<_>>()
            }));
        }
        for (i, question) in c.questions.iter().enumerate() {
            attributes.push(serde_json::json!({"variable": true, "code": format!("q{}", i + 1), "datatype": "string", "required": false, "datatype_description": "", "order": i + 2, "description": question}));
        }
        Ok(match format {
            Format::Json => ([(header::CONTENT_TYPE, "application/json; charset=utf-8")], serde_json::json!({"service_code": c.code, "attributes": attributes}).to_string()).into_response(),
            Format::Xml => {
                let mut w = Writer::new(Vec::new());
                w.write_event(Event::Decl(BytesDecl::new("1.0", Some("utf-8"), None)))?;
                w.create_element("service_definition").write_inner_content(|w| {
                    w.create_element("service_code").write_text_content(BytesText::new(&c.code))?;
                    w.create_element("attributes").write_inner_content(|w| {
                        for a in &attributes {
                            w.create_element("attribute").write_inner_content(|w| {
                                for key in ["variable", "code", "datatype", "required", "datatype_description", "order", "description"] {
                                    let v = match &a[key] {
                                        serde_json::Value::String(s) => s.clone(),
                                        other => other.to_string(),
                                    };
                                    w.create_element(key).write_text_content(BytesText::new(&v))?;
                                }
                                if let Some(values) = a["values"].as_array() {
                                    w.create_element("values").write_inner_content(|w| {
                                        for v in values {
                                            w.create_element("value").write_inner_content(|w| {
                                                w.create_element("key").write_text_content(BytesText::new(v["key"].as_str().unwrap_or("")))?;
                                                w.create_element("name").write_text_content(BytesText::new(v["name"].as_str().unwrap_or("")))?;
                                                Ok(())
                                            })?;
                                        }
                                        Ok(())
                                    })?;
                                }
                                Ok(())
                            })?;
                        }
                        Ok(())
                    })?;
                    Ok(())
                })?;
                ([(header::CONTENT_TYPE, "text/xml; charset=utf-8")], w.into_inner()).into_response()
            }
        })
    })
    .await
}

/// The categories by id, read once per answer.
async fn categories_by_id(state: &AppState) -> anyhow::Result<HashMap<i64, Category>> {
    Ok(store::all_categories(&state.db)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect())
}

/// A request as the spec shows it; `agency` is the jurisdiction's name (every request listed
/// belongs to it).
async fn request_record(
    state: &AppState,
    s: &Signalement,
    categories: &HashMap<i64, Category>,
    agency: &str,
) -> anyhow::Result<Record> {
    let category = categories.get(&s.category_id);
    let last_note = store::history(&state.db, s.id)
        .await?
        .into_iter()
        .rev()
        .find_map(|e| e.body.filter(|b| !b.is_empty()));
    let media = store::photos(&state.db, s.id)
        .await?
        .first()
        .map(|p| state.config.link(&format!("/signalements/photos/{p}")));
    Ok(vec![
        ("service_request_id", Some(s.number.clone())),
        ("status", Some(status(s.state).to_string())),
        ("status_notes", last_note),
        ("service_name", category.map(|c| c.label.clone())),
        ("service_code", category.map(|c| c.code.clone())),
        ("description", Some(s.description.clone())),
        ("agency_responsible", Some(agency.to_string())),
        ("service_notice", None),
        (
            "requested_datetime",
            Some(guichet_store::rfc3339(s.created_at)),
        ),
        (
            "updated_datetime",
            Some(guichet_store::rfc3339(s.updated_at)),
        ),
        ("expected_datetime", None),
        ("address", Some(s.address.clone())),
        ("address_id", None),
        ("zipcode", None),
        ("lat", s.position.map(|p| p.0.to_string())),
        ("long", s.position.map(|p| p.1.to_string())),
        ("media_url", media),
    ])
}

async fn requests(
    state: &AppState,
    format: Format,
    q: &HashMap<String, String>,
) -> anyhow::Result<Response> {
    let t = match jurisdiction(state, q.get("jurisdiction_id").map(String::as_str)).await? {
        Ok(t) => t,
        Err(e) => return Ok(error(format, e)),
    };
    let date = |key: &str| -> Result<Option<i64>, Error> {
        match q.get(key).map(String::as_str).filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(s) => parse_datetime(s).map(Some).ok_or_else(|| {
                err(
                    400,
                    &format!(
                        "{key} invalide : date au format W3C, par exemple 2026-11-01T00:00:00Z"
                    ),
                )
            }),
        }
    };
    let (start, end) = match (date("start_date"), date("end_date")) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return Ok(error(format, e)),
    };
    let wanted_status = q
        .get("status")
        .map(String::as_str)
        .filter(|s| !s.is_empty());
    if wanted_status.is_some_and(|s| s.split(',').any(|x| x != "open" && x != "closed")) {
        return Ok(error(format, err(400, "status vaut open ou closed")));
    }
    let categories = categories_by_id(state).await?;
    let ids: Option<Vec<&str>> = q
        .get("service_request_id")
        .map(|s| s.split(',').map(str::trim).collect());
    let service_codes: Option<Vec<&str>> = q
        .get("service_code")
        .filter(|s| !s.is_empty())
        .map(|s| s.split(',').map(str::trim).collect());
    // Without dates, the last 90 days, as the spec says; at most 1000 requests.
    let now = guichet_store::now_ms();
    let from = start.unwrap_or(if ids.is_some() {
        0
    } else {
        now - 90 * 86_400_000
    });
    let to = end.unwrap_or(i64::MAX);
    let mut records = Vec::new();
    for s in store::of_collectivite(&state.db, t.id, None, 500).await? {
        if !s.state.is_public() || s.created_at < from || s.created_at > to {
            continue;
        }
        if ids
            .as_ref()
            .is_some_and(|ids| !ids.contains(&s.number.as_str()))
        {
            continue;
        }
        if service_codes.as_ref().is_some_and(|c| {
            !categories
                .get(&s.category_id)
                .is_some_and(|cat| c.contains(&cat.code.as_str()))
        }) {
            continue;
        }
        if wanted_status.is_some_and(|w| !w.split(',').any(|x| x == status(s.state))) {
            continue;
        }
        records.push(request_record(state, &s, &categories, &t.name).await?);
        if records.len() == 1000 {
            break;
        }
    }
    Ok(render(
        format,
        "service_requests",
        "request",
        &records,
        StatusCode::OK,
    ))
}

pub async fn one_request(
    State(state): State<AppState>,
    Path(file): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    in_jurisdiction(&state, &file, &q, async |id, format, t| {
        let Some(s) = store::by_number(&state.db, id)
            .await?
            .filter(|s| s.tenant_id == t.id && s.state.is_public())
        else {
            return Ok(error(format, err(404, "service_request_id inconnu")));
        };
        let categories = categories_by_id(&state).await?;
        let record = request_record(&state, &s, &categories, &t.name).await?;
        Ok(render(
            format,
            "service_requests",
            "request",
            &[record],
            StatusCode::OK,
        ))
    })
    .await
}

/// The request created for a token. Requests are created at once, so the token is the request's
/// own number.
pub async fn token(
    State(state): State<AppState>,
    Path(file): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    in_jurisdiction(&state, &file, &q, async |token, format, t| {
        // A report not public (awaiting its confirmation or a moderator, or rejected) answers
        // exactly as an unknown token: the endpoint does not confirm it exists.
        let Some(s) = store::by_number(&state.db, token)
            .await?
            .filter(|s| s.tenant_id == t.id && s.state.is_public())
        else {
            return Ok(error(format, err(404, "token inconnu")));
        };
        Ok(render(
            format,
            "service_requests",
            "request",
            &[vec![
                ("service_request_id", Some(s.number.clone())),
                ("token", Some(s.number)),
            ]],
            StatusCode::OK,
        ))
    })
    .await
}

/// POST a service request, with an API key of the collectivité (scope "open311").
pub async fn create(
    State(state): State<AppState>,
    visitor: crate::auth::Visitor,
    Path(file): Path<String>,
    body: String,
) -> Response {
    let Some((name, format)) = split_format(&file) else {
        return unknown_format();
    };
    if name != "requests" {
        return error(format, err(404, "ressource inconnue"));
    }
    let result: anyhow::Result<Response> = async {
        let pairs = Fields::parse(&body).0;
        let r = match parse_request(&pairs) {
            Ok(r) => r,
            Err(e) => return Ok(error(format, e)),
        };
        let Some(key) = guichet_store::jeton::authenticate(&state.db, &r.api_key).await?.filter(|k| guichet_domain::role::token_allows(&k.scopes, &k.owner_roles, "open311")) else {
            return Ok(error(format, err(403, "api_key invalide ou sans le droit open311")));
        };
        let Some(t) = collectivite::by_id(&state.db, key.tenant_id).await? else {
            return Ok(error(format, err(403, "api_key invalide")));
        };
        if let Some(j) = &r.jurisdiction_id {
            if t.siren.as_deref() != Some(j.as_str()) && &t.slug != j {
                return Ok(error(format, err(403, "cette api_key n'est pas celle de ce jurisdiction_id")));
            }
        }
        let Some(category) = store::for_collectivite(&state.db, t.id).await?.into_iter().find(|c| c.code == r.service_code) else {
            return Ok(error(format, err(404, "service_code inconnu")));
        };
        // The commune: the collectivité itself, else the one the point is in (contours imported),
        // else the postal code in the address.
        let located = match r.position {
            Some((lat, lon)) => guichet_store::territoire::commune_at(&state.db, lat, lon).await?,
            None => None,
        };
        let commune = if t.entity_kind == guichet_domain::territoire::EntityKind::Commune {
            Some(t.entity_code.clone())
        } else if located.is_some() {
            located.clone()
        } else {
            let code = r.address.as_deref().unwrap_or("").split(|c: char| !c.is_ascii_alphanumeric()).find(|w| w.len() == 5 && w.chars().all(|c| c.is_ascii_digit())).map(str::to_string);
            match code {
                Some(c) => match crate::recherche::resolve_commune(&state, &c).await? {
                    Ok(p) => Some(p.insee),
                    Err(_) => None,
                },
                None => None,
            }
        };
        let Some(commune) = commune else {
            return Ok(error(format, err(400, "commune introuvable : indiquez le code postal dans address_string")));
        };
        // A key files reports on its collectivité's territory only: a point elsewhere, or a
        // commune it does not cover, is refused (it would be published on another's page).
        let point_elsewhere = t.entity_kind == guichet_domain::territoire::EntityKind::Commune
            && located.as_deref().is_some_and(|l| l != t.entity_code);
        let covered = match crate::recherche::catalogue::place(&state, &commune).await? {
            Some(place) => crate::recherche::catalogue::collectivite_covers(&t, &place.chain),
            None => false,
        };
        if point_elsewhere || !covered {
            return Ok(error(format, err(403, "ce lieu est hors du territoire de la collectivité de cette api_key")));
        }
        let road = r.attributes.iter().find(|(k, _)| k == "voie").and_then(|(_, v)| guichet_domain::signalement::RoadKind::from_code(v));
        if category.road && road.is_none() {
            return Ok(error(format, err(400, "attribute[voie] requis pour ce service : communale, departementale ou nationale")));
        }
        // Answers to the extra questions: attribute[q1], attribute[q2]…
        let mut answers = Vec::new();
        for (i, question) in category.questions.iter().enumerate() {
            let code = format!("q{}", i + 1);
            let Some(answer) = r.attributes.iter().find(|(k, _)| *k == code).map(|(_, v)| v.trim()).filter(|v| !v.is_empty()) else {
                continue;
            };
            if answer.chars().count() > guichet_domain::signalement::MAX_ANSWER_CHARS {
                return Ok(error(format, err(400, &format!("attribute[{code}] : {} caractères au plus", guichet_domain::signalement::MAX_ANSWER_CHARS))));
            }
            answers.push((question.clone(), answer.to_string()));
        }
        let description = if r.description.is_empty() { category.label.clone() } else { r.description.clone() };
        let event = guichet_domain::journal::Event {
            tenant_id: Some(t.id),
            actor_id: Some(key.user_id),
            actor: format!("application Open311 « {} »", key.name),
            on_behalf_of: None,
            action: "signalement.creation".into(),
            object_type: Some("signalement".into()),
            object_id: None,
            ip: None,
            details: serde_json::json!({"canal": "open311", "service_code": category.code}).to_string(),
        };
        let (config, label) = (state.config.clone(), category.label.clone());
        let s = store::report(&state.db, &state.config.files, NewReport {
            tenant_id: t.id,
            category_id: category.id,
            competence: road.map(|x| x.competence().to_string()).unwrap_or_else(|| category.competence.clone()),
            commune_insee: commune,
            address: r.address.clone().unwrap_or_default(),
            position: r.position,
            road_kind: road.map(|x| x.code().to_string()),
            road_number: None,
            description,
            answers,
            reporter_user_id: None,
            reporter_email: None,
            state: if category.moderated { SState::AModerer } else { SState::Nouveau },
            confirm_token_hash: None,
            ip: None,
        }, Vec::new(), move |s, audience| {
            Trace::of(crate::signalement::on(event, s))
                .mails(crate::signalement::public_news(&config, s, audience, &label, None))
        }).await?;
        // The address a client gives is the reporter's to confirm, within the same limits as
        // "moi aussi": an application cannot subscribe anyone.
        if let Some(email) = r.email.as_deref().and_then(|e| guichet_store::compte::normalize_email(e).ok()) {
            let token = guichet_store::secret::random_token();
            let (config, followed, to, link) = (state.config.clone(), s.clone(), email.clone(), token.clone());
            store::follow(&state.db, s.id, &email, false, visitor.ip.as_deref(), &token, move |outcome| match outcome {
                store::Follow::Pending => Trace::default().mail(crate::signalement::mails::confirm_follow(&config, &followed, &to, &link)),
                _ => Trace::default(),
            }).await?;
        }
        Ok(render(format, "service_requests", "request", &[vec![
            ("service_request_id", Some(s.number.clone())),
            ("service_notice", Some(format!("Transmis à {}", t.name))),
            ("account_id", None),
        ]], StatusCode::CREATED))
    }
    .await;
    result.unwrap_or_else(|e| {
        tracing::error!(error = format!("{e:#}"), "open311");
        error(format, err(500, "erreur interne"))
    })
}
