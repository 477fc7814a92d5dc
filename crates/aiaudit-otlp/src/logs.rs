//! `ExportLogsServiceRequest` onto events: one per log record.

use aiaudit_core::Status;
use aiaudit_core::event::{Event, MAX_NAME_LEN};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value;
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use serde_json::{Map, Value};

use crate::common::{self, Group, Origin, fill, id, time};
use crate::content::{content_hash, is_content_key, is_message_event, is_message_key};
use crate::error::Error;
use crate::value::{At, any, attributes_with};
use crate::{Encoding, Options, genai};

/// Decodes a request body.
pub fn decode(body: &[u8], encoding: Encoding) -> Result<ExportLogsServiceRequest, Error> {
    common::decode(body, encoding, "ExportLogsServiceRequest")
}

/// The number of log records in `req`.
pub fn count(req: &ExportLogsServiceRequest) -> usize {
    req.resource_logs
        .iter()
        .flat_map(|r| &r.scope_logs)
        .map(|s| s.log_records.len())
        .sum()
}

/// Every log record of `req` as an event, in order, or the first error.
pub fn to_events(req: ExportLogsServiceRequest, opts: &Options) -> Result<Vec<Event>, Error> {
    let groups = req
        .resource_logs
        .into_iter()
        .map(|rl| Group {
            resource: rl.resource,
            schema_url: rl.schema_url,
            scopes: rl
                .scope_logs
                .into_iter()
                .map(|sl| (sl.scope, sl.schema_url, sl.log_records))
                .collect(),
        })
        .collect();
    common::walk(
        groups,
        ["resourceLogs", "scopeLogs", "logRecords"],
        opts,
        |rec, origin, shared, at| record_event(rec, origin, shared, opts, at),
    )
}

/// The status of an OpenTelemetry severity number.
fn severity(n: i32) -> Status {
    match n {
        1..=8 => Status::Debug,
        13..=16 => Status::Warning,
        17..=20 => Status::Error,
        21..=24 => Status::Critical,
        _ => Status::Info,
    }
}

fn record_event(
    rec: LogRecord,
    origin: &Origin,
    shared: &Map<String, Value>,
    opts: &Options,
    at: &At<'_>,
) -> Result<Event, Error> {
    let trace = id(&rec.trace_id, 16, "traceId", at)?;
    let span_id = id(&rec.span_id, 8, "spanId", at)?;
    let stamped = time(rec.time_unix_nano, "timeUnixNano", at)?;
    let observed = time(rec.observed_time_unix_nano, "observedTimeUnixNano", at)?;
    let occurred = stamped.or(observed);
    // The event name decides which attributes are content, so it is read first.
    let named_in_attributes = rec
        .attributes
        .iter()
        .find(|kv| kv.key == "event.name")
        .and_then(
            |kv| match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                Some(any_value::Value::StringValue(s)) => Some(s.clone()),
                _ => None,
            },
        );
    let event_name = Some(rec.event_name)
        .filter(|n| !n.is_empty())
        .or(named_in_attributes);
    let content_body = event_name.as_deref().is_some_and(is_message_event);
    let content = if content_body {
        is_message_key
    } else {
        is_content_key
    };
    let attrs = attributes_with(rec.attributes, opts, at, "attributes", content)?;
    let body = any(rec.body, 0, opts).map_err(|why| at.fail(format!("body: {why}")))?;
    let body = if content_body && !opts.keep_content && !body.is_null() {
        Value::String(content_hash(&body))
    } else {
        body
    };
    let gen_ai = genai::read(&attrs);
    let kind = gen_ai.as_ref().and_then(|g| g.kind).unwrap_or("log");
    let (name, body) = match (event_name, body) {
        (Some(n), b) => (n, b),
        (None, Value::String(s)) if s.len() <= MAX_NAME_LEN => (s, Value::Null),
        (None, b) => ("log record".to_owned(), b),
    };
    let mut e = Event::new(kind, name);
    e.occurred_ns = occurred;
    e.status = severity(rec.severity_number);
    // The trace id is the operation and the span the parent: not repeated in `otel`.
    fill(&mut e, origin, &attrs, trace, opts);
    e.parent = span_id;

    let mut otel = Map::new();
    otel.insert("signal".into(), Value::from("log"));
    for (k, v) in shared {
        otel.insert(k.clone(), v.clone());
    }
    if !rec.severity_text.is_empty() {
        otel.insert("severity_text".into(), Value::String(rec.severity_text));
    }
    // When both are given, the observed time is kept beside the event's `occurred`.
    if let (Some(_), Some(o)) = (stamped, observed) {
        otel.insert(
            "observed".into(),
            Value::String(aiaudit_core::timefmt::format_rfc3339(o)),
        );
    }
    if rec.severity_number != 0 {
        otel.insert("severity_number".into(), Value::from(rec.severity_number));
    }
    if rec.flags != 0 {
        otel.insert("flags".into(), Value::from(rec.flags));
    }
    if rec.dropped_attributes_count > 0 {
        let mut m = Map::new();
        m.insert(
            "attributes".into(),
            Value::from(rec.dropped_attributes_count),
        );
        otel.insert("dropped".into(), Value::Object(m));
    }
    let mut d = Map::new();
    d.insert("otel".into(), Value::Object(otel));
    if !body.is_null() {
        d.insert("body".into(), body);
    }
    if let Some(g) = gen_ai {
        e.model = g.model.clone();
        g.into_details(&mut d);
    }
    d.insert("attributes".into(), Value::Object(attrs));
    e.details = d;
    Ok(e)
}
