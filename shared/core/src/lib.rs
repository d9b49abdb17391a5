//! The phones' brain (issue "Shared core"): offline store, mutation queue, sync and
//! API client, exported to Swift and Kotlin with uniffi. It applies the same rules as
//! the server, from `famille_model`, so the calendar is right offline.
//!
//! Empty for now on purpose: the foundation only fixes its place in the workspace.

pub use famille_model as model;
