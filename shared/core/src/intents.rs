//! The parent's intents, recorded offline: book a day, cancel, join or leave a
//! waitlist. Each is queued with its own id and sent by the next `sync()`; the
//! calendar shows it at once (see `overlay`). An intent never sent is simply
//! withdrawn when the parent takes it back.

use famille_model::ErrorCode;
use famille_model::queue::Mutation;
use uuid::Uuid;

use crate::engine::{Engine, uuid};
use crate::error::{CoreResult, Error};
use crate::views::QueueItem;

impl Engine {
    pub fn queue(&self) -> CoreResult<Vec<QueueItem>> {
        Ok(self.store().queue()?.iter().map(QueueItem::from).collect())
    }

    /// The parent read a refusal (or the notice of a billed cancellation).
    pub fn dismiss(&self, mutation_id: &str) -> CoreResult<bool> {
        self.store().dismiss(uuid(mutation_id, "l'action")?)
    }

    /// Books a day (or joins its waitlist); works offline. Returns the intent's id.
    /// A day the child already holds or waits for (counting the intents still
    /// queued: a cancellation queued before lets a new booking through, as it will
    /// on the server) is refused at once. The check and the write are one write
    /// transaction: an app and its share extension on the same folder cannot both
    /// pass the check.
    fn book(&self, child_id: &str, session_id: &str, waitlist: bool) -> CoreResult<String> {
        let (child_id, session_id) = (uuid(child_id, "l'enfant")?, uuid(session_id, "la journée")?);
        let now = self.now();
        let id = Uuid::now_v7();
        let mutation = if waitlist {
            Mutation::JoinWaitlist {
                id,
                child_id,
                session_id,
            }
        } else {
            Mutation::Reserve {
                id,
                child_id,
                session_id,
            }
        };
        let store = self.store();
        store.in_write(|store| {
            let bookings = Engine::overlaid(store, child_id, session_id, now)?;
            if bookings.iter().any(|b| b.status.is_live()) {
                return Err(Error::rejected(ErrorCode::AlreadyBooked));
            }
            store.enqueue(&mutation, &now.to_rfc3339())
        })?;
        Ok(id.to_string())
    }

    /// Gives a place (or a waitlist entry) back; an intent never sent is simply
    /// withdrawn (in the same write transaction as the check).
    fn release(&self, reservation_id: &str, waitlist: bool) -> CoreResult<String> {
        let reservation_id = uuid(reservation_id, "la réservation")?;
        let id = Uuid::now_v7();
        let mutation = if waitlist {
            Mutation::LeaveWaitlist { id, reservation_id }
        } else {
            Mutation::Cancel { id, reservation_id }
        };
        let now = self.now().to_rfc3339();
        let store = self.store();
        store.in_write(|store| {
            if store.withdraw(reservation_id)? {
                return Ok(reservation_id.to_string());
            }
            store.enqueue(&mutation, &now)?;
            Ok(id.to_string())
        })
    }

    pub fn reserve(&self, child_id: &str, session_id: &str) -> CoreResult<String> {
        self.book(child_id, session_id, false)
    }

    pub fn join_waitlist(&self, child_id: &str, session_id: &str) -> CoreResult<String> {
        self.book(child_id, session_id, true)
    }

    pub fn cancel(&self, reservation_id: &str) -> CoreResult<String> {
        self.release(reservation_id, false)
    }

    pub fn leave_waitlist(&self, reservation_id: &str) -> CoreResult<String> {
        self.release(reservation_id, true)
    }
}
