//! Payments' SQL: online operations and desk payments, their allocations to invoice
//! lines, a family's credit. How money is spread is `famille_model::payments`'s
//! (`allocate`); `crate::payments` decides when.
//!
//! Here: the payments' shapes and reading them; recording and settling them in
//! `operations`; spreading, releasing and reversing money in `money`.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use famille_model::api::{FamilyCredit, Payment, PaymentAllocation, PaymentListItem, StaffPayment};
use famille_model::payments::{Allocation, OpenLine, PaymentMethod, PaymentStatus, allocate};
use uuid::Uuid;

use super::{Db, StoreResult, on_db, parse_stored};

mod money;
mod operations;

pub use money::*;
pub use operations::*;

pub struct Payments<'a> {
    pub(super) db: &'a Db,
}

/// Filters of the services' list of payments.
#[derive(Debug, Clone, Default)]
pub struct PaymentFilter {
    pub regie_id: Option<Uuid>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub mismatch: Option<bool>,
    pub limit: i64,
}

/// A payment to record.
#[derive(Debug, Clone)]
pub struct NewPayment {
    pub family_id: Uuid,
    pub regie_id: Uuid,
    pub method: PaymentMethod,
    pub status: PaymentStatus,
    pub amount_cents: i64,
    pub invoice_id: Option<Uuid>,
    pub account_id: Option<Uuid>,
    pub recorded_by: Option<Uuid>,
    pub received_on: Option<NaiveDate>,
    pub reference: Option<String>,
}

/// How PayFiP said an operation ended.
#[derive(Debug, Clone)]
pub struct Settlement {
    pub status: PaymentStatus,
    pub paid_cents: Option<i64>,
    pub resultrans: Option<String>,
    pub reference: Option<String>,
    pub received_on: Option<NaiveDate>,
    pub mismatch: bool,
}

/// An online operation, as the server follows it.
#[derive(Debug, Clone)]
pub struct Operation {
    pub id: Uuid,
    pub family_id: Uuid,
    pub regie_id: Uuid,
    pub invoice_id: Option<Uuid>,
    pub status: PaymentStatus,
    pub amount_cents: i64,
    pub payfip_idop: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct OperationRow {
    id: Uuid,
    family_id: Uuid,
    regie_id: Uuid,
    invoice_id: Option<Uuid>,
    status: String,
    amount_cents: i64,
    payfip_idop: Option<String>,
    created_at: DateTime<Utc>,
}

impl OperationRow {
    fn into_operation(self) -> StoreResult<Operation> {
        Ok(Operation {
            id: self.id,
            family_id: self.family_id,
            regie_id: self.regie_id,
            invoice_id: self.invoice_id,
            status: parse_stored(&self.status)?,
            amount_cents: self.amount_cents,
            payfip_idop: self.payfip_idop,
            created_at: self.created_at,
        })
    }
}

const OPERATION_COLUMNS: &str =
    "id, family_id, regie_id, invoice_id, status, amount_cents, payfip_idop, created_at";

#[derive(sqlx::FromRow)]
struct PaymentRow {
    id: Uuid,
    method: String,
    status: String,
    regie: String,
    amount_cents: i64,
    paid_cents: Option<i64>,
    invoice_id: Option<Uuid>,
    received_on: Option<NaiveDate>,
    reference: Option<String>,
    reverses_payment_id: Option<Uuid>,
    created_at: DateTime<Utc>,
    settled_at: Option<DateTime<Utc>>,
    mismatch: bool,
    recorded_by: Option<String>,
    reason: Option<String>,
}

const PAYMENT_SELECT: &str = "SELECT p.id, p.method, p.status, r.name AS regie, p.amount_cents, p.paid_cents, \
     p.invoice_id, p.received_on, p.reference, p.reverses_payment_id, p.created_at, p.settled_at, \
     p.mismatch, a.email AS recorded_by, p.reason \
     FROM payments p JOIN regies r ON r.id = p.regie_id LEFT JOIN accounts a ON a.id = p.recorded_by";

impl Payments<'_> {
    /// A family's payments, newest first, with their allocations (`family_id`).
    pub async fn of_family(&self, family_id: Uuid) -> StoreResult<Vec<StaffPayment>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "{PAYMENT_SELECT} WHERE p.family_id = $1 ORDER BY p.created_at DESC, p.id DESC"
        ));
        let rows: Vec<PaymentRow> = on_db!(self.db, |pool| sqlx::query_as(sql)
            .bind(family_id)
            .fetch_all(pool)
            .await)?;
        self.with_allocations(rows).await
    }

    /// One payment; with `family_id`, only if it is that family's.
    pub async fn get(
        &self,
        id: Uuid,
        family_id: Option<Uuid>,
    ) -> StoreResult<Option<StaffPayment>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "{PAYMENT_SELECT} WHERE p.id = $1 AND ($2 IS NULL OR p.family_id = $2)"
        ));
        let rows: Vec<PaymentRow> = on_db!(self.db, |pool| sqlx::query_as(sql)
            .bind(id)
            .bind(family_id)
            .fetch_all(pool)
            .await)?;
        Ok(self.with_allocations(rows).await?.into_iter().next())
    }

    /// Payments of every family, newest first: of a régie, received between two
    /// days (included), only those whose amount or reference PayFiP contradicted.
    pub async fn list(&self, f: &PaymentFilter) -> StoreResult<Vec<PaymentListItem>> {
        #[derive(sqlx::FromRow)]
        struct Listed {
            #[sqlx(flatten)]
            row: PaymentRow,
            family_id: Uuid,
            family_number: i64,
        }
        let select = PAYMENT_SELECT.replacen(
            "SELECT ",
            "SELECT p.family_id, f.number AS family_number, ",
            1,
        );
        let sql = sqlx::AssertSqlSafe(format!(
            "{select} JOIN families f ON f.id = p.family_id \
             WHERE ($1 IS NULL OR p.regie_id = $1) AND ($2 IS NULL OR p.received_on >= $2) \
               AND ($3 IS NULL OR p.received_on <= $3) AND ($4 IS NULL OR p.mismatch = $4) \
             ORDER BY p.created_at DESC, p.id DESC LIMIT $5"
        ));
        let listed: Vec<Listed> = on_db!(self.db, |pool| sqlx::query_as(sql)
            .bind(f.regie_id)
            .bind(f.from)
            .bind(f.to)
            .bind(f.mismatch)
            .bind(f.limit)
            .fetch_all(pool)
            .await)?;
        let families: Vec<(Uuid, i64)> = listed
            .iter()
            .map(|l| (l.family_id, l.family_number))
            .collect();
        let payments = self
            .with_allocations(listed.into_iter().map(|l| l.row).collect())
            .await?;
        Ok(payments
            .into_iter()
            .zip(families)
            .map(|(entry, (family_id, family_number))| PaymentListItem {
                family_id,
                family_number,
                entry,
            })
            .collect())
    }

    async fn with_allocations(&self, rows: Vec<PaymentRow>) -> StoreResult<Vec<StaffPayment>> {
        let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
        let mut by_payment: HashMap<Uuid, Vec<PaymentAllocation>> = HashMap::new();
        for chunk in ids.chunks(200) {
            let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = sqlx::AssertSqlSafe(format!(
                "SELECT a.payment_id, a.invoice_id, i.number, CAST(SUM(a.cents) AS BIGINT) \
                 FROM payment_allocations a JOIN invoices i ON i.id = a.invoice_id \
                 WHERE a.payment_id IN ({}) GROUP BY a.payment_id, a.invoice_id, i.number \
                 ORDER BY i.number",
                marks.join(", ")
            ));
            let found: Vec<(Uuid, Uuid, Option<String>, i64)> = on_db!(self.db, |pool| {
                let mut q = sqlx::query_as(sql);
                for id in chunk {
                    q = q.bind(*id);
                }
                q.fetch_all(pool).await
            })?;
            for (payment, invoice, number, cents) in found {
                by_payment
                    .entry(payment)
                    .or_default()
                    .push(PaymentAllocation {
                        invoice_id: invoice,
                        invoice_number: number.unwrap_or_default(),
                        cents,
                    });
            }
        }
        rows.into_iter()
            .map(|r| {
                Ok(StaffPayment {
                    payment: Payment {
                        id: r.id,
                        method: parse_stored(&r.method)?,
                        status: parse_stored(&r.status)?,
                        regie: r.regie,
                        amount_cents: r.amount_cents,
                        paid_cents: r.paid_cents,
                        invoice_id: r.invoice_id,
                        received_on: r.received_on,
                        reference: r.reference,
                        reverses_payment_id: r.reverses_payment_id,
                        allocations: by_payment.remove(&r.id).unwrap_or_default(),
                        created_at: r.created_at,
                        settled_at: r.settled_at,
                    },
                    mismatch: r.mismatch,
                    recorded_by: r.recorded_by,
                    reason: r.reason,
                })
            })
            .collect()
    }

    /// What a family has paid and not used yet, per régie (only where positive).
    pub async fn credit(&self, family_id: Uuid) -> StoreResult<Vec<FamilyCredit>> {
        let rows: Vec<(Uuid, String, i64)> = on_db!(self.db, |pool| {
            sqlx::query_as(
            "SELECT r.id, r.name, CAST(SUM(p.unused) AS BIGINT) FROM ( \
               SELECT p.regie_id, COALESCE(p.paid_cents, p.amount_cents) \
                 - CAST(COALESCE((SELECT SUM(a.cents) FROM payment_allocations a WHERE a.payment_id = p.id), 0) AS BIGINT) AS unused \
               FROM payments p WHERE p.family_id = $1 AND p.status IN ('paid', 'reversed')) p \
             JOIN regies r ON r.id = p.regie_id GROUP BY r.id, r.name ORDER BY r.name"
        )
        .bind(family_id)
        .fetch_all(pool)
        .await
        })?;
        Ok(rows
            .into_iter()
            .filter(|(_, _, cents)| *cents > 0)
            .map(|(regie_id, regie, cents)| FamilyCredit {
                regie_id,
                regie,
                cents,
            })
            .collect())
    }

    /// Online operations still pending, created before `before`, oldest first
    /// (with those PayFiP never gave an id to: the server stopped in between).
    pub async fn pending_operations(
        &self,
        before: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Vec<Operation>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {OPERATION_COLUMNS} FROM payments \
             WHERE status = 'pending' AND method = 'payfip' AND created_at < $1 \
             ORDER BY created_at LIMIT $2"
        ));
        let rows: Vec<OperationRow> = on_db!(self.db, |pool| sqlx::query_as(sql)
            .bind(before)
            .bind(limit)
            .fetch_all(pool)
            .await)?;
        rows.into_iter().map(OperationRow::into_operation).collect()
    }

    /// A payment as the server follows it.
    pub async fn operation(&self, id: Uuid) -> StoreResult<Option<Operation>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {OPERATION_COLUMNS} FROM payments WHERE id = $1"
        ));
        let row: Option<OperationRow> = on_db!(self.db, |pool| sqlx::query_as(sql)
            .bind(id)
            .fetch_optional(pool)
            .await)?;
        row.map(OperationRow::into_operation).transpose()
    }

    /// Whether `invoice_id` is an issued invoice (not a credit note) of the family
    /// in the régie.
    pub async fn invoice_of(
        &self,
        invoice_id: Uuid,
        family_id: Uuid,
        regie_id: Uuid,
    ) -> StoreResult<bool> {
        let found: Option<Uuid> = on_db!(self.db, |pool| sqlx::query_scalar(
            "SELECT id FROM invoices WHERE id = $1 AND family_id = $2 AND regie_id = $3 \
             AND kind = 'invoice' AND status = 'issued'"
        )
        .bind(invoice_id)
        .bind(family_id)
        .bind(regie_id)
        .fetch_optional(pool)
        .await)?;
        Ok(found.is_some())
    }

    /// The operation PayFiP calls `id_op`.
    pub async fn by_idop(&self, id_op: &str) -> StoreResult<Option<Operation>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {OPERATION_COLUMNS} FROM payments WHERE payfip_idop = $1"
        ));
        let row: Option<OperationRow> = on_db!(self.db, |pool| sqlx::query_as(sql)
            .bind(id_op)
            .fetch_optional(pool)
            .await)?;
        row.map(OperationRow::into_operation).transpose()
    }
}
