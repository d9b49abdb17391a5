//! Payments' SQL: online operations and desk payments, their allocations to invoice
//! lines, a family's credit. How money is spread is `famille_model::payments`'s
//! (`allocate`); `crate::payments` decides when.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use famille_model::api::{FamilyCredit, Payment, PaymentAllocation, PaymentListItem, StaffPayment};
use famille_model::payments::{Allocation, OpenLine, PaymentMethod, PaymentStatus, allocate};
use uuid::Uuid;

use super::feed::FeedEntry;
use super::{Db, StoreResult, Tx, on_db, on_tx, parse_stored};

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

/// Serialises the money of one family in one régie: on PostgreSQL two settlements
/// (or a settlement and a desk payment) would each spread the same credit over
/// the same lines under READ COMMITTED; SQLite has one writer already.
pub async fn lock_family(tx: &mut Tx, family_id: Uuid, regie_id: Uuid) -> StoreResult<()> {
    if let super::TxConn::Postgres(conn) = &mut tx.conn {
        let (f, r) = (family_id.as_u64_pair(), regie_id.as_u64_pair());
        let key = (f.0 ^ f.1 ^ r.0.rotate_left(17) ^ r.1.rotate_left(31)) as i64;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(key)
            .execute(&mut **conn)
            .await?;
    }
    Ok(())
}

/// Money placed before the rest: this payment on these invoices (a PayFiP payment
/// on the invoice it was for, which the public accountant matches by reference).
#[derive(Debug, Clone, Copy)]
pub struct First<'a> {
    pub payment_id: Uuid,
    pub invoices: &'a [Uuid],
}

/// Spreads what a family has paid and not used in a régie over its open lines,
/// oldest first (`famille_model::payments::allocate`), `first` before the rest.
/// Refreshes the invoices' `paid_cents` and writes their feed entries.
pub async fn apply_credit(
    tx: &mut Tx,
    family_id: Uuid,
    regie_id: Uuid,
    first: Option<First<'_>>,
) -> StoreResult<()> {
    lock_family(tx, family_id, regie_id).await?;
    // Payments with money left, oldest first (a reversed payment and its reversal
    // cancel out: neither has money to give).
    let unused: Vec<(Uuid, i64)> = on_tx!(tx, |c| {
        sqlx::query_as(
        "SELECT p.id, COALESCE(p.paid_cents, p.amount_cents) \
           - CAST(COALESCE((SELECT SUM(a.cents) FROM payment_allocations a WHERE a.payment_id = p.id), 0) AS BIGINT) \
         FROM payments p WHERE p.family_id = $1 AND p.regie_id = $2 AND p.status = 'paid' \
           AND p.reverses_payment_id IS NULL ORDER BY p.created_at, p.id"
    )
    .bind(family_id)
    .bind(regie_id)
    .fetch_all(&mut *c)
    .await
    })?;
    let mut unused: Vec<(Uuid, i64)> = unused.into_iter().filter(|(_, c)| *c > 0).collect();
    if unused.is_empty() {
        return Ok(());
    }
    if let Some(first) = first
        && let Some(at) = unused.iter().position(|(id, _)| *id == first.payment_id)
    {
        let chosen = unused.remove(at);
        unused.insert(0, chosen);
    }
    let mut open = open_lines(tx, family_id, regie_id).await?;
    let mut allocations: Vec<(Uuid, Allocation)> = Vec::new();
    for (payment_id, cents) in &mut unused {
        if let Some(first) = first
            && first.payment_id == *payment_id
        {
            let (chosen, left) = allocate(*cents, &open, Some(first.invoices));
            consume(&mut open, &chosen);
            *cents = left;
            allocations.extend(chosen.into_iter().map(|a| (*payment_id, a)));
        }
        let (rest, _) = allocate(*cents, &open, None);
        consume(&mut open, &rest);
        allocations.extend(rest.into_iter().map(|a| (*payment_id, a)));
    }
    let touched = insert_allocations(tx, &allocations, 1).await?;
    refresh_paid(tx, family_id, &touched).await
}

/// A family and a régie: whose money, kept where.
type FamilyRegie = (Uuid, Uuid);

/// Credit notes just issued cancel lines; money a payment had put on those lines
/// goes back to it (the opposite allocations), then pays whatever the family still
/// owes in the régie, or stays as its credit.
pub async fn release_credited(tx: &mut Tx, credit_notes: &[Uuid]) -> StoreResult<()> {
    for chunk in credit_notes.chunks(200) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let marks = marks.join(", ");
        // Whose money: locked first (in order), so that a payment being settled
        // for the same family either commits before we read or waits for us.
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT DISTINCT family_id, regie_id FROM invoices WHERE id IN ({marks}) ORDER BY family_id, regie_id"
        ));
        let owners: Vec<FamilyRegie> = on_tx!(tx, |c| {
            let mut q = sqlx::query_as(sql);
            for id in chunk {
                q = q.bind(*id);
            }
            q.fetch_all(&mut *c).await
        })?;
        for (family_id, regie_id) in &owners {
            lock_family(tx, *family_id, *regie_id).await?;
        }
        // What live payments (not reversed, not reversals: those cancel out
        // already) still have on the lines the notes cancel.
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT a.payment_id, a.invoice_id, a.line_id, CAST(SUM(a.cents) AS BIGINT), i.family_id, i.regie_id \
             FROM payment_allocations a JOIN payments p ON p.id = a.payment_id \
             JOIN invoice_lines l ON l.id = a.line_id JOIN invoices i ON i.id = l.invoice_id \
             WHERE p.status = 'paid' AND p.reverses_payment_id IS NULL \
               AND EXISTS (SELECT 1 FROM invoices cn JOIN invoice_lines cl ON cl.invoice_id = cn.id \
               WHERE cn.id IN ({marks}) AND cn.credits_invoice_id = l.invoice_id \
                 AND cl.session_id = l.session_id AND cl.child_id = l.child_id AND cl.kind = l.kind) \
             GROUP BY a.payment_id, a.invoice_id, a.line_id, i.family_id, i.regie_id HAVING SUM(a.cents) > 0"
        ));
        let paid: Vec<(Uuid, Uuid, Uuid, i64, Uuid, Uuid)> = on_tx!(tx, |c| {
            let mut q = sqlx::query_as(sql);
            for id in chunk {
                q = q.bind(*id);
            }
            q.fetch_all(&mut *c).await
        })?;
        for (family_id, regie_id) in owners {
            let back: Vec<(Uuid, Allocation)> = paid
                .iter()
                .filter(|p| (p.4, p.5) == (family_id, regie_id))
                .map(|&(payment_id, invoice_id, line_id, cents, _, _)| {
                    (
                        payment_id,
                        Allocation {
                            invoice_id,
                            line_id,
                            cents,
                        },
                    )
                })
                .collect();
            if back.is_empty() {
                continue;
            }
            let touched = insert_allocations(tx, &back, -1).await?;
            refresh_paid(tx, family_id, &touched).await?;
            apply_credit(tx, family_id, regie_id, None).await?;
        }
    }
    Ok(())
}

/// The (family, régie) pairs among `families` whose payments have money left:
/// the invoices just issued are theirs to pay.
pub async fn with_credit(tx: &mut Tx, families: &[Uuid]) -> StoreResult<Vec<(Uuid, Uuid)>> {
    let mut found = Vec::new();
    for chunk in families.chunks(200) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT DISTINCT p.family_id, p.regie_id FROM payments p \
             WHERE p.family_id IN ({}) AND p.status = 'paid' AND p.reverses_payment_id IS NULL \
               AND COALESCE(p.paid_cents, p.amount_cents) > \
                 COALESCE((SELECT SUM(a.cents) FROM payment_allocations a WHERE a.payment_id = p.id), 0)",
            marks.join(", ")
        ));
        let rows: Vec<(Uuid, Uuid)> = on_tx!(tx, |c| {
            let mut q = sqlx::query_as(sql);
            for id in chunk {
                q = q.bind(*id);
            }
            q.fetch_all(&mut *c).await
        })?;
        found.extend(rows);
    }
    Ok(found)
}

/// Writes allocations (`sign` -1: their opposites); the invoices they touch.
async fn insert_allocations(
    tx: &mut Tx,
    allocations: &[(Uuid, Allocation)],
    sign: i64,
) -> StoreResult<Vec<Uuid>> {
    let now = tx.now();
    let mut touched: Vec<Uuid> = Vec::new();
    for (payment_id, a) in allocations {
        on_tx!(tx, |c| {
            sqlx::query(
            "INSERT INTO payment_allocations (id, payment_id, invoice_id, line_id, cents, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)"
        )
        .bind(Uuid::now_v7())
        .bind(*payment_id)
        .bind(a.invoice_id)
        .bind(a.line_id)
        .bind(sign * a.cents)
        .bind(now)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected())
        })?;
        if !touched.contains(&a.invoice_id) {
            touched.push(a.invoice_id);
        }
    }
    Ok(touched)
}

fn consume(open: &mut [OpenLine], allocations: &[Allocation]) {
    for a in allocations {
        if let Some(line) = open.iter_mut().find(|l| l.line_id == a.line_id) {
            line.open_cents -= a.cents;
        }
    }
}

/// The family's lines in a régie with something left to pay: issued invoices'
/// lines, less what was allocated to them; a line a credit note cancelled is not
/// open (the same match as `billing::creditable_lines`).
async fn open_lines(tx: &mut Tx, family_id: Uuid, regie_id: Uuid) -> StoreResult<Vec<OpenLine>> {
    let rows: Vec<(Uuid, Uuid, NaiveDate, String, i32, i64)> = on_tx!(tx, |c| {
        sqlx::query_as(
        "SELECT l.invoice_id, l.id, i.issued_on, i.number, l.position, \
           l.amount_cents - CAST(COALESCE((SELECT SUM(a.cents) FROM payment_allocations a WHERE a.line_id = l.id), 0) AS BIGINT) \
         FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id \
         WHERE i.family_id = $1 AND i.regie_id = $2 AND i.kind = 'invoice' AND i.status = 'issued' \
           AND NOT EXISTS (SELECT 1 FROM invoice_lines cl JOIN invoices cn ON cn.id = cl.invoice_id \
             WHERE cn.credits_invoice_id = i.id AND cn.status = 'issued' \
               AND cl.session_id = l.session_id AND cl.child_id = l.child_id AND cl.kind = l.kind)"
    )
    .bind(family_id)
    .bind(regie_id)
    .fetch_all(&mut *c)
    .await
    })?;
    Ok(rows
        .into_iter()
        .filter(|r| r.5 > 0)
        .map(
            |(invoice_id, line_id, issued_on, invoice_number, position, open_cents)| OpenLine {
                invoice_id,
                line_id,
                issued_on,
                invoice_number,
                position: u32::try_from(position).unwrap_or(0),
                open_cents,
            },
        )
        .collect())
}

/// Invoices' `paid_cents` from their allocations, and their feed entries.
async fn refresh_paid(tx: &mut Tx, family_id: Uuid, invoices: &[Uuid]) -> StoreResult<()> {
    for id in invoices {
        on_tx!(tx, |c| {
            sqlx::query(
            "UPDATE invoices SET paid_cents = COALESCE((SELECT SUM(a.cents) FROM payment_allocations a \
             WHERE a.invoice_id = invoices.id), 0) WHERE id = $1"
        )
        .bind(*id)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected())
        })?;
        tx.changed(FeedEntry::invoice(family_id, *id));
    }
    Ok(())
}

/// Reverses a payment: an opposite entry, the opposite of each allocation, the
/// original marked reversed. `None` when there is no such payment of the family,
/// or it is not a settled payment, or it was reversed already (also by an agent
/// at the same moment: the mark is taken first, conditionally).
pub async fn reverse(
    tx: &mut Tx,
    family_id: Uuid,
    id: Uuid,
    agent: Uuid,
    reason: &str,
) -> StoreResult<Option<Uuid>> {
    let found: Option<(Uuid, String, i64, Option<i64>)> = on_tx!(tx, |c| sqlx::query_as(
        "SELECT regie_id, method, amount_cents, paid_cents FROM payments \
         WHERE id = $1 AND family_id = $2 AND status = 'paid' AND reverses_payment_id IS NULL"
    )
    .bind(id)
    .bind(family_id)
    .fetch_optional(&mut *c)
    .await)?;
    let Some((regie_id, method, amount, paid)) = found else {
        return Ok(None);
    };
    lock_family(tx, family_id, regie_id).await?;
    let marked = on_tx!(tx, |c| sqlx::query(
        "UPDATE payments SET status = 'reversed' WHERE id = $1 AND status = 'paid'"
    )
    .bind(id)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    if marked != 1 {
        return Ok(None);
    }
    let now = tx.now();
    let entry = insert(
        tx,
        &NewPayment {
            family_id,
            regie_id,
            method: parse_stored(&method)?,
            status: PaymentStatus::Paid,
            amount_cents: -paid.unwrap_or(amount),
            invoice_id: None,
            account_id: None,
            recorded_by: Some(agent),
            received_on: Some(famille_model::calendar::paris_date(now)),
            reference: None,
        },
    )
    .await?;
    on_tx!(tx, |c| sqlx::query(
        "UPDATE payments SET reverses_payment_id = $2, reason = $3 WHERE id = $1"
    )
    .bind(entry)
    .bind(id)
    .bind(reason)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    let allocations: Vec<(Uuid, Uuid, i64)> = on_tx!(tx, |c| sqlx::query_as(
        "SELECT invoice_id, line_id, CAST(SUM(cents) AS BIGINT) FROM payment_allocations \
         WHERE payment_id = $1 GROUP BY invoice_id, line_id HAVING SUM(cents) <> 0"
    )
    .bind(id)
    .fetch_all(&mut *c)
    .await)?;
    let back: Vec<(Uuid, Allocation)> = allocations
        .into_iter()
        .map(|(invoice_id, line_id, cents)| {
            (
                entry,
                Allocation {
                    invoice_id,
                    line_id,
                    cents,
                },
            )
        })
        .collect();
    let touched = insert_allocations(tx, &back, -1).await?;
    refresh_paid(tx, family_id, &touched).await?;
    // Whatever else the family paid may now pay the reopened lines.
    apply_credit(tx, family_id, regie_id, None).await?;
    Ok(Some(entry))
}

/// For the unpaid-invoices rule inside a booking: whether an agent lifted it for
/// the family, and what it owes on invoices due before `today`
/// (`famille_model::payments::left_to_pay` of each).
pub async fn unpaid(tx: &mut Tx, family_id: Uuid, today: NaiveDate) -> StoreResult<(bool, i64)> {
    let lifted: bool = on_tx!(tx, |c| sqlx::query_scalar(
        "SELECT unpaid_block_lifted FROM families WHERE id = $1"
    )
    .bind(family_id)
    .fetch_one(&mut *c)
    .await)?;
    let owed: Vec<(i64, i64, i64)> = on_tx!(tx, |c| {
        sqlx::query_as(
        "SELECT i.total_cents, CAST(COALESCE((SELECT -SUM(cn.total_cents) FROM invoices cn \
           WHERE cn.credits_invoice_id = i.id AND cn.status = 'issued'), 0) AS BIGINT), i.paid_cents \
         FROM invoices i WHERE i.family_id = $1 AND i.kind = 'invoice' AND i.status = 'issued' AND i.due_on < $2"
    )
    .bind(family_id)
    .bind(today)
    .fetch_all(&mut *c)
    .await
    })?;
    let overdue = owed
        .into_iter()
        .map(|(total, credited, paid)| famille_model::payments::left_to_pay(total, credited, paid))
        .sum();
    Ok((lifted, overdue))
}
