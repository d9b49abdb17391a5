//! The store: one set of queries over either SQLite (embedded default) or
//! PostgreSQL (production).
//!
//! sqlx binds `$1, $2…` by number on both backends, so each query is written once
//! and run on whichever pool is live through [`on_db!`] (a read or a single write),
//! [`on_tx!`] (one statement of an open [`Tx`]) or [`in_tx!`] (a block of plain SQL
//! in its own transaction); the few places where the dialects differ hold one
//! string per backend ([`dialect!`]). The store is split by area, and it decides
//! nothing: the rules are `famille_model`'s, applied by the services.
//!
//! A transaction that composes several steps is a [`Tx`] from [`Db::begin`]: the
//! service hands it to the area's functions, adds the change-feed entries and the
//! notices the change raises ([`Tx::changed`], [`Tx::notify`]), and commits; the feed
//! entries and the outbox rows are written by the commit, in the same transaction,
//! and the push dispatcher is woken once it is durable.

pub mod accounts;
pub mod audit;
pub mod billing;
pub mod bookings;
pub mod catalog;
pub mod certificates;
pub mod devices;
pub mod documents;
pub mod families;
pub mod feed;
pub mod messages;
pub mod outbox;
pub mod payments;
pub mod queue;
pub mod uploads;

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use famille_model::notice::Notice;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

/// Runs the same expression on whichever pool is live; `$pool` is bound to the
/// concrete pool in each arm, so the expression is compiled once per backend.
macro_rules! on_db {
    ($db:expr, |$pool:ident| $body:expr) => {
        match &*$db.pool {
            $crate::store::Pool::Sqlite($pool, _) => $body,
            $crate::store::Pool::Postgres($pool) => $body,
        }
    };
}

/// Runs one statement with its parameters on whichever pool is live, outside any
/// transaction: the number of rows it touched (a `sqlx::Error` on failure).
macro_rules! execute {
    ($db:expr, $sql:expr $(, $arg:expr)* $(,)?) => {
        $crate::store::on_db!($db, |pool| sqlx::query($sql)
            $(.bind($arg))*
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))
    };
}

/// One value of the first column on whichever pool is live: `scalar!(optional, db,
/// "SELECT …", args…)` for an `Option`, `one` for exactly one row, `all` for a `Vec`.
macro_rules! scalar {
    (optional, $db:expr, $sql:expr $(, $arg:expr)* $(,)?) => {
        $crate::store::on_db!($db, |pool| sqlx::query_scalar($sql)
            $(.bind($arg))*
            .fetch_optional(pool)
            .await)
    };
    (one, $db:expr, $sql:expr $(, $arg:expr)* $(,)?) => {
        $crate::store::on_db!($db, |pool| sqlx::query_scalar($sql)
            $(.bind($arg))*
            .fetch_one(pool)
            .await)
    };
    (all, $db:expr, $sql:expr $(, $arg:expr)* $(,)?) => {
        $crate::store::on_db!($db, |pool| sqlx::query_scalar($sql)
            $(.bind($arg))*
            .fetch_all(pool)
            .await)
    };
}

/// Runs the same expression on an open [`Tx`]'s connection; `$conn` is the concrete
/// connection in each arm (use `&mut *$conn` as executor).
macro_rules! on_tx {
    ($tx:expr, |$conn:ident| $body:expr) => {
        match &mut $tx.conn {
            $crate::store::TxConn::Sqlite(t, _) => {
                let $conn = &mut **t;
                $body
            }
            $crate::store::TxConn::Postgres(t) => {
                let $conn = &mut **t;
                $body
            }
        }
    };
}

/// Runs a block of plain SQL inside one transaction: the block sees `$tx`, the
/// concrete connection (use `&mut *$tx` as executor), and is compiled once per
/// backend. An early return through `?` drops the transaction, which rolls it back.
/// A transaction that composes several steps opens a [`Tx`] with [`Db::begin`]
/// instead and hands it to functions.
macro_rules! in_tx {
    ($db:expr, |$tx:ident| $body:block) => {{
        let mut open = $db.begin().await?;
        let out = $crate::store::on_tx!(open, |$tx| $body);
        open.commit().await?;
        out
    }};
}

/// Picks the SQL string of the live dialect where SQLite and PostgreSQL disagree.
macro_rules! dialect {
    ($db:expr, sqlite: $sqlite:expr, postgres: $postgres:expr $(,)?) => {
        match &*$db.pool {
            $crate::store::Pool::Sqlite(..) => $sqlite,
            $crate::store::Pool::Postgres(_) => $postgres,
        }
    };
}

/// Appends entries to the change feed inside the transaction whose connection is
/// `$conn`: see [`feed::record`].
macro_rules! record_changes {
    ($conn:expr, $entries:expr, $now:expr) => {
        $crate::store::feed::record!($conn, $entries, $now)
    };
}

pub(crate) use {dialect, execute, in_tx, on_db, on_tx, record_changes, scalar};

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
        ) || self.is_transient_conflict()
    }

    /// Whether the database gave up on this transaction for a concurrent one and
    /// running it again may succeed: PostgreSQL's deadlock (`40P01`) and
    /// serialization failure (`40001`), SQLite's busy and locked.
    pub fn is_transient_conflict(&self) -> bool {
        let StoreError::Database(e) = self else {
            return false;
        };
        e.as_database_error()
            .and_then(|db| db.code())
            .is_some_and(|code| {
                matches!(code.as_ref(), "40P01" | "40001" | "5" | "6" | "517" | "262")
            })
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

/// Runs `attempt` again, on fresh facts, when a concurrent transaction changed what
/// it read ([`StoreError::Retry`]; PostgreSQL only, SQLite serialises writers) or the
/// database gave up on it for another ([`StoreError::is_transient_conflict`]: a
/// deadlock), up to five times. Past that, the error is a 503.
pub async fn retrying<T, F, Fut>(mut attempt: F) -> StoreResult<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = StoreResult<T>>,
{
    let mut left = 5;
    loop {
        match attempt().await {
            Err(e) if left > 1 && (matches!(e, StoreError::Retry) || e.is_transient_conflict()) => {
                left -= 1
            }
            other => return other,
        }
    }
}

/// Parses a stored vocabulary value (school level, role...).
pub fn parse_stored<T: FromStr>(value: &str) -> StoreResult<T> {
    value
        .parse()
        .map_err(|_| StoreError::Corrupt(value.to_owned()))
}

/// An open transaction on either backend, with the change-feed entries and the
/// notices it will write when it commits. Dropped without [`Tx::commit`], it rolls
/// back (and nothing of it is written or sent). On SQLite it holds the writers' turn
/// until it ends.
pub struct Tx {
    conn: TxConn,
    now: DateTime<Utc>,
    changes: Vec<feed::FeedEntry>,
    notices: Vec<Notice>,
    outbox: Arc<outbox::Dispatch>,
}

pub enum TxConn {
    Sqlite(
        sqlx::Transaction<'static, sqlx::Sqlite>,
        tokio::sync::OwnedMutexGuard<()>,
    ),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

impl Tx {
    /// The instant the transaction acts at (the server's clock when it began).
    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }

    /// Whether the transaction runs on SQLite (for the few statements whose SQL
    /// differs by dialect).
    pub fn is_sqlite(&self) -> bool {
        matches!(self.conn, TxConn::Sqlite(..))
    }

    /// Records that an entity changed: a change-feed entry, written at commit.
    pub fn changed(&mut self, entry: feed::FeedEntry) {
        self.changes.push(entry);
    }

    /// A family must be told: written to the outbox at commit (with the account's
    /// choices and the push setting applied), sent once the commit is durable.
    pub fn notify(&mut self, notice: Notice) {
        self.notices.push(notice);
    }

    pub async fn commit(mut self) -> StoreResult<()> {
        let (changes, notices, now, push) = (
            std::mem::take(&mut self.changes),
            std::mem::take(&mut self.notices),
            self.now,
            self.outbox.push_enabled(),
        );
        on_tx!(self, |conn| {
            record_changes!(conn, &changes, now);
            outbox::write!(conn, &notices, now, push);
        });
        match self.conn {
            TxConn::Sqlite(tx, _turn) => tx.commit().await?,
            TxConn::Postgres(tx) => tx.commit().await?,
        }
        if !notices.is_empty() {
            self.outbox.wake();
        }
        Ok(())
    }
}

pub enum Pool {
    /// SQLite comes with the lock that queues its writers.
    Sqlite(SqlitePool, Arc<tokio::sync::Mutex<()>>),
    Postgres(PgPool),
}

/// Either pool, and the outbox's delivery settings. Cheap to clone.
#[derive(Clone)]
pub struct Db {
    pub pool: Arc<Pool>,
    outbox: Arc<outbox::Dispatch>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Db({})", self.backend_name())
    }
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
            Ok(Db::new(Pool::Postgres(pool)))
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
            Ok(Db::new(Pool::Sqlite(
                pool,
                Arc::new(tokio::sync::Mutex::new(())),
            )))
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
        match &*self.pool {
            Pool::Sqlite(pool, _) => SQLITE_MIGRATIONS.run(pool).await?,
            Pool::Postgres(pool) => POSTGRES_MIGRATIONS.run(pool).await?,
        }
        // Values computed in Rust that rows older than their column lack.
        self.families().fill_search_keys().await?;
        Ok(())
    }

    fn new(pool: Pool) -> Db {
        Db {
            pool: Arc::new(pool),
            outbox: Arc::new(outbox::Dispatch::default()),
        }
    }

    /// Whether notices go to phones (FCM configured) or, push being off, by mail to
    /// every account. Set once at start.
    pub fn set_push_enabled(&self, on: bool) {
        self.outbox.set_push_enabled(on);
    }

    pub fn push_enabled(&self) -> bool {
        self.outbox.push_enabled()
    }

    /// Resolves when a commit wrote notices (the dispatcher waits on it).
    pub async fn outbox_written(&self) {
        self.outbox.written().await
    }

    /// Opens a transaction acting at `now` (see [`Tx`]). SQLite transactions start
    /// IMMEDIATE (they all write, and a deferred transaction that read first cannot
    /// wait for the write lock), one writer at a time, queued fairly in the process
    /// rather than by SQLite's busy handler (which polls and lets some wait seconds).
    pub async fn begin_at(&self, now: DateTime<Utc>) -> StoreResult<Tx> {
        let conn = match &*self.pool {
            Pool::Sqlite(pool, writer) => {
                let turn = writer.clone().lock_owned().await;
                TxConn::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?, turn)
            }
            Pool::Postgres(pool) => TxConn::Postgres(pool.begin().await?),
        };
        Ok(Tx {
            conn,
            now,
            changes: Vec::new(),
            notices: Vec::new(),
            outbox: self.outbox.clone(),
        })
    }

    /// A transaction of plain SQL (see [`in_tx!`]).
    pub async fn begin(&self) -> StoreResult<Tx> {
        self.begin_at(Utc::now()).await
    }

    pub fn is_sqlite(&self) -> bool {
        matches!(&*self.pool, Pool::Sqlite(..))
    }

    /// Answers when the database does.
    pub async fn ping(&self) -> StoreResult<()> {
        execute!(self, "SELECT 1")?;
        Ok(())
    }

    pub async fn close(&self) {
        on_db!(self, |pool| pool.close().await)
    }
}

/// Each area's handle on the database: `db.bookings()`, `db.families()`…
macro_rules! areas {
    ($($method:ident => $area:ident::$handle:ident),* $(,)?) => {
        impl Db {
            $(
                pub fn $method(&self) -> $area::$handle<'_> {
                    $area::$handle { db: self }
                }
            )*
        }
    };
}

areas! {
    accounts => accounts::Accounts,
    audit => audit::Audit,
    billing => billing::Billing,
    bookings => bookings::Bookings,
    catalog => catalog::Catalog,
    certificates => certificates::Certificates,
    devices => devices::Devices,
    documents => documents::Documents,
    families => families::Families,
    feed => feed::ChangeFeed,
    messages => messages::Messages,
    outbox => outbox::Outbox,
    payments => payments::Payments,
    queue => queue::QueueLog,
    uploads => uploads::Uploads,
}
