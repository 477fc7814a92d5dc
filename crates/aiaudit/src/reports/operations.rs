//! Every operation or trail with its events, statuses, duration and regulations: seed 004's
//! view of an `AuditTrail`.

use aiaudit_core::Status;
use aiaudit_core::report::{EventRow, OperationRow, OperationsReport};
use aiaudit_core::summary::{OperationUse, Operations};
use aiaudit_core::timefmt::{format_rfc3339, parse_sealed_time};
use std::collections::HashMap;

use super::MAX_ROWS;
use super::fold::{Part, Plan, first_since, fold, records_at};
use crate::error::Result;
use crate::reader::LogReader;

/// The operations listed so far, oldest first: only the newest [`MAX_ROWS`] keep their data; an
/// older one keeps its place in `index` (so that its later events are not taken for a new
/// operation).
#[derive(Default)]
struct Listed {
    ops: Vec<Option<OperationUse>>,
    index: HashMap<String, usize>,
    unattached: u64,
}

impl Listed {
    fn merge(&mut self, later: Operations) {
        self.unattached += later.unattached;
        for op in later.list {
            let key = op.key();
            match self.index.get(&key) {
                Some(&i) => {
                    if let Some(mine) = self.ops[i].as_mut() {
                        mine.merge(&op);
                    }
                }
                None => {
                    self.index.insert(key, self.ops.len());
                    if let Some(old) = self.ops.len().checked_sub(MAX_ROWS) {
                        self.ops[old] = None;
                    }
                    self.ops.push(Some(op));
                }
            }
        }
    }
}

/// Operations with an event since `since_ns` (default: all), oldest first. Each has `id`,
/// `name`, `first`/`last` event time, `duration_s`, `events` (a count), `types` and `statuses`
/// (counts), `worst_status`, `regulations`, `state` (`open`, or the status its trail was closed
/// with) and its first `events_per_operation` events (at most [`MAX_ROWS`]) as rows. Only the
/// newest [`MAX_ROWS`] operations are listed, the others counted in `operations_omitted`, so
/// that memory stays bounded by the listed rows (plus one key per operation). The period starts
/// at the first entry at or after `since_ns`; whole bundles are read from their stored
/// summaries, records only at its start, after the last full bundle, and for the listed rows.
pub fn operations(
    reader: &LogReader,
    since_ns: Option<i64>,
    events_per_operation: usize,
) -> Result<OperationsReport> {
    operations_on(reader, since_ns, events_per_operation, &Plan::new())
}

pub(super) fn operations_on(
    reader: &LogReader,
    since_ns: Option<i64>,
    events_per_operation: usize,
    plan: &Plan,
) -> Result<OperationsReport> {
    let events_per_operation = events_per_operation.min(MAX_ROWS);
    let lo = first_since(reader, since_ns)?;
    let mut listed = Listed::default();
    if let Some(lo) = lo {
        fold(reader, lo, Part::Operations, plan, &mut |s| {
            listed.merge(s.operations);
            Ok(())
        })?;
    }
    let total = listed.ops.len();
    let ops: Vec<OperationUse> = listed.ops.into_iter().flatten().collect();
    let mut wanted: Vec<u64> = ops
        .iter()
        .flat_map(|o| o.seqs().take(events_per_operation))
        .collect();
    wanted.sort_unstable();
    let mut rows: HashMap<u64, EventRow> = HashMap::with_capacity(wanted.len());
    records_at(reader, &wanted, &mut |h| {
        rows.insert(
            h.seq,
            EventRow {
                seq: h.seq,
                time: h.time.to_string(),
                kind: h.kind.to_string(),
                status: h.status.to_string(),
                name: h.name.to_string(),
            },
        );
        Ok(())
    })?;
    let omitted = total.saturating_sub(MAX_ROWS);
    let rows = ops
        .into_iter()
        .map(|o| {
            let events: Vec<EventRow> = o
                .seqs()
                .take(events_per_operation)
                .filter_map(|s| rows.get(&s).cloned())
                .collect();
            row(o, events)
        })
        .collect();
    Ok(OperationsReport {
        since: since_ns.map(format_rfc3339),
        total_operations: total as u64,
        events_without_operation: listed.unattached,
        operations_omitted: omitted as u64,
        operations: rows,
    })
}

fn row(o: OperationUse, events: Vec<EventRow>) -> OperationRow {
    let duration = match (parse_sealed_time(&o.first), parse_sealed_time(&o.last)) {
        (Some(a), Some(b)) => Some((b - a) as f64 / 1e9),
        _ => None,
    };
    let worst = o
        .statuses
        .keys()
        .max_by_key(|s| Status::severity_of(s))
        .cloned();
    let shown = events.len() as u64;
    OperationRow {
        id: o.id,
        name: o.names.into_iter().collect::<Vec<_>>().join(", "),
        state: o.closed.unwrap_or_else(|| "open".to_owned()),
        first: o.first,
        last: o.last,
        duration_s: duration,
        events: o.count,
        worst_status: worst,
        regulations: o.regulations.into_iter().collect(),
        types: o.types,
        statuses: o.statuses,
        event_rows: events,
        event_rows_omitted: o.count - shown,
    }
}
