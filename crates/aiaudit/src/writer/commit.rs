//! The committer: signs each staged batch's checkpoint and appends the batch in one transaction,
//! then answers the callers waiting on it.

use aiaudit_core::{
    AppendBatch, Checkpoint, CompactRange, Failure, NODE_STRIDE, NodeSource, NoteSigner, Rebase,
    Store, StoredCheckpoint, leaf_hash, reseal, timefmt,
};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

/// The longest wait between two attempts at a commit.
const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// How long an outage is still retried once the logger is closing.
const CLOSE_GRACE: Duration = Duration::from_secs(3);

use crate::handoff::{Responder, Shared};

/// A batch the sealer has sealed, for the committer to make durable.
pub(crate) struct Staged {
    pub(crate) entries: Vec<aiaudit_core::StoredEntry>,
    pub(crate) nodes: Vec<aiaudit_core::CompletedNode>,
    /// Tree size and root after this batch.
    pub(crate) size: u64,
    pub(crate) root: aiaudit_core::Hash,
    /// Sync callers, answered with their seq once committed.
    pub(crate) waiting: Vec<(Responder, u64)>,
    /// Flush and close requests that came after these entries, answered with the size.
    pub(crate) barriers: Vec<Responder>,
    /// Submitted batches' commit callbacks, answered with the size.
    pub(crate) callbacks: Vec<crate::submission::OnCommit>,
    /// On a shared store, submitted batches' seal callbacks with their first seq and ids as
    /// sealed: answered at commit, with the seqs the batch finally took.
    pub(crate) sealed: Vec<(crate::submission::SealedFn, u64, Vec<String>)>,
}

pub(crate) struct Committer {
    pub(crate) store: Box<dyn Store>,
    /// Every key the log signs with now (two during a key transition); never empty.
    pub(crate) signers: Vec<NoteSigner>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) observer: Option<crate::submission::CommitObserver>,
}

impl Committer {
    /// Commits batches until the sealer hangs up.
    pub(crate) fn run(mut self, batches: Receiver<Staged>) {
        for b in batches {
            self.commit(b);
        }
    }

    fn commit(&mut self, mut b: Staged) {
        // Where the sealer put the batch; a shared store may have moved it (`moved` below).
        let sealed_first = b.entries.first().map_or(0, |e| e.seq);
        let result = if b.entries.is_empty() {
            self.status()
        } else if self.shared.poisoned.load(Ordering::SeqCst) {
            // A batch after a failed one would leave a gap: never write it.
            Err(self.shared.poison_message())
        } else {
            let started = std::time::Instant::now();
            match self.write_until_durable(&mut b) {
                Ok(()) => {
                    self.shared.committed.store(b.size, Ordering::SeqCst);
                    self.shared
                        .pending
                        .fetch_sub(b.entries.len() as u64, Ordering::SeqCst);
                    if let Some(observe) = &self.observer {
                        observe(crate::submission::CommitStats {
                            entries: b.entries.len(),
                            size: b.size,
                            elapsed: started.elapsed(),
                        });
                    }
                    Ok(b.size)
                }
                Err(msg) => {
                    self.shared.poison(msg.clone());
                    Err(msg)
                }
            }
        };
        let first = b.entries.first().map_or(0, |e| e.seq);
        let moved = |seq: u64| first + (seq - sealed_first);
        for (r, seq) in b.waiting {
            r.reply(result.clone().map(|_| moved(seq)));
        }
        for (f, seq, ids) in b.sealed {
            f(match &result {
                Ok(_) => Ok(crate::submission::Sealed {
                    first_seq: moved(seq),
                    ids,
                }),
                Err(e) => Err(crate::submission::NotSealed::Stopped(e.clone())),
            });
        }
        for mut c in b.callbacks {
            c.call(result.clone());
        }
        for r in b.barriers {
            r.reply(self.status());
        }
    }

    fn status(&self) -> Result<u64, String> {
        if self.shared.poisoned.load(Ordering::SeqCst) {
            Err(self.shared.poison_message())
        } else {
            Ok(self.shared.committed.load(Ordering::SeqCst))
        }
    }

    /// Appends the batch, riding out failures that can pass: the batch is kept and retried
    /// with backoff (after [`Store::recover`]) until the store takes it, so that the sealer's
    /// tree and the store's stay one. Before each retry the store's size says where the last
    /// attempt left it: at the batch's start (retry), or past it (that attempt committed and
    /// only its answer was lost). Damage, anything else the store cannot explain, and an outage
    /// that outlasts a close by [`CLOSE_GRACE`] end the writer with a message saying why.
    fn write_until_durable(&mut self, b: &mut Staged) -> Result<(), String> {
        let first = b.entries.first().map_or(0, |e| e.seq);
        let shared_store = self.store.shared();
        let mut wait = Duration::from_millis(20);
        let mut deadline: Option<Instant> = None;
        let mut outage_start: Option<Instant> = None;
        loop {
            let e = match self.write(b) {
                Ok(()) => {
                    if outage_start.is_some() {
                        self.shared.resume();
                    }
                    return Ok(());
                }
                Err(e) => e,
            };
            match self.store.classify(&e) {
                Failure::Transient => {}
                Failure::Damage => {
                    return Err(format!(
                        "{e}: the store reports damage, so the writer stopped before writing or signing anything over it; run `aiaudit verify` on the log"
                    ));
                }
                _ => return Err(format!("commit failed: {e}")),
            }
            let started = *outage_start.get_or_insert_with(Instant::now);
            if self
                .shared
                .outage_limit
                .is_some_and(|limit| started.elapsed() >= limit)
            {
                return Err(format!(
                    "the store kept failing for {:.0} s ({e}): {} events were not committed",
                    started.elapsed().as_secs_f64(),
                    self.shared.pending.load(Ordering::SeqCst)
                ));
            }
            self.shared.set_retrying(e.to_string());
            if self.shared.closing.load(Ordering::SeqCst) {
                let d = *deadline.get_or_insert_with(|| Instant::now() + CLOSE_GRACE);
                if Instant::now() >= d {
                    return Err(format!(
                        "the store is still failing ({e}) and the logger was closed"
                    ));
                }
            }
            std::thread::sleep(wait);
            wait = (wait * 2).min(MAX_BACKOFF);
            if self.store.recover().is_err() {
                continue;
            }
            // A store with one writer tells where the failed attempt left it; a shared store
            // re-seals at its head and recognises its own commit in `append_rebased`.
            if !shared_store {
                match self.store.size() {
                    Ok(size) if size == first => {}
                    Ok(size) if size == b.size => {
                        let same = self
                            .store
                            .latest_checkpoint()
                            .ok()
                            .flatten()
                            .is_some_and(|cp| cp.size == b.size && cp.root == b.root);
                        if same {
                            self.shared.resume();
                            return Ok(());
                        }
                        return Err(format!(
                            "the store holds {size} entries after a failed commit, but not this batch's checkpoint; run `aiaudit verify` on the log"
                        ));
                    }
                    Ok(size) => {
                        return Err(format!(
                            "the store holds {size} entries after a failed commit of entries {first}..{}; run `aiaudit verify` on the log",
                            b.size
                        ));
                    }
                    Err(_) => {}
                }
            }
        }
    }

    fn write(&mut self, b: &mut Staged) -> aiaudit_core::Result<()> {
        let checkpoint = sign(&self.signers, b.size, b.root)?;
        let mut pending = Pending {
            staged: b,
            signers: &self.signers,
            checkpoint,
        };
        self.store.append_rebased(&mut pending)
    }
}

fn sign(
    signers: &[NoteSigner],
    size: u64,
    root: aiaudit_core::Hash,
) -> aiaudit_core::Result<StoredCheckpoint> {
    let origin = signers
        .first()
        .ok_or_else(|| aiaudit_core::Error::Key("the writer holds no signing key".into()))?
        .name();
    let cp = Checkpoint {
        origin: origin.to_owned(),
        size,
        root,
    };
    Ok(StoredCheckpoint {
        size,
        root,
        note: cp.sign_all(signers)?,
        time_ns: timefmt::now_ns(),
    })
}

/// A staged batch with its checkpoint, as the store appends it: on a shared store whose head
/// another writer moved, re-sealed at the head first.
struct Pending<'a> {
    staged: &'a mut Staged,
    signers: &'a [NoteSigner],
    checkpoint: StoredCheckpoint,
}

impl Rebase for Pending<'_> {
    fn batch(&self) -> AppendBatch<'_> {
        AppendBatch {
            entries: &self.staged.entries,
            nodes: &self.staged.nodes,
            checkpoint: &self.checkpoint,
        }
    }

    fn rebase(&mut self, size: u64, tree: &dyn NodeSource) -> aiaudit_core::Result<()> {
        let mut range = CompactRange::from_source(size, tree)?;
        let mut nodes = Vec::new();
        for (i, e) in self.staged.entries.iter_mut().enumerate() {
            let seq = size + i as u64;
            e.data = reseal(&e.data, seq)?;
            e.seq = seq;
            e.leaf_hash = leaf_hash(&e.data);
            range.append(e.leaf_hash, |n| {
                if n.level > 0 && n.level % NODE_STRIDE == 0 {
                    nodes.push(n);
                }
            });
        }
        self.staged.nodes = nodes;
        self.staged.size = range.size();
        self.staged.root = range.root();
        self.checkpoint = sign(self.signers, self.staged.size, self.staged.root)?;
        Ok(())
    }
}
