//! The committer: signs each staged batch's checkpoint and appends the batch in one transaction,
//! then answers the callers waiting on it.

use aiaudit_core::{AppendBatch, Checkpoint, NoteSigner, Store, StoredCheckpoint, timefmt};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::Receiver;

use super::{Responder, Shared};

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
    pub(crate) callbacks: Vec<crate::submit::OnCommit>,
}

pub(crate) struct Committer {
    pub(crate) store: Box<dyn Store>,
    pub(crate) signer: NoteSigner,
    pub(crate) shared: Arc<Shared>,
    pub(crate) observer: Option<crate::submit::CommitObserver>,
}

impl Committer {
    /// Commits batches until the sealer hangs up.
    pub(crate) fn run(mut self, batches: Receiver<Staged>) {
        for b in batches {
            self.commit(b);
        }
    }

    fn commit(&mut self, b: Staged) {
        let result = if b.entries.is_empty() {
            self.status()
        } else if self.shared.poisoned.load(Ordering::SeqCst) {
            // A batch after a failed one would leave a gap: never write it.
            Err(self.shared.poison_message())
        } else {
            let started = std::time::Instant::now();
            match self.write(&b) {
                Ok(()) => {
                    self.shared.committed.store(b.size, Ordering::SeqCst);
                    if let Some(observe) = &self.observer {
                        observe(crate::submit::CommitStats {
                            entries: b.entries.len(),
                            size: b.size,
                            elapsed: started.elapsed(),
                        });
                    }
                    Ok(b.size)
                }
                Err(e) => {
                    let msg = format!("commit failed: {e}");
                    self.shared.poison(msg.clone());
                    Err(msg)
                }
            }
        };
        for (r, seq) in b.waiting {
            r.reply(result.clone().map(|_| seq));
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

    fn write(&mut self, b: &Staged) -> aiaudit_core::Result<()> {
        let cp = Checkpoint {
            origin: self.signer.name().to_owned(),
            size: b.size,
            root: b.root,
        };
        let checkpoint = StoredCheckpoint {
            size: b.size,
            root: b.root,
            note: cp.sign(&self.signer)?,
            time_ns: timefmt::now_ns(),
        };
        self.store.append(AppendBatch {
            entries: &b.entries,
            nodes: &b.nodes,
            checkpoint: &checkpoint,
        })
    }
}
