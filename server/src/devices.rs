//! Push registrations: `POST /api/v1/devices` (contract) and removal. Delivery over
//! FCM HTTP v1 is the notifications issue's; this keeps who owns which token.

use axum::extract::State;
use axum::http::StatusCode;
use famille_model::api::{DeviceRegistration, DeviceRemoval, Problem};
use famille_model::validate::FieldError;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::accounts::auth::Caller;
use crate::error::{ApiJson, AppError, AppResult};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(register, remove))
}

/// FCM tokens are a few hundred URL-safe characters.
fn check_token(token: &str) -> AppResult<&str> {
    let token = token.trim();
    if token.is_empty() || token.len() > 4096 || !token.chars().all(|c| c.is_ascii_graphic()) {
        return Err(FieldError::new("token", "jeton d'appareil invalide").into());
    }
    Ok(token)
}

fn check_locale(locale: Option<&str>) -> AppResult<String> {
    let locale = locale
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .unwrap_or("fr-FR");
    if locale.len() > 35
        || !locale
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(FieldError::new("locale", "langue invalide (par exemple fr-FR)").into());
    }
    Ok(locale.to_owned())
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
    let token = check_token(&body.token)?;
    let locale = check_locale(body.locale.as_deref())?;
    state
        .db
        .devices()
        .register(
            caller.account_id,
            token,
            body.platform,
            &locale,
            state.clock.now(),
        )
        .await?;
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
    let token = check_token(&body.token)?;
    if state.db.devices().remove(caller.account_id, token).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(AppError::NotFound)
    }
}
