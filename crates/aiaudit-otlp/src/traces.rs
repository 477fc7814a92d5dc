//! `ExportTraceServiceRequest` onto events: one per span.

use aiaudit_core::Status;
use aiaudit_core::event::Event;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::{Span, span, status};
use serde_json::{Map, Value};

use crate::common::{self, Group, Origin, fill, id, time};
use crate::content::{is_content_key, is_message_event, is_message_key};
use crate::error::Error;
use crate::value::{At, attributes, attributes_with};
use crate::{Encoding, Options, genai};

/// Decodes a request body.
pub fn decode(body: &[u8], encoding: Encoding) -> Result<ExportTraceServiceRequest, Error> {
    common::decode(body, encoding, "ExportTraceServiceRequest")
}

/// The number of spans in `req`.
pub fn count(req: &ExportTraceServiceRequest) -> usize {
    req.resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .map(|s| s.spans.len())
        .sum()
}

/// Every span of `req` as an event, in order, or the first error.
pub fn to_events(req: ExportTraceServiceRequest, opts: &Options) -> Result<Vec<Event>, Error> {
    let groups = req
        .resource_spans
        .into_iter()
        .map(|rs| Group {
            resource: rs.resource,
            schema_url: rs.schema_url,
            scopes: rs
                .scope_spans
                .into_iter()
                .map(|ss| (ss.scope, ss.schema_url, ss.spans))
                .collect(),
        })
        .collect();
    common::walk(
        groups,
        ["resourceSpans", "scopeSpans", "spans"],
        opts,
        |sp, origin, shared, at| span_event(sp, origin, shared, opts, at),
    )
}

fn kind_name(k: i32) -> Option<&'static str> {
    match span::SpanKind::try_from(k).ok()? {
        span::SpanKind::Unspecified => None,
        span::SpanKind::Internal => Some("internal"),
        span::SpanKind::Server => Some("server"),
        span::SpanKind::Client => Some("client"),
        span::SpanKind::Producer => Some("producer"),
        span::SpanKind::Consumer => Some("consumer"),
    }
}

fn span_event(
    sp: Span,
    origin: &Origin,
    shared: &Map<String, Value>,
    opts: &Options,
    at: &At<'_>,
) -> Result<Event, Error> {
    for (n, what) in [(sp.events.len(), "span events"), (sp.links.len(), "links")] {
        if n > opts.max_attributes {
            return Err(at.fail(format!(
                "{n} {what}; the limit is {} ([otlp] max_attributes)",
                opts.max_attributes
            )));
        }
    }
    let trace = id(&sp.trace_id, 16, "traceId", at)?;
    let span_id = id(&sp.span_id, 8, "spanId", at)?;
    let parent = id(&sp.parent_span_id, 8, "parentSpanId", at)?;
    let start = time(sp.start_time_unix_nano, "startTimeUnixNano", at)?;
    let end = time(sp.end_time_unix_nano, "endTimeUnixNano", at)?;
    let latency = match (start, end) {
        (Some(s), Some(e)) if e < s => {
            return Err(at.fail(format!("the span ends ({e}) before it starts ({s})")));
        }
        (Some(s), Some(e)) => Some((e - s) as f64 / 1e6),
        _ => None,
    };
    let attrs = attributes(sp.attributes, opts, at, "attributes")?;
    let gen_ai = genai::read(&attrs);
    let kind = gen_ai.as_ref().and_then(|g| g.kind).unwrap_or("span");
    let mut e = Event::new(kind, sp.name);
    e.occurred_ns = start;
    // The trace id is the operation and the parent span the parent: not repeated in `otel`.
    fill(&mut e, origin, &attrs, trace, opts);
    e.parent = parent;

    let mut otel = Map::new();
    otel.insert("signal".into(), Value::from("span"));
    if let Some(s) = span_id {
        otel.insert("span_id".into(), Value::String(s));
    }
    if let Some(k) = kind_name(sp.kind) {
        otel.insert("kind".into(), Value::from(k));
    }
    for (k, v) in shared {
        otel.insert(k.clone(), v.clone());
    }
    if !sp.trace_state.is_empty() {
        otel.insert("trace_state".into(), Value::String(sp.trace_state));
    }
    if sp.flags != 0 {
        otel.insert("flags".into(), Value::from(sp.flags));
    }
    if let Some(st) = sp.status {
        if st.code == status::StatusCode::Error as i32 {
            e.status = Status::Error;
            otel.insert("status_code".into(), Value::from("error"));
        } else if st.code == status::StatusCode::Ok as i32 {
            // Set by the application, unlike unset: kept, though the status stays INFO.
            otel.insert("status_code".into(), Value::from("ok"));
        }
        if !st.message.is_empty() {
            otel.insert("status_message".into(), Value::String(st.message));
        }
    }
    let dropped: Map<String, Value> = [
        ("attributes", sp.dropped_attributes_count),
        ("events", sp.dropped_events_count),
        ("links", sp.dropped_links_count),
    ]
    .into_iter()
    .filter(|(_, n)| *n > 0)
    .map(|(k, n)| (k.to_owned(), Value::from(n)))
    .collect();
    if !dropped.is_empty() {
        otel.insert("dropped".into(), Value::Object(dropped));
    }

    let mut d = Map::new();
    d.insert("otel".into(), Value::Object(otel));
    if !sp.events.is_empty() {
        let mut evs = Vec::with_capacity(sp.events.len());
        for (j, ev) in sp.events.into_iter().enumerate() {
            let mut m = Map::new();
            let message = is_message_event(&ev.name);
            m.insert("name".into(), Value::String(ev.name));
            if let Some(t) = time(ev.time_unix_nano, &format!("events[{j}].timeUnixNano"), at)? {
                m.insert(
                    "time".into(),
                    Value::String(aiaudit_core::timefmt::format_rfc3339(t)),
                );
            }
            let content = if message {
                is_message_key
            } else {
                is_content_key
            };
            let a = attributes_with(
                ev.attributes,
                opts,
                at,
                &format!("events[{j}].attributes"),
                content,
            )?;
            if !a.is_empty() {
                m.insert("attributes".into(), Value::Object(a));
            }
            if ev.dropped_attributes_count > 0 {
                m.insert(
                    "dropped_attributes".into(),
                    Value::from(ev.dropped_attributes_count),
                );
            }
            evs.push(Value::Object(m));
        }
        d.insert("events".into(), Value::Array(evs));
    }
    if !sp.links.is_empty() {
        let mut ls = Vec::with_capacity(sp.links.len());
        for (j, l) in sp.links.into_iter().enumerate() {
            let mut m = Map::new();
            if let Some(t) = id(&l.trace_id, 16, &format!("links[{j}].traceId"), at)? {
                m.insert("trace_id".into(), Value::String(t));
            }
            if let Some(s) = id(&l.span_id, 8, &format!("links[{j}].spanId"), at)? {
                m.insert("span_id".into(), Value::String(s));
            }
            let a = attributes(l.attributes, opts, at, &format!("links[{j}].attributes"))?;
            if !a.is_empty() {
                m.insert("attributes".into(), Value::Object(a));
            }
            if !l.trace_state.is_empty() {
                m.insert("trace_state".into(), Value::String(l.trace_state));
            }
            if l.flags != 0 {
                m.insert("flags".into(), Value::from(l.flags));
            }
            if l.dropped_attributes_count > 0 {
                m.insert(
                    "dropped_attributes".into(),
                    Value::from(l.dropped_attributes_count),
                );
            }
            ls.push(Value::Object(m));
        }
        d.insert("links".into(), Value::Array(ls));
    }
    if let Some(l) = latency {
        d.insert("latency_ms".into(), Value::from(l));
    }
    if let Some(g) = gen_ai {
        e.model = g.model.clone();
        g.into_details(&mut d);
    }
    d.insert("attributes".into(), Value::Object(attrs));
    e.details = d;
    Ok(e)
}
