//! Token-bucket rate limits held in memory.
//!
//! Sensitive calls are limited per account (the e-mail) first, where a parent is
//! one person; the per-address limit is generous because a school or town-hall
//! network puts hundreds of parents behind one address.

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

    /// Takes one call from `key`'s bucket, or says how many seconds to wait.
    pub fn check(&self, key: &str, now: DateTime<Utc>) -> Result<(), AppError> {
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
        if tokens >= 1.0 {
            bucket.tokens = tokens - 1.0;
            bucket.at = now;
            Ok(())
        } else {
            let wait = ((1.0 - tokens) * self.rule.refill_seconds).ceil().max(1.0);
            Err(AppError::RateLimited {
                retry_after: wait as u64,
            })
        }
    }
}

fn refilled(bucket: &Bucket, rule: Rule, now: DateTime<Utc>) -> f64 {
    let elapsed = (now - bucket.at).num_milliseconds().max(0) as f64 / 1000.0;
    (bucket.tokens + elapsed / rule.refill_seconds).min(f64::from(rule.burst))
}

/// The limits of the account routes.
pub struct Limits {
    pub login_per_email: RateLimiter,
    pub forgot_per_email: RateLimiter,
    pub per_address: RateLimiter,
}

impl Limits {
    pub fn new(per_address_burst: u32) -> Limits {
        Limits {
            // Ten wrong passwords in a row, then one try every 30 seconds.
            login_per_email: RateLimiter::new(Rule {
                burst: 10,
                refill_seconds: 30.0,
            }),
            // Three reset mails, then one every five minutes.
            forgot_per_email: RateLimiter::new(Rule {
                burst: 3,
                refill_seconds: 300.0,
            }),
            per_address: RateLimiter::new(Rule {
                burst: per_address_burst.max(1),
                refill_seconds: 50.0 / f64::from(per_address_burst.max(1)),
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
}
