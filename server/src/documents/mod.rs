//! Documents: the family's list ("Mes démarches") and the services' decisions.
//! Validation clears the alert and unblocks booking at once (both read the same
//! validated documents); each decision lands in the family's change feed and
//! notifies its phones.

use axum::Json;
use axum::extract::State;
use famille_model::api::{
    Created, DocumentRefusal, DocumentSnapshot, DocumentType, DocumentTypeInput,
    DocumentValidation, Problem, StaffDocument,
};
use famille_model::validate::FieldError;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::accounts::auth::{Caller, Parent, Staff};
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
        .routes(routes!(document_types))
        .routes(routes!(create_document_type))
        .routes(routes!(update_document_type))
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
        Decision::DateRequired => Err(FieldError::new(
            "valid_until",
            "ce type de document demande une date de fin de validité",
        )
        .into()),
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

/// The kinds of documents the services ask for ("Mes démarches" offers them).
#[utoipa::path(get, path = "/api/v1/document-types", tag = "documents", security(("bearer" = [])),
    responses((status = 200, body = [DocumentType]), (status = 401, body = Problem)))]
async fn document_types(
    State(state): State<AppState>,
    _caller: Caller,
) -> AppResult<Json<Vec<DocumentType>>> {
    Ok(Json(state.db.documents().types().await?))
}

fn check_type(label: &str, code: Option<&str>, scope: Option<&str>) -> AppResult<()> {
    let mut errors = crate::error::FieldErrors::default();
    if label.trim().is_empty() || label.chars().count() > 120 {
        errors.push(FieldError::new(
            "label",
            "libellé obligatoire (120 caractères au plus)",
        ));
    }
    if let Some(code) = code
        && (code.is_empty()
            || code.len() > 60
            || !code
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
    {
        errors.push(FieldError::new(
            "code",
            "minuscules, chiffres et _ (par exemple carnet_vaccination)",
        ));
    }
    if let Some(scope) = scope
        && !matches!(scope, "family" | "child")
    {
        errors.push(FieldError::new("scope", "« family » ou « child »"));
    }
    errors.finish(|| ())
}

/// Adds a kind of document.
#[utoipa::path(post, path = "/api/v1/staff/document-types", tag = "services", security(("bearer" = [])),
    request_body = DocumentTypeInput,
    responses((status = 201, body = Created), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_document_type(
    State(state): State<AppState>,
    _staff: Staff,
    ApiJson(input): ApiJson<DocumentTypeInput>,
) -> AppResult<(axum::http::StatusCode, Json<Created>)> {
    check_type(&input.label, Some(&input.code), Some(&input.scope))?;
    match state.db.documents().insert_type(&input).await {
        Ok(id) => Ok((axum::http::StatusCode::CREATED, Json(Created { id }))),
        Err(crate::store::StoreError::Duplicate(_)) => {
            Err(AppError::Conflict("Ce code de document existe déjà."))
        }
        Err(e) => Err(e.into()),
    }
}

/// Renames a kind of document or changes its validity.
#[utoipa::path(put, path = "/api/v1/staff/document-types/{document_type_id}", tag = "services",
    security(("bearer" = [])), params(("document_type_id" = Uuid, Path)), request_body = DocumentTypeInput,
    responses((status = 204, description = "Modifié"), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn update_document_type(
    State(state): State<AppState>,
    _staff: Staff,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<DocumentTypeInput>,
) -> AppResult<axum::http::StatusCode> {
    check_type(&input.label, None, None)?;
    if state
        .db
        .documents()
        .update_type(id, input.label.trim(), input.validity)
        .await?
    {
        Ok(axum::http::StatusCode::NO_CONTENT)
    } else {
        Err(AppError::NotFound)
    }
}
