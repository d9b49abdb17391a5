//! Tools for trying and testing the server, compiled only with the `dev-tools`
//! feature (on by default; a production build leaves it out): the demo data of
//! `serve --demo`, and a local stand-in for FCM HTTP v1 (`fcm-standin`) that speaks
//! the real protocol, errors included.

pub mod demo;
pub mod demo_billing;
pub mod fcm_standin;
