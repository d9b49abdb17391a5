//! The router: every area's routes, the OpenAPI document, health, and the layers
//! every request goes through: a request id (taken from `x-request-id` or made,
//! echoed in the answer and in problem+json), a span with the matched route, the
//! log of every 5xx with its cause, a panic turned into a 500.

use std::any::Any;
use std::time::Instant;

use axum::Json;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use famille_model::ErrorCode;
use tower_http::catch_panic::CatchPanicLayer;
use tracing::Instrument;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::error::{AppError, AppResult, ErrorReport, REQUEST_ID, problem_response};
use crate::state::AppState;

/// JSON bodies larger than this are refused with `payload_too_large`.
pub const JSON_BODY_LIMIT: usize = 64 * 1024;

/// The OpenAPI document and the routes it describes, from one list: a route cannot
/// be served without being documented.
pub fn api() -> (axum::Router<AppState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(crate::openapi::ApiDoc::openapi())
        .merge(crate::accounts::http::router())
        .merge(crate::families::http::router())
        .merge(crate::bookings::http::router())
        .merge(crate::catalog::http::router())
        .merge(crate::queue::http::router())
        .merge(crate::sync::http::router())
        .merge(crate::alerts::http::router())
        .merge(crate::devices::http::router())
        .merge(crate::notifications::http::router())
        .merge(crate::documents::http::router())
        .merge(crate::payments::http::router())
        .merge(crate::messages::http::router())
        .merge(crate::requests::http::router())
        .merge(crate::certificates::http::router())
        .merge(crate::billing::http::router())
        .routes(utoipa_axum::routes!(health))
        .split_for_parts()
}

pub fn router(state: AppState) -> axum::Router {
    let (api, openapi) = api();
    let openapi_json = crate::openapi::document(&openapi).to_string();
    api.route(
        "/api/v1/openapi.json",
        get(move || {
            let body = openapi_json.clone();
            async move {
                (
                    [(axum::http::header::CONTENT_TYPE, "application/json")],
                    body,
                )
            }
        }),
    )
    .route("/api/v1/docs", get(|| async { Html(DOCS_PAGE) }))
    .fallback(|| async { AppError::NotFound })
    .method_not_allowed_fallback(|| async {
        problem_response(
            ErrorCode::MethodNotAllowed,
            ErrorCode::MethodNotAllowed.label_fr().to_owned(),
            Vec::new(),
        )
    })
    .layer(DefaultBodyLimit::max(JSON_BODY_LIMIT))
    .layer(CatchPanicLayer::custom(panic_response))
    .layer(axum::middleware::from_fn(observe))
    .with_state(state)
}

/// The longest request id taken from a client; a longer (or non-visible) one is
/// replaced by the server's own.
const MAX_REQUEST_ID: usize = 64;

/// Every request: its id, a span with the matched route, the log of its answer (a
/// 5xx with its cause; never a body or a query string, which may hold health data
/// or secrets), and `X-Content-Type-Options: nosniff` on every answer.
async fn observe(mut request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty() && v.len() <= MAX_REQUEST_ID && v.chars().all(|c| c.is_ascii_graphic())
        })
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "(aucune route)".to_owned());
    let span = tracing::info_span!("request", method = %request.method(), route = %route, request_id = %id);
    request.extensions_mut().insert(RequestId(id.clone()));
    let started = Instant::now();
    let mut response = REQUEST_ID
        .scope(id.clone(), next.run(request))
        .instrument(span.clone())
        .await;
    let status = response.status();
    let _entered = span.enter();
    if status.is_server_error() {
        let cause = response
            .extensions()
            .get::<ErrorReport>()
            .map(|r| r.0.as_str())
            .unwrap_or("(no cause recorded)");
        tracing::error!(
            status = status.as_u16(),
            error = cause,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "request failed"
        );
    } else {
        tracing::debug!(
            status = status.as_u16(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "request answered"
        );
    }
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&id) {
        headers.insert("x-request-id", value);
    }
    // Every answer is read as the type the server gave it, never guessed from its
    // bytes (a document a parent sent must not become a page in an agent's browser).
    headers.insert(
        axum::http::header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// The answer of a route that creates something: 201 with its id.
/// A PDF answer: shown inline under its number, never kept by a cache (invoices
/// and certificates are personal).
pub fn pdf_response(number: &str, bytes: Vec<u8>) -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        [
            (
                axum::http::header::CONTENT_TYPE,
                "application/pdf".to_owned(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("inline; filename=\"{number}.pdf\""),
            ),
            (
                axum::http::header::CACHE_CONTROL,
                "private, no-store".to_owned(),
            ),
        ],
        bytes,
    )
        .into_response()
}

pub type CreatedAnswer = AppResult<(StatusCode, Json<famille_model::api::Created>)>;

pub fn created(id: uuid::Uuid) -> CreatedAnswer {
    Ok((
        StatusCode::CREATED,
        Json(famille_model::api::Created { id }),
    ))
}

/// The id of the request being served (in the request's extensions).
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

fn panic_response(_: Box<dyn Any + Send + 'static>) -> Response {
    AppError::Internal("handler panicked".to_owned()).into_response()
}

#[derive(serde::Serialize, utoipa::ToSchema)]
struct Health {
    status: &'static str,
    database: &'static str,
}

/// 200 when the database answers, 503 otherwise.
#[utoipa::path(get, path = "/health", tag = "système",
    responses((status = 200, body = Health), (status = 503, description = "La base de données ne répond pas")))]
async fn health(State(state): State<AppState>) -> Response {
    let database = state.db.backend_name();
    match state.db.ping().await {
        Ok(()) => Json(Health {
            status: "ok",
            database,
        })
        .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(Health {
                    status: "unavailable",
                    database,
                }),
            )
                .into_response()
        }
    }
}

/// A browsable page over the OpenAPI document, with no external script, so it works
/// on a closed network too.
const DOCS_PAGE: &str = r#"<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>Portail Famille : API</title>
<style>
body{font-family:system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;color:#222}
h2{border-bottom:1px solid #ccc;padding-bottom:.3rem}
details{margin:.4rem 0;border:1px solid #ddd;border-radius:6px;padding:.4rem .8rem}
summary{cursor:pointer}
.m{display:inline-block;min-width:4.5rem;font-weight:bold;text-transform:uppercase}
.get{color:#1565c0}.post{color:#2e7d32}.put{color:#ef6c00}.delete{color:#c62828}
pre{background:#f5f5f5;padding:.6rem;overflow:auto;font-size:.85rem}
</style></head><body>
<h1>Portail Famille : API</h1>
<p>Document complet : <a href="/api/v1/openapi.json">/api/v1/openapi.json</a></p>
<div id="api">Chargement…</div>
<script>
fetch('/api/v1/openapi.json').then(r=>r.json()).then(doc=>{
  const root=document.getElementById('api'); root.textContent='';
  const p=document.createElement('p'); p.textContent=doc.info.description||''; root.appendChild(p);
  const byTag={};
  for(const [path,item] of Object.entries(doc.paths)){
    for(const [method,op] of Object.entries(item)){
      if(typeof op!=='object'||!op.responses) continue;
      const tag=(op.tags||['autre'])[0]; (byTag[tag]=byTag[tag]||[]).push([method,path,op]);
    }
  }
  for(const [tag,ops] of Object.entries(byTag)){
    const h=document.createElement('h2'); h.textContent=tag; root.appendChild(h);
    for(const [method,path,op] of ops){
      const d=document.createElement('details');
      const s=document.createElement('summary');
      s.innerHTML='<span class="m '+method+'"></span> <code></code> ';
      s.children[0].textContent=method; s.children[1].textContent=path;
      s.appendChild(document.createTextNode(op.summary||''));
      d.appendChild(s);
      const pre=document.createElement('pre');
      pre.textContent=JSON.stringify({description:op.description,parameters:op.parameters,requestBody:op.requestBody,responses:op.responses},null,2);
      d.appendChild(pre); root.appendChild(d);
    }
  }
  const h=document.createElement('h2'); h.textContent='Schémas'; root.appendChild(h);
  const pre=document.createElement('pre'); pre.textContent=JSON.stringify((doc.components||{}).schemas,null,2); root.appendChild(pre);
});
</script></body></html>"#;
