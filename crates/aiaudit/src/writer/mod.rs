//! The writer: a two-stage pipeline per log. The sealer thread takes messages from the bounded
//! queue in batches, seals each event at its seq and adds it to the tree; the committer thread
//! signs the batch's checkpoint and commits entries, index, tree nodes and checkpoint in one
//! transaction, while the sealer already seals the next batch.
//!
//! Invariant: the sealer's tree equals the store's tree once every handed-over batch is
//! committed. A failed commit breaks that for good, so the writer poisons itself: from then on
//! every message is answered with the error and nothing more is written — a gap is never silent.

mod commit;
mod seal;

pub(crate) use seal::Writer;

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
    Batch(crate::submit::Submission),
}

/// State shared by the logger's handles and its writer.
#[derive(Default)]
pub(crate) struct Shared {
    pub(crate) poisoned: AtomicBool,
    pub(crate) poison_msg: Mutex<Option<String>>,
    pub(crate) committed: AtomicU64,
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
            *m = Some(msg);
        }
        self.poisoned.store(true, Ordering::SeqCst);
    }
}
