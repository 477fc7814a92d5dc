//! `POST /v1/traces` and `POST /v1/logs`: OTLP/HTTP receivers (docs/format.md §6, "OTLP
//! ingest"). Every failure, a missing token included, is answered as OTLP clients expect it: a
//! `google.rpc.Status` in the request's encoding.

use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;

use super::caller::{Authorized, Ingest};
use crate::error::ApiError;
use crate::ingest::otlp::{OtlpError, Signal, admit, export};
use crate::state::AppState;

async fn receive(
    state: AppState,
    caller: Result<Authorized<Ingest>, ApiError>,
    headers: HeaderMap,
    body: Body,
    signal: Signal,
) -> Result<Response, OtlpError> {
    let caller = match caller {
        Ok(Authorized { caller, .. }) => caller,
        Err(e) => return Err(OtlpError::new(&headers, e)),
    };
    let answer = async {
        let encoding = admit(&state, &headers)?;
        let raw = super::read_body(&state, &headers, body, state.limits.max_body_bytes).await?;
        export(&state, &headers, encoding, &raw, signal, caller.token.name).await
    };
    answer.await.map_err(|e| OtlpError::new(&headers, e))
}

/// Record OpenTelemetry spans (OTLP/HTTP, protobuf or JSON, gzip or not): one event per span,
/// GenAI spans as `model_inference`, `tool_call`, … events; content as hashes unless
/// `[otlp] keep_content`. Answers once every span is committed; one bad span refuses the request.
#[utoipa::path(
    post,
    path = "/v1/traces",
    tag = "otlp",
    request_body(content(
        (String = "application/x-protobuf"),
        (Object = "application/json")
    ), description = "An ExportTraceServiceRequest"),
    responses(
        (status = 200, description = "Committed: an empty ExportTraceServiceResponse"),
        (status = 400, description = "Not decodable, or a span breaks a rule (google.rpc.Status)"),
        (status = 401, description = "No valid token"),
        (status = 403, description = "The token's role may not write"),
        (status = 413, description = "Body or batch too large"),
        (status = 415, description = "Neither protobuf nor JSON, or an unknown Content-Encoding"),
        (status = 503, description = "The log is not accepting events; retry after Retry-After")
    ),
    security(("token" = []))
)]
pub async fn post_traces(
    State(state): State<AppState>,
    caller: Result<Authorized<Ingest>, ApiError>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, OtlpError> {
    receive(state, caller, headers, body, Signal::Traces).await
}

/// Record OpenTelemetry log records (OTLP/HTTP, protobuf or JSON, gzip or not): one event per
/// record, GenAI content events' bodies as hashes unless `[otlp] keep_content`.
#[utoipa::path(
    post,
    path = "/v1/logs",
    tag = "otlp",
    request_body(content(
        (String = "application/x-protobuf"),
        (Object = "application/json")
    ), description = "An ExportLogsServiceRequest"),
    responses(
        (status = 200, description = "Committed: an empty ExportLogsServiceResponse"),
        (status = 400, description = "Not decodable, or a record breaks a rule (google.rpc.Status)"),
        (status = 401, description = "No valid token"),
        (status = 403, description = "The token's role may not write"),
        (status = 413, description = "Body or batch too large"),
        (status = 415, description = "Neither protobuf nor JSON, or an unknown Content-Encoding"),
        (status = 503, description = "The log is not accepting events; retry after Retry-After")
    ),
    security(("token" = []))
)]
pub async fn post_logs(
    State(state): State<AppState>,
    caller: Result<Authorized<Ingest>, ApiError>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, OtlpError> {
    receive(state, caller, headers, body, Signal::Logs).await
}
