//! Routes of démarches.

use axum::Json;
use famille_model::api::Problem;
use famille_model::requests::RequestSpec;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::accounts::auth::Parent;
use crate::error::AppResult;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(request_kinds))
}

/// The démarches a family may make: each kind's French label, what it does once
/// accepted, its fields (with their kinds and choices) and the proofs it asks.
#[utoipa::path(get, path = "/api/v1/request-kinds", tag = "demarches", security(("bearer" = [])),
    responses((status = 200, body = [RequestSpec]), (status = 401, body = Problem)))]
async fn request_kinds(_parent: Parent) -> AppResult<Json<Vec<RequestSpec>>> {
    Ok(Json(super::kinds()))
}
