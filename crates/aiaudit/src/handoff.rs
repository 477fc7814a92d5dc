//! What passes between a logger's handles and its writer threads: the messages of the queue,
//! the one-shot answers to them, and the state both sides read (poisoned, retrying, committed).

use aiaudit_core::Event;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};

/// A one-shot answer from the writer: the seq (for an event) or the committed size.
#[derive(Default)]
pub(crate) struct Ack {
    slot: Mutex<Option<Result<u64, String>>>,
    cv: Condvar,
}

impl Ack {
    pub(crate) fn new() -> Arc<Ack> {
        Arc::new(Ack::default())
    }

    fn set(&self, r: Result<u64, String>) {
        let mut slot = self.slot.lock().unwrap_or_else(|p| p.into_inner());
        *slot = Some(r);
        self.cv.notify_all();
    }

    /// Blocks until the writer answers. A writer that vanished without answering (it cannot,
    /// short of a panic) counts as a failure.
    pub(crate) fn wait(&self) -> Result<u64, String> {
        let mut slot = self.slot.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(r) = slot.take() {
                return r;
            }
            slot = self.cv.wait(slot).unwrap_or_else(|p| p.into_inner());
        }
    }
}

/// The writer's end of an [`Ack`]. Dropping it unanswered (a message dropped with the queue, or
/// a writer that unwound) answers with an error, so no caller waits forever.
pub(crate) struct Responder(Option<Arc<Ack>>);

impl Responder {
    pub(crate) fn new(ack: &Arc<Ack>) -> Self {
        Responder(Some(Arc::clone(ack)))
    }

    pub(crate) fn reply(mut self, r: Result<u64, String>) {
        if let Some(ack) = self.0.take() {
            ack.set(r);
        }
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        if let Some(ack) = self.0.take() {
            ack.set(Err("the writer stopped before committing this".into()));
        }
    }
}

/// What flows through the queue. Events travel inline: boxing them would add an allocation on
/// the caller's hot path and a cross-thread free on the writer's.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Msg {
    /// An event; the ack, when present, is answered with its seq after commit.
    Event(Event, Option<Responder>),
    /// Commit everything before this message, then answer with the committed size.
    Flush(Responder),
    /// Like `Flush`, then drain what is still queued and stop.
    Close(Responder),
    /// Erase a data subject: destroy its key after every event queued before this one is
    /// sealed (so none of them gets a new key), then seal the erasure event, with encryption
    /// off so that it cannot make the subject a new key; answered with its seq after commit.
    Forget(Event, Responder),
    /// A validated batch, sealed as consecutive seqs; its callbacks report the seal and commit.
    Batch(crate::submission::Submission),
}

/// What the writer is doing, as readiness probes and metrics report it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WriterState {
    /// Accepting and committing events.
    Running,
    /// A commit failed in a way that can pass (a full disk, a lost connection, a read-only
    /// remount): the writer keeps the batch and retries with backoff, and resumes by itself
    /// once the store accepts writes again. Nothing is acknowledged meanwhile.
    Retrying {
        /// The last failure.
        error: String,
        /// Since when (Unix ns).
        since_ns: i64,
    },
    /// Stopped for good: the store is damaged, a write failed for good, or the logger was
    /// closed during an outage. Every later call gets this error.
    Stopped {
        /// Why.
        error: String,
    },
}

impl WriterState {
    /// The state as a number, for a metrics gauge: 0 running, 1 retrying, 2 stopped.
    pub fn code(&self) -> u8 {
        match self {
            WriterState::Running => 0,
            WriterState::Retrying { .. } => 1,
            WriterState::Stopped { .. } => 2,
        }
    }
}

/// State shared by the logger's handles and its writer.
#[derive(Default)]
pub(crate) struct Shared {
    pub(crate) poisoned: AtomicBool,
    pub(crate) poison_msg: Mutex<Option<String>>,
    pub(crate) committed: AtomicU64,
    /// Set while a commit is being retried: the failure and since when.
    pub(crate) retrying: Mutex<Option<(String, i64)>>,
    /// Set once the logger is closing: an outage is then retried only a little longer.
    pub(crate) closing: AtomicBool,
    /// Events handed to the writer and not yet committed (for the error of a writer that
    /// stopped with some of them unwritten).
    pub(crate) pending: AtomicU64,
    /// How long an outage is ridden out (`None`: as long as it lasts).
    pub(crate) outage_limit: Option<std::time::Duration>,
}

impl Shared {
    pub(crate) fn poison_message(&self) -> String {
        self.poison_msg
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .unwrap_or_else(|| "unknown failure".into())
    }

    pub(crate) fn poison(&self, msg: String) {
        let mut m = self.poison_msg.lock().unwrap_or_else(|p| p.into_inner());
        if m.is_none() {
            tracing::error!(error = %msg, "audit log writer stopped");
            *m = Some(msg);
        }
        self.poisoned.store(true, Ordering::SeqCst);
        self.retrying
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
    }

    pub(crate) fn state(&self) -> WriterState {
        if self.poisoned.load(Ordering::SeqCst) {
            return WriterState::Stopped {
                error: self.poison_message(),
            };
        }
        match &*self.retrying.lock().unwrap_or_else(|p| p.into_inner()) {
            Some((error, since_ns)) => WriterState::Retrying {
                error: error.clone(),
                since_ns: *since_ns,
            },
            None => WriterState::Running,
        }
    }

    /// Records a failure that can pass; logged once when the outage starts.
    pub(crate) fn set_retrying(&self, error: String) {
        let mut r = self.retrying.lock().unwrap_or_else(|p| p.into_inner());
        match &mut *r {
            Some((e, _)) => *e = error,
            None => {
                tracing::warn!(error = %error, "audit log writer: commit failed, retrying until the store accepts writes again");
                *r = Some((error, aiaudit_core::timefmt::now_ns()));
            }
        }
    }

    /// The store accepts writes again.
    pub(crate) fn resume(&self) {
        if let Some((error, since)) = self
            .retrying
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            let secs = (aiaudit_core::timefmt::now_ns() - since) as f64 / 1e9;
            tracing::info!(after_s = secs, last_error = %error, "audit log writer resumed");
        }
    }
}
