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
    /// Once they are committed and fsynced (the default): 201.
    #[default]
    Commit,
    /// Once the events are sealed (seqs and ids assigned), before they are durable: 202, and
    /// lost if the server stops before the commit. An explicit opt-in (`seal` is the same).
    #[serde(alias = "seal")]
    None,
}

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
    /// Present when the events are not durable yet (`wait=none`): what that means.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

/// The warning of a `wait=none` answer.
const NOT_DURABLE: &str = "accepted before commit (wait=none): these events are lost if the server stops before it commits them; wait=commit, the default, answers only once they are durable";

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
    Peer(peer): Peer,
    Q(params): Q<IngestParams>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let caller = require(&state, &headers, peer, Role::Ingest, "POST /v1/events").await?;
    // Through an outage nothing new is taken: an answer would be a promise the store cannot
    // keep yet. The client retries (503) and gets in once the writer has resumed.
    if let aiaudit::WriterState::Retrying { error, .. } = state.logger.state() {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            format!("the store is failing and the writer is retrying; try again shortly: {error}"),
        ));
    }
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
    let mut events = inputs
        .into_iter()
        .enumerate()
        .map(|(i, input)| to_event(input, i, logger, &limits, &service))
        .collect::<Result<Vec<_>, _>>()?;
    let count = events.len();
    if let Some(k) = &durable_key {
        if let Some(receipt) = recorded(&state, k, count).await? {
            return Ok((StatusCode::CREATED, receipt));
        }
        // A batch is sealed as consecutive seqs and committed whole: its first event names it.
        if let Some(first) = events.first_mut() {
            first
                .details
                .insert("ingest_id".into(), serde_json::Value::String(k.clone()));
        }
    }
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
        warning: size.is_none().then(|| NOT_DURABLE.to_owned()),
    };
    let status = if size.is_some() {
        StatusCode::CREATED
    } else {
        StatusCode::ACCEPTED
    };
    Ok((status, receipt))
}

/// The receipt of a batch with this durable idempotency key if the log already holds it (its
/// first event carries the key as `details.ingest_id`, and the batch took the `count` seqs
/// from there), for a retry after the server restarted.
async fn recorded(
    state: &AppState,
    key: &str,
    count: usize,
) -> Result<Option<IngestReceipt>, ApiError> {
    let q = aiaudit::Query {
        ingest_id: Some(key.to_owned()),
        limit: 1,
        ..aiaudit::Query::default()
    };
    let key = key.to_owned();
    state
        .read(move |r| {
            let Some(first) = r.query(&q)?.into_iter().next() else {
                return Ok(None);
            };
            let rest = r.query(&aiaudit::Query {
                after_seq: first.seq.checked_sub(1),
                limit: count,
                ..aiaudit::Query::default()
            })?;
            let ids = rest
                .iter()
                .map(|e| aiaudit::Record::from_leaf_data(&e.data).map(|rec| rec.id))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| ApiError::from(aiaudit::Error::from(e)))?;
            if rest.len() != count || rest.first().map(|e| e.seq) != Some(first.seq) {
                return Err(ApiError::from(aiaudit::Error::NotFound(format!(
                    "the batch of idempotency key {key:?} is in the log with another length"
                ))));
            }
            Ok(Some(IngestReceipt {
                count,
                seqs: rest.iter().map(|e| e.seq).collect(),
                ids,
                committed: true,
                size: Some(r.size()?),
                warning: None,
            }))
        })
        .await
}
