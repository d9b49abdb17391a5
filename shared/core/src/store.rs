//! The phone's local store: the last server state (family, children, activities,
//! sessions, reservations, documents, alerts), the sync cursor, and the queue of
//! mutations not yet answered. SQLite in WAL mode; versioned migrations; every
//! change the sync applies lands with its cursor in one transaction.

use std::path::Path;

use famille_model::api::{
    ActivitySnapshot, Alert, Change, DocumentSnapshot, EntityKind, Family, Mutation,
    ReservationSnapshot, SessionSnapshot,
};
use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use crate::error::CoreResult;

/// Each entry upgrades the schema by one version (`PRAGMA user_version`).
const MIGRATIONS: &[&str] = &[
    // 1: the server state, the cursor, the queue.
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
     CREATE TABLE family (id TEXT PRIMARY KEY, json TEXT NOT NULL);
     CREATE TABLE activities (id TEXT PRIMARY KEY, json TEXT NOT NULL);
     CREATE TABLE sessions (id TEXT PRIMARY KEY, activity_id TEXT NOT NULL, date TEXT NOT NULL, json TEXT NOT NULL);
     CREATE INDEX sessions_date ON sessions (date);
     CREATE TABLE reservations (id TEXT PRIMARY KEY, child_id TEXT NOT NULL, session_id TEXT NOT NULL, json TEXT NOT NULL);
     CREATE INDEX reservations_child ON reservations (child_id, session_id);
     CREATE TABLE documents (id TEXT PRIMARY KEY, json TEXT NOT NULL);
     CREATE TABLE alerts (position INTEGER PRIMARY KEY, json TEXT NOT NULL);
     -- The parent's intents, in the order they were made. `state`: pending (to
     -- send), applied (answered; kept until the pull brings the server's state),
     -- rejected (kept, with the server's French message, until dismissed).
     CREATE TABLE queue (
         seq         INTEGER PRIMARY KEY AUTOINCREMENT,
         id          TEXT NOT NULL UNIQUE,
         json        TEXT NOT NULL,
         state       TEXT NOT NULL DEFAULT 'pending',
         code        TEXT,
         detail      TEXT,
         created_at  TEXT NOT NULL,
         attempts    INTEGER NOT NULL DEFAULT 0
     );",
    // 2: documents waiting to be sent (tus), resumable from `offset`.
    "CREATE TABLE uploads (
         seq            INTEGER PRIMARY KEY AUTOINCREMENT,
         id             TEXT NOT NULL UNIQUE,
         document_type  TEXT NOT NULL,
         child_id       TEXT,
         filename       TEXT NOT NULL,
         path           TEXT NOT NULL,
         length         INTEGER NOT NULL,
         location       TEXT,
         offset         INTEGER NOT NULL DEFAULT 0,
         state          TEXT NOT NULL DEFAULT 'pending',
         code           TEXT,
         detail         TEXT,
         document_id    TEXT,
         created_at     TEXT NOT NULL
     );",
];

/// A document waiting to be sent, or its outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct OutgoingDocument {
    pub id: String,
    pub document_type: String,
    pub child_id: Option<String>,
    pub filename: String,
    pub path: String,
    pub length: i64,
    pub location: Option<String>,
    pub offset: i64,
    /// pending, sent, rejected
    pub state: String,
    pub code: Option<String>,
    pub detail: Option<String>,
    pub document_id: Option<String>,
}

pub struct Store {
    conn: Connection,
}

/// A queue entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Queued {
    pub mutation: Mutation,
    pub state: String,
    pub code: Option<String>,
    pub detail: Option<String>,
    pub created_at: String,
    pub attempts: i64,
}

/// A mutation's answer, recorded after a push.
pub struct Answer<'a> {
    pub id: Uuid,
    pub applied: bool,
    pub code: Option<&'a str>,
    pub detail: Option<&'a str>,
}

impl Store {
    /// Opens (creating if needed) the store in `dir`.
    pub fn open(dir: &Path) -> CoreResult<Store> {
        std::fs::create_dir_all(dir).map_err(|e| crate::error::CoreError::Storage {
            detail: format!("dossier {} : {e}", dir.display()),
        })?;
        let conn = Connection::open(dir.join("famille-core.db"))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let mut store = Store { conn };
        store.migrate()?;
        Ok(store)
    }

    fn migrate(&mut self) -> CoreResult<()> {
        let version: i64 = self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?;
        for (index, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            let tx = self.conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", (index + 1) as i64)?;
            tx.commit()?;
        }
        Ok(())
    }

    pub fn meta(&self, key: &str) -> CoreResult<Option<String>> {
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    pub fn set_meta(&self, key: &str, value: &str) -> CoreResult<()> {
        self.conn.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }

    pub fn cursor(&self) -> CoreResult<i64> {
        Ok(self
            .meta("cursor")?
            .and_then(|c| c.parse().ok())
            .unwrap_or(0))
    }

    /// Applies one page of the change feed and moves the cursor, atomically: a kill
    /// in the middle leaves the previous page's state and cursor.
    pub fn apply_page(&mut self, changes: &[Change], cursor: i64) -> CoreResult<()> {
        let tx = self.conn.transaction()?;
        {
            let mut upsert_activity = tx.prepare_cached(
                "INSERT INTO activities (id, json) VALUES (?1, ?2) ON CONFLICT (id) DO UPDATE SET json = excluded.json",
            )?;
            let mut upsert_session = tx.prepare_cached(
                "INSERT INTO sessions (id, activity_id, date, json) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (id) DO UPDATE SET activity_id = excluded.activity_id, date = excluded.date, json = excluded.json",
            )?;
            let mut upsert_reservation = tx.prepare_cached(
                "INSERT INTO reservations (id, child_id, session_id, json) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (id) DO UPDATE SET child_id = excluded.child_id, session_id = excluded.session_id, json = excluded.json",
            )?;
            let mut upsert_document = tx.prepare_cached(
                "INSERT INTO documents (id, json) VALUES (?1, ?2) ON CONFLICT (id) DO UPDATE SET json = excluded.json",
            )?;
            for change in changes {
                let id = change.id.to_string();
                let table = match change.entity {
                    EntityKind::Activity => "activities",
                    EntityKind::Session => "sessions",
                    EntityKind::Reservation => "reservations",
                    EntityKind::Document => "documents",
                };
                if change.deleted {
                    tx.execute(&format!("DELETE FROM {table} WHERE id = ?1"), [&id])?;
                    continue;
                }
                if let Some(a) = &change.activity {
                    upsert_activity.execute(params![id, serde_json::to_string(a)?])?;
                } else if let Some(s) = &change.session {
                    upsert_session.execute(params![
                        id,
                        s.activity_id.to_string(),
                        s.date.to_string(),
                        serde_json::to_string(s)?
                    ])?;
                } else if let Some(r) = &change.reservation {
                    upsert_reservation.execute(params![
                        id,
                        r.child_id.to_string(),
                        r.session_id.to_string(),
                        serde_json::to_string(r)?
                    ])?;
                } else if let Some(d) = &change.document {
                    upsert_document.execute(params![id, serde_json::to_string(d)?])?;
                }
            }
        }
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('cursor', ?1) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [cursor.to_string()],
        )?;
        tx.commit()?;
        Ok(())
    }

    pub fn save_family(&mut self, family: &Family) -> CoreResult<()> {
        let tx = self.conn.transaction()?;
        tx.execute("DELETE FROM family", [])?;
        tx.execute(
            "INSERT INTO family (id, json) VALUES (?1, ?2)",
            params![family.id.to_string(), serde_json::to_string(family)?],
        )?;
        tx.commit()?;
        Ok(())
    }

    pub fn family(&self) -> CoreResult<Option<Family>> {
        let json: Option<String> = self
            .conn
            .query_row("SELECT json FROM family", [], |r| r.get(0))
            .optional()?;
        Ok(json.map(|j| serde_json::from_str(&j)).transpose()?)
    }

    pub fn save_alerts(&mut self, alerts: &[Alert]) -> CoreResult<()> {
        let tx = self.conn.transaction()?;
        tx.execute("DELETE FROM alerts", [])?;
        for (i, a) in alerts.iter().enumerate() {
            tx.execute(
                "INSERT INTO alerts (position, json) VALUES (?1, ?2)",
                params![i as i64, serde_json::to_string(a)?],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    pub fn alerts(&self) -> CoreResult<Vec<Alert>> {
        self.all_json("SELECT json FROM alerts ORDER BY position", [])
    }

    fn all_json<T: serde::de::DeserializeOwned, P: rusqlite::Params>(
        &self,
        sql: &str,
        params: P,
    ) -> CoreResult<Vec<T>> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        let rows = stmt.query_map(params, |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for json in rows {
            out.push(serde_json::from_str(&json?)?);
        }
        Ok(out)
    }

    pub fn activities(&self) -> CoreResult<Vec<ActivitySnapshot>> {
        self.all_json("SELECT json FROM activities", [])
    }

    pub fn sessions_between(&self, from: &str, to: &str) -> CoreResult<Vec<SessionSnapshot>> {
        self.all_json(
            "SELECT json FROM sessions WHERE date >= ?1 AND date <= ?2 ORDER BY date, id",
            [from, to],
        )
    }

    pub fn session(&self, id: Uuid) -> CoreResult<Option<SessionSnapshot>> {
        Ok(self
            .all_json("SELECT json FROM sessions WHERE id = ?1", [id.to_string()])?
            .pop())
    }

    pub fn activity(&self, id: Uuid) -> CoreResult<Option<ActivitySnapshot>> {
        Ok(self
            .all_json(
                "SELECT json FROM activities WHERE id = ?1",
                [id.to_string()],
            )?
            .pop())
    }

    /// A child's reservations, newest first.
    pub fn child_reservations(&self, child_id: Uuid) -> CoreResult<Vec<ReservationSnapshot>> {
        let mut all: Vec<ReservationSnapshot> = self.all_json(
            "SELECT json FROM reservations WHERE child_id = ?1",
            [child_id.to_string()],
        )?;
        all.sort_by(|a, b| b.updated_at.cmp(&a.updated_at).then(b.id.cmp(&a.id)));
        Ok(all)
    }

    pub fn reservation(&self, id: Uuid) -> CoreResult<Option<ReservationSnapshot>> {
        Ok(self
            .all_json(
                "SELECT json FROM reservations WHERE id = ?1",
                [id.to_string()],
            )?
            .pop())
    }

    pub fn documents(&self) -> CoreResult<Vec<DocumentSnapshot>> {
        let mut docs: Vec<DocumentSnapshot> = self.all_json("SELECT json FROM documents", [])?;
        docs.sort_by_key(|d| std::cmp::Reverse(d.submitted_at));
        Ok(docs)
    }

    // ---- the queue -------------------------------------------------------------

    pub fn enqueue(&self, mutation: &Mutation, now: &str) -> CoreResult<()> {
        self.conn.execute(
            "INSERT INTO queue (id, json, created_at) VALUES (?1, ?2, ?3)",
            params![
                mutation.id().to_string(),
                serde_json::to_string(mutation)?,
                now
            ],
        )?;
        Ok(())
    }

    /// Removes a mutation that was never sent (a reservation cancelled before it
    /// left the phone). `false` if it was sent or answered already.
    pub fn withdraw(&self, id: Uuid) -> CoreResult<bool> {
        Ok(self.conn.execute(
            "DELETE FROM queue WHERE id = ?1 AND state = 'pending' AND attempts = 0",
            [id.to_string()],
        )? == 1)
    }

    fn queued(&self, sql: &str) -> CoreResult<Vec<Queued>> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, i64>(5)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (json, state, code, detail, created_at, attempts) = row?;
            out.push(Queued {
                mutation: serde_json::from_str(&json)?,
                state,
                code,
                detail,
                created_at,
                attempts,
            });
        }
        Ok(out)
    }

    /// Everything in the queue, oldest first.
    pub fn queue(&self) -> CoreResult<Vec<Queued>> {
        self.queued(
            "SELECT json, state, code, detail, created_at, attempts FROM queue ORDER BY seq",
        )
    }

    /// The next mutations to send, in order.
    pub fn to_send(&self, limit: usize) -> CoreResult<Vec<Mutation>> {
        Ok(self
            .queued(&format!(
                "SELECT json, state, code, detail, created_at, attempts FROM queue WHERE state = 'pending' ORDER BY seq LIMIT {}",
                limit.min(i64::MAX as usize)
            ))?
            .into_iter()
            .map(|q| q.mutation)
            .collect())
    }

    pub fn pending_count(&self) -> CoreResult<u64> {
        Ok(self.conn.query_row(
            "SELECT COUNT(*) FROM queue WHERE state = 'pending'",
            [],
            |r| r.get::<_, i64>(0),
        )? as u64)
    }

    /// Counts a sending attempt before the request leaves, so a mutation that may
    /// have reached the server is never withdrawn silently.
    pub fn mark_attempt(&self, ids: &[Uuid]) -> CoreResult<()> {
        for id in ids {
            self.conn.execute(
                "UPDATE queue SET attempts = attempts + 1 WHERE id = ?1",
                [id.to_string()],
            )?;
        }
        Ok(())
    }

    /// Records the server's answers, all at once.
    pub fn record_answers(&mut self, answers: &[Answer<'_>]) -> CoreResult<()> {
        let tx = self.conn.transaction()?;
        for a in answers {
            tx.execute(
                "UPDATE queue SET state = ?2, code = ?3, detail = ?4 WHERE id = ?1 AND state = 'pending'",
                params![
                    a.id.to_string(),
                    if a.applied { "applied" } else { "rejected" },
                    a.code,
                    a.detail
                ],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// After a complete pull, the server state includes every applied mutation.
    pub fn forget_applied(&self) -> CoreResult<usize> {
        Ok(self
            .conn
            .execute("DELETE FROM queue WHERE state = 'applied'", [])?)
    }

    /// The parent read the rejection.
    pub fn dismiss(&self, id: Uuid) -> CoreResult<bool> {
        Ok(self.conn.execute(
            "DELETE FROM queue WHERE id = ?1 AND state = 'rejected'",
            [id.to_string()],
        )? == 1)
    }

    /// Everything but the queue goes (a logout, another account).
    pub fn clear_server_state(&mut self) -> CoreResult<()> {
        self.conn.execute_batch(
            "DELETE FROM family; DELETE FROM activities; DELETE FROM sessions; DELETE FROM reservations; \
             DELETE FROM documents; DELETE FROM alerts; DELETE FROM meta WHERE key = 'cursor';",
        )?;
        Ok(())
    }

    pub fn clear_queue(&self) -> CoreResult<()> {
        self.conn.execute("DELETE FROM queue", [])?;
        self.conn.execute("DELETE FROM uploads", [])?;
        Ok(())
    }

    // ---- documents to send ---------------------------------------------------------

    pub fn add_outgoing(&self, d: &OutgoingDocument, now: &str) -> CoreResult<()> {
        self.conn.execute(
            "INSERT INTO uploads (id, document_type, child_id, filename, path, length, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![d.id, d.document_type, d.child_id, d.filename, d.path, d.length, now],
        )?;
        Ok(())
    }

    pub fn outgoing(&self, only_pending: bool) -> CoreResult<Vec<OutgoingDocument>> {
        let sql = format!(
            "SELECT id, document_type, child_id, filename, path, length, location, offset, state, code, detail, document_id \
             FROM uploads {} ORDER BY seq",
            if only_pending {
                "WHERE state = 'pending'"
            } else {
                ""
            }
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map([], |r| {
            Ok(OutgoingDocument {
                id: r.get(0)?,
                document_type: r.get(1)?,
                child_id: r.get(2)?,
                filename: r.get(3)?,
                path: r.get(4)?,
                length: r.get(5)?,
                location: r.get(6)?,
                offset: r.get(7)?,
                state: r.get(8)?,
                code: r.get(9)?,
                detail: r.get(10)?,
                document_id: r.get(11)?,
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// Records where the server put the upload, and how far it got.
    pub fn set_upload_progress(
        &self,
        id: &str,
        location: Option<&str>,
        offset: i64,
    ) -> CoreResult<()> {
        self.conn.execute(
            "UPDATE uploads SET location = ?2, offset = ?3 WHERE id = ?1",
            params![id, location, offset],
        )?;
        Ok(())
    }

    pub fn finish_upload(
        &self,
        id: &str,
        state: &str,
        code: Option<&str>,
        detail: Option<&str>,
        document_id: Option<&str>,
    ) -> CoreResult<()> {
        self.conn.execute(
            "UPDATE uploads SET state = ?2, code = ?3, detail = ?4, document_id = ?5 WHERE id = ?1",
            params![id, state, code, detail, document_id],
        )?;
        Ok(())
    }

    pub fn forget_upload(&self, id: &str) -> CoreResult<bool> {
        Ok(self.conn.execute(
            "DELETE FROM uploads WHERE id = ?1 AND state <> 'pending'",
            [id],
        )? == 1)
    }
}
