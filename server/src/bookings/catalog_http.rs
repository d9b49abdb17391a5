//! Staff routes of the catalog: activities with their rules and options, sessions.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{Duration, NaiveDate};
use famille_model::api::{
    ActivityInput, ActivitySnapshot, CategoryInput, Created, Problem, SessionInput, SessionUpdate,
    StaffSession,
};
use famille_model::validate::{self, FieldError};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::accounts::auth::{Admin, Staff};
use crate::error::{ApiJson, ApiPath, ApiQuery, AppError, AppResult};
use crate::state::AppState;
use crate::store::StoreError;
use crate::store::catalog::{NewActivity, NewSession, SessionEdit};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_activity, list_activities))
        .routes(routes!(create_category))
        .routes(routes!(list_sessions))
        .routes(routes!(create_session))
        .routes(routes!(update_session))
}

fn check_capacities(capacity: u32, young: Option<u32>, old: Option<u32>) -> AppResult<()> {
    if capacity > 10_000 {
        return Err(FieldError::new("capacity", "10 000 places au plus").into());
    }
    if young.is_some_and(|y| y > capacity) || old.is_some_and(|o| o > capacity) {
        return Err(FieldError::new(
            "capacity_young",
            "une capacité par âge ne peut dépasser la capacité totale",
        )
        .into());
    }
    Ok(())
}

/// Creates an activity with its eligibility, booking rules, options and required documents.
#[utoipa::path(post, path = "/api/v1/staff/activities", tag = "services", security(("bearer" = [])),
    request_body = ActivityInput,
    responses((status = 201, body = Created), (status = 422, body = Problem)))]
async fn create_activity(
    State(state): State<AppState>,
    _staff: Staff,
    ApiJson(input): ApiJson<ActivityInput>,
) -> AppResult<(StatusCode, Json<Created>)> {
    let name = validate::text("name", &input.name, 200)?;
    let venue_name = validate::text("venue", &input.venue, 200)?;
    let description = validate::optional_text("description", input.description.as_deref(), 2000)?;
    if input.options.is_empty() || input.options.len() > 20 {
        return Err(FieldError::new("options", "de 1 à 20 prestations").into());
    }
    let options = input
        .options
        .iter()
        .enumerate()
        .map(|(i, o)| validate::text(&format!("options[{i}]"), o, 200))
        .collect::<Result<Vec<_>, _>>()?;
    let catalog = state.db.catalog();
    let category = catalog
        .category_id(&input.category)
        .await?
        .ok_or_else(|| FieldError::new("category", "cette catégorie n'existe pas"))?;
    let mut documents = Vec::new();
    for (i, code) in input.required_documents.iter().enumerate() {
        let id = catalog.document_type_id(code).await?.ok_or_else(|| {
            FieldError::new(
                &format!("required_documents[{i}]"),
                "ce type de document n'existe pas",
            )
        })?;
        documents.push(id);
    }
    let venue = catalog.venue_id(&venue_name).await?;
    let now = state.clock.now();
    let id = Uuid::now_v7();
    catalog
        .insert_activity(&NewActivity {
            id,
            category_id: category,
            venue_id: venue,
            name: &name,
            description: description.as_deref(),
            eligibility: &input.eligibility,
            rules: &input.rules,
            age_split: input.age_split,
            now,
        })
        .await?;
    for (position, option) in options.iter().enumerate() {
        match catalog
            .insert_option(Uuid::now_v7(), id, option, position as i32, now)
            .await
        {
            Ok(()) => {}
            Err(StoreError::Duplicate(_)) => {
                return Err(
                    FieldError::new("options", "deux prestations portent le même nom").into(),
                );
            }
            Err(e) => return Err(e.into()),
        }
    }
    for document in documents {
        catalog.require_document(id, document, now).await?;
    }
    Ok((StatusCode::CREATED, Json(Created { id })))
}

/// Adds a dated session to an activity.
#[utoipa::path(post, path = "/api/v1/staff/activities/{activity_id}/sessions", tag = "services",
    security(("bearer" = [])), params(("activity_id" = Uuid, Path)), request_body = SessionInput,
    responses((status = 201, body = Created), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_session(
    State(state): State<AppState>,
    _staff: Staff,
    ApiPath(activity_id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<SessionInput>,
) -> AppResult<(StatusCode, Json<Created>)> {
    check_capacities(input.capacity, input.capacity_young, input.capacity_old)?;
    if state.db.catalog().option_activity(input.option_id).await? != Some(activity_id) {
        return Err(AppError::NotFound);
    }
    let id = Uuid::now_v7();
    let created = state
        .db
        .catalog()
        .insert_session(&NewSession {
            id,
            activity_id,
            option_id: input.option_id,
            date: input.date,
            capacity: input.capacity,
            capacity_young: input.capacity_young,
            capacity_old: input.capacity_old,
            now: state.clock.now(),
        })
        .await;
    match created {
        Ok(()) => Ok((StatusCode::CREATED, Json(Created { id }))),
        Err(StoreError::Duplicate(_)) => Err(AppError::Conflict(
            "Cette prestation a déjà une séance à cette date.",
        )),
        Err(e) => Err(e.into()),
    }
}

/// Changes a session's capacities, or closes / reopens it.
#[utoipa::path(put, path = "/api/v1/staff/sessions/{session_id}", tag = "services", security(("bearer" = [])),
    params(("session_id" = Uuid, Path)), request_body = SessionUpdate,
    responses((status = 204, description = "Modifiée"), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn update_session(
    State(state): State<AppState>,
    _staff: Staff,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<SessionUpdate>,
) -> AppResult<StatusCode> {
    check_capacities(input.capacity, input.capacity_young, input.capacity_old)?;
    if !matches!(input.status.as_str(), "open" | "closed") {
        return Err(FieldError::new("status", "« open » ou « closed »").into());
    }
    let edit = state
        .db
        .catalog()
        .update_session(
            id,
            input.capacity,
            input.capacity_young,
            input.capacity_old,
            &input.status,
            state.clock.now(),
        )
        .await?;
    match edit {
        SessionEdit::Done => Ok(StatusCode::NO_CONTENT),
        SessionEdit::NotFound => Err(AppError::NotFound),
        SessionEdit::Conflict => Err(AppError::Conflict(
            "Impossible : la séance est annulée, ou plus d'enfants que cette capacité y ont déjà une place.",
        )),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
struct Period {
    /// First day (default: today in Paris).
    from: Option<NaiveDate>,
    /// Last day, inclusive (default and maximum: 92 days after `from`).
    to: Option<NaiveDate>,
}

/// The planning: sessions between two dates with places held, waitlist and approvals.
#[utoipa::path(get, path = "/api/v1/staff/sessions", tag = "services", security(("bearer" = [])), params(Period),
    responses((status = 200, body = Vec<StaffSession>), (status = 422, body = Problem)))]
async fn list_sessions(
    State(state): State<AppState>,
    _staff: Staff,
    ApiQuery(period): ApiQuery<Period>,
) -> AppResult<Json<Vec<StaffSession>>> {
    let from = period
        .from
        .unwrap_or_else(|| famille_model::calendar::paris_date(state.clock.now()));
    let to = period.to.unwrap_or(from + Duration::days(92));
    if to < from || (to - from).num_days() > 92 {
        return Err(
            FieldError::new("to", "une période de 93 jours au plus, après le début").into(),
        );
    }
    let n = |v: i32| u32::try_from(v).unwrap_or(0);
    let rows = state.db.catalog().staff_sessions(from, to).await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| StaffSession {
                id: r.id,
                activity_id: r.activity_id,
                activity: r.activity,
                option: r.option,
                date: r.date,
                status: r.status,
                capacity: n(r.capacity),
                capacity_young: r.capacity_young.map(n),
                capacity_old: r.capacity_old.map(n),
                held: n(r.held),
                waitlisted: u32::try_from(r.waitlisted).unwrap_or(0),
                pending_approval: u32::try_from(r.pending_approval).unwrap_or(0),
            })
            .collect(),
    ))
}

/// Every activity with its options (their ids are what sessions are created with)
/// and required documents.
#[utoipa::path(get, path = "/api/v1/staff/activities", tag = "services", security(("bearer" = [])),
    responses((status = 200, body = Vec<ActivitySnapshot>)))]
async fn list_activities(
    State(state): State<AppState>,
    _staff: Staff,
) -> AppResult<Json<Vec<ActivitySnapshot>>> {
    Ok(Json(state.db.catalog().activity_snapshots().await?))
}

/// Adds an activity category (admin).
#[utoipa::path(post, path = "/api/v1/staff/categories", tag = "services", security(("bearer" = [])),
    request_body = CategoryInput,
    responses((status = 201, body = Created), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_category(
    State(state): State<AppState>,
    _admin: Admin,
    ApiJson(input): ApiJson<CategoryInput>,
) -> AppResult<(StatusCode, Json<Created>)> {
    let code = input.code.trim();
    if code.is_empty()
        || code.len() > 50
        || !code
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(
            FieldError::new("code", "lettres minuscules, chiffres et « _ », 50 au plus").into(),
        );
    }
    let name = validate::text("name", &input.name, 200)?;
    let id = Uuid::now_v7();
    let position = state.db.catalog().next_category_position().await?;
    match state
        .db
        .catalog()
        .insert_category(id, code, &name, position)
        .await
    {
        Ok(()) => Ok((StatusCode::CREATED, Json(Created { id }))),
        Err(StoreError::Duplicate(_)) => {
            Err(AppError::Conflict("Une catégorie porte déjà ce code."))
        }
        Err(e) => Err(e.into()),
    }
}
