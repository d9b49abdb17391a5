//! Routes of certificates: the family's list for a year and each one's PDF.

use axum::Json;
use axum::extract::State;
use axum::response::Response;
use famille_model::api::{Certificate, Problem};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::accounts::auth::{Parent, Staff};
use crate::error::AppResult;
use crate::input::{ApiPath, ApiQuery};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(certificates))
        .routes(routes!(certificate_pdf))
        .routes(routes!(staff_certificate_pdf))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct YearQuery {
    /// The calendar year (the tax certificate: a year over).
    year: i32,
}

/// The guide's « Attestation de paiement »: the family's payment certificate and
/// tax certificate of a year, each with its PDF at `/api/v1/certificates/{id}/pdf`.
#[utoipa::path(get, path = "/api/v1/certificates", tag = "factures", security(("bearer" = [])),
    params(YearQuery),
    responses((status = 200, body = [Certificate]), (status = 401, body = Problem), (status = 422, body = Problem)))]
async fn certificates(
    State(state): State<AppState>,
    parent: Parent,
    ApiQuery(q): ApiQuery<YearQuery>,
) -> AppResult<Json<Vec<Certificate>>> {
    Ok(Json(
        super::family_certificates(&state, parent.family_id, q.year).await?,
    ))
}

/// A certificate of the family, as a PDF.
#[utoipa::path(get, path = "/api/v1/certificates/{certificate_id}/pdf", tag = "factures",
    security(("bearer" = [])), params(("certificate_id" = Uuid, Path)),
    responses((status = 200, description = "application/pdf", content_type = "application/pdf"), (status = 404, body = Problem)))]
async fn certificate_pdf(
    State(state): State<AppState>,
    parent: Parent,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Response> {
    let (number, bytes) = super::certificate_pdf(&state, id, Some(parent.family_id)).await?;
    Ok(crate::http::pdf_response(&number, bytes))
}

/// Any family's certificate, as a PDF (the services).
#[utoipa::path(get, path = "/api/v1/staff/certificates/{certificate_id}/pdf", tag = "services",
    security(("bearer" = [])), params(("certificate_id" = Uuid, Path)),
    responses((status = 200, description = "application/pdf", content_type = "application/pdf"), (status = 404, body = Problem)))]
async fn staff_certificate_pdf(
    State(state): State<AppState>,
    _staff: Staff,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Response> {
    let (number, bytes) = super::certificate_pdf(&state, id, None).await?;
    Ok(crate::http::pdf_response(&number, bytes))
}
