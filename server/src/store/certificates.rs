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

impl Certificates<'_> {
    /// What the family's payments received in `year` (Europe/Paris days) put on
    /// invoice lines, per child, activity and kind, net of what credit notes gave
    /// back and of reversals (a reversal counts in its payment's year: a cheque
    /// that bounced in January was never paid the year before).
    pub async fn paid_lines(&self, family_id: Uuid, year: i32) -> StoreResult<Vec<PaidLine>> {
        let (from, to) = (
            NaiveDate::from_ymd_opt(year, 1, 1),
            NaiveDate::from_ymd_opt(year + 1, 1, 1),
        );
        let (Some(from), Some(to)) = (from, to) else {
            return Ok(vec![]);
        };
        let rows: Vec<(Uuid, String, NaiveDate, String, String, i64)> = on_db!(self.db, |pool| {
            sqlx::query_as(
            "SELECT l.child_id, l.child, c.birth_date, l.activity, l.kind, CAST(SUM(a.cents) AS BIGINT) \
             FROM payment_allocations a JOIN payments p ON p.id = a.payment_id \
             LEFT JOIN payments o ON o.id = p.reverses_payment_id \
             JOIN invoice_lines l ON l.id = a.line_id JOIN children c ON c.id = l.child_id \
             WHERE p.family_id = $1 AND COALESCE(o.received_on, p.received_on) >= $2 \
               AND COALESCE(o.received_on, p.received_on) < $3 \
             GROUP BY l.child_id, l.child, c.birth_date, l.activity, l.kind"
        )
        .bind(family_id)
        .bind(from)
        .bind(to)
        .fetch_all(pool)
        .await
        })?;
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

    /// The family's latest certificate of each kind for `year`.
    pub async fn of_family(&self, family_id: Uuid, year: i32) -> StoreResult<Vec<Certificate>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM certificates c WHERE family_id = $1 AND year = $2 \
             AND NOT EXISTS (SELECT 1 FROM certificates n WHERE n.family_id = c.family_id \
               AND n.kind = c.kind AND n.year = c.year AND n.created_at > c.created_at) \
             ORDER BY kind"
        ));
        let rows: Vec<CertificateRowDb> = on_db!(self.db, |pool| sqlx::query_as(sql)
            .bind(family_id)
            .bind(year)
            .fetch_all(pool)
            .await)?;
        rows.into_iter()
            .map(CertificateRowDb::into_certificate)
            .collect()
    }

    /// One certificate; with `family_id`, only that family's.
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

/// Issues a certificate unless the family's latest of that kind and year says
/// the same: numbered continuously per kind and year (`ATT-2027-000001`,
/// `FISC-2027-000001`). Returns it and whether it is new.
pub async fn issue(
    tx: &mut Tx,
    family_id: Uuid,
    kind: CertificateKind,
    year: i32,
    rows: &[CertificateRow],
) -> StoreResult<(Uuid, bool)> {
    let now = tx.now();
    // Two requests drawing the same family's certificates at once: one numbers.
    if let super::TxConn::Postgres(conn) = &mut tx.conn {
        let (a, b) = family_id.as_u64_pair();
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind((a ^ b ^ 0x6365_7274) as i64)
            .execute(&mut **conn)
            .await?;
    }
    let rows_json = serde_json::to_string(rows).expect("rows serialise");
    let latest: Option<(Uuid, String)> = on_tx!(tx, |c| sqlx::query_as(
        "SELECT id, rows FROM certificates WHERE family_id = $1 AND kind = $2 AND year = $3 \
         ORDER BY created_at DESC LIMIT 1"
    )
    .bind(family_id)
    .bind(kind.as_str())
    .bind(year)
    .fetch_optional(&mut *c)
    .await)?;
    if let Some((id, same)) = latest
        && same == rows_json
    {
        return Ok((id, false));
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
    Ok((id, true))
}

/// Whether the family has a certificate of that kind and year.
pub async fn exists(
    tx: &mut Tx,
    family_id: Uuid,
    kind: CertificateKind,
    year: i32,
) -> StoreResult<bool> {
    let found: Option<Uuid> = on_tx!(tx, |c| sqlx::query_scalar(
        "SELECT id FROM certificates WHERE family_id = $1 AND kind = $2 AND year = $3 LIMIT 1"
    )
    .bind(family_id)
    .bind(kind.as_str())
    .bind(year)
    .fetch_optional(&mut *c)
    .await)?;
    Ok(found.is_some())
}

/// Families that paid childcare in `year` and have no tax certificate for it yet
/// (the January round).
pub async fn families_without_tax_certificate(tx: &mut Tx, year: i32) -> StoreResult<Vec<Uuid>> {
    let (Some(from), Some(to)) = (
        NaiveDate::from_ymd_opt(year, 1, 1),
        NaiveDate::from_ymd_opt(year + 1, 1, 1),
    ) else {
        return Ok(vec![]);
    };
    Ok(on_tx!(tx, |c| sqlx::query_scalar(
        "SELECT DISTINCT p.family_id FROM payments p \
         WHERE p.received_on >= $1 AND p.received_on < $2 AND p.status IN ('paid', 'reversed') \
           AND NOT EXISTS (SELECT 1 FROM certificates c WHERE c.family_id = p.family_id \
             AND c.kind = 'tax' AND c.year = $3)"
    )
    .bind(from)
    .bind(to)
    .bind(year)
    .fetch_all(&mut *c)
    .await)?)
}
