//! Shared by the benchmark programs: the server process they start, and how they
//! print latencies.

#![allow(dead_code)]

use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The release server in its own process, killed when dropped.
pub struct Server(Child);

impl Server {
    /// Starts `famille-server` (next to this example's binary) with these variables,
    /// and waits until `/health` answers. Returns the server and its base URL.
    pub async fn start(args: &[&str], env: &[(&str, String)]) -> (Server, String) {
        let exe = std::env::current_exe().expect("own path");
        let binary = exe
            .parent()
            .and_then(|p| p.parent())
            .expect("target folder")
            .join("famille-server");
        assert!(
            binary.exists(),
            "build the server first: {} is missing",
            binary.display()
        );
        let port = 18000 + (std::process::id() % 2000) as u16;
        let mut command = Command::new(binary);
        command
            .args(args)
            .env("FAMILLE_LISTEN", format!("127.0.0.1:{port}"))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        for (name, value) in env {
            command.env(name, value);
        }
        let server = Server(command.spawn().expect("server starts"));
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        for _ in 0..200 {
            if client
                .get(format!("{base}/health"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return (server, base);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the server did not come up");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The p-th percentile of sorted samples (nearest rank).
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// The database backend the server reports on `/health`.
pub async fn backend(client: &reqwest::Client, base: &str) -> String {
    let health: serde_json::Value = client
        .get(format!("{base}/health"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    health["database"].as_str().unwrap_or("?").to_owned()
}
