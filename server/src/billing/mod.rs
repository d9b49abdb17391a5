//! Money (issue 12): régies and tariffs, the families' quotient familial records,
//! the « Tarifs » page, billing runs (a preview, then the issue that numbers the
//! invoices and tells the families), credit notes, the invoices families and agents
//! read. What is billed and at what price is the model's (`famille_model::billing`);
//! [`plan`] gathers the facts into invoices.
//!
//! Every amount is integer cents of euro; dates are days of Europe/Paris.

pub mod http;
pub mod pdf;
pub mod plan;

use std::collections::BTreeMap;

use chrono::{Datelike, Months, NaiveDate};
use famille_model::ErrorCode;
use famille_model::api::{
    BillingRun, BillingRunInput, CreditNoteInput, Invoice, InvoiceDetail, OptionTariff,
    QuotientNow, QuotientRecordInput, QuotientRecordView, Regie, RegieInput, StaffInvoice,
    TariffActivity, TariffInput, TariffOption, Tariffs,
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

async fn family_exists(state: &AppState, family_id: Uuid) -> AppResult<()> {
    state
        .db
        .families()
        .family(family_id)
        .await?
        .map(|_| ())
        .ok_or(AppError::NotFound)
}

pub async fn quotients(state: &AppState, family_id: Uuid) -> AppResult<Vec<QuotientRecordView>> {
    family_exists(state, family_id).await?;
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
    family_exists(state, family_id).await?;
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

// ---- billing runs ---------------------------------------------------------------------------

/// The days a run of `month` reads: the month, and the months before it that a run
/// may still have to bill.
fn window(month: NaiveDate) -> AppResult<(NaiveDate, NaiveDate)> {
    let bad = || {
        AppError::Invalid(vec![validate::FieldError::new(
            "month",
            "ce mois n'est pas valide",
        )])
    };
    let from = month
        .checked_sub_months(Months::new(CATCH_UP_MONTHS))
        .ok_or_else(bad)?;
    let to = month
        .checked_add_months(Months::new(1))
        .and_then(|next| next.pred_opt())
        .ok_or_else(bad)?;
    Ok((from, to))
}

async fn run_answer(tx: &mut Tx, id: Uuid) -> AppResult<BillingRun> {
    let run = store::run(tx, id).await?.ok_or(AppError::NotFound)?;
    let invoices = store::run_invoices(tx, id).await?;
    Ok(BillingRun {
        id: run.id,
        month: run.month,
        regie_id: run.regie_id,
        status: run.status,
        total_cents: invoices.iter().map(|i| i.total_cents).sum(),
        invoices,
        anomalies: run.anomalies,
        created_at: run.created_at,
        issued_at: run.issued_at,
    })
}

/// Previews the run of a month (one régie, or all): the invoices it would issue,
/// their total, the anomalies. A newer preview of the same month supersedes it.
pub async fn preview(
    state: &AppState,
    agent: Uuid,
    input: &BillingRunInput,
) -> AppResult<BillingRun> {
    let month = check::month("month", &input.month)?;
    if let Some(regie) = input.regie_id
        && state.db.billing().regie(regie).await?.is_none()
    {
        return Err(AppError::Invalid(vec![validate::FieldError::new(
            "regie_id",
            "cette régie n'existe pas",
        )]));
    }
    let (from, to) = window(month)?;
    // Days are billed once lived: a month not over would bill in advance, and
    // every cancellation in time would then need a credit note.
    if to >= today(state) {
        return Err(AppError::Invalid(vec![validate::FieldError::new(
            "month",
            "seul un mois terminé peut être facturé",
        )]));
    }
    let period = check::month_of(month);
    let run = retrying(|| async {
        let mut tx = state.db.begin_at(state.clock.now()).await?;
        let facts = store::facts(&mut tx, from, to).await?;
        let plan = plan::plan(&facts, input.regie_id, from, to);
        let id = store::insert_run(
            &mut tx,
            &period,
            input.regie_id,
            &plan.fingerprint(),
            &plan.anomalies,
            agent,
        )
        .await?;
        store::insert_drafts(&mut tx, Some(id), &period, &plan.invoices).await?;
        tx.commit().await?;
        Ok(id)
    })
    .await?;
    let mut tx = state.db.begin_at(state.clock.now()).await?;
    run_answer(&mut tx, run).await
}

pub async fn run(state: &AppState, id: Uuid) -> AppResult<BillingRun> {
    let mut tx = state.db.begin_at(state.clock.now()).await?;
    run_answer(&mut tx, id).await
}

/// What issuing found.
enum Issue {
    Issued,
    /// The facts changed since the preview: the draft now shows what they give.
    Outdated,
}

/// Issues a previewed run: the facts are read again under the billing lock; when
/// they still give the preview, its invoices are numbered (per régie, kind and
/// year, continuously), dated, entered in the families' feeds and announced
/// (`invoice_issued`), in one transaction. Two agents issuing at once: one issues,
/// the other is told it is done (`billing_run_closed`). Facts that changed since the
/// preview: the preview is recomputed and the agent told (`billing_run_outdated`).
pub async fn issue(state: &AppState, agent: Uuid, id: Uuid) -> AppResult<BillingRun> {
    let outcome = retrying(|| async {
        let mut tx = state.db.begin_at(state.clock.now()).await?;
        store::lock_billing(&mut tx).await?;
        let Some(run) = store::run(&mut tx, id).await? else {
            return Ok(Err(AppError::NotFound));
        };
        if run.status != RunStatus::Draft {
            return Ok(Err(refused(ErrorCode::BillingRunClosed)));
        }
        let month =
            check::month("month", &run.month).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let (from, to) = window(month).map_err(|_| StoreError::Corrupt(run.month.clone()))?;
        let facts = store::facts(&mut tx, from, to).await?;
        let plan = plan::plan(&facts, run.regie_id, from, to);
        let fingerprint = plan.fingerprint();
        if fingerprint != run.fingerprint {
            store::refresh_run(&mut tx, id, &fingerprint, &plan.anomalies).await?;
            store::insert_drafts(&mut tx, Some(id), &run.month, &plan.invoices).await?;
            tx.commit().await?;
            return Ok(Ok(Issue::Outdated));
        }
        let drafts = store::draft_invoices(&mut tx, id).await?;
        let totals: std::collections::HashMap<Uuid, i64> = {
            // The plan's totals, in the drafts' order (both sorted the same way is
            // not assumed: matched by family, régie, kind and credited invoice).
            let answer = store::run_invoices(&mut tx, id).await?;
            answer.into_iter().map(|i| (i.id, i.total_cents)).collect()
        };
        number_and_issue(&mut tx, &facts.regies, &drafts, &totals, &run.month).await?;
        if !store::mark_issued(&mut tx, id, agent).await? {
            return Err(StoreError::Retry);
        }
        // A credited invoice's status changes: its family's phones re-read it.
        for inv in &plan.invoices {
            if let Some(credited) = inv.credits_invoice_id {
                tx.changed(crate::store::feed::FeedEntry::invoice(
                    inv.family_id,
                    credited,
                ));
            }
        }
        tx.commit().await?;
        Ok(Ok(Issue::Issued))
    })
    .await??;
    match outcome {
        Issue::Issued => run(state, id).await,
        Issue::Outdated => Err(refused(ErrorCode::BillingRunOutdated)),
    }
}

/// Numbers drafts in order (régie, kind, family number), dates them and writes the
/// notices of invoices. `drafts`: (id, régie, kind, family, family number).
async fn number_and_issue(
    tx: &mut Tx,
    regies: &std::collections::HashMap<Uuid, Regie>,
    drafts: &[store::Draft],
    totals: &std::collections::HashMap<Uuid, i64>,
    period: &str,
) -> Result<(), StoreError> {
    let issued_on = paris_date(tx.now());
    let year = issued_on.year();
    let period_start = check::month("period", period).unwrap_or(issued_on);
    let mut groups: BTreeMap<(Uuid, InvoiceKind), Vec<&store::Draft>> = BTreeMap::new();
    for d in drafts {
        groups.entry((d.regie_id, d.kind)).or_default().push(d);
    }
    for ((regie_id, kind), list) in groups {
        let regie = regies
            .get(&regie_id)
            .ok_or_else(|| StoreError::Corrupt(format!("régie {regie_id} unknown")))?;
        let first = store::take_numbers(tx, regie_id, kind, year, list.len() as i64).await?;
        let due_on = issued_on
            .checked_add_days(chrono::Days::new(u64::from(regie.due_days)))
            .unwrap_or(issued_on);
        let mut numbered = Vec::with_capacity(list.len());
        for (offset, store::Draft { id, family_id, .. }) in list.into_iter().enumerate() {
            let sequence = first + offset as i64;
            numbered.push(store::Numbered {
                id: *id,
                family_id: *family_id,
                year,
                sequence,
                number: invoice_number(&regie.code, kind, year, sequence),
                issued_on,
                due_on,
            });
            let total = totals.get(id).copied().unwrap_or(0);
            if kind == InvoiceKind::Invoice {
                tx.notify(Notice::new(
                    *family_id,
                    Event::InvoiceIssued {
                        invoice_id: *id,
                        period: period_start,
                        total_cents: total,
                    },
                ));
            }
        }
        store::issue_invoices(tx, &numbered).await?;
    }
    Ok(())
}

/// `ENF-2027-000042` for an invoice, `ENF-AV-2027-000003` for a credit note.
pub fn invoice_number(code: &str, kind: InvoiceKind, year: i32, sequence: i64) -> String {
    match kind {
        InvoiceKind::Invoice => format!("{code}-{year}-{sequence:06}"),
        InvoiceKind::CreditNote => format!("{code}-AV-{year}-{sequence:06}"),
    }
}

/// A credit note an agent grants on an issued invoice: the lines chosen (all those
/// not yet credited by default), negated, numbered in the régie's credit notes;
/// those facts are never billed again. Answers the credit note.
pub async fn credit_note(
    state: &AppState,
    invoice_id: Uuid,
    input: &CreditNoteInput,
) -> AppResult<InvoiceDetail> {
    let reason = validate::text("reason", &input.reason, MAX_REASON)?;
    let (invoice, family_id, _) = state
        .db
        .billing()
        .invoice(invoice_id, None)
        .await?
        .ok_or(AppError::NotFound)?;
    if invoice.kind != InvoiceKind::Invoice {
        return Err(AppError::Invalid(vec![validate::FieldError::new(
            "invoice_id",
            "un avoir porte sur une facture, pas sur un autre avoir",
        )]));
    }
    let id = retrying(|| async {
        let mut tx = state.db.begin_at(state.clock.now()).await?;
        store::lock_billing(&mut tx).await?;
        let open = store::creditable_lines(&mut tx, invoice_id).await?;
        let chosen: Vec<_> = match &input.lines {
            None => open.into_iter().map(|(_, l)| l).collect(),
            Some(ids) => {
                if ids.is_empty() {
                    return Ok(Err(AppError::Invalid(vec![validate::FieldError::new(
                        "lines",
                        "au moins une ligne, ou aucune liste pour toutes",
                    )])));
                }
                if let Some(unknown) = ids.iter().find(|id| !open.iter().any(|(l, _)| l == *id)) {
                    return Ok(Err(AppError::Refused {
                        code: ErrorCode::NothingToCredit,
                        detail: Some(format!(
                            "La ligne {unknown} n'est pas une ligne de cette facture, ou a déjà fait l'objet d'un avoir."
                        )),
                    }));
                }
                open.into_iter()
                    .filter(|(id, _)| ids.contains(id))
                    .map(|(_, l)| l)
                    .collect()
            }
        };
        if chosen.is_empty() {
            return Ok(Err(refused(ErrorCode::NothingToCredit)));
        }
        let regie_id = regie_of(&mut tx, invoice_id).await?;
        let note = PlannedInvoice {
            regie_id,
            family_id,
            kind: InvoiceKind::CreditNote,
            credits_invoice_id: Some(invoice_id),
            reason: Some(reason.clone()),
            lines: chosen
                .into_iter()
                .map(|l| store::PlannedLine {
                    unit_cents: -l.unit_cents,
                    amount_cents: -l.amount_cents,
                    ..l
                })
                .collect(),
            waived: true,
        };
        let ids = store::insert_drafts(&mut tx, None, &invoice.period, &[note]).await?;
        let regies: std::collections::HashMap<Uuid, Regie> = state
            .db
            .billing()
            .regie(regie_id)
            .await?
            .into_iter()
            .map(|r| (r.id, r))
            .collect();
        number_and_issue(
            &mut tx,
            &regies,
            &[store::Draft {
                id: ids[0],
                regie_id,
                kind: InvoiceKind::CreditNote,
                family_id,
            }],
            &std::collections::HashMap::new(),
            &invoice.period,
        )
        .await?;
        tx.changed(crate::store::feed::FeedEntry::invoice(family_id, invoice_id));
        tx.commit().await?;
        Ok(Ok(ids[0]))
    })
    .await??;
    invoice_detail(state, id, None).await
}

async fn regie_of(tx: &mut Tx, invoice_id: Uuid) -> Result<Uuid, StoreError> {
    crate::store::billing::regie_of(tx, invoice_id).await
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
    let families = state.db.families();
    let guardians = families.guardians(family).await?;
    let names = guardians
        .iter()
        .map(|g| format!("{} {}", g.last_name, g.first_name))
        .collect::<Vec<_>>()
        .join(" et ");
    let address: Vec<String> = families
        .family(family)
        .await?
        .and_then(|f| f.address())
        .map(|a| {
            std::iter::once(a.line1)
                .chain(a.line2)
                .chain(std::iter::once(format!("{} {}", a.postal_code, a.city)))
                .collect()
        })
        .unwrap_or_default();
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
