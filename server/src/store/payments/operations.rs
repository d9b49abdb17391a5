//! Recording payments and settling online operations, once.

use super::*;
use crate::store::{Tx, on_tx};

/// The newest online operation still pending for this invoice, started after
/// `since` (the parent tapped « Payer » twice: the same operation is given back;
/// while PayFiP has not given its id yet, the second tap is asked to wait).
pub async fn recent_operation(
    tx: &mut Tx,
    invoice_id: Uuid,
    since: DateTime<Utc>,
) -> StoreResult<Option<Operation>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {OPERATION_COLUMNS} FROM payments \
         WHERE invoice_id = $1 AND status = 'pending' AND created_at >= $2 \
         ORDER BY created_at DESC LIMIT 1"
    ));
    let row: Option<OperationRow> = on_tx!(tx, |c| sqlx::query_as(sql)
        .bind(invoice_id)
        .bind(since)
        .fetch_optional(&mut *c)
        .await)?;
    row.map(OperationRow::into_operation).transpose()
}

pub async fn insert(tx: &mut Tx, p: &NewPayment) -> StoreResult<Uuid> {
    let id = Uuid::now_v7();
    let now = tx.now();
    on_tx!(tx, |c| sqlx::query(
        "INSERT INTO payments (id, family_id, regie_id, method, status, amount_cents, invoice_id, \
         account_id, recorded_by, received_on, reference, created_at, settled_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
    )
    .bind(id)
    .bind(p.family_id)
    .bind(p.regie_id)
    .bind(p.method.as_str())
    .bind(p.status.as_str())
    .bind(p.amount_cents)
    .bind(p.invoice_id)
    .bind(p.account_id)
    .bind(p.recorded_by)
    .bind(p.received_on)
    .bind(p.reference.as_deref())
    .bind(now)
    .bind((p.status != PaymentStatus::Pending).then_some(now))
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(id)
}

/// Records PayFiP's operation id, or that it could not be had (`failed`).
pub async fn set_operation(tx: &mut Tx, id: Uuid, id_op: Option<&str>) -> StoreResult<()> {
    let now = tx.now();
    on_tx!(tx, |c| {
        sqlx::query(
        "UPDATE payments SET payfip_idop = $2, status = CASE WHEN $2 IS NULL THEN 'failed' ELSE status END, \
         settled_at = CASE WHEN $2 IS NULL THEN $3 ELSE settled_at END WHERE id = $1 AND status = 'pending'"
    )
    .bind(id)
    .bind(id_op)
    .bind(now)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// Settles a payment, once: `false` when it was settled already (a replayed or
/// concurrent notification), which then changes nothing. A payment PayFiP reports
/// paid after all (the parent came back to its page after we called it abandoned
/// or expired) moves to paid: money taken is never left unrecorded.
pub async fn settle(tx: &mut Tx, id: Uuid, s: &Settlement) -> StoreResult<bool> {
    let now = tx.now();
    let from = if s.status == PaymentStatus::Paid {
        "('pending', 'abandoned', 'expired')"
    } else {
        "('pending')"
    };
    let sql = sqlx::AssertSqlSafe(format!(
        "UPDATE payments SET status = $2, paid_cents = $3, payfip_resultrans = $4, \
         reference = COALESCE($5, reference), received_on = COALESCE($6, received_on), mismatch = $7, \
         settled_at = $8 WHERE id = $1 AND status IN {from}"
    ));
    let settled = on_tx!(tx, |c| sqlx::query(sql)
        .bind(id)
        .bind(s.status.as_str())
        .bind(s.paid_cents)
        .bind(s.resultrans.as_deref())
        .bind(s.reference.as_deref())
        .bind(s.received_on)
        .bind(s.mismatch)
        .bind(now)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(settled == 1)
}
