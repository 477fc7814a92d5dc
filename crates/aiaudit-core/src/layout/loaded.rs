//! Bundles as readers use them: decoded once, with their level-0 tile beside them, and kept in a
//! small cache (stored bundles never change), so that a read walking nearby seqs decompresses
//! each bundle once. Shared by every backend.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use super::{BUNDLE_WIDTH, DecodedBundle, StoredBundle};
use crate::hash::Hash;
use crate::store::StoredEntry;

/// Decoded bundles a [`BundleCache`] keeps.
const CACHED: usize = 8;

/// A stored bundle, decoded: its records (or why they cannot be read) and leaf hashes.
#[derive(Debug)]
pub struct LoadedBundle {
    index: u64,
    /// `Err`: the bundle does not decode, and each of its seqs reads as damage.
    records: Result<DecodedBundle, String>,
    first_time_ns: i64,
    first_id: String,
    /// Tile (0, N); all zero when that tile is missing or malformed, so that every seq fails
    /// its leaf-hash check instead of the read failing.
    leaves: Vec<Hash>,
}

impl LoadedBundle {
    /// Decodes `stored`, with `tile` the stored level-0 tile of the same number.
    pub fn new(stored: StoredBundle, tile: Option<&[u8]>) -> Self {
        let records = stored.decode().map_err(|e| e.to_string());
        Self::with(stored, records, tile)
    }

    /// An archived bundle (`stored` has [`super::CODEC_ARCHIVED`]) with the records the archive
    /// gave for it. Records that disagree with the leaf hashes read as they are: `verify`
    /// names each such seq.
    pub fn archived(stored: StoredBundle, records: Vec<Vec<u8>>, tile: Option<&[u8]>) -> Self {
        let records = stored.with_records(records).map_err(|e| e.to_string());
        Self::with(stored, records, tile)
    }

    fn with(
        stored: StoredBundle,
        records: Result<DecodedBundle, String>,
        tile: Option<&[u8]>,
    ) -> Self {
        let leaves = match tile {
            Some(t) if t.len() == 32 * BUNDLE_WIDTH as usize => super::split_hashes(t).collect(),
            _ => vec![[0u8; 32]; BUNDLE_WIDTH as usize],
        };
        LoadedBundle {
            index: stored.index,
            records,
            first_time_ns: stored.first_time_ns,
            first_id: stored.first_id,
            leaves,
        }
    }

    /// N: the bundle holds seqs 256·N … 256·N + 255.
    pub fn index(&self) -> u64 {
        self.index
    }

    /// The id of its first record, as stored.
    pub fn first_id(&self) -> &str {
        &self.first_id
    }

    /// Entry `i` of the bundle, raw (only seq, time, leaf hash and data set). A bundle that
    /// does not decode gives empty records at its seqs.
    pub fn raw(&self, i: usize) -> StoredEntry {
        let seq = self.index * BUNDLE_WIDTH + i as u64;
        let leaf = self.leaves.get(i).copied().unwrap_or([0; 32]);
        match &self.records {
            Ok(d) => StoredEntry::raw(
                seq,
                d.times.get(i).copied().unwrap_or(self.first_time_ns),
                leaf,
                d.record(i).map(<[u8]>::to_vec).unwrap_or_default(),
            ),
            Err(_) => StoredEntry::raw(seq, self.first_time_ns, leaf, Vec::new()),
        }
    }

    /// The sealed time of entry `i`.
    pub fn time(&self, i: usize) -> i64 {
        match &self.records {
            Ok(d) => d.times.get(i).copied().unwrap_or(self.first_time_ns),
            Err(_) => self.first_time_ns,
        }
    }
}

/// The last few bundles a store decoded, newest use last.
#[derive(Debug, Default)]
pub struct BundleCache(Mutex<VecDeque<Arc<LoadedBundle>>>);

impl BundleCache {
    /// Bundle `n`, if cached.
    pub fn get(&self, n: u64) -> Option<Arc<LoadedBundle>> {
        let slots = self.0.lock().ok()?;
        slots.iter().find(|l| l.index == n).map(Arc::clone)
    }

    /// Forgets every cached bundle (the archive a store reads through changed).
    pub fn clear(&self) {
        if let Ok(mut slots) = self.0.lock() {
            slots.clear();
        }
    }

    /// Keeps `b`, dropping the least recently kept bundle when full.
    pub fn put(&self, b: &Arc<LoadedBundle>) {
        if let Ok(mut slots) = self.0.lock() {
            if slots.iter().any(|l| l.index == b.index) {
                return;
            }
            if slots.len() == CACHED {
                slots.pop_front();
            }
            slots.push_back(Arc::clone(b));
        }
    }
}
