//! The parts of a report's data both renderers walk alike: the order fields are shown in,
//! which objects are keyed by data, which rows become subsections, and how a value reads as
//! one line of text.

use serde_json::{Map, Value};

use aiaudit_core::report::LineageNode;

use crate::Context;
use crate::catalogue::Catalogue;

/// What a lineage graph writes on a node: its label, or for the one node that stands for a
/// model version's predictions, their count in the report's language.
pub(crate) fn node_label(c: &Catalogue, n: &LineageNode, predictions: u64) -> String {
    if n.kind == "predictions" {
        c.fill(
            c.text("text", "lineage_predictions"),
            &[("n", &c.value(&Value::from(predictions)))],
        )
    } else {
        n.label.clone()
    }
}

/// Objects whose keys are data (labels, statuses, versions), not field names: shown as
/// key–count tables, never translated.
pub(crate) const DATA_KEYED: [&str; 8] = [
    "prediction_distribution",
    "versions_used",
    "status_mix",
    "statuses",
    "types",
    "models_used",
    "by_status",
    "truncated",
];

/// The order fields are shown in (report JSON objects keep their keys sorted); fields not
/// listed come after, by name.
const ORDER: &[&str] = &[
    "key",
    "kind",
    "model",
    "version",
    "user_id",
    "person",
    "dataset",
    "period_days",
    "since",
    "generated_at",
    "intact",
    "events",
    "total_predictions",
    "total_requests",
    "total_events",
    "total_operations",
    "unique_users",
    "first_prediction",
    "last_prediction",
    "entries",
    "checkpoints_checked",
    "first_bad_seq",
    "proven",
    "problem",
    "events_proven",
    "checkpoint_size",
    "origin",
    "verifier_key",
    "events_without_operation",
    "operations_omitted",
    "coverage",
    "covers_six_months",
    "first_event",
    "last_event",
    "days_covered",
    "required_from",
    "latency_stats",
    "mean_ms",
    "p50_ms",
    "p95_ms",
    "p99_ms",
    "max_ms",
    "status_mix",
    "prediction_distribution",
    "versions_used",
    "models_used",
    "events_per_day",
    "latency_histogram",
    "bucket_ms",
    "buckets",
    "version_timeline",
    "latest_checkpoint",
    "size",
    "signed_at",
    "note",
    "findings",
    "periods_of_use",
    "models_in_use",
    "reference_data",
    "verifiers",
    "incidents",
    "total",
    "omitted",
    "gap_s",
    "by_status",
    "per_day",
    "periods",
    "requests",
    "operations",
    "evidence",
    "artifacts",
    "runs",
    "seq",
    "time",
    "timestamp",
    "request_id",
    "id",
    "name",
    "hash",
    "day",
    "start",
    "end",
    "first",
    "last",
    "duration_s",
    "state",
    "worst_status",
    "type",
    "status",
    "ended",
    "statuses",
    "types",
    "regulations",
    "predictions",
    "uses",
    "verifications",
    "trainings",
    "evaluations",
    "deployments",
    "environment",
    "by",
    "from_ms",
    "to_ms",
    "count",
    "event_rows_omitted",
    "event_rows",
    "truncated",
    "prove_command",
    "leaf_hash",
];

/// An object's members in display order.
pub(crate) fn ordered(m: &Map<String, Value>) -> Vec<(&String, &Value)> {
    let rank = |k: &str| ORDER.iter().position(|x| *x == k).unwrap_or(ORDER.len());
    let mut v: Vec<(&String, &Value)> = m.iter().collect();
    v.sort_by(|a, b| rank(a.0).cmp(&rank(b.0)).then(a.0.cmp(b.0)));
    v
}

/// Fields a renderer shows in its own way rather than as a generic section.
pub(crate) const SPECIAL: [&str; 3] = ["check_offline", "graph", "prove_command"];

/// The "generated at … from …" line, with `origin` as the caller has made it safe for its
/// format.
pub(crate) fn generated(c: &Catalogue, ctx: &Context, origin: &str) -> String {
    let time = c.value(&Value::String(aiaudit_core::timefmt::format_rfc3339(
        ctx.generated_ns,
    )));
    c.fill(
        c.text("text", "generated"),
        &[("time", &time), ("origin", origin)],
    )
}

/// A value as compact one-line text (an object as `key value, …`), not yet escaped.
pub(crate) fn cell_text(c: &Catalogue, v: &Value) -> String {
    match v {
        Value::Object(m) => m
            .iter()
            .map(|(k, x)| format!("{k} {}", c.value(x)))
            .collect::<Vec<_>>()
            .join(", "),
        other => c.value(other),
    }
}

/// Is this an array of objects that hold lists of objects themselves (each becomes a
/// subsection rather than a table row)?
pub(crate) fn nested_rows(items: &[Value]) -> bool {
    items.iter().any(|i| {
        i.as_object().is_some_and(|m| {
            m.values()
                .any(|x| x.as_array().is_some_and(|a| a.iter().any(Value::is_object)))
        })
    })
}

/// The columns of a table of objects: every key, in first-seen order, leaving out lists of
/// objects.
pub(crate) fn columns(items: &[Value]) -> Vec<&str> {
    let mut cols: Vec<&str> = Vec::new();
    for i in items {
        if let Value::Object(m) = i {
            for (k, x) in ordered(m) {
                let table = x.as_array().is_some_and(|a| a.iter().any(Value::is_object));
                if !table && !cols.contains(&k.as_str()) {
                    cols.push(k);
                }
            }
        }
    }
    cols
}

/// The heading of an item shown as a subsection: its name and id, a model and version, or
/// its first text.
pub(crate) fn heading(item: &Value) -> String {
    let s = |k: &str| item[k].as_str().filter(|s| !s.is_empty());
    match (s("name"), s("id"), s("model"), s("version")) {
        (Some(n), Some(i), ..) => format!("{n} ({i})"),
        (Some(n), None, ..) => n.to_owned(),
        (None, Some(i), ..) => i.to_owned(),
        (None, None, Some(m), Some(v)) => format!("{m} {v}"),
        _ => item
            .as_object()
            .and_then(|m| ordered(m).into_iter().find_map(|(_, v)| v.as_str()))
            .unwrap_or_default()
            .to_owned(),
    }
}
