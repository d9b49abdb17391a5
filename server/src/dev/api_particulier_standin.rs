//! A local stand-in for API Particulier's v2 `composition-familiale`, for the tests
//! and the demo: it checks the `X-Api-Key` header and the query as the real API
//! does, answers the documented shapes (200 with `quotientFamilial`, `mois`, `annee`
//! beside the identities and address; errors as `{"error", "reason", "message"}`:
//! 400 bad request, 401 key refused, 404 no file, 502/503 provider down, 504 provider
//! timeout) and can be told to fail the next calls or to hang past the client's
//! timeout.
//!
//! `famille-server api-particulier-standin` runs it with the demo's files
//! ([`DEMO_FILES`]) and prints the settings that point the server at it.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

/// The key the stand-in accepts unless told otherwise.
pub const DEMO_KEY: &str = "cle-api-particulier-demo";

/// Allocataire files the stand-in knows from the start: (number, postal code, QF).
pub const DEMO_FILES: [(&str, &str, u32); 3] = [
    ("1234567", "33360", 612),
    ("2345678", "33360", 1340),
    ("0000354", "99148", 2550),
];

/// An answer the stand-in can be told to give to the next calls (whatever the file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scripted {
    /// 503 `provider_unavailable`: the CNAF's service is down.
    Unavailable,
    /// 502 `provider_error`: the CNAF answered something the API cannot read.
    ProviderError,
    /// 504 `provider_timeout`: the CNAF did not answer the API in time.
    ProviderTimeout,
    /// 429: the organisation's quota is spent.
    TooManyRequests,
    /// No answer at all for two minutes: the client's own timeout must fire.
    Hang,
}

#[derive(Debug, Clone, Copy)]
struct File {
    quotient: u32,
    month: u32,
    year: i32,
}

struct Shared {
    key: String,
    files: Mutex<HashMap<(String, String), File>>,
    next: Mutex<VecDeque<Scripted>>,
    calls: AtomicUsize,
}

impl Shared {
    fn add_file(&self, number: &str, postal_code: &str, quotient: u32) {
        use chrono::Datelike;
        let today = chrono::Utc::now().date_naive();
        self.files.lock().expect("not poisoned").insert(
            (number.to_owned(), postal_code.to_owned()),
            File {
                quotient,
                month: today.month(),
                year: today.year(),
            },
        );
    }
}

/// A running stand-in. Dropping it stops the server.
pub struct StandIn {
    pub url: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl StandIn {
    /// Starts on `listen` (port 0 picks one) with [`DEMO_KEY`] and [`DEMO_FILES`],
    /// computed for the current month.
    pub async fn start(listen: SocketAddr) -> std::io::Result<StandIn> {
        let listener = tokio::net::TcpListener::bind(listen).await?;
        let url = format!("http://{}", listener.local_addr()?);
        let shared = Arc::new(Shared {
            key: DEMO_KEY.to_owned(),
            files: Mutex::new(HashMap::new()),
            next: Mutex::new(VecDeque::new()),
            calls: AtomicUsize::new(0),
        });
        let standin = StandIn {
            url,
            shared: shared.clone(),
            task: tokio::spawn(async move {
                let app = Router::new()
                    .route("/api/v2/composition-familiale", get(composition))
                    .route("/_standin/next", post(script_next))
                    .route("/_standin/files", post(add_file))
                    .with_state(shared);
                let _ = axum::serve(listener, app).await;
            }),
        };
        for (number, postal_code, quotient) in DEMO_FILES {
            standin.add_file(number, postal_code, quotient);
        }
        Ok(standin)
    }

    pub fn key(&self) -> &str {
        &self.shared.key
    }

    /// Adds (or replaces) a file whose QF is computed for the current month.
    pub fn add_file(&self, number: &str, postal_code: &str, quotient: u32) {
        self.shared.add_file(number, postal_code, quotient);
    }

    /// The next calls get these answers, in order, whatever the file.
    pub fn script_next(&self, answers: impl IntoIterator<Item = Scripted>) {
        self.shared
            .next
            .lock()
            .expect("not poisoned")
            .extend(answers);
    }

    /// Calls received on `composition-familiale`, answered or not.
    pub fn calls(&self) -> usize {
        self.shared.calls.load(Ordering::SeqCst)
    }
}

fn error(status: StatusCode, code: &str, reason: &str) -> Response {
    (
        status,
        Json(json!({ "error": code, "reason": reason, "message": reason })),
    )
        .into_response()
}

async fn composition(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    shared.calls.fetch_add(1, Ordering::SeqCst);
    let key = headers.get("x-api-key").and_then(|v| v.to_str().ok());
    if key != Some(shared.key.as_str()) {
        return error(
            StatusCode::UNAUTHORIZED,
            "access_denied",
            "Votre jeton d'API n'est pas valide ou n'est pas renseigné",
        );
    }
    let scripted = shared.next.lock().expect("not poisoned").pop_front();
    match scripted {
        Some(Scripted::Unavailable) => {
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "provider_unavailable",
                "La CNAF ne répond pas",
            );
        }
        Some(Scripted::ProviderError) => {
            return error(
                StatusCode::BAD_GATEWAY,
                "provider_error",
                "La réponse retournée par le fournisseur de données est invalide et inconnue de notre service",
            );
        }
        Some(Scripted::ProviderTimeout) => {
            return error(
                StatusCode::GATEWAY_TIMEOUT,
                "provider_timeout",
                "Le fournisseur de données n'a pas répondu à temps",
            );
        }
        Some(Scripted::TooManyRequests) => {
            return error(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_requests",
                "Vous avez effectué trop de requêtes",
            );
        }
        Some(Scripted::Hang) => {
            tokio::time::sleep(Duration::from_secs(120)).await;
        }
        None => {}
    }
    let (Some(number), Some(postal_code)) =
        (query.get("numeroAllocataire"), query.get("codePostal"))
    else {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "Les paramètres numeroAllocataire et codePostal sont obligatoires",
        );
    };
    let digits = |s: &str, range: std::ops::RangeInclusive<usize>| {
        range.contains(&s.len()) && s.chars().all(|c| c.is_ascii_digit())
    };
    if !digits(number, 1..=13) || !digits(postal_code, 5..=5) {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "Le numéro d'allocataire ou le code postal n'est pas au bon format",
        );
    }
    let file = shared
        .files
        .lock()
        .expect("not poisoned")
        .get(&(number.clone(), postal_code.clone()))
        .copied();
    let Some(file) = file else {
        return error(
            StatusCode::NOT_FOUND,
            "not_found",
            "Dossier allocataire inexistant. Le document ne peut être édité.",
        );
    };
    // The real answer's shape; the identities are made up.
    Json(json!({
        "allocataires": [{
            "nomPrenom": "MARIE DUPONT",
            "dateDeNaissance": "12031985",
            "sexe": "F"
        }],
        "enfants": [{
            "nomPrenom": "LUCAS DUPONT",
            "dateDeNaissance": "05062016",
            "sexe": "M"
        }],
        "adresse": {
            "identite": "Madame MARIE DUPONT",
            "complementIdentite": null,
            "complementIdentiteGeo": null,
            "numeroRue": "1 RUE DE LA MAIRIE",
            "lieuDit": null,
            "codePostalVille": format!("{postal_code} CREON"),
            "pays": "FRANCE"
        },
        "quotientFamilial": file.quotient,
        "mois": file.month,
        "annee": file.year
    }))
    .into_response()
}

#[derive(Deserialize)]
struct Next {
    answers: Vec<Scripted>,
}

async fn script_next(State(shared): State<Arc<Shared>>, Json(next): Json<Next>) -> StatusCode {
    shared
        .next
        .lock()
        .expect("not poisoned")
        .extend(next.answers);
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
struct NewFile {
    allocataire: String,
    postal_code: String,
    quotient: u32,
}

async fn add_file(State(shared): State<Arc<Shared>>, Json(new): Json<NewFile>) -> StatusCode {
    shared.add_file(&new.allocataire, &new.postal_code, new.quotient);
    StatusCode::NO_CONTENT
}
