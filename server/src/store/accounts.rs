//! Accounts, refresh-token chains and password-reset tokens.

use chrono::{DateTime, Utc};
use famille_model::dossier::Role;
use uuid::Uuid;

use super::{
    Db, StoreResult, dialect, execute, in_tx, on_db, parse_stored, scalar, unique_violation,
};

// The two statements below run both on a pool and inside a rotation transaction;
// as macros they stay one SQL text while the executor's backend varies.
macro_rules! insert_refresh {
    ($new:expr) => {
        sqlx::query(
            "INSERT INTO refresh_tokens (id, chain_id, account_id, token_hash, remember_me, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind($new.id)
        .bind($new.chain_id)
        .bind($new.account_id)
        .bind($new.token_hash)
        .bind($new.remember_me)
        .bind($new.now)
        .bind($new.expires_at)
    };
}

macro_rules! revoke_chain {
    ($chain_id:expr, $now:expr) => {
        sqlx::query(
            "UPDATE refresh_tokens SET revoked_at = $2 WHERE chain_id = $1 AND revoked_at IS NULL",
        )
        .bind($chain_id)
        .bind($now)
    };
}

pub struct Accounts<'a> {
    pub(super) db: &'a Db,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AccountRow {
    pub id: Uuid,
    pub email: String,
    pub password_hash: Option<String>,
    pub role: String,
    pub first_name: String,
    pub last_name: String,
    pub family_id: Option<Uuid>,
    pub disabled_at: Option<DateTime<Utc>>,
}

impl AccountRow {
    pub fn role(&self) -> StoreResult<Role> {
        parse_stored(&self.role)
    }
}

/// A parent signing up: the account, a pending dossier and its first guardian.
pub struct NewParent<'a> {
    pub account_id: Uuid,
    pub family_id: Uuid,
    pub guardian_id: Uuid,
    pub email: &'a str,
    pub password_hash: Option<&'a str>,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub now: DateTime<Utc>,
}

pub struct NewStaff<'a> {
    pub id: Uuid,
    pub email: &'a str,
    pub password_hash: Option<&'a str>,
    pub role: Role,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub now: DateTime<Utc>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RefreshRow {
    pub id: Uuid,
    pub chain_id: Uuid,
    pub account_id: Uuid,
    pub remember_me: bool,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

pub struct NewRefresh<'a> {
    pub id: Uuid,
    pub chain_id: Uuid,
    pub account_id: Uuid,
    pub token_hash: &'a str,
    pub remember_me: bool,
    pub now: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// What happened to a refresh token presented for rotation.
#[derive(Debug, PartialEq, Eq)]
pub enum Rotation {
    Rotated,
    /// Already used or revoked: the chain has now been revoked.
    Reused,
}

macro_rules! account_columns {
    () => {
        "id, email, password_hash, role, first_name, last_name, family_id, disabled_at"
    };
}

/// A refresh token's `used_at` and `revoked_at`.
type UseOfToken = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

impl Accounts<'_> {
    pub async fn insert_parent(&self, new: &NewParent<'_>) -> StoreResult<i64> {
        let insert_family = dialect!(self.db,
            sqlite: "INSERT INTO families (id, number, status, created_at, updated_at) \
                     VALUES ($1, (SELECT COALESCE(MAX(number), 0) + 1 FROM families), 'pending', $2, $2) \
                     RETURNING number",
            postgres: "INSERT INTO families (id, status, created_at, updated_at) \
                       VALUES ($1, 'pending', $2, $2) RETURNING number",
        );
        let number = in_tx!(self.db, |tx| {
            let number: i64 = sqlx::query_scalar(insert_family)
                .bind(new.family_id)
                .bind(new.now)
                .fetch_one(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO accounts (id, email, password_hash, role, first_name, last_name, family_id, created_at) \
                 VALUES ($1, $2, $3, 'parent', $4, $5, $6, $7)",
            )
            .bind(new.account_id)
            .bind(new.email)
            .bind(new.password_hash)
            .bind(new.first_name)
            .bind(new.last_name)
            .bind(new.family_id)
            .bind(new.now)
            .execute(&mut *tx)
            .await
            .map_err(unique_violation)?;
            sqlx::query(
                "INSERT INTO guardians (id, family_id, rank, account_id, first_name, last_name, email, search_key) \
                 VALUES ($1, $2, 1, $3, $4, $5, $6, $7)",
            )
            .bind(new.guardian_id)
            .bind(new.family_id)
            .bind(new.account_id)
            .bind(new.first_name)
            .bind(new.last_name)
            .bind(new.email)
            .bind(super::families::guardian_search_key(new.first_name, new.last_name, Some(new.email)))
            .execute(&mut *tx)
            .await?;
            number
        });
        Ok(number)
    }

    pub async fn insert_staff(&self, new: &NewStaff<'_>) -> StoreResult<()> {
        execute!(self.db, "INSERT INTO accounts (id, email, password_hash, role, first_name, last_name, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)", new.id, new.email, new.password_hash, new.role.as_str(), new.first_name, new.last_name, new.now)
        .map_err(unique_violation)?;
        Ok(())
    }

    pub async fn by_email(&self, email: &str) -> StoreResult<Option<AccountRow>> {
        let sql = concat!(
            "SELECT ",
            account_columns!(),
            " FROM accounts WHERE email = $1"
        );
        Ok(on_db!(self.db, |pool| sqlx::query_as(sql)
            .bind(email)
            .fetch_optional(pool)
            .await)?)
    }

    pub async fn by_id(&self, id: Uuid) -> StoreResult<Option<AccountRow>> {
        let sql = concat!(
            "SELECT ",
            account_columns!(),
            " FROM accounts WHERE id = $1"
        );
        Ok(on_db!(self.db, |pool| sqlx::query_as(sql)
            .bind(id)
            .fetch_optional(pool)
            .await)?)
    }

    pub async fn count(&self) -> StoreResult<i64> {
        Ok(scalar!(one, self.db, "SELECT COUNT(*) FROM accounts")?)
    }

    // ---- refresh tokens --------------------------------------------------------

    pub async fn insert_refresh(&self, new: &NewRefresh<'_>) -> StoreResult<()> {
        on_db!(self.db, |pool| insert_refresh!(new)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    pub async fn refresh_by_hash(&self, token_hash: &str) -> StoreResult<Option<RefreshRow>> {
        Ok(on_db!(self.db, |pool| {
            sqlx::query_as(
                "SELECT id, chain_id, account_id, remember_me, expires_at, used_at, revoked_at \
                 FROM refresh_tokens WHERE token_hash = $1",
            )
            .bind(token_hash)
            .fetch_optional(pool)
            .await
        })?)
    }

    /// Marks `old` used and stores its successor, in one transaction. If `old` was
    /// already used or revoked (a stolen token replayed, or the legitimate one after
    /// the thief), the whole chain is revoked instead.
    /// Exchanges `old` for `next`. A token works once; presented again within
    /// `grace` of its use while the token it was exchanged for is still unused (the
    /// answer was lost on the way to the phone), that successor is withdrawn and
    /// `next` replaces it. Otherwise a reused token is theft: its whole chain is
    /// revoked.
    pub async fn rotate(
        &self,
        old: &RefreshRow,
        next: &NewRefresh<'_>,
        grace: chrono::Duration,
    ) -> StoreResult<Rotation> {
        // Concurrent rotations of one token take its row in turn (PostgreSQL would
        // otherwise lock the token and its successors in different orders).
        let lock_first = dialect!(self.db,
            sqlite: "SELECT id FROM refresh_tokens WHERE id = $1",
            postgres: "SELECT id FROM refresh_tokens WHERE id = $1 FOR UPDATE",
        );
        let rotation = in_tx!(self.db, |tx| {
            sqlx::query(lock_first)
                .bind(old.id)
                .fetch_optional(&mut *tx)
                .await?;
            let claimed = sqlx::query(
                "UPDATE refresh_tokens SET used_at = $2, replaced_by = $3 \
                 WHERE id = $1 AND used_at IS NULL AND revoked_at IS NULL",
            )
            .bind(old.id)
            .bind(next.now)
            .bind(next.id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            // A retry within the grace (judged on the row as it is now, not as read
            // before): the unused successor is withdrawn, guarded so that two
            // retries cannot both keep theirs.
            let fresh: Option<UseOfToken> = if claimed == 0 {
                sqlx::query_as("SELECT used_at, revoked_at FROM refresh_tokens WHERE id = $1")
                    .bind(old.id)
                    .fetch_optional(&mut *tx)
                    .await?
            } else {
                None
            };
            let within_grace = fresh.is_some_and(|(used_at, revoked_at)| {
                revoked_at.is_none() && used_at.is_some_and(|used| next.now - used <= grace)
            });
            let retried = within_grace
                && sqlx::query(
                    "UPDATE refresh_tokens SET revoked_at = $2 WHERE id = \
                     (SELECT replaced_by FROM refresh_tokens WHERE id = $1) \
                     AND used_at IS NULL AND revoked_at IS NULL",
                )
                .bind(old.id)
                .bind(next.now)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1;
            if claimed == 1 || retried {
                if retried {
                    sqlx::query("UPDATE refresh_tokens SET replaced_by = $2 WHERE id = $1")
                        .bind(old.id)
                        .bind(next.id)
                        .execute(&mut *tx)
                        .await?;
                }
                insert_refresh!(next).execute(&mut *tx).await?;
                Rotation::Rotated
            } else {
                revoke_chain!(old.chain_id, next.now)
                    .execute(&mut *tx)
                    .await?;
                Rotation::Reused
            }
        });
        Ok(rotation)
    }

    pub async fn revoke_chain(&self, chain_id: Uuid, now: DateTime<Utc>) -> StoreResult<()> {
        on_db!(self.db, |pool| revoke_chain!(chain_id, now)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    // ---- passwords -------------------------------------------------------------

    /// Replaces the hash of an account's password by one of the same password (a
    /// legacy hash upgraded at login); sessions stay open.
    pub async fn set_password_hash(
        &self,
        account_id: Uuid,
        password_hash: &str,
    ) -> StoreResult<()> {
        execute!(
            self.db,
            "UPDATE accounts SET password_hash = $2 WHERE id = $1",
            account_id,
            password_hash
        )?;
        Ok(())
    }

    pub async fn insert_reset(
        &self,
        token_hash: &str,
        account_id: Uuid,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        execute!(
            self.db,
            "INSERT INTO password_resets (token_hash, account_id, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4)",
            token_hash,
            account_id,
            now,
            expires_at
        )?;
        Ok(())
    }

    /// The account a reset token may still reset, without consuming it.
    pub async fn reset_account(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Uuid>> {
        Ok(scalar!(
            optional,
            self.db,
            "SELECT account_id FROM password_resets \
                 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
            token_hash,
            now
        )?)
    }

    /// Consumes the token and sets the new password; every other reset token and
    /// every session of the account die with it. `false` if the token was used or
    /// expired in the meantime.
    pub async fn reset_password(
        &self,
        token_hash: &str,
        account_id: Uuid,
        password_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let done = in_tx!(self.db, |tx| {
            let consumed = sqlx::query(
                "UPDATE password_resets SET used_at = $3 \
                 WHERE token_hash = $1 AND account_id = $2 AND used_at IS NULL AND expires_at > $3",
            )
            .bind(token_hash)
            .bind(account_id)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if consumed == 1 {
                sqlx::query("UPDATE password_resets SET used_at = $2 WHERE account_id = $1 AND used_at IS NULL")
                    .bind(account_id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("UPDATE accounts SET password_hash = $2 WHERE id = $1")
                    .bind(account_id)
                    .bind(password_hash)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "UPDATE refresh_tokens SET revoked_at = $2 WHERE account_id = $1 AND revoked_at IS NULL",
                )
                .bind(account_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            consumed == 1
        });
        Ok(done)
    }
}
