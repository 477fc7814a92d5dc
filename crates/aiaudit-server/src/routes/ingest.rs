//! `POST /v1/events`.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::Q;
use super::caller::{Authorized, Ingest};
use crate::error::ApiError;
use crate::ingest::json::{BodyFormat, EventInput, parse_body, to_event};
use crate::ingest::receipt::{IngestReceipt, Wait};
use crate::state::AppState;

/// Parameters of `POST /v1/events`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct IngestParams {
    /// `commit` (default): answer only after the events are durable (201); `none`: answer once
    /// they have their seqs, before they are durable (202, with a warning).
    #[serde(default)]
    pub wait: Option<Wait>,
}

/// One event, or an array of events (a type for the OpenAPI document only).
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum EventBody {
    /// One event.
    One(Box<EventInput>),
    /// Several, sealed in order as consecutive seqs.
    Many(Vec<EventInput>),
}

/// Record events: one JSON object, a JSON array, or NDJSON (one event per line). The batch is
/// checked whole first: one bad event rejects it (naming its index) and nothing is written.
#[utoipa::path(
    post,
    path = "/v1/events",
    tag = "events",
    params(IngestParams,
        ("Idempotency-Key" = Option<String>, Header, description = "Retries with the same key get the first answer instead of recording twice")),
    request_body(content(
        (EventBody = "application/json"),
        (String = "application/x-ndjson")
    )),
    responses(
        (status = 201, description = "Committed (wait=commit, the default)", body = IngestReceipt),
        (status = 202, description = "Sealed, not yet durable (wait=none)", body = IngestReceipt),
        (status = 400, description = "Malformed JSON, an invalid event, an unknown status, nesting too deep", body = crate::error::ErrorBody),
        (status = 401, description = "No valid token", body = crate::error::ErrorBody),
        (status = 403, description = "The token's role may not write", body = crate::error::ErrorBody),
        (status = 413, description = "Body or batch too large", body = crate::error::ErrorBody),
        (status = 415, description = "Neither JSON nor NDJSON", body = crate::error::ErrorBody),
        (status = 503, description = "The log is not accepting events", body = crate::error::ErrorBody)
    ),
    security(("token" = []))
)]
pub async fn post_events(
    State(state): State<AppState>,
    Authorized { caller, .. }: Authorized<Ingest>,
    Q(params): Q<IngestParams>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    crate::ingest::submit::accepting(&state)?;
    let wait = params.wait.unwrap_or_default();
    let key = match headers.get("idempotency-key") {
        None => None,
        Some(v) => match v.to_str() {
            Ok(k) if !k.is_empty() && k.len() <= 256 => Some(k.to_owned()),
            _ => {
                return Err(ApiError::bad_request(
                    "invalid_parameter",
                    "Idempotency-Key must be 1 to 256 visible ASCII characters",
                ));
            }
        },
    };
    let (status, receipt) = match key {
        None => ingest(state, headers, body, wait, caller.token.name, None).await?,
        Some(k) => {
            let slot = state.idempotency.slot(&caller.token.id, &k);
            // In a task of its own: if the client gives up and this handler is dropped, an
            // attempt already submitted still fills the slot, and the retry gets its answer
            // instead of submitting the events again.
            let st = state.clone();
            let token = caller.token.id.clone();
            // Recorded with the batch, so that a retry after a restart of the server (whose
            // memory of keys is gone) is recognised in the log.
            let durable = format!("http:{token}:{k}");
            let attempt = tokio::spawn(async move {
                let answer = slot
                    .get_or_try_init(|| {
                        ingest(
                            st.clone(),
                            headers,
                            body,
                            wait,
                            caller.token.name,
                            Some(durable),
                        )
                    })
                    .await
                    .cloned()?;
                st.idempotency.settle(&token, &k, answer.1.count);
                Ok::<_, ApiError>(answer)
            });
            attempt.await.map_err(ApiError::internal)??
        }
    };
    Ok((status, axum::Json(receipt)).into_response())
}

async fn ingest(
    state: AppState,
    headers: HeaderMap,
    body: Body,
    wait: Wait,
    service: String,
    durable_key: Option<String>,
) -> Result<(StatusCode, IngestReceipt), ApiError> {
    let format = BodyFormat::from_content_type(
        headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
    )?;
    let limits = state.limits;
    let bytes = super::read_body(&state, &headers, body, limits.max_body_bytes).await?;
    let inputs = parse_body(&bytes, format, &limits)?;
    drop(bytes);
    let logger = &state.logger;
    let events = inputs
        .into_iter()
        .enumerate()
        .map(|(i, input)| to_event(input, i, logger, &limits, &service))
        .collect::<Result<Vec<_>, _>>()?;
    crate::ingest::submit::submit(&state, events, wait, durable_key).await
}
