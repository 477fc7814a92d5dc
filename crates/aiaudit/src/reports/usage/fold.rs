//! One pass over the model's entries, sliced across threads: the accumulator and its merge.

use aiaudit_core::Query;
use aiaudit_core::event::types;
use std::collections::{BTreeMap, HashSet};

use super::head::UsageHead;
use crate::error::Result;
use crate::reader::LogReader;
use crate::reports::bump;

#[derive(Default)]
pub(super) struct Day {
    pub(super) total: u64,
    pub(super) statuses: BTreeMap<String, u64>,
}

pub(super) struct Version {
    pub(super) first: String,
    pub(super) last: String,
    pub(super) predictions: u64,
}

/// What one pass over a slice of the log gathers; slices merge in seq order.
#[derive(Default)]
pub(super) struct Usage {
    pub(super) total_events: u64,
    pub(super) statuses: BTreeMap<String, u64>,
    pub(super) per_day: BTreeMap<String, Day>,
    pub(super) predictions: u64,
    pub(super) users: HashSet<String>,
    pub(super) labels: BTreeMap<String, u64>,
    pub(super) versions: BTreeMap<String, Version>,
    pub(super) latencies: Vec<f64>,
    pub(super) first: Option<String>,
    pub(super) last: Option<String>,
}

impl Usage {
    fn add(&mut self, h: &UsageHead<'_>) {
        self.total_events += 1;
        bump(&mut self.statuses, &h.status);
        let day = match self.per_day.get_mut(h.day()) {
            Some(d) => d,
            None => self.per_day.entry(h.day().to_owned()).or_default(),
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
        let version = h
            .model
            .as_ref()
            .and_then(|m| m.version.as_deref())
            .unwrap_or("null");
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
        if let Some(l) = h.details.latency_ms.and_then(|r| r.get().parse().ok()) {
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

    /// Adds what a later slice of the log gathered.
    fn merge(&mut self, later: Usage) {
        self.total_events += later.total_events;
        for (k, n) in later.statuses {
            *self.statuses.entry(k).or_default() += n;
        }
        for (k, d) in later.per_day {
            let mine = self.per_day.entry(k).or_default();
            mine.total += d.total;
            for (s, n) in d.statuses {
                *mine.statuses.entry(s).or_default() += n;
            }
        }
        self.predictions += later.predictions;
        self.users.extend(later.users);
        for (k, n) in later.labels {
            *self.labels.entry(k).or_default() += n;
        }
        for (k, v) in later.versions {
            match self.versions.get_mut(&k) {
                Some(mine) => {
                    mine.last = v.last;
                    mine.predictions += v.predictions;
                }
                None => {
                    self.versions.insert(k, v);
                }
            }
        }
        self.latencies.extend(later.latencies);
        if self.first.is_none() {
            self.first = later.first;
        }
        if later.last.is_some() {
            self.last = later.last;
        }
    }
}

/// Entries matching `q`, folded slice by slice on up to `threads` threads (each with its own
/// reader of the log), then merged in seq order. A log too small to gain, or a reader not
/// made from a file, is read on this thread.
pub(super) fn fold(
    reader: &LogReader,
    q: &Query,
    threads: usize,
    parallel_from: u64,
) -> Result<Usage> {
    let one = |r: &LogReader, q: &Query| -> Result<Usage> {
        let mut acc = Usage::default();
        let model = q.model.as_deref();
        r.candidates(q, &mut |e| {
            let h = UsageHead::parse(&e.data)?;
            if model.is_none_or(|m| h.model.as_ref().is_some_and(|x| x.name == m)) {
                acc.add(&h);
            }
            Ok(true)
        })?;
        Ok(acc)
    };
    let size = reader.size()?;
    // The first seq in the period: the store finds it by time.
    let mut first = Query {
        since_ns: q.since_ns,
        limit: 1,
        ..Query::default()
    };
    first.until_ns = q.until_ns;
    let mut lo = None;
    reader.candidates(&first, &mut |e| {
        lo = Some(e.seq);
        Ok(false)
    })?;
    let Some(lo) = lo else {
        return Ok(Usage::default());
    };
    let span = size.saturating_sub(lo);
    if threads < 2 || span < parallel_from {
        return one(reader, q);
    }
    let mut readers = Vec::with_capacity(threads);
    for _ in 0..threads {
        match reader.reopen() {
            Some(r) => readers.push(r?),
            None => return one(reader, q),
        }
    }
    let step = span.div_ceil(threads as u64);
    let parts: Vec<Result<Usage>> = std::thread::scope(|scope| {
        let handles: Vec<_> = readers
            .into_iter()
            .enumerate()
            .map(|(i, r)| {
                let mut part = q.clone();
                let from = lo + step * i as u64;
                part.after_seq = from.checked_sub(1);
                part.before_seq = Some((from + step).min(size));
                let one = &one;
                scope.spawn(move || one(&r, &part))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(crate::Error::NotFound("a report thread panicked".into()))
                })
            })
            .collect()
    });
    let mut acc = Usage::default();
    for p in parts {
        acc.merge(p?);
    }
    Ok(acc)
}

/// Entries from which a report is worth splitting across threads.
pub(super) const PARALLEL_FROM: u64 = 200_000;

#[cfg(test)]
mod tests {
    use super::super::usage_on;
    use crate::LogReader;
    use crate::error::Result;
    use serde_json::json;

    #[test]
    fn threads_agree_with_one_pass() -> Result<()> {
        let dir = std::env::temp_dir().join(format!("aiaudit-usage-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| crate::Error::NotFound(e.to_string()))?;
        let db = dir.join("u.db");
        let log = crate::AuditLogger::builder(&db)
            .durability(crate::Durability::Async)
            .open()?;
        for i in 0..3001u32 {
            let model = if i % 7 == 0 { "other" } else { "m" };
            let version = if i < 1000 { "1" } else { "2" };
            let output = json!({"prediction": if i % 3 == 0 { "a" } else { "b" }});
            let e = crate::events::inference(
                model,
                version,
                &format!("u{}", i % 11),
                output,
                f64::from(i % 97),
            );
            log.log(if i % 500 == 0 {
                e.status(aiaudit_core::Status::Warning)
            } else {
                e
            })?;
        }
        log.close()?;
        let reader = LogReader::open(&db)?;
        let now = aiaudit_core::timefmt::now_ns();
        let one = usage_on(&reader, "m", 30, now, 1, u64::MAX)?;
        for threads in [2, 3, 8] {
            assert_eq!(
                usage_on(&reader, "m", 30, now, threads, 0)?,
                one,
                "{threads} threads"
            );
        }
        assert_eq!(one["total_predictions"], 3001 - 429);
        let _ = std::fs::remove_dir_all(&dir);
        Ok(())
    }
}
