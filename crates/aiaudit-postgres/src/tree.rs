//! The tree's stored levels: full tiles, then each level's tile tail (level 0: the tail's leaf
//! hashes).

use aiaudit_core::Hash;
use aiaudit_core::layout::{BUNDLE_WIDTH, split_hashes as hashes, tile_key};

use crate::{Error, PostgresStore};

impl PostgresStore {
    /// The hashes of `level` numbered `start..start + count`, as far as they are stored
    /// consecutively from `start`.
    pub(crate) fn level_hashes(
        &self,
        level: u32,
        start: u64,
        count: u64,
    ) -> Result<Vec<Hash>, Error> {
        let end = start + count;
        let mut out: Vec<Hash> = Vec::with_capacity(count.min(1 << 16) as usize);
        if count == 0 {
            return Ok(out);
        }
        let s = self.schema();
        let (first, last) = (start / BUNDLE_WIDTH, (end - 1) / BUNDLE_WIDTH);
        let sql =
            format!("SELECT id, hashes FROM {s}.tiles WHERE id >= $1 AND id <= $2 ORDER BY id");
        let rows =
            self.read(|c| c.query(&sql, &[&tile_key(level, first), &tile_key(level, last)]))?;
        let mut at = start;
        for r in &rows {
            let n = (r.get::<_, i64>(0) - tile_key(level, 0)) as u64;
            if n != at / BUNDLE_WIDTH {
                break;
            }
            let blob: &[u8] = r.get(1);
            if blob.len() != 32 * BUNDLE_WIDTH as usize {
                return Err(self.inconsistent(format!(
                    "tile {n} of tree level {level} holds {} bytes, not 8192",
                    blob.len()
                )));
            }
            let base = n * BUNDLE_WIDTH;
            let to = end.min(base + BUNDLE_WIDTH);
            out.extend(
                hashes(blob)
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
            let sql = format!(
                "SELECT seq, leaf_hash FROM {s}.tail WHERE seq >= $1 AND seq < $2 ORDER BY seq"
            );
            for r in &self.read(|c| c.query(&sql, &[&(at as i64), &(end as i64)]))? {
                let seq: i64 = r.get(0);
                if seq as u64 != start + out.len() as u64 {
                    break;
                }
                let hash: Hash = r.get::<_, &[u8]>(1).try_into().map_err(|_| {
                    self.inconsistent(format!("the leaf hash of seq {seq} is not 32 bytes"))
                })?;
                out.push(hash);
            }
        } else {
            let sql = format!("SELECT start, hashes FROM {s}.tile_tail WHERE level = $1");
            let row = self.read(|c| c.query_opt(&sql, &[&(level as i32)]))?;
            if let Some(r) = row {
                let first = r.get::<_, i64>(0) as u64;
                if first <= at {
                    let skip = (at - first) as usize;
                    out.extend(hashes(r.get(1)).skip(skip).take((end - at) as usize));
                }
            }
        }
        Ok(out)
    }
}
