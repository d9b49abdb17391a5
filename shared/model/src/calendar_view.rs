//! A child's calendar, assembled from the facts both sides hold: the server from its
//! database, the phone from its local store (where pending intents are overlaid).
//! Written once so a colour never differs between the app offline and the server.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use uuid::Uuid;

use crate::api::{ActivitySnapshot, CalendarSession, Child, DocumentScope};
use crate::booking::{
    AgeGroup, BlockedBy, BookingRules, BookingWindow, CellInput, ReservationStatus, SessionStatus,
    cell_state,
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
        self.scope == DocumentScope::Family
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

/// Of a child's reservations on one session (newest first), the one the cell shows:
/// a live one (holding a place or waiting for one), else the latest.
pub fn shown_reservation(mut ours: impl Iterator<Item = Booked> + Clone) -> Option<Booked> {
    ours.clone()
        .find(|r| r.status.is_live())
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
    pub status: SessionStatus,
    pub rules: &'a BookingRules,
    /// Whether the child's age group is full.
    pub full: bool,
    /// Exact places left for the child's group, when known (the server knows; the
    /// phone only knows full or not).
    pub places_left: Option<u32>,
    pub reservation: Option<Booked>,
    pub dossier_pending: bool,
    /// Unpaid invoices past due block new bookings.
    pub unpaid_blocked: bool,
    /// Labels of the required documents missing for this child on this date.
    pub missing: Vec<String>,
    /// Whether the child fits the activity's age and levels on that day.
    pub eligible: bool,
    pub now: DateTime<Utc>,
    /// What the day costs the family (`billing::shown_price`), when billed.
    pub price_cents: Option<i64>,
}

/// The booking window of a session: closed whatever the rules once the services
/// closed or cancelled it.
pub fn session_window(
    status: SessionStatus,
    rules: &BookingRules,
    date: NaiveDate,
    now: DateTime<Utc>,
) -> BookingWindow {
    if status == SessionStatus::Open {
        rules.booking_window(date, now)
    } else {
        BookingWindow::Closed
    }
}

pub fn calendar_session(f: CellFacts<'_>) -> CalendarSession {
    let blocked = if f.dossier_pending {
        Some(BlockedBy::DossierPending)
    } else if f.unpaid_blocked {
        Some(BlockedBy::UnpaidInvoices)
    } else if !f.missing.is_empty() {
        Some(BlockedBy::DocumentRequired)
    } else {
        None
    };
    let status = f.reservation.map(|r| r.status);
    let state = cell_state(CellInput {
        reservation: status,
        window: session_window(f.status, f.rules, f.date, f.now),
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
        no_longer_eligible: !f.eligible && status.is_some_and(ReservationStatus::is_live),
        price_cents: f.price_cents,
    }
}

/// A dated session as each side holds it: the server knows the exact places left,
/// the phone only whether each age group is full.
pub trait OfferedSession {
    fn id(&self) -> Uuid;
    fn activity_id(&self) -> Uuid;
    fn option(&self) -> &str;
    fn date(&self) -> NaiveDate;
    fn status(&self) -> SessionStatus;
    fn full(&self, group: AgeGroup) -> bool;
    fn places_left(&self, group: AgeGroup) -> Option<u32>;
}

impl OfferedSession for crate::api::SessionSnapshot {
    fn id(&self) -> Uuid {
        self.id
    }
    fn activity_id(&self) -> Uuid {
        self.activity_id
    }
    fn option(&self) -> &str {
        &self.option
    }
    fn date(&self) -> NaiveDate {
        self.date
    }
    fn status(&self) -> SessionStatus {
        self.status
    }
    fn full(&self, group: AgeGroup) -> bool {
        match group {
            AgeGroup::Younger => self.full_young,
            AgeGroup::Older => self.full_old,
        }
    }
    fn places_left(&self, _: AgeGroup) -> Option<u32> {
        None
    }
}

/// One cell of the grid, and whether an intent of the parent is still unanswered
/// on it (the phone marks it "en attente"; always false on the server).
#[derive(Debug, Clone, PartialEq)]
pub struct GridCell {
    pub session: CalendarSession,
    pub pending: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GridDay {
    pub date: NaiveDate,
    pub cells: Vec<GridCell>,
}

/// What prices a family's days: its QF records and where it lives.
#[derive(Debug, Clone, Copy, Default)]
pub struct FamilyRates<'a> {
    pub quotients: &'a [crate::billing::QuotientRecord],
    pub postal_code: Option<&'a str>,
}

impl FamilyRates<'_> {
    /// The price shown for a day of this option ([`crate::billing::shown_price`]).
    pub fn price(&self, price: &crate::api::OptionPrice, date: NaiveDate) -> i64 {
        let qf = crate::billing::quotient_on(self.quotients, date).map(|q| q.value);
        let resident = price.territory.is_empty()
            || self
                .postal_code
                .is_some_and(|code| price.territory.iter().any(|t| t == code));
        crate::billing::shown_price(&price.tariff, qf, resident)
    }
}

/// What the grid is built from.
pub struct ChildCalendar<'a, S, D> {
    pub child: &'a Child,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub activities: &'a [ActivitySnapshot],
    /// Sessions between `from` and `to`, in the order they are shown in a day.
    pub sessions: &'a [S],
    /// The family's validated documents.
    pub on_file: &'a [D],
    /// The family's QF records and postal code, to price each day.
    pub rates: FamilyRates<'a>,
    pub dossier_pending: bool,
    /// Unpaid invoices past due block new bookings (`payments::unpaid_blocks`).
    pub unpaid_blocked: bool,
    pub now: DateTime<Utc>,
}

/// A child's days from `from` to `to`, each with the sessions the child may attend
/// (as in the guide: only the activities open to the child are shown) and those the
/// child is booked on whatever has changed since (a booked day never disappears:
/// it stays shown, and cancellable). `bookings` gives, for a session and the
/// child's group on it, the reservations to show (newest first) and whether an
/// unanswered intent touched them.
pub fn child_days<S: OfferedSession, D: OnFile>(
    c: &ChildCalendar<'_, S, D>,
    mut bookings: impl FnMut(&S, &ActivitySnapshot, AgeGroup) -> (Vec<Booked>, bool),
) -> Vec<GridDay> {
    let span = (c.to - c.from).num_days();
    let mut days: Vec<GridDay> = (0..=span)
        .map_while(|d| c.from.checked_add_signed(Duration::days(d)))
        .map(|date| GridDay {
            date,
            cells: Vec::new(),
        })
        .collect();
    for session in c.sessions {
        let Some(activity) = c.activities.iter().find(|a| a.id == session.activity_id()) else {
            continue;
        };
        let date = session.date();
        let Some(day) = usize::try_from((date - c.from).num_days())
            .ok()
            .and_then(|i| days.get_mut(i))
        else {
            continue;
        };
        let group = AgeGroup::of(activity.age_split, c.child.birth_date, date);
        let (booked, pending) = bookings(session, activity, group);
        let reservation = shown_reservation(booked.into_iter());
        let eligible =
            activity
                .eligibility
                .admits(c.child.birth_date, c.child.level_on(date), date);
        // Booked (or billed) before the child stopped fitting: still shown.
        let keeps_day = reservation.is_some_and(|r| {
            !matches!(
                r.status,
                ReservationStatus::Cancelled | ReservationStatus::Refused
            )
        });
        if !eligible && !keeps_day {
            continue;
        }
        let cell = calendar_session(CellFacts {
            session_id: session.id(),
            activity_id: activity.id,
            activity: &activity.name,
            option: session.option(),
            venue: &activity.venue,
            date,
            status: session.status(),
            rules: &activity.rules,
            full: session.full(group),
            places_left: session.places_left(group),
            reservation,
            dossier_pending: c.dossier_pending,
            unpaid_blocked: c.unpaid_blocked,
            missing: missing_documents(
                activity.required_documents.iter(),
                c.on_file,
                c.child.id,
                date,
            ),
            eligible,
            now: c.now,
            price_cents: activity
                .options
                .iter()
                .find(|o| o.name == session.option())
                .and_then(|o| o.price.as_ref())
                .map(|price| c.rates.price(price, date)),
        });
        day.cells.push(GridCell {
            session: cell,
            pending,
        });
    }
    days
}
