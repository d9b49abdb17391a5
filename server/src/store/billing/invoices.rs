//! Reading invoices and credit notes: a family's, the services' list, lines,
//! totals.

use super::*;

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
    online_payment: bool,
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
                online_payment: self.online_payment,
            },
            self.family_id,
            self.family_number,
        ))
    }
}

pub(super) const LINE_COLUMNS: &str = "l.id, l.child_id, l.child, l.session_id, l.date, l.activity, l.option, l.kind, \
     l.quantity, l.unit_cents, l.amount_cents, l.bracket";

#[derive(sqlx::FromRow)]
pub(super) struct LineRow {
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
    pub(super) fn into_line(self) -> StoreResult<InvoiceLine> {
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
     f.number AS family_number, r.payfip_numcli IS NOT NULL AS online_payment \
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

impl Billing<'_> {
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
