//! Appending a batch: the rows `aiaudit_core::layout::plan` computes (bundles with their
//! summaries, tail rows, tiles), written in one transaction with the batch's posting lists and
//! checkpoint.

use aiaudit_core::layout::{self, Head, TailEntry, TileTail};
use aiaudit_core::{AppendBatch, Hash, postings};
use rusqlite::{OptionalExtension, Transaction, params};

use crate::SqliteStore;

/// The head as the open transaction sees it.
struct TxHead<'t, 'c>(&'t Transaction<'c>);

fn sql(e: rusqlite::Error) -> aiaudit_core::Error {
    aiaudit_core::Error::Layout(format!("reading the head: {e}"))
}

impl Head for TxHead<'_, '_> {
    fn tail_from(&self, from: u64) -> aiaudit_core::Result<Vec<TailEntry>> {
        let mut stmt = self
            .0
            .prepare_cached(
                "SELECT seq, time_ns, leaf_hash, data FROM tail WHERE seq >= ?1 ORDER BY seq",
            )
            .map_err(sql)?;
        let mut rows = stmt.query([from as i64]).map_err(sql)?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(sql)? {
            let seq: i64 = r.get(0).map_err(sql)?;
            let leaf: Vec<u8> = r.get(2).map_err(sql)?;
            let leaf_hash: Hash = leaf.try_into().map_err(|_| {
                aiaudit_core::Error::Layout(format!(
                    "the leaf hash of tail row {seq} is not 32 bytes"
                ))
            })?;
            out.push(TailEntry {
                seq: seq as u64,
                time_ns: r.get(1).map_err(sql)?,
                leaf_hash,
                data: r.get(3).map_err(sql)?,
            });
        }
        Ok(out)
    }

    fn tile_tail(&self, level: u32) -> aiaudit_core::Result<Option<TileTail>> {
        self.0
            .prepare_cached("SELECT start, hashes FROM tile_tail WHERE level = ?1")
            .map_err(sql)?
            .query_row([level], |r| {
                Ok(TileTail {
                    level,
                    start: r.get::<_, i64>(0)? as u64,
                    hashes: r.get(1)?,
                })
            })
            .optional()
            .map_err(sql)
    }
}

/// What an append can fail with: SQLite's error (classified by the writer as passing or
/// damage), or a head that breaks the layout (damage).
pub(crate) enum AppendError {
    Sqlite(rusqlite::Error),
    Layout(aiaudit_core::Error),
}

impl From<rusqlite::Error> for AppendError {
    fn from(e: rusqlite::Error) -> Self {
        AppendError::Sqlite(e)
    }
}

impl SqliteStore {
    pub(crate) fn append_tx(&mut self, batch: AppendBatch<'_>) -> Result<(), AppendError> {
        let tx = self.conn.transaction()?;
        {
            let size = crate::entries::size_of(&tx)?;
            let plan = layout::plan(&batch, size, &TxHead(&tx)).map_err(AppendError::Layout)?;
            let mut ins = tx.prepare_cached(
                "INSERT INTO bundles(idx, first_time_ns, last_time_ns, first_id, codec, times, data) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
            let mut summary =
                tx.prepare_cached("INSERT INTO summaries(idx, data) VALUES (?1, ?2)")?;
            for (b, s) in plan.bundles.iter().zip(&plan.summaries) {
                summary.execute(params![b.index as i64, s])?;
            }
            for b in &plan.bundles {
                ins.execute(params![
                    b.index as i64,
                    b.first_time_ns,
                    b.last_time_ns,
                    b.first_id,
                    b.codec,
                    b.times,
                    b.data
                ])?;
            }
            if let Some(below) = plan.drop_tail_below {
                tx.prepare_cached("DELETE FROM tail WHERE seq < ?1")?
                    .execute([below as i64])?;
            }
            let mut tail = tx.prepare_cached(
                "INSERT INTO tail(seq, time_ns, leaf_hash, data) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for e in plan.tail {
                tail.execute(params![e.seq as i64, e.time_ns, &e.leaf_hash[..], e.data])?;
            }
            let mut tile = tx.prepare_cached("INSERT INTO tiles(id, hashes) VALUES (?1, ?2)")?;
            for t in &plan.tiles {
                tile.execute(params![layout::tile_key(t.level, t.index), t.hashes])?;
            }
            let mut tile_tail = tx.prepare_cached(
                "INSERT INTO tile_tail(level, start, hashes) VALUES (?1, ?2, ?3) \
                 ON CONFLICT(level) DO UPDATE SET start = excluded.start, hashes = excluded.hashes",
            )?;
            for t in &plan.tile_tails {
                tile_tail.execute(params![t.level, t.start as i64, t.hashes])?;
            }
            if let Some(first) = batch.entries.first() {
                let mut post = tx.prepare_cached(
                    "INSERT INTO postings(key, batch, last, count, seqs) VALUES (?1, ?2, ?3, ?4, ?5)",
                )?;
                for ((field, value), (seqs, marks)) in postings::build_marked(batch.entries) {
                    let last = seqs.last().copied().unwrap_or(first.seq);
                    post.execute(params![
                        postings::key(field, value),
                        first.seq as i64,
                        last as i64,
                        seqs.len() as i64,
                        postings::Encoding::Marked.encode(field, first.seq, &seqs, &marks),
                    ])?;
                }
            }
            let cp = batch.checkpoint;
            tx.prepare_cached(
                "INSERT INTO checkpoints(size, root, note, time_ns) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![cp.size as i64, &cp.root[..], cp.note, cp.time_ns])?;
        }
        tx.commit()?;
        Ok(())
    }
}
