//! Staff routes of the catalog: activities with their rules and options, sessions,
//! the planning.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::NaiveDate;
use famille_model::api::{
    ActivityInput, ActivitySnapshot, CategoryInput, Created, Problem, SessionInput, SessionUpdate,
    StaffSession,
};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::accounts::auth::{Admin, Staff};
use crate::error::AppResult;
use crate::http::{CreatedAnswer, created};
use crate::input::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_activity, list_activities))
        .routes(routes!(create_category))
        .routes(routes!(list_sessions))
        .routes(routes!(create_session))
        .routes(routes!(update_session))
}

/// Creates an activity with its eligibility, booking rules, options and required documents.
#[utoipa::path(post, path = "/api/v1/staff/activities", tag = "services", security(("bearer" = [])),
    request_body = ActivityInput,
    responses((status = 201, body = Created), (status = 422, body = Problem)))]
async fn create_activity(
    State(state): State<AppState>,
    _staff: Staff,
    ApiJson(input): ApiJson<ActivityInput>,
) -> CreatedAnswer {
    created(super::create_activity(&state, &input).await?)
}

/// Adds a dated session to an activity.
#[utoipa::path(post, path = "/api/v1/staff/activities/{activity_id}/sessions", tag = "services",
    security(("bearer" = [])), params(("activity_id" = Uuid, Path)), request_body = SessionInput,
    responses((status = 201, body = Created), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_session(
    State(state): State<AppState>,
    _staff: Staff,
    ApiPath(activity_id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<SessionInput>,
) -> CreatedAnswer {
    created(super::create_session(&state, activity_id, &input).await?)
}

/// Changes a session's capacities, or closes / reopens it; places made available
/// go to the waitlist first.
#[utoipa::path(put, path = "/api/v1/staff/sessions/{session_id}", tag = "services", security(("bearer" = [])),
    params(("session_id" = Uuid, Path)), request_body = SessionUpdate,
    responses((status = 204, description = "Modifiée"), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn update_session(
    State(state): State<AppState>,
    _staff: Staff,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<SessionUpdate>,
) -> AppResult<StatusCode> {
    super::update_session(&state, id, &input).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct Period {
    /// First day (default: today in Paris).
    from: Option<NaiveDate>,
    /// Last day, inclusive (default and maximum: 92 days after `from`).
    to: Option<NaiveDate>,
}

/// The planning: sessions between two dates with places held, waitlist and approvals.
#[utoipa::path(get, path = "/api/v1/staff/sessions", tag = "services", security(("bearer" = [])), params(Period),
    responses((status = 200, body = Vec<StaffSession>), (status = 422, body = Problem)))]
async fn list_sessions(
    State(state): State<AppState>,
    _staff: Staff,
    ApiQuery(period): ApiQuery<Period>,
) -> AppResult<Json<Vec<StaffSession>>> {
    Ok(Json(super::planning(&state, period.from, period.to).await?))
}

/// Every activity with its options (their ids are what sessions are created with)
/// and required documents.
#[utoipa::path(get, path = "/api/v1/staff/activities", tag = "services", security(("bearer" = [])),
    responses((status = 200, body = Vec<ActivitySnapshot>)))]
async fn list_activities(
    State(state): State<AppState>,
    _staff: Staff,
) -> AppResult<Json<Vec<ActivitySnapshot>>> {
    Ok(Json(state.db.catalog().activity_snapshots().await?))
}

/// Adds an activity category (admin).
#[utoipa::path(post, path = "/api/v1/staff/categories", tag = "services", security(("bearer" = [])),
    request_body = CategoryInput,
    responses((status = 201, body = Created), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_category(
    State(state): State<AppState>,
    _admin: Admin,
    ApiJson(input): ApiJson<CategoryInput>,
) -> CreatedAnswer {
    created(super::create_category(&state, &input).await?)
}
