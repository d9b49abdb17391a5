//! What a sent file really is, from its bytes: the server trusts neither the name nor
//! the declared type, and the phone checks the same before it uploads.

/// The kinds of files the services accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Jpeg,
    Png,
    Pdf,
}

impl FileKind {
    pub fn content_type(self) -> &'static str {
        match self {
            FileKind::Jpeg => "image/jpeg",
            FileKind::Png => "image/png",
            FileKind::Pdf => "application/pdf",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            FileKind::Jpeg => "jpg",
            FileKind::Png => "png",
            FileKind::Pdf => "pdf",
        }
    }

    /// The kind a file name claims, if it claims one we know.
    pub fn from_name(name: &str) -> Option<FileKind> {
        match extension(name)?.as_str() {
            "jpg" | "jpeg" | "jpe" | "jfif" => Some(FileKind::Jpeg),
            "png" => Some(FileKind::Png),
            "pdf" => Some(FileKind::Pdf),
            _ => None,
        }
    }
}

/// A file name as the family sent it, made safe to show and to put in a header:
/// its last path component, without control, direction-control or invisible
/// characters, in NFC, at most 100 characters; `None` when nothing is left.
pub fn display_name(raw: &str) -> Option<String> {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let clean: String = crate::text::stored(last)
        .chars()
        .filter(|c| {
            !c.is_control() && !crate::text::is_bidi_control(*c) && !crate::text::is_invisible(*c)
        })
        .take(100)
        .collect();
    let clean = clean.trim().to_owned();
    (!clean.is_empty() && clean != "." && clean != "..").then_some(clean)
}

/// A file name's extension, lower case, when it has one (one to four letters or
/// digits after the last dot: "scan.PDF", not "Carnet vacc. Luc").
pub fn extension(name: &str) -> Option<String> {
    let (_, ext) = name.trim().rsplit_once('.')?;
    (!ext.is_empty() && ext.len() <= 4 && ext.chars().all(|c| c.is_ascii_alphanumeric()))
        .then(|| ext.to_ascii_lowercase())
}

vocabulary! {
    /// What a tus upload becomes once its last byte is in and checked (metadata
    /// `purpose`; `document` when absent).
    UploadPurpose {
        /// A document of the dossier, waiting for the services (`document_type` named).
        Document => "document", "Document du dossier";
        /// A file attached to a message.
        Attachment => "attachment", "Pièce jointe";
    }
}

/// The largest image the services accept, in pixels: a 12-megapixel photo is fine; a
/// file declaring 60,000 x 60,000 pixels is an image bomb.
pub const MAX_IMAGE_PIXELS: u64 = 50_000_000;
pub const MAX_IMAGE_SIDE: u32 = 12_000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileRefusal {
    #[error("ce fichier n'est ni une photo JPEG ou PNG ni un PDF")]
    Unsupported,
    #[error("le contenu du fichier ({actual}) ne correspond pas à son nom ({claimed})")]
    Mismatch {
        claimed: String,
        actual: &'static str,
    },
    #[error("l'image est trop grande ({width} x {height} pixels)")]
    ImageTooLarge { width: u32, height: u32 },
    #[error("le fichier est incomplet ou abîmé")]
    Damaged,
}

/// How far into a file PDF readers look for its `%PDF-` header (the PDF 1.7
/// reference, implementation note 13; Acrobat, pdf.js and Poppler accept what comes
/// before it, such as a byte-order mark or a mailer's preamble).
pub const PDF_HEADER_WITHIN: usize = 1024;

impl FileRefusal {
    /// The stable code of the refusal, the same from the server and the phone.
    pub fn code(&self) -> crate::codes::ErrorCode {
        use crate::codes::ErrorCode;
        match self {
            FileRefusal::Unsupported => ErrorCode::UnsupportedFileType,
            FileRefusal::Mismatch { .. } => ErrorCode::FileTypeMismatch,
            FileRefusal::ImageTooLarge { .. } => ErrorCode::ImageTooLarge,
            FileRefusal::Damaged => ErrorCode::DamagedFile,
        }
    }

    /// What a parent reads: "Le fichier est incomplet ou abîmé : document refusé."
    pub fn detail_fr(&self) -> String {
        crate::fr::sentence(&format!("{self} : document refusé"))
    }
}

/// The kind of a file from its first bytes: images by their signature at the very
/// start, a PDF by its header within the first [`PDF_HEADER_WITHIN`] bytes.
pub fn sniff(bytes: &[u8]) -> Option<FileKind> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(FileKind::Jpeg)
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(FileKind::Png)
    } else if bytes[..bytes.len().min(PDF_HEADER_WITHIN)]
        .windows(5)
        .any(|w| w == b"%PDF-")
    {
        Some(FileKind::Pdf)
    } else {
        None
    }
}

/// Whether an image decodes whole: every byte of its picture is there and makes
/// sense (a header alone, a file cut short or scrambled picture data do not). Only
/// called once the declared size was found reasonable, so that decoding is bounded
/// (one byte per pixel for a JPEG decoded in grey).
fn decodes_whole(kind: FileKind, bytes: &[u8], width: u32, height: u32) -> bool {
    use zune_jpeg::zune_core::bytestream::ZCursor;
    use zune_jpeg::zune_core::colorspace::ColorSpace;
    use zune_jpeg::zune_core::options::DecoderOptions;
    let options = DecoderOptions::default()
        .set_strict_mode(true)
        .set_max_width(width as usize)
        .set_max_height(height as usize);
    match kind {
        FileKind::Jpeg => {
            let options = options.jpeg_set_out_colorspace(ColorSpace::Luma);
            // Decoders, like browsers, fill what follows an early end-of-image
            // marker with grey: a file cut short and given back its two last bytes
            // decodes. A baseline picture (what cameras write) is decoded without
            // its end marker instead, so that running out of data is an error.
            let data = match entropy_end(bytes) {
                Some(end) if is_baseline(bytes) => &bytes[..end],
                _ => bytes,
            };
            let mut decoder = zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(data), options);
            decoder.decode().is_ok()
        }
        FileKind::Png => {
            let options = options.png_set_confirm_crc(true);
            let mut decoder = zune_png::PngDecoder::new_with_options(ZCursor::new(bytes), options);
            decoder.decode_raw().is_ok()
        }
        FileKind::Pdf => true,
    }
}

/// Width and height as the image header declares them (before any decoding).
pub fn declared_size(kind: FileKind, bytes: &[u8]) -> Option<(u32, u32)> {
    match kind {
        FileKind::Png => {
            // Signature (8), IHDR length (4) and name (4), then width and height.
            let w = u32::from_be_bytes(bytes.get(16..20)?.try_into().ok()?);
            let h = u32::from_be_bytes(bytes.get(20..24)?.try_into().ok()?);
            Some((w, h))
        }
        FileKind::Jpeg => {
            let mut i = 2;
            while i + 4 <= bytes.len() {
                if bytes[i] != 0xFF {
                    return None;
                }
                let marker = bytes[i + 1];
                if marker == 0xFF {
                    i += 1;
                    continue;
                }
                let len = u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]) as usize;
                // Start of frame (baseline, progressive…), not DHT/JPG/DAC.
                if (0xC0..=0xCF).contains(&marker) && ![0xC4, 0xC8, 0xCC].contains(&marker) {
                    let h = u16::from_be_bytes(bytes.get(i + 5..i + 7)?.try_into().ok()?);
                    let w = u16::from_be_bytes(bytes.get(i + 7..i + 9)?.try_into().ok()?);
                    return Some((u32::from(w), u32::from(h)));
                }
                if marker == 0xDA || len < 2 {
                    return None;
                }
                i += 2 + len;
            }
            None
        }
        FileKind::Pdf => None,
    }
}

/// Where the picture data of a JPEG ends: the first end-of-image marker after the
/// first start of scan (an EXIF thumbnail, before it, has its own).
fn entropy_end(bytes: &[u8]) -> Option<usize> {
    let scan = jpeg_segments(bytes).find(|(marker, _)| *marker == 0xDA)?.1;
    bytes[scan..]
        .windows(2)
        .position(|w| w == [0xFF, 0xD9])
        .map(|p| scan + p)
}

/// Whether a JPEG is baseline or extended sequential (one scan), not progressive.
fn is_baseline(bytes: &[u8]) -> bool {
    jpeg_segments(bytes).any(|(marker, _)| matches!(marker, 0xC0 | 0xC1))
}

/// The markers of a JPEG's header segments, with where each one's data starts,
/// up to and including the first start of scan.
fn jpeg_segments(bytes: &[u8]) -> impl Iterator<Item = (u8, usize)> + '_ {
    let mut i = 2;
    let mut done = false;
    std::iter::from_fn(move || {
        while !done && i + 4 <= bytes.len() {
            if bytes[i] != 0xFF {
                return None;
            }
            let marker = bytes[i + 1];
            if marker == 0xFF {
                i += 1;
                continue;
            }
            let len = usize::from(u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]));
            let start = i + 4;
            i += 2 + len;
            done = marker == 0xDA || len < 2;
            return Some((marker, start));
        }
        None
    })
}

/// Whether a PDF is whole as readers read it (ISO 32000-1 §7.5): it ends with
/// `%%EOF`, its `startxref` gives the offset of its cross-reference (a table
/// starting `xref`, or a stream object), and it has at least one page. A file cut
/// short and given back an `%%EOF`, or a header with nothing behind it, is not.
fn pdf_is_whole(bytes: &[u8]) -> bool {
    let tail = &bytes[bytes.len().saturating_sub(1024)..];
    let Some(at) = find_last(tail, b"startxref") else {
        return false;
    };
    if !tail[at..].windows(5).any(|w| w == b"%%EOF") {
        return false;
    }
    let digits: String = tail[at + 9..]
        .iter()
        .map(|b| *b as char)
        .skip_while(|c| c.is_ascii_whitespace())
        .take_while(|c| c.is_ascii_digit())
        .collect();
    // Offsets count from the header, which may follow a few bytes (a BOM).
    let header = bytes
        .windows(5)
        .take(PDF_HEADER_WITHIN)
        .position(|w| w == b"%PDF-")
        .unwrap_or(0);
    let Some(xref) = digits.parse::<usize>().ok().map(|o| o + header) else {
        return false;
    };
    let Some(there) = bytes.get(xref..) else {
        return false;
    };
    (there.starts_with(b"xref") || starts_with_object(there)) && has_a_page(bytes)
}

/// `12 0 obj`: the start of an indirect object (an xref stream is one).
fn starts_with_object(bytes: &[u8]) -> bool {
    let mut rest = bytes;
    for _ in 0..2 {
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        let spaces = rest[digits..]
            .iter()
            .take_while(|b| b.is_ascii_whitespace())
            .count();
        if digits == 0 || spaces == 0 {
            return false;
        }
        rest = &rest[digits + spaces..];
    }
    rest.starts_with(b"obj")
}

/// Whether a page object is declared: `/Type /Page` (not `/Pages`).
fn has_a_page(bytes: &[u8]) -> bool {
    let mut at = 0;
    while let Some(found) = bytes[at..].windows(5).position(|w| w == b"/Type") {
        let after = &bytes[at + found + 5..];
        let spaces = after.iter().take_while(|b| b.is_ascii_whitespace()).count();
        let name = &after[spaces..];
        if name.starts_with(b"/Page") && !name.get(5).is_some_and(|b| b.is_ascii_alphanumeric()) {
            return true;
        }
        at += found + 5;
    }
    false
}

fn find_last(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).rposition(|w| w == needle)
}

/// Checks a complete file: its real kind, that its name does not lie about it, that
/// an image is not a bomb (from its header, before any decoding) and decodes whole,
/// that a PDF ends as PDFs end. Returns the kind. Decoding an image takes up to one
/// byte per declared pixel (four for a PNG of 16-bit colour) and tens of
/// milliseconds for a phone photo: the server runs it off its async threads.
pub fn check_file(bytes: &[u8], name: Option<&str>) -> Result<FileKind, FileRefusal> {
    let kind = sniff(bytes).ok_or(FileRefusal::Unsupported)?;
    // A name says what it is: another kind ("photo.pdf" holding a JPEG), or a kind
    // the services do not take ("photo.exe"), is a lie about the content.
    if let Some(ext) = name.and_then(extension)
        && FileKind::from_name(&format!(".{ext}")) != Some(kind)
    {
        return Err(FileRefusal::Mismatch {
            claimed: ext,
            actual: kind.extension(),
        });
    }
    match kind {
        FileKind::Pdf => {
            if !pdf_is_whole(bytes) {
                return Err(FileRefusal::Damaged);
            }
        }
        FileKind::Jpeg | FileKind::Png => {
            let (width, height) = declared_size(kind, bytes).ok_or(FileRefusal::Damaged)?;
            if width == 0 || height == 0 {
                return Err(FileRefusal::Damaged);
            }
            if width > MAX_IMAGE_SIDE
                || height > MAX_IMAGE_SIDE
                || u64::from(width) * u64::from(height) > MAX_IMAGE_PIXELS
            {
                return Err(FileRefusal::ImageTooLarge { width, height });
            }
            if !decodes_whole(kind, bytes, width, height) {
                return Err(FileRefusal::Damaged);
            }
        }
    }
    Ok(kind)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_sent_name_is_made_safe_to_show() {
        assert_eq!(
            super::display_name("../../etc/passwd.jpg").as_deref(),
            Some("passwd.jpg")
        );
        assert_eq!(
            super::display_name("C:\\photos\\carnet.pdf").as_deref(),
            Some("carnet.pdf")
        );
        assert_eq!(
            super::display_name("a\r\nX-Evil: 1.jpg").as_deref(),
            Some("aX-Evil: 1.jpg")
        );
        assert_eq!(
            super::display_name("\u{202e}gpj.exe").as_deref(),
            Some("gpj.exe")
        );
        assert_eq!(super::display_name("  "), None);
        assert_eq!(super::display_name(".."), None);
        assert_eq!(
            super::display_name(&"é".repeat(500))
                .unwrap()
                .chars()
                .count(),
            100
        );
    }

    use super::*;

    fn jpeg(width: u16, height: u16) -> Vec<u8> {
        let mut b = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10];
        b.extend_from_slice(b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0");
        b.extend_from_slice(&[0xFF, 0xC0, 0x00, 0x11, 0x08]);
        b.extend_from_slice(&height.to_be_bytes());
        b.extend_from_slice(&width.to_be_bytes());
        b.extend_from_slice(&[3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
        b.extend_from_slice(&[0xFF, 0xD9]);
        b
    }

    #[test]
    fn the_bytes_decide_not_the_name() {
        let photo = famille_fixtures::photo("gps_nikon_DSCN0010.jpg").unwrap();
        assert_eq!(check_file(&photo, Some("carnet.JPG")), Ok(FileKind::Jpeg));
        assert_eq!(
            check_file(b"MZ\x90\0\x03\0\0\0", Some("carnet.jpg")),
            Err(FileRefusal::Unsupported)
        );
        assert_eq!(
            check_file(b"\x7fELF\x02\x01\x01", Some("photo.jpeg")),
            Err(FileRefusal::Unsupported)
        );
        let pdf = &famille_fixtures::pdf();
        assert_eq!(check_file(pdf, Some("scan.pdf")), Ok(FileKind::Pdf));
        assert_eq!(
            check_file(pdf, Some("scan.jpg")),
            Err(FileRefusal::Mismatch {
                claimed: "jpg".into(),
                actual: "pdf"
            })
        );
        assert_eq!(check_file(&pdf[..20], None), Err(FileRefusal::Damaged));
    }

    #[test]
    fn only_whole_files_are_documents() {
        for (name, bytes, whole) in famille_fixtures::documents() {
            let checked = check_file(&bytes, Some(name));
            if whole {
                assert!(checked.is_ok(), "{name}: {checked:?}");
            } else {
                assert_eq!(checked, Err(FileRefusal::Damaged), "{name}");
            }
        }
        // Any cut of a whole image is refused, wherever it falls.
        let photo = famille_fixtures::photo("orientation/landscape_1.jpg").unwrap();
        let scan = famille_fixtures::png(64, 48);
        for (bytes, name) in [(&photo, "a.jpg"), (&scan, "a.png")] {
            let step = (bytes.len() / 23).max(1);
            for cut in (12..bytes.len() - 2).step_by(step) {
                let checked = check_file(&bytes[..cut], Some(name));
                assert!(checked.is_err(), "{name} cut at {cut} of {}", bytes.len());
            }
        }
    }

    #[test]
    fn a_name_tells_no_lie_and_a_picture_has_a_size() {
        let photo = famille_fixtures::photo("gps_nikon_DSCN0010.jpg").unwrap();
        for (name, ok) in [
            ("photo.jpg", true),
            ("photo.JPEG", true),
            ("photo", true),
            ("Carnet vacc. Luc", true),
            ("photo.exe", false),
            ("photo.pdf", false),
            ("photo.heic", false),
        ] {
            assert_eq!(check_file(&photo, Some(name)).is_ok(), ok, "{name}");
        }
        assert_eq!(
            check_file(&photo, Some("photo.exe")),
            Err(FileRefusal::Mismatch {
                claimed: "exe".into(),
                actual: "jpg"
            })
        );
        assert_eq!(check_file(&jpeg(0, 200), None), Err(FileRefusal::Damaged));
    }

    #[test]
    fn a_pdf_header_counts_where_readers_look_for_it() {
        let pdf = famille_fixtures::pdf();
        let within = [vec![b' '; PDF_HEADER_WITHIN - 5], pdf.clone()].concat();
        assert_eq!(sniff(&within), Some(FileKind::Pdf));
        let beyond = [vec![b' '; PDF_HEADER_WITHIN], pdf].concat();
        assert_eq!(sniff(&beyond), None);
    }

    #[test]
    fn an_image_bomb_is_refused_from_its_header() {
        assert_eq!(
            check_file(&jpeg(60_000, 60_000), None),
            Err(FileRefusal::ImageTooLarge {
                width: 60_000,
                height: 60_000
            })
        );
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        png.extend_from_slice(&60_000u32.to_be_bytes());
        png.extend_from_slice(&60_000u32.to_be_bytes());
        assert!(matches!(
            check_file(&png, Some("a.png")),
            Err(FileRefusal::ImageTooLarge { .. })
        ));
        assert_eq!(
            declared_size(FileKind::Jpeg, &jpeg(4032, 3024)),
            Some((4032, 3024))
        );
    }
}
