//! Telling families: notices are handed to the transaction of the change that
//! caused them and written to the outbox when it commits (`crate::store::Tx`); a
//! dispatcher delivers them over FCM HTTP v1 (or by mail when the account has no
//! phone); each account chooses what it receives.

pub mod dispatcher;
pub mod fcm;

use axum::Json;
use axum::extract::State;
use famille_model::api::{NotificationSettings, Problem};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::accounts::auth::Caller;
use crate::error::{ApiJson, AppResult};
use crate::state::AppState;

pub use dispatcher::{DispatchReport, dispatch_due};

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
    let (muted, mail_fallback) = state.db.outbox().settings(caller.account_id).await?;
    Ok(Json(NotificationSettings {
        // A kind this version no longer knows is simply not shown.
        muted: muted.iter().filter_map(|k| k.parse().ok()).collect(),
        mail_fallback,
    }))
}

/// Replaces the caller's notification choices.
#[utoipa::path(put, path = "/api/v1/account/notifications", tag = "comptes", security(("bearer" = [])),
    request_body = NotificationSettings,
    responses((status = 200, body = NotificationSettings), (status = 422, body = Problem)))]
async fn set_settings(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(mut body): ApiJson<NotificationSettings>,
) -> AppResult<Json<NotificationSettings>> {
    body.muted.sort_by_key(|k| k.as_str());
    body.muted.dedup();
    state
        .db
        .outbox()
        .set_settings(caller.account_id, &body.muted, body.mail_fallback)
        .await?;
    Ok(Json(body))
}
