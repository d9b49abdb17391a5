//! The parent's login on this phone (its tokens: not to be mixed up with an
//! activity's session): log in, log out (the family's data leaves the phone), a
//! valid access token (refreshed when close to its end or refused), calls as the
//! logged-in parent, the phone's push registration.

use chrono::Utc;
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
            access_expires_at: Utc::now().timestamp() + t.expires_in,
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
        let _one = self.auth_lock.lock().await;
        let tokens = self.tokens.load().ok_or(Error::LoginExpired)?;
        let expiring = tokens.access_expires_at <= Utc::now().timestamp() + 30;
        // Another task may have refreshed while this one waited: then it is new.
        if !expiring && rejected != Some(tokens.access_token.as_str()) {
            return Ok(tokens.access_token);
        }
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
