//! Reservations and the waitlist. The store reads the facts a booking decision needs
//! and writes the decision `famille_model::booking` took; it decides nothing itself.
//!
//! - [`apply`]: the facts of a parent's intent (book, cancel) and the writes that
//!   carry out its decision, as steps of the caller's [`super::Tx`];
//! - [`places`]: places taken and given back, the waitlist served in order;
//! - [`staff`]: the services' actions (approvals, session cancellation), rosters
//!   and attendance;
//! - [`feeds`]: reservations as calendars show them, the iCalendar feed.
//!
//! Every write that another transaction may have raced (PostgreSQL runs them side
//! by side) is guarded on the state it read; a guard that finds a change answers
//! [`super::StoreError::Retry`] and the caller runs the whole intent again.

pub mod apply;
pub mod feeds;
pub mod places;
pub mod staff;

pub use apply::*;
pub use feeds::*;
pub use places::*;
pub use staff::*;

use super::Db;

/// The pool-level reads and writes of bookings (rosters, calendars, feeds); the
/// steps of a transaction are the free functions of the submodules.
pub struct Bookings<'a> {
    pub(super) db: &'a Db,
}

/// The statuses that hold a place or wait for one (SQL text of
/// [`famille_model::booking::ReservationStatus::is_live`]).
pub(crate) const LIVE: &str = "('reserved', 'late_booked', 'pending_approval', 'waitlisted')";
/// The statuses that hold a place ([`famille_model::booking::ReservationStatus::holds_place`]).
pub(crate) const HOLDING: &str = "('reserved', 'late_booked', 'pending_approval')";
