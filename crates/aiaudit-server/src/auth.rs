//! Roles and bearer tokens. Each token has one role; `audit` includes `read`, and `admin`
//! includes every role:
//!
//! | role | may |
//! | --- | --- |
//! | `ingest` | write events |
//! | `read` | query events (not the access log), read the checkpoint |
//! | `audit` | what `read` may, plus proofs, verification, the access log, metrics |
//! | `admin` | everything, plus tokens and erasure |

use aiaudit_sqlite::TokenInfo;
use axum::http::{HeaderMap, StatusCode, header};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::state::AppState;

/// A token's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Write events.
    Ingest,
    /// Query events and reports.
    Read,
    /// Verify, prove, read the access log.
    Audit,
    /// Manage tokens, erase data subjects; anything else.
    Admin,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 4] = [Role::Ingest, Role::Read, Role::Audit, Role::Admin];

    /// The role's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Ingest => "ingest",
            Role::Read => "read",
            Role::Audit => "audit",
            Role::Admin => "admin",
        }
    }

    /// Parses a role name.
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Whether a token of this role may do what needs `need`.
    pub fn allows(self, need: Role) -> bool {
        match (self, need) {
            (Role::Admin, _) => true,
            (Role::Audit, Role::Read) => true,
            (have, need) => have == need,
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The token's id, name and role.
    pub token: TokenInfo,
    /// Its role, parsed.
    pub role: Role,
    /// The client's address.
    pub ip: Option<String>,
}

/// The caller named by the request's bearer token (any role).
pub fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    ip: Option<String>,
) -> Result<Caller, ApiError> {
    let unauthorized = |reason: &'static str, msg: &str| {
        state.metrics.auth_failure(reason);
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", msg)
    };
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(unauthorized(
            "missing",
            "this needs an API token: send `Authorization: Bearer <token>` (create one with `aiaudit token create`)",
        ));
    };
    let token = value
        .to_str()
        .ok()
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim);
    let Some(token) = token else {
        return Err(unauthorized(
            "malformed",
            "the Authorization header must be `Bearer <token>`",
        ));
    };
    let info = state
        .tokens
        .authenticate(token)
        .map_err(ApiError::internal)?;
    let Some(info) = info else {
        return Err(unauthorized("invalid", "the token is unknown or revoked"));
    };
    let Some(role) = Role::parse(&info.role) else {
        return Err(ApiError::internal(format!(
            "token {} has an unknown role {:?}",
            info.id, info.role
        )));
    };
    Ok(Caller {
        token: info,
        role,
        ip,
    })
}
