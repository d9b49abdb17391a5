//! The queue of the parent's intents, in the order they were made: pending (to
//! send, possibly waiting for an upload it needs), applied (answered; kept until the
//! next pull brings the server's state), rejected (kept, with the server's French
//! message, until dismissed).

use famille_model::ErrorCode;
use famille_model::queue::{Mutation, QueueState};
use rusqlite::params;
use uuid::Uuid;

use super::Store;
use crate::error::{CoreResult, Error};

/// A queue entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Queued {
    pub mutation: Mutation,
    pub state: QueueState,
    pub code: Option<ErrorCode>,
    pub detail: Option<String>,
    /// Applied, and the day stays billed (a late cancellation).
    pub billed: bool,
    pub created_at: String,
    pub attempts: i64,
}

/// A server's answer, recorded after a push.
pub struct Answer<'a> {
    pub id: Uuid,
    pub applied: bool,
    pub code: Option<ErrorCode>,
    pub billed: bool,
    pub detail: Option<&'a str>,
}

const COLUMNS: &str = "json, state, code, detail, billed, created_at, attempts";

impl Store {
    /// Queues an intent; the uploads it names ([`Mutation::uploads`], local ids)
    /// are sent before it.
    pub fn enqueue(&self, mutation: &Mutation, now: &str) -> CoreResult<()> {
        self.conn.execute(
            "INSERT INTO queue (id, json, created_at) VALUES (?1, ?2, ?3)",
            params![
                mutation.id().to_string(),
                serde_json::to_string(mutation)?,
                now
            ],
        )?;
        Ok(())
    }

    /// Removes an intent that was never sent (a reservation cancelled before it
    /// left the phone). `false` if it was sent or answered already.
    pub fn withdraw(&self, id: Uuid) -> CoreResult<bool> {
        Ok(self.conn.execute(
            "DELETE FROM queue WHERE id = ?1 AND state = 'pending' AND attempts = 0",
            [id.to_string()],
        )? == 1)
    }

    fn queued(&self, filter: &str) -> CoreResult<Vec<Queued>> {
        let sql = format!("SELECT {COLUMNS} FROM queue {filter}");
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, bool>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, i64>(6)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (json, state, code, detail, billed, created_at, attempts) = row?;
            out.push(Queued {
                mutation: serde_json::from_str(&json)?,
                state: state
                    .parse()
                    .map_err(|_| Error::invalid(format!("état de file inconnu : {state}")))?,
                code: code.and_then(|c| c.parse().ok()),
                detail,
                billed,
                created_at,
                attempts,
            });
        }
        Ok(out)
    }

    /// Everything in the queue, oldest first.
    pub fn queue(&self) -> CoreResult<Vec<Queued>> {
        self.queued("ORDER BY seq")
    }

    /// The next intents to send, in order: pending ones whose uploads have all
    /// reached the server, each naming the server's ids of its uploads. The first
    /// one still waiting for an upload stops the batch (what comes after it was
    /// meant after it).
    pub fn to_send(&self, limit: usize) -> CoreResult<Vec<Mutation>> {
        let pending = self.queued("WHERE state = 'pending' ORDER BY seq")?;
        let mut batch = Vec::new();
        'intents: for q in pending {
            if batch.len() >= limit {
                break;
            }
            let mut server_ids = Vec::new();
            for local in q.mutation.uploads() {
                match self.sent_upload(&local.to_string())? {
                    Some(id) => server_ids.push(id),
                    None => break 'intents,
                }
            }
            batch.push(if server_ids.is_empty() {
                q.mutation
            } else {
                q.mutation.with_uploads(server_ids)
            });
        }
        Ok(batch)
    }

    /// Intents waiting for an upload the server refused (or the parent withdrew)
    /// fail visibly: rejected with `upload_refused`. Returns how many.
    pub fn reject_orphans(&mut self) -> CoreResult<usize> {
        let mut orphans = Vec::new();
        for q in self.queued("WHERE state = 'pending' ORDER BY seq")? {
            for local in q.mutation.uploads() {
                let state = self.upload_state(&local.to_string())?;
                if matches!(state, None | Some(super::UploadState::Rejected)) {
                    orphans.push(q.mutation.id());
                    break;
                }
            }
        }
        let tx = self.conn.transaction()?;
        for id in &orphans {
            tx.execute(
                "UPDATE queue SET state = 'rejected', code = ?2, detail = ?3 WHERE id = ?1 AND state = 'pending'",
                params![
                    id.to_string(),
                    ErrorCode::UploadRefused.as_str(),
                    ErrorCode::UploadRefused.label_fr()
                ],
            )?;
        }
        tx.commit()?;
        Ok(orphans.len())
    }

    pub fn pending_count(&self) -> CoreResult<u64> {
        Ok(self.conn.query_row(
            "SELECT COUNT(*) FROM queue WHERE state = 'pending'",
            [],
            |r| r.get::<_, i64>(0),
        )? as u64)
    }

    /// Counts a sending attempt before the request leaves, so an intent that may
    /// have reached the server is never withdrawn silently.
    pub fn mark_attempt(&mut self, ids: &[Uuid]) -> CoreResult<()> {
        let tx = self.conn.transaction()?;
        for id in ids {
            tx.execute(
                "UPDATE queue SET attempts = attempts + 1 WHERE id = ?1",
                [id.to_string()],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Records the server's answers, all at once.
    pub fn record_answers(&mut self, answers: &[Answer<'_>]) -> CoreResult<()> {
        let tx = self.conn.transaction()?;
        for a in answers {
            let state = if a.applied {
                QueueState::Applied
            } else {
                QueueState::Rejected
            };
            tx.execute(
                "UPDATE queue SET state = ?2, code = ?3, detail = ?4, billed = ?5 WHERE id = ?1 AND state = 'pending'",
                params![
                    a.id.to_string(),
                    state.as_str(),
                    a.code.map(|c| c.as_str()),
                    a.detail,
                    a.billed
                ],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// After a complete pull, the server state includes every applied intent. One
    /// that left a day billed stays until the parent has read why ("OUPS !").
    pub fn forget_applied(&self) -> CoreResult<usize> {
        Ok(self.conn.execute(
            "DELETE FROM queue WHERE state = 'applied' AND NOT billed",
            [],
        )?)
    }

    /// The parent read the rejection (or the notice of a billed cancellation).
    pub fn dismiss(&self, id: Uuid) -> CoreResult<bool> {
        Ok(self.conn.execute(
            "DELETE FROM queue WHERE id = ?1 AND (state = 'rejected' OR (state = 'applied' AND billed))",
            [id.to_string()],
        )? == 1)
    }
}
