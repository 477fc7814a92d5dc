//! `POST /v1/events`.

use aiaudit::{NotSealed, Sealed, Submission};
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;
use utoipa::{IntoParams, ToSchema};

use super::{Peer, Q, require};
use crate::auth::Role;
use crate::error::ApiError;
use crate::input::{BodyFormat, EventInput, parse_body, to_event};
use crate::state::AppState;

/// When `POST /v1/events` answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Wait {
    /// Once the events are sealed (seqs and ids assigned; committed moments later): 202.
    #[default]
    Seal,
    /// Once they are committed and fsynced: 201.
    Commit,
}

/// Parameters of `POST /v1/events`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IngestParams {
    /// `commit`: answer only after the events are durable (201); `seal` (default): answer once
    /// they have their seqs (202).
    #[serde(default)]
    pub wait: Option<Wait>,
}

/// Where the events of one request went.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IngestReceipt {
    /// Events recorded.
    #[schema(minimum = 1)]
    pub count: usize,
    /// Their seqs, in the order sent (consecutive).
    pub seqs: Vec<u64>,
    /// Their ids (UUIDv7), in the order sent.
    pub ids: Vec<String>,
    /// Whether they were committed before this answer.
    pub committed: bool,
    /// The committed log size, when `committed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1)]
    pub size: Option<u64>,
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
        (status = 201, description = "Committed (wait=commit)", body = IngestReceipt),
        (status = 202, description = "Sealed; commit follows", body = IngestReceipt),
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
    Peer(peer): Peer,
    Q(params): Q<IngestParams>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let caller = require(&state, &headers, peer, Role::Ingest, "POST /v1/events").await?;
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
        None => ingest(state, headers, body, wait, caller.token.name).await?,
        Some(k) => {
            let slot = state.idempotency.slot(&caller.token.id, &k);
            // In a task of its own: if the client gives up and this handler is dropped, an
            // attempt already submitted still fills the slot, and the retry gets its answer
            // instead of submitting the events again.
            let st = state.clone();
            let token = caller.token.id.clone();
            let attempt = tokio::spawn(async move {
                let answer = slot
                    .get_or_try_init(|| ingest(st.clone(), headers, body, wait, caller.token.name))
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
) -> Result<(StatusCode, IngestReceipt), ApiError> {
    let format = BodyFormat::from_content_type(
        headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
    )?;
    let limits = state.limits;
    let bytes = super::read_body(&headers, body, limits.max_body_bytes).await?;
    let inputs = parse_body(&bytes, format, &limits)?;
    drop(bytes);
    let logger = &state.logger;
    let events = inputs
        .into_iter()
        .enumerate()
        .map(|(i, input)| to_event(input, i, logger, &limits, &service))
        .collect::<Result<Vec<_>, _>>()?;
    let count = events.len();
    let (sealed_tx, sealed_rx) = oneshot::channel::<Result<Sealed, NotSealed>>();
    let mut sub = Submission::new(events).on_sealed(move |r| {
        let _ = sealed_tx.send(r);
    });
    let committed_rx = if wait == Wait::Commit {
        let (tx, rx) = oneshot::channel::<Result<u64, String>>();
        sub = sub.on_committed(move |r| {
            let _ = tx.send(r);
        });
        Some(rx)
    } else {
        None
    };
    if let Err(sub) = logger.try_submit(sub)? {
        // The queue is full: wait for room on a thread that may block.
        let logger = std::sync::Arc::clone(logger);
        tokio::task::spawn_blocking(move || logger.submit(sub))
            .await
            .map_err(ApiError::internal)??;
    }
    let writer_failed = |detail: String| ApiError::from(aiaudit::Error::Poisoned(detail));
    let sealed = sealed_rx
        .await
        .map_err(|_| writer_failed("the writer dropped a batch".into()))?
        .map_err(|e| match e {
            NotSealed::Rejected { index, why } => {
                ApiError::bad_request("invalid_event", format!("event {index}: {why}"))
                    .at_event(index)
            }
            NotSealed::Stopped(detail) => writer_failed(detail),
        })?;
    state.metrics.ingested(count);
    let size = match committed_rx {
        Some(rx) => Some(
            rx.await
                .map_err(|_| writer_failed("the writer dropped a batch".into()))?
                .map_err(writer_failed)?,
        ),
        None => None,
    };
    let receipt = IngestReceipt {
        count,
        seqs: (sealed.first_seq..sealed.first_seq + count as u64).collect(),
        ids: sealed.ids,
        committed: size.is_some(),
        size,
    };
    let status = if size.is_some() {
        StatusCode::CREATED
    } else {
        StatusCode::ACCEPTED
    };
    Ok((status, receipt))
}
