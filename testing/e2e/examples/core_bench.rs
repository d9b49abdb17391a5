//! The core's local speed, release build: applying the initial sync of a school year
//! for the demo family into an empty store, and the month calendar of the four
//! children read from the store. The server runs in-process (SQLite) only to produce
//! real feed pages. Run with `scripts/bench-core`.

use std::time::{Duration, Instant};

use chrono::Utc;
use famille_core::store::Store;
use famille_core::{Engine, FileTokenStore};
use famille_model::api::SyncPage;
use famille_server::config::Config;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let root = std::env::temp_dir().join(format!("famille-core-bench-{}", std::process::id()));
    let server_dir = root.join("server");
    std::fs::create_dir_all(&server_dir).unwrap();
    let state = famille_server::start(Config::for_data_dir(&server_dir, None))
        .await
        .unwrap();
    famille_server::dev::demo::load(&state).await.unwrap();
    let sessions = famille_server::dev::demo::school_year(&state)
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let serving = state.clone();
    tokio::spawn(async move { famille_server::serve(serving, listener).await });

    // The feed pages of an initial sync, fetched once.
    let http = reqwest::Client::new();
    let login: serde_json::Value = http
        .post(format!("{url}/api/v1/auth/login"))
        .json(&serde_json::json!({"email": "parent@famille.example", "password": "demo-parent-pw", "remember_me": false}))
        .send().await.unwrap().json().await.unwrap();
    let token = login["access_token"].as_str().unwrap().to_owned();
    let mut pages: Vec<SyncPage> = Vec::new();
    let mut cursor = 0;
    loop {
        let page: SyncPage = http
            .get(format!("{url}/api/v1/sync?cursor={cursor}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        cursor = page.cursor;
        let more = page.has_more;
        pages.push(page);
        if !more {
            break;
        }
    }
    let changes: usize = pages.iter().map(|p| p.changes.len()).sum();

    // Applying them into a fresh store, as a phone's first sync does.
    let mut apply = Vec::new();
    for run in 0..10 {
        let dir = root.join(format!("apply-{run}"));
        let mut store = Store::open(&dir).unwrap();
        let t = Instant::now();
        for page in &pages {
            store.apply_page(&page.changes, page.cursor).unwrap();
        }
        apply.push(t.elapsed());
    }
    apply.sort();

    // The whole first sync through the engine (HTTP to the in-process server included).
    let phone = root.join("phone");
    let engine = Engine::open(
        &phone,
        &url,
        FileTokenStore::new(phone.join("tokens.json")),
        None,
    )
    .unwrap();
    engine
        .login("parent@famille.example", "demo-parent-pw")
        .await
        .unwrap();
    let t = Instant::now();
    engine.sync().await.unwrap();
    let full_sync = t.elapsed();

    // The month calendar of the four children: the coming 31 days (Wednesdays and, in
    // December, the Christmas holidays of both activities).
    let children: Vec<uuid::Uuid> = engine
        .children()
        .unwrap()
        .iter()
        .map(|c| c.id.parse().unwrap())
        .collect();
    let today = famille_model::calendar::paris_date(Utc::now());
    let from = today;
    let to = from + chrono::Duration::days(30);
    let now = Utc::now();
    let mut cells = 0;
    for child in &children {
        cells += engine
            .calendar(*child, from, to, now)
            .unwrap()
            .iter()
            .map(|d| d.cells.len())
            .sum::<usize>();
    }
    let mut month = Vec::new();
    for _ in 0..300 {
        let t = Instant::now();
        for child in &children {
            std::hint::black_box(engine.calendar(*child, from, to, now).unwrap());
        }
        month.push(t.elapsed());
    }
    month.sort();

    println!(
        "school year: {sessions} sessions added to the demo; initial sync of {changes} changes in {} pages",
        pages.len()
    );
    println!(
        "apply the initial sync into an empty store: p50 {}  max {}  (target < 200 ms; 10 runs)",
        ms(percentile(&apply, 0.5)),
        ms(*apply.last().unwrap())
    );
    println!(
        "whole first sync through the engine (HTTP, in-process server): {}",
        ms(full_sync)
    );
    println!(
        "month calendar ({from} to {to}) of {} children, {cells} cells: p50 {}  p99 {}  (target < 2 ms; 300 runs)",
        children.len(),
        ms(percentile(&month, 0.5)),
        ms(percentile(&month, 0.99))
    );
    let _ = std::fs::remove_dir_all(&root);
}
