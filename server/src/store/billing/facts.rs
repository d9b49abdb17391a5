//! The facts a billing run reads, in one transaction: sessions, reservations,
//! attendance, families, children, QF records, tariffs, régies, what was issued.

use super::invoices::{LINE_COLUMNS, LineRow};
use super::*;

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

/// An issued line as a run reads it back (its id left out).
impl From<InvoiceLine> for PlannedLine {
    fn from(l: InvoiceLine) -> PlannedLine {
        PlannedLine {
            child_id: l.child_id,
            child: l.child,
            session_id: l.session_id,
            date: l.date,
            activity: l.activity,
            option: l.option,
            kind: l.kind,
            quantity: l.quantity,
            unit_cents: l.unit_cents,
            amount_cents: l.amount_cents,
            bracket: l.bracket,
        }
    }
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
    /// The invoice, or for a credit note the invoice it credits.
    root_id: Uuid,
    regie_id: Uuid,
    family_id: Uuid,
    waived: bool,
    #[sqlx(flatten)]
    line: LineRow,
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
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT COALESCE(i.credits_invoice_id, i.id) AS root_id, i.regie_id, l.family_id, l.waived, {LINE_COLUMNS} \
             FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id \
             WHERE i.status = 'issued' AND l.date BETWEEN $1 AND $2"
        )))
        .bind(from)
        .bind(to)
        .fetch_all(&mut *c)
        .await
    })?;
    for r in issued {
        f.issued.push(IssuedLine {
            invoice_id: r.root_id,
            regie_id: r.regie_id,
            family_id: r.family_id,
            waived: r.waived,
            line: r.line.into_line()?.into(),
        });
    }
    Ok(f)
}
