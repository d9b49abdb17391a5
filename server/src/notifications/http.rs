//! `GET|PUT /api/v1/account/notifications`.

use axum::Json;
use axum::extract::State;
use famille_model::api::{NotificationSettings, Problem};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::accounts::auth::Caller;
use crate::error::AppResult;
use crate::input::ApiJson;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(settings, set_settings))
}

/// The caller's notification choices.
#[utoipa::path(get, path = "/api/v1/account/notifications", tag = "comptes", security(("bearer" = [])),
    responses((status = 200, body = NotificationSettings), (status = 401, body = Problem)))]
async fn settings(
    State(state): State<AppState>,
    caller: Caller,
) -> AppResult<Json<NotificationSettings>> {
    Ok(Json(super::settings(&state, caller.account_id).await?))
}

/// Replaces the caller's notification choices.
#[utoipa::path(put, path = "/api/v1/account/notifications", tag = "comptes", security(("bearer" = [])),
    request_body = NotificationSettings,
    responses((status = 200, body = NotificationSettings), (status = 422, body = Problem)))]
async fn set_settings(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<NotificationSettings>,
) -> AppResult<Json<NotificationSettings>> {
    Ok(Json(
        super::set_settings(&state, caller.account_id, body).await?,
    ))
}
