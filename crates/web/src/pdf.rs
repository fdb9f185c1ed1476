//! Printable letters as PDF (accusé de réception, decision letter): A4 pages in the PDF base font
//! Helvetica, which every reader has, so nothing is embedded and a letter weighs a few KB.

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
    let per_line = ((width / (size * AVERAGE_ADVANCE)) as usize).max(10);
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
}
