//! The core against a real server (in-process, on a real port, SQLite): login,
//! sync, offline intents, restart from the folder, verdicts, session expiry.

mod capture;
mod offline;
mod push;
mod support;
