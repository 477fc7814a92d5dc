//! Reading records from bundles and the tail: by seq, by seq range in either order, by time and
//! by id. Bundles are fetched with their level-0 tile in one statement and decoded through a
//! small cache (they never change).

use std::collections::HashMap;
use std::sync::Arc;

use aiaudit_core::layout::{BUNDLE_WIDTH, LoadedBundle, StoredBundle};
use aiaudit_core::{Hash, RecordHead, StoredEntry};
use postgres::Row;

use crate::{Error, PostgresStore};

/// Bundles fetched per statement of a long read (each up to a few hundred KB compressed).
const BUNDLE_PAGE: i64 = 16;

/// Tail rows per statement.
const TAIL_PAGE: i64 = 256;

/// A bundle row joined with its level-0 tile.
const BUNDLE_COLUMNS: &str =
    "b.idx, b.first_time_ns, b.last_time_ns, b.first_id, b.codec, b.times, b.data, t.hashes";

fn stored(r: &Row) -> StoredBundle {
    StoredBundle {
        index: r.get::<_, i64>(0) as u64,
        first_time_ns: r.get(1),
        last_time_ns: r.get(2),
        first_id: r.get(3),
        codec: u8::try_from(r.get::<_, i16>(4)).unwrap_or(u8::MAX),
        times: r.get(5),
        data: r.get(6),
    }
}

fn tail_raw(store: &PostgresStore, r: &Row) -> Result<StoredEntry, Error> {
    let seq: i64 = r.get(0);
    let leaf: Hash = r
        .get::<_, &[u8]>(2)
        .try_into()
        .map_err(|_| store.inconsistent(format!("the leaf hash of seq {seq} is not 32 bytes")))?;
    Ok(StoredEntry::raw(seq as u64, r.get(1), leaf, r.get(3)))
}

impl PostgresStore {
    /// A bundle row decoded; an archived one with its records from the attached archive.
    fn loaded(&self, r: &Row) -> Result<LoadedBundle, Error> {
        let stored = stored(r);
        let tile: Option<&[u8]> = r.get(7);
        Ok(if stored.is_archived() {
            let records = self.archived_records(stored.index)?;
            LoadedBundle::archived(stored, records, tile)
        } else {
            LoadedBundle::new(stored, tile)
        })
    }

    /// Bundles `idx` (as far as stored), decoded, in the order asked; the cache first.
    pub(crate) fn load_bundles(&self, idx: &[u64]) -> Result<Vec<Arc<LoadedBundle>>, Error> {
        let mut found: HashMap<u64, Arc<LoadedBundle>> = HashMap::new();
        let mut wanted: Vec<i64> = Vec::new();
        for &n in idx {
            match self.cache.get(n) {
                Some(hit) => {
                    found.insert(n, hit);
                }
                None => wanted.push(n as i64),
            }
        }
        if !wanted.is_empty() {
            let s = self.schema();
            let fetch = || {
                let sql = format!(
                    "SELECT {BUNDLE_COLUMNS} FROM {s}.{} b LEFT JOIN {s}.tiles t ON t.id = b.idx \
                     WHERE b.idx = ANY($1)",
                    self.bundles_rel()
                );
                self.read(|c| c.query(&sql, &[&wanted]))
            };
            let mut rows = fetch()?;
            // A log's first archive run, by another process, may have moved them since open.
            if rows.len() < wanted.len()
                && self.bundles_rel() == "bundles"
                && self.refresh_archive_tables()?
            {
                rows = fetch()?;
            }
            for r in &rows {
                let b = Arc::new(self.loaded(r)?);
                found.insert(b.index(), b);
            }
        }
        let out: Vec<Arc<LoadedBundle>> =
            idx.iter().filter_map(|n| found.get(n).cloned()).collect();
        // Point reads keep what they load; a long walk would only evict it.
        if let [one] = out.as_slice() {
            self.cache.put(one);
        }
        Ok(out)
    }

    /// Tail rows with seq in `lo..hi`, in order (`descending`: newest first), at most `limit`.
    fn tail_rows(
        &self,
        lo: u64,
        hi: u64,
        descending: bool,
        limit: i64,
    ) -> Result<Vec<StoredEntry>, Error> {
        let s = self.schema();
        let order = if descending { "DESC" } else { "ASC" };
        let sql = format!(
            "SELECT seq, time_ns, leaf_hash, data FROM {s}.tail WHERE seq >= $1 AND seq < $2 \
             ORDER BY seq {order} LIMIT $3"
        );
        let rows = self.read(|c| {
            c.query(
                &sql,
                &[&(lo as i64), &(hi.min(i64::MAX as u64) as i64), &limit],
            )
        })?;
        rows.iter().map(|r| tail_raw(self, r)).collect()
    }

    /// The entry at `seq`, raw.
    pub(crate) fn raw_at(&self, seq: u64) -> Result<Option<StoredEntry>, Error> {
        if let Some(b) = self.load_bundles(&[seq / BUNDLE_WIDTH])?.first() {
            return Ok(Some(b.raw((seq % BUNDLE_WIDTH) as usize)));
        }
        Ok(self.tail_rows(seq, seq + 1, false, 1)?.pop())
    }

    /// The raw entries at `seqs` (sorted, in either direction), as far as stored, in that order.
    pub(crate) fn raw_many(&self, seqs: &[u64]) -> Result<Vec<StoredEntry>, Error> {
        let mut idx: Vec<u64> = seqs.iter().map(|s| s / BUNDLE_WIDTH).collect();
        idx.dedup();
        let mut bundles: HashMap<u64, Arc<LoadedBundle>> = HashMap::new();
        for chunk in idx.chunks(BUNDLE_PAGE as usize) {
            for b in self.load_bundles(chunk)? {
                bundles.insert(b.index(), b);
            }
        }
        let unbundled: Vec<i64> = seqs
            .iter()
            .filter(|s| !bundles.contains_key(&(*s / BUNDLE_WIDTH)))
            .map(|&s| s as i64)
            .collect();
        let mut tail: HashMap<u64, StoredEntry> = HashMap::new();
        if !unbundled.is_empty() {
            let s = self.schema();
            let sql =
                format!("SELECT seq, time_ns, leaf_hash, data FROM {s}.tail WHERE seq = ANY($1)");
            for r in &self.read(|c| c.query(&sql, &[&unbundled]))? {
                let e = tail_raw(self, r)?;
                tail.insert(e.seq, e);
            }
        }
        Ok(seqs
            .iter()
            .filter_map(|&s| match bundles.get(&(s / BUNDLE_WIDTH)) {
                Some(b) => Some(b.raw((s % BUNDLE_WIDTH) as usize)),
                None => tail.remove(&s),
            })
            .collect())
    }

    /// Calls `f` with the raw entries of seqs `lo..hi` (newest first if `descending`), as far
    /// as stored, until it returns false. The connection is free while `f` runs.
    pub(crate) fn each_raw(
        &self,
        lo: u64,
        hi: u64,
        descending: bool,
        f: &mut dyn FnMut(StoredEntry) -> aiaudit_core::Result<bool>,
    ) -> aiaudit_core::Result<bool> {
        if lo >= hi {
            return Ok(true);
        }
        let bundled = self.bundle_count()? * BUNDLE_WIDTH;
        let in_bundles = lo.min(bundled)..hi.min(bundled);
        let in_tail = lo.max(bundled)..hi.max(bundled);
        let from_bundles = |f: &mut dyn FnMut(StoredEntry) -> aiaudit_core::Result<bool>| -> aiaudit_core::Result<bool> {
            if in_bundles.is_empty() {
                return Ok(true);
            }
            let (first, last) = (in_bundles.start / BUNDLE_WIDTH, (in_bundles.end - 1) / BUNDLE_WIDTH);
            let mut order: Vec<u64> = (first..=last).collect();
            if descending {
                order.reverse();
            }
            for page in order.chunks(BUNDLE_PAGE as usize) {
                for b in self.load_bundles(page)? {
                    let base = b.index() * BUNDLE_WIDTH;
                    let from = in_bundles.start.max(base) - base;
                    let to = in_bundles.end.min(base + BUNDLE_WIDTH) - base;
                    let mut positions: Vec<u64> = (from..to).collect();
                    if descending {
                        positions.reverse();
                    }
                    for i in positions {
                        if !f(b.raw(i as usize))? {
                            return Ok(false);
                        }
                    }
                }
            }
            Ok(true)
        };
        let from_tail = |f: &mut dyn FnMut(StoredEntry) -> aiaudit_core::Result<bool>| -> aiaudit_core::Result<bool> {
            let (mut a, mut b) = (in_tail.start, in_tail.end);
            while a < b {
                let rows = self.tail_rows(a, b, descending, TAIL_PAGE)?;
                let n = rows.len() as i64;
                for e in rows {
                    if descending {
                        b = e.seq;
                    } else {
                        a = e.seq + 1;
                    }
                    if !f(e)? {
                        return Ok(false);
                    }
                }
                if n < TAIL_PAGE {
                    break;
                }
            }
            Ok(true)
        };
        // Newest first: the tail, then the bundles; else the other way round.
        if descending {
            if !from_tail(f)? {
                return Ok(false);
            }
            from_bundles(f)
        } else {
            if !from_bundles(f)? {
                return Ok(false);
            }
            from_tail(f)
        }
    }

    /// Bundles stored: those below the head (a batch writes its bundles and moves the head in
    /// one transaction).
    pub(crate) fn bundle_count(&self) -> Result<u64, Error> {
        let s = self.schema();
        let n: i64 = self
            .read(|c| {
                c.query_one(
                    &format!(
                        "SELECT coalesce(max(idx) + 1, 0) FROM {s}.{}",
                        self.bundles_rel()
                    ),
                    &[],
                )
            })?
            .get(0);
        Ok(n as u64)
    }

    /// Every raw entry from seq `from` on as stored, for `Store::scan`: the bundles in order,
    /// then every tail row, including rows a tamperer left or put below the last bundle.
    pub(crate) fn scan_raw(
        &self,
        from: u64,
        f: &mut dyn FnMut(StoredEntry) -> aiaudit_core::Result<bool>,
    ) -> aiaudit_core::Result<()> {
        let s = self.schema();
        let sql = format!(
            "SELECT {BUNDLE_COLUMNS} FROM {s}.{} b LEFT JOIN {s}.tiles t ON t.id = b.idx \
             WHERE b.idx >= $1 ORDER BY b.idx LIMIT $2",
            self.bundles_rel()
        );
        let mut next = (from / BUNDLE_WIDTH) as i64;
        loop {
            let rows = self.read(|c| c.query(&sql, &[&next, &BUNDLE_PAGE]))?;
            let n = rows.len() as i64;
            for r in &rows {
                let b = self.loaded(r)?;
                next = b.index() as i64 + 1;
                for i in 0..BUNDLE_WIDTH as usize {
                    let e = b.raw(i);
                    if e.seq >= from && !f(e)? {
                        return Ok(());
                    }
                }
            }
            if n < BUNDLE_PAGE {
                break;
            }
        }
        let mut a = from;
        loop {
            let rows = self.tail_rows(a, u64::MAX, false, TAIL_PAGE)?;
            let n = rows.len() as i64;
            for e in rows {
                a = e.seq + 1;
                if !f(e)? {
                    return Ok(());
                }
            }
            if n < TAIL_PAGE {
                return Ok(());
            }
        }
    }

    /// The seqs `lo..hi` that can hold a record sealed in `[since, until]`: from the first to
    /// the last bundle or tail row whose times meet it (times need not grow with seq on a log
    /// several writers share, so each record is still checked).
    pub(crate) fn seqs_in_time(&self, since: i64, until: i64) -> Result<Option<(u64, u64)>, Error> {
        let s = self.schema();
        let sql = format!(
            "SELECT min(lo), max(hi) FROM ( \
               SELECT min(idx) * 256 AS lo, max(idx) * 256 + 256 AS hi FROM {s}.{} \
                 WHERE max_time_ns >= $1 AND min_time_ns <= $2 \
               UNION ALL \
               SELECT min(seq), max(seq) + 1 FROM {s}.tail WHERE time_ns >= $1 AND time_ns <= $2 \
             ) m",
            self.bundles_rel()
        );
        let row = self.read(|c| c.query_one(&sql, &[&since, &until]))?;
        let (lo, hi): (Option<i64>, Option<i64>) = (row.get(0), row.get(1));
        Ok(lo.zip(hi).map(|(a, b)| (a as u64, b as u64)))
    }

    /// The entry with event id `id` (raw). A UUIDv7 id carries its sealing millisecond, and
    /// its record's sealed time is never later than that nor (ids run ahead of the clock only
    /// past 4,096 per millisecond) a minute earlier: the records of that window are compared.
    pub(crate) fn raw_by_id(&self, id: &str) -> Result<Option<StoredEntry>, Error> {
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
        let lo = hi.saturating_sub(60_000_000_000);
        let s = self.schema();
        let sql = format!(
            "SELECT idx FROM {s}.{} WHERE max_time_ns >= $1 AND min_time_ns <= $2 ORDER BY idx",
            self.bundles_rel()
        );
        let idx: Vec<u64> = self
            .read(|c| c.query(&sql, &[&lo, &hi]))?
            .iter()
            .map(|r| r.get::<_, i64>(0) as u64)
            .collect();
        let is_it = |e: &StoredEntry| {
            (lo..=hi).contains(&e.time_ns) && RecordHead::parse(&e.data).is_ok_and(|h| h.id == id)
        };
        for page in idx.chunks(BUNDLE_PAGE as usize) {
            for b in self.load_bundles(page)? {
                if let Some(e) = (0..BUNDLE_WIDTH as usize).map(|i| b.raw(i)).find(is_it) {
                    return Ok(Some(e));
                }
            }
        }
        let sql = format!(
            "SELECT seq, time_ns, leaf_hash, data FROM {s}.tail WHERE time_ns >= $1 AND time_ns <= $2 ORDER BY seq"
        );
        for r in &self.read(|c| c.query(&sql, &[&lo, &hi]))? {
            let e = tail_raw(self, r)?;
            if is_it(&e) {
                return Ok(Some(e));
            }
        }
        Ok(None)
    }
}
