//! The closed vocabularies of the family dossier, with their stable wire names and
//! the French labels the apps show.

pub use crate::UnknownValue;

vocabulary! {
    /// Who an account belongs to.
    Role {
        Parent => "parent", "Parent";
        Agent => "agent", "Agent des services";
        Admin => "admin", "Administrateur";
    }
}

impl Role {
    pub fn is_staff(self) -> bool {
        matches!(self, Role::Agent | Role::Admin)
    }
}

vocabulary! {
    /// A dossier created online waits for an agent before the family may book.
    FamilyStatus {
        Pending => "pending", "En attente de validation";
        Active => "active", "Validé";
    }
}

vocabulary! {
    /// "Situation" on the household card.
    FamilySituation {
        Married => "marie", "Marié(e)";
        CivilUnion => "pacse", "Pacsé(e)";
        Cohabiting => "concubinage", "Vie maritale";
        Single => "celibataire", "Célibataire";
        Divorced => "divorce", "Divorcé(e)";
        Separated => "separe", "Séparé(e)";
        Widowed => "veuf", "Veuf/veuve";
    }
}

vocabulary! {
    /// Where the quotient familial comes from; it decides the tariff bracket.
    QuotientSource {
        Caf => "caf", "CAF";
        Msa => "msa", "MSA";
        TaxNotice => "tax_notice", "Avis d'imposition";
        Declared => "declare", "Déclaré par la famille";
        ApiParticulier => "api_particulier", "API Particulier (CAF ou MSA)";
        Manual => "manual", "Saisi par les services";
    }
}

vocabulary! {
    /// French school levels, from before school to the final year of lycée.
    SchoolLevel {
        NotSchooled => "non_scolarise", "Non scolarisé";
        Tps => "tps", "Toute petite section";
        Ps => "ps", "Petite section";
        Ms => "ms", "Moyenne section";
        Gs => "gs", "Grande section";
        Cp => "cp", "CP";
        Ce1 => "ce1", "CE1";
        Ce2 => "ce2", "CE2";
        Cm1 => "cm1", "CM1";
        Cm2 => "cm2", "CM2";
        Sixieme => "6e", "6e";
        Cinquieme => "5e", "5e";
        Quatrieme => "4e", "4e";
        Troisieme => "3e", "3e";
        Seconde => "2nde", "Seconde";
        Premiere => "1re", "Première";
        Terminale => "terminale", "Terminale";
    }
}

impl SchoolLevel {
    /// Position in schooling order, so eligibility rules can say "from CP to CM2".
    pub fn rank(self) -> usize {
        Self::ALL
            .iter()
            .position(|l| *l == self)
            .expect("every level is listed")
    }

    /// The level `years` school years later (earlier when negative), a class a
    /// year: CM2 then 6e. It stays within toute petite section and terminale, and
    /// "non scolarisé" stays so (when a child starts school is not a given).
    pub fn promoted(self, years: i32) -> SchoolLevel {
        if self == SchoolLevel::NotSchooled {
            return self;
        }
        let first = SchoolLevel::Tps.rank() as i64;
        let last = (Self::ALL.len() - 1) as i64;
        let rank = (self.rank() as i64 + i64::from(years)).clamp(first, last);
        Self::ALL[rank as usize]
    }
}

/// A school year, named by the calendar year it starts in (2026 for 2026-2027): from
/// 1 September to 31 August, as the services count it (the rentrée is early
/// September, arrêté fixing the calendar of each school year).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SchoolYear(pub i32);

impl SchoolYear {
    /// The school year a day belongs to.
    pub fn of(date: chrono::NaiveDate) -> SchoolYear {
        use chrono::Datelike;
        SchoolYear(if date.month() >= 9 {
            date.year()
        } else {
            date.year() - 1
        })
    }

    /// "2026-2027".
    pub fn label_fr(self) -> String {
        format!("{}-{}", self.0, self.0 + 1)
    }
}

/// A child's level in each school year, from the levels declared for some years (by
/// a parent or an agent): the level declared for that year, else the last declared
/// before it promoted a class a year (promotion assumed on 1 September), else the
/// first declared after it, a class a year back. `None` when nothing was declared.
pub fn level_in(declared: &[(SchoolYear, SchoolLevel)], year: SchoolYear) -> Option<SchoolLevel> {
    if let Some((_, level)) = declared.iter().find(|(y, _)| *y == year) {
        return Some(*level);
    }
    let before = declared
        .iter()
        .filter(|(y, _)| *y < year)
        .max_by_key(|(y, _)| *y);
    let after = declared
        .iter()
        .filter(|(y, _)| *y > year)
        .min_by_key(|(y, _)| *y);
    before
        .or(after)
        .map(|(y, level)| level.promoted(year.0 - y.0))
}

vocabulary! {
    /// A parent's answer to one of the organisation's consents.
    ConsentAnswer {
        Yes => "yes", "Oui";
        No => "no", "Non";
        Unanswered => "unanswered", "Non renseigné";
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_round_trip() {
        for level in SchoolLevel::ALL {
            assert_eq!(level.as_str().parse::<SchoolLevel>().unwrap(), *level);
            let json = serde_json::to_string(level).unwrap();
            assert_eq!(json, format!("\"{}\"", level.as_str()));
        }
        assert!("7e".parse::<SchoolLevel>().is_err());
    }

    #[test]
    fn school_levels_are_ordered() {
        assert!(SchoolLevel::Cp.rank() < SchoolLevel::Cm2.rank());
        assert!(SchoolLevel::Gs.rank() < SchoolLevel::Cp.rank());
        assert!(SchoolLevel::Troisieme.rank() < SchoolLevel::Seconde.rank());
    }

    #[test]
    fn a_class_a_year_from_what_was_declared() {
        let d = |y, m, day| chrono::NaiveDate::from_ymd_opt(y, m, day).unwrap();
        assert_eq!(SchoolYear::of(d(2026, 8, 31)), SchoolYear(2025));
        assert_eq!(SchoolYear::of(d(2026, 9, 1)), SchoolYear(2026));
        assert_eq!(SchoolYear(2026).label_fr(), "2026-2027");
        assert_eq!(SchoolLevel::Cm2.promoted(1), SchoolLevel::Sixieme);
        assert_eq!(SchoolLevel::Cp.promoted(-1), SchoolLevel::Gs);
        assert_eq!(SchoolLevel::Terminale.promoted(2), SchoolLevel::Terminale);
        assert_eq!(SchoolLevel::Ps.promoted(-3), SchoolLevel::Tps);
        assert_eq!(
            SchoolLevel::NotSchooled.promoted(1),
            SchoolLevel::NotSchooled
        );

        let elena = [(SchoolYear(2026), SchoolLevel::Cm2)];
        assert_eq!(level_in(&elena, SchoolYear(2026)), Some(SchoolLevel::Cm2));
        assert_eq!(
            level_in(&elena, SchoolYear(2027)),
            Some(SchoolLevel::Sixieme)
        );
        assert_eq!(level_in(&elena, SchoolYear(2025)), Some(SchoolLevel::Cm1));
        // A repeated year, said in advance: 2027 is CM2 again, 2028 the 6e.
        let repeats = [
            (SchoolYear(2026), SchoolLevel::Cm2),
            (SchoolYear(2027), SchoolLevel::Cm2),
        ];
        assert_eq!(level_in(&repeats, SchoolYear(2027)), Some(SchoolLevel::Cm2));
        assert_eq!(
            level_in(&repeats, SchoolYear(2028)),
            Some(SchoolLevel::Sixieme)
        );
        assert_eq!(level_in(&repeats, SchoolYear(2026)), Some(SchoolLevel::Cm2));
        assert_eq!(level_in(&[], SchoolYear(2026)), None);
    }

    #[test]
    fn staff_roles() {
        assert!(!Role::Parent.is_staff());
        assert!(Role::Agent.is_staff() && Role::Admin.is_staff());
    }
}

vocabulary! {
    /// How long a validated document of a type counts.
    DocumentValidity {
        UntilReplaced => "until_replaced", "Jusqu'à son remplacement";
        SchoolYear => "school_year", "Année scolaire (jusqu'au 31 août)";
        AgentDate => "agent_date", "Jusqu'à la date fixée à la validation";
    }
}

impl DocumentValidity {
    /// The end of validity of a document validated on `today`, given the agent's date.
    pub fn valid_until(
        self,
        today: chrono::NaiveDate,
        agent_date: Option<chrono::NaiveDate>,
    ) -> Option<chrono::NaiveDate> {
        use chrono::Datelike;
        match self {
            DocumentValidity::UntilReplaced => agent_date,
            DocumentValidity::AgentDate => agent_date,
            DocumentValidity::SchoolYear => agent_date.or_else(|| {
                // A school year ends on 31 August; from September on, the next one.
                let year = if today.month() >= 9 {
                    today.year() + 1
                } else {
                    today.year()
                };
                chrono::NaiveDate::from_ymd_opt(year, 8, 31)
            }),
        }
    }
}

impl DocumentValidity {
    /// The end of validity a validation made on `today` records, from the agent's
    /// date (`valid_until` of the validation): required for a type whose validity
    /// the agent sets, never already past (the document would run out at once).
    pub fn validation_end(
        self,
        today: chrono::NaiveDate,
        agent_date: Option<chrono::NaiveDate>,
    ) -> crate::validate::Checked<Option<chrono::NaiveDate>> {
        use crate::validate::FieldError;
        if agent_date.is_some_and(|until| until < today) {
            return Err(FieldError::new(
                "valid_until",
                "la date de fin de validité est déjà passée",
            ));
        }
        if self == DocumentValidity::AgentDate && agent_date.is_none() {
            return Err(FieldError::new(
                "valid_until",
                "ce type de document demande une date de fin de validité",
            ));
        }
        Ok(self.valid_until(today, agent_date))
    }
}

#[cfg(test)]
mod validity_tests {
    use super::DocumentValidity;
    use chrono::NaiveDate;

    #[test]
    fn a_school_year_document_counts_until_the_31st_of_august() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        assert_eq!(
            DocumentValidity::SchoolYear.valid_until(d(2026, 11, 28), None),
            Some(d(2027, 8, 31))
        );
        assert_eq!(
            DocumentValidity::SchoolYear.valid_until(d(2027, 3, 2), None),
            Some(d(2027, 8, 31))
        );
        assert_eq!(
            DocumentValidity::SchoolYear.valid_until(d(2027, 9, 1), None),
            Some(d(2028, 8, 31))
        );
        assert_eq!(
            DocumentValidity::UntilReplaced.valid_until(d(2027, 3, 2), None),
            None
        );
        assert_eq!(
            DocumentValidity::AgentDate.valid_until(d(2027, 3, 2), Some(d(2027, 6, 30))),
            Some(d(2027, 6, 30))
        );
    }

    #[test]
    fn a_validation_needs_a_date_that_is_not_past_when_the_agent_sets_it() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        let today = d(2027, 3, 2);
        assert!(
            DocumentValidity::AgentDate
                .validation_end(today, None)
                .is_err()
        );
        assert!(
            DocumentValidity::UntilReplaced
                .validation_end(today, Some(d(2027, 3, 1)))
                .is_err()
        );
        assert_eq!(
            DocumentValidity::SchoolYear.validation_end(today, None),
            Ok(Some(d(2027, 8, 31)))
        );
    }
}
