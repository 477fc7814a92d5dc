//! The per-connection I/O wrapper: the head, idle and stalled-write deadlines, and the
//! replacement of hyper's own empty error answers.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

use super::Connections;
use super::answer;
use super::service::Activity;
use super::slots::Slot;
use crate::metrics::Metrics;

/// A connection's stream with its deadlines. Reads time out only while no request is being
/// handled: waiting for a head (header timeout from its first byte) or for anything at all
/// (idle timeout from the last traffic). A write that the client does not take for the idle
/// timeout fails the connection.
pub(crate) struct GuardedIo<T> {
    inner: T,
    activity: Arc<Activity>,
    settings: Connections,
    metrics: Arc<Metrics>,
    _slot: Slot,
    read_timer: Pin<Box<Sleep>>,
    write_timer: Pin<Box<Sleep>>,
    /// The last byte read or written.
    last_io: Instant,
    /// When the first byte of a head not yet dispatched arrived.
    head_since: Option<Instant>,
    /// [`Activity::calls`] when `head_since` was last brought up to date.
    seen_calls: u64,
    /// When the client stopped taking what is written.
    stalled_since: Option<Instant>,
    /// An answer of ours being written in place of hyper's, and how much of it is out.
    out: Option<(Vec<u8>, usize)>,
    /// Whether the first bytes have been read, and whether they were HTTP/2's preface: HTTP/2
    /// frames (pings, window updates) are not a request head, and its errors are its own.
    started: bool,
    h2: bool,
}

impl<T> GuardedIo<T> {
    pub(crate) fn new(
        inner: T,
        activity: Arc<Activity>,
        settings: Connections,
        slot: Slot,
        metrics: Arc<Metrics>,
    ) -> Self {
        let now = Instant::now();
        GuardedIo {
            inner,
            seen_calls: activity.calls(),
            activity,
            settings,
            metrics,
            _slot: slot,
            read_timer: Box::pin(tokio::time::sleep_until(now)),
            write_timer: Box::pin(tokio::time::sleep_until(now)),
            last_io: now,
            head_since: None,
            stalled_since: None,
            out: None,
            started: false,
            h2: false,
        }
    }

    /// A head that was being read has been dispatched if a call happened since.
    fn sync_head(&mut self) {
        let calls = self.activity.calls();
        if calls != self.seen_calls {
            self.seen_calls = calls;
            self.head_since = None;
        }
    }
}

impl<T: AsyncWrite + Unpin> GuardedIo<T> {
    /// Writes what is left of our own answer, within the stalled-write deadline.
    fn poll_out(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            let Some((bytes, done)) = &self.out else {
                return Poll::Ready(Ok(()));
            };
            if *done == bytes.len() {
                self.out = None;
                return Poll::Ready(Ok(()));
            }
            let written = Pin::new(&mut self.inner).poll_write(cx, &bytes[*done..]);
            match written {
                Poll::Pending => return self.poll_write_deadline(cx).map(Err),
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => {
                    self.stalled_since = None;
                    if let Some((_, done)) = &mut self.out {
                        *done += n;
                    }
                }
            }
        }
    }

    /// A read found nothing: fails the connection past its deadline, else arms the timer.
    fn poll_read_deadline(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.sync_head();
        if !self.activity.idle() {
            // Armed again when the request ends.
            self.activity.wake_when_idle(cx.waker());
            if !self.activity.idle() {
                return Poll::Pending;
            }
        }
        let (deadline, head) = match self.head_since {
            Some(t) => (t + self.settings.header_timeout, true),
            None => (self.last_io + self.settings.idle_timeout, false),
        };
        self.read_timer.as_mut().reset(deadline);
        if self.read_timer.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        if head {
            self.metrics.connection_refused("header_timeout");
            // Best effort: a client that sent part of a head learns why it is cut off.
            self.out = Some((answer::head_timeout(self.settings.header_timeout), 0));
            let _ = self.poll_out(cx);
            Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "request head timed out",
            )))
        } else {
            self.metrics.connection_refused("idle_timeout");
            Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "idle connection timed out",
            )))
        }
    }

    /// A write could not proceed: fails the connection once the client has taken nothing
    /// for the idle timeout.
    fn poll_write_deadline(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        let since = *self.stalled_since.get_or_insert_with(Instant::now);
        self.write_timer
            .as_mut()
            .reset(since + self.settings.idle_timeout);
        if self.write_timer.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        self.metrics.connection_refused("write_stall");
        Poll::Ready(io::Error::new(
            io::ErrorKind::TimedOut,
            "the client stopped reading its answer",
        ))
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin> AsyncRead for GuardedIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    let now = Instant::now();
                    this.last_io = now;
                    if !this.started {
                        this.started = true;
                        let first = &buf.filled()[before..];
                        let preface = b"PRI * HTTP/2.0";
                        let n = first.len().min(preface.len());
                        this.h2 = first[..n] == preface[..n];
                    }
                    this.sync_head();
                    if !this.h2 && this.activity.idle() && this.head_since.is_none() {
                        this.head_since = Some(now);
                    }
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => this.poll_read_deadline(cx),
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for GuardedIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.poll_out(cx))?;
        if let Some(ours) = (!this.h2)
            .then(|| answer::replace_hypers_own(buf))
            .flatten()
        {
            this.out = Some((ours, 0));
            // The rest goes out on the next write, flush or shutdown.
            if let Poll::Ready(Err(e)) = this.poll_out(cx) {
                return Poll::Ready(Err(e));
            }
            return Poll::Ready(Ok(buf.len()));
        }
        match Pin::new(&mut this.inner).poll_write(cx, buf) {
            Poll::Ready(Ok(n)) => {
                this.last_io = Instant::now();
                this.stalled_since = None;
                Poll::Ready(Ok(n))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => this.poll_write_deadline(cx).map(Err),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_out(cx))?;
        match Pin::new(&mut this.inner).poll_flush(cx) {
            Poll::Pending => this.poll_write_deadline(cx).map(Err),
            done => {
                this.stalled_since = None;
                done
            }
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_out(cx))?;
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }

    /// Not vectored, so that hyper hands over each answer's head in one buffer (which the
    /// replacement of its own answers needs).
    fn is_write_vectored(&self) -> bool {
        false
    }
}
