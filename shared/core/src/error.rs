//! Errors: [`Error`] inside the core, with its cause kept (for tests and logs);
//! [`CoreError`] at the FFI edge, each variant something a screen can act on. The
//! conversion is the one place an internal error becomes what the apps see.

use famille_model::ErrorCode;

/// What went wrong inside the core.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No network, no answer, or the server busy: the queue is kept and sent later.
    #[error("hors ligne : {detail}")]
    Offline {
        detail: String,
        #[source]
        source: Option<reqwest::Error>,
    },
    /// A network that answers, but not as the server: a Wi-Fi login page (hotel,
    /// train, station), a filtering proxy. Nothing is decided; the queue is kept.
    #[error("réseau sans accès au serveur ({status})")]
    NotOurServer { status: u16 },
    /// The login ended (refresh token expired or revoked): log in again; the queue
    /// is kept for after the login.
    #[error("session expirée")]
    LoginExpired,
    /// The server said no, with its stable code and its French message.
    #[error("{detail}")]
    Rejected { code: ErrorCode, detail: String },
    /// The local database failed (disk full, corrupt file).
    #[error("stockage local : {0}")]
    Storage(#[from] rusqlite::Error),
    /// Something the core stored cannot be read back.
    #[error("donnée locale illisible : {0}")]
    LocalData(#[from] serde_json::Error),
    /// A file of the core's folder could not be written or read.
    #[error("fichier local : {0}")]
    Io(#[from] std::io::Error),
    /// The app asked for something that cannot be (unknown child, bad date).
    #[error("{0}")]
    InvalidInput(String),
    /// A task of the core stopped (a panic, a shutdown): a bug, not the storage.
    #[error("tâche interrompue : {0}")]
    Crashed(String),
}

pub type CoreResult<T> = Result<T, Error>;

impl Error {
    pub fn invalid(detail: impl Into<String>) -> Error {
        Error::InvalidInput(detail.into())
    }

    pub fn offline(detail: impl std::fmt::Display) -> Error {
        Error::Offline {
            detail: detail.to_string(),
            source: None,
        }
    }

    /// A refusal decided by the core itself, with the model's French sentence.
    pub fn rejected(code: ErrorCode) -> Error {
        Error::Rejected {
            code,
            detail: code.label_fr().to_owned(),
        }
    }
}

/// What went wrong, in terms a screen can act on.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum CoreError {
    /// No network, or the server did not answer: the queue is kept and sent later.
    #[error("hors ligne : {detail}")]
    Offline { detail: String },
    /// The network answers, but not as the server (a Wi-Fi login page, a proxy):
    /// the app says "réseau Wi-Fi à valider"; the queue is kept and sent later.
    #[error("{detail}")]
    NetworkToValidate { detail: String },
    /// The login ended (refresh token expired or revoked): log in again; the
    /// queue is kept for after the login.
    #[error("session expirée")]
    LoginExpired,
    /// The server (or the core, applying the same rules) said no, with the stable
    /// code and the French message.
    #[error("{detail}")]
    Rejected { code: ErrorCode, detail: String },
    /// The local store failed (disk full, corrupt file).
    #[error("stockage local : {detail}")]
    Storage { detail: String },
    /// The app asked for something that cannot be (unknown child, bad date).
    #[error("{detail}")]
    InvalidInput { detail: String },
    /// A bug in the core (a task stopped): worth a report, not a retry.
    #[error("erreur interne : {detail}")]
    Internal { detail: String },
}

impl From<Error> for CoreError {
    fn from(e: Error) -> CoreError {
        match e {
            Error::Offline { detail, .. } => CoreError::Offline { detail },
            Error::NotOurServer { .. } => CoreError::NetworkToValidate {
                detail: "Ce réseau ne donne pas accès au portail : validez la connexion Wi-Fi (page de connexion de l'hôtel, du train…) ou passez en données mobiles. Vos demandes restent en attente.".to_owned(),
            },
            Error::LoginExpired => CoreError::LoginExpired,
            Error::Rejected { code, detail } => CoreError::Rejected { code, detail },
            Error::InvalidInput(detail) => CoreError::InvalidInput { detail },
            Error::Storage(_) | Error::LocalData(_) | Error::Io(_) => CoreError::Storage {
                detail: e.to_string(),
            },
            Error::Crashed(_) => CoreError::Internal {
                detail: e.to_string(),
            },
        }
    }
}
