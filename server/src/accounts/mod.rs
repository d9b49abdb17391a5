//! Accounts: sign-up, login with "se souvenir de moi", rotating refresh tokens with
//! reuse detection, logout, forgotten password, staff accounts.

pub mod auth;
pub mod http;
pub mod password;
pub mod tokens;

use chrono::{DateTime, Duration, Utc};
use famille_model::api::{
    Account, NewStaffAccount, RegisterRequest, RegisterResponse, TokenResponse,
};
use famille_model::validate;
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::StoreError;
use crate::store::accounts::{AccountRow, NewParent, NewRefresh, NewStaff, Rotation};
use password::Verified;
use tokens::{random_token, token_hash};

/// How long a password-reset link stays valid.
pub const RESET_TOKEN_HOURS: i64 = 1;

/// "Je veux créer mon dossier": an account, and a pending dossier with this parent
/// as its first guardian.
pub async fn register(state: &AppState, req: RegisterRequest) -> AppResult<RegisterResponse> {
    let mut errors = famille_model::validate::Fields::default();
    let email = errors.take(validate::email("email", &req.email));
    let first_name = errors.take(validate::name("first_name", &req.first_name));
    let last_name = errors.take(validate::name("last_name", &req.last_name));
    errors.take(validate::password("password", &req.password));
    let (email, first_name, last_name) = errors.finish(|| (email, first_name, last_name))?;
    let (Some(email), Some(first_name), Some(last_name)) = (email, first_name, last_name) else {
        return Err(AppError::Internal("validated fields missing".into()));
    };
    if state.db.accounts().by_email(&email).await?.is_some() {
        return Err(AppError::EmailTaken);
    }
    let password_hash = state.hasher.hash(req.password).await?;
    let new = NewParent {
        account_id: Uuid::now_v7(),
        family_id: Uuid::now_v7(),
        guardian_id: Uuid::now_v7(),
        email: &email,
        password_hash: Some(&password_hash),
        first_name: &first_name,
        last_name: &last_name,
        now: state.clock.now(),
    };
    match state.db.accounts().insert_parent(&new).await {
        Ok(_) => Ok(RegisterResponse {
            account_id: new.account_id,
            family_id: new.family_id,
        }),
        Err(StoreError::Duplicate(_)) => Err(AppError::EmailTaken),
        Err(e) => Err(e.into()),
    }
}

/// Logs in from `address` (the client's network address, for the limits).
#[tracing::instrument(skip_all)]
pub async fn login(
    state: &AppState,
    email: &str,
    password: String,
    remember_me: bool,
    address: &str,
) -> AppResult<TokenResponse> {
    let now = state.clock.now();
    let limits = &state.limits;
    limits.failures_per_address.allows(address, now)?;
    // A malformed address cannot be an account: same answer as a wrong password.
    let Ok(email) = validate::email("email", email) else {
        limits.failures_per_address.take(address, now);
        return Err(AppError::InvalidCredentials);
    };
    let pair = format!("{email} {address}");
    limits.login_failures.allows(&pair, now)?;
    if limits.login_failures_anywhere.allows(&email, now).is_err() {
        // Guessed at from many places: slowed down, never locked.
        tokio::time::sleep(crate::ratelimit::SLOWDOWN).await;
    }
    let account = state.db.accounts().by_email(&email).await?;
    let stored = account.as_ref().and_then(|a| a.password_hash.clone());
    let verified = state.hasher.check(password.clone(), stored).await?;
    let account = match account {
        Some(account) if verified != Verified::No => account,
        _ => {
            limits.login_failures.take(&pair, now);
            limits.login_failures_anywhere.take(&email, now);
            limits.failures_per_address.take(address, now);
            return Err(AppError::InvalidCredentials);
        }
    };
    limits.login_failures.forgive(&pair);
    if verified == Verified::YesLegacy {
        // Hashed before normalisation: store the normal form's hash from now on.
        let upgraded = state.hasher.hash(password).await?;
        state
            .db
            .accounts()
            .set_password_hash(account.id, &upgraded)
            .await?;
    }
    if account.disabled_at.is_some() {
        return Err(AppError::AccountDisabled);
    }
    let now = state.clock.now();
    let refresh = random_token();
    let refresh_hash = token_hash(&refresh);
    let expires_at = refresh_expiry(state, remember_me, now);
    state
        .db
        .accounts()
        .insert_refresh(&NewRefresh {
            id: Uuid::now_v7(),
            chain_id: Uuid::now_v7(),
            account_id: account.id,
            token_hash: &refresh_hash,
            remember_me,
            now,
            expires_at,
        })
        .await?;
    token_response(state, &account, refresh, expires_at, now)
}

fn refresh_expiry(state: &AppState, remember_me: bool, now: DateTime<Utc>) -> DateTime<Utc> {
    if remember_me {
        now + Duration::days(state.config.remember_refresh_days)
    } else {
        now + Duration::hours(state.config.login_refresh_hours)
    }
}

fn token_response(
    state: &AppState,
    account: &AccountRow,
    refresh_token: String,
    refresh_expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> AppResult<TokenResponse> {
    let expires_in = state.config.access_token_minutes * 60;
    Ok(TokenResponse {
        access_token: state.jwt.access_token(
            account.id,
            account.role()?,
            account.family_id,
            now,
            expires_in,
        )?,
        refresh_token,
        token_type: "Bearer".to_owned(),
        expires_in,
        refresh_expires_in: (refresh_expires_at - now).num_seconds(),
    })
}

/// How long a used refresh token may be presented again, while the token it was
/// exchanged for is unused: the answer may have been lost on a bad connection
/// (RFC 9700 §4.14.2 allows this grace).
pub const REFRESH_GRACE: Duration = Duration::seconds(60);

/// Exchanges a refresh token for a new pair. A token works once: presenting it again
/// after [`REFRESH_GRACE`], or once the token it was exchanged for was used, revokes
/// every token of its chain (this login on this phone; the thief's too).
#[tracing::instrument(skip_all)]
pub async fn refresh(
    state: &AppState,
    refresh_token: &str,
    address: &str,
) -> AppResult<TokenResponse> {
    let now = state.clock.now();
    state.limits.failures_per_address.allows(address, now)?;
    let answer = rotate_refresh(state, refresh_token, now).await;
    if matches!(
        answer,
        Err(AppError::InvalidToken | AppError::RefreshReused)
    ) {
        state.limits.failures_per_address.take(address, now);
    }
    answer
}

async fn rotate_refresh(
    state: &AppState,
    refresh_token: &str,
    now: DateTime<Utc>,
) -> AppResult<TokenResponse> {
    let accounts = state.db.accounts();
    let current = accounts
        .refresh_by_hash(&token_hash(refresh_token))
        .await?
        .ok_or(AppError::InvalidToken)?;
    if current.revoked_at.is_some() {
        accounts.revoke_chain(current.chain_id, now).await?;
        return Err(AppError::RefreshReused);
    }
    if current.expires_at <= now {
        return Err(AppError::InvalidToken);
    }
    let account = accounts
        .by_id(current.account_id)
        .await?
        .ok_or(AppError::InvalidToken)?;
    if account.disabled_at.is_some() {
        return Err(AppError::AccountDisabled);
    }
    let next = random_token();
    let next_hash = token_hash(&next);
    let expires_at = refresh_expiry(state, current.remember_me, now);
    let next_refresh = NewRefresh {
        id: Uuid::now_v7(),
        chain_id: current.chain_id,
        account_id: account.id,
        token_hash: &next_hash,
        remember_me: current.remember_me,
        now,
        expires_at,
    };
    let rotation =
        crate::store::retrying(|| accounts.rotate(&current, &next_refresh, REFRESH_GRACE)).await?;
    match rotation {
        Rotation::Rotated => token_response(state, &account, next, expires_at, now),
        Rotation::Reused => Err(AppError::RefreshReused),
    }
}

/// Ends the login the refresh token belongs to. Unknown tokens are ignored: the
/// caller's goal (being logged out) is reached either way.
pub async fn logout(
    state: &AppState,
    refresh_token: &str,
    device_token: Option<&str>,
) -> AppResult<()> {
    if let Some(current) = state
        .db
        .accounts()
        .refresh_by_hash(&token_hash(refresh_token))
        .await?
    {
        state
            .db
            .accounts()
            .revoke_chain(current.chain_id, state.clock.now())
            .await?;
        // The phone stops receiving this account's notifications with the login.
        if let Some(device) = device_token {
            state
                .db
                .devices()
                .remove(current.account_id, device.trim())
                .await?;
        }
    }
    Ok(())
}

/// Mails a one-time reset link if the address has an account. The caller always
/// hears the same thing, and the mail is sent in the background so the timing does
/// not tell either.
pub async fn forgot_password(state: &AppState, email: &str, address: &str) -> AppResult<()> {
    let now = state.clock.now();
    state.limits.work_per_address.check(address, now)?;
    let Ok(email) = validate::email("email", email) else {
        return Ok(());
    };
    state
        .limits
        .forgot_per_email_address
        .check(&format!("{email} {address}"), now)?;
    // Past the per-account limit (asked from many places), the answer stays 202 and
    // no mail leaves: the parent already holds recent links that work, and a stranger
    // can neither bomb the inbox nor make the parent's own request fail.
    if state.limits.forgot_per_email.check(&email, now).is_err() {
        return Ok(());
    }
    let state = state.clone();
    tokio::spawn(async move {
        if let Err(e) = send_reset_mail(&state, &email).await {
            tracing::error!(error = %e, "password reset mail failed");
        }
    });
    Ok(())
}

async fn send_reset_mail(state: &AppState, email: &str) -> AppResult<()> {
    let Some(account) = state.db.accounts().by_email(email).await? else {
        return Ok(());
    };
    if account.disabled_at.is_some() {
        return Ok(());
    }
    let now = state.clock.now();
    let token = random_token();
    state
        .db
        .accounts()
        .insert_reset(
            &token_hash(&token),
            account.id,
            now,
            now + Duration::hours(RESET_TOKEN_HOURS),
        )
        .await?;
    let first_time = account.password_hash.is_none();
    // An agent's account is not a family's dossier: each is told in its words.
    let staff = account.role().is_ok_and(|r| r.is_staff());
    let (subject, intro) = match (first_time, staff) {
        (true, true) => (
            "Portail Famille : choisissez votre mot de passe",
            "Votre compte des services du Portail Famille a été créé. Pour votre première connexion, choisissez votre mot de passe.",
        ),
        (true, false) => (
            "Portail Famille : choisissez votre mot de passe",
            "Votre dossier famille a été créé par les services. Pour votre première connexion, choisissez votre mot de passe.",
        ),
        (false, _) => (
            "Portail Famille : réinitialisation de votre mot de passe",
            "Vous avez demandé à changer le mot de passe de votre Portail Famille.",
        ),
    };
    let body = format!(
        "Bonjour {first},\n\n{intro}\n\nOuvrez ce lien (valable {RESET_TOKEN_HOURS} heure) :\n{url}/mot-de-passe/reinitialiser?jeton={token}\n\n\
         ou saisissez ce code dans l'application :\n{token}\n\n\
         Si vous n'êtes pas à l'origine de cette demande, ignorez ce message : votre mot de passe reste inchangé.\n\n\
         {org}\n",
        first = account.first_name,
        url = state.config.public_url,
        org = state.config.organisation_name,
    );
    state
        .mailer
        .send(&account.email, subject, body)
        .await
        .map_err(|e| AppError::Internal(e.to_string()))
}

/// Sets a new password with a mailed token; every login of the account ends.
pub async fn reset_password(state: &AppState, token: &str, password: String) -> AppResult<()> {
    validate::password("password", &password)?;
    let hash_of_token = token_hash(token.trim());
    let now = state.clock.now();
    let account_id = state
        .db
        .accounts()
        .reset_account(&hash_of_token, now)
        .await?
        .ok_or(AppError::ResetTokenInvalid)?;
    let password_hash = state.hasher.hash(password).await?;
    if state
        .db
        .accounts()
        .reset_password(
            &hash_of_token,
            account_id,
            &password_hash,
            state.clock.now(),
        )
        .await?
    {
        Ok(())
    } else {
        Err(AppError::ResetTokenInvalid)
    }
}

pub async fn me(state: &AppState, account_id: Uuid) -> AppResult<Account> {
    let row = state
        .db
        .accounts()
        .by_id(account_id)
        .await?
        .ok_or(AppError::InvalidToken)?;
    Ok(Account {
        id: row.id,
        role: row.role()?,
        email: row.email,
        first_name: row.first_name,
        last_name: row.last_name,
        family_id: row.family_id,
    })
}

/// Creates an agent or admin. Without a password the account receives a mail to
/// choose one (the same path as an imported family).
pub async fn create_staff(
    state: &AppState,
    new: &NewStaffAccount,
    password: Option<String>,
) -> AppResult<Uuid> {
    if !new.role.is_staff() {
        return Err(validate::FieldError::new(
            "role",
            "un compte des services est « agent » ou « admin »",
        )
        .into());
    }
    let email = validate::email("email", &new.email)?;
    let first_name = validate::name("first_name", &new.first_name)?;
    let last_name = validate::name("last_name", &new.last_name)?;
    let password_hash = match password {
        Some(pw) => {
            validate::password("password", &pw)?;
            Some(state.hasher.hash(pw).await?)
        }
        None => None,
    };
    let id = Uuid::now_v7();
    let insert = state
        .db
        .accounts()
        .insert_staff(&NewStaff {
            id,
            email: &email,
            password_hash: password_hash.as_deref(),
            role: new.role,
            first_name: &first_name,
            last_name: &last_name,
            now: state.clock.now(),
        })
        .await;
    match insert {
        Ok(()) => {}
        Err(StoreError::Duplicate(_)) => return Err(AppError::EmailTaken),
        Err(e) => return Err(e.into()),
    }
    if password_hash.is_none() {
        send_reset_mail(state, &email).await?;
    }
    Ok(id)
}
