//! The booking rules both sides apply: when booking opens and closes, until when a
//! day can be cancelled without charge, who is eligible, how places are counted,
//! which colour a calendar cell shows, and the decisions of every booking intent.
//! The server decides with these functions inside the booking transaction; the
//! phone shows the same answer offline.

mod decide;
mod eligibility;
mod places;
mod rules;
mod status;

pub use decide::*;
pub use eligibility::{AgeGroup, Eligibility};
pub use places::Capacity;
pub use rules::*;
pub use status::*;
