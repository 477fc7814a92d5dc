//! # aiaudit-client
//!
//! A Rust client for `aiaudit serve`. [`Client`] sends events (with retries that never record
//! twice: each batch carries an `Idempotency-Key`), queries, fetches proofs and checkpoints.
//! [`Batcher`] collects events from many tasks and sends them in batches, by size or by time.
//!
//! ```no_run
//! use aiaudit_client::{Batcher, BatchConfig, Client};
//! use serde_json::json;
//!
//! # async fn f() -> Result<(), aiaudit_client::Error> {
//! let client = Client::new("http://127.0.0.1:7878", "aiat_…")?;
//! let receipt = client
//!     .send(&[json!({"type": "model_training", "name": "Training started"})], true)
//!     .await?;
//! println!("sealed at seq {}", receipt.seqs[0]);
//!
//! let batcher = Batcher::new(client, BatchConfig::default());
//! for i in 0..10_000 {
//!     batcher.log(json!({"type": "model_inference", "name": "prediction", "details": {"i": i}})).await?;
//! }
//! let sent = batcher.close().await?; // sends what is left, waits for the commit
//! assert_eq!(sent, 10_000);
//! # Ok(()) }
//! ```

mod batcher;
mod client;

pub use batcher::{BatchConfig, Batcher};
pub use client::{Client, Receipt, RetryPolicy};

/// What the client reports.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server answered with an error (a 4xx is not retried).
    #[error("{status} {code}: {message}")]
    Api {
        /// HTTP status.
        status: u16,
        /// The server's error code (`invalid_event`, `forbidden`, …).
        code: String,
        /// The server's message.
        message: String,
    },
    /// The request failed on the way (connection, TLS, timeout) after every retry.
    #[error("request to {url} failed: {source}")]
    Transport {
        /// The URL.
        url: String,
        /// The failure.
        #[source]
        source: reqwest::Error,
    },
    /// A setting is wrong (the URL, the CA certificate).
    #[error("{0}")]
    Config(String),
    /// The batcher was closed, or its task stopped.
    #[error("the batcher is closed")]
    Closed,
    /// The answer was not what the API promises.
    #[error("unexpected answer from the server: {0}")]
    Protocol(String),
}

/// Result with this crate's error.
pub type Result<T, E = Error> = std::result::Result<T, E>;
