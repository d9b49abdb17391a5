//! The parent's intents, recorded offline: book a day, cancel, join or leave a
//! waitlist. Each is queued with its own id and sent by the next `sync()`; the
//! calendar shows it at once (see `overlay`). An intent never sent is simply
//! withdrawn when the parent takes it back.

use chrono::Utc;
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

    /// Queues an intent; `waits_for` names the upload (local id) it must follow.
    pub(crate) fn enqueue(
        &self,
        mutation: Mutation,
        waits_for: Option<&str>,
    ) -> CoreResult<String> {
        self.store()
            .enqueue(&mutation, waits_for, &Utc::now().to_rfc3339())?;
        Ok(mutation.id().to_string())
    }

    /// Refuses at once a booking of a day the child already holds or waits for,
    /// counting the intents still queued (a cancellation queued before lets a new
    /// booking through, as it will on the server).
    fn check_not_booked(&self, child_id: Uuid, session_id: Uuid) -> CoreResult<()> {
        let bookings = self.overlaid(child_id, session_id, Utc::now())?;
        if bookings.iter().any(|b| b.status.is_live()) {
            return Err(Error::rejected(ErrorCode::AlreadyBooked));
        }
        Ok(())
    }

    /// Books a day (or joins its waitlist); works offline. Returns the intent's id.
    fn book(&self, child_id: &str, session_id: &str, waitlist: bool) -> CoreResult<String> {
        let (child_id, session_id) = (uuid(child_id, "l'enfant")?, uuid(session_id, "la journée")?);
        self.check_not_booked(child_id, session_id)?;
        let id = Uuid::now_v7();
        self.enqueue(
            if waitlist {
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
            },
            None,
        )
    }

    /// Gives a place (or a waitlist entry) back; an intent never sent is simply
    /// withdrawn.
    fn release(&self, reservation_id: &str, waitlist: bool) -> CoreResult<String> {
        let reservation_id = uuid(reservation_id, "la réservation")?;
        if self.store().withdraw(reservation_id)? {
            return Ok(reservation_id.to_string());
        }
        let id = Uuid::now_v7();
        self.enqueue(
            if waitlist {
                Mutation::LeaveWaitlist { id, reservation_id }
            } else {
                Mutation::Cancel { id, reservation_id }
            },
            None,
        )
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
