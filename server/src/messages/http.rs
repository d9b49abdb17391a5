//! Routes of messages: a family's threads with the services; the agents' inboxes,
//! answers, assignment and closing; the services' list (admins configure it).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use famille_model::api::{
    Created, NewMessage, NewThread, Problem, Service, ServiceInput, StaffNewMessage,
    StaffNewThread, StaffService, StaffThread, StaffThreadSummary, Thread, ThreadAssignee,
    ThreadRead, ThreadSummary,
};
use famille_model::messages::ThreadStatus;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::{Draft, InboxQuery, Scope, Target};
use crate::accounts::auth::{Admin, Parent, Staff};
use crate::error::AppResult;
use crate::http::{CreatedAnswer, created};
use crate::input::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(services))
        .routes(routes!(threads, open_thread))
        .routes(routes!(thread))
        .routes(routes!(answer))
        .routes(routes!(read))
        .routes(routes!(attachment))
        .routes(routes!(staff_services, create_service))
        .routes(routes!(update_service))
        .routes(routes!(inbox))
        .routes(routes!(staff_thread))
        .routes(routes!(staff_answer))
        .routes(routes!(staff_read))
        .routes(routes!(assign))
        .routes(routes!(close))
        .routes(routes!(reopen))
        .routes(routes!(staff_open_thread))
        .routes(routes!(staff_attachment))
}

/// The services a family may write to.
#[utoipa::path(get, path = "/api/v1/services", tag = "messages", security(("bearer" = [])),
    responses((status = 200, body = [Service]), (status = 401, body = Problem)))]
async fn services(State(state): State<AppState>, _parent: Parent) -> AppResult<Json<Vec<Service>>> {
    Ok(Json(super::services(&state).await?))
}

/// The family's threads, the latest first, each with what the family has not read.
#[utoipa::path(get, path = "/api/v1/threads", tag = "messages", security(("bearer" = [])),
    responses((status = 200, body = [ThreadSummary]), (status = 401, body = Problem)))]
async fn threads(
    State(state): State<AppState>,
    parent: Parent,
) -> AppResult<Json<Vec<ThreadSummary>>> {
    Ok(Json(super::family_threads(&state, parent.family_id).await?))
}

/// Opens a thread with a service (its subject and first message). The phone sends
/// the same as a queued `send_message`, applied once.
#[utoipa::path(post, path = "/api/v1/threads", tag = "messages", security(("bearer" = [])),
    request_body = NewThread,
    responses((status = 201, body = Thread), (status = 404, body = Problem), (status = 422, body = Problem),
        (status = 429, description = "`rate_limited`: 30 messages at once, then one every two minutes", body = Problem)))]
async fn open_thread(
    State(state): State<AppState>,
    parent: Parent,
    ApiJson(input): ApiJson<NewThread>,
) -> AppResult<(StatusCode, Json<Thread>)> {
    let written = super::send(
        &state,
        &Scope::Family(parent.family_id),
        &Draft {
            author_id: parent.account_id,
            target: Target::New {
                family_id: parent.family_id,
                service: input.service,
                subject: Some(&input.subject),
            },
            body: &input.body,
            attachments: &input.attachments,
        },
    )
    .await?;
    let thread = super::family_thread(&state, parent.family_id, written.thread_id).await?;
    Ok((StatusCode::CREATED, Json(thread)))
}

/// A thread with its messages, oldest first ("lu" on the family's messages the
/// services have read). Reading it here marks nothing: the app says when the
/// parent saw it (`POST …/read`).
#[utoipa::path(get, path = "/api/v1/threads/{thread_id}", tag = "messages", security(("bearer" = [])),
    params(("thread_id" = Uuid, Path)),
    responses((status = 200, body = Thread), (status = 404, body = Problem)))]
async fn thread(
    State(state): State<AppState>,
    parent: Parent,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<Thread>> {
    Ok(Json(
        super::family_thread(&state, parent.family_id, id).await?,
    ))
}

/// Writes in a thread (a closed one opens again). 429 `rate_limited` past 30
/// messages at once (then one every two minutes).
#[utoipa::path(post, path = "/api/v1/threads/{thread_id}/messages", tag = "messages",
    security(("bearer" = [])), params(("thread_id" = Uuid, Path)), request_body = NewMessage,
    responses((status = 201, body = Thread), (status = 404, body = Problem), (status = 422, body = Problem),
        (status = 429, description = "`rate_limited`: 30 messages at once, then one every two minutes", body = Problem)))]
async fn answer(
    State(state): State<AppState>,
    parent: Parent,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<NewMessage>,
) -> AppResult<(StatusCode, Json<Thread>)> {
    super::send(
        &state,
        &Scope::Family(parent.family_id),
        &Draft {
            author_id: parent.account_id,
            target: Target::Thread(id),
            body: &input.body,
            attachments: &input.attachments,
        },
    )
    .await?;
    let thread = super::family_thread(&state, parent.family_id, id).await?;
    Ok((StatusCode::CREATED, Json(thread)))
}

/// The parent saw the thread up to `up_to` (the services then see "lu").
#[utoipa::path(post, path = "/api/v1/threads/{thread_id}/read", tag = "messages",
    security(("bearer" = [])), params(("thread_id" = Uuid, Path)), request_body = ThreadRead,
    responses((status = 204, description = "Lu"), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn read(
    State(state): State<AppState>,
    parent: Parent,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<ThreadRead>,
) -> AppResult<StatusCode> {
    super::read(&state, &Scope::Family(parent.family_id), id, input.up_to).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A file attached to a message of the thread.
#[utoipa::path(get, path = "/api/v1/threads/{thread_id}/attachments/{attachment_id}", tag = "messages",
    security(("bearer" = [])), params(("thread_id" = Uuid, Path), ("attachment_id" = Uuid, Path)),
    responses((status = 200, description = "Le fichier (JPEG, PNG ou PDF)"), (status = 404, body = Problem)))]
async fn attachment(
    State(state): State<AppState>,
    parent: Parent,
    ApiPath((thread_id, attachment_id)): ApiPath<(Uuid, Uuid)>,
) -> AppResult<Response> {
    let scope = Scope::Family(parent.family_id);
    super::attachment(&state, &scope, parent.account_id, thread_id, attachment_id).await
}

/// The services with their agents.
#[utoipa::path(get, path = "/api/v1/staff/services", tag = "services", security(("bearer" = [])),
    responses((status = 200, body = [StaffService]), (status = 403, body = Problem)))]
async fn staff_services(
    State(state): State<AppState>,
    _staff: Staff,
) -> AppResult<Json<Vec<StaffService>>> {
    Ok(Json(super::staff_services(&state).await?))
}

/// Adds a service families may write to (admins).
#[utoipa::path(post, path = "/api/v1/staff/services", tag = "services", security(("bearer" = [])),
    request_body = ServiceInput,
    responses((status = 201, body = Created), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn create_service(
    State(state): State<AppState>,
    _admin: Admin,
    ApiJson(input): ApiJson<ServiceInput>,
) -> CreatedAnswer {
    created(super::save_service(&state, None, &input).await?)
}

/// Renames a service, marks it sensitive or not, sets its agents (admins).
#[utoipa::path(put, path = "/api/v1/staff/services/{service_id}", tag = "services",
    security(("bearer" = [])), params(("service_id" = Uuid, Path)), request_body = ServiceInput,
    responses((status = 204, description = "Enregistré"), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn update_service(
    State(state): State<AppState>,
    _admin: Admin,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<ServiceInput>,
) -> AppResult<StatusCode> {
    super::save_service(&state, Some(id), &input).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct InboxParams {
    /// One of the agent's services (all of them by default).
    service_id: Option<Uuid>,
    status: Option<ThreadStatus>,
    /// Only the threads assigned to the caller.
    mine: Option<bool>,
    family_id: Option<Uuid>,
    /// 1 to 200 (50 by default).
    limit: Option<i64>,
    offset: Option<i64>,
}

/// The inbox of the agent's services: threads with unread messages first, then
/// the latest.
#[utoipa::path(get, path = "/api/v1/staff/threads", tag = "services", security(("bearer" = [])),
    params(InboxParams),
    responses((status = 200, body = [StaffThreadSummary]), (status = 403, body = Problem),
        (status = 422, body = Problem)))]
async fn inbox(
    State(state): State<AppState>,
    staff: Staff,
    ApiQuery(q): ApiQuery<InboxParams>,
) -> AppResult<Json<Vec<StaffThreadSummary>>> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(famille_model::validate::FieldError::new("limit", "entre 1 et 200").into());
    }
    let offset = q.offset.unwrap_or(0);
    if offset < 0 {
        return Err(famille_model::validate::FieldError::new("offset", "positif ou nul").into());
    }
    let query = InboxQuery {
        service: q.service_id,
        status: q.status,
        mine: q.mine.unwrap_or(false),
        family_id: q.family_id,
        limit,
        offset,
    };
    Ok(Json(super::inbox(&state, staff, &query).await?))
}

/// A thread of one of the agent's services.
#[utoipa::path(get, path = "/api/v1/staff/threads/{thread_id}", tag = "services",
    security(("bearer" = [])), params(("thread_id" = Uuid, Path)),
    responses((status = 200, body = StaffThread), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn staff_thread(
    State(state): State<AppState>,
    staff: Staff,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<StaffThread>> {
    let scope = Scope::of_staff(&state, staff).await?;
    Ok(Json(super::staff_thread(&state, &scope, id).await?))
}

/// Answers a family; it is notified (push, or mail without a phone).
#[utoipa::path(post, path = "/api/v1/staff/threads/{thread_id}/messages", tag = "services",
    security(("bearer" = [])), params(("thread_id" = Uuid, Path)), request_body = StaffNewMessage,
    responses((status = 201, body = StaffThread), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn staff_answer(
    State(state): State<AppState>,
    staff: Staff,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<StaffNewMessage>,
) -> AppResult<(StatusCode, Json<StaffThread>)> {
    let scope = Scope::of_staff(&state, staff).await?;
    super::send(
        &state,
        &scope,
        &Draft {
            author_id: staff.account_id,
            target: Target::Thread(id),
            body: &input.body,
            attachments: &[],
        },
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(super::staff_thread(&state, &scope, id).await?),
    ))
}

/// The services saw the thread up to `up_to` (the family then sees "lu").
#[utoipa::path(post, path = "/api/v1/staff/threads/{thread_id}/read", tag = "services",
    security(("bearer" = [])), params(("thread_id" = Uuid, Path)), request_body = ThreadRead,
    responses((status = 204, description = "Lu"), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn staff_read(
    State(state): State<AppState>,
    staff: Staff,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<ThreadRead>,
) -> AppResult<StatusCode> {
    let scope = Scope::of_staff(&state, staff).await?;
    super::read(&state, &scope, id, input.up_to).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Assigns the thread to an agent of its service (`null`: back to the service).
#[utoipa::path(put, path = "/api/v1/staff/threads/{thread_id}/assignee", tag = "services",
    security(("bearer" = [])), params(("thread_id" = Uuid, Path)), request_body = ThreadAssignee,
    responses((status = 204, description = "Enregistré"), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn assign(
    State(state): State<AppState>,
    staff: Staff,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<ThreadAssignee>,
) -> AppResult<StatusCode> {
    super::assign(&state, staff, id, input.account_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Closes the thread (a new message from either side opens it again).
#[utoipa::path(post, path = "/api/v1/staff/threads/{thread_id}/close", tag = "services",
    security(("bearer" = [])), params(("thread_id" = Uuid, Path)),
    responses((status = 204, description = "Close"), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn close(
    State(state): State<AppState>,
    staff: Staff,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<StatusCode> {
    super::set_status(&state, staff, id, ThreadStatus::Closed).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Opens a closed thread again.
#[utoipa::path(post, path = "/api/v1/staff/threads/{thread_id}/reopen", tag = "services",
    security(("bearer" = [])), params(("thread_id" = Uuid, Path)),
    responses((status = 204, description = "Ouverte"), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn reopen(
    State(state): State<AppState>,
    staff: Staff,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<StatusCode> {
    super::set_status(&state, staff, id, ThreadStatus::Open).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An agent writes first to a family (an unpaid invoice, a missing document).
#[utoipa::path(post, path = "/api/v1/staff/families/{family_id}/threads", tag = "services",
    security(("bearer" = [])), params(("family_id" = Uuid, Path)), request_body = StaffNewThread,
    responses((status = 201, body = StaffThread), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn staff_open_thread(
    State(state): State<AppState>,
    staff: Staff,
    ApiPath(family_id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<StaffNewThread>,
) -> AppResult<(StatusCode, Json<StaffThread>)> {
    crate::families::exists(&state, family_id).await?;
    let scope = Scope::of_staff(&state, staff).await?;
    let written = super::send(
        &state,
        &scope,
        &Draft {
            author_id: staff.account_id,
            target: Target::New {
                family_id,
                service: input.service,
                subject: Some(&input.subject),
            },
            body: &input.body,
            attachments: &[],
        },
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(super::staff_thread(&state, &scope, written.thread_id).await?),
    ))
}

/// A file a family attached (the read is audited).
#[utoipa::path(get, path = "/api/v1/staff/threads/{thread_id}/attachments/{attachment_id}",
    tag = "services", security(("bearer" = [])),
    params(("thread_id" = Uuid, Path), ("attachment_id" = Uuid, Path)),
    responses((status = 200, description = "Le fichier (JPEG, PNG ou PDF)"), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
async fn staff_attachment(
    State(state): State<AppState>,
    staff: Staff,
    ApiPath((thread_id, attachment_id)): ApiPath<(Uuid, Uuid)>,
) -> AppResult<Response> {
    let scope = Scope::of_staff(&state, staff).await?;
    super::attachment(&state, &scope, staff.account_id, thread_id, attachment_id).await
}
