//! Password hashing: argon2id at OWASP's parameters, off the async runtime, with a
//! bound on concurrent hashes so a login storm queues instead of starving every
//! other request.

use std::sync::Arc;

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use crate::error::AppError;

/// OWASP Password Storage Cheat Sheet: argon2id, m = 19 MiB, t = 2, p = 1.
const MEMORY_KIB: u32 = 19 * 1024;
const ITERATIONS: u32 = 2;
const PARALLELISM: u32 = 1;

#[derive(Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    /// Verified against when the account does not exist, so the answer takes as long.
    dummy_hash: Arc<String>,
}

fn argon2() -> Argon2<'static> {
    let params =
        Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn hash_now(password: &[u8]) -> Result<String, AppError> {
    argon2()
        .hash_password(password)
        .map(|h| h.to_string())
        .map_err(|e| AppError::Internal(format!("argon2: {e}")))
}

impl PasswordHasher {
    pub fn new(max_concurrent: usize) -> PasswordHasher {
        let dummy = hash_now(b"not a real password, only for timing").expect("argon2 works");
        PasswordHasher {
            permits: Arc::new(Semaphore::new(max_concurrent.max(1))),
            dummy_hash: Arc::new(dummy),
        }
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, AppError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| AppError::Internal("hasher closed".into()))?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| AppError::Internal(format!("hash task: {e}")))
    }

    /// Hashes the password in its normal form ([`famille_model::text::secret`], NFKC
    /// as NIST SP 800-63B asks): typed on any keyboard, it verifies.
    pub async fn hash(&self, password: String) -> Result<String, AppError> {
        let normal = famille_model::text::secret(&password);
        self.run(move || hash_now(normal.as_bytes())).await?
    }

    /// Checks `password` against a stored PHC string; with no stored hash (unknown
    /// account, or an imported dossier without a password) the same work is done
    /// against a dummy and the answer is `false`.
    pub async fn verify(&self, password: String, stored: Option<String>) -> Result<bool, AppError> {
        Ok(self.check(password, stored).await? != Verified::No)
    }

    /// Like [`verify`](Self::verify), and says whether the stored hash predates
    /// normalisation (made from the bytes as typed): the caller then stores
    /// [`hash`](Self::hash)'s, so the next login from another keyboard works too.
    pub async fn check(
        &self,
        password: String,
        stored: Option<String>,
    ) -> Result<Verified, AppError> {
        let real = stored.is_some();
        let phc = stored.unwrap_or_else(|| (*self.dummy_hash).clone());
        let normal = famille_model::text::secret(&password);
        let verified = self
            .run(move || {
                let Ok(parsed) = PasswordHash::new(&phc) else {
                    return Verified::No;
                };
                let matches = |bytes: &[u8]| argon2().verify_password(bytes, &parsed).is_ok();
                if matches(normal.as_bytes()) {
                    Verified::Yes
                } else if normal != password && matches(password.as_bytes()) {
                    Verified::YesLegacy
                } else {
                    Verified::No
                }
            })
            .await?;
        Ok(if real { verified } else { Verified::No })
    }
}

/// What a password check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verified {
    No,
    /// Matches the stored hash of its normal form.
    Yes,
    /// Matches a hash made before normalisation, from the bytes as typed.
    YesLegacy,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_then_verify() {
        let hasher = PasswordHasher::new(2);
        let phc = hasher.hash("demo-parent-pw".into()).await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(
            hasher
                .verify("demo-parent-pw".into(), Some(phc.clone()))
                .await
                .unwrap()
        );
        assert!(
            !hasher
                .verify("wrong-password".into(), Some(phc))
                .await
                .unwrap()
        );
        assert!(!hasher.verify("demo-parent-pw".into(), None).await.unwrap());
        // NFC and NFD of one password verify against one hash.
        let nfc = "Vacances-\u{e9}t\u{e9}-\u{e0}-No\u{eb}l";
        let nfd = "Vacances-e\u{301}te\u{301}-a\u{300}-Noe\u{308}l";
        let phc = hasher.hash(nfd.into()).await.unwrap();
        assert_eq!(
            hasher.check(nfc.into(), Some(phc.clone())).await.unwrap(),
            Verified::Yes
        );
        assert_eq!(
            hasher.check(nfd.into(), Some(phc)).await.unwrap(),
            Verified::Yes
        );
        // A hash made from NFD bytes before normalisation still verifies, as legacy.
        let legacy = hash_now(nfd.as_bytes()).unwrap();
        assert_eq!(
            hasher
                .check(nfd.into(), Some(legacy.clone()))
                .await
                .unwrap(),
            Verified::YesLegacy
        );
        assert_eq!(
            hasher.check(nfc.into(), Some(legacy)).await.unwrap(),
            Verified::No
        );
        assert!(
            !hasher
                .verify("x".into(), Some("garbage".into()))
                .await
                .unwrap()
        );
    }
}
