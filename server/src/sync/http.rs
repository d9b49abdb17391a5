//! `GET /api/v1/sync`.

use axum::Json;
use axum::extract::State;
use famille_model::api::{Problem, SyncPage};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::accounts::auth::Parent;
use crate::error::AppResult;
use crate::input::ApiQuery;
use crate::state::AppState;

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
    #[param(minimum = 1, maximum = 2000)]
    limit: Option<i64>,
}

/// Everything that changed for the caller's family since `cursor`: activities and
/// sessions offered (sessions say "full or not", never counts), the family's
/// reservations and documents; deleted things come as tombstones (`deleted: true`).
#[utoipa::path(get, path = "/api/v1/sync", tag = "réservations", security(("bearer" = [])), params(SyncQuery),
    responses((status = 200, body = SyncPage), (status = 422, body = Problem)))]
async fn sync(
    State(state): State<AppState>,
    parent: Parent,
    ApiQuery(query): ApiQuery<SyncQuery>,
) -> AppResult<Json<SyncPage>> {
    Ok(Json(
        super::page(&state, parent.family_id, query.cursor, query.limit).await?,
    ))
}
