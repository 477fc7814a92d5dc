//! Tokens (`/v1/tokens`) and erasure (`/v1/subjects/{subject}/erasure`): the admin role.

use aiaudit::Event;
use aiaudit_core::event::Actor;
use aiaudit_core::timefmt::{format_rfc3339, now_ns};
use aiaudit_sqlite::TokenInfo;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::P;
use super::caller::{Admin, Authorized};
use crate::auth::{Caller, Role};
use crate::error::ApiError;
use crate::state::AppState;

/// Largest body an admin route reads.
const ADMIN_BODY_LIMIT: usize = 64 * 1024;

/// A token to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// A name for people (unique among active tokens).
    pub name: String,
    /// Its role.
    pub role: Role,
}

/// A token as listed (never the token itself).
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenOut {
    /// Public id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Role.
    pub role: String,
    /// Created (RFC 3339).
    pub created: String,
    /// Revoked (RFC 3339), if revoked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked: Option<String>,
}

impl From<TokenInfo> for TokenOut {
    fn from(t: TokenInfo) -> Self {
        TokenOut {
            id: t.id,
            name: t.name,
            role: t.role,
            created: format_rfc3339(t.created_ns),
            revoked: t.revoked_ns.map(format_rfc3339),
        }
    }
}

/// A token just created: the only time the token is shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedToken {
    /// The token: send it as `Authorization: Bearer <token>`. It is stored only as a hash.
    pub token: String,
    /// Its description.
    #[serde(flatten)]
    pub info: TokenOut,
}

/// The token list.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenList {
    /// Every token, revoked ones included, oldest first.
    pub tokens: Vec<TokenOut>,
}

fn bad_token_request(e: aiaudit_sqlite::Error) -> ApiError {
    match e {
        aiaudit_sqlite::Error::Invalid(m) => ApiError::bad_request("invalid_parameter", m),
        other => ApiError::internal(other),
    }
}

/// The record of an administrative act, in the log itself.
async fn record_admin(
    state: &AppState,
    caller: &Caller,
    name: &str,
    details: serde_json::Value,
) -> Result<(), ApiError> {
    let mut e = Event::new("admin", name.to_owned());
    e.actor = Some(Actor {
        user: Some(caller.token.name.clone()),
        service: None,
        ip: caller.ip.clone(),
    });
    e.details = aiaudit_core::event::details_object(details).map_err(ApiError::internal)?;
    state.record(e).await
}

/// Create a token (admin role). The answer is the only time the token is shown.
#[utoipa::path(
    post,
    path = "/v1/tokens",
    tag = "admin",
    request_body(content = NewToken, content_type = "application/json"),
    responses(
        (status = 201, description = "Created", body = CreatedToken),
        (status = 400, description = "Bad name or role, or the name is taken", body = crate::error::ErrorBody),
        (status = 401, description = "No valid token", body = crate::error::ErrorBody),
        (status = 403, description = "Not an admin token", body = crate::error::ErrorBody),
        (status = 413, description = "Body too large", body = crate::error::ErrorBody),
        (status = 415, description = "Not JSON", body = crate::error::ErrorBody)
    ),
    security(("token" = []))
)]
pub async fn create_token(
    State(state): State<AppState>,
    Authorized { caller, .. }: Authorized<Admin>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Result<(StatusCode, axum::Json<CreatedToken>), ApiError> {
    let body = super::read_body(&state, &headers, body, ADMIN_BODY_LIMIT).await?;
    let req: NewToken = json_body(&headers, &body)?;
    let tokens = std::sync::Arc::clone(&state.tokens);
    let (name, role) = (req.name.clone(), req.role);
    let (info, token) =
        tokio::task::spawn_blocking(move || tokens.create(&name, role.as_str(), now_ns()))
            .await
            .map_err(ApiError::internal)?
            .map_err(bad_token_request)?;
    record_admin(
        &state,
        &caller,
        "token created",
        json!({ "token_id": info.id, "token_name": info.name, "role": info.role }),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(CreatedToken {
            token,
            info: info.into(),
        }),
    ))
}

/// A JSON body with the right content type.
fn json_body<T: serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    body: &[u8],
) -> Result<T, ApiError> {
    let ct = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ct.to_ascii_lowercase().starts_with("application/json") {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send application/json",
        ));
    }
    serde_json::from_slice(body).map_err(|e| {
        let code = if e.is_data() {
            "invalid_parameter"
        } else {
            "invalid_json"
        };
        ApiError::bad_request(code, e.to_string())
    })
}

/// List tokens (admin role).
#[utoipa::path(
    get,
    path = "/v1/tokens",
    tag = "admin",
    responses(
        (status = 200, description = "Every token", body = TokenList),
        (status = 401, description = "No valid token", body = crate::error::ErrorBody),
        (status = 403, description = "Not an admin token", body = crate::error::ErrorBody)
    ),
    security(("token" = []))
)]
pub async fn list_tokens(
    State(state): State<AppState>,
    Authorized { caller, route, .. }: Authorized<Admin>,
) -> Result<axum::Json<TokenList>, ApiError> {
    let tokens = std::sync::Arc::clone(&state.tokens);
    let list = tokio::task::spawn_blocking(move || tokens.list())
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    crate::access::record(
        &state,
        &caller,
        &route,
        serde_json::Value::Null,
        list.len() as u64,
    )
    .await?;
    Ok(axum::Json(TokenList {
        tokens: list.into_iter().map(Into::into).collect(),
    }))
}

/// Revoke a token by id or name (admin role); it stops working at once.
#[utoipa::path(
    delete,
    path = "/v1/tokens/{token}",
    tag = "admin",
    params(("token" = String, Path, description = "The token's id or name")),
    responses(
        (status = 200, description = "Revoked", body = TokenOut),
        (status = 400, description = "A token cannot revoke itself", body = crate::error::ErrorBody),
        (status = 401, description = "No valid token", body = crate::error::ErrorBody),
        (status = 403, description = "Not an admin token", body = crate::error::ErrorBody),
        (status = 404, description = "No such token", body = crate::error::ErrorBody)
    ),
    security(("token" = []))
)]
pub async fn revoke_token(
    State(state): State<AppState>,
    Authorized { caller, .. }: Authorized<Admin>,
    P(target): P<String>,
) -> Result<axum::Json<TokenOut>, ApiError> {
    if target == caller.token.id || target == caller.token.name {
        // So that no client (or fuzzer) locks the last admin out; `aiaudit token revoke` can.
        return Err(ApiError::parameter(
            "a token cannot revoke itself: use another admin token, or `aiaudit token revoke` on the server",
        ));
    }
    let tokens = std::sync::Arc::clone(&state.tokens);
    let info = tokio::task::spawn_blocking(move || tokens.revoke(&target, now_ns()))
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| match e {
            aiaudit_sqlite::Error::Invalid(m) => ApiError::not_found(m),
            other => ApiError::internal(other),
        })?;
    record_admin(
        &state,
        &caller,
        "token revoked",
        json!({ "token_id": info.id, "token_name": info.name, "role": info.role }),
    )
    .await?;
    Ok(axum::Json(info.into()))
}

/// Why a subject is erased.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Erasure {
    /// The reason, recorded in the erasure event.
    #[serde(default)]
    pub reason: Option<String>,
}

/// The erasure's outcome.
#[derive(Debug, Serialize, ToSchema)]
pub struct Erased {
    /// The data subject.
    pub subject: String,
    /// Whether the subject had a key to destroy.
    pub key_destroyed: bool,
    /// The seq of the erasure event.
    #[schema(minimum = 0)]
    pub seq: u64,
}

/// Erase a data subject by crypto-shredding (admin role): its key is destroyed and an
/// `erasure` event recorded; the log and every proof stay intact.
#[utoipa::path(
    post,
    path = "/v1/subjects/{subject}/erasure",
    tag = "admin",
    params(("subject" = String, Path, description = "The data subject's id")),
    request_body(content = Option<Erasure>, content_type = "application/json"),
    responses(
        (status = 200, description = "Erased", body = Erased),
        (status = 400, description = "Bad body", body = crate::error::ErrorBody),
        (status = 401, description = "No valid token", body = crate::error::ErrorBody),
        (status = 403, description = "Not an admin token", body = crate::error::ErrorBody),
        (status = 413, description = "Body too large", body = crate::error::ErrorBody),
        (status = 415, description = "Not JSON", body = crate::error::ErrorBody)
    ),
    security(("token" = []))
)]
pub async fn erase_subject(
    State(state): State<AppState>,
    Authorized { caller, .. }: Authorized<Admin>,
    P(subject): P<String>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Result<axum::Json<Erased>, ApiError> {
    let body = super::read_body(&state, &headers, body, ADMIN_BODY_LIMIT).await?;
    let req: Erasure = if body.iter().all(u8::is_ascii_whitespace) {
        Erasure::default()
    } else {
        json_body(&headers, &body)?
    };
    if subject.is_empty() {
        return Err(ApiError::parameter("the subject id is empty"));
    }
    let logger = std::sync::Arc::clone(&state.logger);
    let by = caller.token.name.clone();
    let s = subject.clone();
    let (existed, seq) = tokio::task::spawn_blocking(move || {
        let reason = req.reason.unwrap_or_else(|| format!("requested by {by}"));
        aiaudit::subjects::forget(&logger, &s, Some(&reason))
    })
    .await
    .map_err(ApiError::internal)??;
    Ok(axum::Json(Erased {
        subject,
        key_destroyed: existed,
        seq,
    }))
}
