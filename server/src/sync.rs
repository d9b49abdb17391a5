//! `GET /api/v1/sync`: the family's change feed, paged. A phone that follows the
//! cursor until `has_more` is false has every change, in commit order, once.

use axum::Json;
use axum::extract::State;
use famille_model::api::{Problem, SyncPage};
use famille_model::validate::FieldError;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::accounts::auth::Parent;
use crate::error::{ApiQuery, AppResult};
use crate::state::AppState;

pub const DEFAULT_PAGE: i64 = 500;
pub const MAX_PAGE: i64 = 2000;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(sync))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct SyncQuery {
    /// The `cursor` of the previous answer; 0 (or absent) for a first sync.
    #[serde(default)]
    cursor: i64,
    /// Entries per page (500 by default, 2000 at most).
    limit: Option<i64>,
}

/// Everything that changed for the caller's family since `cursor`: activities and
/// sessions offered (sessions say "full or not", never counts), the family's
/// reservations; deleted things come as tombstones (`deleted: true`).
#[utoipa::path(get, path = "/api/v1/sync", tag = "réservations", security(("bearer" = [])), params(SyncQuery),
    responses((status = 200, body = SyncPage), (status = 422, body = Problem)))]
async fn sync(
    State(state): State<AppState>,
    parent: Parent,
    ApiQuery(query): ApiQuery<SyncQuery>,
) -> AppResult<Json<SyncPage>> {
    if query.cursor < 0 {
        return Err(FieldError::new("cursor", "le curseur ne peut pas être négatif").into());
    }
    let limit = query.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(FieldError::new("limit", format!("entre 1 et {MAX_PAGE}")).into());
    }
    // A cursor from the future (another server's database, a restored backup) would
    // silently skip changes: start over instead.
    let head = state.db.feed().head().await?;
    let cursor = if query.cursor > head { 0 } else { query.cursor };
    let page = state
        .db
        .feed()
        .page(parent.family_id, cursor, head, limit)
        .await?;
    Ok(Json(SyncPage {
        changes: page.changes,
        cursor: page.cursor,
        has_more: page.has_more,
    }))
}
