//! Verification: recompute every leaf from the stored record, rebuild the tree, check every
//! signed checkpoint and the stored tree levels, and name the first bad seq.
//!
//! What each check catches, when someone edits the database directly:
//! - leaf data vs. stored leaf hash, and the record's own `seq`/`id`/indexed fields vs. its row:
//!   a changed payload, a changed hash, swapped rows, a row whose query columns were altered;
//! - consecutive seqs: deleted rows;
//! - each checkpoint's signature and its root vs. the rebuilt tree: rewritten history, even when
//!   payload and hashes were changed consistently, and forged checkpoints;
//! - the latest checkpoint's size vs. the entries: truncation, and rows appended without a key;
//! - a checkpoint kept elsewhere (`against`): rollback to an older copy, even a consistent one.

use aiaudit_core::{
    Checkpoint, CompactRange, CompletedNode, Hash, LogInfo, NODE_STRIDE, NoteVerifier, RecordHead,
    Store, StoredEntry, leaf_hash, timefmt::parse_sealed_time,
};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use crate::error::Result;

/// What to verify against.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// The verifier key you trust; by default the key the log itself names.
    pub trusted_key: Option<String>,
    /// A signed checkpoint kept outside the log, which the log must extend.
    pub against: Option<String>,
}

/// One problem found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The seq the problem concerns, where one can be named; for a ranged finding, the first
    /// seq of the range.
    pub seq: Option<u64>,
    /// For a problem known only to lie somewhere in `seq..range_end` (a signed root or a tree
    /// node that no longer matches), the end of that range.
    pub range_end: Option<u64>,
    /// What is wrong.
    pub message: String,
}

/// The outcome of a verification.
#[derive(Debug, Clone, Default)]
pub struct VerifyReport {
    /// Entries read.
    pub entries: u64,
    /// Signed checkpoints whose signature and root were checked.
    pub checkpoints: u64,
    /// The newest valid checkpoint.
    pub latest: Option<Checkpoint>,
    /// The outside checkpoint, when one was given and its signature verified.
    pub against: Option<Checkpoint>,
    /// Everything found wrong, in the order found. Empty means intact.
    pub findings: Vec<Finding>,
}

impl VerifyReport {
    /// True when nothing was found wrong.
    pub fn is_intact(&self) -> bool {
        self.findings.is_empty()
    }

    /// The first bad seq: the smallest seq named exactly, or the start of a range that no exact
    /// finding explains (a rewrite that kept payload and hash consistent shows only as a range).
    pub fn first_bad_seq(&self) -> Option<u64> {
        let exact: Vec<u64> = self
            .findings
            .iter()
            .filter(|f| f.range_end.is_none())
            .filter_map(|f| f.seq)
            .collect();
        let unexplained = self
            .findings
            .iter()
            .filter_map(|f| match (f.seq, f.range_end) {
                (Some(a), Some(b)) if !exact.iter().any(|s| (a..b).contains(s)) => Some(a),
                _ => None,
            });
        exact.iter().copied().chain(unexplained).min()
    }
}

/// Entries go to the checking threads in chunks of this many.
const SCAN_CHUNK: usize = 2048;
/// Checking threads: hashing and parsing are most of the work, and the reading thread leaves
/// room on a second core for more than one.
const WORKERS: usize = 2;

/// An entry (its leaf data dropped), its recomputed leaf hash, and what is wrong with it alone.
type Checked = (StoredEntry, Hash, Vec<String>);

/// A checking thread's input (dropped to stop it) and output.
type Worker = (Option<SyncSender<Vec<StoredEntry>>>, Receiver<Vec<Checked>>);

/// Checks one entry against its own record — the leaf hash, the record's own seq and time
/// against the row's — and derives its query fields for the index check.
fn check_record(mut e: StoredEntry) -> Checked {
    let leaf = leaf_hash(&e.data);
    let mut problems = Vec::new();
    if leaf != e.leaf_hash {
        problems.push(format!(
            "seq {}: the record does not match its stored leaf hash (payload or hash changed)",
            e.seq
        ));
    }
    let data = std::mem::take(&mut e.data);
    match RecordHead::parse(&data) {
        Ok(h) => {
            if h.seq != e.seq {
                problems.push(format!(
                    "seq {}: the row holds the record of seq {}",
                    e.seq, h.seq
                ));
            }
            if parse_sealed_time(&h.time) != Some(e.time_ns) {
                problems.push(format!(
                    "seq {}: the row's time disagrees with its sealed record",
                    e.seq
                ));
            }
            e.fill(h);
        }
        Err(err) => problems.push(format!(
            "seq {}: the leaf data is not a valid record: {err}",
            e.seq
        )),
    }
    (e, leaf, problems)
}

/// Stored nodes are compared in runs of this many, with one range read per level.
const NODE_CHUNK: usize = 4096;
/// Verification stops collecting after this many findings.
const MAX_FINDINGS: usize = 100;

struct Verifier<'a> {
    store: &'a dyn Store,
    report: VerifyReport,
    pending: Vec<CompletedNode>,
    tree_trusted: bool,
}

impl Verifier<'_> {
    fn find(&mut self, seq: Option<u64>, message: String) {
        self.push(Finding {
            seq,
            range_end: None,
            message,
        });
    }

    fn find_range(&mut self, start: u64, end: u64, message: String) {
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
}

/// Verifies `store` (see the module documentation).
pub fn verify_store(
    store: &dyn Store,
    info: &LogInfo,
    opts: &VerifyOptions,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<VerifyReport> {
    let mut v = Verifier {
        store,
        report: VerifyReport::default(),
        pending: Vec::new(),
        tree_trusted: true,
    };
    let key = opts.trusted_key.as_deref().unwrap_or(&info.verifier_key);
    let verifier = NoteVerifier::parse(key)?;
    if key != info.verifier_key {
        v.find(
            None,
            format!(
                "the log names the verifier key {} but you trust {key}",
                info.verifier_key
            ),
        );
    }

    // Signed checkpoints: (size, root) of those whose signature and stored root agree.
    let mut signed: Vec<(u64, [u8; 32])> = Vec::new();
    let mut bad_checkpoints = Vec::new();
    let mut prev_size = 0u64;
    store.checkpoints(&mut |cp| {
        let covers_from = prev_size;
        prev_size = cp.size;
        match Checkpoint::open(&cp.note, &verifier) {
            Ok(c) if c.size == cp.size && c.root == cp.root => signed.push((c.size, c.root)),
            Ok(c) => bad_checkpoints.push((
                covers_from,
                format!(
                    "checkpoint row for size {} holds a note signed for size {} with another root",
                    cp.size, c.size
                ),
            )),
            Err(e) => bad_checkpoints.push((
                covers_from,
                format!("checkpoint for size {} is forged or damaged: {e}", cp.size),
            )),
        }
        Ok(true)
    })?;
    for (from, msg) in bad_checkpoints {
        v.find(Some(from), msg);
    }
    v.report.checkpoints = signed.len() as u64;
    let against = match &opts.against {
        Some(note) => {
            let cp = Checkpoint::open(note, &verifier)?;
            v.report.against = Some(cp.clone());
            Some(cp)
        }
        None => None,
    };

    let total = store.size()?;
    let mut tree = CompactRange::new();
    let mut next_cp = 0usize;
    let mut last_good_size = 0u64;
    let mut expected = 0u64;
    let mut uncovered_reported = false;
    let latest_signed = signed.last().map_or(0, |s| s.0);

    // Returns true when a signed checkpoint ends exactly at the tree's size: a batch boundary.
    let check_roots = |v: &mut Verifier<'_>,
                       tree: &CompactRange,
                       next_cp: &mut usize,
                       last_good: &mut u64|
     -> bool {
        let mut boundary = false;
        while *next_cp < signed.len() && signed[*next_cp].0 <= tree.size() {
            let (size, root) = signed[*next_cp];
            if size == tree.size() {
                boundary = true;
                if v.tree_trusted && root != tree.root() {
                    v.find_range(
                        *last_good,
                        size,
                        format!(
                            "the signed checkpoint for size {size} does not match the entries: an entry in seq {}..{} was rewritten",
                            *last_good,
                            size - 1
                        ),
                    );
                    v.tree_trusted = false;
                } else {
                    *last_good = size;
                }
            }
            *next_cp += 1;
        }
        if let Some(a) = &against {
            if a.size == tree.size() && v.tree_trusted && a.root != tree.root() && a.size > 0 {
                v.find_range(
                    0,
                    a.size,
                    format!(
                        "the log does not extend your checkpoint of size {}: its history before seq {} was rewritten",
                        a.size, a.size
                    ),
                );
            }
        }
        boundary
    };
    check_roots(&mut v, &tree, &mut next_cp, &mut last_good_size);
    let mut batch_start = 0u64;
    let mut batch: Vec<StoredEntry> = Vec::new();

    // Each entry is checked against its own record on a worker thread (hashing and parsing are
    // most of the work), then joins the tree here, in seq order.
    let mut process = |e: StoredEntry,
                       leaf: Hash,
                       problems: Vec<String>|
     -> aiaudit_core::Result<()> {
        if e.seq != expected {
            if e.seq > expected {
                v.find(
                    Some(expected),
                    format!("seq {expected} is missing (deleted)"),
                );
            } else {
                v.find(Some(e.seq), format!("seq {} appears twice", e.seq));
            }
            v.tree_trusted = false;
            expected = e.seq;
        }
        expected += 1;
        for p in problems {
            v.find(Some(e.seq), p);
        }
        let seq = e.seq;
        if v.tree_trusted {
            let pending = &mut v.pending;
            tree.append(leaf, |n| {
                if n.level > 0 && n.level % NODE_STRIDE == 0 {
                    pending.push(n);
                }
            });
            if v.pending.len() >= NODE_CHUNK {
                v.check_nodes();
            }
            batch.push(e);
            if check_roots(&mut v, &tree, &mut next_cp, &mut last_good_size) {
                if let Some(problem) = store.check_index(batch_start, &batch)? {
                    v.find_range(batch_start, tree.size(), problem);
                }
                batch_start = tree.size();
                batch.clear();
            }
        }
        if seq >= latest_signed && !uncovered_reported {
            uncovered_reported = true;
            v.find(Some(seq), format!("seq {seq} and after are not covered by any signed checkpoint (appended without the key)"));
        }
        v.report.entries += 1;
        if v.report.entries % 65_536 == 0 {
            progress(v.report.entries, total);
        }
        Ok(())
    };
    std::thread::scope(|scope| -> aiaudit_core::Result<()> {
        // Chunk k goes to worker k % WORKERS and comes back from it, so results stay in order.
        let mut workers = Vec::with_capacity(WORKERS);
        for _ in 0..WORKERS {
            let (to_worker, work) = sync_channel::<Vec<StoredEntry>>(2);
            let (to_main, done) = sync_channel::<Vec<Checked>>(2);
            scope.spawn(move || {
                for chunk in work {
                    let checked = chunk.into_iter().map(check_record).collect();
                    if to_main.send(checked).is_err() {
                        return;
                    }
                }
            });
            workers.push((Some(to_worker), done));
        }
        let gone = || aiaudit_core::Error::InvalidEvent("a verification worker stopped".into());
        let (mut sent, mut received) = (0usize, 0usize);
        let mut receive = |received: &mut usize, workers: &[Worker]| -> aiaudit_core::Result<()> {
            let checked = workers[*received % WORKERS].1.recv().map_err(|_| gone())?;
            *received += 1;
            for (e, leaf, problems) in checked {
                process(e, leaf, problems)?;
            }
            Ok(())
        };
        let mut chunk = Vec::with_capacity(SCAN_CHUNK);
        store.scan(0, &mut |e| {
            chunk.push(e);
            if chunk.len() == SCAN_CHUNK {
                let full = std::mem::replace(&mut chunk, Vec::with_capacity(SCAN_CHUNK));
                let to = workers[sent % WORKERS].0.as_ref().ok_or_else(gone)?;
                to.send(full).map_err(|_| gone())?;
                sent += 1;
                while sent - received >= 2 * WORKERS {
                    receive(&mut received, &workers)?;
                }
            }
            Ok(true)
        })?;
        if !chunk.is_empty() {
            let to = workers[sent % WORKERS].0.as_ref().ok_or_else(gone)?;
            to.send(chunk).map_err(|_| gone())?;
            sent += 1;
        }
        for w in &mut workers {
            w.0 = None;
        }
        while received < sent {
            receive(&mut received, &workers)?;
        }
        Ok(())
    })?;
    v.check_nodes();
    progress(v.report.entries, total);

    if latest_signed > expected {
        v.find(
            Some(expected),
            format!("the log ends before seq {expected} but a signed checkpoint covers {latest_signed} entries: seq {expected}..{} were removed (truncated)", latest_signed - 1),
        );
    }
    if let Some(a) = &against {
        if a.size > expected {
            v.find(
                Some(expected),
                format!(
                    "the log has {expected} entries but your checkpoint signs {}: seq {expected}..{} are missing (truncated or rolled back)",
                    a.size,
                    a.size - 1
                ),
            );
        }
    }
    v.report.latest = signed.last().map(|&(size, root)| Checkpoint {
        origin: verifier.name().to_owned(),
        size,
        root,
    });
    Ok(v.report)
}
