//! Bookings: a parent's booking intents (reserve, cancel, join or leave the
//! waitlist, dispatched here by the queue), the children's calendars, and the
//! services' actions (see [`staff`]).
//!
//! Every decision is `famille_model::booking`'s, the very functions the phone runs
//! offline: this module reads the facts through the store, asks the model, and has
//! the store write the answer, in the caller's transaction.

pub mod http;
pub mod ical;
pub mod staff;

use chrono::NaiveDate;
use famille_model::ErrorCode;
use famille_model::api::{Calendar, CalendarDay};
use famille_model::booking::{
    AgeGroup, BookIntent, BookingDecision, BookingFacts, ReleaseDecision, ReleaseFacts,
    ReleaseIntent, decide_booking, decide_release,
};
use famille_model::calendar::paris_date;
use famille_model::calendar_view::{Booked, ChildCalendar, OfferedSession, child_days};
use famille_model::dossier::FamilyStatus;
use famille_model::notice::{Event, Notice};
use famille_model::queue::Mutation;
use famille_model::validate;
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::bookings::{
    self as store, NewReservation, Promotion, booking_context, insert_reservation,
    reservation_context, serve_waitlist, set_status, take_place,
};
use crate::store::catalog::Session;
use crate::store::queue::{Actor, Outcome};
use crate::store::{StoreResult, Tx};

/// The longest calendar range served at once (a month view with its margins).
pub const MAX_CALENDAR_DAYS: i64 = 62;

/// Applies one booking intent in the caller's transaction and says how it went.
/// Promotions it causes are notified in the same transaction.
#[tracing::instrument(skip_all, fields(kind = %intent.kind()))]
/// `unpaid_block_cents`: the organisation's unpaid-invoices threshold, if any.
pub async fn apply(
    tx: &mut Tx,
    actor: Actor,
    intent: &Mutation,
    unpaid_block_cents: Option<i64>,
) -> StoreResult<Outcome> {
    match *intent {
        Mutation::Reserve {
            child_id,
            session_id,
            ..
        } => {
            let intent = BookIntent::Reserve;
            book(tx, actor, child_id, session_id, intent, unpaid_block_cents).await
        }
        Mutation::JoinWaitlist {
            child_id,
            session_id,
            ..
        } => {
            let intent = BookIntent::JoinWaitlist;
            book(tx, actor, child_id, session_id, intent, unpaid_block_cents).await
        }
        Mutation::Cancel { reservation_id, .. } => {
            release(tx, actor, reservation_id, ReleaseIntent::Cancel).await
        }
        Mutation::LeaveWaitlist { reservation_id, .. } => {
            release(tx, actor, reservation_id, ReleaseIntent::LeaveWaitlist).await
        }
        // Another area's: the queue never hands them here.
        Mutation::SendMessage { .. } | Mutation::ReadThread { .. } => {
            Ok(Outcome::rejected(famille_model::ErrorCode::InvalidMutation))
        }
    }
}

async fn book(
    tx: &mut Tx,
    actor: Actor,
    child_id: Uuid,
    session_id: Uuid,
    intent: BookIntent,
    unpaid_block_cents: Option<i64>,
) -> StoreResult<Outcome> {
    let Some(mut c) = booking_context(tx, actor.family_id, child_id, session_id).await? else {
        return Ok(Outcome::rejected(ErrorCode::NotFound));
    };
    let now = tx.now();
    let group = AgeGroup::of(c.age_split, c.birth_date, c.date);
    if c.waiting > 0 && !c.capacity.full(group) {
        // Places someone waits for go to the line first (left free by data older
        // than this rule): then this booking is decided on what remains.
        places_made_available(tx, session_id).await?;
        c = booking_context(tx, actor.family_id, child_id, session_id)
            .await?
            .ok_or(crate::store::StoreError::Retry)?;
    }
    let unpaid_blocked = match unpaid_block_cents {
        Some(threshold_cents) => {
            let (lifted, overdue) =
                crate::store::payments::unpaid(tx, actor.family_id, paris_date(now)).await?;
            famille_model::payments::unpaid_blocks(
                overdue,
                Some(&famille_model::payments::UnpaidRule {
                    threshold_cents,
                    lifted,
                }),
            )
        }
        None => false,
    };
    let mut facts = BookingFacts {
        dossier_active: c.family_status == FamilyStatus::Active,
        unpaid_blocked,
        eligible: c.eligibility.admits(c.birth_date, c.school_level, c.date),
        documents_missing: !c.missing_documents.is_empty(),
        already_booked: c.live.is_some(),
        session: c.session_status,
        rules: &c.rules,
        window: c.rules.booking_window(c.date, now),
        full: c.capacity.full(group),
    };
    let mut decision = decide_booking(intent, &facts);
    if let Ok(BookingDecision::TakePlace { .. }) = decision
        && take_place(tx, session_id, group).await?.is_none()
    {
        // Taken since the facts were read (PostgreSQL): the day is full after all.
        facts.full = true;
        decision = decide_booking(intent, &facts);
    }
    let status = match decision {
        Ok(BookingDecision::TakePlace { status }) => status,
        Ok(BookingDecision::Wait) => famille_model::booking::ReservationStatus::Waitlisted,
        Err(refusal) => {
            let mut rejected = Outcome::rejected(refusal.code());
            if refusal.code() == ErrorCode::DocumentRequired {
                rejected.detail = Some(c.missing_documents.join(", "));
            }
            rejected.ref_id = c.live;
            return Ok(rejected);
        }
    };
    let id = Uuid::now_v7();
    insert_reservation(
        tx,
        &NewReservation {
            id,
            session_id,
            child_id,
            family_id: actor.family_id,
            status,
            group,
        },
    )
    .await?;
    Ok(Outcome::applied(Some(id)))
}

async fn release(
    tx: &mut Tx,
    actor: Actor,
    reservation_id: Uuid,
    intent: ReleaseIntent,
) -> StoreResult<Outcome> {
    let Some(r) = reservation_context(tx, reservation_id, Some(actor.family_id)).await? else {
        return Ok(Outcome::rejected(ErrorCode::NotFound));
    };
    let decision = decide_release(
        intent,
        &ReleaseFacts {
            status: r.status,
            date: r.date,
            rules: &r.rules,
            free_cancel_until: r.free_cancel_until,
            now: tx.now(),
        },
    );
    let (status, billed, frees_place, promote) = match decision {
        Ok(ReleaseDecision::AlreadyDone) => return Ok(Outcome::applied(Some(r.id))),
        Ok(ReleaseDecision::Release {
            status,
            billed,
            frees_place,
            promote,
        }) => (status, billed, frees_place, promote),
        Err(refusal) => {
            let mut rejected = Outcome::rejected(refusal.code());
            rejected.ref_id = Some(r.id);
            return Ok(rejected);
        }
    };
    set_status(tx, &r, r.status, status).await?;
    if frees_place {
        store::release_place(tx, r.session_id, r.group).await?;
        if promote {
            let promotions = serve_waitlist(tx, r.session_id).await?;
            notify_promotions(tx, promotions);
        }
    }
    let mut applied = Outcome::applied(Some(r.id));
    if billed {
        // Applied and billed: the parent must hear it ("OUPS !").
        applied.code = Some(ErrorCode::CancelDeadlinePassed);
        applied.billed = true;
    }
    Ok(applied)
}

/// Hands the notices of waitlist promotions to the transaction.
pub fn notify_promotions(tx: &mut Tx, promotions: Vec<Promotion>) {
    for p in promotions {
        tx.notify(Notice::new(
            p.family_id,
            Event::WaitlistPromoted {
                booking: p.booking,
                free_cancel_until: p.free_cancel_until,
                awaiting_approval: p.status
                    == famille_model::booking::ReservationStatus::PendingApproval,
            },
        ));
    }
}

/// Serves a session's waitlist after places were made available by the services
/// (capacity raised, session reopened), with the promotions' notices.
pub async fn places_made_available(tx: &mut Tx, session_id: Uuid) -> StoreResult<()> {
    let promotions = serve_waitlist(tx, session_id).await?;
    notify_promotions(tx, promotions);
    Ok(())
}

impl OfferedSession for Session {
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
    fn status(&self) -> famille_model::booking::SessionStatus {
        self.status
    }
    fn full(&self, group: AgeGroup) -> bool {
        self.capacity.full(group)
    }
    fn places_left(&self, group: AgeGroup) -> Option<u32> {
        Some(self.capacity.places_left(group))
    }
}

/// A child's calendar between two dates (inclusive), with the legend's states: the
/// days the child may book, and those booked whatever changed since.
pub async fn calendar(
    state: &AppState,
    family_id: Uuid,
    child_id: Uuid,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> AppResult<Calendar> {
    let child = crate::families::child(state, family_id, child_id).await?;
    let now = state.clock.now();
    let (from, to) = validate::period(
        from.unwrap_or_else(|| paris_date(now)),
        to,
        6,
        MAX_CALENDAR_DAYS,
    )?;
    let family = state
        .db
        .families()
        .family(family_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let catalog = state.db.catalog();
    let activities = catalog.activity_snapshots().await?;
    let on_file = catalog.valid_documents(family_id).await?;
    let quotients = state.db.billing().quotient_records(family_id).await?;
    let sessions = catalog.sessions_between(from, to).await?;
    let reservations = state
        .db
        .bookings()
        .child_reservations(child_id, from, to)
        .await?;
    let days = child_days(
        &ChildCalendar {
            child: &child,
            from,
            to,
            activities: &activities,
            sessions: &sessions,
            on_file: &on_file,
            rates: famille_model::calendar_view::FamilyRates {
                quotients: &quotients,
                postal_code: family.postal_code.as_deref(),
            },
            dossier_pending: family.status != FamilyStatus::Active,
            unpaid_blocked: crate::families::unpaid_blocked(state, &family).await?,
            now,
        },
        |session, _, _| {
            let booked = reservations
                .iter()
                .filter(|r| r.session_id == session.id)
                .map(|r| Booked {
                    id: r.id,
                    status: r.status,
                    free_cancel_until: r.free_cancel_until,
                })
                .collect();
            (booked, false)
        },
    );
    Ok(Calendar {
        child_id,
        from,
        to,
        days: days
            .into_iter()
            .map(|d| CalendarDay {
                date: d.date,
                sessions: d.cells.into_iter().map(|c| c.session).collect(),
            })
            .collect(),
    })
}
