//! Access tokens (short-lived JWT, HS256, issuer and audience pinned) and the opaque
//! random tokens used for refresh and password reset (stored only as hashes).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use famille_model::dossier::Role;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::AppError;

pub const ISSUER: &str = "portail-famille";
pub const AUDIENCE: &str = "portail-famille-api";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: Uuid,
    pub role: Role,
    /// The family a parent may see; absent for staff.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fam: Option<Uuid>,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
}

pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl JwtKeys {
    pub fn new(secret: &[u8]) -> JwtKeys {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        // Expiry is checked against the server's clock in `verify`, so tests can
        // move time.
        validation.validate_exp = false;
        JwtKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
        }
    }

    pub fn issue(&self, claims: &Claims) -> Result<String, AppError> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .map_err(|e| AppError::Internal(format!("jwt encode: {e}")))
    }

    /// An access token for an account, valid `lifetime_seconds` from `now`.
    pub fn access_token(
        &self,
        account_id: Uuid,
        role: Role,
        family_id: Option<Uuid>,
        now: DateTime<Utc>,
        lifetime_seconds: i64,
    ) -> Result<String, AppError> {
        self.issue(&Claims {
            sub: account_id,
            role,
            fam: family_id,
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            iat: now.timestamp(),
            exp: now.timestamp() + lifetime_seconds,
        })
    }

    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<Claims, AppError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|_| AppError::Unauthenticated)?;
        if data.claims.exp <= now.timestamp() {
            return Err(AppError::TokenExpired);
        }
        Ok(data.claims)
    }
}

/// 256 random bits, URL-safe: refresh tokens, reset tokens, generated secrets.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system provides randomness");
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What the database keeps of an opaque token: a leaked table gives no usable token.
pub fn token_hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: i64) -> Claims {
        Claims {
            sub: Uuid::now_v7(),
            role: Role::Parent,
            fam: Some(Uuid::now_v7()),
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            iat: 0,
            exp,
        }
    }

    #[test]
    fn round_trip_and_expiry() {
        let keys = JwtKeys::new(b"0123456789abcdef0123456789abcdef");
        let now = Utc::now();
        let token = keys.issue(&claims(now.timestamp() + 60)).unwrap();
        assert_eq!(keys.verify(&token, now).unwrap().role, Role::Parent);
        let later = now + chrono::Duration::seconds(61);
        assert!(matches!(
            keys.verify(&token, later),
            Err(AppError::TokenExpired)
        ));
    }

    #[test]
    fn other_key_audience_or_algorithm_is_refused() {
        let keys = JwtKeys::new(b"0123456789abcdef0123456789abcdef");
        let other = JwtKeys::new(b"fedcba9876543210fedcba9876543210");
        let now = Utc::now();
        let token = other.issue(&claims(now.timestamp() + 60)).unwrap();
        assert!(matches!(
            keys.verify(&token, now),
            Err(AppError::Unauthenticated)
        ));

        let mut wrong_aud = claims(now.timestamp() + 60);
        wrong_aud.aud = "someone-else".into();
        let token = keys.issue(&wrong_aud).unwrap();
        assert!(matches!(
            keys.verify(&token, now),
            Err(AppError::Unauthenticated)
        ));

        // An unsigned token ("alg": "none") must never pass.
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let body =
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims(now.timestamp() + 60)).unwrap());
        assert!(keys.verify(&format!("{header}.{body}."), now).is_err());
    }

    #[test]
    fn random_tokens_differ_and_hash_stably() {
        let a = random_token();
        assert_ne!(a, random_token());
        assert_eq!(a.len(), 43);
        assert_eq!(token_hash(&a), token_hash(&a));
        assert_eq!(token_hash(&a).len(), 64);
    }
}
