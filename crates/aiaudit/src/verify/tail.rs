//! The quick check of what a writer is about to extend: the head of the log against its latest
//! signed checkpoint (size and root of the stored tree) and the last records against their leaf
//! hashes. It reads a bounded tail, so it costs the same on a log of any size; damage deeper in
//! the log is the full verification's to find.

use aiaudit_core::{CompactRange, Store, leaf_hash};

/// How many of the last records are hashed again: a commit holds at most this many by default.
pub const TAIL: u64 = 8_192;

/// What is wrong with the head, if anything: `Err` names it (with the first bad seq where one
/// record is to blame).
pub fn check_tail(store: &dyn Store) -> aiaudit_core::Result<Result<TailReport, String>> {
    let size = store.size()?;
    let range = CompactRange::from_source(size, store)?;
    let latest = store.latest_checkpoint()?;
    match &latest {
        None if size == 0 => {}
        None => return Ok(Err(format!("{size} entries but no signed checkpoint"))),
        Some(cp) if cp.size != size => {
            return Ok(Err(format!(
                "{size} entries but the latest checkpoint signs {}",
                cp.size
            )));
        }
        Some(cp) if cp.root != range.root() => {
            return Ok(Err(
                "the stored tree's root differs from the latest signed root".into(),
            ));
        }
        Some(_) => {}
    }
    // Archived records are checked through their signed manifests, not here: the writer must
    // start without fetching them.
    let archived = store.archived()?.last().map_or(0, |f| f.end_seq);
    let from = size.saturating_sub(TAIL).max(archived).min(size);
    let mut bad: Option<(u64, String)> = None;
    let mut checked = 0u64;
    let mut expected = from;
    store.scan(from, &mut |e| {
        if e.seq != expected {
            bad = Some((
                expected,
                format!("seq {expected} is missing or out of place"),
            ));
            return Ok(false);
        }
        expected += 1;
        if leaf_hash(&e.data) != e.leaf_hash {
            bad = Some((
                e.seq,
                format!(
                    "seq {}: the record does not match its stored leaf hash",
                    e.seq
                ),
            ));
            return Ok(false);
        }
        checked += 1;
        Ok(true)
    })?;
    if let Some((_, why)) = bad {
        return Ok(Err(why));
    }
    if checked != size - from {
        return Ok(Err(format!(
            "the last {} entries could not all be read ({checked} were)",
            size - from
        )));
    }
    Ok(Ok(TailReport {
        size,
        records_checked: checked,
    }))
}

/// A tail that checked out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TailReport {
    /// The log's size, as its latest checkpoint signs it.
    pub size: u64,
    /// Records hashed again (the last ones).
    pub records_checked: u64,
}
