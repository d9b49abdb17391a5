//! Money (issue 12): régies and tariffs, the families' quotient familial records,
//! the « Tarifs » page, billing runs (a preview, then the issue that numbers the
//! invoices and tells the families), credit notes, the invoices families and agents
//! read. What is billed and at what price is the model's (`famille_model::billing`);
//! [`plan`] gathers the facts into invoices; `runs` previews, issues and credits.
//!
//! Every amount is integer cents of euro; dates are days of Europe/Paris.

pub mod api_particulier;
pub mod http;
pub mod pdf;
pub mod plan;
mod runs;

pub use runs::*;

use std::collections::BTreeMap;

use chrono::{Datelike, Months, NaiveDate};
use famille_model::ErrorCode;
use famille_model::api::{
    BillingRun, BillingRunInput, CreditNoteInput, Invoice, InvoiceDetail, OptionTariff,
    QuotientFetch, QuotientNow, QuotientRecordInput, QuotientRecordView, Regie, RegieInput,
    StaffInvoice, TariffActivity, TariffInput, TariffOption, Tariffs,
};
use famille_model::billing::{InvoiceKind, RunStatus, price_day, quotient_on};
use famille_model::calendar::paris_date;
use famille_model::notice::{Event, Notice};
use famille_model::validate::{self, billing as check};
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::billing::{self as store, InvoiceFilter, PlannedInvoice};
use crate::store::{StoreError, Tx, retrying};

/// Months before the run's month whose days a run still bills when no run billed
/// them yet (late attendance, an approval given late, an invoice under the minimum).
pub const CATCH_UP_MONTHS: u32 = 3;
/// Invoices per page of the services' list.
pub const STAFF_PAGE: i64 = 500;
/// The longest reason of a credit note.
pub const MAX_REASON: usize = 500;

fn today(state: &AppState) -> NaiveDate {
    paris_date(state.clock.now())
}

fn refused(code: ErrorCode) -> AppError {
    AppError::Refused { code, detail: None }
}

// ---- régies and tariffs ---------------------------------------------------------------

pub async fn create_regie(state: &AppState, input: &RegieInput) -> AppResult<Uuid> {
    let r = check::regie(input).map_err(AppError::Invalid)?;
    match state.db.billing().insert_regie(&r, state.clock.now()).await {
        Err(StoreError::Duplicate(_)) => Err(AppError::Invalid(vec![validate::FieldError::new(
            "code",
            "une régie porte déjà ce code",
        )])),
        other => Ok(other?),
    }
}

pub async fn update_regie(state: &AppState, id: Uuid, input: &RegieInput) -> AppResult<()> {
    let r = check::regie(input).map_err(AppError::Invalid)?;
    let existing = state
        .db
        .billing()
        .regie(id)
        .await?
        .ok_or(AppError::NotFound)?;
    if existing.code != r.code {
        return Err(AppError::Invalid(vec![validate::FieldError::new(
            "code",
            "le code d'une régie ne change pas : ses factures le portent",
        )]));
    }
    state
        .db
        .billing()
        .update_regie(id, &r, state.clock.now())
        .await?;
    Ok(())
}

/// Sets the tariff of an activity option and the régie that bills it.
pub async fn set_tariff(state: &AppState, option_id: Uuid, input: &TariffInput) -> AppResult<()> {
    let tariff = check::tariff(&input.tariff).map_err(AppError::Invalid)?;
    let billing = state.db.billing();
    if !billing.option_exists(option_id).await? {
        return Err(AppError::NotFound);
    }
    if billing.regie(input.regie_id).await?.is_none() {
        return Err(AppError::Invalid(vec![validate::FieldError::new(
            "regie_id",
            "cette régie n'existe pas",
        )]));
    }
    billing
        .set_tariff(option_id, input.regie_id, &tariff, state.clock.now())
        .await?;
    Ok(())
}

pub async fn option_tariff(state: &AppState, option_id: Uuid) -> AppResult<OptionTariff> {
    let row = state
        .db
        .billing()
        .option_tariff(option_id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(OptionTariff {
        option_id,
        regie_id: row.regie_id,
        tariff: row.tariff,
    })
}

// ---- quotient familial ----------------------------------------------------------------

pub async fn quotients(state: &AppState, family_id: Uuid) -> AppResult<Vec<QuotientRecordView>> {
    crate::families::exists(state, family_id).await?;
    Ok(state.db.billing().quotients(family_id).await?)
}

/// Adds a QF record (an agent's entry, or a fetch from API Particulier); the
/// previous open record ends the day before; the family's feed gets the change.
pub async fn add_quotient(
    state: &AppState,
    family_id: Uuid,
    input: &QuotientRecordInput,
    agent: Option<Uuid>,
) -> AppResult<Uuid> {
    let q = check::quotient_record(input).map_err(AppError::Invalid)?;
    crate::families::exists(state, family_id).await?;
    let mut tx = state.db.begin_at(state.clock.now()).await?;
    let id = store::insert_quotient(&mut tx, family_id, &q, agent)
        .await?
        .ok_or_else(|| {
            AppError::Invalid(vec![validate::FieldError::new(
                "proof_document_id",
                "ce document n'est pas un document de la famille",
            )])
        })?;
    tx.commit().await?;
    Ok(id)
}

/// Fetches a family's QF from API Particulier (CAF or MSA) and records it, source
/// `api_particulier`, valid from today (Europe/Paris) for a year less a day (the
/// CAF recomputes it monthly; an agent may end it sooner or fetch again at any
/// time). The call is written in the audit log. Errors: 422 naming `allocataire`
/// when no file matches the number and postal code; 503 `provider_unavailable`
/// when the API is not configured, refuses the key, is down or too slow.
pub async fn fetch_quotient(
    state: &AppState,
    family_id: Uuid,
    input: &QuotientFetch,
    agent: Uuid,
) -> AppResult<Uuid> {
    use api_particulier::FetchError;
    let q = check::quotient_fetch(input).map_err(AppError::Invalid)?;
    crate::families::exists(state, family_id).await?;
    let now = state.clock.now();
    state
        .db
        .audit()
        .record(
            agent,
            crate::store::audit::AuditAction::QuotientFetched,
            Some(family_id),
            None,
            now,
        )
        .await?;
    let fetched = match state
        .quotient_provider
        .fetch(&q.allocataire, &q.postal_code)
        .await
    {
        Ok(fetched) => fetched,
        Err(FetchError::NotFound) => {
            return Err(AppError::Invalid(vec![validate::FieldError::new(
                "allocataire",
                "aucun dossier CAF ou MSA ne correspond à ce numéro d'allocataire et à ce code postal",
            )]));
        }
        Err(e) => {
            // The reason names a status or a code, never the allocataire.
            tracing::warn!(error = %e, "API Particulier gave no QF");
            let detail = match e {
                FetchError::NotConfigured => {
                    "API Particulier n'est pas configurée sur ce serveur : saisissez le quotient familial à la main."
                }
                FetchError::Unauthorized(_) => {
                    "API Particulier refuse la clé de la collectivité : prévenez l'administrateur, et saisissez le quotient familial à la main."
                }
                FetchError::Timeout => {
                    "API Particulier n'a pas répondu à temps : réessayez dans quelques minutes, ou saisissez le quotient familial à la main."
                }
                _ => ErrorCode::ProviderUnavailable.label_fr(),
            };
            return Err(AppError::refused_with(
                ErrorCode::ProviderUnavailable,
                detail,
            ));
        }
    };
    let valid_from = paris_date(now);
    let record = QuotientRecordInput {
        value: fetched.value,
        valid_from,
        valid_until: valid_from
            .checked_add_months(Months::new(12))
            .and_then(|d| d.pred_opt()),
        source: famille_model::dossier::QuotientSource::ApiParticulier,
        proof_document_id: None,
    };
    add_quotient(state, family_id, &record, Some(agent)).await
}

/// Ends a QF record on a day (included).
pub async fn end_quotient(
    state: &AppState,
    family_id: Uuid,
    id: Uuid,
    until: NaiveDate,
) -> AppResult<()> {
    validate::service_date("valid_until", until)?;
    let record = state
        .db
        .billing()
        .quotients(family_id)
        .await?
        .into_iter()
        .find(|r| r.id == id)
        .ok_or(AppError::NotFound)?;
    if until < record.valid_from {
        return Err(AppError::Invalid(vec![validate::FieldError::new(
            "valid_until",
            "la fin de validité précède son début",
        )]));
    }
    let mut tx = state.db.begin_at(state.clock.now()).await?;
    if !store::end_quotient(&mut tx, family_id, id, until).await? {
        return Err(AppError::NotFound);
    }
    tx.commit().await?;
    Ok(())
}

/// The legacy single quotient of the dossier (`PUT …/quotient`): a record from its
/// date, open-ended; `None` ends the open records yesterday.
pub async fn replace_quotient(
    state: &AppState,
    family_id: Uuid,
    q: Option<&famille_model::api::Quotient>,
) -> AppResult<()> {
    match q {
        Some(q) => {
            add_quotient(
                state,
                family_id,
                &QuotientRecordInput {
                    value: q.value,
                    valid_from: q.date,
                    valid_until: None,
                    source: q.source,
                    proof_document_id: None,
                },
                None,
            )
            .await?;
        }
        None => {
            let yesterday = today(state).pred_opt().unwrap_or(NaiveDate::MIN);
            let open: Vec<QuotientRecordView> = state.db.billing().quotients(family_id).await?;
            let mut tx = state.db.begin_at(state.clock.now()).await?;
            for r in open
                .iter()
                .filter(|r| r.valid_until.is_none_or(|u| u > yesterday))
            {
                let until = yesterday.max(r.valid_from);
                store::end_quotient(&mut tx, family_id, r.id, until).await?;
            }
            tx.commit().await?;
        }
    }
    Ok(())
}

/// Tells each family whose QF runs out within 30 days, with nothing after it, to
/// send its new attestation (once per record; the banner says it meanwhile).
/// Returns how many.
pub async fn notify_quotients_expiring(state: &AppState) -> AppResult<usize> {
    let now = state.clock.now();
    let mut tx = state.db.begin_at(now).await?;
    let expiring = store::take_expiring(&mut tx, paris_date(now)).await?;
    for (family_id, valid_until) in &expiring {
        tx.notify(Notice::new(
            *family_id,
            Event::QuotientExpiring {
                family_id: *family_id,
                valid_until: *valid_until,
            },
        ));
    }
    tx.commit().await?;
    Ok(expiring.len())
}

// ---- the families' « Tarifs » page --------------------------------------------------------

/// For each option with a tariff of an activity one of the family's children may
/// take part in this school year: the grid and the price of a day for this family
/// today (its QF, its residence, the eldest's rank).
pub async fn family_tariffs(state: &AppState, family_id: Uuid) -> AppResult<Tariffs> {
    let today = today(state);
    let billing = state.db.billing();
    let records = billing.quotient_records(family_id).await?;
    let quotient = quotient_on(&records, today);
    let children = state.db.families().children(family_id, today).await?;
    let postal_code = state
        .db
        .families()
        .family(family_id)
        .await?
        .and_then(|f| f.postal_code);
    let regies: BTreeMap<Uuid, Regie> = billing
        .regies()
        .await?
        .into_iter()
        .map(|r| (r.id, r))
        .collect();
    let mut activities: Vec<TariffActivity> = Vec::new();
    for row in billing.grid().await? {
        let eligible = children.iter().any(|c| {
            row.eligibility
                .admits(c.birth_date, c.level_on(today), today)
        });
        if !eligible {
            continue;
        }
        let resident = regies.get(&row.regie_id).is_none_or(|r| {
            r.territory.is_empty()
                || postal_code
                    .as_ref()
                    .is_some_and(|code| r.territory.contains(code))
        });
        let price = price_day(&row.tariff, quotient.map(|q| q.value), resident, 1);
        let pricing = match (&row.tariff.non_resident, resident) {
            (Some(other), false) => other,
            _ => &row.tariff.pricing,
        };
        let option = TariffOption {
            option_id: row.option_id,
            option: row.option,
            regie: row.regie,
            mode: pricing.mode(),
            brackets: pricing.brackets(),
            applicable_cents: price.cents,
            meal_cents: row.tariff.meal_cents,
            surcharge_cents: row.tariff.surcharge_cents,
            sibling_percent: row.tariff.sibling_percent.clone(),
        };
        match activities.last_mut() {
            Some(a) if a.activity_id == row.activity_id => a.options.push(option),
            _ => activities.push(TariffActivity {
                activity_id: row.activity_id,
                activity: row.activity,
                options: vec![option],
            }),
        }
    }
    Ok(Tariffs {
        quotient: quotient.map(|q| QuotientNow {
            value: q.value,
            source: q.source,
            valid_until: q.valid_until,
        }),
        activities,
    })
}

// ---- reading invoices ---------------------------------------------------------------------

/// A family's invoices and credit notes, newest first.
pub async fn family_invoices(state: &AppState, family_id: Uuid) -> AppResult<Vec<Invoice>> {
    Ok(state.db.billing().family_invoices(family_id).await?)
}

/// An invoice with its lines; `family_id` restricts it to the family (a parent:
/// another family's invoice is `not_found`).
pub async fn invoice_detail(
    state: &AppState,
    id: Uuid,
    family_id: Option<Uuid>,
) -> AppResult<InvoiceDetail> {
    Ok(detail_and_family(state, id, family_id).await?.0)
}

/// The invoice with its lines, and the family it belongs to.
async fn detail_and_family(
    state: &AppState,
    id: Uuid,
    family_id: Option<Uuid>,
) -> AppResult<(InvoiceDetail, Uuid)> {
    let billing = state.db.billing();
    let (invoice, family, family_number) = billing
        .invoice(id, family_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let lines = billing.lines(id).await?;
    Ok((
        InvoiceDetail {
            invoice,
            family_number,
            lines,
        },
        family,
    ))
}

/// The PDF of an invoice or credit note; `family_id` restricts it to the family.
/// Rendered off the async threads (a few milliseconds).
pub async fn invoice_pdf(
    state: &AppState,
    id: Uuid,
    family_id: Option<Uuid>,
) -> AppResult<Vec<u8>> {
    let (detail, family) = detail_and_family(state, id, family_id).await?;
    let regie = state
        .db
        .billing()
        .invoice_regie(id)
        .await?
        .ok_or(AppError::NotFound)?;
    let (names, address) = crate::families::letterhead(state, family).await?;
    tokio::task::spawn_blocking(move || {
        pdf::render(&pdf::InvoicePdf {
            regie: &regie,
            credits_number: detail.invoice.credits_number.as_deref(),
            reason: detail.invoice.reason.as_deref(),
            detail: &detail,
            family: &names,
            address: &address,
        })
    })
    .await
    .map_err(|e| AppError::Internal(e.to_string()))?
    .map_err(AppError::Internal)
}

/// The services' list: issued invoices of a month and régie, by words (names,
/// number).
pub async fn staff_invoices(
    state: &AppState,
    month: Option<&str>,
    regie_id: Option<Uuid>,
    q: Option<&str>,
) -> AppResult<Vec<StaffInvoice>> {
    if let Some(m) = month {
        check::month("month", m)?;
    }
    let words: Vec<String> = q
        .map(famille_model::text::search_key)
        .unwrap_or_default()
        .split_whitespace()
        .take(4)
        .map(str::to_owned)
        .collect();
    let billing = state.db.billing();
    let rows = billing
        .staff_invoices(&InvoiceFilter {
            period: month,
            regie_id,
            words,
            limit: STAFF_PAGE,
        })
        .await?;
    let families: Vec<Uuid> = rows.iter().map(|(_, f, _)| *f).collect();
    let names = billing.family_names(&families).await?;
    Ok(rows
        .into_iter()
        .map(|(invoice, family_id, family_number)| StaffInvoice {
            invoice,
            family_id,
            family_number,
            family: names.get(&family_id).cloned().unwrap_or_default(),
        })
        .collect())
}

/// The run's lines as CSV (`;`-separated, amounts in euros with a decimal comma, as
/// French spreadsheets read them), for the treasury.
pub async fn export_run(state: &AppState, run_id: Uuid) -> AppResult<String> {
    let mut tx = state.db.begin_at(state.clock.now()).await?;
    store::run(&mut tx, run_id)
        .await?
        .ok_or(AppError::NotFound)?;
    drop(tx);
    let rows = state.db.billing().run_lines(run_id).await?;
    let mut out = csv::WriterBuilder::new()
        .delimiter(b';')
        .from_writer(Vec::new());
    let euros = |cents: i64| {
        let sign = if cents < 0 { "-" } else { "" };
        format!(
            "{sign}{},{:02}",
            cents.unsigned_abs() / 100,
            cents.unsigned_abs() % 100
        )
    };
    let io = |e: csv::Error| AppError::Internal(e.to_string());
    out.write_record([
        "numero",
        "type",
        "regie",
        "dossier",
        "enfant",
        "date",
        "activite",
        "option",
        "ligne",
        "quantite",
        "prix_unitaire",
        "montant",
    ])
    .map_err(io)?;
    for store::RunLine {
        number,
        kind,
        family_number,
        regie,
        line: l,
    } in rows
    {
        out.write_record([
            number.unwrap_or_else(|| "brouillon".into()),
            kind.label_fr().to_owned(),
            regie,
            family_number.to_string(),
            l.child,
            l.date.to_string(),
            l.activity,
            l.option,
            l.kind.label_fr().to_owned(),
            l.quantity.to_string(),
            euros(l.unit_cents),
            euros(l.amount_cents),
        ])
        .map_err(io)?;
    }
    let bytes = out
        .into_inner()
        .map_err(|e| AppError::Internal(e.to_string()))?;
    String::from_utf8(bytes).map_err(|e| AppError::Internal(e.to_string()))
}
