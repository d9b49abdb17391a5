//! The parent's unanswered intents laid over the server's state, each decided with
//! the model's own booking decisions (`famille_model::booking::decide_*`, the very
//! functions the server applies): a booking made offline shows at once with the
//! status the server will give it, a cancellation after the deadline shows as late
//! (but not one of a booking still awaiting approval), and intents on the same day
//! compose in the order the parent made them.

use chrono::{DateTime, NaiveDate, Utc};
use famille_model::booking::{
    BookIntent, BookingDecision, BookingFacts, BookingRules, ReleaseDecision, ReleaseFacts,
    ReleaseIntent, ReservationStatus, SessionStatus, decide_booking, decide_release,
};
use famille_model::calendar_view::{Booked, session_window};
use famille_model::queue::Mutation;
use uuid::Uuid;

/// The session a cancellation or a waitlist departure is about, when known.
pub fn target_session(
    mutation: &Mutation,
    session_of: impl Fn(Uuid) -> Option<Uuid>,
) -> Option<Uuid> {
    match mutation.booking_target() {
        Some((_, session_id)) => Some(session_id),
        None => mutation.released_reservation().and_then(session_of),
    }
}

/// The cell an overlay is computed for, with what the phone knows of its facts.
#[derive(Debug, Clone, Copy)]
pub struct Cell<'a> {
    pub child_id: Uuid,
    pub session_id: Uuid,
    pub date: NaiveDate,
    pub rules: &'a BookingRules,
    pub session: SessionStatus,
    pub dossier_active: bool,
    /// Unpaid invoices past due block new bookings.
    pub unpaid_blocked: bool,
    pub eligible: bool,
    pub documents_missing: bool,
    /// The child's age group has no place left (as of the last sync).
    pub full: bool,
}

/// What an intent did to a cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// It changed the bookings shown.
    Changed,
    /// The server will refuse it (the cell shows the state it keeps).
    Refused(famille_model::booking::Refusal),
    /// Already done: nothing changes (a cancellation the server applied).
    None,
}

/// The child's reservations on one session with the intents applied in order
/// (newest first), and whether any intent is still to be answered on them (the
/// cell is then "pending").
pub fn overlay(
    server: Vec<Booked>,
    intents: &[&Mutation],
    cell: Cell<'_>,
    now: DateTime<Utc>,
) -> (Vec<Booked>, bool) {
    let mut bookings = server;
    let mut pending = false;
    for intent in intents {
        if apply(&mut bookings, intent, &cell, now) != Effect::None {
            pending = true;
        }
    }
    (bookings, pending)
}

/// One intent on a cell's bookings.
pub fn apply(
    bookings: &mut Vec<Booked>,
    intent: &Mutation,
    cell: &Cell<'_>,
    now: DateTime<Utc>,
) -> Effect {
    let book = match *intent {
        Mutation::Reserve { .. } => Some(BookIntent::Reserve),
        Mutation::JoinWaitlist { .. } => Some(BookIntent::JoinWaitlist),
        Mutation::Cancel { .. } | Mutation::LeaveWaitlist { .. } => None,
        // Not about a day.
        Mutation::SendMessage { .. } | Mutation::ReadThread { .. } => return Effect::None,
    };
    if let Some(kind) = book {
        if intent.booking_target() != Some((cell.child_id, cell.session_id)) {
            return Effect::None;
        }
        let facts = BookingFacts {
            dossier_active: cell.dossier_active,
            unpaid_blocked: cell.unpaid_blocked,
            eligible: cell.eligible,
            documents_missing: cell.documents_missing,
            already_booked: bookings.iter().any(|b| b.status.is_live()),
            session: cell.session,
            rules: cell.rules,
            window: session_window(cell.session, cell.rules, cell.date, now),
            full: cell.full,
        };
        let status = match decide_booking(kind, &facts) {
            Ok(BookingDecision::TakePlace { status }) => status,
            Ok(BookingDecision::Wait) => ReservationStatus::Waitlisted,
            Err(refusal) => return Effect::Refused(refusal),
        };
        bookings.insert(
            0,
            Booked {
                id: intent.id(),
                status,
                free_cancel_until: None,
            },
        );
        return Effect::Changed;
    }
    let release = match intent {
        Mutation::LeaveWaitlist { .. } => ReleaseIntent::LeaveWaitlist,
        _ => ReleaseIntent::Cancel,
    };
    let Some(target) = intent.released_reservation() else {
        return Effect::None;
    };
    let Some(booking) = bookings.iter_mut().find(|b| b.id == target) else {
        return Effect::None;
    };
    let decision = decide_release(
        release,
        &ReleaseFacts {
            status: booking.status,
            date: cell.date,
            rules: cell.rules,
            free_cancel_until: booking.free_cancel_until,
            now,
        },
    );
    match decision {
        Ok(ReleaseDecision::Release { status, .. }) => {
            booking.status = status;
            Effect::Changed
        }
        Ok(ReleaseDecision::AlreadyDone) => Effect::None,
        Err(refusal) => Effect::Refused(refusal),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use famille_model::booking::Refusal;

    fn rules(approval: bool) -> BookingRules {
        BookingRules {
            requires_approval: approval,
            ..BookingRules::days_before(2, 7)
        }
    }

    fn cell(child_id: Uuid, session_id: Uuid, rules: &BookingRules) -> Cell<'_> {
        Cell {
            child_id,
            session_id,
            date: NaiveDate::from_ymd_opt(2026, 12, 16).unwrap(),
            rules,
            session: SessionStatus::Open,
            dossier_active: true,
            unpaid_blocked: false,
            eligible: true,
            documents_missing: false,
            full: false,
        }
    }

    #[test]
    fn an_offline_booking_shows_at_once_and_a_late_cancellation_as_late() {
        let r = rules(false);
        let (child, session) = (Uuid::now_v7(), Uuid::now_v7());
        // Ten days before: booking open, cancellation free.
        let early = Utc.with_ymd_and_hms(2026, 12, 6, 10, 0, 0).unwrap();
        let reserve = Mutation::Reserve {
            id: Uuid::now_v7(),
            child_id: child,
            session_id: session,
        };
        let (b, pending) = overlay(vec![], &[&reserve], cell(child, session, &r), early);
        assert!(pending);
        assert_eq!(b[0].status, ReservationStatus::Reserved);
        // Another child's intent does not touch this cell.
        let (b, pending) = overlay(
            vec![],
            &[&reserve],
            cell(Uuid::now_v7(), session, &r),
            early,
        );
        assert!(!pending && b.is_empty());

        let held = Booked {
            id: Uuid::now_v7(),
            status: ReservationStatus::Reserved,
            free_cancel_until: None,
        };
        let cancel = Mutation::Cancel {
            id: Uuid::now_v7(),
            reservation_id: held.id,
        };
        let (b, _) = overlay(vec![held], &[&cancel], cell(child, session, &r), early);
        assert_eq!(b[0].status, ReservationStatus::Cancelled);
        // Four days before, past the 7-day deadline: billed, shown as such offline.
        let late = Utc.with_ymd_and_hms(2026, 12, 12, 10, 0, 0).unwrap();
        let (b, pending) = overlay(vec![held], &[&cancel], cell(child, session, &r), late);
        assert!(pending);
        assert_eq!(b[0].status, ReservationStatus::LateCancelled);
        // ... but not a booking still awaiting approval: that one is free.
        let awaiting = Booked {
            status: ReservationStatus::PendingApproval,
            ..held
        };
        let (b, _) = overlay(vec![awaiting], &[&cancel], cell(child, session, &r), late);
        assert_eq!(b[0].status, ReservationStatus::Cancelled);
        // Promoted after the deadline with 24 hours of grace: still free.
        let promoted = Booked {
            free_cancel_until: Some(late + chrono::Duration::hours(24)),
            ..held
        };
        let (b, _) = overlay(vec![promoted], &[&cancel], cell(child, session, &r), late);
        assert_eq!(b[0].status, ReservationStatus::Cancelled);
    }

    #[test]
    fn a_cancellation_then_a_new_booking_of_the_same_day_compose() {
        let r = rules(false);
        let (child, session) = (Uuid::now_v7(), Uuid::now_v7());
        let early = Utc.with_ymd_and_hms(2026, 12, 6, 10, 0, 0).unwrap();
        let held = Booked {
            id: Uuid::now_v7(),
            status: ReservationStatus::Reserved,
            free_cancel_until: None,
        };
        let cancel = Mutation::Cancel {
            id: Uuid::now_v7(),
            reservation_id: held.id,
        };
        let again = Mutation::Reserve {
            id: Uuid::now_v7(),
            child_id: child,
            session_id: session,
        };
        let (b, pending) = overlay(
            vec![held],
            &[&cancel, &again],
            cell(child, session, &r),
            early,
        );
        assert!(pending);
        assert_eq!(b[0].id, again.id());
        assert_eq!(b[0].status, ReservationStatus::Reserved);
        assert_eq!(b[1].status, ReservationStatus::Cancelled);
        // Booking twice without cancelling: the second is refused, as on the server.
        let twice = Mutation::Reserve {
            id: Uuid::now_v7(),
            child_id: child,
            session_id: session,
        };
        let mut bookings = vec![held];
        assert_eq!(
            apply(&mut bookings, &twice, &cell(child, session, &r), early),
            Effect::Refused(Refusal::AlreadyBooked)
        );
        // Overdue invoices under the organisation's rule: refused, as on the server.
        let blocked = Cell {
            unpaid_blocked: true,
            ..cell(child, session, &r)
        };
        assert_eq!(
            apply(&mut vec![], &twice, &blocked, early),
            Effect::Refused(Refusal::UnpaidInvoices)
        );
    }
}
