//! # aiaudit-client
//!
//! A Rust client for `aiaudit serve`. [`Client`] sends events (with retries that never record
//! twice: each batch carries an `Idempotency-Key`), queries, fetches proofs and checkpoints.
//! [`Batcher`] collects events from many tasks and sends them in batches, by size or by time.
//!
//! ```
//! use aiaudit_client::{Batcher, BatchConfig, Client};
//! use serde_json::json;
//!
//! # #[tokio::main(flavor = "multi_thread", worker_threads = 2)]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! # let mut config = aiaudit_server::ServerConfig::new(dir.path().join("audit.db"));
//! # config.listen = "127.0.0.1:0".parse()?;
//! # let server = aiaudit_server::Server::start(config).await?;
//! # let tokens = aiaudit_sqlite::TokenFile::open(&server.tokens_path(), true)?;
//! # let (_, token) = tokens.create("pipeline", "ingest", 0)?;
//! # let url = server.url();
//! // `url` is the server (`http://127.0.0.1:7878`), `token` an API token with role ingest.
//! let client = Client::new(&url, &token)?;
//! let receipt = client
//!     .send(&[json!({"type": "model_training", "name": "Training started"})], true)
//!     .await?;
//! assert_eq!(receipt.seqs, vec![0]);
//! assert!(receipt.committed);
//!
//! let batcher = Batcher::new(client, BatchConfig::default());
//! for i in 0..10_000 {
//!     batcher.log(json!({"type": "model_inference", "name": "prediction", "details": {"i": i}})).await?;
//! }
//! let sent = batcher.close().await?; // sends what is left, each batch committed
//! assert_eq!(sent, 10_000);
//! # server.shutdown().await?;
//! # Ok(()) }
//! ```

mod batcher;
mod client;
mod nats;

pub use batcher::{BatchConfig, Batcher};
pub use client::{Client, Receipt, RetryPolicy};
pub use nats::{DEFAULT_SUBJECT, NatsPublisher};

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
        /// For a refused batch, the event at fault.
        index: Option<usize>,
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
