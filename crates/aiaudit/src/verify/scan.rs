//! Reading the log with its per-entry checks spread over worker threads: one thread reads the
//! store, the workers hash and parse (most of the work), and results come back in seq order.

use aiaudit_core::{Hash, RecordHead, Store, StoredEntry, leaf_hash, timefmt::parse_sealed_time};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

/// Entries go to the checking threads in chunks of this many.
const SCAN_CHUNK: usize = 2048;
/// Checking threads: the reading thread leaves room on a second core for more than one.
const WORKERS: usize = 2;

/// An entry (its leaf data dropped, its query fields derived), its recomputed leaf hash, and
/// what is wrong with it alone.
pub(super) type Checked = (StoredEntry, Hash, Vec<String>);

/// A checking thread's input (dropped to stop it) and output.
type Worker = (Option<SyncSender<Vec<StoredEntry>>>, Receiver<Vec<Checked>>);

/// Checks one entry against its own record — the leaf hash, the record's own seq and time
/// against the row's — and derives its query fields for the index check.
fn check_record(mut e: StoredEntry) -> Checked {
    let leaf = leaf_hash(&e.data);
    let mut problems = Vec::new();
    // Stores give empty leaf data for a record they hold but cannot read (a bundle that does
    // not decompress); no record is empty.
    if e.data.is_empty() {
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
            e.fill(h);
        }
        Err(err) => problems.push(format!(
            "seq {}: the leaf data is not a valid record: {err}",
            e.seq
        )),
    }
    (e, leaf, problems)
}

/// Calls `f` with every entry of `store`, checked, in seq order.
pub(super) fn checked_entries(
    store: &dyn Store,
    f: &mut dyn FnMut(StoredEntry, Hash, Vec<String>) -> aiaudit_core::Result<()>,
) -> aiaudit_core::Result<()> {
    std::thread::scope(|scope| {
        // Chunk k goes to worker k % WORKERS and comes back from it, so results stay in order.
        let mut workers: Vec<Worker> = Vec::with_capacity(WORKERS);
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
        let gone = || aiaudit_core::Error::Store("a verification worker stopped".into());
        let (mut sent, mut received) = (0usize, 0usize);
        let mut receive = |received: &mut usize, workers: &[Worker]| -> aiaudit_core::Result<()> {
            let checked = workers[*received % WORKERS].1.recv().map_err(|_| gone())?;
            *received += 1;
            for (e, leaf, problems) in checked {
                f(e, leaf, problems)?;
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
        store.scan(0, &mut |e| {
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
