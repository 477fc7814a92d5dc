//! What the AI Act report reads of a stretch of the log: segments of use per model, each
//! version's predictions, trainings, evaluations and deployments, the datasets read, the people
//! who verified results, and the incidents. The server's own `access` and `admin` records are
//! not events of the AI system and add nothing here.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;
use std::collections::{BTreeMap, BTreeSet};

use super::{MAX_LISTED, add_counts, bump};
use crate::event::types;
use crate::store::RecordHead;
use crate::timefmt::parse_sealed_time;

/// Predictions of a model further apart than this (in sealed time) end a stored segment of
/// use. A report joins consecutive segments into periods of use at any gap of at least this;
/// a smaller gap needs the records.
pub const SEGMENT_GAP_NS: i64 = 60 * 1_000_000_000;

/// The `type` of the server's administrative records, which are left out like `access`.
const ADMIN: &str = "admin";

/// A stretch of a model's predictions, each within the segment gap of the one before.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Segment {
    /// Seq of its first prediction (periods are listed in this order).
    pub first_seq: u64,
    /// Sealed time of its first prediction.
    pub start: String,
    /// The same, Unix ns.
    pub start_ns: i64,
    /// Sealed time of its last prediction.
    pub end: String,
    /// The same, Unix ns.
    pub end_ns: i64,
    /// Predictions in it.
    pub predictions: u64,
    /// Versions that made them (`null` for none).
    pub versions: BTreeSet<String>,
}

impl Segment {
    /// Takes in `later`, which starts within the gap of this one's end.
    fn join(&mut self, later: &Segment) {
        self.end.clone_from(&later.end);
        self.end_ns = later.end_ns;
        self.predictions += later.predictions;
        for v in &later.versions {
            if !self.versions.contains(v) {
                self.versions.insert(v.clone());
            }
        }
    }
}

/// A deployment of a model version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deployment {
    /// Sealed time.
    pub time: String,
    /// `details.environment` (`null` for none).
    pub environment: Value,
    /// `actor.user`.
    pub by: Option<String>,
}

/// What a model version did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VersionUse {
    /// Sealed time of its first prediction.
    pub first: Option<String>,
    /// Sealed time of its last prediction.
    pub last: Option<String>,
    /// Predictions.
    pub predictions: u64,
    /// `model_training` events.
    pub trainings: u64,
    /// `evaluation` events.
    pub evaluations: u64,
    /// Its first [`MAX_LISTED`] deployments.
    pub deployments: Vec<Deployment>,
}

/// Uses of a dataset, or verifications by a person.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Use {
    /// Sealed time of the first.
    pub first: String,
    /// Sealed time of the last.
    pub last: String,
    /// How many.
    pub count: u64,
    /// The event types they were in.
    pub types: BTreeSet<String>,
}

impl Use {
    fn see(&mut self, time: &str, kind: &str) {
        if self.first.is_empty() {
            self.first = time.to_owned();
        }
        self.last.clear();
        self.last.push_str(time);
        self.count += 1;
        if !self.types.contains(kind) {
            self.types.insert(kind.to_owned());
        }
    }

    fn merge(&mut self, later: &Use) {
        if self.first.is_empty() {
            self.first.clone_from(&later.first);
        }
        self.last.clone_from(&later.last);
        self.count += later.count;
        for t in &later.types {
            if !self.types.contains(t) {
                self.types.insert(t.clone());
            }
        }
    }
}

/// Events of WARNING or worse.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Incidents {
    /// How many.
    pub total: u64,
    /// By status.
    pub by_status: BTreeMap<String, u64>,
    /// By UTC day, then status.
    pub per_day: BTreeMap<String, BTreeMap<String, u64>>,
    /// Seqs of the last [`MAX_LISTED`], oldest first.
    pub seqs: Vec<u64>,
}

/// What the AI Act report reads of a stretch of the log.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Act {
    /// Segments of use by model, oldest first.
    pub segments: BTreeMap<String, Vec<Segment>>,
    /// By model, then version (`null` for none): every version an event names.
    pub versions: BTreeMap<String, BTreeMap<String, VersionUse>>,
    /// Datasets named by `details.dataset` or `details.inputs`.
    pub datasets: BTreeMap<String, Use>,
    /// People named by `details.verified_by`, and the users of `evaluation` and
    /// `compliance_check` events.
    pub verifiers: BTreeMap<String, Use>,
    /// Events of WARNING or worse.
    pub incidents: Incidents,
}

/// Strings named by a detail that holds one string or a list of them.
fn names(raw: Option<&RawValue>) -> Vec<String> {
    let Some(raw) = raw else {
        return Vec::new();
    };
    match serde_json::from_str::<Value>(raw.get()) {
        Ok(Value::String(s)) => vec![s],
        Ok(Value::Array(a)) => a
            .into_iter()
            .filter_map(|v| match v {
                Value::String(s) => Some(s),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn entry<'m, T: Default>(m: &'m mut BTreeMap<String, T>, key: &str) -> &'m mut T {
    if !m.contains_key(key) {
        m.insert(key.to_owned(), T::default());
    }
    match m.get_mut(key) {
        Some(v) => v,
        None => unreachable!("inserted just above"),
    }
}

impl Act {
    /// Adds a record; predictions more than `gap_ns` apart start a new segment.
    pub fn add(&mut self, h: &RecordHead<'_>, gap_ns: i64) {
        if h.kind == types::ACCESS || h.kind == ADMIN {
            return;
        }
        let d = h.detail();
        if let Some(model) = h.model_name() {
            let version = h.version().unwrap_or("null");
            let v = entry(entry(&mut self.versions, model), version);
            match h.kind.as_ref() {
                types::MODEL_INFERENCE => {
                    if v.first.is_none() {
                        v.first = Some(h.time.to_string());
                    }
                    let last = v.last.get_or_insert_with(String::new);
                    last.clear();
                    last.push_str(&h.time);
                    v.predictions += 1;
                    let t = parse_sealed_time(&h.time).unwrap_or(0);
                    let segs = entry(&mut self.segments, model);
                    match segs.last_mut() {
                        Some(s) if t.saturating_sub(s.end_ns) <= gap_ns => {
                            s.end.clear();
                            s.end.push_str(&h.time);
                            s.end_ns = t;
                            s.predictions += 1;
                            if !s.versions.contains(version) {
                                s.versions.insert(version.to_owned());
                            }
                        }
                        _ => segs.push(Segment {
                            first_seq: h.seq,
                            start: h.time.to_string(),
                            start_ns: t,
                            end: h.time.to_string(),
                            end_ns: t,
                            predictions: 1,
                            versions: BTreeSet::from([version.to_owned()]),
                        }),
                    }
                }
                types::DEPLOYMENT if v.deployments.len() < MAX_LISTED => {
                    v.deployments.push(Deployment {
                        time: h.time.to_string(),
                        environment: d
                            .environment
                            .and_then(|r| serde_json::from_str(r.get()).ok())
                            .unwrap_or(Value::Null),
                        by: h.user().map(str::to_owned),
                    });
                }
                types::MODEL_TRAINING => v.trainings += 1,
                types::EVALUATION => v.evaluations += 1,
                _ => {}
            }
        }
        if d.dataset.is_some() || d.inputs.is_some() {
            let mut datasets = names(d.dataset);
            datasets.extend(names(d.inputs));
            for name in datasets {
                entry(&mut self.datasets, &name).see(&h.time, &h.kind);
            }
        }
        let mut people = names(d.verified_by);
        if h.kind == types::EVALUATION || h.kind == types::COMPLIANCE_CHECK {
            people.extend(h.user().map(str::to_owned));
        }
        for p in people {
            entry(&mut self.verifiers, &p).see(&h.time, &h.kind);
        }
        if h.is_incident() {
            let i = &mut self.incidents;
            i.total += 1;
            bump(&mut i.by_status, &h.status);
            bump(entry(&mut i.per_day, h.day()), &h.status);
            if i.seqs.len() == MAX_LISTED {
                i.seqs.remove(0);
            }
            i.seqs.push(h.seq);
        }
    }

    /// Adds what the stretch right after this one holds; a segment that starts within
    /// `gap_ns` of the last one's end joins it (the gap both were made with, or a larger one
    /// that periods are asked at).
    pub fn merge(&mut self, later: &Act, gap_ns: i64) {
        for (model, segs) in &later.segments {
            let mine = entry(&mut self.segments, model);
            let mut rest = segs.as_slice();
            if let (Some(last), Some(first)) = (mine.last_mut(), segs.first())
                && first.start_ns.saturating_sub(last.end_ns) <= gap_ns
            {
                last.join(first);
                rest = &segs[1..];
            }
            mine.extend_from_slice(rest);
        }
        for (model, versions) in &later.versions {
            let mine = entry(&mut self.versions, model);
            for (version, v) in versions {
                let m = entry(mine, version);
                if m.first.is_none() {
                    m.first.clone_from(&v.first);
                }
                if v.last.is_some() {
                    m.last.clone_from(&v.last);
                }
                m.predictions += v.predictions;
                m.trainings += v.trainings;
                m.evaluations += v.evaluations;
                let room = MAX_LISTED.saturating_sub(m.deployments.len());
                m.deployments
                    .extend(v.deployments.iter().take(room).cloned());
            }
        }
        for (name, u) in &later.datasets {
            entry(&mut self.datasets, name).merge(u);
        }
        for (name, u) in &later.verifiers {
            entry(&mut self.verifiers, name).merge(u);
        }
        let (i, l) = (&mut self.incidents, &later.incidents);
        i.total += l.total;
        add_counts(&mut i.by_status, &l.by_status);
        for (day, s) in &l.per_day {
            add_counts(entry(&mut i.per_day, day), s);
        }
        i.seqs.extend_from_slice(&l.seqs);
        let over = i.seqs.len().saturating_sub(MAX_LISTED);
        i.seqs.drain(..over);
    }

    /// The periods of use at `gap_ns` (at least the gap the segments were made with), every
    /// model's with its name, in the order of their first prediction.
    pub fn periods(&self, gap_ns: i64) -> Vec<(String, Segment)> {
        let mut out: Vec<(String, Segment)> = Vec::new();
        for (model, segs) in &self.segments {
            let mut cur: Option<Segment> = None;
            for s in segs {
                match cur.as_mut() {
                    Some(c) if s.start_ns.saturating_sub(c.end_ns) <= gap_ns => c.join(s),
                    _ => {
                        if let Some(done) = cur.replace(s.clone()) {
                            out.push((model.clone(), done));
                        }
                    }
                }
            }
            if let Some(done) = cur {
                out.push((model.clone(), done));
            }
        }
        out.sort_by_key(|(_, s)| s.first_seq);
        out
    }
}
