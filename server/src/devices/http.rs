//! `POST /api/v1/devices` (contract) and `DELETE /api/v1/devices`.

use axum::extract::State;
use axum::http::StatusCode;
use famille_model::api::{DeviceRegistration, DeviceRemoval, Problem};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::accounts::auth::Caller;
use crate::error::AppResult;
use crate::input::ApiJson;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(register, remove))
}

/// Registers the phone's push token for the caller (moving it from any other account).
#[utoipa::path(post, path = "/api/v1/devices", tag = "comptes", security(("bearer" = [])),
    request_body = DeviceRegistration,
    responses((status = 201, description = "Enregistré"), (status = 422, body = Problem)))]
async fn register(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<DeviceRegistration>,
) -> AppResult<StatusCode> {
    super::register(&state, caller.account_id, &body).await?;
    Ok(StatusCode::CREATED)
}

/// Unregisters one of the caller's push tokens.
#[utoipa::path(delete, path = "/api/v1/devices", tag = "comptes", security(("bearer" = [])),
    request_body = DeviceRemoval,
    responses((status = 204, description = "Supprimé"), (status = 404, body = Problem)))]
async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<DeviceRemoval>,
) -> AppResult<StatusCode> {
    super::remove(&state, caller.account_id, &body).await?;
    Ok(StatusCode::NO_CONTENT)
}
