//! The services' side of bookings: a session cancelled, rosters with health flags,
//! attendance.

use chrono::{DateTime, NaiveDate, Utc};
use famille_model::booking::{AttendanceCode, Eligibility, ReservationStatus, SessionStatus};
use famille_model::dossier::{SchoolLevel, SchoolYear};
use famille_model::notice::BookingNames;
use uuid::Uuid;

use super::super::feed::FeedEntry;
use super::super::{StoreError, StoreResult, Tx, in_tx, on_db, on_tx, parse_stored};
use super::{Bookings, LIVE};

/// A booking the services' change cancelled, to tell its family about.
#[derive(Debug, Clone, PartialEq)]
pub struct Affected {
    pub family_id: Uuid,
    pub child_id: Uuid,
    pub booking: BookingNames,
}

/// What cancelling a session found.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionCancellation {
    NotFound,
    AlreadyCancelled,
    /// Every live reservation was cancelled without charge.
    Cancelled(Vec<Affected>),
}

/// Cancels a session: every reservation holding or waiting for a place is
/// cancelled, free, and the places counters go back to zero.
pub async fn cancel_session(tx: &mut Tx, session_id: Uuid) -> StoreResult<SessionCancellation> {
    let now = tx.now();
    let found: Option<(String,)> = on_tx!(tx, |c| sqlx::query_as(
        "SELECT status FROM sessions WHERE id = $1"
    )
    .bind(session_id)
    .fetch_optional(&mut *c)
    .await)?;
    let Some((status,)) = found else {
        return Ok(SessionCancellation::NotFound);
    };
    if parse_stored::<SessionStatus>(&status)? == SessionStatus::Cancelled {
        return Ok(SessionCancellation::AlreadyCancelled);
    }
    let live: Vec<(Uuid, Uuid, Uuid, String, String, String, NaiveDate)> = on_tx!(tx, |c| {
        let changed = sqlx::query(
            "UPDATE sessions SET status = 'cancelled', held = 0, held_young = 0, held_old = 0, updated_at = $2 \
             WHERE id = $1 AND status <> 'cancelled'",
        )
        .bind(session_id)
        .bind(now)
        .execute(&mut *c)
        .await?
        .rows_affected();
        if changed == 0 {
            return Err(StoreError::Retry);
        }
        let live = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT r.id, r.family_id, r.child_id, ch.first_name, a.name, o.name, s.date \
             FROM reservations r JOIN children ch ON ch.id = r.child_id JOIN sessions s ON s.id = r.session_id \
             JOIN activities a ON a.id = s.activity_id JOIN activity_options o ON o.id = s.option_id \
             WHERE r.session_id = $1 AND r.status IN {LIVE}"
        )))
        .bind(session_id)
        .fetch_all(&mut *c)
        .await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE reservations SET status = 'cancelled', updated_at = $2 WHERE session_id = $1 AND status IN {LIVE}"
        )))
        .bind(session_id)
        .bind(now)
        .execute(&mut *c)
        .await?;
        Ok::<_, StoreError>(live)
    })?;
    tx.changed(FeedEntry::session(session_id));
    let mut affected = Vec::with_capacity(live.len());
    for (reservation_id, family_id, child_id, child, activity, option, date) in live {
        tx.changed(FeedEntry::reservation(family_id, reservation_id));
        affected.push(Affected {
            family_id,
            child_id,
            booking: BookingNames {
                reservation_id,
                child,
                activity,
                option,
                date,
            },
        });
    }
    Ok(SessionCancellation::Cancelled(affected))
}

/// One child on a session's list: booked, waitlisted, or pointed present without a
/// booking; with health flags (the details stay in the audited health record).
#[derive(Debug, Clone)]
pub struct RosterRow {
    pub reservation_id: Option<Uuid>,
    pub child_id: Uuid,
    pub family_id: Uuid,
    pub first_name: String,
    pub last_name: String,
    pub birth_date: NaiveDate,
    pub status: Option<ReservationStatus>,
    pub waitlisted_at: Option<DateTime<Utc>>,
    pub has_allergies: bool,
    pub pai: bool,
    pub attendance: Option<AttendanceCode>,
    /// The levels declared for the child, by school year.
    pub school_levels: Vec<(SchoolYear, SchoolLevel)>,
}

#[derive(sqlx::FromRow)]
struct RawRosterRow {
    reservation_id: Option<Uuid>,
    child_id: Uuid,
    family_id: Uuid,
    first_name: String,
    last_name: String,
    birth_date: NaiveDate,
    status: Option<String>,
    waitlisted_at: Option<DateTime<Utc>>,
    allergies: Option<String>,
    pai: Option<bool>,
    attendance: Option<String>,
}

impl TryFrom<RawRosterRow> for RosterRow {
    type Error = StoreError;
    fn try_from(r: RawRosterRow) -> StoreResult<RosterRow> {
        Ok(RosterRow {
            reservation_id: r.reservation_id,
            child_id: r.child_id,
            family_id: r.family_id,
            first_name: r.first_name,
            last_name: r.last_name,
            birth_date: r.birth_date,
            status: r.status.as_deref().map(parse_stored).transpose()?,
            waitlisted_at: r.waitlisted_at,
            has_allergies: r.allergies.is_some_and(|a| !a.trim().is_empty()),
            pai: r.pai.unwrap_or(false),
            attendance: r.attendance.as_deref().map(parse_stored).transpose()?,
            school_levels: Vec::new(),
        })
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RosterSession {
    pub activity: String,
    pub option: String,
    pub date: NaiveDate,
    #[sqlx(try_from = "String")]
    pub status: SessionStatus,
    pub capacity: i32,
    pub held: i32,
    #[sqlx(try_from = "String")]
    pub eligibility: Eligibility,
}

impl Bookings<'_> {
    /// The session's list: booked and waitlisted children, and anyone pointed present
    /// without a booking, with health flags and attendance.
    pub async fn roster(
        &self,
        session_id: Uuid,
    ) -> StoreResult<Option<(RosterSession, Vec<RosterRow>)>> {
        let result = on_db!(self.db, |pool| {
            let session: Option<RosterSession> = sqlx::query_as(
                "SELECT a.name AS activity, o.name AS option, s.date, s.status, s.capacity, s.held, a.eligibility FROM sessions s \
                 JOIN activities a ON a.id = s.activity_id JOIN activity_options o ON o.id = s.option_id WHERE s.id = $1",
            )
            .bind(session_id)
            .fetch_optional(pool)
            .await?;
            let Some(session) = session else {
                return Ok(None);
            };
            let rows: Vec<RawRosterRow> = sqlx::query_as(
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
            let levels: Vec<(Uuid, i32, String)> = sqlx::query_as(
                "SELECT l.child_id, l.school_year, l.level FROM child_levels l WHERE l.child_id IN \
                 (SELECT r.child_id FROM reservations r WHERE r.session_id = $1 \
                  UNION SELECT t.child_id FROM attendance t WHERE t.session_id = $1)",
            )
            .bind(session_id)
            .fetch_all(pool)
            .await?;
            Ok::<_, sqlx::Error>(Some((session, rows, levels)))
        })?;
        result
            .map(|(session, rows, levels)| {
                let mut rows = rows
                    .into_iter()
                    .map(RosterRow::try_from)
                    .collect::<StoreResult<Vec<_>>>()?;
                for (child_id, year, level) in levels {
                    let level: SchoolLevel = parse_stored(&level)?;
                    for row in rows.iter_mut().filter(|r| r.child_id == child_id) {
                        row.school_levels.push((SchoolYear(year), level));
                    }
                }
                Ok((session, rows))
            })
            .transpose()
    }

    /// Records a pointage code. Any code but "present without booking" needs a
    /// booking; `false` when the child or session is unknown or the code does not fit.
    pub async fn record_attendance(
        &self,
        session_id: Uuid,
        child_id: Uuid,
        code: AttendanceCode,
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
            if known.is_none() || (booked.is_some() == (code == AttendanceCode::PresentUnbooked)) {
                false
            } else {
                sqlx::query(
                    "INSERT INTO attendance (session_id, child_id, code, recorded_by, recorded_at) VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (session_id, child_id) DO UPDATE SET code = excluded.code, \
                     recorded_by = excluded.recorded_by, recorded_at = excluded.recorded_at",
                )
                .bind(session_id)
                .bind(child_id)
                .bind(code.as_str())
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
