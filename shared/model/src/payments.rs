//! Payments (issue 14): how a payment is spread over invoice lines, how PayFiP's
//! answers read, and the shape PayFiP requires of what we send it. Pure: the server
//! applies these when money arrives, the phone shows the same words offline.
//!
//! Amounts are integer cents of euro.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

vocabulary! {
    /// How a payment was made. `payfip` is started by the family from the app; the
    /// others are recorded by an agent at the desk.
    PaymentMethod {
        Payfip => "payfip", "Carte bancaire ou prélèvement en ligne (PayFiP)";
        Cheque => "cheque", "Chèque";
        Cash => "cash", "Espèces";
        Cesu => "cesu", "CESU";
        Ancv => "ancv", "Chèques-vacances ANCV";
        Transfer => "transfer", "Virement";
    }
}

vocabulary! {
    /// Where a payment stands. A desk payment is `paid` when recorded; an online one
    /// is `pending` until PayFiP says how it ended.
    PaymentStatus {
        Pending => "pending", "En cours";
        Paid => "paid", "Payé";
        Refused => "refused", "Refusé par la banque";
        Abandoned => "abandoned", "Abandonné";
        /// PayFiP forgot the operation (its id lives 15 minutes) or never answered.
        Expired => "expired", "Expiré";
        /// PayFiP could not be reached to start it.
        Failed => "failed", "Échec";
        /// An agent cancelled it by an opposite entry.
        Reversed => "reversed", "Annulé";
    }
}

vocabulary! {
    /// A régie's PayFiP mode (PayFiP's `saisie`): a test payment takes no money;
    /// activation is the DGFiP's acceptance test; production takes it.
    PayfipMode {
        Test => "test", "Test (aucun débit)";
        Activation => "activation", "Activation (recette DGFiP)";
        Production => "production", "Production";
    }
}

impl PayfipMode {
    /// The letter PayFiP expects in `saisie`.
    pub fn saisie(self) -> &'static str {
        match self {
            PayfipMode::Test => "T",
            PayfipMode::Activation => "X",
            PayfipMode::Production => "W",
        }
    }
}

/// The smallest amount PayFiP accepts (1 €), and the largest (100,000 €).
pub const PAYFIP_MIN_CENTS: i64 = 100;
pub const PAYFIP_MAX_CENTS: i64 = 10_000_000;
/// An operation id lives 15 minutes at PayFiP; past 20 without an outcome, the
/// parent has left the page (the margin of the DGFiP's own guidance).
pub const PAYFIP_OPERATION_MINUTES: i64 = 20;

/// PayFiP's `resultrans`, as its web service documents it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayfipOutcome {
    /// `P` (card) or `V` (direct debit).
    Paid,
    /// `R` (card) or `Z` (direct debit).
    Refused,
    /// `A`: the payer left the page.
    Abandoned,
    /// Any other letter: recorded, never taken for a payment.
    Unknown,
}

impl PayfipOutcome {
    pub fn from_resultrans(code: &str) -> PayfipOutcome {
        match code.trim() {
            "P" | "V" => PayfipOutcome::Paid,
            "R" | "Z" => PayfipOutcome::Refused,
            "A" => PayfipOutcome::Abandoned,
            _ => PayfipOutcome::Unknown,
        }
    }

    /// The payment's status once PayFiP has answered this.
    pub fn status(self) -> PaymentStatus {
        match self {
            PayfipOutcome::Paid => PaymentStatus::Paid,
            PayfipOutcome::Refused => PaymentStatus::Refused,
            PayfipOutcome::Abandoned => PaymentStatus::Abandoned,
            PayfipOutcome::Unknown => PaymentStatus::Failed,
        }
    }
}

/// PayFiP's debt reference (`refdet`): 1 to 30 letters and digits. Our invoice
/// numbers (`ENF-2027-000042`) lose their dashes (`ENF2027000042`).
pub fn payfip_refdet(invoice_number: &str) -> String {
    invoice_number
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(30)
        .collect()
}

/// PayFiP's label (`objet`): at most 100 characters of ASCII letters, digits and
/// spaces; accents are folded (`Facture août` → `Facture aout`).
pub fn payfip_objet(label: &str) -> String {
    let folded = deunicode::deunicode(label);
    let kept: String = folded
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { ' ' })
        .collect();
    let words: Vec<&str> = kept.split_whitespace().collect();
    let mut objet = words.join(" ");
    objet.truncate(100);
    objet.trim_end().to_owned()
}

/// What a family may pay online on an invoice: what is left, if PayFiP can take it.
/// Errors (the codes the server answers, the phone shows): `invoice_settled` (a
/// credit note, or nothing left), `amount_too_small` (under PayFiP's 1 €).
pub fn online_amount(invoice: &crate::api::Invoice) -> Result<i64, crate::ErrorCode> {
    use crate::billing::{InvoiceKind, InvoiceStatus};
    let left = invoice.total_cents - invoice.credited_cents - invoice.paid_cents;
    if invoice.kind != InvoiceKind::Invoice
        || matches!(
            invoice.status,
            InvoiceStatus::Paid | InvoiceStatus::Cancelled
        )
        || left <= 0
    {
        Err(crate::ErrorCode::InvoiceSettled)
    } else if left < PAYFIP_MIN_CENTS {
        Err(crate::ErrorCode::AmountTooSmall)
    } else {
        Ok(left.min(PAYFIP_MAX_CENTS))
    }
}

/// The payer's e-mail as PayFiP takes it (`mel`: 6 to 80 characters, one `@`,
/// ASCII), or `None` when the account's address does not fit.
pub fn payfip_mel(email: &str) -> Option<String> {
    let mel = email.trim();
    let fits = (6..=80).contains(&mel.len())
        && mel.is_ascii()
        && mel.matches('@').count() == 1
        && !mel.starts_with('@')
        && !mel.ends_with('@');
    fits.then(|| mel.to_owned())
}

/// The organisation's rule that unpaid invoices past due block new bookings
/// (issue 14; optional: the server's `unpaid_block_cents` setting), and whether
/// an agent lifted it for this family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UnpaidRule {
    /// Blocks when what is overdue is more than this (cents).
    pub threshold_cents: i64,
    pub lifted: bool,
}

/// What is left to pay on an invoice (never below zero).
pub fn left_to_pay(total_cents: i64, credited_cents: i64, paid_cents: i64) -> i64 {
    (total_cents - credited_cents - paid_cents).max(0)
}

/// What the family owes on invoices whose due date has passed by `today`
/// (Europe/Paris).
pub fn overdue_cents(invoices: &[crate::api::Invoice], today: NaiveDate) -> i64 {
    invoices
        .iter()
        .filter(|i| i.kind == crate::billing::InvoiceKind::Invoice && i.due_on < today)
        .map(|i| left_to_pay(i.total_cents, i.credited_cents, i.paid_cents))
        .sum()
}

/// Whether unpaid invoices block the family's new bookings.
pub fn unpaid_blocks(overdue_cents: i64, rule: Option<&UnpaidRule>) -> bool {
    rule.is_some_and(|r| !r.lifted && overdue_cents > r.threshold_cents)
}

/// A line of an issued invoice that is not paid in full yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenLine {
    pub invoice_id: Uuid,
    pub line_id: Uuid,
    pub issued_on: NaiveDate,
    pub invoice_number: String,
    pub position: u32,
    /// What is left to pay on it (positive).
    pub open_cents: i64,
}

/// A share of a payment given to one line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Allocation {
    pub invoice_id: Uuid,
    pub line_id: Uuid,
    pub cents: i64,
}

/// Spreads `amount_cents` over the open lines, oldest invoice first (issue date,
/// then number), each invoice's lines in their order (issue 14: "oldest first by
/// default"); with `only`, just those invoices, still oldest first. Returns the
/// allocations and what is left: the family's credit for the next invoice.
pub fn allocate(
    amount_cents: i64,
    open: &[OpenLine],
    only: Option<&[Uuid]>,
) -> (Vec<Allocation>, i64) {
    let mut lines: Vec<&OpenLine> = open
        .iter()
        .filter(|l| l.open_cents > 0 && only.is_none_or(|ids| ids.contains(&l.invoice_id)))
        .collect();
    lines.sort_by(|a, b| {
        (a.issued_on, &a.invoice_number, a.position).cmp(&(
            b.issued_on,
            &b.invoice_number,
            b.position,
        ))
    });
    let mut left = amount_cents.max(0);
    let mut out = Vec::new();
    for line in lines {
        if left == 0 {
            break;
        }
        let cents = left.min(line.open_cents);
        out.push(Allocation {
            invoice_id: line.invoice_id,
            line_id: line.line_id,
            cents,
        });
        left -= cents;
    }
    (out, left)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(invoice: u128, number: &str, day: u32, position: u32, open: i64) -> OpenLine {
        OpenLine {
            invoice_id: Uuid::from_u128(invoice),
            line_id: Uuid::from_u128(invoice * 100 + u128::from(position)),
            issued_on: NaiveDate::from_ymd_opt(2027, 1, day).unwrap(),
            invoice_number: number.to_owned(),
            position,
            open_cents: open,
        }
    }

    #[test]
    fn the_oldest_invoice_is_paid_first_and_the_rest_is_credit() {
        let open = [
            line(2, "ENF-2027-000002", 20, 0, 1000),
            line(1, "ENF-2027-000001", 5, 1, 300),
            line(1, "ENF-2027-000001", 5, 0, 500),
        ];
        let (allocations, left) = allocate(1000, &open, None);
        let cents: Vec<(u128, i64)> = allocations
            .iter()
            .map(|a| (a.line_id.as_u128(), a.cents))
            .collect();
        assert_eq!(cents, [(100, 500), (101, 300), (200, 200)]);
        assert_eq!(left, 0);
        let (all, left) = allocate(2000, &open, None);
        assert_eq!(all.iter().map(|a| a.cents).sum::<i64>(), 1800);
        assert_eq!(left, 200, "an overpayment stays as credit");
        // Chosen invoices only.
        let only = [Uuid::from_u128(2)];
        let (chosen, left) = allocate(1500, &open, Some(&only));
        assert_eq!(chosen.len(), 1);
        assert_eq!(chosen[0].cents, 1000);
        assert_eq!(left, 500);
        assert_eq!(allocate(-5, &open, None), (vec![], 0));
    }

    #[test]
    fn unpaid_invoices_block_past_the_threshold_unless_lifted() {
        let rule = UnpaidRule {
            threshold_cents: 5000,
            lifted: false,
        };
        assert!(
            !unpaid_blocks(5000, Some(&rule)),
            "at the threshold: not yet"
        );
        assert!(unpaid_blocks(5001, Some(&rule)));
        assert!(!unpaid_blocks(
            9999,
            Some(&UnpaidRule {
                lifted: true,
                ..rule
            })
        ));
        assert!(!unpaid_blocks(1_000_000, None), "no rule, no block");
        assert_eq!(left_to_pay(1000, 200, 900), 0);
    }

    #[test]
    fn payfip_mel_fits_its_limits() {
        assert_eq!(
            payfip_mel(" parent@famille.example ").as_deref(),
            Some("parent@famille.example")
        );
        assert_eq!(payfip_mel("a@b.c"), None, "5 characters");
        assert_eq!(
            payfip_mel(&format!("{}@famille.example", "a".repeat(70))),
            None
        );
        assert_eq!(payfip_mel("élodie@famille.example"), None, "not ASCII");
        assert_eq!(payfip_mel("pas-une-adresse"), None);
    }

    #[test]
    fn payfip_words() {
        assert_eq!(payfip_refdet("ENF-2027-000042"), "ENF2027000042");
        assert_eq!(
            payfip_objet("Facture août 2027 — Régie Enfance (n° ENF-2027-000042)"),
            "Facture aout 2027 Regie Enfance ndeg ENF 2027 000042"
        );
        assert!(payfip_objet(&"é".repeat(300)).len() <= 100);
        assert_eq!(PayfipOutcome::from_resultrans("V"), PayfipOutcome::Paid);
        assert_eq!(PayfipOutcome::from_resultrans("Z"), PayfipOutcome::Refused);
        assert_eq!(
            PayfipOutcome::from_resultrans("A").status(),
            PaymentStatus::Abandoned
        );
        assert_eq!(
            PayfipOutcome::from_resultrans("?").status(),
            PaymentStatus::Failed
        );
    }
}
