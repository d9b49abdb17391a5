//! Push registrations: which account owns which phone's token (delivery over FCM
//! HTTP v1 is `notifications`'). A token registered again from another account
//! moves to it.

pub mod http;

use famille_model::api::{DeviceRegistration, DeviceRemoval};
use famille_model::validate;
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// Registers the phone's push token for `account` (moving it from any other).
pub async fn register(state: &AppState, account: Uuid, body: &DeviceRegistration) -> AppResult<()> {
    let token = validate::push_token("token", &body.token)?;
    let locale = validate::locale("locale", body.locale.as_deref())?;
    state
        .db
        .devices()
        .register(account, &token, body.platform, &locale, state.clock.now())
        .await?;
    Ok(())
}

/// Unregisters one of the account's push tokens; another account's is not found.
pub async fn remove(state: &AppState, account: Uuid, body: &DeviceRemoval) -> AppResult<()> {
    let token = validate::push_token("token", &body.token)?;
    if state.db.devices().remove(account, &token).await? {
        Ok(())
    } else {
        Err(AppError::NotFound)
    }
}
