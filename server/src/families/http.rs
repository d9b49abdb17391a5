//! Dossier routes for parents (their own family, from the token) and for staff.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use famille_model::api::{
    AuditEntry, AuthorizedPerson, AuthorizedPersonInput, Child, ChildConsents, ChildInput,
    ConsentType, ConsentsUpdate, Family, FamilySummary, Guardian, GuardianInput, HealthRecord,
    HealthRecordInput, Household, Problem, QuotientUpdate,
};
use famille_model::dossier::FamilyStatus;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::accounts::auth::{Admin, Parent, Staff};
use crate::error::{AppError, AppResult};
use crate::input::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_family))
        .routes(routes!(put_household))
        .routes(routes!(add_guardian))
        .routes(routes!(put_guardian))
        .routes(routes!(add_child))
        .routes(routes!(get_child, put_child))
        .routes(routes!(confirm_child))
        .routes(routes!(list_persons, add_person))
        .routes(routes!(put_person, delete_person))
        .routes(routes!(get_consents, put_consents))
        .routes(routes!(get_health, put_health))
        .routes(routes!(consent_types))
        .routes(routes!(family_audit))
        .routes(routes!(staff_search))
        .routes(routes!(staff_family))
        .routes(routes!(staff_unpaid_block))
        .routes(routes!(staff_household))
        .routes(routes!(staff_quotient))
        .routes(routes!(staff_validate))
        .routes(routes!(staff_health))
        .routes(routes!(staff_audit))
        .routes(routes!(staff_add_child))
        .routes(routes!(staff_put_child))
        .routes(routes!(staff_put_guardian))
        .routes(routes!(staff_persons))
        .routes(routes!(staff_consents))
}

// ---- parents ----------------------------------------------------------------------

/// The caller's dossier: household, guardians, children.
#[utoipa::path(get, path = "/api/v1/family", tag = "famille", security(("bearer" = [])),
    responses((status = 200, body = Family), (status = 401, body = Problem)))]
async fn get_family(State(state): State<AppState>, parent: Parent) -> AppResult<Json<Family>> {
    Ok(Json(super::family(&state, parent.family_id).await?))
}

/// "Informations du foyer": address, phone, situation, dependent children.
#[utoipa::path(put, path = "/api/v1/family/household", tag = "famille", security(("bearer" = [])),
    request_body = Household, responses((status = 200, body = Family), (status = 422, body = Problem)))]
async fn put_household(
    State(state): State<AppState>,
    parent: Parent,
    ApiJson(body): ApiJson<Household>,
) -> AppResult<Json<Family>> {
    Ok(Json(
        super::update_household(&state, parent.family_id, &body).await?,
    ))
}

/// Adds "Parent 2".
#[utoipa::path(post, path = "/api/v1/family/guardians", tag = "famille", security(("bearer" = [])),
    request_body = GuardianInput,
    responses((status = 201, body = Guardian), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn add_guardian(
    State(state): State<AppState>,
    parent: Parent,
    ApiJson(body): ApiJson<GuardianInput>,
) -> AppResult<(StatusCode, Json<Guardian>)> {
    Ok((
        StatusCode::CREATED,
        Json(super::add_guardian(&state, parent.family_id, &body).await?),
    ))
}

#[utoipa::path(put, path = "/api/v1/family/guardians/{guardian_id}", tag = "famille", security(("bearer" = [])),
    params(("guardian_id" = Uuid, Path)), request_body = GuardianInput,
    responses((status = 200, body = Guardian), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn put_guardian(
    State(state): State<AppState>,
    parent: Parent,
    ApiPath(guardian_id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<GuardianInput>,
) -> AppResult<Json<Guardian>> {
    Ok(Json(
        super::update_guardian(&state, parent.family_id, guardian_id, &body).await?,
    ))
}

/// "Déclarer un nouvel enfant".
#[utoipa::path(post, path = "/api/v1/family/children", tag = "famille", security(("bearer" = [])),
    request_body = ChildInput, responses((status = 201, body = Child), (status = 422, body = Problem)))]
async fn add_child(
    State(state): State<AppState>,
    parent: Parent,
    ApiJson(body): ApiJson<ChildInput>,
) -> AppResult<(StatusCode, Json<Child>)> {
    Ok((
        StatusCode::CREATED,
        Json(super::add_child(&state, parent.family_id, &body).await?),
    ))
}

#[utoipa::path(get, path = "/api/v1/children/{child_id}", tag = "famille", security(("bearer" = [])),
    params(("child_id" = Uuid, Path)), responses((status = 200, body = Child), (status = 404, body = Problem)))]
async fn get_child(
    State(state): State<AppState>,
    parent: Parent,
    ApiPath(child_id): ApiPath<Uuid>,
) -> AppResult<Json<Child>> {
    Ok(Json(
        super::child(&state, parent.family_id, child_id).await?,
    ))
}

#[utoipa::path(put, path = "/api/v1/children/{child_id}", tag = "famille", security(("bearer" = [])),
    params(("child_id" = Uuid, Path)), request_body = ChildInput,
    responses((status = 200, body = Child), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn put_child(
    State(state): State<AppState>,
    parent: Parent,
    ApiPath(child_id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<ChildInput>,
) -> AppResult<Json<Child>> {
    Ok(Json(
        super::update_child(&state, parent.family_id, child_id, &body).await?,
    ))
}

/// "J'ai renseigné mes données".
#[utoipa::path(post, path = "/api/v1/children/{child_id}/confirm", tag = "famille", security(("bearer" = [])),
    params(("child_id" = Uuid, Path)), responses((status = 200, body = Child), (status = 404, body = Problem)))]
async fn confirm_child(
    State(state): State<AppState>,
    parent: Parent,
    ApiPath(child_id): ApiPath<Uuid>,
) -> AppResult<Json<Child>> {
    Ok(Json(
        super::confirm_child_data(&state, parent.family_id, child_id).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/children/{child_id}/authorized-persons", tag = "famille",
    security(("bearer" = [])), params(("child_id" = Uuid, Path)),
    responses((status = 200, body = Vec<AuthorizedPerson>), (status = 404, body = Problem)))]
async fn list_persons(
    State(state): State<AppState>,
    parent: Parent,
    ApiPath(child_id): ApiPath<Uuid>,
) -> AppResult<Json<Vec<AuthorizedPerson>>> {
    Ok(Json(
        super::authorized_persons(&state, parent.family_id, child_id).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/children/{child_id}/authorized-persons", tag = "famille",
    security(("bearer" = [])), params(("child_id" = Uuid, Path)), request_body = AuthorizedPersonInput,
    responses((status = 201, body = AuthorizedPerson), (status = 404, body = Problem),
        (status = 409, description = "`conflict`: 20 persons at most per child", body = Problem), (status = 422, body = Problem)))]
async fn add_person(
    State(state): State<AppState>,
    parent: Parent,
    ApiPath(child_id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<AuthorizedPersonInput>,
) -> AppResult<(StatusCode, Json<AuthorizedPerson>)> {
    let person = super::add_authorized_person(&state, parent.family_id, child_id, &body).await?;
    Ok((StatusCode::CREATED, Json(person)))
}

#[utoipa::path(put, path = "/api/v1/children/{child_id}/authorized-persons/{person_id}", tag = "famille",
    security(("bearer" = [])), params(("child_id" = Uuid, Path), ("person_id" = Uuid, Path)),
    request_body = AuthorizedPersonInput,
    responses((status = 200, body = AuthorizedPerson), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn put_person(
    State(state): State<AppState>,
    parent: Parent,
    ApiPath((child_id, person_id)): ApiPath<(Uuid, Uuid)>,
    ApiJson(body): ApiJson<AuthorizedPersonInput>,
) -> AppResult<Json<AuthorizedPerson>> {
    Ok(Json(
        super::update_authorized_person(&state, parent.family_id, child_id, person_id, &body)
            .await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/children/{child_id}/authorized-persons/{person_id}", tag = "famille",
    security(("bearer" = [])), params(("child_id" = Uuid, Path), ("person_id" = Uuid, Path)),
    responses((status = 204, description = "Supprimée"), (status = 404, body = Problem)))]
async fn delete_person(
    State(state): State<AppState>,
    parent: Parent,
    ApiPath((child_id, person_id)): ApiPath<(Uuid, Uuid)>,
) -> AppResult<StatusCode> {
    super::delete_authorized_person(&state, parent.family_id, child_id, person_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/children/{child_id}/consents", tag = "famille", security(("bearer" = [])),
    params(("child_id" = Uuid, Path)), responses((status = 200, body = ChildConsents), (status = 404, body = Problem)))]
async fn get_consents(
    State(state): State<AppState>,
    parent: Parent,
    ApiPath(child_id): ApiPath<Uuid>,
) -> AppResult<Json<ChildConsents>> {
    Ok(Json(
        super::consents(&state, parent.family_id, child_id).await?,
    ))
}

/// Answers some or all consents: yes, no, or unanswered.
#[utoipa::path(put, path = "/api/v1/children/{child_id}/consents", tag = "famille", security(("bearer" = [])),
    params(("child_id" = Uuid, Path)), request_body = ConsentsUpdate,
    responses((status = 200, body = ChildConsents), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn put_consents(
    State(state): State<AppState>,
    parent: Parent,
    ApiPath(child_id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<ConsentsUpdate>,
) -> AppResult<Json<ChildConsents>> {
    Ok(Json(
        super::set_consents(&state, parent.family_id, child_id, &body).await?,
    ))
}

/// "Infos sanitaires" (sensitive).
#[utoipa::path(get, path = "/api/v1/children/{child_id}/health", tag = "famille", security(("bearer" = [])),
    params(("child_id" = Uuid, Path)), responses((status = 200, body = HealthRecord), (status = 404, body = Problem)))]
async fn get_health(
    State(state): State<AppState>,
    parent: Parent,
    ApiPath(child_id): ApiPath<Uuid>,
) -> AppResult<Json<HealthRecord>> {
    Ok(Json(
        super::health_record(&state, parent.family_id, child_id).await?,
    ))
}

#[utoipa::path(put, path = "/api/v1/children/{child_id}/health", tag = "famille", security(("bearer" = [])),
    params(("child_id" = Uuid, Path)), request_body = HealthRecordInput,
    responses((status = 200, body = HealthRecord), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn put_health(
    State(state): State<AppState>,
    parent: Parent,
    ApiPath(child_id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<HealthRecordInput>,
) -> AppResult<Json<HealthRecord>> {
    Ok(Json(
        super::put_health_record(&state, parent.account_id, parent.family_id, child_id, &body)
            .await?,
    ))
}

/// The consents the organisation asks for.
#[utoipa::path(get, path = "/api/v1/consent-types", tag = "famille", security(("bearer" = [])),
    responses((status = 200, body = Vec<ConsentType>)))]
async fn consent_types(
    State(state): State<AppState>,
    _parent: Parent,
) -> AppResult<Json<Vec<ConsentType>>> {
    Ok(Json(state.db.families().consent_types().await?))
}

/// Who read or changed this family's sensitive data (the family's right of access).
#[utoipa::path(get, path = "/api/v1/family/audit", tag = "famille", security(("bearer" = [])),
    responses((status = 200, body = Vec<AuditEntry>)))]
async fn family_audit(
    State(state): State<AppState>,
    parent: Parent,
) -> AppResult<Json<Vec<AuditEntry>>> {
    Ok(Json(
        state.db.audit().for_family(parent.family_id, 200).await?,
    ))
}

// ---- staff --------------------------------------------------------------------------

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct SearchQuery {
    /// Dossier number, or part of a guardian's or child's name or e-mail.
    #[serde(default)]
    q: String,
    status: Option<FamilyStatus>,
}

#[utoipa::path(get, path = "/api/v1/staff/families", tag = "services", security(("bearer" = [])),
    params(SearchQuery), responses((status = 200, body = Vec<FamilySummary>), (status = 403, body = Problem)))]
async fn staff_search(
    State(state): State<AppState>,
    _staff: Staff,
    ApiQuery(query): ApiQuery<SearchQuery>,
) -> AppResult<Json<Vec<FamilySummary>>> {
    Ok(Json(super::search(&state, &query.q, query.status).await?))
}

#[utoipa::path(get, path = "/api/v1/staff/families/{family_id}", tag = "services", security(("bearer" = [])),
    params(("family_id" = Uuid, Path)), responses((status = 200, body = Family), (status = 404, body = Problem)))]
async fn staff_family(
    State(state): State<AppState>,
    _staff: Staff,
    ApiPath(family_id): ApiPath<Uuid>,
) -> AppResult<Json<Family>> {
    Ok(Json(super::family(&state, family_id).await?))
}

/// Lifts (or restores) the unpaid-invoices rule for a family: with it lifted, its
/// overdue invoices no longer block its bookings.
#[utoipa::path(put, path = "/api/v1/staff/families/{family_id}/unpaid-block", tag = "services",
    security(("bearer" = [])), params(("family_id" = Uuid, Path)), request_body = famille_model::api::UnpaidBlock,
    responses((status = 204, description = "Enregistré"), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn staff_unpaid_block(
    State(state): State<AppState>,
    _staff: Staff,
    ApiPath(family_id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<famille_model::api::UnpaidBlock>,
) -> AppResult<axum::http::StatusCode> {
    super::set_unpaid_block_lifted(&state, family_id, input.lifted).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

#[utoipa::path(put, path = "/api/v1/staff/families/{family_id}/household", tag = "services",
    security(("bearer" = [])), params(("family_id" = Uuid, Path)), request_body = Household,
    responses((status = 200, body = Family), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn staff_household(
    State(state): State<AppState>,
    _staff: Staff,
    ApiPath(family_id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<Household>,
) -> AppResult<Json<Family>> {
    Ok(Json(
        super::update_household(&state, family_id, &body).await?,
    ))
}

/// Sets the quotient familial (from the CAF, the MSA or a tax notice), or clears it.
#[utoipa::path(put, path = "/api/v1/staff/families/{family_id}/quotient", tag = "services",
    security(("bearer" = [])), params(("family_id" = Uuid, Path)), request_body = QuotientUpdate,
    responses((status = 200, body = Family), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn staff_quotient(
    State(state): State<AppState>,
    _staff: Staff,
    ApiPath(family_id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<QuotientUpdate>,
) -> AppResult<Json<Family>> {
    Ok(Json(
        super::set_quotient(&state, family_id, body.quotient.as_ref()).await?,
    ))
}

/// A pending dossier becomes active: the family may book.
#[utoipa::path(post, path = "/api/v1/staff/families/{family_id}/validate", tag = "services",
    security(("bearer" = [])), params(("family_id" = Uuid, Path)),
    responses((status = 200, body = Family), (status = 404, body = Problem),
              (status = 409, description = "`already_validated`", body = Problem)))]
async fn staff_validate(
    State(state): State<AppState>,
    staff: Staff,
    ApiPath(family_id): ApiPath<Uuid>,
) -> AppResult<Json<Family>> {
    Ok(Json(
        super::validate_family(&state, staff.account_id, family_id).await?,
    ))
}

/// A child's health record; every read is written to the audit log.
#[utoipa::path(get, path = "/api/v1/staff/children/{child_id}/health", tag = "services",
    security(("bearer" = [])), params(("child_id" = Uuid, Path)),
    responses((status = 200, body = HealthRecord), (status = 404, body = Problem)))]
async fn staff_health(
    State(state): State<AppState>,
    staff: Staff,
    ApiPath(child_id): ApiPath<Uuid>,
) -> AppResult<Json<HealthRecord>> {
    Ok(Json(
        super::staff_health_record(&state, staff.account_id, child_id).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/staff/families/{family_id}/audit", tag = "services",
    security(("bearer" = [])), params(("family_id" = Uuid, Path)),
    responses((status = 200, body = Vec<AuditEntry>), (status = 403, body = Problem)))]
async fn staff_audit(
    State(state): State<AppState>,
    _admin: Admin,
    ApiPath(family_id): ApiPath<Uuid>,
) -> AppResult<Json<Vec<AuditEntry>>> {
    if state.db.families().family(family_id).await?.is_none() {
        return Err(AppError::NotFound);
    }
    Ok(Json(state.db.audit().for_family(family_id, 500).await?))
}

#[utoipa::path(post, path = "/api/v1/staff/families/{family_id}/children", tag = "services",
    security(("bearer" = [])), params(("family_id" = Uuid, Path)), request_body = ChildInput,
    responses((status = 201, body = Child), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn staff_add_child(
    State(state): State<AppState>,
    _staff: Staff,
    ApiPath(family_id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<ChildInput>,
) -> AppResult<(StatusCode, Json<Child>)> {
    if state.db.families().family(family_id).await?.is_none() {
        return Err(AppError::NotFound);
    }
    Ok((
        StatusCode::CREATED,
        Json(super::add_child(&state, family_id, &body).await?),
    ))
}

#[utoipa::path(put, path = "/api/v1/staff/families/{family_id}/children/{child_id}", tag = "services",
    security(("bearer" = [])), params(("family_id" = Uuid, Path), ("child_id" = Uuid, Path)), request_body = ChildInput,
    responses((status = 200, body = Child), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn staff_put_child(
    State(state): State<AppState>,
    _staff: Staff,
    ApiPath((family_id, child_id)): ApiPath<(Uuid, Uuid)>,
    ApiJson(body): ApiJson<ChildInput>,
) -> AppResult<Json<Child>> {
    Ok(Json(
        super::update_child(&state, family_id, child_id, &body).await?,
    ))
}

#[utoipa::path(put, path = "/api/v1/staff/families/{family_id}/guardians/{guardian_id}", tag = "services",
    security(("bearer" = [])), params(("family_id" = Uuid, Path), ("guardian_id" = Uuid, Path)),
    request_body = GuardianInput,
    responses((status = 200, body = Guardian), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn staff_put_guardian(
    State(state): State<AppState>,
    _staff: Staff,
    ApiPath((family_id, guardian_id)): ApiPath<(Uuid, Uuid)>,
    ApiJson(body): ApiJson<GuardianInput>,
) -> AppResult<Json<Guardian>> {
    Ok(Json(
        super::update_guardian(&state, family_id, guardian_id, &body).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/staff/families/{family_id}/children/{child_id}/authorized-persons",
    tag = "services", security(("bearer" = [])), params(("family_id" = Uuid, Path), ("child_id" = Uuid, Path)),
    responses((status = 200, body = Vec<AuthorizedPerson>), (status = 404, body = Problem)))]
async fn staff_persons(
    State(state): State<AppState>,
    _staff: Staff,
    ApiPath((family_id, child_id)): ApiPath<(Uuid, Uuid)>,
) -> AppResult<Json<Vec<AuthorizedPerson>>> {
    Ok(Json(
        super::authorized_persons(&state, family_id, child_id).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/staff/families/{family_id}/children/{child_id}/consents",
    tag = "services", security(("bearer" = [])), params(("family_id" = Uuid, Path), ("child_id" = Uuid, Path)),
    responses((status = 200, body = ChildConsents), (status = 404, body = Problem)))]
async fn staff_consents(
    State(state): State<AppState>,
    _staff: Staff,
    ApiPath((family_id, child_id)): ApiPath<(Uuid, Uuid)>,
) -> AppResult<Json<ChildConsents>> {
    Ok(Json(super::consents(&state, family_id, child_id).await?))
}
