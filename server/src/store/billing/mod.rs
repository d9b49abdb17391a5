//! Money's SQL: régies, tariffs, quotient familial records, the facts a billing run
//! reads, draft and issued invoices with their lines, the numbering counters. The
//! decisions (what is billed, at what price, what a re-run credits) are
//! `famille_model::billing`'s, applied by `crate::billing`.
//!
//! Here: régies, tariffs, QF records and the shared helpers; a run's facts in
//! `facts`, its drafts and numbering in `runs`, reading invoices in `invoices`.

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
use famille_model::payments::PayfipMode;
use uuid::Uuid;

use super::feed::FeedEntry;
use super::{
    Db, StoreError, StoreResult, Tx, execute, in_tx, on_db, on_tx, parse_stored, record_changes,
    scalar, unique_violation,
};

mod facts;
mod invoices;
mod runs;

pub use facts::*;
pub use invoices::*;
pub use runs::*;

pub struct Billing<'a> {
    pub(super) db: &'a Db,
}

fn json<T: serde::de::DeserializeOwned>(raw: &str) -> StoreResult<T> {
    serde_json::from_str(raw).map_err(|e| StoreError::Corrupt(format!("{e}: {raw}")))
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("billing values serialise")
}

/// Parameters of one multi-row statement. SQLite allows 32,766, but sqlx looks each
/// one up by position in a list (`sqlite3_bind_parameter_name`), which makes a
/// statement's binding quadratic in its parameters: a few hundred keeps it linear
/// (measured: 16,000 parameters a statement made a 5,000-family run 25 times slower).
pub(super) const PARAMS: usize = 240;
/// Ids of one `IN (…)` list.
pub(super) const CHUNK: usize = PARAMS;

/// Rows of `columns` parameters per statement.
pub(super) fn rows_per_statement(columns: usize) -> usize {
    (PARAMS / columns).max(1)
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
    payfip_numcli: Option<String>,
    payfip_mode: String,
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
            payfip_numcli: self.payfip_numcli,
            payfip_mode: parse_stored(&self.payfip_mode)?,
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

const REGIE_COLUMNS: &str = "SELECT id, code, name, address, due_days, min_amount_cents, payment_note, territory, \
     payfip_numcli, payfip_mode FROM regies";

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
            "INSERT INTO regies (id, code, name, address, due_days, min_amount_cents, payment_note, territory, \
             payfip_numcli, payfip_mode, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            id,
            &r.code,
            &r.name,
            &r.address,
            i32::from(r.due_days),
            r.min_amount_cents,
            &r.payment_note,
            to_json(&r.territory),
            r.payfip_numcli.as_deref().filter(|n| !n.is_empty()),
            r.payfip_mode.unwrap_or(PayfipMode::Test).as_str(),
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
                 payment_note = $6, territory = $7, payfip_numcli = CASE WHEN $8 IS NULL THEN payfip_numcli WHEN $8 = '' THEN NULL ELSE $8 END, \
                 payfip_mode = COALESCE($9, payfip_mode) WHERE id = $1",
            )
            .bind(id)
            .bind(&r.name)
            .bind(&r.address)
            .bind(i32::from(r.due_days))
            .bind(r.min_amount_cents)
            .bind(&r.payment_note)
            .bind(&territory)
            .bind(r.payfip_numcli.as_deref())
            .bind(r.payfip_mode.map(PayfipMode::as_str))
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

    /// A family's QF records as the model's rules read them.
    pub async fn quotient_records(&self, family_id: Uuid) -> StoreResult<Vec<QuotientRecord>> {
        Ok(self
            .quotients(family_id)
            .await?
            .iter()
            .map(QuotientRecord::from)
            .collect())
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
