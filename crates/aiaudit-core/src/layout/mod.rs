//! The stored form of a log, format v2 (docs/format.md §5): records in entry bundles of 256,
//! compressed; the tree in tiles of 256 hashes at every [`NODE_STRIDE`]-th level; the records
//! after the last full bundle as rows of their own (the *tail*), and the hashes after the last
//! full tile of each level as one row per level (the *tile tails*), until they fill.
//!
//! Backends decide nothing here: [`plan`] turns a batch and the head's state into the rows to
//! write, and [`StoredBundle`] encodes and decodes bundles, so that SQLite and PostgreSQL hold
//! the same bytes.

mod bundle;
mod loaded;

pub use bundle::{
    CODEC_ARCHIVED, CODEC_ZSTD_U16, CODEC_ZSTD_U32, DecodedBundle, StoredBundle, ZSTD_LEVEL,
};
pub use loaded::{BundleCache, LoadedBundle};

use crate::error::{Error, Result};
use crate::hash::Hash;
use crate::merkle::NODE_STRIDE;
use crate::store::{AppendBatch, RecordHead, StoredEntry};
use crate::summary::Summary;

/// Records per bundle and hashes per tile (c2sp.org/tlog-tiles).
pub const BUNDLE_WIDTH: u64 = 256;

/// A record after the last full bundle, as the tail keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TailEntry {
    /// Its seq.
    pub seq: u64,
    /// Sealed time, Unix ns.
    pub time_ns: i64,
    /// Its leaf hash.
    pub leaf_hash: Hash,
    /// Its leaf data.
    pub data: Vec<u8>,
}

/// The hashes of one tree level after its last full tile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TileTail {
    /// Tree level (a multiple of [`NODE_STRIDE`], above 0: level 0's are in the tail).
    pub level: u32,
    /// Index of the first hash (a multiple of 256).
    pub start: u64,
    /// 0–255 hashes, concatenated.
    pub hashes: Vec<u8>,
}

/// A full tile: 256 hashes of tree level `level`, numbers 256·`index` … 256·`index` + 255.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FullTile {
    /// Tree level (a multiple of [`NODE_STRIDE`]); the tile API's level L is tree level 8·L.
    pub level: u32,
    /// N.
    pub index: u64,
    /// 8,192 bytes.
    pub hashes: Vec<u8>,
}

/// What the head of a store holds before a batch: read inside the append's transaction.
pub trait Head {
    /// The tail rows with seq ≥ `from`, in seq order.
    fn tail_from(&self, from: u64) -> Result<Vec<TailEntry>>;
    /// The tile tail of `level`, if one was written.
    fn tile_tail(&self, level: u32) -> Result<Option<TileTail>>;
}

/// The rows one batch writes.
#[derive(Debug)]
pub struct Plan<'a> {
    /// Bundles the batch completes.
    pub bundles: Vec<StoredBundle>,
    /// Tail rows below this seq are deleted: their bundle is in `bundles`.
    pub drop_tail_below: Option<u64>,
    /// The batch's entries that go into the tail.
    pub tail: &'a [StoredEntry],
    /// The [`crate::summary`] of each bundle in `bundles`, encoded, in the same order.
    pub summaries: Vec<Vec<u8>>,
    /// Tiles the batch completes, level 0 included.
    pub tiles: Vec<FullTile>,
    /// The new tile tail of each level the batch changed.
    pub tile_tails: Vec<TileTail>,
}

/// The rows that append `batch` to a store of `size` entries whose head is `head`.
pub fn plan<'a>(batch: &AppendBatch<'a>, size: u64, head: &dyn Head) -> Result<Plan<'a>> {
    let entries = batch.entries;
    let end = size + entries.len() as u64;
    if let Some((i, e)) = entries
        .iter()
        .enumerate()
        .find(|(i, e)| e.seq != size + *i as u64)
    {
        return Err(Error::Layout(format!(
            "batch entry {i} has seq {} where {} was expected",
            e.seq,
            size + i as u64
        )));
    }
    let first_open = size / BUNDLE_WIDTH;
    let full_end = end / BUNDLE_WIDTH;
    let mut bundles = Vec::new();
    let mut summaries = Vec::new();
    let mut tiles = Vec::new();
    let mut drop_tail_below = None;
    if full_end > first_open {
        let before = if size.is_multiple_of(BUNDLE_WIDTH) {
            Vec::new()
        } else {
            head.tail_from(first_open * BUNDLE_WIDTH)?
        };
        if before.len() as u64 != size % BUNDLE_WIDTH
            || before
                .iter()
                .enumerate()
                .any(|(i, t)| t.seq != first_open * BUNDLE_WIDTH + i as u64)
        {
            return Err(Error::Layout(format!(
                "the tail holds {} rows from seq {} where {} were expected",
                before.len(),
                first_open * BUNDLE_WIDTH,
                size % BUNDLE_WIDTH
            )));
        }
        if !before.is_empty() {
            drop_tail_below = Some(full_end * BUNDLE_WIDTH);
        }
        let mut taken = 0usize;
        for n in first_open..full_end {
            let mut records: Vec<(i64, &[u8])> = Vec::with_capacity(BUNDLE_WIDTH as usize);
            let mut hashes = Vec::with_capacity(BUNDLE_WIDTH as usize * 32);
            let mut first_id = None;
            if n == first_open {
                for t in &before {
                    records.push((t.time_ns, &t.data));
                    hashes.extend_from_slice(&t.leaf_hash);
                }
                if let Some(t) = before.first() {
                    first_id = Some(
                        RecordHead::parse(&t.data)
                            .map_err(|_| {
                                Error::Layout(format!("tail row {} is not a record", t.seq))
                            })?
                            .id
                            .into_owned(),
                    );
                }
            }
            while (records.len() as u64) < BUNDLE_WIDTH {
                let e = &entries[taken];
                taken += 1;
                records.push((e.time_ns, &e.data));
                hashes.extend_from_slice(&e.leaf_hash);
                if first_id.is_none() {
                    first_id = Some(e.id.clone());
                }
            }
            let mut summary = Summary::default();
            for (i, (_, data)) in records.iter().enumerate() {
                summary.add(data).map_err(|e| {
                    Error::Layout(format!(
                        "seq {} is not a record ({e})",
                        n * BUNDLE_WIDTH + i as u64
                    ))
                })?;
            }
            summaries.push(summary.encode()?);
            bundles.push(StoredBundle::encode(
                n,
                &records,
                first_id.as_deref().unwrap_or_default(),
            )?);
            tiles.push(FullTile {
                level: 0,
                index: n,
                hashes,
            });
        }
    }
    let tail_from = ((full_end * BUNDLE_WIDTH).max(size) - size) as usize;
    let mut tile_tails = Vec::new();
    // Nodes come in the order they completed, levels interleaved: group them by level.
    let mut by_level: std::collections::BTreeMap<u32, Vec<&crate::merkle::CompletedNode>> =
        std::collections::BTreeMap::new();
    for n in batch.nodes {
        by_level.entry(n.level).or_default().push(n);
    }
    for (level, these) in by_level {
        let first = these[0];
        if level == 0 || !level.is_multiple_of(NODE_STRIDE) {
            return Err(Error::Layout(format!(
                "a batch node at level {level} is not stored"
            )));
        }
        let start = first.index - first.index % BUNDLE_WIDTH;
        let mut open = match head.tile_tail(level)? {
            Some(t) if t.start + (t.hashes.len() / 32) as u64 == first.index => t,
            None if first.index.is_multiple_of(BUNDLE_WIDTH) => TileTail {
                level,
                start,
                hashes: Vec::new(),
            },
            found => {
                return Err(Error::Layout(format!(
                    "level {level}'s tile tail ({}) does not end where node {} follows",
                    found.map_or("none".into(), |t| format!(
                        "{} hashes from {}",
                        t.hashes.len() / 32,
                        t.start
                    )),
                    first.index
                )));
            }
        };
        for (i, n) in these.iter().enumerate() {
            if n.index != first.index + i as u64 {
                return Err(Error::Layout(format!(
                    "batch nodes at level {level} skip from {} to {}",
                    first.index + i as u64 - 1,
                    n.index
                )));
            }
            open.hashes.extend_from_slice(&n.hash);
            if open.hashes.len() as u64 == BUNDLE_WIDTH * 32 {
                tiles.push(FullTile {
                    level,
                    index: open.start / BUNDLE_WIDTH,
                    hashes: std::mem::take(&mut open.hashes),
                });
                open.start += BUNDLE_WIDTH;
            }
        }
        tile_tails.push(open);
    }
    Ok(Plan {
        bundles,
        summaries,
        drop_tail_below,
        tail: &entries[tail_from..],
        tiles,
        tile_tails,
    })
}

/// The hashes of a tile or tile tail: its bytes in 32-byte pieces (a shorter rest is dropped).
pub fn split_hashes(blob: &[u8]) -> impl Iterator<Item = Hash> + '_ {
    blob.chunks_exact(32).map(|c| {
        let mut h = [0u8; 32];
        h.copy_from_slice(c);
        h
    })
}

/// Row key of tile (`level`, `index`) in stores that key tiles by one integer.
pub fn tile_key(level: u32, index: u64) -> i64 {
    ((u64::from(level) << 48) | index) as i64
}

#[cfg(test)]
mod tests;
