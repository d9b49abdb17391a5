//! Who is calling: bearer-token extractors per role, and the caller's network
//! address for rate limits.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use famille_model::dossier::Role;
use uuid::Uuid;

use crate::error::AppError;
use crate::state::AppState;

/// Any authenticated account.
#[derive(Debug, Clone, Copy)]
pub struct Caller {
    pub account_id: Uuid,
    pub role: Role,
    pub family_id: Option<Uuid>,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .ok_or(AppError::Unauthenticated)?;
        let value = header.to_str().map_err(|_| AppError::Unauthenticated)?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .ok_or(AppError::Unauthenticated)?;
        let claims = state.jwt.verify(token.trim(), state.clock.now())?;
        Ok(Caller {
            account_id: claims.sub,
            role: claims.role,
            family_id: claims.fam,
        })
    }
}

/// A parent: the family comes from the token, never from the request.
#[derive(Debug, Clone, Copy)]
pub struct Parent {
    pub account_id: Uuid,
    pub family_id: Uuid,
}

impl TryFrom<Caller> for Parent {
    type Error = AppError;
    fn try_from(caller: Caller) -> Result<Parent, AppError> {
        match (caller.role, caller.family_id) {
            (Role::Parent, Some(family_id)) => Ok(Parent {
                account_id: caller.account_id,
                family_id,
            }),
            _ => Err(AppError::Forbidden),
        }
    }
}

/// An agent or an admin.
#[derive(Debug, Clone, Copy)]
pub struct Staff {
    pub account_id: Uuid,
    pub role: Role,
}

impl TryFrom<Caller> for Staff {
    type Error = AppError;
    fn try_from(caller: Caller) -> Result<Staff, AppError> {
        if !caller.role.is_staff() {
            return Err(AppError::Forbidden);
        }
        Ok(Staff {
            account_id: caller.account_id,
            role: caller.role,
        })
    }
}

/// An admin only.
#[derive(Debug, Clone, Copy)]
pub struct Admin {
    pub account_id: Uuid,
}

impl TryFrom<Caller> for Admin {
    type Error = AppError;
    fn try_from(caller: Caller) -> Result<Admin, AppError> {
        if caller.role != Role::Admin {
            return Err(AppError::Forbidden);
        }
        Ok(Admin {
            account_id: caller.account_id,
        })
    }
}

/// The callers a role narrows: extracted as a [`Caller`], then refused (403) when
/// the role does not fit.
macro_rules! narrowed_callers {
    ($($who:ty),*) => {
        $(
            impl FromRequestParts<AppState> for $who {
                type Rejection = AppError;

                async fn from_request_parts(
                    parts: &mut Parts,
                    state: &AppState,
                ) -> Result<Self, Self::Rejection> {
                    Caller::from_request_parts(parts, state).await?.try_into()
                }
            }
        )*
    };
}

narrowed_callers!(Parent, Staff, Admin);

/// The client's network address: the socket peer, or the first `X-Forwarded-For`
/// hop when the server is configured to sit behind a trusted proxy.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub Option<IpAddr>);

impl ClientAddr {
    pub fn key(&self) -> String {
        self.0
            .map(|ip| ip.to_string())
            .unwrap_or_else(|| "unknown".to_owned())
    }
}

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if state.config.trust_forwarded_for
            && let Some(ip) = parts
                .headers
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(',').next())
                .and_then(|v| v.trim().parse().ok())
        {
            return Ok(ClientAddr(Some(ip)));
        }
        Ok(ClientAddr(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ci| ci.0.ip()),
        ))
    }
}
