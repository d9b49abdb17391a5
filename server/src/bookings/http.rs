//! Booking routes: the children's calendars, the services' booking actions, the
//! iCalendar feed. (The phones' intents arrive through the queue, `crate::queue`.)

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::NaiveDate;
use famille_model::api::{
    ApprovalAnswer, AttendanceInput, Calendar, CalendarFeed, Problem, Roster,
};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::accounts::auth::{Parent, Staff};
use crate::error::AppResult;
use crate::input::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(calendar))
        .routes(routes!(decide))
        .routes(routes!(cancel_session))
        .routes(routes!(roster))
        .routes(routes!(attendance))
        .routes(routes!(create_feed, revoke_feed))
        .routes(routes!(feed))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct Range {
    /// First day (default: today in Paris).
    from: Option<NaiveDate>,
    /// Last day, inclusive (default: six days after `from`; 62 days at most).
    to: Option<NaiveDate>,
}

/// A child's calendar with the legend's states, for the activities the child may attend.
#[utoipa::path(get, path = "/api/v1/children/{child_id}/calendar", tag = "réservations",
    security(("bearer" = [])), params(("child_id" = Uuid, Path), Range),
    responses((status = 200, body = Calendar), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn calendar(
    State(state): State<AppState>,
    parent: Parent,
    ApiPath(child_id): ApiPath<Uuid>,
    ApiQuery(range): ApiQuery<Range>,
) -> AppResult<Json<Calendar>> {
    Ok(Json(
        super::calendar(&state, parent.family_id, child_id, range.from, range.to).await?,
    ))
}

/// Approves a booking awaiting validation, or refuses it (the place then goes to the
/// waitlist).
#[utoipa::path(post, path = "/api/v1/staff/reservations/{reservation_id}/{answer}", tag = "services",
    security(("bearer" = [])), params(("reservation_id" = Uuid, Path), ("answer" = ApprovalAnswer, Path)),
    responses((status = 204, description = "Décidée"), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn decide(
    State(state): State<AppState>,
    _staff: Staff,
    ApiPath((id, answer)): ApiPath<(Uuid, ApprovalAnswer)>,
) -> AppResult<StatusCode> {
    super::staff::decide_pending(&state, id, answer == ApprovalAnswer::Approve).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Cancels a session: its reservations are cancelled without charge and the families told.
#[utoipa::path(post, path = "/api/v1/staff/sessions/{session_id}/cancel", tag = "services",
    security(("bearer" = [])), params(("session_id" = Uuid, Path)),
    responses((status = 200, body = Roster), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn cancel_session(
    State(state): State<AppState>,
    staff: Staff,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<Roster>> {
    super::staff::cancel_session(&state, id).await?;
    Ok(Json(
        super::staff::roster(&state, staff.account_id, id).await?,
    ))
}

/// The session's list (booked, waitlisted in order, present without booking), with
/// allergy and PAI flags; each read is audited.
#[utoipa::path(get, path = "/api/v1/staff/sessions/{session_id}/roster", tag = "services",
    security(("bearer" = [])), params(("session_id" = Uuid, Path)),
    responses((status = 200, body = Roster), (status = 404, body = Problem)))]
async fn roster(
    State(state): State<AppState>,
    staff: Staff,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<Roster>> {
    Ok(Json(
        super::staff::roster(&state, staff.account_id, id).await?,
    ))
}

/// Pointage: P, Ab, AbE, S, M, or present without booking.
#[utoipa::path(put, path = "/api/v1/staff/sessions/{session_id}/attendance", tag = "services",
    security(("bearer" = [])), params(("session_id" = Uuid, Path)), request_body = AttendanceInput,
    responses((status = 200, body = Roster), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn attendance(
    State(state): State<AppState>,
    staff: Staff,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<AttendanceInput>,
) -> AppResult<Json<Roster>> {
    Ok(Json(
        super::staff::record_attendance(&state, staff.account_id, id, body.child_id, body.code)
            .await?,
    ))
}

/// Creates (or replaces: the old address stops working) the family's secret
/// iCalendar address, to subscribe to from the phone's calendar.
#[utoipa::path(post, path = "/api/v1/family/calendar-feed", tag = "réservations", security(("bearer" = [])),
    responses((status = 201, body = CalendarFeed)))]
async fn create_feed(
    State(state): State<AppState>,
    parent: Parent,
) -> AppResult<(StatusCode, Json<CalendarFeed>)> {
    let url = super::ical::new_calendar_feed(&state, parent.family_id).await?;
    Ok((StatusCode::CREATED, Json(CalendarFeed { url })))
}

/// Revokes the family's calendar address.
#[utoipa::path(delete, path = "/api/v1/family/calendar-feed", tag = "réservations", security(("bearer" = [])),
    responses((status = 204, description = "Adresse révoquée")))]
async fn revoke_feed(State(state): State<AppState>, parent: Parent) -> AppResult<StatusCode> {
    state
        .db
        .bookings()
        .revoke_calendar_feed(parent.family_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The calendar feed itself (`<secret>.ics`); the secret is the only credential.
#[utoipa::path(get, path = "/api/v1/calendar/{file}", tag = "réservations", params(("file" = String, Path)),
    responses((status = 200, description = "text/calendar", content_type = "text/calendar"), (status = 404, body = Problem)))]
async fn feed(
    State(state): State<AppState>,
    ApiPath(file): ApiPath<String>,
) -> AppResult<impl axum::response::IntoResponse> {
    let body = super::ical::calendar_feed(&state, &file).await?;
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/calendar; charset=utf-8",
            ),
            (axum::http::header::CACHE_CONTROL, "private, max-age=900"),
        ],
        body,
    ))
}
