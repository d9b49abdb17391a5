//! One calendar cell, assembled from the facts both sides hold: the server from its
//! database, the phone from its local store (where pending mutations are overlaid).
//! Written once so a colour never differs between the app offline and the server.

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use crate::api::CalendarSession;
use crate::booking::{
    BlockedBy, BookingRules, BookingWindow, CellInput, ReservationStatus, cell_state, holds_place,
};

/// A document an activity requires.
pub trait Required {
    fn document_type_id(&self) -> Uuid;
    /// Whether one document serves the whole family (otherwise one per child).
    fn family_wide(&self) -> bool;
    fn label(&self) -> &str;
}

/// A validated document the family has on file.
pub trait OnFile {
    fn document_type_id(&self) -> Uuid;
    fn child_id(&self) -> Option<Uuid>;
    fn valid_until(&self) -> Option<NaiveDate>;
}

impl Required for crate::api::RequiredDocument {
    fn document_type_id(&self) -> Uuid {
        self.document_type_id
    }
    fn family_wide(&self) -> bool {
        self.scope == "family"
    }
    fn label(&self) -> &str {
        &self.label
    }
}

impl OnFile for crate::api::DocumentSnapshot {
    fn document_type_id(&self) -> Uuid {
        self.document_type_id
    }
    fn child_id(&self) -> Option<Uuid> {
        self.child_id
    }
    fn valid_until(&self) -> Option<NaiveDate> {
        self.valid_until
    }
}

/// The labels of the documents `child_id` still lacks for a session on `date`
/// (missing, or expired by then).
pub fn missing_documents<'r, R: Required + 'r, D: OnFile>(
    required: impl Iterator<Item = &'r R>,
    on_file: &[D],
    child_id: Uuid,
    date: NaiveDate,
) -> Vec<String> {
    required
        .filter(|req| {
            !on_file.iter().any(|doc| {
                doc.document_type_id() == req.document_type_id()
                    && (req.family_wide() || doc.child_id() == Some(child_id))
                    && doc.valid_until().is_none_or(|until| until >= date)
            })
        })
        .map(|req| req.label().to_owned())
        .collect()
}

/// A reservation as the cell needs it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Booked {
    pub id: Uuid,
    pub status: ReservationStatus,
    pub free_cancel_until: Option<DateTime<Utc>>,
}

/// Of a child's reservations on one session, the one the cell shows: a live one
/// (holding a place or waiting for one), else the latest.
pub fn shown_reservation(mut ours: impl Iterator<Item = Booked> + Clone) -> Option<Booked> {
    ours.clone()
        .find(|r| holds_place(r.status) || r.status == ReservationStatus::Waitlisted)
        .or_else(|| ours.next())
}

/// Everything one cell depends on.
pub struct CellFacts<'a> {
    pub session_id: Uuid,
    pub activity_id: Uuid,
    pub activity: &'a str,
    pub option: &'a str,
    pub venue: &'a str,
    pub date: NaiveDate,
    /// The session is open (not closed nor cancelled by the services).
    pub open: bool,
    pub rules: &'a BookingRules,
    /// Whether the child's age group is full.
    pub full: bool,
    /// Exact places left for the child's group, when known (the server knows; the
    /// phone only knows full or not).
    pub places_left: Option<u32>,
    pub reservation: Option<Booked>,
    pub dossier_pending: bool,
    /// Labels of the required documents missing for this child on this date.
    pub missing: Vec<String>,
    pub now: DateTime<Utc>,
}

pub fn calendar_session(f: CellFacts<'_>) -> CalendarSession {
    let blocked = if f.dossier_pending {
        Some(BlockedBy::DossierPending)
    } else if !f.missing.is_empty() {
        Some(BlockedBy::DocumentRequired)
    } else {
        None
    };
    let window = if f.open {
        f.rules.booking_window(f.date, f.now)
    } else {
        BookingWindow::Closed
    };
    let status = f.reservation.map(|r| r.status);
    let state = cell_state(CellInput {
        reservation: status,
        window,
        cancellation_late: f.rules.cancellation_is_late(
            f.date,
            f.now,
            f.reservation.and_then(|r| r.free_cancel_until),
        ),
        full: f.full,
        blocked,
    });
    CalendarSession {
        session_id: f.session_id,
        activity_id: f.activity_id,
        activity: f.activity.to_owned(),
        option: f.option.to_owned(),
        venue: f.venue.to_owned(),
        state,
        places_left: f.places_left,
        reservation_id: f.reservation.map(|r| r.id),
        blocked_by: if status.is_none() { blocked } else { None },
        missing_documents: if blocked == Some(BlockedBy::DocumentRequired) {
            f.missing
        } else {
            Vec::new()
        },
        booking_deadline: f.rules.booking_deadline(f.date),
        cancellation_deadline: f.rules.cancellation_deadline(f.date),
    }
}
