//! Money: the quotient familial records, the tariffs a family sees, the régies,
//! billing runs, invoices and credit notes. Amounts are integer cents of euro; a QF
//! is in whole euros; dates are days of Europe/Paris; a month is `"YYYY-MM"`.

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use crate::billing::{
    Bracket, InvoiceKind, InvoiceStatus, LineKind, Pricing, RunStatus, Tariff, TariffMode,
};
use crate::dossier::QuotientSource;
use crate::payments::PayfipMode;

vocabulary! {
    /// Why a billing run priced a day otherwise than the family's own bracket, or
    /// could not price it.
    AnomalyKind {
        NoQuotient => "no_quotient", "Pas de quotient familial : tarif maximum appliqué";
        OutsideBrackets => "outside_brackets", "Quotient hors des tranches : tarif maximum appliqué";
        NoTariff => "no_tariff", "Option sans tarif : jours non facturés";
        BelowMinimum => "below_minimum", "Montant sous le minimum de facturation : reporté";
    }
}

wire! {
    /// The QF that applies today, as the family sees it.
    pub struct QuotientNow {
        /// Euros.
        pub value: u32,
        pub source: QuotientSource,
        pub valid_until: Option<NaiveDate>,
    }

    /// The guide's « Tarifs » page: for each option the family's children may book,
    /// its grid and the price of a day for this family today.
    pub struct Tariffs {
        pub quotient: Option<QuotientNow>,
        pub activities: Vec<TariffActivity>,
    }

    pub struct TariffActivity {
        pub activity_id: Uuid,
        pub activity: String,
        pub options: Vec<TariffOption>,
    }

    pub struct TariffOption {
        pub option_id: Uuid,
        pub option: String,
        /// The régie's name.
        pub regie: String,
        pub mode: TariffMode,
        /// The QF brackets (empty unless `mode` is `brackets`), for the grid.
        pub brackets: Vec<Bracket>,
        /// A day for this family today (its QF, its residence; the eldest child's
        /// rank), before the meal and any surcharge.
        pub applicable_cents: i64,
        pub meal_cents: Option<i64>,
        pub surcharge_cents: Option<i64>,
        /// The reduction in percent by the child's rank (eldest first).
        pub sibling_percent: Vec<u8>,
    }

    /// A QF record, as the services see it.
    pub struct QuotientRecordView {
        pub id: Uuid,
        pub value: u32,
        pub valid_from: NaiveDate,
        pub valid_until: Option<NaiveDate>,
        pub source: QuotientSource,
        pub proof_document_id: Option<Uuid>,
        pub recorded_at: DateTime<Utc>,
    }

    /// A QF an agent enters (from a CAF or MSA attestation, a tax notice…).
    #[serde(deny_unknown_fields)]
    pub struct QuotientRecordInput {
        pub value: u32,
        pub valid_from: NaiveDate,
        #[serde(default)]
        pub valid_until: Option<NaiveDate>,
        pub source: QuotientSource,
        /// A validated or pending document of the family that proves it.
        #[serde(default)]
        pub proof_document_id: Option<Uuid>,
    }

    /// What an agent gives to fetch a family's QF from API Particulier (CAF or MSA):
    /// the allocataire number and the postal code the allocataire's file is under.
    /// Digits typed on any keyboard (full-width, spaced) are read as digits.
    #[serde(deny_unknown_fields)]
    pub struct QuotientFetch {
        pub allocataire: String,
        pub postal_code: String,
    }

    /// Ends a QF record on a day (included).
    #[serde(deny_unknown_fields)]
    pub struct QuotientEnd {
        pub valid_until: NaiveDate,
    }

    /// A régie: the collecting unit whose invoices are numbered together.
    pub struct Regie {
        pub id: Uuid,
        /// Short, in invoice numbers: `ENF` gives `ENF-2027-000042`.
        pub code: String,
        pub name: String,
        /// The address printed on its invoices.
        pub address: String,
        pub due_days: u16,
        pub min_amount_cents: i64,
        /// How to pay, printed on its invoices.
        pub payment_note: String,
        /// Postal codes of its territory: families living elsewhere pay a tariff's
        /// non-resident price (empty: every family is resident).
        pub territory: Vec<String>,
        /// Its PayFiP client number (6 digits); none: no online payment.
        pub payfip_numcli: Option<String>,
        pub payfip_mode: PayfipMode,
    }

    #[serde(deny_unknown_fields)]
    pub struct RegieInput {
        pub code: String,
        pub name: String,
        pub address: String,
        pub due_days: u16,
        #[serde(default)]
        pub min_amount_cents: i64,
        #[serde(default)]
        pub payment_note: String,
        #[serde(default)]
        pub territory: Vec<String>,
        /// Six digits; `""` takes it away; left out, a change keeps the current one.
        #[serde(default)]
        pub payfip_numcli: Option<String>,
        /// Left out: `test` for a new régie, unchanged for a change.
        #[serde(default)]
        pub payfip_mode: Option<PayfipMode>,
    }

    /// The tariff of an activity option and the régie that bills it.
    #[serde(deny_unknown_fields)]
    pub struct TariffInput {
        pub regie_id: Uuid,
        pub tariff: Tariff,
    }

    /// An option's tariff as stored.
    pub struct OptionTariff {
        pub option_id: Uuid,
        pub regie_id: Uuid,
        pub tariff: Tariff,
    }

    /// Starts a billing run (a preview).
    #[serde(deny_unknown_fields)]
    pub struct BillingRunInput {
        /// `"YYYY-MM"`: the days of this month, and those of the three months before
        /// that no run has billed yet (late attendance, a day awaiting approval).
        pub month: String,
        /// One régie; every régie when absent.
        #[serde(default)]
        pub regie_id: Option<Uuid>,
    }

    /// A billing run: its invoices (one per family and régie), their total and what
    /// the services should look at.
    pub struct BillingRun {
        pub id: Uuid,
        pub month: String,
        pub regie_id: Option<Uuid>,
        pub status: RunStatus,
        pub invoices: Vec<RunInvoice>,
        /// Invoices minus credit notes.
        pub total_cents: i64,
        pub anomalies: Vec<RunAnomaly>,
        pub created_at: DateTime<Utc>,
        pub issued_at: Option<DateTime<Utc>>,
    }

    /// One invoice (or credit note) of a run; its lines at
    /// `GET /api/v1/staff/invoices/{id}`.
    pub struct RunInvoice {
        pub id: Uuid,
        pub kind: InvoiceKind,
        pub number: Option<String>,
        pub family_id: Uuid,
        pub family_number: i64,
        pub regie: String,
        pub total_cents: i64,
        pub lines: u32,
        /// For a credit note, the invoice it reduces.
        pub credits_invoice_id: Option<Uuid>,
    }

    /// Something a run could not bill as the grid says: per family, child, option
    /// and kind, with the number of days concerned.
    pub struct RunAnomaly {
        pub kind: AnomalyKind,
        pub family_id: Uuid,
        pub family_number: i64,
        pub child_id: Option<Uuid>,
        pub child: Option<String>,
        pub option: Option<String>,
        pub days: u32,
        /// French, for the agent.
        pub detail: String,
    }

    /// An invoice or a credit note, as the family's list shows it (the guide's
    /// « Mes factures »).
    pub struct Invoice {
        pub id: Uuid,
        pub kind: InvoiceKind,
        pub number: String,
        pub regie: String,
        pub issued_on: NaiveDate,
        /// `"YYYY-MM"`.
        pub period: String,
        /// « Facture de mars 2027 », « Avoir sur la facture ENF-2027-000042 ».
        pub label: String,
        /// Negative for a credit note.
        pub total_cents: i64,
        /// What its credit notes took off (positive).
        pub credited_cents: i64,
        pub paid_cents: i64,
        pub status: InvoiceStatus,
        pub due_on: NaiveDate,
        pub credits_invoice_id: Option<Uuid>,
        /// For a credit note: the number of the invoice it reduces, and why.
        pub credits_number: Option<String>,
        pub reason: Option<String>,
        /// Whether its régie takes payments online (PayFiP): with
        /// `payments::online_amount`, whether the app offers « Payer en ligne ».
        #[serde(default)]
        pub online_payment: bool,
    }

    /// One line: a child's day of an activity, its meal or its surcharge.
    pub struct InvoiceLine {
        pub id: Uuid,
        pub child_id: Uuid,
        pub child: String,
        /// The session (day of an activity option) the line bills.
        pub session_id: Uuid,
        pub date: NaiveDate,
        pub activity: String,
        pub option: String,
        pub kind: LineKind,
        pub quantity: u32,
        pub unit_cents: i64,
        pub amount_cents: i64,
        /// The QF bracket the day was priced in.
        pub bracket: Option<Bracket>,
    }

    /// An invoice with its lines, whose `amount_cents` add up to `total_cents`.
    pub struct InvoiceDetail {
        #[serde(flatten)]
        pub invoice: Invoice,
        pub family_number: i64,
        pub lines: Vec<InvoiceLine>,
    }

    /// An invoice in the services' list.
    pub struct StaffInvoice {
        #[serde(flatten)]
        pub invoice: Invoice,
        pub family_id: Uuid,
        pub family_number: i64,
        /// The guardians' names.
        pub family: String,
    }

    /// A credit note an agent grants on an invoice: some of its lines, or all.
    #[serde(deny_unknown_fields)]
    pub struct CreditNoteInput {
        /// French, printed on the credit note.
        pub reason: String,
        /// Line ids of the invoice; every line not yet credited when absent.
        #[serde(default)]
        pub lines: Option<Vec<Uuid>>,
    }

    /// Totals of one régie and month.
    pub struct BillingTotal {
        pub regie: String,
        pub month: String,
        pub invoices: u32,
        pub invoiced_cents: i64,
        pub credited_cents: i64,
        pub paid_cents: i64,
    }
}

impl From<&QuotientRecordView> for crate::billing::QuotientRecord {
    fn from(v: &QuotientRecordView) -> Self {
        crate::billing::QuotientRecord {
            value: v.value,
            valid_from: v.valid_from,
            valid_until: v.valid_until,
            source: v.source,
        }
    }
}

impl Pricing {
    /// The brackets a grid shows (none unless priced by brackets).
    pub fn brackets(&self) -> Vec<Bracket> {
        match self {
            Pricing::Brackets { brackets } => brackets.clone(),
            _ => Vec::new(),
        }
    }
}
