//! API tokens: scoped to one collectivité, revocable, hashed at rest; errors in the API's format.

use crate::personas;
use crate::support::TestServer;
use guichet_domain::role::Role;

#[tokio::test]
async fn an_agent_creates_uses_and_revokes_a_token() {
    let s = TestServer::start().await;
    let t = personas::collectivites(&s).await;
    let agent = personas::agent(&s, "instructeur@dijon.fr", &t.dijon, Role::Instructeur).await;
    let page = agent
        .browser
        .post(
            "/admin/dijon/jetons",
            &[("nom", "Logiciel métier"), ("portees", "dossiers:lecture")],
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.html);
    let token = page
        .html
        .split("<code class=\"secret\">")
        .nth(1)
        .and_then(|r| r.split('<').next())
        .expect("token shown once")
        .to_string();
    assert!(token.starts_with("gch_"));

    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM api_tokens WHERE token_hash = $1")
        .bind(&token)
        .fetch_one(s.db().pool())
        .await
        .expect("count");
    assert_eq!(stored, 0, "the token itself is not stored");

    let client = reqwest::Client::new();
    let me = client
        .get(format!("{}/api/v1/moi", s.base))
        .bearer_auth(&token)
        .send()
        .await
        .expect("moi");
    assert_eq!(me.status(), 200);
    let body: serde_json::Value = me.json().await.expect("json");
    assert_eq!(body["collectivite"]["slug"], "dijon");
    assert_eq!(
        body["token"]["scopes"],
        serde_json::json!(["dossiers:lecture"])
    );

    let none = client
        .get(format!("{}/api/v1/moi", s.base))
        .send()
        .await
        .expect("moi");
    assert_eq!(none.status(), 401);
    let err: serde_json::Value = none.json().await.expect("json");
    assert_eq!(err["error"]["code"], "unauthorized");

    let id: i64 = sqlx::query_scalar("SELECT id FROM api_tokens WHERE name = 'Logiciel métier'")
        .fetch_one(s.db().pool())
        .await
        .expect("id");
    let revoked = agent
        .browser
        .post(&format!("/admin/dijon/jetons/{id}/revocation"), &[])
        .await;
    assert!(revoked.html.contains("Jeton révoqué"));
    let after = client
        .get(format!("{}/api/v1/moi", s.base))
        .bearer_auth(&token)
        .send()
        .await
        .expect("moi");
    assert_eq!(after.status(), 401, "revocation takes effect at once");
}

#[tokio::test]
async fn a_token_dies_with_its_agent_s_membership() {
    let s = TestServer::start().await;
    let t = personas::collectivites(&s).await;
    let agent = personas::agent(&s, "instructeur@dijon.fr", &t.dijon, Role::Instructeur).await;
    let (_, token) = guichet_store::jeton::create(
        s.db(),
        t.dijon.id,
        agent.user_id,
        "x",
        &["dossiers:lecture".into()],
        365,
        Default::default(),
    )
    .await
    .expect("token");
    let client = reqwest::Client::new();
    assert_eq!(
        client
            .get(format!("{}/api/v1/moi", s.base))
            .bearer_auth(&token)
            .send()
            .await
            .expect("r")
            .status(),
        200
    );
    guichet_store::equipe::change_role(
        s.db(),
        t.dijon.id,
        agent.user_id,
        Role::Instructeur,
        false,
        None,
        Default::default(),
    )
    .await
    .expect("revoke role");
    assert_eq!(
        client
            .get(format!("{}/api/v1/moi", s.base))
            .bearer_auth(&token)
            .send()
            .await
            .expect("r")
            .status(),
        401
    );
}

mod dossiers_api {
    use crate::personas;
    use crate::support::TestServer;
    use guichet_domain::demarche::{Answers, Definition};
    use guichet_domain::dossier::{Action, Actor};
    use guichet_domain::role::Role;
    use guichet_store::{demarche, dossier};
    use serde_json::{json, Value};

    const DEF: &str = r#"{ "title": "Demande de subvention", "description": "Associations.", "retention_months": 12,
      "deadline_days": 60, "pages": [ { "title": "Association", "fields": [
        { "id": "nom", "label": "Nom", "type": "short_text", "required": true } ] } ] }"#;

    #[tokio::test]
    async fn partner_software_lists_syncs_reads_and_processes_dossiers() {
        let s = TestServer::start().await;
        let t = personas::collectivites(&s).await;
        let agent = personas::agent(&s, "instructeur@dijon.fr", &t.dijon, Role::Instructeur).await;
        let def = Definition::from_json(DEF).expect("def");
        let d = crate::support::publish(s.db(), t.dijon.id, &def).await;
        let usager = dossier::By {
            actor: Actor::Usager,
            user_id: None,
            label: "u@exemple.fr".into(),
            ip: None,
            on_behalf_of: None,
        };
        let mut ids = Vec::new();
        for n in 0..5 {
            let x = dossier::create_draft(
                s.db(),
                t.dijon.id,
                d.id,
                1,
                None,
                &format!("Association {n}"),
            )
            .await
            .expect("draft");
            let mut a = Answers::default();
            a.set("nom", vec![format!("Association {n}")]);
            dossier::save_answers(s.db(), &x, &def, &a)
                .await
                .expect("save");
            dossier::change(s.db(), &x, &def, &Action::Submit, &usager)
                .await
                .expect("submit");
            ids.push(x.id);
        }
        dossier::create_draft(s.db(), t.dijon.id, d.id, 1, None, "brouillon invisible")
            .await
            .expect("draft");
        let (_, rw) = guichet_store::jeton::create(
            s.db(),
            t.dijon.id,
            agent.user_id,
            "logiciel",
            &["dossiers:lecture".into(), "dossiers:ecriture".into()],
            365,
            Default::default(),
        )
        .await
        .expect("token");
        let (_, ro) = guichet_store::jeton::create(
            s.db(),
            t.dijon.id,
            agent.user_id,
            "lecture",
            &["dossiers:lecture".into()],
            365,
            Default::default(),
        )
        .await
        .expect("token");
        let c = reqwest::Client::new();
        let get = |path: String, token: String| {
            let c = c.clone();
            let base = s.base.clone();
            async move {
                let r = c
                    .get(format!("{base}{path}"))
                    .bearer_auth(token)
                    .send()
                    .await
                    .expect("request");
                let status = r.status().as_u16();
                (status, r.json::<Value>().await.expect("json"))
            }
        };

        let (status, list) = get("/api/v1/demarches".into(), rw.clone()).await;
        assert_eq!(status, 200);
        assert_eq!(list[0]["slug"], "demande-de-subvention");

        // Two pages of 3 then 2, drafts excluded; the cursor is all a client keeps.
        let (status, page1) = get(
            format!("/api/v1/demarches/{}/dossiers?limit=3", d.id),
            rw.clone(),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(page1["items"].as_array().expect("items").len(), 3);
        let cursor = page1["next_cursor"].as_str().expect("cursor").to_string();
        let (_, page2) = get(
            format!("/api/v1/demarches/{}/dossiers?limit=3&after={cursor}", d.id),
            rw.clone(),
        )
        .await;
        assert_eq!(page2["items"].as_array().expect("items").len(), 2);
        assert!(page2["next_cursor"].is_null());
        let seen: Vec<i64> = page1["items"]
            .as_array()
            .into_iter()
            .flatten()
            .chain(page2["items"].as_array().into_iter().flatten())
            .map(|x| x["id"].as_i64().expect("id"))
            .collect();
        assert_eq!(seen, ids);

        // Process one through the API; it then shows up as changed after the cursor.
        let post = |path: String, token: String, body: Value| {
            let c = c.clone();
            let base = s.base.clone();
            async move {
                let r = c
                    .post(format!("{base}{path}"))
                    .bearer_auth(token)
                    .json(&body)
                    .send()
                    .await
                    .expect("request");
                let status = r.status().as_u16();
                (status, r.json::<Value>().await.unwrap_or(Value::Null))
            }
        };
        let target = ids[0];
        let (status, _) = post(
            format!("/api/v1/dossiers/{target}/etat"),
            ro.clone(),
            json!({"action": "instruire"}),
        )
        .await;
        assert_eq!(status, 403, "a read-only token cannot change a dossier");
        let (status, x) = post(
            format!("/api/v1/dossiers/{target}/etat"),
            rw.clone(),
            json!({"action": "instruire"}),
        )
        .await;
        assert_eq!((status, x["state"].as_str()), (200, Some("en_instruction")));
        let (status, err) = post(
            format!("/api/v1/dossiers/{target}/etat"),
            rw.clone(),
            json!({"action": "refuser"}),
        )
        .await;
        assert_eq!(status, 409);
        assert!(err["error"]["message"]
            .as_str()
            .expect("message")
            .contains("motif"));
        let (status, _) = post(
            format!("/api/v1/dossiers/{target}/messages"),
            rw.clone(),
            json!({"texte": "Pièce reçue, merci."}),
        )
        .await;
        assert_eq!(status, 201);
        let (status, x) = post(
            format!("/api/v1/dossiers/{target}/etat"),
            rw.clone(),
            json!({"action": "accepter"}),
        )
        .await;
        assert_eq!((status, x["state"].as_str()), (200, Some("accepte")));
        let (_, changed) = get(
            format!("/api/v1/demarches/{}/dossiers?after={cursor}", d.id),
            rw.clone(),
        )
        .await;
        assert!(
            changed["items"]
                .as_array()
                .expect("items")
                .iter()
                .any(|x| x["id"] == target),
            "a changed dossier comes back after the cursor"
        );
        let (_, accepted) = get(
            format!("/api/v1/demarches/{}/dossiers?state=accepte", d.id),
            rw.clone(),
        )
        .await;
        assert_eq!(accepted["items"].as_array().expect("items").len(), 1);

        // Bad input: errors in the API's format.
        let (status, err) = get(
            format!("/api/v1/demarches/{}/dossiers?updated_since=hier", d.id),
            rw.clone(),
        )
        .await;
        assert_eq!(status, 400);
        assert_eq!(err["error"]["code"], "bad_request");
        let (status, _) = get(
            format!("/api/v1/demarches/{}/dossiers?state=brouillon", d.id),
            rw.clone(),
        )
        .await;
        assert_eq!(status, 400);
        let bad_json = c
            .post(format!("{}/api/v1/dossiers/{target}/etat", s.base))
            .bearer_auth(&rw)
            .header("content-type", "application/json")
            .body("{\"action\": \"valider\"}")
            .send()
            .await
            .expect("r");
        assert!(bad_json.status().is_client_error());
        let body: Value = bad_json.json().await.expect("json error");
        assert!(body["error"]["message"].is_string());

        // Another collectivité's dossier does not exist for this token.
        let macon_d = demarche::create(s.db(), t.macon.id, &def, Default::default())
            .await
            .expect("démarche Mâcon");
        let mx = dossier::create_draft(s.db(), t.macon.id, macon_d.id, 1, None, "Mâcon")
            .await
            .expect("draft");
        dossier::change(s.db(), &mx, &def, &Action::Submit, &usager)
            .await
            .expect("submit");
        let (status, _) = get(format!("/api/v1/dossiers/{}", mx.id), rw.clone()).await;
        assert_eq!(status, 404);
        let (status, _) = get(
            format!("/api/v1/demarches/{}/dossiers", macon_d.id),
            rw.clone(),
        )
        .await;
        assert_eq!(status, 404);

        let journal = guichet_store::journal::list(s.db(), &Default::default(), 50)
            .await
            .expect("journal");
        assert!(journal
            .iter()
            .any(|e| e.event.action == "dossier.accepte"
                && e.event.actor.contains("jeton « logiciel »")));
    }

    #[tokio::test]
    async fn the_openapi_document_describes_every_api_route() {
        let s = TestServer::start().await;
        let doc: Value = reqwest::get(format!("{}/api/v1/openapi.json", s.base))
            .await
            .expect("get")
            .json()
            .await
            .expect("json");
        assert!(doc["openapi"].as_str().expect("version").starts_with("3."));
        let paths = doc["paths"].as_object().expect("paths");
        for spec in guichet_web::routes::table().specs() {
            if let guichet_web::auth::Access::Api(_) = spec.access {
                let p = paths
                    .get(spec.path)
                    .unwrap_or_else(|| panic!("{} missing from the OpenAPI document", spec.path));
                assert!(
                    p.get(spec.method.to_lowercase()).is_some(),
                    "{} {} documented",
                    spec.method,
                    spec.path
                );
            }
        }
    }
}
