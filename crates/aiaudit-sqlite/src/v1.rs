//! Reading a log in the first layout (one `entries` row per record, tree nodes as `nodes`
//! rows), so that `aiaudit migrate --to-v2` can copy it. Nothing else opens such a file.

use std::path::Path;

use aiaudit_core::{
    AppendBatch, Hash, LogInfo, NodeSource, Query, Store, StoredCheckpoint, StoredEntry,
};
use rusqlite::{OptionalExtension, params};

use crate::{Error, SqliteStore};

/// A v1 log, open for reading only.
#[derive(Debug)]
pub struct V1Log {
    inner: SqliteStore,
}

fn refuse(what: &str) -> aiaudit_core::Error {
    aiaudit_core::Error::store(Error::Invalid(format!(
        "a v1 log can only be read to migrate it ({what}): run `aiaudit migrate --to-v2` first"
    )))
}

impl V1Log {
    /// Opens the v1 log at `path`; a file in another layout is refused.
    pub fn open(path: &Path) -> Result<Self, Error> {
        Ok(V1Log {
            inner: SqliteStore::open_as(path, true)?,
        })
    }

    /// Moves every transaction of the write-ahead log into the file, so that the file alone is
    /// the log (before it is renamed).
    pub fn checkpoint_wal(&self) -> Result<(), Error> {
        self.inner
            .conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .map_err(|e| self.inner.err(e))
    }

    fn raw(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredEntry> {
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
}

impl NodeSource for V1Log {
    fn stored_nodes(&self, level: u32, start: u64, count: u64) -> aiaudit_core::Result<Vec<Hash>> {
        let s = &self.inner;
        let (sql, lo, hi) = if level == 0 {
            (
                "SELECT seq, leaf_hash FROM entries WHERE seq >= ?1 AND seq < ?2 ORDER BY seq",
                start as i64,
                (start + count) as i64,
            )
        } else {
            let id = |i: u64| ((u64::from(level) << 48) | i) as i64;
            (
                "SELECT id, hash FROM nodes WHERE id >= ?1 AND id < ?2 ORDER BY id",
                id(start),
                id(start + count),
            )
        };
        let mut stmt = s.conn.prepare_cached(sql).map_err(|e| s.err(e))?;
        let mut rows = stmt.query(params![lo, hi]).map_err(|e| s.err(e))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(|e| s.err(e))? {
            let key: i64 = row.get(0).map_err(|e| s.err(e))?;
            let blob: Vec<u8> = row.get(1).map_err(|e| s.err(e))?;
            match Hash::try_from(blob) {
                Ok(h) if key == lo + out.len() as i64 => out.push(h),
                _ => break,
            }
        }
        if out.len() as u64 != count {
            return Err(aiaudit_core::Error::MissingNodes {
                level,
                index: start + out.len() as u64,
            });
        }
        Ok(out)
    }
}

impl Store for V1Log {
    fn info(&self) -> aiaudit_core::Result<LogInfo> {
        self.inner.info()
    }

    fn size(&self) -> aiaudit_core::Result<u64> {
        let max: Option<i64> = self
            .inner
            .conn
            .query_row("SELECT max(seq) FROM entries", [], |r| r.get(0))
            .map_err(|e| self.inner.err(e))?;
        Ok(max.map_or(0, |m| m as u64 + 1))
    }

    fn append(&mut self, _: AppendBatch<'_>) -> aiaudit_core::Result<()> {
        Err(refuse("appending"))
    }

    fn entry(&self, seq: u64) -> aiaudit_core::Result<Option<StoredEntry>> {
        let s = &self.inner;
        Ok(s.conn
            .prepare_cached("SELECT seq, time_ns, leaf_hash, data FROM entries WHERE seq = ?1")
            .map_err(|e| s.err(e))?
            .query_row([seq as i64], Self::raw)
            .optional()
            .map_err(|e| s.err(e))?
            .map(|e| StoredEntry::from_stored(e.seq, e.time_ns, e.leaf_hash, e.data)))
    }

    fn entry_by_id(&self, _: &str) -> aiaudit_core::Result<Option<StoredEntry>> {
        Err(refuse("finding an event by id"))
    }

    fn query(&self, _: &Query) -> aiaudit_core::Result<Vec<StoredEntry>> {
        Err(refuse("a query"))
    }

    fn scan(
        &self,
        from: u64,
        f: &mut dyn FnMut(StoredEntry) -> aiaudit_core::Result<bool>,
    ) -> aiaudit_core::Result<()> {
        let s = &self.inner;
        let mut stmt = s
            .conn
            .prepare(
                "SELECT seq, time_ns, leaf_hash, data FROM entries WHERE seq >= ?1 ORDER BY seq",
            )
            .map_err(|e| s.err(e))?;
        let mut rows = stmt.query([from as i64]).map_err(|e| s.err(e))?;
        while let Some(row) = rows.next().map_err(|e| s.err(e))? {
            if !f(Self::raw(row).map_err(|e| s.err(e))?)? {
                break;
            }
        }
        Ok(())
    }

    fn checkpoint(&self, size: u64) -> aiaudit_core::Result<Option<StoredCheckpoint>> {
        self.inner.checkpoint(size)
    }

    fn latest_checkpoint(&self) -> aiaudit_core::Result<Option<StoredCheckpoint>> {
        self.inner.latest_checkpoint()
    }

    fn checkpoints(
        &self,
        f: &mut dyn FnMut(StoredCheckpoint) -> aiaudit_core::Result<bool>,
    ) -> aiaudit_core::Result<()> {
        self.inner.checkpoints(f)
    }

    fn read_snapshot(
        &self,
        f: &mut dyn FnMut() -> aiaudit_core::Result<()>,
    ) -> aiaudit_core::Result<()> {
        self.inner.read_snapshot(f)
    }
}
