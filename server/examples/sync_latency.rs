//! Sync latency, measured server-side (the router called in-process, release build):
//! the initial sync of the demo family over a school year of sessions, and an empty
//! incremental sync. Run with `scripts/bench-sync`.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use famille_server::config::Config;
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

#[path = "common/mod.rs"]
mod common;
use common::{ms, percentile};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let data = std::env::temp_dir().join(format!("famille-sync-{}", std::process::id()));
    std::fs::create_dir_all(&data).unwrap();
    let state = famille_server::start(Config::for_data_dir(
        &data,
        std::env::var("DATABASE_URL").ok(),
    ))
    .await
    .unwrap();
    famille_server::dev::demo::load(&state).await.unwrap();
    let now = state.clock.now();
    let added = famille_server::dev::demo::school_year(&state)
        .await
        .unwrap();
    let parent = state
        .db
        .accounts()
        .by_email(famille_server::dev::demo::PARENT_EMAIL)
        .await
        .unwrap()
        .unwrap();
    let family_id = parent.family_id.unwrap();
    let router = famille_server::http::router(state.clone());
    let token = famille_server::accounts::tokens::JwtKeys::new(&state.config.jwt_secret)
        .access_token(
            parent.id,
            famille_model::dossier::Role::Parent,
            Some(family_id),
            now,
            3600,
        )
        .unwrap();
    let get = |path: String| {
        let router = router.clone();
        let token = token.clone();
        async move {
            let req = Request::get(path)
                .header("authorization", format!("Bearer {token}"))
                .body(Body::empty())
                .unwrap();
            let res = router.oneshot(req).await.unwrap();
            assert!(res.status().is_success());
            let bytes = res.into_body().collect().await.unwrap().to_bytes();
            serde_json::from_slice::<Value>(&bytes).unwrap()
        }
    };

    // Initial sync: follow the cursor from 0 to the end (pages of 500).
    let mut initial = Vec::new();
    let mut entries = 0;
    let mut head = 0;
    for _ in 0..30 {
        let t = Instant::now();
        let mut cursor = 0;
        let mut count = 0;
        loop {
            let page = get(format!("/api/v1/sync?cursor={cursor}")).await;
            count += page["changes"].as_array().unwrap().len();
            cursor = page["cursor"].as_i64().unwrap();
            if !page["has_more"].as_bool().unwrap() {
                break;
            }
        }
        initial.push(t.elapsed());
        entries = count;
        head = cursor;
    }
    let mut empty = Vec::new();
    for _ in 0..500 {
        let t = Instant::now();
        let page = get(format!("/api/v1/sync?cursor={head}")).await;
        assert!(page["changes"].as_array().unwrap().is_empty());
        empty.push(t.elapsed());
    }
    initial.sort();
    empty.sort();
    println!(
        "sync on {}: {added} sessions added to the demo's, {} reservations of the family, {entries} changes in the initial sync",
        state.db.backend_name(),
        2 * added.div_ceil(3)
    );
    println!(
        "  initial sync (all pages)  p50 {}  p99 {}  max {}",
        ms(percentile(&initial, 50.0)),
        ms(percentile(&initial, 99.0)),
        ms(*initial.last().unwrap())
    );
    println!(
        "  empty incremental sync    p50 {}  p99 {}  max {}",
        ms(percentile(&empty, 50.0)),
        ms(percentile(&empty, 99.0)),
        ms(*empty.last().unwrap())
    );
    println!(
        "  targets (initial < 50 ms, empty < 5 ms at p50): {}",
        if percentile(&initial, 50.0) < Duration::from_millis(50)
            && percentile(&empty, 50.0) < Duration::from_millis(5)
        {
            "met"
        } else {
            "NOT met"
        }
    );
    state.db.close().await;
    let _ = std::fs::remove_dir_all(&data);
}
