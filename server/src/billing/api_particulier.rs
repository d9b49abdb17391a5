//! The quotient familial from the State: API Particulier's v2
//! `GET /api/v2/composition-familiale?numeroAllocataire=…&codePostal=…` (CNAF and
//! MSA files, key in the `X-Api-Key` header; documented at
//! <https://particulier.api.gouv.fr/developpeurs>), behind [`QuotientProvider`] so
//! that the billing service knows only "a QF, or why not".
//!
//! Of the answer we keep the QF and the month it was computed for; the names,
//! birth dates and address it also carries are never stored nor logged (RGPD:
//! collect what the service needs).

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use serde::Deserialize;

use crate::config::Config;

/// A QF as the CAF or the MSA computed it (for the month of the answer's `mois`
/// and `annee`: the current one, the CAF recomputing it monthly).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FetchedQuotient {
    /// Euros, as the CAF states it.
    pub value: u32,
}

/// Why no QF came back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// 404: no allocataire file for this number and postal code.
    #[error("no allocataire file for this number and postal code")]
    NotFound,
    /// 401 or 403: the organisation's key is refused (expired, revoked, no scope).
    #[error("API Particulier refuses the key ({0})")]
    Unauthorized(u16),
    /// No key is configured.
    #[error("no API Particulier key configured")]
    NotConfigured,
    /// The provider did not answer in time (ours or its own 504).
    #[error("API Particulier timed out")]
    Timeout,
    /// Anything else: the provider down (502, 503), throttled (429), an answer we
    /// cannot read. The reason is for the log: a status and a code, never the body.
    #[error("API Particulier unavailable: {0}")]
    Unavailable(String),
}

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where QFs are fetched from: API Particulier in production and in the tests (its
/// local stand-in, `crate::dev::api_particulier_standin`); another source (a
/// CNAF's own web service) would be another implementation.
pub trait QuotientProvider: Send + Sync {
    /// The QF of the allocataire file `allocataire` (digits) under `postal_code`
    /// (five digits), both already checked.
    fn fetch<'a>(
        &'a self,
        allocataire: &'a str,
        postal_code: &'a str,
    ) -> BoxFuture<'a, Result<FetchedQuotient, FetchError>>;
}

/// API Particulier over HTTPS.
pub struct ApiParticulier {
    http: reqwest::Client,
    url: String,
    key: Option<String>,
}

impl ApiParticulier {
    /// From the settings `api_particulier_url`, `_token` and `_timeout_secs`.
    pub fn from_config(config: &Config) -> ApiParticulier {
        ApiParticulier::new(
            &config.api_particulier_url,
            config.api_particulier_token.clone(),
            config.api_particulier_timeout,
        )
    }

    pub fn new(base_url: &str, key: Option<String>, timeout: Duration) -> ApiParticulier {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()
            .expect("the HTTP client builds with static settings");
        ApiParticulier {
            http,
            url: format!(
                "{}/api/v2/composition-familiale",
                base_url.trim_end_matches('/')
            ),
            key,
        }
    }

    async fn get(
        &self,
        allocataire: &str,
        postal_code: &str,
    ) -> Result<FetchedQuotient, FetchError> {
        let key = self.key.as_deref().ok_or(FetchError::NotConfigured)?;
        let response = self
            .http
            .get(&self.url)
            .query(&[
                ("numeroAllocataire", allocataire),
                ("codePostal", postal_code),
            ])
            .header("X-Api-Key", key)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| {
                if e.is_timeout() {
                    FetchError::Timeout
                } else {
                    FetchError::Unavailable(format!("transport: {}", without_url(&e)))
                }
            })?;
        let status = response.status().as_u16();
        match status {
            200 => {}
            404 => return Err(FetchError::NotFound),
            401 | 403 => return Err(FetchError::Unauthorized(status)),
            504 => return Err(FetchError::Timeout),
            _ => {
                let code = response
                    .json::<ErrorBody>()
                    .await
                    .ok()
                    .and_then(|b| b.error)
                    .unwrap_or_default();
                return Err(FetchError::Unavailable(format!("HTTP {status} {code}")));
            }
        }
        let body: Composition = response.json().await.map_err(|e| {
            if e.is_timeout() {
                FetchError::Timeout
            } else {
                FetchError::Unavailable("unreadable answer".to_owned())
            }
        })?;
        let Some(value) = body.quotient_familial else {
            // A file without a computed QF (a new allocataire): nothing to record.
            return Err(FetchError::NotFound);
        };
        let value = u32::try_from(value)
            .map_err(|_| FetchError::Unavailable("negative quotient".to_owned()))?;
        Ok(FetchedQuotient { value })
    }
}

impl QuotientProvider for ApiParticulier {
    fn fetch<'a>(
        &'a self,
        allocataire: &'a str,
        postal_code: &'a str,
    ) -> BoxFuture<'a, Result<FetchedQuotient, FetchError>> {
        Box::pin(self.get(allocataire, postal_code))
    }
}

/// A transport error without its URL: the query string holds the allocataire
/// number, which stays out of the logs.
fn without_url(e: &reqwest::Error) -> String {
    let mut kind = if e.is_connect() {
        "connect".to_owned()
    } else if e.is_request() {
        "request".to_owned()
    } else {
        "other".to_owned()
    };
    if let Some(status) = e.status() {
        kind.push_str(&format!(" {status}"));
    }
    kind
}

/// The part of the answer we read (the rest, identities and address, is ignored).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Composition {
    quotient_familial: Option<i64>,
}

/// API Particulier v2's error body: `{"error": "not_found", "reason": …, "message": …}`.
#[derive(Deserialize)]
struct ErrorBody {
    error: Option<String>,
}
