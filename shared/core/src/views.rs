//! What the apps draw: plain records with strings for dates (ISO 8601), the model's
//! vocabularies as enums, French labels included, so Swift and Kotlin need no rules
//! of their own.

use famille_model::ErrorCode;
use famille_model::api::{
    Alert, AlertKind, CalendarSession, Child, DocumentSnapshot, DocumentStatus,
};
use famille_model::booking::{BlockedBy, CellState};
use famille_model::push::PushKind;
use famille_model::queue::{IntentKind, QueueState};

use crate::store::{Queued, UploadState};

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ChildView {
    pub id: String,
    pub first_name: String,
    pub last_name: String,
    pub birth_date: String,
    /// The level of the school year `today` is in ("CM2").
    pub school_level: String,
}

impl ChildView {
    /// The child as on `today` (its level follows the school year, even offline
    /// across 1 September).
    pub fn on(c: &Child, today: chrono::NaiveDate) -> ChildView {
        ChildView {
            id: c.id.to_string(),
            first_name: c.first_name.clone(),
            last_name: c.last_name.clone(),
            birth_date: c.birth_date.to_string(),
            school_level: c.level_on(today).label_fr().to_owned(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct DayView {
    /// `2026-12-09`
    pub date: String,
    pub cells: Vec<CellView>,
}

/// One session of one day, coloured by the guide's legend.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CellView {
    pub session_id: String,
    pub activity_id: String,
    pub activity: String,
    pub option: String,
    pub venue: String,
    pub state: CellState,
    /// The legend's French words for the state.
    pub state_label: String,
    pub places_left: Option<u32>,
    /// The reservation to cancel (or the pending booking's id).
    pub reservation_id: Option<String>,
    pub blocked_by: Option<BlockedBy>,
    pub missing_documents: Vec<String>,
    pub booking_deadline: String,
    pub cancellation_deadline: String,
    /// An intent of the parent is not answered by the server yet.
    pub pending: bool,
    /// Booked, but the child no longer fits the activity (its level or age
    /// changed): still shown and cancellable, and the services are told.
    pub no_longer_eligible: bool,
    /// A deadline of this day is close and the server's time is not known yet
    /// (never synced): the state is the phone clock's guess.
    pub time_unsure: bool,
    /// What the day costs, in cents and in French (« 16,30 € »), before a sibling
    /// reduction; absent when the option is not billed.
    pub price_cents: Option<i64>,
    pub price_label: Option<String>,
}

impl CellView {
    pub fn new(c: CalendarSession, pending: bool) -> CellView {
        CellView {
            session_id: c.session_id.to_string(),
            activity_id: c.activity_id.to_string(),
            activity: c.activity,
            option: c.option,
            venue: c.venue,
            state: c.state,
            state_label: c.state.label_fr().to_owned(),
            places_left: c.places_left,
            reservation_id: c.reservation_id.map(|r| r.to_string()),
            blocked_by: c.blocked_by,
            missing_documents: c.missing_documents,
            booking_deadline: c.booking_deadline.to_rfc3339(),
            cancellation_deadline: c.cancellation_deadline.to_rfc3339(),
            pending,
            no_longer_eligible: c.no_longer_eligible,
            time_unsure: false,
            price_cents: c.price_cents,
            price_label: c.price_cents.map(famille_model::fr::euros),
        }
    }
}

/// An intent in the queue.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct QueueItem {
    pub id: String,
    pub kind: IntentKind,
    pub state: QueueState,
    pub code: Option<ErrorCode>,
    /// The server's French message: why it was refused, or, for an applied
    /// cancellation that stays billed, the "OUPS !" notice to show once.
    pub detail: Option<String>,
    /// Applied, but the day stays billed (a late cancellation): a notice, not an
    /// error.
    pub billed: bool,
    pub created_at: String,
    pub child_id: Option<String>,
    pub session_id: Option<String>,
    pub reservation_id: Option<String>,
}

impl From<&Queued> for QueueItem {
    fn from(q: &Queued) -> QueueItem {
        let target = q.mutation.booking_target();
        QueueItem {
            id: q.mutation.id().to_string(),
            kind: q.mutation.kind(),
            state: q.state,
            code: q.code,
            detail: q.detail.clone(),
            billed: q.billed,
            created_at: q.created_at.clone(),
            child_id: target.map(|(c, _)| c.to_string()),
            session_id: target.map(|(_, s)| s.to_string()),
            reservation_id: q.mutation.released_reservation().map(|r| r.to_string()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct AlertView {
    pub id: String,
    pub kind: AlertKind,
    pub message: String,
    pub child_id: Option<String>,
    /// The activities it blocks.
    pub blocks: Vec<String>,
}

impl From<Alert> for AlertView {
    fn from(a: Alert) -> AlertView {
        AlertView {
            id: a.id,
            kind: a.kind,
            message: a.message,
            child_id: a.child_id.map(|c| c.to_string()),
            blocks: a.blocks,
        }
    }
}

/// A document with what the parent reads: "Déposé le …", "Validé", "Refusé : motif".
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct DocumentView {
    pub id: String,
    pub document_type: String,
    pub child_id: Option<String>,
    pub status: DocumentStatus,
    pub status_label: String,
    pub submitted_at: String,
    pub valid_until: Option<String>,
}

impl From<DocumentSnapshot> for DocumentView {
    fn from(d: DocumentSnapshot) -> DocumentView {
        let paris = d.submitted_at.with_timezone(&chrono_tz::Europe::Paris);
        let status_label = match (d.status, &d.refusal_reason) {
            (DocumentStatus::Validated, _) => "Validé".to_owned(),
            (DocumentStatus::Refused, Some(reason)) => format!("Refusé : {reason}"),
            (DocumentStatus::Refused, None) => "Refusé".to_owned(),
            (DocumentStatus::Pending, _) => format!("Déposé le {}", paris.format("%d/%m/%Y")),
        };
        DocumentView {
            id: d.id.to_string(),
            document_type: d.document_type,
            child_id: d.child_id.map(|c| c.to_string()),
            status: d.status,
            status_label,
            submitted_at: d.submitted_at.to_rfc3339(),
            valid_until: d.valid_until.map(|v| v.to_string()),
        }
    }
}

/// A document the parent sent from the phone: on its way, sent, or refused.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct OutgoingView {
    pub id: String,
    pub document_type: String,
    pub child_id: Option<String>,
    pub state: UploadState,
    pub sent_bytes: u64,
    pub total_bytes: u64,
    pub code: Option<ErrorCode>,
    /// The server's French message when refused.
    pub detail: Option<String>,
    /// The document it became, once sent.
    pub document_id: Option<String>,
}

impl From<crate::store::OutgoingDocument> for OutgoingView {
    fn from(d: crate::store::OutgoingDocument) -> OutgoingView {
        OutgoingView {
            id: d.id,
            document_type: d.document_type,
            child_id: d.child_id,
            state: d.state,
            sent_bytes: d.offset as u64,
            total_bytes: d.length as u64,
            code: d.code,
            detail: d.detail,
            document_id: d.document_id,
        }
    }
}

/// Pages prepared for sending, and the bytes to send (the JPEG of a single page, or
/// the PDF of several).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CapturedDocument {
    pub bytes: Vec<u8>,
    /// `document.jpg` or `document.pdf`.
    pub filename: String,
    pub pages: Vec<crate::capture::CapturedPage>,
}

#[derive(Debug, Clone, Default, PartialEq, uniffi::Record)]
pub struct SyncReport {
    /// Intents sent, and how the server answered them.
    pub sent: u32,
    pub applied: u32,
    pub rejected: u32,
    /// Of the applied ones, those that leave a day billed (late cancellations).
    pub billed: u32,
    /// Feed entries received.
    pub changes: u32,
    pub cursor: i64,
    /// Documents sent completely, and refused by the server, during this sync.
    pub documents_sent: u32,
    pub documents_rejected: u32,
}

/// What to show for a push once its subject is synced.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct PushDisplay {
    pub kind: PushKind,
    pub title: String,
    pub body: String,
    /// What to open (document, reservation, invoice; for a message, its thread).
    pub target_id: String,
    pub child_id: Option<String>,
    /// Whether the sync succeeded (otherwise the data shown may be older).
    pub synced: bool,
}

/// An invoice or credit note as « Mes factures » lists it.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct InvoiceView {
    pub id: String,
    pub kind: famille_model::billing::InvoiceKind,
    pub number: String,
    /// « Facture d'octobre 2026 », « Avoir sur la facture ENF-2026-000001 ».
    pub label: String,
    pub regie: String,
    /// `YYYY-MM`.
    pub period: String,
    /// ISO dates, and in French (« 30 novembre 2026 »).
    pub issued_on: String,
    pub issued_on_label: String,
    pub due_on: String,
    pub due_on_label: String,
    /// Cents (negative for a credit note), and in French (« 103,84 € »).
    pub total_cents: i64,
    pub total_label: String,
    pub credited_cents: i64,
    pub paid_cents: i64,
    /// What is left to pay (never below zero).
    pub left_to_pay_cents: i64,
    pub status: famille_model::billing::InvoiceStatus,
    pub status_label: String,
    pub credits_invoice_id: Option<String>,
    /// Whether its lines are on the phone (read offline).
    pub lines_on_phone: bool,
    /// Whether « Payer en ligne » is offered: the régie takes PayFiP and the model
    /// says there is enough left to pay (`payments::online_amount`).
    pub payable_online: bool,
}

impl InvoiceView {
    pub fn new(i: &famille_model::api::Invoice, lines_on_phone: bool) -> InvoiceView {
        use famille_model::fr;
        let left = (i.total_cents - i.credited_cents - i.paid_cents).max(0);
        InvoiceView {
            id: i.id.to_string(),
            kind: i.kind,
            number: i.number.clone(),
            label: i.label.clone(),
            regie: i.regie.clone(),
            period: i.period.clone(),
            issued_on: i.issued_on.to_string(),
            issued_on_label: fr::date(i.issued_on),
            due_on: i.due_on.to_string(),
            due_on_label: fr::date(i.due_on),
            total_cents: i.total_cents,
            total_label: fr::euros(i.total_cents),
            credited_cents: i.credited_cents,
            paid_cents: i.paid_cents,
            left_to_pay_cents: if i.kind == famille_model::billing::InvoiceKind::Invoice {
                left
            } else {
                0
            },
            status: i.status,
            status_label: i.status.label_fr().to_owned(),
            credits_invoice_id: i.credits_invoice_id.map(|c| c.to_string()),
            lines_on_phone,
            payable_online: i.online_payment && famille_model::payments::online_amount(i).is_ok(),
        }
    }
}

/// A certificate of the guide's « Attestation de paiement » page.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CertificateView {
    pub id: String,
    pub kind: famille_model::certificates::CertificateKind,
    /// « Attestation de paiement », « Attestation fiscale (frais de garde…) ».
    pub label: String,
    pub year: i32,
    pub number: String,
    /// « 15 janvier 2027 ».
    pub issued_on_label: String,
    pub total_cents: i64,
    pub total_label: String,
    pub rows: Vec<CertificateRowView>,
}

/// A child (and an activity on the payment certificate) and what was paid.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CertificateRowView {
    pub child_id: String,
    pub child: String,
    /// Empty on the tax certificate.
    pub activity: String,
    pub cents: i64,
    pub amount_label: String,
}

impl From<&famille_model::api::Certificate> for CertificateView {
    fn from(c: &famille_model::api::Certificate) -> CertificateView {
        use famille_model::fr;
        CertificateView {
            id: c.id.to_string(),
            kind: c.kind,
            label: c.kind.label_fr().to_owned(),
            year: c.year,
            number: c.number.clone(),
            issued_on_label: fr::date(c.issued_on),
            total_cents: c.total_cents,
            total_label: fr::euros(c.total_cents),
            rows: c
                .rows
                .iter()
                .map(|r| CertificateRowView {
                    child_id: r.child_id.to_string(),
                    child: r.child.clone(),
                    activity: r.activity.clone(),
                    cents: r.cents,
                    amount_label: fr::euros(r.cents),
                })
                .collect(),
        }
    }
}

/// An online payment just started: the PayFiP page to open in the system browser.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct PaymentStartView {
    pub payment_id: String,
    pub url: String,
}

/// A payment as the family sees it after paying.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct PaymentView {
    pub id: String,
    pub status: famille_model::payments::PaymentStatus,
    /// « Payé », « Refusé par la banque »…
    pub status_label: String,
    /// Whether it is over (paid, refused, abandoned…): the screen stops waiting.
    pub settled: bool,
    /// What was asked, and what the bank took once known (cents, and in French).
    pub amount_cents: i64,
    pub amount_label: String,
    pub paid_cents: Option<i64>,
    pub invoice_id: Option<String>,
}

impl From<&famille_model::api::Payment> for PaymentView {
    fn from(p: &famille_model::api::Payment) -> PaymentView {
        PaymentView {
            id: p.id.to_string(),
            status: p.status,
            status_label: p.status.label_fr().to_owned(),
            settled: p.status != famille_model::payments::PaymentStatus::Pending,
            amount_cents: p.amount_cents,
            amount_label: famille_model::fr::euros(p.paid_cents.unwrap_or(p.amount_cents)),
            paid_cents: p.paid_cents,
            invoice_id: p.invoice_id.map(|i| i.to_string()),
        }
    }
}

/// One line of an invoice: a child's day, its meal or its surcharge.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct InvoiceLineView {
    pub child_id: String,
    pub child: String,
    /// ISO, and « mercredi 7 octobre ».
    pub date: String,
    pub day_label: String,
    pub activity: String,
    pub option: String,
    pub kind: famille_model::billing::LineKind,
    pub kind_label: String,
    pub quantity: u32,
    pub unit_cents: i64,
    pub amount_cents: i64,
    pub amount_label: String,
    /// « QF 800 à 1 099 € », when the day was priced by bracket.
    pub bracket_label: Option<String>,
}

impl From<&famille_model::api::InvoiceLine> for InvoiceLineView {
    fn from(l: &famille_model::api::InvoiceLine) -> InvoiceLineView {
        use famille_model::fr;
        InvoiceLineView {
            child_id: l.child_id.to_string(),
            child: l.child.clone(),
            date: l.date.to_string(),
            day_label: fr::day(l.date),
            activity: l.activity.clone(),
            option: l.option.clone(),
            kind: l.kind,
            kind_label: l.kind.label_fr().to_owned(),
            quantity: l.quantity,
            unit_cents: l.unit_cents,
            amount_cents: l.amount_cents,
            amount_label: fr::euros(l.amount_cents),
            bracket_label: l.bracket.map(|b| fr::bracket(b.qf_min, b.qf_max)),
        }
    }
}

/// An invoice with its lines (empty while they are not on the phone).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct InvoiceDetailView {
    pub invoice: InvoiceView,
    pub lines: Vec<InvoiceLineView>,
}

/// A service the family may write to.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ServiceView {
    pub id: String,
    pub name: String,
}

/// Where a message of the family stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum MessageState {
    /// On the server.
    Sent,
    /// « En attente d'envoi »: queued on the phone (its attachments first).
    Pending,
    /// Refused by the server (`detail` says why): to rewrite or dismiss.
    Refused,
}

/// A thread in the MESSAGES tab.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ThreadSummaryView {
    /// The server's id, or the queued intent's for a thread opened offline.
    pub id: String,
    pub service: String,
    pub subject: String,
    pub closed: bool,
    /// « 8 décembre à 18:30 » (Europe/Paris).
    pub last_message_label: String,
    /// The first line of the last message.
    pub preview: String,
    /// Messages of the services not read yet.
    pub unread: u32,
    /// `Pending` while a message of the family in it waits to be sent.
    pub state: MessageState,
}

/// A thread with its messages, oldest first.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ThreadView {
    pub id: String,
    pub service: String,
    pub subject: String,
    pub closed: bool,
    pub messages: Vec<MessageView>,
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct MessageView {
    pub id: String,
    /// Written by the family (drawn on the right).
    pub from_family: bool,
    /// The service's name for its messages (agents are not named to families).
    pub author: String,
    pub body: String,
    pub attachments: Vec<AttachmentView>,
    /// « 8 décembre à 18:30 » (Europe/Paris).
    pub time_label: String,
    /// For the family's messages: the services read it (« lu »).
    pub read: bool,
    pub state: MessageState,
    /// Why the server refused it (French).
    pub detail: Option<String>,
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct AttachmentView {
    pub id: String,
    pub filename: Option<String>,
    /// Empty while the file is still on the phone.
    pub content_type: String,
    pub size_bytes: i64,
    /// Not sent yet (its message is pending).
    pub on_phone: bool,
    /// The server refused the file: the message cannot go without it.
    pub refused: bool,
}
