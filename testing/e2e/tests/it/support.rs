//! A demo server on a free port, and cores opened on temporary folders.

use std::path::PathBuf;

use famille_core::{Engine, FileTokenStore};
use famille_server::config::Config;
use famille_server::state::AppState;

pub struct TestServer {
    pub url: String,
    pub state: AppState,
    task: tokio::task::JoinHandle<()>,
    pub dir: PathBuf,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub fn temp_dir(what: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("famille-core-it-{what}-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

impl TestServer {
    pub async fn start() -> TestServer {
        let dir = temp_dir("server");
        let state = famille_server::start(Config::for_data_dir(&dir, None))
            .await
            .unwrap();
        famille_server::dev::demo::load(&state).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let serving = state.clone();
        let task = tokio::spawn(async move {
            let _ = famille_server::serve(serving, listener).await;
        });
        TestServer {
            url,
            state,
            task,
            dir,
        }
    }
}

/// A core on `dir` talking to `url` (a dead address plays "no network").
pub fn core(dir: &std::path::Path, url: &str) -> Engine {
    let tokens = FileTokenStore::new(dir.join("tokens.json"));
    Engine::open(dir, url, tokens, None).unwrap()
}

pub const OFFLINE: &str = "http://127.0.0.1:9";

/// A core on `dir` with the demo parent logged in.
pub async fn parent_core(dir: &std::path::Path, url: &str) -> Engine {
    let phone = core(dir, url);
    phone
        .login("parent@famille.example", "demo-parent-pw")
        .await
        .unwrap();
    phone
}
