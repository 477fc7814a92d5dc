//! Publishing events to NATS JetStream, for an `aiaudit serve --ingest nats://…` to consume:
//! the way many workers on many hosts log without holding an HTTP connection each.

use async_nats::HeaderMap;
use async_nats::jetstream;
use serde_json::Value;

use crate::{Error, Result};

/// The subject events go to by default (the server's stream holds `aiaudit.events.>`).
pub const DEFAULT_SUBJECT: &str = "aiaudit.events.default";

/// Publishes events as JetStream messages, each with a fresh `Nats-Msg-Id` so that JetStream
/// drops a retried publish within its duplicate window and the server recognises a message it
/// committed but could not acknowledge.
#[derive(Debug, Clone)]
pub struct NatsPublisher {
    js: jetstream::Context,
    subject: String,
}

impl NatsPublisher {
    /// Connects to `url` (`nats://127.0.0.1:4222`) to publish to `subject`.
    pub async fn connect(url: &str, subject: &str) -> Result<Self> {
        let client = async_nats::connect(url)
            .await
            .map_err(|e| Error::Config(format!("connecting to NATS at {url}: {e}")))?;
        Ok(NatsPublisher {
            js: jetstream::new(client),
            subject: subject.to_owned(),
        })
    }

    /// Publishes one event (the body schema of `POST /v1/events`) and waits for JetStream to
    /// store it. Returns the message id.
    pub async fn publish(&self, event: &Value) -> Result<String> {
        let mut ids = self.publish_all(std::slice::from_ref(event)).await?;
        ids.pop()
            .ok_or_else(|| Error::Protocol("no message id".into()))
    }

    /// Publishes events one message each, all in flight at once, and waits until JetStream
    /// has stored every one. Returns their message ids in order.
    pub async fn publish_all(&self, events: &[Value]) -> Result<Vec<String>> {
        let mut pending = Vec::with_capacity(events.len());
        let mut ids = Vec::with_capacity(events.len());
        for e in events {
            if !e.is_object() {
                return Err(Error::Config("an event must be a JSON object".into()));
            }
            let id = message_id()?;
            let mut headers = HeaderMap::new();
            headers.insert("Nats-Msg-Id", id.as_str());
            let body = serde_json::to_vec(e).map_err(|e| Error::Protocol(e.to_string()))?;
            let ack = self
                .js
                .publish_with_headers(self.subject.clone(), headers, body.into())
                .await
                .map_err(|e| Error::Protocol(format!("publishing to {}: {e}", self.subject)))?;
            pending.push(ack);
            ids.push(id);
        }
        for ack in pending {
            ack.await
                .map_err(|e| Error::Protocol(format!("JetStream did not store a message: {e}")))?;
        }
        Ok(ids)
    }
}

/// 128 random bits as hex.
fn message_id() -> Result<String> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).map_err(|e| Error::Config(format!("no randomness: {e}")))?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}
