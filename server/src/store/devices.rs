//! Push tokens of the accounts' phones.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{Db, StoreResult, execute, on_db};

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
        execute!(
            self.db,
            "INSERT INTO devices (token, account_id, platform, locale, created_at, last_seen_at) VALUES ($1, $2, $3, $4, $5, $5) \
                 ON CONFLICT (token) DO UPDATE SET account_id = excluded.account_id, platform = excluded.platform, \
                 locale = excluded.locale, last_seen_at = excluded.last_seen_at",
            token,
            account_id,
            platform.as_str(),
            locale,
            now
        )?;
        Ok(())
    }

    /// Removes one of the account's tokens; `false` if it is not the account's.
    pub async fn remove(&self, account_id: Uuid, token: &str) -> StoreResult<bool> {
        Ok(execute!(
            self.db,
            "DELETE FROM devices WHERE token = $1 AND account_id = $2",
            token,
            account_id
        )? == 1)
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
