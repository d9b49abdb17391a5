//! Input validation shared by the server (authoritative) and the phones (to say it
//! before sending). Each check returns the normalised value or a French message a
//! parent can read.

use chrono::{Datelike, NaiveDate};

use crate::text;

/// One rejected field: which one and why, in French.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} : {message}")]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &str, message: impl Into<String>) -> Self {
        Self {
            field: field.to_owned(),
            message: message.into(),
        }
    }
}

pub type Checked<T> = Result<T, FieldError>;

/// A form's answer: the normalised value, or every field to fix.
pub type Form<T> = Result<T, Vec<FieldError>>;

pub mod billing;
mod forms;
pub use forms::*;

/// Collects every field error of a form, so that a screen shows them all at once.
#[derive(Debug, Default)]
pub struct Fields(Vec<FieldError>);

impl Fields {
    /// Keeps the value, or records why it was refused.
    pub fn take<T>(&mut self, checked: Checked<T>) -> Option<T> {
        checked.map_err(|e| self.0.push(e)).ok()
    }

    pub fn push(&mut self, error: FieldError) {
        self.0.push(error);
    }

    /// `value()` when nothing was refused, else every error.
    pub fn finish<T>(self, value: impl FnOnce() -> T) -> Form<T> {
        if self.0.is_empty() {
            Ok(value())
        } else {
            Err(self.0)
        }
    }
}

pub const PASSWORD_MIN_CHARS: usize = 10;
pub const PASSWORD_MAX_CHARS: usize = 128;
pub const NAME_MAX_CHARS: usize = 100;

/// Trims, normalises (NFKC, lower case) and checks an e-mail address, a login
/// identifier: the address typed on any keyboard is the same account, and an address
/// that would display like another one is refused (invisible or direction-control
/// characters, scripts mixed in one part: UTS #39, see [`text::spoofable`]).
pub fn email(field: &str, raw: &str) -> Checked<String> {
    let value = text::secret(raw.trim()).to_lowercase();
    let bad = || FieldError::new(field, "l'adresse e-mail n'est pas valide");
    if value.is_empty() {
        return Err(FieldError::new(field, "l'adresse e-mail est obligatoire"));
    }
    if value.len() > 254 || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad());
    }
    let (local, domain) = value.split_once('@').ok_or_else(bad)?;
    if local.is_empty() || local.len() > 64 || domain.contains('@') {
        return Err(bad());
    }
    if std::iter::once(local)
        .chain(domain.split('.'))
        .any(|part| text::spoofable(part).is_some())
    {
        return Err(FieldError::new(
            field,
            "l'adresse e-mail contient des caractères invisibles ou qui imitent d'autres lettres",
        ));
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2
        || labels.iter().any(|l| {
            l.is_empty()
                || l.len() > 63
                || l.starts_with('-')
                || l.ends_with('-')
                || !l.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
    {
        return Err(bad());
    }
    Ok(value)
}

/// A French phone number (metropolitan or overseas, national or +33 form), returned
/// in the national display form "05 56 20 83 60".
pub fn phone_fr(field: &str, raw: &str) -> Checked<String> {
    let bad = || {
        FieldError::new(
            field,
            "le numéro de téléphone doit compter 10 chiffres et commencer par 0 (ou +33)",
        )
    };
    let trimmed = raw.trim();
    if trimmed
        .chars()
        .any(|c| !(c.is_ascii_digit() || " .-()+".contains(c)))
    {
        return Err(bad());
    }
    let digits: String = trimmed.chars().filter(|c| c.is_ascii_digit()).collect();
    let national = if trimmed.starts_with('+') {
        // +33 6 12 34 56 78, possibly written +33 (0)6 ...
        let rest = digits.strip_prefix("33").ok_or_else(bad)?;
        let rest = if rest.len() == 10 {
            rest.strip_prefix('0').ok_or_else(bad)?
        } else {
            rest
        };
        format!("0{rest}")
    } else if let Some(rest) = digits.strip_prefix("0033") {
        format!("0{rest}")
    } else {
        digits
    };
    let bytes = national.as_bytes();
    if bytes.len() != 10 || bytes[0] != b'0' || bytes[1] == b'0' {
        return Err(bad());
    }
    Ok(national
        .as_bytes()
        .chunks(2)
        .map(|pair| std::str::from_utf8(pair).expect("ascii digits"))
        .collect::<Vec<_>>()
        .join(" "))
}

/// An optional phone: empty means "none".
pub fn optional_phone_fr(field: &str, raw: Option<&str>) -> Checked<Option<String>> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => phone_fr(field, v).map(Some),
    }
}

/// A short label: trimmed, in NFC, 1 to `max` characters, no control or
/// direction-control characters.
pub fn text(field: &str, raw: &str, max: usize) -> Checked<String> {
    let value = raw.trim();
    if value.is_empty() {
        return Err(FieldError::new(field, "ce champ est obligatoire"));
    }
    optional_text(field, Some(value), max).map(|v| v.unwrap_or_default())
}

/// Free text that may be empty (returned as `None`), stored in NFC; line breaks and
/// tabs are kept, other control characters (NUL…) and direction controls refused.
pub fn optional_text(field: &str, raw: Option<&str>, max: usize) -> Checked<Option<String>> {
    let Some(value) = raw.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let value = text::stored(value);
    if value.chars().count() > max {
        return Err(FieldError::new(
            field,
            format!("{max} caractères au maximum"),
        ));
    }
    if value
        .chars()
        .any(|c| (c.is_control() && c != '\n' && c != '\t') || text::is_bidi_control(c))
    {
        return Err(FieldError::new(
            field,
            "ce texte contient des caractères interdits",
        ));
    }
    Ok(Some(value))
}

/// A person's name: a label of at most [`NAME_MAX_CHARS`] with nothing invisible in
/// it (agents search and read it; two names must not differ by what cannot be seen).
pub fn name(field: &str, raw: &str) -> Checked<String> {
    let value = text(field, raw, NAME_MAX_CHARS)?;
    if value.contains(|c: char| c == '\n' || c == '\t' || text::is_invisible(c)) {
        return Err(FieldError::new(
            field,
            "ce nom contient des caractères invisibles",
        ));
    }
    Ok(value)
}

/// A French postal code: five digits.
pub fn postal_code(field: &str, raw: &str) -> Checked<String> {
    let value = raw.trim();
    if value.len() == 5 && value.chars().all(|c| c.is_ascii_digit()) {
        Ok(value.to_owned())
    } else {
        Err(FieldError::new(
            field,
            "le code postal doit compter 5 chiffres",
        ))
    }
}

/// Password policy: long enough to resist guessing without a second factor, short
/// enough to bound the hashing cost; counted in the form it is hashed in
/// ([`text::secret`]).
pub fn password(field: &str, raw: &str) -> Checked<()> {
    let raw = &text::secret(raw);
    let count = raw.chars().count();
    if count < PASSWORD_MIN_CHARS {
        return Err(FieldError::new(
            field,
            format!("le mot de passe doit compter au moins {PASSWORD_MIN_CHARS} caractères"),
        ));
    }
    if count > PASSWORD_MAX_CHARS {
        return Err(FieldError::new(
            field,
            format!("le mot de passe doit compter au plus {PASSWORD_MAX_CHARS} caractères"),
        ));
    }
    let mut chars = raw.chars();
    let first = chars.next();
    if chars.all(|c| Some(c) == first) {
        return Err(FieldError::new(field, "ce mot de passe est trop simple"));
    }
    Ok(())
}

/// A child's birth date: in the past, and young enough for a family portal
/// (children and young adults up to 25 years old).
pub fn child_birth_date(field: &str, date: NaiveDate, today: NaiveDate) -> Checked<NaiveDate> {
    if date > today {
        return Err(FieldError::new(
            field,
            "la date de naissance est dans le futur",
        ));
    }
    let oldest = today.with_year(today.year() - 26).unwrap_or(NaiveDate::MIN);
    if date <= oldest {
        return Err(FieldError::new(
            field,
            "la date de naissance est trop ancienne",
        ));
    }
    Ok(date)
}

/// The years any date of the services lies in: a date outside is a slip of the
/// keyboard, or an attack on date arithmetic (`+262142-12-31`, chrono's last year).
pub const SERVICE_YEARS: std::ops::RangeInclusive<i32> = 1900..=2200;

/// A date within [`SERVICE_YEARS`].
pub fn service_date(field: &str, date: NaiveDate) -> Checked<NaiveDate> {
    if SERVICE_YEARS.contains(&date.year()) {
        Ok(date)
    } else {
        Err(FieldError::new(field, "cette date n'est pas valide"))
    }
}

/// A period asked for (a calendar, the planning): `from`, and `to` or by default
/// `default_days` later; both within [`SERVICE_YEARS`], `to` not before `from`, at
/// most `max_days` days counting both ends. Fields are named `from` and `to`.
pub fn period(
    from: NaiveDate,
    to: Option<NaiveDate>,
    default_days: i64,
    max_days: i64,
) -> Checked<(NaiveDate, NaiveDate)> {
    let from = service_date("from", from)?;
    let to = match to {
        Some(to) => service_date("to", to)?,
        None => from
            .checked_add_signed(chrono::Duration::days(default_days))
            .ok_or_else(|| FieldError::new("from", "cette date n'est pas valide"))?,
    };
    if to < from {
        return Err(FieldError::new(
            "to",
            "la date de fin précède la date de début",
        ));
    }
    if (to - from).num_days() >= max_days {
        return Err(FieldError::new("to", format!("{max_days} jours au plus")));
    }
    Ok((from, to))
}

/// The date of a session the services create: from two years back (a late entry)
/// to five years ahead.
pub fn session_date(field: &str, date: NaiveDate, today: NaiveDate) -> Checked<NaiveDate> {
    let years = today.year() - 2..=today.year() + 5;
    if years.contains(&date.year()) {
        Ok(date)
    } else {
        Err(FieldError::new(
            field,
            format!(
                "une séance se place entre {} et {}",
                years.start(),
                years.end()
            ),
        ))
    }
}

/// A date that must not be in the future (a vaccination, a quotient's date).
pub fn past_date(field: &str, date: NaiveDate, today: NaiveDate) -> Checked<NaiveDate> {
    if date > today {
        return Err(FieldError::new(field, "cette date est dans le futur"));
    }
    if date.year() < 1900 {
        return Err(FieldError::new(field, "cette date n'est pas valide"));
    }
    Ok(date)
}

/// A phone's push token (FCM's are a few hundred URL-safe characters).
pub fn push_token(field: &str, raw: &str) -> Checked<String> {
    let token = raw.trim();
    if token.is_empty() || token.len() > 4096 || !token.chars().all(|c| c.is_ascii_graphic()) {
        return Err(FieldError::new(field, "jeton d'appareil invalide"));
    }
    Ok(token.to_owned())
}

/// A language tag (`fr-FR` when none is given).
pub fn locale(field: &str, raw: Option<&str>) -> Checked<String> {
    let locale = raw
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .unwrap_or("fr-FR");
    if locale.len() > 35
        || !locale
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(FieldError::new(
            field,
            "langue invalide (par exemple fr-FR)",
        ));
    }
    Ok(locale.to_owned())
}

/// The most places a session may have.
pub const MAX_CAPACITY: u32 = 10_000;

/// A session's capacities: at most [`MAX_CAPACITY`], and no age group above the whole.
pub fn capacities(capacity: u32, young: Option<u32>, old: Option<u32>) -> Checked<()> {
    if capacity > MAX_CAPACITY {
        return Err(FieldError::new("capacity", "10 000 places au plus"));
    }
    if young.is_some_and(|y| y > capacity) {
        return Err(FieldError::new(
            "capacity_young",
            "une capacité par âge ne peut dépasser la capacité totale",
        ));
    }
    if old.is_some_and(|o| o > capacity) {
        return Err(FieldError::new(
            "capacity_old",
            "une capacité par âge ne peut dépasser la capacité totale",
        ));
    }
    Ok(())
}

/// A stable code chosen by the services (a category, a document type): lowercase
/// letters, digits and `_`, 1 to 50 characters.
pub fn code(field: &str, raw: &str) -> Checked<String> {
    let code = raw.trim();
    if code.is_empty()
        || code.len() > 50
        || !code
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(FieldError::new(
            field,
            "lettres minuscules, chiffres et « _ », 50 au plus",
        ));
    }
    Ok(code.to_owned())
}

/// Age in whole years on `on` (a birthday on 29 February counts from 1 March in
/// common years, as French civil law does).
pub fn age_on(birth: NaiveDate, on: NaiveDate) -> i32 {
    let mut age = on.year() - birth.year();
    if (on.month(), on.day()) < (birth.month(), birth.day()) {
        age -= 1;
    }
    age
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            email("e", "  Parent@Famille.Example ").unwrap(),
            "parent@famille.example"
        );
        for bad in [
            "",
            "a",
            "a@b",
            "a@@b.fr",
            "@b.fr",
            "a b@c.fr",
            "a@-b.fr",
            "a@b..fr",
            "a\u{7}b@c.fr",
        ] {
            assert!(email("e", bad).is_err(), "{bad:?} should be refused");
        }
        let err = email("email", "nope").unwrap_err();
        assert_eq!(err.field, "email");
        assert!(err.message.contains("e-mail"));
    }

    #[test]
    fn one_address_whatever_the_keyboard_and_none_that_imitates_another() {
        // The same address typed precomposed, decomposed, full width or in capitals.
        let same = [
            "h\u{e9}l\u{e8}ne@famille.example",
            "he\u{301}le\u{300}ne@famille.example",
            "H\u{c9}L\u{c8}NE@FAMILLE.EXAMPLE",
            "\u{ff48}\u{e9}l\u{e8}ne@famille.example",
        ];
        let normal: Vec<String> = same.iter().map(|e| email("email", e).unwrap()).collect();
        assert!(normal.iter().all(|e| *e == normal[0]), "{normal:?}");
        assert_eq!(
            email("email", "prenom.nom+ecole@famille.example").unwrap(),
            "prenom.nom+ecole@famille.example"
        );
        for spoof in [
            "par\u{200b}ent@famille.example",
            "parent\u{200d}@famille.example",
            "\u{feff}parent@famille.example",
            "parent@famille\u{2060}.example",
            "\u{202e}parent@famille.example",
            "p\u{430}rent@famille.example",
            "parent@f\u{430}mille.example",
        ] {
            let err = email("email", spoof).expect_err(spoof);
            assert!(
                err.message.contains("invisibles"),
                "{spoof:?}: {}",
                err.message
            );
        }
    }

    #[test]
    fn names_are_stored_in_one_form_without_invisible_characters() {
        assert_eq!(name("n", "Noe\u{308}l").unwrap(), "No\u{eb}l");
        for bad in [
            "No\u{200b}\u{eb}l",
            "Dupr\u{e9}\u{202e}",
            "No\nl",
            "\u{ad}Luc",
        ] {
            assert!(name("n", bad).is_err(), "{bad:?} should be refused");
        }
        // Free text keeps its line breaks (and emoji with their joiners), not bidi controls.
        assert_eq!(
            optional_text("t", Some("Allergie\n\u{1f468}\u{200d}\u{1f373}"), 50)
                .unwrap()
                .unwrap(),
            "Allergie\n\u{1f468}\u{200d}\u{1f373}"
        );
        assert!(optional_text("t", Some("a\u{2067}b"), 50).is_err());
    }

    #[test]
    fn periods_stay_within_the_years_of_the_services() {
        let today = d(2026, 11, 29);
        assert_eq!(period(today, None, 6, 62), Ok((today, d(2026, 12, 5))));
        assert_eq!(
            period(today, Some(d(2027, 1, 29)), 6, 62).map(|p| p.1),
            Ok(d(2027, 1, 29))
        );
        assert_eq!(
            period(today, Some(d(2027, 1, 30)), 6, 62)
                .unwrap_err()
                .field,
            "to"
        );
        assert_eq!(
            period(today, Some(d(2026, 11, 28)), 6, 62)
                .unwrap_err()
                .field,
            "to"
        );
        // The last dates chrono knows: refused, not overflowed.
        for (from, to) in [
            (NaiveDate::MAX, None),
            (NaiveDate::MAX, Some(NaiveDate::MAX)),
            (NaiveDate::MIN, Some(today)),
        ] {
            let err = period(from, to, 6, 62).unwrap_err();
            assert_eq!(err.field, "from");
        }
        assert_eq!(
            period(today, Some(NaiveDate::MAX), 6, 62)
                .unwrap_err()
                .field,
            "to"
        );
        assert!(session_date("date", d(2027, 9, 1), today).is_ok());
        assert!(session_date("date", NaiveDate::MAX, today).is_err());
        assert!(session_date("date", d(2040, 1, 1), today).is_err());
    }

    #[test]
    fn passwords_are_measured_in_the_form_they_are_hashed_in() {
        // Nine characters (ten code points in NFD): too short either way.
        assert!(password("p", "e\u{301}t\u{e9}-no\u{eb}lx").is_err());
        assert!(password("p", "e\u{301}t\u{e9}-no\u{eb}lxy").is_ok());
    }

    #[test]
    fn french_phones_in_every_usual_form() {
        for ok in [
            "05 56 20 83 60",
            "0556208360",
            "05.56.20.83.60",
            "+33 5 56 20 83 60",
            "+33 (0)5 56 20 83 60",
            "0033556208360",
        ] {
            assert_eq!(phone_fr("p", ok).unwrap(), "05 56 20 83 60", "{ok}");
        }
        assert_eq!(phone_fr("p", "06-06-14-12-56").unwrap(), "06 06 14 12 56");
        for bad in [
            "",
            "0556",
            "00 56 20 83 60",
            "5562083600",
            "+44 20 7946 0958",
            "05 56 20 83 6O",
            "055620836012",
        ] {
            assert!(phone_fr("p", bad).is_err(), "{bad:?} should be refused");
        }
        assert_eq!(optional_phone_fr("p", Some("  ")).unwrap(), None);
    }

    #[test]
    fn text_lengths_and_control_characters() {
        assert_eq!(name("n", "  Elena ").unwrap(), "Elena");
        assert!(name("n", "   ").is_err());
        assert!(name("n", &"é".repeat(101)).is_err());
        assert_eq!(name("n", &"é".repeat(100)).unwrap().chars().count(), 100);
        assert!(text("n", "a\u{0}b", 10).is_err());
        assert_eq!(
            optional_text("n", Some("ligne 1\nligne 2"), 50)
                .unwrap()
                .unwrap(),
            "ligne 1\nligne 2"
        );
    }

    #[test]
    fn postal_codes_are_five_digits() {
        assert_eq!(postal_code("cp", " 33360 ").unwrap(), "33360");
        for bad in ["3336", "333600", "2A004", ""] {
            assert!(postal_code("cp", bad).is_err());
        }
    }

    #[test]
    fn password_policy() {
        assert!(password("p", "court").is_err());
        assert!(password("p", "aaaaaaaaaaaa").is_err());
        assert!(password("p", &"ab".repeat(65)).is_err());
        assert!(password("p", "demo-parent-pw").is_ok());
    }

    #[test]
    fn birth_dates_and_ages() {
        let today = d(2026, 11, 28);
        assert!(child_birth_date("b", d(2026, 11, 29), today).is_err());
        assert!(child_birth_date("b", d(1990, 1, 1), today).is_err());
        assert!(child_birth_date("b", d(2018, 3, 4), today).is_ok());
        assert_eq!(age_on(d(2018, 3, 4), d(2024, 3, 3)), 5);
        assert_eq!(age_on(d(2018, 3, 4), d(2024, 3, 4)), 6);
        // 29 February: one year old on 1 March of a common year.
        assert_eq!(age_on(d(2024, 2, 29), d(2025, 2, 28)), 0);
        assert_eq!(age_on(d(2024, 2, 29), d(2025, 3, 1)), 1);
    }
}
