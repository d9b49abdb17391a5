//! The notification outbox: one row per delivery, written by [`write!`] when the
//! transaction of the change that caused it commits ([`super::Tx::notify`]), claimed
//! by the dispatcher with a lease and closed once sent. A server killed at any
//! moment loses nothing: an unclaimed row waits, a claimed one comes back when its
//! lease runs out. The outbox owns the push setting and the wake-up of the
//! dispatcher ([`Dispatch`]).

use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, Duration, Utc};
use famille_model::notice::Notice;
use famille_model::push::PushKind;
use uuid::Uuid;

use super::{Db, StoreResult, dialect, execute, in_tx, on_db, scalar};

/// Whether notices go to phones, and the signal that new ones were committed.
#[derive(Debug, Default)]
pub struct Dispatch {
    push: AtomicBool,
    wake: tokio::sync::Notify,
}

impl Dispatch {
    pub fn push_enabled(&self) -> bool {
        self.push.load(Ordering::Relaxed)
    }

    pub fn set_push_enabled(&self, on: bool) {
        self.push.store(on, Ordering::Relaxed);
    }

    /// Called after a commit that wrote notices.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    pub async fn written(&self) {
        self.wake.notified().await
    }
}

/// Writes the deliveries of each notice inside the open transaction whose connection
/// is `$conn`: a push to every phone of the family's accounts, or a mail to an
/// account without a phone (unless it turned the fallback off); none for a kind the
/// account muted. With push off (`$push` false), every account gets the mail.
macro_rules! write {
    ($conn:expr, $notices:expr, $now:expr, $push:expr) => {{
        let notices: &[famille_model::notice::Notice] = $notices;
        for notice in notices {
            sqlx::query(
                "INSERT INTO outbox (account_id, channel, token, platform, kind, ref_id, title, body, collapse_key, next_attempt_at, created_at) \
                 SELECT d.account_id, 'push', d.token, d.platform, $2, $3, $4, $5, $6, $7, $7 \
                 FROM devices d JOIN accounts a ON a.id = d.account_id \
                 WHERE $8 AND a.family_id = $1 AND a.disabled_at IS NULL \
                 AND NOT EXISTS (SELECT 1 FROM notification_mutes m WHERE m.account_id = a.id AND m.kind = $2) \
                 UNION ALL \
                 SELECT a.id, 'mail', NULL, NULL, $2, $3, $4, $5, $6, $7, $7 FROM accounts a \
                 WHERE a.family_id = $1 AND a.disabled_at IS NULL \
                 AND (NOT $8 OR NOT EXISTS (SELECT 1 FROM devices d WHERE d.account_id = a.id)) \
                 AND NOT EXISTS (SELECT 1 FROM notification_mutes m WHERE m.account_id = a.id AND m.kind = $2) \
                 AND NOT EXISTS (SELECT 1 FROM notification_settings s WHERE s.account_id = a.id AND NOT s.mail_fallback)",
            )
            .bind(notice.family_id)
            .bind(notice.kind().as_str())
            .bind(notice.ref_id())
            .bind(notice.title())
            .bind(notice.body())
            .bind(famille_model::push::collapse_key(notice.kind(), notice.ref_id()))
            .bind($now)
            .bind($push)
            .execute(&mut *$conn)
            .await?;
        }
    }};
}
pub(crate) use write;

/// A delivery just given up.
#[derive(sqlx::FromRow)]
struct DroppedPush {
    account_id: Uuid,
    channel: String,
    kind: String,
    ref_id: Uuid,
}

/// The mail of a notice whose pushes to an account all failed for good (no push of
/// it sent or still pending for that account): once (not when a mail of it exists),
/// unless the account turned the mail fallback off, from the text of its first push.
/// Every notice reaches the family by some channel.
macro_rules! mail_instead {
    ($dropped:expr, $now:expr) => {
        sqlx::query(
            "INSERT INTO outbox (account_id, channel, token, platform, kind, ref_id, title, body, collapse_key, next_attempt_at, created_at) \
             SELECT o.account_id, 'mail', NULL, NULL, o.kind, o.ref_id, o.title, o.body, o.collapse_key, $4, $4 \
             FROM outbox o JOIN accounts a ON a.id = o.account_id AND a.disabled_at IS NULL \
             WHERE o.id = (SELECT MIN(p.id) FROM outbox p \
                           WHERE p.account_id = $1 AND p.kind = $2 AND p.ref_id = $3 AND p.channel = 'push') \
             AND NOT EXISTS (SELECT 1 FROM outbox x WHERE x.account_id = $1 AND x.kind = $2 AND x.ref_id = $3 \
                             AND (x.channel = 'mail' OR x.status IN ('pending', 'sent'))) \
             AND NOT EXISTS (SELECT 1 FROM notification_settings s WHERE s.account_id = $1 AND NOT s.mail_fallback)",
        )
        .bind($dropped.account_id)
        .bind(&$dropped.kind)
        .bind($dropped.ref_id)
        .bind($now)
    };
}

/// How long a claimed delivery is reserved for the dispatcher that took it.
pub const LEASE: Duration = Duration::seconds(60);

famille_model::labelled_enum! {
    /// How a delivery reaches the account.
    Channel {
        Push => "push", "Notification";
        Mail => "mail", "E-mail";
    }
}

famille_model::labelled_enum! {
    /// Where a delivery stands.
    OutboxStatus {
        Pending => "pending", "À envoyer";
        Sent => "sent", "Envoyée";
        /// Given up (a dead token, too many attempts).
        Dropped => "dropped", "Abandonnée";
    }
}

/// A delivery the dispatcher holds the lease of.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Delivery {
    pub id: i64,
    pub account_id: Uuid,
    #[sqlx(try_from = "String")]
    pub channel: Channel,
    pub token: Option<String>,
    pub platform: Option<String>,
    #[sqlx(try_from = "String")]
    pub kind: PushKind,
    pub ref_id: Uuid,
    pub title: String,
    pub body: String,
    pub collapse_key: String,
    /// Including this one.
    pub attempts: i32,
}

/// A row of the outbox as support reads it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OutboxEntry {
    pub id: i64,
    pub account_id: Uuid,
    #[sqlx(try_from = "String")]
    pub channel: Channel,
    pub token: Option<String>,
    #[sqlx(try_from = "String")]
    pub kind: PushKind,
    pub ref_id: Uuid,
    #[sqlx(try_from = "String")]
    pub status: OutboxStatus,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
}

pub struct Outbox<'a> {
    pub(super) db: &'a Db,
}

impl Outbox<'_> {
    /// Takes up to `limit` due deliveries for [`LEASE`]. On PostgreSQL rows locked by
    /// another server instance are skipped, so several instances share the work.
    pub async fn claim(&self, now: DateTime<Utc>, limit: i64) -> StoreResult<Vec<Delivery>> {
        let sql = dialect!(self.db,
            sqlite: "UPDATE outbox SET lease_until = $2, attempts = attempts + 1 WHERE id IN (\
                     SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= $1 \
                     AND (lease_until IS NULL OR lease_until <= $1) ORDER BY next_attempt_at, id LIMIT $3) \
                     RETURNING id, account_id, channel, token, platform, kind, ref_id, title, body, collapse_key, attempts",
            postgres: "UPDATE outbox SET lease_until = $2, attempts = attempts + 1 WHERE id IN (\
                     SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= $1 \
                     AND (lease_until IS NULL OR lease_until <= $1) ORDER BY next_attempt_at, id LIMIT $3 \
                     FOR UPDATE SKIP LOCKED) \
                     RETURNING id, account_id, channel, token, platform, kind, ref_id, title, body, collapse_key, attempts",
        );
        let mut deliveries: Vec<Delivery> = in_tx!(self.db, |tx| {
            sqlx::query_as(sql)
                .bind(now)
                .bind(now + LEASE)
                .bind(limit)
                .fetch_all(&mut *tx)
                .await?
        });
        deliveries.sort_by_key(|d| d.id);
        Ok(deliveries)
    }

    /// Closes delivered rows, in one statement per batch.
    pub async fn mark_sent(&self, ids: &[i64], now: DateTime<Utc>) -> StoreResult<()> {
        for chunk in ids.chunks(500) {
            let placeholders: Vec<String> =
                (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
            let sql = format!(
                "UPDATE outbox SET status = 'sent', done_at = $1, lease_until = NULL, last_error = NULL WHERE id IN ({})",
                placeholders.join(", ")
            );
            on_db!(self.db, |pool| {
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.clone())).bind(now);
                for id in chunk {
                    q = q.bind(*id);
                }
                q.execute(pool).await.map(|r| r.rows_affected())
            })?;
        }
        Ok(())
    }

    /// Gives a failed delivery another go at `at`.
    pub async fn retry_at(&self, id: i64, at: DateTime<Utc>, error: &str) -> StoreResult<()> {
        execute!(
            self.db,
            "UPDATE outbox SET next_attempt_at = $2, lease_until = NULL, last_error = $3 WHERE id = $1 AND status = 'pending'",
            id,
            at,
            error
        )?;
        Ok(())
    }

    /// Gives up on a delivery (a payload bug, too many attempts). When it was the
    /// account's last hope of a push for its notice, the mail goes instead.
    pub async fn drop_delivery(&self, id: i64, now: DateTime<Utc>, error: &str) -> StoreResult<()> {
        in_tx!(self.db, |tx| {
            let dropped: Vec<DroppedPush> = sqlx::query_as(
                "UPDATE outbox SET status = 'dropped', done_at = $2, lease_until = NULL, last_error = $3 \
                 WHERE id = $1 RETURNING account_id, channel, kind, ref_id",
            )
            .bind(id)
            .bind(now)
            .bind(error)
            .fetch_all(&mut *tx)
            .await?;
            for d in dropped
                .iter()
                .filter(|d| d.channel == Channel::Push.as_str())
            {
                mail_instead!(d, now).execute(&mut *tx).await?;
            }
        });
        Ok(())
    }

    /// FCM said the token is dead: forget the phone and everything queued for it;
    /// each notice no other phone of the account will show goes by mail instead.
    pub async fn forget_token(
        &self,
        token: &str,
        now: DateTime<Utc>,
        error: &str,
    ) -> StoreResult<()> {
        in_tx!(self.db, |tx| {
            sqlx::query("DELETE FROM devices WHERE token = $1")
                .bind(token)
                .execute(&mut *tx)
                .await?;
            let dropped: Vec<DroppedPush> = sqlx::query_as(
                "UPDATE outbox SET status = 'dropped', done_at = $2, lease_until = NULL, last_error = $3 \
                 WHERE token = $1 AND status = 'pending' RETURNING account_id, channel, kind, ref_id",
            )
            .bind(token)
            .bind(now)
            .bind(error)
            .fetch_all(&mut *tx)
            .await?;
            for d in &dropped {
                mail_instead!(d, now).execute(&mut *tx).await?;
            }
        });
        Ok(())
    }

    /// The account's address, for a fallback mail.
    pub async fn account_email(&self, account_id: Uuid) -> StoreResult<Option<String>> {
        Ok(scalar!(
            optional,
            self.db,
            "SELECT email FROM accounts WHERE id = $1 AND disabled_at IS NULL",
            account_id
        )?)
    }

    /// Housekeeping: closed rows older than `keep` go, and so do phones unseen since
    /// `stale_before` (an app re-registers its token at every start).
    pub async fn purge(
        &self,
        done_before: DateTime<Utc>,
        stale_before: DateTime<Utc>,
    ) -> StoreResult<(u64, u64)> {
        let rows = execute!(
            self.db,
            "DELETE FROM outbox WHERE status <> 'pending' AND done_at < $1",
            done_before
        )?;
        let devices = execute!(
            self.db,
            "DELETE FROM devices WHERE last_seen_at < $1",
            stale_before
        )?;
        Ok((rows, devices))
    }

    /// Every row about one reference (support, tests).
    pub async fn about(&self, ref_id: Uuid) -> StoreResult<Vec<OutboxEntry>> {
        Ok(on_db!(self.db, |pool| {
            sqlx::query_as(
                "SELECT id, account_id, channel, token, kind, ref_id, status, attempts, next_attempt_at, last_error \
                 FROM outbox WHERE ref_id = $1 ORDER BY id",
            )
            .bind(ref_id)
            .fetch_all(pool)
            .await
        })?)
    }

    /// Deliveries still to make.
    pub async fn pending_count(&self) -> StoreResult<i64> {
        Ok(scalar!(
            one,
            self.db,
            "SELECT COUNT(*) FROM outbox WHERE status = 'pending'"
        )?)
    }

    /// Writes notices in their own transaction (events that have no other write, and
    /// benchmarks).
    pub async fn enqueue(&self, notices: &[Notice], now: DateTime<Utc>) -> StoreResult<()> {
        let mut tx = self.db.begin_at(now).await?;
        for notice in notices {
            tx.notify(notice.clone());
        }
        tx.commit().await
    }

    /// An account's notification choices: muted kinds and whether mail stands in
    /// for a missing phone.
    /// A kind this version no longer knows is left out.
    pub async fn settings(&self, account_id: Uuid) -> StoreResult<(Vec<PushKind>, bool)> {
        let (muted, fallback) = on_db!(self.db, |pool| {
            let muted: Vec<String> = sqlx::query_scalar(
                "SELECT kind FROM notification_mutes WHERE account_id = $1 ORDER BY kind",
            )
            .bind(account_id)
            .fetch_all(pool)
            .await?;
            let fallback: Option<bool> = sqlx::query_scalar(
                "SELECT mail_fallback FROM notification_settings WHERE account_id = $1",
            )
            .bind(account_id)
            .fetch_optional(pool)
            .await?;
            Ok::<_, sqlx::Error>((muted, fallback))
        })?;
        let muted = muted.iter().filter_map(|k| k.parse().ok()).collect();
        Ok((muted, fallback.unwrap_or(true)))
    }

    pub async fn set_settings(
        &self,
        account_id: Uuid,
        muted: &[PushKind],
        mail_fallback: bool,
    ) -> StoreResult<()> {
        in_tx!(self.db, |tx| {
            sqlx::query("DELETE FROM notification_mutes WHERE account_id = $1")
                .bind(account_id)
                .execute(&mut *tx)
                .await?;
            for kind in muted {
                sqlx::query("INSERT INTO notification_mutes (account_id, kind) VALUES ($1, $2)")
                    .bind(account_id)
                    .bind(kind.as_str())
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query(
                "INSERT INTO notification_settings (account_id, mail_fallback) VALUES ($1, $2) \
                 ON CONFLICT (account_id) DO UPDATE SET mail_fallback = excluded.mail_fallback",
            )
            .bind(account_id)
            .bind(mail_fallback)
            .execute(&mut *tx)
            .await?;
        });
        Ok(())
    }
}
