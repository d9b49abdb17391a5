//! Tools for trying and testing the server, compiled only with the `dev-tools`
//! feature (on by default; a production build leaves it out): the demo data of
//! `serve --demo`, and local stand-ins that speak the real protocols, errors
//! included: FCM HTTP v1 (`fcm-standin`), API Particulier
//! (`api-particulier-standin`) and PayFiP (`payfip-standin`).

pub mod api_particulier_standin;
pub mod demo;
pub mod demo_billing;
pub mod fcm_standin;
pub mod payfip_standin;
