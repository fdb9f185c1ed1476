//! Maps. The tile server comes from configuration; the map library (Leaflet, vendored under
//! `assets/vendor`) is fetched only when someone asks for the map, so that pages stay within
//! their weight budget. Everything a map does can be done without it: coordinates are typed,
//! reports are listed in tables.

use crate::assets;

/// Where map tiles come from, and where a map opens when it has nothing to show yet.
#[derive(Debug, Clone)]
pub struct MapConfig {
    /// `{z}/{x}/{y}` tile URL template (`{s}` for sub-domains); empty: no maps at all.
    pub tile_url: String,
    /// Credit shown on the map, as the tile server's licence requires.
    pub attribution: String,
    pub center: (f64, f64),
    pub zoom: u8,
}

impl Default for MapConfig {
    fn default() -> Self {
        Self {
            tile_url: "https://tile.openstreetmap.org/{z}/{x}/{y}.png".into(),
            attribution: "© les contributeurs d'OpenStreetMap".into(),
            // Bourgogne-Franche-Comté.
            center: (47.2, 5.0),
            zoom: 8,
        }
    }
}

impl MapConfig {
    /// Why this configuration cannot be used, in French for the operator.
    pub fn check(&self) -> Result<(), String> {
        if self.tile_url.is_empty() {
            return Ok(());
        }
        if self.origin().is_none() {
            return Err(format!(
                "map_tile_url doit être une adresse http(s) complète, pas « {} »",
                self.tile_url
            ));
        }
        if ["{z}", "{x}", "{y}"]
            .iter()
            .any(|p| !self.tile_url.contains(p))
        {
            return Err("map_tile_url doit contenir {z}, {x} et {y}".into());
        }
        if !guichet_domain::signalement::valid_position(self.center.0, self.center.1) {
            return Err(
                "map_center : latitude entre -90 et 90, longitude entre -180 et 180".into(),
            );
        }
        if self.zoom > 19 {
            return Err("map_zoom : de 0 à 19".into());
        }
        Ok(())
    }

    /// The origin tiles are fetched from, for the Content-Security-Policy (`{s}` sub-domains
    /// become a wildcard).
    pub fn origin(&self) -> Option<String> {
        let (scheme, rest) = self.tile_url.split_once("://")?;
        if !matches!(scheme, "http" | "https") {
            return None;
        }
        let host = rest.split('/').next().filter(|h| !h.is_empty())?;
        let host = host.replace("{s}", "*");
        if host
            .chars()
            .any(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '*')))
        {
            return None;
        }
        Some(format!("{scheme}://{host}"))
    }
}

/// What a page needs to offer a map: see the `carte` macro of `macros.html`.
pub struct Carte {
    pub script: &'static str,
    pub leaflet_js: &'static str,
    pub leaflet_css: &'static str,
    pub tiles: String,
    pub attribution: String,
    pub center: String,
    pub zoom: u8,
}

impl Carte {
    /// None when maps are switched off.
    pub fn of(config: &MapConfig) -> Option<Self> {
        if config.tile_url.is_empty() {
            return None;
        }
        Some(Self {
            script: &assets::MAP_JS.href,
            leaflet_js: &assets::LEAFLET_JS.href,
            leaflet_css: &assets::LEAFLET_CSS.href,
            tiles: config.tile_url.clone(),
            attribution: config.attribution.clone(),
            center: format!("{},{}", config.center.0, config.center.1),
            zoom: config.zoom,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(url: &str) -> MapConfig {
        MapConfig {
            tile_url: url.into(),
            ..MapConfig::default()
        }
    }

    #[test]
    fn the_tile_origin_goes_into_the_content_security_policy() {
        assert_eq!(
            MapConfig::default().origin().as_deref(),
            Some("https://tile.openstreetmap.org")
        );
        assert_eq!(
            with("https://{s}.tuiles.example:8443/{z}/{x}/{y}.png")
                .origin()
                .as_deref(),
            Some("https://*.tuiles.example:8443")
        );
        assert!(with("javascript:alert(1)/{z}/{x}/{y}").check().is_err());
        assert!(with("https://tuiles.example; script-src *")
            .check()
            .is_err());
        assert!(with("https://tuiles.example/{z}/{x}.png").check().is_err());
        assert!(with("").check().is_ok());
        assert!(Carte::of(&with("")).is_none());
    }
}
