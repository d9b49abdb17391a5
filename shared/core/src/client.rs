//! The server's HTTP API as the core needs it, and where the session's tokens live.

use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use famille_model::ErrorCode;

use crate::error::Error;

/// The login's tokens, as the platform keeps them (Keychain, Keystore).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct LoginTokens {
    pub access_token: String,
    pub refresh_token: String,
    /// Unix seconds.
    pub access_expires_at: i64,
}

/// Where the app keeps the tokens: implemented by the app over Keychain / Keystore;
/// [`FileTokenStore`] for tests and the terminal client.
#[uniffi::export(with_foreign)]
pub trait TokenStore: Send + Sync {
    fn load(&self) -> Option<LoginTokens>;
    fn save(&self, tokens: LoginTokens);
    fn clear(&self);
}

/// Tokens in a file (mode 0600): for tests and the terminal client, not for phones.
pub struct FileTokenStore {
    path: std::path::PathBuf,
}

impl FileTokenStore {
    pub fn new(path: impl Into<std::path::PathBuf>) -> Arc<FileTokenStore> {
        Arc::new(FileTokenStore { path: path.into() })
    }
}

/// A [`TokenStore`] over a file, for tests and terminal tools.
#[uniffi::export]
pub fn file_token_store(path: String) -> Arc<dyn TokenStore> {
    FileTokenStore::new(path)
}

#[derive(serde::Deserialize, Serialize)]
struct StoredTokens {
    access_token: String,
    refresh_token: String,
    access_expires_at: i64,
}

impl TokenStore for FileTokenStore {
    fn load(&self) -> Option<LoginTokens> {
        let text = std::fs::read_to_string(&self.path).ok()?;
        let t: StoredTokens = serde_json::from_str(&text).ok()?;
        Some(LoginTokens {
            access_token: t.access_token,
            refresh_token: t.refresh_token,
            access_expires_at: t.access_expires_at,
        })
    }

    fn save(&self, tokens: LoginTokens) {
        let stored = StoredTokens {
            access_token: tokens.access_token,
            refresh_token: tokens.refresh_token,
            access_expires_at: tokens.access_expires_at,
        };
        let Ok(json) = serde_json::to_string(&stored) else {
            return;
        };
        let tmp = self.path.with_extension("tmp");
        if std::fs::write(&tmp, json).is_ok() {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let _ = std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600));
            }
            let _ = std::fs::rename(&tmp, &self.path);
        }
    }

    fn clear(&self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// What a call can end in, before the engine decides what it means.
#[derive(Debug)]
pub enum CallError {
    /// No answer (no network, timeout, DNS).
    Network(reqwest::Error),
    /// An answer that is not the server's: a Wi-Fi login page (hotel, train), a
    /// proxy's error page, a redirect. Nothing is decided on it.
    NotOurServer { status: u16 },
    /// An answer with an error status; `code` and `detail` from problem+json.
    Status {
        status: u16,
        code: ErrorCode,
        detail: String,
    },
}

impl From<CallError> for Error {
    fn from(e: CallError) -> Error {
        match e {
            CallError::Network(source) => Error::Offline {
                detail: source.to_string(),
                source: Some(source),
            },
            CallError::Status { status, .. } if status == 429 || status >= 500 => Error::offline(
                format!("le serveur est momentanément indisponible ({status})"),
            ),
            CallError::NotOurServer { status } => Error::NotOurServer { status },
            CallError::Status { code, detail, .. } => Error::Rejected { code, detail },
        }
    }
}

/// The media type of an answer, without its parameters ("application/json").
fn media_type(headers: &reqwest::header::HeaderMap) -> String {
    headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default()
}

/// Whether an answer is the server's: its successes are JSON (or empty), its
/// refusals problem+json with a stable code (RFC 9457). A captive portal answers
/// `200` with an HTML page, or redirects; a proxy answers its own error pages.
pub fn is_ours(status: u16, headers: &reqwest::header::HeaderMap, body: &[u8]) -> bool {
    let media = media_type(headers);
    if (200..300).contains(&status) {
        body.is_empty() || media == "application/json"
    } else {
        media == "application/problem+json"
            && serde_json::from_slice::<Value>(body).is_ok_and(|p| p["code"].is_string())
    }
}

pub struct Api {
    http: reqwest::Client,
    base: String,
    /// Learns the server's time from every answer.
    pub clock: std::sync::Arc<crate::clock::Clock>,
}

impl Api {
    pub fn new(base: &str, clock: std::sync::Arc<crate::clock::Clock>) -> Api {
        Api {
            http: reqwest::Client::builder()
                // On a slow link an answer takes long to come whole: what counts
                // is that bytes keep coming (a sync page of 200 KB at 5 kB/s takes
                // 40 s), not the whole request's time.
                .read_timeout(Duration::from_secs(20))
                .connect_timeout(Duration::from_secs(8))
                // The server never redirects; a redirect is a Wi-Fi login page.
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("the HTTP client builds with static settings"),
            base: base.trim_end_matches('/').to_owned(),
            clock,
        }
    }

    /// The server's time from an answer that is the server's.
    fn learn_time(&self, headers: &reqwest::header::HeaderMap) {
        if let Some(date) = headers
            .get(reqwest::header::DATE)
            .and_then(|v| v.to_str().ok())
        {
            self.clock.learn(date);
        }
    }

    /// A call with headers and raw bytes (tus); the answer's status, headers and body.
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        token: &str,
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> Result<(u16, reqwest::header::HeaderMap, Value), CallError> {
        self.raw_within(method, path, token, headers, body, None)
            .await
    }

    /// [`Api::raw`], given up after `timeout` (sending a body has no inactivity
    /// timeout of its own).
    pub async fn raw_within(
        &self,
        method: Method,
        path: &str,
        token: &str,
        headers: &[(&str, String)],
        body: Vec<u8>,
        timeout: Option<Duration>,
    ) -> Result<(u16, reqwest::header::HeaderMap, Value), CallError> {
        let url = if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        };
        let mut request = self
            .http
            .request(method, url)
            .bearer_auth(token)
            .header("tus-resumable", "1.0.0");
        for (k, v) in headers {
            request = request.header(*k, v);
        }
        if let Some(timeout) = timeout {
            request = request.timeout(timeout);
        }
        let answer = request
            .body(body)
            .send()
            .await
            .map_err(CallError::Network)?;
        let status = answer.status().as_u16();
        let headers = answer.headers().clone();
        let bytes = answer.bytes().await.map_err(CallError::Network)?;
        // tus answers carry Tus-Resumable; the server's refusals are problem+json.
        let ours = headers.contains_key("tus-resumable") || is_ours(status, &headers, &bytes);
        if ours {
            self.learn_time(&headers);
        } else {
            return Err(if status == 429 || status >= 500 {
                CallError::Status {
                    status,
                    code: ErrorCode::Unavailable,
                    detail: format!("le serveur a répondu {status}"),
                }
            } else {
                CallError::NotOurServer { status }
            });
        }
        Ok((
            status,
            headers,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        ))
    }

    /// A JSON call; `body` is one of the model's request types.
    pub async fn call<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&B>,
    ) -> Result<T, CallError> {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let answer = request.send().await.map_err(CallError::Network)?;
        let status = answer.status().as_u16();
        let headers = answer.headers().clone();
        let bytes = answer.bytes().await.map_err(CallError::Network)?;
        if is_ours(status, &headers, &bytes) {
            self.learn_time(&headers);
        } else {
            // A busy server behind its proxy (502, 503 pages) is only busy.
            if status == 429 || status >= 500 {
                return Err(CallError::Status {
                    status,
                    code: ErrorCode::Unavailable,
                    detail: format!("le serveur a répondu {status}"),
                });
            }
            return Err(CallError::NotOurServer { status });
        }
        if (200..300).contains(&status) {
            let bytes: &[u8] = if bytes.is_empty() { b"null" } else { &bytes };
            return serde_json::from_slice(bytes).map_err(|e| CallError::Status {
                status,
                code: ErrorCode::Unknown,
                detail: format!("réponse du serveur inattendue : {e}"),
            });
        }
        Err(refusal(status, &bytes))
    }

    /// A GET whose success is a file of `media` type (a PDF): its bytes. Anything
    /// else with a 2xx (a Wi-Fi login page) is not our server's answer.
    pub async fn download(
        &self,
        path: &str,
        token: &str,
        media: &str,
    ) -> Result<Vec<u8>, CallError> {
        let answer = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(token)
            .send()
            .await
            .map_err(CallError::Network)?;
        let status = answer.status().as_u16();
        let headers = answer.headers().clone();
        let bytes = answer.bytes().await.map_err(CallError::Network)?;
        let ours = if (200..300).contains(&status) {
            media_type(&headers) == media
        } else {
            is_ours(status, &headers, &bytes)
        };
        if !ours {
            return Err(if status == 429 || status >= 500 {
                CallError::Status {
                    status,
                    code: ErrorCode::Unavailable,
                    detail: format!("le serveur a répondu {status}"),
                }
            } else {
                CallError::NotOurServer { status }
            });
        }
        self.learn_time(&headers);
        if (200..300).contains(&status) {
            Ok(bytes.to_vec())
        } else {
            Err(refusal(status, &bytes))
        }
    }
}

/// The server's refusal (problem+json): its code and French detail.
fn refusal(status: u16, bytes: &[u8]) -> CallError {
    let problem: Value = serde_json::from_slice(bytes).unwrap_or(Value::Null);
    CallError::Status {
        status,
        code: problem["code"]
            .as_str()
            .and_then(|c| c.parse().ok())
            .unwrap_or(ErrorCode::Unknown),
        detail: problem["detail"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| format!("le serveur a répondu {status}")),
    }
}
