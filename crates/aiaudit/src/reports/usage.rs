//! A model's usage: seed 003's report, and the fuller one the HTML report draws.

use serde_json::{Value, json};

use aiaudit_core::report::{
    DayStatuses, Histogram, HistogramBucket, LatencyStats, UsageReport, VersionSpan,
};
use aiaudit_core::summary::{ModelUsage, Version};

use super::fold::{Part, Plan, first_since, fold};

use super::{quantile, since};
use crate::error::{Error, Result};
use crate::reader::LogReader;

/// Buckets of the latency histogram below the overflow bucket.
const LATENCY_BUCKETS: usize = 20;

/// The keys [`usage`] adds to seed 003's report.
const EXTRA_KEYS: [&str; 6] = [
    "total_events",
    "prediction_labels_omitted",
    "status_mix",
    "events_per_day",
    "latency_histogram",
    "version_timeline",
];

/// Seed 003's `model_usage_report`: predictions of `model` in the last `days` days, with users,
/// label distribution, versions, latency statistics (mean, p50, p95, p99, max) and the first and
/// last prediction's time: [`usage`] without the members it adds to the seed's.
pub fn model_usage(reader: &LogReader, model: &str, days: u32, now_ns: i64) -> Result<Value> {
    let report = usage(reader, model, days, now_ns)?;
    if report.total_predictions == 0 {
        return Ok(json!({"model": model, "period_days": days, "total_predictions": 0}));
    }
    let mut v = serde_json::to_value(&report)
        .map_err(|e| Error::Unsupported(format!("the usage report does not serialize: {e}")))?;
    if let Value::Object(m) = &mut v {
        for k in EXTRA_KEYS {
            m.remove(k);
        }
    }
    Ok(v)
}

/// The model usage report with what its charts need: seed 003's members, plus `total_events` and
/// `status_mix` (every event naming the model, not only predictions), `events_per_day` (UTC
/// days, by status), `latency_histogram` and `version_timeline` (each version's first and last
/// prediction). Whole bundles are read from their stored summaries; records only at the
/// period's start and after the last full bundle (all of them, on all cores, in a store that keeps
/// no summaries).
pub fn usage(reader: &LogReader, model: &str, days: u32, now_ns: i64) -> Result<UsageReport> {
    usage_on(reader, model, days, now_ns, &Plan::new())
}

/// What the summaries say of `model` since `lo_ns` (all of it for `None`).
pub(super) fn model_use(
    reader: &LogReader,
    model: &str,
    lo_ns: Option<i64>,
    plan: &Plan,
) -> Result<ModelUsage> {
    let mut folded = ModelUsage::default();
    if let Some(lo) = first_since(reader, lo_ns)? {
        fold(reader, lo, Part::Model(model), plan, &mut |s| {
            if let Some(m) = s.models.get(model) {
                folded.merge(m);
            }
            Ok(())
        })?;
    }
    Ok(folded)
}

pub(super) fn usage_on(
    reader: &LogReader,
    model: &str,
    days: u32,
    now_ns: i64,
    plan: &Plan,
) -> Result<UsageReport> {
    let ModelUsage {
        events: total_events,
        statuses,
        days: per_day,
        predictions,
        users,
        labels,
        versions,
        mut latencies,
        first,
        last,
    } = model_use(reader, model, Some(since(days, now_ns)), plan)?;
    latencies.sort_by(f64::total_cmp);
    let mean = if latencies.is_empty() {
        0.0
    } else {
        latencies.iter().sum::<f64>() / latencies.len() as f64
    };
    // The most frequent labels; a model whose "label" is a score has one per prediction.
    let mut by_count: Vec<(String, u64)> = labels.into_iter().collect();
    let labels_omitted = by_count.len().saturating_sub(super::MAX_ROWS);
    if labels_omitted > 0 {
        by_count.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        by_count.truncate(super::MAX_ROWS);
    }
    let versions_used = versions
        .iter()
        .map(|(k, v)| (k.clone(), v.predictions))
        .collect();
    let mut timeline: Vec<(String, Version)> = versions.into_iter().collect();
    timeline.sort_by(|a, b| a.1.first.cmp(&b.1.first));
    Ok(UsageReport {
        model: model.to_owned(),
        period_days: days,
        total_predictions: predictions,
        unique_users: users.len() as u64,
        prediction_distribution: by_count.into_iter().collect(),
        prediction_labels_omitted: labels_omitted as u64,
        versions_used,
        latency_stats: LatencyStats {
            mean_ms: mean,
            p50_ms: quantile(&latencies, 0.50),
            p95_ms: quantile(&latencies, 0.95),
            p99_ms: quantile(&latencies, 0.99),
            max_ms: latencies.last().copied().unwrap_or(0.0),
        },
        first_prediction: first,
        last_prediction: last,
        total_events,
        status_mix: statuses,
        events_per_day: per_day
            .into_iter()
            .map(|(day, d)| DayStatuses {
                day,
                total: d.total,
                statuses: d.statuses,
            })
            .collect(),
        latency_histogram: histogram(&latencies),
        version_timeline: timeline
            .into_iter()
            .map(|(version, v)| VersionSpan {
                version,
                first: v.first,
                last: v.last,
                predictions: v.predictions,
            })
            .collect(),
    })
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
fn histogram(sorted: &[f64]) -> Histogram {
    if sorted.is_empty() {
        return Histogram::default();
    }
    let width = bucket_width(quantile(sorted, 0.99));
    let mut n = [0u64; LATENCY_BUCKETS + 1];
    for l in sorted {
        let i = ((l.max(0.0) / width) as usize).min(LATENCY_BUCKETS);
        n[i] += 1;
    }
    let buckets = n
        .iter()
        .enumerate()
        .map(|(i, &count)| HistogramBucket {
            from_ms: width * i as f64,
            to_ms: (i < LATENCY_BUCKETS).then(|| width * (i + 1) as f64),
            count,
        })
        .collect();
    Histogram {
        bucket_ms: Some(width),
        buckets,
    }
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
        let total: u64 = h.buckets.iter().map(|b| b.count).sum();
        assert_eq!(total, 1000);
        assert_eq!(h.buckets[LATENCY_BUCKETS].to_ms, None);
    }
}
