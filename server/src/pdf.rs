//! What the server's PDFs (invoices, certificates) draw with: krilla (a maintained
//! PDF writer: fonts embedded and subset, text extractable) in DejaVu Sans,
//! embedded so that accents print everywhere, on A4 pages; widths measured with
//! skrifa (krilla's own font reader) so that amounts align on the right.

use std::sync::{Arc, LazyLock};

use krilla::Document;
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point};
use krilla::metadata::Metadata;
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::surface::Surface;
use krilla::text::{Font, TextDirection};
use skrifa::MetadataProvider;
use skrifa::instance::{LocationRef, Size};

static REGULAR: &[u8] = include_bytes!("../assets/fonts/DejaVuSans.ttf");
static BOLD: &[u8] = include_bytes!("../assets/fonts/DejaVuSans-Bold.ttf");

/// A font for drawing and for measuring.
struct Face {
    font: Font,
    bytes: &'static [u8],
}

static FACES: LazyLock<(Face, Face)> = LazyLock::new(|| {
    let load = |bytes: &'static [u8]| Face {
        font: Font::new(Arc::new(bytes.to_vec()).into(), 0).expect("the embedded font reads"),
        bytes,
    };
    (load(REGULAR), load(BOLD))
});

impl Face {
    /// The width of `text` at `size` points (advances, no kerning).
    fn width(&self, text: &str, size: f32) -> f32 {
        let Ok(font) = skrifa::FontRef::new(self.bytes) else {
            return 0.0;
        };
        let charmap = font.charmap();
        let metrics = font.glyph_metrics(Size::new(size), LocationRef::default());
        text.chars()
            .filter_map(|c| charmap.map(c))
            .filter_map(|g| metrics.advance_width(g))
            .sum()
    }
}

fn face(bold: bool) -> &'static Face {
    let (regular, heavy) = &*FACES;
    if bold { heavy } else { regular }
}

/// A4, in points.
pub const WIDTH: f32 = 595.0;
pub const HEIGHT: f32 = 842.0;
pub const MARGIN: f32 = 42.0;
pub const LINE: f32 = 13.0;
/// Where a page's lines stop, leaving room for the footer.
pub const BOTTOM: f32 = HEIGHT - 70.0;

pub fn grey() -> rgb::Color {
    rgb::Color::new(90, 90, 90)
}

/// A new document with its metadata (title, French).
pub fn document(title: String) -> Document {
    let mut document = Document::new();
    document.set_metadata(
        Metadata::new()
            .title(title)
            .creator("Portail Famille".to_owned())
            .language("fr-FR".to_owned()),
    );
    document
}

pub fn a4() -> PageSettings {
    PageSettings::from_wh(WIDTH, HEIGHT).expect("A4 is a page size")
}

/// A page being written, with its cursor.
pub struct Writer<'s> {
    surface: Surface<'s>,
    pub y: f32,
}

impl<'s> Writer<'s> {
    pub fn new(surface: Surface<'s>, y: f32) -> Writer<'s> {
        Writer { surface, y }
    }

    pub fn text(&mut self, x: f32, y: f32, text: &str, size: f32, bold: bool, color: rgb::Color) {
        self.surface.set_fill(Some(Fill {
            paint: color.into(),
            opacity: NormalizedF32::ONE,
            rule: Default::default(),
        }));
        self.surface.draw_text(
            Point::from_xy(x, y),
            face(bold).font.clone(),
            size,
            text,
            false,
            TextDirection::Auto,
        );
    }

    /// Text ending at `right` (amounts).
    pub fn right(&mut self, right: f32, y: f32, text: &str, size: f32, bold: bool) {
        let width = face(bold).width(text, size);
        self.text(right - width, y, text, size, bold, rgb::Color::black());
    }

    /// A thin grey line across the page.
    pub fn rule(&mut self, y: f32) {
        let mut path = PathBuilder::new();
        path.move_to(MARGIN, y);
        path.line_to(WIDTH - MARGIN, y);
        if let Some(path) = path.finish() {
            self.surface.set_fill(None);
            self.surface.set_stroke(Some(Stroke {
                paint: grey().into(),
                width: 0.5,
                ..Default::default()
            }));
            self.surface.draw_path(&path);
            self.surface.set_stroke(None);
        }
    }
}

/// Splits `text` into lines no wider than `width` at `size` points.
pub fn wrap(text: &str, size: f32, width: f32) -> Vec<String> {
    wrap_in(text, size, width, false)
}

pub fn wrap_in(text: &str, size: f32, width: f32, bold: bool) -> Vec<String> {
    let measure = face(bold);
    let mut lines = Vec::new();
    for paragraph in text.lines() {
        let mut line = String::new();
        for word in paragraph.split_whitespace() {
            let candidate = if line.is_empty() {
                word.to_owned()
            } else {
                format!("{line} {word}")
            };
            if measure.width(&candidate, size) > width && !line.is_empty() {
                lines.push(std::mem::replace(&mut line, word.to_owned()));
            } else {
                line = candidate;
            }
        }
        lines.push(line);
    }
    lines
}

/// The foot of every page: what the document is, and « Page n/N ».
pub fn footer(w: &mut Writer<'_>, page: usize, pages: usize) {
    let y = HEIGHT - 36.0;
    w.rule(y - 10.0);
    w.text(
        MARGIN,
        y,
        "Document émis par le Portail Famille — conservez-le pour vos démarches.",
        7.5,
        false,
        grey(),
    );
    w.right(
        WIDTH - MARGIN,
        y,
        &format!("Page {page}/{pages}"),
        7.5,
        false,
    );
}
