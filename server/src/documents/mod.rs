//! Documents: what the family sends ("Mes démarches", through the resumable
//! `uploads`), the services' decisions, the types of documents they ask for.
//! Validation clears the alert and unblocks booking at once (both read the same
//! validated documents); each decision lands in the family's change feed and
//! notifies its phones, in its transaction.

pub mod files;
pub mod http;
pub mod uploads;

use axum::response::{IntoResponse, Response};
use famille_model::ErrorCode;
use famille_model::api::{DocumentSnapshot, DocumentStatus, DocumentTypeInput};
use famille_model::calendar::paris_date;
use famille_model::notice::{Event, Notice};
use famille_model::validate::{self, FieldError};
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::StoreError;
use crate::store::audit::AuditAction;
use crate::store::documents::{decision_facts, record_decision, snapshot, take_expired};

/// The longest refusal reason, in characters.
pub const MAX_REASON: usize = 500;
/// Documents per staff listing.
pub const STAFF_PAGE: i64 = 200;
/// The longest label of a document type.
pub const MAX_TYPE_LABEL: usize = 120;

/// An agent's decision on a pending document.
#[derive(Debug, Clone, Copy)]
pub enum Verdict<'a> {
    /// Validated, until the date the agent gives (required when the type's validity
    /// is the agent's date).
    Validate(Option<chrono::NaiveDate>),
    /// Refused, with the reason the parent reads.
    Refuse(&'a str),
}

/// Validates or refuses a pending document; the family's feed gets the change and
/// its phones the notice.
#[tracing::instrument(skip(state, verdict))]
pub async fn decide(
    state: &AppState,
    document_id: Uuid,
    agent: Uuid,
    verdict: Verdict<'_>,
) -> AppResult<DocumentSnapshot> {
    let refusal = match verdict {
        Verdict::Refuse(reason) => Some(validate::text("reason", reason, MAX_REASON)?),
        Verdict::Validate(_) => None,
    };
    let now = state.clock.now();
    let mut tx = state.db.begin_at(now).await?;
    let facts = decision_facts(&mut tx, document_id)
        .await?
        .ok_or(AppError::NotFound)?;
    if facts.status != DocumentStatus::Pending {
        return Err(AppError::Conflict("Ce document a déjà été traité."));
    }
    let valid_until = match verdict {
        Verdict::Validate(date) => facts.validity.validation_end(paris_date(now), date)?,
        Verdict::Refuse(_) => None,
    };
    if !record_decision(
        &mut tx,
        document_id,
        facts.family_id,
        agent,
        valid_until,
        refusal.as_deref(),
    )
    .await?
    {
        return Err(AppError::Conflict("Ce document a déjà été traité."));
    }
    let document = facts.names(document_id);
    let event = if refusal.is_some() {
        Event::DocumentRefused { document }
    } else {
        Event::DocumentValidated { document }
    };
    tx.notify(Notice::new(facts.family_id, event));
    let decided = snapshot(&mut tx, document_id).await?;
    tx.commit().await?;
    Ok(decided)
}

/// Tells each family whose validated document ran out (once per document): an
/// alert notice, and the document back in its feed. Returns how many.
pub async fn notify_expired(state: &AppState) -> AppResult<usize> {
    let now = state.clock.now();
    let mut tx = state.db.begin_at(now).await?;
    let expired = take_expired(&mut tx, paris_date(now)).await?;
    let count = expired.len();
    for (family_id, document) in expired {
        tx.notify(Notice::new(family_id, Event::DocumentExpired { document }));
    }
    tx.commit().await?;
    Ok(count)
}

/// A document's file for an agent; the read is audited. The content type and
/// disposition are the server's, decided from the checked bytes at upload.
pub async fn open_file(state: &AppState, agent: Uuid, document_id: Uuid) -> AppResult<Response> {
    let (family_id, child_id, key, content_type) = state
        .db
        .uploads()
        .document_file(document_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let (Some(key), Some(content_type)) = (key, content_type) else {
        return Err(AppError::NotFound);
    };
    state
        .db
        .audit()
        .record(
            agent,
            AuditAction::DocumentRead,
            Some(family_id),
            child_id,
            state.clock.now(),
        )
        .await?;
    let bytes = state
        .files
        .get(&key)
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, content_type),
            (axum::http::header::CACHE_CONTROL, "no-store".to_owned()),
            (axum::http::header::CONTENT_DISPOSITION, "inline".to_owned()),
        ],
        bytes,
    )
        .into_response())
}

fn check_label(e: &mut famille_model::validate::Fields, label: &str) -> Option<String> {
    e.take(validate::text("label", label, MAX_TYPE_LABEL))
}

/// Adds a kind of document.
pub async fn create_type(state: &AppState, input: &DocumentTypeInput) -> AppResult<Uuid> {
    let mut e = famille_model::validate::Fields::default();
    let label = check_label(&mut e, &input.label);
    let code = e.take(validate::code("code", &input.code));
    let (label, code) = e.finish(|| (label.unwrap_or_default(), code.unwrap_or_default()))?;
    let input = DocumentTypeInput {
        code,
        label,
        ..input.clone()
    };
    match state.db.documents().insert_type(&input).await {
        Ok(id) => Ok(id),
        Err(StoreError::Duplicate(_)) => {
            Err(AppError::Conflict("Ce code de document existe déjà."))
        }
        Err(e) => Err(e.into()),
    }
}

/// Renames a kind of document or changes its validity (its code and scope stay:
/// documents already sent depend on them).
pub async fn update_type(state: &AppState, id: Uuid, input: &DocumentTypeInput) -> AppResult<()> {
    let mut e = famille_model::validate::Fields::default();
    let label = check_label(&mut e, &input.label);
    let label = e.finish(|| label.unwrap_or_default())?;
    if state
        .db
        .documents()
        .update_type(id, &label, input.validity)
        .await?
    {
        Ok(())
    } else {
        Err(AppError::NotFound)
    }
}

/// A refusal of an upload: its code says why (and the status, see
/// `crate::error::status_of`).
pub fn refused(code: ErrorCode, detail: impl Into<String>) -> AppError {
    AppError::refused_with(code, detail)
}

/// The field error of a missing child on a child's document.
pub fn child_required() -> AppError {
    FieldError::new(
        "child_id",
        "ce document concerne un enfant : indiquez lequel",
    )
    .into()
}
