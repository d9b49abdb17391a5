//! Login storm benchmark: N concurrent logins against the release server in its own
//! process, while a probe measures `/health`. Run with `scripts/bench-login-storm`.
//!
//! Environment: `STORM_LOGINS` (500), `DATABASE_URL` (default: SQLite in a temporary
//! folder), `FAMILLE_MAX_CONCURRENT_HASHES` (the server's default otherwise).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;

#[path = "common/mod.rs"]
mod common;
use common::{Server, backend, ms, percentile};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let logins: usize = std::env::var("STORM_LOGINS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500);
    let data = std::env::temp_dir().join(format!("famille-storm-{}", std::process::id()));
    std::fs::create_dir_all(&data).unwrap();
    let (server, base) = Server::start(
        &["serve", "--demo"],
        &[("FAMILLE_DATA", data.display().to_string())],
    )
    .await;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(300))
        .build()
        .unwrap();
    let backend = backend(&client, &base).await;

    // Accounts to log in with (one per parent: logins are limited per account).
    println!("preparing {logins} accounts…");
    let setup = Instant::now();
    let semaphore = Arc::new(tokio::sync::Semaphore::new(4));
    let mut tasks = Vec::new();
    for i in 0..logins {
        let (client, base, semaphore) = (client.clone(), base.clone(), semaphore.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = semaphore.acquire().await.unwrap();
            let r = client
                .post(format!("{base}/api/v1/auth/register"))
                .json(&json!({"email": format!("parent{i}@storm.example"), "password": "mot-de-passe-storm",
                              "first_name": "Parent", "last_name": format!("N{i}")}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 201, "register {i}: {}", r.text().await.unwrap_or_default());
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    println!("  done in {:.1} s", setup.elapsed().as_secs_f64());

    // The probe: /health every 20 ms while the storm lasts.
    let storm_running = Arc::new(AtomicBool::new(true));
    let probe = {
        let (client, base, running) = (client.clone(), base.clone(), storm_running.clone());
        tokio::spawn(async move {
            let mut samples = Vec::new();
            let mut failures = 0;
            while running.load(Ordering::Relaxed) {
                let t = Instant::now();
                match client.get(format!("{base}/health")).send().await {
                    Ok(r) if r.status().is_success() => samples.push(t.elapsed()),
                    _ => failures += 1,
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            (samples, failures)
        })
    };

    let start = Instant::now();
    let barrier = Arc::new(tokio::sync::Barrier::new(logins));
    let mut tasks = Vec::new();
    for i in 0..logins {
        let (client, base, barrier) = (client.clone(), base.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let t = Instant::now();
            let r = client
                .post(format!("{base}/api/v1/auth/login"))
                .json(&json!({"email": format!("parent{i}@storm.example"), "password": "mot-de-passe-storm", "remember_me": true}))
                .send()
                .await;
            let ok = matches!(&r, Ok(r) if r.status() == 200);
            (ok, t.elapsed())
        }));
    }
    let mut login_times = Vec::new();
    let mut ok = 0;
    for t in tasks {
        let (success, elapsed) = t.await.unwrap();
        ok += usize::from(success);
        login_times.push(elapsed);
    }
    let wall = start.elapsed();
    storm_running.store(false, Ordering::Relaxed);
    let (mut health, health_failures) = probe.await.unwrap();
    login_times.sort();
    health.sort();
    drop(server);
    let _ = std::fs::remove_dir_all(&data);

    println!(
        "login storm on {backend}: {logins} concurrent logins, {} cores",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0)
    );
    println!("  succeeded      {ok}/{logins}");
    println!(
        "  wall time      {:.2} s ({:.0} logins/s)",
        wall.as_secs_f64(),
        logins as f64 / wall.as_secs_f64()
    );
    println!(
        "  login latency  p50 {}  p99 {}  max {}",
        ms(percentile(&login_times, 50.0)),
        ms(percentile(&login_times, 99.0)),
        ms(*login_times.last().unwrap())
    );
    println!(
        "  /health probe  {} samples, {} failed: p50 {}  p99 {}  max {}",
        health.len(),
        health_failures,
        ms(percentile(&health, 50.0)),
        ms(percentile(&health, 99.0)),
        ms(health.last().copied().unwrap_or_default())
    );
    let verdict = ok == logins
        && health_failures == 0
        && percentile(&health, 99.0) < Duration::from_millis(50);
    println!(
        "  target (all succeed, /health p99 < 50 ms): {}",
        if verdict { "met" } else { "NOT met" }
    );
}
