//! `/healthz`, `/readyz` and `/metrics`.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use super::caller::Probe;
use crate::error::ApiError;
use crate::state::AppState;

/// A health answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok` or `ready`.
    pub status: String,
    /// Entries committed (readiness only).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0)]
    pub size: Option<u64>,
}

/// The process is up and its writer has not stopped for good (503 when it has); open, or the
/// audit role when configured so.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    responses(
        (status = 200, description = "Up", body = Health),
        (status = 503, description = "The writer stopped for good (damage or a failed write)", body = crate::error::ErrorBody),
        (status = 401, description = "No valid token (when protected)", body = crate::error::ErrorBody),
        (status = 403, description = "The token's role may not (when protected)", body = crate::error::ErrorBody)
    )
)]
pub async fn healthz(
    State(state): State<AppState>,
    _: Probe,
) -> Result<axum::Json<Health>, ApiError> {
    // Liveness: a writer that stopped for good (damage, a failed write) needs a person or a
    // restart; one that retries through an outage is alive (and not ready, see /readyz).
    if let aiaudit::WriterState::Stopped { error } = state.logger.state() {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "writer_stopped",
            format!("the writer stopped: {error}"),
        ));
    }
    Ok(axum::Json(Health {
        status: "ok".into(),
        size: None,
    }))
}

/// The log accepts events and can be read (503 otherwise).
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    responses(
        (status = 200, description = "Ready", body = Health),
        (status = 401, description = "No valid token (when protected)", body = crate::error::ErrorBody),
        (status = 403, description = "The token's role may not (when protected)", body = crate::error::ErrorBody),
        (status = 503, description = "Not ready", body = crate::error::ErrorBody)
    )
)]
pub async fn readyz(
    State(state): State<AppState>,
    _: Probe,
) -> Result<axum::Json<Health>, ApiError> {
    let not_ready =
        |why: String| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", why);
    match state.logger.state() {
        aiaudit::WriterState::Running => {}
        aiaudit::WriterState::Retrying { error, .. } => {
            return Err(not_ready(format!(
                "the store is failing and the writer is retrying (it resumes by itself): {error}"
            )));
        }
        aiaudit::WriterState::Stopped { error } => {
            return Err(not_ready(format!(
                "the log stopped accepting events: {error}"
            )));
        }
        _ => return Err(not_ready("the writer is in an unknown state".into())),
    }
    let size = state
        .read(|r| Ok(r.size()?))
        .await
        .map_err(|e| not_ready(format!("the log cannot be read: {}", e.message)))?;
    Ok(axum::Json(Health {
        status: "ready".into(),
        size: Some(size),
    }))
}

/// Prometheus metrics, text format (open, or the audit role when configured so).
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    responses(
        (status = 200, description = "Metrics", body = String, content_type = "application/openmetrics-text"),
        (status = 401, description = "No valid token (when protected)", body = crate::error::ErrorBody),
        (status = 403, description = "The token's role may not (when protected)", body = crate::error::ErrorBody)
    )
)]
pub async fn metrics(State(state): State<AppState>, _: Probe) -> Result<Response, ApiError> {
    let text = state.metrics.render(
        state.logger.queue_depth(),
        state.logger.committed(),
        state.logger.state().code(),
    );
    Ok((
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response())
}
