//! What the apps draw: plain records with strings for dates (ISO 8601), French labels
//! included, so Swift and Kotlin need no rules of their own.

use famille_model::api::{Alert, CalendarSession, Child, DocumentSnapshot, Mutation};

use crate::store::Queued;

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ChildView {
    pub id: String,
    pub first_name: String,
    pub last_name: String,
    pub birth_date: String,
    pub school_level: String,
}

impl From<&Child> for ChildView {
    fn from(c: &Child) -> ChildView {
        ChildView {
            id: c.id.to_string(),
            first_name: c.first_name.clone(),
            last_name: c.last_name.clone(),
            birth_date: c.birth_date.to_string(),
            school_level: c.school_level.label_fr().to_owned(),
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
    /// `available`, `reserved`, `reserved_locked`, `late`, `cancelled`, `full`,
    /// `waitlisted`, `pending_approval`, `closed`, `blocked`.
    pub state: String,
    /// The legend's French words for the state.
    pub state_label: String,
    pub places_left: Option<u32>,
    /// The reservation to cancel (or the pending booking's id).
    pub reservation_id: Option<String>,
    pub blocked_by: Option<String>,
    pub missing_documents: Vec<String>,
    pub booking_deadline: String,
    pub cancellation_deadline: String,
    /// An intent of the parent is not answered by the server yet.
    pub pending: bool,
}

impl CellView {
    pub fn new(c: CalendarSession, pending: bool) -> CellView {
        CellView {
            session_id: c.session_id.to_string(),
            activity_id: c.activity_id.to_string(),
            activity: c.activity,
            option: c.option,
            venue: c.venue,
            state: c.state.as_str().to_owned(),
            state_label: c.state.label_fr().to_owned(),
            places_left: c.places_left,
            reservation_id: c.reservation_id.map(|r| r.to_string()),
            blocked_by: c.blocked_by.map(|b| b.as_str().to_owned()),
            missing_documents: c.missing_documents,
            booking_deadline: c.booking_deadline.to_rfc3339(),
            cancellation_deadline: c.cancellation_deadline.to_rfc3339(),
            pending,
        }
    }
}

/// An intent in the queue.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct QueueItem {
    pub id: String,
    /// `reserve`, `cancel`, `join_waitlist`, `leave_waitlist`.
    pub kind: String,
    /// `pending` (to send), `applied` (answered, awaiting the next pull), `rejected`.
    pub state: String,
    pub code: Option<String>,
    /// The server's French message when rejected.
    pub detail: Option<String>,
    pub created_at: String,
    pub child_id: Option<String>,
    pub session_id: Option<String>,
    pub reservation_id: Option<String>,
}

impl From<&Queued> for QueueItem {
    fn from(q: &Queued) -> QueueItem {
        let (child_id, session_id, reservation_id) = match q.mutation {
            Mutation::Reserve {
                child_id,
                session_id,
                ..
            }
            | Mutation::JoinWaitlist {
                child_id,
                session_id,
                ..
            } => (
                Some(child_id.to_string()),
                Some(session_id.to_string()),
                None,
            ),
            Mutation::Cancel { reservation_id, .. }
            | Mutation::LeaveWaitlist { reservation_id, .. } => {
                (None, None, Some(reservation_id.to_string()))
            }
        };
        QueueItem {
            id: q.mutation.id().to_string(),
            kind: q.mutation.kind().to_owned(),
            state: q.state.clone(),
            code: q.code.clone(),
            detail: q.detail.clone(),
            created_at: q.created_at.clone(),
            child_id,
            session_id,
            reservation_id,
        }
    }
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct AlertView {
    pub id: String,
    pub kind: String,
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
    pub status: String,
    pub status_label: String,
    pub submitted_at: String,
    pub valid_until: Option<String>,
}

impl From<DocumentSnapshot> for DocumentView {
    fn from(d: DocumentSnapshot) -> DocumentView {
        let paris = d.submitted_at.with_timezone(&chrono_tz::Europe::Paris);
        let status_label = match (d.status.as_str(), &d.refusal_reason) {
            ("validated", _) => "Validé".to_owned(),
            ("refused", Some(reason)) => format!("Refusé : {reason}"),
            ("refused", None) => "Refusé".to_owned(),
            _ => format!("Déposé le {}", paris.format("%d/%m/%Y")),
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
    /// `pending` (to send or being sent), `sent`, `rejected`.
    pub state: String,
    pub sent_bytes: u64,
    pub total_bytes: u64,
    pub code: Option<String>,
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
    pub kind: String,
    pub title: String,
    pub body: String,
    /// What to open (document, reservation…).
    pub target_id: String,
    pub child_id: Option<String>,
    /// Whether the sync succeeded (otherwise the data shown may be older).
    pub synced: bool,
}
