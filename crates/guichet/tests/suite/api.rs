//! API tokens: scoped to one collectivité, revocable, hashed at rest; errors in the API's format.

use crate::personas;
use crate::support::TestServer;
use guichet_domain::role::Role;
use guichet_store::account::Kind;

#[tokio::test]
async fn an_agent_creates_uses_and_revokes_a_token() {
    let s = TestServer::start().await;
    let t = personas::tenants(&s).await;
    let agent = personas::persona(
        &s,
        Kind::Agent,
        "instructeur@dijon.fr",
        &[(&t.dijon, Role::Instructeur)],
    )
    .await;
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
    let t = personas::tenants(&s).await;
    let agent = personas::persona(
        &s,
        Kind::Agent,
        "instructeur@dijon.fr",
        &[(&t.dijon, Role::Instructeur)],
    )
    .await;
    let (_, token) = guichet_store::api_token::create(
        s.db(),
        t.dijon.id,
        agent.user_id,
        "x",
        &["dossiers:lecture".into()],
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
    guichet_store::team::revoke(s.db(), t.dijon.id, agent.user_id, Role::Instructeur)
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
