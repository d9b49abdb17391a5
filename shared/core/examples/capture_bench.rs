//! Capture speed: one 12-megapixel camera JPEG to the processed page (upright,
//! metadata dropped, long side 2,000 px, JPEG quality 80), single-threaded. Prints
//! the time and the output size; `scripts/bench-capture` runs vipsthumbnail and
//! ImageMagick on the same file beside it.
//!
//! Usage: capture_bench <photo.jpg> <output.jpg> [runs]

use std::time::Instant;

use famille_core::capture::{CaptureOptions, capture_page};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (input, output) = (&args[1], &args[2]);
    let runs: usize = args.get(3).and_then(|r| r.parse().ok()).unwrap_or(10);
    let bytes = std::fs::read(input).expect("the photo");
    let options = CaptureOptions::default();
    let mut times = Vec::new();
    let mut page = None;
    for _ in 0..runs {
        let t = Instant::now();
        page = Some(capture_page(&bytes, &options).expect("captured"));
        times.push(t.elapsed());
    }
    times.sort();
    let page = page.expect("at least one run");
    std::fs::write(output, &page.jpeg).expect("written");
    println!(
        "famille-core capture: median {:.1} ms (min {:.1}) over {runs} runs -> {}x{}, {} bytes, sharpness {:.0}",
        times[runs / 2].as_secs_f64() * 1000.0,
        times[0].as_secs_f64() * 1000.0,
        page.width,
        page.height,
        page.jpeg.len(),
        page.quality.sharpness
    );
}
