//! The family's change feed, paged (`GET /api/v1/sync`). A phone that follows the
//! cursor until `has_more` is false has every change, in commit order, once.

pub mod http;

use famille_model::api::SyncPage;
use famille_model::validate::FieldError;
use uuid::Uuid;

use crate::error::AppResult;
use crate::state::AppState;

pub const DEFAULT_PAGE: i64 = 500;
pub const MAX_PAGE: i64 = 2000;

/// The page after `cursor` (0 for a first sync) of at most `limit` entries.
pub async fn page(
    state: &AppState,
    family_id: Uuid,
    cursor: i64,
    limit: Option<i64>,
) -> AppResult<SyncPage> {
    if cursor < 0 {
        return Err(FieldError::new("cursor", "le curseur ne peut pas être négatif").into());
    }
    let limit = limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(FieldError::new("limit", format!("entre 1 et {MAX_PAGE}")).into());
    }
    // A cursor from the future (another server's database, a restored backup) would
    // silently skip changes: start over instead.
    let head = state.db.feed().head().await?;
    let cursor = if cursor > head { 0 } else { cursor };
    let page = state.db.feed().page(family_id, cursor, head, limit).await?;
    Ok(SyncPage {
        changes: page.changes,
        cursor: page.cursor,
        has_more: page.has_more,
    })
}
