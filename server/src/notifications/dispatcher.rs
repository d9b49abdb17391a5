//! Sends what the outbox holds: claims due deliveries with a lease, sends them
//! outside any transaction, many at once, and records each outcome (sent, retry
//! later with backoff or at FCM's `Retry-After`, token forgotten, dropped).

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::Duration;
use tokio::task::JoinSet;

use super::fcm::{PushMessage, SendOutcome};
use crate::state::AppState;
use crate::store::StoreResult;
use crate::store::outbox::{Channel, Delivery};

/// Deliveries claimed per round.
pub const BATCH: i64 = 256;
/// Sends in flight at once: enough that a burst is not serialised behind FCM's
/// latency, few enough to stay polite.
pub const CONCURRENCY: usize = 64;
/// After this many attempts (about a day of backoff), a delivery is dropped.
pub const MAX_ATTEMPTS: i32 = 12;
/// Phones not seen (re-registered) for this long are forgotten.
pub const DEVICE_TTL: Duration = Duration::days(60);
/// Closed outbox rows are kept this long for support.
pub const KEEP_DONE: Duration = Duration::days(30);

/// Exponential backoff: 30 s, 1 min, 2 min… capped at 4 hours.
pub fn backoff(attempts: i32) -> Duration {
    let exponent = (attempts.max(1) - 1).min(10) as u32;
    Duration::seconds((30_i64 << exponent).min(4 * 3600))
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DispatchReport {
    pub sent: usize,
    pub retried: usize,
    pub dropped: usize,
    pub tokens_forgotten: usize,
}

enum Verdict {
    Sent,
    Retry(Duration, String),
    Drop(String),
    ForgetToken(String, String),
}

async fn deliver(state: &AppState, d: &Delivery) -> Verdict {
    match d.channel {
        Channel::Push => {
            let (Some(fcm), Some(token)) = (state.push.as_ref(), d.token.as_deref()) else {
                return Verdict::Drop("push désactivé sur ce serveur".into());
            };
            let message = PushMessage {
                token,
                platform: d.platform.as_deref().unwrap_or("android"),
                kind: d.kind,
                id: d.ref_id,
                title: &d.title,
                body: &d.body,
                collapse_key: &d.collapse_key,
            };
            match fcm.send(&message).await {
                SendOutcome::Sent => Verdict::Sent,
                SendOutcome::TokenGone(why) => Verdict::ForgetToken(token.to_owned(), why),
                SendOutcome::Rejected(why) => Verdict::Drop(why),
                SendOutcome::Retry { after, reason } => {
                    let wait = after
                        .and_then(|a| Duration::from_std(a).ok())
                        .unwrap_or_else(|| backoff(d.attempts));
                    Verdict::Retry(wait, reason)
                }
            }
        }
        Channel::Mail => {
            let email = match state.db.outbox().account_email(d.account_id).await {
                Ok(Some(email)) => email,
                Ok(None) => return Verdict::Drop("compte fermé".into()),
                Err(e) => return Verdict::Retry(backoff(d.attempts), e.to_string()),
            };
            let (subject, text) =
                famille_model::notice::mail(&d.title, &d.body, &state.config.organisation_name);
            match state.mailer.send(&email, &subject, text).await {
                Ok(()) => Verdict::Sent,
                Err(e) => Verdict::Retry(backoff(d.attempts), e.to_string()),
            }
        }
    }
}

/// Sends every due delivery, round after round, until none is due. Returns what
/// it did.
pub async fn dispatch_due(state: &AppState) -> StoreResult<DispatchReport> {
    let mut report = DispatchReport::default();
    let limit = Arc::new(tokio::sync::Semaphore::new(CONCURRENCY));
    loop {
        let now = state.clock.now();
        let claimed = state.db.outbox().claim(now, BATCH).await?;
        if claimed.is_empty() {
            return Ok(report);
        }
        let mut sends = JoinSet::new();
        for delivery in claimed {
            let state = state.clone();
            let permit = limit.clone().acquire_owned().await.expect("never closed");
            sends.spawn(async move {
                let result = deliver(&state, &delivery).await;
                drop(permit);
                (delivery, result)
            });
        }
        let mut sent = Vec::new();
        let outbox = state.db.outbox();
        while let Some(joined) = sends.join_next().await {
            let Ok((d, result)) = joined else {
                // A panicking send keeps its lease; the row comes back after it.
                continue;
            };
            let now = state.clock.now();
            match result {
                Verdict::Sent => sent.push(d.id),
                Verdict::Retry(_, why) if d.attempts >= MAX_ATTEMPTS => {
                    tracing::warn!(delivery = d.id, kind = %d.kind, attempts = d.attempts, reason = %why, "notification dropped after its last attempt");
                    outbox.drop_delivery(d.id, now, &why).await?;
                    report.dropped += 1;
                }
                Verdict::Retry(wait, why) => {
                    tracing::info!(delivery = d.id, kind = %d.kind, attempts = d.attempts, retry_in_s = wait.num_seconds(), reason = %why, "notification to be retried");
                    outbox.retry_at(d.id, now + wait, &why).await?;
                    report.retried += 1;
                }
                Verdict::Drop(why) => {
                    tracing::error!(delivery = d.id, kind = %d.kind, reason = %why, "notification refused, not retried");
                    outbox.drop_delivery(d.id, now, &why).await?;
                    report.dropped += 1;
                }
                Verdict::ForgetToken(token, why) => {
                    tracing::info!(delivery = d.id, reason = %why, "push token no longer valid: device forgotten");
                    outbox.forget_token(&token, now, &why).await?;
                    report.tokens_forgotten += 1;
                }
            }
        }
        outbox.mark_sent(&sent, state.clock.now()).await?;
        report.sent += sent.len();
    }
}

/// Hourly chores: tidy the outbox, forget stale phones, abandoned uploads and
/// attachments no message took, tell families whose documents ran out.
pub async fn hourly(state: &AppState) {
    let now = state.clock.now();
    match state
        .db
        .outbox()
        .purge(now - KEEP_DONE, now - DEVICE_TTL)
        .await
    {
        Ok((rows, devices)) if rows + devices > 0 => {
            tracing::info!(rows, devices, "outbox tidied, stale phones forgotten")
        }
        Ok(_) => {}
        Err(e) => tracing::error!(error = %e, "outbox housekeeping failed"),
    }
    match state.db.uploads().take_expired(now).await {
        Ok(ids) => {
            for id in &ids {
                let _ =
                    tokio::fs::remove_file(state.config.uploads_dir().join(format!("{id}.part")))
                        .await;
            }
            if !ids.is_empty() {
                tracing::info!(count = ids.len(), "abandoned uploads removed");
            }
        }
        Err(e) => tracing::error!(error = %e, "upload housekeeping failed"),
    }
    match crate::messages::sweep_orphan_attachments(state).await {
        Ok(0) => {}
        Ok(count) => tracing::info!(count, "attachments no message took removed"),
        Err(e) => tracing::error!(error = %e, "attachment housekeeping failed"),
    }
    match state
        .db
        .queue()
        .purge(
            now - crate::queue::KEEP_REJECTED,
            now - crate::queue::KEEP_APPLIED,
        )
        .await
    {
        Ok(0) => {}
        Ok(count) => tracing::info!(count, "old answers of the queue log forgotten"),
        Err(e) => tracing::error!(error = %e, "queue log housekeeping failed"),
    }
    match crate::documents::notify_expired(state).await {
        Ok(0) => {}
        Ok(count) => tracing::info!(count, "families told that documents ran out"),
        Err(e) => tracing::error!(error = %e, "document expiry check failed"),
    }
    match crate::certificates::announce_tax_certificates(state).await {
        Ok(0) => {}
        Ok(count) => tracing::info!(count, "tax certificates of last year drawn and announced"),
        Err(e) => tracing::error!(error = %e, "tax certificates round failed"),
    }
    match crate::billing::notify_quotients_expiring(state).await {
        Ok(0) => {}
        Ok(count) => tracing::info!(count, "families asked for their new quotient familial"),
        Err(e) => tracing::error!(error = %e, "quotient expiry check failed"),
    }
}

/// The background sender: wakes when a change enqueued something, and at least
/// every second (retries come due, another instance's lease runs out); tidies the
/// outbox and forgets stale phones every hour.
pub fn spawn(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut last_purge: Option<chrono::DateTime<chrono::Utc>> = None;
        loop {
            if let Err(e) = dispatch_due(&state).await {
                tracing::error!(error = %e, "notification dispatch failed; trying again shortly");
            }
            let now = state.clock.now();
            if last_purge.is_none_or(|at| now - at > Duration::hours(1)) {
                hourly(&state).await;
                last_purge = Some(now);
            }
            tokio::select! {
                _ = state.db.outbox_written() => {}
                _ = tokio::time::sleep(StdDuration::from_secs(1)) => {}
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_then_caps() {
        assert_eq!(backoff(1), Duration::seconds(30));
        assert_eq!(backoff(2), Duration::seconds(60));
        assert_eq!(backoff(5), Duration::seconds(480));
        assert_eq!(backoff(MAX_ATTEMPTS), Duration::hours(4));
        assert_eq!(backoff(0), Duration::seconds(30));
    }
}
