//! Photos of signalements: checked by content (JPEG, PNG or WebP), decoded with size limits,
//! resized and re-encoded as JPEG. Re-encoding keeps only pixels: EXIF metadata, GPS position
//! included, does not survive.

use image::{ImageFormat, ImageReader, Limits};
use std::io::Cursor;

pub const MAX_BYTES: usize = 10 * 1024 * 1024;
/// The longest side after resizing.
const MAX_SIDE: u32 = 1600;

pub fn clean(bytes: &[u8]) -> Result<Vec<u8>, String> {
    if bytes.len() > MAX_BYTES {
        return Err("La photo dépasse 10 Mo.".into());
    }
    let format = match infer::get(bytes).map(|t| t.mime_type()) {
        Some("image/jpeg") => ImageFormat::Jpeg,
        Some("image/png") => ImageFormat::Png,
        Some("image/webp") => ImageFormat::WebP,
        _ => return Err(
            "La photo doit être au format JPEG, PNG ou WebP (le contenu du fichier est vérifié)."
                .into(),
        ),
    };
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(12_000);
    limits.max_image_height = Some(12_000);
    limits.max_alloc = Some(256 * 1024 * 1024);
    reader.limits(limits);
    let image = reader
        .decode()
        .map_err(|_| "La photo est illisible ou trop grande.".to_string())?;
    let image = if image.width() > MAX_SIDE || image.height() > MAX_SIDE {
        image.resize(MAX_SIDE, MAX_SIDE, image::imageops::FilterType::Triangle)
    } else {
        image
    };
    let mut out = Vec::new();
    let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 82);
    image
        .to_rgb8()
        .write_with_encoder(encoder)
        .map_err(|_| "La photo n'a pas pu être enregistrée.".to_string())?;
    Ok(out)
}
