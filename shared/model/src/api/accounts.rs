//! Accounts: sign-up, login, tokens, password, staff accounts.

use uuid::Uuid;

use crate::dossier::Role;

wire! {

    pub struct RegisterRequest {
        #[cfg_attr(feature = "openapi", schema(min_length = 3, max_length = 254))]
        pub email: String,
        /// 10 to 128 characters ([`crate::validate::password`]).
        #[cfg_attr(feature = "openapi", schema(min_length = 10, max_length = 128))]
        pub password: String,
        #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 100))]
        pub first_name: String,
        #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 100))]
        pub last_name: String,
    }

    pub struct RegisterResponse {
        pub account_id: Uuid,
        pub family_id: Uuid,
    }

    pub struct LoginRequest {
        pub email: String,
        pub password: String,
        /// "Se souvenir de moi": a long-lived refresh token for the phone.
        #[serde(default)]
        pub remember_me: bool,
    }

    pub struct TokenResponse {
        pub access_token: String,
        pub refresh_token: String,
        /// Always "Bearer".
        pub token_type: String,
        /// Seconds until the access token expires.
        pub expires_in: i64,
        /// Seconds until the refresh token expires if unused.
        pub refresh_expires_in: i64,
    }

    pub struct RefreshRequest {
        pub refresh_token: String,
    }

    pub struct LogoutRequest {
        pub refresh_token: String,
        /// The phone's push token, unregistered with the session.
        #[serde(default)]
        pub device_token: Option<String>,
    }

    pub struct ForgotPasswordRequest {
        pub email: String,
    }

    pub struct ResetPasswordRequest {
        pub token: String,
        #[cfg_attr(feature = "openapi", schema(min_length = 10, max_length = 128))]
        pub password: String,
    }

    /// The caller's own account.
    pub struct Account {
        pub id: Uuid,
        pub email: String,
        pub role: Role,
        pub first_name: String,
        pub last_name: String,
        pub family_id: Option<Uuid>,
    }

    /// An agent or admin account created by an admin.
    pub struct NewStaffAccount {
        pub email: String,
        pub first_name: String,
        pub last_name: String,
        pub role: Role,
    }
}
