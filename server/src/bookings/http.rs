//! Booking routes: the mutation queue and the calendar.

use axum::Json;
use axum::extract::State;
use chrono::NaiveDate;
use famille_model::api::{Calendar, MutationBatch, MutationResults, Problem};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::accounts::auth::Parent;
use crate::error::{ApiJson, ApiPath, ApiQuery, AppResult};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(mutations))
        .routes(routes!(calendar))
}

/// Applies the phone's queued intents in order, each once (a repeated `id` gets its
/// first answer). One answer per mutation, same order.
#[utoipa::path(post, path = "/api/v1/mutations", tag = "réservations", security(("bearer" = [])),
    request_body = MutationBatch,
    responses((status = 200, body = MutationResults), (status = 400, body = Problem), (status = 422, body = Problem)))]
async fn mutations(
    State(state): State<AppState>,
    parent: Parent,
    ApiJson(batch): ApiJson<MutationBatch>,
) -> AppResult<Json<MutationResults>> {
    Ok(Json(
        super::apply_batch(&state, parent, &batch.mutations).await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
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
