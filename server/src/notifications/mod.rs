//! Telling families: notices are handed to the transaction of the change that
//! caused them and written to the outbox when it commits (`crate::store::Tx`); a
//! dispatcher delivers them over FCM HTTP v1 (or by mail when the account has no
//! phone); each account chooses what it receives.

pub mod dispatcher;
pub mod fcm;
pub mod http;

use famille_model::api::NotificationSettings;
use uuid::Uuid;

use crate::error::AppResult;
use crate::state::AppState;

pub use dispatcher::{DispatchReport, dispatch_due};

/// An account's notification choices.
pub async fn settings(state: &AppState, account: Uuid) -> AppResult<NotificationSettings> {
    let (muted, mail_fallback) = state.db.outbox().settings(account).await?;
    Ok(NotificationSettings {
        muted,
        mail_fallback,
    })
}

/// Replaces an account's notification choices (each kind once).
pub async fn set_settings(
    state: &AppState,
    account: Uuid,
    mut choice: NotificationSettings,
) -> AppResult<NotificationSettings> {
    choice.muted.sort_by_key(|k| k.as_str());
    choice.muted.dedup();
    state
        .db
        .outbox()
        .set_settings(account, &choice.muted, choice.mail_fallback)
        .await?;
    Ok(choice)
}
