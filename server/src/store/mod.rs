//! The store: one set of queries over either SQLite (embedded default) or
//! PostgreSQL (production).
//!
//! sqlx binds `$1, $2…` by number on both backends, so each query is written once
//! and run on whichever pool is live through [`on_db!`] / [`in_tx!`]; the few places
//! where the dialects differ hold one string per backend. The store is split by area
//! (accounts, families, audit) so no single interface grows to a hundred methods.

pub mod accounts;
pub mod audit;
pub mod bookings;
pub mod catalog;
pub mod devices;
pub mod documents;
pub mod families;
pub mod outbox;
pub mod sync;
pub mod uploads;

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

/// Runs the same expression on whichever pool is live; `$pool` is bound to the
/// concrete pool in each arm, so the expression is compiled once per backend.
macro_rules! on_db {
    ($db:expr, |$pool:ident| $body:expr) => {
        match $db {
            $crate::store::Db::Sqlite($pool, _) => $body,
            $crate::store::Db::Postgres($pool) => $body,
        }
    };
}

/// Runs a block inside one transaction on whichever pool is live. The block sees
/// `$tx` (use `&mut *$tx` as executor); an early return through `?` drops the
/// transaction, which rolls it back.
///
/// SQLite transactions start IMMEDIATE: they all write, and a deferred transaction
/// that read first cannot wait for the write lock (it fails with "database is
/// locked" under concurrency instead of queueing).
macro_rules! in_tx {
    ($db:expr, |$tx:ident| $body:block) => {
        match $db {
            $crate::store::Db::Sqlite(pool, writer) => {
                // One writer at a time, queued fairly in the process rather than by
                // SQLite's busy handler (which polls and lets some wait seconds).
                let _writing = writer.lock().await;
                let mut $tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                let out = $body;
                $tx.commit().await?;
                out
            }
            $crate::store::Db::Postgres(pool) => {
                let mut $tx = pool.begin().await?;
                let out = $body;
                $tx.commit().await?;
                out
            }
        }
    };
}

/// Picks the SQL string of the live dialect where SQLite and PostgreSQL disagree.
macro_rules! dialect {
    ($db:expr, sqlite: $sqlite:expr, postgres: $postgres:expr $(,)?) => {
        match $db {
            $crate::store::Db::Sqlite(..) => $sqlite,
            $crate::store::Db::Postgres(_) => $postgres,
        }
    };
}

/// Appends changes to the feed; the counter row is taken last so that sequence
/// order is commit order.
macro_rules! record_changes {
    ($tx:expr, $changes:expr, $now:expr) => {{
        let changes: &[(Option<Uuid>, &str, Uuid)] = $changes;
        if !changes.is_empty() {
            let last: i64 = sqlx::query_scalar(
                "UPDATE feed_counter SET seq = seq + $1 WHERE id = 1 RETURNING seq",
            )
            .bind(changes.len() as i64)
            .fetch_one(&mut *$tx)
            .await?;
            let first = last - changes.len() as i64 + 1;
            // Multi-row inserts (the text holds only numbered placeholders), in chunks
            // that stay under SQLite's limit on bound parameters.
            for (chunk_index, chunk) in changes.chunks(1000).enumerate() {
                let rows: Vec<String> = (0..chunk.len())
                    .map(|i| {
                        format!(
                            "(${}, ${}, ${}, ${}, ${})",
                            5 * i + 1,
                            5 * i + 2,
                            5 * i + 3,
                            5 * i + 4,
                            5 * i + 5
                        )
                    })
                    .collect();
                let sql = format!(
                    "INSERT INTO changes (seq, family_id, entity, entity_id, at) VALUES {}",
                    rows.join(", ")
                );
                let mut insert = sqlx::query(sqlx::AssertSqlSafe(sql));
                for (offset, (family_id, entity, entity_id)) in chunk.iter().enumerate() {
                    let seq = first + (chunk_index * 1000 + offset) as i64;
                    insert = insert
                        .bind(seq)
                        .bind(*family_id)
                        .bind(*entity)
                        .bind(*entity_id)
                        .bind($now);
                }
                insert.execute(&mut *$tx).await?;
            }
        }
    }};
}

pub(crate) use {dialect, in_tx, on_db, record_changes};

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("a unique value is already taken: {0}")]
    Duplicate(String),
    #[error("stored value is not understood: {0}")]
    Corrupt(String),
    /// A concurrent transaction changed what this one read; run it again.
    #[error("concurrent change, to be retried")]
    Retry,
}

impl StoreError {
    /// Whether the database said no because it is overloaded or unreachable
    /// (worth a 503 and a retry) rather than because of a bug.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            StoreError::Database(
                sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed
            )
        )
    }
}

/// Turns a unique-constraint violation into [`StoreError::Duplicate`] so callers can
/// answer "already taken" instead of a 500.
pub fn unique_violation(err: sqlx::Error) -> StoreError {
    match err.as_database_error() {
        Some(db) if db.is_unique_violation() => {
            StoreError::Duplicate(db.constraint().unwrap_or_default().to_owned())
        }
        _ => StoreError::Database(err),
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// A unique violation means a concurrent transaction got there first: retry.
pub fn retry_on_unique(err: sqlx::Error) -> StoreError {
    match unique_violation(err) {
        StoreError::Duplicate(_) => StoreError::Retry,
        other => other,
    }
}

/// Parses a stored vocabulary value (school level, role...).
pub fn parse_stored<T: FromStr>(value: &str) -> StoreResult<T> {
    value
        .parse()
        .map_err(|_| StoreError::Corrupt(value.to_owned()))
}

/// Either pool. Cheap to clone. SQLite comes with the lock that queues its writers.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool, Arc<tokio::sync::Mutex<()>>),
    Postgres(PgPool),
}

impl Db {
    /// Opens the database named by `url`: `postgres://…` for PostgreSQL, otherwise
    /// `sqlite://path` (created if missing, WAL, foreign keys on).
    pub async fn connect(url: &str, max_connections: u32) -> StoreResult<Db> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let options = PgConnectOptions::from_str(url)?;
            let pool = PgPoolOptions::new()
                .max_connections(max_connections)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await?;
            Ok(Db::Postgres(pool))
        } else {
            let options = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10));
            let pool = SqlitePoolOptions::new()
                .max_connections(max_connections)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await?;
            Ok(Db::Sqlite(pool, Arc::new(tokio::sync::Mutex::new(()))))
        }
    }

    /// The SQLite URL of a database file inside the data folder.
    pub fn sqlite_url(data_dir: &Path) -> String {
        format!("sqlite://{}", data_dir.join("famille.db").display())
    }

    pub fn backend_name(&self) -> &'static str {
        dialect!(self, sqlite: "SQLite", postgres: "PostgreSQL")
    }

    pub async fn migrate(&self) -> StoreResult<()> {
        match self {
            Db::Sqlite(pool, _) => SQLITE_MIGRATIONS.run(pool).await?,
            Db::Postgres(pool) => POSTGRES_MIGRATIONS.run(pool).await?,
        }
        Ok(())
    }

    /// Answers when the database does.
    pub async fn ping(&self) -> StoreResult<()> {
        on_db!(self, |pool| sqlx::query("SELECT 1")
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    pub async fn close(&self) {
        on_db!(self, |pool| pool.close().await)
    }

    pub fn accounts(&self) -> accounts::Accounts<'_> {
        accounts::Accounts { db: self }
    }

    pub fn families(&self) -> families::Families<'_> {
        families::Families { db: self }
    }

    pub fn audit(&self) -> audit::Audit<'_> {
        audit::Audit { db: self }
    }

    pub fn catalog(&self) -> catalog::Catalog<'_> {
        catalog::Catalog { db: self }
    }

    pub fn bookings(&self) -> bookings::Bookings<'_> {
        bookings::Bookings { db: self }
    }

    pub fn devices(&self) -> devices::Devices<'_> {
        devices::Devices { db: self }
    }

    pub fn documents(&self) -> documents::Documents<'_> {
        documents::Documents { db: self }
    }

    pub fn uploads(&self) -> uploads::Uploads<'_> {
        uploads::Uploads { db: self }
    }

    pub fn outbox(&self) -> outbox::Outbox<'_> {
        outbox::Outbox { db: self }
    }

    pub fn sync(&self) -> sync::Sync<'_> {
        sync::Sync { db: self }
    }
}
