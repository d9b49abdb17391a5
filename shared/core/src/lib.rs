//! The phones' brain: the local store (last server state and the queue of intents),
//! the calendar with the same rules as the server (`famille_model`), sync, documents
//! and the API client; exported to Swift, Kotlin and Python with uniffi (`ffi.rs`),
//! over plain Rust (the [`Engine`] facade and one module per feature) that is tested
//! first.
//!
//! Features: `login` (log in and out, tokens), `calendar` (what the screens read, offline),
//! `intents` (the parent's actions, queued), `sync` (send, then pull), `documents`
//! (capture and resumable uploads), `messages` (threads with the services, offline,
//! messages queued after their attachments), `push` (a notification turned into what to
//! show), `clock` (the server's time, which deadlines are judged on).

pub mod calendar;
pub mod capture;
pub mod certificates;
pub mod client;
pub mod clock;
pub mod documents;
pub mod engine;
pub mod error;
pub mod ffi;
pub mod intents;
pub mod invoices;
pub mod login;
pub mod messages;
pub mod overlay;
pub mod page;
pub mod payments;
pub mod push;
pub mod store;
pub mod sync;
pub mod views;

pub use client::{FileTokenStore, LoginTokens, TokenStore};
pub use engine::{Engine, ProgressListener};
pub use error::{CoreError, CoreResult, Error};
pub use famille_model as model;

uniffi::setup_scaffolding!();
