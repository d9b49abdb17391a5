//! The phone's local store: the last server state (family, children, activities,
//! sessions, reservations, documents, alerts) and the sync cursor ([`state`]), the
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
];

pub struct Store {
    conn: Connection,
}

impl Store {
    /// Opens (creating if needed) the store in `dir`.
    pub fn open(dir: &Path) -> CoreResult<Store> {
        std::fs::create_dir_all(dir).map_err(Error::Io)?;
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
}
