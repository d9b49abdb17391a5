//! A billing run's SQL: the run, its drafts, their numbers, credit notes' lines.

use super::invoices::{LINE_COLUMNS, LineRow};
use super::*;

// ---- runs and draft invoices ------------------------------------------------------

/// An invoice or credit note to write, with its lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedInvoice {
    pub regie_id: Uuid,
    pub family_id: Uuid,
    pub kind: InvoiceKind,
    pub credits_invoice_id: Option<Uuid>,
    /// The reason printed on a credit note.
    pub reason: Option<String>,
    pub lines: Vec<PlannedLine>,
    /// Lines an agent credits by hand: never billed again.
    pub waived: bool,
}

impl PlannedInvoice {
    pub fn total_cents(&self) -> i64 {
        self.lines.iter().map(|l| l.amount_cents).sum()
    }
}

/// A run as stored.
#[derive(Debug, Clone)]
pub struct RunRow {
    pub id: Uuid,
    pub month: String,
    pub regie_id: Option<Uuid>,
    pub status: RunStatus,
    pub fingerprint: String,
    pub anomalies: Vec<RunAnomaly>,
    pub created_at: DateTime<Utc>,
    pub issued_at: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct RunSqlRow {
    id: Uuid,
    month: String,
    regie_id: Option<Uuid>,
    status: String,
    fingerprint: String,
    anomalies: String,
    created_at: DateTime<Utc>,
    issued_at: Option<DateTime<Utc>>,
}

impl RunSqlRow {
    fn into_run(self) -> StoreResult<RunRow> {
        Ok(RunRow {
            id: self.id,
            month: self.month,
            regie_id: self.regie_id,
            status: parse_stored(&self.status)?,
            fingerprint: self.fingerprint,
            anomalies: json(&self.anomalies)?,
            created_at: self.created_at,
            issued_at: self.issued_at,
        })
    }
}

const RUN_COLUMNS: &str = "SELECT id, month, regie_id, status, fingerprint, anomalies, created_at, issued_at FROM billing_runs";

/// Serialises the runs that issue: PostgreSQL takes a transaction-scoped lock
/// (SQLite already has one writer at a time). Two agents issuing at once then
/// decide one after the other, on the facts the first left.
pub async fn lock_billing(tx: &mut Tx) -> StoreResult<()> {
    if let crate::store::TxConn::Postgres(conn) = &mut tx.conn {
        // An arbitrary key, ours only: "billing" in ASCII.
        sqlx::query("SELECT pg_advisory_xact_lock(6669824348546535271)")
            .execute(&mut **conn)
            .await?;
    }
    Ok(())
}

pub async fn run(tx: &mut Tx, id: Uuid) -> StoreResult<Option<RunRow>> {
    let sql = sqlx::AssertSqlSafe(format!("{RUN_COLUMNS} WHERE id = $1"));
    let row: Option<RunSqlRow> = on_tx!(tx, |c| sqlx::query_as(sql)
        .bind(id)
        .fetch_optional(&mut *c)
        .await)?;
    row.map(RunSqlRow::into_run).transpose()
}

/// Records a draft run, superseding the drafts of the same month and scope (their
/// invoices go).
pub async fn insert_run(
    tx: &mut Tx,
    month: &str,
    regie_id: Option<Uuid>,
    fingerprint: &str,
    anomalies: &[RunAnomaly],
    agent: Uuid,
) -> StoreResult<Uuid> {
    let now = tx.now();
    let id = Uuid::now_v7();
    on_tx!(tx, |c| {
        sqlx::query(
            "DELETE FROM invoices WHERE status = 'draft' AND run_id IN \
             (SELECT id FROM billing_runs WHERE month = $1 AND status = 'draft' \
              AND (regie_id = $2 OR (regie_id IS NULL AND $2 IS NULL)))",
        )
        .bind(month)
        .bind(regie_id)
        .execute(&mut *c)
        .await?;
        sqlx::query(
            "UPDATE billing_runs SET status = 'superseded' WHERE month = $1 AND status = 'draft' \
             AND (regie_id = $2 OR (regie_id IS NULL AND $2 IS NULL))",
        )
        .bind(month)
        .bind(regie_id)
        .execute(&mut *c)
        .await?;
        sqlx::query(
            "INSERT INTO billing_runs (id, month, regie_id, status, fingerprint, anomalies, created_by, created_at) \
             VALUES ($1, $2, $3, 'draft', $4, $5, $6, $7)",
        )
        .bind(id)
        .bind(month)
        .bind(regie_id)
        .bind(fingerprint)
        .bind(to_json(&anomalies))
        .bind(agent)
        .bind(now)
        .execute(&mut *c)
        .await?;
    });
    Ok(id)
}

/// Replaces a draft run's content with a fresher plan (issuing found the facts
/// had changed since the preview).
pub async fn refresh_run(
    tx: &mut Tx,
    id: Uuid,
    fingerprint: &str,
    anomalies: &[RunAnomaly],
) -> StoreResult<()> {
    on_tx!(tx, |c| {
        sqlx::query("DELETE FROM invoices WHERE run_id = $1 AND status = 'draft'")
            .bind(id)
            .execute(&mut *c)
            .await?;
        sqlx::query("UPDATE billing_runs SET fingerprint = $2, anomalies = $3 WHERE id = $1")
            .bind(id)
            .bind(fingerprint)
            .bind(to_json(&anomalies))
            .execute(&mut *c)
            .await?;
    });
    Ok(())
}

/// Writes planned invoices as drafts of `run_id` (no number yet). Returns their ids
/// in the order given.
pub async fn insert_drafts(
    tx: &mut Tx,
    run_id: Option<Uuid>,
    period: &str,
    invoices: &[PlannedInvoice],
) -> StoreResult<Vec<Uuid>> {
    let now = tx.now();
    let ids: Vec<Uuid> = invoices.iter().map(|_| Uuid::now_v7()).collect();
    let rows: Vec<(Uuid, &PlannedInvoice)> = ids.iter().copied().zip(invoices).collect();
    for chunk in rows.chunks(rows_per_statement(12)) {
        let sql = values_sql(
            "INSERT INTO invoices (id, run_id, regie_id, family_id, kind, status, period, total_cents, \
             line_count, credits_invoice_id, reason, created_at) VALUES ",
            12,
            chunk.len(),
        );
        on_tx!(tx, |c| {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (id, inv) in chunk {
                q = q
                    .bind(*id)
                    .bind(run_id)
                    .bind(inv.regie_id)
                    .bind(inv.family_id)
                    .bind(inv.kind.as_str())
                    .bind("draft")
                    .bind(period)
                    .bind(inv.total_cents())
                    .bind(i32::try_from(inv.lines.len()).unwrap_or(i32::MAX))
                    .bind(inv.credits_invoice_id)
                    .bind(inv.reason.as_deref())
                    .bind(now);
            }
            q.execute(&mut *c).await?;
        });
    }
    // Lines go as JSON arrays that the database expands (SQLite's json_each,
    // PostgreSQL's jsonb_to_recordset): hundreds of thousands of rows in a few
    // statements, instead of binding each value.
    let families: HashMap<Uuid, Uuid> = rows.iter().map(|(id, inv)| (*id, inv.family_id)).collect();
    let records: Vec<LineRecord<'_>> = rows
        .iter()
        .flat_map(|(id, inv)| {
            inv.lines
                .iter()
                .enumerate()
                .map(move |(position, l)| (*id, inv.waived, position, l))
        })
        .map(|(invoice, waived, position, l)| LineRecord {
            id: Uuid::now_v7().simple().to_string(),
            invoice_id: invoice.simple().to_string(),
            family_id: families[&invoice].simple().to_string(),
            child_id: l.child_id.simple().to_string(),
            child: &l.child,
            session_id: l.session_id.simple().to_string(),
            date: l.date,
            activity: &l.activity,
            option: &l.option,
            kind: l.kind.as_str(),
            quantity: l.quantity,
            unit_cents: l.unit_cents,
            amount_cents: l.amount_cents,
            bracket: l.bracket.as_ref().map(to_json),
            waived,
            position,
        })
        .collect();
    let sql = if tx.is_sqlite() {
        "INSERT INTO invoice_lines (id, invoice_id, family_id, child_id, child, session_id, date, activity, \
         option, kind, quantity, unit_cents, amount_cents, bracket, waived, position) \
         SELECT unhex(j.value ->> 'id'), unhex(j.value ->> 'invoice_id'), unhex(j.value ->> 'family_id'), \
                unhex(j.value ->> 'child_id'), j.value ->> 'child', unhex(j.value ->> 'session_id'), j.value ->> 'date', \
                j.value ->> 'activity', j.value ->> 'option', j.value ->> 'kind', j.value ->> 'quantity', \
                j.value ->> 'unit_cents', j.value ->> 'amount_cents', j.value ->> 'bracket', j.value ->> 'waived', \
                j.value ->> 'position' \
         FROM json_each($1) AS j"
    } else {
        "INSERT INTO invoice_lines (id, invoice_id, family_id, child_id, child, session_id, date, activity, \
         option, kind, quantity, unit_cents, amount_cents, bracket, waived, position) \
         SELECT id, invoice_id, family_id, child_id, child, session_id, date, activity, option, kind, quantity, \
                unit_cents, amount_cents, bracket, waived, position \
         FROM jsonb_to_recordset($1::jsonb) AS j(id uuid, invoice_id uuid, family_id uuid, child_id uuid, \
              child text, session_id uuid, date date, activity text, option text, kind text, quantity integer, \
              unit_cents bigint, amount_cents bigint, bracket text, waived boolean, position integer)"
    };
    for chunk in records.chunks(5000) {
        let json = serde_json::to_string(chunk).expect("lines serialise");
        on_tx!(tx, |c| sqlx::query(sql)
            .bind(json)
            .execute(&mut *c)
            .await
            .map(|_| ()))?;
    }
    Ok(ids)
}

/// A line as the database expands it from JSON (ids as 32 hex digits, which both
/// SQLite's `unhex` and PostgreSQL's `uuid` read; the bracket as JSON text).
#[derive(serde::Serialize)]
struct LineRecord<'a> {
    id: String,
    invoice_id: String,
    family_id: String,
    child_id: String,
    child: &'a str,
    session_id: String,
    date: NaiveDate,
    activity: &'a str,
    option: &'a str,
    kind: &'static str,
    quantity: u32,
    unit_cents: i64,
    amount_cents: i64,
    bracket: Option<String>,
    waived: bool,
    position: usize,
}

/// `prefix (…), (…)` with `columns` numbered parameters per row.
fn values_sql(prefix: &str, columns: usize, rows: usize) -> String {
    let mut sql = String::from(prefix);
    for r in 0..rows {
        if r > 0 {
            sql.push_str(", ");
        }
        let cells: Vec<String> = (0..columns)
            .map(|c| format!("${}", r * columns + c + 1))
            .collect();
        sql.push('(');
        sql.push_str(&cells.join(", "));
        sql.push(')');
    }
    sql
}

/// A draft invoice of a run, to number.
#[derive(Debug, Clone, Copy)]
pub struct Draft {
    pub id: Uuid,
    pub regie_id: Uuid,
    pub kind: InvoiceKind,
    pub family_id: Uuid,
}

/// The drafts of a run, in numbering order: régie, kind, family number.
pub async fn draft_invoices(tx: &mut Tx, run_id: Uuid) -> StoreResult<Vec<Draft>> {
    let rows: Vec<(Uuid, Uuid, String, Uuid)> = on_tx!(tx, |c| sqlx::query_as(
        "SELECT i.id, i.regie_id, i.kind, i.family_id FROM invoices i \
         JOIN families f ON f.id = i.family_id \
         WHERE i.run_id = $1 AND i.status = 'draft' ORDER BY i.regie_id, i.kind, f.number, i.id"
    )
    .bind(run_id)
    .fetch_all(&mut *c)
    .await)?;
    rows.into_iter()
        .map(|(id, regie_id, kind, family_id)| {
            Ok(Draft {
                id,
                regie_id,
                kind: parse_stored(&kind)?,
                family_id,
            })
        })
        .collect()
}

/// Takes `count` numbers of a régie's sequence for a kind and year: the first one.
/// Inside the issuing transaction, so that a rollback gives them back and numbers
/// stay continuous.
pub async fn take_numbers(
    tx: &mut Tx,
    regie_id: Uuid,
    kind: InvoiceKind,
    year: i32,
    count: i64,
) -> StoreResult<i64> {
    let last: i64 = on_tx!(tx, |c| sqlx::query_scalar(
        "INSERT INTO invoice_counters (regie_id, kind, year, last) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (regie_id, kind, year) DO UPDATE SET last = invoice_counters.last + $4 \
         RETURNING last"
    )
    .bind(regie_id)
    .bind(kind.as_str())
    .bind(year)
    .bind(count)
    .fetch_one(&mut *c)
    .await)?;
    Ok(last - count + 1)
}

/// A draft to issue: its number and dates.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Numbered {
    /// 32 hex digits (read by SQLite's `unhex` and PostgreSQL's `uuid`).
    #[serde(serialize_with = "simple_uuid")]
    pub id: Uuid,
    #[serde(skip)]
    pub family_id: Uuid,
    pub year: i32,
    pub sequence: i64,
    pub number: String,
    pub issued_on: NaiveDate,
    pub due_on: NaiveDate,
}

fn simple_uuid<S: serde::Serializer>(id: &Uuid, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&id.simple().to_string())
}

/// Issues drafts: their numbers, dates and status, a few thousand per statement
/// (JSON expanded by the database); adds their feed entries. A draft that is not
/// one any more (issued meanwhile) makes the whole step run again.
pub async fn issue_invoices(tx: &mut Tx, drafts: &[Numbered]) -> StoreResult<()> {
    let sql = if tx.is_sqlite() {
        "UPDATE invoices SET status = 'issued', year = j.value ->> 'year', sequence = j.value ->> 'sequence', \
         number = j.value ->> 'number', issued_on = j.value ->> 'issued_on', due_on = j.value ->> 'due_on' \
         FROM json_each($1) AS j WHERE invoices.id = unhex(j.value ->> 'id') AND invoices.status = 'draft'"
    } else {
        "UPDATE invoices AS i SET status = 'issued', year = j.year, sequence = j.sequence, number = j.number, \
         issued_on = j.issued_on, due_on = j.due_on \
         FROM jsonb_to_recordset($1::jsonb) AS j(id uuid, year integer, sequence bigint, number text, \
              issued_on date, due_on date) \
         WHERE i.id = j.id AND i.status = 'draft'"
    };
    for chunk in drafts.chunks(5000) {
        let json = serde_json::to_string(chunk).expect("numbers serialise");
        let changed = on_tx!(tx, |c| sqlx::query(sql)
            .bind(json)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected()))?;
        if changed != chunk.len() as u64 {
            return Err(StoreError::Retry);
        }
    }
    for d in drafts {
        tx.changed(FeedEntry::invoice(d.family_id, d.id));
    }
    Ok(())
}

/// Marks a run issued; `false` when it was not a draft any more (another agent
/// issued it first).
pub async fn mark_issued(tx: &mut Tx, id: Uuid, agent: Uuid) -> StoreResult<bool> {
    let now = tx.now();
    Ok(on_tx!(tx, |c| {
        sqlx::query(
        "UPDATE billing_runs SET status = 'issued', issued_by = $2, issued_at = $3 WHERE id = $1 AND status = 'draft'"
    )
    .bind(id)
    .bind(agent)
    .bind(now)
    .execute(&mut *c)
    .await?
    .rows_affected()
    }) == 1)
}

/// The invoices of a run with their family numbers and régie names.
pub async fn run_invoices(tx: &mut Tx, run_id: Uuid) -> StoreResult<Vec<RunInvoice>> {
    let rows: Vec<RunInvoiceRow> = on_tx!(tx, |c| {
        sqlx::query_as(
        "SELECT i.id, i.kind, i.number, i.family_id, f.number AS family_number, r.name AS regie, i.total_cents, \
                i.line_count AS lines, i.credits_invoice_id \
         FROM invoices i JOIN families f ON f.id = i.family_id JOIN regies r ON r.id = i.regie_id \
         WHERE i.run_id = $1 ORDER BY r.name, i.kind, f.number"
    )
    .bind(run_id)
    .fetch_all(&mut *c)
    .await
    })?;
    rows.into_iter()
        .map(|r| {
            Ok(RunInvoice {
                id: r.id,
                kind: parse_stored(&r.kind)?,
                number: r.number,
                family_id: r.family_id,
                family_number: r.family_number,
                regie: r.regie,
                total_cents: r.total_cents,
                lines: u32::try_from(r.lines).unwrap_or(0),
                credits_invoice_id: r.credits_invoice_id,
            })
        })
        .collect()
}

#[derive(sqlx::FromRow)]
struct RunInvoiceRow {
    id: Uuid,
    kind: String,
    number: Option<String>,
    family_id: Uuid,
    family_number: i64,
    regie: String,
    total_cents: i64,
    lines: i32,
    credits_invoice_id: Option<Uuid>,
}

/// The lines of an issued invoice not yet credited (by a credit note's line
/// for the same fact), for a credit note an agent grants.
pub async fn creditable_lines(
    tx: &mut Tx,
    invoice_id: Uuid,
) -> StoreResult<Vec<(Uuid, PlannedLine)>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {LINE_COLUMNS} FROM invoice_lines l WHERE l.invoice_id = $1 AND NOT EXISTS ( \
           SELECT 1 FROM invoice_lines c JOIN invoices cn ON cn.id = c.invoice_id \
           WHERE cn.credits_invoice_id = $1 AND cn.status = 'issued' \
             AND c.session_id = l.session_id AND c.child_id = l.child_id AND c.kind = l.kind) \
         ORDER BY l.position"
    ));
    let rows: Vec<LineRow> = on_tx!(tx, |c| sqlx::query_as(sql)
        .bind(invoice_id)
        .fetch_all(&mut *c)
        .await)?;
    rows.into_iter()
        .map(|r| {
            let line = r.into_line()?;
            Ok((line.id, line.into()))
        })
        .collect()
}

/// The régie of an invoice.
pub async fn regie_of(tx: &mut Tx, invoice_id: Uuid) -> StoreResult<Uuid> {
    Ok(on_tx!(tx, |c| sqlx::query_scalar(
        "SELECT regie_id FROM invoices WHERE id = $1"
    )
    .bind(invoice_id)
    .fetch_one(&mut *c)
    .await)?)
}
