//! The sealer: batches messages from the queue, seals each event at its seq, grows the tree,
//! and hands each batch to the committer.

use aiaudit_core::redact::{Redactor, SubjectKeys};
use aiaudit_core::{
    CompactRange, CompletedNode, Event, NODE_STRIDE, NoteSigner, Source, Store, StoredEntry, seal,
    timefmt,
};
use aiaudit_sqlite::SubjectKeyFile;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{SyncSender, TrySendError, sync_channel};

use super::commit::{Committer, Staged};
use crate::handoff::{Msg, Shared};
use crate::ids::IdGen;
use crate::queue::Queue;

pub(crate) struct Writer {
    committer: Option<Committer>,
    range: CompactRange,
    queue: Arc<Queue>,
    shared: Arc<Shared>,
    batch_size: usize,
    /// Host, pid and process of this process, for events that do not name their own.
    source: Source,
    ids: IdGen,
    staged: Staged,
    /// The redaction policy, applied before sealing (`None`: off), with the subject key file
    /// when the policy encrypts.
    redactor: Option<(Arc<Redactor>, Option<Arc<SubjectKeyFile>>)>,
    /// The subject key file's path, for erasures when this logger's policy does not encrypt.
    keys_path: std::path::PathBuf,
    /// Other writers append to the store too ([`Store::shared`]): seqs are final at commit.
    shared_store: bool,
}

fn empty_batch(size: u64) -> Staged {
    Staged {
        entries: Vec::new(),
        nodes: Vec::new(),
        size,
        root: [0; 32],
        waiting: Vec::new(),
        barriers: Vec::new(),
        callbacks: Vec::new(),
        sealed: Vec::new(),
    }
}

impl Writer {
    // Each part of the writer is moved in once, here.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        store: Box<dyn Store>,
        signers: Vec<NoteSigner>,
        range: CompactRange,
        queue: Arc<Queue>,
        shared: Arc<Shared>,
        batch_size: usize,
        source: Source,
        redactor: Option<(Arc<Redactor>, Option<Arc<SubjectKeyFile>>)>,
        keys_path: std::path::PathBuf,
        observer: Option<crate::submission::CommitObserver>,
    ) -> Self {
        let size = range.size();
        let shared_store = store.shared();
        Writer {
            shared_store,
            committer: Some(Committer {
                store,
                signers,
                shared: Arc::clone(&shared),
                observer,
            }),
            range,
            queue,
            shared,
            batch_size: batch_size.max(1),
            source,
            ids: IdGen::new(),
            staged: empty_batch(size),
            redactor,
            keys_path,
        }
    }

    /// The sealer thread's body. Starts the committer, then batches, seals and hands over until
    /// closed; returns once the committer has committed everything.
    pub(crate) fn run(mut self) {
        self.queue.register_writer();
        // One batch commits while the next is sealed; a third waits at most.
        let (to_committer, batches) = sync_channel::<Staged>(1);
        let committer = self.committer.take();
        let handle = std::thread::Builder::new()
            .name("aiaudit-commit".into())
            .spawn(move || {
                if let Some(c) = committer {
                    c.run(batches);
                }
            });
        let Ok(handle) = handle else {
            self.shared.poison("cannot start the commit thread".into());
            // Unanswered responders answer with an error as they drop.
            return;
        };
        let mut msgs = Vec::with_capacity(self.batch_size);
        loop {
            // While a sealed batch waits for the committer, keep sealing what arrives (callers
            // waiting only for their seal are answered at once) and offer the batch again soon.
            let pending = !self.staged_is_empty();
            let wait = pending.then_some(std::time::Duration::from_micros(500));
            self.queue.pop_batch(&mut msgs, self.batch_size, wait);
            let mut closing = false;
            for m in msgs.drain(..) {
                closing |= self.handle(m);
            }
            // A commit holds at most `batch_size` events (a submitted batch is never split):
            // once that many are staged, wait for the committer, which is also the backpressure.
            let full = self.staged.entries.len() >= self.batch_size;
            self.hand_over(&to_committer, closing || full);
            if closing {
                break;
            }
        }
        // Events a caller sent before `close` marked the logger closed may still be queued.
        while let Some(m) = self.queue.try_pop() {
            self.handle(m);
            if self.staged.entries.len() >= self.batch_size {
                self.hand_over(&to_committer, true);
            }
        }
        self.hand_over(&to_committer, true);
        drop(to_committer);
        let _ = handle.join();
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
                            self.staged.waiting.push((ack, seq));
                        }
                    }
                    // Nothing was added: a caller waiting for the event gets the error. One that
                    // is not waiting would never learn of it, so the writer stops loudly rather
                    // than leave a silent gap (validation on the caller's thread makes this
                    // rare: only a record pushed past the size limit by redaction).
                    Err(e) => match ack {
                        Some(ack) => ack.reply(Err(format!("sealing failed: {e}"))),
                        None => self.shared.poison(format!("sealing failed: {e}")),
                    },
                }
                false
            }
            Msg::Batch(sub) => self.stage_batch(sub),
            Msg::Flush(ack) => {
                self.staged.barriers.push(ack);
                false
            }
            Msg::Close(ack) => {
                self.staged.barriers.push(ack);
                true
            }
            Msg::Forget(mut event, ack) => {
                if self.shared.poisoned.load(Ordering::SeqCst) {
                    ack.reply(Err(self.shared.poison_message()));
                    return false;
                }
                let subject = event.subject.clone().unwrap_or_default();
                let existed = match self.destroy_key(&subject) {
                    Ok(e) => e,
                    Err(e) => {
                        ack.reply(Err(format!("destroying the key of {subject:?}: {e}")));
                        return false;
                    }
                };
                event
                    .details
                    .insert("key_destroyed".into(), serde_json::Value::Bool(existed));
                match self.stage_with(event, false) {
                    Ok(seq) => self.staged.waiting.push((ack, seq)),
                    Err(e) => {
                        let msg = format!("sealing failed: {e}");
                        self.shared.poison(msg.clone());
                        ack.reply(Err(msg));
                    }
                }
                false
            }
        }
    }

    /// Seals a submitted batch as consecutive seqs and answers its seal callback at once. Every
    /// event is sealed before any joins the tree: one that cannot be sealed (over the record
    /// size limit after redaction) refuses the whole submission and leaves the log untouched.
    fn stage_batch(&mut self, mut sub: crate::submission::Submission) -> bool {
        if self.shared.poisoned.load(Ordering::SeqCst) {
            sub.fail(crate::submission::NotSealed::Stopped(
                self.shared.poison_message(),
            ));
            return false;
        }
        let first_seq = self.range.size();
        let events = std::mem::take(&mut sub.events);
        let mut prepared = Vec::with_capacity(events.len());
        for (i, event) in events.into_iter().enumerate() {
            match self.prepare(event, first_seq + i as u64, true) {
                Ok(entry) => prepared.push(entry),
                Err(e) => {
                    sub.fail(crate::submission::NotSealed::Rejected {
                        index: i,
                        why: e.to_string(),
                    });
                    return false;
                }
            }
        }
        let ids = prepared.iter().map(|e| e.id.clone()).collect();
        for entry in prepared {
            self.append(entry);
        }
        if let Some(c) = sub.on_committed.take() {
            self.staged.callbacks.push(c);
        }
        if let Some(f) = sub.on_sealed.take() {
            if self.shared_store {
                // Another writer may take these seqs first: the answer waits for the commit.
                self.staged.sealed.push((f, first_seq, ids));
            } else {
                f(Ok(crate::submission::Sealed { first_seq, ids }));
            }
        }
        false
    }

    /// Destroys `subject`'s key in the subject key file (the writer's own, or the file beside
    /// the log if this logger's policy does not encrypt); false if there was none.
    fn destroy_key(&self, subject: &str) -> Result<bool, aiaudit_sqlite::Error> {
        if let Some((_, Some(keys))) = &self.redactor {
            return keys.destroy(subject);
        }
        if !self.keys_path.exists() {
            return Ok(false);
        }
        SubjectKeyFile::open(&self.keys_path, false)?.destroy(subject)
    }

    /// Seals `event` at the next seq and adds it to the tree; returns the seq.
    fn stage(&mut self, event: Event) -> aiaudit_core::Result<u64> {
        self.stage_with(event, true)
    }

    /// [`Writer::stage`]; without `encrypt`, the policy's `encrypt` masks instead.
    fn stage_with(&mut self, event: Event, encrypt: bool) -> aiaudit_core::Result<u64> {
        let seq = self.range.size();
        let entry = self.prepare(event, seq, encrypt)?;
        self.append(entry);
        Ok(seq)
    }

    /// Redacts and seals `event` at `seq` without touching the tree or the staged batch, so
    /// that a failure (a record over the size limit) leaves the writer as it was.
    fn prepare(
        &mut self,
        mut event: Event,
        seq: u64,
        encrypt: bool,
    ) -> aiaudit_core::Result<StoredEntry> {
        // A key change holds only public keys and signatures, checked byte for byte, and an
        // archive event file names and hashes: only the logger's own path (which refuses both
        // types from callers) brings one here.
        if let Some((r, keys)) = &self.redactor
            && event.kind != aiaudit_core::keys::KEY_EVENT_TYPE
            && event.kind != aiaudit_core::archive::ARCHIVE_EVENT_TYPE
        {
            let keys = keys.as_deref().map(|k| k as &dyn SubjectKeys);
            let ip = event.actor.as_mut().and_then(|a| a.ip.as_mut());
            let subject = event.subject.as_deref().filter(|_| encrypt);
            event.redactions =
                r.redact_event(&mut event.name, &mut event.details, ip, subject, keys);
        }
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
        let mut id_buf = [0u8; uuid::fmt::Hyphenated::LENGTH];
        let id = self
            .ids
            .next(time_ns)
            .hyphenated()
            .encode_lower(&mut id_buf)
            .to_owned();
        // Room for a typical record, so that sealing does not reallocate as it writes.
        let mut data = Vec::with_capacity(768 + 64 * event.details.len() + event.name.len());
        seal(&event, seq, &id, time_ns, &mut data)?;
        Ok(StoredEntry::sealed(event, seq, id, time_ns, data))
    }

    /// Adds a prepared entry (at the next seq) to the tree and the staged batch.
    fn append(&mut self, entry: StoredEntry) {
        let nodes: &mut Vec<CompletedNode> = &mut self.staged.nodes;
        self.range.append(entry.leaf_hash, |n| {
            if n.level > 0 && n.level % NODE_STRIDE == 0 {
                nodes.push(n);
            }
        });
        self.staged.entries.push(entry);
    }

    fn staged_is_empty(&self) -> bool {
        self.staged.entries.is_empty()
            && self.staged.barriers.is_empty()
            && self.staged.callbacks.is_empty()
            && self.staged.sealed.is_empty()
    }

    /// Hands the staged batch (and any barriers) to the committer; unless `wait`, only if the
    /// committer can take it now (otherwise it stays staged and grows).
    fn hand_over(&mut self, to_committer: &SyncSender<Staged>, wait: bool) {
        if self.staged_is_empty() {
            return;
        }
        let size = self.range.size();
        let mut batch = std::mem::replace(&mut self.staged, empty_batch(size));
        batch.size = size;
        batch.root = self.range.root();
        // Counted before the committer can see the batch (and subtract it once committed).
        let n = batch.entries.len() as u64;
        self.shared
            .pending
            .fetch_add(n, std::sync::atomic::Ordering::SeqCst);
        let sent = if wait {
            to_committer
                .send(batch)
                .map_err(|e| TrySendError::Disconnected(e.0))
        } else {
            to_committer.try_send(batch)
        };
        match sent {
            Ok(()) => {}
            Err(TrySendError::Full(back)) => {
                self.shared
                    .pending
                    .fetch_sub(n, std::sync::atomic::Ordering::SeqCst);
                self.staged = back;
            }
            Err(TrySendError::Disconnected(back)) => {
                // The committer is gone (it cannot be, short of a panic): answer everyone.
                self.shared.poison("the commit thread stopped".into());
                drop(back);
            }
        }
    }
}
