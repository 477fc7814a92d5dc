//! Batches submitted with callbacks, for services that answer each request with the seqs and
//! ids the writer assigned, without holding a thread while the batch is sealed and committed.
//!
//! A [`Submission`] is validated whole before any of it is queued (one bad event rejects the
//! batch, naming its index), sealed as one run of consecutive seqs, and committed in one
//! transaction with whatever else the writer batches alongside it.

use aiaudit_core::Event;
use std::time::Duration;

/// Where a submitted batch was sealed: its events hold seqs `first_seq ..` in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    /// The seq of the batch's first event; the others follow consecutively.
    pub first_seq: u64,
    /// The event ids (UUIDv7), in submission order.
    pub ids: Vec<String>,
}

/// Why a submitted batch was not sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotSealed {
    /// One event cannot be sealed (its record is over the size limit once redacted); nothing
    /// of the batch was written, and the log goes on.
    Rejected {
        /// The event's position in the batch.
        index: usize,
        /// Why.
        why: String,
    },
    /// The writer stopped (a failed write, or shutdown) before sealing the batch.
    Stopped(String),
}

impl std::fmt::Display for NotSealed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotSealed::Rejected { index, why } => write!(f, "event {index}: {why}"),
            NotSealed::Stopped(why) => f.write_str(why),
        }
    }
}

pub(crate) type SealedFn = Box<dyn FnOnce(std::result::Result<Sealed, NotSealed>) + Send>;
type CommittedFn = Box<dyn FnOnce(std::result::Result<u64, String>) + Send>;

/// A batch of events with what to call once it is sealed and once it is committed.
///
/// Every callback runs exactly once: with the outcome, or with an error if the writer stops
/// first. Callbacks run on the writer's threads and must be quick (send on a channel, say).
pub struct Submission {
    pub(crate) events: Vec<Event>,
    pub(crate) on_sealed: Option<SealedFn>,
    pub(crate) on_committed: Option<OnCommit>,
}

impl std::fmt::Debug for Submission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Submission")
            .field("events", &self.events.len())
            .finish_non_exhaustive()
    }
}

impl Submission {
    /// A batch of `events` (in the order they are to be sealed).
    pub fn new(events: Vec<Event>) -> Self {
        Submission {
            events,
            on_sealed: None,
            on_committed: None,
        }
    }

    /// Called with the seqs and ids once the batch is sealed (before it is committed).
    pub fn on_sealed(
        mut self,
        f: impl FnOnce(std::result::Result<Sealed, NotSealed>) + Send + 'static,
    ) -> Self {
        self.on_sealed = Some(Box::new(f));
        self
    }

    /// Called with the committed log size once the batch is durable.
    pub fn on_committed(
        mut self,
        f: impl FnOnce(std::result::Result<u64, String>) + Send + 'static,
    ) -> Self {
        self.on_committed = Some(OnCommit(Some(Box::new(f))));
        self
    }

    /// Number of events.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// True if the batch holds no event.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Answers both callbacks with `why` (the batch will not be written).
    pub(crate) fn fail(mut self, why: NotSealed) {
        let text = why.to_string();
        if let Some(f) = self.on_sealed.take() {
            f(Err(why));
        }
        if let Some(mut c) = self.on_committed.take() {
            c.call(Err(text));
        }
    }
}

impl Drop for Submission {
    fn drop(&mut self) {
        if let Some(f) = self.on_sealed.take() {
            f(Err(NotSealed::Stopped(
                "the writer stopped before sealing this batch".into(),
            )));
        }
    }
}

/// The commit callback, answered with an error if it is dropped unanswered.
pub(crate) struct OnCommit(Option<CommittedFn>);

impl OnCommit {
    pub(crate) fn call(&mut self, r: std::result::Result<u64, String>) {
        if let Some(f) = self.0.take() {
            f(r);
        }
    }
}

impl Drop for OnCommit {
    fn drop(&mut self) {
        self.call(Err("the writer stopped before committing this batch".into()));
    }
}

/// What the committer reports after each commit, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommitStats {
    /// Entries in the batch.
    pub entries: usize,
    /// The log size after it.
    pub size: u64,
    /// How long the transaction (append, checkpoint, fsync) took.
    pub elapsed: Duration,
}

/// Called after every commit, on the commit thread.
pub type CommitObserver = std::sync::Arc<dyn Fn(CommitStats) + Send + Sync>;
