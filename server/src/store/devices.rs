//! Push tokens of the accounts' phones.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{Db, StoreResult, on_db};

pub struct Devices<'a> {
    pub(super) db: &'a Db,
}

impl Devices<'_> {
    /// Registers a token for an account, moving it if another account had it.
    pub async fn register(
        &self,
        account_id: Uuid,
        token: &str,
        platform: famille_model::api::Platform,
        locale: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        on_db!(self.db, |pool| {
            sqlx::query(
                "INSERT INTO devices (token, account_id, platform, locale, created_at, last_seen_at) VALUES ($1, $2, $3, $4, $5, $5) \
                 ON CONFLICT (token) DO UPDATE SET account_id = excluded.account_id, platform = excluded.platform, \
                 locale = excluded.locale, last_seen_at = excluded.last_seen_at",
            )
            .bind(token)
            .bind(account_id)
            .bind(platform.as_str())
            .bind(locale)
            .bind(now)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// Removes one of the account's tokens; `false` if it is not the account's.
    pub async fn remove(&self, account_id: Uuid, token: &str) -> StoreResult<bool> {
        let done = on_db!(self.db, |pool| {
            sqlx::query("DELETE FROM devices WHERE token = $1 AND account_id = $2")
                .bind(token)
                .bind(account_id)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(done == 1)
    }

    /// (token, platform) of an account's phones.
    pub async fn of_account(&self, account_id: Uuid) -> StoreResult<Vec<(String, String)>> {
        Ok(on_db!(self.db, |pool| {
            sqlx::query_as(
                "SELECT token, platform FROM devices WHERE account_id = $1 ORDER BY created_at",
            )
            .bind(account_id)
            .fetch_all(pool)
            .await
        })?)
    }
}
