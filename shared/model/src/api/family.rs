//! The family dossier: household, guardians, children, authorized persons,
//! consents, health record; and the staff's view of families.

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use crate::dossier::{
    ConsentAnswer, FamilySituation, FamilyStatus, QuotientSource, SchoolLevel, SchoolYear, level_in,
};

wire! {

    pub struct Address {
        pub line1: String,
        #[serde(default)]
        pub line2: Option<String>,
        pub postal_code: String,
        pub city: String,
    }

    /// The household card ("Informations du foyer").
    pub struct Household {
        pub address: Address,
        #[serde(default)]
        pub phone: Option<String>,
        #[serde(default)]
        pub situation: Option<FamilySituation>,
        /// "Nombre d'enfants à charge".
        #[serde(default)]
        pub dependent_children: Option<u8>,
    }

    /// Quotient familial: drives the tariff bracket; unknown means maximum tariff.
    pub struct Quotient {
        pub value: u32,
        pub date: NaiveDate,
        pub source: QuotientSource,
    }

    pub struct Family {
        pub id: Uuid,
        /// "Dossier n°".
        pub number: i64,
        pub status: FamilyStatus,
        pub address: Option<Address>,
        pub phone: Option<String>,
        pub situation: Option<FamilySituation>,
        pub dependent_children: Option<u8>,
        pub quotient: Option<Quotient>,
        pub guardians: Vec<Guardian>,
        pub children: Vec<Child>,
        /// The organisation's unpaid-invoices rule, when it has one: the phone
        /// applies it offline to the invoices it holds.
        #[serde(default)]
        pub unpaid_rule: Option<crate::payments::UnpaidRule>,
    }

    /// An agent lifts (or restores) the unpaid-invoices rule for a family.
    #[serde(deny_unknown_fields)]
    pub struct UnpaidBlock {
        pub lifted: bool,
    }

    /// A responsable légal ("Parent 1", "Parent 2").
    pub struct Guardian {
        pub id: Uuid,
        pub rank: u8,
        pub first_name: String,
        pub last_name: String,
        pub email: Option<String>,
        pub mobile_phone: Option<String>,
        pub work_phone: Option<String>,
        /// Whether this guardian has a login.
        pub has_account: bool,
    }

    pub struct GuardianInput {
        #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 100))]
        pub first_name: String,
        #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 100))]
        pub last_name: String,
        #[serde(default)]
        pub email: Option<String>,
        #[serde(default)]
        pub mobile_phone: Option<String>,
        #[serde(default)]
        pub work_phone: Option<String>,
    }

    pub struct Child {
        pub id: Uuid,
        pub first_name: String,
        pub last_name: String,
        pub birth_date: NaiveDate,
        /// The level this school year (Europe/Paris, on the day of the answer).
        pub school_level: SchoolLevel,
        /// The levels declared, by school year, oldest first: each session is judged
        /// on the level of its own school year ([`Child::level_on`]).
        #[serde(default)]
        pub school_levels: Vec<SchoolYearLevel>,
        pub school: Option<String>,
        /// When a parent ticked "J'ai renseigné mes données".
        pub data_confirmed_at: Option<DateTime<Utc>>,
    }

    /// The level a child is (or will be) in during one school year.
    pub struct SchoolYearLevel {
        /// The year the school year starts in: 2026 for 2026-2027.
        pub school_year: i32,
        pub level: SchoolLevel,
    }

    pub struct ChildInput {
        #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 100))]
        pub first_name: String,
        #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 100))]
        pub last_name: String,
        pub birth_date: NaiveDate,
        pub school_level: SchoolLevel,
        /// The school year `school_level` is for (2027 for 2027-2028): this one when
        /// absent; the next one to say in advance that a year is repeated.
        #[serde(default)]
        pub school_year: Option<i32>,
        #[serde(default)]
        pub school: Option<String>,
    }

    /// Someone who may pick the child up or be called in an emergency.
    pub struct AuthorizedPerson {
        pub id: Uuid,
        pub first_name: String,
        pub last_name: String,
        /// "Qualité": grand-mère, voisin, nourrice...
        pub quality: String,
        pub phone: Option<String>,
        pub mobile_phone: Option<String>,
        pub email: Option<String>,
        pub may_pick_up: bool,
        pub emergency_contact: bool,
    }

    pub struct AuthorizedPersonInput {
        pub first_name: String,
        pub last_name: String,
        pub quality: String,
        #[serde(default)]
        pub phone: Option<String>,
        #[serde(default)]
        pub mobile_phone: Option<String>,
        #[serde(default)]
        pub email: Option<String>,
        #[serde(default)]
        pub may_pick_up: bool,
        #[serde(default)]
        pub emergency_contact: bool,
    }

    /// One of the consents the organisation asks for.
    pub struct ConsentType {
        pub id: Uuid,
        pub code: String,
        pub label: String,
    }

    pub struct ChildConsent {
        pub consent_type_id: Uuid,
        pub code: String,
        pub label: String,
        pub answer: ConsentAnswer,
    }

    pub struct ChildConsents {
        pub child_id: Uuid,
        pub consents: Vec<ChildConsent>,
    }

    pub struct ConsentAnswerInput {
        pub consent_type_id: Uuid,
        pub answer: ConsentAnswer,
    }

    pub struct ConsentsUpdate {
        pub answers: Vec<ConsentAnswerInput>,
    }

    pub struct Vaccination {
        pub vaccine: String,
        pub date: NaiveDate,
    }

    /// Infos sanitaires: sensitive (RGPD art. 9). Staff reads are audited.
    pub struct HealthRecord {
        pub child_id: Uuid,
        pub allergies: Option<String>,
        pub diet: Option<String>,
        pub doctor_name: Option<String>,
        pub doctor_phone: Option<String>,
        /// Projet d'accueil individualisé.
        pub pai: bool,
        pub pai_details: Option<String>,
        pub notes: Option<String>,
        pub vaccinations: Vec<Vaccination>,
        pub updated_at: Option<DateTime<Utc>>,
    }

    pub struct HealthRecordInput {
        #[serde(default)]
        pub allergies: Option<String>,
        #[serde(default)]
        pub diet: Option<String>,
        #[serde(default)]
        pub doctor_name: Option<String>,
        #[serde(default)]
        pub doctor_phone: Option<String>,
        #[serde(default)]
        pub pai: bool,
        #[serde(default)]
        pub pai_details: Option<String>,
        #[serde(default)]
        pub notes: Option<String>,
        #[serde(default)]
        pub vaccinations: Vec<Vaccination>,
    }

    // ---- staff ------------------------------------------------------------------


    pub struct FamilySummary {
        pub id: Uuid,
        pub number: i64,
        pub status: FamilyStatus,
        /// "TESTBO patricia et TESTBO patrice".
        pub name: String,
        pub city: Option<String>,
        pub children: Vec<String>,
    }

    pub struct AuditEntry {
        pub id: i64,
        pub at: DateTime<Utc>,
        pub actor_account_id: Uuid,
        pub actor_email: String,
        pub action: String,
        pub family_id: Option<Uuid>,
        pub child_id: Option<Uuid>,
    }
}

impl Child {
    /// The levels declared, as the rule [`crate::dossier::level_in`] reads them.
    pub fn declared_levels(&self) -> Vec<(SchoolYear, SchoolLevel)> {
        self.school_levels
            .iter()
            .map(|l| (SchoolYear(l.school_year), l.level))
            .collect()
    }

    /// The child's level on `date`: that of the date's school year (a session next
    /// September is judged on next year's level), from the levels declared;
    /// `school_level` when none was (an older server).
    pub fn level_on(&self, date: NaiveDate) -> SchoolLevel {
        level_in(&self.declared_levels(), SchoolYear::of(date)).unwrap_or(self.school_level)
    }
}

impl Family {
    /// The household's display name, as the portal shows it.
    pub fn display_name(&self) -> String {
        self.guardians
            .iter()
            .map(|g| format!("{} {}", g.last_name.to_uppercase(), g.first_name))
            .collect::<Vec<_>>()
            .join(" et ")
    }
}

wire! {
    /// Sets or clears (null) a family's quotient familial.
    pub struct QuotientUpdate {
        pub quotient: Option<Quotient>,
    }
}
