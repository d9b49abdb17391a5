//! The parent's unanswered intents laid over the server's state, so the calendar
//! shows a booking made offline at once, with the colour the server will give it
//! (the same rules from `famille_model`): a cancellation after the deadline is shown
//! as late before the server even says so.

use chrono::{DateTime, NaiveDate, Utc};
use famille_model::api::Mutation;
use famille_model::booking::{BookingRules, BookingWindow, ReservationStatus, booked_status};
use famille_model::calendar_view::Booked;
use uuid::Uuid;

/// One intent not yet reflected in the server state the phone holds.
#[derive(Debug, Clone, Copy)]
pub struct Intent<'a> {
    pub mutation: &'a Mutation,
}

/// The session a cancellation or a waitlist departure is about, when known.
pub fn target_session(
    mutation: &Mutation,
    session_of: impl Fn(Uuid) -> Option<Uuid>,
) -> Option<Uuid> {
    match *mutation {
        Mutation::Reserve { session_id, .. } | Mutation::JoinWaitlist { session_id, .. } => {
            Some(session_id)
        }
        Mutation::Cancel { reservation_id, .. }
        | Mutation::LeaveWaitlist { reservation_id, .. } => session_of(reservation_id),
    }
}

/// The cell an overlay is computed for.
#[derive(Debug, Clone, Copy)]
pub struct Cell<'a> {
    pub child_id: Uuid,
    pub session_id: Uuid,
    pub date: NaiveDate,
    pub rules: &'a BookingRules,
    /// The session is open (not closed or cancelled by the services).
    pub open: bool,
}

/// The child's reservations on one session with the intents applied in order, newest
/// first, and whether any intent touched them (the cell is then "pending").
pub fn overlay(
    server: Vec<Booked>,
    intents: &[Intent<'_>],
    cell: Cell<'_>,
    now: DateTime<Utc>,
) -> (Vec<Booked>, bool) {
    let Cell {
        child_id,
        session_id,
        date,
        rules,
        open,
    } = cell;
    let mut bookings = server;
    let mut pending = false;
    for intent in intents {
        match *intent.mutation {
            Mutation::Reserve {
                id,
                child_id: c,
                session_id: s,
            } if c == child_id && s == session_id => {
                let window = if open {
                    rules.booking_window(date, now)
                } else {
                    BookingWindow::Closed
                };
                bookings.insert(
                    0,
                    Booked {
                        id,
                        status: booked_status(rules, window),
                        free_cancel_until: None,
                    },
                );
                pending = true;
            }
            Mutation::JoinWaitlist {
                id,
                child_id: c,
                session_id: s,
            } if c == child_id && s == session_id => {
                bookings.insert(
                    0,
                    Booked {
                        id,
                        status: ReservationStatus::Waitlisted,
                        free_cancel_until: None,
                    },
                );
                pending = true;
            }
            Mutation::Cancel { reservation_id, .. } => {
                if let Some(b) = bookings.iter_mut().find(|b| b.id == reservation_id) {
                    b.status = if rules.cancellation_is_late(date, now, b.free_cancel_until) {
                        ReservationStatus::LateCancelled
                    } else {
                        ReservationStatus::Cancelled
                    };
                    pending = true;
                }
            }
            Mutation::LeaveWaitlist { reservation_id, .. } => {
                if let Some(b) = bookings.iter_mut().find(|b| b.id == reservation_id) {
                    b.status = ReservationStatus::Cancelled;
                    pending = true;
                }
            }
            _ => {}
        }
    }
    (bookings, pending)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveTime, TimeZone};
    use famille_model::booking::{LateBooking, Opening, SkipDays, TimeRule};

    fn rules() -> BookingRules {
        let t = NaiveTime::from_hms_opt(23, 59, 0).unwrap();
        BookingRules {
            opening: Opening::Always,
            booking_deadline: TimeRule::DaysBefore {
                days: 2,
                time: t,
                skip: SkipDays::default(),
            },
            cancellation_deadline: TimeRule::DaysBefore {
                days: 7,
                time: t,
                skip: SkipDays::default(),
            },
            late_booking: LateBooking::Refused,
            requires_approval: false,
            waitlist: true,
        }
    }

    fn cell(child_id: Uuid, session_id: Uuid, date: NaiveDate, rules: &BookingRules) -> Cell<'_> {
        Cell {
            child_id,
            session_id,
            date,
            rules,
            open: true,
        }
    }

    #[test]
    fn an_offline_booking_shows_at_once_and_a_late_cancellation_as_late() {
        let r = rules();
        let (child, session) = (Uuid::now_v7(), Uuid::now_v7());
        let date = NaiveDate::from_ymd_opt(2026, 12, 16).unwrap();
        // Ten days before: booking open, cancellation free.
        let early = Utc.with_ymd_and_hms(2026, 12, 6, 10, 0, 0).unwrap();
        let reserve = Mutation::Reserve {
            id: Uuid::now_v7(),
            child_id: child,
            session_id: session,
        };
        let intents = [Intent { mutation: &reserve }];
        let (b, pending) = overlay(vec![], &intents, cell(child, session, date, &r), early);
        assert!(pending);
        assert_eq!(b[0].status, ReservationStatus::Reserved);
        // Another child's intent does not touch this cell.
        let (b, pending) = overlay(
            vec![],
            &intents,
            cell(Uuid::now_v7(), session, date, &r),
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
        let intents = [Intent { mutation: &cancel }];
        let (b, _) = overlay(vec![held], &intents, cell(child, session, date, &r), early);
        assert_eq!(b[0].status, ReservationStatus::Cancelled);
        // Four days before, past the 7-day deadline: billed, shown as such offline.
        let late = Utc.with_ymd_and_hms(2026, 12, 12, 10, 0, 0).unwrap();
        let (b, pending) = overlay(vec![held], &intents, cell(child, session, date, &r), late);
        assert!(pending);
        assert_eq!(b[0].status, ReservationStatus::LateCancelled);
        // Promoted after the deadline with 24 hours of grace: still free.
        let promoted = Booked {
            free_cancel_until: Some(late + chrono::Duration::hours(24)),
            ..held
        };
        let (b, _) = overlay(
            vec![promoted],
            &intents,
            cell(child, session, date, &r),
            late,
        );
        assert_eq!(b[0].status, ReservationStatus::Cancelled);
    }
}
