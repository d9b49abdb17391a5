//! What the phone shows from its local store, offline: the children, the red
//! banner, the documents, and a child's calendar assembled by the model's
//! `child_days` (the server's very grid) with the unanswered intents overlaid.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use famille_model::api::{
    ActivitySnapshot, Child, DocumentSnapshot, DocumentStatus, Family, ReservationSnapshot,
    SessionSnapshot,
};
use famille_model::booking::AgeGroup;
use famille_model::calendar_view::{
    Booked, ChildCalendar, OfferedSession, child_days, missing_documents,
};
use famille_model::dossier::FamilyStatus;
use famille_model::queue::{Mutation, QueueState};
use uuid::Uuid;

use crate::engine::{Engine, parse_date, uuid};
use crate::error::{CoreResult, Error};
use crate::overlay::{Cell, overlay, target_session};
use crate::store::{Queued, Store};
use crate::views::{AlertView, CellView, ChildView, DayView, DocumentView};

/// Longest calendar the core assembles at once.
pub const MAX_CALENDAR_DAYS: i64 = 62;

impl Engine {
    pub fn family(&self) -> CoreResult<Option<Family>> {
        self.store().family()
    }

    pub fn children(&self) -> CoreResult<Vec<ChildView>> {
        Ok(self
            .family()?
            .map(|f| {
                let today = famille_model::calendar::paris_date(self.now());
                f.children.iter().map(|c| ChildView::on(c, today)).collect()
            })
            .unwrap_or_default())
    }

    pub fn alerts(&self) -> CoreResult<Vec<AlertView>> {
        Ok(self
            .store()
            .alerts()?
            .into_iter()
            .map(AlertView::from)
            .collect())
    }

    pub fn documents(&self) -> CoreResult<Vec<DocumentView>> {
        Ok(self
            .store()
            .documents()?
            .into_iter()
            .map(DocumentView::from)
            .collect())
    }

    /// A child's calendar from the local store, with the unanswered intents overlaid.
    pub fn calendar(
        &self,
        child_id: Uuid,
        from: NaiveDate,
        to: NaiveDate,
        now: DateTime<Utc>,
    ) -> CoreResult<Vec<DayView>> {
        let (from, to) = famille_model::validate::period(from, Some(to), 6, MAX_CALENDAR_DAYS)
            .map_err(|e| {
                Error::invalid(format!(
                    "période invalide : de {from} à {to} ({})",
                    e.message
                ))
            })?;
        let (known, activities, sessions, quotients, postal_code) = {
            let store = self.store();
            (
                ChildState::load(&store, child_id, now)?,
                store.activities()?,
                store.sessions_between(&from.to_string(), &to.to_string())?,
                store
                    .quotients()?
                    .iter()
                    .map(famille_model::billing::QuotientRecord::from)
                    .collect::<Vec<_>>(),
                store
                    .family()?
                    .and_then(|f| f.address)
                    .map(|a| a.postal_code),
            )
        };
        let by_session = known.intents_by_session();
        let days = child_days(
            &ChildCalendar {
                child: &known.child,
                from,
                to,
                activities: &activities,
                sessions: &sessions,
                on_file: &known.on_file,
                rates: famille_model::calendar_view::FamilyRates {
                    quotients: &quotients,
                    postal_code: postal_code.as_deref(),
                },
                dossier_pending: !known.dossier_active(),
                unpaid_blocked: known.unpaid_blocked,
                now,
            },
            |session, activity, group| known.bookings(session, activity, group, &by_session, now),
        );
        Ok(days
            .into_iter()
            .map(|d| DayView {
                date: d.date.to_string(),
                cells: d
                    .cells
                    .into_iter()
                    .map(|c| {
                        let unsure = self.api.clock.unsure_about(c.session.booking_deadline)
                            || self.api.clock.unsure_about(c.session.cancellation_deadline);
                        let mut cell = CellView::new(c.session, c.pending);
                        cell.time_unsure = unsure;
                        cell
                    })
                    .collect(),
            })
            .collect())
    }

    /// A child's bookings of one session as the calendar shows them (the server's,
    /// with the intents not yet answered applied in order).
    /// Read from `store` as the caller holds it (inside its write transaction).
    pub(crate) fn overlaid(
        store: &Store,
        child_id: Uuid,
        session_id: Uuid,
        now: DateTime<Utc>,
    ) -> CoreResult<Vec<Booked>> {
        let (known, session, activity) = {
            let session = store
                .session(session_id)?
                .ok_or_else(|| Error::invalid("journée inconnue"))?;
            let activity = store
                .activity(session.activity_id)?
                .ok_or_else(|| Error::invalid("activité inconnue"))?;
            (ChildState::load(store, child_id, now)?, session, activity)
        };
        let group = AgeGroup::of(activity.age_split, known.child.birth_date, session.date);
        let by_session = known.intents_by_session();
        Ok(known
            .bookings(&session, &activity, group, &by_session, now)
            .0)
    }

    pub fn calendar_str(&self, child_id: &str, from: &str, to: &str) -> CoreResult<Vec<DayView>> {
        self.calendar(
            uuid(child_id, "l'enfant")?,
            parse_date(from)?,
            parse_date(to)?,
            self.now(),
        )
    }
}

/// What the phone holds about one child: the server's last state and the queue.
struct ChildState {
    family: Family,
    child: Child,
    reservations: Vec<ReservationSnapshot>,
    /// The family's validated documents.
    on_file: Vec<DocumentSnapshot>,
    queue: Vec<Queued>,
    /// The organisation's unpaid-invoices rule blocks new bookings (the model's
    /// decision on the invoices the phone holds).
    unpaid_blocked: bool,
}

impl ChildState {
    fn load(store: &Store, child_id: Uuid, now: DateTime<Utc>) -> CoreResult<ChildState> {
        let family = store
            .family()?
            .ok_or_else(|| Error::invalid("aucune donnée : synchronisez d'abord"))?;
        let child = family
            .children
            .iter()
            .find(|c| c.id == child_id)
            .cloned()
            .ok_or_else(|| Error::invalid("enfant inconnu"))?;
        Ok(ChildState {
            child,
            reservations: store.child_reservations(child_id)?,
            on_file: store
                .documents()?
                .into_iter()
                .filter(|d| d.status == DocumentStatus::Validated)
                .collect(),
            queue: store.queue()?,
            unpaid_blocked: famille_model::payments::unpaid_blocks(
                famille_model::payments::overdue_cents(
                    &store.invoices()?,
                    famille_model::calendar::paris_date(now),
                ),
                family.unpaid_rule.as_ref(),
            ),
            family,
        })
    }

    fn dossier_active(&self) -> bool {
        self.family.status == FamilyStatus::Active
    }

    /// The intents not refused, by the session they touch.
    fn intents_by_session(&self) -> HashMap<Uuid, Vec<&Mutation>> {
        let intents: Vec<&Mutation> = self
            .queue
            .iter()
            .filter(|q| q.state != QueueState::Rejected)
            .map(|q| &q.mutation)
            .collect();
        intents_by_session(&intents, |r| {
            self.reservations
                .iter()
                .find(|x| x.id == r)
                .map(|x| x.session_id)
        })
    }

    /// The child's bookings of a session with the intents on it overlaid, and
    /// whether one of them is still to be answered.
    fn bookings(
        &self,
        session: &SessionSnapshot,
        activity: &ActivitySnapshot,
        group: AgeGroup,
        by_session: &HashMap<Uuid, Vec<&Mutation>>,
        now: DateTime<Utc>,
    ) -> (Vec<Booked>, bool) {
        let server: Vec<Booked> = self
            .reservations
            .iter()
            .filter(|r| r.session_id == session.id)
            .map(|r| Booked {
                id: r.id,
                status: r.status,
                free_cancel_until: r.free_cancel_until,
            })
            .collect();
        let Some(intents) = by_session.get(&session.id) else {
            return (server, false);
        };
        let cell = Cell {
            child_id: self.child.id,
            session_id: session.id,
            date: session.date,
            rules: &activity.rules,
            session: session.status,
            dossier_active: self.dossier_active(),
            unpaid_blocked: self.unpaid_blocked,
            eligible: activity.eligibility.admits(
                self.child.birth_date,
                self.child.level_on(session.date),
                session.date,
            ),
            documents_missing: !missing_documents(
                activity.required_documents.iter(),
                &self.on_file,
                self.child.id,
                session.date,
            )
            .is_empty(),
            full: session.full(group),
        };
        overlay(server, intents, cell, now)
    }
}

/// The intents touching each session, in order. A cancellation of a booking made
/// offline names the booking by its intent's id; `session_of` finds the session of
/// a reservation the server knows.
pub(crate) fn intents_by_session<'a>(
    intents: &[&'a Mutation],
    session_of: impl Fn(Uuid) -> Option<Uuid>,
) -> HashMap<Uuid, Vec<&'a Mutation>> {
    let offline: HashMap<Uuid, Uuid> = intents
        .iter()
        .filter_map(|m| m.booking_target().map(|(_, session)| (m.id(), session)))
        .collect();
    let mut by_session: HashMap<Uuid, Vec<&'a Mutation>> = HashMap::new();
    for intent in intents {
        let session = target_session(intent, |r| {
            session_of(r).or_else(|| offline.get(&r).copied())
        });
        if let Some(s) = session {
            by_session.entry(s).or_default().push(intent);
        }
    }
    by_session
}
