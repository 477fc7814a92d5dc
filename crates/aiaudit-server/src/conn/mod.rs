//! What one client may hold of the server: connections, time and buffered bodies.
//!
//! Every accepted connection passes through [`Guard`] before HTTP (and before TLS):
//!
//! - **Caps.** At most [`Connections::max_per_address`] connections from one address (more:
//!   429) and [`Connections::max_connections`] in all (more: 503), the total clamped below the
//!   process's descriptor limit so that the log, its readers and `/healthz` always have
//!   descriptors left. A refused plaintext connection gets the JSON error before it is closed.
//! - **Time.** A request head must arrive within [`Connections::header_timeout`] of its first
//!   byte (past it: 408 and close); a connection with no request and no traffic for
//!   [`Connections::idle_timeout`] is closed, as is one whose client stops reading an answer
//!   for that long. While a handler runs, the connection is never idle: a body's time is the
//!   handler's to bound ([`Connections::body_timeout`], in `routes::read_body`).
//! - **hyper's own answers** to requests it cannot parse (400, 414, 431, empty) are rewritten
//!   into the same JSON error every other rejection has.
//!
//! Buffered bodies share one budget ([`Connections::body_budget`], a semaphore of bytes held in
//! the state): a body that does not fit is refused with 503 before it is read.

mod answer;
mod io;
mod service;
mod slots;

use axum_server::accept::Accept;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;

pub(crate) use io::GuardedIo;
pub(crate) use service::GuardedService;
pub(crate) use slots::Slots;

use crate::metrics::Metrics;

/// The `[server]` settings that bound connections, time and buffered bodies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Connections {
    /// From a request's first byte to the end of its head (`header_timeout`, default 10 s).
    pub header_timeout: Duration,
    /// From a body's first poll to its last byte (`body_timeout`, default 30 s).
    pub body_timeout: Duration,
    /// No request and no traffic, or a client not reading its answer (`idle_timeout`, default
    /// 30 s).
    pub idle_timeout: Duration,
    /// Open connections in all (`max_connections`, default 1024).
    pub max_connections: usize,
    /// Open connections from one IP address (`max_connections_per_address`; default a quarter
    /// of the total cap applied, at least 16: 256 of 1,024). Behind a reverse proxy every
    /// client has the proxy's address: raise it to `max_connections` there.
    pub max_per_address: Option<usize>,
    /// Bytes of request bodies held at once over every connection (`body_budget`, default
    /// 256 MiB).
    pub body_budget: usize,
}

impl Default for Connections {
    fn default() -> Self {
        Connections {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(30),
            max_connections: 1024,
            max_per_address: None,
            body_budget: 256 * 1024 * 1024,
        }
    }
}

/// Descriptors kept back from connections: the log and its WAL, readers, the token file,
/// sinks, NATS, and the listener.
const RESERVED_DESCRIPTORS: usize = 64;

impl Connections {
    /// The per-address cap actually applied.
    pub fn effective_per_address(&self) -> usize {
        self.max_per_address
            .unwrap_or_else(|| (self.effective_max() / 4).max(16))
    }

    /// The total cap actually applied: the configured one, lowered below the process's
    /// descriptor limit when that is smaller.
    pub fn effective_max(&self) -> usize {
        match descriptor_limit() {
            Some(limit) => self
                .max_connections
                .min(limit.saturating_sub(RESERVED_DESCRIPTORS).max(1)),
            None => self.max_connections,
        }
    }
}

/// The soft limit on open descriptors (Linux: `/proc/self/limits`).
fn descriptor_limit() -> Option<usize> {
    let text = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = text.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// The acceptor that applies [`Connections`] around another (plain or TLS).
#[derive(Clone)]
pub(crate) struct Guard<A> {
    inner: A,
    slots: Arc<Slots>,
    settings: Connections,
    metrics: Arc<Metrics>,
    /// Whether refusals can be answered in HTTP (not under TLS, whose handshake has not run).
    plain: bool,
    /// Refusals being answered: each holds a descriptor outside the caps for a moment, so only
    /// a few at once; past them a refused connection is closed without an answer.
    answering: Arc<tokio::sync::Semaphore>,
}

/// Refused connections answered at once (each for at most ~0.6 s); within the reserve of
/// descriptors kept back from connections.
const ANSWERED_REFUSALS: usize = 16;

impl<A> Guard<A> {
    pub(crate) fn new(inner: A, settings: Connections, metrics: Arc<Metrics>, plain: bool) -> Self {
        Guard {
            inner,
            slots: Arc::new(Slots::new(
                settings.effective_max(),
                settings.effective_per_address(),
                metrics.connections_open(),
            )),
            settings,
            metrics,
            plain,
            answering: Arc::new(tokio::sync::Semaphore::new(ANSWERED_REFUSALS)),
        }
    }
}

type Accepted<St, Sv> = std::io::Result<(GuardedIo<St>, GuardedService<Sv>)>;

impl<A, S> Accept<TcpStream, S> for Guard<A>
where
    A: Accept<TcpStream, S> + Clone + Send + Sync + 'static,
    A::Future: Send + 'static,
    A::Stream: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    A::Service: Send + 'static,
    S: Send + 'static,
{
    type Stream = GuardedIo<A::Stream>;
    type Service = GuardedService<A::Service>;
    type Future = Pin<Box<dyn Future<Output = Accepted<A::Stream, A::Service>> + Send>>;

    fn accept(&self, stream: TcpStream, service: S) -> Self::Future {
        let peer = stream.peer_addr().ok().map(|a| a.ip());
        let taken = self.slots.take(peer);
        let (inner, settings, metrics, plain) = (
            self.inner.clone(),
            self.settings,
            Arc::clone(&self.metrics),
            self.plain,
        );
        let answering = Arc::clone(&self.answering);
        Box::pin(async move {
            let slot = match taken {
                Ok(slot) => slot,
                Err(refusal) => {
                    metrics.connection_refused(refusal.reason());
                    if plain && let Ok(_answering) = answering.try_acquire() {
                        answer::refuse(stream, refusal).await;
                    }
                    return Err(std::io::Error::other(refusal.to_string()));
                }
            };
            let activity = Arc::new(service::Activity::default());
            let (stream, service) = inner.accept(stream, service).await?;
            Ok((
                GuardedIo::new(stream, Arc::clone(&activity), settings, slot, metrics),
                GuardedService::new(service, activity),
            ))
        })
    }
}
