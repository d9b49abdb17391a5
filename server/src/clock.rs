//! The server's notion of "now", movable in tests (token expiry, reset links).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, SubsecRound, Utc};

#[derive(Clone, Default)]
pub struct Clock {
    offset_seconds: Arc<AtomicI64>,
}

impl Clock {
    /// Now, truncated to microseconds so that what PostgreSQL stores compares equal
    /// to what was written.
    pub fn now(&self) -> DateTime<Utc> {
        (Utc::now() + chrono::Duration::seconds(self.offset_seconds.load(Ordering::Relaxed)))
            .trunc_subsecs(6)
    }

    /// Sets "now" to a given instant (tests: a daylight-saving night, a deadline).
    pub fn set(&self, instant: DateTime<Utc>) {
        self.offset_seconds
            .store((instant - Utc::now()).num_seconds(), Ordering::Relaxed);
    }

    /// Moves time forward (tests only ever call this).
    pub fn advance(&self, by: chrono::Duration) {
        self.offset_seconds
            .fetch_add(by.num_seconds(), Ordering::Relaxed);
    }
}
