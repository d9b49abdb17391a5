//! The one error type the apps see: each variant is something a UI can act on.

/// What went wrong, in terms a screen can act on.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum CoreError {
    /// No network, or the server did not answer: the queue is kept and sent later.
    #[error("hors ligne : {detail}")]
    Offline { detail: String },
    /// The session ended (refresh token expired or revoked): log in again; the
    /// queue is kept for after the login.
    #[error("session expirée")]
    SessionExpired,
    /// The server said no, with its stable code and its French message.
    #[error("{detail}")]
    Rejected { code: String, detail: String },
    /// The local store failed (disk full, corrupt file).
    #[error("stockage local : {detail}")]
    Storage { detail: String },
    /// The app asked for something that cannot be (unknown child, bad date).
    #[error("{detail}")]
    InvalidInput { detail: String },
}

impl CoreError {
    pub fn invalid(detail: impl Into<String>) -> CoreError {
        CoreError::InvalidInput {
            detail: detail.into(),
        }
    }

    pub fn offline(detail: impl std::fmt::Display) -> CoreError {
        CoreError::Offline {
            detail: detail.to_string(),
        }
    }
}

impl From<rusqlite::Error> for CoreError {
    fn from(e: rusqlite::Error) -> CoreError {
        CoreError::Storage {
            detail: e.to_string(),
        }
    }
}

impl From<serde_json::Error> for CoreError {
    fn from(e: serde_json::Error) -> CoreError {
        CoreError::Storage {
            detail: format!("donnée locale illisible : {e}"),
        }
    }
}

pub type CoreResult<T> = Result<T, CoreError>;
