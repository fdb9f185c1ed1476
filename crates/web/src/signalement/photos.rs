//! Photos of signalements: checked by content (JPEG, PNG or WebP), decoded with size limits,
//! resized and re-encoded as JPEG. Re-encoding keeps only pixels: EXIF metadata, GPS position
//! included, does not survive.

use image::{ImageFormat, ImageReader, Limits};
use std::io::Cursor;

pub const MAX_BYTES: usize = 10 * 1024 * 1024;
/// The most pixels a photo may have, read from its header before anything is decoded: a small
/// file can declare a huge image (a decompression bomb). 40 million covers any phone's camera.
pub const MAX_PIXELS: u64 = 40_000_000;
/// Photos decoded at once on the whole node, off the request threads.
const DECODERS: usize = 2;

/// Cleans a photo in the bounded decoding pool: at most `DECODERS` at once, on blocking threads,
/// so that a storm of photos neither starves the requests nor piles up memory.
pub async fn clean_bounded(bytes: Vec<u8>) -> Result<Vec<u8>, String> {
    static POOL: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(DECODERS);
    let _permit = POOL
        .acquire()
        .await
        .map_err(|_| "La photo n'a pas pu être traitée.".to_string())?;
    tokio::task::spawn_blocking(move || clean(&bytes))
        .await
        .unwrap_or_else(|_| Err("La photo n'a pas pu être traitée.".into()))
}
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
    // The dimensions from the header first: nothing is decoded for an image too large.
    let (width, height) = ImageReader::with_format(Cursor::new(bytes), format)
        .into_dimensions()
        .map_err(|_| "La photo est illisible.".to_string())?;
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(format!(
            "La photo a trop de pixels ({width} × {height}) : 40 millions au plus. Réduisez-la ou prenez-en une autre."
        ));
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(12_000);
    limits.max_image_height = Some(12_000);
    limits.max_alloc = Some(192 * 1024 * 1024);
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

#[cfg(test)]
mod tests {
    use super::*;

    /// CRC-32 (IEEE) of a PNG chunk, to forge a header.
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for b in bytes {
            crc ^= u32::from(*b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    /// A valid 1 × 1 PNG whose header then claims `side` × `side` pixels: a few dozen bytes
    /// that would ask gigabytes of a decoder.
    fn bomb(side: u32) -> Vec<u8> {
        let mut png = Vec::new();
        image::DynamicImage::new_luma8(1, 1)
            .write_to(&mut Cursor::new(&mut png), ImageFormat::Png)
            .expect("encode");
        // Signature (8), length (4), "IHDR" (4), width (4), height (4)…; CRC after 13 bytes.
        png[16..20].copy_from_slice(&side.to_be_bytes());
        png[20..24].copy_from_slice(&side.to_be_bytes());
        let crc = crc32(&png[12..29]);
        png[29..33].copy_from_slice(&crc.to_be_bytes());
        png
    }

    #[test]
    fn a_decompression_bomb_is_refused_from_its_header_before_any_decoding() {
        let bytes = bomb(11_500);
        assert!(bytes.len() < 200, "{} bytes", bytes.len());
        let refused = clean(&bytes).expect_err("refused");
        assert!(refused.contains("trop de pixels"), "{refused}");
    }

    #[test]
    fn an_ordinary_photo_is_still_accepted() {
        let mut png = Vec::new();
        image::DynamicImage::new_rgb8(800, 600)
            .write_to(&mut Cursor::new(&mut png), ImageFormat::Png)
            .expect("encode");
        let jpeg = clean(&png).expect("accepted");
        assert_eq!(&jpeg[..2], &[0xFF, 0xD8]);
    }
}
