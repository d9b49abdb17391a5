//! Reading requests, by one rule for bodies and query strings alike:
//!
//! - 400 `invalid_body`: the request cannot be read as meant: not JSON (or not
//!   `application/json`), cut short, or a key (or query parameter) given twice,
//!   whose meaning each reader guesses differently;
//! - 422 `invalid_field`: it was read, and a value does not fit (a wrong type, an
//!   unknown word, a date that is no date, a missing field): the field is named
//!   by its path (`mutations[2].kind`, `from`) with a French message.
//!
//! An id in the path that does not parse is an id that does not exist (404).

use std::collections::HashSet;

use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use famille_model::validate::FieldError;
use serde::de::{DeserializeOwned, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::error::{AppError, AppResult};

mod objects_only;
use objects_only::ObjectsOnly;

/// JSON body extractor whose rejections are problem+json, by one rule: a body that
/// is not JSON (or not `application/json`) is `invalid_body` (400); JSON whose
/// values do not fit is `invalid_field` (422), naming the field (its path, as
/// `mutations[2].kind`) with a French message.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<mime::Mime>().ok())
            .is_some_and(|m| {
                m.type_() == "application"
                    && (m.subtype() == "json" || m.suffix().is_some_and(|s| s == "json"))
            });
        if !is_json {
            return Err(AppError::NotJson);
        }
        let bytes = body(req, state).await?;
        decode_json(&bytes).map(ApiJson)
    }
}

/// The body's bytes: too large is `payload_too_large`, cut short `invalid_body`.
async fn body<S: Send + Sync>(req: Request, state: &S) -> AppResult<axum::body::Bytes> {
    axum::body::Bytes::from_request(req, state)
        .await
        .map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                AppError::PayloadTooLarge
            } else {
                AppError::BadBody("corps de la requête illisible".to_owned())
            }
        })
}

/// Reads a JSON value by the rule of [`ApiJson`].
pub fn decode_json<T: DeserializeOwned>(bytes: &[u8]) -> AppResult<T> {
    match scan(bytes) {
        Some(Flaw::KeyTwice(path)) => return Err(given_twice(&path)),
        Some(Flaw::ControlCharacter(path)) => return Err(control_character(&path)),
        None => {}
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(ObjectsOnly(&mut de))
        .map_err(|e| (e.path().to_string(), e.into_inner()))
        .and_then(|v| de.end().map(|()| v).map_err(|e| (".".to_owned(), e)));
    value.map_err(|(path, inner)| match inner.classify() {
        serde_json::error::Category::Data => {
            let (field, message) = french_data_error(&path, &inner.to_string());
            AppError::Invalid(vec![FieldError::new(&field, message)])
        }
        serde_json::error::Category::Eof => {
            AppError::BadBody("le JSON s'arrête avant la fin".to_owned())
        }
        _ => AppError::BadBody(format!(
            "JSON mal formé (ligne {}, colonne {})",
            inner.line(),
            inner.column()
        )),
    })
}

/// serde's English, said in French, with the field it is about.
fn french_data_error(path: &str, message: &str) -> (String, String) {
    let at = |suffix: &str| {
        let base = if path == "." { "" } else { path };
        match (base.is_empty(), suffix.is_empty()) {
            (true, _) => suffix.to_owned(),
            (false, true) => base.to_owned(),
            (false, false) => format!("{base}.{suffix}"),
        }
    };
    // "… at line 1 column 23": the position is not the parent's business.
    let message = message.rsplit_once(" at line ").map_or(message, |(m, _)| m);
    let quoted = |m: &str| m.split('`').nth(1).unwrap_or_default().to_owned();
    if message.starts_with("missing field") {
        (at(&quoted(message)), "ce champ est obligatoire".to_owned())
    } else if message.starts_with("duplicate field") {
        (
            at(&quoted(message)),
            "ce champ est donné deux fois".to_owned(),
        )
    } else if message.starts_with("unknown field") {
        (
            at(&quoted(message)),
            "ce champ n'est pas attendu ici".to_owned(),
        )
    } else if message.starts_with("unknown variant") {
        (at(""), format!("valeur « {} » inconnue", quoted(message)))
    } else if message.starts_with("invalid type: sequence, expected an object") {
        (
            at(""),
            "un objet JSON est attendu ici, pas une liste".to_owned(),
        )
    } else if message.starts_with("invalid type") {
        (at(""), "ce type de valeur n'est pas attendu ici".to_owned())
    } else if message.starts_with("valeur") || message.starts_with("la ") {
        // Already French (the model's vocabularies say why themselves).
        (at(""), message.to_owned())
    } else if message.contains("UUID") {
        (at(""), "identifiant invalide".to_owned())
    } else if message.contains("input") || message.contains("premature") {
        (at(""), "date ou valeur invalide".to_owned())
    } else {
        (at(""), "valeur incorrecte".to_owned())
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

/// Query-string extractor by the same rule as [`ApiJson`]: a parameter given twice
/// is `invalid_body` (400); a value that does not fit is `invalid_field` (422)
/// naming the parameter, in French.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        decode_query(parts.uri.query().unwrap_or_default()).map(ApiQuery)
    }
}

/// A form body (`application/x-www-form-urlencoded`, as PayFiP posts) read by the
/// rule of [`ApiQuery`].
pub struct ApiForm<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiForm<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = body(req, state).await?;
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| AppError::BadBody("formulaire illisible (UTF-8 attendu)".to_owned()))?;
        decode_query(text).map(ApiForm)
    }
}

/// Reads a query string by the rule of [`ApiQuery`].
pub fn decode_query<T: DeserializeOwned>(query: &str) -> AppResult<T> {
    // Percent-escapes that are not UTF-8 (`%ff`) would be replaced silently.
    let unreadable = query
        .split('&')
        .flat_map(|pair| pair.split('='))
        .any(|part| {
            percent_encoding::percent_decode_str(&part.replace('+', " "))
                .decode_utf8()
                .is_err()
        });
    if unreadable {
        return Err(AppError::BadBody(
            "paramètres de l'adresse illisibles (UTF-8 attendu)".to_owned(),
        ));
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)
        .map_err(|_| AppError::BadBody("paramètres de l'adresse illisibles".to_owned()))?;
    let mut seen = HashSet::new();
    if let Some((name, _)) = pairs.iter().find(|(name, _)| !seen.insert(name)) {
        return Err(given_twice(name));
    }
    // A parameter is one line: no control character at all (not even a line break).
    if let Some((name, _)) = pairs
        .iter()
        .find(|(_, value)| value.chars().any(char::is_control))
    {
        return Err(control_character(name));
    }
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let (field, message) = french_data_error(&path, &e.into_inner().to_string());
        AppError::Invalid(vec![FieldError::new(&field, message)])
    })
}

fn given_twice(path: &str) -> AppError {
    AppError::KeyTwice(path.to_owned())
}

fn control_character(path: &str) -> AppError {
    FieldError::new(path, "ce texte contient des caractères interdits").into()
}

/// Whether text holds a control character other than a line break or a tab (NUL,
/// escape…): refused wherever text enters, so that both databases store the same
/// (PostgreSQL cannot store NUL; SQLite would).
pub fn has_control_character(text: &str) -> bool {
    text.chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
}

/// What a JSON document holds that no reader should have to guess about.
#[derive(Debug, PartialEq, Eq)]
pub enum Flaw {
    /// A key given twice in one object, by its path (`mutations[1].session_id`):
    /// RFC 8259 leaves such a document's meaning to each reader (most keep the
    /// last value, some the first), so it is refused rather than guessed. Keys are
    /// compared unescaped (`"a"` and `"\u0061"` are one).
    KeyTwice(String),
    /// A string (or key) holding a control character, by its path.
    ControlCharacter(String),
}

/// Prefixes of the errors the scan raises (never shown).
const KEY_TWICE: &str = "\u{0}key twice:";
const CONTROL: &str = "\u{0}control:";

/// The first flaw of a JSON document, if any (a syntax error is left to the
/// decoding that follows).
pub fn scan(bytes: &[u8]) -> Option<Flaw> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let error = Unique(String::new())
        .deserialize(&mut de)
        .err()?
        .to_string();
    let path = |rest: &str| {
        rest.rsplit_once(" at line ")
            .map_or(rest, |(p, _)| p)
            .to_owned()
    };
    if let Some(rest) = error.strip_prefix(KEY_TWICE) {
        Some(Flaw::KeyTwice(path(rest)))
    } else {
        error
            .strip_prefix(CONTROL)
            .map(|rest| Flaw::ControlCharacter(path(rest)))
    }
}

/// Walks a JSON value, remembering where it is, and fails at a key seen twice.
struct Unique(String);

impl Unique {
    fn at(&self, step: &str) -> Unique {
        Unique(if self.0.is_empty() || step.starts_with('[') {
            format!("{}{step}", self.0)
        } else {
            format!("{}.{step}", self.0)
        })
    }
}

impl<'de> DeserializeSeed<'de> for Unique {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Unique {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<(), E> {
        if has_control_character(text) {
            return Err(E::custom(format!("{CONTROL}{}", self.0)));
        }
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0usize;
        while seq.next_element_seed(self.at(&format!("[{i}]")))?.is_some() {
            i += 1;
        }
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            let inner = self.at(&key);
            if has_control_character(&key) {
                return Err(serde::de::Error::custom(format!("{CONTROL}{}", inner.0)));
            }
            if !seen.insert(key) {
                return Err(serde::de::Error::custom(format!("{KEY_TWICE}{}", inner.0)));
            }
            map.next_value_seed(inner)?;
        }
        Ok(())
    }
}
