//! Routes of documents: the family's list, the services' queue and decisions, the
//! file an agent opens, the types of documents; the tus uploads are `uploads`.

use axum::Json;
use axum::extract::State;
use famille_model::api::{
    Created, DocumentDecision, DocumentSnapshot, DocumentStatus, DocumentType, DocumentTypeInput,
    DocumentVerdict, Problem, StaffDocument,
};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::accounts::auth::{Caller, Parent, Staff};
use crate::error::AppResult;
use crate::http::{CreatedAnswer, created};
use crate::input::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(family_documents))
        .routes(routes!(staff_documents))
        .routes(routes!(decide))
        .routes(routes!(open_file))
        .routes(routes!(document_types))
        .routes(routes!(create_document_type))
        .routes(routes!(update_document_type))
        .merge(super::uploads::router())
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
#[into_params(parameter_in = Query)]
struct StatusFilter {
    /// `pending` (default), `validated` or `refused`.
    status: Option<DocumentStatus>,
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
    let status = filter.status.unwrap_or(DocumentStatus::Pending);
    Ok(Json(
        state
            .db
            .documents()
            .by_status(status, super::STAFF_PAGE)
            .await?,
    ))
}

/// Validates a pending document (with the end of its validity when it has one), or
/// refuses it with a reason the parent reads.
#[utoipa::path(post, path = "/api/v1/staff/documents/{document_id}/{verdict}", tag = "services",
    security(("bearer" = [])), params(("document_id" = Uuid, Path), ("verdict" = DocumentVerdict, Path)),
    request_body = DocumentDecision,
    responses((status = 200, body = DocumentSnapshot), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn decide(
    State(state): State<AppState>,
    staff: Staff,
    ApiPath((id, verdict)): ApiPath<(Uuid, DocumentVerdict)>,
    ApiJson(body): ApiJson<DocumentDecision>,
) -> AppResult<Json<DocumentSnapshot>> {
    let verdict = match verdict {
        DocumentVerdict::Validate => super::Verdict::Validate(body.valid_until),
        DocumentVerdict::Refuse => super::Verdict::Refuse(body.reason.as_deref().unwrap_or("")),
    };
    Ok(Json(
        super::decide(&state, id, staff.account_id, verdict).await?,
    ))
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
    super::open_file(&state, staff.account_id, id).await
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

/// Adds a kind of document.
#[utoipa::path(post, path = "/api/v1/staff/document-types", tag = "services", security(("bearer" = [])),
    request_body = DocumentTypeInput,
    responses((status = 201, body = Created), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_document_type(
    State(state): State<AppState>,
    _staff: Staff,
    ApiJson(input): ApiJson<DocumentTypeInput>,
) -> CreatedAnswer {
    created(super::create_type(&state, &input).await?)
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
    super::update_type(&state, id, &input).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}
