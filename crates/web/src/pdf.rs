//! Printable letters as PDF (accusé de réception, decision letter): A4 pages in the PDF base font
//! Helvetica, which every reader has, so nothing is embedded and a letter weighs a few KB. Acts
//! published online (délibérations) are archival PDF/A instead (`archive`), fonts embedded.

use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

/// A part of a letter, laid out top to bottom.
pub enum Block {
    Title(String),
    Heading(String),
    Paragraph(String),
    /// Label and value pairs, e.g. "Numéro du dossier" → "2026-0000042".
    Facts(Vec<(String, String)>),
}

const WIDTH: f32 = 595.0;
const HEIGHT: f32 = 842.0;
const MARGIN: f32 = 56.0;
/// Average advance of Helvetica's glyphs, in em: used to wrap lines without font metrics.
/// Slightly generous, so that a line never overflows the margin.
const AVERAGE_ADVANCE: f32 = 0.53;

/// Text in the base fonts' WinAnsi encoding (Windows-1252); characters it lacks become "?".
fn encode(text: &str) -> Vec<u8> {
    let text = text.replace(['\u{202f}', '\u{a0}'], " ");
    let mut out = Vec::with_capacity(text.len());
    let mut buffer = [0u8; 4];
    for c in text.chars() {
        let (bytes, _, unmappable) = encoding_rs::WINDOWS_1252.encode(c.encode_utf8(&mut buffer));
        if unmappable {
            out.push(b'?');
        } else {
            out.extend_from_slice(&bytes);
        }
    }
    out
}

/// Splits a paragraph into lines that fit `width` points at `size`.
fn wrap(text: &str, size: f32, width: f32) -> Vec<String> {
    wrap_with(text, size, width, AVERAGE_ADVANCE)
}

/// `wrap` for a font whose glyphs average `advance` em.
fn wrap_with(text: &str, size: f32, width: f32, advance: f32) -> Vec<String> {
    let per_line = ((width / (size * advance)) as usize).max(10);
    let mut lines = Vec::new();
    for paragraph in text.lines() {
        let mut line = String::new();
        for word in paragraph.split_whitespace() {
            let needed = line.chars().count() + word.chars().count() + 1;
            if !line.is_empty() && needed > per_line {
                lines.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        lines.push(line);
    }
    lines
}

struct Writer {
    pages: Vec<Content>,
    y: f32,
}

impl Writer {
    fn new() -> Self {
        Self {
            pages: vec![Content::new()],
            y: HEIGHT - MARGIN,
        }
    }

    fn line(&mut self, text: &str, font: &[u8], size: f32, x: f32) {
        let leading = size * 1.35;
        if self.y - leading < MARGIN {
            self.pages.push(Content::new());
            self.y = HEIGHT - MARGIN;
        }
        self.y -= leading;
        if let Some(page) = self.pages.last_mut() {
            page.begin_text()
                .set_font(Name(font), size)
                .next_line(x, self.y)
                .show(Str(&encode(text)))
                .end_text();
        }
    }

    fn gap(&mut self, points: f32) {
        self.y -= points;
    }
}

/// Renders the blocks as a PDF document.
pub fn letter(title: &str, blocks: &[Block]) -> Vec<u8> {
    let mut w = Writer::new();
    let text_width = WIDTH - 2.0 * MARGIN;
    for block in blocks {
        match block {
            Block::Title(t) => {
                for l in wrap(t, 18.0, text_width) {
                    w.line(&l, b"F2", 18.0, MARGIN);
                }
                w.gap(10.0);
            }
            Block::Heading(t) => {
                w.gap(8.0);
                for l in wrap(t, 13.0, text_width) {
                    w.line(&l, b"F2", 13.0, MARGIN);
                }
                w.gap(2.0);
            }
            Block::Paragraph(t) => {
                for l in wrap(t, 11.0, text_width) {
                    w.line(&l, b"F1", 11.0, MARGIN);
                }
                w.gap(6.0);
            }
            Block::Facts(pairs) => {
                for (label, value) in pairs {
                    w.line(label, b"F2", 10.0, MARGIN);
                    for l in wrap(value, 11.0, text_width - 12.0) {
                        w.line(&l, b"F1", 11.0, MARGIN + 12.0);
                    }
                    w.gap(3.0);
                }
                w.gap(6.0);
            }
        }
    }

    let mut pdf = Pdf::new();
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let regular = Ref::new(3);
    let bold = Ref::new(4);
    let info = Ref::new(5);
    let first_page = 10;
    let page_ids: Vec<Ref> = (0..w.pages.len())
        .map(|i| Ref::new(first_page + 2 * i as i32))
        .collect();
    pdf.catalog(catalog).pages(tree).lang(TextStr("fr"));
    pdf.document_info(info)
        .title(TextStr(title))
        .creator(TextStr("Guichet"));
    pdf.pages(tree)
        .kids(page_ids.iter().copied())
        .count(page_ids.len() as i32);
    for (i, content) in w.pages.into_iter().enumerate() {
        let page_id = page_ids[i];
        let content_id = Ref::new(page_id.get() + 1);
        let mut page = pdf.page(page_id);
        page.media_box(Rect::new(0.0, 0.0, WIDTH, HEIGHT));
        page.parent(tree);
        page.contents(content_id);
        let mut resources = page.resources();
        resources
            .fonts()
            .pair(Name(b"F1"), regular)
            .pair(Name(b"F2"), bold);
        resources.finish();
        page.finish();
        pdf.stream(content_id, &content.finish());
    }
    for (id, name) in [(regular, &b"Helvetica"[..]), (bold, &b"Helvetica-Bold"[..])] {
        pdf.type1_font(id)
            .base_font(Name(name))
            .encoding_predefined(Name(b"WinAnsiEncoding"));
    }
    pdf.finish()
}

/// DejaVu Sans (Bitstream Vera licence, `fonts/LICENSE-DejaVu.txt`): embedded, subset to the
/// glyphs used, in the archival documents.
static REGULAR: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");
static BOLD: &[u8] = include_bytes!("../fonts/DejaVuSans-Bold.ttf");
/// DejaVu's glyphs are wider than Helvetica's.
const DEJAVU_ADVANCE: f32 = 0.6;

/// Renders the blocks as a PDF/A-2u document (archival: fonts embedded, text in Unicode, XMP
/// metadata, an sRGB output intent), what acts published online must be. `created_ms`: the
/// instant it is dated (Unix ms), written in Paris time.
pub fn archive(title: &str, blocks: &[Block], created_ms: i64) -> anyhow::Result<Vec<u8>> {
    use krilla::configure::{Archival, ConfigurationBuilder};
    use krilla::geom::Point;
    use krilla::metadata::{DateTime, Metadata};
    use krilla::page::PageSettings;
    use krilla::text::{Font, TextDirection};
    let configuration = ConfigurationBuilder::new()
        .with_archival_validator(Archival::A2_U)
        .finish()
        .map_err(|e| anyhow::anyhow!("PDF/A configuration: {e:?}"))?;
    let mut document = krilla::Document::new_with(krilla::SerializeSettings {
        configuration,
        ..Default::default()
    });
    let regular = Font::new(REGULAR.into(), 0).ok_or_else(|| anyhow::anyhow!("font"))?;
    let bold = Font::new(BOLD.into(), 0).ok_or_else(|| anyhow::anyhow!("font"))?;
    // Lines first (text, bold, size, indent), then pages.
    let text_width = WIDTH - 2.0 * MARGIN;
    let mut lines: Vec<(String, bool, f32, f32, f32)> = Vec::new();
    let mut push = |text: &str, strong: bool, size: f32, indent: f32, gap_after: f32| {
        let per = wrap_with(text, size, text_width - indent, DEJAVU_ADVANCE);
        let n = per.len();
        for (i, l) in per.into_iter().enumerate() {
            let gap = if i + 1 == n { gap_after } else { 0.0 };
            lines.push((l, strong, size, indent, gap));
        }
    };
    for block in blocks {
        match block {
            Block::Title(t) => push(t, true, 17.0, 0.0, 10.0),
            Block::Heading(t) => push(t, true, 12.5, 0.0, 2.0),
            Block::Paragraph(t) => push(t, false, 10.5, 0.0, 6.0),
            Block::Facts(pairs) => {
                for (label, value) in pairs {
                    push(label, true, 9.5, 0.0, 0.0);
                    push(value, false, 10.5, 12.0, 3.0);
                }
            }
        }
    }
    let mut lines = lines.into_iter().peekable();
    while lines.peek().is_some() {
        let mut page = document.start_page_with(
            PageSettings::from_wh(WIDTH, HEIGHT).ok_or_else(|| anyhow::anyhow!("page"))?,
        );
        let mut surface = page.surface();
        let mut y = MARGIN;
        while let Some((_, _, size, _, _)) = lines.peek() {
            let leading = size * 1.35;
            if y + leading > HEIGHT - MARGIN {
                break;
            }
            let Some((text, strong, size, indent, gap)) = lines.next() else {
                break;
            };
            y += leading;
            let font = if strong {
                bold.clone()
            } else {
                regular.clone()
            };
            surface.draw_text(
                Point::from_xy(MARGIN + indent, y),
                font,
                size,
                &text,
                false,
                TextDirection::Auto,
            );
            y += gap;
        }
        surface.finish();
        page.finish();
    }
    let instant =
        jiff::Timestamp::from_millisecond(created_ms).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let paris = guichet_domain::delai::paris();
    let zoned = paris.to_datetime(instant);
    let offset = paris.to_offset(instant).seconds();
    let date = DateTime::new(zoned.year() as u16)
        .month(zoned.month() as u8)
        .day(zoned.day() as u8)
        .hour(zoned.hour() as u8)
        .minute(zoned.minute() as u8)
        .second(zoned.second() as u8)
        .utc_offset_hour((offset / 3600) as i8)
        .utc_offset_minute(((offset % 3600) / 60) as u8);
    document.set_metadata(
        Metadata::new()
            .title(title.to_string())
            .language("fr".into())
            .creator("Guichet".into())
            .creation_date(date),
    );
    document.finish().map_err(|e| anyhow::anyhow!("PDF/A: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn french_text_is_encoded_for_the_base_fonts() {
        assert_eq!(encode("Été"), vec![0xC9, b't', 0xE9]);
        assert_eq!(
            encode("l’œuvre — 5 €"),
            b"l\x92\x9cuvre \x97 5 \x80".to_vec()
        );
        assert_eq!(encode("日本"), b"??".to_vec());
    }

    #[test]
    fn long_paragraphs_wrap_within_the_margins() {
        let text = "mot ".repeat(200);
        let lines = wrap(&text, 11.0, WIDTH - 2.0 * MARGIN);
        assert!(lines.len() > 5);
        let max = ((WIDTH - 2.0 * MARGIN) / (11.0 * AVERAGE_ADVANCE)) as usize;
        assert!(lines.iter().all(|l| l.chars().count() <= max));
    }

    #[test]
    fn an_archive_is_pdf_a_2u_with_its_fonts_subset() {
        let blocks = vec![
            Block::Title("Délibération n° 2026-001".into()),
            Block::Paragraph(
                "Le conseil municipal, après en avoir délibéré : « œuvre » — 5 €. ".repeat(60),
            ),
            Block::Facts(vec![("Pour".into(), "12".into())]),
        ];
        let bytes = archive("Délibération n° 2026-001", &blocks, 1_780_000_000_000).expect("pdf");
        assert!(bytes.starts_with(b"%PDF-1.7"));
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.contains("pdfaid:part") && text.contains("<pdfaid:part>2</pdfaid:part>"));
        assert!(text.contains("<pdfaid:conformance>U</pdfaid:conformance>"));
        assert!(text.contains("/OutputIntents"));
        // Two fonts of 700 KB each, subset to the glyphs used.
        assert!(bytes.len() < 80_000, "{} bytes", bytes.len());
    }
}
