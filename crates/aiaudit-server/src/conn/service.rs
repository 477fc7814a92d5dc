//! The per-connection service wrapper that tells the connection's I/O when a request is being
//! handled: from the call until its answer's body is finished or dropped.

use axum::body::Body;
use axum::http::{Request, Response};
use bytes::Bytes;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};

/// What the connection's service tells its I/O.
#[derive(Debug, Default)]
pub(crate) struct Activity {
    /// Requests whose answer is not finished yet.
    in_flight: AtomicUsize,
    /// Requests dispatched so far (a change means a head was parsed).
    calls: AtomicU64,
    /// The connection's reader, parked while a request is in flight: woken when the last one
    /// ends, so that the idle deadline is armed even if hyper does not read again by itself.
    idle_waker: futures_util::task::AtomicWaker,
}

impl Activity {
    /// No request is being handled.
    pub(crate) fn idle(&self) -> bool {
        self.in_flight.load(Ordering::Acquire) == 0
    }

    /// Requests dispatched so far.
    pub(crate) fn calls(&self) -> u64 {
        self.calls.load(Ordering::Acquire)
    }

    /// Wakes `waker` once no request is in flight (at once if none is).
    pub(crate) fn wake_when_idle(&self, waker: &std::task::Waker) {
        self.idle_waker.register(waker);
        if self.idle() {
            self.idle_waker.wake();
        }
    }
}

/// Marks one request in flight until dropped.
struct Busy(Arc<Activity>);

impl Busy {
    fn start(activity: &Arc<Activity>) -> Self {
        activity.calls.fetch_add(1, Ordering::AcqRel);
        activity.in_flight.fetch_add(1, Ordering::AcqRel);
        Busy(Arc::clone(activity))
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        if self.0.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.idle_waker.wake();
        }
    }
}

/// A service that keeps [`Activity`] for its connection.
#[derive(Clone)]
pub(crate) struct GuardedService<S> {
    inner: S,
    activity: Arc<Activity>,
}

impl<S> GuardedService<S> {
    pub(crate) fn new(inner: S, activity: Arc<Activity>) -> Self {
        GuardedService { inner, activity }
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl<S, B, Req> tower::Service<Request<Req>> for GuardedService<S>
where
    S: tower::Service<Request<Req>, Response = Response<B>>,
    S::Future: Send + 'static,
    B: http_body::Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Req>) -> Self::Future {
        let busy = Busy::start(&self.activity);
        let answer = self.inner.call(req);
        Box::pin(async move {
            let resp = answer.await?;
            Ok(resp.map(|inner| Body::new(Tracked { inner, _busy: busy })))
        })
    }
}

/// An answer's body that keeps its request in flight until it ends or is dropped.
struct Tracked<B> {
    inner: B,
    _busy: Busy,
}

impl<B> http_body::Body for Tracked<B>
where
    B: http_body::Body<Data = Bytes> + Unpin,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, B::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
