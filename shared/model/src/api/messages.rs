//! Messages between a family and the services: the services a family may write to,
//! threads with their messages and attachments. Instants are UTC (shown in
//! Europe/Paris); sizes in bytes.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::messages::{Side, ThreadStatus};

wire! {
    /// A service a family may write to (`GET /api/v1/services`).
    pub struct Service {
        pub id: Uuid,
        pub name: String,
    }

    /// A service as the agents configure it.
    pub struct StaffService {
        pub id: Uuid,
        pub name: String,
        /// Its threads' subjects stay out of pushes and mails (a social or health
        /// service): the notification only says a message arrived.
        pub sensitive: bool,
        /// The agents who read its inbox.
        pub agents: Vec<Uuid>,
    }

    /// `POST /api/v1/staff/services`, `PUT /api/v1/staff/services/{id}` (admins).
    /// On a change, what is left out stays as it was (a rename keeps the service
    /// sensitive and its agents); on creation, not sensitive and no agents.
    pub struct ServiceInput {
        pub name: String,
        #[serde(default)]
        pub sensitive: Option<bool>,
        /// Staff accounts (agents or admins); the threads assigned to an agent
        /// taken out go back to the service.
        #[serde(default)]
        pub agents: Option<Vec<Uuid>>,
    }

    /// A file attached to a message (`GET …/attachments/{id}` gives its bytes).
    pub struct Attachment {
        pub id: Uuid,
        pub filename: Option<String>,
        pub content_type: String,
        pub size_bytes: i64,
    }

    pub struct Message {
        pub id: Uuid,
        pub side: Side,
        /// Who wrote it as the other side sees it: the parent's name for the
        /// services; the service's name for the family (agents are not named).
        pub author: String,
        pub body: String,
        pub attachments: Vec<Attachment>,
        pub created_at: DateTime<Utc>,
        /// Read by the other side ("lu").
        pub read: bool,
    }

    /// A thread with its messages, oldest first (`GET /api/v1/threads/{id}`; the
    /// change feed carries the same).
    pub struct Thread {
        pub id: Uuid,
        pub service_id: Uuid,
        pub service: String,
        pub subject: String,
        pub status: ThreadStatus,
        pub opened_by: Side,
        pub created_at: DateTime<Utc>,
        pub last_message_at: DateTime<Utc>,
        /// Messages of the other side the reader has not read (for a family, the
        /// services'; in a `StaffThread`, the family's).
        pub unread: u32,
        /// Up to when the services have read the family's messages.
        pub services_read_up_to: Option<DateTime<Utc>>,
        pub messages: Vec<Message>,
    }

    /// A thread in a list, without its messages.
    pub struct ThreadSummary {
        pub id: Uuid,
        pub service_id: Uuid,
        pub service: String,
        pub subject: String,
        pub status: ThreadStatus,
        pub last_message_at: DateTime<Utc>,
        /// Unread by the caller's side.
        pub unread: u32,
    }

    /// A thread in an agent's inbox.
    pub struct StaffThreadSummary {
        pub id: Uuid,
        pub family_id: Uuid,
        /// The family's name ("TESTBO").
        pub family: String,
        pub service_id: Uuid,
        pub service: String,
        pub subject: String,
        pub status: ThreadStatus,
        pub assigned_to: Option<Uuid>,
        pub last_message_at: DateTime<Utc>,
        /// Messages of the family the services have not read.
        pub unread: u32,
    }

    /// A thread as an agent reads it (its `unread`: the family's messages the
    /// services have not read).
    pub struct StaffThread {
        pub family_id: Uuid,
        pub family: String,
        pub assigned_to: Option<Uuid>,
        /// Up to when the family has read the services' messages.
        pub family_read_up_to: Option<DateTime<Utc>>,
        #[serde(flatten)]
        pub thread: Thread,
    }

    /// `POST /api/v1/threads`: a family opens a thread.
    pub struct NewThread {
        pub service: Uuid,
        pub subject: String,
        pub body: String,
        /// Finished uploads (`POST /api/v1/uploads` with `purpose: attachment`).
        #[serde(default)]
        pub attachments: Vec<Uuid>,
    }

    /// `POST /api/v1/staff/families/{id}/threads`: an agent opens a thread.
    pub struct StaffNewThread {
        pub service: Uuid,
        pub subject: String,
        pub body: String,
    }

    /// `POST /api/v1/staff/threads/{id}/messages` (agents attach no files yet).
    pub struct StaffNewMessage {
        pub body: String,
    }

    /// `POST /api/v1/threads/{id}/messages`.
    pub struct NewMessage {
        /// May be empty when files go with it.
        pub body: String,
        #[serde(default)]
        pub attachments: Vec<Uuid>,
    }

    /// `POST …/threads/{id}/read`: the reader saw the thread up to this instant
    /// (the newest message shown); the mark never moves back.
    pub struct ThreadRead {
        pub up_to: DateTime<Utc>,
    }

    /// `PUT /api/v1/staff/threads/{id}/assignee`: `null` leaves it to the service.
    pub struct ThreadAssignee {
        pub account_id: Option<Uuid>,
    }
}
