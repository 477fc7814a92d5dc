//! Reading records from bundles and the tail: one entry, a seq range in either order, and the
//! binary searches by time and id. Decoded bundles are cached (they never change), so a query
//! walking nearby seqs decompresses each bundle once.

use std::sync::Arc;

use aiaudit_core::layout::{BUNDLE_WIDTH, BundleCache, LoadedBundle, StoredBundle, tile_key};
use aiaudit_core::{Hash, RecordHead, StoredEntry};
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::{Error, SqliteStore};

/// The store's decoded bundles.
pub(crate) type Cache = BundleCache;

/// Entries: 256 per full bundle, then the tail's.
pub(crate) fn size_of(conn: &Connection) -> rusqlite::Result<u64> {
    let bundles = bundle_count(conn)?;
    let tail: Option<i64> = conn.query_row("SELECT max(seq) FROM tail", [], |r| r.get(0))?;
    Ok((bundles * BUNDLE_WIDTH).max(tail.map_or(0, |m| m as u64 + 1)))
}

fn bundle_count(conn: &Connection) -> rusqlite::Result<u64> {
    let max: Option<i64> = conn.query_row("SELECT max(idx) FROM bundles", [], |r| r.get(0))?;
    Ok(max.map_or(0, |m| m as u64 + 1))
}

fn tail_raw(r: &Row<'_>) -> rusqlite::Result<StoredEntry> {
    let seq: i64 = r.get(0)?;
    let leaf: Vec<u8> = r.get(2)?;
    let leaf: Hash = leaf.try_into().map_err(|_| {
        rusqlite::Error::InvalidColumnType(
            2,
            format!("leaf_hash of seq {seq}"),
            rusqlite::types::Type::Blob,
        )
    })?;
    Ok(StoredEntry::raw(seq as u64, r.get(1)?, leaf, r.get(3)?))
}

impl SqliteStore {
    pub(crate) fn size_inner(&self) -> Result<u64, Error> {
        size_of(&self.conn).map_err(|e| self.err(e))
    }

    pub(crate) fn bundles(&self) -> Result<u64, Error> {
        bundle_count(&self.conn).map_err(|e| self.err(e))
    }

    /// Bundle `n`, decoded, from the cache or the file; `None` if it is not stored.
    pub(crate) fn load(&self, n: u64, cache: bool) -> Result<Option<Arc<LoadedBundle>>, Error> {
        if let Some(hit) = self.cache.get(n) {
            return Ok(Some(hit));
        }
        let row = self
            .conn
            .prepare_cached(
                "SELECT first_time_ns, last_time_ns, first_id, codec, times, data FROM bundles WHERE idx = ?1",
            )
            .map_err(|e| self.err(e))?
            .query_row([n as i64], |r| {
                Ok(StoredBundle {
                    index: n,
                    first_time_ns: r.get(0)?,
                    last_time_ns: r.get(1)?,
                    first_id: r.get(2)?,
                    codec: r.get(3)?,
                    times: r.get(4)?,
                    data: r.get(5)?,
                })
            })
            .optional()
            .map_err(|e| self.err(e))?;
        let Some(stored) = row else {
            return Ok(None);
        };
        let tile: Option<Vec<u8>> = self
            .conn
            .prepare_cached("SELECT hashes FROM tiles WHERE id = ?1")
            .map_err(|e| self.err(e))?
            .query_row([tile_key(0, n)], |r| r.get(0))
            .optional()
            .map_err(|e| self.err(e))?;
        let loaded = Arc::new(if stored.is_archived() {
            LoadedBundle::archived(stored, self.archived_records(n)?, tile.as_deref())
        } else {
            LoadedBundle::new(stored, tile.as_deref())
        });
        if cache {
            self.cache.put(&loaded);
        }
        Ok(Some(loaded))
    }

    /// The entry at `seq`, raw.
    pub(crate) fn raw_at(&self, seq: u64) -> Result<Option<StoredEntry>, Error> {
        if let Some(b) = self.load(seq / BUNDLE_WIDTH, true)? {
            return Ok(Some(b.raw((seq % BUNDLE_WIDTH) as usize)));
        }
        self.conn
            .prepare_cached("SELECT seq, time_ns, leaf_hash, data FROM tail WHERE seq = ?1")
            .map_err(|e| self.err(e))?
            .query_row([seq as i64], tail_raw)
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Calls `f` with the raw entries of seqs `lo..hi` (newest first if `descending`) until it
    /// returns false.
    pub(crate) fn each_raw(
        &self,
        lo: u64,
        hi: u64,
        descending: bool,
        f: &mut dyn FnMut(StoredEntry) -> aiaudit_core::Result<bool>,
    ) -> aiaudit_core::Result<()> {
        if lo >= hi {
            return Ok(());
        }
        let bundled = self.bundles()? * BUNDLE_WIDTH;
        let in_bundles = lo.min(bundled)..hi.min(bundled);
        let in_tail = lo.max(bundled)..hi.max(bundled);
        let from_bundles = |f: &mut dyn FnMut(StoredEntry) -> aiaudit_core::Result<bool>| -> aiaudit_core::Result<bool> {
            if in_bundles.is_empty() {
                return Ok(true);
            }
            let (first, last) = (in_bundles.start / BUNDLE_WIDTH, (in_bundles.end - 1) / BUNDLE_WIDTH);
            let order: Box<dyn Iterator<Item = u64>> = if descending {
                Box::new((first..=last).rev())
            } else {
                Box::new(first..=last)
            };
            for n in order {
                // A long walk would only evict what point reads keep.
                let Some(b) = self.load(n, first == last)? else {
                    return Ok(true);
                };
                let base = n * BUNDLE_WIDTH;
                let from = in_bundles.start.max(base) - base;
                let to = in_bundles.end.min(base + BUNDLE_WIDTH) - base;
                let positions: Box<dyn Iterator<Item = u64>> = if descending {
                    Box::new((from..to).rev())
                } else {
                    Box::new(from..to)
                };
                for i in positions {
                    if !f(b.raw(i as usize))? {
                        return Ok(false);
                    }
                }
            }
            Ok(true)
        };
        let from_tail = |f: &mut dyn FnMut(StoredEntry) -> aiaudit_core::Result<bool>| -> aiaudit_core::Result<bool> {
            if in_tail.is_empty() {
                return Ok(true);
            }
            let sql = format!(
                "SELECT seq, time_ns, leaf_hash, data FROM tail WHERE seq >= ?1 AND seq < ?2 ORDER BY seq {}",
                if descending { "DESC" } else { "ASC" }
            );
            let mut stmt = self.conn.prepare_cached(&sql).map_err(|e| self.err(e))?;
            let mut rows = stmt
                .query(params![in_tail.start as i64, in_tail.end as i64])
                .map_err(|e| self.err(e))?;
            while let Some(row) = rows.next().map_err(|e| self.err(e))? {
                if !f(tail_raw(row).map_err(|e| self.err(e))?)? {
                    return Ok(false);
                }
            }
            Ok(true)
        };
        if descending {
            if from_tail(f)? {
                from_bundles(f)?;
            }
        } else if from_bundles(f)? {
            from_tail(f)?;
        }
        Ok(())
    }

    /// Every raw entry from seq `from` on as stored, for `Store::scan`: the bundles in order,
    /// then every tail row, including rows a tamperer left or put below the last bundle.
    pub(crate) fn scan_raw(
        &self,
        from: u64,
        f: &mut dyn FnMut(StoredEntry) -> aiaudit_core::Result<bool>,
    ) -> aiaudit_core::Result<()> {
        let mut stmt = self
            .conn
            .prepare("SELECT idx FROM bundles WHERE idx >= ?1 ORDER BY idx")
            .map_err(|e| self.err(e))?;
        let mut rows = stmt
            .query([(from / BUNDLE_WIDTH) as i64])
            .map_err(|e| self.err(e))?;
        while let Some(row) = rows.next().map_err(|e| self.err(e))? {
            let n = row.get::<_, i64>(0).map_err(|e| self.err(e))? as u64;
            let Some(b) = self.load(n, false)? else {
                continue;
            };
            for i in 0..BUNDLE_WIDTH {
                let e = b.raw(i as usize);
                if e.seq >= from && !f(e)? {
                    return Ok(());
                }
            }
        }
        let mut stmt = self
            .conn
            .prepare("SELECT seq, time_ns, leaf_hash, data FROM tail WHERE seq >= ?1 ORDER BY seq")
            .map_err(|e| self.err(e))?;
        let mut rows = stmt.query([from as i64]).map_err(|e| self.err(e))?;
        while let Some(row) = rows.next().map_err(|e| self.err(e))? {
            if !f(tail_raw(row).map_err(|e| self.err(e))?)? {
                break;
            }
        }
        Ok(())
    }

    /// The first seq whose time is at least `t` (`strict`: greater than `t`): sealed times never
    /// decrease with seq, so a binary search over bundles, then within one.
    pub(crate) fn seq_at_time(&self, t: i64, strict: bool) -> Result<u64, Error> {
        let before = |x: i64| if strict { x <= t } else { x < t };
        let bundles = self.bundles()?;
        let mut last_time = self
            .conn
            .prepare_cached("SELECT last_time_ns FROM bundles WHERE idx = ?1")
            .map_err(|e| self.err(e))?;
        // The first bundle whose last record is not before t.
        let (mut lo, mut hi) = (0u64, bundles);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let time: Option<i64> = last_time
                .query_row([mid as i64], |r| r.get(0))
                .optional()
                .map_err(|e| self.err(e))?;
            if time.is_some_and(before) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        if lo < bundles
            && let Some(b) = self.load(lo, true)?
        {
            let i = (0..BUNDLE_WIDTH as usize)
                .find(|&i| !before(b.time(i)))
                .unwrap_or(BUNDLE_WIDTH as usize);
            return Ok(lo * BUNDLE_WIDTH + i as u64);
        }
        let first: Option<i64> = self
            .conn
            .prepare_cached(&format!(
                "SELECT min(seq) FROM tail WHERE seq >= ?1 AND time_ns {} ?2",
                if strict { ">" } else { ">=" }
            ))
            .map_err(|e| self.err(e))?
            .query_row(params![(bundles * BUNDLE_WIDTH) as i64, t], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        match first {
            Some(s) => Ok(s as u64),
            None => self.size_inner(),
        }
    }

    /// The entry with event id `id` (raw), by binary search: ids strictly increase with seq.
    pub(crate) fn raw_by_id(&self, id: &str) -> Result<Option<StoredEntry>, Error> {
        let bundles = self.bundles()?;
        let mut first_id = self
            .conn
            .prepare_cached("SELECT first_id FROM bundles WHERE idx = ?1")
            .map_err(|e| self.err(e))?;
        // The last bundle whose first id is at most `id`.
        let (mut lo, mut hi) = (0u64, bundles);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let first: Option<String> = first_id
                .query_row([mid as i64], |r| r.get(0))
                .optional()
                .map_err(|e| self.err(e))?;
            if first.is_some_and(|f| f.as_str() <= id) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        let found = |e: &StoredEntry| RecordHead::parse(&e.data).map(|h| h.id.into_owned()).ok();
        let (mut a, mut b) = match lo {
            0 => (bundles * BUNDLE_WIDTH, self.size_inner()?),
            n if n < bundles => ((n - 1) * BUNDLE_WIDTH, n * BUNDLE_WIDTH),
            n => match self.load(n - 1, true)? {
                // Past the last bundle's first id: in that bundle, or in the tail.
                Some(last) if last.first_id() <= id => {
                    let end = last.raw(BUNDLE_WIDTH as usize - 1);
                    if found(&end).is_some_and(|e| e.as_str() >= id) {
                        ((n - 1) * BUNDLE_WIDTH, n * BUNDLE_WIDTH)
                    } else {
                        (n * BUNDLE_WIDTH, self.size_inner()?)
                    }
                }
                _ => ((n - 1) * BUNDLE_WIDTH, n * BUNDLE_WIDTH),
            },
        };
        while a < b {
            let mid = a + (b - a) / 2;
            let Some(e) = self.raw_at(mid)? else {
                b = mid;
                continue;
            };
            match found(&e) {
                Some(have) => match have.as_str().cmp(id) {
                    std::cmp::Ordering::Equal => return Ok(Some(e)),
                    std::cmp::Ordering::Less => a = mid + 1,
                    std::cmp::Ordering::Greater => b = mid,
                },
                None => return Ok(None),
            }
        }
        Ok(None)
    }
}
