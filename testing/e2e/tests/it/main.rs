//! The core against a real server (in-process, on a real port, SQLite): login,
//! sync, offline intents, restart from the folder, verdicts, session expiry, push;
//! and the booking decisions of the phone (overlay) and of the server compared.

mod compose;
mod drift;
mod offline;
mod push;
mod support;
