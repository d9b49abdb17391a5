//! A local stand-in for Google's side of FCM HTTP v1, for the tests, the benchmark
//! and the demo: the OAuth2 token exchange (the service-account JWT is checked as
//! Google checks it: RS256 signature, issuer, audience, scope, lifetime) and
//! `messages:send` (bearer token, project, message shape and size), recording what
//! it accepted. It can be told to answer each documented error, per token or for the
//! next sends whatever the token.
//!
//! `famille-server fcm-standin` runs it and writes the matching credentials file.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::notifications::fcm::{FCM_SCOPE, ServiceAccount};

mod message;
use message::check_message;

/// An answer the stand-in can be told to give instead of accepting a message.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scripted {
    /// 404 `UNREGISTERED`: the app was uninstalled.
    Unregistered,
    /// 403 `SENDER_ID_MISMATCH`: the token belongs to another project.
    SenderIdMismatch,
    /// 400 `INVALID_ARGUMENT` naming `message.token`.
    InvalidToken,
    /// 400 `INVALID_ARGUMENT` about the payload.
    InvalidArgument,
    /// 503 `UNAVAILABLE`, with `Retry-After` seconds when given.
    Unavailable { retry_after: Option<u64> },
    /// 429 `QUOTA_EXCEEDED`, with `Retry-After` seconds when given.
    QuotaExceeded { retry_after: Option<u64> },
    /// 500 `INTERNAL`.
    Internal,
    /// 401 `UNAUTHENTICATED`, and every access token given so far is revoked.
    Unauthenticated,
}

struct Shared {
    project_id: String,
    client_email: String,
    token_uri: String,
    public_key: DecodingKey,
    access_tokens: Mutex<HashMap<String, Instant>>,
    received: Mutex<Vec<Value>>,
    per_token: Mutex<HashMap<String, VecDeque<Scripted>>>,
    next_sends: Mutex<VecDeque<Scripted>>,
    token_exchanges: AtomicUsize,
    refused: AtomicUsize,
}

/// A running stand-in. Dropping it stops the server.
pub struct StandIn {
    pub url: String,
    account: ServiceAccount,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A fresh 2048-bit RSA key pair (PKCS#8 private, SPKI public), as Google issues for
/// service accounts; generated once per process.
fn key_pair() -> &'static (String, String) {
    static PAIR: OnceLock<(String, String)> = OnceLock::new();
    PAIR.get_or_init(|| {
        use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
        let private =
            rsa::RsaPrivateKey::new(&mut rand_core::OsRng, 2048).expect("RSA key generation");
        let public = rsa::RsaPublicKey::from(&private);
        (
            private
                .to_pkcs8_pem(LineEnding::LF)
                .expect("PEM encoding")
                .to_string(),
            public
                .to_public_key_pem(LineEnding::LF)
                .expect("PEM encoding"),
        )
    })
}

impl StandIn {
    /// Starts on `addr` (port 0 for any free port).
    pub async fn start(addr: SocketAddr) -> std::io::Result<StandIn> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        let url = format!("http://{local}");
        let (private_pem, public_pem) = key_pair();
        let account = ServiceAccount {
            project_id: "portail-famille-demo".to_owned(),
            client_email: "firebase-adminsdk@portail-famille-demo.iam.gserviceaccount.com"
                .to_owned(),
            private_key: private_pem.clone(),
            token_uri: format!("{url}/token"),
        };
        let shared = Arc::new(Shared {
            project_id: account.project_id.clone(),
            client_email: account.client_email.clone(),
            token_uri: account.token_uri.clone(),
            public_key: DecodingKey::from_rsa_pem(public_pem.as_bytes())
                .map_err(std::io::Error::other)?,
            access_tokens: Mutex::default(),
            received: Mutex::default(),
            per_token: Mutex::default(),
            next_sends: Mutex::default(),
            token_exchanges: AtomicUsize::new(0),
            refused: AtomicUsize::new(0),
        });
        let app = Router::new()
            .route("/token", post(token))
            .route("/v1/projects/{*path}", post(send))
            .route("/_standin/messages", get(messages))
            .route("/_standin/script", post(script))
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(StandIn {
            url,
            account,
            shared,
            task,
        })
    }

    /// The service account whose key the stand-in trusts.
    pub fn credentials(&self) -> &ServiceAccount {
        &self.account
    }

    /// The messages accepted so far (each the `message` object as sent).
    pub fn received(&self) -> Vec<Value> {
        self.shared.received.lock().expect("not poisoned").clone()
    }

    /// Answers the next sends to `token` with these, in order, then accepts again.
    pub fn script(&self, token: &str, answers: Vec<Scripted>) {
        self.shared
            .per_token
            .lock()
            .expect("not poisoned")
            .entry(token.to_owned())
            .or_default()
            .extend(answers);
    }

    /// Answers the next sends, whatever their token, with these.
    pub fn script_next(&self, answers: Vec<Scripted>) {
        self.shared
            .next_sends
            .lock()
            .expect("not poisoned")
            .extend(answers);
    }

    /// How many times a JWT was exchanged for an access token.
    pub fn token_exchanges(&self) -> usize {
        self.shared.token_exchanges.load(Ordering::Relaxed)
    }

    /// How many sends were answered with an error (scripted or invalid).
    pub fn refused(&self) -> usize {
        self.shared.refused.load(Ordering::Relaxed)
    }
}

fn google_error(
    status: StatusCode,
    google_status: &str,
    message: &str,
    details: Value,
) -> Response {
    (
        status,
        Json(json!({"error": {"code": status.as_u16(), "message": message, "status": google_status, "details": details}})),
    )
        .into_response()
}

pub(super) fn fcm_error(
    status: StatusCode,
    google_status: &str,
    fcm_code: &str,
    message: &str,
) -> Response {
    google_error(
        status,
        google_status,
        message,
        json!([{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": fcm_code}]),
    )
}

pub(super) fn invalid(field: &str, description: &str) -> Response {
    google_error(
        StatusCode::BAD_REQUEST,
        "INVALID_ARGUMENT",
        "Request contains an invalid argument.",
        json!([
            {"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": "INVALID_ARGUMENT"},
            {"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": [{"field": field, "description": description}]}
        ]),
    )
}

#[derive(Deserialize)]
struct TokenRequest {
    grant_type: String,
    assertion: String,
}

#[derive(Deserialize)]
struct JwtClaims {
    scope: String,
    iat: u64,
    exp: u64,
}

async fn token(State(shared): State<Arc<Shared>>, Form(form): Form<TokenRequest>) -> Response {
    let refuse = |why: &str| {
        (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "invalid_grant", "error_description": why})),
        )
            .into_response()
    };
    if form.grant_type != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "unsupported_grant_type", "error_description": "Invalid grant_type"})),
        )
            .into_response();
    }
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[&shared.token_uri]);
    validation.set_issuer(&[&shared.client_email]);
    validation.set_required_spec_claims(&["exp", "iat", "aud", "iss"]);
    let claims =
        match jsonwebtoken::decode::<JwtClaims>(&form.assertion, &shared.public_key, &validation) {
            Ok(data) => data.claims,
            Err(e) => return refuse(&format!("Invalid JWT: {e}")),
        };
    if claims.exp <= claims.iat || claims.exp - claims.iat > 3600 {
        return refuse("Invalid JWT: Token must be a short-lived token (60 minutes)");
    }
    if !claims.scope.split(' ').any(|s| s == FCM_SCOPE) {
        return refuse("Invalid JWT: the scope does not allow FCM");
    }
    shared.token_exchanges.fetch_add(1, Ordering::Relaxed);
    let access = format!("ya29.standin-{}", uuid::Uuid::new_v4().simple());
    shared
        .access_tokens
        .lock()
        .expect("not poisoned")
        .insert(access.clone(), Instant::now() + Duration::from_secs(3599));
    Json(json!({"access_token": access, "expires_in": 3599, "token_type": "Bearer"}))
        .into_response()
}

fn scripted_answer(s: Scripted, shared: &Shared) -> Response {
    let with_retry_after = |mut r: Response, after: Option<u64>| {
        if let Some(after) = after {
            r.headers_mut()
                .insert("retry-after", after.to_string().parse().expect("digits"));
        }
        r
    };
    match s {
        Scripted::Unregistered => fcm_error(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "UNREGISTERED",
            "Requested entity was not found.",
        ),
        Scripted::SenderIdMismatch => fcm_error(
            StatusCode::FORBIDDEN,
            "PERMISSION_DENIED",
            "SENDER_ID_MISMATCH",
            "SenderId mismatch",
        ),
        Scripted::InvalidToken => invalid(
            "message.token",
            "The registration token is not a valid FCM registration token",
        ),
        Scripted::InvalidArgument => fcm_error(
            StatusCode::BAD_REQUEST,
            "INVALID_ARGUMENT",
            "INVALID_ARGUMENT",
            "Request contains an invalid argument.",
        ),
        Scripted::Unavailable { retry_after } => with_retry_after(
            fcm_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "UNAVAILABLE",
                "UNAVAILABLE",
                "The service is currently unavailable.",
            ),
            retry_after,
        ),
        Scripted::QuotaExceeded { retry_after } => with_retry_after(
            fcm_error(
                StatusCode::TOO_MANY_REQUESTS,
                "RESOURCE_EXHAUSTED",
                "QUOTA_EXCEEDED",
                "Quota exceeded for quota metric 'Send requests'.",
            ),
            retry_after,
        ),
        Scripted::Internal => fcm_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL",
            "INTERNAL",
            "Internal error encountered.",
        ),
        Scripted::Unauthenticated => {
            shared.access_tokens.lock().expect("not poisoned").clear();
            google_error(
                StatusCode::UNAUTHORIZED,
                "UNAUTHENTICATED",
                "Request had invalid authentication credentials.",
                json!([]),
            )
        }
    }
}

async fn send(
    State(shared): State<Arc<Shared>>,
    Path(path): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let refused = |r: Response| {
        shared.refused.fetch_add(1, Ordering::Relaxed);
        r
    };
    // The path is "{project}/messages:send".
    let Some(project) = path.strip_suffix("/messages:send") else {
        return refused(google_error(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "Not found",
            json!([]),
        ));
    };
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let authorised = bearer.is_some_and(|t| {
        shared
            .access_tokens
            .lock()
            .expect("not poisoned")
            .get(t)
            .is_some_and(|until| Instant::now() < *until)
    });
    if !authorised {
        return refused(google_error(
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            "Request had invalid authentication credentials.",
            json!([]),
        ));
    }
    if project != shared.project_id {
        return refused(google_error(
            StatusCode::FORBIDDEN,
            "PERMISSION_DENIED",
            "Permission denied on the project.",
            json!([]),
        ));
    }
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return refused(google_error(
            StatusCode::BAD_REQUEST,
            "INVALID_ARGUMENT",
            "Invalid JSON payload received.",
            json!([]),
        ));
    };
    let Some(message) = request.get("message") else {
        return refused(invalid("message", "The message is missing"));
    };
    if let Err(r) = check_message(message) {
        return refused(r.into_response());
    }
    let token = message["token"].as_str().unwrap_or_default();
    let next = {
        let mut per_token = shared.per_token.lock().expect("not poisoned");
        per_token
            .get_mut(token)
            .and_then(VecDeque::pop_front)
            .or_else(|| shared.next_sends.lock().expect("not poisoned").pop_front())
    };
    if let Some(s) = next {
        return refused(scripted_answer(s, &shared));
    }
    let mut received = shared.received.lock().expect("not poisoned");
    received.push(message.clone());
    let name = format!("projects/{project}/messages/{}", received.len());
    Json(json!({ "name": name })).into_response()
}

async fn messages(State(shared): State<Arc<Shared>>) -> Json<Value> {
    Json(Value::Array(
        shared.received.lock().expect("not poisoned").clone(),
    ))
}

#[derive(Deserialize)]
struct ScriptRequest {
    token: Option<String>,
    answers: Vec<Scripted>,
}

async fn script(State(shared): State<Arc<Shared>>, Json(req): Json<ScriptRequest>) -> StatusCode {
    match req.token {
        Some(token) => shared
            .per_token
            .lock()
            .expect("not poisoned")
            .entry(token)
            .or_default()
            .extend(req.answers),
        None => shared
            .next_sends
            .lock()
            .expect("not poisoned")
            .extend(req.answers),
    }
    StatusCode::NO_CONTENT
}

#[cfg(test)]
mod tests {
    use super::message::Rejection;
    use super::*;
    use crate::notifications::fcm::PushMessage;
    use famille_model::push::PushKind;

    fn ours(platform: &str) -> Value {
        PushMessage {
            token: "jeton",
            platform,
            kind: PushKind::WaitlistPromoted,
            id: uuid::Uuid::now_v7(),
            title: "Une place s'est libérée",
            body: "Luc est inscrit(e).",
            collapse_key: "waitlist_promoted:x",
        }
        .to_json()["message"]
            .clone()
    }

    fn refused_field(message: &Value) -> Option<String> {
        match check_message(message) {
            Ok(()) => None,
            Err(Rejection::Field(field, _)) => Some(field),
            Err(Rejection::TooBig) => Some("size".into()),
        }
    }

    #[test]
    fn our_messages_pass_as_google_would_check_them() {
        assert_eq!(refused_field(&ours("android")), None);
        assert_eq!(refused_field(&ours("ios")), None);
    }

    #[test]
    fn malformed_messages_are_refused_with_the_field() {
        let mut m = ours("android");
        m["data"]["count"] = json!(3);
        assert_eq!(refused_field(&m).as_deref(), Some("message.data[count]"));
        let mut m = ours("android");
        m["topic"] = json!("tous");
        assert_eq!(refused_field(&m).as_deref(), Some("message"));
        let mut m = ours("android");
        m["android"]["priority"] = json!("urgent");
        assert_eq!(
            refused_field(&m).as_deref(),
            Some("message.android.priority")
        );
        let mut m = ours("ios");
        m["apns"]["headers"]["apns-collapse-id"] = json!("x".repeat(65));
        assert_eq!(
            refused_field(&m).as_deref(),
            Some("message.apns.headers[apns-collapse-id]")
        );
        let mut m = ours("android");
        m["data"]["from"] = json!("moi");
        assert_eq!(refused_field(&m).as_deref(), Some("message.data[from]"));
        let mut m = ours("android");
        m["notification"]["body"] = json!("é".repeat(3000));
        assert_eq!(refused_field(&m).as_deref(), Some("size"));
    }
}
