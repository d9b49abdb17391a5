//! Account routes: thin handlers over `accounts`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use famille_model::api::{
    Account, ForgotPasswordRequest, LoginRequest, LogoutRequest, NewStaffAccount, Problem,
    RefreshRequest, RegisterRequest, RegisterResponse, ResetPasswordRequest, TokenResponse,
};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::{Admin, Caller, ClientAddr};
use crate::error::AppResult;
use crate::input::ApiJson;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(login))
        .routes(routes!(refresh))
        .routes(routes!(logout))
        .routes(routes!(forgot_password))
        .routes(routes!(reset_password))
        .routes(routes!(me))
        .routes(routes!(create_staff_account))
}

/// Work asked from one network address (sign-ups, resets): generous limits.
fn limit_work(state: &AppState, addr: ClientAddr) -> AppResult<()> {
    state
        .limits
        .work_per_address
        .check(&addr.key(), state.clock.now())
}

/// "Je veux créer mon dossier".
#[utoipa::path(post, path = "/api/v1/auth/register", tag = "comptes", request_body = RegisterRequest,
    responses(
        (status = 201, description = "Compte et dossier (en attente de validation) créés", body = RegisterResponse),
        (status = 409, description = "`email_taken`", body = Problem),
        (status = 422, description = "`invalid_field`", body = Problem),
        (status = 429, description = "`rate_limited`", body = Problem),
    ))]
async fn register(
    State(state): State<AppState>,
    addr: ClientAddr,
    ApiJson(req): ApiJson<RegisterRequest>,
) -> AppResult<(StatusCode, Json<RegisterResponse>)> {
    limit_work(&state, addr)?;
    let created = super::register(&state, req).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(post, path = "/api/v1/auth/login", tag = "comptes", request_body = LoginRequest,
    responses(
        (status = 200, body = TokenResponse),
        (status = 401, description = "`invalid_credentials`", body = Problem),
        (status = 429, description = "`rate_limited`, with Retry-After", body = Problem),
    ))]
async fn login(
    State(state): State<AppState>,
    addr: ClientAddr,
    ApiJson(req): ApiJson<LoginRequest>,
) -> AppResult<Json<TokenResponse>> {
    Ok(Json(
        super::login(
            &state,
            &req.email,
            req.password,
            req.remember_me,
            &addr.key(),
        )
        .await?,
    ))
}

/// Rotates the refresh token; a token presented twice revokes its whole chain.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "comptes", request_body = RefreshRequest,
    responses(
        (status = 200, body = TokenResponse),
        (status = 401, description = "`invalid_token` or `refresh_token_reused`", body = Problem),
    ))]
async fn refresh(
    State(state): State<AppState>,
    addr: ClientAddr,
    ApiJson(req): ApiJson<RefreshRequest>,
) -> AppResult<Json<TokenResponse>> {
    Ok(Json(
        super::refresh(&state, &req.refresh_token, &addr.key()).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "comptes", request_body = LogoutRequest,
    responses((status = 204, description = "Session fermée")))]
async fn logout(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<LogoutRequest>,
) -> AppResult<StatusCode> {
    super::logout(&state, &req.refresh_token, req.device_token.as_deref()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Always 202, whether or not the address has an account.
#[utoipa::path(post, path = "/api/v1/auth/password/forgot", tag = "comptes", request_body = ForgotPasswordRequest,
    responses((status = 202, description = "Un e-mail est envoyé si l'adresse a un compte"),
              (status = 429, description = "`rate_limited`", body = Problem)))]
async fn forgot_password(
    State(state): State<AppState>,
    addr: ClientAddr,
    ApiJson(req): ApiJson<ForgotPasswordRequest>,
) -> AppResult<StatusCode> {
    super::forgot_password(&state, &req.email, &addr.key()).await?;
    Ok(StatusCode::ACCEPTED)
}

#[utoipa::path(post, path = "/api/v1/auth/password/reset", tag = "comptes", request_body = ResetPasswordRequest,
    responses((status = 204, description = "Mot de passe changé ; toutes les sessions sont fermées"),
              (status = 400, description = "`reset_token_invalid`", body = Problem),
              (status = 422, description = "`invalid_field`", body = Problem)))]
async fn reset_password(
    State(state): State<AppState>,
    addr: ClientAddr,
    ApiJson(req): ApiJson<ResetPasswordRequest>,
) -> AppResult<StatusCode> {
    limit_work(&state, addr)?;
    super::reset_password(&state, &req.token, req.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's own account.
#[utoipa::path(get, path = "/api/v1/account", tag = "comptes", security(("bearer" = [])),
    responses((status = 200, body = Account), (status = 401, body = Problem)))]
async fn me(State(state): State<AppState>, caller: Caller) -> AppResult<Json<Account>> {
    Ok(Json(super::me(&state, caller.account_id).await?))
}

/// Creates an agent or admin account; its owner receives a mail to choose a password.
#[utoipa::path(post, path = "/api/v1/staff/accounts", tag = "services", security(("bearer" = [])),
    request_body = NewStaffAccount,
    responses((status = 201, body = Account), (status = 403, body = Problem), (status = 409, body = Problem)))]
async fn create_staff_account(
    State(state): State<AppState>,
    _admin: Admin,
    ApiJson(req): ApiJson<NewStaffAccount>,
) -> AppResult<(StatusCode, Json<Account>)> {
    let id = super::create_staff(&state, &req, None).await?;
    Ok((StatusCode::CREATED, Json(super::me(&state, id).await?)))
}
