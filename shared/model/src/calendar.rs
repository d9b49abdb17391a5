//! Time as the services count it: Europe/Paris wall clock, daylight-saving changes
//! included, and the French public holidays (Easter-based ones too).

use chrono::offset::LocalResult;
use chrono::{
    DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Timelike, Utc, Weekday,
};
use chrono_tz::Europe::Paris;

/// The instant at which Paris clocks show `date` `time`.
///
/// On the spring-forward night, a time in the skipped hour (02:00–02:59) is taken as
/// the moment the clocks jump (03:00 CEST): that is when such a deadline has passed.
/// On the fall-back night, a time that happens twice is taken at its first occurrence.
pub fn paris_instant(date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    let local = date.and_time(time);
    match Paris.from_local_datetime(&local) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(first, _) => first.with_timezone(&Utc),
        LocalResult::None => {
            // In the skipped hour: the clocks jump at the next full hour.
            let on_the_hour =
                date.and_time(NaiveTime::from_hms_opt(time.hour(), 0, 0).unwrap_or(time));
            let next_hour = on_the_hour
                .checked_add_signed(Duration::hours(1))
                .unwrap_or(on_the_hour);
            Paris
                .from_local_datetime(&next_hour)
                .earliest()
                .map(|t| t.with_timezone(&Utc))
                // Paris gaps last one hour; keep a defined answer rather than a panic.
                .unwrap_or_else(|| Utc.from_utc_datetime(&local))
        }
    }
}

/// The Paris calendar date of an instant.
pub fn paris_date(instant: DateTime<Utc>) -> NaiveDate {
    instant.with_timezone(&Paris).date_naive()
}

/// Easter Sunday (Gregorian calendar), by the anonymous Gregorian algorithm
/// (Meeus/Jones/Butcher).
pub fn easter_sunday(year: i32) -> NaiveDate {
    // Euclidean division: the same answers for the years people live in, and no
    // panic for the first and last years chrono knows.
    let a = year.rem_euclid(19);
    let b = year.div_euclid(100);
    let c = year.rem_euclid(100);
    let d = b.div_euclid(4);
    let e = b.rem_euclid(4);
    let f = (b + 8).div_euclid(25);
    let g = (b - f + 1).div_euclid(3);
    let h = (19 * a + b - d - g + 15).rem_euclid(30);
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k).rem_euclid(7);
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, month as u32, day as u32)
        .or_else(|| NaiveDate::from_ymd_opt(year, 3, 22))
        .unwrap_or(NaiveDate::MIN)
}

/// The eleven public holidays of metropolitan France in `year` (Alsace-Moselle's two
/// extra days are not counted).
pub fn french_public_holidays(year: i32) -> [NaiveDate; 11] {
    let fixed = |m, d| NaiveDate::from_ymd_opt(year, m, d).unwrap_or(NaiveDate::MIN);
    let easter = easter_sunday(year);
    let after_easter = |days| {
        easter
            .checked_add_signed(Duration::days(days))
            .unwrap_or(easter)
    };
    [
        fixed(1, 1),      // Jour de l'an
        after_easter(1),  // Lundi de Pâques
        fixed(5, 1),      // Fête du travail
        fixed(5, 8),      // Victoire 1945
        after_easter(39), // Ascension
        after_easter(50), // Lundi de Pentecôte
        fixed(7, 14),     // Fête nationale
        fixed(8, 15),     // Assomption
        fixed(11, 1),     // Toussaint
        fixed(11, 11),    // Armistice
        fixed(12, 25),    // Noël
    ]
}

pub fn is_french_public_holiday(date: NaiveDate) -> bool {
    french_public_holidays(date.year()).contains(&date)
}

pub fn is_weekend(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_and_last_dates_chrono_knows_do_not_panic() {
        for date in [NaiveDate::MIN, NaiveDate::MAX] {
            let _ = is_french_public_holiday(date);
            let _ = paris_instant(date, NaiveTime::MIN);
            let _ = paris_instant(date, NaiveTime::from_hms_opt(23, 59, 0).unwrap());
        }
        assert_eq!(
            easter_sunday(2027),
            NaiveDate::from_ymd_opt(2027, 3, 28).unwrap()
        );
    }

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn easter_dates() {
        assert_eq!(easter_sunday(2024), d(2024, 3, 31));
        assert_eq!(easter_sunday(2025), d(2025, 4, 20));
        assert_eq!(easter_sunday(2026), d(2026, 4, 5));
        assert_eq!(easter_sunday(2027), d(2027, 3, 28));
        assert_eq!(easter_sunday(2038), d(2038, 4, 25));
        assert_eq!(easter_sunday(2285), d(2285, 3, 22));
    }

    #[test]
    fn public_holidays_of_2026() {
        let h = french_public_holidays(2026);
        assert!(h.contains(&d(2026, 4, 6)), "Lundi de Pâques");
        assert!(h.contains(&d(2026, 5, 14)), "Ascension");
        assert!(h.contains(&d(2026, 5, 25)), "Lundi de Pentecôte");
        assert!(is_french_public_holiday(d(2026, 7, 14)));
        assert!(!is_french_public_holiday(d(2026, 7, 15)));
        assert!(is_weekend(d(2026, 11, 28)) && !is_weekend(d(2026, 11, 30)));
    }

    #[test]
    fn paris_wall_clock_in_winter_and_summer() {
        assert_eq!(
            paris_instant(d(2026, 1, 13), t(23, 59)),
            utc("2026-01-13T22:59:00Z")
        );
        assert_eq!(
            paris_instant(d(2026, 7, 14), t(23, 59)),
            utc("2026-07-14T21:59:00Z")
        );
        assert_eq!(paris_date(utc("2026-07-14T22:30:00Z")), d(2026, 7, 15));
    }

    #[test]
    fn the_skipped_hour_is_the_moment_of_the_jump() {
        // 29 March 2026: 02:00 CET jumps to 03:00 CEST (01:00 UTC).
        assert_eq!(
            paris_instant(d(2026, 3, 29), t(2, 30)),
            utc("2026-03-29T01:00:00Z")
        );
        assert_eq!(
            paris_instant(d(2026, 3, 29), t(1, 59)),
            utc("2026-03-29T00:59:00Z")
        );
        assert_eq!(
            paris_instant(d(2026, 3, 29), t(3, 0)),
            utc("2026-03-29T01:00:00Z")
        );
    }

    #[test]
    fn the_repeated_hour_counts_once_first() {
        // 25 October 2026: 03:00 CEST falls back to 02:00 CET; 02:30 happens twice.
        assert_eq!(
            paris_instant(d(2026, 10, 25), t(2, 30)),
            utc("2026-10-25T00:30:00Z")
        );
        assert_eq!(
            paris_instant(d(2026, 10, 25), t(3, 30)),
            utc("2026-10-25T02:30:00Z")
        );
    }
}
