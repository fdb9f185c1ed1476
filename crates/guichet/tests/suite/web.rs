//! The web shell as a visitor and a monitoring system see it.

use crate::support::{expected_backend, TestServer};
use guichet_store::collectivite::{self, Contact, Target};

async fn with_demo_collectivites() -> TestServer {
    let s = TestServer::start().await;
    collectivite::add(
        &s.db.db,
        &Target::Region("27".into()),
        &Contact::default(),
        true,
    )
    .await
    .expect("région");
    let contact = Contact {
        email: Some("accueil@dijon.example".into()),
        phone: Some("03 80 00 00 01".into()),
        ..Contact::default()
    };
    collectivite::add(
        &s.db.db,
        &Target::Siren("212102313".into()),
        &contact,
        false,
    )
    .await
    .expect("Dijon");
    s
}

#[tokio::test]
async fn healthz_names_the_database() {
    let s = TestServer::start().await;
    let r = s.get("/healthz").await;
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.expect("json");
    assert_eq!(
        body,
        serde_json::json!({"status": "ok", "database": expected_backend()})
    );
}

#[tokio::test]
async fn home_lists_the_collectivites_in_an_accessible_french_layout() {
    let s = with_demo_collectivites().await;
    let (status, html) = s.get_text("/").await;
    assert_eq!(status, 200);
    assert!(html.contains("<html lang=\"fr\">"));
    assert!(html.contains("href=\"#contenu\""), "skip link");
    assert!(html.contains("<main id=\"contenu\""));
    assert!(html.contains("<nav aria-label=\"Menu principal\">"));
    assert!(html.contains("<footer>"));
    assert!(html.contains("href=\"/collectivites/dijon\""));
    assert!(html.contains("opéré par Région Bourgogne-Franche-Comté"));
    // JavaScript only as an enhancement: external, deferred, never inline; the search is a GET form.
    for script in html.split("<script").skip(1) {
        assert!(
            script.starts_with(" src=\"/static/") && script.contains(" defer></script>"),
            "{script}"
        );
    }
    assert!(html.contains("<form method=\"get\" action=\"/recherche\""));
}

#[tokio::test]
async fn a_collectivite_page_says_what_it_offers_and_how_to_reach_it() {
    let s = with_demo_collectivites().await;
    let (status, html) = s.get_text("/collectivites/dijon").await;
    assert_eq!(status, 200);
    assert!(html.contains("<h1>Dijon</h1>"));
    assert!(html.contains("ne propose pas encore de démarche"));
    assert!(html.contains("Dijon Métropole"));
    assert!(html.contains("accueil@dijon.example"));
    let (status, list) = s.get_text("/collectivites").await;
    assert_eq!(status, 200);
    assert!(list.contains("Région Bourgogne-Franche-Comté") && list.contains(">Dijon<"));
}

#[tokio::test]
async fn unknown_pages_get_a_french_404_in_the_layout() {
    let s = TestServer::start().await;
    for path in ["/nexiste-pas", "/collectivites/atlantide"] {
        let (status, html) = s.get_text(path).await;
        assert_eq!(status, 404, "{path}");
        assert!(html.contains("Page introuvable"));
        assert!(html.contains("href=\"#contenu\""), "same layout");
    }
}

#[tokio::test]
async fn the_accessibility_statement_is_published() {
    let s = TestServer::start().await;
    let (status, html) = s.get_text("/accessibilite").await;
    assert_eq!(status, 200);
    assert!(html.contains("Déclaration d'accessibilité"));
    assert!(html.contains("RGAA"));
    assert!(html.contains("Défenseur des droits"));
}

#[tokio::test]
async fn the_stylesheet_is_small_hashed_cached_and_compressed() {
    let s = TestServer::start().await;
    let (_, html) = s.get_text("/").await;
    let href = html
        .split("rel=\"stylesheet\" href=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("stylesheet link");
    assert!(
        href.starts_with("/static/guichet.") && href.ends_with(".css"),
        "{href}"
    );
    // Raw bytes as they cross the network (the test client would otherwise decode them).
    let raw = reqwest::Client::builder()
        .no_gzip()
        .no_brotli()
        .build()
        .expect("client");
    let r = raw
        .get(format!("{}{href}", s.base))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .expect("css");
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(r.headers()["content-encoding"], "gzip");
    let compressed = r.bytes().await.expect("bytes").len();
    assert!(compressed < 4_000, "CSS is {compressed} bytes compressed");
    assert_eq!(s.get("/static/guichet.0000.css").await.status(), 404);
}

#[tokio::test]
async fn security_headers_are_on_every_response() {
    let s = TestServer::start().await;
    for path in [
        "/",
        "/healthz",
        "/metrics",
        "/accessibilite",
        "/nexiste-pas",
    ] {
        let r = s.get(path).await;
        let h = r.headers();
        let csp = h["content-security-policy"].to_str().expect("ascii");
        assert!(
            csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"),
            "{path}: {csp}"
        );
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert!(
            h.contains_key("referrer-policy") && h.contains_key("permissions-policy"),
            "{path}"
        );
        assert!(
            !h.contains_key("strict-transport-security"),
            "no HSTS over plain HTTP"
        );
    }
}

#[tokio::test]
async fn every_response_names_its_request_for_the_logs() {
    let s = TestServer::start().await;
    let ids: Vec<String> = {
        let mut ids = Vec::new();
        for path in ["/", "/nexiste-pas", "/healthz"] {
            let r = s.get(path).await;
            let id = r.headers()["x-request-id"]
                .to_str()
                .expect("ascii")
                .to_string();
            assert_eq!(id.len(), 16, "{path}: {id}");
            ids.push(id);
        }
        ids
    };
    assert!(
        ids[0] != ids[1] && ids[1] != ids[2],
        "one id per request: {ids:?}"
    );
    // A front proxy's id is kept; a hostile or oversized one is replaced, never echoed.
    let client = reqwest::Client::new();
    let url = format!("{}/", s.base);
    let sent = |v: &str| {
        client
            .get(&url)
            .header("x-request-id", v.to_string())
            .send()
    };
    let r = sent("proxy-7f3a.2").await.expect("GET");
    assert_eq!(r.headers()["x-request-id"], "proxy-7f3a.2");
    for hostile in ["<script>", &"a".repeat(65), "a b"] {
        let r = sent(hostile).await.expect("GET");
        let id = r.headers()["x-request-id"].to_str().expect("ascii");
        assert_ne!(id, hostile);
        assert_eq!(id.len(), 16);
    }
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_report_the_pool() {
    let s = TestServer::start().await;
    s.get("/collectivites/atlantide").await;
    s.get("/healthz").await;
    let (status, text) = s.get_text("/metrics").await;
    assert_eq!(status, 200);
    assert!(
        text.contains(r#"guichet_http_requests_total{method="GET",route="/collectivites/{slug}",status="404"}"#),
        "labelled by route pattern, not raw URL:\n{text}"
    );
    assert!(text.contains("guichet_http_request_duration_seconds_bucket"));
    assert!(text.contains("guichet_db_pool_connections"));
}
