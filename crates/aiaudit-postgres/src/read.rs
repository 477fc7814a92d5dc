//! Reads: metadata, tree nodes, entries by seq and id, filtered queries, scans, checkpoints.
//!
//! Every read is one statement, paged where it can be long, and the connection is released
//! between pages: a caller's callback may read the store again (a report looking an entry up)
//! without deadlocking on the connection.

use aiaudit_core::postings;
use aiaudit_core::{Hash, LogInfo, Query, StoredCheckpoint, StoredEntry};
use postgres::Row;
use postgres::types::ToSql;

use crate::schema::node_id;
use crate::{Error, PostgresStore};

/// Rows fetched per page of a long read.
const PAGE: i64 = 2_048;

const COLUMNS: &str = "seq, time_ns, leaf_hash, data";

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

fn raw(store: &PostgresStore, r: &Row) -> Result<StoredEntry, Error> {
    let seq: i64 = r.get(0);
    let leaf = hash(store, r.get(2), || format!("the leaf hash of seq {seq}"))?;
    Ok(StoredEntry::raw(seq as u64, r.get(1), leaf, r.get(3)))
}

fn full(store: &PostgresStore, r: &Row) -> Result<StoredEntry, Error> {
    let e = raw(store, r)?;
    Ok(StoredEntry::from_stored(
        e.seq,
        e.time_ns,
        e.leaf_hash,
        e.data,
    ))
}

pub(crate) fn nodes(
    store: &PostgresStore,
    level: u32,
    start: u64,
    count: u64,
) -> Result<Vec<Hash>, aiaudit_core::Error> {
    let s = store.schema();
    let (sql, lo, hi) = if level == 0 {
        (
            format!(
                "SELECT seq, leaf_hash FROM {s}.entries WHERE seq >= $1 AND seq < $2 ORDER BY seq"
            ),
            start as i64,
            (start + count) as i64,
        )
    } else {
        (
            format!("SELECT id, hash FROM {s}.nodes WHERE id >= $1 AND id < $2 ORDER BY id"),
            node_id(level, start),
            node_id(level, start + count),
        )
    };
    let rows = store.read(|c| c.query(&sql, &[&lo, &hi]))?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let key: i64 = r.get(0);
        if key != lo + out.len() as i64 {
            break;
        }
        out.push(hash(store, r.get(1), || format!("the hash at key {key}"))?);
    }
    if out.len() as u64 != count {
        return Err(aiaudit_core::Error::MissingNodes {
            level,
            index: start + out.len() as u64,
        });
    }
    Ok(out)
}

pub(crate) fn entry(store: &PostgresStore, seq: u64) -> Result<Option<StoredEntry>, Error> {
    let s = store.schema();
    let sql = format!("SELECT {COLUMNS} FROM {s}.entries WHERE seq = $1 ORDER BY time_ns LIMIT 1");
    let row = store.read(|c| c.query_opt(&sql, &[&(seq as i64)]))?;
    row.map(|r| full(store, &r)).transpose()
}

/// The entry with event id `id`. A UUIDv7 id carries its sealing millisecond and the sealed
/// time is never later than it, so the lookup searches a window of time (through the BRIN
/// index) instead of keeping a B-tree of ids, which would cost every append an index insert.
pub(crate) fn by_id(store: &PostgresStore, id: &str) -> Result<Option<StoredEntry>, Error> {
    let Ok(uuid) = uuid::Uuid::try_parse(id) else {
        return Ok(None);
    };
    let b = uuid.as_bytes();
    if b[6] >> 4 != 7 {
        return Ok(None);
    }
    let mut ms_bytes = [0u8; 8];
    ms_bytes[2..].copy_from_slice(&b[..6]);
    let ms = i64::try_from(u64::from_be_bytes(ms_bytes)).unwrap_or(i64::MAX / 1_000_000);
    let hi = ms.saturating_add(1).saturating_mul(1_000_000);
    // Ids run ahead of the clock only past 4,096 per millisecond: a minute is ample.
    let lo = hi.saturating_sub(60_000_000_000);
    let s = store.schema();
    let sql = format!(
        "SELECT {COLUMNS} FROM {s}.entries WHERE time_ns >= $1 AND time_ns < $2 AND id = $3 ORDER BY seq LIMIT 1"
    );
    let row = store.read(|c| c.query_opt(&sql, &[&lo, &hi, &uuid]))?;
    row.map(|r| full(store, &r)).transpose()
}

/// The query plan shared by exact queries (`exact`: each entry's fields derived and checked)
/// and candidate scans (raw entries, unchecked): the rarest filter's posting lists drive when
/// they are much shorter than the seq range, otherwise the range is read in pages. Time bounds
/// are applied by the database, exactly.
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
    if lo >= hi {
        return Ok(());
    }
    let limit = if q.limit == 0 { usize::MAX } else { q.limit };
    let since = q.since_ns.unwrap_or(i64::MIN);
    let until = q.until_ns.unwrap_or(i64::MAX);
    let s = store.schema().to_owned();
    let order = if q.descending { "DESC" } else { "ASC" };

    let mut given = 0usize;
    // Rows are re-checked against every filter, so an index that names a wrong seq can never
    // make a query return a non-matching entry.
    let mut give = |e: StoredEntry| -> aiaudit_core::Result<bool> {
        let e = if exact {
            let e = StoredEntry::from_stored(e.seq, e.time_ns, e.leaf_hash, e.data);
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
        // The seq range in pages, by keyset.
        let sql = format!(
            "SELECT {COLUMNS} FROM {s}.entries WHERE seq >= $1 AND seq < $2 \
             AND time_ns >= $3 AND time_ns <= $4 ORDER BY seq {order} LIMIT $5"
        );
        let (mut a, mut b) = (lo as i64, hi as i64);
        loop {
            let rows = store.read(|c| c.query(&sql, &[&a, &b, &since, &until, &PAGE]))?;
            let n = rows.len();
            for r in &rows {
                let e = raw(store, r)?;
                if q.descending {
                    b = e.seq as i64;
                } else {
                    a = e.seq as i64 + 1;
                }
                if !give(e)? {
                    return Ok(());
                }
            }
            if (n as i64) < PAGE {
                return Ok(());
            }
        }
    };

    // Posting lists by keyset on `batch`, past the last one read in the query's direction.
    let past = if q.descending { "<" } else { ">" };
    let lists_sql = format!(
        "SELECT batch, seqs FROM {s}.postings WHERE key = $1 AND last >= $2 AND batch < $3 \
         AND batch {past} $4 ORDER BY batch {order} LIMIT 64"
    );
    let rows_sql = format!(
        "SELECT {COLUMNS} FROM {s}.entries WHERE seq = ANY($1) AND time_ns >= $2 AND time_ns <= $3 ORDER BY seq {order}"
    );
    let mut cursor: i64 = if q.descending { i64::MAX } else { -1 };
    loop {
        let params: [&(dyn ToSql + Sync); 4] = [&driver, &(lo as i64), &(hi as i64), &cursor];
        let lists = store.read(|c| c.query(&lists_sql, &params))?;
        if lists.is_empty() {
            return Ok(());
        }
        let mut seqs: Vec<i64> = Vec::new();
        for r in &lists {
            let batch: i64 = r.get(0);
            cursor = batch;
            let mut decoded = postings::decode(batch as u64, r.get(1)).ok_or_else(|| {
                store.inconsistent(format!(
                    "posting list {driver} of batch {batch} is malformed"
                ))
            })?;
            // Lists come batch by batch in the query's order; within a batch, make it so too.
            if q.descending {
                decoded.reverse();
            }
            seqs.extend(
                decoded
                    .into_iter()
                    .filter(|x| (lo..hi).contains(x))
                    .map(|x| x as i64),
            );
        }
        for chunk in seqs.chunks(PAGE as usize) {
            let chunk = chunk.to_vec();
            let rows = store.read(|c| c.query(&rows_sql, &[&chunk, &since, &until]))?;
            // `seqs` is in the query's order throughout, so each chunk, sorted by the
            // database, continues where the last one ended.
            for r in &rows {
                if !give(raw(store, r)?)? {
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
        postings::Encoding::Plain,
    ))
}

/// Every row from `from` on, in seq order, duplicates included (a tamperer's row of an
/// existing seq in another partition is a row too).
pub(crate) fn scan(
    store: &PostgresStore,
    from: u64,
    f: &mut dyn FnMut(StoredEntry) -> aiaudit_core::Result<bool>,
) -> aiaudit_core::Result<()> {
    let s = store.schema();
    let sql = format!(
        "SELECT {COLUMNS} FROM {s}.entries WHERE (seq, time_ns) > ($1, $2) ORDER BY seq, time_ns LIMIT $3"
    );
    // Keyset paging from just before `from`.
    let (mut seq, mut time) = (from as i64 - 1, i64::MAX);
    loop {
        let rows = store.read(|c| c.query(&sql, &[&seq, &time, &PAGE]))?;
        let n = rows.len();
        for r in &rows {
            let e = raw(store, r)?;
            seq = e.seq as i64;
            time = e.time_ns;
            if !f(e)? {
                return Ok(());
            }
        }
        if (n as i64) < PAGE {
            return Ok(());
        }
    }
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
