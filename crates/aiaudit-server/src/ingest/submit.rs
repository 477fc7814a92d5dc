//! Submitting a parsed batch to the writer and answering when it is sealed or committed; a
//! batch under a durable idempotency key already in the log is answered from the log.

use aiaudit::{Event, NotSealed, Sealed, Submission};
use axum::http::StatusCode;
use tokio::sync::oneshot;

use super::receipt::{IngestReceipt, NOT_DURABLE, Wait};
use crate::error::ApiError;
use crate::state::AppState;

/// Refuses new events while the store fails and the writer retries (503): an answer would be a
/// promise the store cannot keep yet. The client retries and gets in once the writer resumed.
pub(crate) fn accepting(state: &AppState) -> Result<(), ApiError> {
    if let aiaudit::WriterState::Retrying { error, .. } = state.logger.state() {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            format!("the store is failing and the writer is retrying; try again shortly: {error}"),
        ));
    }
    Ok(())
}

/// Submits `events` as one batch (consecutive seqs, committed whole) and answers once they are
/// sealed (`Wait::None`, 202) or committed (`Wait::Commit`, 201). Under `durable_key` the first
/// event carries it as `details.ingest_id`, and a batch already recorded under it is answered
/// from the log instead of being written again.
pub(crate) async fn submit(
    state: &AppState,
    mut events: Vec<Event>,
    wait: Wait,
    durable_key: Option<String>,
) -> Result<(StatusCode, IngestReceipt), ApiError> {
    let logger = &state.logger;
    let count = events.len();
    if let Some(k) = &durable_key {
        if let Some(receipt) = recorded(state, k, count).await? {
            return Ok((StatusCode::CREATED, receipt));
        }
        // A batch is sealed as consecutive seqs and committed whole: its first event names it.
        if let Some(first) = events.first_mut() {
            first.details.insert(
                aiaudit_core::store::indexed::INGEST_ID.into(),
                serde_json::Value::String(k.clone()),
            );
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
