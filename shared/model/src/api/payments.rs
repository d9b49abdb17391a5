//! Payments: started online by a family (PayFiP), recorded at the desk by an
//! agent, allocated to invoice lines; a family's credit. Amounts are integer cents
//! of euro; days are Europe/Paris.

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use crate::payments::{PaymentMethod, PaymentStatus};

wire! {
    /// A family pays an invoice online (`POST /api/v1/invoices/{id}/payments`).
    #[serde(deny_unknown_fields)]
    pub struct PaymentStart {
        /// Only `payfip` from the app.
        pub method: PaymentMethod,
    }

    /// Where to send the parent: the PayFiP page of the operation just recorded.
    pub struct PaymentStarted {
        pub payment_id: Uuid,
        pub redirect_url: String,
    }

    /// The share of a payment given to an invoice.
    pub struct PaymentAllocation {
        pub invoice_id: Uuid,
        pub invoice_number: String,
        /// Negative when a reversal took it back.
        pub cents: i64,
    }

    /// A payment as its family sees it.
    pub struct Payment {
        pub id: Uuid,
        pub method: PaymentMethod,
        pub status: PaymentStatus,
        pub regie: String,
        /// What was asked (online) or received (desk); negative for a reversal.
        pub amount_cents: i64,
        /// What the bank took (online), once known.
        pub paid_cents: Option<i64>,
        /// The invoice an online payment was for.
        pub invoice_id: Option<Uuid>,
        /// The day the money came.
        pub received_on: Option<NaiveDate>,
        /// Cheque number, transfer reference, the bank's authorisation number.
        pub reference: Option<String>,
        /// This entry reverses that payment.
        pub reverses_payment_id: Option<Uuid>,
        pub allocations: Vec<PaymentAllocation>,
        pub created_at: DateTime<Utc>,
        pub settled_at: Option<DateTime<Utc>>,
    }

    /// A payment as the services see it.
    pub struct StaffPayment {
        pub payment: Payment,
        /// The amount PayFiP took differs from the one asked: to look at.
        pub mismatch: bool,
        /// The agent who recorded or reversed it.
        pub recorded_by: Option<String>,
        pub reason: Option<String>,
    }

    /// A payment in the services' list, with its family.
    pub struct PaymentListItem {
        pub family_id: Uuid,
        /// The « Dossier n° ».
        pub family_number: i64,
        pub entry: StaffPayment,
    }

    /// What a family has paid and not yet used, per régie: it pays its next invoice.
    pub struct FamilyCredit {
        pub regie_id: Uuid,
        pub regie: String,
        pub cents: i64,
    }

    /// A family's payments and credit, for the services.
    pub struct FamilyPayments {
        pub payments: Vec<StaffPayment>,
        pub credit: Vec<FamilyCredit>,
    }

    /// A payment received at the desk.
    #[serde(deny_unknown_fields)]
    pub struct PaymentInput {
        pub regie_id: Uuid,
        /// Any method but `payfip`.
        pub method: PaymentMethod,
        pub amount_cents: i64,
        pub received_on: NaiveDate,
        #[serde(default)]
        pub reference: Option<String>,
        /// Pay these invoices first (oldest first); without, the oldest open ones.
        #[serde(default)]
        pub invoice_ids: Option<Vec<Uuid>>,
    }

    /// Reverses a mistaken payment by an opposite entry.
    #[serde(deny_unknown_fields)]
    pub struct PaymentReversal {
        pub reason: String,
    }
}
