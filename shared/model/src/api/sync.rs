//! `GET /api/v1/sync`: the family's change feed, each entry the entity's current
//! state or a tombstone.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{ActivitySnapshot, DocumentSnapshot, SessionSnapshot};
use crate::booking::ReservationStatus;

vocabulary! {
    /// What a feed entry is about.
    EntityKind {
        Activity => "activity", "Activité";
        Session => "session", "Séance";
        Reservation => "reservation", "Réservation";
        Document => "document", "Document";
        Invoice => "invoice", "Facture";
        /// A thread with its messages.
        Thread => "thread", "Conversation";
        /// The family's quotient familial records (the entity's id is the family's).
        Quotient => "quotient", "Quotient familial";
    }
}

wire! {
    pub struct ReservationSnapshot {
        pub id: Uuid,
        pub session_id: Uuid,
        pub child_id: Uuid,
        pub status: ReservationStatus,
        pub free_cancel_until: Option<DateTime<Utc>>,
        pub updated_at: DateTime<Utc>,
    }

    /// One entry of the change feed: the entity's current state, or a tombstone.
    pub struct Change {
        pub seq: i64,
        pub entity: EntityKind,
        pub id: Uuid,
        pub deleted: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub activity: Option<ActivitySnapshot>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub session: Option<SessionSnapshot>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub reservation: Option<ReservationSnapshot>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub document: Option<DocumentSnapshot>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub invoice: Option<super::Invoice>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub quotients: Option<Vec<super::QuotientRecordView>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub thread: Option<super::Thread>,
    }

    pub struct SyncPage {
        pub changes: Vec<Change>,
        /// Give it back as `cursor` next time.
        pub cursor: i64,
        pub has_more: bool,
    }
}
