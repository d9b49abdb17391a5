//! The catalog the services publish: categories, activities with their rules,
//! options and required documents, dated sessions with their capacities, and the
//! planning. Every change enters the change feed (the phones keep the catalog);
//! places made available on a session go to its waitlist first.

pub mod http;

use chrono::NaiveDate;
use famille_model::api::{ActivityInput, CategoryInput, SessionInput, SessionUpdate, StaffSession};
use famille_model::validate::{self, FieldError};
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::StoreError;
use crate::store::catalog::{NewActivity, NewSession, SessionEdit, edit_session};
use crate::store::retrying;

/// The longest planning served at once.
pub const MAX_PLANNING_DAYS: i64 = 92;

/// Creates an activity with its eligibility, booking rules, options and required
/// documents (by code).
#[tracing::instrument(skip_all)]
pub async fn create_activity(state: &AppState, input: &ActivityInput) -> AppResult<Uuid> {
    let mut e = famille_model::validate::Fields::default();
    let name = e.take(validate::text("name", &input.name, 200));
    let venue_name = e.take(validate::text("venue", &input.venue, 200));
    let description = e.take(validate::optional_text(
        "description",
        input.description.as_deref(),
        2000,
    ));
    if let Err(errors) = validate::eligibility("eligibility", &input.eligibility) {
        errors.into_iter().for_each(|f| e.push(f));
    }
    if let Err(errors) = validate::booking_rules("rules", &input.rules) {
        errors.into_iter().for_each(|f| e.push(f));
    }
    if input.options.is_empty() || input.options.len() > 20 {
        e.push(FieldError::new("options", "de 1 à 20 prestations"));
    }
    let options: Vec<String> = input
        .options
        .iter()
        .enumerate()
        .filter_map(|(i, o)| e.take(validate::text(&format!("options[{i}]"), o, 200)))
        .collect();
    let (name, venue_name, description) = e.finish(|| {
        (
            name.unwrap_or_default(),
            venue_name.unwrap_or_default(),
            description.flatten(),
        )
    })?;
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
    Ok(id)
}

/// Adds a dated session to an activity (`option_id` must be one of its options).
#[tracing::instrument(skip(state, input))]
pub async fn create_session(
    state: &AppState,
    activity_id: Uuid,
    input: &SessionInput,
) -> AppResult<Uuid> {
    validate::capacities(input.capacity, input.capacity_young, input.capacity_old)?;
    let today = famille_model::calendar::paris_date(state.clock.now());
    validate::session_date("date", input.date, today)?;
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
        Ok(()) => Ok(id),
        Err(StoreError::Duplicate(_)) => Err(AppError::Conflict(
            "Cette prestation a déjà une séance à cette date.",
        )),
        Err(e) => Err(e.into()),
    }
}

/// Changes a session's capacities, or closes / reopens it. Places this makes
/// available (capacity raised, session reopened) go to the waitlist first, in the
/// same transaction.
#[tracing::instrument(skip(state, input))]
pub async fn update_session(state: &AppState, id: Uuid, input: &SessionUpdate) -> AppResult<()> {
    validate::capacities(input.capacity, input.capacity_young, input.capacity_old)?;
    if input.status == famille_model::booking::SessionStatus::Cancelled {
        return Err(FieldError::new(
            "status",
            "« open » ou « closed » (l'annulation a sa propre action)",
        )
        .into());
    }
    let edit = retrying(|| async move {
        let mut tx = state.db.begin_at(state.clock.now()).await?;
        let edit = edit_session(
            &mut tx,
            id,
            input.capacity,
            input.capacity_young,
            input.capacity_old,
            input.status,
        )
        .await?;
        if edit == SessionEdit::Done {
            crate::bookings::places_made_available(&mut tx, id).await?;
        }
        tx.commit().await?;
        Ok(edit)
    })
    .await?;
    match edit {
        SessionEdit::Done => Ok(()),
        SessionEdit::NotFound => Err(AppError::NotFound),
        SessionEdit::Conflict => Err(AppError::Conflict(
            "Impossible : la séance est annulée, ou plus d'enfants que cette capacité y ont déjà une place.",
        )),
    }
}

/// The planning: sessions between two dates (default: from today, 92 days) with
/// places held, waitlist and approvals.
pub async fn planning(
    state: &AppState,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> AppResult<Vec<StaffSession>> {
    let (from, to) = validate::period(
        from.unwrap_or_else(|| famille_model::calendar::paris_date(state.clock.now())),
        to,
        MAX_PLANNING_DAYS,
        MAX_PLANNING_DAYS + 1,
    )?;
    let n = |v: i32| u32::try_from(v).unwrap_or(0);
    let rows = state.db.catalog().staff_sessions(from, to).await?;
    Ok(rows
        .into_iter()
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
        .collect())
}

/// Adds an activity category (admins).
pub async fn create_category(state: &AppState, input: &CategoryInput) -> AppResult<Uuid> {
    let mut e = famille_model::validate::Fields::default();
    let code = e.take(validate::code("code", &input.code));
    let name = e.take(validate::text("name", &input.name, 200));
    let (code, name) = e.finish(|| (code.unwrap_or_default(), name.unwrap_or_default()))?;
    let id = Uuid::now_v7();
    let position = state.db.catalog().next_category_position().await?;
    match state
        .db
        .catalog()
        .insert_category(id, &code, &name, position)
        .await
    {
        Ok(()) => Ok(id),
        Err(StoreError::Duplicate(_)) => {
            Err(AppError::Conflict("Une catégorie porte déjà ce code."))
        }
        Err(e) => Err(e.into()),
    }
}
