//! A model's usage (seed 003's report, and the fuller one the HTML report draws) and a user's
//! data access.

use aiaudit_core::Query;
use aiaudit_core::event::types;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashSet};

use super::{Head, HeadActor, HeadModel, NS_PER_DAY, bump, counts, quantile, status_order};
use crate::error::Result;
use crate::reader::LogReader;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;

/// Buckets of the latency histogram below the overflow bucket.
const LATENCY_BUCKETS: usize = 20;

/// The keys [`usage`] adds to seed 003's report.
const EXTRA_KEYS: [&str; 5] = [
    "total_events",
    "status_mix",
    "events_per_day",
    "latency_histogram",
    "version_timeline",
];

fn since(days: u32, now_ns: i64) -> i64 {
    now_ns.saturating_sub(i64::from(days).saturating_mul(NS_PER_DAY))
}

/// Seed 003's `model_usage_report`: predictions of `model` in the last `days` days, with users,
/// label distribution, versions, latency statistics (mean, p50, p95, p99, max) and the first and
/// last prediction's time.
pub fn model_usage(reader: &LogReader, model: &str, days: u32, now_ns: i64) -> Result<Value> {
    let mut v = usage(reader, model, days, now_ns)?;
    if v["total_predictions"] == json!(0) {
        return Ok(json!({"model": model, "period_days": days, "total_predictions": 0}));
    }
    if let Value::Object(m) = &mut v {
        for k in EXTRA_KEYS {
            m.remove(k);
        }
    }
    Ok(v)
}

#[derive(Default)]
struct Day {
    total: u64,
    statuses: BTreeMap<String, u64>,
}

struct Version {
    first: String,
    last: String,
    predictions: u64,
}

/// The members of a record the usage report reads, and only those: over millions of
/// predictions, every member not deserialized is time saved.
#[derive(Debug, Deserialize)]
struct UsageHead<'a> {
    #[serde(default, borrow)]
    actor: Option<HeadActor<'a>>,
    #[serde(default, borrow)]
    details: UsageDetails<'a>,
    #[serde(default, borrow)]
    model: Option<HeadModel<'a>>,
    #[serde(borrow)]
    status: Cow<'a, str>,
    #[serde(borrow)]
    time: Cow<'a, str>,
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
}

#[derive(Debug, Default, Deserialize)]
struct UsageDetails<'a> {
    #[serde(default, borrow)]
    latency_ms: Option<&'a RawValue>,
    #[serde(default, borrow)]
    output: Option<UsageOutput<'a>>,
}

/// A prediction's output; any other shape (a list, a number) has no label.
#[derive(Debug, Default)]
struct UsageOutput<'a> {
    prediction: Option<&'a RawValue>,
    label: Option<&'a RawValue>,
}

impl<'de: 'a, 'a> Deserialize<'de> for UsageOutput<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = UsageOutput<'de>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any JSON value")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Self::Value, A::Error> {
                let mut out = UsageOutput::default();
                while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                    match key.as_ref() {
                        "prediction" => out.prediction = Some(map.next_value()?),
                        "label" => out.label = Some(map.next_value()?),
                        _ => {
                            map.next_value::<serde::de::IgnoredAny>()?;
                        }
                    }
                }
                Ok(out)
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<Self::Value, A::Error> {
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(UsageOutput::default())
            }

            fn visit_str<E>(self, _: &str) -> std::result::Result<Self::Value, E> {
                Ok(UsageOutput::default())
            }

            fn visit_bool<E>(self, _: bool) -> std::result::Result<Self::Value, E> {
                Ok(UsageOutput::default())
            }

            fn visit_i64<E>(self, _: i64) -> std::result::Result<Self::Value, E> {
                Ok(UsageOutput::default())
            }

            fn visit_u64<E>(self, _: u64) -> std::result::Result<Self::Value, E> {
                Ok(UsageOutput::default())
            }

            fn visit_f64<E>(self, _: f64) -> std::result::Result<Self::Value, E> {
                Ok(UsageOutput::default())
            }

            fn visit_unit<E>(self) -> std::result::Result<Self::Value, E> {
                Ok(UsageOutput::default())
            }
        }
        d.deserialize_any(Visit)
    }
}

impl<'a> UsageHead<'a> {
    fn parse(data: &'a [u8]) -> Result<UsageHead<'a>> {
        let text = std::str::from_utf8(data).map_err(|e| {
            crate::Error::NotFound(format!(
                "a stored record is not UTF-8 ({e}); run `aiaudit verify`"
            ))
        })?;
        serde_json::from_str(text).map_err(|e| {
            crate::Error::NotFound(format!(
                "a stored record is not readable ({e}); run `aiaudit verify`"
            ))
        })
    }

    fn user(&self) -> Option<&str> {
        self.actor.as_ref()?.user.as_deref()
    }

    fn day(&self) -> &str {
        self.time.get(..10).unwrap_or(&self.time)
    }

    /// The label as a report key: a string as itself (borrowed when it has no escapes), any
    /// other value as its JSON text, none as `null`.
    fn label(&self) -> Cow<'a, str> {
        let out = self.details.output.as_ref();
        match out.and_then(|o| o.prediction.or(o.label)) {
            None => Cow::Borrowed("null"),
            Some(raw) => {
                let t = raw.get();
                match t.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
                    Some(inner) if !inner.contains('\\') => Cow::Borrowed(inner),
                    Some(_) => serde_json::from_str::<String>(t)
                        .map(Cow::Owned)
                        .unwrap_or(Cow::Borrowed(t)),
                    None => Cow::Borrowed(t),
                }
            }
        }
    }
}

/// What one pass over a slice of the log gathers; slices merge in seq order.
#[derive(Default)]
struct Usage {
    total_events: u64,
    statuses: BTreeMap<String, u64>,
    per_day: BTreeMap<String, Day>,
    predictions: u64,
    users: HashSet<String>,
    labels: BTreeMap<String, u64>,
    versions: BTreeMap<String, Version>,
    latencies: Vec<f64>,
    first: Option<String>,
    last: Option<String>,
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
fn fold(reader: &LogReader, q: &Query, threads: usize, parallel_from: u64) -> Result<Usage> {
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
const PARALLEL_FROM: u64 = 200_000;

/// The model usage report with what its charts need: seed 003's keys, plus `total_events` and
/// `status_mix` (every event naming the model, not only predictions), `events_per_day` (UTC
/// days, by status), `latency_histogram` and `version_timeline` (each version's first and last
/// prediction). A large log is read on all cores.
pub fn usage(reader: &LogReader, model: &str, days: u32, now_ns: i64) -> Result<Value> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
    usage_on(reader, model, days, now_ns, threads, PARALLEL_FROM)
}

fn usage_on(
    reader: &LogReader,
    model: &str,
    days: u32,
    now_ns: i64,
    threads: usize,
    parallel_from: u64,
) -> Result<Value> {
    let q = Query {
        model: Some(model.to_owned()),
        since_ns: Some(since(days, now_ns)),
        ..Query::default()
    };
    let Usage {
        total_events,
        statuses,
        per_day,
        predictions,
        users,
        labels,
        versions,
        mut latencies,
        first,
        last,
    } = fold(reader, &q, threads, parallel_from)?;
    latencies.sort_by(f64::total_cmp);
    let mean = if latencies.is_empty() {
        0.0
    } else {
        latencies.iter().sum::<f64>() / latencies.len() as f64
    };
    let mut status_mix: Vec<(String, u64)> = statuses.into_iter().collect();
    status_mix.sort_by(|a, b| status_order(&a.0, &b.0));
    let ordered = |m: BTreeMap<String, u64>| {
        let mut v: Vec<(String, u64)> = m.into_iter().collect();
        v.sort_by(|a, b| status_order(&a.0, &b.0));
        Value::Object(v.into_iter().map(|(k, n)| (k, json!(n))).collect())
    };
    let mut report = Map::new();
    report.insert("model".into(), json!(model));
    report.insert("period_days".into(), json!(days));
    report.insert("total_predictions".into(), json!(predictions));
    report.insert("unique_users".into(), json!(users.len()));
    report.insert("prediction_distribution".into(), json!(labels));
    report.insert(
        "versions_used".into(),
        Value::Object(
            versions
                .iter()
                .map(|(k, v)| (k.clone(), json!(v.predictions)))
                .collect(),
        ),
    );
    report.insert(
        "latency_stats".into(),
        json!({
            "mean_ms": mean,
            "p50_ms": quantile(&latencies, 0.50),
            "p95_ms": quantile(&latencies, 0.95),
            "p99_ms": quantile(&latencies, 0.99),
            "max_ms": latencies.last().copied().unwrap_or(0.0),
        }),
    );
    report.insert("first_prediction".into(), json!(first));
    report.insert("last_prediction".into(), json!(last));
    report.insert("total_events".into(), json!(total_events));
    report.insert(
        "status_mix".into(),
        Value::Object(status_mix.into_iter().map(|(k, n)| (k, json!(n))).collect()),
    );
    report.insert(
        "events_per_day".into(),
        Value::Array(
            per_day
                .into_iter()
                .map(|(day, d)| json!({"day": day, "total": d.total, "statuses": ordered(d.statuses)}))
                .collect(),
        ),
    );
    report.insert("latency_histogram".into(), histogram(&latencies));
    let mut timeline: Vec<(String, Version)> = versions.into_iter().collect();
    timeline.sort_by(|a, b| a.1.first.cmp(&b.1.first));
    report.insert(
        "version_timeline".into(),
        Value::Array(
            timeline
                .into_iter()
                .map(|(version, v)| {
                    json!({"version": version, "first": v.first, "last": v.last, "predictions": v.predictions})
                })
                .collect(),
        ),
    );
    Ok(Value::Object(report))
}

/// A round bucket width (1, 2 or 5 times a power of ten) that spreads `0..upper` over about
/// [`LATENCY_BUCKETS`] buckets.
fn bucket_width(upper: f64) -> f64 {
    let raw = (upper / LATENCY_BUCKETS as f64).max(1e-3);
    let mag = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * mag)
        .find(|w| *w >= raw)
        .unwrap_or(10.0 * mag)
}

/// Latencies in buckets of a round width up to the 99th percentile; the last bucket (with
/// `to_ms: null`) holds the slower tail.
fn histogram(sorted: &[f64]) -> Value {
    if sorted.is_empty() {
        return json!({"bucket_ms": null, "buckets": []});
    }
    let width = bucket_width(quantile(sorted, 0.99));
    let mut n = [0u64; LATENCY_BUCKETS + 1];
    for l in sorted {
        let i = ((l.max(0.0) / width) as usize).min(LATENCY_BUCKETS);
        n[i] += 1;
    }
    let buckets: Vec<Value> = n
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let from = width * i as f64;
            let to = (i < LATENCY_BUCKETS).then(|| width * (i + 1) as f64);
            json!({"from_ms": from, "to_ms": to, "count": c})
        })
        .collect();
    json!({"bucket_ms": width, "buckets": buckets})
}

/// Seed 003's `data_access_report`: every prediction requested by `user` in the last `days`
/// days, with the models used and each request's id, time and model (GDPR Art. 15).
pub fn data_access(reader: &LogReader, user: &str, days: u32, now_ns: i64) -> Result<Value> {
    let q = Query {
        user: Some(user.to_owned()),
        kind: Some(types::MODEL_INFERENCE.to_owned()),
        since_ns: Some(since(days, now_ns)),
        ..Query::default()
    };
    let mut requests = Vec::new();
    let mut models = Vec::new();
    reader.candidates(&q, &mut |e| {
        let h = Head::parse(&e.data)?;
        if !h.matches(&q) {
            return Ok(true);
        }
        let model = h.model_name().unwrap_or("null").to_owned();
        let request_id = Head::detail_str(h.details.request_id)
            .map(|s| s.into_owned())
            .or(h
                .operation
                .as_ref()
                .and_then(|o| o.id.as_deref().map(str::to_owned)))
            .unwrap_or_else(|| h.id.to_string());
        requests.push(json!({"request_id": request_id, "timestamp": h.time, "model": model}));
        models.push(model);
        Ok(true)
    })?;
    Ok(json!({
        "user_id": user,
        "period_days": days,
        "total_requests": requests.len(),
        "models_used": counts(models.iter().map(String::as_str)),
        "requests": requests,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(details: &str) -> String {
        format!(
            r#"{{"details":{details},"model":{{"name":"m"}},"status":"INFO","time":"2026-11-24T10:00:00.000000000Z","type":"model_inference"}}"#
        )
    }

    #[test]
    fn labels_and_latencies_of_any_shape() {
        for (details, label, latency) in [
            (
                r#"{"output":{"prediction":"yes","label":"no"},"latency_ms":3.5}"#,
                "yes",
                Some(3.5),
            ),
            (r#"{"output":{"label":7},"latency_ms":"slow"}"#, "7", None),
            (r#"{"output":{"prediction":"a\"b"}}"#, "a\"b", None),
            (r#"{"output":{"prediction":[1,2]}}"#, "[1,2]", None),
            (r#"{"output":[1],"latency_ms":12}"#, "null", Some(12.0)),
            (r#"{}"#, "null", None),
        ] {
            let text = head(details);
            let h = UsageHead::parse(text.as_bytes()).expect("parses");
            assert_eq!(h.label(), label, "{details}");
            let l: Option<f64> = h.details.latency_ms.and_then(|r| r.get().parse().ok());
            assert_eq!(l, latency, "{details}");
        }
        assert!(UsageHead::parse(b"{\"status\":1}").is_err());
    }

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

    #[test]
    fn bucket_widths_are_round() {
        assert_eq!(bucket_width(100.0), 5.0);
        assert_eq!(bucket_width(30.0), 2.0);
        assert_eq!(bucket_width(19.0), 1.0);
        assert_eq!(bucket_width(2000.0), 100.0);
    }

    #[test]
    fn histogram_keeps_every_latency() {
        let v: Vec<f64> = (0..1000).map(|i| f64::from(i) / 10.0).collect();
        let h = histogram(&v);
        let total: u64 = h["buckets"]
            .as_array()
            .map(|b| b.iter().filter_map(|x| x["count"].as_u64()).sum())
            .unwrap_or(0);
        assert_eq!(total, 1000);
        assert_eq!(h["buckets"][LATENCY_BUCKETS]["to_ms"], Value::Null);
    }
}
