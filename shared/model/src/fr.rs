//! French words for dates, times and amounts, as a parent reads them: the one place
//! they are written, for the server's notices and mails and the phone's screens.
//! Instants are shown in Europe/Paris time.

use chrono::{DateTime, Datelike, NaiveDate, Utc};

pub const WEEKDAYS: [&str; 7] = [
    "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche",
];

pub const MONTHS: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];

pub fn weekday(date: NaiveDate) -> &'static str {
    WEEKDAYS[date.weekday().num_days_from_monday() as usize]
}

pub fn month(date: NaiveDate) -> &'static str {
    MONTHS[date.month0() as usize]
}

/// A QF bracket: "QF de 800 à 1 099 €", "QF à partir de 1 500 €".
pub fn bracket(min: u32, max: Option<u32>) -> String {
    let n = |v: u32| euros(i64::from(v) * 100).replace(",00\u{A0}€", "");
    match max {
        Some(max) => format!("QF de {} à {}\u{A0}€", n(min), n(max)),
        None => format!("QF à partir de {}\u{A0}€", n(min)),
    }
}

/// "de mars", "d'avril", "d'août", "d'octobre": the preposition elided before a
/// vowel, as French writes it.
pub fn of_month(date: NaiveDate) -> String {
    let name = month(date);
    if name.starts_with(['a', 'e', 'i', 'o', 'u', 'é']) {
        format!("d'{name}")
    } else {
        format!("de {name}")
    }
}

/// "mercredi 9 décembre".
pub fn day(date: NaiveDate) -> String {
    format!("{} {} {}", weekday(date), date.day(), month(date))
}

/// "6 mars 2027".
pub fn date(date: NaiveDate) -> String {
    format!("{} {} {}", date.day(), month(date), date.year())
}

/// "9 décembre à 18:30", Paris time.
pub fn instant(at: DateTime<Utc>) -> String {
    let local = at.with_timezone(&chrono_tz::Europe::Paris);
    format!(
        "{} {} à {}",
        local.day(),
        MONTHS[local.month0() as usize],
        local.format("%H:%M")
    )
}

/// "24,20 €" (a narrow no-break space before the sign, thousands grouped: "1 234,50 €").
pub fn euros(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let cents = cents.unsigned_abs();
    let units = (cents / 100).to_string();
    let mut grouped = String::new();
    for (i, digit) in units.chars().enumerate() {
        if i > 0 && (units.len() - i).is_multiple_of(3) {
            grouped.push('\u{202F}');
        }
        grouped.push(digit);
    }
    format!("{sign}{grouped},{:02}\u{A0}€", cents % 100)
}

/// A duration said the French way: "une seconde", "40 secondes", "une minute",
/// "5 minutes" (minutes rounded up: a wait is never said shorter than it is),
/// "26 heures", "3 jours" (hours and days to the nearest).
pub fn duration(seconds: u64) -> String {
    match seconds {
        0..=1 => "une seconde".to_owned(),
        2..=59 => format!("{seconds} secondes"),
        60..=119 => "une minute".to_owned(),
        120..=3599 => format!("{} minutes", seconds.div_ceil(60)),
        3600..=7199 => "une heure".to_owned(),
        7200..=172_799 => format!("{} heures", (seconds + 1800) / 3600),
        _ => format!("{} jours", (seconds + 43_200) / 86_400),
    }
}

/// Words as a sentence: a capital first, one final period ("le fichier est abîmé"
/// gives "Le fichier est abîmé.").
pub fn sentence(words: &str) -> String {
    let mut chars = words.trim().chars();
    let first: String = chars
        .next()
        .map(|c| c.to_uppercase().collect())
        .unwrap_or_default();
    format!("{first}{}.", chars.as_str().trim_end_matches('.'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn dates_read_as_a_parent_says_them() {
        assert_eq!(day(d(2026, 12, 9)), "mercredi 9 décembre");
        assert_eq!(date(d(2027, 3, 6)), "6 mars 2027");
        // 17:30 UTC in winter is 18:30 in Paris; in summer 19:30.
        assert_eq!(
            instant(Utc.with_ymd_and_hms(2026, 12, 9, 17, 30, 0).unwrap()),
            "9 décembre à 18:30"
        );
        assert_eq!(
            instant(Utc.with_ymd_and_hms(2027, 7, 9, 17, 30, 0).unwrap()),
            "9 juillet à 19:30"
        );
    }

    #[test]
    fn amounts_in_euros() {
        assert_eq!(euros(2420), "24,20\u{A0}€");
        assert_eq!(euros(5), "0,05\u{A0}€");
        assert_eq!(euros(123_450), "1\u{202F}234,50\u{A0}€");
        assert_eq!(euros(-4583), "-45,83\u{A0}€");
        assert_eq!(euros(100_000_000), "1\u{202F}000\u{202F}000,00\u{A0}€");
    }
}
