//! The phone's local store: the last server state (family, children, activities,
//! sessions, reservations, documents, alerts, invoices, QF records) and the sync cursor ([`state`]), the
//! queue of intents not yet answered ([`queue`]), and the documents waiting to be
//! sent ([`uploads`]). SQLite in WAL mode; versioned migrations; every change the
//! sync applies lands with its cursor in one transaction.

mod queue;
mod state;
mod uploads;

pub use queue::{Answer, Queued};
pub use uploads::{OutgoingDocument, UploadState};

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};

use crate::error::{CoreResult, Error};

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
    // 3: an intent may wait for an upload (its attachment, its proof); an applied
    // intent may leave a day billed (a late cancellation).
    "ALTER TABLE queue ADD COLUMN waits_for TEXT;
     ALTER TABLE queue ADD COLUMN billed INTEGER NOT NULL DEFAULT 0;",
    // 4: the bytes an upload sends per request, halved when a request took too
    // long (a slow uplink), so that it still moves.
    "ALTER TABLE uploads ADD COLUMN piece INTEGER NOT NULL DEFAULT 131072;",
    // 5: invoices and credit notes (their lines fetched once: an issued invoice
    // never changes), the family's quotient familial records.
    "CREATE TABLE invoices (
         id         TEXT PRIMARY KEY,
         issued_on  TEXT NOT NULL,
         number     TEXT NOT NULL,
         json       TEXT NOT NULL,
         lines      TEXT,
         pdf        BLOB
     );
     CREATE TABLE quotients (id INTEGER PRIMARY KEY CHECK (id = 1), json TEXT NOT NULL);",
    // 6: the family's certificates as last fetched, per year, and their PDFs.
    "CREATE TABLE certificates (
         id    TEXT PRIMARY KEY,
         year  INTEGER NOT NULL,
         json  TEXT NOT NULL,
         pdf   BLOB
     );
     CREATE INDEX certificates_year ON certificates (year);",
    // 7: threads with the services (each with its messages, as the feed carries
    // it); an upload may be a message's attachment. (`queue.waits_for`, never
    // used, gave way to the uploads an intent names.)
    "CREATE TABLE threads (
         id               TEXT PRIMARY KEY,
         last_message_at  TEXT NOT NULL,
         json             TEXT NOT NULL
     );
     ALTER TABLE uploads ADD COLUMN purpose TEXT NOT NULL DEFAULT 'document';",
];

/// Whether SQLite refused for a lock held by another connection.
fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

pub struct Store {
    conn: Connection,
}

impl Store {
    /// Opens (creating if needed) the store in `dir`.
    pub fn open(dir: &Path) -> CoreResult<Store> {
        std::fs::create_dir_all(dir).map_err(Error::Io)?;
        // Two processes opening a new folder at the same moment: switching to WAL
        // and the first migration take locks SQLite does not wait for (the busy
        // handler is skipped where waiting could deadlock), so the loser tries
        // again; opening is rare and short.
        let mut wait = std::time::Duration::from_millis(10);
        for _ in 0..12 {
            match Store::open_once(dir) {
                Err(Error::Storage(e)) if is_busy(&e) => {
                    std::thread::sleep(wait);
                    wait = (wait * 2).min(std::time::Duration::from_millis(500));
                }
                other => return other,
            }
        }
        Store::open_once(dir)
    }

    fn open_once(dir: &Path) -> CoreResult<Store> {
        let conn = Connection::open(dir.join("famille-core.db"))?;
        // First, so that a second process waits for the first one's locks
        // wherever SQLite allows waiting.
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        let mut store = Store { conn };
        store.migrate()?;
        Ok(store)
    }

    /// Brings the schema up to date under the write lock: the version is read
    /// inside the transaction that upgrades it, so two processes opening a new
    /// folder at once upgrade it once (the second finds it done).
    fn migrate(&mut self) -> CoreResult<()> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let version: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
        for (index, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", (index + 1) as i64)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Runs `work` in one write transaction (`BEGIN IMMEDIATE`): another process
    /// on the same folder (a share extension, a widget) waits for it, so a check
    /// and the write it allows cannot interleave with theirs. `work` must not open
    /// a transaction of its own.
    pub fn in_write<T>(&self, work: impl FnOnce(&Store) -> CoreResult<T>) -> CoreResult<T> {
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        match work(self) {
            Ok(value) => {
                self.conn.execute_batch("COMMIT")?;
                Ok(value)
            }
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                Err(e)
            }
        }
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

    /// Everything but the queue goes (a logout, another account).
    pub fn clear_server_state(&mut self) -> CoreResult<()> {
        self.conn.execute_batch(
            "DELETE FROM family; DELETE FROM activities; DELETE FROM sessions; DELETE FROM reservations; \
             DELETE FROM documents; DELETE FROM alerts; DELETE FROM invoices; DELETE FROM quotients; DELETE FROM certificates; \
             DELETE FROM meta WHERE key = 'cursor';",
        )?;
        Ok(())
    }

    pub fn clear_queue(&self) -> CoreResult<()> {
        self.conn.execute("DELETE FROM queue", [])?;
        self.conn.execute("DELETE FROM uploads", [])?;
        Ok(())
    }
}
