//! The phone's queue of intents as the wire carries it: every action a parent takes
//! (book, cancel, join or leave a waitlist; later send a message, report an
//! absence…) is recorded on the phone with its own id (UUID v7), possibly offline,
//! and sent in order with `POST /api/v1/mutations`; the server applies each once
//! (idempotent by id) and answers each.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::ErrorCode;

/// A parent's intent, recorded on the phone (possibly offline) with its own id
/// (UUID v7) and applied once by the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Mutation {
    Reserve {
        id: Uuid,
        child_id: Uuid,
        session_id: Uuid,
    },
    Cancel {
        id: Uuid,
        reservation_id: Uuid,
    },
    JoinWaitlist {
        id: Uuid,
        child_id: Uuid,
        session_id: Uuid,
    },
    LeaveWaitlist {
        id: Uuid,
        reservation_id: Uuid,
    },
    /// A message: in a thread (`thread_id`), or opening one with a service
    /// (`service` and `subject`). `uploads` are finished uploads (purpose
    /// `attachment`) the phone sent first.
    SendMessage {
        id: Uuid,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        thread_id: Option<Uuid>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        service: Option<Uuid>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        subject: Option<String>,
        body: String,
        #[serde(default)]
        uploads: Vec<Uuid>,
    },
    /// The parent read a thread up to `up_to` (possibly offline): the services see
    /// "lu".
    ReadThread {
        id: Uuid,
        thread_id: Uuid,
        up_to: chrono::DateTime<chrono::Utc>,
    },
}

impl Mutation {
    pub fn id(&self) -> Uuid {
        match self {
            Mutation::Reserve { id, .. }
            | Mutation::Cancel { id, .. }
            | Mutation::JoinWaitlist { id, .. }
            | Mutation::LeaveWaitlist { id, .. }
            | Mutation::SendMessage { id, .. }
            | Mutation::ReadThread { id, .. } => *id,
        }
    }

    /// The kind (its wire name is the `kind` field).
    pub fn kind(&self) -> IntentKind {
        match self {
            Mutation::Reserve { .. } => IntentKind::Reserve,
            Mutation::Cancel { .. } => IntentKind::Cancel,
            Mutation::JoinWaitlist { .. } => IntentKind::JoinWaitlist,
            Mutation::LeaveWaitlist { .. } => IntentKind::LeaveWaitlist,
            Mutation::SendMessage { .. } => IntentKind::SendMessage,
            Mutation::ReadThread { .. } => IntentKind::ReadThread,
        }
    }

    /// The child and session a booking intent is about.
    pub fn booking_target(&self) -> Option<(Uuid, Uuid)> {
        match *self {
            Mutation::Reserve {
                child_id,
                session_id,
                ..
            }
            | Mutation::JoinWaitlist {
                child_id,
                session_id,
                ..
            } => Some((child_id, session_id)),
            Mutation::Cancel { .. }
            | Mutation::LeaveWaitlist { .. }
            | Mutation::SendMessage { .. }
            | Mutation::ReadThread { .. } => None,
        }
    }

    /// The uploads an intent is sent after (a message's attachments). On the phone
    /// they name its local uploads until sent; the server gets its own ids.
    pub fn uploads(&self) -> &[Uuid] {
        match self {
            Mutation::SendMessage { uploads, .. } => uploads,
            _ => &[],
        }
    }

    /// The same intent naming other uploads (the server's ids of the phone's).
    pub fn with_uploads(mut self, ids: Vec<Uuid>) -> Mutation {
        if let Mutation::SendMessage { uploads, .. } = &mut self {
            *uploads = ids;
        }
        self
    }

    /// The reservation a release intent is about.
    pub fn released_reservation(&self) -> Option<Uuid> {
        match *self {
            Mutation::Cancel { reservation_id, .. }
            | Mutation::LeaveWaitlist { reservation_id, .. } => Some(reservation_id),
            Mutation::Reserve { .. }
            | Mutation::JoinWaitlist { .. }
            | Mutation::SendMessage { .. }
            | Mutation::ReadThread { .. } => None,
        }
    }
}

vocabulary! {
    /// The kinds of intents (the `kind` of a mutation).
    IntentKind {
        Reserve => "reserve", "Réservation";
        Cancel => "cancel", "Annulation";
        JoinWaitlist => "join_waitlist", "Inscription en liste d'attente";
        LeaveWaitlist => "leave_waitlist", "Sortie de la liste d'attente";
        SendMessage => "send_message", "Message";
        ReadThread => "read_thread", "Lecture d'une conversation";
    }
}

/// `POST /api/v1/mutations`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MutationBatch {
    /// Applied in order; at most 200 per call. Each is read on its own, so that a
    /// kind this server does not know (a newer app) is answered `invalid_mutation`
    /// while the others are applied.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Mutation>, max_items = 200))]
    pub mutations: Vec<serde_json::Value>,
}

/// Whether the server applied an intent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MutationStatus {
    Applied,
    Rejected,
}

/// The server's answer to one intent (the same answer every time the id is sent).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MutationResult {
    pub id: Uuid,
    pub status: MutationStatus,
    /// Why it was rejected; or, on an applied intent, what the parent must hear
    /// (`cancel_deadline_passed`: the cancellation is recorded but billed).
    pub code: Option<ErrorCode>,
    /// The day stays billed (a late cancellation, applied).
    #[serde(default)]
    pub billed: bool,
    /// French, for the parent.
    pub detail: Option<String>,
    /// The reservation the intent created or changed.
    pub reservation_id: Option<Uuid>,
    /// The thread a message went into (a new one when it opened it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread_id: Option<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MutationResults {
    pub results: Vec<MutationResult>,
}

vocabulary! {
    /// An intent in the phone's queue.
    QueueState {
        /// To send (or waiting for the upload it needs).
        Pending => "pending", "En attente d'envoi";
        /// Answered; kept until the next pull brings the server's state.
        Applied => "applied", "Enregistré";
        /// Refused, with the server's French message, until the parent dismisses it.
        Rejected => "rejected", "Refusé";
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_carry_typed_codes_and_the_billed_flag() {
        let r = MutationResult {
            id: Uuid::nil(),
            status: MutationStatus::Applied,
            code: Some(ErrorCode::CancelDeadlinePassed),
            billed: true,
            detail: None,
            reservation_id: None,
            thread_id: None,
        };
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["code"], "cancel_deadline_passed");
        assert_eq!(json["status"], "applied");
        assert_eq!(json["billed"], true);
        let back: MutationResult = serde_json::from_value(json).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn a_message_names_its_uploads_and_takes_the_servers_ids() {
        let (local, server) = (Uuid::now_v7(), Uuid::now_v7());
        let m = Mutation::SendMessage {
            id: Uuid::nil(),
            thread_id: Some(Uuid::nil()),
            service: None,
            subject: None,
            body: "Bonjour".into(),
            uploads: vec![local],
        };
        assert_eq!(m.uploads(), &[local]);
        let sent = m.with_uploads(vec![server]);
        assert_eq!(sent.uploads(), &[server]);
        assert_eq!(sent.kind(), IntentKind::SendMessage);
        // A booking names none and is left as it is.
        let r = Mutation::Cancel {
            id: Uuid::nil(),
            reservation_id: Uuid::nil(),
        };
        assert!(r.uploads().is_empty());
        assert_eq!(r.clone().with_uploads(vec![server]), r);
    }
}
