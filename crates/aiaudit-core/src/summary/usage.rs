//! A model's usage over a stretch of the log: what the usage report reads.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

use super::{add_counts, bump};
use crate::event::types;
use crate::store::RecordHead;

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
        add_counts(&mut self.statuses, &later.statuses);
        for (k, d) in &later.days {
            let mine = self.days.entry(k.clone()).or_default();
            mine.total += d.total;
            add_counts(&mut mine.statuses, &d.statuses);
        }
        self.predictions += later.predictions;
        for u in &later.users {
            if !self.users.contains(u) {
                self.users.insert(u.clone());
            }
        }
        add_counts(&mut self.labels, &later.labels);
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
