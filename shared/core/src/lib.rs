//! The phones' brain: the local store (last server state and the queue of intents),
//! the calendar with the same rules as the server (`famille_model`), sync, and the
//! API client; exported to Swift, Kotlin and Python with uniffi (`ffi.rs`), over
//! plain Rust (`engine.rs`) that is tested first.

pub mod capture;
pub mod client;
pub mod engine;
pub mod error;
pub mod ffi;
pub mod overlay;
pub mod page;
pub mod store;
pub mod views;

pub use client::{FileTokenStore, SessionTokens, TokenStore};
pub use engine::{Engine, ProgressListener};
pub use error::{CoreError, CoreResult};
pub use famille_model as model;

uniffi::setup_scaffolding!();
