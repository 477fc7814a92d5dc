//! Who may call a route, as types in the handler's signature: `Authorized<Read>` authenticates
//! the bearer token and checks its role before the handler runs, and records a refusal for the
//! role in the access log. A handler whose need depends on what is asked (the access log needs
//! `audit`) takes [`Authenticated`] and checks with [`Authenticated::needs`]; probes that may be
//! open take [`Probe`].

use axum::extract::{ConnectInfo, FromRequestParts, MatchedPath};
use axum::http::StatusCode;
use axum::http::request::Parts;
use std::marker::PhantomData;
use std::net::SocketAddr;

use crate::access;
use crate::auth::{self, Caller, Role};
use crate::error::ApiError;
use crate::state::AppState;

/// A role a route needs, as a type.
pub(crate) trait Need: Send + Sync + 'static {
    /// The role.
    const ROLE: Role;
}

/// Needs the `ingest` role.
pub(crate) struct Ingest;
/// Needs the `read` role (or `audit`, or `admin`).
pub(crate) struct Read;
/// Needs the `audit` role (or `admin`).
pub(crate) struct Audit;
/// Needs the `admin` role.
pub(crate) struct Admin;

impl Need for Ingest {
    const ROLE: Role = Role::Ingest;
}
impl Need for Read {
    const ROLE: Role = Role::Read;
}
impl Need for Audit {
    const ROLE: Role = Role::Audit;
}
impl Need for Admin {
    const ROLE: Role = Role::Admin;
}

/// The caller of a route that needs `N`, and the route as the access log names it
/// (`GET /v1/events/{target}`).
pub(crate) struct Authorized<N> {
    pub(crate) caller: Caller,
    pub(crate) route: String,
    need: PhantomData<N>,
}

impl<N: Need> FromRequestParts<AppState> for Authorized<N> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Authenticated { caller, route } =
            Authenticated::from_request_parts(parts, state).await?;
        allow(state, &caller, N::ROLE, &route).await?;
        Ok(Authorized {
            caller,
            route,
            need: PhantomData,
        })
    }
}

/// A probe (`/healthz`, `/readyz`, `/metrics`): open when the server's settings say so,
/// otherwise for the `audit` role.
pub(crate) struct Probe;

impl FromRequestParts<AppState> for Probe {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let open = if parts.uri.path() == "/metrics" {
            state.open_metrics
        } else {
            state.open_health
        };
        if !open {
            Authorized::<Audit>::from_request_parts(parts, state).await?;
        }
        Ok(Probe)
    }
}

/// The caller of the tile API (`/checkpoint`, `/tile/…`): nobody in particular on a public log
/// (`[tiles] public = true`), otherwise a token with the `audit` role and the route it called.
pub(crate) struct TileAccess {
    pub(crate) caller: Option<(Caller, String)>,
}

impl FromRequestParts<AppState> for TileAccess {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if state.public_tiles {
            return Ok(TileAccess { caller: None });
        }
        let a = Authorized::<Audit>::from_request_parts(parts, state).await?;
        Ok(TileAccess {
            caller: Some((a.caller, a.route)),
        })
    }
}

/// Refuses (and records the refusal) unless `caller` may do what needs `need`.
async fn allow(state: &AppState, caller: &Caller, need: Role, route: &str) -> Result<(), ApiError> {
    if caller.role.allows(need) {
        return Ok(());
    }
    state.metrics.auth_failure("forbidden");
    access::record_denied(state, caller, route).await;
    Err(ApiError::new(
        StatusCode::FORBIDDEN,
        "forbidden",
        format!(
            "token {:?} has role {}; {route} needs role {need}",
            caller.token.name, caller.role
        ),
    ))
}

fn route_of(parts: &Parts) -> String {
    let path = parts
        .extensions
        .get::<MatchedPath>()
        .map_or_else(|| parts.uri.path(), MatchedPath::as_str);
    // A HEAD is the GET of the same route (axum answers it with the GET handler).
    let method = if parts.method == axum::http::Method::HEAD {
        "GET"
    } else {
        parts.method.as_str()
    };
    format!("{method} {path}")
}

fn peer_of(parts: &Parts) -> Result<Option<String>, ApiError> {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| Some(c.0.ip().to_string()))
        .ok_or_else(|| ApiError::internal("the server was started without peer addresses"))
}

/// The caller of a route any valid token may call (`/v1/whoami`), or of one whose need
/// depends on what is asked (the access log needs `audit`): [`Authenticated::needs`] checks
/// it once the handler knows.
pub(crate) struct Authenticated {
    pub(crate) caller: Caller,
    pub(crate) route: String,
}

impl Authenticated {
    /// The caller and route if its role allows `role`; a refusal is recorded.
    pub(crate) async fn needs(
        self,
        state: &AppState,
        role: Role,
    ) -> Result<(Caller, String), ApiError> {
        allow(state, &self.caller, role, &self.route).await?;
        Ok((self.caller, self.route))
    }
}

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Ok(Authenticated {
            caller: auth::authenticate(state, &parts.headers, peer_of(parts)?)?,
            route: route_of(parts),
        })
    }
}
