//! The writer: one thread per log. It takes messages from the bounded queue in batches, seals
//! each event at its seq, and commits the batch with its signed checkpoint in one transaction.
//!
//! Invariant: `range` (the in-memory tree) equals the store's tree after every successful commit.
//! A failed commit leaves them apart, so the writer poisons itself: from then on every message is
//! answered with the error and nothing more is written — a gap is never silent.

use aiaudit_core::{
    AppendBatch, Checkpoint, CompactRange, CompletedNode, Event, NODE_STRIDE, NoteSigner, Source,
    Store, StoredCheckpoint, StoredEntry, leaf_hash, seal, timefmt,
};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use crate::ids::IdGen;
use crate::queue::Queue;

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

    fn reply(mut self, r: Result<u64, String>) {
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

    fn poison(&self, msg: String) {
        let mut m = self.poison_msg.lock().unwrap_or_else(|p| p.into_inner());
        if m.is_none() {
            *m = Some(msg);
        }
        self.poisoned.store(true, Ordering::SeqCst);
    }
}

pub(crate) struct Writer {
    pub(crate) store: Box<dyn Store>,
    pub(crate) signer: NoteSigner,
    pub(crate) range: CompactRange,
    pub(crate) queue: Arc<Queue>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) batch_size: usize,
    /// Host, pid and process of this process, for events that do not name their own.
    source: Source,
    ids: IdGen,
    entries: Vec<StoredEntry>,
    nodes: Vec<CompletedNode>,
    waiting: Vec<(Responder, u64)>,
}

impl Writer {
    pub(crate) fn new(
        store: Box<dyn Store>,
        signer: NoteSigner,
        range: CompactRange,
        queue: Arc<Queue>,
        shared: Arc<Shared>,
        batch_size: usize,
        source: Source,
    ) -> Self {
        Writer {
            store,
            signer,
            range,
            queue,
            shared,
            batch_size: batch_size.max(1),
            source,
            ids: IdGen::new(),
            entries: Vec::new(),
            nodes: Vec::new(),
            waiting: Vec::new(),
        }
    }

    /// The writer thread's body: batch, seal, commit, until closed.
    pub(crate) fn run(mut self) {
        self.queue.register_writer();
        let mut msgs = Vec::with_capacity(self.batch_size);
        loop {
            self.queue.pop_batch(&mut msgs, self.batch_size);
            let mut closing = false;
            for m in msgs.drain(..) {
                closing |= self.handle(m);
            }
            self.commit();
            if closing {
                break;
            }
        }
        // Events a caller sent before `close` marked the logger closed may still be queued.
        while let Some(m) = self.queue.try_pop() {
            self.handle(m);
            if self.entries.len() >= self.batch_size {
                self.commit();
            }
        }
        self.commit();
    }

    /// Handles one message; returns true for `Close`.
    fn handle(&mut self, msg: Msg) -> bool {
        match msg {
            Msg::Event(event, ack) => {
                if self.shared.poisoned.load(Ordering::SeqCst) {
                    if let Some(ack) = ack {
                        ack.reply(Err(self.shared.poison_message()));
                    }
                    return false;
                }
                match self.stage(event) {
                    Ok(seq) => {
                        if let Some(ack) = ack {
                            self.waiting.push((ack, seq));
                        }
                    }
                    Err(e) => {
                        // The tree may already hold part of this event: stop, loudly.
                        let msg = format!("sealing failed: {e}");
                        self.fail(msg.clone());
                        if let Some(ack) = ack {
                            ack.reply(Err(msg));
                        }
                    }
                }
                false
            }
            Msg::Flush(ack) => {
                self.commit();
                ack.reply(self.status());
                false
            }
            Msg::Close(ack) => {
                self.commit();
                ack.reply(self.status());
                true
            }
        }
    }

    fn status(&self) -> Result<u64, String> {
        if self.shared.poisoned.load(Ordering::SeqCst) {
            Err(self.shared.poison_message())
        } else {
            Ok(self.range.size())
        }
    }

    /// Seals `event` at the next seq and adds it to the tree; returns the seq.
    fn stage(&mut self, mut event: Event) -> aiaudit_core::Result<u64> {
        let seq = self.range.size();
        let s = &mut event.source;
        if s.host.is_none() {
            s.host.clone_from(&self.source.host);
        }
        if s.pid.is_none() {
            s.pid = self.source.pid;
        }
        if s.process.is_none() {
            s.process.clone_from(&self.source.process);
        }
        let time_ns = self.ids.time(timefmt::now_ns());
        let id = self.ids.next(time_ns).hyphenated().to_string();
        let mut data = Vec::with_capacity(256 + 32 * event.details.len());
        seal(&event, seq, &id, time_ns, &mut data)?;
        let leaf = leaf_hash(&data);
        let nodes = &mut self.nodes;
        self.range.append(leaf, |n| {
            if n.level > 0 && n.level % NODE_STRIDE == 0 {
                nodes.push(n);
            }
        });
        let (op_id, op_name) = event
            .operation
            .take()
            .map_or((None, None), |o| (o.id, o.name));
        self.entries.push(StoredEntry {
            seq,
            id,
            time_ns,
            kind: event.kind.into_owned(),
            status: event.status.as_str().to_owned(),
            model: event.model.take().map(|m| m.name),
            user: event.actor.take().and_then(|a| a.user),
            op_id,
            op_name,
            subject: event.subject.take(),
            leaf_hash: leaf,
            data,
        });
        Ok(seq)
    }

    /// Commits the staged entries with a checkpoint over the new size, then answers the waiters.
    fn commit(&mut self) {
        if self.entries.is_empty() {
            return;
        }
        let result = if self.shared.poisoned.load(Ordering::SeqCst) {
            Err(self.shared.poison_message())
        } else {
            self.write_batch().map_err(|e| {
                let msg = format!("commit failed: {e}");
                self.fail(msg.clone());
                msg
            })
        };
        if result.is_ok() {
            self.shared
                .committed
                .store(self.range.size(), Ordering::SeqCst);
        }
        for (ack, seq) in self.waiting.drain(..) {
            ack.reply(result.clone().map(|()| seq));
        }
        self.entries.clear();
        self.nodes.clear();
    }

    fn write_batch(&mut self) -> aiaudit_core::Result<()> {
        let cp = Checkpoint {
            origin: self.signer.name().to_owned(),
            size: self.range.size(),
            root: self.range.root(),
        };
        let checkpoint = StoredCheckpoint {
            size: cp.size,
            root: cp.root,
            note: cp.sign(&self.signer)?,
            time_ns: timefmt::now_ns(),
        };
        self.store.append(AppendBatch {
            entries: &self.entries,
            nodes: &self.nodes,
            checkpoint: &checkpoint,
        })
    }

    fn fail(&mut self, msg: String) {
        self.shared.poison(msg);
    }
}
