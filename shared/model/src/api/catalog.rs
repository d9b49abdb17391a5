//! The catalog: activities with their rules and options, dated sessions, as the
//! phones keep them and as the services describe them.

use chrono::NaiveDate;
use uuid::Uuid;

use crate::booking::{BookingRules, Eligibility, SessionStatus};

vocabulary! {
    /// Whether one document serves the whole family or each child needs its own.
    DocumentScope {
        Family => "family", "Famille";
        Child => "child", "Enfant";
    }
}

wire! {
    /// A session as the phones keep it: no place counts (they change with every
    /// booking by strangers), only whether each age group is full.
    pub struct SessionSnapshot {
        pub id: Uuid,
        pub activity_id: Uuid,
        pub option_id: Uuid,
        pub option: String,
        pub date: NaiveDate,
        pub status: SessionStatus,
        pub full_young: bool,
        pub full_old: bool,
    }

    pub struct ActivityOption {
        pub id: Uuid,
        pub name: String,
        pub position: i32,
        /// Its tariff and régie, when it is billed: the phone prices days offline.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub price: Option<OptionPrice>,
    }

    /// The tariff of an option as everyone may read it, with its régie's name and
    /// territory (families elsewhere pay the non-resident price, if any).
    pub struct OptionPrice {
        pub regie: String,
        pub tariff: crate::billing::Tariff,
        pub territory: Vec<String>,
    }

    pub struct RequiredDocument {
        pub document_type_id: Uuid,
        pub label: String,
        pub scope: DocumentScope,
    }

    pub struct ActivitySnapshot {
        pub id: Uuid,
        pub category: String,
        pub name: String,
        pub venue: String,
        #[cfg_attr(feature = "openapi", schema(value_type = Object))]
        pub eligibility: Eligibility,
        #[cfg_attr(feature = "openapi", schema(value_type = Object))]
        pub rules: BookingRules,
        pub age_split: Option<u8>,
        pub options: Vec<ActivityOption>,
        pub required_documents: Vec<RequiredDocument>,
    }

    /// A new activity, as the services describe it.
    pub struct ActivityInput {
        /// One of the organisation's categories, by code (e.g. `mercredis_vacances`).
        pub category: String,
        /// The venue's name; created if new.
        pub venue: String,
        pub name: String,
        #[serde(default)]
        pub description: Option<String>,
        #[cfg_attr(feature = "openapi", schema(value_type = Object))]
        pub eligibility: Eligibility,
        #[cfg_attr(feature = "openapi", schema(value_type = Object))]
        pub rules: BookingRules,
        /// Separate capacities under and from this age.
        #[serde(default)]
        pub age_split: Option<u8>,
        /// "Journée complète", "Matin avec repas"...
        pub options: Vec<String>,
        /// Document types (by code) required before booking.
        #[serde(default)]
        pub required_documents: Vec<String>,
    }

    pub struct SessionInput {
        pub option_id: Uuid,
        pub date: NaiveDate,
        #[cfg_attr(feature = "openapi", schema(maximum = 10000))]
        pub capacity: u32,
        #[serde(default)]
        pub capacity_young: Option<u32>,
        #[serde(default)]
        pub capacity_old: Option<u32>,
    }

    /// Capacities and opening of an existing session.
    pub struct SessionUpdate {
        #[cfg_attr(feature = "openapi", schema(maximum = 10000))]
        pub capacity: u32,
        #[serde(default)]
        pub capacity_young: Option<u32>,
        #[serde(default)]
        pub capacity_old: Option<u32>,
        /// `open` or `closed` (cancelling has its own action).
        pub status: SessionStatus,
    }

    /// The id of what was created.
    pub struct Created {
        pub id: Uuid,
    }

    /// A session in the services' planning, with its counts.
    pub struct StaffSession {
        pub id: Uuid,
        pub activity_id: Uuid,
        pub activity: String,
        pub option: String,
        pub date: NaiveDate,
        pub status: SessionStatus,
        pub capacity: u32,
        pub capacity_young: Option<u32>,
        pub capacity_old: Option<u32>,
        /// Places held (reserved, late, awaiting approval).
        pub held: u32,
        pub waitlisted: u32,
        pub pending_approval: u32,
    }

    /// An activity category of the organisation ("Mercredis et Vacances"...).
    pub struct CategoryInput {
        /// Stable code, lowercase letters, digits and `_`.
        #[cfg_attr(feature = "openapi", schema(pattern = "^[a-z0-9_]{1,50}$"))]
        pub code: String,
        pub name: String,
    }
}
