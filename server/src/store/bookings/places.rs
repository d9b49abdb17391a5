//! Places taken and given back with conditional updates (so capacity holds whatever
//! the concurrency, on both backends), and the waitlist served in the order the
//! model decides. A session enters the change feed when "full or not" flips for an
//! age group (the phones are never told counts).

use chrono::{DateTime, NaiveDate, Utc};
use famille_model::booking::{
    AgeGroup, BookingRules, Capacity, ReservationStatus, SessionStatus, Waiting, may_promote,
    promote, promoted_status, promotion_grace,
};
use famille_model::notice::BookingNames;
use uuid::Uuid;

use super::super::catalog::CapacityRow;
use super::super::feed::FeedEntry;
use super::super::{StoreResult, Tx, on_tx};

/// Takes one place for a child of `group`; `None` when none is left.
pub async fn take_place(
    tx: &mut Tx,
    session_id: Uuid,
    group: AgeGroup,
) -> StoreResult<Option<Capacity>> {
    let now = tx.now();
    let after: Option<CapacityRow> = on_tx!(tx, |c| {
        sqlx::query_as(
        "UPDATE sessions SET held = held + 1, held_young = held_young + $2, held_old = held_old + $3, updated_at = $4 \
         WHERE id = $1 AND held < capacity \
           AND ($2 = 0 OR capacity_young IS NULL OR held_young < capacity_young) \
           AND ($3 = 0 OR capacity_old IS NULL OR held_old < capacity_old) \
         RETURNING capacity, capacity_young, capacity_old, held, held_young, held_old",
    )
    .bind(session_id)
    .bind(i32::from(group.is_younger()))
    .bind(i32::from(!group.is_younger()))
    .bind(now)
    .fetch_optional(&mut *c)
    .await
    })?;
    let after = after.map(|row| Capacity::from(&row));
    if let Some(after) = after
        && after.fullness_differs(&after.released(group))
    {
        tx.changed(FeedEntry::session(session_id));
    }
    Ok(after)
}

/// Gives a place of `group` back.
pub async fn release_place(
    tx: &mut Tx,
    session_id: Uuid,
    group: AgeGroup,
) -> StoreResult<Capacity> {
    let now = tx.now();
    let after: CapacityRow = on_tx!(tx, |c| {
        sqlx::query_as(
        "UPDATE sessions SET held = held - 1, held_young = held_young - $2, held_old = held_old - $3, updated_at = $4 \
         WHERE id = $1 RETURNING capacity, capacity_young, capacity_old, held, held_young, held_old",
    )
    .bind(session_id)
    .bind(i32::from(group.is_younger()))
    .bind(i32::from(!group.is_younger()))
    .bind(now)
    .fetch_one(&mut *c)
    .await
    })?;
    let after = Capacity::from(&after);
    if after.fullness_differs(&after.taken(group)) {
        tx.changed(FeedEntry::session(session_id));
    }
    Ok(after)
}

/// A child who got a place from the waitlist.
#[derive(Debug, Clone, PartialEq)]
pub struct Promotion {
    pub family_id: Uuid,
    pub child_id: Uuid,
    pub session_id: Uuid,
    /// How the family names it (for the notice).
    pub booking: BookingNames,
    pub free_cancel_until: Option<DateTime<Utc>>,
    /// Reserved, or pending the services' approval ([`promoted_status`]).
    pub status: ReservationStatus,
}

#[derive(sqlx::FromRow)]
struct SessionForWaitlist {
    date: NaiveDate,
    #[sqlx(try_from = "String")]
    status: SessionStatus,
    #[sqlx(try_from = "String")]
    rules: BookingRules,
    #[sqlx(flatten)]
    places: CapacityRow,
}

#[derive(sqlx::FromRow)]
struct WaitingRow {
    id: Uuid,
    family_id: Uuid,
    child_id: Uuid,
    #[sqlx(rename = "young", try_from = "bool")]
    group: AgeGroup,
}

/// Gives the session's free places to the children waiting for them, in the order
/// [`famille_model::booking::promote`] decides, until the day itself. Call it after
/// anything that makes places available (a cancellation, a refusal, a capacity
/// raised, a session reopened, a child removed).
pub async fn serve_waitlist(tx: &mut Tx, session_id: Uuid) -> StoreResult<Vec<Promotion>> {
    let now = tx.now();
    let (session, waiting) = on_tx!(tx, |c| {
        let session: Option<SessionForWaitlist> = sqlx::query_as(
            "SELECT s.date, s.status, a.rules, s.capacity, s.capacity_young, s.capacity_old, \
             s.held, s.held_young, s.held_old \
             FROM sessions s JOIN activities a ON a.id = s.activity_id WHERE s.id = $1",
        )
        .bind(session_id)
        .fetch_optional(&mut *c)
        .await?;
        let waiting: Vec<WaitingRow> = sqlx::query_as(
            "SELECT id, family_id, child_id, young FROM reservations \
             WHERE session_id = $1 AND status = 'waitlisted' ORDER BY waitlisted_at, id",
        )
        .bind(session_id)
        .fetch_all(&mut *c)
        .await?;
        Ok::<_, sqlx::Error>((session, waiting))
    })?;
    let Some(session) = session else {
        return Ok(Vec::new());
    };
    if waiting.is_empty()
        || session.status == SessionStatus::Cancelled
        || !may_promote(session.date, now)
    {
        return Ok(Vec::new());
    }
    let line: Vec<Waiting> = waiting
        .iter()
        .map(|w| Waiting {
            reservation_id: w.id,
            group: w.group,
        })
        .collect();
    let (promoted, _) = promote(&line, Capacity::from(&session.places));
    let free_cancel_until = promotion_grace(&session.rules, session.date, now);
    let status = promoted_status(&session.rules);
    let mut promotions = Vec::with_capacity(promoted.len());
    for id in promoted {
        let Some(w) = waiting.iter().find(|w| w.id == id) else {
            continue;
        };
        if take_place(tx, session_id, w.group).await?.is_none() {
            // Taken meanwhile by a concurrent transaction: run again on fresh facts.
            return Err(super::super::StoreError::Retry);
        }
        let moved = on_tx!(tx, |c| {
            sqlx::query(
            "UPDATE reservations SET status = $4, promoted_at = $2, free_cancel_until = $3, updated_at = $2 \
             WHERE id = $1 AND status = 'waitlisted'",
        )
        .bind(w.id)
        .bind(now)
        .bind(free_cancel_until)
        .bind(status.as_str())
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected())
        })?;
        if moved == 0 {
            // The family left the waitlist meanwhile.
            return Err(super::super::StoreError::Retry);
        }
        tx.changed(FeedEntry::reservation(w.family_id, w.id));
        let Some(booking) = booking_names(tx, w.id).await? else {
            continue;
        };
        promotions.push(Promotion {
            family_id: w.family_id,
            child_id: w.child_id,
            session_id,
            booking,
            free_cancel_until,
            status,
        });
    }
    Ok(promotions)
}

/// How a parent names a booking (child, activity, option, day).
pub async fn booking_names(tx: &mut Tx, reservation_id: Uuid) -> StoreResult<Option<BookingNames>> {
    let row: Option<(String, String, String, NaiveDate)> = on_tx!(tx, |c| sqlx::query_as(
        "SELECT ch.first_name, a.name, o.name, s.date FROM reservations r \
         JOIN children ch ON ch.id = r.child_id JOIN sessions s ON s.id = r.session_id \
         JOIN activities a ON a.id = s.activity_id JOIN activity_options o ON o.id = s.option_id \
         WHERE r.id = $1",
    )
    .bind(reservation_id)
    .fetch_optional(&mut *c)
    .await)?;
    Ok(row.map(|(child, activity, option, date)| BookingNames {
        reservation_id,
        child,
        activity,
        option,
        date,
    }))
}
