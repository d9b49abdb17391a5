//! Reservations, the waitlist, the mutation log and the change feed.
//!
//! Each phone mutation runs in one transaction that re-reads every fact it depends
//! on, takes a place with a conditional update (so capacity holds whatever the
//! concurrency, on both backends), records the change feed and the mutation's answer,
//! then commits: a mutation is applied entirely, with its answer, or not at all.

use chrono::{DateTime, NaiveDate, Utc};
use famille_model::ErrorCode;
use famille_model::api::Mutation;
use famille_model::booking::{
    BookingFacts, BookingRules, Capacity, Eligibility, PROMOTION_GRACE, Refusal, ReservationStatus,
    booked_status, check_booking, holds_place, is_young,
};
use famille_model::calendar::paris_date;
use famille_model::dossier::SchoolLevel;
use uuid::Uuid;

use super::catalog::{CapacityRow, Requirement, ValidDocument, missing_documents, parse_json};
use super::outbox::{Notice, notify};
use super::{Db, StoreError, StoreResult, in_tx, on_db, parse_stored, record_changes};
use crate::notifications::texts::{self, BookingNames};

pub struct Bookings<'a> {
    pub(super) db: &'a Db,
}

/// Who sends the mutation.
#[derive(Debug, Clone, Copy)]
pub struct Actor {
    pub family_id: Uuid,
    pub account_id: Uuid,
}

/// A family that got a place from the waitlist, to be told.
#[derive(Debug, Clone, PartialEq)]
pub struct Promotion {
    pub reservation_id: Uuid,
    pub family_id: Uuid,
    pub child_id: Uuid,
    pub session_id: Uuid,
    pub free_cancel_until: Option<DateTime<Utc>>,
}

/// The answer to one mutation, as stored and replayed.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub applied: bool,
    pub code: Option<ErrorCode>,
    /// Extra words for the French detail (the missing documents' labels).
    pub detail: Option<String>,
    pub reservation_id: Option<Uuid>,
    /// Not stored: only the first application promotes anyone.
    pub promotions: Vec<Promotion>,
}

impl Outcome {
    fn applied(reservation_id: Option<Uuid>) -> Outcome {
        Outcome {
            applied: true,
            code: None,
            detail: None,
            reservation_id,
            promotions: Vec::new(),
        }
    }

    fn rejected(code: ErrorCode) -> Outcome {
        Outcome {
            applied: false,
            code: Some(code),
            detail: None,
            reservation_id: None,
            promotions: Vec::new(),
        }
    }
}

fn refusal_code(r: Refusal) -> ErrorCode {
    match r {
        Refusal::DossierPending => ErrorCode::DossierPending,
        Refusal::NotEligible => ErrorCode::NotEligible,
        Refusal::DocumentRequired => ErrorCode::DocumentRequired,
        Refusal::AlreadyBooked => ErrorCode::AlreadyBooked,
        Refusal::BookingClosed => ErrorCode::BookingClosed,
    }
}

#[derive(sqlx::FromRow)]
struct StoredRow {
    family_id: Uuid,
    status: String,
    code: Option<String>,
    detail: Option<String>,
    reservation_id: Option<Uuid>,
}

#[derive(sqlx::FromRow)]
struct CombinedFacts {
    family_status: String,
    birth_date: NaiveDate,
    school_level: String,
    live: Option<Uuid>,
    requirements: i64,
    #[sqlx(flatten)]
    session: SessionFacts,
}

#[derive(sqlx::FromRow)]
struct SessionFacts {
    date: NaiveDate,
    status: String,
    activity_id: Uuid,
    eligibility: String,
    rules: String,
    age_split: Option<i16>,
}

#[derive(sqlx::FromRow)]
struct ReservationFacts {
    id: Uuid,
    status: String,
    young: bool,
    session_id: Uuid,
    free_cancel_until: Option<DateTime<Utc>>,
    date: NaiveDate,
    rules: String,
}

/// A reservation as the calendar and the sync feed show it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReservationView {
    pub id: Uuid,
    pub session_id: Uuid,
    pub child_id: Uuid,
    pub status: String,
    pub free_cancel_until: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

impl ReservationView {
    pub fn status(&self) -> StoreResult<ReservationStatus> {
        parse_stored(&self.status)
    }
}

const LIVE: &str = "('reserved', 'late_booked', 'pending_approval', 'waitlisted')";

// ---- statements shared by several transactions ---------------------------------
// Macros keep each SQL text single while the transaction's backend varies.

/// Takes one place for a child of the given group; `None` when full.
macro_rules! take_place {
    ($tx:expr, $session:expr, $young:expr, $now:expr) => {
        sqlx::query_as::<_, CapacityRow>(
            "UPDATE sessions SET held = held + 1, held_young = held_young + $2, held_old = held_old + $3, updated_at = $4 \
             WHERE id = $1 AND held < capacity \
               AND ($2 = 0 OR capacity_young IS NULL OR held_young < capacity_young) \
               AND ($3 = 0 OR capacity_old IS NULL OR held_old < capacity_old) \
             RETURNING capacity, capacity_young, capacity_old, held, held_young, held_old",
        )
        .bind($session)
        .bind(i32::from($young))
        .bind(i32::from(!$young))
        .bind($now)
        .fetch_optional(&mut *$tx)
        .await?
    };
}

macro_rules! release_place {
    ($tx:expr, $session:expr, $young:expr, $now:expr) => {
        sqlx::query_as::<_, CapacityRow>(
            "UPDATE sessions SET held = held - 1, held_young = held_young - $2, held_old = held_old - $3, updated_at = $4 \
             WHERE id = $1 RETURNING capacity, capacity_young, capacity_old, held, held_young, held_old",
        )
        .bind($session)
        .bind(i32::from($young))
        .bind(i32::from(!$young))
        .bind($now)
        .fetch_one(&mut *$tx)
        .await?
    };
}

/// How a parent names a booking (child, activity, option, day), read inside `$tx`.
macro_rules! booking_facts {
    ($tx:expr, $reservation_id:expr) => {{
        let row: Option<(Uuid, String, String, String, NaiveDate)> = sqlx::query_as(
            "SELECT r.family_id, c.first_name, a.name, o.name, s.date FROM reservations r \
             JOIN children c ON c.id = r.child_id JOIN sessions s ON s.id = r.session_id \
             JOIN activities a ON a.id = s.activity_id JOIN activity_options o ON o.id = s.option_id \
             WHERE r.id = $1",
        )
        .bind($reservation_id)
        .fetch_optional(&mut *$tx)
        .await?;
        row.map(|(family_id, child, activity, option, date)| BookingNames {
            family_id,
            child,
            activity,
            option,
            date,
        })
    }};
}

/// Writes the "a place is yours" notices of these promotions inside `$tx`.
macro_rules! notify_promotions {
    ($tx:expr, $promotions:expr, $now:expr, $push:expr) => {{
        let mut notices: Vec<Notice> = Vec::new();
        for p in $promotions {
            if let Some(facts) = booking_facts!($tx, p.reservation_id) {
                notices.push(texts::waitlist_promoted(
                    p.reservation_id,
                    &facts,
                    p.free_cancel_until,
                ));
            }
        }
        notify!($tx, &notices, $now, $push);
    }};
}

/// Gives the freed place to the first waitlisted child that fits, if any.
macro_rules! promote_first {
    ($tx:expr, $session_id:expr, $rules:expr, $date:expr, $now:expr, $changes:expr, $promotions:expr) => {{
        let waiting: Vec<(Uuid, Uuid, Uuid, bool)> = sqlx::query_as(
            "SELECT id, child_id, family_id, young FROM reservations \
             WHERE session_id = $1 AND status = 'waitlisted' ORDER BY waitlisted_at, id",
        )
        .bind($session_id)
        .fetch_all(&mut *$tx)
        .await?;
        let mut promoted: Option<Capacity> = None;
        for (reservation_id, child_id, family_id, young) in waiting {
            if let Some(after) = take_place!($tx, $session_id, young, $now) {
                let free_cancel_until = ($now >= $rules.cancellation_deadline($date)).then(|| $now + PROMOTION_GRACE);
                // Guarded: the family may have left the waitlist meanwhile.
                let promoted_rows = sqlx::query(
                    "UPDATE reservations SET status = 'reserved', promoted_at = $2, free_cancel_until = $3, updated_at = $2 \
                     WHERE id = $1 AND status = 'waitlisted'",
                )
                .bind(reservation_id)
                .bind($now)
                .bind(free_cancel_until)
                .execute(&mut *$tx)
                .await?
                .rows_affected();
                if promoted_rows == 0 {
                    release_place!($tx, $session_id, young, $now);
                    continue;
                }
                $changes.push((Some(family_id), "reservation", reservation_id));
                $promotions.push(Promotion { reservation_id, family_id, child_id, session_id: $session_id, free_cancel_until });
                promoted = Some(Capacity::from(&after));
                break;
            }
        }
        promoted
    }};
}

/// One mutation inside an open transaction `$tx`: evaluates to the outcome, or to
/// `Err(StoreError::Retry)` when a concurrent transaction changed what it read.
/// Database errors leave through `?` (the caller's transaction then rolls back).
macro_rules! apply_one {
    ($tx:ident, $actor:expr, $mutation:expr, $now:expr, $changes:ident, $maybe_stored:expr) => {{
        #[allow(unused_labels)]
        'mutation: {
            let stored: Option<StoredRow> = if $maybe_stored {
                sqlx::query_as("SELECT family_id, status, code, detail, reservation_id FROM mutations WHERE id = $1")
                    .bind($mutation.id())
                    .fetch_optional(&mut *$tx)
                    .await?
            } else {
                None
            };
            if let Some(row) = stored {
                break 'mutation Ok(stored_outcome($actor, row));
            }
            // Feed entries go to the caller's list, recorded once before commit.
            let changes = &mut $changes;
            let mut promotions = Vec::new();
            let mut outcome = 'decide: {
                match *$mutation {
                    Mutation::Reserve {
                        child_id,
                        session_id,
                        ..
                    }
                    | Mutation::JoinWaitlist {
                        child_id,
                        session_id,
                        ..
                    } => {
                        let waitlist = matches!($mutation, Mutation::JoinWaitlist { .. });
                        // Every fact in one round trip: the family, its child, the
                        // session with its activity, a live booking, whether documents
                        // are required at all.
                        let facts: Option<CombinedFacts> = sqlx::query_as(
                            "SELECT f.status AS family_status, c.birth_date, c.school_level, \
                             s.date, s.status, s.activity_id, a.eligibility, a.rules, a.age_split, \
                             (SELECT r.id FROM reservations r WHERE r.session_id = s.id AND r.child_id = c.id \
                                AND r.status IN ('reserved', 'late_booked', 'pending_approval', 'waitlisted')) AS live, \
                             (SELECT COUNT(*) FROM activity_required_documents d WHERE d.activity_id = a.id) AS requirements \
                             FROM families f JOIN children c ON c.family_id = f.id AND c.id = $2 \
                             JOIN sessions s ON s.id = $3 JOIN activities a ON a.id = s.activity_id AND a.archived_at IS NULL \
                             WHERE f.id = $1",
                        )
                        .bind($actor.family_id)
                        .bind(child_id)
                        .bind(session_id)
                        .fetch_optional(&mut *$tx)
                        .await?;
                        let Some(CombinedFacts { family_status, birth_date, school_level: level, live, requirements: requirement_count, session }) = facts
                        else {
                            break 'decide Outcome::rejected(ErrorCode::NotFound);
                        };
                        let level: SchoolLevel = parse_stored(&level)?;
                        let eligibility: Eligibility = parse_json(&session.eligibility)?;
                        let rules: BookingRules = parse_json(&session.rules)?;
                        let requirements: Vec<Requirement> = if requirement_count == 0 {
                            Vec::new()
                        } else {
                            sqlx::query_as(
                                "SELECT r.activity_id, r.document_type_id, t.label, t.scope \
                                 FROM activity_required_documents r JOIN document_types t ON t.id = r.document_type_id \
                                 WHERE r.activity_id = $1",
                            )
                            .bind(session.activity_id)
                            .fetch_all(&mut *$tx)
                            .await?
                        };
                        let documents: Vec<ValidDocument> = if requirements.is_empty() {
                            Vec::new()
                        } else {
                            sqlx::query_as(
                                "SELECT document_type_id, child_id, valid_until FROM documents \
                                 WHERE family_id = $1 AND status = 'validated'",
                            )
                            .bind($actor.family_id)
                            .fetch_all(&mut *$tx)
                            .await?
                        };
                        let missing = missing_documents(
                            requirements.iter(),
                            &documents,
                            child_id,
                            session.date,
                        );
                        let window = rules.booking_window(session.date, $now);
                        let facts = BookingFacts {
                            dossier_active: family_status == "active",
                            eligible: eligibility.admits(birth_date, level, session.date),
                            documents_missing: !missing.is_empty(),
                            already_booked: live.is_some(),
                            session_open: session.status == "open",
                            window,
                        };
                        if let Err(refusal) = check_booking(facts) {
                            let mut rejected = Outcome::rejected(refusal_code(refusal));
                            if refusal == Refusal::DocumentRequired {
                                rejected.detail = Some(missing.join(", "));
                            }
                            rejected.reservation_id = live;
                            break 'decide rejected;
                        }
                        let young = is_young(
                            session.age_split.and_then(|a| u8::try_from(a).ok()),
                            birth_date,
                            session.date,
                        );
                        let reservation_id = Uuid::now_v7();
                        let status = if waitlist {
                            let capacity: CapacityRow = sqlx::query_as(
                                "SELECT capacity, capacity_young, capacity_old, held, held_young, held_old FROM sessions WHERE id = $1",
                            )
                            .bind(session_id)
                            .fetch_one(&mut *$tx)
                            .await?;
                            if !Capacity::from(&capacity).full(young) {
                                break 'decide Outcome::rejected(ErrorCode::PlacesAvailable);
                            }
                            if !rules.waitlist {
                                break 'decide Outcome::rejected(ErrorCode::WaitlistUnavailable);
                            }
                            ReservationStatus::Waitlisted
                        } else {
                            let Some(after) = take_place!($tx, session_id, young, $now) else {
                                break 'decide Outcome::rejected(ErrorCode::SessionFull);
                            };
                            let after = Capacity::from(&after);
                            let before = Capacity {
                                held: after.held - 1,
                                held_young: after.held_young - u32::from(young),
                                held_old: after.held_old - u32::from(!young),
                                ..after
                            };
                            if before.full(true) != after.full(true)
                                || before.full(false) != after.full(false)
                            {
                                changes.push((None, "session", session_id));
                            }
                            booked_status(&rules, window)
                        };
                        sqlx::query(
                            "INSERT INTO reservations (id, session_id, child_id, family_id, status, young, created_at, updated_at, waitlisted_at) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8)",
                        )
                        .bind(reservation_id)
                        .bind(session_id)
                        .bind(child_id)
                        .bind($actor.family_id)
                        .bind(status.as_str())
                        .bind(young)
                        .bind($now)
                        .bind((status == ReservationStatus::Waitlisted).then_some($now))
                        .execute(&mut *$tx)
                        .await
                        .map_err(super::retry_on_unique)?;
                        changes.push((Some($actor.family_id), "reservation", reservation_id));
                        Outcome::applied(Some(reservation_id))
                    }
                    Mutation::Cancel { reservation_id, .. }
                    | Mutation::LeaveWaitlist { reservation_id, .. } => {
                        let leaving_waitlist = matches!($mutation, Mutation::LeaveWaitlist { .. });
                        let found: Option<ReservationFacts> = sqlx::query_as(
                            "SELECT r.id, r.status, r.young, r.session_id, r.free_cancel_until, s.date, a.rules \
                             FROM reservations r JOIN sessions s ON s.id = r.session_id JOIN activities a ON a.id = s.activity_id \
                             WHERE r.id = $1 AND r.family_id = $2",
                        )
                        .bind(reservation_id)
                        .bind($actor.family_id)
                        .fetch_optional(&mut *$tx)
                        .await?;
                        let Some(r) = found else {
                            break 'decide Outcome::rejected(ErrorCode::NotFound);
                        };
                        let status: ReservationStatus = parse_stored(&r.status)?;
                        let rules: BookingRules = parse_json(&r.rules)?;
                        match status {
                            ReservationStatus::Cancelled
                            | ReservationStatus::LateCancelled
                            | ReservationStatus::Refused => {
                                // Already done: the intent is met.
                                break 'decide Outcome::applied(Some(r.id));
                            }
                            ReservationStatus::Waitlisted => {
                                let left = sqlx::query(
                                    "UPDATE reservations SET status = 'cancelled', updated_at = $2 WHERE id = $1 AND status = 'waitlisted'",
                                )
                                .bind(r.id)
                                .bind($now)
                                .execute(&mut *$tx)
                                .await?
                                .rows_affected();
                                if left == 0 {
                                    break 'mutation Err(StoreError::Retry);
                                }
                                changes.push((Some($actor.family_id), "reservation", r.id));
                                break 'decide Outcome::applied(Some(r.id));
                            }
                            _ if leaving_waitlist => {
                                // Promoted in the meantime: leaving is $now a cancellation.
                                let mut rejected = Outcome::rejected(ErrorCode::AlreadyBooked);
                                rejected.reservation_id = Some(r.id);
                                break 'decide rejected;
                            }
                            _ => {}
                        }
                        if paris_date($now) > r.date {
                            let mut rejected = Outcome::rejected(ErrorCode::BookingClosed);
                            rejected.reservation_id = Some(r.id);
                            break 'decide rejected;
                        }
                        let late = status != ReservationStatus::PendingApproval
                            && rules.cancellation_is_late(r.date, $now, r.free_cancel_until);
                        let new_status = if late {
                            ReservationStatus::LateCancelled
                        } else {
                            ReservationStatus::Cancelled
                        };
                        // Guarded on the status read: a concurrent cancellation must not
                        // free the same place twice.
                        let cancelled = sqlx::query("UPDATE reservations SET status = $2, updated_at = $3 WHERE id = $1 AND status = $4")
                            .bind(r.id)
                            .bind(new_status.as_str())
                            .bind($now)
                            .bind(status.as_str())
                            .execute(&mut *$tx)
                            .await?
                            .rows_affected();
                        if cancelled == 0 {
                            break 'mutation Err(StoreError::Retry);
                        }
                        changes.push((Some($actor.family_id), "reservation", r.id));
                        if holds_place(status) {
                            let after_release =
                                Capacity::from(&release_place!($tx, r.session_id, r.young, $now));
                            let before = Capacity {
                                held: after_release.held + 1,
                                held_young: after_release.held_young + u32::from(r.young),
                                held_old: after_release.held_old + u32::from(!r.young),
                                ..after_release
                            };
                            let promoted = if rules.waitlist && paris_date($now) <= r.date {
                                promote_first!(
                                    $tx,
                                    r.session_id,
                                    rules,
                                    r.date,
                                    $now,
                                    changes,
                                    promotions
                                )
                            } else {
                                None
                            };
                            let after = promoted.unwrap_or(after_release);
                            if before.full(true) != after.full(true)
                                || before.full(false) != after.full(false)
                            {
                                changes.push((None, "session", r.session_id));
                            }
                        }
                        let mut applied = Outcome::applied(Some(r.id));
                        if late {
                            // Applied and billed: the parent must hear it ("OUPS !").
                            applied.applied = false;
                            applied.code = Some(ErrorCode::CancelDeadlinePassed);
                        }
                        applied
                    }
                }
            };
            sqlx::query(
                "INSERT INTO mutations (id, family_id, account_id, kind, status, code, detail, reservation_id, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind($mutation.id())
            .bind($actor.family_id)
            .bind($actor.account_id)
            .bind($mutation.kind())
            .bind(if outcome.applied { "applied" } else { "rejected" })
            .bind(outcome.code.map(|c| c.as_str()))
            .bind(&outcome.detail)
            .bind(outcome.reservation_id)
            .bind($now)
            .execute(&mut *$tx)
            .await
            .map_err(super::unique_violation)?;
            outcome.promotions = promotions;
            Ok::<Outcome, StoreError>(outcome)
        }
    }};
}

impl Bookings<'_> {
    /// Applies one mutation once. A replayed id (even concurrently) gets the answer
    /// stored with its first application.
    pub async fn apply(
        &self,
        actor: Actor,
        mutation: &Mutation,
        now: DateTime<Utc>,
        push: bool,
    ) -> StoreResult<Outcome> {
        let mut attempts = 0;
        loop {
            attempts += 1;
            match self.try_apply(actor, mutation, now, push).await {
                Err(StoreError::Duplicate(_)) => {
                    // Another request applied the same id first; its answer is ours.
                    return self
                        .stored(actor, mutation.id())
                        .await?
                        .ok_or_else(|| StoreError::Corrupt("mutation vanished".into()));
                }
                // A concurrent transaction changed what this one read (PostgreSQL
                // only: SQLite serialises writers); the next attempt sees it.
                Err(StoreError::Retry) if attempts < 5 => continue,
                other => return other,
            }
        }
    }

    async fn stored(&self, actor: Actor, id: Uuid) -> StoreResult<Option<Outcome>> {
        let row: Option<StoredRow> = on_db!(self.db, |pool| {
            sqlx::query_as("SELECT family_id, status, code, detail, reservation_id FROM mutations WHERE id = $1")
                .bind(id)
                .fetch_optional(pool)
                .await
        })?;
        Ok(row.map(|r| stored_outcome(actor, r)))
    }

    async fn try_apply(
        &self,
        actor: Actor,
        mutation: &Mutation,
        now: DateTime<Utc>,
        push: bool,
    ) -> StoreResult<Outcome> {
        let outcome = in_tx!(self.db, |tx| {
            let mut changes: Vec<(Option<Uuid>, &str, Uuid)> = Vec::new();
            let outcome = apply_one!(tx, actor, mutation, now, changes, true)?;
            record_changes!(tx, &changes, now);
            notify_promotions!(tx, &outcome.promotions, now, push);
            outcome
        });
        Ok(outcome)
    }

    /// Applies a batch in order. On SQLite, whose writers take turns anyway, the
    /// whole batch is one transaction (one turn, one commit): if anything fails,
    /// nothing of the batch is kept and the phone sends it again, idempotently. On
    /// PostgreSQL each mutation is its own transaction, so families booking the same
    /// sessions only ever wait for one another's single booking.
    pub async fn apply_all(
        &self,
        actor: Actor,
        mutations: &[Mutation],
        now: DateTime<Utc>,
        push: bool,
    ) -> StoreResult<Vec<Outcome>> {
        match self.db {
            Db::Sqlite(..) => {
                let outcomes = in_tx!(self.db, |tx| {
                    // Which ids were applied before, in one look-up for the batch.
                    let placeholders: Vec<String> =
                        (1..=mutations.len()).map(|i| format!("${i}")).collect();
                    let sql = format!(
                        "SELECT id FROM mutations WHERE id IN ({})",
                        placeholders.join(", ")
                    );
                    let mut lookup = sqlx::query_scalar::<_, Uuid>(sqlx::AssertSqlSafe(sql));
                    for mutation in mutations {
                        lookup = lookup.bind(mutation.id());
                    }
                    let mut known: std::collections::HashSet<Uuid> = if mutations.is_empty() {
                        Default::default()
                    } else {
                        lookup.fetch_all(&mut *tx).await?.into_iter().collect()
                    };
                    let mut outcomes = Vec::with_capacity(mutations.len());
                    let mut changes: Vec<(Option<Uuid>, &str, Uuid)> = Vec::new();
                    for mutation in mutations {
                        // A repeated id within the batch is found by the second look-up.
                        let maybe_stored = !known.insert(mutation.id());
                        outcomes.push(apply_one!(tx, actor, mutation, now, changes, maybe_stored)?);
                    }
                    record_changes!(tx, &changes, now);
                    for outcome in &outcomes {
                        notify_promotions!(tx, &outcome.promotions, now, push);
                    }
                    outcomes
                });
                Ok(outcomes)
            }
            Db::Postgres(_) => {
                let mut outcomes = Vec::with_capacity(mutations.len());
                for mutation in mutations {
                    outcomes.push(self.apply(actor, mutation, now, push).await?);
                }
                Ok(outcomes)
            }
        }
    }

    /// A child's reservations on sessions between two dates, newest first per session.
    pub async fn child_reservations(
        &self,
        child_id: Uuid,
        from: NaiveDate,
        to: NaiveDate,
    ) -> StoreResult<Vec<ReservationView>> {
        Ok(on_db!(self.db, |pool| {
            sqlx::query_as(
                "SELECT r.id, r.session_id, r.child_id, r.status, r.free_cancel_until, r.updated_at \
                 FROM reservations r JOIN sessions s ON s.id = r.session_id \
                 WHERE r.child_id = $1 AND s.date >= $2 AND s.date <= $3 ORDER BY r.created_at DESC, r.id DESC",
            )
            .bind(child_id)
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await
        })?)
    }

    /// Sessions with more live bookings than places, or whose place counter disagrees
    /// with their bookings: zero unless capacity was broken (benchmarks and tests).
    pub async fn overbooked_sessions(&self) -> StoreResult<i64> {
        Ok(on_db!(self.db, |pool| {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM sessions s WHERE s.capacity < (SELECT COUNT(*) FROM reservations r \
                 WHERE r.session_id = s.id AND r.status IN ('reserved', 'late_booked', 'pending_approval')) \
                 OR s.held <> (SELECT COUNT(*) FROM reservations r \
                 WHERE r.session_id = s.id AND r.status IN ('reserved', 'late_booked', 'pending_approval'))",
            )
            .fetch_one(pool)
            .await
        })?)
    }
}

fn stored_outcome(actor: Actor, row: StoredRow) -> Outcome {
    if row.family_id != actor.family_id {
        // Another family's mutation id: reveal nothing about it.
        return Outcome::rejected(ErrorCode::NotFound);
    }
    let code = row
        .code
        .as_deref()
        .and_then(|c| ErrorCode::ALL.iter().copied().find(|k| k.as_str() == c));
    Outcome {
        applied: row.status == "applied",
        code,
        detail: row.detail,
        reservation_id: row.reservation_id,
        promotions: Vec::new(),
    }
}

// ---- staff -----------------------------------------------------------------------------

/// A family to tell about a change the services made.
#[derive(Debug, Clone, PartialEq)]
pub struct Affected {
    pub family_id: Uuid,
    pub child_id: Uuid,
    pub reservation_id: Uuid,
}

/// What a staff decision did.
#[derive(Debug, Clone, PartialEq)]
pub enum StaffOutcome {
    Done {
        affected: Vec<Affected>,
        promotions: Vec<Promotion>,
    },
    NotFound,
    /// The reservation or session is not in a state the action applies to.
    Conflict,
}

#[derive(sqlx::FromRow)]
pub struct RosterRow {
    pub reservation_id: Option<Uuid>,
    pub child_id: Uuid,
    pub family_id: Uuid,
    pub first_name: String,
    pub last_name: String,
    pub birth_date: NaiveDate,
    pub status: Option<String>,
    pub waitlisted_at: Option<DateTime<Utc>>,
    pub allergies: Option<String>,
    pub pai: Option<bool>,
    pub attendance: Option<String>,
}

#[derive(sqlx::FromRow)]
pub struct RosterSession {
    pub activity: String,
    pub option: String,
    pub date: NaiveDate,
    pub status: String,
    pub capacity: i32,
    pub held: i32,
}

impl Bookings<'_> {
    /// Approves or refuses a booking awaiting approval. A refusal frees the place
    /// for the waitlist.
    pub async fn decide_pending(
        &self,
        reservation_id: Uuid,
        approve: bool,
        now: DateTime<Utc>,
        push: bool,
    ) -> StoreResult<StaffOutcome> {
        let outcome = in_tx!(self.db, |tx| {
            let found: Option<(Uuid, Uuid, Uuid, bool, NaiveDate, String)> = sqlx::query_as(
                "SELECT r.family_id, r.child_id, r.session_id, r.young, s.date, a.rules FROM reservations r \
                 JOIN sessions s ON s.id = r.session_id JOIN activities a ON a.id = s.activity_id \
                 WHERE r.id = $1",
            )
            .bind(reservation_id)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((family_id, child_id, session_id, young, date, rules)) = found else {
                return Ok(StaffOutcome::NotFound);
            };
            let rules: BookingRules = parse_json(&rules)?;
            let new_status = if approve { "reserved" } else { "refused" };
            let changed = sqlx::query(
                "UPDATE reservations SET status = $2, updated_at = $3 WHERE id = $1 AND status = 'pending_approval'",
            )
            .bind(reservation_id)
            .bind(new_status)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if changed == 0 {
                return Ok(StaffOutcome::Conflict);
            }
            let mut changes: Vec<(Option<Uuid>, &str, Uuid)> =
                vec![(Some(family_id), "reservation", reservation_id)];
            let mut promotions = Vec::new();
            if !approve {
                let after_release = Capacity::from(&release_place!(tx, session_id, young, now));
                let before = Capacity {
                    held: after_release.held + 1,
                    held_young: after_release.held_young + u32::from(young),
                    held_old: after_release.held_old + u32::from(!young),
                    ..after_release
                };
                let promoted = if rules.waitlist && paris_date(now) <= date {
                    promote_first!(tx, session_id, rules, date, now, changes, promotions)
                } else {
                    None
                };
                let after = promoted.unwrap_or(after_release);
                if before.full(true) != after.full(true) || before.full(false) != after.full(false)
                {
                    changes.push((None, "session", session_id));
                }
            }
            record_changes!(tx, &changes, now);
            let mut notices = Vec::new();
            if let Some(facts) = booking_facts!(tx, reservation_id) {
                notices.push(texts::booking_decided(reservation_id, &facts, approve));
            }
            notify!(tx, &notices, now, push);
            notify_promotions!(tx, &promotions, now, push);
            StaffOutcome::Done {
                affected: vec![Affected {
                    family_id,
                    child_id,
                    reservation_id,
                }],
                promotions,
            }
        });
        Ok(outcome)
    }

    /// Cancels a session: every live reservation is cancelled without charge.
    pub async fn cancel_session(
        &self,
        session_id: Uuid,
        now: DateTime<Utc>,
        push: bool,
    ) -> StoreResult<StaffOutcome> {
        let outcome = in_tx!(self.db, |tx| {
            let changed = sqlx::query(
                "UPDATE sessions SET status = 'cancelled', held = 0, held_young = 0, held_old = 0, updated_at = $2 \
                 WHERE id = $1 AND status <> 'cancelled'",
            )
            .bind(session_id)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if changed == 0 {
                let exists: Option<Uuid> =
                    sqlx::query_scalar("SELECT id FROM sessions WHERE id = $1")
                        .bind(session_id)
                        .fetch_optional(&mut *tx)
                        .await?;
                return Ok(if exists.is_some() {
                    StaffOutcome::Conflict
                } else {
                    StaffOutcome::NotFound
                });
            }
            let live: Vec<(Uuid, Uuid, Uuid, String)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT r.id, r.family_id, r.child_id, c.first_name FROM reservations r JOIN children c ON c.id = r.child_id \
                 WHERE r.session_id = $1 AND r.status IN {LIVE}"
            )))
            .bind(session_id)
            .fetch_all(&mut *tx)
            .await?;
            let (activity, option, date): (String, String, NaiveDate) = sqlx::query_as(
                "SELECT a.name, o.name, s.date FROM sessions s JOIN activities a ON a.id = s.activity_id \
                 JOIN activity_options o ON o.id = s.option_id WHERE s.id = $1",
            )
            .bind(session_id)
            .fetch_one(&mut *tx)
            .await?;
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE reservations SET status = 'cancelled', updated_at = $2 WHERE session_id = $1 AND status IN {LIVE}"
            )))
            .bind(session_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            let mut changes: Vec<(Option<Uuid>, &str, Uuid)> = vec![(None, "session", session_id)];
            changes.extend(
                live.iter()
                    .map(|(id, family_id, _, _)| (Some(*family_id), "reservation", *id)),
            );
            record_changes!(tx, &changes, now);
            let notices: Vec<Notice> = live
                .iter()
                .map(|(id, family_id, _, child)| {
                    let facts = BookingNames {
                        family_id: *family_id,
                        child: child.clone(),
                        activity: activity.clone(),
                        option: option.clone(),
                        date,
                    };
                    texts::session_cancelled(*id, &facts)
                })
                .collect();
            notify!(tx, &notices, now, push);
            StaffOutcome::Done {
                affected: live
                    .into_iter()
                    .map(|(reservation_id, family_id, child_id, _)| Affected {
                        family_id,
                        child_id,
                        reservation_id,
                    })
                    .collect(),
                promotions: Vec::new(),
            }
        });
        Ok(outcome)
    }

    /// The session's list: booked and waitlisted children, and anyone pointed present
    /// without a booking, with health flags and attendance.
    pub async fn roster(
        &self,
        session_id: Uuid,
    ) -> StoreResult<Option<(RosterSession, Vec<RosterRow>)>> {
        let result = on_db!(self.db, |pool| {
            let session: Option<RosterSession> = sqlx::query_as(
                "SELECT a.name AS activity, o.name AS option, s.date, s.status, s.capacity, s.held FROM sessions s \
                 JOIN activities a ON a.id = s.activity_id JOIN activity_options o ON o.id = s.option_id WHERE s.id = $1",
            )
            .bind(session_id)
            .fetch_optional(pool)
            .await?;
            let Some(session) = session else {
                return Ok(None);
            };
            let rows: Vec<RosterRow> = sqlx::query_as(
                "SELECT r.id AS reservation_id, c.id AS child_id, c.family_id, c.first_name, c.last_name, c.birth_date, \
                 r.status, r.waitlisted_at, h.allergies, h.pai, t.code AS attendance \
                 FROM children c \
                 LEFT JOIN reservations r ON r.child_id = c.id AND r.session_id = $1 \
                   AND r.status IN ('reserved', 'late_booked', 'pending_approval', 'waitlisted', 'late_cancelled') \
                 LEFT JOIN attendance t ON t.child_id = c.id AND t.session_id = $1 \
                 LEFT JOIN health_records h ON h.child_id = c.id \
                 WHERE r.id IS NOT NULL OR t.child_id IS NOT NULL \
                 ORDER BY c.last_name, c.first_name, c.id",
            )
            .bind(session_id)
            .fetch_all(pool)
            .await?;
            Ok::<_, sqlx::Error>(Some((session, rows)))
        })?;
        Ok(result)
    }

    /// Records a pointage code. Any code but "present without booking" needs a
    /// booking; `false` when the child or session is unknown or the code does not fit.
    pub async fn record_attendance(
        &self,
        session_id: Uuid,
        child_id: Uuid,
        code: &str,
        staff: Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let ok = in_tx!(self.db, |tx| {
            let booked: Option<Uuid> = sqlx::query_scalar(
                "SELECT id FROM reservations WHERE session_id = $1 AND child_id = $2 \
                 AND status IN ('reserved', 'late_booked', 'late_cancelled')",
            )
            .bind(session_id)
            .bind(child_id)
            .fetch_optional(&mut *tx)
            .await?;
            let known: Option<(Uuid, Uuid)> = sqlx::query_as(
                "SELECT s.id, c.id FROM sessions s, children c WHERE s.id = $1 AND c.id = $2",
            )
            .bind(session_id)
            .bind(child_id)
            .fetch_optional(&mut *tx)
            .await?;
            if known.is_none() || (booked.is_some() == (code == "present_unbooked")) {
                false
            } else {
                sqlx::query(
                    "INSERT INTO attendance (session_id, child_id, code, recorded_by, recorded_at) VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (session_id, child_id) DO UPDATE SET code = excluded.code, \
                     recorded_by = excluded.recorded_by, recorded_at = excluded.recorded_at",
                )
                .bind(session_id)
                .bind(child_id)
                .bind(code)
                .bind(staff)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                true
            }
        });
        Ok(ok)
    }
}

// ---- iCalendar feed ----------------------------------------------------------------

/// One booked day for a family's calendar feed.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FeedEvent {
    pub reservation_id: Uuid,
    pub status: String,
    pub date: NaiveDate,
    pub child: String,
    pub activity: String,
    pub option: String,
    pub venue: String,
    pub updated_at: DateTime<Utc>,
}

impl Bookings<'_> {
    /// Sets (or replaces) the family's feed secret.
    pub async fn set_calendar_feed(
        &self,
        family_id: Uuid,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        on_db!(self.db, |pool| {
            sqlx::query(
                "INSERT INTO calendar_feeds (family_id, token_hash, created_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (family_id) DO UPDATE SET token_hash = excluded.token_hash, created_at = excluded.created_at",
            )
            .bind(family_id)
            .bind(token_hash)
            .bind(now)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    pub async fn revoke_calendar_feed(&self, family_id: Uuid) -> StoreResult<bool> {
        let done = on_db!(self.db, |pool| {
            sqlx::query("DELETE FROM calendar_feeds WHERE family_id = $1")
                .bind(family_id)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(done == 1)
    }

    pub async fn calendar_feed_family(&self, token_hash: &str) -> StoreResult<Option<Uuid>> {
        Ok(on_db!(self.db, |pool| {
            sqlx::query_scalar("SELECT family_id FROM calendar_feeds WHERE token_hash = $1")
                .bind(token_hash)
                .fetch_optional(pool)
                .await
        })?)
    }

    /// The family's booked days between two dates.
    pub async fn feed_events(
        &self,
        family_id: Uuid,
        from: NaiveDate,
        to: NaiveDate,
    ) -> StoreResult<Vec<FeedEvent>> {
        Ok(on_db!(self.db, |pool| {
            sqlx::query_as(
                "SELECT r.id AS reservation_id, r.status, s.date, c.first_name AS child, a.name AS activity, \
                 o.name AS option, v.name AS venue, r.updated_at \
                 FROM reservations r JOIN sessions s ON s.id = r.session_id JOIN children c ON c.id = r.child_id \
                 JOIN activities a ON a.id = s.activity_id JOIN activity_options o ON o.id = s.option_id \
                 JOIN venues v ON v.id = a.venue_id \
                 WHERE r.family_id = $1 AND r.status IN ('reserved', 'late_booked', 'pending_approval') \
                 AND s.status <> 'cancelled' AND s.date >= $2 AND s.date <= $3 ORDER BY s.date, c.first_name",
            )
            .bind(family_id)
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await
        })?)
    }
}
