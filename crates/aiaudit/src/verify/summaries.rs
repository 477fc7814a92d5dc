//! The per-bundle summaries checked against their records: a summary that disagrees would make
//! reports count wrong without any record being touched. The checking threads rebuild the
//! summaries of the records they check ([`Piece`]s); this merges them per bundle and compares
//! each with the stored one once its last entry has been taken.

use aiaudit_core::summary::{SPAN, Summary};
use aiaudit_core::{Store, StoredEntry};
use std::collections::BTreeMap;

/// The summary of some consecutive records of one bundle.
pub(super) struct Piece {
    /// The bundle.
    pub bundle: u64,
    /// How many of its records made this piece.
    pub records: u64,
    /// Their summary; `None` when one of them did not parse (reported as that record's damage).
    pub summary: Option<Summary>,
}

/// The rebuilt summaries of the bundles not yet compared.
pub(super) struct SummaryCheck {
    /// Entries `[0, covered)` have stored summaries.
    covered: u64,
    open: BTreeMap<u64, Piece>,
}

impl SummaryCheck {
    pub(super) fn new(store: &dyn Store) -> aiaudit_core::Result<Self> {
        Ok(SummaryCheck {
            covered: store.summarized()?,
            open: BTreeMap::new(),
        })
    }

    /// Entries below this have stored summaries.
    pub(super) fn covered(&self) -> u64 {
        self.covered
    }

    /// Adds a piece of a bundle's rebuilt summary.
    pub(super) fn add(&mut self, p: Piece) {
        match self.open.get_mut(&p.bundle) {
            None => {
                self.open.insert(p.bundle, p);
            }
            Some(mine) => {
                mine.records += p.records;
                match (&mut mine.summary, p.summary) {
                    (Some(s), Some(later)) => s.merge(&later),
                    _ => mine.summary = None,
                }
            }
        }
    }

    /// Takes the next entry in seq order (in a log whose entries are all there so far). At the
    /// last entry of a summarized bundle, returns what is wrong with its stored summary, if
    /// anything, as (first seq, end, message).
    pub(super) fn take(
        &mut self,
        store: &dyn Store,
        e: &StoredEntry,
    ) -> aiaudit_core::Result<Option<(u64, u64, String)>> {
        if e.seq >= self.covered || !(e.seq + 1).is_multiple_of(SPAN) {
            return Ok(None);
        }
        let bundle = e.seq / SPAN;
        let (start, end) = (bundle * SPAN, bundle * SPAN + SPAN);
        // Pieces of earlier bundles are of a log with entries out of place: not comparable.
        self.open.retain(|b, _| *b >= bundle);
        let rebuilt = match self.open.remove(&bundle) {
            Some(Piece {
                records,
                summary: Some(s),
                ..
            }) if records == SPAN => s,
            _ => return Ok(None),
        };
        let mut stored: Option<aiaudit_core::Result<Summary>> = None;
        let read = store.summaries(start, end, &mut |_, bytes| {
            stored = Some(Summary::decode(bytes));
            Ok(false)
        });
        let last = end - 1;
        let problem = match (read, stored) {
            (Err(e), _) => Some(format!(
                "the summary of seqs {start}..{last} is unreadable: {e}"
            )),
            (Ok(()), None) => Some(format!("the summary of seqs {start}..{last} is missing")),
            (Ok(()), Some(Err(e))) => Some(format!(
                "the summary of seqs {start}..{last} is damaged: {e}"
            )),
            (Ok(()), Some(Ok(s))) if s != rebuilt => Some(format!(
                "the summary of seqs {start}..{last} disagrees with their records: reports over them would count wrong"
            )),
            (Ok(()), Some(Ok(_))) => None,
        };
        Ok(problem.map(|p| (start, end, p)))
    }
}
