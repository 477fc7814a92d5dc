//! # aiaudit-server
//!
//! `aiaudit serve`: the HTTP audit service. Pipelines on many hosts, in any language, send
//! events to one log; auditors query, prove and verify it. Built on axum and tokio over the same
//! [`aiaudit::AuditLogger`] and SQLite store as the embedded log.
//!
//! - `POST /v1/events`: one event, an array, or NDJSON; answers with the seqs and ids assigned
//!   (`?wait=commit`: only after commit).
//! - `GET /v1/events` (the filters of `aiaudit query`, cursor pagination), `GET /v1/events/{seq|id}`.
//! - `GET /v1/checkpoint`, `/v1/proofs/inclusion`, `/v1/proofs/consistency`, `/v1/verify`.
//! - `/v1/tokens`, `/v1/subjects/{subject}/erasure` (admin); `/healthz`, `/readyz`, `/metrics`,
//!   `/openapi.json`.
//!
//! Every route but health, metrics and the OpenAPI document needs a bearer token whose role
//! allows it ([`Role`]); every read is recorded in the log as an `access` event. Bad input gets
//! a 4xx JSON error naming the problem ([`ApiError`]).
//!
//! ```
//! use aiaudit_server::{Server, ServerConfig};
//! use aiaudit_sqlite::TokenFile;
//!
//! # #[tokio::main(flavor = "multi_thread", worker_threads = 2)]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let mut config = ServerConfig::new(dir.path().join("audit.db"));
//! config.listen = "127.0.0.1:0".parse()?;
//! let server = Server::start(config).await?;
//! let tokens = TokenFile::open(&server.tokens_path(), true)?;
//! let (_, token) = tokens.create("pipeline", "ingest", 0)?;
//!
//! // Any HTTP client will do; here, a raw HTTP/1.1 request over loopback.
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//! let body = r#"{"type":"model_training","name":"Training started","status":"INFO"}"#;
//! let mut conn = tokio::net::TcpStream::connect(server.local_addr()).await?;
//! conn.write_all(format!(
//!     "POST /v1/events?wait=commit HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
//!      Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
//!     body.len()
//! ).as_bytes()).await?;
//! let mut answer = String::new();
//! conn.read_to_string(&mut answer).await?;
//! assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
//! assert!(answer.contains(r#""seqs":[0]"#));
//!
//! assert_eq!(server.shutdown().await?, 1); // everything accepted is committed
//! # Ok(())
//! # }
//! ```

mod access;
mod auth;
mod config;
mod conn;
mod error;
mod idempotency;
pub mod ingest;
mod metrics;
mod openapi;
pub mod query;
pub mod retention;
mod routes;
mod scheduled_archive;
mod scheduled_verify;
mod state;
pub mod witnessing;
mod witnessing_run;

pub use auth::Role;
pub use config::{AfterCommit, Limits, NatsIngest, ServerConfig};
pub use conn::Connections;
pub use error::{ApiError, Error, ErrorBody, ErrorDetail};
pub use metrics::Metrics;
pub use openapi::ApiDoc;
pub use routes::app;
pub use state::AppState;

use aiaudit::AuditLogger;
use aiaudit_core::redact::Policy;
use aiaudit_sqlite::TokenFile;
use axum_server::Handle;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// How long shutdown waits for requests in flight before closing their connections.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// A running server.
pub struct Server {
    addr: SocketAddr,
    tls: bool,
    handle: Handle<SocketAddr>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    logger: Arc<AuditLogger>,
    tokens_path: PathBuf,
    stopping: tokio::sync::watch::Sender<bool>,
    /// The NATS consumer, when one runs.
    nats: Option<tokio::task::JoinHandle<()>>,
    /// The sinks and alert rules fed after commit, when any are configured.
    sinks: Option<aiaudit_sinks::Dispatcher>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("addr", &self.addr)
            .field("tls", &self.tls)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Opens (or creates) the log and the token file, binds the address and starts serving.
    pub async fn start(config: ServerConfig) -> Result<Server, Error> {
        config.check()?;
        // One process-wide TLS provider (ring); a second install attempt is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let metrics = Arc::new(Metrics::new());
        let committed = Arc::new(tokio::sync::watch::Sender::new(0u64));
        // Opening a log may block (a PostgreSQL store's client drives its own runtime, which
        // cannot start on a thread of this one): on a blocking thread.
        let logger = {
            let (config, metrics, committed) =
                (config.clone(), Arc::clone(&metrics), Arc::clone(&committed));
            Arc::new(
                tokio::task::spawn_blocking(move || open_logger(&config, metrics, committed))
                    .await
                    .map_err(|e| Error::Invalid(format!("opening the log: {e}")))??,
            )
        };
        committed.send_replace(logger.committed());
        let tokens_path = config.tokens_path();
        let tokens = Arc::new(TokenFile::open(&tokens_path, true)?);
        let sinks = {
            let (config, logger) = (config.clone(), Arc::clone(&logger));
            tokio::task::spawn_blocking(move || start_sinks(&config, &logger))
                .await
                .map_err(|e| Error::Invalid(format!("starting the sinks: {e}")))??
        };
        let witnessing = if config.witnesses.is_empty() {
            None
        } else {
            let path = config.tokens_path().with_extension("cosignatures");
            Some(Arc::new(witnessing::Witnessing::open(
                &path,
                config.witnesses.clone(),
                config.witness_every,
            )?))
        };
        let state = AppState::new(
            Arc::clone(&logger),
            tokens,
            Arc::clone(&metrics),
            committed,
            &config,
            witnessing.clone(),
        );
        let stopping = state.stopping.clone();
        let nats = match &config.nats {
            Some(cfg) => {
                let messages = ingest::nats::prepare(cfg).await?;
                tracing::info!(url = %cfg.url, stream = %cfg.stream, consumer = %cfg.consumer, "consuming events from NATS JetStream");
                Some(tokio::spawn(ingest::nats::run(
                    state.clone(),
                    cfg.clone(),
                    messages,
                    stopping.subscribe(),
                )))
            }
            None => None,
        };
        if let Some(w) = witnessing {
            tokio::spawn(witnessing_run::run(state.clone(), w, stopping.subscribe()));
        }
        if let Some(r) = config.retention.clone() {
            tokio::spawn(scheduled_archive::run(
                state.clone(),
                r,
                stopping.subscribe(),
            ));
        }
        if let Some(every) = config.verify_every {
            tokio::spawn(scheduled_verify::run(
                state.clone(),
                every,
                stopping.subscribe(),
            ));
        }
        let app = routes::app(state).into_make_service_with_connect_info::<SocketAddr>();
        let listener = std::net::TcpListener::bind(config.listen).map_err(|source| Error::Io {
            what: format!("binding {}", config.listen),
            source,
        })?;
        let addr = listener.local_addr().map_err(|source| Error::Io {
            what: "reading the bound address".into(),
            source,
        })?;
        let handle = Handle::new();
        let io = |what: &str| {
            let what = what.to_owned();
            move |source| Error::Io { what, source }
        };
        let limits = config.connections;
        if limits.effective_max() < limits.max_connections {
            tracing::warn!(
                configured = limits.max_connections,
                applied = limits.effective_max(),
                "max_connections lowered below the process's descriptor limit (raise `ulimit -n` for more)"
            );
        }
        let task = match &config.tls {
            Some((cert, key)) => {
                let tls = axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key)
                    .await
                    .map_err(io(&format!(
                        "reading the TLS certificate {} and key {}",
                        cert.display(),
                        key.display()
                    )))?;
                let tls = axum_server::tls_rustls::RustlsAcceptor::new(tls)
                    .handshake_timeout(limits.header_timeout);
                let server = axum_server::from_tcp(listener)
                    .map_err(io("listening"))?
                    .acceptor(conn::Guard::new(tls, limits, Arc::clone(&metrics), false))
                    .handle(handle.clone());
                tokio::spawn(server.serve(app))
            }
            None => {
                let plain = axum_server::accept::DefaultAcceptor::new();
                let server = axum_server::from_tcp(listener)
                    .map_err(io("listening"))?
                    .acceptor(conn::Guard::new(plain, limits, Arc::clone(&metrics), true))
                    .handle(handle.clone());
                tokio::spawn(server.serve(app))
            }
        };
        Ok(Server {
            addr,
            tls: config.tls.is_some(),
            handle,
            task,
            logger,
            tokens_path,
            stopping,
            nats,
            sinks,
        })
    }

    /// The address served (the real port when 0 was asked).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR` or `https://ADDR`.
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// The token file (for `aiaudit token` and tests).
    pub fn tokens_path(&self) -> PathBuf {
        self.tokens_path.clone()
    }

    /// The log's verifier key.
    pub fn verifier_key(&self) -> String {
        self.logger.info().verifier_key.clone()
    }

    /// Stops accepting connections, lets requests in flight finish (up to
    /// [`SHUTDOWN_GRACE`]), then commits everything accepted and closes the log. Returns the
    /// final log size.
    pub async fn shutdown(self) -> Result<u64, Error> {
        // Live event streams never end by themselves: end them first.
        self.stopping.send_replace(true);
        // The consumer finishes its round (committed, then acknowledged) and stops taking more.
        if let Some(n) = self.nats {
            let _ = n.await;
        }
        self.handle.graceful_shutdown(Some(SHUTDOWN_GRACE));
        let served = self.task.await;
        let logger = Arc::clone(&self.logger);
        let closed = tokio::task::spawn_blocking(move || logger.close())
            .await
            .map_err(|e| Error::Invalid(format!("closing the log: {e}")))?;
        // Sinks stop after their current delivery; what is left is delivered at the next start.
        if let Some(d) = self.sinks {
            tokio::task::spawn_blocking(move || d.shutdown())
                .await
                .map_err(|e| Error::Invalid(format!("stopping the sinks: {e}")))?
                .map_err(|e| Error::Invalid(e.to_string()))?;
        }
        match served {
            Ok(Ok(())) => {}
            Ok(Err(source)) => {
                return Err(Error::Io {
                    what: "serving".into(),
                    source,
                });
            }
            Err(e) => return Err(Error::Invalid(format!("the server task failed: {e}"))),
        }
        Ok(closed?)
    }

    /// Serves until SIGTERM or Ctrl-C, then shuts down gracefully (see [`Server::shutdown`]).
    pub async fn run_until_signal(self) -> Result<u64, Error> {
        shutdown_signal().await;
        tracing::info!("shutting down: finishing requests and committing");
        self.shutdown().await
    }
}

/// Starts the configured sinks and the alert rules, whose alerts are logged as `alert` events.
fn start_sinks(
    config: &ServerConfig,
    logger: &Arc<AuditLogger>,
) -> Result<Option<aiaudit_sinks::Dispatcher>, Error> {
    let ac = &config.after_commit;
    let for_alerts = Arc::clone(logger);
    let emit: aiaudit_sinks::sinks::alerts::Emit = Arc::new(move |a| {
        let status = for_alerts.status(&a.status).map_err(|e| e.to_string())?;
        let mut event = aiaudit::Event::new(aiaudit_sinks::alerts::ALERT_TYPE, a.message.clone())
            .status(status);
        if let serde_json::Value::Object(m) = &a.details {
            event.details = m.clone();
        }
        event
            .details
            .insert("rule".into(), serde_json::Value::String(a.rule.clone()));
        for_alerts.log(event).map(|_| ()).map_err(|e| e.to_string())
    });
    let sinks =
        aiaudit_sinks::setup::from_config(ac.sinks.as_ref(), ac.alerts.as_ref(), Some(emit))
            .map_err(|e| Error::Invalid(e.to_string()))?;
    if sinks.is_empty() {
        return Ok(None);
    }
    let cursors = aiaudit_sinks::setup::cursor_path(&config.db);
    tracing::info!(sinks = sinks.len(), cursors = %cursors.display(), "delivering committed events to sinks");
    aiaudit_sinks::Dispatcher::start(config.db.clone(), cursors, sinks)
        .map(Some)
        .map_err(|e| Error::Invalid(e.to_string()))
}

fn open_logger(
    config: &ServerConfig,
    metrics: Arc<Metrics>,
    committed: Arc<tokio::sync::watch::Sender<u64>>,
) -> Result<AuditLogger, Error> {
    let mut b = AuditLogger::builder(&config.db)
        .service("aiaudit-server")
        .on_commit(Arc::new(move |s| {
            committed.send_replace(s.size);
            metrics.committed(s);
        }));
    if let Some(k) = &config.signing_key {
        b = b.signing_key_path(k);
    }
    if let Some(argv) = &config.signing_command {
        b = b.signing_key(aiaudit::signer::CommandSigner::open(argv.clone())?);
    }
    if let Some((path, text)) = &config.policy_toml {
        let policy = Policy::from_toml(text).map_err(|e| Error::Config {
            path: path.clone(),
            why: e.to_string(),
        })?;
        b = b.redaction(policy);
    }
    for s in &config.statuses {
        b = b.custom_status(s.clone());
    }
    Ok(b.open()?)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
