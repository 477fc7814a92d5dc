//! Reads: entries by seq and id, filtered queries, full scans and checkpoints.

use aiaudit_core::{Hash, Query, StoredCheckpoint, StoredEntry};
use rusqlite::types::ToSql;
use rusqlite::{OptionalExtension, Row, params};

use crate::{Error, SqliteStore};
use aiaudit_core::postings;

const COLUMNS: &str = "seq, time_ns, leaf_hash, data";

fn hash(blob: Vec<u8>, seq: i64) -> Result<Hash, rusqlite::Error> {
    blob.try_into().map_err(|_| {
        rusqlite::Error::InvalidColumnType(
            2,
            format!("leaf_hash of seq {seq}"),
            rusqlite::types::Type::Blob,
        )
    })
}

/// A row as stored; query fields not derived.
fn raw(r: &Row<'_>) -> Result<StoredEntry, rusqlite::Error> {
    let seq: i64 = r.get(0)?;
    Ok(StoredEntry::raw(
        seq as u64,
        r.get(1)?,
        hash(r.get(2)?, seq)?,
        r.get(3)?,
    ))
}

/// A row with its query fields derived from the leaf data.
fn entry(r: &Row<'_>) -> Result<StoredEntry, rusqlite::Error> {
    let seq: i64 = r.get(0)?;
    Ok(StoredEntry::from_stored(
        seq as u64,
        r.get(1)?,
        hash(r.get(2)?, seq)?,
        r.get(3)?,
    ))
}

/// The entry matching `cond` (a condition on a unique column).
pub(crate) fn one(
    store: &SqliteStore,
    cond: &str,
    args: &[&dyn ToSql],
) -> Result<Option<StoredEntry>, Error> {
    let sql = format!("SELECT {COLUMNS} FROM entries WHERE {cond}");
    let mut stmt = store.conn.prepare_cached(&sql).map_err(|e| store.err(e))?;
    stmt.query_row(args, entry)
        .optional()
        .map_err(|e| store.err(e))
}

/// The first seq whose time is at least `t` (`strict`: greater than `t`), by binary search:
/// sealed times never decrease with seq.
fn seq_at_time(store: &SqliteStore, t: i64, strict: bool, size: u64) -> Result<u64, Error> {
    let mut stmt = store
        .conn
        .prepare_cached("SELECT time_ns FROM entries WHERE seq >= ?1 ORDER BY seq LIMIT 1")
        .map_err(|e| store.err(e))?;
    let (mut lo, mut hi) = (0u64, size);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let time: Option<i64> = stmt
            .query_row([mid as i64], |r| r.get(0))
            .optional()
            .map_err(|e| store.err(e))?;
        let before = time.is_some_and(|x| if strict { x <= t } else { x < t });
        if before {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    Ok(lo)
}

/// The entry with event id `id`, by binary search: ids strictly increase with seq.
pub(crate) fn by_id(store: &SqliteStore, id: &str) -> Result<Option<StoredEntry>, Error> {
    let size = size(store)?;
    let mut stmt = store
        .conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM entries WHERE seq >= ?1 ORDER BY seq LIMIT 1"
        ))
        .map_err(|e| store.err(e))?;
    let (mut lo, mut hi) = (0u64, size);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let row = stmt
            .query_row([mid as i64], entry)
            .optional()
            .map_err(|e| store.err(e))?;
        match row {
            None => hi = mid,
            Some(e) => match e.id.as_str().cmp(id) {
                std::cmp::Ordering::Equal => return Ok(Some(e)),
                std::cmp::Ordering::Less => lo = e.seq + 1,
                std::cmp::Ordering::Greater => hi = mid,
            },
        }
    }
    Ok(None)
}

fn size(store: &SqliteStore) -> Result<u64, Error> {
    let max: Option<i64> = store
        .conn
        .query_row("SELECT max(seq) FROM entries", [], |r| r.get(0))
        .map_err(|e| store.err(e))?;
    Ok(max.map_or(0, |m| m as u64 + 1))
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
    let size = size(store)?;
    let mut lo = match q.since_ns {
        Some(t) => seq_at_time(store, t, false, size)?,
        None => 0,
    };
    let mut hi = match q.until_ns {
        Some(t) => seq_at_time(store, t, true, size)?,
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
    let read = if exact { entry } else { raw };
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
        let sql = format!(
            "SELECT {COLUMNS} FROM entries WHERE seq >= ?1 AND seq < ?2 ORDER BY seq {}",
            if q.descending { "DESC" } else { "ASC" }
        );
        let mut stmt = store.conn.prepare_cached(&sql).map_err(|e| store.err(e))?;
        let mut rows = stmt
            .query(params![lo as i64, hi as i64])
            .map_err(|e| store.err(e))?;
        while let Some(row) = rows.next().map_err(|e| store.err(e))? {
            if !give(read(row).map_err(|e| store.err(e))?)? {
                break;
            }
        }
        return Ok(());
    };

    let sql = format!(
        "SELECT batch, seqs FROM postings WHERE key = ?1 AND last >= ?2 AND batch < ?3 ORDER BY batch {}",
        if q.descending { "DESC" } else { "ASC" }
    );
    let mut lists = store.conn.prepare_cached(&sql).map_err(|e| store.err(e))?;
    let mut one = store
        .conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM entries WHERE seq = ?1"))
        .map_err(|e| store.err(e))?;
    let mut rows = lists
        .query(params![driver, lo as i64, hi as i64])
        .map_err(|e| store.err(e))?;
    while let Some(row) = rows.next().map_err(|e| store.err(e))? {
        let batch: i64 = row.get(0).map_err(|e| store.err(e))?;
        let blob: Vec<u8> = row.get(1).map_err(|e| store.err(e))?;
        let mut seqs = postings::decode(batch as u64, &blob).ok_or_else(|| {
            store.inconsistent(format!(
                "posting list {driver} of batch {batch} is malformed"
            ))
        })?;
        if q.descending {
            seqs.reverse();
        }
        for seq in seqs.into_iter().filter(|s| (lo..hi).contains(s)) {
            let e = one
                .query_row([seq as i64], read)
                .optional()
                .map_err(|e| store.err(e))?;
            if let Some(e) = e
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
    ))
}

/// Every entry from `from` on, in seq order.
pub(crate) fn scan(
    store: &SqliteStore,
    from: u64,
    f: &mut dyn FnMut(StoredEntry) -> aiaudit_core::Result<bool>,
) -> aiaudit_core::Result<()> {
    let sql = format!("SELECT {COLUMNS} FROM entries WHERE seq >= ?1 ORDER BY seq");
    let mut stmt = store.conn.prepare(&sql).map_err(|e| store.err(e))?;
    let mut rows = stmt.query(params![from as i64]).map_err(|e| store.err(e))?;
    while let Some(row) = rows.next().map_err(|e| store.err(e))? {
        let e = raw(row).map_err(|e| store.err(e))?;
        if !f(e)? {
            break;
        }
    }
    Ok(())
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
