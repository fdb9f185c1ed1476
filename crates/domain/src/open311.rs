//! Open311 GeoReport v2: reading what clients send (the pure part, fuzzed), and the spec's
//! vocabulary. Rendering and storage are in the web and store layers.

use crate::signalement::{valid_position, State};

/// The answer formats of the spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Xml,
}

/// "services.json" → ("services", Json). None for another extension.
pub fn split_format(file: &str) -> Option<(&str, Format)> {
    let (name, ext) = file.rsplit_once('.')?;
    let format = match ext {
        "json" => Format::Json,
        "xml" => Format::Xml,
        _ => return None,
    };
    (!name.is_empty()).then_some((name, format))
}

/// The spec's two statuses.
pub fn status(state: State) -> &'static str {
    if state.is_open() || matches!(state, State::AModerer | State::AConfirmer) {
        "open"
    } else {
        "closed"
    }
}

/// A service request as posted by a client, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRequest {
    pub api_key: String,
    pub jurisdiction_id: Option<String>,
    pub service_code: String,
    pub position: Option<(f64, f64)>,
    pub address: Option<String>,
    pub description: String,
    pub email: Option<String>,
    pub attributes: Vec<(String, String)>,
}

/// An error in the spec's terms: HTTP status and description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub code: u16,
    pub description: String,
}

fn bad(description: impl Into<String>) -> Error {
    Error {
        code: 400,
        description: description.into(),
    }
}

/// Reads a POST service request (form fields, repeated keys kept).
pub fn parse_request(pairs: &[(String, String)]) -> Result<NewRequest, Error> {
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let api_key = get("api_key").ok_or_else(|| Error {
        code: 403,
        description: "api_key manquante".into(),
    })?;
    let service_code = get("service_code").ok_or_else(|| bad("service_code manquant"))?;
    let position = match (get("lat"), get("long")) {
        (None, None) => None,
        (Some(lat), Some(lon)) => {
            let p = lat.parse::<f64>().ok().zip(lon.parse::<f64>().ok());
            match p.filter(|(a, b)| valid_position(*a, *b)) {
                Some(p) => Some(p),
                None => {
                    return Err(bad(
                        "lat et long doivent être des degrés décimaux valides (WGS84)",
                    ))
                }
            }
        }
        _ => return Err(bad("lat et long vont ensemble")),
    };
    let address = get("address_string");
    if position.is_none() && address.is_none() {
        return Err(bad(
            "localisation manquante : lat et long, ou address_string",
        ));
    }
    let description = get("description").unwrap_or_default();
    if description.chars().count() > 4000 {
        return Err(bad("description trop longue (4000 caractères au plus)"));
    }
    if address.as_ref().is_some_and(|a| a.chars().count() > 500) {
        return Err(bad("address_string trop longue (500 caractères au plus)"));
    }
    let attributes = pairs
        .iter()
        .filter_map(|(k, v)| {
            let code = k.strip_prefix("attribute[")?.strip_suffix(']')?;
            Some((code.to_string(), v.clone()))
        })
        .take(50)
        .collect();
    Ok(NewRequest {
        api_key,
        jurisdiction_id: get("jurisdiction_id"),
        service_code,
        position,
        address,
        description,
        email: get("email"),
        attributes,
    })
}

/// Reads a W3C date-time filter (start_date, end_date) into Unix milliseconds.
pub fn parse_datetime(s: &str) -> Option<i64> {
    let t = time::OffsetDateTime::parse(s.trim(), &time::format_description::well_known::Rfc3339)
        .ok()?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
}

/// The fuzz target: arbitrary POST bodies and date filters in, never a panic.
pub fn fuzz(data: &[u8]) {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(data).unwrap_or_default();
    if let Ok(r) = parse_request(&pairs) {
        assert!(!r.api_key.is_empty() && !r.service_code.is_empty());
        assert!(r.position.is_some() || r.address.is_some());
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = parse_datetime(text);
        let _ = split_format(text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn requests_are_read_and_checked() {
        let ok = parse_request(&pairs(&[
            ("api_key", "k"),
            ("service_code", "eclairage_public"),
            ("lat", "47.32"),
            ("long", "5.03"),
            ("description", "Lampadaire éteint"),
            ("attribute[numero]", "12"),
        ]))
        .expect("valid");
        assert_eq!(ok.position, Some((47.32, 5.03)));
        assert_eq!(ok.attributes, vec![("numero".into(), "12".into())]);
        assert_eq!(
            parse_request(&pairs(&[("service_code", "x")]))
                .expect_err("no key")
                .code,
            403
        );
        let no_place = parse_request(&pairs(&[("api_key", "k"), ("service_code", "x")]))
            .expect_err("no location");
        assert_eq!(no_place.code, 400);
        assert!(no_place.description.contains("localisation"));
        assert!(parse_request(&pairs(&[
            ("api_key", "k"),
            ("service_code", "x"),
            ("lat", "100"),
            ("long", "5")
        ]))
        .is_err());
        assert_eq!(
            split_format("services.json"),
            Some(("services", Format::Json))
        );
        assert_eq!(
            split_format("S2026-000001.xml"),
            Some(("S2026-000001", Format::Xml))
        );
        assert_eq!(split_format("services.html"), None);
        assert!(parse_datetime("2026-11-01T00:00:00Z").is_some());
        assert!(parse_datetime("hier").is_none());
    }

    #[test]
    fn the_open311_fuzz_corpus_replays_without_panic() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fuzz/corpus/open311_request");
        let mut n = 0;
        for entry in std::fs::read_dir(&dir).expect("corpus") {
            fuzz(&std::fs::read(entry.expect("entry").path()).expect("read"));
            n += 1;
        }
        assert!(n > 0);
    }
}
