//! Every error the API can answer, turned into problem+json in one place: each error
//! names a stable [`ErrorCode`]; the HTTP status of a code is [`status_of`] (one
//! table for the whole API) and its French sentence is the model's
//! ([`ErrorCode::label_fr`]) unless the error brings more precise words. Handlers
//! never choose a status. A 5xx is logged by the request middleware
//! (`crate::http`), with the request's id, from the [`ErrorReport`] the response
//! carries; never with a body, which may hold health data.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use famille_model::ErrorCode;
use famille_model::api::{FieldProblem, Problem};
use famille_model::validate::FieldError;

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("invalid fields: {0:?}")]
    Invalid(Vec<FieldError>),
    /// The request cannot be read (its French reason).
    #[error("malformed body: {0}")]
    BadBody(String),
    /// A key (or query parameter) given twice, by its path.
    #[error("key given twice: {0}")]
    KeyTwice(String),
    #[error("body too large")]
    PayloadTooLarge,
    #[error("body is not JSON")]
    NotJson,
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("no or malformed bearer token")]
    Unauthenticated,
    #[error("access token expired")]
    TokenExpired,
    #[error("refresh token unknown or expired")]
    InvalidToken,
    #[error("refresh token reused; chain revoked")]
    RefreshReused,
    #[error("account disabled")]
    AccountDisabled,
    #[error("forbidden for this role")]
    Forbidden,
    #[error("not found")]
    NotFound,
    #[error("e-mail already registered")]
    EmailTaken,
    #[error("reset token invalid")]
    ResetTokenInvalid,
    #[error("dossier already validated")]
    AlreadyValidated,
    #[error("conflict: {0}")]
    Conflict(&'static str),
    #[error("rate limited for {retry_after}s")]
    RateLimited { retry_after: u64 },
    /// Any other refusal: its code decides the status; `detail` replaces the code's
    /// sentence when the refusal has more precise words (a limit, a name).
    #[error("{code}: {detail:?}")]
    Refused {
        code: ErrorCode,
        detail: Option<String>,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("internal: {0}")]
    Internal(String),
}

pub type AppResult<T> = Result<T, AppError>;

impl From<FieldError> for AppError {
    fn from(e: FieldError) -> Self {
        AppError::Invalid(vec![e])
    }
}

/// A form's field errors ([`famille_model::validate::Form`]).
impl From<Vec<FieldError>> for AppError {
    fn from(errors: Vec<FieldError>) -> Self {
        AppError::Invalid(errors)
    }
}

impl AppError {
    /// A refusal with the code's own French sentence.
    pub fn refused(code: ErrorCode) -> AppError {
        AppError::Refused { code, detail: None }
    }

    /// A refusal with more precise French words.
    pub fn refused_with(code: ErrorCode, detail: impl Into<String>) -> AppError {
        AppError::Refused {
            code,
            detail: Some(detail.into()),
        }
    }

    /// The stable code, and the French words when they differ from the code's own.
    fn code_and_detail(&self) -> (ErrorCode, Option<String>) {
        use AppError::*;
        match self {
            Invalid(errors) => (
                ErrorCode::InvalidField,
                Some(match errors.as_slice() {
                    [one] => format!("Un champ est à corriger : {}.", one.message),
                    _ => "Plusieurs champs sont à corriger.".to_owned(),
                }),
            ),
            BadBody(why) => (
                ErrorCode::InvalidBody,
                Some(famille_model::fr::sentence(why)),
            ),
            KeyTwice(path) => (
                ErrorCode::InvalidBody,
                Some(format!("Le champ « {path} » est donné deux fois.")),
            ),
            PayloadTooLarge => (ErrorCode::PayloadTooLarge, None),
            NotJson => (ErrorCode::UnsupportedMediaType, None),
            InvalidCredentials => (ErrorCode::InvalidCredentials, None),
            Unauthenticated => (ErrorCode::Unauthenticated, None),
            TokenExpired => (ErrorCode::TokenExpired, None),
            InvalidToken => (ErrorCode::InvalidToken, None),
            RefreshReused => (ErrorCode::RefreshTokenReused, None),
            AccountDisabled => (ErrorCode::AccountDisabled, None),
            Forbidden => (ErrorCode::Forbidden, None),
            NotFound => (ErrorCode::NotFound, None),
            EmailTaken => (ErrorCode::EmailTaken, None),
            ResetTokenInvalid => (ErrorCode::ResetTokenInvalid, None),
            AlreadyValidated => (ErrorCode::AlreadyValidated, None),
            Conflict(detail) => (ErrorCode::Conflict, Some((*detail).to_owned())),
            RateLimited { retry_after } => (
                ErrorCode::RateLimited,
                Some(format!(
                    "Trop de tentatives. Réessayez dans {}.",
                    famille_model::fr::duration(*retry_after)
                )),
            ),
            Refused { code, detail } => (*code, detail.clone()),
            Store(e) if e.is_unavailable() => (ErrorCode::Unavailable, None),
            Store(_) | Internal(_) => (ErrorCode::Internal, None),
        }
    }
}

/// The HTTP status of each code: the one table of the API.
pub fn status_of(code: ErrorCode) -> StatusCode {
    use ErrorCode::*;
    match code {
        InvalidBody | ResetTokenInvalid => StatusCode::BAD_REQUEST,
        InvalidCredentials | Unauthenticated | TokenExpired | InvalidToken | RefreshTokenReused => {
            StatusCode::UNAUTHORIZED
        }
        AccountDisabled | Forbidden => StatusCode::FORBIDDEN,
        NotFound => StatusCode::NOT_FOUND,
        MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        EmailTaken | AlreadyValidated | Conflict | UploadOffsetMismatch => StatusCode::CONFLICT,
        BillingRunOutdated | BillingRunClosed | NothingToCredit => StatusCode::CONFLICT,
        InvoiceSettled | AmountTooSmall | OnlinePaymentUnavailable | UnpaidInvoices => {
            StatusCode::CONFLICT
        }
        // Refusals of queued intents, when they stand alone as an answer.
        DossierPending | SessionFull | BookingClosed | CancelDeadlinePassed | DocumentRequired
        | NotEligible | AlreadyBooked | PlacesAvailable | WaitlistUnavailable | UploadNotReady
        | UploadRefused => StatusCode::CONFLICT,
        TusVersionUnsupported => StatusCode::PRECONDITION_FAILED,
        PayloadTooLarge | UploadTooLarge | TooManyMutations => StatusCode::PAYLOAD_TOO_LARGE,
        UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        InvalidField | WeakPassword | InvalidMutation | UnsupportedFileType | FileTypeMismatch
        | ImageTooLarge | DamagedFile | UnknownDocumentType => StatusCode::UNPROCESSABLE_ENTITY,
        // tus's checksum extension: "460 Checksum Mismatch".
        ChecksumMismatch => StatusCode::from_u16(460).expect("460 is a valid status"),
        RateLimited | QuotaReached => StatusCode::TOO_MANY_REQUESTS,
        Unavailable | ProviderUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        Internal | Unknown => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

tokio::task_local! {
    /// The id of the request being answered (set by the request middleware), so
    /// that every problem+json names it.
    pub static REQUEST_ID: String;
}

/// What went wrong behind a response, for the middleware that logs 5xx answers.
#[derive(Debug, Clone)]
pub struct ErrorReport(pub String);

/// Builds a problem+json response for `code`, with its status from [`status_of`].
pub fn problem_response(code: ErrorCode, detail: String, errors: Vec<FieldProblem>) -> Response {
    let status = status_of(code);
    let body = Problem {
        type_uri: format!("https://famille.example/problems/{}", code.as_str()),
        title: status.canonical_reason().unwrap_or("Error").to_owned(),
        status: status.as_u16(),
        code: code.as_str().to_owned(),
        detail,
        errors,
        request_id: REQUEST_ID.try_with(Clone::clone).ok(),
    };
    let mut response = (status, axum::Json(body)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    response
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (code, detail) = self.code_and_detail();
        let detail = detail.unwrap_or_else(|| code.label_fr().to_owned());
        let errors = match &self {
            AppError::Invalid(errors) => errors
                .iter()
                .map(|e| FieldProblem {
                    field: e.field.clone(),
                    detail: e.message.clone(),
                })
                .collect(),
            AppError::KeyTwice(path) => vec![FieldProblem {
                field: path.clone(),
                detail: "ce champ est donné deux fois".to_owned(),
            }],
            _ => Vec::new(),
        };
        let mut response = problem_response(code, detail, errors);
        if let AppError::RateLimited { retry_after } = self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
        }
        if response.status().is_server_error() {
            response
                .extensions_mut()
                .insert(ErrorReport(self.to_string()));
        }
        response
    }
}
