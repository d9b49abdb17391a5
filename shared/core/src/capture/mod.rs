//! From the camera's JPEG to a page ready to send: EXIF orientation applied, every
//! metadata dropped (a phone photo carries GPS), the long side brought down to a
//! configurable size, an optional "document" look (grey, contrast stretched), quality
//! checks a screen can show before sending, and a JPEG re-encoded. Several pages make
//! one PDF whose pages are those JPEGs as they are (no second encoding).
//!
//! Decoding has explicit limits: the size the header declares is checked before a
//! single pixel is decoded, and a photo over [`MAX_IMAGE_PIXELS`] (108 MP phones
//! exist) is decoded at a reduced scale in the DCT rather than whole. Colours are
//! made sRGB (an iPhone's Display P3, a camera's Adobe RGB), since the page keeps no
//! profile; a CMYK file is decoded to RGB.

use famille_model::files::{FileKind, MAX_IMAGE_PIXELS, declared_size, sniff};

use crate::error::{CoreResult, Error};

mod decode;
use decode::{decode_reduced, decode_whole, to_srgb};

/// How to prepare a page.
#[derive(Debug, Clone, Copy, PartialEq, uniffi::Record)]
pub struct CaptureOptions {
    /// The long side at most, in pixels (2,000 by default).
    pub max_side: u32,
    /// Grey with stretched contrast: lighter, and easier to read for a scan.
    pub document_look: bool,
    /// JPEG quality, 1 to 100 (80 by default).
    pub jpeg_quality: u8,
    /// Look for a sheet of paper and straighten it (perspective correction) when its
    /// four corners are found.
    pub detect_page: bool,
}

impl Default for CaptureOptions {
    fn default() -> CaptureOptions {
        CaptureOptions {
            max_side: 2000,
            document_look: false,
            jpeg_quality: 80,
            detect_page: false,
        }
    }
}

/// What a screen shows before sending: the scores, and whether each is a problem.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct QualityReport {
    /// Variance of the Laplacian (sharpness); below [`BLUR_THRESHOLD`] it is blurry.
    pub sharpness: f64,
    /// Mean brightness, 0 to 255.
    pub brightness: f64,
    pub blurry: bool,
    pub too_dark: bool,
    /// The photo is too small to be read (long side under 1,000 pixels).
    pub too_small: bool,
}

/// What came of looking for the sheet (`CaptureOptions::detect_page`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum PageSearch {
    /// Not asked for: the photo as taken.
    NotAsked,
    /// The sheet's four edges were found: the page is the sheet, straightened.
    Straightened,
    /// No sheet stood out: the photo as taken.
    NotFound,
    /// A shape was seen but did not convince as a whole sheet (an edge lost in a
    /// background as bright as the paper, a side along the frame): the photo is kept
    /// as taken rather than risk cutting the document. The app may suggest a darker
    /// surface.
    KeptWhole,
}

/// A point of the photo as taken (upright), in fractions of its width and height
/// (0 to 1 from the top-left corner): what a preview draws over the photo.
#[derive(Debug, Clone, Copy, PartialEq, uniffi::Record)]
pub struct PhotoPoint {
    pub x: f64,
    pub y: f64,
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CapturedPage {
    pub page_search: PageSearch,
    /// Where the sheet was found in the photo (top-left, top-right, bottom-right,
    /// bottom-left) when it was straightened; empty otherwise.
    pub sheet_corners: Vec<PhotoPoint>,
    /// The page as a baseline JPEG, without any metadata, in sRGB.
    pub jpeg: Vec<u8>,
    /// The page's size in pixels (upright).
    pub width: u32,
    pub height: u32,
    pub quality: QualityReport,
}

/// Variance of the Laplacian of the 600 px grey copy under which a page is blurry.
pub const BLUR_THRESHOLD: f64 = 60.0;
/// Mean grey level (0 to 255) under which a page is too dark.
pub const DARK_THRESHOLD: f64 = 55.0;
/// Long side, in pixels, under which a photo is too small to be read.
pub const SMALL_SIDE: u32 = 1000;

fn refuse(detail: &str) -> Error {
    Error::invalid(detail)
}

/// Whether the bytes are an HEIC/HEIF picture (what iPhones write by default).
fn is_heic(bytes: &[u8]) -> bool {
    bytes.len() > 12
        && &bytes[4..8] == b"ftyp"
        && [
            b"heic", b"heix", b"mif1", b"msf1", b"heim", b"heis", b"hevc",
        ]
        .iter()
        .any(|brand| &bytes[8..12] == *brand)
}

/// The EXIF orientation (1 to 8) of a JPEG, 1 when absent.
pub fn exif_orientation(jpeg: &[u8]) -> u8 {
    let mut i = 2;
    while i + 4 <= jpeg.len() && jpeg[i] == 0xFF {
        let marker = jpeg[i + 1];
        let len = u16::from_be_bytes([jpeg[i + 2], jpeg[i + 3]]) as usize;
        if marker == 0xDA || len < 2 {
            break;
        }
        let segment = jpeg.get(i + 4..i + 2 + len).unwrap_or_default();
        if marker == 0xE1 && segment.starts_with(b"Exif\0\0") {
            return tiff_orientation(&segment[6..]).unwrap_or(1);
        }
        i += 2 + len;
    }
    1
}

fn tiff_orientation(tiff: &[u8]) -> Option<u8> {
    let big = match tiff.get(0..2)? {
        b"MM" => true,
        b"II" => false,
        _ => return None,
    };
    let u16_at = |o: usize| -> Option<u16> {
        let b: [u8; 2] = tiff.get(o..o + 2)?.try_into().ok()?;
        Some(if big {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        })
    };
    let u32_at = |o: usize| -> Option<u32> {
        let b: [u8; 4] = tiff.get(o..o + 4)?.try_into().ok()?;
        Some(if big {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    };
    let ifd = u32_at(4)? as usize;
    let entries = u16_at(ifd)? as usize;
    for n in 0..entries.min(512) {
        let entry = ifd + 2 + 12 * n;
        if u16_at(entry)? == 0x0112 {
            let value = u16_at(entry + 8)?;
            return (1..=8).contains(&value).then_some(value as u8);
        }
    }
    None
}

/// A decoded picture: `channels` bytes per pixel (1 grey, 3 RGB).
struct Picture {
    pixels: Vec<u8>,
    width: usize,
    height: usize,
    channels: usize,
}

/// Averages each output pixel over its source area (good quality when shrinking).
fn shrink(p: &Picture, width: usize, height: usize) -> Picture {
    if width == p.width && height == p.height {
        return Picture {
            pixels: p.pixels.clone(),
            ..*p
        };
    }
    let c = p.channels;
    let mut out = vec![0u8; width * height * c];
    // Source ranges of each output column, computed once.
    let xs: Vec<(usize, usize)> = (0..width)
        .map(|x| {
            let a = x * p.width / width;
            let b = ((x + 1) * p.width / width).max(a + 1);
            (a, b)
        })
        .collect();
    let mut row_sum = vec![0u32; p.width * c];
    for y in 0..height {
        let y0 = y * p.height / height;
        let y1 = ((y + 1) * p.height / height).max(y0 + 1);
        row_sum.iter_mut().for_each(|s| *s = 0);
        for sy in y0..y1 {
            let row = &p.pixels[sy * p.width * c..(sy + 1) * p.width * c];
            for (s, v) in row_sum.iter_mut().zip(row) {
                *s += u32::from(*v);
            }
        }
        let rows = (y1 - y0) as u32;
        let out_row = &mut out[y * width * c..(y + 1) * width * c];
        for (x, &(a, b)) in xs.iter().enumerate() {
            let n = rows * (b - a) as u32;
            for k in 0..c {
                let mut s = 0u32;
                for sx in a..b {
                    s += row_sum[sx * c + k];
                }
                out_row[x * c + k] = ((s + n / 2) / n) as u8;
            }
        }
    }
    Picture {
        pixels: out,
        width,
        height,
        channels: c,
    }
}

/// Applies an EXIF orientation so the picture comes out upright.
fn orient(p: Picture, orientation: u8) -> Picture {
    if orientation <= 1 || orientation > 8 {
        return p;
    }
    let (w, h, c) = (p.width, p.height, p.channels);
    let swap = orientation >= 5;
    let (ow, oh) = if swap { (h, w) } else { (w, h) };
    let mut out = vec![0u8; p.pixels.len()];
    for y in 0..h {
        for x in 0..w {
            // Where source (x, y) lands, per the EXIF definitions.
            let (nx, ny) = match orientation {
                2 => (w - 1 - x, y),
                3 => (w - 1 - x, h - 1 - y),
                4 => (x, h - 1 - y),
                5 => (y, x),
                6 => (h - 1 - y, x),
                7 => (h - 1 - y, w - 1 - x),
                _ => (y, w - 1 - x),
            };
            let from = (y * w + x) * c;
            let to = (ny * ow + nx) * c;
            out[to..to + c].copy_from_slice(&p.pixels[from..from + c]);
        }
    }
    Picture {
        pixels: out,
        width: ow,
        height: oh,
        channels: c,
    }
}

fn grey(p: &Picture) -> Vec<u8> {
    if p.channels == 1 {
        return p.pixels.clone();
    }
    p.pixels
        .chunks_exact(3)
        .map(|px| {
            ((77 * u32::from(px[0]) + 150 * u32::from(px[1]) + 29 * u32::from(px[2])) >> 8) as u8
        })
        .collect()
}

/// Grey levels (0 to 255) from which a stretched scan is paper.
const PAPER_WHITE: i32 = 215;

/// Stretches the grey levels between the 2nd and 98th percentiles to the full
/// range, and makes paper (from [`PAPER_WHITE`]) plain white.
fn stretch_contrast(pixels: &mut [u8]) {
    let mut histogram = [0usize; 256];
    for &v in pixels.iter() {
        histogram[v as usize] += 1;
    }
    let total = pixels.len();
    let level = |fraction: f64| {
        let target = (total as f64 * fraction) as usize;
        let mut seen = 0;
        for (v, &n) in histogram.iter().enumerate() {
            seen += n;
            if seen > target {
                return v;
            }
        }
        255
    };
    let (low, high) = (level(0.02), level(0.98));
    if high <= low + 10 {
        return;
    }
    // Stretched, then the paper made white: its grain is what a scan need not
    // carry, and plain white costs next to nothing in a JPEG (so the document look
    // makes files lighter, not heavier).
    let lut: Vec<u8> = (0..256)
        .map(|v: i32| {
            let stretched = (((v - low as i32) * 255) / (high as i32 - low as i32)).clamp(0, 255);
            if stretched >= PAPER_WHITE {
                255
            } else {
                stretched as u8
            }
        })
        .collect();
    for v in pixels.iter_mut() {
        *v = lut[*v as usize];
    }
}

/// Sharpness and brightness, on a grey picture.
fn measure(grey: &[u8], width: usize, height: usize) -> (f64, f64) {
    let brightness = grey.iter().map(|&v| f64::from(v)).sum::<f64>() / grey.len().max(1) as f64;
    if width < 3 || height < 3 {
        return (0.0, brightness);
    }
    let (mut sum, mut sum_sq, mut n) = (0f64, 0f64, 0f64);
    for y in 1..height - 1 {
        for x in 1..width - 1 {
            let at = |dx: isize, dy: isize| {
                f64::from(grey[((y as isize + dy) as usize) * width + (x as isize + dx) as usize])
            };
            let l = at(-1, 0) + at(1, 0) + at(0, -1) + at(0, 1) - 4.0 * at(0, 0);
            sum += l;
            sum_sq += l * l;
            n += 1.0;
        }
    }
    let mean = sum / n;
    (sum_sq / n - mean * mean, brightness)
}

/// Prepares one page from the camera's JPEG.
pub fn capture_page(bytes: &[u8], options: &CaptureOptions) -> CoreResult<CapturedPage> {
    if is_heic(bytes) {
        return Err(refuse(
            "Photo au format HEIC : l'application doit la convertir en JPEG avant de l'envoyer (ou régler l'appareil photo sur « Le plus compatible »).",
        ));
    }
    if sniff(bytes) != Some(FileKind::Jpeg) {
        return Err(refuse("Ce fichier n'est pas une photo JPEG."));
    }
    let (w, h) = declared_size(FileKind::Jpeg, bytes)
        .ok_or_else(|| refuse("Photo illisible ou incomplète."))?;
    if w == 0 || h == 0 {
        return Err(refuse("Photo illisible ou incomplète."));
    }
    let max_side = options.max_side.clamp(200, 10_000) as usize;
    let (picture, icc) = if u64::from(w) * u64::from(h) > MAX_IMAGE_PIXELS {
        decode_reduced(bytes, (w, h), max_side)?
    } else {
        decode_whole(bytes, (w, h), options.document_look)?
    };
    let (width, height) = (picture.width, picture.height);
    let long = width.max(height);
    let (tw, th) = if long > max_side {
        (
            (width * max_side).div_ceil(long).max(1),
            (height * max_side).div_ceil(long).max(1),
        )
    } else {
        (width, height)
    };
    let mut picture = shrink(&picture, tw, th);
    if let Some(icc) = icc {
        // After shrinking: the same colours, a fraction of the pixels to convert.
        to_srgb(&mut picture, &icc);
    }
    if options.document_look && picture.channels == 3 {
        picture = Picture {
            pixels: grey(&picture),
            channels: 1,
            ..picture
        };
    }
    let mut picture = orient(picture, exif_orientation(bytes));
    let mut page_search = PageSearch::NotAsked;
    let mut sheet_corners = Vec::new();
    if options.detect_page {
        // Found on a small grey copy, applied to the full picture.
        let long = picture.width.max(picture.height);
        let factor = (long as f64 / 500.0).max(1.0);
        let (sw, sh) = (
            ((picture.width as f64) / factor) as usize,
            ((picture.height as f64) / factor) as usize,
        );
        let gray = grey(&picture);
        let small = shrink(
            &Picture {
                pixels: gray,
                width: picture.width,
                height: picture.height,
                channels: 1,
            },
            sw.max(1),
            sh.max(1),
        );
        page_search = PageSearch::NotFound;
        let found = crate::page::find_sheet(&small.pixels, small.width, small.height);
        if found == crate::page::Sheet::Unconvincing {
            page_search = PageSearch::KeptWhole;
        }
        if let crate::page::Sheet::Found(corners) = found {
            let (fx, fy) = (
                picture.width as f64 / small.width as f64,
                picture.height as f64 / small.height as f64,
            );
            let corners = corners.map(|(x, y)| ((x + 0.5) * fx, (y + 0.5) * fy));
            let (w, h) = crate::page::page_size(&corners);
            let found_at = corners.map(|(x, y)| PhotoPoint {
                x: x / picture.width as f64,
                y: y / picture.height as f64,
            });
            if let Some(pixels) = crate::page::warp(
                &picture.pixels,
                picture.width,
                picture.height,
                picture.channels,
                &corners,
                w,
                h,
            ) {
                picture = Picture {
                    pixels,
                    width: w,
                    height: h,
                    channels: picture.channels,
                };
                page_search = PageSearch::Straightened;
                sheet_corners = found_at.to_vec();
            } else {
                page_search = PageSearch::KeptWhole;
            }
        }
    }
    if options.document_look {
        stretch_contrast(&mut picture.pixels);
    }
    // Quality is judged on a small grey copy (the way a screen would show it).
    let gray = grey(&picture);
    let small_side = 600usize;
    let (qw, qh) = if picture.width.max(picture.height) > small_side {
        let l = picture.width.max(picture.height);
        (
            (picture.width * small_side / l).max(1),
            (picture.height * small_side / l).max(1),
        )
    } else {
        (picture.width, picture.height)
    };
    let small = shrink(
        &Picture {
            pixels: gray,
            width: picture.width,
            height: picture.height,
            channels: 1,
        },
        qw,
        qh,
    );
    let (sharpness, brightness) = measure(&small.pixels, small.width, small.height);
    let quality = QualityReport {
        sharpness,
        brightness,
        blurry: sharpness < BLUR_THRESHOLD,
        too_dark: brightness < DARK_THRESHOLD,
        too_small: long < SMALL_SIDE as usize,
    };
    // A fresh JPEG: nothing of the original's metadata (GPS, camera) is carried.
    let mut jpeg = Vec::with_capacity(picture.pixels.len() / 8);
    let encoder = jpeg_encoder::Encoder::new(&mut jpeg, options.jpeg_quality.clamp(1, 100));
    let color = if picture.channels == 1 {
        jpeg_encoder::ColorType::Luma
    } else {
        jpeg_encoder::ColorType::Rgb
    };
    encoder
        .encode(
            &picture.pixels,
            picture.width as u16,
            picture.height as u16,
            color,
        )
        .map_err(|e| Error::Crashed(format!("encodage JPEG : {e}")))?;
    Ok(CapturedPage {
        page_search,
        sheet_corners,
        jpeg,
        width: picture.width as u32,
        height: picture.height as u32,
        quality,
    })
}

/// One PDF whose pages are the given JPEGs, embedded as they are (DCTDecode), each
/// fitted to an A4 page.
pub fn assemble_pdf(pages: &[CapturedPage]) -> Vec<u8> {
    let mut pdf: Vec<u8> = b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let mut offsets: Vec<usize> = Vec::new();
    let n = pages.len();
    // Objects: 1 catalog, 2 page tree, then per page: page, content, image.
    let page_ids: Vec<usize> = (0..n).map(|i| 3 + 3 * i).collect();
    let object = |pdf: &mut Vec<u8>, offsets: &mut Vec<usize>, body: &[u8]| {
        offsets.push(pdf.len());
        let id = offsets.len();
        pdf.extend_from_slice(format!("{id} 0 obj\n").as_bytes());
        pdf.extend_from_slice(body);
        pdf.extend_from_slice(b"\nendobj\n");
    };
    object(&mut pdf, &mut offsets, b"<< /Type /Catalog /Pages 2 0 R >>");
    let kids: Vec<String> = page_ids.iter().map(|id| format!("{id} 0 R")).collect();
    object(
        &mut pdf,
        &mut offsets,
        format!("<< /Type /Pages /Kids [{}] /Count {n} >>", kids.join(" ")).as_bytes(),
    );
    for (i, page) in pages.iter().enumerate() {
        let (page_w, page_h) = (595.0f64, 842.0f64);
        let scale =
            ((page_w - 40.0) / f64::from(page.width)).min((page_h - 40.0) / f64::from(page.height));
        let (iw, ih) = (
            f64::from(page.width) * scale,
            f64::from(page.height) * scale,
        );
        let (x, y) = ((page_w - iw) / 2.0, (page_h - ih) / 2.0);
        let image_id = page_ids[i] + 2;
        object(
            &mut pdf,
            &mut offsets,
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /XObject << /Im{i} {image_id} 0 R >> >> /Contents {} 0 R >>",
                page_ids[i] + 1
            )
            .as_bytes(),
        );
        let content = format!("q {iw:.2} 0 0 {ih:.2} {x:.2} {y:.2} cm /Im{i} Do Q");
        object(
            &mut pdf,
            &mut offsets,
            format!(
                "<< /Length {} >>\nstream\n{content}\nendstream",
                content.len()
            )
            .as_bytes(),
        );
        let grey = page
            .jpeg
            .get(..page.jpeg.len().min(4096))
            .is_some_and(single_component);
        let mut image = format!(
            "<< /Type /XObject /Subtype /Image /Width {} /Height {} /ColorSpace /{} /BitsPerComponent 8 /Filter /DCTDecode /Length {} >>\nstream\n",
            page.width,
            page.height,
            if grey { "DeviceGray" } else { "DeviceRGB" },
            page.jpeg.len()
        )
        .into_bytes();
        image.extend_from_slice(&page.jpeg);
        image.extend_from_slice(b"\nendstream");
        object(&mut pdf, &mut offsets, &image);
    }
    let xref = pdf.len();
    pdf.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", offsets.len() + 1).as_bytes(),
    );
    for o in &offsets {
        pdf.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    pdf.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            offsets.len() + 1
        )
        .as_bytes(),
    );
    pdf
}

/// Whether a JPEG's frame has one component (grey).
fn single_component(jpeg: &[u8]) -> bool {
    let mut i = 2;
    while i + 10 <= jpeg.len() && jpeg[i] == 0xFF {
        let marker = jpeg[i + 1];
        let len = u16::from_be_bytes([jpeg[i + 2], jpeg[i + 3]]) as usize;
        if (0xC0..=0xC2).contains(&marker) {
            return jpeg[i + 9] == 1;
        }
        if marker == 0xDA || len < 2 {
            break;
        }
        i += 2 + len;
    }
    false
}
