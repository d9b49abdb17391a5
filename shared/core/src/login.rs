//! The parent's login on this phone (its tokens: not to be mixed up with an
//! activity's session): log in, log out (the family's data leaves the phone), a
//! valid access token (refreshed when close to its end or refused), calls as the
//! logged-in parent, the phone's push registration.

use famille_model::api::{
    DeviceRegistration, LoginRequest, LogoutRequest, Platform, RefreshRequest, TokenResponse,
};
use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::client::{CallError, LoginTokens};
use crate::engine::Engine;
use crate::error::{CoreResult, Error};

impl Engine {
    fn save_tokens(&self, t: &TokenResponse) {
        self.tokens.save(LoginTokens {
            access_token: t.access_token.clone(),
            refresh_token: t.refresh_token.clone(),
            access_expires_at: crate::clock::Clock::phone_now().timestamp() + t.expires_in,
        });
    }

    pub async fn login(&self, email: &str, password: &str) -> CoreResult<()> {
        let answer: TokenResponse = self
            .api
            .call(
                Method::POST,
                "/api/v1/auth/login",
                None,
                Some(&LoginRequest {
                    email: email.to_owned(),
                    password: password.to_owned(),
                    remember_me: true,
                }),
            )
            .await?;
        // In the server's form (NFKC, lower case): the same parent typing on another
        // keyboard must not look like another account and wipe the phone's queue.
        let email = famille_model::validate::email("email", email)
            .unwrap_or_else(|_| email.trim().to_lowercase());
        {
            let mut store = self.store();
            // Another account on this phone: the previous family's data and intents go.
            if store.meta("account")?.is_some_and(|a| a != email) {
                store.clear_server_state()?;
                store.clear_queue()?;
            }
            store.set_meta("account", &email)?;
        }
        self.save_tokens(&answer);
        Ok(())
    }

    pub fn is_logged_in(&self) -> bool {
        self.tokens.load().is_some()
    }

    /// Ends the login on the server (unregistering this phone's push token) and
    /// removes the family's data from the phone.
    pub async fn logout(&self, device_token: Option<String>) -> CoreResult<()> {
        if let Some(t) = self.tokens.load() {
            // Offline, the login still ends here; the refresh token expires there.
            let _ = self
                .api
                .call::<Value, _>(
                    Method::POST,
                    "/api/v1/auth/logout",
                    None,
                    Some(&LogoutRequest {
                        refresh_token: t.refresh_token,
                        device_token,
                    }),
                )
                .await;
        }
        self.tokens.clear();
        let mut store = self.store();
        store.clear_server_state()?;
        store.clear_queue()?;
        let _ = std::fs::remove_dir_all(self.outgoing_dir());
        Ok(())
    }

    /// A valid access token, refreshed when close to its end or when the server
    /// refused `rejected` (revoked early).
    pub(crate) async fn access_token(&self, rejected: Option<&str>) -> CoreResult<String> {
        let usable = |t: &LoginTokens| {
            t.access_expires_at > crate::clock::Clock::phone_now().timestamp() + 30
                && rejected != Some(t.access_token.as_str())
        };
        let _one = self.auth_lock.lock().await;
        let tokens = self.tokens.load().ok_or(Error::LoginExpired)?;
        // Another task may have refreshed while this one waited: then it is new.
        if usable(&tokens) {
            return Ok(tokens.access_token);
        }
        // Another process on this folder (a share extension, a widget) may be
        // refreshing the same token: one at a time, and the tokens read again
        // once the lock is held (a refresh token works once).
        let _folder = FolderLock::acquire(&self.data_dir.join("auth.lock")).await?;
        let tokens = self.tokens.load().ok_or(Error::LoginExpired)?;
        if usable(&tokens) {
            return Ok(tokens.access_token);
        }
        let sent = tokens.refresh_token.clone();
        match self
            .api
            .call::<TokenResponse, _>(
                Method::POST,
                "/api/v1/auth/refresh",
                None,
                Some(&RefreshRequest {
                    refresh_token: tokens.refresh_token,
                }),
            )
            .await
        {
            Ok(answer) => {
                self.save_tokens(&answer);
                Ok(answer.access_token)
            }
            Err(CallError::Status { status, .. }) if status == 401 || status == 403 => {
                // Replaced meanwhile by a process that does not take the lock (an
                // older app version): the newer tokens stand.
                if let Some(newer) = self.tokens.load().filter(|t| t.refresh_token != sent) {
                    return Ok(newer.access_token);
                }
                // Expired or revoked: a new login is needed; the queue stays.
                self.tokens.clear();
                Err(Error::LoginExpired)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// A call as the logged-in parent; a 401 refreshes the access token once.
    pub(crate) async fn authed<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> CoreResult<T> {
        let token = self.access_token(None).await?;
        match self
            .api
            .call(method.clone(), path, Some(&token), body)
            .await
        {
            Err(CallError::Status { status: 401, .. }) => {
                let token = self.access_token(Some(&token)).await?;
                Ok(self.api.call(method, path, Some(&token), body).await?)
            }
            other => Ok(other?),
        }
    }

    /// A file (a PDF) as the logged-in parent; a 401 refreshes the token once.
    pub(crate) async fn download(&self, path: &str, media: &str) -> CoreResult<Vec<u8>> {
        let token = self.access_token(None).await?;
        match self.api.download(path, &token, media).await {
            Err(CallError::Status { status: 401, .. }) => {
                let token = self.access_token(Some(&token)).await?;
                Ok(self.api.download(path, &token, media).await?)
            }
            other => Ok(other?),
        }
    }

    /// A GET as the logged-in parent.
    pub(crate) async fn fetch<T: DeserializeOwned>(&self, path: &str) -> CoreResult<T> {
        self.authed::<T, ()>(Method::GET, path, None).await
    }

    /// Registers the phone's push token for the logged-in account.
    pub async fn register_device(
        &self,
        platform: Platform,
        token: &str,
        locale: &str,
    ) -> CoreResult<()> {
        self.authed::<Value, _>(
            Method::POST,
            "/api/v1/devices",
            Some(&DeviceRegistration {
                platform,
                token: token.to_owned(),
                locale: Some(locale.to_owned()),
            }),
        )
        .await?;
        Ok(())
    }
}

/// An advisory lock on a file of the core's folder, held across processes (the
/// app, its share extension, its widget) until dropped.
struct FolderLock {
    _file: std::fs::File,
}

impl FolderLock {
    /// Waits for the lock (polling: the wait must not block the core's threads),
    /// 30 seconds at most.
    async fn acquire(path: &std::path::Path) -> CoreResult<FolderLock> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)?;
        for _ in 0..1500 {
            match file.try_lock() {
                Ok(()) => return Ok(FolderLock { _file: file }),
                Err(std::fs::TryLockError::WouldBlock) => {
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(e.into()),
            }
        }
        Err(Error::offline(
            "connexion occupée par une autre partie de l'application",
        ))
    }
}
