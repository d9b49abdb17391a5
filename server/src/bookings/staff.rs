//! The services' actions on bookings: approve or refuse a booking awaiting
//! approval, cancel a session, read a roster (audited), take attendance. Each change
//! lands in the families' change feed and notifies them in its transaction.

use famille_model::api::{Roster, RosterEntry};
use famille_model::booking::{AttendanceCode, ReservationStatus, decide_approval};
use famille_model::dossier::{SchoolLevel, SchoolYear, level_in};
use famille_model::notice::{Event, Notice};
use famille_model::validate::FieldError;
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::audit::AuditAction;
use crate::store::bookings::{
    SessionCancellation, booking_names, release_place, reservation_context, set_status,
};
use crate::store::retrying;

/// What a refused approval or a conflict says.
const NOT_PENDING: &str = "Cette réservation n'est pas en attente de validation.";

/// Approves or refuses a booking awaiting approval; a refusal gives the place to the
/// waitlist.
#[tracing::instrument(skip(state))]
pub async fn decide_pending(
    state: &AppState,
    reservation_id: Uuid,
    approve: bool,
) -> AppResult<()> {
    retrying(|| async move {
        let mut tx = state.db.begin_at(state.clock.now()).await?;
        let Some(r) = reservation_context(&mut tx, reservation_id, None).await? else {
            return Ok(Err(AppError::NotFound));
        };
        let Some(decision) = decide_approval(r.status, approve) else {
            return Ok(Err(AppError::Conflict(NOT_PENDING)));
        };
        set_status(&mut tx, &r, r.status, decision.status).await?;
        if decision.frees_place {
            release_place(&mut tx, r.session_id, r.group).await?;
            super::places_made_available(&mut tx, r.session_id).await?;
        }
        if let Some(booking) = booking_names(&mut tx, r.id).await? {
            let event = if approve {
                Event::BookingApproved { booking }
            } else {
                Event::BookingRefused { booking }
            };
            tx.notify(Notice::new(r.family_id, event));
        }
        tx.commit().await?;
        Ok(Ok(()))
    })
    .await?
}

/// Cancels a session: every reservation is cancelled without charge and each family
/// told. Answers how many bookings it cancelled.
#[tracing::instrument(skip(state))]
pub async fn cancel_session(state: &AppState, session_id: Uuid) -> AppResult<usize> {
    retrying(|| async move {
        let mut tx = state.db.begin_at(state.clock.now()).await?;
        let affected = match crate::store::bookings::cancel_session(&mut tx, session_id).await? {
            SessionCancellation::NotFound => return Ok(Err(AppError::NotFound)),
            SessionCancellation::AlreadyCancelled => {
                return Ok(Err(AppError::Conflict("Cette journée est déjà annulée.")));
            }
            SessionCancellation::Cancelled(affected) => affected,
        };
        let count = affected.len();
        for a in affected {
            tx.notify(Notice::new(
                a.family_id,
                Event::SessionCancelled { booking: a.booking },
            ));
        }
        tx.commit().await?;
        Ok(Ok(count))
    })
    .await?
}

/// A session's list with allergy and PAI flags; the read is audited per child.
pub async fn roster(state: &AppState, staff: Uuid, session_id: Uuid) -> AppResult<Roster> {
    let (session, rows) = state
        .db
        .bookings()
        .roster(session_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let now = state.clock.now();
    let mut waitlist: Vec<(chrono::DateTime<chrono::Utc>, Uuid)> = rows
        .iter()
        .filter(|r| r.status == Some(famille_model::booking::ReservationStatus::Waitlisted))
        .filter_map(|r| Some((r.waitlisted_at?, r.child_id)))
        .collect();
    waitlist.sort();
    let mut entries = Vec::with_capacity(rows.len());
    for r in rows {
        state
            .db
            .audit()
            .record(
                staff,
                AuditAction::RosterRead,
                Some(r.family_id),
                Some(r.child_id),
                now,
            )
            .await?;
        entries.push(RosterEntry {
            reservation_id: r.reservation_id,
            child_id: r.child_id,
            family_id: r.family_id,
            first_name: r.first_name,
            last_name: r.last_name,
            birth_date: r.birth_date,
            status: r.status,
            waitlist_position: waitlist
                .iter()
                .position(|(_, c)| *c == r.child_id)
                .map(|p| p as u32 + 1),
            has_allergies: r.has_allergies,
            pai: r.pai,
            attendance: r.attendance,
            no_longer_eligible: r.status.is_some_and(ReservationStatus::is_live)
                && !session.eligibility.admits(
                    r.birth_date,
                    level_in(&r.school_levels, SchoolYear::of(session.date))
                        .unwrap_or(SchoolLevel::NotSchooled),
                    session.date,
                ),
        });
    }
    Ok(Roster {
        session_id,
        activity: session.activity,
        option: session.option,
        date: session.date,
        status: session.status,
        capacity: u32::try_from(session.capacity).unwrap_or(0),
        held: u32::try_from(session.held).unwrap_or(0),
        entries,
    })
}

pub async fn record_attendance(
    state: &AppState,
    staff: Uuid,
    session_id: Uuid,
    child_id: Uuid,
    code: AttendanceCode,
) -> AppResult<Roster> {
    let ok = state
        .db
        .bookings()
        .record_attendance(session_id, child_id, code, staff, state.clock.now())
        .await?;
    if !ok {
        return Err(FieldError::new(
            "code",
            "« présent non inscrit » est réservé aux enfants sans réservation ; les autres codes demandent une réservation",
        )
        .into());
    }
    roster(state, staff, session_id).await
}
