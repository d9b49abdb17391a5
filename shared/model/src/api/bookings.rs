//! A child's calendar, staff rosters and attendance, the iCalendar feed.

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use crate::booking::{AttendanceCode, BlockedBy, CellState, ReservationStatus, SessionStatus};

vocabulary! {
    /// The services' answer to a booking awaiting approval.
    ApprovalAnswer {
        Approve => "approve", "Accepter";
        Refuse => "refuse", "Refuser";
    }
}

wire! {
    /// One bookable session as a child's calendar shows it.
    pub struct CalendarSession {
        pub session_id: Uuid,
        pub activity_id: Uuid,
        /// "Mercredis ALSH Latresne"
        pub activity: String,
        /// "Journée complète"
        pub option: String,
        pub venue: String,
        pub state: CellState,
        /// Places left for this child (its age group and the whole session, the
        /// smaller); absent once booked or when booking is not possible.
        pub places_left: Option<u32>,
        pub reservation_id: Option<Uuid>,
        pub blocked_by: Option<BlockedBy>,
        /// Labels of the documents still missing when `blocked_by` is `document_required`.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub missing_documents: Vec<String>,
        pub booking_deadline: DateTime<Utc>,
        pub cancellation_deadline: DateTime<Utc>,
        /// Booked, but the child no longer fits the activity (a level or birth date
        /// corrected, the rules edited since): the day stays shown and cancellable,
        /// and the services see the same flag on their list.
        #[serde(default)]
        pub no_longer_eligible: bool,
        /// What the day costs this family, in cents: the price of its QF and
        /// residence with the meal, before a sibling reduction (the invoice applies
        /// it) and without a late surcharge; absent when the option is not billed.
        #[serde(default)]
        pub price_cents: Option<i64>,
    }

    pub struct CalendarDay {
        pub date: NaiveDate,
        pub sessions: Vec<CalendarSession>,
    }

    pub struct Calendar {
        pub child_id: Uuid,
        pub from: NaiveDate,
        pub to: NaiveDate,
        pub days: Vec<CalendarDay>,
    }

    /// The family's secret calendar address (shown once; asking again replaces it).
    pub struct CalendarFeed {
        pub url: String,
    }

    /// One child on a session's list.
    pub struct RosterEntry {
        pub reservation_id: Option<Uuid>,
        pub child_id: Uuid,
        pub family_id: Uuid,
        pub first_name: String,
        pub last_name: String,
        pub birth_date: NaiveDate,
        pub status: Option<ReservationStatus>,
        /// 1 for the first in line, when waitlisted.
        pub waitlist_position: Option<u32>,
        /// Flags only: the details stay in the health record (audited reads).
        pub has_allergies: bool,
        pub pai: bool,
        pub attendance: Option<AttendanceCode>,
        /// Booked, but the child no longer fits the activity's age or levels (on
        /// the level of the session's school year): for an agent to act on.
        #[serde(default)]
        pub no_longer_eligible: bool,
    }

    pub struct Roster {
        pub session_id: Uuid,
        pub activity: String,
        pub option: String,
        pub date: NaiveDate,
        pub status: SessionStatus,
        pub capacity: u32,
        pub held: u32,
        pub entries: Vec<RosterEntry>,
    }

    pub struct AttendanceInput {
        pub child_id: Uuid,
        pub code: AttendanceCode,
    }
}
