//! Reads: entries by seq and id, filtered queries, full scans and checkpoints.

use aiaudit_core::{Query, StoredCheckpoint, StoredEntry};
use rusqlite::{OptionalExtension, Row, params};

use crate::{Error, SqliteStore};
use aiaudit_core::postings;

/// The entry at `seq`, its query fields derived.
pub(crate) fn one(store: &SqliteStore, seq: u64) -> Result<Option<StoredEntry>, Error> {
    Ok(store.raw_at(seq)?.map(derive))
}

/// The entry with event id `id`, its query fields derived.
pub(crate) fn by_id(store: &SqliteStore, id: &str) -> Result<Option<StoredEntry>, Error> {
    Ok(store.raw_by_id(id)?.map(derive))
}

fn derive(e: StoredEntry) -> StoredEntry {
    StoredEntry::from_stored(e.seq, e.time_ns, e.leaf_hash, e.data)
}

/// Entries matching every filter of `q`.
pub(crate) fn query(store: &SqliteStore, q: &Query) -> aiaudit_core::Result<Vec<StoredEntry>> {
    let mut out = Vec::new();
    query_each(store, q, &mut |e| {
        out.push(e);
        Ok(true)
    })?;
    Ok(out)
}

/// Calls `f` with each entry matching every filter of `q`, in order, until `f` returns false or
/// `q.limit` entries were given.
///
/// Plan: time bounds and the cursor become a seq range; with no field filter the range is read
/// directly. Otherwise the posting list with the fewest entries in range drives, and each entry
/// it names is read and checked against all filters; when even that list names more than a
/// quarter of the range, reading the range in order and filtering is faster than one lookup
/// per entry.
pub(crate) fn query_each(
    store: &SqliteStore,
    q: &Query,
    f: &mut dyn FnMut(StoredEntry) -> aiaudit_core::Result<bool>,
) -> aiaudit_core::Result<()> {
    select(store, q, true, f)
}

/// Raw entries that include every match of `q` (see `Store::candidates`).
pub(crate) fn candidates(
    store: &SqliteStore,
    q: &Query,
    f: &mut dyn FnMut(StoredEntry) -> aiaudit_core::Result<bool>,
) -> aiaudit_core::Result<()> {
    select(store, q, false, f)
}

/// The query plan shared by exact queries (`exact`: each entry's fields derived and checked)
/// and candidate scans (raw entries, unchecked).
fn select(
    store: &SqliteStore,
    q: &Query,
    exact: bool,
    f: &mut dyn FnMut(StoredEntry) -> aiaudit_core::Result<bool>,
) -> aiaudit_core::Result<()> {
    let size = store.size_inner()?;
    let mut lo = match q.since_ns {
        Some(t) => store.seq_at_time(t, false)?,
        None => 0,
    };
    let mut hi = match q.until_ns {
        Some(t) => store.seq_at_time(t, true)?,
        None => size,
    };
    if let Some(after) = q.after_seq {
        if q.descending {
            hi = hi.min(after);
        } else {
            lo = lo.max(after.saturating_add(1));
        }
    }
    if let Some(before) = q.before_seq {
        hi = hi.min(before);
    }
    let limit = if q.limit == 0 { usize::MAX } else { q.limit };
    if lo >= hi {
        return Ok(());
    }
    let read = |e: StoredEntry| if exact { derive(e) } else { e };
    let filters: Vec<String> = postings::query_keys(q);

    let mut given = 0usize;
    // Gives `e` to `f` if it passes every filter; false once the caller wants no more.
    let mut give = |e: StoredEntry| -> aiaudit_core::Result<bool> {
        // Rows are re-checked against every filter, so an index that names a wrong seq can
        // never make a query return a non-matching entry.
        if exact && !q.matches(&e) {
            return Ok(true);
        }
        given += 1;
        Ok(f(e)? && given < limit)
    };

    let mut best: Option<(i64, &String)> = None;
    if !filters.is_empty() {
        let mut count = store
            .conn
            .prepare_cached("SELECT coalesce(sum(count), 0) FROM postings WHERE key = ?1 AND last >= ?2 AND batch < ?3")
            .map_err(|e| store.err(e))?;
        for k in &filters {
            let n: i64 = count
                .query_row(params![k, lo as i64, hi as i64], |r| r.get(0))
                .map_err(|e| store.err(e))?;
            if best.is_none_or(|(b, _)| n < b) {
                best = Some((n, k));
            }
        }
    }
    let driver = match best {
        Some((0, _)) => return Ok(()),
        Some((n, k)) if (n as u64).saturating_mul(4) < hi - lo => Some(k),
        _ => None,
    };

    let Some(driver) = driver else {
        return store.each_raw(lo, hi, q.descending, &mut |e| give(read(e)));
    };

    // A bucketed driver (input hash, ingest id) carries a mark of each entry's whole value.
    let wanted_mark = match driver.split(':').next() {
        Some("input") => q.input_hash.as_deref().map(postings::mark),
        Some("ingest") => q.ingest_id.as_deref().map(postings::mark),
        _ => None,
    };
    let sql = format!(
        "SELECT batch, seqs FROM postings WHERE key = ?1 AND last >= ?2 AND batch < ?3 ORDER BY batch {}",
        if q.descending { "DESC" } else { "ASC" }
    );
    let mut lists = store.conn.prepare_cached(&sql).map_err(|e| store.err(e))?;
    let mut rows = lists
        .query(params![driver, lo as i64, hi as i64])
        .map_err(|e| store.err(e))?;
    while let Some(row) = rows.next().map_err(|e| store.err(e))? {
        let batch: i64 = row.get(0).map_err(|e| store.err(e))?;
        let blob: Vec<u8> = row.get(1).map_err(|e| store.err(e))?;
        let (mut seqs, marks) = postings::Encoding::Marked
            .decode(driver, batch as u64, &blob)
            .ok_or_else(|| {
                store.inconsistent(format!(
                    "posting list {driver} of batch {batch} is malformed"
                ))
            })?;
        if let Some(m) = wanted_mark {
            // Only the entries whose whole value may match are read; the rest of the bucket
            // holds other values.
            seqs = seqs
                .into_iter()
                .zip(marks)
                .filter_map(|(s, have)| (have == m).then_some(s))
                .collect();
        }
        if q.descending {
            seqs.reverse();
        }
        for seq in seqs.into_iter().filter(|s| (lo..hi).contains(s)) {
            if let Some(e) = store.raw_at(seq)?.map(read)
                && !give(e)?
            {
                return Ok(());
            }
        }
    }
    Ok(())
}

/// Compares the stored posting lists of the batch starting at `batch` with those `entries`
/// produce.
pub(crate) fn check_postings(
    store: &SqliteStore,
    batch: u64,
    entries: &[StoredEntry],
) -> Result<Option<String>, Error> {
    let mut stmt = store
        .conn
        .prepare_cached("SELECT key, seqs FROM postings WHERE batch = ?1")
        .map_err(|e| store.err(e))?;
    let mut rows = stmt.query([batch as i64]).map_err(|e| store.err(e))?;
    let mut stored: Vec<(String, Vec<u8>)> = Vec::new();
    while let Some(row) = rows.next().map_err(|e| store.err(e))? {
        stored.push((
            row.get(0).map_err(|e| store.err(e))?,
            row.get(1).map_err(|e| store.err(e))?,
        ));
    }
    Ok(postings::compare(
        batch,
        entries,
        stored.iter().map(|(k, b)| (k.clone(), b.as_slice())),
        postings::Encoding::Marked,
    ))
}

fn checkpoint(r: &Row<'_>) -> Result<StoredCheckpoint, rusqlite::Error> {
    let size: i64 = r.get(0)?;
    let root: Vec<u8> = r.get(1)?;
    Ok(StoredCheckpoint {
        size: size as u64,
        root: root.try_into().map_err(|_| {
            rusqlite::Error::InvalidColumnType(
                1,
                format!("root of checkpoint {size}"),
                rusqlite::types::Type::Blob,
            )
        })?,
        note: r.get(2)?,
        time_ns: r.get(3)?,
    })
}

/// The checkpoint with the largest size.
pub(crate) fn latest_checkpoint(store: &SqliteStore) -> Result<Option<StoredCheckpoint>, Error> {
    store
        .conn
        .query_row(
            "SELECT size, root, note, time_ns FROM checkpoints ORDER BY size DESC LIMIT 1",
            [],
            checkpoint,
        )
        .optional()
        .map_err(|e| store.err(e))
}

/// The checkpoint over exactly `size` entries.
pub(crate) fn checkpoint_at(
    store: &SqliteStore,
    size: u64,
) -> Result<Option<StoredCheckpoint>, Error> {
    store
        .conn
        .query_row(
            "SELECT size, root, note, time_ns FROM checkpoints WHERE size = ?1",
            [size as i64],
            checkpoint,
        )
        .optional()
        .map_err(|e| store.err(e))
}

/// Every checkpoint by size.
pub(crate) fn checkpoints(
    store: &SqliteStore,
    f: &mut dyn FnMut(StoredCheckpoint) -> aiaudit_core::Result<bool>,
) -> aiaudit_core::Result<()> {
    let mut stmt = store
        .conn
        .prepare("SELECT size, root, note, time_ns FROM checkpoints ORDER BY size")
        .map_err(|e| store.err(e))?;
    let mut rows = stmt.query([]).map_err(|e| store.err(e))?;
    while let Some(row) = rows.next().map_err(|e| store.err(e))? {
        if !f(checkpoint(row).map_err(|e| store.err(e))?)? {
            break;
        }
    }
    Ok(())
}
