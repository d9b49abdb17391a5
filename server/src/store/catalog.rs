//! The catalog: categories, venues, activities with their rules and options, dated
//! sessions, and the document types activities may require.

use chrono::{DateTime, NaiveDate, Utc};
use famille_model::api::DocumentScope;
use famille_model::booking::{BookingRules, Capacity, Eligibility, SessionStatus};
use uuid::Uuid;

use super::feed::FeedEntry;
use super::{
    Db, StoreError, StoreResult, Tx, execute, in_tx, on_db, on_tx, record_changes, scalar,
    unique_violation,
};

pub struct Catalog<'a> {
    pub(super) db: &'a Db,
}

/// An activity with its rules parsed.
#[derive(Debug, Clone)]
pub struct Activity {
    pub id: Uuid,
    pub category_id: Uuid,
    pub name: String,
    pub venue: String,
    pub eligibility: Eligibility,
    pub rules: BookingRules,
    pub age_split: Option<u8>,
}

#[derive(sqlx::FromRow)]
struct ActivityRow {
    id: Uuid,
    category_id: Uuid,
    name: String,
    venue: String,
    #[sqlx(try_from = "String")]
    eligibility: Eligibility,
    #[sqlx(try_from = "String")]
    rules: BookingRules,
    age_split: Option<i16>,
}

impl From<ActivityRow> for Activity {
    fn from(r: ActivityRow) -> Activity {
        Activity {
            eligibility: r.eligibility,
            rules: r.rules,
            age_split: age_split(r.age_split),
            id: r.id,
            category_id: r.category_id,
            name: r.name,
            venue: r.venue,
        }
    }
}

/// The stored split age (a small integer) as the model counts it.
fn age_split(stored: Option<i16>) -> Option<u8> {
    stored.and_then(|a| u8::try_from(a).ok())
}

/// A session as calendars need it.
#[derive(Debug, Clone)]
pub struct Session {
    pub id: Uuid,
    pub activity_id: Uuid,
    pub option: String,
    pub option_position: i32,
    pub date: NaiveDate,
    pub status: SessionStatus,
    pub capacity: Capacity,
}

#[derive(sqlx::FromRow)]
pub(super) struct SessionRow {
    pub id: Uuid,
    pub activity_id: Uuid,
    pub option: String,
    pub option_position: i32,
    pub date: NaiveDate,
    #[sqlx(try_from = "String")]
    pub status: SessionStatus,
    #[sqlx(flatten)]
    pub places: CapacityRow,
}

/// A session's place columns as stored (signed integers) — one conversion to
/// [`Capacity`] for every query that reads them.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CapacityRow {
    pub capacity: i32,
    pub capacity_young: Option<i32>,
    pub capacity_old: Option<i32>,
    pub held: i32,
    pub held_young: i32,
    pub held_old: i32,
}

impl From<&CapacityRow> for Capacity {
    fn from(r: &CapacityRow) -> Capacity {
        Capacity {
            capacity: count(r.capacity),
            capacity_young: r.capacity_young.map(count),
            capacity_old: r.capacity_old.map(count),
            held: count(r.held),
            held_young: count(r.held_young),
            held_old: count(r.held_old),
        }
    }
}

fn count(n: i32) -> u32 {
    u32::try_from(n).unwrap_or(0)
}

impl From<SessionRow> for Session {
    fn from(r: SessionRow) -> Session {
        Session {
            id: r.id,
            activity_id: r.activity_id,
            option: r.option,
            option_position: r.option_position,
            date: r.date,
            status: r.status,
            capacity: Capacity::from(&r.places),
        }
    }
}

/// A document type an activity requires, and where it must be on file.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Requirement {
    pub activity_id: Uuid,
    pub document_type_id: Uuid,
    pub label: String,
    #[sqlx(try_from = "String")]
    pub scope: DocumentScope,
}

/// A validated document on file.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ValidDocument {
    pub document_type_id: Uuid,
    pub child_id: Option<Uuid>,
    pub valid_until: Option<NaiveDate>,
}

impl famille_model::calendar_view::Required for Requirement {
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

impl famille_model::calendar_view::OnFile for ValidDocument {
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

pub use famille_model::calendar_view::missing_documents;

pub struct NewActivity<'a> {
    pub id: Uuid,
    pub category_id: Uuid,
    pub venue_id: Uuid,
    pub name: &'a str,
    pub description: Option<&'a str>,
    pub eligibility: &'a Eligibility,
    pub rules: &'a BookingRules,
    pub age_split: Option<u8>,
    pub now: DateTime<Utc>,
}

pub struct NewSession {
    pub id: Uuid,
    pub activity_id: Uuid,
    pub option_id: Uuid,
    pub date: NaiveDate,
    pub capacity: u32,
    pub capacity_young: Option<u32>,
    pub capacity_old: Option<u32>,
    pub now: DateTime<Utc>,
}

const ACTIVITY_SELECT: &str = "SELECT a.id, a.category_id, a.name, v.name AS venue, a.eligibility, a.rules, a.age_split \
     FROM activities a JOIN venues v ON v.id = a.venue_id WHERE a.archived_at IS NULL";

impl Catalog<'_> {
    pub async fn insert_category(
        &self,
        id: Uuid,
        code: &str,
        name: &str,
        position: i32,
    ) -> StoreResult<()> {
        execute!(
            self.db,
            "INSERT INTO activity_categories (id, code, name, position) VALUES ($1, $2, $3, $4)",
            id,
            code,
            name,
            position
        )
        .map_err(unique_violation)?;
        Ok(())
    }

    pub async fn insert_venue(
        &self,
        id: Uuid,
        name: &str,
        address: Option<&str>,
    ) -> StoreResult<()> {
        execute!(
            self.db,
            "INSERT INTO venues (id, name, address) VALUES ($1, $2, $3)",
            id,
            name,
            address
        )
        .map_err(unique_violation)?;
        Ok(())
    }

    pub async fn insert_document_type(
        &self,
        id: Uuid,
        code: &str,
        label: &str,
        scope: DocumentScope,
    ) -> StoreResult<()> {
        execute!(
            self.db,
            "INSERT INTO document_types (id, code, label, scope) VALUES ($1, $2, $3, $4)",
            id,
            code,
            label,
            scope.as_str()
        )
        .map_err(unique_violation)?;
        Ok(())
    }

    /// Records a document as validated (imports, the demo); in the family's feed.
    pub async fn insert_validated_document(
        &self,
        family_id: Uuid,
        child_id: Option<Uuid>,
        document_type_id: Uuid,
        valid_until: Option<NaiveDate>,
        now: DateTime<Utc>,
    ) -> StoreResult<Uuid> {
        let id = Uuid::now_v7();
        in_tx!(self.db, |tx| {
            sqlx::query(
                "INSERT INTO documents (id, family_id, child_id, document_type_id, status, valid_until, created_at, updated_at, decided_at) \
                 VALUES ($1, $2, $3, $4, 'validated', $5, $6, $6, $6)",
            )
            .bind(id)
            .bind(family_id)
            .bind(child_id)
            .bind(document_type_id)
            .bind(valid_until)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            record_changes!(tx, &[FeedEntry::document(family_id, id)], now);
        });
        Ok(id)
    }

    pub async fn insert_activity(&self, a: &NewActivity<'_>) -> StoreResult<()> {
        let eligibility =
            serde_json::to_string(a.eligibility).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let rules =
            serde_json::to_string(a.rules).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        in_tx!(self.db, |tx| {
            sqlx::query(
                "INSERT INTO activities (id, category_id, venue_id, name, description, eligibility, rules, age_split, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
            )
            .bind(a.id)
            .bind(a.category_id)
            .bind(a.venue_id)
            .bind(a.name)
            .bind(a.description)
            .bind(&eligibility)
            .bind(&rules)
            .bind(a.age_split.map(i16::from))
            .bind(a.now)
            .execute(&mut *tx)
            .await?;
            record_changes!(tx, &[FeedEntry::activity(a.id)], a.now);
        });
        Ok(())
    }

    pub async fn require_document(
        &self,
        activity_id: Uuid,
        document_type_id: Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        in_tx!(self.db, |tx| {
            sqlx::query("INSERT INTO activity_required_documents (activity_id, document_type_id) VALUES ($1, $2)")
                .bind(activity_id)
                .bind(document_type_id)
                .execute(&mut *tx)
                .await?;
            record_changes!(tx, &[FeedEntry::activity(activity_id)], now);
        });
        Ok(())
    }

    pub async fn insert_option(
        &self,
        id: Uuid,
        activity_id: Uuid,
        name: &str,
        position: i32,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        in_tx!(self.db, |tx| {
            sqlx::query("INSERT INTO activity_options (id, activity_id, name, position) VALUES ($1, $2, $3, $4)")
                .bind(id)
                .bind(activity_id)
                .bind(name)
                .bind(position)
                .execute(&mut *tx)
                .await
                .map_err(unique_violation)?;
            record_changes!(tx, &[FeedEntry::activity(activity_id)], now);
        });
        Ok(())
    }

    pub async fn insert_session(&self, s: &NewSession) -> StoreResult<()> {
        in_tx!(self.db, |tx| {
            sqlx::query(
                "INSERT INTO sessions (id, activity_id, option_id, date, status, capacity, capacity_young, capacity_old, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, 'open', $5, $6, $7, $8, $8)",
            )
            .bind(s.id)
            .bind(s.activity_id)
            .bind(s.option_id)
            .bind(s.date)
            .bind(i32::try_from(s.capacity).unwrap_or(i32::MAX))
            .bind(s.capacity_young.map(|c| i32::try_from(c).unwrap_or(i32::MAX)))
            .bind(s.capacity_old.map(|c| i32::try_from(c).unwrap_or(i32::MAX)))
            .bind(s.now)
            .execute(&mut *tx)
            .await
            .map_err(unique_violation)?;
            record_changes!(tx, &[FeedEntry::session(s.id)], s.now);
        });
        Ok(())
    }

    pub async fn activities(&self) -> StoreResult<Vec<Activity>> {
        let rows: Vec<ActivityRow> = on_db!(self.db, |pool| sqlx::query_as(ACTIVITY_SELECT)
            .fetch_all(pool)
            .await)?;
        Ok(rows.into_iter().map(Activity::from).collect())
    }

    pub async fn sessions_between(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> StoreResult<Vec<Session>> {
        let rows: Vec<SessionRow> = on_db!(self.db, |pool| {
            sqlx::query_as(
                "SELECT s.id, s.activity_id, o.name AS option, o.position AS option_position, s.date, s.status, \
                 s.capacity, s.capacity_young, s.capacity_old, s.held, s.held_young, s.held_old \
                 FROM sessions s JOIN activity_options o ON o.id = s.option_id \
                 WHERE s.date >= $1 AND s.date <= $2 ORDER BY s.date, o.position",
            )
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await
        })?;
        Ok(rows.into_iter().map(Session::from).collect())
    }

    pub async fn requirements(&self) -> StoreResult<Vec<Requirement>> {
        Ok(on_db!(self.db, |pool| {
            sqlx::query_as(
                "SELECT r.activity_id, r.document_type_id, t.label, t.scope \
                 FROM activity_required_documents r JOIN document_types t ON t.id = r.document_type_id",
            )
            .fetch_all(pool)
            .await
        })?)
    }

    pub async fn valid_documents(&self, family_id: Uuid) -> StoreResult<Vec<ValidDocument>> {
        Ok(on_db!(self.db, |pool| {
            sqlx::query_as(
                "SELECT document_type_id, child_id, valid_until FROM documents \
                 WHERE family_id = $1 AND status = 'validated'",
            )
            .bind(family_id)
            .fetch_all(pool)
            .await
        })?)
    }

    pub async fn document_type_id(&self, code: &str) -> StoreResult<Option<Uuid>> {
        Ok(scalar!(
            optional,
            self.db,
            "SELECT id FROM document_types WHERE code = $1",
            code
        )?)
    }

    /// "Mercredis ALSH Latresne", "Journée complète", and the date of a session.
    pub async fn session_label(
        &self,
        session_id: Uuid,
    ) -> StoreResult<Option<(String, String, NaiveDate)>> {
        Ok(on_db!(self.db, |pool| {
            sqlx::query_as(
                "SELECT a.name, o.name, s.date FROM sessions s JOIN activities a ON a.id = s.activity_id \
                 JOIN activity_options o ON o.id = s.option_id WHERE s.id = $1",
            )
            .bind(session_id)
            .fetch_optional(pool)
            .await
        })?)
    }
}

/// What editing a session did.
#[derive(Debug, PartialEq, Eq)]
pub enum SessionEdit {
    Done,
    NotFound,
    /// Fewer places than children already holding one, or a cancelled session.
    Conflict,
}

impl Catalog<'_> {
    pub async fn category_id(&self, code: &str) -> StoreResult<Option<Uuid>> {
        Ok(scalar!(
            optional,
            self.db,
            "SELECT id FROM activity_categories WHERE code = $1",
            code
        )?)
    }

    /// The venue's id, created on first use.
    pub async fn venue_id(&self, name: &str) -> StoreResult<Uuid> {
        let found: Option<Uuid> = scalar!(
            optional,
            self.db,
            "SELECT id FROM venues WHERE name = $1",
            name
        )?;
        if let Some(id) = found {
            return Ok(id);
        }
        let id = Uuid::now_v7();
        match self.insert_venue(id, name, None).await {
            Ok(()) => Ok(id),
            // Created concurrently: use that one.
            Err(StoreError::Duplicate(_)) => Ok(scalar!(
                one,
                self.db,
                "SELECT id FROM venues WHERE name = $1",
                name
            )?),
            Err(e) => Err(e),
        }
    }

    /// The activity an option belongs to.
    pub async fn option_activity(&self, option_id: Uuid) -> StoreResult<Option<Uuid>> {
        Ok(scalar!(
            optional,
            self.db,
            "SELECT activity_id FROM activity_options WHERE id = $1",
            option_id
        )?)
    }
}

/// Changes a session's capacities and opening (the caller then serves the
/// waitlist: places may have been made available). Refused when fewer places than
/// children already holding one, or on a cancelled session.
pub async fn edit_session(
    tx: &mut Tx,
    id: Uuid,
    capacity: u32,
    capacity_young: Option<u32>,
    capacity_old: Option<u32>,
    status: SessionStatus,
) -> StoreResult<SessionEdit> {
    let clamp = |c: u32| i32::try_from(c).unwrap_or(i32::MAX);
    let now = tx.now();
    let current: Option<(String, i32, i32, i32)> = on_tx!(tx, |c| sqlx::query_as(
        "SELECT status, held, held_young, held_old FROM sessions WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *c)
    .await)?;
    let Some((current_status, held, held_young, held_old)) = current else {
        return Ok(SessionEdit::NotFound);
    };
    if current_status == SessionStatus::Cancelled.as_str()
        || status == SessionStatus::Cancelled
        || clamp(capacity) < held
        || capacity_young.is_some_and(|c| clamp(c) < held_young)
        || capacity_old.is_some_and(|c| clamp(c) < held_old)
    {
        return Ok(SessionEdit::Conflict);
    }
    on_tx!(tx, |c| {
        sqlx::query(
        "UPDATE sessions SET capacity = $2, capacity_young = $3, capacity_old = $4, status = $5, updated_at = $6 \
         WHERE id = $1",
    )
    .bind(id)
    .bind(clamp(capacity))
    .bind(capacity_young.map(clamp))
    .bind(capacity_old.map(clamp))
    .bind(status.as_str())
    .bind(now)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected())
    })?;
    tx.changed(FeedEntry::session(id));
    Ok(SessionEdit::Done)
}

#[derive(sqlx::FromRow)]
pub struct StaffSessionRow {
    pub id: Uuid,
    pub activity_id: Uuid,
    pub activity: String,
    pub option: String,
    pub date: NaiveDate,
    #[sqlx(try_from = "String")]
    pub status: SessionStatus,
    pub capacity: i32,
    pub capacity_young: Option<i32>,
    pub capacity_old: Option<i32>,
    pub held: i32,
    pub waitlisted: i64,
    pub pending_approval: i64,
}

impl Catalog<'_> {
    /// The planning between two dates, with waitlist and approval counts.
    pub async fn staff_sessions(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> StoreResult<Vec<StaffSessionRow>> {
        Ok(on_db!(self.db, |pool| {
            sqlx::query_as(
                "SELECT s.id, s.activity_id, a.name AS activity, o.name AS option, s.date, s.status, s.capacity, \
                 s.capacity_young, s.capacity_old, s.held, \
                 (SELECT COUNT(*) FROM reservations r WHERE r.session_id = s.id AND r.status = 'waitlisted') AS waitlisted, \
                 (SELECT COUNT(*) FROM reservations r WHERE r.session_id = s.id AND r.status = 'pending_approval') AS pending_approval \
                 FROM sessions s JOIN activities a ON a.id = s.activity_id JOIN activity_options o ON o.id = s.option_id \
                 WHERE s.date >= $1 AND s.date <= $2 ORDER BY s.date, a.name, o.position",
            )
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await
        })?)
    }
}

/// An activity row as snapshots need it (category and venue by name).
#[derive(sqlx::FromRow)]
pub(super) struct ActivityListRow {
    pub id: Uuid,
    pub category: String,
    pub name: String,
    pub venue: String,
    #[sqlx(try_from = "String")]
    pub eligibility: Eligibility,
    #[sqlx(try_from = "String")]
    pub rules: BookingRules,
    pub age_split: Option<i16>,
}

/// (activity, option id, name, position)
/// An option with its tariff and régie, when it has one.
#[derive(sqlx::FromRow)]
pub(super) struct OptionRow {
    pub activity_id: Uuid,
    pub id: Uuid,
    pub name: String,
    pub position: i32,
    pub rule: Option<String>,
    pub regie: Option<String>,
    pub territory: Option<String>,
}

/// The option columns of [`OptionRow`], `o` the options, joined to `t` tariffs and
/// `r` régies.
pub(super) const OPTION_COLUMNS: &str =
    "o.activity_id, o.id, o.name, o.position, t.rule, r.name AS regie, r.territory";
pub(super) const OPTION_JOINS: &str =
    "LEFT JOIN tariffs t ON t.option_id = o.id LEFT JOIN regies r ON r.id = t.regie_id";

/// One activity with its options (by position) and required documents: the shape
/// both the staff list and the sync feed answer with.
pub(super) fn activity_snapshot(
    row: ActivityListRow,
    options: &[OptionRow],
    requirements: &[Requirement],
) -> famille_model::api::ActivitySnapshot {
    use famille_model::api::{ActivityOption, ActivitySnapshot, RequiredDocument};
    let mut activity_options: Vec<ActivityOption> =
        options
            .iter()
            .filter(|o| o.activity_id == row.id)
            .map(|o| ActivityOption {
                id: o.id,
                name: o.name.clone(),
                position: o.position,
                // A stored rule this version cannot read prices nothing, rather than
                // hiding the activity.
                price: match (&o.rule, &o.regie, &o.territory) {
                    (Some(rule), Some(regie), Some(territory)) => serde_json::from_str(rule)
                        .ok()
                        .map(|tariff| famille_model::api::OptionPrice {
                            regie: regie.clone(),
                            tariff,
                            territory: serde_json::from_str(territory).unwrap_or_default(),
                        }),
                    _ => None,
                },
            })
            .collect();
    activity_options.sort_by_key(|o| o.position);
    ActivitySnapshot {
        eligibility: row.eligibility,
        rules: row.rules,
        age_split: age_split(row.age_split),
        options: activity_options,
        required_documents: requirements
            .iter()
            .filter(|r| r.activity_id == row.id)
            .map(|r| RequiredDocument {
                document_type_id: r.document_type_id,
                label: r.label.clone(),
                scope: r.scope,
            })
            .collect(),
        id: row.id,
        category: row.category,
        name: row.name,
        venue: row.venue,
    }
}

impl Catalog<'_> {
    /// Every live activity with its options and required documents, for the services.
    pub async fn activity_snapshots(
        &self,
    ) -> StoreResult<Vec<famille_model::api::ActivitySnapshot>> {
        let (activities, options, requirements): (
            Vec<ActivityListRow>,
            Vec<OptionRow>,
            Vec<Requirement>,
        ) = on_db!(self.db, |pool| {
            let activities = sqlx::query_as(
                    "SELECT a.id, k.name AS category, a.name, v.name AS venue, a.eligibility, a.rules, a.age_split \
                     FROM activities a JOIN activity_categories k ON k.id = a.category_id JOIN venues v ON v.id = a.venue_id \
                     WHERE a.archived_at IS NULL ORDER BY k.position, a.name",
                )
                .fetch_all(pool)
                .await?;
            let options = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {OPTION_COLUMNS} FROM activity_options o {OPTION_JOINS}"
            )))
            .fetch_all(pool)
            .await?;
            let requirements = sqlx::query_as(
                    "SELECT r.activity_id, r.document_type_id, t.label, t.scope \
                     FROM activity_required_documents r JOIN document_types t ON t.id = r.document_type_id",
                )
                .fetch_all(pool)
                .await?;
            Ok::<_, sqlx::Error>((activities, options, requirements))
        })?;
        Ok(activities
            .into_iter()
            .map(|row| activity_snapshot(row, &options, &requirements))
            .collect())
    }

    pub async fn next_category_position(&self) -> StoreResult<i32> {
        Ok(scalar!(
            one,
            self.db,
            "SELECT COALESCE(MAX(position), -1) + 1 FROM activity_categories"
        )?)
    }
}
