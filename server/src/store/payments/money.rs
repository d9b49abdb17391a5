//! Spreading a family's money over its open lines, giving back what credit notes
//! cancel, reversing payments: signed allocations, never edited, under the
//! family's lock.

use super::*;
use crate::store::feed::FeedEntry;
use crate::store::{Tx, on_tx};

/// Serialises the money of one family in one régie: on PostgreSQL two settlements
/// (or a settlement and a desk payment) would each spread the same credit over
/// the same lines under READ COMMITTED; SQLite has one writer already.
pub async fn lock_family(tx: &mut Tx, family_id: Uuid, regie_id: Uuid) -> StoreResult<()> {
    if let crate::store::TxConn::Postgres(conn) = &mut tx.conn {
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
