//! NATS JetStream ingest: pipeline workers publish events to a subject; the server consumes
//! them with a durable pull consumer and acknowledges a message only after the batch holding
//! its events is committed.
//!
//! Each message is one event, or a JSON array of events, in the body schema of
//! `POST /v1/events`. An event ingested this way carries `details.ingest_id`: the message's
//! `Nats-Msg-Id` header (both clients set one per message, so JetStream drops a publisher's
//! retries within the stream's duplicate window), or `<stream>:<stream seq>` without one. The
//! id is indexed: a message delivered again — the server stopped after committing and before
//! acknowledging — is looked up by it and acknowledged without being written twice. A message
//! that is not a valid event is terminated (never redelivered) and counted, and its error
//! logged.
//!
//! Invariant: a message is acknowledged only after its events are committed, and the consumer
//! stops at the first failed commit, so that no later message is acknowledged past one whose
//! events are not in the log.

use aiaudit::{NotSealed, Query, Submission};
use async_nats::jetstream::{self, AckKind, consumer::pull, stream};
use futures_util::StreamExt;
use std::time::Duration;
use tokio::sync::{oneshot, watch};

use super::json::{BodyFormat, parse_body, to_event};
use crate::config::NatsIngest;
use crate::state::AppState;

/// Connects, makes the stream and the durable consumer if missing, and returns the consumer.
pub(crate) async fn prepare(cfg: &NatsIngest) -> Result<pull::Stream, crate::Error> {
    let fail = |what: &str, e: &dyn std::fmt::Display| {
        crate::Error::Invalid(format!(
            "NATS ingest at {}: {what}: {e} (is nats-server running with JetStream, -js?)",
            cfg.url
        ))
    };
    let client = async_nats::connect(&cfg.url)
        .await
        .map_err(|e| fail("connecting", &e))?;
    let js = jetstream::new(client);
    let st = js
        .get_or_create_stream(stream::Config {
            name: cfg.stream.clone(),
            subjects: vec![cfg.subject.clone()],
            storage: stream::StorageType::File,
            duplicate_window: Duration::from_secs(120),
            ..Default::default()
        })
        .await
        .map_err(|e| fail(&format!("the stream {}", cfg.stream), &e))?;
    let consumer: jetstream::consumer::PullConsumer = st
        .get_or_create_consumer(
            &cfg.consumer,
            pull::Config {
                durable_name: Some(cfg.consumer.clone()),
                ack_policy: jetstream::consumer::AckPolicy::Explicit,
                ack_wait: cfg.ack_wait,
                max_ack_pending: 100_000,
                ..Default::default()
            },
        )
        .await
        .map_err(|e| fail(&format!("the consumer {}", cfg.consumer), &e))?;
    let messages = consumer
        .stream()
        .max_messages_per_batch(cfg.batch)
        .expires(Duration::from_millis(500))
        .messages()
        .await
        .map_err(|e| fail("subscribing", &e))?;
    Ok(messages)
}

/// Consumes until `stop` is set: each round takes what has arrived (up to a batch), commits it
/// as one submission and then acknowledges it.
pub(crate) async fn run(
    state: AppState,
    cfg: NatsIngest,
    mut messages: pull::Stream,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let first = tokio::select! {
            m = messages.next() => m,
            _ = stop.changed() => None,
        };
        let Some(first) = first else { break };
        let mut round = vec![first];
        // What else is already here, without waiting.
        while round.len() < cfg.batch {
            match tokio::time::timeout(Duration::from_millis(2), messages.next()).await {
                Ok(Some(m)) => round.push(m),
                _ => break,
            }
        }
        let round: Vec<jetstream::Message> = round
            .into_iter()
            .filter_map(|m| match m {
                Ok(m) => Some(m),
                Err(e) => {
                    tracing::warn!(error = %e, "NATS ingest: receiving");
                    None
                }
            })
            .collect();
        if let Err(e) = commit_round(&state, &cfg, &round).await {
            // Nothing of this round is acknowledged: it is delivered again after a restart.
            tracing::error!(error = %e, "NATS ingest stopped: a batch could not be committed");
            state.metrics.nats_failed();
            return;
        }
        if *stop.borrow() {
            break;
        }
    }
}

/// The ingest id of a message: its `Nats-Msg-Id`, else its place in the stream.
fn ingest_id(m: &jetstream::Message) -> Option<String> {
    if let Some(id) = m
        .headers
        .as_ref()
        .and_then(|h| h.get("Nats-Msg-Id"))
        .map(|v| v.as_str().to_owned())
        .filter(|v| !v.is_empty())
    {
        return Some(id);
    }
    m.info()
        .ok()
        .map(|i| format!("{}:{}", i.stream, i.stream_sequence))
}

/// Is a message delivered again already in the log (committed before its acknowledgement was
/// lost)? Looked up by its ingest id among the events since it was published.
async fn already_committed(state: &AppState, id: &str, published_ns: i64) -> Result<bool, String> {
    let q = Query {
        ingest_id: Some(id.to_owned()),
        // The NATS server's clock and the writer's may disagree: five minutes of slack.
        since_ns: Some(published_ns.saturating_sub(300_000_000_000)),
        limit: 1,
        ..Query::default()
    };
    state
        .read(move |r| Ok(r.query(&q)?))
        .await
        .map(|found| !found.is_empty())
        .map_err(|e| e.message)
}

async fn commit_round(
    state: &AppState,
    cfg: &NatsIngest,
    round: &[jetstream::Message],
) -> Result<(), String> {
    let mut events = Vec::new();
    // The messages whose events are submitted, with how many events each holds.
    let mut take: Vec<(&jetstream::Message, String, usize)> = Vec::new();
    for m in round {
        let Some(id) = ingest_id(m) else {
            let _ = m.ack_with(AckKind::Term).await;
            continue;
        };
        let info = m.info().map_err(|e| e.to_string())?;
        if info.delivered > 1 {
            let published = i64::try_from(info.published.unix_timestamp_nanos()).unwrap_or(0);
            if already_committed(state, &id, published).await? {
                state.metrics.nats_duplicate();
                ack(m).await;
                continue;
            }
        }
        match to_events(state, &m.payload, &id) {
            Ok(evs) => {
                take.push((m, id, evs.len()));
                events.extend(evs);
            }
            Err(why) => refuse(state, m, &id, &why).await,
        }
    }
    loop {
        if take.is_empty() {
            return Ok(());
        }
        match submit(state, cfg, events, &take).await {
            Ok(count) => {
                state.metrics.ingested(count);
                // Acknowledgements are sent without waiting for each reply: one lost on the way
                // makes the message come again after the ack wait, and it is then recognised by
                // its ingest id.
                futures_util::future::join_all(take.iter().map(|(m, _, _)| ack(m))).await;
                return Ok(());
            }
            Err(Refused::Event(index, why)) => {
                // Only a record pushed over the size limit by redaction gets here (the events
                // were validated): that message is refused, the rest submitted again.
                let mut at = 0;
                let pos = take
                    .iter()
                    .position(|(_, _, n)| {
                        at += n;
                        index < at
                    })
                    .unwrap_or(take.len() - 1);
                let (m, id, _) = take.remove(pos);
                refuse(state, m, &id, &why).await;
                events = Vec::new();
                for (m, id, _) in &take {
                    events.extend(to_events(state, &m.payload, id)?);
                }
            }
            Err(Refused::Writer(why)) => return Err(why),
        }
    }
}

enum Refused {
    /// Event `index` of the submission could not be sealed.
    Event(usize, String),
    /// The writer failed: nothing more can be committed.
    Writer(String),
}

/// Submits one round and waits for its commit, telling JetStream the round's messages are
/// still being worked on (so that a slow commit — a database reconnecting — does not get them
/// delivered to another server meanwhile). Returns how many events were committed.
async fn submit(
    state: &AppState,
    cfg: &NatsIngest,
    events: Vec<aiaudit::Event>,
    take: &[(&jetstream::Message, String, usize)],
) -> Result<usize, Refused> {
    let count = events.len();
    let (tx, rx) = oneshot::channel::<Result<u64, String>>();
    let (sealed_tx, sealed_rx) = oneshot::channel::<Result<aiaudit::Sealed, NotSealed>>();
    let sub = Submission::new(events)
        .on_sealed(move |r| {
            let _ = sealed_tx.send(r);
        })
        .on_committed(move |r| {
            let _ = tx.send(r);
        });
    let logger = std::sync::Arc::clone(&state.logger);
    tokio::task::spawn_blocking(move || logger.submit(sub))
        .await
        .map_err(|e| Refused::Writer(e.to_string()))?
        .map_err(|e| Refused::Writer(e.to_string()))?;
    let wait = async {
        match sealed_rx.await {
            Ok(Ok(_)) => {}
            Ok(Err(NotSealed::Rejected { index, why })) => return Err(Refused::Event(index, why)),
            Ok(Err(NotSealed::Stopped(why))) => return Err(Refused::Writer(why)),
            Err(_) => return Err(Refused::Writer("the writer dropped a batch".into())),
        }
        rx.await
            .map_err(|_| Refused::Writer("the writer dropped a batch".into()))?
            .map_err(Refused::Writer)
    };
    tokio::pin!(wait);
    let mut progress = tokio::time::interval(cfg.ack_wait / 3);
    progress.tick().await;
    loop {
        tokio::select! {
            r = &mut wait => return r.map(|_| count),
            _ = progress.tick() => {
                for (m, _, _) in take {
                    let _ = m.ack_with(AckKind::Progress).await;
                }
            }
        }
    }
}

/// Terminates a message that holds no valid event (never delivered again), and says so.
async fn refuse(state: &AppState, m: &jetstream::Message, id: &str, why: &str) {
    tracing::warn!(ingest_id = %id, subject = %m.subject, error = %why, "NATS ingest: message refused");
    state.metrics.nats_refused();
    let _ = m.ack_with(AckKind::Term).await;
}

/// Acknowledges a message (fire and forget; see above).
async fn ack(m: &jetstream::Message) {
    if let Err(e) = m.ack().await {
        tracing::warn!(subject = %m.subject, error = %e, "NATS ingest: acknowledgement not sent; the message will be recognised if delivered again");
    }
}

/// A message's events, validated as `POST /v1/events` validates a body, each marked with the
/// message's ingest id.
fn to_events(state: &AppState, payload: &[u8], id: &str) -> Result<Vec<aiaudit::Event>, String> {
    let inputs = parse_body(payload, BodyFormat::Json, &state.limits).map_err(|e| e.message)?;
    inputs
        .into_iter()
        .enumerate()
        .map(|(i, input)| {
            let mut e = to_event(input, i, &state.logger, &state.limits, "nats-ingest")
                .map_err(|e| e.message)?;
            // Every event of a message carries its id: they are committed together, so any one
            // of them found means the message is in the log.
            e.details.insert(
                aiaudit_core::store::indexed::INGEST_ID.into(),
                serde_json::Value::String(id.to_owned()),
            );
            Ok(e)
        })
        .collect()
}
