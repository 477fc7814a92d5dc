//! Verification: recompute every leaf from the stored record, rebuild the tree, check every
//! signed checkpoint and the stored tree levels, and name the first bad seq.
//!
//! What each check catches, when someone edits the database directly:
//! - leaf data vs. stored leaf hash, and the record's own `seq` and `time` vs. its row: a changed
//!   payload, a changed hash, swapped rows, an entry moved in time;
//! - each batch's query index vs. its entries: entries hidden from queries;
//! - each bundle's summary vs. its records: reports that would count wrong;
//! - consecutive seqs: deleted rows;
//! - each checkpoint's signature and its root vs. the rebuilt tree: rewritten history, even when
//!   payload and hashes were changed consistently, and forged checkpoints;
//! - the latest checkpoint's size vs. the entries: truncation, and rows appended without a key;
//! - a checkpoint kept elsewhere (`against`): rollback to an older copy, even a consistent one.

mod scan;
mod state;
mod summaries;
mod tail;

pub use tail::{TailReport, check_tail};

use aiaudit_core::{Checkpoint, LogInfo, NoteVerifier, Store};

use crate::error::Result;
use state::Verifier;

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

/// Verifies `store` (see the module documentation). `progress` hears (entries done, total).
pub fn verify_store(
    store: &dyn Store,
    info: &LogInfo,
    opts: &VerifyOptions,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<VerifyReport> {
    let key = opts.trusted_key.as_deref().unwrap_or(&info.verifier_key);
    let verifier = NoteVerifier::parse(key)?;
    let against = opts
        .against
        .as_deref()
        .map(|note| Checkpoint::open(note, &verifier))
        .transpose()?;
    let mut v = Verifier::new(store, verifier, against)?;
    if key != info.verifier_key {
        v.find(
            None,
            format!(
                "the log names the verifier key {} but you trust {key}",
                info.verifier_key
            ),
        );
    }
    let total = store.size()?;
    scan::checked_entries(store, v.summarized(), &mut |item| {
        match item {
            scan::Item::Piece(p) => v.summary_piece(p),
            scan::Item::Entry((e, leaf, problems)) => {
                v.process(e, leaf, problems)?;
                if v.entries() % 65_536 == 0 {
                    progress(v.entries(), total);
                }
            }
        }
        Ok(())
    })?;
    progress(v.entries(), total);
    Ok(v.finish())
}
