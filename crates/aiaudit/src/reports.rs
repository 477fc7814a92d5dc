//! Compliance reports over predictions (`model_inference` events): a model's usage and a user's
//! data access, with the keys of seed 003's `ComplianceReporter`.
//!
//! A prediction's label is `details.output.prediction`, else `details.output.label` (else
//! `null`); its latency is `details.latency_ms`; its request id is `details.request_id`, else the
//! operation id, else the event id.

use aiaudit_core::event::types;
use aiaudit_core::{Query, Record};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};

use crate::error::Result;
use crate::reader::LogReader;

const NS_PER_DAY: i64 = 86_400 * 1_000_000_000;

fn predictions(reader: &LogReader, mut q: Query, days: u32, now_ns: i64) -> Result<Vec<Record>> {
    q.kind = Some(types::MODEL_INFERENCE.to_owned());
    q.since_ns = Some(now_ns.saturating_sub(i64::from(days).saturating_mul(NS_PER_DAY)));
    reader
        .query(&q)?
        .iter()
        .map(|e| Ok(Record::from_leaf_data(&e.data)?))
        .collect()
}

/// The label a prediction's output names, as a report key.
fn label(r: &Record) -> String {
    let out = r.details.get("output");
    let v = out
        .and_then(|o| o.get("prediction"))
        .or_else(|| out.and_then(|o| o.get("label")));
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => "null".to_owned(),
    }
}

fn request_id(r: &Record) -> String {
    r.details
        .get("request_id")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| r.operation.as_ref().and_then(|o| o.id.clone()))
        .unwrap_or_else(|| r.id.clone())
}

fn counts<I: IntoIterator<Item = String>>(items: I) -> Value {
    let mut m: BTreeMap<String, u64> = BTreeMap::new();
    for i in items {
        *m.entry(i).or_default() += 1;
    }
    Value::Object(m.into_iter().map(|(k, v)| (k, json!(v))).collect())
}

/// The value at quantile `q` of sorted `v`, by the seed's rule: `v[floor(len * q)]`.
fn quantile(v: &[f64], q: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let i = ((v.len() as f64) * q) as usize;
    v[i.min(v.len() - 1)]
}

/// Seed 003's `model_usage_report`: predictions of `model` in the last `days` days, with users,
/// label distribution, versions, latency statistics (mean, p50, p95, p99, max) and the first and
/// last prediction's time.
pub fn model_usage(reader: &LogReader, model: &str, days: u32, now_ns: i64) -> Result<Value> {
    let q = Query {
        model: Some(model.to_owned()),
        ..Query::default()
    };
    let records = predictions(reader, q, days, now_ns)?;
    if records.is_empty() {
        return Ok(json!({"model": model, "period_days": days, "total_predictions": 0}));
    }
    let users: BTreeSet<&str> = records
        .iter()
        .filter_map(|r| r.actor.as_ref()?.user.as_deref())
        .collect();
    let mut latencies: Vec<f64> = records
        .iter()
        .filter_map(|r| r.details.get("latency_ms")?.as_f64())
        .collect();
    latencies.sort_by(f64::total_cmp);
    let mean = if latencies.is_empty() {
        0.0
    } else {
        latencies.iter().sum::<f64>() / latencies.len() as f64
    };
    let versions = records.iter().map(|r| {
        r.model
            .as_ref()
            .and_then(|m| m.version.clone())
            .unwrap_or_else(|| "null".to_owned())
    });
    // Seq order is time order, so the first and last records are the first and last predictions.
    let first = records.first().map(|r| r.time.clone());
    let last = records.last().map(|r| r.time.clone());
    let mut report = Map::new();
    report.insert("model".into(), json!(model));
    report.insert("period_days".into(), json!(days));
    report.insert("total_predictions".into(), json!(records.len()));
    report.insert("unique_users".into(), json!(users.len()));
    report.insert(
        "prediction_distribution".into(),
        counts(records.iter().map(label)),
    );
    report.insert("versions_used".into(), counts(versions));
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
    Ok(Value::Object(report))
}

/// Seed 003's `data_access_report`: every prediction requested by `user` in the last `days`
/// days, with the models used and each request's id, time and model.
pub fn data_access(reader: &LogReader, user: &str, days: u32, now_ns: i64) -> Result<Value> {
    let q = Query {
        user: Some(user.to_owned()),
        ..Query::default()
    };
    let records = predictions(reader, q, days, now_ns)?;
    let model_name = |r: &Record| {
        r.model
            .as_ref()
            .map(|m| m.name.clone())
            .unwrap_or_else(|| "null".to_owned())
    };
    let requests: Vec<Value> = records
        .iter()
        .map(|r| json!({"request_id": request_id(r), "timestamp": r.time, "model": model_name(r)}))
        .collect();
    Ok(json!({
        "user_id": user,
        "period_days": days,
        "total_requests": records.len(),
        "models_used": counts(records.iter().map(model_name)),
        "requests": requests,
    }))
}

/// The integrity report: a full verification, the latest signed checkpoint, the verifier key,
/// and how to check the log offline.
pub fn integrity(reader: &LogReader) -> Result<Value> {
    let report = reader.verify(&crate::VerifyOptions::default(), &mut |_, _| {})?;
    let checkpoint = match reader.checkpoint() {
        Ok(cp) => Some(cp),
        Err(crate::Error::NotFound(_)) => None,
        Err(e) => return Err(e),
    };
    let key = &reader.info().verifier_key;
    Ok(json!({
        "intact": report.is_intact(),
        "entries": report.entries,
        "checkpoints_checked": report.checkpoints,
        "first_bad_seq": report.first_bad_seq(),
        "findings": report.findings.iter().map(|f| f.message.clone()).collect::<Vec<_>>(),
        "origin": reader.info().origin,
        "verifier_key": key,
        "latest_checkpoint": checkpoint.as_ref().map(|c| json!({
            "size": c.size,
            "signed_at": aiaudit_core::timefmt::format_rfc3339(c.time_ns),
            "note": c.note,
        })),
        "check_offline": [
            "keep the checkpoint note above somewhere the log's operators cannot change it",
            format!("later: aiaudit verify --against CHECKPOINT_FILE --key '{key}'"),
            format!("one entry: aiaudit prove SEQ > p.tlog-proof; aiaudit verify-proof p.tlog-proof --key '{key}'"),
        ],
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_follow_the_seed_rule() {
        let v: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(quantile(&v, 0.95), 20.0);
        assert_eq!(quantile(&v, 0.50), 11.0);
        assert_eq!(quantile(&[], 0.5), 0.0);
        assert_eq!(quantile(&[3.0], 0.99), 3.0);
    }
}
