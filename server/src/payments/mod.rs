//! Payments (issue 14): a family pays an invoice online through PayFiP; agents
//! record the desk's payments (cheque, cash, CESU, ANCV, transfer) and reverse a
//! mistaken one. Money is spread over invoice lines oldest first
//! (`famille_model::payments::allocate`); what is left is the family's credit and
//! pays its next invoice.
//!
//! An online payment is recorded (`pending`) before the parent is sent to PayFiP;
//! how it ended is asked of PayFiP (`recupererDetailPaiementSecurise`) when PayFiP
//! notifies us, when the parent's browser comes back, and every minute for
//! operations left open. Settling is a conditional update (`pending` → outcome):
//! a replayed or concurrent notification changes nothing.

pub mod http;
pub mod payfip;

use chrono::{Datelike, Duration, NaiveDate};
use famille_model::ErrorCode;
use famille_model::api::{FamilyPayments, Payment, PaymentInput, PaymentStarted};
use famille_model::calendar::paris_date;
use famille_model::notice::{Event, Notice};
use famille_model::payments::{
    PAYFIP_MIN_CENTS, PAYFIP_OPERATION_MINUTES, PayfipOutcome, PaymentMethod, PaymentStatus,
    online_amount, payfip_mel, payfip_objet, payfip_refdet,
};
use famille_model::validate::{self, FieldError, Fields};
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::payments::{self as store, NewPayment, Operation, Settlement};
use payfip::{NewOperation, PayfipError};

/// The largest payment an agent records at once (100,000 €): a slip of the keyboard
/// beyond.
pub const MAX_DESK_CENTS: i64 = 10_000_000;
/// Pending operations are asked about once they are this old (the parent may
/// still be on the page before).
pub const CHECK_AFTER_MINUTES: i64 = 2;

/// Where PayFiP notifies us and sends the parent back (on `FAMILLE_PUBLIC_URL`).
pub const NOTIFICATION_PATH: &str = "/api/v1/payfip/notifications";
pub const RETURN_PATH: &str = "/api/v1/payfip/return";

fn unavailable(e: &PayfipError) -> AppError {
    log_refusal(e);
    AppError::refused_with(
        ErrorCode::ProviderUnavailable,
        "Le service de paiement de la DGFiP (PayFiP) ne répond pas pour le moment : réessayez dans quelques minutes.",
    )
}

/// PayFiP's code or our transport reason; never its description, which may
/// repeat the payer's address.
fn log_refusal(e: &PayfipError) {
    match e {
        PayfipError::Refused { code, .. } => tracing::warn!(code, "PayFiP refused"),
        PayfipError::Unavailable(why) => tracing::warn!(why, "PayFiP gave no answer"),
    }
}

/// A pending operation PayFiP never gave an id to is given up after this long
/// (the server stopped between recording it and asking PayFiP).
const WITHOUT_ID_MINUTES: i64 = 5;
/// A second tap on « Payer » within this gives the same operation back (an
/// operation id lives 15 minutes at PayFiP).
const REUSE_MINUTES: i64 = 15;

/// Starts paying `invoice_id` online for the parent `account_id` of `family_id`:
/// records the operation, asks PayFiP for its id, and gives the page to open. A
/// second tap within the operation's life gives the same operation back.
/// Errors: 404 (not the family's invoice); 409 `invoice_settled` (nothing left to
/// pay), `amount_too_small` (under PayFiP's 1 €), `online_payment_unavailable`
/// (the régie has no PayFiP number, the account's e-mail does not fit PayFiP, or
/// PayFiP refused the operation), `conflict` (the first tap is still being
/// prepared); 503 `provider_unavailable` (PayFiP unreachable).
pub async fn start_online(
    state: &AppState,
    account_id: Uuid,
    family_id: Uuid,
    invoice_id: Uuid,
) -> AppResult<PaymentStarted> {
    let (invoice, _, _) = state
        .db
        .billing()
        .invoice(invoice_id, Some(family_id))
        .await?
        .ok_or(AppError::NotFound)?;
    let amount = match online_amount(&invoice) {
        Ok(amount) => amount,
        Err(ErrorCode::AmountTooSmall) => {
            return Err(AppError::refused_with(
                ErrorCode::AmountTooSmall,
                format!(
                    "Il reste {} à payer : un paiement en ligne est d'au moins {}. Réglez-le auprès de la régie.",
                    famille_model::fr::euros(
                        invoice.total_cents - invoice.credited_cents - invoice.paid_cents
                    ),
                    famille_model::fr::euros(PAYFIP_MIN_CENTS)
                ),
            ));
        }
        Err(code) => return Err(AppError::refused(code)),
    };
    let mel = state
        .db
        .accounts()
        .by_id(account_id)
        .await?
        .and_then(|a| payfip_mel(&a.email))
        .ok_or_else(|| {
            AppError::refused_with(
                ErrorCode::OnlinePaymentUnavailable,
                "PayFiP n'accepte que les adresses e-mail de 80 caractères au plus, sans accent : changez celle de votre compte ou réglez la facture auprès de la régie.",
            )
        })?;
    let mut tx = state.db.begin_at(state.clock.now()).await?;
    let regie_id = crate::store::billing::regie_of(&mut tx, invoice_id).await?;
    let regie = state
        .db
        .billing()
        .regie(regie_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let Some(numcli) = regie.payfip_numcli else {
        return Err(AppError::refused(ErrorCode::OnlinePaymentUnavailable));
    };
    // Two taps at once: the second waits and finds the first's operation.
    store::lock_family(&mut tx, family_id, regie_id).await?;
    let since = tx.now() - Duration::minutes(REUSE_MINUTES);
    if let Some(op) = store::recent_operation(&mut tx, invoice_id, since).await? {
        return match op.payfip_idop {
            Some(id_op) => Ok(PaymentStarted {
                payment_id: op.id,
                redirect_url: state.payfip.page(&id_op),
            }),
            None => Err(AppError::Conflict(
                "Le paiement demandé à l'instant est en préparation : patientez quelques secondes.",
            )),
        };
    }
    let payment_id = store::insert(
        &mut tx,
        &NewPayment {
            family_id,
            regie_id,
            method: PaymentMethod::Payfip,
            status: PaymentStatus::Pending,
            amount_cents: amount,
            invoice_id: Some(invoice_id),
            account_id: Some(account_id),
            recorded_by: None,
            received_on: None,
            reference: None,
        },
    )
    .await?;
    tx.commit().await?;
    let public = &state.config.public_url;
    let asked = state
        .payfip
        .create(&NewOperation {
            numcli,
            exer: invoice.issued_on.year(),
            refdet: payfip_refdet(&invoice.number),
            montant: amount,
            mel,
            objet: payfip_objet(&format!("{} {}", invoice.label, invoice.number)),
            saisie: regie.payfip_mode,
            urlnotif: format!("{public}{NOTIFICATION_PATH}"),
            urlredirect: format!("{public}{RETURN_PATH}"),
        })
        .await;
    let mut tx = state.db.begin_at(state.clock.now()).await?;
    match asked {
        Ok(id_op) => {
            store::set_operation(&mut tx, payment_id, Some(&id_op)).await?;
            tx.commit().await?;
            Ok(PaymentStarted {
                payment_id,
                redirect_url: state.payfip.page(&id_op),
            })
        }
        Err(e) => {
            store::set_operation(&mut tx, payment_id, None).await?;
            tx.commit().await?;
            match e {
                // PayFiP said no (its client number, its limits): retrying will not help.
                PayfipError::Refused { ref code, .. } => {
                    log_refusal(&e);
                    Err(AppError::refused_with(
                        ErrorCode::OnlinePaymentUnavailable,
                        format!(
                            "PayFiP a refusé ce paiement (code {code}) : réglez la facture auprès de la régie, qui en est informée."
                        ),
                    ))
                }
                PayfipError::Unavailable(_) => Err(unavailable(&e)),
            }
        }
    }
}

/// Asks PayFiP how an operation ended and settles it, once. Returns its status
/// (still `pending` while the payer is on the page). With `reopen` (PayFiP
/// notifies, or the parent comes back), an operation we called abandoned or
/// expired is asked about again: a late payment is recorded.
pub async fn check(state: &AppState, op: &Operation, reopen: bool) -> AppResult<PaymentStatus> {
    let current = op.status;
    let askable = current == PaymentStatus::Pending
        || (reopen && matches!(current, PaymentStatus::Abandoned | PaymentStatus::Expired));
    if !askable {
        return Ok(current);
    }
    let now = state.clock.now();
    let Some(id_op) = op.payfip_idop.as_deref() else {
        if now - op.created_at < Duration::minutes(WITHOUT_ID_MINUTES) {
            return Ok(current);
        }
        let mut tx = state.db.begin_at(now).await?;
        store::set_operation(&mut tx, op.id, None).await?;
        tx.commit().await?;
        return Ok(PaymentStatus::Failed);
    };
    let invoice = match op.invoice_id {
        Some(id) => state
            .db
            .billing()
            .invoice(id, None)
            .await?
            .map(|(i, _, _)| i),
        None => None,
    };
    let settlement = match state.payfip.detail(id_op).await {
        Err(e) if e.in_progress() => {
            if current != PaymentStatus::Pending
                || now - op.created_at < Duration::minutes(PAYFIP_OPERATION_MINUTES)
            {
                return Ok(current);
            }
            expired()
        }
        Err(e) if e.unknown_operation() => {
            if current != PaymentStatus::Pending {
                return Ok(current);
            }
            expired()
        }
        Err(e) => return Err(unavailable(&e)),
        Ok(detail) => {
            if detail.id_op != id_op {
                return Err(unavailable(&PayfipError::Unavailable(
                    "the answer is about another operation".into(),
                )));
            }
            let outcome = PayfipOutcome::from_resultrans(&detail.resultrans);
            let paid = outcome == PayfipOutcome::Paid;
            // Money PayFiP took is recorded whatever it says; an agent looks at
            // what does not match what we asked (amount, debt reference).
            let same_debt = invoice
                .as_ref()
                .is_some_and(|i| payfip_refdet(&i.number) == detail.refdet);
            Settlement {
                status: outcome.status(),
                paid_cents: paid.then_some(detail.montant),
                resultrans: Some(detail.resultrans.clone()),
                reference: (paid && !detail.numauto.is_empty()).then(|| detail.numauto.clone()),
                received_on: if paid {
                    Some(
                        NaiveDate::parse_from_str(&detail.dattrans, "%d%m%Y")
                            .unwrap_or_else(|_| paris_date(now)),
                    )
                } else {
                    None
                },
                mismatch: paid && (detail.montant != op.amount_cents || !same_debt),
            }
        }
    };
    if settlement.status == current {
        return Ok(current);
    }
    let mut tx = state.db.begin_at(now).await?;
    if !store::settle(&mut tx, op.id, &settlement).await? {
        // Settled meanwhile by another notification: nothing to do.
        drop(tx);
        let again = state.db.payments().get(op.id, None).await?;
        return Ok(again.map_or(current, |p| p.payment.status));
    }
    if settlement.status == PaymentStatus::Paid {
        let invoices: Vec<Uuid> = op.invoice_id.into_iter().collect();
        store::apply_credit(
            &mut tx,
            op.family_id,
            op.regie_id,
            Some(store::First {
                payment_id: op.id,
                invoices: &invoices,
            }),
        )
        .await?;
        if settlement.mismatch {
            tracing::warn!(payment = %op.id, "PayFiP took another amount, or for another debt, than asked");
        }
        if let (Some(invoice_id), Some(invoice)) = (op.invoice_id, invoice) {
            tx.notify(Notice::new(
                op.family_id,
                Event::PaymentConfirmed {
                    invoice_id,
                    number: invoice.number,
                    paid_cents: settlement.paid_cents.unwrap_or(0),
                },
            ));
        }
    }
    tx.commit().await?;
    Ok(settlement.status)
}

fn expired() -> Settlement {
    Settlement {
        status: PaymentStatus::Expired,
        paid_cents: None,
        resultrans: None,
        reference: None,
        received_on: None,
        mismatch: false,
    }
}

/// The operation PayFiP calls `id_op`; 404 for one we never started.
pub async fn operation(state: &AppState, id_op: &str) -> AppResult<Operation> {
    state
        .db
        .payments()
        .by_idop(id_op)
        .await?
        .ok_or(AppError::NotFound)
}

/// PayFiP's notification (`idop`): settles the operation.
pub async fn notified(state: &AppState, id_op: &str) -> AppResult<PaymentStatus> {
    check(state, &operation(state, id_op).await?, true).await
}

/// Asks PayFiP about operations left open (the parent closed the page, the
/// notification was lost). Returns how many were settled.
pub async fn check_open_operations(state: &AppState) -> AppResult<usize> {
    let before = state.clock.now() - Duration::minutes(CHECK_AFTER_MINUTES);
    let open = state.db.payments().pending_operations(before, 200).await?;
    let (mut settled, mut failures) = (0, 0);
    for op in &open {
        match check(state, op, false).await {
            Ok(PaymentStatus::Pending) => failures = 0,
            Ok(_) => (settled, failures) = (settled + 1, 0),
            // One operation PayFiP will not describe must not hold up the others;
            // several in a row: PayFiP is down, the next round tries again.
            Err(_) => {
                failures += 1;
                if failures >= 3 {
                    break;
                }
            }
        }
    }
    Ok(settled)
}

/// Every minute, the open operations.
pub fn spawn_checker(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(std::time::Duration::from_secs(60)).await;
            match check_open_operations(&state).await {
                Ok(0) => {}
                Ok(count) => tracing::info!(count, "open PayFiP operations settled"),
                Err(e) => tracing::warn!(error = %e, "open PayFiP operations not checked"),
            }
        }
    })
}

/// A family's payments, newest first (a parent's view: no agent names).
pub async fn family_payments(state: &AppState, family_id: Uuid) -> AppResult<Vec<Payment>> {
    Ok(state
        .db
        .payments()
        .of_family(family_id)
        .await?
        .into_iter()
        .map(|p| p.payment)
        .collect())
}

/// One of the family's payments (404 otherwise). A pending online one is asked
/// about first, so that the app sees its outcome as soon as the parent is back.
pub async fn payment(state: &AppState, family_id: Uuid, id: Uuid) -> AppResult<Payment> {
    let found = state
        .db
        .payments()
        .get(id, Some(family_id))
        .await?
        .ok_or(AppError::NotFound)?;
    if found.payment.status == PaymentStatus::Pending
        && let Some(op) = state.db.payments().operation(id).await?
    {
        // PayFiP down: the parent sees « en cours », the checker tries again.
        let _ = check(state, &op, false).await;
        let again = state.db.payments().get(id, Some(family_id)).await?;
        return Ok(again.ok_or(AppError::NotFound)?.payment);
    }
    Ok(found.payment)
}

/// Payments in the services' list (500 at most).
pub const STAFF_PAGE: i64 = 500;

/// Payments of every family for the services, newest first: of a régie, received
/// from `from` to `to` (included, Europe/Paris), or only those PayFiP contradicted
/// (`mismatch`). Errors: 422 naming `to` when it precedes `from`, or a day outside
/// the services' years.
pub async fn staff_payments(
    state: &AppState,
    regie_id: Option<Uuid>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    mismatch: Option<bool>,
) -> AppResult<Vec<famille_model::api::PaymentListItem>> {
    for (field, day) in [("from", from), ("to", to)] {
        if let Some(day) = day {
            validate::service_date(field, day)?;
        }
    }
    if let (Some(from), Some(to)) = (from, to)
        && to < from
    {
        return Err(FieldError::new("to", "la fin précède le début").into());
    }
    Ok(state
        .db
        .payments()
        .list(&store::PaymentFilter {
            regie_id,
            from,
            to,
            mismatch,
            limit: STAFF_PAGE,
        })
        .await?)
}

/// A family's payments and credit, for the services.
pub async fn staff_family_payments(state: &AppState, family_id: Uuid) -> AppResult<FamilyPayments> {
    crate::families::exists(state, family_id).await?;
    Ok(FamilyPayments {
        payments: state.db.payments().of_family(family_id).await?,
        credit: state.db.payments().credit(family_id).await?,
    })
}

/// Records a payment received at the desk and spreads it (the chosen invoices
/// first, then the oldest open ones; the rest is the family's credit). Errors: 404
/// (no such family); 422 naming `method` (PayFiP is the family's), `amount_cents`,
/// `received_on` (in the future, or outside the services' years), `reference`,
/// `regie_id`, `invoice_ids` (not the family's open invoices of that régie).
pub async fn record(
    state: &AppState,
    family_id: Uuid,
    input: &PaymentInput,
    agent: Uuid,
) -> AppResult<Uuid> {
    let today = paris_date(state.clock.now());
    let mut e = Fields::default();
    if input.method == PaymentMethod::Payfip {
        e.push(FieldError::new(
            "method",
            "un paiement PayFiP est fait en ligne par la famille",
        ));
    }
    if !(1..=MAX_DESK_CENTS).contains(&input.amount_cents) {
        e.push(FieldError::new(
            "amount_cents",
            "un montant de 0,01 € à 100 000 €, en centimes",
        ));
    }
    if e.take(validate::service_date("received_on", input.received_on))
        .is_some()
        && input.received_on > today
    {
        e.push(FieldError::new("received_on", "cette date est à venir"));
    }
    let reference = match &input.reference {
        Some(r) => e
            .take(validate::optional_text("reference", Some(r), 100))
            .flatten(),
        None => None,
    };
    if let Err(errors) = e.finish(|| ()) {
        return Err(AppError::Invalid(errors));
    }
    crate::families::exists(state, family_id).await?;
    if state.db.billing().regie(input.regie_id).await?.is_none() {
        return Err(FieldError::new("regie_id", "cette régie n'existe pas").into());
    }
    if let Some(ids) = &input.invoice_ids {
        for id in ids {
            let ok = state
                .db
                .payments()
                .invoice_of(*id, family_id, input.regie_id)
                .await?;
            if !ok {
                return Err(FieldError::new(
                    "invoice_ids",
                    format!(
                        "la facture {id} n'est pas une facture de cette famille dans cette régie"
                    ),
                )
                .into());
            }
        }
    }
    let mut tx = state.db.begin_at(state.clock.now()).await?;
    let id = store::insert(
        &mut tx,
        &NewPayment {
            family_id,
            regie_id: input.regie_id,
            method: input.method,
            status: PaymentStatus::Paid,
            amount_cents: input.amount_cents,
            invoice_id: None,
            account_id: None,
            recorded_by: Some(agent),
            received_on: Some(input.received_on),
            reference,
        },
    )
    .await?;
    let chosen = input.invoice_ids.clone().unwrap_or_default();
    store::apply_credit(
        &mut tx,
        family_id,
        input.regie_id,
        Some(store::First {
            payment_id: id,
            invoices: &chosen,
        }),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Reverses a mistaken payment by an opposite entry (the lines it paid are open
/// again; the family's other money pays them if it has some). Errors: 422 naming
/// `reason`; 404; 409 when it is not a settled payment or was reversed already.
pub async fn reverse(
    state: &AppState,
    family_id: Uuid,
    id: Uuid,
    agent: Uuid,
    reason: &str,
) -> AppResult<Uuid> {
    let reason = validate::text("reason", reason, 500)?;
    let op = state
        .db
        .payments()
        .operation(id)
        .await?
        .filter(|op| op.family_id == family_id)
        .ok_or(AppError::NotFound)?;
    let mut tx = state.db.begin_at(state.clock.now()).await?;
    let Some(entry) = store::reverse(&mut tx, family_id, op.id, agent, &reason).await? else {
        return Err(AppError::Conflict(
            "Ce paiement n'est pas un paiement encaissé, ou il a déjà été annulé.",
        ));
    };
    tx.commit().await?;
    Ok(entry)
}
