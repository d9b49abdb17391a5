//! The facts of a parent's booking intent, read inside its transaction, and the
//! writes that carry out the decision taken on them.

use chrono::{DateTime, NaiveDate, Utc};
use famille_model::booking::{
    AgeGroup, BookingRules, Capacity, Eligibility, ReservationStatus, SessionStatus,
};
use famille_model::dossier::{FamilyStatus, SchoolLevel, SchoolYear, level_in};
use uuid::Uuid;

use super::super::catalog::{CapacityRow, Requirement, ValidDocument, missing_documents};
use super::super::feed::FeedEntry;
use super::super::{StoreResult, Tx, on_tx, parse_stored, retry_on_unique};

/// What a booking decision is taken on: the family, its child, the session with its
/// activity and places, and the child's live reservation on it.
#[derive(Debug, Clone)]
pub struct BookingContext {
    pub family_status: FamilyStatus,
    pub birth_date: NaiveDate,
    /// The child's level in the session's school year.
    pub school_level: SchoolLevel,
    pub date: NaiveDate,
    pub session_status: SessionStatus,
    pub eligibility: Eligibility,
    pub rules: BookingRules,
    pub age_split: Option<u8>,
    pub capacity: Capacity,
    /// The child's reservation holding or waiting for a place on this session.
    pub live: Option<Uuid>,
    /// Children on the session's waitlist.
    pub waiting: i64,
    /// Labels of the required documents the child lacks for this date.
    pub missing_documents: Vec<String>,
}

#[derive(sqlx::FromRow)]
struct ContextRow {
    #[sqlx(try_from = "String")]
    family_status: FamilyStatus,
    birth_date: NaiveDate,
    date: NaiveDate,
    #[sqlx(try_from = "String")]
    status: SessionStatus,
    activity_id: Uuid,
    #[sqlx(try_from = "String")]
    eligibility: Eligibility,
    #[sqlx(try_from = "String")]
    rules: BookingRules,
    age_split: Option<i16>,
    live: Option<Uuid>,
    waiting: i64,
    requirements: i64,
    #[sqlx(flatten)]
    places: CapacityRow,
}

/// Every fact of a booking of `child_id` on `session_id` by `family_id`, in one
/// round trip (two more only when the activity requires documents); `None` when the
/// child is not the family's or the session does not exist.
pub async fn booking_context(
    tx: &mut Tx,
    family_id: Uuid,
    child_id: Uuid,
    session_id: Uuid,
) -> StoreResult<Option<BookingContext>> {
    let row: Option<ContextRow> = on_tx!(tx, |c| {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT f.status AS family_status, ch.birth_date, \
         s.date, s.status, s.activity_id, a.eligibility, a.rules, a.age_split, \
         s.capacity, s.capacity_young, s.capacity_old, s.held, s.held_young, s.held_old, \
         (SELECT r.id FROM reservations r WHERE r.session_id = s.id AND r.child_id = ch.id \
            AND r.status IN {}) AS live, \
         (SELECT COUNT(*) FROM reservations w WHERE w.session_id = s.id AND w.status = 'waitlisted') AS waiting, \
         (SELECT COUNT(*) FROM activity_required_documents d WHERE d.activity_id = a.id) AS requirements \
         FROM families f JOIN children ch ON ch.family_id = f.id AND ch.id = $2 \
         JOIN sessions s ON s.id = $3 JOIN activities a ON a.id = s.activity_id AND a.archived_at IS NULL \
         WHERE f.id = $1",
        super::LIVE
    )))
    .bind(family_id)
    .bind(child_id)
    .bind(session_id)
    .fetch_optional(&mut *c)
    .await
    })?;
    let Some(row) = row else {
        return Ok(None);
    };
    // The level of the session's own school year, from the levels declared.
    let declared: Vec<(i32, String)> = on_tx!(tx, |c| {
        sqlx::query_as("SELECT school_year, level FROM child_levels WHERE child_id = $1")
            .bind(child_id)
            .fetch_all(&mut *c)
            .await
    })?;
    let declared = declared
        .into_iter()
        .map(|(year, level)| Ok((SchoolYear(year), parse_stored(&level)?)))
        .collect::<StoreResult<Vec<(SchoolYear, SchoolLevel)>>>()?;
    let school_level =
        level_in(&declared, SchoolYear::of(row.date)).unwrap_or(SchoolLevel::NotSchooled);
    let missing = if row.requirements == 0 {
        Vec::new()
    } else {
        let (requirements, documents) = on_tx!(tx, |c| {
            let requirements: Vec<Requirement> = sqlx::query_as(
                "SELECT r.activity_id, r.document_type_id, t.label, t.scope \
                 FROM activity_required_documents r JOIN document_types t ON t.id = r.document_type_id \
                 WHERE r.activity_id = $1",
            )
            .bind(row.activity_id)
            .fetch_all(&mut *c)
            .await?;
            let documents: Vec<ValidDocument> = sqlx::query_as(
                "SELECT document_type_id, child_id, valid_until FROM documents \
                 WHERE family_id = $1 AND status = 'validated'",
            )
            .bind(family_id)
            .fetch_all(&mut *c)
            .await?;
            Ok::<_, sqlx::Error>((requirements, documents))
        })?;
        missing_documents(requirements.iter(), &documents, child_id, row.date)
    };
    Ok(Some(BookingContext {
        family_status: row.family_status,
        birth_date: row.birth_date,
        school_level,
        date: row.date,
        session_status: row.status,
        eligibility: row.eligibility,
        rules: row.rules,
        age_split: row.age_split.and_then(|a| u8::try_from(a).ok()),
        capacity: Capacity::from(&row.places),
        live: row.live,
        waiting: row.waiting,
        missing_documents: missing,
    }))
}

/// A reservation to create.
#[derive(Debug, Clone, Copy)]
pub struct NewReservation {
    pub id: Uuid,
    pub session_id: Uuid,
    pub child_id: Uuid,
    pub family_id: Uuid,
    pub status: ReservationStatus,
    pub group: AgeGroup,
}

/// Inserts a reservation (its place, if it holds one, already taken). A concurrent
/// live reservation of the same child and session makes the caller retry.
pub async fn insert_reservation(tx: &mut Tx, r: &NewReservation) -> StoreResult<()> {
    let now = tx.now();
    let waitlisted_at = (r.status == ReservationStatus::Waitlisted).then_some(now);
    on_tx!(tx, |c| {
        sqlx::query(
        "INSERT INTO reservations (id, session_id, child_id, family_id, status, young, created_at, updated_at, waitlisted_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8)",
    )
    .bind(r.id)
    .bind(r.session_id)
    .bind(r.child_id)
    .bind(r.family_id)
    .bind(r.status.as_str())
    .bind(r.group.is_younger())
    .bind(now)
    .bind(waitlisted_at)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected())
    .map_err(retry_on_unique)
    })?;
    tx.changed(FeedEntry::reservation(r.family_id, r.id));
    Ok(())
}

/// A reservation as a cancellation or a staff decision reads it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReservationContext {
    pub id: Uuid,
    pub family_id: Uuid,
    pub child_id: Uuid,
    pub session_id: Uuid,
    #[sqlx(try_from = "String")]
    pub status: ReservationStatus,
    #[sqlx(rename = "young", try_from = "bool")]
    pub group: AgeGroup,
    pub free_cancel_until: Option<DateTime<Utc>>,
    pub date: NaiveDate,
    #[sqlx(try_from = "String")]
    pub rules: BookingRules,
}

/// A reservation with its session's date and its activity's rules; with a family,
/// only that family's (another family's id finds nothing).
pub async fn reservation_context(
    tx: &mut Tx,
    reservation_id: Uuid,
    family_id: Option<Uuid>,
) -> StoreResult<Option<ReservationContext>> {
    Ok(on_tx!(tx, |c| {
        sqlx::query_as(
        "SELECT r.id, r.family_id, r.child_id, r.session_id, r.status, r.young, r.free_cancel_until, s.date, a.rules \
         FROM reservations r JOIN sessions s ON s.id = r.session_id JOIN activities a ON a.id = s.activity_id \
         WHERE r.id = $1 AND ($2 IS NULL OR r.family_id = $2)",
    )
    .bind(reservation_id)
    .bind(family_id)
    .fetch_optional(&mut *c)
    .await
    })?)
}

/// Moves a reservation from `from` to `to`. Guarded on `from`: a concurrent change
/// (a second cancellation that would free the same place twice) makes the caller
/// retry.
pub async fn set_status(
    tx: &mut Tx,
    r: &ReservationContext,
    from: ReservationStatus,
    to: ReservationStatus,
) -> StoreResult<()> {
    let now = tx.now();
    let changed = on_tx!(tx, |c| sqlx::query(
        "UPDATE reservations SET status = $2, updated_at = $3 WHERE id = $1 AND status = $4",
    )
    .bind(r.id)
    .bind(to.as_str())
    .bind(now)
    .bind(from.as_str())
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    if changed == 0 {
        return Err(super::super::StoreError::Retry);
    }
    tx.changed(FeedEntry::reservation(r.family_id, r.id));
    Ok(())
}
