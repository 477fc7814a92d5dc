//! The tree's stored levels: full tiles, then each level's tile tail (level 0: the tail's leaf
//! hashes).

use aiaudit_core::layout::{BUNDLE_WIDTH, split_hashes as hashes, tile_key};
use aiaudit_core::{Hash, NodeSource};
use rusqlite::{OptionalExtension, params};

use crate::{Error, SqliteStore};

impl SqliteStore {
    /// The hashes of `level` numbered `start..start + count`, as far as they are stored
    /// consecutively from `start`.
    fn level_hashes(&self, level: u32, start: u64, count: u64) -> Result<Vec<Hash>, Error> {
        let end = start + count;
        let mut out: Vec<Hash> = Vec::with_capacity(count.min(1 << 16) as usize);
        let mut tile = self
            .conn
            .prepare_cached("SELECT hashes FROM tiles WHERE id = ?1")
            .map_err(|e| self.err(e))?;
        let mut at = start;
        while at < end {
            let n = at / BUNDLE_WIDTH;
            let blob: Option<Vec<u8>> = tile
                .query_row([tile_key(level, n)], |r| r.get(0))
                .optional()
                .map_err(|e| self.err(e))?;
            let Some(blob) = blob else { break };
            if blob.len() != 32 * BUNDLE_WIDTH as usize {
                return Err(self.inconsistent(format!(
                    "tile {n} of tree level {level} holds {} bytes, not 8192",
                    blob.len()
                )));
            }
            let base = n * BUNDLE_WIDTH;
            let to = end.min(base + BUNDLE_WIDTH);
            out.extend(
                hashes(&blob)
                    .skip((at - base) as usize)
                    .take((to - at) as usize),
            );
            at = to;
        }
        if at == end {
            return Ok(out);
        }
        // The head's partial tile.
        if level == 0 {
            let mut stmt = self
                .conn
                .prepare_cached(
                    "SELECT seq, leaf_hash FROM tail WHERE seq >= ?1 AND seq < ?2 ORDER BY seq",
                )
                .map_err(|e| self.err(e))?;
            let mut rows = stmt
                .query(params![at as i64, end as i64])
                .map_err(|e| self.err(e))?;
            while let Some(row) = rows.next().map_err(|e| self.err(e))? {
                let seq: i64 = row.get(0).map_err(|e| self.err(e))?;
                if seq as u64 != start + out.len() as u64 {
                    break;
                }
                let blob: Vec<u8> = row.get(1).map_err(|e| self.err(e))?;
                let hash: Hash = blob.try_into().map_err(|_| {
                    self.inconsistent(format!("the leaf hash of seq {seq} is not 32 bytes"))
                })?;
                out.push(hash);
            }
        } else {
            let row: Option<(i64, Vec<u8>)> = self
                .conn
                .prepare_cached("SELECT start, hashes FROM tile_tail WHERE level = ?1")
                .map_err(|e| self.err(e))?
                .query_row([level], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
                .map_err(|e| self.err(e))?;
            if let Some((first, blob)) = row
                && first as u64 <= at
            {
                let skip = (at - first as u64) as usize;
                out.extend(hashes(&blob).skip(skip).take((end - at) as usize));
            }
        }
        Ok(out)
    }
}

impl NodeSource for SqliteStore {
    fn stored_nodes(&self, level: u32, start: u64, count: u64) -> aiaudit_core::Result<Vec<Hash>> {
        let hashes = self.level_hashes(level, start, count)?;
        if hashes.len() as u64 != count {
            return Err(aiaudit_core::Error::MissingNodes {
                level,
                index: start + hashes.len() as u64,
            });
        }
        Ok(hashes)
    }
}
