//! Documents: the family's list ("Mes démarches") and the services' decisions.
//! Validation clears the alert and unblocks booking at once (both read the same
//! validated documents); each decision lands in the family's change feed and
//! notifies its phones.

use axum::Json;
use axum::extract::State;
use famille_model::api::{
    DocumentRefusal, DocumentSnapshot, DocumentValidation, Problem, StaffDocument,
};
use famille_model::validate::FieldError;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::accounts::auth::{Parent, Staff};
use crate::error::{ApiJson, ApiPath, ApiQuery, AppError, AppResult};
use crate::state::AppState;
use crate::store::documents::Decision;

pub mod files;
pub mod uploads;

/// The longest refusal reason, in characters.
const MAX_REASON: usize = 500;
/// Documents per staff listing.
const STAFF_PAGE: i64 = 200;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(family_documents))
        .routes(routes!(staff_documents))
        .routes(routes!(validate))
        .routes(routes!(refuse))
        .routes(routes!(open_file))
        .merge(uploads::router())
}

/// The family's documents with their status, newest first.
#[utoipa::path(get, path = "/api/v1/documents", tag = "documents", security(("bearer" = [])),
    responses((status = 200, body = [DocumentSnapshot]), (status = 401, body = Problem)))]
async fn family_documents(
    State(state): State<AppState>,
    parent: Parent,
) -> AppResult<Json<Vec<DocumentSnapshot>>> {
    Ok(Json(
        state.db.documents().of_family(parent.family_id).await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
struct StatusFilter {
    /// `pending` (default), `validated` or `refused`.
    status: Option<String>,
}

/// Documents by status, oldest first: the agents' queue.
#[utoipa::path(get, path = "/api/v1/staff/documents", tag = "services", security(("bearer" = [])),
    params(StatusFilter),
    responses((status = 200, body = [StaffDocument]), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn staff_documents(
    State(state): State<AppState>,
    _staff: Staff,
    ApiQuery(filter): ApiQuery<StatusFilter>,
) -> AppResult<Json<Vec<StaffDocument>>> {
    let status = filter.status.as_deref().unwrap_or("pending");
    if !matches!(status, "pending" | "validated" | "refused") {
        return Err(FieldError::new("status", "« pending », « validated » ou « refused »").into());
    }
    Ok(Json(
        state.db.documents().by_status(status, STAFF_PAGE).await?,
    ))
}

fn decided(state: &AppState, decision: Decision) -> AppResult<Json<DocumentSnapshot>> {
    match decision {
        Decision::Done(snapshot) => {
            crate::notifications::wake(state);
            Ok(Json(snapshot))
        }
        Decision::NotFound => Err(AppError::NotFound),
        Decision::Conflict => Err(AppError::Conflict("Ce document a déjà été traité.")),
    }
}

/// Validates a pending document, with the end of its validity when it has one.
#[utoipa::path(post, path = "/api/v1/staff/documents/{document_id}/validate", tag = "services",
    security(("bearer" = [])), params(("document_id" = Uuid, Path)), request_body = DocumentValidation,
    responses((status = 200, body = DocumentSnapshot), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn validate(
    State(state): State<AppState>,
    staff: Staff,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<DocumentValidation>,
) -> AppResult<Json<DocumentSnapshot>> {
    let now = state.clock.now();
    if body
        .valid_until
        .is_some_and(|until| until < famille_model::calendar::paris_date(now))
    {
        return Err(
            FieldError::new("valid_until", "la date de fin de validité est déjà passée").into(),
        );
    }
    let decision = state
        .db
        .documents()
        .decide(
            id,
            staff.account_id,
            body.valid_until,
            None,
            now,
            state.push_enabled(),
        )
        .await?;
    decided(&state, decision)
}

/// Refuses a pending document with a reason the parent reads.
#[utoipa::path(post, path = "/api/v1/staff/documents/{document_id}/refuse", tag = "services",
    security(("bearer" = [])), params(("document_id" = Uuid, Path)), request_body = DocumentRefusal,
    responses((status = 200, body = DocumentSnapshot), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn refuse(
    State(state): State<AppState>,
    staff: Staff,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<DocumentRefusal>,
) -> AppResult<Json<DocumentSnapshot>> {
    let reason = body.reason.trim();
    if reason.is_empty() || reason.chars().count() > MAX_REASON {
        return Err(FieldError::new(
            "reason",
            format!("le motif est obligatoire ({MAX_REASON} caractères au plus)"),
        )
        .into());
    }
    let decision = state
        .db
        .documents()
        .decide(
            id,
            staff.account_id,
            None,
            Some(reason),
            state.clock.now(),
            state.push_enabled(),
        )
        .await?;
    decided(&state, decision)
}

/// Opens a document's file (the read is audited).
#[utoipa::path(get, path = "/api/v1/staff/documents/{document_id}/file", tag = "services",
    security(("bearer" = [])), params(("document_id" = Uuid, Path)),
    responses((status = 200, description = "The file (JPEG, PNG or PDF)"), (status = 404, body = Problem)))]
async fn open_file(
    State(state): State<AppState>,
    staff: Staff,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<axum::response::Response> {
    use axum::response::IntoResponse;
    let (family_id, child_id, key, content_type) = state
        .db
        .uploads()
        .document_file(id)
        .await?
        .ok_or(AppError::NotFound)?;
    let (Some(key), Some(content_type)) = (key, content_type) else {
        return Err(AppError::NotFound);
    };
    state
        .db
        .audit()
        .record(
            staff.account_id,
            crate::store::audit::AuditAction::DocumentRead,
            Some(family_id),
            child_id,
            state.clock.now(),
        )
        .await?;
    let bytes = state
        .files
        .get(&key)
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, content_type),
            (axum::http::header::CACHE_CONTROL, "no-store".to_owned()),
            (axum::http::header::CONTENT_DISPOSITION, "inline".to_owned()),
        ],
        bytes,
    )
        .into_response())
}
