//! Token-bucket rate limits held in memory.
//!
//! What is limited is what an attacker needs many of: failures (wrong passwords,
//! dead refresh tokens) and work (sign-ups, reset mails), never a parent who gets it
//! right. Wrong passwords count per (account, address): a stranger elsewhere cannot
//! lock a parent out (OWASP's authentication guidance), and a parent with a valid
//! login is never asked for a password anyway. Guessing one account from many
//! addresses is slowed down (a delay, not a lock). Per-address limits are generous,
//! because a school or town-hall network puts hundreds of parents behind one address.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};

use crate::error::AppError;

/// Beyond this many tracked keys, buckets that have refilled are forgotten.
const MAX_KEYS: usize = 100_000;

#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// How many calls may come at once.
    pub burst: u32,
    /// Seconds for one call to be given back.
    pub refill_seconds: f64,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: DateTime<Utc>,
}

pub struct RateLimiter {
    rule: Rule,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl RateLimiter {
    pub fn new(rule: Rule) -> RateLimiter {
        RateLimiter {
            rule,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Whether `key` may go on (its bucket holds a call), without taking one; else
    /// how many seconds to wait.
    pub fn allows(&self, key: &str, now: DateTime<Utc>) -> Result<(), AppError> {
        let buckets = self
            .buckets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let tokens = buckets
            .get(key)
            .map_or(f64::from(self.rule.burst), |b| refilled(b, self.rule, now));
        if tokens >= 1.0 {
            Ok(())
        } else {
            Err(self.wait(tokens))
        }
    }

    /// Counts one (a failure) against `key`, even when its bucket is empty.
    pub fn take(&self, key: &str, now: DateTime<Utc>) {
        let _ = self.check(key, now);
    }

    /// Forgets `key` (the parent got it right).
    pub fn forgive(&self, key: &str) {
        self.buckets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .remove(key);
    }

    fn wait(&self, tokens: f64) -> AppError {
        let wait = ((1.0 - tokens) * self.rule.refill_seconds).ceil().max(1.0);
        AppError::RateLimited {
            retry_after: wait as u64,
        }
    }

    /// Takes one call from `key`'s bucket, or says how many seconds to wait.
    pub fn check(&self, key: &str, now: DateTime<Utc>) -> Result<(), AppError> {
        self.check_n(key, 1, now)
    }

    /// Takes `cost` calls at once (a batch of intents), or says how many seconds to
    /// wait for them; a cost above the burst is judged as the burst.
    pub fn check_n(&self, key: &str, cost: u32, now: DateTime<Utc>) -> Result<(), AppError> {
        let cost = f64::from(cost.clamp(1, self.rule.burst));
        let burst = f64::from(self.rule.burst);
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if buckets.len() >= MAX_KEYS {
            let rule = self.rule;
            buckets.retain(|_, b| refilled(b, rule, now) < burst);
        }
        let bucket = buckets.entry(key.to_owned()).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        let tokens = refilled(bucket, self.rule, now);
        if tokens >= cost {
            bucket.tokens = tokens - cost;
            bucket.at = now;
            Ok(())
        } else {
            Err(self.wait(tokens - cost + 1.0))
        }
    }
}

fn refilled(bucket: &Bucket, rule: Rule, now: DateTime<Utc>) -> f64 {
    let elapsed = (now - bucket.at).num_milliseconds().max(0) as f64 / 1000.0;
    (bucket.tokens + elapsed / rule.refill_seconds).min(f64::from(rule.burst))
}

/// The limits of the account routes.
pub struct Limits {
    /// Wrong passwords for one account from one address (`email address`).
    pub login_failures: RateLimiter,
    /// Wrong passwords for one account from anywhere: past it, answers are slowed.
    pub login_failures_anywhere: RateLimiter,
    /// Failures from one address, across accounts and routes.
    pub failures_per_address: RateLimiter,
    /// Work asked from one address (sign-ups, reset mails, resets).
    pub work_per_address: RateLimiter,
    /// Reset mails for one account asked from one address.
    pub forgot_per_email_address: RateLimiter,
    /// Reset mails for one account from anywhere (no mail bombing).
    pub forgot_per_email: RateLimiter,
    /// Intents one family sends (each one a row of the queue log): a rush
    /// morning is a few hundred; a loop sending thousands is slowed.
    pub intents_per_family: RateLimiter,
    /// Messages one family writes (each one lands in an agent's inbox): a family
    /// writes a few a day; a loop is stopped before it floods the services.
    pub messages_per_family: RateLimiter,
}

/// How long an answer is held when one account is guessed at from many addresses.
pub const SLOWDOWN: std::time::Duration = std::time::Duration::from_secs(1);

impl Limits {
    pub fn new(per_address_burst: u32) -> Limits {
        let per_address = Rule {
            burst: per_address_burst.max(1),
            refill_seconds: 50.0 / f64::from(per_address_burst.max(1)),
        };
        Limits {
            // Ten wrong passwords in a row, then one try every 30 seconds.
            login_failures: RateLimiter::new(Rule {
                burst: 10,
                refill_seconds: 30.0,
            }),
            login_failures_anywhere: RateLimiter::new(Rule {
                burst: 50,
                refill_seconds: 10.0,
            }),
            failures_per_address: RateLimiter::new(per_address),
            work_per_address: RateLimiter::new(per_address),
            // Three reset mails, then one every five minutes.
            forgot_per_email_address: RateLimiter::new(Rule {
                burst: 3,
                refill_seconds: 300.0,
            }),
            forgot_per_email: RateLimiter::new(Rule {
                burst: 10,
                refill_seconds: 3600.0,
            }),
            // 2,000 at once, then 2,000 a day.
            intents_per_family: RateLimiter::new(Rule {
                burst: 2000,
                refill_seconds: 43.2,
            }),
            // 30 at once, then one every two minutes.
            messages_per_family: RateLimiter::new(Rule {
                burst: 30,
                refill_seconds: 120.0,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_refill() {
        let limiter = RateLimiter::new(Rule {
            burst: 3,
            refill_seconds: 10.0,
        });
        let t0 = Utc::now();
        for _ in 0..3 {
            limiter.check("a", t0).unwrap();
        }
        match limiter.check("a", t0) {
            Err(AppError::RateLimited { retry_after }) => assert_eq!(retry_after, 10),
            other => panic!("expected a limit, got {other:?}"),
        }
        // Another key is not affected.
        limiter.check("b", t0).unwrap();
        // After 10 s one call is back, not two.
        let t1 = t0 + chrono::Duration::seconds(10);
        limiter.check("a", t1).unwrap();
        assert!(limiter.check("a", t1).is_err());
    }

    #[test]
    fn failures_are_counted_and_forgiven() {
        let limiter = RateLimiter::new(Rule {
            burst: 2,
            refill_seconds: 30.0,
        });
        let t0 = Utc::now();
        limiter.allows("k", t0).unwrap();
        limiter.take("k", t0);
        limiter.allows("k", t0).unwrap();
        limiter.take("k", t0);
        assert!(limiter.allows("k", t0).is_err());
        // Taking more never errs, and the wait does not grow without end.
        limiter.take("k", t0);
        limiter.forgive("k");
        limiter.allows("k", t0).unwrap();
    }
}
