//! Page detection: on a photo of a sheet of paper lying on a darker surface, finds the
//! sheet's four corners and straightens it (perspective correction) so the page fills
//! the picture. When no clear sheet is found the photo is kept as it is.

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

/// The corners (top-left, top-right, bottom-right, bottom-left) of the bright sheet in
/// a grey picture, if one clearly stands out.
pub fn find_page(grey: &[u8], width: usize, height: usize) -> Option<[(f64, f64); 4]> {
    if width < 16 || height < 16 || grey.len() != width * height {
        return None;
    }
    let threshold = otsu(grey);
    let bright: Vec<bool> = grey.iter().map(|&v| v > threshold).collect();
    // The largest bright region (4-connected).
    let mut label = vec![0u32; grey.len()];
    let (mut best_label, mut best_size, mut next) = (0u32, 0usize, 1u32);
    let mut stack = Vec::new();
    for start in 0..grey.len() {
        if !bright[start] || label[start] != 0 {
            continue;
        }
        let mut size = 0;
        label[start] = next;
        stack.push(start);
        while let Some(i) = stack.pop() {
            size += 1;
            let (x, y) = (i % width, i / width);
            let mut visit = |j: usize| {
                if bright[j] && label[j] == 0 {
                    label[j] = next;
                    stack.push(j);
                }
            };
            if x > 0 {
                visit(i - 1);
            }
            if x + 1 < width {
                visit(i + 1);
            }
            if y > 0 {
                visit(i - width);
            }
            if y + 1 < height {
                visit(i + width);
            }
        }
        if size > best_size {
            best_size = size;
            best_label = next;
        }
        next += 1;
    }
    let fraction = best_size as f64 / grey.len() as f64;
    if !(0.15..=0.97).contains(&fraction) {
        return None;
    }
    // Extreme points along the diagonals are the sheet's corners.
    let (mut tl, mut br, mut tr, mut bl) = (
        (0.0, 0.0, f64::MAX),
        (0.0, 0.0, f64::MIN),
        (0.0, 0.0, f64::MIN),
        (0.0, 0.0, f64::MAX),
    );
    for (i, &l) in label.iter().enumerate() {
        if l != best_label {
            continue;
        }
        let (x, y) = ((i % width) as f64, (i / width) as f64);
        if x + y < tl.2 {
            tl = (x, y, x + y);
        }
        if x + y > br.2 {
            br = (x, y, x + y);
        }
        if x - y > tr.2 {
            tr = (x, y, x - y);
        }
        if x - y < bl.2 {
            bl = (x, y, x - y);
        }
    }
    let corners = [(tl.0, tl.1), (tr.0, tr.1), (br.0, br.1), (bl.0, bl.1)];
    // The region must be that quadrilateral (not a blob), and not the whole frame.
    let area = quad_area(&corners);
    let image = (width * height) as f64;
    if area < 0.1 * image
        || area > 0.95 * image
        || !(0.85..=1.15).contains(&(best_size as f64 / area))
    {
        return None;
    }
    Some(corners)
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

/// The straightened sheet's size for these corners.
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
        let found = find_page(&grey, 400, 460).expect("the sheet");
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
        assert_eq!(find_page(&grey, 300, 300), None);
        // A sheet filling the frame needs no correction.
        let full = scene(
            200,
            200,
            [(0.0, 0.0), (199.0, 0.0), (199.0, 199.0), (0.0, 199.0)],
        );
        assert_eq!(find_page(&full, 200, 200), None);
    }
}
