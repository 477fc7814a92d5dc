//! The model usage report.

use serde::Serialize;
use std::collections::BTreeMap;

/// Predictions of one model over a period (seed 003's `model_usage_report`), with what the
/// HTML report draws: every event naming the model by status and day, a latency histogram and
/// each version's first and last prediction.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UsageReport {
    /// The model.
    pub model: String,
    /// Days back from when the report was made.
    pub period_days: u32,
    /// `model_inference` events of the model.
    pub total_predictions: u64,
    /// Distinct `actor.user` of those.
    pub unique_users: u64,
    /// Predictions per label, the most frequent [`MAX_LISTED`](crate::summary::MAX_LISTED).
    pub prediction_distribution: BTreeMap<String, u64>,
    /// Labels left out of `prediction_distribution`.
    pub prediction_labels_omitted: u64,
    /// Predictions per model version.
    pub versions_used: BTreeMap<String, u64>,
    /// Latency of the predictions, ms.
    pub latency_stats: LatencyStats,
    /// The first prediction's sealed time.
    pub first_prediction: Option<String>,
    /// The last prediction's sealed time.
    pub last_prediction: Option<String>,
    /// Every event naming the model.
    pub total_events: u64,
    /// Those by status.
    pub status_mix: BTreeMap<String, u64>,
    /// Those by UTC day.
    pub events_per_day: Vec<DayStatuses>,
    /// Latencies in round buckets.
    pub latency_histogram: Histogram,
    /// Each version's first and last prediction, by first prediction.
    pub version_timeline: Vec<VersionSpan>,
}

/// Latency statistics by seed 003's quantile rule (`v[floor(len × q)]`), ms; 0 without
/// predictions.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct LatencyStats {
    /// Mean.
    pub mean_ms: f64,
    /// Median.
    pub p50_ms: f64,
    /// 95th percentile.
    pub p95_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Maximum.
    pub max_ms: f64,
}

/// Events of one UTC day by status.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DayStatuses {
    /// `YYYY-MM-DD`.
    pub day: String,
    /// All of them.
    pub total: u64,
    /// By status.
    pub statuses: BTreeMap<String, u64>,
}

/// A latency histogram up to the 99th percentile; the last bucket (no `to_ms`) holds the tail.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Histogram {
    /// The buckets' width (none without predictions).
    pub bucket_ms: Option<f64>,
    /// The buckets, from 0 up.
    pub buckets: Vec<HistogramBucket>,
}

/// One bucket of a [`Histogram`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct HistogramBucket {
    /// Lower bound, ms.
    pub from_ms: f64,
    /// Upper bound (exclusive), ms; none for the tail bucket.
    pub to_ms: Option<f64>,
    /// Predictions in it.
    pub count: u64,
}

/// A version's first and last prediction.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VersionSpan {
    /// The version.
    pub version: String,
    /// First prediction's sealed time.
    pub first: String,
    /// Last prediction's sealed time.
    pub last: String,
    /// Its predictions.
    pub predictions: u64,
}
