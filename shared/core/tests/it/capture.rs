//! Capture of camera files: the photos `famille-fixtures` makes (always), or the
//! real-photo corpus named by `FAMILLE_PHOTOS` (`.ci/run` adds that run where the
//! corpus exists beside the repository).

use famille_core::Error;
use famille_core::capture::{
    CaptureOptions, CapturedPage, PageSearch, assemble_pdf, capture_page, exif_orientation,
};

fn fixture(name: &str) -> Vec<u8> {
    match std::env::var_os("FAMILLE_PHOTOS") {
        Some(dir) => {
            let path = std::path::Path::new(&dir).join(name);
            std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
        }
        None => famille_fixtures::photo(name).unwrap_or_else(|| panic!("no fixture {name}")),
    }
}

fn decode_grey(page: &CapturedPage) -> Vec<u8> {
    let options = CaptureOptions {
        max_side: 10_000,
        document_look: true,
        jpeg_quality: 95,
        detect_page: false,
    };
    capture_page(&page.jpeg, &options).unwrap();
    // Re-decoded through the same path, grey, for comparisons.
    let again = capture_page(
        &page.jpeg,
        &CaptureOptions {
            document_look: true,
            max_side: 64,
            ..options
        },
    )
    .unwrap();
    let mut decoder = zune_jpeg::JpegDecoder::new_with_options(
        zune_jpeg::zune_core::bytestream::ZCursor::new(&again.jpeg[..]),
        zune_jpeg::zune_core::options::DecoderOptions::default()
            .jpeg_set_out_colorspace(zune_jpeg::zune_core::colorspace::ColorSpace::Luma),
    );
    decoder.decode().unwrap()
}

/// The 8 ways to turn or mirror a grey picture (w x h), with their sizes.
fn variants(pixels: &[u8], w: usize, h: usize) -> Vec<(Vec<u8>, usize, usize)> {
    (0..8)
        .map(|k| {
            let (ow, oh) = if k >= 4 { (h, w) } else { (w, h) };
            let mut out = vec![0u8; w * h];
            for y in 0..h {
                for x in 0..w {
                    let (nx, ny) = match k {
                        0 => (x, y),
                        1 => (w - 1 - x, y),
                        2 => (w - 1 - x, h - 1 - y),
                        3 => (x, h - 1 - y),
                        4 => (y, x),
                        5 => (h - 1 - y, x),
                        6 => (h - 1 - y, w - 1 - x),
                        _ => (y, w - 1 - x),
                    };
                    out[ny * ow + nx] = pixels[y * w + x];
                }
            }
            (out, ow, oh)
        })
        .collect()
}

fn mean_diff(a: &[u8], b: &[u8]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (f64::from(*x) - f64::from(*y)).abs())
        .sum::<f64>()
        / a.len() as f64
}

#[test]
fn every_orientation_comes_out_upright_and_alike() {
    for shape in ["landscape", "portrait"] {
        let reference = capture_page(
            &fixture(&format!("orientation/{shape}_1.jpg")),
            &CaptureOptions::default(),
        )
        .unwrap();
        let small = capture_page(
            &reference.jpeg,
            &CaptureOptions {
                document_look: true,
                max_side: 64,
                jpeg_quality: 95,
                detect_page: false,
            },
        )
        .unwrap();
        let reference_grey = decode_grey(&reference);
        let turned = variants(&reference_grey, small.width as usize, small.height as usize);
        for n in 1..=8 {
            let bytes = fixture(&format!("orientation/{shape}_{n}.jpg"));
            assert_eq!(exif_orientation(&bytes), n, "{shape}_{n}");
            let page = capture_page(&bytes, &CaptureOptions::default()).unwrap();
            assert_eq!(
                (page.width, page.height),
                (reference.width, reference.height),
                "{shape}_{n}"
            );
            let grey = decode_grey(&page);
            // Upright means: closer to the upright reference than to any turned or
            // mirrored version of it, by a clear margin.
            let upright = mean_diff(&grey, &turned[0].0);
            let nearest_other = turned[1..]
                .iter()
                .filter(|(_, w, h)| (*w, *h) == (small.width as usize, small.height as usize))
                .map(|(v, _, _)| mean_diff(&grey, v))
                .fold(f64::MAX, f64::min);
            assert!(
                upright < 15.0 && upright * 1.5 < nearest_other,
                "{shape}_{n}: upright {upright:.1}, other {nearest_other:.1}"
            );
        }
    }
}

#[test]
fn no_metadata_survives_and_pages_make_one_pdf() {
    let original = fixture("gps_nikon_DSCN0010.jpg");
    assert!(
        original.windows(4).any(|w| w == b"Exif"),
        "the fixture carries EXIF"
    );
    let page = capture_page(&original, &CaptureOptions::default()).unwrap();
    assert!(
        !page.jpeg.windows(4).any(|w| w == b"Exif"),
        "no EXIF, hence no GPS"
    );
    assert!(!page.jpeg.windows(5).any(|w| w == b"NIKON"));
    assert!(
        page.quality.too_small,
        "640 x 480 is too small to read a document"
    );
    let rotated = capture_page(
        &fixture("orientation/portrait_6.jpg"),
        &CaptureOptions {
            document_look: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(rotated.height > rotated.width);
    let pdf = assemble_pdf(&[page.clone(), rotated.clone()]);
    assert!(pdf.starts_with(b"%PDF-1.4") && pdf.ends_with(b"%%EOF\n"));
    assert_eq!(
        pdf.windows(10).filter(|w| w == b"/Type /Pag").count(),
        3,
        "the page tree and two pages"
    );
    // The JPEGs are inside unchanged (no second encoding).
    assert!(
        pdf.windows(page.jpeg.len())
            .any(|w| w == page.jpeg.as_slice())
    );
    assert!(
        pdf.windows(rotated.jpeg.len())
            .any(|w| w == rotated.jpeg.as_slice())
    );
    assert!(
        String::from_utf8_lossy(&pdf).contains("/DeviceGray"),
        "the document look is grey"
    );
    assert_eq!(
        famille_model::files::check_file(&pdf, Some("carnet.pdf")),
        Ok(famille_model::files::FileKind::Pdf)
    );
}

#[test]
fn heic_and_broken_files_fail_cleanly() {
    let heic = capture_page(
        &fixture("iphone_13_pro_max.HEIC"),
        &CaptureOptions::default(),
    );
    assert!(
        matches!(&heic, Err(Error::InvalidInput(detail)) if detail.contains("JPEG")),
        "{heic:?}"
    );
    for name in [
        "corrupted.jpg",
        "image01137.jpg",
        "image01551.jpg",
        "image02206.jpg",
    ] {
        let started = std::time::Instant::now();
        match capture_page(
            &fixture(&format!("invalid/{name}")),
            &CaptureOptions::default(),
        ) {
            Ok(page) => assert!(page.width > 0 && page.height > 0, "{name}: best effort"),
            Err(e) => assert!(matches!(e, Error::InvalidInput(_)), "{name}: {e:?}"),
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "{name} took too long"
        );
    }
    // A file declaring 60,000 x 60,000 pixels is refused before decoding.
    let mut bomb = vec![
        0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x11, 0x08, 0xEA, 0x60, 0xEA, 0x60, 3, 1, 0x22, 0, 2, 0x11,
        1, 3, 0x11, 1,
    ];
    bomb.extend_from_slice(&[0u8; 64]);
    assert!(matches!(
        capture_page(&bomb, &CaptureOptions::default()),
        Err(Error::InvalidInput(_))
    ));
}

#[test]
fn a_photographed_sheet_is_straightened() {
    // A dark table, a bright tilted sheet with a dark line of "text", as a camera JPEG.
    let (w, h) = (1200usize, 900usize);
    let corners = [
        (200.0, 120.0),
        (980.0, 180.0),
        (930.0, 800.0),
        (150.0, 760.0),
    ];
    let inside = |x: f64, y: f64| {
        (0..4).all(|i| {
            let (a, b): ((f64, f64), (f64, f64)) = (corners[i], corners[(i + 1) % 4]);
            (b.0 - a.0) * (y - a.1) - (b.1 - a.1) * (x - a.0) >= 0.0
        })
    };
    let mut rgb = Vec::with_capacity(w * h * 3);
    for y in 0..h {
        for x in 0..w {
            let v: u8 = if inside(x as f64, y as f64) {
                if (440..460).contains(&y) && (300..800).contains(&x) {
                    30
                } else {
                    235
                }
            } else {
                50
            };
            rgb.extend_from_slice(&[v, v, v.saturating_sub(10)]);
        }
    }
    let mut jpeg = Vec::new();
    jpeg_encoder::Encoder::new(&mut jpeg, 90)
        .encode(&rgb, w as u16, h as u16, jpeg_encoder::ColorType::Rgb)
        .unwrap();
    let plain = capture_page(&jpeg, &CaptureOptions::default()).unwrap();
    assert_eq!(plain.page_search, PageSearch::NotAsked);
    assert_eq!((plain.width, plain.height), (1200, 900));
    let page = capture_page(
        &jpeg,
        &CaptureOptions {
            detect_page: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(page.page_search, PageSearch::Straightened);
    // The sheet (about 780 x 640) fills the result: no table left at the borders.
    assert!(
        (760..=800).contains(&page.width) && (620..=660).contains(&page.height),
        "{}x{}",
        page.width,
        page.height
    );
    let mut decoder = zune_jpeg::JpegDecoder::new_with_options(
        zune_jpeg::zune_core::bytestream::ZCursor::new(&page.jpeg[..]),
        zune_jpeg::zune_core::options::DecoderOptions::default()
            .jpeg_set_out_colorspace(zune_jpeg::zune_core::colorspace::ColorSpace::Luma),
    );
    let grey = decoder.decode().unwrap();
    let (pw, ph) = (page.width as usize, page.height as usize);
    let border: Vec<u8> = (0..pw)
        .map(|x| grey[3 * pw + x])
        .chain((0..ph).map(|y| grey[y * pw + pw - 4]))
        .collect();
    let dark = border.iter().filter(|&&v| v < 120).count();
    assert!(
        dark * 20 < border.len(),
        "{dark} dark border pixels of {}",
        border.len()
    );
}

/// Where the sheet of each photo of `documents/` lies whole in the frame (fractions
/// of the upright photo's width and height), `None` where part of it is outside,
/// and whether today's detection must find it. The real photos were looked at and
/// their corners read off by hand; the generated ones know theirs.
#[allow(clippy::type_complexity)]
fn sheets() -> Vec<(&'static str, Option<[(f64, f64); 4]>, bool)> {
    let names = [
        "documents/test3.jpg",
        "documents/test4.jpg",
        "documents/test5.jpg",
        "documents/test6.jpg",
        "documents/test7.jpg",
        "documents/test8.jpg",
    ];
    if std::env::var_os("FAMILLE_PHOTOS").is_none() {
        return names
            .iter()
            .map(|&name| {
                let corners = famille_fixtures::sheet_corners(name);
                // Whole sheets with four edges that stand out: text on a dark desk,
                // on black, and a ruled pad on a light desk.
                let must_find = ["test3", "test4", "test7"].iter().any(|n| name.contains(n));
                (name, corners, must_find)
            })
            .collect();
    }
    vec![
        // Text on a dark desk.
        (
            names[0],
            Some([
                (0.101, 0.225),
                (0.885, 0.220),
                (0.973, 0.835),
                (0.021, 0.840),
            ]),
            true,
        ),
        // A timetable on black, its corners curled.
        (
            names[1],
            Some([
                (0.102, 0.093),
                (0.872, 0.109),
                (0.930, 0.952),
                (0.062, 0.960),
            ]),
            true,
        ),
        // A banknote on a light wooden desk.
        (
            names[2],
            Some([(0.20, 0.373), (0.83, 0.32), (0.88, 0.68), (0.18, 0.707)]),
            false,
        ),
        // A sheet turned on a desk, its right part beyond the frame.
        (names[3], None, false),
        // A legal pad running to the bottom edge of the frame.
        (names[4], None, false),
        // Notes filling the frame.
        (names[5], None, false),
    ]
}

#[test]
fn page_detection_never_cuts_a_sheet() {
    // A sheet is straightened whole, or the photo is kept as taken and says so:
    // never a part of the sheet reported as the page (a legal pad was once cut to
    // its top half, a turned sheet to a corner with the desk kept).
    let options = CaptureOptions {
        detect_page: true,
        max_side: 1000,
        ..Default::default()
    };
    let mut found = 0;
    for (name, truth, must_find) in sheets() {
        let page = capture_page(&fixture(name), &options).unwrap();
        match (page.page_search, truth) {
            (PageSearch::Straightened, Some(truth)) => {
                found += 1;
                assert_eq!(page.sheet_corners.len(), 4);
                for (c, t) in page.sheet_corners.iter().zip(truth) {
                    let off = ((c.x - t.0).powi(2) + (c.y - t.1).powi(2)).sqrt();
                    assert!(off < 0.04, "{name}: corner {c:?} is not the sheet's {t:?}");
                }
            }
            (PageSearch::Straightened, None) => {
                panic!("{name}: the sheet is not whole in the frame, yet it was cut")
            }
            (PageSearch::KeptWhole | PageSearch::NotFound, _) => {
                assert!(!must_find, "{name}: the sheet was not found");
                assert!(page.sheet_corners.is_empty());
                let plain = capture_page(
                    &fixture(name),
                    &CaptureOptions {
                        detect_page: false,
                        ..options
                    },
                )
                .unwrap();
                assert_eq!(
                    (page.width, page.height),
                    (plain.width, plain.height),
                    "{name}: kept as taken"
                );
            }
            (PageSearch::NotAsked, _) => panic!("{name}: detection was asked for"),
        }
    }
    assert!(found >= 2, "{found} sheets found");
}

fn decode_rgb(jpeg: &[u8]) -> Vec<u8> {
    zune_jpeg::JpegDecoder::new(zune_jpeg::zune_core::bytestream::ZCursor::new(jpeg))
        .decode()
        .unwrap()
}

#[test]
fn wide_gamut_photos_are_converted_to_srgb() {
    // An iPhone writes Display P3: the page drops every metadata, the profile with
    // it, so its pixels must be in sRGB or the green turns yellowish.
    let photo = famille_fixtures::made("display_p3.jpg").unwrap();
    let page = capture_page(&photo, &CaptureOptions::default()).unwrap();
    assert!(!page.jpeg.windows(11).any(|w| w == b"ICC_PROFILE"));
    let rgb = decode_rgb(&page.jpeg);
    let w = page.width as usize;
    let at = |x: usize, y: usize| &rgb[(y * w + x) * 3..(y * w + x) * 3 + 3];
    let (green, grey) = (at(w / 4, 120), at(3 * w / 4, 120));
    for (got, want) in [(green, [0, 200, 0]), (grey, [128, 128, 128])] {
        for (g, e) in got.iter().zip(want) {
            assert!(g.abs_diff(e) <= 8, "{got:?} instead of {want:?}");
        }
    }
}

#[test]
fn a_cmyk_photo_takes_the_document_look() {
    let photo = famille_fixtures::made("cmyk.jpg").unwrap();
    for document_look in [false, true] {
        let options = CaptureOptions {
            document_look,
            ..Default::default()
        };
        let page = capture_page(&photo, &options).unwrap();
        assert_eq!((page.width, page.height), (400, 300));
        // The page white, the band black, whatever the look.
        // decode_grey gives the page at 200 px wide.
        let grey = decode_grey(&page);
        let (w, h) = (200usize, 150usize);
        assert_eq!(grey.len(), w * h);
        let (paper, band) = (grey[8 * w + w / 2], grey[(h / 2) * w + w / 2]);
        assert!(
            paper > 200 && band < 60,
            "look {document_look}: paper {paper}, band {band}"
        );
    }
}

#[test]
fn a_photo_over_the_pixel_limit_is_decoded_at_a_reduced_scale() {
    // 108 MP (12,000 x 9,000): twice what is decoded whole, made into a 2,000 px page
    // from a quarter-scale decoding.
    let photo = famille_fixtures::made("108mp.jpg").unwrap();
    let page = capture_page(&photo, &CaptureOptions::default()).unwrap();
    assert_eq!((page.width, page.height), (2000, 1500));
    let grey = decode_grey(&page);
    let (w, h) = (200usize, 150usize);
    assert_eq!(grey.len(), w * h);
    let (paper, band) = (grey[h / 4 * w + w / 2], grey[(h / 2) * w + w / 2]);
    assert!(paper > 200 && band < 60, "paper {paper}, band {band}");
    // Asked for a page larger than the limit allows whole: the largest reduction
    // that fits, never a refusal.
    let large = capture_page(
        &photo,
        &CaptureOptions {
            max_side: 10_000,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!((large.width, large.height), (6000, 4500));
    // A progressive file that large keeps the full picture's coefficients in
    // memory until its last scan: refused, with the reason.
    let mut progressive = Vec::new();
    let mut encoder = jpeg_encoder::Encoder::new(&mut progressive, 80);
    encoder.set_progressive(true);
    encoder
        .encode(&[200u8; 64 * 64], 64, 64, jpeg_encoder::ColorType::Luma)
        .unwrap();
    let sof = progressive
        .windows(2)
        .position(|m| m == [0xFF, 0xC2])
        .unwrap();
    progressive[sof + 5..sof + 7].copy_from_slice(&9_000u16.to_be_bytes());
    progressive[sof + 7..sof + 9].copy_from_slice(&12_000u16.to_be_bytes());
    match capture_page(&progressive, &CaptureOptions::default()) {
        Err(Error::InvalidInput(detail)) => assert!(detail.contains("trop grande"), "{detail}"),
        other => panic!("{other:?}"),
    }
}
