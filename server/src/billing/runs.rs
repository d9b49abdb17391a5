//! Billing runs: the preview of a month, its issue (numbers, notices, feed), and
//! the credit notes an agent grants.

use super::*;

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
        if kind == InvoiceKind::CreditNote {
            // Money paid on the lines they cancel goes back to the family.
            let notes: Vec<Uuid> = numbered.iter().map(|n| n.id).collect();
            crate::store::payments::release_credited(tx, &notes).await?;
        }
    }
    // What families paid and did not use pays the invoices just issued.
    let mut families: Vec<Uuid> = drafts
        .iter()
        .filter(|d| d.kind == InvoiceKind::Invoice)
        .map(|d| d.family_id)
        .collect();
    families.sort();
    families.dedup();
    for (family_id, regie_id) in crate::store::payments::with_credit(tx, &families).await? {
        crate::store::payments::apply_credit(tx, family_id, regie_id, None).await?;
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
        let regie_id = store::regie_of(&mut tx, invoice_id).await?;
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
