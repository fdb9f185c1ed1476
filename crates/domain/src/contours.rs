//! Commune contours (GeoJSON, e.g. Etalab's "communes" file): which commune a point is in.

use geo::{BoundingRect, Contains, MultiPolygon, Point};

/// One commune's outline and its bounding box (min lat, max lat, min lon, max lon).
#[derive(Debug, Clone)]
pub struct Contour {
    pub insee: String,
    pub shape: MultiPolygon<f64>,
    pub bbox: (f64, f64, f64, f64),
}

/// Reads a GeoJSON FeatureCollection whose features carry the INSEE code in a `code` (or
/// `insee`) property and a Polygon or MultiPolygon geometry. Errors name the feature, in French.
pub fn parse(text: &str) -> Result<Vec<Contour>, String> {
    let geo: geojson::GeoJson = text
        .parse()
        .map_err(|e| format!("GeoJSON illisible : {e}"))?;
    let geojson::GeoJson::FeatureCollection(fc) = geo else {
        return Err("le fichier doit être une FeatureCollection".into());
    };
    let mut out = Vec::new();
    for (i, f) in fc.features.into_iter().enumerate() {
        let code = ["code", "insee", "INSEE_COM"]
            .iter()
            .find_map(|k| f.property(k).and_then(|v| v.as_str()).map(str::to_string))
            .ok_or_else(|| format!("objet {} : pas de propriété « code » (code INSEE)", i + 1))?;
        let Some(geometry) = f.geometry else {
            return Err(format!("objet {} ({code}) : pas de géométrie", i + 1));
        };
        let shape: MultiPolygon<f64> = match geo_types::Geometry::<f64>::try_from(geometry) {
            Ok(geo_types::Geometry::Polygon(p)) => MultiPolygon(vec![p]),
            Ok(geo_types::Geometry::MultiPolygon(m)) => m,
            _ => {
                return Err(format!(
                    "objet {} ({code}) : un polygone est attendu",
                    i + 1
                ))
            }
        };
        let Some(rect) = shape.bounding_rect() else {
            return Err(format!("objet {} ({code}) : géométrie vide", i + 1));
        };
        out.push(Contour {
            insee: code,
            bbox: (rect.min().y, rect.max().y, rect.min().x, rect.max().x),
            shape,
        });
    }
    Ok(out)
}

/// Whether the point (latitude, longitude) lies in the shape.
pub fn contains(shape: &MultiPolygon<f64>, lat: f64, lon: f64) -> bool {
    shape.contains(&Point::new(lon, lat))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_point_is_found_in_its_commune() {
        let text = r#"{"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {"code": "21603", "nom": "Semur-en-Auxois"},
             "geometry": {"type": "Polygon", "coordinates": [[[4.30, 47.47], [4.37, 47.47], [4.37, 47.52], [4.30, 47.52], [4.30, 47.47]]]}}
        ]}"#;
        let c = parse(text).expect("valid");
        assert_eq!(c[0].insee, "21603");
        assert!(contains(&c[0].shape, 47.49, 4.33));
        assert!(!contains(&c[0].shape, 47.32, 5.03), "Dijon is elsewhere");
        assert!(parse(r#"{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, "geometry": null}]}"#)
            .expect_err("no code")
            .contains("code"));
        assert!(parse("pas du json").is_err());
    }
}
