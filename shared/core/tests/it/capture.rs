//! Capture of camera files: the photos `famille-fixtures` makes (always), or the
//! real-photo corpus named by `FAMILLE_PHOTOS` (`.ci/run` adds that run where the
//! corpus exists beside the repository).

use famille_core::Error;
use famille_core::capture::{
    CaptureOptions, CapturedPage, assemble_pdf, capture_page, exif_orientation,
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
    assert!(!plain.page_found);
    assert_eq!((plain.width, plain.height), (1200, 900));
    let page = capture_page(
        &jpeg,
        &CaptureOptions {
            detect_page: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(page.page_found);
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
