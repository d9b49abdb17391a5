//! FCM HTTP v1, spoken directly: a service-account JWT (RS256) exchanged at the
//! OAuth2 token endpoint for an access token, cached until shortly before it expires,
//! then `POST /v1/projects/{project}/messages:send`. FCM reaches iOS through APNs, so
//! one path serves both platforms.
//!
//! Each answer is sorted as FCM documents it: the token is gone (404 `UNREGISTERED`,
//! 403 `SENDER_ID_MISMATCH`, a 400 naming the token), try again later (429, 5xx,
//! network; `Retry-After` honoured), or the payload is wrong (other 400s: a bug,
//! never retried). A 401 refreshes the credentials and tries once more.

use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use famille_model::push::{PushKind, push_data};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The scope FCM sending needs.
pub const FCM_SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";

/// The fields of a Google service-account JSON file that matter, as Google's own
/// libraries read them.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ServiceAccount {
    pub project_id: String,
    pub client_email: String,
    pub private_key: String,
    #[serde(default = "default_token_uri")]
    pub token_uri: String,
}

fn default_token_uri() -> String {
    "https://oauth2.googleapis.com/token".to_owned()
}

#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    #[error("cannot read the FCM credentials {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("the FCM credentials are not a service-account JSON: {0}")]
    Parse(#[from] serde_json::Error),
    #[error("the FCM credentials' private key is not an RSA PEM key: {0}")]
    Key(#[from] jsonwebtoken::errors::Error),
}

impl ServiceAccount {
    pub fn load(path: &Path) -> Result<ServiceAccount, CredentialsError> {
        let text = std::fs::read_to_string(path).map_err(|source| CredentialsError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Ok(serde_json::from_str(&text)?)
    }
}

/// One push to one phone.
#[derive(Debug, Clone)]
pub struct PushMessage<'a> {
    pub token: &'a str,
    /// `android` or `ios`.
    pub platform: &'a str,
    pub kind: PushKind,
    pub id: uuid::Uuid,
    pub title: &'a str,
    pub body: &'a str,
    pub collapse_key: &'a str,
}

impl PushMessage<'_> {
    /// The `message` of the send call. Data carries only `kind` and `id` (strings);
    /// the platform block folds duplicates (collapse key, and a tag / collapse id
    /// that replaces a notification already on screen).
    pub fn to_json(&self) -> Value {
        let mut message = json!({
            "token": self.token,
            "notification": {"title": self.title, "body": self.body},
            "data": push_data(self.kind, self.id),
        });
        let channel = self.kind.android_channel();
        if self.platform == "ios" {
            let expiration = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs() + 7 * 24 * 3600)
                .unwrap_or_default();
            message["apns"] = json!({
                "headers": {
                    "apns-push-type": "alert",
                    "apns-priority": "10",
                    "apns-collapse-id": self.collapse_key,
                    "apns-expiration": expiration.to_string(),
                },
                "payload": {"aps": {"sound": "default", "thread-id": channel}},
            });
        } else {
            message["android"] = json!({
                "collapse_key": self.collapse_key,
                "priority": "high",
                "ttl": "604800s",
                "notification": {"channel_id": channel, "tag": self.collapse_key},
            });
        }
        json!({ "message": message })
    }
}

/// What became of one send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    Sent,
    /// The token will never work again: forget the phone.
    TokenGone(String),
    /// Try again later; FCM's `Retry-After` when it gave one.
    Retry {
        after: Option<Duration>,
        reason: String,
    },
    /// The message itself is wrong: a bug on our side, logged, not retried.
    Rejected(String),
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    expires_in: u64,
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    scope: &'a str,
    aud: &'a str,
    iat: u64,
    exp: u64,
}

struct AccessToken {
    value: String,
    /// Refreshed a minute before Google would refuse it.
    renew_at: Instant,
}

pub struct FcmClient {
    http: reqwest::Client,
    account: ServiceAccount,
    key: EncodingKey,
    send_url: String,
    token: tokio::sync::Mutex<Option<AccessToken>>,
}

impl FcmClient {
    /// `endpoint` is `https://fcm.googleapis.com` in production, the stand-in in tests.
    pub fn new(account: ServiceAccount, endpoint: &str) -> Result<FcmClient, CredentialsError> {
        let key = EncodingKey::from_rsa_pem(account.private_key.as_bytes())?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .pool_max_idle_per_host(128)
            .build()
            .expect("the HTTP client builds with static settings");
        Ok(FcmClient {
            send_url: format!(
                "{}/v1/projects/{}/messages:send",
                endpoint.trim_end_matches('/'),
                account.project_id
            ),
            http,
            account,
            key,
            token: tokio::sync::Mutex::new(None),
        })
    }

    pub fn project_id(&self) -> &str {
        &self.account.project_id
    }

    /// A valid access token, fetched when the cached one is close to its end. One
    /// fetch at a time: a burst waits for it instead of fetching 64 tokens.
    async fn access_token(&self) -> Result<String, String> {
        let mut cached = self.token.lock().await;
        if let Some(token) = cached.as_ref().filter(|t| Instant::now() < t.renew_at) {
            return Ok(token.value.clone());
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        let claims = Claims {
            iss: &self.account.client_email,
            scope: FCM_SCOPE,
            aud: &self.account.token_uri,
            iat: now,
            exp: now + 3600,
        };
        let assertion = jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &self.key)
            .map_err(|e| format!("signing the service-account JWT: {e}"))?;
        let answer = self
            .http
            .post(&self.account.token_uri)
            .form(&[
                ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                ("assertion", assertion.as_str()),
            ])
            .send()
            .await
            .map_err(|e| format!("token endpoint unreachable: {e}"))?;
        let status = answer.status();
        if !status.is_success() {
            let text = answer.text().await.unwrap_or_default();
            return Err(format!("token endpoint answered {status}: {text}"));
        }
        let token: TokenAnswer = answer
            .json()
            .await
            .map_err(|e| format!("token endpoint answer not understood: {e}"))?;
        let lifetime = Duration::from_secs(token.expires_in.saturating_sub(60).max(1));
        *cached = Some(AccessToken {
            value: token.access_token.clone(),
            renew_at: Instant::now() + lifetime,
        });
        Ok(token.access_token)
    }

    async fn forget_access_token(&self, used: &str) {
        let mut cached = self.token.lock().await;
        if cached.as_ref().is_some_and(|t| t.value == used) {
            *cached = None;
        }
    }

    pub async fn send(&self, message: &PushMessage<'_>) -> SendOutcome {
        let body = message.to_json();
        let mut refreshed = false;
        loop {
            let token = match self.access_token().await {
                Ok(t) => t,
                Err(reason) => {
                    return SendOutcome::Retry {
                        after: None,
                        reason,
                    };
                }
            };
            let answer = match self
                .http
                .post(&self.send_url)
                .bearer_auth(&token)
                .json(&body)
                .send()
                .await
            {
                Ok(a) => a,
                Err(e) => {
                    return SendOutcome::Retry {
                        after: None,
                        reason: format!("FCM unreachable: {e}"),
                    };
                }
            };
            let status = answer.status().as_u16();
            if status == 200 {
                return SendOutcome::Sent;
            }
            let retry_after = answer
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(parse_retry_after);
            let error: Value = answer.json().await.unwrap_or(Value::Null);
            if status == 401 && !refreshed {
                // The access token was revoked or expired early: a fresh one, once.
                self.forget_access_token(&token).await;
                refreshed = true;
                continue;
            }
            return classify(status, &error, retry_after);
        }
    }
}

/// `Retry-After` as seconds or an HTTP date.
fn parse_retry_after(value: &str) -> Option<Duration> {
    if let Ok(seconds) = value.trim().parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value.trim()).ok()?;
    let seconds = (at.timestamp() - chrono::Utc::now().timestamp()).max(0);
    Some(Duration::from_secs(seconds as u64))
}

/// FCM's own error code (`details[].errorCode` of the `FcmError` detail).
fn fcm_error_code(error: &Value) -> Option<&str> {
    error["error"]["details"]
        .as_array()?
        .iter()
        .find_map(|d| d["errorCode"].as_str())
}

/// Whether a 400 is about the registration token itself.
fn names_the_token(error: &Value) -> bool {
    let violations = error["error"]["details"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| d["fieldViolations"].as_array())
        .flatten();
    violations
        .into_iter()
        .any(|v| v["field"].as_str() == Some("message.token"))
}

pub fn classify(status: u16, error: &Value, retry_after: Option<Duration>) -> SendOutcome {
    let code = fcm_error_code(error).unwrap_or_default();
    let message = error["error"]["message"].as_str().unwrap_or_default();
    let reason = format!("FCM {status} {code} {message}").trim().to_owned();
    match status {
        404 if code == "UNREGISTERED" => SendOutcome::TokenGone(reason),
        403 if code == "SENDER_ID_MISMATCH" => SendOutcome::TokenGone(reason),
        400 if names_the_token(error) => SendOutcome::TokenGone(reason),
        400 => SendOutcome::Rejected(reason),
        // 429 and 5xx; also 401 after a refresh and 403/404 about the project: our
        // configuration, which an operator can mend. Keep the message, try later.
        _ => SendOutcome::Retry {
            after: retry_after,
            reason,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fcm_error(status: &str, code: &str) -> Value {
        json!({"error": {"code": 0, "message": "m", "status": status, "details": [
            {"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": code}]}})
    }

    #[test]
    fn answers_are_sorted_as_fcm_documents_them() {
        assert!(matches!(
            classify(404, &fcm_error("NOT_FOUND", "UNREGISTERED"), None),
            SendOutcome::TokenGone(_)
        ));
        assert!(matches!(
            classify(
                403,
                &fcm_error("PERMISSION_DENIED", "SENDER_ID_MISMATCH"),
                None
            ),
            SendOutcome::TokenGone(_)
        ));
        let bad_token = json!({"error": {"code": 400, "status": "INVALID_ARGUMENT", "details": [
            {"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": [{"field": "message.token", "description": "Invalid registration token"}]}]}});
        assert!(matches!(
            classify(400, &bad_token, None),
            SendOutcome::TokenGone(_)
        ));
        assert!(matches!(
            classify(
                400,
                &fcm_error("INVALID_ARGUMENT", "INVALID_ARGUMENT"),
                None
            ),
            SendOutcome::Rejected(_)
        ));
        assert_eq!(
            classify(
                503,
                &fcm_error("UNAVAILABLE", "UNAVAILABLE"),
                Some(Duration::from_secs(30))
            ),
            SendOutcome::Retry {
                after: Some(Duration::from_secs(30)),
                reason: "FCM 503 UNAVAILABLE m".into()
            }
        );
        assert!(matches!(
            classify(429, &Value::Null, None),
            SendOutcome::Retry { after: None, .. }
        ));
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        assert_eq!(parse_retry_after("120"), Some(Duration::from_secs(120)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn platform_blocks_follow_the_phone() {
        let id = uuid::Uuid::now_v7();
        let m = PushMessage {
            token: "t",
            platform: "android",
            kind: PushKind::DocumentValidated,
            id,
            title: "T",
            body: "B",
            collapse_key: "k",
        };
        let j = m.to_json();
        assert_eq!(j["message"]["data"]["kind"], "document_validated");
        assert_eq!(j["message"]["data"]["id"], id.to_string());
        assert_eq!(
            j["message"]["android"]["notification"]["channel_id"],
            "documents"
        );
        assert!(j["message"].get("apns").is_none());
        let ios = PushMessage {
            platform: "ios",
            ..m
        }
        .to_json();
        assert_eq!(ios["message"]["apns"]["headers"]["apns-collapse-id"], "k");
        assert!(ios["message"].get("android").is_none());
    }
}
