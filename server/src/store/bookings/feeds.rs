//! Reservations as the family's calendars show them: a child's, and the family's
//! iCalendar feed behind a secret address; and a consistency check of the places.

use chrono::{DateTime, NaiveDate, Utc};
use famille_model::booking::ReservationStatus;
use uuid::Uuid;

use super::super::{StoreResult, execute, on_db, scalar};
use super::{Bookings, HOLDING};

/// A reservation as the calendar and the sync feed show it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReservationView {
    pub id: Uuid,
    pub session_id: Uuid,
    pub child_id: Uuid,
    #[sqlx(try_from = "String")]
    pub status: ReservationStatus,
    pub free_cancel_until: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

impl Bookings<'_> {
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
        Ok(scalar!(
            one,
            self.db,
            sqlx::AssertSqlSafe(format!(
                "SELECT COUNT(*) FROM sessions s WHERE s.capacity < (SELECT COUNT(*) FROM reservations r \
                 WHERE r.session_id = s.id AND r.status IN {HOLDING}) \
                 OR s.held <> (SELECT COUNT(*) FROM reservations r \
                 WHERE r.session_id = s.id AND r.status IN {HOLDING})"
            ))
        )?)
    }
}

/// One booked day for a family's calendar feed.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FeedEvent {
    pub reservation_id: Uuid,
    #[sqlx(try_from = "String")]
    pub status: ReservationStatus,
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
        execute!(
            self.db,
            "INSERT INTO calendar_feeds (family_id, token_hash, created_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (family_id) DO UPDATE SET token_hash = excluded.token_hash, created_at = excluded.created_at",
            family_id,
            token_hash,
            now
        )?;
        Ok(())
    }

    pub async fn revoke_calendar_feed(&self, family_id: Uuid) -> StoreResult<bool> {
        Ok(execute!(
            self.db,
            "DELETE FROM calendar_feeds WHERE family_id = $1",
            family_id
        )? == 1)
    }

    pub async fn calendar_feed_family(&self, token_hash: &str) -> StoreResult<Option<Uuid>> {
        Ok(scalar!(
            optional,
            self.db,
            "SELECT family_id FROM calendar_feeds WHERE token_hash = $1",
            token_hash
        )?)
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
