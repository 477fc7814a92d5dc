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

mod archives;
mod scan;
mod state;
mod summaries;
mod tail;

pub use tail::{TailReport, check_tail};

use aiaudit_core::keys::KeyHistory;
use aiaudit_core::{Checkpoint, LogInfo, NoteVerifier, Store};

use crate::error::Result;
use state::Verifier;

/// The keys checkpoints are checked with: the log's key history (each key within the sizes
/// it was valid for), or, when the keys you trust are none of the log's, those keys alone.
pub(crate) enum Trust {
    History(KeyHistory),
    Set(Vec<NoteVerifier>),
}

impl Trust {
    pub(crate) fn open(&self, note: &str) -> aiaudit_core::Result<Checkpoint> {
        match self {
            Trust::History(h) => h.open_checkpoint(note),
            Trust::Set(keys) => Checkpoint::open(note, keys),
        }
    }

    pub(crate) fn origin(&self) -> &str {
        match self {
            Trust::History(h) => h.origin(),
            Trust::Set(keys) => keys.first().map_or("", NoteVerifier::name),
        }
    }
}

/// What to verify against.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// The verifier key you trust (or several, separated by white space); by default the keys
    /// the log itself names. Trusting one key of a log's key history trusts the history: each
    /// key change is signed by the keys on both sides of it.
    pub trusted_key: Option<String>,
    /// A signed checkpoint kept outside the log, which the log must extend.
    pub against: Option<String>,
    /// Fetch every archived file and check every row against its leaf hash (`verify
    /// --archive`); by default archived records are checked through their signed manifests
    /// and the leaf hashes the store keeps.
    pub archive: bool,
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
    /// The archived files (docs/format.md §13), in seq order: they cover `[0, end_seq of the
    /// last)`.
    pub archived: Vec<aiaudit_core::archive::ArchivedFile>,
    /// Whether the archived files were fetched and every row checked (`--archive`).
    pub archive_read: bool,
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
    let (history, bad_changes) = crate::keys::history(store, info)?;
    let all_keys = history.all();
    let mut distrust = None;
    let trust = match opts.trusted_key.as_deref() {
        None => Trust::History(history),
        Some(given) => {
            let keys = given
                .split_whitespace()
                .map(NoteVerifier::parse)
                .collect::<aiaudit_core::Result<Vec<_>>>()?;
            if keys.iter().any(|k| history.contains(&k.to_string())) {
                Trust::History(history)
            } else {
                let named: Vec<String> = history.all().iter().map(ToString::to_string).collect();
                distrust = Some(format!(
                    "the log names the verifier key {} but you trust {given}",
                    named.join(" and ")
                ));
                Trust::Set(keys)
            }
        }
    };
    let against = opts
        .against
        .as_deref()
        .map(|note| trust.open(note))
        .transpose()?;
    let mut v = Verifier::new(store, trust, against)?;
    if let Some(msg) = distrust {
        v.find(None, msg);
    }
    for b in bad_changes {
        v.find(
            Some(b.seq),
            format!(
                "seq {}: a log_key event that is not a valid key change: {}",
                b.seq, b.why
            ),
        );
    }
    let total = store.size()?;
    let files = store.archived()?;
    let archived_end = files.last().map_or(0, |f| f.end_seq);
    // Deleted files (a prefix of the archived ones) have no records left to read.
    let deleted_end = aiaudit_core::archive::deleted_end(&files);
    archives::check(&mut v, store, &all_keys, &files, opts.archive)?;
    let unread = if opts.archive {
        deleted_end
    } else {
        archived_end
    };
    {
        let mut seq = 0;
        while seq < unread {
            let n = (unread - seq).min(65_536);
            match store.stored_nodes(0, seq, n) {
                Ok(leaves) => {
                    for (i, leaf) in leaves.into_iter().enumerate() {
                        v.archived_leaf(seq + i as u64, leaf);
                    }
                }
                Err(e) => {
                    // The tree cannot be rebuilt past here; later entries read as missing.
                    v.find(
                        Some(seq),
                        format!("the leaf hashes of archived seqs {seq}.. are unreadable: {e}"),
                    );
                    break;
                }
            }
            seq += n;
            progress(v.entries(), total);
        }
    }
    let from = unread;
    scan::checked_entries(store, from, v.summarized(), &mut |item| {
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
    let mut report = v.finish();
    report.archived = files;
    report.archive_read = opts.archive;
    Ok(report)
}
