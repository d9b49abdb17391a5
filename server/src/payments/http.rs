//! Routes of payments: a family pays online and follows its payments; PayFiP's
//! notification and the parent's return; the services record and reverse desk
//! payments and read a family's payments and credit.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use famille_model::api::{
    Created, FamilyPayments, Payment, PaymentInput, PaymentReversal, PaymentStart, PaymentStarted,
    Problem,
};
use famille_model::payments::{PaymentMethod, PaymentStatus};
use famille_model::validate::FieldError;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::accounts::auth::{Parent, Staff};
use crate::error::AppResult;
use crate::http::{CreatedAnswer, created};
use crate::input::{ApiForm, ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(start_payment))
        .routes(routes!(payments))
        .routes(routes!(payment))
        .routes(routes!(notification))
        .routes(routes!(return_page, return_form))
        .routes(routes!(family_payments, record_payment))
        .routes(routes!(reverse_payment))
        .routes(routes!(staff_payments))
}

/// Pays an invoice online: the operation is recorded, then the app opens
/// `redirect_url` (PayFiP's page) in the system browser.
#[utoipa::path(post, path = "/api/v1/invoices/{invoice_id}/payments", tag = "factures",
    security(("bearer" = [])), params(("invoice_id" = Uuid, Path)), request_body = PaymentStart,
    responses((status = 201, body = PaymentStarted), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem), (status = 503, body = Problem)))]
async fn start_payment(
    State(state): State<AppState>,
    parent: Parent,
    ApiPath(invoice_id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<PaymentStart>,
) -> AppResult<(axum::http::StatusCode, Json<PaymentStarted>)> {
    if input.method != PaymentMethod::Payfip {
        return Err(FieldError::new(
            "method",
            "depuis l'application, seul le paiement en ligne (payfip) est possible",
        )
        .into());
    }
    let started =
        super::start_online(&state, parent.account_id, parent.family_id, invoice_id).await?;
    Ok((axum::http::StatusCode::CREATED, Json(started)))
}

/// The family's payments, newest first.
#[utoipa::path(get, path = "/api/v1/payments", tag = "factures", security(("bearer" = [])),
    responses((status = 200, body = [Payment]), (status = 401, body = Problem)))]
async fn payments(State(state): State<AppState>, parent: Parent) -> AppResult<Json<Vec<Payment>>> {
    Ok(Json(
        super::family_payments(&state, parent.family_id).await?,
    ))
}

/// One payment of the family; a pending online one is asked about first.
#[utoipa::path(get, path = "/api/v1/payments/{payment_id}", tag = "factures",
    security(("bearer" = [])), params(("payment_id" = Uuid, Path)),
    responses((status = 200, body = Payment), (status = 404, body = Problem)))]
async fn payment(
    State(state): State<AppState>,
    parent: Parent,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<Payment>> {
    Ok(Json(super::payment(&state, parent.family_id, id).await?))
}

/// What PayFiP posts to the notification URL.
#[derive(Debug, Deserialize, ToSchema)]
struct PayfipNotification {
    /// The operation id (`idOp` accepted too).
    #[serde(alias = "idOp")]
    idop: String,
}

/// PayFiP's notification that an operation ended (a form with `idop`): the server
/// asks PayFiP how, and settles it once.
#[utoipa::path(post, path = "/api/v1/payfip/notifications", tag = "factures",
    request_body(content = PayfipNotification, content_type = "application/x-www-form-urlencoded"),
    responses((status = 204, description = "Pris en compte"), (status = 400, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem), (status = 503, body = Problem)))]
async fn notification(
    State(state): State<AppState>,
    ApiForm(form): ApiForm<PayfipNotification>,
) -> AppResult<axum::http::StatusCode> {
    super::notified(&state, &form.idop).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// Where PayFiP sends the parent's browser back (`idop` in the query).
#[utoipa::path(get, path = "/api/v1/payfip/return", tag = "factures",
    params(PayfipReturn),
    responses((status = 200, description = "Page de retour", content_type = "text/html"),
        (status = 400, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn return_page(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<PayfipReturn>,
) -> AppResult<Response> {
    returned(&state, &q.idop).await
}

/// The same, when PayFiP posts the return as a form.
#[utoipa::path(post, path = "/api/v1/payfip/return", tag = "factures",
    request_body(content = PayfipReturn, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "Page de retour", content_type = "text/html"),
        (status = 400, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn return_form(
    State(state): State<AppState>,
    ApiForm(q): ApiForm<PayfipReturn>,
) -> AppResult<Response> {
    returned(&state, &q.idop).await
}

/// The return's parameters (PayFiP may add others, such as `resultrans`, which
/// are not trusted: the outcome is asked of PayFiP).
#[derive(Debug, Deserialize, ToSchema, IntoParams)]
#[into_params(parameter_in = Query)]
struct PayfipReturn {
    /// The operation id (`idOp` accepted too).
    #[serde(alias = "idOp")]
    idop: String,
}

/// A page in French that says how the payment ended and leads back to the app.
async fn returned(state: &AppState, id_op: &str) -> AppResult<Response> {
    let op = super::operation(state, id_op).await?;
    // PayFiP down: the page says « en cours », the checker settles it later.
    let status = super::check(state, &op, true)
        .await
        .unwrap_or(PaymentStatus::Pending);
    let (title, text) = match status {
        PaymentStatus::Paid => (
            "Paiement accepté",
            "Merci : votre paiement est enregistré. Vous recevrez une confirmation dans l'application.",
        ),
        PaymentStatus::Refused => (
            "Paiement refusé",
            "Votre banque a refusé le paiement. Aucune somme n'a été prélevée ; vous pouvez réessayer depuis l'application.",
        ),
        PaymentStatus::Abandoned | PaymentStatus::Expired => (
            "Paiement abandonné",
            "Le paiement n'a pas été effectué. Vous pouvez le reprendre depuis l'application.",
        ),
        _ => (
            "Paiement en cours de traitement",
            "Nous attendons la confirmation de la DGFiP : l'application l'affichera dès réception.",
        ),
    };
    let deep_link = format!("portailfamille://paiements/{}", op.id);
    let page = format!(
        "<!doctype html><html lang=\"fr\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} — Portail Famille</title>\
         <style>body{{font-family:system-ui,sans-serif;margin:2rem;color:#1a1a1a;background:#fff;line-height:1.5}}\
         a{{color:#0b4f9c}}a:focus{{outline:3px solid #1a1a1a;outline-offset:2px}}</style></head>\
         <body><main><h1>{title}</h1><p>{text}</p>\
         <p><a href=\"{deep_link}\">Revenir à l'application Portail Famille</a></p></main></body></html>"
    );
    Ok(([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response())
}

/// A family's payments (with who recorded them and the amount mismatches to look
/// at) and its credit per régie.
#[utoipa::path(get, path = "/api/v1/staff/families/{family_id}/payments", tag = "services",
    security(("bearer" = [])), params(("family_id" = Uuid, Path)),
    responses((status = 200, body = FamilyPayments), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn family_payments(
    State(state): State<AppState>,
    _staff: Staff,
    ApiPath(family_id): ApiPath<Uuid>,
) -> AppResult<Json<FamilyPayments>> {
    Ok(Json(super::staff_family_payments(&state, family_id).await?))
}

/// Records a payment received at the desk; it pays the chosen invoices first, then
/// the oldest open ones; the rest is the family's credit.
#[utoipa::path(post, path = "/api/v1/staff/families/{family_id}/payments", tag = "services",
    security(("bearer" = [])), params(("family_id" = Uuid, Path)), request_body = PaymentInput,
    responses((status = 201, body = Created), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
async fn record_payment(
    State(state): State<AppState>,
    staff: Staff,
    ApiPath(family_id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<PaymentInput>,
) -> CreatedAnswer {
    created(super::record(&state, family_id, &input, staff.account_id).await?)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct PaymentQuery {
    regie_id: Option<Uuid>,
    /// Received from this day (included).
    from: Option<chrono::NaiveDate>,
    /// Received up to this day (included).
    to: Option<chrono::NaiveDate>,
    /// Only the payments whose amount or reference PayFiP contradicted.
    mismatch: Option<bool>,
}

/// Payments of every family, newest first (500 at most): the régie's
/// reconciliation, and the PayFiP payments an agent must look at.
#[utoipa::path(get, path = "/api/v1/staff/payments", tag = "services", security(("bearer" = [])),
    params(PaymentQuery),
    responses((status = 200, body = [famille_model::api::PaymentListItem]), (status = 403, body = Problem),
        (status = 422, body = Problem)))]
async fn staff_payments(
    State(state): State<AppState>,
    _staff: Staff,
    ApiQuery(q): ApiQuery<PaymentQuery>,
) -> AppResult<Json<Vec<famille_model::api::PaymentListItem>>> {
    Ok(Json(
        super::staff_payments(&state, q.regie_id, q.from, q.to, q.mismatch).await?,
    ))
}

/// Reverses a mistaken payment by an opposite entry (never deleted).
#[utoipa::path(post, path = "/api/v1/staff/families/{family_id}/payments/{payment_id}/reverse",
    tag = "services", security(("bearer" = [])),
    params(("family_id" = Uuid, Path), ("payment_id" = Uuid, Path)), request_body = PaymentReversal,
    responses((status = 201, body = Created), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn reverse_payment(
    State(state): State<AppState>,
    staff: Staff,
    ApiPath((family_id, id)): ApiPath<(Uuid, Uuid)>,
    ApiJson(input): ApiJson<PaymentReversal>,
) -> CreatedAnswer {
    created(super::reverse(&state, family_id, id, staff.account_id, &input.reason).await?)
}
