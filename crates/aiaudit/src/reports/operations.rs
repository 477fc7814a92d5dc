//! Every operation or trail with its events, statuses, duration and regulations: seed 004's
//! view of an `AuditTrail`.

use aiaudit_core::Query;
use aiaudit_core::timefmt::{format_rfc3339, parse_sealed_time};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::{Head, MAX_ROWS, bump, severity, status_order};
use crate::error::Result;
use crate::reader::LogReader;

/// The event type an `AuditTrail` records when it is closed; its `details.status` is the
/// operation's final status.
pub const CLOSED: &str = "audit_closed";

struct Operation {
    id: Option<String>,
    names: BTreeSet<String>,
    first: String,
    last: String,
    count: u64,
    types: BTreeMap<String, u64>,
    statuses: BTreeMap<String, u64>,
    regulations: BTreeSet<String>,
    closed: Option<String>,
    events: Vec<Value>,
}

/// Operations with an event since `since_ns` (default: all), oldest first. Each has `id`,
/// `name`, `first`/`last` event time, `duration_s`, `events` (a count), `types` and `statuses`
/// (counts), `worst_status`, `regulations`, `state` (`open`, or the status its trail was closed
/// with) and its first `events_per_operation` events (at most [`MAX_ROWS`]) as rows. Only the
/// newest [`MAX_ROWS`] operations are listed, the others counted in `operations_omitted`, so
/// that memory stays bounded by the listed rows (plus one key per operation).
pub fn operations(
    reader: &LogReader,
    since_ns: Option<i64>,
    events_per_operation: usize,
) -> Result<Value> {
    let q = Query {
        since_ns,
        ..Query::default()
    };
    let events_per_operation = events_per_operation.min(MAX_ROWS);
    // Only the newest MAX_ROWS operations are listed: an older one keeps its place in `index`
    // (so that its later events are not taken for a new operation) but drops its data.
    let mut ops: Vec<Option<Operation>> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut unattached = 0u64;
    reader.candidates(&q, &mut |e| {
        let h = Head::parse(&e.data)?;
        let Some(op) = h.operation.as_ref() else {
            unattached += 1;
            return Ok(true);
        };
        // An operation is its id; a trail that gave only a name is that name.
        let key = match (&op.id, &op.name) {
            (Some(id), _) => format!("id:{id}"),
            (None, Some(name)) => format!("name:{name}"),
            (None, None) => {
                unattached += 1;
                return Ok(true);
            }
        };
        let i = match index.get(&key) {
            Some(i) => *i,
            None => {
                index.insert(key, ops.len());
                if let Some(old) = ops.len().checked_sub(MAX_ROWS) {
                    ops[old] = None;
                }
                ops.push(Some(Operation {
                    id: op.id.as_deref().map(str::to_owned),
                    names: BTreeSet::new(),
                    first: h.time.to_string(),
                    last: String::new(),
                    count: 0,
                    types: BTreeMap::new(),
                    statuses: BTreeMap::new(),
                    regulations: BTreeSet::new(),
                    closed: None,
                    events: Vec::new(),
                }));
                ops.len() - 1
            }
        };
        let Some(o) = ops[i].as_mut() else {
            return Ok(true);
        };
        if let Some(n) = op.name.as_deref()
            && !o.names.contains(n)
        {
            o.names.insert(n.to_owned());
        }
        o.last = h.time.to_string();
        o.count += 1;
        bump(&mut o.types, &h.kind);
        bump(&mut o.statuses, &h.status);
        for r in &h.regulations {
            if !o.regulations.contains(r.as_ref()) {
                o.regulations.insert(r.to_string());
            }
        }
        if h.kind == CLOSED {
            o.closed = Some(match super::value(h.details.status) {
                Value::String(s) => s,
                Value::Null => "closed".to_owned(),
                other => other.to_string(),
            });
        }
        if o.events.len() < events_per_operation {
            o.events.push(h.row());
        }
        Ok(true)
    })?;
    let total = ops.len();
    let omitted = total.saturating_sub(MAX_ROWS);
    let rows: Vec<Value> = ops.into_iter().flatten().map(row).collect();
    Ok(json!({
        "since": since_ns.map(format_rfc3339),
        "total_operations": total,
        "events_without_operation": unattached,
        "operations_omitted": omitted,
        "operations": rows,
    }))
}

fn row(o: Operation) -> Value {
    let duration = match (parse_sealed_time(&o.first), parse_sealed_time(&o.last)) {
        (Some(a), Some(b)) => Some((b - a) as f64 / 1e9),
        _ => None,
    };
    let worst = o.statuses.keys().max_by_key(|s| severity(s)).cloned();
    let mut statuses: Vec<(String, u64)> = o.statuses.into_iter().collect();
    statuses.sort_by(|a, b| status_order(&a.0, &b.0));
    let shown = o.events.len() as u64;
    json!({
        "id": o.id,
        "name": o.names.into_iter().collect::<Vec<_>>().join(", "),
        "state": o.closed.unwrap_or_else(|| "open".to_owned()),
        "first": o.first,
        "last": o.last,
        "duration_s": duration,
        "events": o.count,
        "worst_status": worst,
        "regulations": o.regulations.into_iter().collect::<Vec<_>>(),
        "types": o.types,
        "statuses": Value::Object(statuses.into_iter().map(|(k, n)| (k, json!(n))).collect()),
        "event_rows": o.events,
        "event_rows_omitted": o.count - shown,
    })
}
