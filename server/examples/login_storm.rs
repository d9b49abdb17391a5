//! Login storm benchmark: N concurrent logins against the release server in its own
//! process, while a probe measures `/health`. Run with `scripts/bench-login-storm`.
//!
//! Environment: `STORM_LOGINS` (500), `DATABASE_URL` (default: SQLite in a temporary
//! folder), `FAMILLE_MAX_CONCURRENT_HASHES` (the server's default otherwise).

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let logins: usize = std::env::var("STORM_LOGINS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500);
    let exe = std::env::current_exe().unwrap();
    let server_bin = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("famille-server");
    assert!(
        server_bin.exists(),
        "build the server first: {} is missing",
        server_bin.display()
    );
    let data = std::env::temp_dir().join(format!("famille-storm-{}", std::process::id()));
    std::fs::create_dir_all(&data).unwrap();
    let port = 18000 + (std::process::id() % 1000) as u16;
    let base = format!("http://127.0.0.1:{port}");

    let server = Server(
        Command::new(&server_bin)
            .args(["serve", "--demo"])
            .env("FAMILLE_DATA", &data)
            .env("FAMILLE_LISTEN", format!("127.0.0.1:{port}"))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("server starts"),
    );
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(300))
        .build()
        .unwrap();
    let mut up = false;
    for _ in 0..200 {
        if client
            .get(format!("{base}/health"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(up, "server did not come up");
    let backend = client
        .get(format!("{base}/health"))
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap()["database"]
        .as_str()
        .unwrap_or("?")
        .to_owned();

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
