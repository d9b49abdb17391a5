//! Who may take part in an activity (age at the session date, school level), and
//! which capacity group a child counts in.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::dossier::SchoolLevel;
use crate::validate::age_on;

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

/// Reads eligibility stored as JSON (`#[sqlx(try_from = "String")]` on the server).
impl TryFrom<String> for Eligibility {
    type Error = serde_json::Error;
    fn try_from(json: String) -> Result<Eligibility, Self::Error> {
        serde_json::from_str(&json)
    }
}

/// The capacity group a child counts in when an activity splits its places at an
/// age (the regulations of accueils de loisirs count under-6 and over-6 children
/// apart). Without a split every child is in [`AgeGroup::Older`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgeGroup {
    /// Under the activity's split age at the session date.
    Younger,
    /// At or over the split age (or no split).
    Older,
}

impl AgeGroup {
    /// The group of a child born on `birth_date` for a session on `session`.
    pub fn of(age_split: Option<u8>, birth_date: NaiveDate, session: NaiveDate) -> AgeGroup {
        if age_split.is_some_and(|split| age_on(birth_date, session) < i32::from(split)) {
            AgeGroup::Younger
        } else {
            AgeGroup::Older
        }
    }

    pub fn is_younger(self) -> bool {
        self == AgeGroup::Younger
    }

    /// As stored (the `young` column).
    pub fn from_younger(younger: bool) -> AgeGroup {
        if younger {
            AgeGroup::Younger
        } else {
            AgeGroup::Older
        }
    }
}

/// Reads the stored `young` column (`#[sqlx(try_from = "bool")]` on the server).
impl From<bool> for AgeGroup {
    fn from(younger: bool) -> AgeGroup {
        AgeGroup::from_younger(younger)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
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
    fn age_groups_at_the_session_date() {
        assert_eq!(
            AgeGroup::of(Some(6), d(2021, 1, 1), d(2026, 12, 31)),
            AgeGroup::Younger
        );
        assert_eq!(
            AgeGroup::of(Some(6), d(2020, 12, 31), d(2026, 12, 31)),
            AgeGroup::Older
        );
        assert_eq!(
            AgeGroup::of(None, d(2024, 1, 1), d(2026, 12, 31)),
            AgeGroup::Older
        );
    }
}
