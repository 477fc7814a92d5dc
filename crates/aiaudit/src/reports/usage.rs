//! A model's usage (seed 003's report, and the fuller one the HTML report draws) and a user's
//! data access.

use aiaudit_core::Query;
use aiaudit_core::event::types;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashSet};

use super::{Head, NS_PER_DAY, bump, counts, quantile, status_order};
use crate::error::Result;
use crate::reader::LogReader;

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

/// The model usage report with what its charts need: seed 003's keys, plus `total_events` and
/// `status_mix` (every event naming the model, not only predictions), `events_per_day` (UTC
/// days, by status), `latency_histogram` and `version_timeline` (each version's first and last
/// prediction).
pub fn usage(reader: &LogReader, model: &str, days: u32, now_ns: i64) -> Result<Value> {
    let q = Query {
        model: Some(model.to_owned()),
        since_ns: Some(since(days, now_ns)),
        ..Query::default()
    };
    let mut total_events = 0u64;
    let mut statuses: BTreeMap<String, u64> = BTreeMap::new();
    let mut per_day: BTreeMap<String, Day> = BTreeMap::new();
    let mut predictions = 0u64;
    let mut users: HashSet<String> = HashSet::new();
    let mut labels: BTreeMap<String, u64> = BTreeMap::new();
    let mut versions: BTreeMap<String, Version> = BTreeMap::new();
    let mut latencies: Vec<f64> = Vec::new();
    let (mut first, mut last) = (None::<String>, None::<String>);
    reader.query_each(&q, &mut |e| {
        let h = Head::parse(&e.data)?;
        total_events += 1;
        bump(&mut statuses, &h.status);
        let day = match per_day.get_mut(h.day()) {
            Some(d) => d,
            None => per_day.entry(h.day().to_owned()).or_default(),
        };
        day.total += 1;
        bump(&mut day.statuses, &h.status);
        if h.kind != types::MODEL_INFERENCE {
            return Ok(true);
        }
        predictions += 1;
        if let Some(u) = h.user()
            && !users.contains(u)
        {
            users.insert(u.to_owned());
        }
        bump(&mut labels, &h.label());
        let version = h.version().unwrap_or("null");
        match versions.get_mut(version) {
            Some(v) => {
                v.last = h.time.to_string();
                v.predictions += 1;
            }
            None => {
                versions.insert(
                    version.to_owned(),
                    Version {
                        first: h.time.to_string(),
                        last: h.time.to_string(),
                        predictions: 1,
                    },
                );
            }
        }
        if let Some(l) = h.latency() {
            latencies.push(l);
        }
        // Seq order is time order: the first prediction seen is the first made.
        if first.is_none() {
            first = Some(h.time.to_string());
        }
        last = Some(h.time.to_string());
        Ok(true)
    })?;
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
    reader.query_each(&q, &mut |e| {
        let h = Head::parse(&e.data)?;
        let model = h.model_name().unwrap_or("null").to_owned();
        let request_id = h
            .details
            .request_id
            .as_ref()
            .and_then(Value::as_str)
            .or(h.operation.as_ref().and_then(|o| o.id.as_deref()))
            .unwrap_or(&h.id)
            .to_owned();
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
