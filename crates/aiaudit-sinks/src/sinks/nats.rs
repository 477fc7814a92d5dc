//! NATS sink: each record's leaf data, exactly as sealed, published to the configured subject
//! with the header `Nats-Msg-Id: <event id>`.
//!
//! When a JetStream stream covers the subject (looked up on connect), every message is published
//! through JetStream and the batch counts as delivered only once every publish is acked, i.e.
//! stored by the stream; the stream's duplicate window drops re-deliveries by `Nats-Msg-Id`.
//! Otherwise messages are core-published and the batch is delivered once `flush` returns (the
//! server has them; core NATS keeps nothing for subscribers that are not there).

use aiaudit_core::StoredEntry;
use async_nats::jetstream::context::GetStreamByNameErrorKind;

use super::{BoxFuture, Sink};
use crate::error::{Error, Result};

/// The NATS sink.
#[derive(Debug)]
pub struct NatsSink {
    url: String,
    subject: String,
    client: async_nats::Client,
    /// Set when a JetStream stream covers the subject.
    jetstream: Option<async_nats::jetstream::Context>,
}

impl NatsSink {
    /// Connects to `url` and finds whether a stream covers `subject`.
    pub async fn connect(url: &str, subject: &str) -> Result<Self> {
        let nats = |what, e: async_nats::Error| Error::Nats {
            url: url.to_owned(),
            what,
            source: e,
        };
        let client = async_nats::ConnectOptions::new()
            .connection_timeout(std::time::Duration::from_secs(5))
            .connect(url)
            .await
            .map_err(|e| nats("connecting", e.into()))?;
        let js = async_nats::jetstream::new(client.clone());
        let jetstream = match js.stream_by_subject(subject).await {
            Ok(_) => Some(js),
            Err(e) if e.kind() == GetStreamByNameErrorKind::NotFound => None,
            // No JetStream on the server answers the API request with "no responders": core
            // publishing is then the only choice, and right.
            Err(e) if e.kind() == GetStreamByNameErrorKind::Request => None,
            Err(e) => return Err(nats("finding the stream for the subject", e.into())),
        };
        Ok(NatsSink {
            url: url.to_owned(),
            subject: subject.to_owned(),
            client,
            jetstream,
        })
    }

    /// Whether publishes go through JetStream (a stream covers the subject).
    pub fn uses_jetstream(&self) -> bool {
        self.jetstream.is_some()
    }

    fn err(&self, what: &'static str, e: impl Into<async_nats::Error>) -> Error {
        Error::Nats {
            url: self.url.clone(),
            what,
            source: e.into(),
        }
    }

    async fn publish(&self, batch: &[StoredEntry]) -> Result<()> {
        let headers = |e: &StoredEntry| {
            let mut h = async_nats::HeaderMap::new();
            h.insert("Nats-Msg-Id", e.id.as_str());
            h
        };
        match &self.jetstream {
            Some(js) => {
                // Publish the whole batch, then wait for the acks in order: pipelined, yet the
                // batch succeeds only if the stream stored every message.
                let mut acks = Vec::with_capacity(batch.len());
                for e in batch {
                    let ack = js
                        .publish_with_headers(
                            self.subject.clone(),
                            headers(e),
                            e.data.clone().into(),
                        )
                        .await
                        .map_err(|x| self.err("publishing", x))?;
                    acks.push(ack);
                }
                for ack in acks {
                    ack.await
                        .map_err(|x| self.err("waiting for the JetStream ack", x))?;
                }
            }
            None => {
                for e in batch {
                    self.client
                        .publish_with_headers(
                            self.subject.clone(),
                            headers(e),
                            e.data.clone().into(),
                        )
                        .await
                        .map_err(|x| self.err("publishing", x))?;
                }
                self.client
                    .flush()
                    .await
                    .map_err(|x| self.err("flushing", x))?;
            }
        }
        Ok(())
    }
}

impl Sink for NatsSink {
    fn deliver<'a>(&'a mut self, batch: &'a [StoredEntry]) -> BoxFuture<'a, Result<()>> {
        Box::pin(self.publish(batch))
    }
}
