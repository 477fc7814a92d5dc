//! What every request shares: the logger, a pool of readers, the token file, the metrics and
//! the settings.

use aiaudit::{AuditLogger, Event, LogReader};
use aiaudit_sqlite::TokenFile;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::config::{Limits, ServerConfig};
use crate::error::ApiError;
use crate::metrics::Metrics;

/// The state behind every route (cheap to clone).
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Shared>,
}

/// The shared parts.
pub struct Shared {
    /// The log's writer.
    pub logger: Arc<AuditLogger>,
    /// Readers, one per concurrent blocking read.
    pub readers: Readers,
    /// API tokens.
    pub tokens: Arc<TokenFile>,
    /// Prometheus metrics.
    pub metrics: Arc<Metrics>,
    /// Request limits.
    pub limits: Limits,
    /// What the OTLP receiver keeps.
    pub otlp: crate::config::Otlp,
    /// `/healthz` and `/readyz` need no token.
    pub open_health: bool,
    /// `/metrics` needs no token.
    pub open_metrics: bool,
    /// `/checkpoint` and `/tile/…` need no token.
    pub public_tiles: bool,
    /// The committed log size, for live streams to wait on.
    pub committed: Arc<tokio::sync::watch::Sender<u64>>,
    /// Set when the server shuts down, so that live streams end.
    pub stopping: tokio::sync::watch::Sender<bool>,
    /// Bytes of request bodies that may be held at once, over every connection.
    pub bodies: Arc<tokio::sync::Semaphore>,
    /// How long a body may take to arrive.
    pub body_timeout: std::time::Duration,
    /// The witnesses and their cosignatures, when `[[witnesses]]` are configured.
    pub witnessing: Option<Arc<crate::witnessing::Witnessing>>,
    /// Answers remembered by `Idempotency-Key`.
    pub idempotency: crate::idempotency::Keys<(
        axum::http::StatusCode,
        crate::ingest::receipt::IngestReceipt,
    )>,
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.inner
    }
}

impl AppState {
    /// State over an open logger and token file.
    pub fn new(
        logger: Arc<AuditLogger>,
        tokens: Arc<TokenFile>,
        metrics: Arc<Metrics>,
        committed: Arc<tokio::sync::watch::Sender<u64>>,
        config: &ServerConfig,
        witnessing: Option<Arc<crate::witnessing::Witnessing>>,
    ) -> Self {
        AppState {
            inner: Arc::new(Shared {
                readers: Readers::new(logger.path().to_owned()),
                logger,
                tokens,
                metrics,
                limits: config.limits,
                otlp: config.otlp,
                open_health: config.open_health,
                open_metrics: config.open_metrics,
                public_tiles: config.public_tiles,
                committed,
                stopping: tokio::sync::watch::Sender::new(false),
                bodies: Arc::new(tokio::sync::Semaphore::new(config.connections.body_budget)),
                body_timeout: config.connections.body_timeout,
                idempotency: crate::idempotency::Keys::default(),
                witnessing,
            }),
        }
    }

    /// Runs `f` with a reader on a thread that may block (SQLite reads block).
    pub async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&LogReader) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let state = self.clone();
        tokio::task::spawn_blocking(move || state.readers.with(f))
            .await
            .map_err(ApiError::internal)?
    }

    /// Queues an event the server itself records (an access event, say) without waiting for
    /// its commit, and without blocking the runtime if the queue is full.
    pub async fn record(&self, event: Event) -> Result<(), ApiError> {
        match self.logger.try_log(event)? {
            Ok(_) => Ok(()),
            Err(event) => {
                let logger = Arc::clone(&self.logger);
                tokio::task::spawn_blocking(move || logger.log(event).map(|_| ()))
                    .await
                    .map_err(ApiError::internal)?
                    .map_err(ApiError::from)
            }
        }
    }
}

/// A pool of readers: a read takes an idle one or opens one, and puts it back after.
pub struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<LogReader>>,
}

impl Readers {
    fn new(path: PathBuf) -> Self {
        Readers {
            path,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Runs `f` with a reader (blocking).
    pub fn with<T>(
        &self,
        f: impl FnOnce(&LogReader) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let pooled = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let reader = match pooled {
            Some(r) => r,
            None => LogReader::open(&self.path)?,
        };
        let out = f(&reader);
        self.idle
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(reader);
        out
    }
}
