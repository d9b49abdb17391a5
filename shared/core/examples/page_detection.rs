//! What page detection concludes on photos of documents, and how long capture
//! takes: `cargo run --release -p famille-core --example page_detection -- FILE...`
//! (BENCHMARKS.md reports it over the real corpus, `../shared/fixtures/photos/documents`).

use famille_core::capture::{CaptureOptions, PageSearch, capture_page};

fn main() {
    let options = CaptureOptions {
        detect_page: true,
        ..Default::default()
    };
    let mut outcomes = Vec::new();
    for path in std::env::args().skip(1) {
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) => {
                eprintln!("{path}: {e}");
                std::process::exit(1);
            }
        };
        let start = std::time::Instant::now();
        match capture_page(&bytes, &options) {
            Ok(page) => {
                let corners: Vec<String> = page
                    .sheet_corners
                    .iter()
                    .map(|c| format!("({:.3}, {:.3})", c.x, c.y))
                    .collect();
                println!(
                    "{path}: {:?} {}x{} in {:.0} ms {}",
                    page.page_search,
                    page.width,
                    page.height,
                    start.elapsed().as_secs_f64() * 1000.0,
                    corners.join(" ")
                );
                outcomes.push(page.page_search);
            }
            Err(e) => println!("{path}: {e}"),
        }
    }
    let count = |s: PageSearch| outcomes.iter().filter(|&&o| o == s).count();
    println!(
        "{} photos: {} straightened, {} kept whole (not convincing), {} without a sheet",
        outcomes.len(),
        count(PageSearch::Straightened),
        count(PageSearch::KeptWhole),
        count(PageSearch::NotFound)
    );
}
