//! Reads: metadata, entries by seq and id, filtered queries, scans, summaries, checkpoints.
//!
//! Every read is one statement, paged where it can be long, and the connection is released
//! between pages: a caller's callback may read the store again (a report looking an entry up)
//! without deadlocking on the connection.

use aiaudit_core::postings;
use aiaudit_core::summary::SPAN;
use aiaudit_core::{Hash, LogInfo, Query, StoredCheckpoint, StoredEntry};
use postgres::Row;
use postgres::types::ToSql;

use crate::{Error, PostgresStore};

/// Rows fetched per page of a long read.
const PAGE: i64 = 2_048;

pub(crate) fn info(store: &PostgresStore) -> Result<LogInfo, Error> {
    let s = store.schema();
    let rows = store.read(|c| c.query(&format!("SELECT key, value FROM {s}.meta"), &[]))?;
    let get = |k: &str| -> Result<String, Error> {
        rows.iter()
            .find(|r| r.get::<_, &str>(0) == k)
            .map(|r| r.get::<_, String>(1))
            .ok_or_else(|| store.inconsistent(format!("metadata `{k}` is missing")))
    };
    Ok(LogInfo {
        origin: get("origin")?,
        verifier_key: get("verifier_key")?,
        created_ns: get("created_ns")?.parse().unwrap_or(0),
    })
}

/// The head's size: what the last committed batch made the log.
pub(crate) fn size(store: &PostgresStore) -> Result<u64, Error> {
    let s = store.schema();
    let n: i64 = store
        .read(|c| c.query_one(&format!("SELECT size FROM {s}.head"), &[]))?
        .get(0);
    Ok(n as u64)
}

fn hash(store: &PostgresStore, blob: &[u8], what: impl FnOnce() -> String) -> Result<Hash, Error> {
    blob.try_into()
        .map_err(|_| store.inconsistent(format!("{} is not 32 bytes", what())))
}

fn derive(e: StoredEntry) -> StoredEntry {
    StoredEntry::from_stored(e.seq, e.time_ns, e.leaf_hash, e.data)
}

/// The entry at `seq`, its query fields derived.
pub(crate) fn entry(store: &PostgresStore, seq: u64) -> Result<Option<StoredEntry>, Error> {
    Ok(store.raw_at(seq)?.map(derive))
}

/// The entry with event id `id`, its query fields derived.
pub(crate) fn by_id(store: &PostgresStore, id: &str) -> Result<Option<StoredEntry>, Error> {
    Ok(store.raw_by_id(id)?.map(derive))
}

/// The query plan shared by exact queries (`exact`: each entry's fields derived and checked)
/// and candidate scans (raw entries, unchecked): time bounds narrow the seq range to the
/// bundles and tail rows whose times meet them; then the rarest filter's posting lists drive
/// when they are much shorter than the range, otherwise the range is read in bundles. Every
/// entry is checked against the time bounds exactly.
pub(crate) fn select(
    store: &PostgresStore,
    q: &Query,
    exact: bool,
    f: &mut dyn FnMut(StoredEntry) -> aiaudit_core::Result<bool>,
) -> aiaudit_core::Result<()> {
    let mut lo = 0u64;
    let mut hi = size(store)?;
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
    let since = q.since_ns.unwrap_or(i64::MIN);
    let until = q.until_ns.unwrap_or(i64::MAX);
    if q.since_ns.is_some() || q.until_ns.is_some() {
        match store.seqs_in_time(since, until)? {
            Some((a, b)) => {
                lo = lo.max(a);
                hi = hi.min(b);
            }
            None => return Ok(()),
        }
    }
    if lo >= hi {
        return Ok(());
    }
    let limit = if q.limit == 0 { usize::MAX } else { q.limit };
    let s = store.schema().to_owned();

    let mut given = 0usize;
    // Rows are re-checked against every filter, so an index that names a wrong seq can never
    // make a query return a non-matching entry.
    let mut give = |e: StoredEntry| -> aiaudit_core::Result<bool> {
        if !(since..=until).contains(&e.time_ns) {
            return Ok(true);
        }
        let e = if exact {
            let e = derive(e);
            if !q.matches(&e) {
                return Ok(true);
            }
            e
        } else {
            e
        };
        given += 1;
        Ok(f(e)? && given < limit)
    };

    let keys = postings::query_keys(q);
    let mut best: Option<(i64, &String)> = None;
    for k in &keys {
        let sql = format!(
            "SELECT coalesce(sum(count), 0)::bigint FROM {s}.postings WHERE key = $1 AND last >= $2 AND batch < $3"
        );
        let n: i64 = store
            .read(|c| c.query_one(&sql, &[k, &(lo as i64), &(hi as i64)]))?
            .get(0);
        if best.is_none_or(|(b, _)| n < b) {
            best = Some((n, k));
        }
    }
    let driver = match best {
        Some((0, _)) => return Ok(()),
        Some((n, k)) if (n as u64).saturating_mul(4) < hi - lo => Some(k.clone()),
        _ => None,
    };

    let Some(driver) = driver else {
        store.each_raw(lo, hi, q.descending, &mut give)?;
        return Ok(());
    };

    // A bucketed driver (input hash, ingest id) carries a mark of each entry's whole value.
    let wanted_mark = match driver.split(':').next() {
        Some("input") => q.input_hash.as_deref().map(postings::mark),
        Some("ingest") => q.ingest_id.as_deref().map(postings::mark),
        _ => None,
    };
    // Posting lists by keyset on `batch`, past the last one read in the query's direction.
    let order = if q.descending { "DESC" } else { "ASC" };
    let past = if q.descending { "<" } else { ">" };
    let lists_sql = format!(
        "SELECT batch, seqs FROM {s}.postings WHERE key = $1 AND last >= $2 AND batch < $3 \
         AND batch {past} $4 ORDER BY batch {order} LIMIT 64"
    );
    let mut cursor: i64 = if q.descending { i64::MAX } else { -1 };
    loop {
        let params: [&(dyn ToSql + Sync); 4] = [&driver, &(lo as i64), &(hi as i64), &cursor];
        let lists = store.read(|c| c.query(&lists_sql, &params))?;
        if lists.is_empty() {
            return Ok(());
        }
        let mut seqs: Vec<u64> = Vec::new();
        for r in &lists {
            let batch: i64 = r.get(0);
            cursor = batch;
            let (mut decoded, marks) = postings::Encoding::Marked
                .decode(&driver, batch as u64, r.get(1))
                .ok_or_else(|| {
                    store.inconsistent(format!(
                        "posting list {driver} of batch {batch} is malformed"
                    ))
                })?;
            if let Some(m) = wanted_mark {
                // Only the entries whose whole value may match are read; the rest of the
                // bucket holds other values.
                decoded = decoded
                    .into_iter()
                    .zip(marks)
                    .filter_map(|(x, have)| (have == m).then_some(x))
                    .collect();
            }
            // Lists come batch by batch in the query's order; within a batch, make it so too.
            if q.descending {
                decoded.reverse();
            }
            seqs.extend(decoded.into_iter().filter(|x| (lo..hi).contains(x)));
        }
        // A page of seqs spans few bundles: each is read once.
        for chunk in seqs.chunks(PAGE as usize) {
            for e in store.raw_many(chunk)? {
                if !give(e)? {
                    return Ok(());
                }
            }
        }
    }
}

/// Compares the stored posting lists of the batch starting at `batch` with those `entries`
/// produce.
pub(crate) fn check_postings(
    store: &PostgresStore,
    batch: u64,
    entries: &[StoredEntry],
) -> Result<Option<String>, Error> {
    let s = store.schema();
    let rows = store.read(|c| {
        c.query(
            &format!("SELECT key, seqs FROM {s}.postings WHERE batch = $1"),
            &[&(batch as i64)],
        )
    })?;
    Ok(postings::compare(
        batch,
        entries,
        rows.iter()
            .map(|r| (r.get::<_, String>(0), r.get::<_, &[u8]>(1))),
        postings::Encoding::Marked,
    ))
}

/// Entries covered by summaries: every full bundle has one.
pub(crate) fn summarized(store: &PostgresStore) -> Result<u64, Error> {
    Ok(store.bundle_count()? * SPAN)
}

/// The summaries covering `[from, to)`, in order; a missing one is damage.
pub(crate) fn summaries(
    store: &PostgresStore,
    from: u64,
    to: u64,
    f: &mut dyn FnMut(u64, &[u8]) -> aiaudit_core::Result<bool>,
) -> aiaudit_core::Result<()> {
    let (mut next, end) = (from / SPAN, to.div_ceil(SPAN));
    let s = store.schema();
    let sql = format!(
        "SELECT idx, data FROM {s}.summaries WHERE idx >= $1 AND idx < $2 ORDER BY idx LIMIT $3"
    );
    let missing = |n: u64| {
        store.inconsistent(format!(
            "the summary of bundle {n} (seqs {}…{}) is missing",
            n * SPAN,
            n * SPAN + SPAN - 1
        ))
    };
    const SUMMARY_PAGE: i64 = 512;
    while next < end {
        let rows =
            store.read(|c| c.query(&sql, &[&(next as i64), &(end as i64), &SUMMARY_PAGE]))?;
        if rows.is_empty() {
            break;
        }
        for r in &rows {
            let idx = r.get::<_, i64>(0) as u64;
            if idx != next {
                return Err(missing(next).into());
            }
            next += 1;
            if !f(idx * SPAN, r.get::<_, &[u8]>(1))? {
                return Ok(());
            }
        }
    }
    if next < end {
        return Err(missing(next).into());
    }
    Ok(())
}

/// Every raw entry from `from` on, as stored (see [`PostgresStore::scan_raw`]).
pub(crate) fn scan(
    store: &PostgresStore,
    from: u64,
    f: &mut dyn FnMut(StoredEntry) -> aiaudit_core::Result<bool>,
) -> aiaudit_core::Result<()> {
    store.scan_raw(from, f)
}

fn checkpoint(store: &PostgresStore, r: &Row) -> Result<StoredCheckpoint, Error> {
    let size: i64 = r.get(0);
    Ok(StoredCheckpoint {
        size: size as u64,
        root: hash(store, r.get(1), || format!("the root of checkpoint {size}"))?,
        note: r.get(2),
        time_ns: r.get(3),
    })
}

pub(crate) fn latest_checkpoint(store: &PostgresStore) -> Result<Option<StoredCheckpoint>, Error> {
    let s = store.schema();
    let sql =
        format!("SELECT size, root, note, time_ns FROM {s}.checkpoints ORDER BY size DESC LIMIT 1");
    let row = store.read(|c| c.query_opt(&sql, &[]))?;
    row.map(|r| checkpoint(store, &r)).transpose()
}

pub(crate) fn checkpoint_at(
    store: &PostgresStore,
    size: u64,
) -> Result<Option<StoredCheckpoint>, Error> {
    let s = store.schema();
    let sql = format!("SELECT size, root, note, time_ns FROM {s}.checkpoints WHERE size = $1");
    let row = store.read(|c| c.query_opt(&sql, &[&(size as i64)]))?;
    row.map(|r| checkpoint(store, &r)).transpose()
}

pub(crate) fn checkpoints(
    store: &PostgresStore,
    f: &mut dyn FnMut(StoredCheckpoint) -> aiaudit_core::Result<bool>,
) -> aiaudit_core::Result<()> {
    let s = store.schema();
    let sql = format!(
        "SELECT size, root, note, time_ns FROM {s}.checkpoints WHERE size > $1 ORDER BY size LIMIT $2"
    );
    let mut after: i64 = -1;
    loop {
        let rows = store.read(|c| c.query(&sql, &[&after, &PAGE]))?;
        let n = rows.len();
        for r in &rows {
            let cp = checkpoint(store, r)?;
            after = cp.size as i64;
            if !f(cp)? {
                return Ok(());
            }
        }
        if (n as i64) < PAGE {
            return Ok(());
        }
    }
}
