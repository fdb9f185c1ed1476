//! Static assets, served under content-hashed names so browsers cache them for a year.

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

pub struct Asset {
    pub href: String,
    pub body: &'static str,
    pub content_type: &'static str,
}

fn hashed(stem: &str, ext: &str, body: &'static str, content_type: &'static str) -> Asset {
    let digest = hex::encode(Sha256::digest(body.as_bytes()));
    Asset {
        href: format!("/static/{stem}.{}.{ext}", &digest[..12]),
        body,
        content_type,
    }
}

pub static CSS: LazyLock<Asset> = LazyLock::new(|| {
    hashed(
        "guichet",
        "css",
        include_str!("../assets/guichet.css"),
        "text/css; charset=utf-8",
    )
});

/// The autosave of dossier steps, loaded on those pages only.
pub static AUTOSAVE_JS: LazyLock<Asset> = LazyLock::new(|| {
    hashed(
        "brouillon",
        "js",
        include_str!("../assets/brouillon.js"),
        "text/javascript; charset=utf-8",
    )
});

/// Conditional fields hidden and revealed as the usager answers, on dossier steps.
pub static CONDITIONS_JS: LazyLock<Asset> = LazyLock::new(|| {
    hashed(
        "conditions",
        "js",
        include_str!("../assets/conditions.js"),
        "text/javascript; charset=utf-8",
    )
});

/// Suggestions of the search field, loaded with the search form only.
pub static SUGGEST_JS: LazyLock<Asset> = LazyLock::new(|| {
    hashed(
        "recherche",
        "js",
        include_str!("../assets/recherche.js"),
        "text/javascript; charset=utf-8",
    )
});

/// Maps on demand: adds the button that loads the map library.
pub static MAP_JS: LazyLock<Asset> = LazyLock::new(|| {
    hashed(
        "carte",
        "js",
        include_str!("../assets/carte.js"),
        "text/javascript; charset=utf-8",
    )
});

/// Leaflet 1.9.4 (BSD-2-Clause, `assets/vendor/leaflet-1.9.4/LICENSE`), fetched by `carte.js`
/// only when a map is asked for.
pub static LEAFLET_JS: LazyLock<Asset> = LazyLock::new(|| {
    hashed(
        "leaflet",
        "js",
        include_str!("../assets/vendor/leaflet-1.9.4/leaflet.js"),
        "text/javascript; charset=utf-8",
    )
});

pub static LEAFLET_CSS: LazyLock<Asset> = LazyLock::new(|| {
    hashed(
        "leaflet",
        "css",
        include_str!("../assets/vendor/leaflet-1.9.4/leaflet.css"),
        "text/css; charset=utf-8",
    )
});

pub async fn serve_asset(Path(file): Path<String>) -> Response {
    let Some(asset) = [
        &*CSS,
        &*AUTOSAVE_JS,
        &*CONDITIONS_JS,
        &*SUGGEST_JS,
        &*MAP_JS,
        &*LEAFLET_JS,
        &*LEAFLET_CSS,
    ]
    .into_iter()
    .find(|a| a.href.strip_prefix("/static/") == Some(file.as_str())) else {
        return (StatusCode::NOT_FOUND, "ressource introuvable").into_response();
    };
    {
        (
            [
                (header::CONTENT_TYPE, asset.content_type),
                (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
            ],
            asset.body,
        )
            .into_response()
    }
}
