//! The booking rules both sides apply: when booking opens and closes, until when a
//! day can be cancelled without charge, who is eligible, and which colour a calendar
//! cell shows. The server decides with these functions inside the booking
//! transaction; the phone shows the same answer offline.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Utc, Weekday};
use serde::{Deserialize, Serialize};

use crate::calendar::{is_french_public_holiday, is_weekend, paris_date, paris_instant};
use crate::dossier::SchoolLevel;
use crate::validate::age_on;

labelled_enum! {
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
            date -= Duration::days(1);
        }
        date
    }
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
                    date -= Duration::days(1);
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
                (skip.step_back(session - Duration::days(back)), *time)
            }
            TimeRule::SameWeekdayWeekBefore { time, skip } => {
                (skip.step_back(session - Duration::days(7)), *time)
            }
            TimeRule::DayOfPreviousMonth { day, time, skip } => {
                let first_of_month = session.with_day(1).expect("day 1 exists");
                let last_of_previous = first_of_month - Duration::days(1);
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

/// Who may take part: age at the session date and school level, both inclusive.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Eligibility {
    #[serde(default)]
    pub min_age: Option<u8>,
    #[serde(default)]
    pub max_age: Option<u8>,
    #[serde(default)]
    pub min_level: Option<SchoolLevel>,
    #[serde(default)]
    pub max_level: Option<SchoolLevel>,
}

impl Eligibility {
    pub fn admits(&self, birth_date: NaiveDate, level: SchoolLevel, session: NaiveDate) -> bool {
        let age = age_on(birth_date, session);
        self.min_age.is_none_or(|min| age >= i32::from(min))
            && self.max_age.is_none_or(|max| age <= i32::from(max))
            && self.min_level.is_none_or(|min| level.rank() >= min.rank())
            && self.max_level.is_none_or(|max| level.rank() <= max.rank())
    }
}

labelled_enum! {
    /// A reservation as stored.
    ReservationStatus {
        Reserved => "reserved", "Réservée";
        // Booked after the booking deadline: billed with a surcharge.
        LateBooked => "late_booked", "Inscription tardive";
        PendingApproval => "pending_approval", "En attente de validation";
        Waitlisted => "waitlisted", "Liste d'attente";
        Cancelled => "cancelled", "Annulée";
        // Cancelled after the cancellation deadline: billed.
        LateCancelled => "late_cancelled", "Annulation tardive";
        Refused => "refused", "Refusée";
    }
}

labelled_enum! {
    /// Why a child cannot book a session at all.
    BlockedBy {
        DocumentRequired => "document_required", "Document obligatoire à fournir";
        NotEligible => "not_eligible", "Activité non accessible à cet enfant";
        DossierPending => "dossier_pending", "Dossier en attente de validation";
    }
}

labelled_enum! {
    /// The calendar legend parents know.
    CellState {
        Available => "available", "Disponible";
        Reserved => "reserved", "Inscrit (annulation possible)";
        ReservedLocked => "reserved_locked", "Inscrit (annulation impossible)";
        Late => "late", "Inscription tardive / annulation tardive";
        Cancelled => "cancelled", "Annulation";
        Full => "full", "Complet";
        Waitlisted => "waitlisted", "Inscrit liste d'attente";
        PendingApproval => "pending_approval", "En attente de validation";
        Closed => "closed", "Réservation fermée";
        Blocked => "blocked", "Bloqué";
    }
}

/// What decides a cell's colour.
#[derive(Debug, Clone, Copy)]
pub struct CellInput {
    pub reservation: Option<ReservationStatus>,
    pub window: BookingWindow,
    /// Whether cancelling now would be late.
    pub cancellation_late: bool,
    pub full: bool,
    pub blocked: Option<BlockedBy>,
}

pub fn cell_state(input: CellInput) -> CellState {
    match input.reservation {
        Some(ReservationStatus::Reserved) if input.cancellation_late => CellState::ReservedLocked,
        Some(ReservationStatus::Reserved) => CellState::Reserved,
        Some(ReservationStatus::LateBooked | ReservationStatus::LateCancelled) => CellState::Late,
        Some(ReservationStatus::PendingApproval) => CellState::PendingApproval,
        Some(ReservationStatus::Waitlisted) => CellState::Waitlisted,
        Some(ReservationStatus::Cancelled) => CellState::Cancelled,
        Some(ReservationStatus::Refused) | None => {
            if input.blocked.is_some() {
                CellState::Blocked
            } else {
                match input.window {
                    BookingWindow::NotYetOpen { .. } | BookingWindow::Closed => CellState::Closed,
                    BookingWindow::Open | BookingWindow::Late if input.full => CellState::Full,
                    BookingWindow::Open | BookingWindow::Late => CellState::Available,
                }
            }
        }
    }
}

labelled_enum! {
    /// Pointage codes of the guide.
    AttendanceCode {
        Present => "present", "P (présent)";
        Absent => "absent", "Ab (absence)";
        Excused => "excused", "AbE (absence excusée)";
        SchoolTrip => "school_trip", "S (sortie scolaire)";
        Surcharge => "surcharge", "M (majoration)";
        PresentUnbooked => "present_unbooked", "P (présent non inscrit)";
    }
}

/// A session's places: the whole session, and optionally per age group (the
/// regulations of accueils de loisirs count under-6 and over-6 children apart).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capacity {
    pub capacity: u32,
    pub capacity_young: Option<u32>,
    pub capacity_old: Option<u32>,
    pub held: u32,
    pub held_young: u32,
    pub held_old: u32,
}

impl Capacity {
    /// Places left for a child of this age group: the smaller of the session's and
    /// the group's remainders.
    pub fn places_left(&self, young: bool) -> u32 {
        let total = self.capacity.saturating_sub(self.held);
        let group = if young {
            self.capacity_young
                .map(|c| c.saturating_sub(self.held_young))
        } else {
            self.capacity_old.map(|c| c.saturating_sub(self.held_old))
        };
        group.map_or(total, |g| g.min(total))
    }

    pub fn full(&self, young: bool) -> bool {
        self.places_left(young) == 0
    }
}

/// Whether a child counts in the "young" group of an activity that splits its
/// capacity at `split` years (age at the session date).
pub fn is_young(age_split: Option<u8>, birth_date: NaiveDate, session: NaiveDate) -> bool {
    age_split.is_some_and(|split| age_on(birth_date, session) < i32::from(split))
}

/// Why a booking (or a waitlist request) is refused before capacity is even looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    DossierPending,
    NotEligible,
    DocumentRequired,
    AlreadyBooked,
    BookingClosed,
}

/// What the server knows, inside the booking transaction, about a child and a session.
#[derive(Debug, Clone, Copy)]
pub struct BookingFacts {
    pub dossier_active: bool,
    pub eligible: bool,
    pub documents_missing: bool,
    pub already_booked: bool,
    /// The session is open (not closed or cancelled by the services).
    pub session_open: bool,
    pub window: BookingWindow,
}

/// The checks of a booking, in the order a parent should hear about them: the
/// dossier first, then the child, then the day.
pub fn check_booking(f: BookingFacts) -> Result<(), Refusal> {
    if !f.dossier_active {
        return Err(Refusal::DossierPending);
    }
    if !f.eligible {
        return Err(Refusal::NotEligible);
    }
    if f.documents_missing {
        return Err(Refusal::DocumentRequired);
    }
    if f.already_booked {
        return Err(Refusal::AlreadyBooked);
    }
    match f.window {
        BookingWindow::Open | BookingWindow::Late if f.session_open => Ok(()),
        _ => Err(Refusal::BookingClosed),
    }
}

/// The status a new booking gets once a place is secured.
pub fn booked_status(rules: &BookingRules, window: BookingWindow) -> ReservationStatus {
    if rules.requires_approval {
        ReservationStatus::PendingApproval
    } else if window == BookingWindow::Late {
        ReservationStatus::LateBooked
    } else {
        ReservationStatus::Reserved
    }
}

/// Whether a reservation in this status holds a place (counts against capacity).
pub fn holds_place(status: ReservationStatus) -> bool {
    matches!(
        status,
        ReservationStatus::Reserved
            | ReservationStatus::LateBooked
            | ReservationStatus::PendingApproval
    )
}

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
        let rule = TimeRule::DaysBefore {
            days: 2,
            time: t(12, 0),
            skip: working_days(),
        };
        assert_eq!(rule.local(d(2026, 5, 13)), (d(2026, 5, 11), t(12, 0)));
        // Monday 18 May: back over the weekend to Thursday 14 May (Ascension) → Wednesday 13.
        assert_eq!(rule.local(d(2026, 5, 18)).0, d(2026, 5, 13));
        // Tuesday 7 April 2026: Monday 6 is Easter Monday, then the weekend → Thursday 2.
        assert_eq!(rule.local(d(2026, 4, 7)).0, d(2026, 4, 2));
        // Without skipping: plain calendar days.
        let plain = TimeRule::DaysBefore {
            days: 2,
            time: t(12, 0),
            skip: SkipDays::default(),
        };
        assert_eq!(plain.local(d(2026, 5, 18)).0, d(2026, 5, 16));
        // Zero days: the session day itself.
        let same_day = TimeRule::DaysBefore {
            days: 0,
            time: t(9, 0),
            skip: working_days(),
        };
        assert_eq!(same_day.local(d(2026, 5, 16)).0, d(2026, 5, 16));
    }

    #[test]
    fn previous_weekday_and_week_before() {
        let tuesday = TimeRule::PreviousWeekday {
            weekday: Day::Tuesday,
            time: t(23, 59),
            skip: SkipDays::default(),
        };
        // Wednesday 2 Dec 2026 → Tuesday 1 Dec.
        assert_eq!(tuesday.local(d(2026, 12, 2)).0, d(2026, 12, 1));
        // A Tuesday session → the Tuesday before, never the same day.
        assert_eq!(tuesday.local(d(2026, 12, 8)).0, d(2026, 12, 1));
        // Monday → Tuesday of the week before.
        assert_eq!(tuesday.local(d(2026, 12, 7)).0, d(2026, 12, 1));
        // Landing on a public holiday steps back: Tuesday 14 July 2026 → Monday 13.
        let tuesday_working = TimeRule::PreviousWeekday {
            weekday: Day::Tuesday,
            time: t(23, 59),
            skip: working_days(),
        };
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
        let rule = TimeRule::PreviousWeekday {
            weekday: Day::Tuesday,
            time: t(23, 59),
            skip: SkipDays::default(),
        };
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
        let noon = TimeRule::DaysBefore {
            days: 1,
            time: t(12, 0),
            skip: SkipDays::default(),
        };
        assert_eq!(noon.instant(d(2026, 10, 26)), utc("2026-10-25T11:00:00Z"));
        assert_eq!(noon.instant(d(2026, 10, 25)), utc("2026-10-24T10:00:00Z"));
    }

    fn rules(late: LateBooking) -> BookingRules {
        BookingRules {
            opening: Opening::From {
                date: d(2026, 5, 15),
                time: t(8, 0),
            },
            booking_deadline: TimeRule::PreviousWeekday {
                weekday: Day::Tuesday,
                time: t(23, 59),
                skip: SkipDays::default(),
            },
            cancellation_deadline: TimeRule::DaysBefore {
                days: 7,
                time: t(23, 59),
                skip: SkipDays::default(),
            },
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
    fn eligibility_by_age_at_the_session_and_level() {
        let six_to_eleven = Eligibility {
            min_age: Some(6),
            max_age: Some(11),
            ..Default::default()
        };
        let birth = d(2020, 7, 16);
        assert!(
            !six_to_eleven.admits(birth, SchoolLevel::Gs, d(2026, 7, 15)),
            "5 the day before the birthday"
        );
        assert!(six_to_eleven.admits(birth, SchoolLevel::Gs, d(2026, 7, 16)));
        assert!(
            !six_to_eleven.admits(d(2014, 1, 1), SchoolLevel::Cinquieme, d(2026, 7, 15)),
            "12"
        );
        let elementary = Eligibility {
            min_level: Some(SchoolLevel::Cp),
            max_level: Some(SchoolLevel::Cm2),
            ..Default::default()
        };
        assert!(elementary.admits(birth, SchoolLevel::Cp, d(2026, 9, 2)));
        assert!(!elementary.admits(birth, SchoolLevel::Gs, d(2026, 9, 2)));
        assert!(!elementary.admits(birth, SchoolLevel::Sixieme, d(2026, 9, 2)));
        assert!(Eligibility::default().admits(birth, SchoolLevel::NotSchooled, d(2026, 9, 2)));
    }

    #[test]
    fn every_state_of_the_legend() {
        let base = CellInput {
            reservation: None,
            window: BookingWindow::Open,
            cancellation_late: false,
            full: false,
            blocked: None,
        };
        let with = |f: fn(&mut CellInput)| {
            let mut input = base;
            f(&mut input);
            cell_state(input)
        };
        assert_eq!(cell_state(base), CellState::Available);
        assert_eq!(with(|i| i.full = true), CellState::Full);
        assert_eq!(
            with(|i| i.window = BookingWindow::Closed),
            CellState::Closed
        );
        assert_eq!(
            with(|i| i.window = BookingWindow::NotYetOpen {
                opens_at: DateTime::<Utc>::MIN_UTC
            }),
            CellState::Closed
        );
        assert_eq!(
            with(|i| i.window = BookingWindow::Late),
            CellState::Available
        );
        assert_eq!(
            with(|i| i.blocked = Some(BlockedBy::DocumentRequired)),
            CellState::Blocked
        );
        assert_eq!(
            with(|i| i.reservation = Some(ReservationStatus::Reserved)),
            CellState::Reserved
        );
        assert_eq!(
            with(|i| {
                i.reservation = Some(ReservationStatus::Reserved);
                i.cancellation_late = true;
            }),
            CellState::ReservedLocked
        );
        assert_eq!(
            with(|i| i.reservation = Some(ReservationStatus::LateBooked)),
            CellState::Late
        );
        assert_eq!(
            with(|i| i.reservation = Some(ReservationStatus::LateCancelled)),
            CellState::Late
        );
        assert_eq!(
            with(|i| i.reservation = Some(ReservationStatus::Cancelled)),
            CellState::Cancelled
        );
        assert_eq!(
            with(|i| i.reservation = Some(ReservationStatus::Waitlisted)),
            CellState::Waitlisted
        );
        assert_eq!(
            with(|i| i.reservation = Some(ReservationStatus::PendingApproval)),
            CellState::PendingApproval
        );
        // A reservation outranks a later block (the booked child keeps the day).
        assert_eq!(
            with(|i| {
                i.reservation = Some(ReservationStatus::Reserved);
                i.blocked = Some(BlockedBy::DocumentRequired);
            }),
            CellState::Reserved
        );
        // Every state of the legend is reachable.
        assert_eq!(CellState::ALL.len(), 10);
    }

    #[test]
    fn the_smaller_remainder_wins() {
        let c = Capacity {
            capacity: 20,
            capacity_young: Some(8),
            capacity_old: Some(14),
            held: 17,
            held_young: 5,
            held_old: 12,
        };
        assert_eq!(c.places_left(true), 3);
        assert_eq!(c.places_left(false), 2);
        let group_full = Capacity { held_young: 8, ..c };
        assert!(group_full.full(true) && !group_full.full(false));
        let session_full = Capacity { held: 20, ..c };
        assert!(session_full.full(true) && session_full.full(false));
        let no_split = Capacity {
            capacity_young: None,
            capacity_old: None,
            ..c
        };
        assert_eq!(no_split.places_left(true), 3);
        // Counters above capacity (capacity lowered by staff) give zero, not a wrap.
        assert_eq!(Capacity { held: 25, ..c }.places_left(false), 0);
        assert!(is_young(Some(6), d(2021, 1, 1), d(2026, 12, 31)));
        assert!(!is_young(Some(6), d(2020, 12, 31), d(2026, 12, 31)));
        assert!(!is_young(None, d(2024, 1, 1), d(2026, 12, 31)));
    }

    #[test]
    fn booking_checks_in_order() {
        let ok = BookingFacts {
            dossier_active: true,
            eligible: true,
            documents_missing: false,
            already_booked: false,
            session_open: true,
            window: BookingWindow::Open,
        };
        assert_eq!(check_booking(ok), Ok(()));
        assert_eq!(
            check_booking(BookingFacts {
                window: BookingWindow::Late,
                ..ok
            }),
            Ok(())
        );
        assert_eq!(
            check_booking(BookingFacts {
                dossier_active: false,
                eligible: false,
                ..ok
            }),
            Err(Refusal::DossierPending)
        );
        assert_eq!(
            check_booking(BookingFacts {
                eligible: false,
                documents_missing: true,
                ..ok
            }),
            Err(Refusal::NotEligible)
        );
        assert_eq!(
            check_booking(BookingFacts {
                documents_missing: true,
                already_booked: true,
                ..ok
            }),
            Err(Refusal::DocumentRequired)
        );
        assert_eq!(
            check_booking(BookingFacts {
                already_booked: true,
                ..ok
            }),
            Err(Refusal::AlreadyBooked)
        );
        assert_eq!(
            check_booking(BookingFacts {
                session_open: false,
                ..ok
            }),
            Err(Refusal::BookingClosed)
        );
        assert_eq!(
            check_booking(BookingFacts {
                window: BookingWindow::Closed,
                ..ok
            }),
            Err(Refusal::BookingClosed)
        );
        let not_yet = BookingWindow::NotYetOpen {
            opens_at: DateTime::<Utc>::MIN_UTC,
        };
        assert_eq!(
            check_booking(BookingFacts {
                window: not_yet,
                ..ok
            }),
            Err(Refusal::BookingClosed)
        );

        let mut r = rules(LateBooking::Surcharged);
        assert_eq!(
            booked_status(&r, BookingWindow::Open),
            ReservationStatus::Reserved
        );
        assert_eq!(
            booked_status(&r, BookingWindow::Late),
            ReservationStatus::LateBooked
        );
        r.requires_approval = true;
        assert_eq!(
            booked_status(&r, BookingWindow::Open),
            ReservationStatus::PendingApproval
        );
        assert!(
            holds_place(ReservationStatus::PendingApproval)
                && !holds_place(ReservationStatus::Waitlisted)
        );
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
