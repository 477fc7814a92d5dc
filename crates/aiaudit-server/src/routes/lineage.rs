//! `POST /api/v1/lineage`: OpenLineage RunEvents, at the path Marquez serves them, so that an
//! OpenLineage integration (Airflow, Spark, dbt, Flink, the Python client) logs into aiaudit with
//! only its URL changed.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::caller::{Authorized, Ingest};
use crate::error::ApiError;
use crate::ingest::receipt::Wait;
use crate::state::AppState;

/// Record one OpenLineage RunEvent (spec 2-0-2): a `run_started`, `run_completed`,
/// `run_failed`, `run_aborted`, `run_running` or `run_event` event whose operation is the run,
/// with its input and output datasets as lineage and the RunEvent kept whole in
/// `details.openlineage`. Answers once committed.
#[utoipa::path(
    post,
    path = "/api/v1/lineage",
    tag = "events",
    request_body(content((Object = "application/json")), description = "An OpenLineage RunEvent"),
    responses(
        (status = 201, description = "Committed", body = crate::ingest::receipt::IngestReceipt),
        (status = 400, description = "Not JSON, not a 2-0-x RunEvent, or a field missing or wrong (named)", body = crate::error::ErrorBody),
        (status = 401, description = "No valid token", body = crate::error::ErrorBody),
        (status = 403, description = "The token's role may not write", body = crate::error::ErrorBody),
        (status = 413, description = "Body too large", body = crate::error::ErrorBody),
        (status = 503, description = "The log is not accepting events", body = crate::error::ErrorBody)
    ),
    security(("token" = []))
)]
pub async fn post_lineage(
    State(state): State<AppState>,
    Authorized { caller, .. }: Authorized<Ingest>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    crate::ingest::submit::accepting(&state)?;
    let bytes = super::read_body(&state, &headers, body, state.limits.max_body_bytes).await?;
    let event = crate::ingest::openlineage::to_event(&bytes, &caller.token.name)?;
    drop(bytes);
    let (_, receipt) =
        crate::ingest::submit::submit(&state, vec![event], Wait::Commit, None).await?;
    Ok((StatusCode::CREATED, axum::Json(receipt)).into_response())
}
