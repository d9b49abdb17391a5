//! Integration suite of the server: every test runs on SQLite, and on PostgreSQL
//! when `FAMILLE_TEST_POSTGRES_URL` names a server (`.ci/run` always does).

mod support;

mod accounts;
mod billing;
mod bookings;
mod bounds;
mod certificates;
mod errors;
mod families;
mod isolation;
mod levels;
mod mail;
mod messages;
mod openapi;
mod payments;
mod push;
mod requests;
mod staff;
mod sync;
mod uploads;
mod waitlist;
