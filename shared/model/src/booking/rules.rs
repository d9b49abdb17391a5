//! When booking opens and closes for a session, and until when a day can be
//! cancelled free: the rules the services write ("le mardi précédent à 23:59"),
//! evaluated on Paris wall-clock time, daylight-saving changes included.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Utc, Weekday};
use serde::{Deserialize, Serialize};

use crate::calendar::{is_french_public_holiday, is_weekend, paris_date, paris_instant};

vocabulary! {
    /// A day of the week, for rules such as "the previous Tuesday".
    Day {
        Monday => "monday", "lundi";
        Tuesday => "tuesday", "mardi";
        Wednesday => "wednesday", "mercredi";
        Thursday => "thursday", "jeudi";
        Friday => "friday", "vendredi";
        Saturday => "saturday", "samedi";
        Sunday => "sunday", "dimanche";
    }
}

impl Day {
    pub fn weekday(self) -> Weekday {
        match self {
            Day::Monday => Weekday::Mon,
            Day::Tuesday => Weekday::Tue,
            Day::Wednesday => Weekday::Wed,
            Day::Thursday => Weekday::Thu,
            Day::Friday => Weekday::Fri,
            Day::Saturday => Weekday::Sat,
            Day::Sunday => Weekday::Sun,
        }
    }
}

/// Days a deadline may not fall on ("jours ouvrés"): counted over when counting days
/// back, and stepped back from when a rule lands on one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkipDays {
    #[serde(default)]
    pub weekends: bool,
    #[serde(default)]
    pub public_holidays: bool,
    #[serde(default)]
    pub weekdays: Vec<Day>,
}

impl SkipDays {
    pub fn skips(&self, date: NaiveDate) -> bool {
        (self.weekends && is_weekend(date))
            || (self.public_holidays && is_french_public_holiday(date))
            || self.weekdays.iter().any(|d| d.weekday() == date.weekday())
    }

    /// `date`, or the closest earlier day that is not skipped.
    fn step_back(&self, mut date: NaiveDate) -> NaiveDate {
        // A year of skipped days would be a misconfiguration; stop rather than loop.
        for _ in 0..366 {
            if !self.skips(date) {
                break;
            }
            date = day_before(date);
        }
        date
    }
}

/// The day before, or the same day at the first date chrono knows: date arithmetic
/// never panics, whatever date reached it.
fn day_before(date: NaiveDate) -> NaiveDate {
    date.pred_opt().unwrap_or(date)
}

/// `days` days before, or the first date chrono knows.
fn days_before(date: NaiveDate, days: i64) -> NaiveDate {
    date.checked_sub_signed(Duration::days(days))
        .unwrap_or(NaiveDate::MIN)
}

/// A point in time expressed relative to a session's date, the way the services say
/// it. Times are Paris wall-clock times.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TimeRule {
    /// "N jours avant à HH:MM", counting only days that are not skipped.
    DaysBefore {
        days: u32,
        time: NaiveTime,
        #[serde(default)]
        skip: SkipDays,
    },
    /// "le mardi précédent à 23:59": the last such weekday strictly before the session.
    PreviousWeekday {
        weekday: Day,
        time: NaiveTime,
        #[serde(default)]
        skip: SkipDays,
    },
    /// "le même jour de la semaine précédente": seven days before.
    SameWeekdayWeekBefore {
        time: NaiveTime,
        #[serde(default)]
        skip: SkipDays,
    },
    /// "le N du mois précédent" (the last day of that month if it is shorter).
    DayOfPreviousMonth {
        day: u32,
        time: NaiveTime,
        #[serde(default)]
        skip: SkipDays,
    },
}

impl TimeRule {
    /// The Paris date and time the rule names for a session on `session`.
    pub fn local(&self, session: NaiveDate) -> (NaiveDate, NaiveTime) {
        match self {
            TimeRule::DaysBefore { days, time, skip } => {
                let mut date = session;
                let mut left = *days;
                let mut guard = 0;
                while left > 0 && guard < 3660 {
                    date = day_before(date);
                    guard += 1;
                    if !skip.skips(date) {
                        left -= 1;
                    }
                }
                (date, *time)
            }
            TimeRule::PreviousWeekday {
                weekday,
                time,
                skip,
            } => {
                let target = weekday.weekday().num_days_from_monday() as i64;
                let current = session.weekday().num_days_from_monday() as i64;
                let back = match (current - target).rem_euclid(7) {
                    0 => 7,
                    n => n,
                };
                (skip.step_back(days_before(session, back)), *time)
            }
            TimeRule::SameWeekdayWeekBefore { time, skip } => {
                (skip.step_back(days_before(session, 7)), *time)
            }
            TimeRule::DayOfPreviousMonth { day, time, skip } => {
                let first_of_month = session.with_day(1).expect("day 1 exists");
                let last_of_previous = day_before(first_of_month);
                let day = (*day).clamp(1, last_of_previous.day());
                let date = last_of_previous
                    .with_day(day)
                    .expect("clamped to the month");
                (skip.step_back(date), *time)
            }
        }
    }

    /// The instant the rule names for a session on `session`.
    pub fn instant(&self, session: NaiveDate) -> DateTime<Utc> {
        let (date, time) = self.local(session);
        paris_instant(date, time)
    }
}

/// When booking opens for a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Opening {
    /// Always open (until the booking deadline).
    Always,
    /// From a fixed Paris date and time, e.g. summer dates from 15 May at 08:00.
    From { date: NaiveDate, time: NaiveTime },
    /// Relative to each session, e.g. "the 1st of the previous month at 00:00".
    Relative { rule: TimeRule },
}

/// What happens to a booking made after the booking deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LateBooking {
    Refused,
    /// Accepted and billed with the surcharge ("majoration").
    Surcharged,
}

/// The booking rules of one activity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookingRules {
    pub opening: Opening,
    pub booking_deadline: TimeRule,
    pub cancellation_deadline: TimeRule,
    pub late_booking: LateBooking,
    pub requires_approval: bool,
    pub waitlist: bool,
}

/// Reads rules stored as JSON (`#[sqlx(try_from = "String")]` on the server).
impl TryFrom<String> for BookingRules {
    type Error = serde_json::Error;
    fn try_from(json: String) -> Result<BookingRules, Self::Error> {
        serde_json::from_str(&json)
    }
}

/// Where a session stands for booking at a given instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BookingWindow {
    NotYetOpen {
        opens_at: DateTime<Utc>,
    },
    Open,
    /// Past the deadline but accepted, billed with a surcharge.
    Late,
    Closed,
}

impl BookingRules {
    /// The usual rules of a day: always open, booking until `booking_days` days
    /// before at 23:59, free cancellation until `cancellation_days` days before at
    /// 23:59 (calendar days), late bookings refused, no approval, a waitlist.
    pub fn days_before(booking_days: u32, cancellation_days: u32) -> BookingRules {
        let evening = NaiveTime::from_hms_opt(23, 59, 0).expect("a valid time");
        BookingRules {
            opening: Opening::Always,
            booking_deadline: TimeRule::DaysBefore {
                days: booking_days,
                time: evening,
                skip: SkipDays::default(),
            },
            cancellation_deadline: TimeRule::DaysBefore {
                days: cancellation_days,
                time: evening,
                skip: SkipDays::default(),
            },
            late_booking: LateBooking::Refused,
            requires_approval: false,
            waitlist: true,
        }
    }

    pub fn opens_at(&self, session: NaiveDate) -> Option<DateTime<Utc>> {
        match &self.opening {
            Opening::Always => None,
            Opening::From { date, time } => Some(paris_instant(*date, *time)),
            Opening::Relative { rule } => Some(rule.instant(session)),
        }
    }

    pub fn booking_deadline(&self, session: NaiveDate) -> DateTime<Utc> {
        self.booking_deadline.instant(session)
    }

    pub fn cancellation_deadline(&self, session: NaiveDate) -> DateTime<Utc> {
        self.cancellation_deadline.instant(session)
    }

    /// Whether a booking made `now` for a session on `session` is possible, and how.
    /// A session whose day has come (in Paris) can no longer be booked.
    pub fn booking_window(&self, session: NaiveDate, now: DateTime<Utc>) -> BookingWindow {
        if paris_date(now) >= session {
            return BookingWindow::Closed;
        }
        if let Some(opens_at) = self.opens_at(session)
            && now < opens_at
        {
            return BookingWindow::NotYetOpen { opens_at };
        }
        if now < self.booking_deadline(session) {
            BookingWindow::Open
        } else {
            match self.late_booking {
                LateBooking::Refused => BookingWindow::Closed,
                LateBooking::Surcharged => BookingWindow::Late,
            }
        }
    }

    /// Whether cancelling `now` is late (billed). `free_until` is the grace a family
    /// promoted from the waitlist after the deadline gets.
    pub fn cancellation_is_late(
        &self,
        session: NaiveDate,
        now: DateTime<Utc>,
        free_until: Option<DateTime<Utc>>,
    ) -> bool {
        if free_until.is_some_and(|until| now < until) && paris_date(now) <= session {
            return false;
        }
        now >= self.cancellation_deadline(session)
    }
}

/// How long a family promoted from the waitlist after the cancellation deadline may
/// still cancel without charge.
pub const PROMOTION_GRACE: Duration = Duration::hours(24);

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn days_before(days: u32, time: NaiveTime, skip: SkipDays) -> TimeRule {
        TimeRule::DaysBefore { days, time, skip }
    }

    fn previous(weekday: Day, time: NaiveTime, skip: SkipDays) -> TimeRule {
        TimeRule::PreviousWeekday {
            weekday,
            time,
            skip,
        }
    }

    fn working_days() -> SkipDays {
        SkipDays {
            weekends: true,
            public_holidays: true,
            weekdays: vec![],
        }
    }

    #[test]
    fn days_before_counts_working_days_only() {
        // Wednesday 13 May 2026; Thursday 14 May is Ascension (irrelevant here).
        let rule = days_before(2, t(12, 0), working_days());
        assert_eq!(rule.local(d(2026, 5, 13)), (d(2026, 5, 11), t(12, 0)));
        // Monday 18 May: back over the weekend to Thursday 14 May (Ascension) → Wednesday 13.
        assert_eq!(rule.local(d(2026, 5, 18)).0, d(2026, 5, 13));
        // Tuesday 7 April 2026: Monday 6 is Easter Monday, then the weekend → Thursday 2.
        assert_eq!(rule.local(d(2026, 4, 7)).0, d(2026, 4, 2));
        // Without skipping: plain calendar days.
        let plain = days_before(2, t(12, 0), SkipDays::default());
        assert_eq!(plain.local(d(2026, 5, 18)).0, d(2026, 5, 16));
        // Zero days: the session day itself.
        let same_day = days_before(0, t(9, 0), working_days());
        assert_eq!(same_day.local(d(2026, 5, 16)).0, d(2026, 5, 16));
    }

    #[test]
    fn previous_weekday_and_week_before() {
        let tuesday = previous(Day::Tuesday, t(23, 59), SkipDays::default());
        // Wednesday 2 Dec 2026 → Tuesday 1 Dec.
        assert_eq!(tuesday.local(d(2026, 12, 2)).0, d(2026, 12, 1));
        // A Tuesday session → the Tuesday before, never the same day.
        assert_eq!(tuesday.local(d(2026, 12, 8)).0, d(2026, 12, 1));
        // Monday → Tuesday of the week before.
        assert_eq!(tuesday.local(d(2026, 12, 7)).0, d(2026, 12, 1));
        // Landing on a public holiday steps back: Tuesday 14 July 2026 → Monday 13.
        let tuesday_working = previous(Day::Tuesday, t(23, 59), working_days());
        assert_eq!(tuesday_working.local(d(2026, 7, 15)).0, d(2026, 7, 13));

        let week_before = TimeRule::SameWeekdayWeekBefore {
            time: t(18, 0),
            skip: SkipDays::default(),
        };
        assert_eq!(week_before.local(d(2026, 12, 9)).0, d(2026, 12, 2));
        // Skipping chosen weekdays: a Wednesday rule that may not land on Wednesday.
        let no_wednesday = TimeRule::SameWeekdayWeekBefore {
            time: t(18, 0),
            skip: SkipDays {
                weekdays: vec![Day::Wednesday],
                ..SkipDays::default()
            },
        };
        assert_eq!(no_wednesday.local(d(2026, 12, 9)).0, d(2026, 12, 1));
    }

    #[test]
    fn nth_of_previous_month() {
        let rule = TimeRule::DayOfPreviousMonth {
            day: 20,
            time: t(23, 59),
            skip: SkipDays::default(),
        };
        assert_eq!(rule.local(d(2026, 7, 8)).0, d(2026, 6, 20));
        assert_eq!(
            rule.local(d(2027, 1, 6)).0,
            d(2026, 12, 20),
            "across the new year"
        );
        let thirty_first = TimeRule::DayOfPreviousMonth {
            day: 31,
            time: t(12, 0),
            skip: SkipDays::default(),
        };
        assert_eq!(
            thirty_first.local(d(2026, 3, 4)).0,
            d(2026, 2, 28),
            "clamped to February"
        );
        // 20 June 2026 is a Saturday: with working days, Friday 19.
        let working = TimeRule::DayOfPreviousMonth {
            day: 20,
            time: t(23, 59),
            skip: working_days(),
        };
        assert_eq!(working.local(d(2026, 7, 8)).0, d(2026, 6, 19));
    }

    #[test]
    fn deadlines_across_daylight_saving_changes() {
        // "The previous Tuesday at 23:59" for the Wednesdays around 29 March 2026.
        let rule = previous(Day::Tuesday, t(23, 59), SkipDays::default());
        assert_eq!(
            rule.instant(d(2026, 3, 25)),
            utc("2026-03-24T22:59:00Z"),
            "winter time, UTC+1"
        );
        assert_eq!(
            rule.instant(d(2026, 4, 1)),
            utc("2026-03-31T21:59:00Z"),
            "summer time, UTC+2"
        );
        // "Seven days before at 02:30" landing on the spring-forward night.
        let night = TimeRule::SameWeekdayWeekBefore {
            time: t(2, 30),
            skip: SkipDays::default(),
        };
        assert_eq!(night.instant(d(2026, 4, 5)), utc("2026-03-29T01:00:00Z"));
        // ... and on the fall-back night: the first 02:30.
        assert_eq!(night.instant(d(2026, 11, 1)), utc("2026-10-25T00:30:00Z"));
        // "1 day before at 12:00" over the change: still noon in Paris.
        let noon = days_before(1, t(12, 0), SkipDays::default());
        assert_eq!(noon.instant(d(2026, 10, 26)), utc("2026-10-25T11:00:00Z"));
        assert_eq!(noon.instant(d(2026, 10, 25)), utc("2026-10-24T10:00:00Z"));
    }

    fn rules(late: LateBooking) -> BookingRules {
        BookingRules {
            opening: Opening::From {
                date: d(2026, 5, 15),
                time: t(8, 0),
            },
            booking_deadline: previous(Day::Tuesday, t(23, 59), SkipDays::default()),
            cancellation_deadline: days_before(7, t(23, 59), SkipDays::default()),
            late_booking: late,
            requires_approval: false,
            waitlist: true,
        }
    }

    #[test]
    fn booking_window_from_opening_to_the_day() {
        let r = rules(LateBooking::Refused);
        let session = d(2026, 7, 15); // a summer Wednesday
        assert_eq!(
            r.booking_window(session, utc("2026-05-15T05:59:00Z")),
            BookingWindow::NotYetOpen {
                opens_at: utc("2026-05-15T06:00:00Z")
            }
        );
        assert_eq!(
            r.booking_window(session, utc("2026-05-15T06:00:00Z")),
            BookingWindow::Open
        );
        assert_eq!(
            r.booking_window(session, utc("2026-07-14T21:58:59Z")),
            BookingWindow::Open
        );
        assert_eq!(
            r.booking_window(session, utc("2026-07-14T21:59:00Z")),
            BookingWindow::Closed
        );
        let surcharged = rules(LateBooking::Surcharged);
        assert_eq!(
            surcharged.booking_window(session, utc("2026-07-14T21:59:30Z")),
            BookingWindow::Late
        );
        // The day itself (Paris date) is closed even with a surcharge: midnight in Paris
        // is 22:00 UTC in summer.
        assert_eq!(
            surcharged.booking_window(session, utc("2026-07-14T22:00:00Z")),
            BookingWindow::Closed
        );
    }

    #[test]
    fn cancellation_deadline_and_promotion_grace() {
        let r = rules(LateBooking::Refused);
        let session = d(2026, 7, 15);
        assert!(!r.cancellation_is_late(session, utc("2026-07-08T21:58:00Z"), None));
        assert!(r.cancellation_is_late(session, utc("2026-07-08T21:59:00Z"), None));
        // Promoted on 12 July at 10:00: free to cancel for 24 hours.
        let told = utc("2026-07-12T08:00:00Z");
        let until = told + PROMOTION_GRACE;
        assert!(!r.cancellation_is_late(session, utc("2026-07-13T07:59:00Z"), Some(until)));
        assert!(r.cancellation_is_late(session, utc("2026-07-13T08:00:00Z"), Some(until)));
    }

    #[test]
    fn rules_round_trip_as_json() {
        let r = rules(LateBooking::Surcharged);
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["booking_deadline"]["kind"], "previous_weekday");
        assert_eq!(json["booking_deadline"]["weekday"], "tuesday");
        assert_eq!(json["late_booking"], "surcharged");
        let back: BookingRules = serde_json::from_value(json).unwrap();
        assert_eq!(back, r);
    }
}
