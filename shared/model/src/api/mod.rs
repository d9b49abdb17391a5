//! JSON bodies of the public API (`/api/v1`), one file per area. Field names are
//! part of the contract in ARCHITECTURE.md: add fields, never rename them.
//! Everything is re-exported here, so `famille_model::api::X` names any of them.

macro_rules! wire {
    ($($item:item)*) => {
        $(
            #[derive(Debug, Clone, PartialEq, ::serde::Serialize, ::serde::Deserialize)]
            #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
            $item
        )*
    };
}

mod accounts;
mod billing;
mod bookings;
mod catalog;
mod certificates;
mod documents;
mod family;
mod messages;
mod notifications;
mod payments;
mod sync;

pub use crate::queue::{Mutation, MutationBatch, MutationResult, MutationResults, MutationStatus};
pub use accounts::*;
pub use billing::*;
pub use bookings::*;
pub use catalog::*;
pub use certificates::*;
pub use documents::*;
pub use family::*;
pub use messages::*;
pub use notifications::*;
pub use payments::*;
pub use sync::*;

wire! {
    /// RFC 9457 problem details, with the stable `code` the apps switch on.
    pub struct Problem {
        #[serde(rename = "type")]
        pub type_uri: String,
        pub title: String,
        pub status: u16,
        pub code: String,
        /// French, for the parent.
        pub detail: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub errors: Vec<FieldProblem>,
        /// The request's id (`x-request-id`), to quote to support.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub request_id: Option<String>,
    }

    pub struct FieldProblem {
        pub field: String,
        pub detail: String,
    }
}
