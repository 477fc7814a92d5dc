//! Webhook sink: one HTTP POST per batch.
//!
//! Body (`content-type: application/json`):
//!
//! ```json
//! {"first_seq":41,"last_seq":43,"events":[{…record 41…},{…record 43…}]}
//! ```
//!
//! `events` holds the sealed records in seq order, each exactly as sealed (its RFC 8785 leaf
//! data), so a receiver can recompute the leaf hash; `first_seq`/`last_seq` are the seqs of the
//! first and last event in this request (a filter may leave gaps between them).
//!
//! Headers:
//! - `x-aiaudit-timestamp: <unix seconds>` — when the request was signed;
//! - `x-aiaudit-signature: sha256=<hex>` — lowercase hex HMAC-SHA256, keyed with the sink's
//!   `secret`, over the bytes `<timestamp>.<body>` (the timestamp header's text, a `.`, the raw
//!   body). Only sent when a secret is configured.
//!
//! A receiver should recompute the HMAC over the raw body, compare in constant time, refuse
//! timestamps far from its clock (replay), and dedupe on the record `id`: delivery is
//! at-least-once, and a retried batch is signed again with a new timestamp.
//!
//! Any 2xx answer means delivered; any other status or a transport error (including the
//! `timeout_s` timeout) fails the batch, which the dispatcher retries with backoff.

use std::collections::BTreeMap;
use std::time::Duration;

use aiaudit_core::StoredEntry;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::{BoxFuture, Sink};
use crate::config::Secret;
use crate::error::Result;

/// The webhook sink.
#[derive(Debug)]
pub struct WebhookSink {
    url: String,
    secret: Option<Secret>,
    client: reqwest::Client,
}

impl WebhookSink {
    /// A sink posting to `url`.
    pub fn new(
        url: &str,
        secret: Option<Secret>,
        timeout_s: u64,
        headers: &BTreeMap<String, String>,
    ) -> Result<Self> {
        Ok(WebhookSink {
            url: url.to_owned(),
            secret,
            client: super::http_client(url, Duration::from_secs(timeout_s), headers)?,
        })
    }
}

/// The request body for a batch: records embedded as sealed, not re-encoded.
pub fn body(batch: &[StoredEntry]) -> Vec<u8> {
    let first = batch.first().map_or(0, |e| e.seq);
    let last = batch.last().map_or(0, |e| e.seq);
    let size: usize = batch.iter().map(|e| e.data.len() + 1).sum();
    let mut b = Vec::with_capacity(size + 64);
    b.extend_from_slice(
        format!("{{\"first_seq\":{first},\"last_seq\":{last},\"events\":[").as_bytes(),
    );
    for (i, e) in batch.iter().enumerate() {
        if i > 0 {
            b.push(b',');
        }
        b.extend_from_slice(&e.data);
    }
    b.extend_from_slice(b"]}");
    b
}

/// `sha256=<hex HMAC-SHA256(key, "<timestamp>.<body>")>`.
pub fn signature(key: &[u8], timestamp: &str, body: &[u8]) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC takes any key length"),
    };
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

impl Sink for WebhookSink {
    fn deliver<'a>(&'a mut self, batch: &'a [StoredEntry]) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let body = body(batch);
            let ts = (crate::cursors::now_ns() / 1_000_000_000).to_string();
            let mut extra = Vec::with_capacity(2);
            if let Some(s) = &self.secret {
                extra.push(("x-aiaudit-signature", signature(&s.0, &ts, &body)));
            }
            extra.push(("x-aiaudit-timestamp", ts));
            super::post_json(&self.client, &self.url, body, &extra).await
        })
    }
}
