//! Reading the log with its per-entry checks spread over worker threads: one thread reads the
//! store, the workers hash and parse (most of the work), and results come back in seq order.

use aiaudit_core::summary::{SPAN, Summary};
use aiaudit_core::{Hash, RecordHead, Store, StoredEntry, leaf_hash, timefmt::parse_sealed_time};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use super::summaries::Piece;

/// Entries go to the checking threads in chunks of this many.
const SCAN_CHUNK: usize = 2048;
/// Checking threads: the reading thread leaves room on a second core for more than one.
const WORKERS: usize = 2;

/// An entry (its leaf data dropped, its query fields derived), its recomputed leaf hash, and
/// what is wrong with it alone.
pub(super) type Checked = (StoredEntry, Hash, Vec<String>);

/// What comes back, in seq order: summary pieces of a chunk's records, then its entries.
// Items are handed over one at a time and never stored, so their size costs nothing.
#[allow(clippy::large_enum_variant)]
pub(super) enum Item {
    /// The summary of a chunk's records of one summarized bundle.
    Piece(Piece),
    /// One entry, checked.
    Entry(Checked),
}

/// A checked chunk: the summaries of its records in summarized bundles, and its entries.
type Done = (Vec<Piece>, Vec<Checked>);

/// A checking thread's input (dropped to stop it) and output.
type Worker = (Option<SyncSender<Vec<StoredEntry>>>, Receiver<Done>);

/// The summary piece `seq`'s record belongs to (a new one at a bundle's start or a chunk's),
/// or `None` for a record not below `covered`.
fn piece_of(pieces: &mut Vec<Piece>, seq: u64, covered: u64) -> Option<&mut Piece> {
    if seq >= covered {
        return None;
    }
    let bundle = seq / SPAN;
    if pieces.last().is_none_or(|p| p.bundle != bundle) {
        pieces.push(Piece {
            bundle,
            records: 0,
            summary: Some(Summary::default()),
        });
    }
    let p = pieces.last_mut()?;
    p.records += 1;
    Some(p)
}

/// Checks a chunk of entries; the records below `covered` also make summary pieces.
fn check_chunk(chunk: Vec<StoredEntry>, covered: u64) -> Done {
    let mut pieces = Vec::new();
    let checked = chunk
        .into_iter()
        .map(|e| {
            let piece = piece_of(&mut pieces, e.seq, covered);
            check_record(e, piece)
        })
        .collect();
    (pieces, checked)
}

/// Checks one entry against its own record — the leaf hash, the record's own seq and time
/// against the row's — derives its query fields for the index check, and adds it to its
/// summary `piece` (which an unreadable record spoils) from the same parse.
fn check_record(mut e: StoredEntry, piece: Option<&mut Piece>) -> Checked {
    let leaf = leaf_hash(&e.data);
    let mut problems = Vec::new();
    // Stores give empty leaf data for a record they hold but cannot read (a bundle that does
    // not decompress); no record is empty.
    if e.data.is_empty() {
        if let Some(p) = piece {
            p.summary = None;
        }
        problems.push(format!(
            "seq {}: its record is empty or unreadable (the stored bundle holding it is damaged)",
            e.seq
        ));
        return (e, leaf, problems);
    }
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
            if let Some(s) = piece.and_then(|p| p.summary.as_mut()) {
                s.add_head(&h);
            }
            e.fill(h);
        }
        Err(err) => {
            if let Some(p) = piece {
                p.summary = None;
            }
            problems.push(format!(
                "seq {}: the leaf data is not a valid record: {err}",
                e.seq
            ));
        }
    }
    (e, leaf, problems)
}

/// Calls `f` with every entry of `store`, checked, in seq order, and before the entries of
/// each bundle below `covered` (the summarized entries), the pieces of their summary.
pub(super) fn checked_entries(
    store: &dyn Store,
    from: u64,
    covered: u64,
    f: &mut dyn FnMut(Item) -> aiaudit_core::Result<()>,
) -> aiaudit_core::Result<()> {
    std::thread::scope(|scope| {
        // Chunk k goes to worker k % WORKERS and comes back from it, so results stay in order.
        let mut workers: Vec<Worker> = Vec::with_capacity(WORKERS);
        for _ in 0..WORKERS {
            let (to_worker, work) = sync_channel::<Vec<StoredEntry>>(2);
            let (to_main, done) = sync_channel::<Done>(2);
            scope.spawn(move || {
                for chunk in work {
                    if to_main.send(check_chunk(chunk, covered)).is_err() {
                        return;
                    }
                }
            });
            workers.push((Some(to_worker), done));
        }
        let gone = || aiaudit_core::Error::Store("a verification worker stopped".into());
        let (mut sent, mut received) = (0usize, 0usize);
        let mut receive = |received: &mut usize, workers: &[Worker]| -> aiaudit_core::Result<()> {
            let (pieces, checked) = workers[*received % WORKERS].1.recv().map_err(|_| gone())?;
            *received += 1;
            for p in pieces {
                f(Item::Piece(p))?;
            }
            for c in checked {
                f(Item::Entry(c))?;
            }
            Ok(())
        };
        let send = |chunk: Vec<StoredEntry>,
                    sent: &mut usize,
                    workers: &[Worker]|
         -> aiaudit_core::Result<()> {
            let to = workers[*sent % WORKERS].0.as_ref().ok_or_else(gone)?;
            to.send(chunk).map_err(|_| gone())?;
            *sent += 1;
            Ok(())
        };
        let mut chunk = Vec::with_capacity(SCAN_CHUNK);
        store.scan(from, &mut |e| {
            chunk.push(e);
            if chunk.len() == SCAN_CHUNK {
                send(
                    std::mem::replace(&mut chunk, Vec::with_capacity(SCAN_CHUNK)),
                    &mut sent,
                    &workers,
                )?;
                while sent - received >= 2 * WORKERS {
                    receive(&mut received, &workers)?;
                }
            }
            Ok(true)
        })?;
        if !chunk.is_empty() {
            send(chunk, &mut sent, &workers)?;
        }
        for w in &mut workers {
            w.0 = None;
        }
        while received < sent {
            receive(&mut received, &workers)?;
        }
        Ok(())
    })
}
