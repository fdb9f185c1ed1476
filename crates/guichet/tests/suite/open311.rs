//! Open311 GeoReport v2 against the running server: every endpoint in JSON and XML, and every
//! error case (bad key, unknown service, missing location, bad dates), as a client sees them.

use crate::personas;
use crate::support::TestServer;
use guichet_domain::role::Role;

/// Parses an XML answer (it must be well-formed) and returns the texts of the elements named.
fn xml_texts(xml: &str, element: &str) -> Vec<String> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut out = Vec::new();
    let mut inside = false;
    loop {
        match reader.read_event().expect("well-formed XML") {
            quick_xml::events::Event::Start(e) => inside = e.name().as_ref() == element,
            quick_xml::events::Event::Text(t) if inside => out.push(t.into_inner().into_owned()),
            quick_xml::events::Event::End(_) => inside = false,
            quick_xml::events::Event::Eof => break,
            _ => {}
        }
    }
    out
}

#[tokio::test]
async fn every_open311_endpoint_in_json_and_xml_with_its_errors() {
    let s = TestServer::start().await;
    let t = personas::collectivites(&s).await;
    let admin = personas::agent(&s, "admin@dijon.fr", &t.dijon, Role::Admin).await;
    let (_, key) = guichet_store::jeton::create(
        s.db(),
        t.dijon.id,
        admin.user_id,
        "Application FixMyStreet",
        &["open311".to_string()],
        365,
        Default::default(),
    )
    .await
    .expect("key");
    let (_, reader_key) = guichet_store::jeton::create(
        s.db(),
        t.dijon.id,
        admin.user_id,
        "Lecture",
        &["dossiers:lecture".to_string()],
        365,
        Default::default(),
    )
    .await
    .expect("key");
    let siren = t.dijon.siren.clone().expect("Dijon's SIREN");
    let http = reqwest::Client::new();
    let get = |path: String| {
        let http = http.clone();
        let url = format!("{}{path}", s.base);
        async move {
            let r = http.get(url).send().await.expect("GET");
            let status = r.status().as_u16();
            let ct = r
                .headers()
                .get("content-type")
                .map(|v| v.to_str().unwrap_or("").to_string())
                .unwrap_or_default();
            (status, ct, r.text().await.expect("body"))
        }
    };
    let post = |path: &'static str, form: Vec<(&'static str, String)>| {
        let http = http.clone();
        let url = format!("{}{path}", s.base);
        async move {
            let r = http.post(url).form(&form).send().await.expect("POST");
            let status = r.status().as_u16();
            (status, r.text().await.expect("body"))
        }
    };

    // Discovery.
    let (status, ct, body) = get("/open311/v2/discovery.json".into()).await;
    assert_eq!((status, ct.starts_with("application/json")), (200, true));
    let d: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert!(d["endpoints"][0]["url"]
        .as_str()
        .expect("url")
        .ends_with("/open311/v2/"));
    let (status, ct, body) = get("/open311/v2/discovery.xml".into()).await;
    assert_eq!((status, ct.starts_with("text/xml")), (200, true));
    assert_eq!(
        xml_texts(&body, "specification"),
        vec!["http://wiki.open311.org/GeoReport_v2"]
    );

    // Services and a definition.
    let (status, _, body) = get(format!("/open311/v2/services.json?jurisdiction_id={siren}")).await;
    assert_eq!(status, 200);
    let services: serde_json::Value = serde_json::from_str(&body).expect("json");
    let codes: Vec<&str> = services
        .as_array()
        .expect("array")
        .iter()
        .map(|x| x["service_code"].as_str().expect("code"))
        .collect();
    assert!(codes.contains(&"eclairage_public") && codes.contains(&"chaussee_degradee"));
    let (_, _, body) = get(format!("/open311/v2/services.xml?jurisdiction_id={siren}")).await;
    assert!(xml_texts(&body, "service_code").contains(&"eclairage_public".to_string()));
    let (status, _, body) = get(format!(
        "/open311/v2/services/chaussee_degradee.json?jurisdiction_id={siren}"
    ))
    .await;
    assert_eq!(status, 200);
    let def: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(def["attributes"][0]["code"], "voie");
    assert_eq!(def["attributes"][0]["values"][1]["key"], "departementale");
    let (_, _, body) = get(format!(
        "/open311/v2/services/chaussee_degradee.xml?jurisdiction_id={siren}"
    ))
    .await;
    assert_eq!(xml_texts(&body, "code"), vec!["voie"]);
    for format in ["json", "xml"] {
        let (status, _, body) = get(format!(
            "/open311/v2/services/inconnu.{format}?jurisdiction_id={siren}"
        ))
        .await;
        assert_eq!(status, 404, "unknown service");
        assert!(body.contains("service_code inconnu"));
        let (status, _, _) = get(format!("/open311/v2/services.{format}")).await;
        assert_eq!(status, 400, "jurisdiction_id missing");
        let (status, _, _) = get(format!(
            "/open311/v2/services.{format}?jurisdiction_id=000000000"
        ))
        .await;
        assert_eq!(status, 404, "unknown jurisdiction");
    }

    // POST a request: errors first, each in the spec's format.
    let base = |code: &str| {
        vec![
            ("jurisdiction_id", siren.clone()),
            ("service_code", code.to_string()),
            ("lat", "47.32226".to_string()),
            ("long", "5.03186".to_string()),
            ("address_string", "Place Darcy, 21000 Dijon".to_string()),
            ("description", "Lampadaire éteint.".to_string()),
        ]
    };
    let mut bad_key = base("eclairage_public");
    bad_key.push(("api_key", "gch_faux".into()));
    let (status, body) = post("/open311/v2/requests.json", bad_key).await;
    assert_eq!(status, 403);
    let e: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(e[0]["code"], 403);
    let mut wrong_scope = base("eclairage_public");
    wrong_scope.push(("api_key", reader_key.clone()));
    assert_eq!(
        post("/open311/v2/requests.xml", wrong_scope).await.0,
        403,
        "a key without the open311 right"
    );
    let mut unknown = base("inconnu");
    unknown.push(("api_key", key.clone()));
    let (status, body) = post("/open311/v2/requests.xml", unknown).await;
    assert_eq!(status, 404);
    assert_eq!(xml_texts(&body, "code"), vec!["404"]);
    let (status, body) = post(
        "/open311/v2/requests.json",
        vec![
            ("api_key", key.clone()),
            ("service_code", "eclairage_public".into()),
            ("description", "Sans lieu".into()),
        ],
    )
    .await;
    assert_eq!(status, 400);
    assert!(body.contains("localisation manquante"), "{body}");
    let mut road = base("chaussee_degradee");
    road.push(("api_key", key.clone()));
    let (status, body) = post("/open311/v2/requests.json", road.clone()).await;
    assert_eq!(status, 400, "a road service needs its attribute");
    assert!(body.contains("attribute[voie]"));

    // Then good ones, in both formats.
    let mut good = base("eclairage_public");
    good.push(("api_key", key.clone()));
    good.push(("email", "habitant@exemple.fr".into()));
    let (status, body) = post("/open311/v2/requests.json", good.clone()).await;
    assert_eq!(status, 201, "{body}");
    let created: serde_json::Value = serde_json::from_str(&body).expect("json");
    let id = created[0]["service_request_id"]
        .as_str()
        .expect("id")
        .to_string();
    road.push(("attribute[voie]", "communale".into()));
    let (status, body) = post("/open311/v2/requests.xml", road).await;
    assert_eq!(status, 201, "{body}");
    let id2 = xml_texts(&body, "service_request_id").pop().expect("id");

    // GET the requests, with the spec's filters.
    let (status, _, body) = get(format!("/open311/v2/requests.json?jurisdiction_id={siren}")).await;
    assert_eq!(status, 200);
    let all: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(all.as_array().expect("array").len(), 2);
    let one = all
        .as_array()
        .expect("array")
        .iter()
        .find(|r| r["service_request_id"] == id.as_str())
        .expect("found");
    assert_eq!(one["status"], "open");
    assert_eq!(one["service_code"], "eclairage_public");
    assert_eq!(one["lat"], 47.32226);
    assert_eq!(one["agency_responsible"], "Dijon");
    assert!(!body.contains("habitant@exemple.fr"), "no personal data");
    let (_, _, body) = get(format!(
        "/open311/v2/requests.json?jurisdiction_id={siren}&service_code=chaussee_degradee"
    ))
    .await;
    let filtered: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(filtered.as_array().expect("array").len(), 1);
    assert_eq!(filtered[0]["service_request_id"], id2.as_str());
    let (_, _, body) = get(format!(
        "/open311/v2/requests.xml?jurisdiction_id={siren}&status=closed"
    ))
    .await;
    assert!(
        xml_texts(&body, "service_request_id").is_empty(),
        "none closed"
    );
    let (_, _, body) = get(format!(
        "/open311/v2/requests.xml?jurisdiction_id={siren}&service_request_id={id},{id2}"
    ))
    .await;
    assert_eq!(xml_texts(&body, "service_request_id").len(), 2);
    let (_, _, body) = get(format!(
        "/open311/v2/requests.json?jurisdiction_id={siren}&start_date=2099-01-01T00:00:00Z"
    ))
    .await;
    assert_eq!(body, "[]");
    for format in ["json", "xml"] {
        let (status, _, body) = get(format!(
            "/open311/v2/requests.{format}?jurisdiction_id={siren}&start_date=hier"
        ))
        .await;
        assert_eq!(status, 400, "bad date");
        assert!(body.contains("start_date invalide"));
        let (status, _, _) = get(format!(
            "/open311/v2/requests.{format}?jurisdiction_id={siren}&end_date=2026-13-45"
        ))
        .await;
        assert_eq!(status, 400);
        let (status, _, _) = get(format!(
            "/open311/v2/requests.{format}?jurisdiction_id={siren}&status=peut-etre"
        ))
        .await;
        assert_eq!(status, 400);
    }

    // One request, and the id from a token.
    let (status, _, body) = get(format!(
        "/open311/v2/requests/{id}.json?jurisdiction_id={siren}"
    ))
    .await;
    assert_eq!(status, 200);
    let r: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(r[0]["service_request_id"], id.as_str());
    let (_, _, body) = get(format!(
        "/open311/v2/requests/{id}.xml?jurisdiction_id={siren}"
    ))
    .await;
    assert_eq!(xml_texts(&body, "status"), vec!["open"]);
    let (status, _, _) = get(format!(
        "/open311/v2/requests/S1999-000000.json?jurisdiction_id={siren}"
    ))
    .await;
    assert_eq!(status, 404);
    let (status, _, body) = get(format!(
        "/open311/v2/tokens/{id}.json?jurisdiction_id={siren}"
    ))
    .await;
    assert_eq!(status, 200);
    assert!(body.contains(&id));
    let (status, _, body) = get(format!(
        "/open311/v2/tokens/inconnu.xml?jurisdiction_id={siren}"
    ))
    .await;
    assert_eq!(status, 404);
    assert_eq!(xml_texts(&body, "code"), vec!["404"]);
    let (status, _, _) = get("/open311/v2/services.html".into()).await;
    assert_eq!(status, 404, "unknown format");
}
