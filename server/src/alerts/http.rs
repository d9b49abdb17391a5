//! `GET /api/v1/alerts`.

use axum::Json;
use axum::extract::State;
use famille_model::api::{Alert, Problem};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::accounts::auth::Parent;
use crate::error::AppResult;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(alerts))
}

/// The caller's active alerts (the red banner).
#[utoipa::path(get, path = "/api/v1/alerts", tag = "famille", security(("bearer" = [])),
    responses((status = 200, body = Vec<Alert>), (status = 401, body = Problem)))]
async fn alerts(State(state): State<AppState>, parent: Parent) -> AppResult<Json<Vec<Alert>>> {
    Ok(Json(super::for_family(&state, parent.family_id).await?))
}
