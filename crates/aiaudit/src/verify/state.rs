//! The verifier's state as entries arrive in seq order: the rebuilt tree, the signed
//! checkpoints it must meet, the stored nodes, query index and summaries it must match.

use aiaudit_core::{
    Checkpoint, CompactRange, CompletedNode, Hash, NODE_STRIDE, Store, StoredEntry,
};

use super::summaries::{Piece, SummaryCheck};
use super::{Finding, Trust, VerifyReport};
use crate::error::Result;

/// Stored nodes are compared in runs of this many, with one range read per level.
const NODE_CHUNK: usize = 4096;
/// Verification stops collecting after this many findings.
const MAX_FINDINGS: usize = 100;

pub(super) struct Verifier<'a> {
    store: &'a dyn Store,
    trust: Trust,
    report: VerifyReport,
    /// (size, root) of every checkpoint whose signature and stored root agree, by size.
    signed: Vec<(u64, Hash)>,
    next_cp: usize,
    /// The largest signed size whose root matched the rebuilt tree.
    last_good: u64,
    against: Option<Checkpoint>,
    tree: CompactRange,
    /// False once entries are missing or duplicated: roots past that point prove nothing new.
    tree_trusted: bool,
    pending: Vec<CompletedNode>,
    expected: u64,
    uncovered_reported: bool,
    /// The entries since the last batch boundary, for the query index check.
    batch_start: u64,
    batch: Vec<StoredEntry>,
    summaries: SummaryCheck,
    /// The open batch began in the archived prefix, whose records were not read: its query
    /// index cannot be compared.
    batch_partial: bool,
}

impl<'a> Verifier<'a> {
    /// Reads and checks every stored checkpoint.
    pub(super) fn new(
        store: &'a dyn Store,
        trust: Trust,
        against: Option<Checkpoint>,
    ) -> Result<Self> {
        let mut v = Verifier {
            store,
            trust,
            report: VerifyReport {
                against: against.clone(),
                ..VerifyReport::default()
            },
            signed: Vec::new(),
            next_cp: 0,
            last_good: 0,
            against,
            tree: CompactRange::new(),
            tree_trusted: true,
            pending: Vec::new(),
            expected: 0,
            uncovered_reported: false,
            batch_start: 0,
            batch: Vec::new(),
            summaries: SummaryCheck::new(store)?,
            batch_partial: false,
        };
        let mut bad = Vec::new();
        let mut prev_size = 0u64;
        let (trust, signed) = (&v.trust, &mut v.signed);
        store.checkpoints(&mut |cp| {
            // A bad checkpoint leaves the entries it alone covered without a valid signature.
            let covers_from = prev_size;
            prev_size = cp.size;
            match trust.open(&cp.note) {
                Ok(c) if c.size == cp.size && c.root == cp.root => signed.push((c.size, c.root)),
                Ok(c) => bad.push((
                    covers_from,
                    format!(
                        "checkpoint row for size {} holds a note signed for size {} with another root",
                        cp.size, c.size
                    ),
                )),
                Err(e) => bad.push((
                    covers_from,
                    format!("checkpoint for size {} is forged or damaged: {e}", cp.size),
                )),
            }
            Ok(true)
        })?;
        for (from, msg) in bad {
            v.find(Some(from), msg);
        }
        v.report.checkpoints = v.signed.len() as u64;
        v.check_roots();
        Ok(v)
    }

    pub(super) fn entries(&self) -> u64 {
        self.report.entries
    }

    /// Entries below this have stored summaries to check.
    pub(super) fn summarized(&self) -> u64 {
        self.summaries.covered()
    }

    /// Takes a piece of a bundle's summary, rebuilt from its records.
    pub(super) fn summary_piece(&mut self, p: Piece) {
        self.summaries.add(p);
    }

    fn latest_signed(&self) -> u64 {
        self.signed.last().map_or(0, |s| s.0)
    }

    pub(super) fn find(&mut self, seq: Option<u64>, message: String) {
        self.push(Finding {
            seq,
            range_end: None,
            message,
        });
    }

    pub(super) fn find_range(&mut self, start: u64, end: u64, message: String) {
        self.push(Finding {
            seq: Some(start),
            range_end: Some(end),
            message,
        });
    }

    fn push(&mut self, f: Finding) {
        if self.report.findings.len() < MAX_FINDINGS {
            self.report.findings.push(f);
        }
    }

    /// Takes the next entry in seq order, with its recomputed leaf and its own problems.
    pub(super) fn process(
        &mut self,
        e: StoredEntry,
        leaf: Hash,
        problems: Vec<String>,
    ) -> aiaudit_core::Result<()> {
        if e.seq != self.expected {
            if e.seq > self.expected {
                let missing = self.expected;
                self.find(Some(missing), format!("seq {missing} is missing (deleted)"));
            } else {
                self.find(Some(e.seq), format!("seq {} appears twice", e.seq));
            }
            self.tree_trusted = false;
            self.expected = e.seq;
        }
        self.expected += 1;
        for p in problems {
            self.find(Some(e.seq), p);
        }
        let seq = e.seq;
        if self.tree_trusted {
            self.append_leaf(leaf);
            if let Some((from, to, problem)) = self.summaries.take(self.store, &e)? {
                self.find_range(from, to, problem);
            }
            self.batch.push(e);
            if self.check_roots() {
                if !self.batch_partial
                    && let Some(problem) = self.store.check_index(self.batch_start, &self.batch)?
                {
                    self.find_range(self.batch_start, self.tree.size(), problem);
                }
                self.batch_partial = false;
                self.batch_start = self.tree.size();
                self.batch.clear();
            }
        }
        if seq >= self.latest_signed() && !self.uncovered_reported {
            self.uncovered_reported = true;
            self.find(
                Some(seq),
                format!("seq {seq} and after are not covered by any signed checkpoint (appended without the key)"),
            );
        }
        self.report.entries += 1;
        Ok(())
    }

    /// Adds `leaf` to the rebuilt tree, queueing the stored-level nodes it completes for
    /// comparison with the stored ones.
    fn append_leaf(&mut self, leaf: Hash) {
        let pending = &mut self.pending;
        self.tree.append(leaf, |n| {
            if n.level > 0 && n.level % NODE_STRIDE == 0 {
                pending.push(n);
            }
        });
        if self.pending.len() >= NODE_CHUNK {
            self.check_nodes();
        }
    }

    /// Takes archived seq `seq` by its stored leaf hash, its record unread (`verify` without
    /// `--archive`): the tree, the checkpoints and the stored nodes over it are still checked.
    pub(super) fn archived_leaf(&mut self, seq: u64, leaf: Hash) {
        self.expected = seq + 1;
        if self.tree_trusted {
            self.append_leaf(leaf);
            self.batch_partial = true;
            if self.check_roots() {
                self.batch_start = self.tree.size();
            }
        }
        self.report.entries += 1;
    }

    /// Compares the rebuilt tree with every checkpoint ending at its size; returns true when one
    /// does (a batch boundary).
    fn check_roots(&mut self) -> bool {
        let size = self.tree.size();
        let mut boundary = false;
        while self.next_cp < self.signed.len() && self.signed[self.next_cp].0 <= size {
            let (cp_size, root) = self.signed[self.next_cp];
            self.next_cp += 1;
            if cp_size != size {
                continue;
            }
            boundary = true;
            if !self.tree_trusted {
                continue;
            }
            if root == self.tree.root() {
                self.last_good = size;
            } else {
                let from = self.last_good;
                self.find_range(
                    from,
                    size,
                    format!(
                        "the signed checkpoint for size {size} does not match the entries: an entry in seq {from}..{} was rewritten",
                        size - 1
                    ),
                );
                self.tree_trusted = false;
            }
        }
        let mismatch = self.against.as_ref().filter(|a| {
            a.size == size && a.size > 0 && self.tree_trusted && a.root != self.tree.root()
        });
        if let Some(a) = mismatch {
            let n = a.size;
            self.find_range(
                0,
                n,
                format!("the log does not extend your checkpoint of size {n}: its history before seq {n} was rewritten"),
            );
        }
        boundary
    }

    /// Compares recomputed perfect subtrees with the stored ones.
    fn check_nodes(&mut self) {
        let pending = std::mem::take(&mut self.pending);
        let mut i = 0;
        while i < pending.len() {
            let level = pending[i].level;
            let mut j = i + 1;
            while j < pending.len()
                && pending[j].level == level
                && pending[j].index == pending[j - 1].index + 1
            {
                j += 1;
            }
            let run = &pending[i..j];
            let stored = self
                .store
                .stored_nodes(level, run[0].index, run.len() as u64);
            match stored {
                Ok(stored) => {
                    if let Some((n, _)) = run.iter().zip(&stored).find(|(n, s)| n.hash != **s) {
                        let first = n.index << n.level;
                        self.find_range(
                            first,
                            first + (1 << n.level),
                            format!(
                                "stored tree node (level {}, index {}) over seq {}..{} does not match the entries",
                                n.level,
                                n.index,
                                first,
                                first + (1 << n.level) - 1
                            ),
                        );
                    }
                }
                Err(e) => {
                    let first = run[0].index << level;
                    self.find(
                        Some(first),
                        format!("stored tree nodes over seq {first}.. are unreadable: {e}"),
                    );
                }
            }
            i = j;
        }
    }

    /// The report, after the last entry.
    pub(super) fn finish(mut self) -> VerifyReport {
        self.check_nodes();
        let (expected, latest) = (self.expected, self.latest_signed());
        if latest > expected {
            self.find(
                Some(expected),
                format!("the log ends before seq {expected} but a signed checkpoint covers {latest} entries: seq {expected}..{} were removed (truncated)", latest - 1),
            );
        }
        if let Some(n) = self
            .against
            .as_ref()
            .map(|a| a.size)
            .filter(|&n| n > expected)
        {
            self.find(
                Some(expected),
                format!(
                    "the log has {expected} entries but your checkpoint signs {n}: seq {expected}..{} are missing (truncated or rolled back)",
                    n - 1
                ),
            );
        }
        self.report.latest = self.signed.last().map(|&(size, root)| Checkpoint {
            origin: self.trust.origin().to_owned(),
            size,
            root,
        });
        self.report
    }
}
