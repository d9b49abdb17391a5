//! The log of the phones' intents: each id is applied once and its answer kept, to
//! be given again when the phone resends it (a lost answer, a restart). The log
//! knows no area: an outcome is applied or not, a code, a billed flag, the words
//! its French detail needs, and the id of what the intent made or changed.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use famille_model::ErrorCode;
use famille_model::queue::MutationStatus;
use uuid::Uuid;

use super::{Db, StoreResult, Tx, execute, on_db, on_tx, unique_violation};

/// Who sends an intent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    pub family_id: Uuid,
    pub account_id: Uuid,
}

/// The answer to one intent, as logged and replayed.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub status: MutationStatus,
    /// Why it was rejected, or what the parent must hear of an applied one.
    pub code: Option<ErrorCode>,
    /// Applied, and the day stays billed (a late cancellation).
    pub billed: bool,
    /// Words of the French detail (the missing documents' labels).
    pub detail: Option<String>,
    /// What the intent created or changed (a reservation).
    pub ref_id: Option<Uuid>,
}

impl Outcome {
    pub fn applied(ref_id: Option<Uuid>) -> Outcome {
        Outcome {
            status: MutationStatus::Applied,
            code: None,
            billed: false,
            detail: None,
            ref_id,
        }
    }

    pub fn rejected(code: ErrorCode) -> Outcome {
        Outcome {
            status: MutationStatus::Rejected,
            code: Some(code),
            billed: false,
            detail: None,
            ref_id: None,
        }
    }
}

#[derive(sqlx::FromRow)]
struct LoggedRow {
    family_id: Uuid,
    status: String,
    code: Option<String>,
    billed: bool,
    detail: Option<String>,
    ref_id: Option<Uuid>,
}

impl LoggedRow {
    /// Another family's id reveals nothing about it: it reads as not found.
    fn outcome_for(self, family_id: Uuid) -> Outcome {
        if self.family_id != family_id {
            return Outcome::rejected(ErrorCode::NotFound);
        }
        Outcome {
            status: if self.status == "applied" {
                MutationStatus::Applied
            } else {
                MutationStatus::Rejected
            },
            code: self.code.as_deref().map(|c| {
                c.parse()
                    .expect("an unknown code reads as ErrorCode::Unknown")
            }),
            billed: self.billed,
            detail: self.detail,
            ref_id: self.ref_id,
        }
    }
}

const SELECT: &str =
    "SELECT family_id, status, code, billed, detail, ref_id FROM mutations WHERE id = $1";

/// The logged answer of intent `id`, seen by `actor`.
pub async fn logged(tx: &mut Tx, actor: Actor, id: Uuid) -> StoreResult<Option<Outcome>> {
    let row: Option<LoggedRow> = on_tx!(tx, |c| sqlx::query_as(SELECT)
        .bind(id)
        .fetch_optional(&mut *c)
        .await)?;
    Ok(row.map(|r| r.outcome_for(actor.family_id)))
}

/// Of `ids`, those already logged (one look-up for a whole batch).
pub async fn known(tx: &mut Tx, ids: &[Uuid]) -> StoreResult<HashSet<Uuid>> {
    if ids.is_empty() {
        return Ok(HashSet::new());
    }
    let placeholders: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT id FROM mutations WHERE id IN ({})",
        placeholders.join(", ")
    );
    let found: Vec<Uuid> = on_tx!(tx, |c| {
        let mut q = sqlx::query_scalar(sqlx::AssertSqlSafe(sql));
        for id in ids {
            q = q.bind(*id);
        }
        q.fetch_all(&mut *c).await
    })?;
    Ok(found.into_iter().collect())
}

/// Logs the answer of intent `id` (of kind `kind`); a concurrent request that
/// logged the same id first makes this one [`super::StoreError::Duplicate`].
pub async fn log(
    tx: &mut Tx,
    actor: Actor,
    id: Uuid,
    kind: &str,
    outcome: &Outcome,
) -> StoreResult<()> {
    let now = tx.now();
    on_tx!(tx, |c| {
        sqlx::query(
        "INSERT INTO mutations (id, family_id, account_id, kind, status, code, billed, detail, ref_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(id)
    .bind(actor.family_id)
    .bind(actor.account_id)
    .bind(kind)
    .bind(match outcome.status {
        MutationStatus::Applied => "applied",
        MutationStatus::Rejected => "rejected",
    })
    .bind(outcome.code.map(|c| c.as_str()))
    .bind(outcome.billed)
    .bind(&outcome.detail)
    .bind(outcome.ref_id)
    .bind(now)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected())
    .map_err(unique_violation)
    })?;
    Ok(())
}

pub struct QueueLog<'a> {
    pub(super) db: &'a Db,
}

impl QueueLog<'_> {
    /// The logged answer of intent `id`, outside any transaction (a concurrent
    /// request logged it first).
    pub async fn logged(&self, actor: Actor, id: Uuid) -> StoreResult<Option<Outcome>> {
        let row: Option<LoggedRow> = on_db!(self.db, |pool| sqlx::query_as(SELECT)
            .bind(id)
            .fetch_optional(pool)
            .await)?;
        Ok(row.map(|r| r.outcome_for(actor.family_id)))
    }

    /// Forgets the answers no phone will ask again: a refusal logged before
    /// `rejected_before` (it changed nothing; an intent sent again after that is
    /// judged anew), any answer logged before `applied_before`.
    pub async fn purge(
        &self,
        rejected_before: DateTime<Utc>,
        applied_before: DateTime<Utc>,
    ) -> StoreResult<u64> {
        Ok(execute!(
            self.db,
            "DELETE FROM mutations WHERE (status = 'rejected' AND created_at < $1) OR created_at < $2",
            rejected_before,
            applied_before
        )?)
    }
}
