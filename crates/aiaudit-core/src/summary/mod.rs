//! Per-bundle summaries (docs/format.md §5): for each full entry bundle of 256 records, what a
//! model's usage report needs of them, per model: events by status and day, predictions, the
//! users seen, the labels, each version's first and last prediction, the latencies in seq
//! order. The store writes the summary in the transaction that writes the bundle; a report
//! merges summaries instead of parsing every record, and `verify` rebuilds each summary from
//! its records and compares.
//!
//! ```
//! use aiaudit_core::summary::Summary;
//!
//! let rec = br#"{"seq":0,"id":"x","model":{"name":"risk","version":"2"},"actor":{"user":"ana"},"details":{"latency_ms":12.5,"output":{"prediction":"approved"}},"status":"INFO","time":"2026-11-24T10:00:00.000000000Z","type":"model_inference"}"#;
//! let s = Summary::of([&rec[..], &rec[..]])?;
//! let risk = &s.models["risk"];
//! assert_eq!((risk.predictions, risk.users.len(), risk.latencies.len()), (2, 1, 2));
//! assert_eq!(Summary::decode(&s.encode()?)?, s);
//! # Ok::<(), aiaudit_core::Error>(())
//! ```

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

use crate::event::types;
use crate::store::RecordHead;
use crate::{Error, Result, zstd_frame};

/// Records per summary: one summary per full entry bundle (the layout's bundle width, which a
/// test of the layout checks it equals).
pub const SPAN: u64 = 256;

/// The largest decoded summary accepted (256 records of at most 1 MiB each).
const MAX_DECODED: usize = 256 << 20;

/// Events of a model on one UTC day.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Day {
    /// Events that day.
    pub total: u64,
    /// Events that day by status.
    pub statuses: BTreeMap<String, u64>,
}

/// A model version's predictions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Version {
    /// Sealed time of its first prediction.
    pub first: String,
    /// Sealed time of its last prediction.
    pub last: String,
    /// How many.
    pub predictions: u64,
}

/// What a stretch of the log holds about one model: every event naming it, and of those its
/// predictions (`model_inference` events). Stretches merge in seq order ([`ModelUsage::merge`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelUsage {
    /// Events naming the model.
    pub events: u64,
    /// Those events by status.
    pub statuses: BTreeMap<String, u64>,
    /// Those events by UTC day (`YYYY-MM-DD`).
    pub days: BTreeMap<String, Day>,
    /// Predictions.
    pub predictions: u64,
    /// Users of the predictions.
    pub users: BTreeSet<String>,
    /// Predictions by label ([`RecordHead::label`]).
    pub labels: BTreeMap<String, u64>,
    /// Predictions by version (`null` for none).
    pub versions: BTreeMap<String, Version>,
    /// Latencies of the predictions that give one, in seq order.
    pub latencies: Vec<f64>,
    /// Sealed time of the first prediction.
    pub first: Option<String>,
    /// Sealed time of the last prediction.
    pub last: Option<String>,
}

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

impl ModelUsage {
    /// Adds the event `h` (which names this model).
    pub fn add(&mut self, h: &RecordHead<'_>) {
        self.events += 1;
        bump(&mut self.statuses, &h.status);
        let day = match self.days.get_mut(h.day()) {
            Some(d) => d,
            None => self.days.entry(h.day().to_owned()).or_default(),
        };
        day.total += 1;
        bump(&mut day.statuses, &h.status);
        if h.kind != types::MODEL_INFERENCE {
            return;
        }
        self.predictions += 1;
        if let Some(u) = h.user()
            && !self.users.contains(u)
        {
            self.users.insert(u.to_owned());
        }
        bump(&mut self.labels, &h.label());
        let version = h.version().unwrap_or("null");
        match self.versions.get_mut(version) {
            Some(v) => {
                v.last.clear();
                v.last.push_str(&h.time);
                v.predictions += 1;
            }
            None => {
                self.versions.insert(
                    version.to_owned(),
                    Version {
                        first: h.time.to_string(),
                        last: h.time.to_string(),
                        predictions: 1,
                    },
                );
            }
        }
        if let Some(l) = h.latency_ms() {
            self.latencies.push(l);
        }
        // Seq order is time order: the first prediction seen is the first made.
        if self.first.is_none() {
            self.first = Some(h.time.to_string());
        }
        let last = self.last.get_or_insert_with(String::new);
        last.clear();
        last.push_str(&h.time);
    }

    /// Adds what a later stretch of the log holds.
    pub fn merge(&mut self, later: &ModelUsage) {
        self.events += later.events;
        for (k, n) in &later.statuses {
            *self.statuses.entry(k.clone()).or_default() += n;
        }
        for (k, d) in &later.days {
            let mine = self.days.entry(k.clone()).or_default();
            mine.total += d.total;
            for (s, n) in &d.statuses {
                *mine.statuses.entry(s.clone()).or_default() += n;
            }
        }
        self.predictions += later.predictions;
        for u in &later.users {
            if !self.users.contains(u) {
                self.users.insert(u.clone());
            }
        }
        for (k, n) in &later.labels {
            *self.labels.entry(k.clone()).or_default() += n;
        }
        for (k, v) in &later.versions {
            match self.versions.get_mut(k) {
                Some(mine) => {
                    mine.last.clone_from(&v.last);
                    mine.predictions += v.predictions;
                }
                None => {
                    self.versions.insert(k.clone(), v.clone());
                }
            }
        }
        self.latencies.extend_from_slice(&later.latencies);
        if self.first.is_none() {
            self.first.clone_from(&later.first);
        }
        if later.last.is_some() {
            self.last.clone_from(&later.last);
        }
    }
}

/// The summary of a stretch of records: each model's usage, by model name. Records naming no
/// model add nothing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    /// Usage by model name.
    pub models: BTreeMap<String, ModelUsage>,
}

impl Summary {
    /// Adds one sealed record; an error if it is not one.
    pub fn add(&mut self, record: &[u8]) -> Result<()> {
        self.add_head(&RecordHead::parse(record)?);
        Ok(())
    }

    /// Adds a record by its parsed head (for a reader that parses it anyway).
    pub fn add_head(&mut self, h: &RecordHead<'_>) {
        if let Some(name) = h.model_name() {
            match self.models.get_mut(name) {
                Some(m) => m.add(h),
                None => self.models.entry(name.to_owned()).or_default().add(h),
            }
        }
    }

    /// The summary of `records`, in seq order.
    pub fn of<'a>(records: impl IntoIterator<Item = &'a [u8]>) -> Result<Summary> {
        let mut s = Summary::default();
        for r in records {
            s.add(r)?;
        }
        Ok(s)
    }

    /// The stored bytes: the summary as JSON (members in the order of the structs above, maps
    /// sorted by key, numbers as `serde_json` writes them, which read back exactly), in one
    /// zstd frame with its content size and a checksum.
    pub fn encode(&self) -> Result<Vec<u8>> {
        let json = serde_json::to_vec(self)?;
        zstd_frame::compress(&json)
            .map_err(|e| Error::Layout(format!("compressing a summary: {e}")))
    }

    /// Reads stored bytes back; [`Error::Layout`] if they are not a summary.
    pub fn decode(bytes: &[u8]) -> Result<Summary> {
        let json = zstd_frame::decompress(bytes, MAX_DECODED)
            .map_err(|e| Error::Layout(format!("a stored summary does not decompress: {e}")))?;
        serde_json::from_slice(&json)
            .map_err(|e| Error::Layout(format!("a stored summary does not parse: {e}")))
    }
}

#[cfg(test)]
mod tests;
