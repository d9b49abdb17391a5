//! `POST /api/v1/mutations`.

use axum::Json;
use axum::extract::State;
use famille_model::api::Problem;
use famille_model::queue::{MutationBatch, MutationResults};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::accounts::auth::Parent;
use crate::error::AppResult;
use crate::input::ApiJson;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(mutations))
}

/// Applies the phone's queued intents in order, each once (a repeated `id` gets its
/// first answer). One answer per mutation, same order. A late cancellation is
/// applied, with `code: cancel_deadline_passed` and `billed: true`.
#[utoipa::path(post, path = "/api/v1/mutations", tag = "réservations", security(("bearer" = [])),
    request_body = MutationBatch,
    responses((status = 200, body = MutationResults), (status = 400, body = Problem),
        (status = 413, description = "`too_many_mutations`: more than 200 in one call", body = Problem),
        (status = 422, body = Problem),
        (status = 429, description = "`rate_limited`, with Retry-After: too many intents (or messages) from one family", body = Problem)))]
async fn mutations(
    State(state): State<AppState>,
    parent: Parent,
    ApiJson(batch): ApiJson<MutationBatch>,
) -> AppResult<Json<MutationResults>> {
    Ok(Json(
        super::apply_batch(&state, parent, &batch.mutations).await?,
    ))
}
