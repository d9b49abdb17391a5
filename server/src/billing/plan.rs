//! The plan of a billing run: from the facts read in one transaction, the invoices
//! and credit notes to write. Each fact (a child's day on one line kind) is decided
//! by the model (`billing`, `day_lines`, `reconcile`); this module only gathers
//! facts per family and régie, ranks siblings and groups lines into documents.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{Datelike, NaiveDate};
use famille_model::api::{AnomalyKind, RunAnomaly};
use famille_model::billing::{
    Billed, Billing, InvoiceKind, LineKind, PriceAnomaly, billing, day_lines, quotient_on,
    reconcile, sibling_rank,
};
use famille_model::fr;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::store::billing::{Facts, PlannedInvoice, PlannedLine};

/// One fact: which child, which session, which line kind.
type FactKey = (Uuid, Uuid, LineKind);

/// The children a régie bills a family in one month: (family, régie, (year, month)).
type SiblingsKey = (Uuid, Uuid, (i32, u32));

/// What a run will write, and what the services should look at.
#[derive(Debug, Default)]
pub struct Plan {
    pub invoices: Vec<PlannedInvoice>,
    pub anomalies: Vec<RunAnomaly>,
}

impl Plan {
    pub fn total_cents(&self) -> i64 {
        self.invoices.iter().map(PlannedInvoice::total_cents).sum()
    }

    /// A digest of everything the run would write: issuing checks that the facts
    /// still give the preview the agent saw.
    pub fn fingerprint(&self) -> String {
        let mut h = Sha256::new();
        for inv in &self.invoices {
            h.update(format!(
                "I{}|{}|{}|{:?}\n",
                inv.regie_id,
                inv.family_id,
                inv.kind.as_str(),
                inv.credits_invoice_id
            ));
            for l in &inv.lines {
                h.update(format!(
                    "L{}|{}|{}|{}|{}|{}\n",
                    l.child_id,
                    l.session_id,
                    l.kind.as_str(),
                    l.quantity,
                    l.unit_cents,
                    l.amount_cents
                ));
            }
        }
        h.finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    }
}

/// An anomaly being counted: (kind, family, child, option) → days.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct AnomalyKey {
    kind: AnomalyKind,
    family_id: Uuid,
    child_id: Option<Uuid>,
    option: Option<String>,
    /// The QF outside the brackets, or the amount below the minimum.
    figure: Option<i64>,
}

struct Billable<'f> {
    family_id: Uuid,
    regie_id: Uuid,
    child_id: Uuid,
    session_id: Uuid,
    decision: Billing,
    tariff: &'f famille_model::billing::Tariff,
}

/// Plans the run of the days from `from` to `to`, for one régie or all.
pub fn plan(facts: &Facts, regie: Option<Uuid>, from: NaiveDate, to: NaiveDate) -> Plan {
    let in_scope = |r: Uuid| regie.is_none_or(|only| only == r);
    let mut anomalies: BTreeMap<AnomalyKey, u32> = BTreeMap::new();

    // 1. Which days are billed, and by which régie.
    let keys: HashSet<(Uuid, Uuid)> = facts
        .reservations
        .keys()
        .chain(facts.attendance.keys())
        .copied()
        .collect();
    let mut billable = Vec::new();
    for (session_id, child_id) in keys {
        let Some(session) = facts.sessions.get(&session_id) else {
            continue;
        };
        if session.cancelled || session.date < from || session.date > to {
            continue;
        }
        let reservation = facts.reservations.get(&(session_id, child_id));
        let Some(family_id) = reservation
            .map(|(family, _)| *family)
            .or_else(|| facts.children.get(&child_id).map(|c| c.family_id))
        else {
            continue;
        };
        let decision = billing(
            reservation.map(|(_, status)| *status),
            facts.attendance.get(&(session_id, child_id)).copied(),
        );
        if decision == Billing::No {
            continue;
        }
        let Some((regie_id, tariff)) = facts.tariffs.get(&session.option_id) else {
            // Only a run of every régie can say an option has none.
            if regie.is_none() {
                *anomalies
                    .entry(AnomalyKey {
                        kind: AnomalyKind::NoTariff,
                        family_id,
                        child_id: Some(child_id),
                        option: Some(format!("{} — {}", session.activity, session.option)),
                        figure: None,
                    })
                    .or_default() += 1;
            }
            continue;
        };
        if !in_scope(*regie_id) {
            continue;
        }
        billable.push(Billable {
            family_id,
            regie_id: *regie_id,
            child_id,
            session_id,
            decision,
            tariff,
        });
    }

    // 2. Sibling ranks among the children a régie bills in the fact's month, eldest
    // first (the month, not the run's window: a later run ranks the same day alike).
    let month_of = |session: Uuid| {
        let d = facts.sessions[&session].date;
        (d.year(), d.month())
    };
    let mut siblings: HashMap<SiblingsKey, Vec<(Uuid, NaiveDate)>> = HashMap::new();
    for b in &billable {
        let list = siblings
            .entry((b.family_id, b.regie_id, month_of(b.session_id)))
            .or_default();
        if !list.iter().any(|(id, _)| *id == b.child_id) {
            let born = facts
                .children
                .get(&b.child_id)
                .map(|c| c.birth_date)
                .unwrap_or(NaiveDate::MIN);
            list.push((b.child_id, born));
        }
    }

    // 3. The lines the facts give now.
    let no_records = Vec::new();
    let mut desired: HashMap<FactKey, (Uuid, Uuid, PlannedLine)> = HashMap::new();
    let mut decisions: HashMap<(Uuid, Uuid), Billing> = HashMap::new();
    for b in &billable {
        decisions.insert((b.child_id, b.session_id), b.decision);
        let session = &facts.sessions[&b.session_id];
        let records = facts.quotients.get(&b.family_id).unwrap_or(&no_records);
        let qf = quotient_on(records, session.date).map(|q| q.value);
        let resident = facts.regies.get(&b.regie_id).is_none_or(|r| {
            r.territory.is_empty()
                || facts
                    .families
                    .get(&b.family_id)
                    .and_then(|f| f.postal_code.as_ref())
                    .is_some_and(|code| r.territory.contains(code))
        });
        let rank = sibling_rank(
            &siblings[&(b.family_id, b.regie_id, month_of(b.session_id))],
            b.child_id,
        );
        let (lines, anomaly) = day_lines(b.tariff, b.decision, qf, resident, rank);
        if let Some(anomaly) = anomaly {
            let (kind, figure) = match anomaly {
                PriceAnomaly::NoQuotient => (AnomalyKind::NoQuotient, None),
                PriceAnomaly::OutsideBrackets { qf } => {
                    (AnomalyKind::OutsideBrackets, Some(i64::from(qf)))
                }
            };
            *anomalies
                .entry(AnomalyKey {
                    kind,
                    family_id: b.family_id,
                    child_id: Some(b.child_id),
                    option: Some(format!("{} — {}", session.activity, session.option)),
                    figure,
                })
                .or_default() += 1;
        }
        let child = facts
            .children
            .get(&b.child_id)
            .map(|c| c.first_name.clone())
            .unwrap_or_default();
        for l in lines {
            desired.insert(
                (b.child_id, b.session_id, l.kind),
                (
                    b.family_id,
                    b.regie_id,
                    PlannedLine {
                        child_id: b.child_id,
                        child: child.clone(),
                        session_id: b.session_id,
                        date: session.date,
                        activity: session.activity.clone(),
                        option: session.option.clone(),
                        kind: l.kind,
                        quantity: l.quantity,
                        unit_cents: l.unit_cents,
                        amount_cents: l.amount_cents,
                        bracket: l.bracket,
                    },
                ),
            );
        }
    }

    // 4. What issued invoices already billed, per fact and per invoice, in every
    // régie (an option moved to another régie is not billed twice); only the
    // régies in scope are credited.
    struct Issued<'f> {
        net: i64,
        waived: bool,
        per_invoice: BTreeMap<Uuid, (i64, Uuid, Uuid, &'f PlannedLine)>,
    }
    let mut issued: HashMap<FactKey, Issued> = HashMap::new();
    for l in &facts.issued {
        if l.line.date < from || l.line.date > to {
            continue;
        }
        let entry = issued
            .entry((l.line.child_id, l.line.session_id, l.line.kind))
            .or_insert_with(|| Issued {
                net: 0,
                waived: false,
                per_invoice: BTreeMap::new(),
            });
        entry.net += l.line.amount_cents;
        entry.waived |= l.waived;
        let slot =
            entry
                .per_invoice
                .entry(l.invoice_id)
                .or_insert((0, l.regie_id, l.family_id, &l.line));
        slot.0 += l.line.amount_cents;
        if l.line.amount_cents > 0 {
            slot.3 = &l.line;
        }
    }

    // 5. Reconcile each day: bill what is new, credit what no longer is.
    let mut bills: BTreeMap<(Uuid, Uuid), Vec<PlannedLine>> = BTreeMap::new();
    let mut credits: BTreeMap<(Uuid, Uuid, Uuid), Vec<PlannedLine>> = BTreeMap::new();
    let days: HashSet<(Uuid, Uuid)> = decisions
        .keys()
        .copied()
        .chain(issued.keys().map(|(child, session, _)| (*child, *session)))
        .collect();
    const KINDS: [LineKind; 3] = [LineKind::Activity, LineKind::Meal, LineKind::Surcharge];
    for (child, session) in days {
        let decision = decisions
            .get(&(child, session))
            .copied()
            .unwrap_or(Billing::No);
        let now: Vec<LineKind> = KINDS
            .into_iter()
            .filter(|k| {
                desired
                    .get(&(child, session, *k))
                    .is_some_and(|(_, _, l)| l.amount_cents != 0)
            })
            .collect();
        let billed: Vec<Billed> = KINDS
            .into_iter()
            .filter_map(|kind| {
                issued.get(&(child, session, kind)).map(|h| Billed {
                    kind,
                    net_cents: h.net,
                    waived: h.waived,
                })
            })
            .collect();
        let decision = reconcile(decision, &now, &billed);
        for kind in decision.credit {
            let had = &issued[&(child, session, kind)];
            for (invoice, (net, regie_id, family_id, line)) in &had.per_invoice {
                if *net == 0 || !in_scope(*regie_id) {
                    continue;
                }
                credits
                    .entry((*regie_id, *family_id, *invoice))
                    .or_default()
                    .push(PlannedLine {
                        unit_cents: -line.unit_cents,
                        amount_cents: -net,
                        ..(*line).clone()
                    });
            }
        }
        for kind in decision.bill {
            let (family_id, regie_id, line) = &desired[&(child, session, kind)];
            bills
                .entry((*regie_id, *family_id))
                .or_default()
                .push(line.clone());
        }
    }

    // 6. Documents: one invoice per family and régie, one credit note per invoice
    // credited; an invoice under the régie's minimum waits for the next run.
    let mut invoices = Vec::new();
    for ((regie_id, family_id), mut lines) in bills {
        sort_lines(&mut lines);
        let inv = PlannedInvoice {
            regie_id,
            family_id,
            kind: InvoiceKind::Invoice,
            credits_invoice_id: None,
            reason: None,
            lines,
            waived: false,
        };
        let minimum = facts
            .regies
            .get(&regie_id)
            .map_or(0, |r| r.min_amount_cents);
        let total = inv.total_cents();
        // Carried to the next run, unless a day would leave the window by then.
        let leaving = from
            .checked_add_months(chrono::Months::new(1))
            .unwrap_or(from);
        let carried = inv.lines.iter().all(|l| l.date >= leaving);
        if total > 0 && total < minimum && carried {
            *anomalies
                .entry(AnomalyKey {
                    kind: AnomalyKind::BelowMinimum,
                    family_id,
                    child_id: None,
                    option: None,
                    figure: Some(total),
                })
                .or_default() += inv.lines.len() as u32;
            continue;
        }
        invoices.push(inv);
    }
    for ((regie_id, family_id, invoice), mut lines) in credits {
        sort_lines(&mut lines);
        invoices.push(PlannedInvoice {
            regie_id,
            family_id,
            kind: InvoiceKind::CreditNote,
            credits_invoice_id: Some(invoice),
            reason: Some(
                "Régularisation : réservations ou pointages modifiés après facturation".into(),
            ),
            lines,
            waived: false,
        });
    }
    let number = |family: &Uuid| facts.families.get(family).map_or(0, |f| f.number);
    invoices.sort_by(|a, b| {
        (
            a.regie_id,
            a.kind,
            number(&a.family_id),
            a.family_id,
            a.credits_invoice_id,
        )
            .cmp(&(
                b.regie_id,
                b.kind,
                number(&b.family_id),
                b.family_id,
                b.credits_invoice_id,
            ))
    });

    let anomalies = anomalies
        .into_iter()
        .map(|(k, days)| {
            let child = k
                .child_id
                .and_then(|id| facts.children.get(&id))
                .map(|c| c.first_name.clone());
            let detail = match k.kind {
                AnomalyKind::NoQuotient => format!(
                    "Aucun quotient familial connu : tarif maximum appliqué ({days} jour(s))."
                ),
                AnomalyKind::OutsideBrackets => format!(
                    "Quotient de {} € hors des tranches : tarif maximum appliqué ({days} jour(s)).",
                    k.figure.unwrap_or(0)
                ),
                AnomalyKind::NoTariff => {
                    format!("Option sans tarif : {days} jour(s) non facturé(s).")
                }
                AnomalyKind::BelowMinimum => format!(
                    "Facture de {} sous le minimum de la régie : reportée au prochain mois.",
                    fr::euros(k.figure.unwrap_or(0))
                ),
            };
            RunAnomaly {
                kind: k.kind,
                family_id: k.family_id,
                family_number: number(&k.family_id),
                child_id: k.child_id,
                child,
                option: k.option,
                days,
                detail,
            }
        })
        .collect();
    Plan {
        invoices,
        anomalies,
    }
}

/// Lines grouped by child, then by day, activity, option and kind (activity, meal,
/// surcharge): the order of the PDF and of the app.
fn sort_lines(lines: &mut [PlannedLine]) {
    lines.sort_by(|a, b| {
        (
            &a.child,
            a.child_id,
            a.date,
            &a.activity,
            &a.option,
            a.session_id,
            a.kind,
        )
            .cmp(&(
                &b.child,
                b.child_id,
                b.date,
                &b.activity,
                &b.option,
                b.session_id,
                b.kind,
            ))
    });
}
