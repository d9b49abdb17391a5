//! The change feed: entries written in the transaction of each change (catalog
//! entries for everyone, the others for one family), and read back by a family as
//! pages after a cursor, each entity with its current state (or a tombstone when it
//! is gone).

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use famille_model::api::{
    Change, DocumentSnapshot, EntityKind, ReservationSnapshot, SessionSnapshot,
};
use famille_model::booking::{AgeGroup, Capacity, ReservationStatus, SessionStatus};
use uuid::Uuid;

use super::catalog::{
    ActivityListRow, CapacityRow, OPTION_COLUMNS, OPTION_JOINS, OptionRow, Requirement,
    activity_snapshot,
};
use super::documents::{SNAPSHOT_COLUMNS as DOCUMENT_COLUMNS, SnapshotRow as DocumentRow};
use super::{Db, StoreResult, on_db, scalar};

/// One entry to append: an entity that changed, for one family or (`family_id`
/// `None`: the catalog) for every family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedEntry {
    pub family_id: Option<Uuid>,
    pub entity: EntityKind,
    pub id: Uuid,
}

impl FeedEntry {
    pub fn activity(id: Uuid) -> FeedEntry {
        FeedEntry {
            family_id: None,
            entity: EntityKind::Activity,
            id,
        }
    }

    /// Sessions enter the feed only when "full or not" changes for a group (the
    /// phones are never told place counts).
    pub fn session(id: Uuid) -> FeedEntry {
        FeedEntry {
            family_id: None,
            entity: EntityKind::Session,
            id,
        }
    }

    pub fn reservation(family_id: Uuid, id: Uuid) -> FeedEntry {
        FeedEntry {
            family_id: Some(family_id),
            entity: EntityKind::Reservation,
            id,
        }
    }

    pub fn invoice(family_id: Uuid, id: Uuid) -> FeedEntry {
        FeedEntry {
            family_id: Some(family_id),
            entity: EntityKind::Invoice,
            id,
        }
    }

    /// The family's QF records changed (one entity per family).
    pub fn quotient(family_id: Uuid) -> FeedEntry {
        FeedEntry {
            family_id: Some(family_id),
            entity: EntityKind::Quotient,
            id: family_id,
        }
    }

    pub fn thread(family_id: Uuid, id: Uuid) -> FeedEntry {
        FeedEntry {
            family_id: Some(family_id),
            entity: EntityKind::Thread,
            id,
        }
    }

    pub fn document(family_id: Uuid, id: Uuid) -> FeedEntry {
        FeedEntry {
            family_id: Some(family_id),
            entity: EntityKind::Document,
            id,
        }
    }
}

/// Appends entries to the feed inside the open transaction whose connection is
/// `$conn` (either backend). The counter row is taken last so that sequence order is
/// commit order; rows are inserted many at a time, 100 (500 parameters) a statement:
/// SQLite binds each parameter by a lookup along the statement's list, so much
/// larger statements bind in quadratic time.
macro_rules! record {
    ($conn:expr, $entries:expr, $now:expr) => {{
        let entries: &[$crate::store::feed::FeedEntry] = $entries;
        if !entries.is_empty() {
            let last: i64 = sqlx::query_scalar(
                "UPDATE feed_counter SET seq = seq + $1 WHERE id = 1 RETURNING seq",
            )
            .bind(entries.len() as i64)
            .fetch_one(&mut *$conn)
            .await?;
            let first = last - entries.len() as i64 + 1;
            for (chunk_index, chunk) in entries.chunks(100).enumerate() {
                let rows: Vec<String> = (0..chunk.len())
                    .map(|i| {
                        let p = 5 * i;
                        format!(
                            "(${}, ${}, ${}, ${}, ${})",
                            p + 1,
                            p + 2,
                            p + 3,
                            p + 4,
                            p + 5
                        )
                    })
                    .collect();
                let sql = format!(
                    "INSERT INTO changes (seq, family_id, entity, entity_id, at) VALUES {}",
                    rows.join(", ")
                );
                let mut insert = sqlx::query(sqlx::AssertSqlSafe(sql));
                for (offset, e) in chunk.iter().enumerate() {
                    let seq = first + (chunk_index * 100 + offset) as i64;
                    insert = insert
                        .bind(seq)
                        .bind(e.family_id)
                        .bind(e.entity.as_str())
                        .bind(e.id)
                        .bind($now);
                }
                insert.execute(&mut *$conn).await?;
            }
        }
    }};
}
pub(crate) use record;

pub struct ChangeFeed<'a> {
    pub(super) db: &'a Db,
}

#[derive(sqlx::FromRow)]
struct Entry {
    seq: i64,
    #[sqlx(try_from = "String")]
    entity: EntityKind,
    entity_id: Uuid,
}

#[derive(sqlx::FromRow)]
struct SessionRow {
    id: Uuid,
    activity_id: Uuid,
    option_id: Uuid,
    option: String,
    date: NaiveDate,
    #[sqlx(try_from = "String")]
    status: SessionStatus,
    #[sqlx(flatten)]
    places: CapacityRow,
}

#[derive(sqlx::FromRow)]
struct ReservationRow {
    id: Uuid,
    session_id: Uuid,
    child_id: Uuid,
    #[sqlx(try_from = "String")]
    status: ReservationStatus,
    free_cancel_until: Option<DateTime<Utc>>,
    updated_at: DateTime<Utc>,
}

/// What one page reads, before assembly.
struct Rows {
    entries: Vec<Entry>,
    sessions: Vec<SessionRow>,
    activities: Vec<ActivityListRow>,
    /// (activity, option id, name, position)
    options: Vec<OptionRow>,
    /// (activity, document type, label, scope)
    requirements: Vec<Requirement>,
    reservations: Vec<ReservationRow>,
    documents: Vec<DocumentRow>,
}

pub struct Page {
    pub changes: Vec<Change>,
    pub cursor: i64,
    pub has_more: bool,
}

impl ChangeFeed<'_> {
    /// The latest sequence number: a client that has it has seen everything.
    pub async fn head(&self) -> StoreResult<i64> {
        Ok(scalar!(
            one,
            self.db,
            "SELECT seq FROM feed_counter WHERE id = 1"
        )?)
    }

    /// Up to `limit` feed entries after `cursor`, up to `head`, that this family may
    /// see. `head` must have been read before: every entry up to it is committed
    /// (the counter row is written in the transaction that adds the entries), so a
    /// caller with nothing more to read can jump its cursor to `head`.
    pub async fn page(
        &self,
        family_id: Uuid,
        cursor: i64,
        head: i64,
        limit: i64,
    ) -> StoreResult<Page> {
        let Rows {
            entries,
            sessions,
            activities,
            options,
            requirements,
            reservations,
            documents,
        } = on_db!(self.db, |pool| {
            let entries: Vec<Entry> = sqlx::query_as(
                "SELECT seq, entity, entity_id FROM changes \
                 WHERE seq > $1 AND seq <= $4 AND (family_id = $2 OR family_id IS NULL) ORDER BY seq LIMIT $3",
            )
            .bind(cursor)
            .bind(family_id)
            .bind(limit + 1)
            .bind(head)
            .fetch_all(pool)
            .await?;
            let last = entries
                .iter()
                .take(limit as usize)
                .map(|e| e.seq)
                .max()
                .unwrap_or(cursor);
            // Each entity's current row, for the entries of this window only.
            let sessions: Vec<SessionRow> = sqlx::query_as(
                "SELECT DISTINCT s.id, s.activity_id, s.option_id, o.name AS option, s.date, s.status, s.capacity, \
                 s.capacity_young, s.capacity_old, s.held, s.held_young, s.held_old \
                 FROM changes c JOIN sessions s ON s.id = c.entity_id JOIN activity_options o ON o.id = s.option_id \
                 WHERE c.seq > $1 AND c.seq <= $2 AND c.entity = 'session' AND c.family_id IS NULL",
            )
            .bind(cursor)
            .bind(last)
            .fetch_all(pool)
            .await?;
            let activities: Vec<ActivityListRow> = sqlx::query_as(
                "SELECT DISTINCT a.id, k.name AS category, a.name, v.name AS venue, a.eligibility, a.rules, a.age_split \
                 FROM changes c JOIN activities a ON a.id = c.entity_id \
                 JOIN activity_categories k ON k.id = a.category_id JOIN venues v ON v.id = a.venue_id \
                 WHERE c.seq > $1 AND c.seq <= $2 AND c.entity = 'activity' AND c.family_id IS NULL AND a.archived_at IS NULL",
            )
            .bind(cursor)
            .bind(last)
            .fetch_all(pool)
            .await?;
            let options: Vec<OptionRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT DISTINCT {OPTION_COLUMNS} FROM changes c JOIN activity_options o ON o.activity_id = c.entity_id {OPTION_JOINS} \
                 WHERE c.seq > $1 AND c.seq <= $2 AND c.entity = 'activity' AND c.family_id IS NULL"
            )))
            .bind(cursor)
            .bind(last)
            .fetch_all(pool)
            .await?;
            let requirements: Vec<Requirement> = sqlx::query_as(
                "SELECT DISTINCT r.activity_id, t.id AS document_type_id, t.label, t.scope FROM changes c \
                 JOIN activity_required_documents r ON r.activity_id = c.entity_id JOIN document_types t ON t.id = r.document_type_id \
                 WHERE c.seq > $1 AND c.seq <= $2 AND c.entity = 'activity' AND c.family_id IS NULL",
            )
            .bind(cursor)
            .bind(last)
            .fetch_all(pool)
            .await?;
            let reservations: Vec<ReservationRow> = sqlx::query_as(
                "SELECT DISTINCT r.id, r.session_id, r.child_id, r.status, r.free_cancel_until, r.updated_at \
                 FROM changes c JOIN reservations r ON r.id = c.entity_id \
                 WHERE c.seq > $1 AND c.seq <= $2 AND c.entity = 'reservation' AND c.family_id = $3 AND r.family_id = $3",
            )
            .bind(cursor)
            .bind(last)
            .bind(family_id)
            .fetch_all(pool)
            .await?;
            let documents: Vec<DocumentRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT DISTINCT {DOCUMENT_COLUMNS} \
                 FROM changes c JOIN documents d ON d.id = c.entity_id JOIN document_types t ON t.id = d.document_type_id \
                 WHERE c.seq > $1 AND c.seq <= $2 AND c.entity = 'document' AND c.family_id = $3 AND d.family_id = $3"
            )))
            .bind(cursor)
            .bind(last)
            .bind(family_id)
            .fetch_all(pool)
            .await?;
            Ok::<_, sqlx::Error>(Rows {
                entries,
                sessions,
                activities,
                options,
                requirements,
                reservations,
                documents,
            })
        })?;

        let has_more = entries.len() as i64 > limit;
        let entries: Vec<Entry> = entries.into_iter().take(limit as usize).collect();
        let cursor = if has_more {
            entries.last().map(|e| e.seq).unwrap_or(cursor)
        } else {
            head.max(cursor)
        };

        let sessions: HashMap<Uuid, SessionSnapshot> = sessions
            .into_iter()
            .map(|s| {
                let capacity = Capacity::from(&s.places);
                let snapshot = SessionSnapshot {
                    id: s.id,
                    activity_id: s.activity_id,
                    option_id: s.option_id,
                    option: s.option,
                    date: s.date,
                    status: s.status,
                    full_young: capacity.full(AgeGroup::Younger),
                    full_old: capacity.full(AgeGroup::Older),
                };
                (s.id, snapshot)
            })
            .collect();
        let mut activities_by_id = HashMap::new();
        for row in activities {
            activities_by_id.insert(row.id, activity_snapshot(row, &options, &requirements));
        }
        let mut reservations_by_id = HashMap::new();
        for r in reservations {
            reservations_by_id.insert(
                r.id,
                ReservationSnapshot {
                    id: r.id,
                    session_id: r.session_id,
                    child_id: r.child_id,
                    status: r.status,
                    free_cancel_until: r.free_cancel_until,
                    updated_at: r.updated_at,
                },
            );
        }

        let documents_by_id: HashMap<Uuid, DocumentSnapshot> = documents
            .into_iter()
            .map(|d| (d.id, DocumentSnapshot::from(d)))
            .collect();

        // One answer per entity, at the position of its last entry in the window.
        let mut last_seq: HashMap<(EntityKind, Uuid), i64> = HashMap::new();
        for e in &entries {
            last_seq.insert((e.entity, e.entity_id), e.seq);
        }
        let mut changes = Vec::new();
        for e in &entries {
            if last_seq.get(&(e.entity, e.entity_id)) != Some(&e.seq) {
                continue;
            }
            let mut change = Change {
                seq: e.seq,
                entity: e.entity,
                id: e.entity_id,
                deleted: false,
                activity: None,
                session: None,
                reservation: None,
                document: None,
                invoice: None,
                quotients: None,
                thread: None,
            };
            match e.entity {
                EntityKind::Session => change.session = sessions.get(&e.entity_id).cloned(),
                EntityKind::Activity => {
                    change.activity = activities_by_id.get(&e.entity_id).cloned();
                }
                EntityKind::Reservation => {
                    change.reservation = reservations_by_id.get(&e.entity_id).cloned();
                }
                EntityKind::Document => {
                    change.document = documents_by_id.get(&e.entity_id).cloned();
                }
                // Few per family and page: read one by one.
                EntityKind::Invoice => {
                    change.invoice = self
                        .db
                        .billing()
                        .invoice(e.entity_id, Some(family_id))
                        .await?
                        .map(|(invoice, _, _)| invoice);
                }
                EntityKind::Quotient if e.entity_id == family_id => {
                    change.quotients = Some(self.db.billing().quotients(family_id).await?);
                }
                EntityKind::Quotient => {}
                EntityKind::Thread => {
                    let messages = self.db.messages();
                    if let Some(row) = messages.thread_row(e.entity_id, Some(family_id)).await? {
                        change.thread = Some(
                            messages
                                .thread(&row, famille_model::messages::Side::Family)
                                .await?,
                        );
                    }
                }
            }
            change.deleted = change.session.is_none()
                && change.activity.is_none()
                && change.reservation.is_none()
                && change.document.is_none()
                && change.invoice.is_none()
                && change.quotients.is_none()
                && change.thread.is_none();
            changes.push(change);
        }
        Ok(Page {
            changes,
            cursor,
            has_more,
        })
    }
}
