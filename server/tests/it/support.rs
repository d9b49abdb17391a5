//! Test harness: a fresh server state per test on the chosen backend, and a small
//! client that speaks to the router in-process.

use std::path::PathBuf;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use base64::Engine as _;
use famille_server::config::Config;
use famille_server::dev::api_particulier_standin::StandIn as ApiParticulierStandIn;
use famille_server::dev::fcm_standin::StandIn;
use famille_server::dev::payfip_standin::StandIn as PayfipStandIn;
use famille_server::state::AppState;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Generates one test per backend from one body: `backend_tests! { async fn name(app) { ... } }`.
macro_rules! backend_tests {
    ($(async fn $name:ident($app:ident) $body:block)*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                async fn scenario($app: $crate::support::TestApp) $body

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let app = $crate::support::TestApp::new($crate::support::Backend::Sqlite).await;
                    scenario(app).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    let Some(app) = $crate::support::TestApp::postgres().await else { return };
                    scenario(app).await;
                }
            }
        )*
    };
}
pub(crate) use backend_tests;

pub struct TestApp {
    pub state: AppState,
    pub router: axum::Router,
    pub backend: Backend,
    _dir: TempDir,
}

/// A temporary folder removed when the test ends.
pub struct TempDir(pub PathBuf);

impl TempDir {
    fn new() -> TempDir {
        let path = std::env::temp_dir().join(format!("famille-it-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A fresh, empty PostgreSQL database on the test server.
async fn fresh_postgres_database(admin_url: &str) -> String {
    use sqlx::Connection;
    let name = format!("famille_it_{}", uuid::Uuid::now_v7().simple());
    let mut conn = sqlx::PgConnection::connect(admin_url)
        .await
        .unwrap_or_else(|e| panic!("cannot reach the PostgreSQL test server at {admin_url}: {e}"));
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    // Replace the database name (the last path segment) of the admin URL.
    let (base, query) = match admin_url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (admin_url, String::new()),
    };
    let base = base.rsplit_once('/').map(|(b, _)| b).unwrap_or(base);
    format!("{base}/{name}{query}")
}

impl TestApp {
    pub async fn new(backend: Backend) -> TestApp {
        let dir = TempDir::new();
        let url = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => {
                let admin =
                    std::env::var("FAMILLE_TEST_POSTGRES_URL").expect("checked by the caller");
                Some(fresh_postgres_database(&admin).await)
            }
        };
        let config = Config::for_data_dir(&dir.0, url);
        let state = famille_server::start(config)
            .await
            .expect("server state starts");
        let router = famille_server::http::router(state.clone());
        TestApp {
            state,
            router,
            backend,
            _dir: dir,
        }
    }

    /// The PostgreSQL variant, or `None` (with a note) when no test server is named.
    /// `FAMILLE_REQUIRE_POSTGRES=1` (set by `.ci/run`) turns the absence into a failure.
    pub async fn postgres() -> Option<TestApp> {
        if std::env::var("FAMILLE_TEST_POSTGRES_URL").is_err() {
            if std::env::var("FAMILLE_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") {
                panic!("FAMILLE_REQUIRE_POSTGRES=1 but FAMILLE_TEST_POSTGRES_URL is not set");
            }
            eprintln!("PostgreSQL not tested: FAMILLE_TEST_POSTGRES_URL is not set");
            return None;
        }
        Some(TestApp::new(Backend::Postgres).await)
    }

    /// Loads the demo data (TESTBO family, agent, admin).
    pub async fn with_demo(self) -> TestApp {
        famille_server::dev::demo::load(&self.state)
            .await
            .expect("demo loads");
        self
    }

    pub async fn send(&self, req: Request<Body>) -> Reply {
        let response = self
            .router
            .clone()
            .oneshot(req)
            .await
            .expect("router answers");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        Reply {
            status,
            headers,
            body,
            raw: bytes.to_vec(),
        }
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut builder = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            builder = builder.header("authorization", format!("Bearer {token}"));
        }
        let req = match body {
            Some(body) => builder
                .header("content-type", "application/json")
                .body(Body::from(body.to_string())),
            None => builder.body(Body::empty()),
        }
        .unwrap();
        self.send(req).await
    }

    /// POSTs JSON as a client connected from `address` (what the rate limits key on).
    pub async fn post_from(&self, address: &str, path: &str, body: Value) -> Reply {
        let peer: std::net::SocketAddr = format!("{address}:40000").parse().expect("an address");
        let mut req = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        req.extensions_mut()
            .insert(axum::extract::ConnectInfo(peer));
        self.send(req).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.call(Method::POST, path, token, Some(body)).await
    }

    pub async fn put(&self, path: &str, token: &str, body: Value) -> Reply {
        self.call(Method::PUT, path, Some(token), Some(body)).await
    }

    pub async fn login(&self, email: &str, password: &str) -> Tokens {
        let reply = self
            .post(
                "/api/v1/auth/login",
                None,
                json!({"email": email, "password": password, "remember_me": true}),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "login of {email}: {:?}",
            reply.body
        );
        Tokens {
            access: reply.body["access_token"].as_str().unwrap().to_owned(),
            refresh: reply.body["refresh_token"].as_str().unwrap().to_owned(),
        }
    }

    pub async fn parent(&self) -> Tokens {
        self.login(
            famille_server::dev::demo::PARENT_EMAIL,
            famille_server::dev::demo::PARENT_PASSWORD,
        )
        .await
    }

    pub async fn agent(&self) -> Tokens {
        self.login(
            famille_server::dev::demo::AGENT_EMAIL,
            famille_server::dev::demo::AGENT_PASSWORD,
        )
        .await
    }

    pub async fn admin(&self) -> Tokens {
        self.login(
            famille_server::dev::demo::ADMIN_EMAIL,
            famille_server::dev::demo::ADMIN_PASSWORD,
        )
        .await
    }

    /// Registers a new parent (pending dossier) and logs in.
    pub async fn new_parent(&self, email: &str) -> Tokens {
        let reply = self
            .post(
                "/api/v1/auth/register",
                None,
                json!({"email": email, "password": "un-mot-de-passe-solide", "first_name": "Marie", "last_name": "Curie"}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
        self.login(email, "un-mot-de-passe-solide").await
    }

    /// The mails written to the outbox, oldest first.
    pub fn outbox(&self) -> Vec<String> {
        let dir = self.state.config.outbox_dir();
        let mut names: Vec<_> = std::fs::read_dir(&dir)
            .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
            .unwrap_or_default();
        names.retain(|p| p.extension().is_some_and(|e| e == "eml"));
        names.sort();
        names
            .iter()
            .map(|p| decode_quoted_printable(&std::fs::read_to_string(p).unwrap()))
            .collect()
    }

    /// Sends what the notification outbox holds (the server's dispatcher does it in
    /// the background; tests do it when they choose).
    pub async fn dispatch(&self) -> famille_server::notifications::DispatchReport {
        famille_server::notifications::dispatch_due(&self.state)
            .await
            .expect("dispatch")
    }

    /// The same database and folder under a new server state, as after a restart
    /// (the clock keeps its offset); the old state's pool is closed, as if killed.
    pub async fn restart_with(self, config: Config) -> TestApp {
        let now = self.state.clock.now();
        self.state.db.close().await;
        let state = famille_server::start(config)
            .await
            .expect("server restarts");
        state.clock.set(now);
        let router = famille_server::http::router(state.clone());
        TestApp {
            state,
            router,
            backend: self.backend,
            _dir: self._dir,
        }
    }

    pub async fn restart(self) -> TestApp {
        let config = self.state.config.clone();
        self.restart_with(config).await
    }

    /// Restarts pointed at a fresh local FCM stand-in.
    pub async fn with_fcm(self) -> (TestApp, StandIn) {
        let standin = StandIn::start("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let path = self._dir.0.join("fcm-credentials.json");
        std::fs::write(&path, serde_json::to_string(standin.credentials()).unwrap()).unwrap();
        let mut config = self.state.config.clone();
        config.fcm_credentials = Some(path);
        config.fcm_endpoint = standin.url.clone();
        (self.restart_with(config).await, standin)
    }

    /// Restarts pointed at a fresh local API Particulier stand-in, with a client
    /// timeout short enough for a test to see it fire.
    pub async fn with_api_particulier(self) -> (TestApp, ApiParticulierStandIn) {
        let standin = ApiParticulierStandIn::start("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let mut config = self.state.config.clone();
        config.api_particulier_url = standin.url.clone();
        config.api_particulier_token = Some(standin.key().to_owned());
        config.api_particulier_timeout = std::time::Duration::from_millis(500);
        (self.restart_with(config).await, standin)
    }

    /// Restarts pointed at a fresh local PayFiP stand-in, and listening on a port
    /// of its own (`public_url`): PayFiP's notifications reach it over HTTP.
    pub async fn with_payfip(self) -> (TestApp, PayfipStandIn) {
        let standin = PayfipStandIn::start("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut config = self.state.config.clone();
        config.payfip_endpoint = standin.endpoint();
        config.payfip_page_url = standin.page_url();
        config.public_url = format!("http://{}", listener.local_addr().unwrap());
        let app = self.restart_with(config).await;
        let router = app.router.clone();
        tokio::spawn(async move {
            let _ = axum::serve(
                listener,
                router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .await;
        });
        (app, standin)
    }

    /// Waits for a mail whose text contains `needle` (mails are sent in the background).
    pub async fn wait_for_mail_containing(&self, needle: &str) -> String {
        for _ in 0..200 {
            self.dispatch().await;
            if let Some(mail) = self.outbox().into_iter().find(|m| m.contains(needle)) {
                return mail;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("no mail contains {needle:?}");
    }

    /// Waits for the n-th mail (mails are sent in the background).
    pub async fn wait_for_mail(&self, count: usize) -> String {
        for _ in 0..200 {
            self.dispatch().await;
            let mails = self.outbox();
            if mails.len() >= count {
                return mails[count - 1].clone();
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!(
            "mail n°{count} never arrived; outbox has {}",
            self.outbox().len()
        );
    }
}

pub struct Tokens {
    pub access: String,
    pub refresh: String,
}

#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    /// The body's bytes (a PDF, a CSV).
    pub raw: Vec<u8>,
}

impl Reply {
    /// Asserts a problem+json answer with this status and code, and returns its detail.
    #[track_caller]
    pub fn problem(&self, status: StatusCode, code: &str) -> String {
        assert_eq!(self.status, status, "body: {}", self.body);
        assert_eq!(
            self.headers
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("application/problem+json"),
            "body: {}",
            self.body
        );
        assert_eq!(self.body["code"], code, "body: {}", self.body);
        let detail = self.body["detail"].as_str().expect("a detail").to_owned();
        assert!(!detail.is_empty());
        detail
    }
}

/// The reset token a mail carries (the line after "ou saisissez ce code").
pub fn token_in_mail(mail: &str) -> String {
    let mut lines = mail.lines();
    while let Some(line) = lines.next() {
        if line.contains("saisissez ce code") {
            return lines.next().expect("a code line").trim().to_owned();
        }
    }
    panic!("no token in mail:\n{mail}");
}

/// Undoes quoted-printable (soft breaks and `=XX`), enough to read a mail's text.
pub fn decode_quoted_printable(raw: &str) -> String {
    let joined = raw.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && bytes[i + 1].is_ascii_hexdigit()
            && bytes[i + 2].is_ascii_hexdigit()
        {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `Upload-Metadata` from key/value pairs (values base64).
pub fn meta(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{k} {}",
                base64::engine::general_purpose::STANDARD.encode(v)
            )
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// A tus request (the protocol header included) with extra headers and raw bytes.
pub async fn tus(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    headers: &[(&str, String)],
    body: Vec<u8>,
) -> Reply {
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {token}"))
        .header("tus-resumable", "1.0.0");
    for (k, v) in headers {
        req = req.header(*k, v);
    }
    app.send(req.body(Body::from(body)).unwrap()).await
}

/// Percent-encodes a query value (every byte but unreserved ASCII).
pub fn urlencode(raw: &str) -> String {
    raw.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Runs one statement behind the server's back (a manual fix, an old database),
/// binding `ids` to $1, $2…
pub async fn execute_sql(app: &TestApp, sql: &str, ids: &[uuid::Uuid]) {
    let done = match &*app.state.db.pool {
        famille_server::store::Pool::Sqlite(pool, _) => {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in ids {
                query = query.bind(*id);
            }
            query.execute(pool).await.map(|_| ())
        }
        famille_server::store::Pool::Postgres(pool) => {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in ids {
                query = query.bind(*id);
            }
            query.execute(pool).await.map(|_| ())
        }
    };
    done.unwrap_or_else(|e| panic!("{sql}: {e}"));
}
