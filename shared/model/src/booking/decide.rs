//! The booking decisions, written once: the server takes them inside the booking
//! transaction (it reads the facts, calls these functions, writes the decision) and
//! the phone's core takes the very same ones offline to show a queued intent with
//! the outcome the server will give it.
//!
//! Facts in, a decision value out: which status, billed or not, whether a place is
//! taken or freed, who is promoted from the waitlist. Nothing here reads a clock or
//! a database.

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use super::{
    AgeGroup, BookingRules, BookingWindow, Capacity, PROMOTION_GRACE, ReservationStatus,
    SessionStatus,
};
use crate::ErrorCode;
use crate::calendar::paris_date;

/// What a parent asks of a day the child is not booked on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BookIntent {
    Reserve,
    JoinWaitlist,
}

/// What a parent asks of a booking the child has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReleaseIntent {
    Cancel,
    LeaveWaitlist,
}

/// Why an intent is refused; each is its own [`ErrorCode`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    DossierPending,
    UnpaidInvoices,
    NotEligible,
    DocumentRequired,
    AlreadyBooked,
    BookingClosed,
    SessionFull,
    PlacesAvailable,
    WaitlistUnavailable,
}

impl Refusal {
    pub fn code(self) -> ErrorCode {
        match self {
            Refusal::DossierPending => ErrorCode::DossierPending,
            Refusal::UnpaidInvoices => ErrorCode::UnpaidInvoices,
            Refusal::NotEligible => ErrorCode::NotEligible,
            Refusal::DocumentRequired => ErrorCode::DocumentRequired,
            Refusal::AlreadyBooked => ErrorCode::AlreadyBooked,
            Refusal::BookingClosed => ErrorCode::BookingClosed,
            Refusal::SessionFull => ErrorCode::SessionFull,
            Refusal::PlacesAvailable => ErrorCode::PlacesAvailable,
            Refusal::WaitlistUnavailable => ErrorCode::WaitlistUnavailable,
        }
    }
}

/// What is known, at the moment of deciding, about a child and a session.
#[derive(Debug, Clone, Copy)]
pub struct BookingFacts<'a> {
    pub dossier_active: bool,
    /// Unpaid invoices past due block new bookings (`payments::unpaid_blocks`).
    pub unpaid_blocked: bool,
    /// Age and school level admit the child on the session's date.
    pub eligible: bool,
    /// A required document is missing or will have run out by the session's date.
    pub documents_missing: bool,
    /// The child already holds, or waits for, a place on this session.
    pub already_booked: bool,
    pub session: SessionStatus,
    pub rules: &'a BookingRules,
    pub window: BookingWindow,
    /// No place left for the child's age group.
    pub full: bool,
}

/// What a booking intent does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BookingDecision {
    /// Take a place of the child's group; the reservation gets `status` (`reserved`,
    /// `late_booked`, billed with a surcharge, or `pending_approval`).
    TakePlace { status: ReservationStatus },
    /// Join the waitlist: no place is taken.
    Wait,
}

/// Decides a booking, checking in the order a parent should hear about it: the
/// dossier first, then the child, then the day, then the places.
pub fn decide_booking(
    intent: BookIntent,
    f: &BookingFacts<'_>,
) -> Result<BookingDecision, Refusal> {
    if !f.dossier_active {
        return Err(Refusal::DossierPending);
    }
    if f.unpaid_blocked {
        return Err(Refusal::UnpaidInvoices);
    }
    if !f.eligible {
        return Err(Refusal::NotEligible);
    }
    if f.documents_missing {
        return Err(Refusal::DocumentRequired);
    }
    if f.already_booked {
        return Err(Refusal::AlreadyBooked);
    }
    let bookable = f.session == SessionStatus::Open
        && matches!(f.window, BookingWindow::Open | BookingWindow::Late);
    if !bookable {
        return Err(Refusal::BookingClosed);
    }
    match intent {
        BookIntent::Reserve if f.full => Err(Refusal::SessionFull),
        BookIntent::Reserve => Ok(BookingDecision::TakePlace {
            status: booked_status(f.rules, f.window),
        }),
        BookIntent::JoinWaitlist if !f.full => Err(Refusal::PlacesAvailable),
        BookIntent::JoinWaitlist if !f.rules.waitlist => Err(Refusal::WaitlistUnavailable),
        BookIntent::JoinWaitlist => Ok(BookingDecision::Wait),
    }
}

/// The status a new booking gets once a place is secured.
pub fn booked_status(rules: &BookingRules, window: BookingWindow) -> ReservationStatus {
    if rules.requires_approval {
        ReservationStatus::PendingApproval
    } else if window == BookingWindow::Late {
        ReservationStatus::LateBooked
    } else {
        ReservationStatus::Reserved
    }
}

/// What is known about a booking the parent wants to give back.
#[derive(Debug, Clone, Copy)]
pub struct ReleaseFacts<'a> {
    pub status: ReservationStatus,
    pub date: NaiveDate,
    pub rules: &'a BookingRules,
    /// The grace of a family promoted from the waitlist after the deadline.
    pub free_cancel_until: Option<DateTime<Utc>>,
    pub now: DateTime<Utc>,
}

/// What a cancellation (or leaving the waitlist) does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReleaseDecision {
    /// Already cancelled or refused: the intent is met, nothing changes.
    AlreadyDone,
    /// The reservation becomes `status` (`cancelled`, or `late_cancelled` when the
    /// day stays `billed`); a place it held is freed, and the first waiting children
    /// are then promoted when `promote`.
    Release {
        status: ReservationStatus,
        billed: bool,
        frees_place: bool,
        promote: bool,
    },
}

/// Decides a cancellation. A booking still awaiting the services' approval is not a
/// place the family committed to: it is cancelled free whatever the deadline (the
/// guide's "annulation tardive" is about confirmed bookings).
pub fn decide_release(
    intent: ReleaseIntent,
    f: &ReleaseFacts<'_>,
) -> Result<ReleaseDecision, Refusal> {
    if f.status.is_ended() {
        return Ok(ReleaseDecision::AlreadyDone);
    }
    if f.status == ReservationStatus::Waitlisted {
        return Ok(ReleaseDecision::Release {
            status: ReservationStatus::Cancelled,
            billed: false,
            frees_place: false,
            promote: false,
        });
    }
    if intent == ReleaseIntent::LeaveWaitlist {
        // Promoted meanwhile: leaving would now be a cancellation, which the parent
        // did not ask for.
        return Err(Refusal::AlreadyBooked);
    }
    let today = paris_date(f.now);
    if today > f.date {
        return Err(Refusal::BookingClosed);
    }
    let late = f.status != ReservationStatus::PendingApproval
        && f.rules
            .cancellation_is_late(f.date, f.now, f.free_cancel_until);
    let frees_place = f.status.holds_place();
    Ok(ReleaseDecision::Release {
        status: if late {
            ReservationStatus::LateCancelled
        } else {
            ReservationStatus::Cancelled
        },
        billed: late,
        frees_place,
        promote: frees_place && may_promote(f.date, f.now),
    })
}

/// Whether places freed on a session of `date` still go to the waitlist at `now`:
/// until the day itself (Paris time).
pub fn may_promote(date: NaiveDate, now: DateTime<Utc>) -> bool {
    paris_date(now) <= date
}

/// A child waiting for a place, in waitlist order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Waiting {
    pub reservation_id: Uuid,
    pub group: AgeGroup,
}

/// The waiting children who get a place when `capacity` has room, first come first
/// served: each in turn takes a place of its group if one is left; a child whose
/// group is full lets the next one by. Returns the promoted in order, and the
/// capacity once they hold their places.
pub fn promote(waiting: &[Waiting], capacity: Capacity) -> (Vec<Uuid>, Capacity) {
    let mut capacity = capacity;
    let mut promoted = Vec::new();
    for w in waiting {
        if !capacity.full(w.group) {
            capacity = capacity.taken(w.group);
            promoted.push(w.reservation_id);
        }
    }
    (promoted, capacity)
}

/// The status a waiting child gets with a place: the same approval as a booking
/// (an activity whose bookings the services approve has its promotions approved
/// too: a place freed is not a way around them).
pub fn promoted_status(rules: &BookingRules) -> ReservationStatus {
    if rules.requires_approval {
        ReservationStatus::PendingApproval
    } else {
        ReservationStatus::Reserved
    }
}

/// Until when a child promoted `now` may be cancelled free: a promotion that comes
/// after the cancellation deadline gives [`PROMOTION_GRACE`], so that the family is
/// not billed for a day it could not decline in time.
pub fn promotion_grace(
    rules: &BookingRules,
    date: NaiveDate,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    (now >= rules.cancellation_deadline(date)).then(|| now + PROMOTION_GRACE)
}

/// What the services' answer to a booking awaiting approval does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApprovalDecision {
    pub status: ReservationStatus,
    /// A refusal gives the place back (and the waitlist is served).
    pub frees_place: bool,
}

/// The services approve or refuse a booking; `None` when it is not awaiting approval.
pub fn decide_approval(status: ReservationStatus, approve: bool) -> Option<ApprovalDecision> {
    (status == ReservationStatus::PendingApproval).then_some(if approve {
        ApprovalDecision {
            status: ReservationStatus::Reserved,
            frees_place: false,
        }
    } else {
        ApprovalDecision {
            status: ReservationStatus::Refused,
            frees_place: true,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::booking::LateBooking;
    use chrono::TimeZone;

    fn rules(approval: bool, waitlist: bool, late: LateBooking) -> BookingRules {
        BookingRules {
            late_booking: late,
            requires_approval: approval,
            waitlist,
            ..BookingRules::days_before(2, 7)
        }
    }

    fn facts(r: &BookingRules) -> BookingFacts<'_> {
        BookingFacts {
            dossier_active: true,
            unpaid_blocked: false,
            eligible: true,
            documents_missing: false,
            already_booked: false,
            session: SessionStatus::Open,
            rules: r,
            window: BookingWindow::Open,
            full: false,
        }
    }

    #[test]
    fn booking_checks_in_order() {
        let r = rules(false, true, LateBooking::Surcharged);
        let ok = facts(&r);
        let decide = |f: BookingFacts<'_>| decide_booking(BookIntent::Reserve, &f);
        assert_eq!(
            decide(ok),
            Ok(BookingDecision::TakePlace {
                status: ReservationStatus::Reserved
            })
        );
        assert_eq!(
            decide(BookingFacts {
                window: BookingWindow::Late,
                ..ok
            }),
            Ok(BookingDecision::TakePlace {
                status: ReservationStatus::LateBooked
            })
        );
        let refused = [
            (
                BookingFacts {
                    dossier_active: false,
                    eligible: false,
                    ..ok
                },
                Refusal::DossierPending,
            ),
            (
                BookingFacts {
                    unpaid_blocked: true,
                    eligible: false,
                    ..ok
                },
                Refusal::UnpaidInvoices,
            ),
            (
                BookingFacts {
                    eligible: false,
                    documents_missing: true,
                    ..ok
                },
                Refusal::NotEligible,
            ),
            (
                BookingFacts {
                    documents_missing: true,
                    already_booked: true,
                    ..ok
                },
                Refusal::DocumentRequired,
            ),
            (
                BookingFacts {
                    already_booked: true,
                    full: true,
                    ..ok
                },
                Refusal::AlreadyBooked,
            ),
            (
                BookingFacts {
                    session: SessionStatus::Closed,
                    ..ok
                },
                Refusal::BookingClosed,
            ),
            (
                BookingFacts {
                    window: BookingWindow::Closed,
                    full: true,
                    ..ok
                },
                Refusal::BookingClosed,
            ),
            (
                BookingFacts {
                    window: BookingWindow::NotYetOpen {
                        opens_at: DateTime::<Utc>::MIN_UTC,
                    },
                    ..ok
                },
                Refusal::BookingClosed,
            ),
            (BookingFacts { full: true, ..ok }, Refusal::SessionFull),
        ];
        for (f, refusal) in refused {
            assert_eq!(decide(f), Err(refusal));
        }
        let approval = rules(true, true, LateBooking::Surcharged);
        assert_eq!(
            decide(BookingFacts {
                rules: &approval,
                window: BookingWindow::Late,
                ..ok
            }),
            Ok(BookingDecision::TakePlace {
                status: ReservationStatus::PendingApproval
            })
        );
    }

    #[test]
    fn the_waitlist_is_for_full_days_of_activities_that_keep_one() {
        let r = rules(false, true, LateBooking::Refused);
        let join = |f: BookingFacts<'_>| decide_booking(BookIntent::JoinWaitlist, &f);
        assert_eq!(join(facts(&r)), Err(Refusal::PlacesAvailable));
        assert_eq!(
            join(BookingFacts {
                full: true,
                ..facts(&r)
            }),
            Ok(BookingDecision::Wait)
        );
        let without = rules(false, false, LateBooking::Refused);
        assert_eq!(
            join(BookingFacts {
                full: true,
                ..facts(&without)
            }),
            Err(Refusal::WaitlistUnavailable)
        );
    }

    fn at(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap()
    }

    #[test]
    fn cancellations_free_late_and_pending_approval() {
        let r = rules(false, true, LateBooking::Refused);
        let date = NaiveDate::from_ymd_opt(2026, 12, 16).unwrap();
        let release = |status, now, intent| {
            decide_release(
                intent,
                &ReleaseFacts {
                    status,
                    date,
                    rules: &r,
                    free_cancel_until: None,
                    now,
                },
            )
        };
        let early = at(2026, 12, 6, 10);
        let late = at(2026, 12, 12, 10);
        assert_eq!(
            release(ReservationStatus::Reserved, early, ReleaseIntent::Cancel),
            Ok(ReleaseDecision::Release {
                status: ReservationStatus::Cancelled,
                billed: false,
                frees_place: true,
                promote: true
            })
        );
        assert_eq!(
            release(ReservationStatus::Reserved, late, ReleaseIntent::Cancel),
            Ok(ReleaseDecision::Release {
                status: ReservationStatus::LateCancelled,
                billed: true,
                frees_place: true,
                promote: true
            })
        );
        // Awaiting approval: free after the deadline too (the drift the phone had).
        assert_eq!(
            release(
                ReservationStatus::PendingApproval,
                late,
                ReleaseIntent::Cancel
            ),
            Ok(ReleaseDecision::Release {
                status: ReservationStatus::Cancelled,
                billed: false,
                frees_place: true,
                promote: true
            })
        );
        assert_eq!(
            release(
                ReservationStatus::Waitlisted,
                late,
                ReleaseIntent::LeaveWaitlist
            ),
            Ok(ReleaseDecision::Release {
                status: ReservationStatus::Cancelled,
                billed: false,
                frees_place: false,
                promote: false
            })
        );
        assert_eq!(
            release(
                ReservationStatus::Reserved,
                late,
                ReleaseIntent::LeaveWaitlist
            ),
            Err(Refusal::AlreadyBooked)
        );
        for ended in [
            ReservationStatus::Cancelled,
            ReservationStatus::LateCancelled,
            ReservationStatus::Refused,
        ] {
            assert_eq!(
                release(ended, late, ReleaseIntent::Cancel),
                Ok(ReleaseDecision::AlreadyDone)
            );
        }
        // The day after: too late to do anything.
        assert_eq!(
            release(
                ReservationStatus::Reserved,
                at(2026, 12, 17, 10),
                ReleaseIntent::Cancel
            ),
            Err(Refusal::BookingClosed)
        );
    }

    #[test]
    fn the_promotion_grace_keeps_a_late_promotion_free() {
        let r = rules(false, true, LateBooking::Refused);
        let date = NaiveDate::from_ymd_opt(2026, 12, 16).unwrap();
        let late = at(2026, 12, 12, 10);
        let until = promotion_grace(&r, date, late);
        assert_eq!(until, Some(late + PROMOTION_GRACE));
        assert_eq!(promotion_grace(&r, date, at(2026, 12, 1, 10)), None);
        let free = decide_release(
            ReleaseIntent::Cancel,
            &ReleaseFacts {
                status: ReservationStatus::Reserved,
                date,
                rules: &r,
                free_cancel_until: until,
                now: late + chrono::Duration::hours(3),
            },
        );
        assert!(matches!(
            free,
            Ok(ReleaseDecision::Release { billed: false, .. })
        ));
    }

    #[test]
    fn promotion_serves_the_line_in_order_by_group() {
        let capacity = Capacity {
            capacity: 3,
            capacity_young: Some(1),
            capacity_old: None,
            held: 1,
            held_young: 1,
            held_old: 0,
        };
        let ids: Vec<Uuid> = (0..4).map(|_| Uuid::now_v7()).collect();
        let waiting = [
            Waiting {
                reservation_id: ids[0],
                group: AgeGroup::Younger,
            },
            Waiting {
                reservation_id: ids[1],
                group: AgeGroup::Older,
            },
            Waiting {
                reservation_id: ids[2],
                group: AgeGroup::Younger,
            },
            Waiting {
                reservation_id: ids[3],
                group: AgeGroup::Older,
            },
        ];
        let (promoted, after) = promote(&waiting, capacity);
        // The young group is full: the two older children go first, in order.
        assert_eq!(promoted, vec![ids[1], ids[3]]);
        assert_eq!(after.held, 3);
        assert_eq!(promote(&waiting, after).0, Vec::<Uuid>::new());
    }

    #[test]
    fn approvals() {
        assert_eq!(
            decide_approval(ReservationStatus::PendingApproval, true),
            Some(ApprovalDecision {
                status: ReservationStatus::Reserved,
                frees_place: false
            })
        );
        assert_eq!(
            decide_approval(ReservationStatus::PendingApproval, false),
            Some(ApprovalDecision {
                status: ReservationStatus::Refused,
                frees_place: true
            })
        );
        assert_eq!(decide_approval(ReservationStatus::Reserved, true), None);
    }
}
