//! Per-bundle summaries (docs/format.md §5): for each full entry bundle of 256 records, what the
//! reports need of them, so that a report merges summaries instead of parsing every record.
//! The store writes the summary in the transaction that writes the bundle, and `verify`
//! rebuilds each summary from its records and compares. Three parts:
//!
//! - [`ModelUsage`] per model (the usage report): events by status and day, predictions, the
//!   users seen, the labels, each version's first and last prediction, the latencies in seq
//!   order;
//! - [`Act`] (the AI Act report): segments of use per model, trainings, evaluations and
//!   deployments per version, datasets, verifiers, incidents;
//! - [`Operations`] (the operations report): each operation's counts, names, regulations,
//!   state and the seqs of its events.
//!
//! Summaries of consecutive stretches merge in seq order ([`Summary::merge`]) into the summary
//! of the whole, which a property test checks.
//!
//! ```
//! use aiaudit_core::summary::Summary;
//!
//! let rec = br#"{"seq":0,"id":"x","model":{"name":"risk","version":"2"},"actor":{"user":"ana"},"details":{"latency_ms":12.5,"output":{"prediction":"approved"}},"status":"INFO","time":"2026-11-24T10:00:00.000000000Z","type":"model_inference"}"#;
//! let s = Summary::of([&rec[..], &rec[..]])?;
//! let risk = &s.models["risk"];
//! assert_eq!((risk.predictions, risk.users.len(), risk.latencies.len()), (2, 1, 2));
//! assert_eq!(s.act.segments["risk"].len(), 1);
//! assert_eq!(Summary::decode(&s.encode()?)?, s);
//! # Ok::<(), aiaudit_core::Error>(())
//! ```

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

mod act;
mod operations;
mod usage;

pub use act::{Act, Deployment, Incidents, SEGMENT_GAP_NS, Segment, Use, VersionUse};
pub use operations::{CLOSED, OperationUse, Operations};
pub use usage::{Day, ModelUsage, Version};

use crate::store::RecordHead;
use crate::{Error, Result, zstd_frame};

/// Records per summary: one summary per full entry bundle (the layout's bundle width, which a
/// test of the layout checks it equals).
pub const SPAN: u64 = 256;

/// How many items a merged list keeps (deployments per version, incident seqs, event seqs per
/// operation): the reports list at most this many rows.
pub const MAX_LISTED: usize = 1_000;

/// The largest decoded summary accepted (256 records of at most 1 MiB each).
const MAX_DECODED: usize = 256 << 20;

/// Adds one to `key`'s count without allocating when it is already there (the summaries' and
/// the reports' counting).
pub fn bump(m: &mut BTreeMap<String, u64>, key: &str) {
    match m.get_mut(key) {
        Some(n) => *n += 1,
        None => {
            m.insert(key.to_owned(), 1);
        }
    }
}

/// Adds `later`'s counts to `m`'s.
fn add_counts(m: &mut BTreeMap<String, u64>, later: &BTreeMap<String, u64>) {
    for (k, n) in later {
        match m.get_mut(k) {
            Some(mine) => *mine += n,
            None => {
                m.insert(k.clone(), *n);
            }
        }
    }
}

/// The summary of a stretch of records.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    /// Usage by model name; records naming no model add nothing here.
    pub models: BTreeMap<String, ModelUsage>,
    /// What the AI Act report reads.
    pub act: Act,
    /// What the operations report reads.
    pub operations: Operations,
}

impl Summary {
    /// Adds one sealed record; an error if it is not one.
    pub fn add(&mut self, record: &[u8]) -> Result<()> {
        self.add_head(&RecordHead::parse(record)?);
        Ok(())
    }

    /// Adds a record by its parsed head (for a reader that parses it anyway). Records are
    /// added in seq order.
    pub fn add_head(&mut self, h: &RecordHead<'_>) {
        if let Some(name) = h.model_name() {
            match self.models.get_mut(name) {
                Some(m) => m.add(h),
                None => self.models.entry(name.to_owned()).or_default().add(h),
            }
        }
        self.act.add(h, SEGMENT_GAP_NS);
        self.operations.add(h);
    }

    /// Adds what the stretch of the log right after this one holds.
    pub fn merge(&mut self, later: &Summary) {
        for (name, usage) in &later.models {
            match self.models.get_mut(name) {
                Some(m) => m.merge(usage),
                None => {
                    self.models.insert(name.clone(), usage.clone());
                }
            }
        }
        self.act.merge(&later.act, SEGMENT_GAP_NS);
        self.operations.merge(&later.operations);
    }

    /// The summary of `records`, in seq order.
    pub fn of<'a>(records: impl IntoIterator<Item = &'a [u8]>) -> Result<Summary> {
        let mut s = Summary::default();
        for r in records {
            s.add(r)?;
        }
        Ok(s)
    }

    /// The stored bytes: the summary as JSON (members in the order of the structs, maps sorted
    /// by key, numbers as `serde_json` writes them, which read back exactly), in one zstd frame
    /// with its content size and a checksum.
    pub fn encode(&self) -> Result<Vec<u8>> {
        let json = serde_json::to_vec(self)?;
        zstd_frame::compress(&json)
            .map_err(|e| Error::Layout(format!("compressing a summary: {e}")))
    }

    /// Reads stored bytes back; [`Error::Layout`] if they are not a summary.
    pub fn decode(bytes: &[u8]) -> Result<Summary> {
        Self::decode_as(bytes)
    }

    /// The usage of `model` in stored bytes (the usage report's read: the AI Act and operations
    /// parts are skipped unbuilt); [`Error::Layout`] if they are not a summary.
    pub fn decode_model(bytes: &[u8], model: &str) -> Result<Option<ModelUsage>> {
        #[derive(Deserialize)]
        struct Only {
            models: BTreeMap<String, ModelUsage>,
        }
        Ok(Self::decode_as::<Only>(bytes)?.models.remove(model))
    }

    /// Only the AI Act part of stored bytes; [`Error::Layout`] if they are not a summary.
    pub fn decode_act(bytes: &[u8]) -> Result<Act> {
        #[derive(Deserialize)]
        struct Only {
            act: Act,
        }
        Ok(Self::decode_as::<Only>(bytes)?.act)
    }

    /// Only the operations part of stored bytes; [`Error::Layout`] if they are not a summary.
    pub fn decode_operations(bytes: &[u8]) -> Result<Operations> {
        #[derive(Deserialize)]
        struct Only {
            operations: Operations,
        }
        Ok(Self::decode_as::<Only>(bytes)?.operations)
    }

    /// Stored bytes decoded as `T` (the summary or a view of some of its members).
    fn decode_as<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T> {
        serde_json::from_slice(&Self::json(bytes)?)
            .map_err(|e| Error::Layout(format!("a stored summary does not parse: {e}")))
    }

    fn json(bytes: &[u8]) -> Result<Vec<u8>> {
        zstd_frame::decompress(bytes, MAX_DECODED)
            .map_err(|e| Error::Layout(format!("a stored summary does not decompress: {e}")))
    }
}

#[cfg(test)]
mod tests;
