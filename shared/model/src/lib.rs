//! Wire types and pure rules shared by the Portail Famille server and the phones.
//!
//! Nothing here does I/O: the server applies these rules authoritatively and the
//! phone's core applies the very same code offline.

pub mod api;
pub mod codes;
pub mod dossier;
pub mod validate;

pub use codes::ErrorCode;
