//! Money's SQL: régies, tariffs, quotient familial records, the facts a billing run
//! reads, draft and issued invoices with their lines, the numbering counters. The
//! decisions (what is billed, at what price, what a re-run credits) are
//! `famille_model::billing`'s, applied by `crate::billing`.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use famille_model::api::{
    BillingTotal, Invoice, InvoiceLine, QuotientRecordInput, QuotientRecordView, Regie, RegieInput,
    RunAnomaly, RunInvoice,
};
use famille_model::billing::{
    Bracket, InvoiceKind, LineKind, QuotientRecord, RunStatus, Tariff, invoice_status,
};
use famille_model::booking::{AttendanceCode, ReservationStatus, SessionStatus};
use famille_model::dossier::QuotientSource;
use famille_model::fr;
use uuid::Uuid;

use super::feed::FeedEntry;
use super::{
    Db, StoreError, StoreResult, Tx, execute, in_tx, on_db, on_tx, parse_stored, record_changes,
    scalar, unique_violation,
};

pub struct Billing<'a> {
    pub(super) db: &'a Db,
}

fn json<T: serde::de::DeserializeOwned>(raw: &str) -> StoreResult<T> {
    serde_json::from_str(raw).map_err(|e| StoreError::Corrupt(format!("{e}: {raw}")))
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("billing values serialise")
}

// ---- régies and tariffs ------------------------------------------------------------

#[derive(sqlx::FromRow)]
struct RegieRow {
    id: Uuid,
    code: String,
    name: String,
    address: String,
    due_days: i32,
    min_amount_cents: i64,
    payment_note: String,
    territory: String,
}

impl RegieRow {
    fn into_regie(self) -> StoreResult<Regie> {
        Ok(Regie {
            id: self.id,
            code: self.code,
            name: self.name,
            address: self.address,
            due_days: u16::try_from(self.due_days).unwrap_or(0),
            min_amount_cents: self.min_amount_cents,
            payment_note: self.payment_note,
            territory: json(&self.territory)?,
        })
    }
}

/// An option's tariff with the régie that bills it.
#[derive(Debug, Clone)]
pub struct TariffRow {
    pub option_id: Uuid,
    pub regie_id: Uuid,
    pub tariff: Tariff,
}

const REGIE_COLUMNS: &str = "SELECT id, code, name, address, due_days, min_amount_cents, payment_note, territory FROM regies";

impl Billing<'_> {
    pub async fn regies(&self) -> StoreResult<Vec<Regie>> {
        let sql = sqlx::AssertSqlSafe(format!("{REGIE_COLUMNS} ORDER BY name"));
        let rows: Vec<RegieRow> =
            on_db!(self.db, |pool| sqlx::query_as(sql).fetch_all(pool).await)?;
        rows.into_iter().map(RegieRow::into_regie).collect()
    }

    pub async fn regie(&self, id: Uuid) -> StoreResult<Option<Regie>> {
        let sql = sqlx::AssertSqlSafe(format!("{REGIE_COLUMNS} WHERE id = $1"));
        let row: Option<RegieRow> = on_db!(self.db, |pool| sqlx::query_as(sql)
            .bind(id)
            .fetch_optional(pool)
            .await)?;
        row.map(RegieRow::into_regie).transpose()
    }

    /// A new régie; `Duplicate` when its code is taken.
    pub async fn insert_regie(&self, r: &RegieInput, now: DateTime<Utc>) -> StoreResult<Uuid> {
        let id = Uuid::now_v7();
        execute!(
            self.db,
            "INSERT INTO regies (id, code, name, address, due_days, min_amount_cents, payment_note, territory, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            id,
            &r.code,
            &r.name,
            &r.address,
            i32::from(r.due_days),
            r.min_amount_cents,
            &r.payment_note,
            to_json(&r.territory),
            now
        )
        .map_err(unique_violation)?;
        Ok(id)
    }

    /// Changes a régie's settings (its code stays: issued numbers carry it).
    /// `false` if unknown.
    pub async fn update_regie(
        &self,
        id: Uuid,
        r: &RegieInput,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let territory = to_json(&r.territory);
        Ok(in_tx!(self.db, |tx| {
            let changed = sqlx::query(
                "UPDATE regies SET name = $2, address = $3, due_days = $4, min_amount_cents = $5, \
                 payment_note = $6, territory = $7 WHERE id = $1",
            )
            .bind(id)
            .bind(&r.name)
            .bind(&r.address)
            .bind(i32::from(r.due_days))
            .bind(r.min_amount_cents)
            .bind(&r.payment_note)
            .bind(&territory)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            // Its name and territory are in the activities' options.
            let activities: Vec<Uuid> = sqlx::query_scalar(
                "SELECT DISTINCT o.activity_id FROM tariffs t JOIN activity_options o ON o.id = t.option_id \
                 WHERE t.regie_id = $1",
            )
            .bind(id)
            .fetch_all(&mut *tx)
            .await?;
            let entries: Vec<FeedEntry> = activities.into_iter().map(FeedEntry::activity).collect();
            record_changes!(tx, &entries, now);
            changed == 1
        }))
    }

    /// Sets an option's tariff (replacing the one it had). Issued invoices keep the
    /// prices they were issued with.
    pub async fn set_tariff(
        &self,
        option_id: Uuid,
        regie_id: Uuid,
        tariff: &Tariff,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let rule = to_json(tariff);
        in_tx!(self.db, |tx| {
            sqlx::query(
                "INSERT INTO tariffs (option_id, regie_id, rule, updated_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (option_id) DO UPDATE SET regie_id = $2, rule = $3, updated_at = $4",
            )
            .bind(option_id)
            .bind(regie_id)
            .bind(&rule)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            // The phones price days from the activity's options: it changed.
            let activity: Uuid =
                sqlx::query_scalar("SELECT activity_id FROM activity_options WHERE id = $1")
                    .bind(option_id)
                    .fetch_one(&mut *tx)
                    .await?;
            record_changes!(tx, &[FeedEntry::activity(activity)], now);
        });
        Ok(())
    }

    pub async fn tariffs(&self) -> StoreResult<Vec<TariffRow>> {
        let rows: Vec<(Uuid, Uuid, String)> = on_db!(self.db, |pool| sqlx::query_as(
            "SELECT option_id, regie_id, rule FROM tariffs"
        )
        .fetch_all(pool)
        .await)?;
        rows.into_iter()
            .map(|(option_id, regie_id, rule)| {
                Ok(TariffRow {
                    option_id,
                    regie_id,
                    tariff: json(&rule)?,
                })
            })
            .collect()
    }

    // ---- quotient familial records -------------------------------------------------

    pub async fn quotients(&self, family_id: Uuid) -> StoreResult<Vec<QuotientRecordView>> {
        let rows: Vec<QuotientRow> = on_db!(self.db, |pool| sqlx::query_as(
            "SELECT id, value, valid_from, valid_until, source, proof_document_id, created_at \
             FROM quotients WHERE family_id = $1 ORDER BY valid_from, created_at"
        )
        .bind(family_id)
        .fetch_all(pool)
        .await)?;
        rows.into_iter().map(QuotientRow::into_view).collect()
    }

    /// The QF that applies on `day` (the model's [`famille_model::billing::quotient_on`]).
    pub async fn quotient_on(
        &self,
        family_id: Uuid,
        day: NaiveDate,
    ) -> StoreResult<Option<QuotientRecord>> {
        let records = self.quotients(family_id).await?;
        let records: Vec<QuotientRecord> = records.iter().map(record_of).collect();
        Ok(famille_model::billing::quotient_on(&records, day).copied())
    }
}

/// The model's record of a stored one.
pub fn record_of(v: &QuotientRecordView) -> QuotientRecord {
    QuotientRecord {
        value: v.value,
        valid_from: v.valid_from,
        valid_until: v.valid_until,
        source: v.source,
    }
}

#[derive(sqlx::FromRow)]
struct QuotientRow {
    id: Uuid,
    value: i32,
    valid_from: NaiveDate,
    valid_until: Option<NaiveDate>,
    source: String,
    proof_document_id: Option<Uuid>,
    created_at: DateTime<Utc>,
}

impl QuotientRow {
    fn into_view(self) -> StoreResult<QuotientRecordView> {
        Ok(QuotientRecordView {
            id: self.id,
            value: u32::try_from(self.value).unwrap_or(0),
            valid_from: self.valid_from,
            valid_until: self.valid_until,
            source: parse_stored(&self.source)?,
            proof_document_id: self.proof_document_id,
            recorded_at: self.created_at,
        })
    }
}

/// Adds a QF record. Open records that started before it end the day before it
/// starts (an attestation replaces the previous one); the dossier's quotient
/// becomes the latest record. `None` when the proof is not one of the family's
/// documents.
pub async fn insert_quotient(
    tx: &mut Tx,
    family_id: Uuid,
    q: &QuotientRecordInput,
    recorded_by: Option<Uuid>,
) -> StoreResult<Option<Uuid>> {
    let now = tx.now();
    if let Some(doc) = q.proof_document_id {
        let found: Option<Uuid> = on_tx!(tx, |c| sqlx::query_scalar(
            "SELECT id FROM documents WHERE id = $1 AND family_id = $2"
        )
        .bind(doc)
        .bind(family_id)
        .fetch_optional(&mut *c)
        .await)?;
        if found.is_none() {
            return Ok(None);
        }
    }
    let id = Uuid::now_v7();
    let day_before = q.valid_from.pred_opt().unwrap_or(q.valid_from);
    on_tx!(tx, |c| {
        sqlx::query(
            "UPDATE quotients SET valid_until = $3 \
             WHERE family_id = $1 AND valid_from < $2 AND (valid_until IS NULL OR valid_until >= $2)",
        )
        .bind(family_id)
        .bind(q.valid_from)
        .bind(day_before)
        .execute(&mut *c)
        .await?;
        sqlx::query(
            "INSERT INTO quotients (id, family_id, value, valid_from, valid_until, source, proof_document_id, recorded_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(id)
        .bind(family_id)
        .bind(i32::try_from(q.value).unwrap_or(i32::MAX))
        .bind(q.valid_from)
        .bind(q.valid_until)
        .bind(q.source.as_str())
        .bind(q.proof_document_id)
        .bind(recorded_by)
        .bind(now)
        .execute(&mut *c)
        .await?;
    });
    refresh_dossier_quotient(tx, family_id).await?;
    tx.changed(FeedEntry::quotient(family_id));
    Ok(Some(id))
}

/// Ends a QF record on `until` (included). `false` when the family has no such
/// record or it started after `until`.
pub async fn end_quotient(
    tx: &mut Tx,
    family_id: Uuid,
    id: Uuid,
    until: NaiveDate,
) -> StoreResult<bool> {
    let changed = on_tx!(tx, |c| {
        sqlx::query(
        "UPDATE quotients SET valid_until = $3 WHERE id = $1 AND family_id = $2 AND valid_from <= $3"
    )
    .bind(id)
    .bind(family_id)
    .bind(until)
    .execute(&mut *c)
    .await?
    .rows_affected()
    });
    if changed == 1 {
        refresh_dossier_quotient(tx, family_id).await?;
        tx.changed(FeedEntry::quotient(family_id));
    }
    Ok(changed == 1)
}

/// The dossier shows the latest record that is not over (none: no quotient).
async fn refresh_dossier_quotient(tx: &mut Tx, family_id: Uuid) -> StoreResult<()> {
    let today = famille_model::calendar::paris_date(tx.now());
    let latest: Option<(i32, NaiveDate, String)> = on_tx!(tx, |c| sqlx::query_as(
        "SELECT value, valid_from, source FROM quotients \
         WHERE family_id = $1 AND (valid_until IS NULL OR valid_until >= $2) \
         ORDER BY valid_from DESC, created_at DESC LIMIT 1"
    )
    .bind(family_id)
    .bind(today)
    .fetch_optional(&mut *c)
    .await)?;
    let (value, date, source) = match latest {
        Some((v, d, s)) => (Some(v), Some(d), Some(s)),
        None => (None, None, None),
    };
    let now = tx.now();
    on_tx!(tx, |c| {
        sqlx::query(
        "UPDATE families SET qf_value = $2, qf_date = $3, qf_source = $4, updated_at = $5 WHERE id = $1"
    )
    .bind(family_id)
    .bind(value)
    .bind(date)
    .bind(source)
    .bind(now)
    .execute(&mut *c)
    .await
    .map(|_| ())
    })?;
    Ok(())
}

// ---- the facts of a billing run -----------------------------------------------------

/// A session of the run's window.
#[derive(Debug, Clone)]
pub struct SessionFact {
    pub date: NaiveDate,
    pub option_id: Uuid,
    pub activity: String,
    pub option: String,
    pub cancelled: bool,
}

#[derive(Debug, Clone)]
pub struct ChildFact {
    pub family_id: Uuid,
    pub first_name: String,
    pub birth_date: NaiveDate,
}

#[derive(Debug, Clone)]
pub struct FamilyFact {
    pub number: i64,
    pub postal_code: Option<String>,
}

/// A line already issued (an invoice's, or a credit note's, negative), for what a
/// re-run must not bill again.
#[derive(Debug, Clone)]
pub struct IssuedLine {
    /// The invoice the line belongs to or, for a credit note, the invoice it credits.
    pub invoice_id: Uuid,
    pub regie_id: Uuid,
    pub family_id: Uuid,
    pub line: PlannedLine,
    pub waived: bool,
}

/// A line to write: a child's day of an activity, its meal or its surcharge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedLine {
    pub child_id: Uuid,
    pub child: String,
    pub session_id: Uuid,
    pub date: NaiveDate,
    pub activity: String,
    pub option: String,
    pub kind: LineKind,
    pub quantity: u32,
    pub unit_cents: i64,
    pub amount_cents: i64,
    pub bracket: Option<Bracket>,
}

/// Everything a billing run decides from, read in one transaction.
#[derive(Debug, Default)]
pub struct Facts {
    pub sessions: HashMap<Uuid, SessionFact>,
    /// The latest reservation of each (session, child), with its family.
    pub reservations: HashMap<(Uuid, Uuid), (Uuid, ReservationStatus)>,
    pub attendance: HashMap<(Uuid, Uuid), AttendanceCode>,
    pub children: HashMap<Uuid, ChildFact>,
    pub families: HashMap<Uuid, FamilyFact>,
    pub quotients: HashMap<Uuid, Vec<QuotientRecord>>,
    pub tariffs: HashMap<Uuid, (Uuid, Tariff)>,
    pub regies: HashMap<Uuid, Regie>,
    pub issued: Vec<IssuedLine>,
}

#[derive(sqlx::FromRow)]
struct IssuedRow {
    invoice_id: Uuid,
    regie_id: Uuid,
    family_id: Uuid,
    child_id: Uuid,
    child: String,
    session_id: Uuid,
    date: NaiveDate,
    activity: String,
    option: String,
    kind: String,
    quantity: i32,
    unit_cents: i64,
    amount_cents: i64,
    bracket: Option<String>,
    waived: bool,
}

/// Reads the facts of the days from `from` to `to` (included): sessions, the latest
/// reservation and the attendance of each child, the families, their children and
/// QF records, tariffs, régies, and the lines already issued for those days.
pub async fn facts(tx: &mut Tx, from: NaiveDate, to: NaiveDate) -> StoreResult<Facts> {
    let mut f = Facts::default();
    let sessions: Vec<(Uuid, NaiveDate, Uuid, String, String, String)> = on_tx!(tx, |c| {
        sqlx::query_as(
            "SELECT s.id, s.date, s.option_id, a.name, o.name, s.status FROM sessions s \
             JOIN activity_options o ON o.id = s.option_id JOIN activities a ON a.id = s.activity_id \
             WHERE s.date BETWEEN $1 AND $2",
        )
        .bind(from)
        .bind(to)
        .fetch_all(&mut *c)
        .await
    })?;
    for (id, date, option_id, activity, option, status) in sessions {
        let cancelled = parse_stored::<SessionStatus>(&status)? == SessionStatus::Cancelled;
        f.sessions.insert(
            id,
            SessionFact {
                date,
                option_id,
                activity,
                option,
                cancelled,
            },
        );
    }
    // Oldest first: the latest reservation of a (session, child) wins.
    let reservations: Vec<(Uuid, Uuid, Uuid, String)> = on_tx!(tx, |c| {
        sqlx::query_as(
            "SELECT r.session_id, r.child_id, r.family_id, r.status FROM reservations r \
             JOIN sessions s ON s.id = r.session_id WHERE s.date BETWEEN $1 AND $2 \
             ORDER BY r.created_at, r.id",
        )
        .bind(from)
        .bind(to)
        .fetch_all(&mut *c)
        .await
    })?;
    for (session, child, family, status) in reservations {
        f.reservations
            .insert((session, child), (family, parse_stored(&status)?));
    }
    let attendance: Vec<(Uuid, Uuid, String)> = on_tx!(tx, |c| {
        sqlx::query_as(
            "SELECT a.session_id, a.child_id, a.code FROM attendance a \
             JOIN sessions s ON s.id = a.session_id WHERE s.date BETWEEN $1 AND $2",
        )
        .bind(from)
        .bind(to)
        .fetch_all(&mut *c)
        .await
    })?;
    for (session, child, code) in attendance {
        f.attendance.insert((session, child), parse_stored(&code)?);
    }
    let children: Vec<(Uuid, Uuid, String, NaiveDate)> = on_tx!(tx, |c| {
        sqlx::query_as("SELECT id, family_id, first_name, birth_date FROM children")
            .fetch_all(&mut *c)
            .await
    })?;
    for (id, family_id, first_name, birth_date) in children {
        f.children.insert(
            id,
            ChildFact {
                family_id,
                first_name,
                birth_date,
            },
        );
    }
    let families: Vec<(Uuid, i64, Option<String>)> = on_tx!(tx, |c| {
        sqlx::query_as("SELECT id, number, postal_code FROM families")
            .fetch_all(&mut *c)
            .await
    })?;
    for (id, number, postal_code) in families {
        f.families.insert(
            id,
            FamilyFact {
                number,
                postal_code,
            },
        );
    }
    let quotients: Vec<(Uuid, i32, NaiveDate, Option<NaiveDate>, String)> = on_tx!(tx, |c| {
        sqlx::query_as(
            "SELECT family_id, value, valid_from, valid_until, source FROM quotients \
             WHERE valid_from <= $2 AND (valid_until IS NULL OR valid_until >= $1) \
             ORDER BY valid_from, created_at",
        )
        .bind(from)
        .bind(to)
        .fetch_all(&mut *c)
        .await
    })?;
    for (family, value, valid_from, valid_until, source) in quotients {
        f.quotients.entry(family).or_default().push(QuotientRecord {
            value: u32::try_from(value).unwrap_or(0),
            valid_from,
            valid_until,
            source: parse_stored::<QuotientSource>(&source)?,
        });
    }
    let tariffs: Vec<(Uuid, Uuid, String)> = on_tx!(tx, |c| {
        sqlx::query_as("SELECT option_id, regie_id, rule FROM tariffs")
            .fetch_all(&mut *c)
            .await
    })?;
    for (option, regie, rule) in tariffs {
        f.tariffs.insert(option, (regie, json(&rule)?));
    }
    let regies: Vec<RegieRow> = on_tx!(tx, |c| {
        sqlx::query_as(sqlx::AssertSqlSafe(REGIE_COLUMNS.to_owned()))
            .fetch_all(&mut *c)
            .await
    })?;
    for r in regies {
        let regie = r.into_regie()?;
        f.regies.insert(regie.id, regie);
    }
    let issued: Vec<IssuedRow> = on_tx!(tx, |c| {
        sqlx::query_as(
            "SELECT COALESCE(i.credits_invoice_id, i.id) AS invoice_id, i.regie_id, l.family_id, l.child_id, \
                    l.child, l.session_id, l.date, l.activity, l.option, l.kind, l.quantity, l.unit_cents, \
                    l.amount_cents, l.bracket, l.waived \
             FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id \
             WHERE i.status = 'issued' AND l.date BETWEEN $1 AND $2",
        )
        .bind(from)
        .bind(to)
        .fetch_all(&mut *c)
        .await
    })?;
    for r in issued {
        f.issued.push(IssuedLine {
            invoice_id: r.invoice_id,
            regie_id: r.regie_id,
            family_id: r.family_id,
            waived: r.waived,
            line: PlannedLine {
                child_id: r.child_id,
                child: r.child,
                session_id: r.session_id,
                date: r.date,
                activity: r.activity,
                option: r.option,
                kind: parse_stored(&r.kind)?,
                quantity: u32::try_from(r.quantity).unwrap_or(0),
                unit_cents: r.unit_cents,
                amount_cents: r.amount_cents,
                bracket: r.bracket.as_deref().map(json).transpose()?,
            },
        });
    }
    Ok(f)
}

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
    if let super::TxConn::Postgres(conn) = &mut tx.conn {
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

/// Parameters of one multi-row statement. SQLite allows 32,766, but sqlx looks each
/// one up by position in a list (`sqlite3_bind_parameter_name`), which makes a
/// statement's binding quadratic in its parameters: a few hundred keeps it linear
/// (measured: 16,000 parameters a statement made a 5,000-family run 25 times slower).
const PARAMS: usize = 240;
/// Ids of one `IN (…)` list.
const CHUNK: usize = PARAMS;

/// Rows of `columns` parameters per statement.
fn rows_per_statement(columns: usize) -> usize {
    (PARAMS / columns).max(1)
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
    for chunk in rows.chunks(rows_per_statement(11)) {
        let sql = values_sql(
            "INSERT INTO invoices (id, run_id, regie_id, family_id, kind, status, period, total_cents, \
             line_count, credits_invoice_id, reason, created_at) VALUES ",
            11,
            chunk.len(),
            "'draft'",
            5,
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

/// `prefix (…), (…)` with `columns` numbered parameters per row; `literal` is put
/// in as a constant column after the `at`-th parameter (the status of a draft).
fn values_sql(prefix: &str, columns: usize, rows: usize, literal: &str, at: usize) -> String {
    let mut sql = String::from(prefix);
    for r in 0..rows {
        if r > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for c in 0..columns {
            if c > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("${}", r * columns + c + 1));
            if c + 1 == at {
                sql.push_str(", ");
                sql.push_str(literal);
            }
        }
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

// ---- reading invoices ------------------------------------------------------------------

#[derive(sqlx::FromRow)]
struct InvoiceRow {
    id: Uuid,
    kind: String,
    number: Option<String>,
    regie: String,
    issued_on: Option<NaiveDate>,
    period: String,
    total_cents: i64,
    credited_cents: i64,
    paid_cents: i64,
    due_on: Option<NaiveDate>,
    credits_invoice_id: Option<Uuid>,
    credits_number: Option<String>,
    reason: Option<String>,
    family_id: Uuid,
    family_number: i64,
}

impl InvoiceRow {
    fn into_invoice(self) -> StoreResult<(Invoice, Uuid, i64)> {
        let kind: InvoiceKind = parse_stored(&self.kind)?;
        let corrupt = || StoreError::Corrupt(format!("invoice {} without its number", self.id));
        let (number, issued_on, due_on) = (
            self.number.clone().ok_or_else(corrupt)?,
            self.issued_on.ok_or_else(corrupt)?,
            self.due_on.ok_or_else(corrupt)?,
        );
        let label = match (kind, &self.credits_number) {
            (InvoiceKind::CreditNote, Some(of)) => format!("Avoir sur la facture {of}"),
            _ => match famille_model::validate::billing::month("period", &self.period) {
                Ok(first) => format!("Facture {} {}", fr::of_month(first), first.format("%Y")),
                Err(_) => format!("Facture {}", self.period),
            },
        };
        let status = match kind {
            InvoiceKind::Invoice => {
                invoice_status(self.total_cents, self.credited_cents, self.paid_cents)
            }
            InvoiceKind::CreditNote => famille_model::billing::InvoiceStatus::Issued,
        };
        Ok((
            Invoice {
                id: self.id,
                kind,
                number,
                regie: self.regie,
                issued_on,
                period: self.period,
                label,
                total_cents: self.total_cents,
                credited_cents: self.credited_cents,
                paid_cents: self.paid_cents,
                status,
                due_on,
                credits_invoice_id: self.credits_invoice_id,
                credits_number: self.credits_number,
                reason: self.reason,
            },
            self.family_id,
            self.family_number,
        ))
    }
}

const LINE_COLUMNS: &str = "l.id, l.child_id, l.child, l.session_id, l.date, l.activity, l.option, l.kind, \
     l.quantity, l.unit_cents, l.amount_cents, l.bracket";

#[derive(sqlx::FromRow)]
struct LineRow {
    id: Uuid,
    child_id: Uuid,
    child: String,
    session_id: Uuid,
    date: NaiveDate,
    activity: String,
    option: String,
    kind: String,
    quantity: i32,
    unit_cents: i64,
    amount_cents: i64,
    bracket: Option<String>,
}

impl LineRow {
    fn into_line(self) -> StoreResult<InvoiceLine> {
        Ok(InvoiceLine {
            id: self.id,
            child_id: self.child_id,
            child: self.child,
            session_id: self.session_id,
            date: self.date,
            activity: self.activity,
            option: self.option,
            kind: parse_stored(&self.kind)?,
            quantity: u32::try_from(self.quantity).unwrap_or(0),
            unit_cents: self.unit_cents,
            amount_cents: self.amount_cents,
            bracket: self.bracket.as_deref().map(json).transpose()?,
        })
    }
}

const INVOICE_SELECT: &str = "SELECT i.id, i.kind, i.number, r.name AS regie, i.issued_on, i.period, i.total_cents, \
     CAST(COALESCE((SELECT -SUM(cn.total_cents) FROM invoices cn WHERE cn.credits_invoice_id = i.id \
                    AND cn.status = 'issued'), 0) AS BIGINT) AS credited_cents, \
     i.paid_cents, i.due_on, i.credits_invoice_id, o.number AS credits_number, i.reason, i.family_id, \
     f.number AS family_number \
     FROM invoices i JOIN regies r ON r.id = i.regie_id JOIN families f ON f.id = i.family_id \
     LEFT JOIN invoices o ON o.id = i.credits_invoice_id";

/// Filters of the services' list.
#[derive(Debug, Default)]
pub struct InvoiceFilter<'a> {
    pub period: Option<&'a str>,
    pub regie_id: Option<Uuid>,
    /// Folded words (`text::search_key`), each found in a guardian's or child's key,
    /// or the invoice number.
    pub words: Vec<String>,
    pub limit: i64,
}

impl Billing<'_> {
    /// A family's issued invoices and credit notes, newest first.
    pub async fn family_invoices(&self, family_id: Uuid) -> StoreResult<Vec<Invoice>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "{INVOICE_SELECT} WHERE i.family_id = $1 AND i.status = 'issued' ORDER BY i.issued_on DESC, i.number DESC"
        ));
        let rows: Vec<InvoiceRow> = on_db!(self.db, |pool| sqlx::query_as(sql)
            .bind(family_id)
            .fetch_all(pool)
            .await)?;
        rows.into_iter()
            .map(|r| r.into_invoice().map(|(i, _, _)| i))
            .collect()
    }

    /// One issued invoice or credit note with its family and family number;
    /// `family_id` restricts it to that family (a parent's view: another family's
    /// invoice is not found). Drafts are found only by the services.
    pub async fn invoice(
        &self,
        id: Uuid,
        family_id: Option<Uuid>,
    ) -> StoreResult<Option<(Invoice, Uuid, i64)>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "{INVOICE_SELECT} WHERE i.id = $1 AND i.status = 'issued' AND ($2 IS NULL OR i.family_id = $2)"
        ));
        let row: Option<InvoiceRow> = on_db!(self.db, |pool| sqlx::query_as(sql)
            .bind(id)
            .bind(family_id)
            .fetch_optional(pool)
            .await)?;
        row.map(InvoiceRow::into_invoice).transpose()
    }

    /// The lines of an invoice (issued or draft), in order.
    pub async fn lines(&self, invoice_id: Uuid) -> StoreResult<Vec<InvoiceLine>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {LINE_COLUMNS} FROM invoice_lines l WHERE l.invoice_id = $1 ORDER BY l.position"
        ));
        let rows: Vec<LineRow> = on_db!(self.db, |pool| sqlx::query_as(sql)
            .bind(invoice_id)
            .fetch_all(pool)
            .await)?;
        rows.into_iter().map(LineRow::into_line).collect()
    }

    /// The services' list: issued invoices of a period and régie, matching words.
    pub async fn staff_invoices(
        &self,
        filter: &InvoiceFilter<'_>,
    ) -> StoreResult<Vec<(Invoice, Uuid, i64)>> {
        let mut sql = format!(
            "{INVOICE_SELECT} WHERE i.status = 'issued' AND ($1 IS NULL OR i.period = $1) \
             AND ($2 IS NULL OR i.regie_id = $2)"
        );
        for n in 0..filter.words.len() {
            let p = n + 4;
            sql.push_str(&format!(
                " AND (i.number LIKE ${p} OR EXISTS (SELECT 1 FROM guardians g WHERE g.family_id = i.family_id \
                 AND g.search_key LIKE ${p}) OR EXISTS (SELECT 1 FROM children c WHERE c.family_id = i.family_id \
                 AND c.search_key LIKE ${p}))"
            ));
        }
        sql.push_str(" ORDER BY i.issued_on DESC, i.number DESC LIMIT $3");
        let rows: Vec<InvoiceRow> = on_db!(self.db, |pool| {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(filter.period)
                .bind(filter.regie_id)
                .bind(filter.limit);
            for w in &filter.words {
                q = q.bind(format!("%{w}%"));
            }
            q.fetch_all(pool).await
        })?;
        rows.into_iter().map(InvoiceRow::into_invoice).collect()
    }

    /// The guardians' names of families, for the services' list ("Dupont, Martin").
    pub async fn family_names(&self, ids: &[Uuid]) -> StoreResult<HashMap<Uuid, String>> {
        let mut names: HashMap<Uuid, Vec<String>> = HashMap::new();
        for chunk in ids.chunks(CHUNK) {
            let list = (1..=chunk.len())
                .map(|i| format!("${i}"))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "SELECT family_id, last_name FROM guardians WHERE family_id IN ({list}) ORDER BY last_name"
            );
            let rows: Vec<(Uuid, String)> = on_db!(self.db, |pool| {
                let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql));
                for id in chunk {
                    q = q.bind(*id);
                }
                q.fetch_all(pool).await
            })?;
            for (family, name) in rows {
                let list = names.entry(family).or_default();
                if !list.contains(&name) {
                    list.push(name);
                }
            }
        }
        Ok(names.into_iter().map(|(k, v)| (k, v.join(", "))).collect())
    }

    /// Totals per régie and month of a year.
    pub async fn totals(&self, year: i32) -> StoreResult<Vec<BillingTotal>> {
        let rows: Vec<(String, String, i64, i64, i64, i64)> = on_db!(self.db, |pool| {
            sqlx::query_as(
            "SELECT r.name, i.period, \
                    CAST(SUM(CASE WHEN i.kind = 'invoice' THEN 1 ELSE 0 END) AS BIGINT), \
                    CAST(SUM(CASE WHEN i.kind = 'invoice' THEN i.total_cents ELSE 0 END) AS BIGINT), \
                    CAST(SUM(CASE WHEN i.kind = 'credit_note' THEN -i.total_cents ELSE 0 END) AS BIGINT), \
                    CAST(SUM(i.paid_cents) AS BIGINT) \
             FROM invoices i JOIN regies r ON r.id = i.regie_id \
             WHERE i.status = 'issued' AND i.period LIKE $1 GROUP BY r.name, i.period ORDER BY r.name, i.period"
        )
        .bind(format!("{year:04}-%"))
        .fetch_all(pool)
        .await
        })?;
        Ok(rows
            .into_iter()
            .map(
                |(regie, month, invoices, invoiced, credited, paid)| BillingTotal {
                    regie,
                    month,
                    invoices: u32::try_from(invoices).unwrap_or(0),
                    invoiced_cents: invoiced,
                    credited_cents: credited,
                    paid_cents: paid,
                },
            )
            .collect())
    }

    /// A run as stored, with its invoices.
    pub async fn run(&self, id: Uuid) -> StoreResult<Option<(RunRow, Vec<RunInvoice>)>> {
        let mut tx = self.db.begin().await?;
        let Some(run) = run(&mut tx, id).await? else {
            return Ok(None);
        };
        let invoices = run_invoices(&mut tx, id).await?;
        drop(tx);
        Ok(Some((run, invoices)))
    }

    /// Number of issued invoices (tests and the demo's summary).
    pub async fn issued_count(&self) -> StoreResult<i64> {
        Ok(scalar!(
            one,
            self.db,
            "SELECT COUNT(*) FROM invoices WHERE status = 'issued'"
        )?)
    }

    /// The numbers issued for a régie, kind and year, in order (continuity checks).
    pub async fn sequences(
        &self,
        regie_id: Uuid,
        kind: InvoiceKind,
        year: i32,
    ) -> StoreResult<Vec<i64>> {
        Ok(scalar!(
            all,
            self.db,
            "SELECT sequence FROM invoices WHERE regie_id = $1 AND kind = $2 AND year = $3 AND status = 'issued' ORDER BY sequence",
            regie_id,
            kind.as_str(),
            year
        )?)
    }
}

/// A line of a run's export: its invoice (no number for a draft), family and régie.
pub struct RunLine {
    pub number: Option<String>,
    pub kind: InvoiceKind,
    pub family_number: i64,
    pub regie: String,
    pub line: InvoiceLine,
}

#[derive(sqlx::FromRow)]
struct RunLineRow {
    number: Option<String>,
    invoice_kind: String,
    family_number: i64,
    regie: String,
    #[sqlx(flatten)]
    line: LineRow,
}

/// An option with a tariff, for the families' « Tarifs » page.
#[derive(Debug, Clone)]
pub struct GridRow {
    pub activity_id: Uuid,
    pub activity: String,
    pub eligibility: famille_model::booking::Eligibility,
    pub option_id: Uuid,
    pub option: String,
    pub regie_id: Uuid,
    pub regie: String,
    pub tariff: Tariff,
}

impl Billing<'_> {
    /// Every option of a current activity that has a tariff, by activity and
    /// option order.
    pub async fn grid(&self) -> StoreResult<Vec<GridRow>> {
        #[allow(clippy::type_complexity)]
        let rows: Vec<(Uuid, String, String, Uuid, String, Uuid, String, String)> = on_db!(
            self.db,
            |pool| {
                sqlx::query_as(
                "SELECT a.id, a.name, a.eligibility, o.id, o.name, r.id, r.name, t.rule FROM tariffs t \
                 JOIN activity_options o ON o.id = t.option_id JOIN activities a ON a.id = o.activity_id \
                 JOIN regies r ON r.id = t.regie_id WHERE a.archived_at IS NULL ORDER BY a.name, a.id, o.position"
            )
            .fetch_all(pool)
            .await
            }
        )?;
        rows.into_iter()
            .map(
                |(activity_id, activity, eligibility, option_id, option, regie_id, regie, rule)| {
                    Ok(GridRow {
                        activity_id,
                        activity,
                        eligibility: json(&eligibility)?,
                        option_id,
                        option,
                        regie_id,
                        regie,
                        tariff: json(&rule)?,
                    })
                },
            )
            .collect()
    }

    /// An option's tariff, if it has one.
    pub async fn option_tariff(&self, option_id: Uuid) -> StoreResult<Option<TariffRow>> {
        let row: Option<(Uuid, String)> = on_db!(self.db, |pool| sqlx::query_as(
            "SELECT regie_id, rule FROM tariffs WHERE option_id = $1"
        )
        .bind(option_id)
        .fetch_optional(pool)
        .await)?;
        row.map(|(regie_id, rule)| {
            Ok(TariffRow {
                option_id,
                regie_id,
                tariff: json(&rule)?,
            })
        })
        .transpose()
    }

    /// Whether an activity option exists.
    pub async fn option_exists(&self, option_id: Uuid) -> StoreResult<bool> {
        Ok(scalar!(
            optional,
            self.db,
            "SELECT 1 FROM activity_options WHERE id = $1",
            option_id
        )?
        .map(|one: i32| one == 1)
        .unwrap_or(false))
    }

    /// The lines of the invoices of a run, for its CSV export: (invoice number or
    /// none for a draft, kind, family number, régie, line).
    pub async fn run_lines(&self, run_id: Uuid) -> StoreResult<Vec<RunLine>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT i.number, i.kind AS invoice_kind, f.number AS family_number, r.name AS regie, {LINE_COLUMNS} \
             FROM invoices i JOIN invoice_lines l ON l.invoice_id = i.id JOIN families f ON f.id = i.family_id \
             JOIN regies r ON r.id = i.regie_id WHERE i.run_id = $1 \
             ORDER BY r.name, i.kind, f.number, l.position"
        ));
        let rows: Vec<RunLineRow> = on_db!(self.db, |pool| sqlx::query_as(sql)
            .bind(run_id)
            .fetch_all(pool)
            .await)?;
        rows.into_iter()
            .map(|r| {
                Ok(RunLine {
                    number: r.number,
                    kind: parse_stored(&r.invoice_kind)?,
                    family_number: r.family_number,
                    regie: r.regie,
                    line: r.line.into_line()?,
                })
            })
            .collect()
    }
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
            Ok((
                line.id,
                PlannedLine {
                    child_id: line.child_id,
                    child: line.child,
                    session_id: line.session_id,
                    date: line.date,
                    activity: line.activity,
                    option: line.option,
                    kind: line.kind,
                    quantity: line.quantity,
                    unit_cents: line.unit_cents,
                    amount_cents: line.amount_cents,
                    bracket: line.bracket,
                },
            ))
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

impl Billing<'_> {
    /// The régie of an issued invoice.
    pub async fn invoice_regie(&self, invoice_id: Uuid) -> StoreResult<Option<Regie>> {
        let id: Option<Uuid> = scalar!(
            optional,
            self.db,
            "SELECT regie_id FROM invoices WHERE id = $1",
            invoice_id
        )?;
        match id {
            Some(id) => self.regie(id).await,
            None => Ok(None),
        }
    }
}

/// QF records that end within the warning days and that no later record follows,
/// not told yet: marked told, and returned (family, end). The model's
/// `quotient_expiring` says the same for the banner.
pub async fn take_expiring(tx: &mut Tx, today: NaiveDate) -> StoreResult<Vec<(Uuid, NaiveDate)>> {
    let now = tx.now();
    let last = today
        .checked_add_signed(chrono::Duration::days(
            famille_model::billing::QUOTIENT_WARNING_DAYS,
        ))
        .unwrap_or(today);
    let rows: Vec<(Uuid, Uuid, NaiveDate)> = on_tx!(tx, |c| {
        sqlx::query_as(
        "SELECT q.id, q.family_id, q.valid_until FROM quotients q \
         WHERE q.valid_until BETWEEN $1 AND $2 AND q.valid_from <= $1 AND q.expiry_notified_at IS NULL \
           AND NOT EXISTS (SELECT 1 FROM quotients o WHERE o.family_id = q.family_id AND o.id <> q.id \
                           AND o.valid_from > q.valid_from AND (o.valid_until IS NULL OR o.valid_until > q.valid_until))"
    )
    .bind(today)
    .bind(last)
    .fetch_all(&mut *c)
    .await
    })?;
    for (id, ..) in &rows {
        on_tx!(tx, |c| sqlx::query(
            "UPDATE quotients SET expiry_notified_at = $2 WHERE id = $1"
        )
        .bind(id)
        .bind(now)
        .execute(&mut *c)
        .await
        .map(|_| ()))?;
    }
    Ok(rows
        .into_iter()
        .map(|(_, family, until)| (family, until))
        .collect())
}
