//! Page detection: on a photo of a sheet of paper lying on a darker surface, finds the
//! sheet's four corners and straightens it (perspective correction) so the page fills
//! the picture. When no clear sheet is found, or what is found does not convince as
//! a whole sheet, the photo is kept as it is: a document cut is worse than a desk
//! left around it.

/// Otsu's threshold: the grey level that best separates two populations.
fn otsu(grey: &[u8]) -> u8 {
    let mut histogram = [0f64; 256];
    for &v in grey {
        histogram[v as usize] += 1.0;
    }
    let total = grey.len() as f64;
    let sum_all: f64 = histogram
        .iter()
        .enumerate()
        .map(|(i, n)| i as f64 * n)
        .sum();
    let (mut weight_bg, mut sum_bg, mut best, mut threshold) = (0.0, 0.0, 0.0, 0u8);
    for (t, n) in histogram.iter().enumerate() {
        weight_bg += n;
        if weight_bg == 0.0 {
            continue;
        }
        let weight_fg = total - weight_bg;
        if weight_fg == 0.0 {
            break;
        }
        sum_bg += t as f64 * n;
        let (mean_bg, mean_fg) = (sum_bg / weight_bg, (sum_all - sum_bg) / weight_fg);
        let between = weight_bg * weight_fg * (mean_bg - mean_fg).powi(2);
        if between > best {
            best = between;
            threshold = t as u8;
        }
    }
    threshold
}

/// What the search for a sheet concluded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Sheet {
    /// The corners (top-left, top-right, bottom-right, bottom-left), in pixels of
    /// the picture searched, of a sheet whose four edges stand out against what
    /// surrounds it.
    Found([(f64, f64); 4]),
    /// Nothing bright enough and large enough stands out.
    NotFound,
    /// A shape stood out but does not convince as a whole sheet (an edge lost in a
    /// background as bright as the paper, a side along the frame, a strange angle):
    /// cutting along it could cut the document, so the photo is kept as it is.
    Unconvincing,
}

/// Looks for the bright sheet in a grey picture (`width` x `height`, one byte per
/// pixel), as phone photos of documents on a desk show it.
///
/// The paper is told from the desk by Otsu's threshold; text and ruled lines are
/// bridged (a morphological closing) so that a page of writing stays one region,
/// and what it encloses (a photo, a stamp) counts as the sheet. The candidate's four
/// corners are then checked: a convex quadrilateral with plausible angles, that the
/// region fills, and whose every side has paper inside and a darker surface outside.
pub fn find_sheet(grey: &[u8], width: usize, height: usize) -> Sheet {
    if width < 16 || height < 16 || grey.len() != width * height {
        return Sheet::NotFound;
    }
    let threshold = otsu(grey);
    let bright: Vec<bool> = grey.iter().map(|&v| v > threshold).collect();
    // Text lines and rules cut the paper into strips: bridge gaps of about 1% of
    // the picture's long side.
    let radius = (width.max(height) / 100).max(2);
    let closed = erode(
        &dilate(&bright, width, height, radius),
        width,
        height,
        radius,
    );
    let Some(region) = largest_region(&closed, width, height) else {
        return Sheet::NotFound;
    };
    let region = fill_holes(&region, width, height);
    let size = region.iter().filter(|&&r| r).count();
    let fraction = size as f64 / grey.len() as f64;
    if !(0.10..=0.97).contains(&fraction) {
        return Sheet::NotFound;
    }
    // Corners: the extreme points along the diagonals suit a sheet seen upright,
    // those along the axes one turned near 45 degrees; the larger quadrilateral wins.
    let mut diagonal = [
        (0.0, 0.0, f64::MAX),
        (0.0, 0.0, f64::MIN),
        (0.0, 0.0, f64::MIN),
        (0.0, 0.0, f64::MAX),
    ];
    let mut axes = [
        (0.0, 0.0, f64::MAX),
        (0.0, 0.0, f64::MIN),
        (0.0, 0.0, f64::MIN),
        (0.0, 0.0, f64::MAX),
    ];
    for (i, _) in region.iter().enumerate().filter(|(_, r)| **r) {
        let (x, y) = ((i % width) as f64, (i / width) as f64);
        // Diagonals: top-left (min x+y), top-right (max x-y), bottom-right (max x+y),
        // bottom-left (min x-y).
        let keys = [(x + y, true), (x - y, false), (x + y, false), (x - y, true)];
        for (slot, (key, min)) in diagonal.iter_mut().zip(keys) {
            if (min && key < slot.2) || (!min && key > slot.2) {
                *slot = (x, y, key);
            }
        }
        // Axes: top (min y), right (max x), bottom (max y), left (min x).
        let keys = [(y, true), (x, false), (y, false), (x, true)];
        for (slot, (key, min)) in axes.iter_mut().zip(keys) {
            if (min && key < slot.2) || (!min && key > slot.2) {
                *slot = (x, y, key);
            }
        }
    }
    let corners = |c: [(f64, f64, f64); 4]| c.map(|(x, y, _)| (x, y));
    let (diagonal, axes) = (corners(diagonal), corners(axes));
    let quad = if quad_area(&axes) > quad_area(&diagonal) * 1.05 {
        axes
    } else {
        diagonal
    };
    let area = quad_area(&quad);
    let image = (width * height) as f64;
    if area < 0.08 * image {
        return Sheet::NotFound;
    }
    if area > 0.95 * image
        || !(0.88..=1.12).contains(&(size as f64 / area))
        || !plausible_angles(&quad)
        || !edges_stand_out(grey, width, height, &quad)
    {
        return Sheet::Unconvincing;
    }
    Sheet::Found(quad)
}

/// Convex, turning one way, every angle between 50 and 130 degrees (a sheet seen
/// from a phone held roughly above it).
fn plausible_angles(c: &[(f64, f64); 4]) -> bool {
    let mut sign = 0.0;
    for i in 0..4 {
        let (a, b, d) = (c[(i + 3) % 4], c[i], c[(i + 1) % 4]);
        let (u, v) = ((a.0 - b.0, a.1 - b.1), (d.0 - b.0, d.1 - b.1));
        let (nu, nv) = (
            (u.0 * u.0 + u.1 * u.1).sqrt(),
            (v.0 * v.0 + v.1 * v.1).sqrt(),
        );
        if nu < 1.0 || nv < 1.0 {
            return false;
        }
        let angle = ((u.0 * v.0 + u.1 * v.1) / (nu * nv))
            .clamp(-1.0, 1.0)
            .acos()
            .to_degrees();
        let cross = u.0 * v.1 - u.1 * v.0;
        if !(50.0..=130.0).contains(&angle) || (sign != 0.0 && cross.signum() != sign) {
            return false;
        }
        sign = cross.signum();
    }
    true
}

/// Whether each side of the quadrilateral has paper inside and a darker surface
/// outside along most of its length. A side along the frame (the sheet goes out of
/// the picture) or lost in a background as bright as the paper does not.
fn edges_stand_out(grey: &[u8], width: usize, height: usize, c: &[(f64, f64); 4]) -> bool {
    let centre = (
        c.iter().map(|p| p.0).sum::<f64>() / 4.0,
        c.iter().map(|p| p.1).sum::<f64>() / 4.0,
    );
    let offset = (width.max(height) as f64 / 80.0).max(3.0);
    let at = |x: f64, y: f64| -> Option<f64> {
        if x < 0.0 || y < 0.0 || x >= width as f64 || y >= height as f64 {
            return None;
        }
        Some(f64::from(grey[y as usize * width + x as usize]))
    };
    (0..4).all(|i| {
        let (a, b) = (c[i], c[(i + 1) % 4]);
        let length = distance(a, b);
        let mut normal = ((b.1 - a.1) / length, -(b.0 - a.0) / length);
        let middle = ((a.0 + b.0) / 2.0, (a.1 + b.1) / 2.0);
        // Point the normal outwards, away from the centre.
        if normal.0 * (middle.0 - centre.0) + normal.1 * (middle.1 - centre.1) < 0.0 {
            normal = (-normal.0, -normal.1);
        }
        let samples = 24;
        let standing = (2..samples - 2)
            .filter(|&k| {
                let t = k as f64 / (samples - 1) as f64;
                let p = (a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t);
                let inside = at(p.0 - normal.0 * offset, p.1 - normal.1 * offset);
                // Paper is seldom flat: an edge may bow out by a few pixels, so the
                // surface is looked for at two offsets.
                (1..=2).any(|n| {
                    let d = offset * f64::from(n);
                    let outside = at(p.0 + normal.0 * d, p.1 + normal.1 * d);
                    matches!((inside, outside), (Some(i), Some(o)) if i - o >= EDGE_CONTRAST)
                })
            })
            .count();
        standing as f64 >= 0.7 * (samples - 4) as f64
    })
}

/// Grey levels by which paper must outshine what lies beyond its edge.
const EDGE_CONTRAST: f64 = 18.0;

/// Square dilation of radius `r` (separable: rows, then columns).
fn dilate(mask: &[bool], width: usize, height: usize, r: usize) -> Vec<bool> {
    morph(mask, width, height, r, true)
}

/// Square erosion of radius `r`; outside the picture counts as set, so that a sheet
/// touching the frame is not eaten from its border.
fn erode(mask: &[bool], width: usize, height: usize, r: usize) -> Vec<bool> {
    morph(mask, width, height, r, false)
}

fn morph(mask: &[bool], width: usize, height: usize, r: usize, any: bool) -> Vec<bool> {
    // One pass along a line of `n` values at `stride`: each output is "any set" or
    // "all set" over the window, from a running count.
    let pass = |src: &[bool], dst: &mut [bool], start: usize, n: usize, stride: usize| {
        let mut count = 0usize;
        let get = |i: usize| src[start + i * stride];
        for i in 0..n.min(r) {
            count += usize::from(get(i));
        }
        for i in 0..n {
            if i + r < n {
                count += usize::from(get(i + r));
            }
            if i > r {
                count -= usize::from(get(i - r - 1));
            }
            let lo = i.saturating_sub(r);
            let hi = (i + r).min(n - 1);
            let window = hi - lo + 1;
            dst[start + i * stride] = if any { count > 0 } else { count == window };
        }
    };
    let mut rows = vec![false; mask.len()];
    for y in 0..height {
        pass(mask, &mut rows, y * width, width, 1);
    }
    let mut out = vec![false; mask.len()];
    for x in 0..width {
        pass(&rows, &mut out, x, height, width);
    }
    out
}

/// The largest 4-connected set region, if any.
fn largest_region(mask: &[bool], width: usize, _height: usize) -> Option<Vec<bool>> {
    let mut label = vec![0u32; mask.len()];
    let (mut best_label, mut best_size, mut next) = (0u32, 0usize, 1u32);
    let mut stack = Vec::new();
    for start in 0..mask.len() {
        if !mask[start] || label[start] != 0 {
            continue;
        }
        let mut size = 0;
        label[start] = next;
        stack.push(start);
        while let Some(i) = stack.pop() {
            size += 1;
            for j in neighbours(i, width, mask.len()) {
                if mask[j] && label[j] == 0 {
                    label[j] = next;
                    stack.push(j);
                }
            }
        }
        if size > best_size {
            best_size = size;
            best_label = next;
        }
        next += 1;
    }
    (best_size > 0).then(|| label.iter().map(|&l| l == best_label).collect())
}

/// The region with what it encloses: every pixel not reachable from the frame
/// without crossing the region.
fn fill_holes(region: &[bool], width: usize, height: usize) -> Vec<bool> {
    let mut outside = vec![false; region.len()];
    let mut stack: Vec<usize> = (0..region.len())
        .filter(|&i| {
            let (x, y) = (i % width, i / width);
            (x == 0 || y == 0 || x + 1 == width || y + 1 == height) && !region[i]
        })
        .collect();
    for &i in &stack {
        outside[i] = true;
    }
    while let Some(i) = stack.pop() {
        for j in neighbours(i, width, region.len()) {
            if !region[j] && !outside[j] {
                outside[j] = true;
                stack.push(j);
            }
        }
    }
    outside.iter().map(|&o| !o).collect()
}

fn neighbours(i: usize, width: usize, len: usize) -> impl Iterator<Item = usize> {
    let x = i % width;
    [
        (x > 0).then(|| i - 1),
        (x + 1 < width).then(|| i + 1),
        (i >= width).then(|| i - width),
        (i + width < len).then(|| i + width),
    ]
    .into_iter()
    .flatten()
}

fn quad_area(c: &[(f64, f64); 4]) -> f64 {
    let mut twice = 0.0;
    for i in 0..4 {
        let (a, b) = (c[i], c[(i + 1) % 4]);
        twice += a.0 * b.1 - b.0 * a.1;
    }
    twice.abs() / 2.0
}

fn distance(a: (f64, f64), b: (f64, f64)) -> f64 {
    ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt()
}

/// The straightened sheet's (width, height) in pixels for these corners: its
/// longer opposite sides.
pub fn page_size(c: &[(f64, f64); 4]) -> (usize, usize) {
    let w = distance(c[0], c[1]).max(distance(c[3], c[2]));
    let h = distance(c[0], c[3]).max(distance(c[1], c[2]));
    (w.round().max(1.0) as usize, h.round().max(1.0) as usize)
}

/// The homography taking the output rectangle (w x h) onto the corners: coefficients
/// h0..h7 of u = (h0 x + h1 y + h2) / (h6 x + h7 y + 1), v likewise with h3..h5.
fn homography(c: &[(f64, f64); 4], w: f64, h: f64) -> Option<[f64; 8]> {
    let dst = [
        (0.0, 0.0),
        (w - 1.0, 0.0),
        (w - 1.0, h - 1.0),
        (0.0, h - 1.0),
    ];
    let mut m = [[0f64; 9]; 8];
    for i in 0..4 {
        let ((x, y), (u, v)) = (dst[i], c[i]);
        m[2 * i] = [x, y, 1.0, 0.0, 0.0, 0.0, -u * x, -u * y, u];
        m[2 * i + 1] = [0.0, 0.0, 0.0, x, y, 1.0, -v * x, -v * y, v];
    }
    // Gaussian elimination with partial pivoting.
    for col in 0..8 {
        let pivot = (col..8).max_by(|&a, &b| m[a][col].abs().total_cmp(&m[b][col].abs()))?;
        if m[pivot][col].abs() < 1e-12 {
            return None;
        }
        m.swap(col, pivot);
        let pivot_row = m[col];
        for (r, row) in m.iter_mut().enumerate() {
            if r != col {
                let f = row[col] / pivot_row[col];
                for (value, p) in row.iter_mut().zip(pivot_row.iter()).skip(col) {
                    *value -= f * p;
                }
            }
        }
    }
    Some(std::array::from_fn(|i| m[i][8] / m[i][i]))
}

/// Straightens the sheet: `pixels` (w x h, `channels` per pixel) sampled bilinearly
/// through the homography into an `out_w` x `out_h` picture.
pub fn warp(
    pixels: &[u8],
    width: usize,
    height: usize,
    channels: usize,
    corners: &[(f64, f64); 4],
    out_w: usize,
    out_h: usize,
) -> Option<Vec<u8>> {
    let h = homography(corners, out_w as f64, out_h as f64)?;
    let mut out = vec![0u8; out_w * out_h * channels];
    for y in 0..out_h {
        for x in 0..out_w {
            let (xf, yf) = (x as f64, y as f64);
            let d = h[6] * xf + h[7] * yf + 1.0;
            let u = ((h[0] * xf + h[1] * yf + h[2]) / d).clamp(0.0, (width - 1) as f64);
            let v = ((h[3] * xf + h[4] * yf + h[5]) / d).clamp(0.0, (height - 1) as f64);
            let (x0, y0) = (u.floor() as usize, v.floor() as usize);
            let (x1, y1) = ((x0 + 1).min(width - 1), (y0 + 1).min(height - 1));
            let (fx, fy) = (u - x0 as f64, v - y0 as f64);
            for k in 0..channels {
                let p = |xx: usize, yy: usize| f64::from(pixels[(yy * width + xx) * channels + k]);
                let top = p(x0, y0) * (1.0 - fx) + p(x1, y0) * fx;
                let bottom = p(x0, y1) * (1.0 - fx) + p(x1, y1) * fx;
                out[(y * out_w + x) * channels + k] =
                    (top * (1.0 - fy) + bottom * fy).round() as u8;
            }
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A dark table with a bright sheet whose corners are given.
    fn scene(w: usize, h: usize, corners: [(f64, f64); 4]) -> Vec<u8> {
        let inside = |x: f64, y: f64| {
            (0..4).all(|i| {
                let (a, b) = (corners[i], corners[(i + 1) % 4]);
                (b.0 - a.0) * (y - a.1) - (b.1 - a.1) * (x - a.0) >= 0.0
            })
        };
        (0..w * h)
            .map(|i| {
                if inside((i % w) as f64, (i / w) as f64) {
                    230
                } else {
                    40
                }
            })
            .collect()
    }

    #[test]
    fn a_tilted_sheet_is_found_and_straightened() {
        let corners = [(60.0, 40.0), (330.0, 70.0), (300.0, 420.0), (40.0, 380.0)];
        let grey = scene(400, 460, corners);
        let Sheet::Found(found) = find_sheet(&grey, 400, 460) else {
            panic!("the sheet")
        };
        for (f, c) in found.iter().zip(corners.iter()) {
            assert!(distance(*f, *c) < 4.0, "{found:?} vs {corners:?}");
        }
        let (w, h) = page_size(&found);
        let straight = warp(&grey, 400, 460, 1, &found, w, h).unwrap();
        let bright = straight.iter().filter(|&&v| v > 200).count() as f64 / straight.len() as f64;
        assert!(bright > 0.97, "the sheet fills the page: {bright}");
    }

    #[test]
    fn no_sheet_no_correction() {
        // Uniform noise-like gradient: nothing stands out as a quadrilateral.
        let grey: Vec<u8> = (0..300 * 300).map(|i| ((i * 7919) % 251) as u8).collect();
        assert_eq!(find_sheet(&grey, 300, 300), Sheet::NotFound);
        // A sheet filling the frame needs no correction.
        let full = scene(
            200,
            200,
            [(0.0, 0.0), (199.0, 0.0), (199.0, 199.0), (0.0, 199.0)],
        );
        assert_ne!(
            std::mem::discriminant(&find_sheet(&full, 200, 200)),
            std::mem::discriminant(&Sheet::Found([(0.0, 0.0); 4]))
        );
    }

    /// The scene with dark lines across the sheet (ruled paper, lines of text).
    fn ruled(w: usize, h: usize, corners: [(f64, f64); 4], background: u8) -> Vec<u8> {
        scene(w, h, corners)
            .into_iter()
            .enumerate()
            .map(|(i, v)| match v {
                40 => background,
                _ if (i / w) % 12 < 2 => 110,
                _ if (i / w) % 12 == 6 && (i % w) % 9 < 5 => 60,
                v => v,
            })
            .collect()
    }

    #[test]
    fn ruled_and_written_paper_is_found_whole() {
        // The legal-pad kind: lines across the whole sheet must not cut it in strips
        // (the largest strip was once reported as the page).
        let corners = [(50.0, 30.0), (350.0, 45.0), (340.0, 440.0), (40.0, 425.0)];
        let grey = ruled(400, 480, corners, 40);
        let Sheet::Found(found) = find_sheet(&grey, 400, 480) else {
            panic!("the whole sheet")
        };
        for (f, c) in found.iter().zip(corners.iter()) {
            assert!(distance(*f, *c) < 6.0, "{found:?} vs {corners:?}");
        }
    }

    #[test]
    fn a_shape_that_does_not_convince_keeps_the_photo() {
        // Paper on a desk nearly as bright: the shape seen is not trusted.
        let corners = [(60.0, 40.0), (330.0, 70.0), (300.0, 420.0), (40.0, 380.0)];
        let grey: Vec<u8> = scene(400, 460, corners)
            .into_iter()
            .map(|v| if v == 40 { 222 } else { v })
            .collect();
        assert_ne!(
            std::mem::discriminant(&find_sheet(&grey, 400, 460)),
            std::mem::discriminant(&Sheet::Found([(0.0, 0.0); 4]))
        );
        // A sheet running out of the frame on one side: its fourth edge is not seen.
        let cut = scene(
            400,
            460,
            [
                (60.0, -200.0),
                (330.0, -200.0),
                (330.0, 300.0),
                (60.0, 300.0),
            ],
        );
        assert_eq!(find_sheet(&cut, 400, 460), Sheet::Unconvincing);
        // A sheet that is not a quadrilateral (a torn half, a triangle).
        let triangle = scene(
            400,
            460,
            [(60.0, 40.0), (330.0, 40.0), (195.0, 420.0), (195.0, 420.0)],
        );
        assert_eq!(find_sheet(&triangle, 400, 460), Sheet::Unconvincing);
    }
}
