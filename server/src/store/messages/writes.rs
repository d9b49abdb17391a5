//! The steps of a message's transaction, inside the caller's [`Tx`]: lock and read
//! the thread, open it, check and take the attachments, add the message, move a
//! read mark, assign, close.

use chrono::{DateTime, Utc};
use famille_model::messages::{Side, ThreadStatus};
use uuid::Uuid;

use super::{THREAD_COLUMNS, ThreadRow};
use crate::store::{StoreError, StoreResult, Tx, on_tx};

/// A new message, as the service layer checked it.
pub struct NewMessageRow<'a> {
    pub id: Uuid,
    pub thread_id: Uuid,
    pub family_id: Uuid,
    pub side: Side,
    pub author_id: Uuid,
    pub body: &'a str,
    pub attachments: &'a [Uuid],
}

/// Locks a thread for a change (PostgreSQL; SQLite's writers take turns) and reads
/// it.
pub async fn thread_for_update(tx: &mut Tx, id: Uuid) -> StoreResult<Option<ThreadRow>> {
    let lock = if tx.is_sqlite() {
        ""
    } else {
        " FOR UPDATE OF t"
    };
    let sql = format!(
        "SELECT {THREAD_COLUMNS} FROM threads t JOIN services s ON s.id = t.service_id WHERE t.id = $1{lock}"
    );
    Ok(on_tx!(tx, |c| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(id)
            .fetch_optional(&mut *c)
            .await
    })?)
}

/// A service's name and whether it is sensitive.
pub async fn service(tx: &mut Tx, id: Uuid) -> StoreResult<Option<(String, bool)>> {
    Ok(on_tx!(tx, |c| {
        sqlx::query_as("SELECT name, sensitive FROM services WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *c)
            .await
    })?)
}

/// Opens a thread (its first message is added with [`add_message`]).
pub async fn open_thread(
    tx: &mut Tx,
    id: Uuid,
    family_id: Uuid,
    service_id: Uuid,
    subject: &str,
    opened_by: Side,
) -> StoreResult<()> {
    let now = tx.now();
    on_tx!(tx, |c| {
        sqlx::query(
            "INSERT INTO threads (id, family_id, service_id, subject, status, opened_by, created_at, last_message_at) \
             VALUES ($1, $2, $3, $4, 'open', $5, $6, $6)",
        )
        .bind(id)
        .bind(family_id)
        .bind(service_id)
        .bind(subject)
        .bind(opened_by.as_str())
        .bind(now)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// The first of `ids` that is not a free attachment of the family (unknown,
/// another family's, not finished, or already sent), checked before anything is
/// written.
pub async fn unavailable_attachment(
    tx: &mut Tx,
    family_id: Uuid,
    ids: &[Uuid],
) -> StoreResult<Option<Uuid>> {
    for attachment in ids {
        let free: Option<Uuid> = on_tx!(tx, |c| {
            sqlx::query_scalar(
                "SELECT id FROM attachments WHERE id = $1 AND family_id = $2 AND message_id IS NULL",
            )
            .bind(*attachment)
            .bind(family_id)
            .fetch_optional(&mut *c)
            .await
        })?;
        if free.is_none() {
            return Ok(Some(*attachment));
        }
    }
    Ok(None)
}

/// Adds a message, takes its attachments (checked free with
/// [`unavailable_attachment`] before) and reopens the thread; the other side has
/// one more to read. Two messages racing for one attachment: the second runs
/// again ([`StoreError::Retry`]) and is then refused by the check.
pub async fn add_message(tx: &mut Tx, m: &NewMessageRow<'_>) -> StoreResult<()> {
    let now = tx.now();
    on_tx!(tx, |c| {
        sqlx::query(
            "INSERT INTO messages (id, thread_id, side, author_id, body, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(m.id)
        .bind(m.thread_id)
        .bind(m.side.as_str())
        .bind(m.author_id)
        .bind(m.body)
        .bind(now)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected())
    })?;
    for attachment in m.attachments {
        let taken = on_tx!(tx, |c| {
            sqlx::query(
                "UPDATE attachments SET message_id = $2 WHERE id = $1 AND family_id = $3 AND message_id IS NULL",
            )
            .bind(*attachment)
            .bind(m.id)
            .bind(m.family_id)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected())
        })?;
        if taken != 1 {
            return Err(StoreError::Retry);
        }
    }
    let unread = match m.side {
        Side::Family => "services_unread = services_unread + 1",
        Side::Services => "family_unread = family_unread + 1",
    };
    let sql =
        format!("UPDATE threads SET status = 'open', last_message_at = $2, {unread} WHERE id = $1");
    on_tx!(tx, |c| {
        sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
            .bind(m.thread_id)
            .bind(now)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// Moves `reader`'s read mark to `mark` and counts again what it has not read.
pub async fn mark_read(
    tx: &mut Tx,
    thread_id: Uuid,
    reader: Side,
    mark: DateTime<Utc>,
) -> StoreResult<()> {
    let (mark_column, unread_column) = match reader {
        Side::Family => ("family_read_up_to", "family_unread"),
        Side::Services => ("services_read_up_to", "services_unread"),
    };
    let sql = format!(
        "UPDATE threads SET {mark_column} = $2, {unread_column} = \
           (SELECT COUNT(*) FROM messages m WHERE m.thread_id = $1 AND m.side = $3 AND m.created_at > $2) \
         WHERE id = $1"
    );
    on_tx!(tx, |c| {
        sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
            .bind(thread_id)
            .bind(mark)
            .bind(reader.other().as_str())
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// Sets who handles a thread (`None`: the service).
pub async fn assign(tx: &mut Tx, thread_id: Uuid, account_id: Option<Uuid>) -> StoreResult<()> {
    on_tx!(tx, |c| {
        sqlx::query("UPDATE threads SET assigned_to = $2 WHERE id = $1")
            .bind(thread_id)
            .bind(account_id)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(())
}

pub async fn set_status(tx: &mut Tx, thread_id: Uuid, status: ThreadStatus) -> StoreResult<()> {
    on_tx!(tx, |c| {
        sqlx::query("UPDATE threads SET status = $2 WHERE id = $1")
            .bind(thread_id)
            .bind(status.as_str())
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(())
}
