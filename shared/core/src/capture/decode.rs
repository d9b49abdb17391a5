//! Decoding the camera's JPEG into pixels: whole (zune-jpeg) up to
//! [`MAX_IMAGE_PIXELS`], at a reduced DCT scale (jpeg-decoder) above it; and the
//! conversion of wide-gamut colours to sRGB (moxcms).

use famille_model::files::MAX_IMAGE_PIXELS;
use zune_jpeg::JpegDecoder;
use zune_jpeg::zune_core::bytestream::ZCursor;
use zune_jpeg::zune_core::colorspace::ColorSpace;
use zune_jpeg::zune_core::options::DecoderOptions;

use super::{Picture, refuse};
use crate::error::CoreResult;

impl Picture {
    /// The decoded pixels, refused when a decoder gave fewer or more than the size.
    fn checked(
        pixels: Vec<u8>,
        width: usize,
        height: usize,
        channels: usize,
    ) -> CoreResult<Picture> {
        if pixels.len() != width * height * channels {
            return Err(refuse("Photo illisible ou incomplète."));
        }
        Ok(Picture {
            pixels,
            width,
            height,
            channels,
        })
    }
}

/// Decodes the whole picture (zune-jpeg), grey when the document look will make it
/// grey anyway and the file allows it (a CMYK file is decoded to RGB first), with
/// its ICC profile when it carries one.
pub(super) fn decode_whole(
    bytes: &[u8],
    (w, h): (u32, u32),
    document_look: bool,
) -> CoreResult<(Picture, Option<Vec<u8>>)> {
    let unreadable = || refuse("Photo illisible ou incomplète.");
    let limits = DecoderOptions::default()
        .set_max_width(w as usize)
        .set_max_height(h as usize);
    let mut headers = JpegDecoder::new_with_options(ZCursor::new(bytes), limits);
    headers.decode_headers().map_err(|_| unreadable())?;
    let input = headers.input_colorspace();
    let four_colours = matches!(input, Some(ColorSpace::CMYK | ColorSpace::YCCK));
    let icc = headers.icc_profile();
    // The decoder makes grey only from grey or YCbCr: other files are decoded to
    // RGB and made grey after.
    let colorspace = if document_look && matches!(input, Some(ColorSpace::YCbCr | ColorSpace::Luma))
    {
        ColorSpace::Luma
    } else {
        ColorSpace::RGB
    };
    let mut decoder = JpegDecoder::new_with_options(
        ZCursor::new(bytes),
        limits.jpeg_set_out_colorspace(colorspace),
    );
    let pixels = decoder.decode().map_err(|_| unreadable())?;
    let (width, height) = decoder.dimensions().ok_or_else(unreadable)?;
    let channels = if colorspace == ColorSpace::Luma { 1 } else { 3 };
    let picture = Picture::checked(pixels, width, height, channels)?;
    // A CMYK profile describes inks, not the RGB the decoder made of them.
    Ok((picture, icc.filter(|_| channels == 3 && !four_colours)))
}

/// The pixels a photo over [`MAX_IMAGE_PIXELS`] may still be decoded to: a JPEG
/// decodes at 1/2, 1/4 or 1/8 of its size directly from its frequencies (DCT
/// scaling), without the full-size picture ever being in memory.
pub(super) fn decode_reduced(
    bytes: &[u8],
    (w, h): (u32, u32),
    max_side: usize,
) -> CoreResult<(Picture, Option<Vec<u8>>)> {
    let unreadable = || refuse("Photo illisible ou incomplète.");
    let too_large = || refuse("Photo trop grande pour être traitée.");
    let mut decoder = jpeg_decoder::Decoder::new(bytes);
    decoder.read_info().map_err(|_| unreadable())?;
    let info = decoder.info().ok_or_else(unreadable)?;
    // A progressive file keeps every coefficient of the full picture until its
    // last scan: no saving to be had, and a phone's memory is not ours to spend.
    if info.coding_process != jpeg_decoder::CodingProcess::DctSequential {
        return Err(refuse(
            "Photo trop grande pour être traitée sur le téléphone (enregistrée en JPEG progressif) : réduisez-la avant de l'envoyer.",
        ));
    }
    // The reduction (1/1, 1/2, 1/4 or 1/8): the strongest that still gives the
    // long side wanted, then stronger while the result does not fit the limit.
    let reduced = |d: u32| u64::from(w.div_ceil(d)) * u64::from(h.div_ceil(d));
    let mut d = [8u32, 4, 2, 1]
        .into_iter()
        .find(|&d| w.max(h).div_ceil(d) as usize >= max_side)
        .unwrap_or(1);
    while d < 8 && reduced(d) > MAX_IMAGE_PIXELS {
        d *= 2;
    }
    let wanted = |side: u32| side.div_ceil(d).clamp(1, 65_535) as u16;
    let (sw, sh) = decoder
        .scale(wanted(w), wanted(h))
        .map_err(|_| unreadable())?;
    if u64::from(sw) * u64::from(sh) > MAX_IMAGE_PIXELS {
        return Err(too_large());
    }
    let pixels = decoder.decode().map_err(|_| unreadable())?;
    let icc = decoder.icc_profile();
    let (width, height) = (usize::from(sw), usize::from(sh));
    let (pixels, channels, icc) = match info.pixel_format {
        jpeg_decoder::PixelFormat::L8 => (pixels, 1, None),
        jpeg_decoder::PixelFormat::RGB24 => (pixels, 3, icc),
        jpeg_decoder::PixelFormat::CMYK32 => (
            pixels
                .chunks_exact(4)
                .flat_map(|p| {
                    let k = 255 - u32::from(p[3]);
                    [0, 1, 2].map(|i| ((255 - u32::from(p[i])) * k / 255) as u8)
                })
                .collect(),
            3,
            None,
        ),
        jpeg_decoder::PixelFormat::L16 => return Err(unreadable()),
    };
    Ok((Picture::checked(pixels, width, height, channels)?, icc))
}

/// Converts an RGB picture described by an ICC profile (Display P3 from iPhones,
/// Adobe RGB from cameras) to sRGB, what the page's JPEG is read as once its
/// metadata are dropped (moxcms). A profile that cannot be read leaves the pixels
/// as they are (taken for sRGB, as every reader would).
pub(super) fn to_srgb(picture: &mut Picture, icc: &[u8]) {
    use moxcms::{ColorProfile, DataColorSpace, Layout, TransformOptions};
    if picture.channels != 3 {
        return;
    }
    let Ok(source) = ColorProfile::new_from_slice(icc) else {
        return;
    };
    if source.color_space != DataColorSpace::Rgb {
        return;
    }
    let Ok(transform) = source.create_transform_8bit(
        Layout::Rgb,
        &ColorProfile::new_srgb(),
        Layout::Rgb,
        TransformOptions::default(),
    ) else {
        return;
    };
    let mut converted = vec![0u8; picture.pixels.len()];
    if transform.transform(&picture.pixels, &mut converted).is_ok() {
        picture.pixels = converted;
    }
}
