//! One pass over the entries of a period for a report: per-bundle summaries where the store
//! keeps them, summaries made from the records (sliced across threads when there are many)
//! where it does not, handed over in seq order.

use aiaudit_core::Query;
use aiaudit_core::RecordHead;
use aiaudit_core::summary::{SEGMENT_GAP_NS, SPAN, Summary};

use crate::error::{Error, Result};
use crate::reader::LogReader;

/// The part of the summaries a report reads: only that part is decoded or built.
#[derive(Debug, Clone, Copy)]
pub(super) enum Part<'a> {
    /// One model's usage.
    Model(&'a str),
    /// The AI Act part, with periods of use split at this gap.
    Act {
        /// Gap between predictions that ends a period, ns.
        gap_ns: i64,
    },
    /// The operations.
    Operations,
}

impl Part<'_> {
    /// Can the part be read from stored summaries? Their segments of use are cut at
    /// [`SEGMENT_GAP_NS`], so a smaller gap needs the records.
    fn stored(&self) -> bool {
        match self {
            Part::Act { gap_ns } => *gap_ns >= SEGMENT_GAP_NS,
            Part::Model(_) | Part::Operations => true,
        }
    }

    fn decode(&self, bytes: &[u8]) -> Result<Summary> {
        let mut s = Summary::default();
        match self {
            Part::Model(m) => {
                if let Some(u) = Summary::decode_model(bytes, m)? {
                    s.models.insert((*m).to_owned(), u);
                }
            }
            Part::Act { .. } => s.act = Summary::decode_act(bytes)?,
            Part::Operations => s.operations = Summary::decode_operations(bytes)?,
        }
        Ok(s)
    }

    fn add(&self, s: &mut Summary, h: &RecordHead<'_>) {
        match self {
            Part::Model(m) => {
                if h.model_name() == Some(m) {
                    s.models.entry((*m).to_owned()).or_default().add(h);
                }
            }
            Part::Act { gap_ns } => s.act.add(h, *gap_ns),
            Part::Operations => s.operations.add(h),
        }
    }

    /// The records that can add to the part.
    fn query(&self) -> Query {
        Query {
            model: match self {
                Part::Model(m) => Some((*m).to_owned()),
                _ => None,
            },
            ..Query::default()
        }
    }
}

/// How to read the period.
pub(super) struct Plan {
    /// Threads to read records on.
    pub threads: usize,
    /// Records from which reading them is worth splitting across threads.
    pub parallel_from: u64,
    /// Whether to merge stored summaries (false reads every record: the tests' reference).
    pub summaries: bool,
}

impl Plan {
    /// Stored summaries, and records on up to 8 threads when there are many.
    pub fn new() -> Plan {
        Plan {
            threads: std::thread::available_parallelism().map_or(1, |n| n.get().min(8)),
            parallel_from: PARALLEL_FROM,
            summaries: true,
        }
    }
}

/// Records from which a report is worth splitting across threads.
const PARALLEL_FROM: u64 = 200_000;

/// Hands `f` the summaries (holding only `part`) of the entries from `lo` to the end of the
/// log, in seq order; returns the log's size at the time of reading.
pub(super) fn fold(
    reader: &LogReader,
    lo: u64,
    part: Part<'_>,
    plan: &Plan,
    f: &mut dyn FnMut(Summary) -> Result<()>,
) -> Result<u64> {
    // Read the covered range first: the log only grows, so the size read after it is at least
    // as large.
    let covered = if plan.summaries && part.stored() {
        reader.store().summarized()?
    } else {
        0
    };
    let size = reader.size()?;
    let from = lo.div_ceil(SPAN) * SPAN;
    if from >= covered {
        for s in records(reader, lo, size, part, plan)? {
            f(s)?;
        }
        return Ok(size);
    }
    for s in records(reader, lo, from, part, plan)? {
        f(s)?;
    }
    let mut failed = None;
    reader
        .store()
        .summaries(
            from,
            covered,
            &mut |_, bytes| match part.decode(bytes).and_then(&mut *f) {
                Ok(()) => Ok(true),
                Err(e) => {
                    failed = Some(e);
                    Ok(false)
                }
            },
        )?;
    if let Some(e) = failed {
        return Err(e);
    }
    for s in records(reader, covered, size, part, plan)? {
        f(s)?;
    }
    Ok(size)
}

/// Where a period from `since_ns` starts: the seq of the first entry at or after it (none if
/// no entry is that late); the log's start when there is no bound.
pub(super) fn first_since(reader: &LogReader, since_ns: Option<i64>) -> Result<Option<u64>> {
    let Some(since_ns) = since_ns else {
        return Ok(Some(0));
    };
    let first = Query {
        since_ns: Some(since_ns),
        limit: 1,
        ..Query::default()
    };
    let mut lo = None;
    reader.candidates(&first, &mut |e| {
        lo = Some(e.seq);
        Ok(false)
    })?;
    Ok(lo)
}

/// Summaries of `part` over the records `[lo, hi)`, read on up to `plan.threads` threads (each
/// with its own reader of the log), in seq order. A range too small to gain, or a reader not
/// made from a file, is read on this thread.
fn records(
    reader: &LogReader,
    lo: u64,
    hi: u64,
    part: Part<'_>,
    plan: &Plan,
) -> Result<Vec<Summary>> {
    let one = |r: &LogReader, lo: u64, hi: u64| -> Result<Summary> {
        let mut acc = Summary::default();
        if lo >= hi {
            return Ok(acc);
        }
        let q = Query {
            after_seq: lo.checked_sub(1),
            before_seq: Some(hi),
            ..part.query()
        };
        r.candidates(&q, &mut |e| {
            let h = RecordHead::parse(&e.data).map_err(|e| {
                Error::NotFound(format!(
                    "a stored record is not readable ({e}); run `aiaudit verify`"
                ))
            })?;
            part.add(&mut acc, &h);
            Ok(true)
        })?;
        Ok(acc)
    };
    let span = hi.saturating_sub(lo);
    if plan.threads < 2 || span < plan.parallel_from {
        return Ok(vec![one(reader, lo, hi)?]);
    }
    let mut readers = Vec::with_capacity(plan.threads);
    for _ in 0..plan.threads {
        match reader.reopen() {
            Some(r) => readers.push(r?),
            None => return Ok(vec![one(reader, lo, hi)?]),
        }
    }
    let step = span.div_ceil(plan.threads as u64);
    let parts: Vec<Result<Summary>> = std::thread::scope(|scope| {
        let handles: Vec<_> = readers
            .into_iter()
            .enumerate()
            .map(|(i, r)| {
                let from = lo + step * i as u64;
                let to = (from + step).min(hi);
                let one = &one;
                scope.spawn(move || one(&r, from, to))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(Error::NotFound("a report thread panicked".into())))
            })
            .collect()
    });
    parts.into_iter().collect()
}

/// Reads the records at `seqs` (ascending), one query per run of nearby seqs so that each
/// bundle is read once, and hands each to `f`.
pub(super) fn records_at(
    reader: &LogReader,
    seqs: &[u64],
    f: &mut dyn FnMut(&RecordHead<'_>) -> Result<()>,
) -> Result<()> {
    let mut i = 0;
    while i < seqs.len() {
        // A run: seqs within one bundle's width of the run's first.
        let start = seqs[i];
        let mut j = i;
        while j + 1 < seqs.len() && seqs[j + 1] < start + SPAN {
            j += 1;
        }
        let wanted = &seqs[i..=j];
        let q = Query {
            after_seq: start.checked_sub(1),
            before_seq: Some(seqs[j] + 1),
            ..Query::default()
        };
        reader.candidates(&q, &mut |e| {
            if wanted.binary_search(&e.seq).is_ok() {
                let h = RecordHead::parse(&e.data).map_err(|err| {
                    Error::NotFound(format!(
                        "the record at seq {} is not readable ({err}); run `aiaudit verify`",
                        e.seq
                    ))
                })?;
                f(&h)?;
            }
            Ok(true)
        })?;
        i = j + 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
