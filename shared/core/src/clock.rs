//! The time the phone decides on: the server's, not the phone's clock.
//!
//! A phone's clock can be hours or days off (set by hand, a dead battery, a trip
//! across time zones with automatic time off): a deadline judged on it shows a
//! closed day as open, or a billed cancellation as free. Every answer of the server
//! carries its time (HTTP `Date`, RFC 9110 §6.6.1): the core keeps the difference
//! with its own clock, in the store, and judges deadlines on the server's time.
//! Until a first answer, it does not know, and says so ([`ClockView`]).

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use chrono::{DateTime, Duration, Utc};

/// How far from a deadline the phone's clock alone cannot be trusted to judge it:
/// a clock set a day off is the common case (a time zone, a manual change).
pub const UNSURE_WITHIN: Duration = Duration::hours(36);

/// The phone's clock and what the server's answers said of it.
#[derive(Debug, Default)]
pub struct Clock {
    /// Server time minus phone time, in seconds.
    offset: AtomicI64,
    known: AtomicBool,
}

impl Clock {
    /// A clock that knows the offset when one was learnt before (from the store).
    pub fn with_offset(offset: Option<i64>) -> Clock {
        Clock {
            offset: AtomicI64::new(offset.unwrap_or(0)),
            known: AtomicBool::new(offset.is_some()),
        }
    }

    /// The phone's own clock (in tests built with `fault-injection`, moved by
    /// `FAMILLE_CORE_CLOCK_SKEW` seconds, as a phone set wrong).
    pub fn phone_now() -> DateTime<Utc> {
        let now = Utc::now();
        #[cfg(feature = "fault-injection")]
        if let Some(skew) = std::env::var("FAMILLE_CORE_CLOCK_SKEW")
            .ok()
            .and_then(|s| s.parse::<i64>().ok())
        {
            return now + Duration::seconds(skew);
        }
        now
    }

    /// The server's time, as best known.
    pub fn now(&self) -> DateTime<Utc> {
        Self::phone_now() + Duration::seconds(self.offset.load(Ordering::Relaxed))
    }

    /// Whether the server's time was ever learnt.
    pub fn known(&self) -> bool {
        self.known.load(Ordering::Relaxed)
    }

    pub fn offset_seconds(&self) -> i64 {
        self.offset.load(Ordering::Relaxed)
    }

    /// Learns from an answer's `Date` header ("Sun, 29 Nov 2026 23:40:00 GMT").
    /// Returns the offset when it changed by more than the header's resolution.
    pub fn learn(&self, date_header: &str) -> Option<i64> {
        let server = DateTime::parse_from_rfc2822(date_header.trim()).ok()?;
        let offset = (server.with_timezone(&Utc) - Self::phone_now()).num_seconds();
        let before = self.offset.load(Ordering::Relaxed);
        let was_known = self.known.swap(true, Ordering::Relaxed);
        // One-second headers: a change of a second or two is the header's rounding.
        if !was_known || (offset - before).abs() > 2 {
            self.offset.store(offset, Ordering::Relaxed);
            Some(offset)
        } else {
            None
        }
    }

    /// Whether a decision on `deadline` cannot be trusted: the server's time is not
    /// known yet and the deadline is near the phone's clock.
    pub fn unsure_about(&self, deadline: DateTime<Utc>) -> bool {
        !self.known() && (deadline - self.now()).abs() < UNSURE_WITHIN
    }
}

/// What the app can say of the time it decides on.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ClockView {
    /// The server's time was learnt (at the first answer): deadlines are judged on it.
    pub known: bool,
    /// Server time minus phone time, in seconds (a phone 26 hours late: 93,600).
    pub offset_seconds: i64,
    /// In French, when the phone's clock is off by more than five minutes (or not
    /// checked yet).
    pub warning: Option<String>,
}

impl ClockView {
    pub fn of(clock: &Clock) -> ClockView {
        let offset = clock.offset_seconds();
        let warning = if !clock.known() {
            Some("L'heure du serveur n'est pas encore connue : les délais affichés sont ceux de l'horloge du téléphone jusqu'à la première synchronisation.".to_owned())
        } else if offset.abs() > 300 {
            Some(format!(
                "L'horloge du téléphone a {} d'écart avec celle du portail : les délais sont calculés sur l'heure du portail.",
                famille_model::fr::duration(offset.unsigned_abs())
            ))
        } else {
            None
        };
        ClockView {
            known: clock.known(),
            offset_seconds: offset,
            warning,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_servers_time_is_learnt_from_its_date_header() {
        let clock = Clock::with_offset(None);
        assert!(!clock.known());
        let server = Utc::now() + Duration::hours(26);
        let header = server.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
        let offset = clock.learn(&header).expect("learnt");
        assert!((offset - 26 * 3600).abs() <= 1, "{offset}");
        assert!(clock.known());
        assert!((clock.now() - server).num_seconds().abs() <= 1);
        assert_eq!(
            clock.learn(&header),
            None,
            "the same time again changes nothing"
        );
        assert_eq!(clock.learn("pas une date"), None);
        assert!(ClockView::of(&clock).warning.unwrap().contains("26 heures"));
    }

    #[test]
    fn near_deadlines_are_unsure_until_the_time_is_known() {
        let clock = Clock::with_offset(None);
        assert!(clock.unsure_about(Utc::now() + Duration::hours(3)));
        assert!(!clock.unsure_about(Utc::now() + Duration::days(5)));
        let known = Clock::with_offset(Some(0));
        assert!(!known.unsure_about(Utc::now() + Duration::hours(3)));
    }
}
