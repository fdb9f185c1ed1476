//! Open data as a re-user and a harvester meet it: the portal, the files of each dataset checked
//! by frictionless against their published Table Schema, the DCAT-AP catalogue checked by pyshacl
//! against the official shapes (JSON-LD and Turtle), content negotiation and Hydra paging,
//! versions only when the content changes, small counts and personal data kept out.

use crate::personas;
use crate::support::{paris_ms, TestServer};
use guichet_domain::demarche::Definition;
use guichet_domain::signalement::State;
use guichet_store::signalement as reports;

const COMPOSTEUR: &str = r#"{
  "title": "Demande de composteur",
  "description": "Recevoir un composteur individuel.",
  "competence": "dechets",
  "deadline": {"amount": 2, "unit": "mois"},
  "tacit_rule": "accord",
  "retention_months": 12,
  "pages": [{"title": "Vous", "fields": [
    {"id": "nom", "label": "Nom", "type": "short_text", "required": true}
  ]}]
}"#;

fn shared(path: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/opendata")
        .join(path)
}

/// `dossiers` deposited on `day` for the démarche, `accepted` of them accepted.
async fn deposited(
    s: &TestServer,
    tenant: i64,
    demarche: i64,
    at: i64,
    count: usize,
    accepted: usize,
) {
    for i in 0..count {
        let state = if i < accepted { "accepte" } else { "depose" };
        sqlx::query(
            "INSERT INTO dossiers (tenant_id, number, demarche_id, version, state, answers, applicant_name, applicant_folded, created_at, updated_at, submitted_at)
             VALUES ($1, $2, $3, 1, $4, '{}', 'Camille Martin', 'camille martin', $5, $5, $5)",
        )
        .bind(tenant)
        .bind(format!("T-{demarche}-{at}-{i}"))
        .bind(demarche)
        .bind(state)
        .bind(at + i as i64)
        .execute(s.db().pool())
        .await
        .expect("dossier");
    }
}

async fn report(s: &TestServer, tenant: i64, state: State, description: &str) {
    let db = s.db();
    let category = reports::categories(db).await.expect("c").remove(0);
    reports::create(
        db,
        &reports::NewReport {
            tenant_id: tenant,
            category_id: category.id,
            competence: category.competence.clone(),
            commune_insee: "21231".into(),
            address: "12 rue des Godrans".into(),
            position: Some((47.322_047_9, 5.041_48)),
            road_kind: None,
            road_number: None,
            description: description.into(),
            answers: Vec::new(),
            reporter_user_id: None,
            reporter_email: Some("camille.martin@exemple.fr".into()),
            state,
            confirm_token_hash: None,
            ip: None,
        },
    )
    .await
    .expect("report");
}

/// Runs a Python validator on files; its output when it fails.
pub(crate) fn python(script: &str, args: &[&std::path::Path]) -> (bool, String) {
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("python3");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

const PYSHACL: &str = r#"
import sys
from rdflib import Graph
from pyshacl import validate
shapes = Graph()
shapes.parse(sys.argv[1], format="turtle")
data = Graph()
data.parse(sys.argv[2], format=sys.argv[3])
conforms, _, text = validate(data, shacl_graph=shapes, inference="none")
print(text)
print("triples:", len(data))
sys.exit(0 if conforms else 1)
"#;

pub(crate) const FRICTIONLESS: &str = r#"
import json, os, sys
from frictionless import Resource, Schema
data, schema = sys.argv[1], sys.argv[2]
resource = Resource(path=os.path.basename(data), basepath=os.path.dirname(data),
                    schema=Schema.from_descriptor(json.load(open(schema))))
report = resource.validate()
print(report.to_summary() if not report.valid else "valid")
sys.exit(0 if report.valid else 1)
"#;

#[tokio::test]
async fn datasets_validate_against_their_schemas_and_the_catalogue_against_dcat_ap() {
    let s = TestServer::with(|c| c.worker = false).await;
    let t = personas::collectivites(&s).await;
    let db = s.db();
    let def = Definition::from_json(COMPOSTEUR).expect("definition");
    let d = crate::support::publish(db, t.dijon.id, &def).await;
    crate::support::publish(db, t.macon.id, &def).await;
    // November: 7 dossiers (3 accepted, a small count); December: 5, one of them at 00:30 on
    // 1 December in Paris, still 30 November in UTC; in March, 2 (suppressed).
    deposited(&s, t.dijon.id, d.id, paris_ms(2026, 11, 3, 10, 0), 7, 3).await;
    deposited(&s, t.dijon.id, d.id, paris_ms(2026, 12, 1, 0, 30), 1, 0).await;
    deposited(&s, t.dijon.id, d.id, paris_ms(2026, 12, 1, 10, 0), 4, 0).await;
    deposited(&s, t.dijon.id, d.id, paris_ms(2027, 3, 2, 10, 0), 2, 0).await;
    // Loaded directly into the database: the figures are rebuilt from it, as after a migration.
    guichet_store::pilotage::rebuild(db).await.expect("rebuild");
    report(
        &s,
        t.dijon.id,
        State::Nouveau,
        "Nid-de-poule devant chez Mme Martin",
    )
    .await;
    report(
        &s,
        t.dijon.id,
        State::AModerer,
        "Caché en attente de modération",
    )
    .await;

    let now = guichet_store::now_ms();
    let done = guichet_store::donnees::refresh(db, &s.base, now)
        .await
        .expect("refresh");
    // The platform's list of collectivités and four datasets for each of the three.
    assert_eq!(done.datasets, 13);
    assert_eq!(done.new_versions, 13);

    // The portal lists them, a re-user opens one and its files.
    let b = s.browser();
    let portal = b.get("/donnees").await;
    assert_eq!(portal.status, 200);
    for expected in [
        "Démarches en ligne — Dijon",
        "Signalements — Dijon",
        "Dossiers déposés par démarche et par mois — Mâcon",
    ] {
        assert!(portal.html.contains(expected), "{expected}");
    }
    let page = b.get("/donnees/dijon/signalements").await;
    assert_eq!(page.status, 200);
    assert!(page.html.contains("Licence Ouverte 2.0") && page.html.contains(".geojson"));

    // Every generated CSV validates with frictionless against the schema it declares.
    let dir = tempfile::tempdir().expect("tmp");
    // The files the portal links to, as a re-user follows them.
    let links: std::collections::BTreeSet<(String, String)> = portal
        .html
        .split("href=\"/donnees/")
        .skip(1)
        .filter_map(|rest| {
            let path = rest.split('"').next()?.strip_suffix(".csv")?;
            let (owner, slug) = path.split_once('/')?;
            Some((owner.to_string(), slug.to_string()))
        })
        .collect();
    let mut checked = 0;
    for (owner, slug) in &links {
        {
            let (status, csv) = s.get_text(&format!("/donnees/{owner}/{slug}.csv")).await;
            assert_eq!(status, 200, "{owner}/{slug}");
            let (_, schema) = s.get_text(&format!("/donnees/schemas/{slug}.json")).await;
            let data = dir.path().join(format!("{owner}-{slug}.csv"));
            let schema_file = dir.path().join(format!("{slug}.schema.json"));
            std::fs::write(&data, &csv).expect("write");
            std::fs::write(&schema_file, &schema).expect("write");
            let (ok, out) = python(FRICTIONLESS, &[&data, &schema_file]);
            assert!(ok, "{owner}/{slug} against its schema:\n{out}\n{csv}");
            checked += 1;
        }
    }
    assert_eq!(checked, 13, "every dataset's file was checked");

    // Small counts are blank; no personal data leaves in the signalements.
    let (_, monthly) = s.get_text("/donnees/dijon/dossiers-par-mois.csv").await;
    assert!(
        monthly.contains("2026-11,7,,0")
            && monthly.contains("2026-12,5,0,0")
            && monthly.contains("2027-03,,0,0"),
        "{monthly}"
    );
    // The observatoire's figures, by month and channel, from the aggregates.
    let (_, figures) = s.get_text("/donnees/dijon/indicateurs.csv").await;
    assert!(
        figures.contains("2026-11,en_ligne,7,0,0,0,0,0,0,0,0,")
            && figures.contains("2026-12,en_ligne,5,")
            && figures.contains("2027-03,en_ligne,,"),
        "{figures}"
    );
    let (_, signalements) = s.get_text("/donnees/dijon/signalements.csv").await;
    assert_eq!(
        signalements.lines().count(),
        2,
        "public reports only: {signalements}"
    );
    for private in ["Martin", "Godrans", "exemple.fr", "Caché"] {
        assert!(
            !signalements.contains(private),
            "{private} in {signalements}"
        );
    }
    assert!(signalements.contains("47.3220,5.0415"), "{signalements}");
    let geo: serde_json::Value =
        serde_json::from_str(&s.get_text("/donnees/dijon/signalements.geojson").await.1)
            .expect("GeoJSON");
    assert_eq!(geo["features"][0]["geometry"]["coordinates"][1], 47.322);

    // The catalogue, in both serialisations, conforms to the DCAT-AP 3.0.1 shapes. (The
    // shipped range shapes cannot be added: they name a property shape of dcat:Dataset that
    // neither file defines, which pyshacl rightly refuses.)
    let shapes = shared("dcat-ap-3.0.1-SHACL.ttl");
    for (path, format) in [
        ("/donnees/catalogue.ttl", "turtle"),
        ("/donnees/catalogue.jsonld", "json-ld"),
        ("/donnees/dijon/catalogue.ttl", "turtle"),
    ] {
        let (status, body) = s.get_text(path).await;
        assert_eq!(status, 200, "{path}");
        let file = dir.path().join("catalogue");
        std::fs::write(&file, &body).expect("write");
        let (ok, out) = python(PYSHACL, &[&shapes, &file, std::path::Path::new(format)]);
        assert!(ok, "{path} against DCAT-AP 3.0.1:\n{out}");
        assert!(body.contains("dcat") && body.contains("Dijon"), "{body}");
    }
    let (_, ttl) = s.get_text("/donnees/catalogue.ttl").await;
    assert!(
        ttl.contains("hydra:totalItems 13") || ttl.contains("\"13\"^^xsd:integer"),
        "{ttl}"
    );
    assert!(ttl.contains("/donnees/schemas/dossiers-par-mois.json"));
    assert!(ttl.contains("http://id.insee.fr/geo/commune/21231"));
    assert_eq!(s.get("/donnees/catalogue.ttl?page=2").await.status(), 404);

    // Content negotiation on /donnees/catalogue.
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let turtle = client
        .get(format!("{}/donnees/catalogue", s.base))
        .header("accept", "text/turtle")
        .send()
        .await
        .expect("GET");
    assert!(turtle.headers()["content-type"]
        .to_str()
        .expect("ct")
        .starts_with("text/turtle"));
    let browser = client
        .get(format!("{}/donnees/catalogue", s.base))
        .header("accept", "text/html,*/*")
        .send()
        .await
        .expect("GET");
    assert_eq!(browser.status(), 303);
}

#[tokio::test]
async fn a_new_version_only_when_the_content_changes_and_older_files_stay_downloadable() {
    let s = TestServer::with(|c| c.worker = false).await;
    let t = personas::collectivites(&s).await;
    let db = s.db();
    report(&s, t.dijon.id, State::Nouveau, "Lampadaire éteint").await;
    let now = guichet_store::now_ms();
    guichet_store::donnees::refresh(db, &s.base, now)
        .await
        .expect("refresh");
    let again = guichet_store::donnees::refresh(db, &s.base, now + 1000)
        .await
        .expect("refresh");
    assert_eq!(again.new_versions, 0, "nothing changed");

    report(&s, t.dijon.id, State::Nouveau, "Banc cassé").await;
    let third = guichet_store::donnees::refresh(db, &s.base, now + 2000)
        .await
        .expect("refresh");
    assert_eq!(third.new_versions, 1, "Dijon's signalements only");
    let page = s.browser().get("/donnees/dijon/signalements").await;
    assert!(page.html.contains("?version=1") && page.html.contains("?version=2"));
    let (_, first) = s
        .get_text("/donnees/dijon/signalements.csv?version=1")
        .await;
    let (_, latest) = s.get_text("/donnees/dijon/signalements.csv").await;
    assert_eq!(first.lines().count(), 2);
    assert_eq!(latest.lines().count(), 3);
    assert_eq!(
        s.get("/donnees/dijon/signalements.csv?version=9")
            .await
            .status(),
        404
    );
    assert_eq!(s.get("/donnees/dijon/inconnu.csv").await.status(), 404);
    assert_eq!(
        s.get("/donnees/nulle-part/signalements.csv").await.status(),
        404
    );
    assert_eq!(s.get("/donnees/dijon/signalements.exe").await.status(), 404);
}

const FRICTIONLESS_ERRORS: &str = r#"
import json, os, sys
from frictionless import Resource, Schema
data, schema = sys.argv[1], sys.argv[2]
resource = Resource(path=os.path.basename(data), basepath=os.path.dirname(data),
                    schema=Schema.from_descriptor(json.load(open(schema))))
report = resource.validate(limit_errors=10000)
print(json.dumps(report.flatten(["type", "rowNumber", "fieldNumber"])))
"#;

/// The same files judged by Guichet's Table Schema validation and by frictionless: the same
/// verdict, and the same problems at the same rows and fields.
#[test]
fn table_schema_validation_agrees_with_frictionless() {
    use guichet_domain::donnees::schema::Schema;
    let custom = serde_json::json!({
        "fields": [
            {"name": "CODE", "type": "string", "constraints": {"pattern": "[A-Z]{2}[0-9]{3}"}},
            {"name": "ANNEE", "type": "year"},
            {"name": "MOIS", "type": "yearmonth"},
            {"name": "ACTIF", "type": "boolean"},
            {"name": "COURRIEL", "type": "string", "format": "email"},
            {"name": "TAUX", "type": "number", "constraints": {"minimum": 0, "maximum": 100}},
            {"name": "NATURE", "type": "string", "constraints": {"enum": ["piscine", "stade"]}},
            {"name": "NB", "type": "integer", "constraints": {"unique": true}},
            {"name": "NOTE", "type": "string", "constraints": {"minLength": 2, "maxLength": 6}}
        ],
        "primaryKey": ["CODE"]
    });
    let deliberations: serde_json::Value = serde_json::from_slice(
        &std::fs::read(shared("scdl/deliberations.schema.json")).expect("SCDL"),
    )
    .expect("JSON");
    let header_d = "COLL_NOM,COLL_SIRET,DELIB_ID,DELIB_DATE,DELIB_MATIERE_CODE,DELIB_MATIERE_NOM,DELIB_OBJET,BUDGET_ANNEE,BUDGET_NOM,PREF_ID,PREF_DATE,VOTE_EFFECTIF,VOTE_REEL,VOTE_POUR,VOTE_CONTRE,VOTE_ABSTENTION,DELIB_URL";
    let cases: Vec<(&str, &serde_json::Value, String)> = vec![
        (
            "délibérations valides",
            &deliberations,
            format!("{header_d}\nDijon,21210231300015,2026-42,2026-11-17,7.1,Décisions budgétaires,Budget primitif 2027,2027,Budget principal,,,59,55,40,10,5,https://www.dijon.fr/deliberations/2026-42.pdf\nDijon,21210231300015,2026-43,2026-11-17,1.1,Marchés publics,Attribution du marché de voirie,,,,,59,55,55,0,0,\n"),
        ),
        (
            "délibérations fautives",
            &deliberations,
            format!("{header_d}\nDijon,2121023130001,2026-42,17/11/2026,71,Décisions budgétaires,,2027,Budget principal,,,59,55,quarante,10,5,pas une adresse\nDijon,21210231300015,2026-43,2026-11-17,1.1\n,,,,,,,,,,,,,,,,\nDijon,21210231300015,2026-44,2026-11-17,1.1,Marchés,Objet,,,,,1,1,1,0,0,,en trop\n"),
        ),
        (
            "en-tête fautif",
            &deliberations,
            "COLL_NOM,SIRET,DELIB_ID\nDijon,21210231300015,2026-42\n".to_string(),
        ),
        (
            "types et contraintes",
            &custom,
            "CODE,ANNEE,MOIS,ACTIF,COURRIEL,TAUX,NATURE,NB,NOTE\nAB123,2026,2026-11,true,a@b.fr,12.5,piscine,1,ok\nAB12,26,2026-13,oui,pas-un-courriel,101,golf,1,x\nAB123,2026,2026-01,0,c@d.fr,-1,stade,2,beaucoup trop\n,2026,2026-01,FALSE,c@d.fr,1e2,stade,x,ok\n".to_string(),
        ),
    ];
    let dir = tempfile::tempdir().expect("tmp");
    for (name, schema, csv) in cases {
        let data = dir.path().join("donnees.csv");
        let schema_file = dir.path().join("schema.json");
        std::fs::write(&data, &csv).expect("write");
        std::fs::write(&schema_file, schema.to_string()).expect("write");
        let (ok, out) = python(FRICTIONLESS_ERRORS, &[&data, &schema_file]);
        assert!(ok, "{name}: {out}");
        let theirs: std::collections::BTreeSet<(String, Option<u64>, Option<u64>)> =
            serde_json::from_str::<Vec<(String, Option<u64>, Option<u64>)>>(out.trim())
                .unwrap_or_else(|e| panic!("{name}: {e}: {out}"))
                .into_iter()
                .collect();
        let report = Schema::from_json(schema)
            .expect("schema")
            .validate(csv.as_bytes());
        let ours: std::collections::BTreeSet<(String, Option<u64>, Option<u64>)> = report
            .issues
            .iter()
            .map(|i| {
                (
                    i.kind.code().to_string(),
                    i.row.map(|r| r as u64),
                    i.field.map(|f| f as u64),
                )
            })
            .collect();
        assert_eq!(ours, theirs, "{name}");
        assert_eq!(report.valid(), theirs.is_empty(), "{name}");
        for issue in &report.issues {
            assert!(!issue.message.is_empty(), "{name}: {issue:?}");
        }
    }
}

const DELIB_HEADER: &str = "COLL_NOM,COLL_SIRET,DELIB_ID,DELIB_DATE,DELIB_MATIERE_CODE,DELIB_MATIERE_NOM,DELIB_OBJET,BUDGET_ANNEE,BUDGET_NOM,PREF_ID,PREF_DATE,VOTE_EFFECTIF,VOTE_REEL,VOTE_POUR,VOTE_CONTRE,VOTE_ABSTENTION,DELIB_URL";

fn deliberations_form(action: &str, title: &str, csv: &str) -> reqwest::multipart::Form {
    crate::support::multipart(&[
        ("titre", title),
        (
            "description",
            "Les délibérations du conseil municipal de Dijon.",
        ),
        ("licence", "lo-2.0"),
        ("frequence", "MONTHLY"),
        ("schema", "deliberations"),
        ("action", action),
    ])
    .part(
        "fichier",
        crate::support::file_part("deliberations.csv", csv.as_bytes().to_vec(), "text/csv"),
    )
}

#[tokio::test]
async fn an_uploaded_file_is_refused_cell_by_cell_until_valid_then_published_in_the_catalogue() {
    use guichet_domain::role::Role;
    let s = TestServer::with(|c| c.worker = false).await;
    let t = personas::collectivites(&s).await;
    let db = s.db();
    let agent = personas::agent(
        &s,
        "donnees@dijon.fr",
        &t.dijon,
        guichet_domain::role::Role::Publication,
    )
    .await;
    let b = &agent.browser;
    let home = b.get("/admin/dijon").await;
    assert!(home.html.contains("/admin/dijon/donnees"), "{}", home.html);
    let form = b.get("/admin/dijon/donnees").await;
    assert_eq!(form.status, 200);
    assert!(form.html.contains("Délibérations (SCDL 2.1.5)"));

    // The catalogues as a harvester read them before: nothing of Dijon's yet.
    let (_, platform_before) = s.get_text("/donnees/catalogue.jsonld").await;
    let (_, dijon_before) = s.get_text("/donnees/dijon/catalogue.jsonld").await;
    assert!(!dijon_before.contains("deliberations-du-conseil-municipal"));

    // A file with mistakes: refused, each placed by row and column, in French; nothing stored.
    let faulty = format!(
        "{DELIB_HEADER}\nDijon,2121023130001,2026-42,17/11/2026,7.1,Décisions budgétaires,Budget primitif,2027,,,,59,55,quarante,10,5,\n"
    );
    let refused = b
        .post_multipart(
            "/admin/dijon/donnees",
            deliberations_form("publier", "Délibérations du conseil municipal", &faulty),
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.html);
    for expected in [
        "n'est pas conforme au schéma : 3 erreur(s) sur 1 ligne(s)",
        "Ligne 2, colonne « COLL_SIRET »",
        "Ligne 2, colonne « DELIB_DATE » : « 17/11/2026 » n&#39;est pas une date au format AAAA-MM-JJ",
        "Ligne 2, colonne « VOTE_POUR »",
    ] {
        assert!(
            refused.html.contains(expected) || refused.html.contains(&expected.replace("&#39;", "'")),
            "{expected}: {}",
            refused.html
        );
    }
    assert!(guichet_store::donnees::of(db, t.dijon.id)
        .await
        .expect("q")
        .is_empty());

    // Fixed: checked without publishing first, then published.
    let valid = format!(
        "{DELIB_HEADER}\nDijon,21210231300015,2026-42,2026-11-17,7.1,Décisions budgétaires,Budget primitif 2027,2027,Budget principal,,,59,55,40,10,5,https://www.dijon.fr/deliberations/2026-42.pdf\n"
    );
    let checked = b
        .post_multipart(
            "/admin/dijon/donnees",
            deliberations_form("verifier", "Délibérations du conseil municipal", &valid),
        )
        .await;
    assert_eq!(checked.status, 200);
    assert!(checked
        .html
        .contains("Le fichier est conforme au schéma : 1 ligne(s)"));
    // The description it will have is checked too, against the DCAT-AP 3.0.1 shapes.
    assert!(
        checked
            .html
            .contains("conforme aux formes officielles DCAT-AP 3.0.1"),
        "{}",
        checked.html
    );
    assert!(guichet_store::donnees::of(db, t.dijon.id)
        .await
        .expect("q")
        .is_empty());
    let published = b
        .post_multipart(
            "/admin/dijon/donnees",
            deliberations_form("publier", "Délibérations du conseil municipal", &valid),
        )
        .await;
    assert_eq!(
        published.location.as_deref(),
        Some("/donnees/dijon/deliberations-du-conseil-municipal")
    );
    let (_, csv) = s
        .get_text("/donnees/dijon/deliberations-du-conseil-municipal.csv")
        .await;
    assert_eq!(csv, valid);
    let json: serde_json::Value = serde_json::from_str(
        &s.get_text("/donnees/dijon/deliberations-du-conseil-municipal.json")
            .await
            .1,
    )
    .expect("JSON");
    assert_eq!(json[0]["VOTE_POUR"], 40);
    assert_eq!(json[0]["PREF_ID"], serde_json::Value::Null);
    let journal = guichet_store::journal::list(db, &Default::default(), 20)
        .await
        .expect("journal");
    assert!(journal
        .iter()
        .any(|e| e.event.action == "donnees.publication" && e.event.actor == "donnees@dijon.fr"));

    // It appears in the catalogues read again (each in the format read before), conforming to
    // the SCDL schema, and the catalogue still conforms to DCAT-AP.
    let (_, dijon_after) = s.get_text("/donnees/dijon/catalogue.jsonld").await;
    assert!(dijon_after.contains("deliberations-du-conseil-municipal"));
    let (_, platform_after) = s.get_text("/donnees/catalogue.jsonld").await;
    assert_ne!(platform_after, platform_before);
    assert!(platform_after.contains("deliberations-du-conseil-municipal"));
    let (_, ttl) = s.get_text("/donnees/dijon/catalogue.ttl").await;
    assert!(ttl.contains("deliberations-du-conseil-municipal"), "{ttl}");
    assert!(
        ttl.contains("scdl/deliberations/raw/v2.1.5/schema.json"),
        "{ttl}"
    );
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("catalogue.ttl");
    std::fs::write(&file, &ttl).expect("write");
    let (ok, out) = python(
        PYSHACL,
        &[
            &shared("dcat-ap-3.0.1-SHACL.ttl"),
            &file,
            std::path::Path::new("turtle"),
        ],
    );
    assert!(ok, "{out}");

    // Published again under the same title: a second version.
    let again = format!("{valid}Dijon,21210231300015,2026-43,2026-11-17,1.1,Marchés publics,Voirie,,,,,59,55,55,0,0,\n");
    b.post_multipart(
        "/admin/dijon/donnees",
        deliberations_form("publier", "Délibérations du conseil municipal", &again),
    )
    .await;
    let page = b
        .get("/donnees/dijon/deliberations-du-conseil-municipal")
        .await;
    assert!(page.html.contains("?version=2") && page.html.contains("?version=1"));

    // A generated dataset's name cannot be taken.
    let taken = b
        .post_multipart(
            "/admin/dijon/donnees",
            deliberations_form("publier", "Signalements", &valid),
        )
        .await;
    assert_eq!(taken.status, 422);
    assert!(taken.html.contains("produit par la plateforme"));

    // Another role of Dijon, or Mâcon's publisher, cannot publish for Dijon.
    let instructeur =
        personas::agent(&s, "instructeur@dijon.fr", &t.dijon, Role::Instructeur).await;
    let macon = personas::agent(
        &s,
        "donnees@macon.fr",
        &t.macon,
        guichet_domain::role::Role::Publication,
    )
    .await;
    for other in [&instructeur, &macon] {
        let denied = other
            .browser
            .post_multipart(
                "/admin/dijon/donnees",
                deliberations_form("publier", "Autre titre", &valid),
            )
            .await;
        assert_eq!(denied.status, 403, "{}", other.email);
    }
    assert_eq!(
        guichet_store::donnees::of(db, t.dijon.id)
            .await
            .expect("q")
            .len(),
        1
    );
}

fn asset(title: &str, open: bool) -> Vec<(&'static str, String)> {
    vec![
        ("titre", title.to_string()),
        (
            "description",
            "Suivre les associations subventionnées.".into(),
        ),
        ("service", "Vie associative".into()),
        ("base_legale", "CGCT L2311-7".into()),
        (
            "donnees_personnelles",
            if open { "non" } else { "oui" }.into(),
        ),
        ("conservation", "10 ans".into()),
        ("frequence", "Annuelle".into()),
        ("ouvert", if open { "oui" } else { "non" }.into()),
        (
            "motif",
            if open {
                ""
            } else {
                "Coordonnées des présidents d'associations."
            }
            .into(),
        ),
        (
            "url",
            if open {
                "https://www.dijon.fr/donnees/subventions"
            } else {
                ""
            }
            .into(),
        ),
        (
            "licence",
            if open {
                "Licence Ouverte-LO"
            } else {
                "Spécifique ou autre"
            }
            .into(),
        ),
        ("theme", "Associations".into()),
        ("mots_cles", "associations, subventions".into()),
        ("maille", "Communale".into()),
        ("couverture", "Dijon".into()),
        ("debut", "2020-01-01".into()),
        ("fin", "2026-12-31".into()),
        ("formats", "CSV".into()),
        ("siret", "212 102 313 00015".into()),
        ("action", "enregistrer".into()),
    ]
}

#[tokio::test]
async fn the_register_of_information_assets_is_kept_by_publishers_and_exported_in_the_scdl() {
    let s = TestServer::with(|c| c.worker = false).await;
    let t = personas::collectivites(&s).await;
    let db = s.db();
    let agent = personas::agent(
        &s,
        "donnees@dijon.fr",
        &t.dijon,
        guichet_domain::role::Role::Publication,
    )
    .await;
    let b = &agent.browser;
    let post = |fields: Vec<(&'static str, String)>| async move {
        let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        b.post("/admin/dijon/donnees/patrimoine", &pairs).await
    };

    // A closed asset must say why; a fixed one is registered.
    let mut missing = asset("Fichier des associations", false);
    missing.retain(|(k, _)| *k != "motif");
    let refused = post(missing).await;
    assert_eq!(refused.status, 422, "{}", refused.html);
    assert!(refused
        .html
        .contains("Expliquez pourquoi ces données ne sont pas ouvertes"));
    assert!(guichet_store::donnees::patrimoine::of(db, t.dijon.id)
        .await
        .expect("q")
        .is_empty());
    assert_eq!(
        post(asset("Fichier des associations", false)).await.status,
        303
    );
    assert_eq!(post(asset("Subventions versées", true)).await.status, 303);
    let entries = guichet_store::donnees::patrimoine::of(db, t.dijon.id)
        .await
        .expect("q");
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].actif.siret, "21210231300015");

    // Changed, by its publisher only: Mâcon's cannot touch it.
    let closed = entries.iter().find(|e| !e.actif.ouvert).expect("closed").id;
    let mut changed = asset("Fichier des associations (2026)", false);
    changed.push(("id", closed.to_string()));
    assert_eq!(post(changed.clone()).await.status, 303);
    let macon = personas::agent(
        &s,
        "donnees@macon.fr",
        &t.macon,
        guichet_domain::role::Role::Publication,
    )
    .await;
    let pairs: Vec<(&str, &str)> = changed.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let across = macon
        .browser
        .post("/admin/macon/donnees/patrimoine", &pairs)
        .await;
    assert_eq!(across.status, 404);
    assert_eq!(
        macon
            .browser
            .post("/admin/dijon/donnees/patrimoine", &pairs)
            .await
            .status,
        403
    );
    let kept = guichet_store::donnees::patrimoine::get(db, t.dijon.id, closed)
        .await
        .expect("q")
        .expect("there");
    assert_eq!(kept.actif.titre, "Fichier des associations (2026)");

    // The register, published in the SCDL `catalogue` schema, valid for frictionless and Guichet.
    let (status, csv) = s.get_text("/donnees/dijon/patrimoine.csv").await;
    assert_eq!(status, 200);
    assert_eq!(csv.lines().count(), 3, "{csv}");
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("patrimoine.csv");
    std::fs::write(&data, &csv).expect("write");
    let schema = shared("scdl/catalogue.schema.json");
    let (ok, out) = python(FRICTIONLESS, &[&data, &schema]);
    assert!(ok, "{out}\n{csv}");
    let descriptor: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&schema).expect("read")).expect("JSON");
    let report = guichet_domain::donnees::schema::Schema::from_json(&descriptor)
        .expect("schema")
        .validate(csv.as_bytes());
    assert!(report.valid(), "{:?}", report.issues);

    // Removed, with its journal entries.
    assert_eq!(
        b.post(
            "/admin/dijon/donnees/patrimoine",
            &[("id", &closed.to_string()), ("action", "supprimer")]
        )
        .await
        .status,
        303
    );
    assert_eq!(
        guichet_store::donnees::patrimoine::of(db, t.dijon.id)
            .await
            .expect("q")
            .len(),
        1
    );
    let journal = guichet_store::journal::list(db, &Default::default(), 50)
        .await
        .expect("journal");
    for action in [
        "patrimoine.ajout",
        "patrimoine.modification",
        "patrimoine.suppression",
    ] {
        assert!(journal.iter().any(|e| e.event.action == action), "{action}");
    }
}

#[tokio::test]
async fn two_nodes_refreshing_at_once_record_each_version_once() {
    let s = TestServer::with(|c| c.worker = false).await;
    let t = personas::collectivites(&s).await;
    report(&s, t.dijon.id, State::Nouveau, "Lampadaire éteint").await;
    // A second node on the same database, its worker starting at the same moment.
    let other = crate::support::connect(&s.db.url).await;
    let now = guichet_store::now_ms();
    let (a, b) = tokio::join!(
        guichet_store::donnees::refresh(s.db(), &s.base, now),
        guichet_store::donnees::refresh(&other, &s.base, now),
    );
    let (a, b) = (a.expect("first node"), b.expect("second node"));
    assert_eq!(a.new_versions + b.new_versions, 13, "{a:?} {b:?}");
    let versions: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM dataset_versions")
        .fetch_one(s.db().pool())
        .await
        .expect("count");
    assert_eq!(versions, 13);
}

#[test]
fn the_producer_s_check_finds_what_pyshacl_finds() {
    let dataset = "https://guichet.example/donnees/dijon/budget";
    let shapes = shared("dcat-ap-3.0.1-SHACL.ttl");
    // The shapes the platform embeds are the official ones.
    assert_eq!(
        std::fs::read_to_string(&shapes).expect("shapes"),
        guichet_domain::donnees::shacl::SHAPES
    );
    let dir = tempfile::tempdir().expect("tmp");
    for (description, access) in [
        ("", "\"budget.csv\""),
        ("dct:description \"Le budget.\"@fr ;", "\"budget.csv\""),
        (
            "dct:description \"Le budget.\"@fr ;",
            "<https://guichet.example/b.csv>",
        ),
    ] {
        let ttl = format!(
            r#"@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix dct: <http://purl.org/dc/terms/> .
<{dataset}> a dcat:Dataset ; dct:title "Budget"@fr ; {description}
  dcat:distribution <{dataset}#csv>, <{dataset}#json> .
<{dataset}#csv> a dcat:Distribution ; dcat:accessURL {access} .
<{dataset}#json> a dcat:Distribution ; dcat:accessURL <https://guichet.example/b.json> .
"#
        );
        let ours = guichet_domain::donnees::shacl::verifier(&ttl, dataset).expect("checked");
        let file = dir.path().join("description.ttl");
        std::fs::write(&file, &ttl).expect("write");
        let (conforms, out) = python(PYSHACL, &[&shapes, &file, std::path::Path::new("turtle")]);
        let theirs = out.matches("Constraint Violation").count();
        assert_eq!(ours.conforme, conforms, "{ttl}\n{out}\n{ours:?}");
        assert_eq!(
            ours.constats.iter().filter(|c| c.bloquant).count(),
            theirs,
            "{ttl}\n{out}\n{ours:?}"
        );
    }
}

#[tokio::test]
async fn a_harvester_asking_for_compression_gets_the_same_catalogue_each_time() {
    // No background refresh: the catalogue stays the same between the reads.
    let s = TestServer::with(|c| c.worker = false).await;
    personas::collectivites(&s).await;
    // As a harvester reads it: the encodings it accepts, and the answer as sent.
    let read = |accept: &'static str| {
        let url = format!("{}/donnees/catalogue.ttl", s.base);
        async move {
            let raw = reqwest::Client::builder()
                .no_gzip()
                .no_brotli()
                .build()
                .expect("client")
                .get(&url)
                .header("accept-encoding", accept)
                .send()
                .await
                .expect("GET");
            assert_eq!(raw.status(), 200, "{accept}");
            let header = |name: &str| {
                raw.headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_string()
            };
            let (encoding, vary) = (header("content-encoding"), header("vary"));
            let bytes = raw.bytes().await.expect("body").to_vec();
            let text = match encoding.as_str() {
                "br" => {
                    let mut out = Vec::new();
                    brotli_decode(&bytes, &mut out);
                    out
                }
                "gzip" => {
                    use std::io::Read;
                    let mut out = Vec::new();
                    flate2::read::GzDecoder::new(&bytes[..])
                        .read_to_end(&mut out)
                        .expect("gzip");
                    out
                }
                _ => bytes,
            };
            (
                encoding,
                vary,
                String::from_utf8(text).expect("UTF-8 Turtle"),
            )
        }
    };
    let (plain_encoding, _, plain) = read("identity").await;
    assert_eq!(plain_encoding, "");
    assert!(plain.contains("dcat:Catalog"), "{plain}");
    // Twice each: written once, then served as written, in the encoding asked for.
    for (accept, expected) in [
        ("gzip, deflate, br", "br"),
        ("gzip", "gzip"),
        ("br;q=0, gzip", "gzip"),
        ("*", "br"),
        ("br;q=0, gzip;q=0", ""),
    ] {
        for _ in 0..2 {
            let (encoding, vary, text) = read(accept).await;
            assert_eq!(encoding, expected, "{accept}");
            assert!(vary.contains("Accept-Encoding"), "{accept}: {vary}");
            assert_eq!(text, plain, "{accept}");
        }
    }
}

/// Decodes a Brotli stream (as a browser does).
fn brotli_decode(input: &[u8], out: &mut Vec<u8>) {
    use std::io::Read;
    brotli::Decompressor::new(input, 4096)
        .read_to_end(out)
        .expect("brotli");
}
