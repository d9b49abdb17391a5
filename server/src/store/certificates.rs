//! Certificates' SQL: what payments put on invoice lines in a year, and the
//! numbered certificates drawn from it. The rows are the model's
//! (`famille_model::certificates`).

use chrono::{DateTime, NaiveDate, Utc};
use famille_model::api::Certificate;
use famille_model::certificates::{CertificateKind, CertificateRow, PaidLine};
use uuid::Uuid;

use super::{Db, StoreError, StoreResult, Tx, on_db, on_tx, parse_stored};

pub struct Certificates<'a> {
    pub(super) db: &'a Db,
}

#[derive(sqlx::FromRow)]
struct CertificateRowDb {
    id: Uuid,
    kind: String,
    year: i32,
    number: String,
    issued_on: NaiveDate,
    total_cents: i64,
    rows: String,
    created_at: DateTime<Utc>,
}

impl CertificateRowDb {
    fn into_certificate(self) -> StoreResult<Certificate> {
        Ok(Certificate {
            id: self.id,
            kind: parse_stored(&self.kind)?,
            year: self.year,
            number: self.number,
            issued_on: self.issued_on,
            total_cents: self.total_cents,
            rows: serde_json::from_str(&self.rows)
                .map_err(|e| StoreError::Corrupt(format!("certificate rows: {e}")))?,
            created_at: self.created_at,
        })
    }
}

const COLUMNS: &str = "id, kind, year, number, issued_on, total_cents, rows, created_at";

/// The family's latest certificate of each kind for a year: numbers are
/// zero-padded per kind and year, so the greatest is the latest.
const LATEST: &str = "FROM certificates c WHERE family_id = $1 AND year = $2 \
     AND NOT EXISTS (SELECT 1 FROM certificates n WHERE n.family_id = c.family_id \
       AND n.kind = c.kind AND n.year = c.year AND n.number > c.number)";

/// What a family's payments received in a year put on invoice lines, per child
/// (with its current name), activity and kind; net of what credit notes gave back
/// and of reversals (a reversal counts in its payment's year: a cheque that bounced
/// in January was never paid the year before). Money counts in the year it was
/// received, whenever it was spread.
const PAID_LINES: &str = "SELECT l.child_id, c.first_name, c.birth_date, l.activity, l.kind, \
     CAST(SUM(a.cents) AS BIGINT) \
     FROM payment_allocations a JOIN payments p ON p.id = a.payment_id \
     LEFT JOIN payments o ON o.id = p.reverses_payment_id \
     JOIN invoice_lines l ON l.id = a.line_id JOIN children c ON c.id = l.child_id \
     WHERE p.family_id = $1 AND COALESCE(o.received_on, p.received_on) >= $2 \
       AND COALESCE(o.received_on, p.received_on) < $3 \
     GROUP BY l.child_id, c.first_name, c.birth_date, l.activity, l.kind \
     ORDER BY c.first_name, l.child_id, l.activity, l.kind";

type PaidRow = (Uuid, String, NaiveDate, String, String, i64);

fn year_bounds(year: i32) -> Option<(NaiveDate, NaiveDate)> {
    Some((
        NaiveDate::from_ymd_opt(year, 1, 1)?,
        NaiveDate::from_ymd_opt(year + 1, 1, 1)?,
    ))
}

fn paid(rows: Vec<PaidRow>) -> StoreResult<Vec<PaidLine>> {
    rows.into_iter()
        .map(|(child_id, child, birth_date, activity, kind, cents)| {
            Ok(PaidLine {
                child_id,
                child,
                birth_date,
                activity,
                kind: parse_stored(&kind)?,
                cents,
            })
        })
        .collect()
}

impl Certificates<'_> {
    /// [`PAID_LINES`], outside a transaction (to see whether anything changed).
    pub async fn paid_lines(&self, family_id: Uuid, year: i32) -> StoreResult<Vec<PaidLine>> {
        let Some((from, to)) = year_bounds(year) else {
            return Ok(vec![]);
        };
        let rows: Vec<PaidRow> = on_db!(self.db, |pool| sqlx::query_as(PAID_LINES)
            .bind(family_id)
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await)?;
        paid(rows)
    }

    /// The family's latest certificate of each kind for `year`.
    pub async fn of_family(&self, family_id: Uuid, year: i32) -> StoreResult<Vec<Certificate>> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} {LATEST} ORDER BY kind"));
        let rows: Vec<CertificateRowDb> = on_db!(self.db, |pool| sqlx::query_as(sql)
            .bind(family_id)
            .bind(year)
            .fetch_all(pool)
            .await)?;
        rows.into_iter()
            .map(CertificateRowDb::into_certificate)
            .collect()
    }

    /// One certificate and its family; with `family_id`, only that family's.
    pub async fn get(
        &self,
        id: Uuid,
        family_id: Option<Uuid>,
    ) -> StoreResult<Option<(Certificate, Uuid)>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS}, family_id FROM certificates WHERE id = $1 AND ($2 IS NULL OR family_id = $2)"
        ));
        #[derive(sqlx::FromRow)]
        struct WithFamily {
            #[sqlx(flatten)]
            row: CertificateRowDb,
            family_id: Uuid,
        }
        let row: Option<WithFamily> = on_db!(self.db, |pool| sqlx::query_as(sql)
            .bind(id)
            .bind(family_id)
            .fetch_optional(pool)
            .await)?;
        row.map(|r| Ok((r.row.into_certificate()?, r.family_id)))
            .transpose()
    }
}

/// Serialises the drawing of one family's certificates (PostgreSQL; SQLite has
/// one writer): two requests at once, or a request and the January round, number
/// once.
pub async fn lock_family(tx: &mut Tx, family_id: Uuid) -> StoreResult<()> {
    if let super::TxConn::Postgres(conn) = &mut tx.conn {
        let (a, b) = family_id.as_u64_pair();
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind((a ^ b ^ 0x6365_7274) as i64)
            .execute(&mut **conn)
            .await?;
    }
    Ok(())
}

/// [`PAID_LINES`] inside the drawing transaction, after [`lock_family`].
pub async fn paid_lines(tx: &mut Tx, family_id: Uuid, year: i32) -> StoreResult<Vec<PaidLine>> {
    let Some((from, to)) = year_bounds(year) else {
        return Ok(vec![]);
    };
    let rows: Vec<PaidRow> = on_tx!(tx, |c| sqlx::query_as(PAID_LINES)
        .bind(family_id)
        .bind(from)
        .bind(to)
        .fetch_all(&mut *c)
        .await)?;
    paid(rows)
}

/// Issues a certificate unless the family's latest of that kind and year has the
/// same rows (or there are none and never were): numbered continuously per kind
/// and year (`ATT-2027-000001`, `FISC-2027-000001`). The new one's id.
pub async fn issue(
    tx: &mut Tx,
    family_id: Uuid,
    kind: CertificateKind,
    year: i32,
    rows: &[CertificateRow],
) -> StoreResult<Option<Uuid>> {
    let now = tx.now();
    let sql = sqlx::AssertSqlSafe(format!("SELECT c.rows {LATEST} AND c.kind = $3"));
    let latest: Option<String> = on_tx!(tx, |c| sqlx::query_scalar(sql)
        .bind(family_id)
        .bind(year)
        .bind(kind.as_str())
        .fetch_optional(&mut *c)
        .await)?;
    match latest {
        None if rows.is_empty() => return Ok(None),
        Some(stored) => {
            let stored: Vec<CertificateRow> = serde_json::from_str(&stored)
                .map_err(|e| StoreError::Corrupt(format!("certificate rows: {e}")))?;
            if stored == rows {
                return Ok(None);
            }
        }
        None => {}
    }
    on_tx!(tx, |c| {
        sqlx::query(
        "INSERT INTO certificate_counters (kind, year, last) VALUES ($1, $2, 0) ON CONFLICT (kind, year) DO NOTHING"
    )
    .bind(kind.as_str())
    .bind(year)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected())
    })?;
    let sequence: i64 = on_tx!(tx, |c| {
        sqlx::query_scalar(
        "UPDATE certificate_counters SET last = last + 1 WHERE kind = $1 AND year = $2 RETURNING last"
    )
    .bind(kind.as_str())
    .bind(year)
    .fetch_one(&mut *c)
    .await
    })?;
    let prefix = match kind {
        CertificateKind::Payment => "ATT",
        CertificateKind::Tax => "FISC",
    };
    let id = Uuid::now_v7();
    let total: i64 = rows.iter().map(|r| r.cents).sum();
    let rows_json = serde_json::to_string(rows).expect("rows serialise");
    on_tx!(tx, |c| {
        sqlx::query(
        "INSERT INTO certificates (id, family_id, kind, year, number, issued_on, total_cents, rows, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    )
    .bind(id)
    .bind(family_id)
    .bind(kind.as_str())
    .bind(year)
    .bind(format!("{prefix}-{year}-{sequence:06}"))
    .bind(famille_model::calendar::paris_date(now))
    .bind(total)
    .bind(&rows_json)
    .bind(now)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected())
    })?;
    Ok(Some(id))
}

/// The families with childcare of children under six paid in `year` (activity
/// lines, children born after 1 January six years earlier) and no tax certificate
/// for it yet: the January round.
pub async fn families_to_announce(db: &Db, year: i32) -> StoreResult<Vec<Uuid>> {
    let (Some((from, to)), Some(born_after)) =
        (year_bounds(year), NaiveDate::from_ymd_opt(year - 6, 1, 1))
    else {
        return Ok(vec![]);
    };
    Ok(on_db!(db, |pool| sqlx::query_scalar(
        "SELECT DISTINCT p.family_id FROM payments p \
         JOIN payment_allocations a ON a.payment_id = p.id \
         JOIN invoice_lines l ON l.id = a.line_id JOIN children c ON c.id = l.child_id \
         WHERE p.received_on >= $1 AND p.received_on < $2 AND p.status = 'paid' \
           AND l.kind = 'activity' AND c.birth_date > $3 \
           AND NOT EXISTS (SELECT 1 FROM certificates t WHERE t.family_id = p.family_id \
             AND t.kind = 'tax' AND t.year = $4)"
    )
    .bind(from)
    .bind(to)
    .bind(born_after)
    .bind(year)
    .fetch_all(pool)
    .await)?)
}
