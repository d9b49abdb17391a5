//! Routes of money: the families' tariffs and invoices; the services' régies,
//! tariffs, QF records, billing runs, credit notes, lists, totals and export.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use famille_model::api::{
    BillingRun, BillingRunInput, BillingTotal, Created, CreditNoteInput, Invoice, InvoiceDetail,
    InvoiceLine, OptionTariff, Problem, QuotientEnd, QuotientFetch, QuotientRecordInput,
    QuotientRecordView, Regie, RegieInput, StaffInvoice, TariffInput, Tariffs,
};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::accounts::auth::{Admin, Parent, Staff};
use crate::error::{AppError, AppResult};
use crate::http::{CreatedAnswer, created};
use crate::input::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(tariffs))
        .routes(routes!(invoices))
        .routes(routes!(invoice))
        .routes(routes!(invoice_pdf))
        .routes(routes!(staff_invoice_pdf))
        .routes(routes!(regies, create_regie))
        .routes(routes!(update_regie))
        .routes(routes!(option_tariff, set_tariff))
        .routes(routes!(quotients, add_quotient))
        .routes(routes!(end_quotient))
        .routes(routes!(fetch_quotient))
        .routes(routes!(preview_run))
        .routes(routes!(run))
        .routes(routes!(issue_run))
        .routes(routes!(export_run))
        .routes(routes!(staff_invoices))
        .routes(routes!(staff_invoice))
        .routes(routes!(invoice_lines))
        .routes(routes!(credit_note))
        .routes(routes!(totals))
}

/// The guide's « Tarifs »: each option the family's children may book, its grid and
/// the price of a day for this family today.
#[utoipa::path(get, path = "/api/v1/tariffs", tag = "factures", security(("bearer" = [])),
    responses((status = 200, body = Tariffs), (status = 401, body = Problem)))]
async fn tariffs(State(state): State<AppState>, parent: Parent) -> AppResult<Json<Tariffs>> {
    Ok(Json(super::family_tariffs(&state, parent.family_id).await?))
}

/// The guide's « Mes factures »: the family's invoices and credit notes, newest first.
#[utoipa::path(get, path = "/api/v1/invoices", tag = "factures", security(("bearer" = [])),
    responses((status = 200, body = [Invoice]), (status = 401, body = Problem)))]
async fn invoices(State(state): State<AppState>, parent: Parent) -> AppResult<Json<Vec<Invoice>>> {
    Ok(Json(
        super::family_invoices(&state, parent.family_id).await?,
    ))
}

/// One of the family's invoices with its lines (another family's is not found).
#[utoipa::path(get, path = "/api/v1/invoices/{invoice_id}", tag = "factures", security(("bearer" = [])),
    params(("invoice_id" = Uuid, Path)),
    responses((status = 200, body = InvoiceDetail), (status = 404, body = Problem)))]
async fn invoice(
    State(state): State<AppState>,
    parent: Parent,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<InvoiceDetail>> {
    Ok(Json(
        super::invoice_detail(&state, id, Some(parent.family_id)).await?,
    ))
}

/// The PDF of one of the family's invoices or credit notes.
#[utoipa::path(get, path = "/api/v1/invoices/{invoice_id}/pdf", tag = "factures", security(("bearer" = [])),
    params(("invoice_id" = Uuid, Path)),
    responses((status = 200, description = "application/pdf", content_type = "application/pdf"), (status = 404, body = Problem)))]
async fn invoice_pdf(
    State(state): State<AppState>,
    parent: Parent,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Response> {
    let bytes = super::invoice_pdf(&state, id, Some(parent.family_id)).await?;
    Ok(crate::http::pdf_response(&id.to_string(), bytes))
}

/// The PDF of any issued invoice or credit note.
#[utoipa::path(get, path = "/api/v1/staff/invoices/{invoice_id}/pdf", tag = "services",
    security(("bearer" = [])), params(("invoice_id" = Uuid, Path)),
    responses((status = 200, description = "application/pdf", content_type = "application/pdf"), (status = 404, body = Problem)))]
async fn staff_invoice_pdf(
    State(state): State<AppState>,
    _staff: Staff,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Response> {
    let bytes = super::invoice_pdf(&state, id, None).await?;
    Ok(crate::http::pdf_response(&id.to_string(), bytes))
}

/// The régies.
#[utoipa::path(get, path = "/api/v1/staff/regies", tag = "services", security(("bearer" = [])),
    responses((status = 200, body = [Regie]), (status = 403, body = Problem)))]
async fn regies(State(state): State<AppState>, _staff: Staff) -> AppResult<Json<Vec<Regie>>> {
    Ok(Json(state.db.billing().regies().await?))
}

/// Adds a régie (administrators).
#[utoipa::path(post, path = "/api/v1/staff/regies", tag = "services", security(("bearer" = [])),
    request_body = RegieInput,
    responses((status = 201, body = Created), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn create_regie(
    State(state): State<AppState>,
    _admin: Admin,
    ApiJson(input): ApiJson<RegieInput>,
) -> CreatedAnswer {
    created(super::create_regie(&state, &input).await?)
}

/// Changes a régie's settings (administrators; its code stays).
#[utoipa::path(put, path = "/api/v1/staff/regies/{regie_id}", tag = "services", security(("bearer" = [])),
    params(("regie_id" = Uuid, Path)), request_body = RegieInput,
    responses((status = 204, description = "Modifiée"), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn update_regie(
    State(state): State<AppState>,
    _admin: Admin,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<RegieInput>,
) -> AppResult<StatusCode> {
    super::update_regie(&state, id, &input).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An option's tariff.
#[utoipa::path(get, path = "/api/v1/staff/options/{option_id}/tariff", tag = "services",
    security(("bearer" = [])), params(("option_id" = Uuid, Path)),
    responses((status = 200, body = OptionTariff), (status = 404, body = Problem)))]
async fn option_tariff(
    State(state): State<AppState>,
    _staff: Staff,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<OptionTariff>> {
    Ok(Json(super::option_tariff(&state, id).await?))
}

/// Sets an option's tariff and the régie that bills it (administrators). Issued
/// invoices keep their prices.
#[utoipa::path(put, path = "/api/v1/staff/options/{option_id}/tariff", tag = "services",
    security(("bearer" = [])), params(("option_id" = Uuid, Path)), request_body = TariffInput,
    responses((status = 204, description = "Enregistré"), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn set_tariff(
    State(state): State<AppState>,
    _admin: Admin,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<TariffInput>,
) -> AppResult<StatusCode> {
    super::set_tariff(&state, id, &input).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A family's quotient familial records, oldest first.
#[utoipa::path(get, path = "/api/v1/staff/families/{family_id}/quotients", tag = "services",
    security(("bearer" = [])), params(("family_id" = Uuid, Path)),
    responses((status = 200, body = [QuotientRecordView]), (status = 404, body = Problem)))]
async fn quotients(
    State(state): State<AppState>,
    _staff: Staff,
    ApiPath(family_id): ApiPath<Uuid>,
) -> AppResult<Json<Vec<QuotientRecordView>>> {
    Ok(Json(super::quotients(&state, family_id).await?))
}

/// Adds a QF record (the open one before it ends the day before).
#[utoipa::path(post, path = "/api/v1/staff/families/{family_id}/quotients", tag = "services",
    security(("bearer" = [])), params(("family_id" = Uuid, Path)), request_body = QuotientRecordInput,
    responses((status = 201, body = Created), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn add_quotient(
    State(state): State<AppState>,
    staff: Staff,
    ApiPath(family_id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<QuotientRecordInput>,
) -> CreatedAnswer {
    created(super::add_quotient(&state, family_id, &input, Some(staff.account_id)).await?)
}

/// Fetches the family's QF from API Particulier (CAF or MSA) with the allocataire
/// number and postal code, and records it (source `api_particulier`, a year from
/// today). 422 naming `allocataire` when no file matches; 503
/// `provider_unavailable` when the API is unreachable, too slow or not configured.
#[utoipa::path(post, path = "/api/v1/staff/families/{family_id}/quotients/fetch", tag = "services",
    params(("family_id" = Uuid, Path)), request_body = QuotientFetch, security(("bearer" = [])),
    responses((status = 201, body = Created), (status = 404, body = Problem),
        (status = 422, body = Problem), (status = 503, body = Problem)))]
async fn fetch_quotient(
    State(state): State<AppState>,
    staff: Staff,
    ApiPath(family_id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<QuotientFetch>,
) -> CreatedAnswer {
    created(super::fetch_quotient(&state, family_id, &input, staff.account_id).await?)
}

/// Ends a QF record on a day (included).
#[utoipa::path(post, path = "/api/v1/staff/families/{family_id}/quotients/{quotient_id}/end",
    tag = "services", security(("bearer" = [])),
    params(("family_id" = Uuid, Path), ("quotient_id" = Uuid, Path)), request_body = QuotientEnd,
    responses((status = 204, description = "Terminé"), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn end_quotient(
    State(state): State<AppState>,
    _staff: Staff,
    ApiPath((family_id, id)): ApiPath<(Uuid, Uuid)>,
    ApiJson(input): ApiJson<QuotientEnd>,
) -> AppResult<StatusCode> {
    super::end_quotient(&state, family_id, id, input.valid_until).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Previews the billing of a month: one invoice per family and régie (credit notes
/// for what changed since an earlier run), the total and the anomalies.
#[utoipa::path(post, path = "/api/v1/staff/billing/runs", tag = "services", security(("bearer" = [])),
    request_body = BillingRunInput,
    responses((status = 201, body = BillingRun), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn preview_run(
    State(state): State<AppState>,
    staff: Staff,
    ApiJson(input): ApiJson<BillingRunInput>,
) -> AppResult<(StatusCode, Json<BillingRun>)> {
    Ok((
        StatusCode::CREATED,
        Json(super::preview(&state, staff.account_id, &input).await?),
    ))
}

/// A billing run.
#[utoipa::path(get, path = "/api/v1/staff/billing/runs/{run_id}", tag = "services",
    security(("bearer" = [])), params(("run_id" = Uuid, Path)),
    responses((status = 200, body = BillingRun), (status = 404, body = Problem)))]
async fn run(
    State(state): State<AppState>,
    _staff: Staff,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<BillingRun>> {
    Ok(Json(super::run(&state, id).await?))
}

/// Issues a previewed run: numbers, dates, the families' feeds and pushes.
/// `billing_run_outdated` (409) when the facts changed since the preview (it is
/// recomputed: look at it again), `billing_run_closed` (409) when it was issued or
/// superseded.
#[utoipa::path(post, path = "/api/v1/staff/billing/runs/{run_id}/issue", tag = "services",
    security(("bearer" = [])), params(("run_id" = Uuid, Path)),
    responses((status = 200, body = BillingRun), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn issue_run(
    State(state): State<AppState>,
    staff: Staff,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<BillingRun>> {
    Ok(Json(super::issue(&state, staff.account_id, id).await?))
}

/// The lines of a run's invoices as CSV (`;`, decimal comma), for the treasury.
#[utoipa::path(get, path = "/api/v1/staff/billing/runs/{run_id}/export", tag = "services",
    security(("bearer" = [])), params(("run_id" = Uuid, Path)),
    responses((status = 200, description = "text/csv", content_type = "text/csv"), (status = 404, body = Problem)))]
async fn export_run(
    State(state): State<AppState>,
    _staff: Staff,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Response> {
    let csv = super::export_run(&state, id).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"facturation-{id}.csv\""),
            ),
        ],
        csv,
    )
        .into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct InvoiceQuery {
    /// `YYYY-MM`.
    month: Option<String>,
    regie: Option<Uuid>,
    /// Names of the family, or the invoice number.
    q: Option<String>,
}

/// Issued invoices and credit notes of every family, newest first (500 at most).
#[utoipa::path(get, path = "/api/v1/staff/invoices", tag = "services", security(("bearer" = [])),
    params(InvoiceQuery),
    responses((status = 200, body = [StaffInvoice]), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn staff_invoices(
    State(state): State<AppState>,
    _staff: Staff,
    ApiQuery(q): ApiQuery<InvoiceQuery>,
) -> AppResult<Json<Vec<StaffInvoice>>> {
    Ok(Json(
        super::staff_invoices(&state, q.month.as_deref(), q.regie, q.q.as_deref()).await?,
    ))
}

/// An issued invoice or credit note of any family, with its lines.
#[utoipa::path(get, path = "/api/v1/staff/invoices/{invoice_id}", tag = "services",
    security(("bearer" = [])), params(("invoice_id" = Uuid, Path)),
    responses((status = 200, body = InvoiceDetail), (status = 404, body = Problem)))]
async fn staff_invoice(
    State(state): State<AppState>,
    _staff: Staff,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<InvoiceDetail>> {
    Ok(Json(super::invoice_detail(&state, id, None).await?))
}

/// The lines of any invoice, a run's draft included.
#[utoipa::path(get, path = "/api/v1/staff/invoices/{invoice_id}/lines", tag = "services",
    security(("bearer" = [])), params(("invoice_id" = Uuid, Path)),
    responses((status = 200, body = [InvoiceLine]), (status = 404, body = Problem)))]
async fn invoice_lines(
    State(state): State<AppState>,
    _staff: Staff,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<Vec<InvoiceLine>>> {
    let lines = state.db.billing().lines(id).await?;
    if lines.is_empty() {
        return Err(AppError::NotFound);
    }
    Ok(Json(lines))
}

/// Grants a credit note on an invoice: the lines given, or all those not yet
/// credited. Those days are never billed again.
#[utoipa::path(post, path = "/api/v1/staff/invoices/{invoice_id}/credit-notes", tag = "services",
    security(("bearer" = [])), params(("invoice_id" = Uuid, Path)), request_body = CreditNoteInput,
    responses((status = 201, body = InvoiceDetail), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn credit_note(
    State(state): State<AppState>,
    _staff: Staff,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<CreditNoteInput>,
) -> AppResult<(StatusCode, Json<InvoiceDetail>)> {
    Ok((
        StatusCode::CREATED,
        Json(super::credit_note(&state, id, &input).await?),
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct YearQuery {
    year: i32,
}

/// Totals per régie and month of a year: invoiced, credited, paid.
#[utoipa::path(get, path = "/api/v1/staff/billing/totals", tag = "services", security(("bearer" = [])),
    params(YearQuery),
    responses((status = 200, body = [BillingTotal]), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn totals(
    State(state): State<AppState>,
    _staff: Staff,
    ApiQuery(q): ApiQuery<YearQuery>,
) -> AppResult<Json<Vec<BillingTotal>>> {
    if !famille_model::validate::SERVICE_YEARS.contains(&q.year) {
        return Err(famille_model::validate::FieldError::new(
            "year",
            "cette année n'est pas valide",
        )
        .into());
    }
    Ok(Json(state.db.billing().totals(q.year).await?))
}
