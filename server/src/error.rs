//! Every error the API can answer, turned into problem+json in one place.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use famille_model::ErrorCode;
use famille_model::api::{FieldProblem, Problem};
use famille_model::validate::FieldError;
use serde::de::DeserializeOwned;

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("invalid fields: {0:?}")]
    Invalid(Vec<FieldError>),
    #[error("malformed body: {0}")]
    BadBody(String),
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
    /// A refusal with its own status and code (uploads, files).
    #[error("{code}: {detail}")]
    Refused {
        status: StatusCode,
        code: ErrorCode,
        detail: String,
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

impl AppError {
    /// Status, stable code and the French detail a parent reads.
    fn parts(&self) -> (StatusCode, ErrorCode, String) {
        use AppError::*;
        match self {
            Invalid(errors) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::InvalidField,
                match errors.as_slice() {
                    [one] => format!("Un champ est à corriger : {}.", one.message),
                    _ => "Plusieurs champs sont à corriger.".to_owned(),
                },
            ),
            BadBody(_) => (
                StatusCode::BAD_REQUEST,
                ErrorCode::InvalidBody,
                "Les informations envoyées sont incomplètes ou mal formées.".to_owned(),
            ),
            PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorCode::PayloadTooLarge,
                "Les informations envoyées sont trop volumineuses.".to_owned(),
            ),
            NotJson => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ErrorCode::UnsupportedMediaType,
                "Les informations doivent être envoyées au format JSON.".to_owned(),
            ),
            InvalidCredentials => (
                StatusCode::UNAUTHORIZED,
                ErrorCode::InvalidCredentials,
                "Adresse e-mail ou mot de passe incorrect.".to_owned(),
            ),
            Unauthenticated => (
                StatusCode::UNAUTHORIZED,
                ErrorCode::Unauthenticated,
                "Vous devez vous connecter pour accéder à cette page.".to_owned(),
            ),
            TokenExpired => (
                StatusCode::UNAUTHORIZED,
                ErrorCode::TokenExpired,
                "Votre session a expiré, veuillez vous reconnecter.".to_owned(),
            ),
            InvalidToken => (
                StatusCode::UNAUTHORIZED,
                ErrorCode::InvalidToken,
                "Votre session n'est plus valide, veuillez vous reconnecter.".to_owned(),
            ),
            RefreshReused => (
                StatusCode::UNAUTHORIZED,
                ErrorCode::RefreshTokenReused,
                "Par sécurité, votre session a été fermée sur tous vos appareils. Veuillez vous reconnecter."
                    .to_owned(),
            ),
            AccountDisabled => (
                StatusCode::FORBIDDEN,
                ErrorCode::AccountDisabled,
                "Ce compte est désactivé. Contactez les services de la communauté de communes.".to_owned(),
            ),
            Forbidden => (
                StatusCode::FORBIDDEN,
                ErrorCode::Forbidden,
                "Vous n'avez pas accès à cette fonction.".to_owned(),
            ),
            NotFound => (
                StatusCode::NOT_FOUND,
                ErrorCode::NotFound,
                "Cet élément est introuvable.".to_owned(),
            ),
            EmailTaken => (
                StatusCode::CONFLICT,
                ErrorCode::EmailTaken,
                "Un compte existe déjà avec cette adresse e-mail. Utilisez « Mot de passe oublié » pour vous connecter."
                    .to_owned(),
            ),
            ResetTokenInvalid => (
                StatusCode::BAD_REQUEST,
                ErrorCode::ResetTokenInvalid,
                "Ce lien de réinitialisation n'est plus valable. Refaites une demande de mot de passe oublié."
                    .to_owned(),
            ),
            AlreadyValidated => (
                StatusCode::CONFLICT,
                ErrorCode::AlreadyValidated,
                "Ce dossier est déjà validé.".to_owned(),
            ),
            Conflict(detail) => (StatusCode::CONFLICT, ErrorCode::Conflict, (*detail).to_owned()),
            Refused {
                status,
                code,
                detail,
            } => (*status, *code, detail.clone()),
            RateLimited { retry_after } => (
                StatusCode::TOO_MANY_REQUESTS,
                ErrorCode::RateLimited,
                format!("Trop de tentatives. Réessayez dans {}.", french_duration(*retry_after)),
            ),
            Store(e) if e.is_unavailable() => (
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::Unavailable,
                "Le service est momentanément surchargé. Réessayez dans quelques instants.".to_owned(),
            ),
            Store(_) | Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorCode::Internal,
                "Une erreur inattendue est survenue. Réessayez plus tard.".to_owned(),
            ),
        }
    }
}

fn french_duration(seconds: u64) -> String {
    match seconds {
        0..=1 => "une seconde".to_owned(),
        2..=59 => format!("{seconds} secondes"),
        60..=119 => "une minute".to_owned(),
        _ => format!("{} minutes", seconds.div_ceil(60)),
    }
}

/// Collects every field error of a form, so the app can show them all at once.
#[derive(Default)]
pub struct FieldErrors(Vec<FieldError>);

impl FieldErrors {
    /// Keeps the value, or records why it was refused.
    pub fn take<T>(&mut self, checked: Result<T, FieldError>) -> Option<T> {
        checked.map_err(|e| self.0.push(e)).ok()
    }

    pub fn push(&mut self, error: FieldError) {
        self.0.push(error);
    }

    /// `value()` when nothing was refused, else `invalid_field` with every error.
    pub fn finish<T>(self, value: impl FnOnce() -> T) -> AppResult<T> {
        if self.0.is_empty() {
            Ok(value())
        } else {
            Err(AppError::Invalid(self.0))
        }
    }
}

/// Builds a problem+json response.
pub fn problem_response(
    status: StatusCode,
    code: ErrorCode,
    detail: String,
    errors: Vec<FieldProblem>,
) -> Response {
    let body = Problem {
        type_uri: format!("https://famille.example/problems/{}", code.as_str()),
        title: status.canonical_reason().unwrap_or("Error").to_owned(),
        status: status.as_u16(),
        code: code.as_str().to_owned(),
        detail,
        errors,
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
        let (status, code, detail) = self.parts();
        if status.is_server_error() {
            // Never log request bodies here: they may hold health data.
            tracing::error!(error = %self, "request failed");
        }
        let errors = match &self {
            AppError::Invalid(errors) => errors
                .iter()
                .map(|e| FieldProblem {
                    field: e.field.clone(),
                    detail: e.message.clone(),
                })
                .collect(),
            AppError::BadBody(why) => vec![FieldProblem {
                field: String::new(),
                detail: why.clone(),
            }],
            _ => Vec::new(),
        };
        let mut response = problem_response(status, code, detail, errors);
        if let AppError::RateLimited { retry_after } = self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
        }
        response
    }
}

/// JSON body extractor whose rejections are problem+json.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(AppError::NotJson),
            Err(JsonRejection::BytesRejection(e))
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE =>
            {
                Err(AppError::PayloadTooLarge)
            }
            Err(e) => Err(AppError::BadBody(e.body_text())),
        }
    }
}

/// Path extractor: an id that does not even parse is an id that does not exist.
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(v)| ApiPath(v))
            .map_err(|e: PathRejection| match e {
                PathRejection::FailedToDeserializePathParams(_) => AppError::NotFound,
                other => AppError::Internal(other.body_text()),
            })
    }
}

/// Query-string extractor with problem+json rejections.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(v)| ApiQuery(v))
            .map_err(|e: QueryRejection| AppError::BadBody(e.body_text()))
    }
}
