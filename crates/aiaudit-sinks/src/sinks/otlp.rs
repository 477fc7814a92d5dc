//! OTLP sink: OpenTelemetry logs over OTLP/HTTP with the JSON encoding, one
//! `ExportLogsServiceRequest` per batch, POSTed to the configured URL (a collector's
//! `/v1/logs`).
//!
//! Mapping of a sealed record to a `LogRecord` (JSON encoding rules: camelCase field names,
//! 64-bit integers as decimal strings, enums as numbers):
//!
//! | LogRecord | from |
//! | --- | --- |
//! | `timeUnixNano` | the record's sealed `time` |
//! | `observedTimeUnixNano` | when the batch was exported |
//! | `severityNumber` | DEBUG 5, INFO 9, NOTICE 10, WARNING 13, ERROR 17, FAILURE 18, CRITICAL 21, custom 9 |
//! | `severityText` | `status` |
//! | `body.stringValue` | `name` |
//! | attributes | `aiaudit.seq` (int), `aiaudit.id`, `aiaudit.type`, `model.name`, `model.version`, `enduser.id` (actor.user), `aiaudit.operation.id`, `aiaudit.record` (the full sealed record, as sealed) |
//!
//! Absent optional fields give no attribute. The resource carries `service.name`; the scope is
//! `aiaudit`. Receivers dedupe on `aiaudit.id`.

use std::collections::BTreeMap;
use std::time::Duration;

use aiaudit_core::{Record, StoredEntry};
use serde_json::{Value, json};

use super::{BoxFuture, Sink};
use crate::config::severity;
use crate::error::{Error, Result};

/// The OTLP/HTTP JSON logs sink.
#[derive(Debug)]
pub struct OtlpSink {
    url: String,
    service_name: String,
    client: reqwest::Client,
}

impl OtlpSink {
    /// A sink exporting to `url`.
    pub fn new(url: &str, headers: &BTreeMap<String, String>, service_name: &str) -> Result<Self> {
        Ok(OtlpSink {
            url: url.to_owned(),
            service_name: service_name.to_owned(),
            client: super::http_client(url, Duration::from_secs(10), headers)?,
        })
    }
}

fn str_attr(key: &str, v: &str) -> Value {
    json!({"key": key, "value": {"stringValue": v}})
}

/// One `LogRecord` for an entry.
pub fn log_record(e: &StoredEntry, observed_ns: i64) -> Result<Value> {
    let r =
        Record::from_leaf_data(&e.data).map_err(|source| Error::Record { seq: e.seq, source })?;
    let record_text = String::from_utf8_lossy(&e.data);
    let mut attrs = vec![
        json!({"key": "aiaudit.seq", "value": {"intValue": r.seq.to_string()}}),
        str_attr("aiaudit.id", &r.id),
        str_attr("aiaudit.type", &r.kind),
    ];
    if let Some(m) = &r.model {
        attrs.push(str_attr("model.name", &m.name));
        if let Some(v) = &m.version {
            attrs.push(str_attr("model.version", v));
        }
    }
    if let Some(u) = r.actor.as_ref().and_then(|a| a.user.as_deref()) {
        attrs.push(str_attr("enduser.id", u));
    }
    if let Some(op) = r.operation.as_ref().and_then(|o| o.id.as_deref()) {
        attrs.push(str_attr("aiaudit.operation.id", op));
    }
    attrs.push(str_attr("aiaudit.record", &record_text));
    Ok(json!({
        "timeUnixNano": e.time_ns.to_string(),
        "observedTimeUnixNano": observed_ns.to_string(),
        "severityNumber": severity(&r.status),
        "severityText": r.status,
        "body": {"stringValue": r.name},
        "attributes": attrs,
    }))
}

/// The `ExportLogsServiceRequest` for a batch.
pub fn request(service_name: &str, batch: &[StoredEntry], observed_ns: i64) -> Result<Value> {
    let records = batch
        .iter()
        .map(|e| log_record(e, observed_ns))
        .collect::<Result<Vec<_>>>()?;
    Ok(json!({
        "resourceLogs": [{
            "resource": {"attributes": [str_attr("service.name", service_name)]},
            "scopeLogs": [{
                "scope": {"name": "aiaudit"},
                "logRecords": records,
            }],
        }],
    }))
}

impl Sink for OtlpSink {
    fn deliver<'a>(&'a mut self, batch: &'a [StoredEntry]) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let req = request(&self.service_name, batch, crate::cursors::now_ns())?;
            // Serializing a `Value` cannot fail.
            let body = serde_json::to_vec(&req).unwrap_or_default();
            super::post_json(&self.client, &self.url, body, &[]).await
        })
    }
}
