//! One pass over a model's entries in a period: per-bundle summaries where the store keeps
//! them, records (sliced across threads when there are many) where it does not.

use aiaudit_core::Query;
use aiaudit_core::RecordHead;
use aiaudit_core::summary::{ModelUsage, SPAN, Summary};

use crate::error::{Error, Result};
use crate::reader::LogReader;

/// How to read the period.
pub(super) struct Plan {
    /// Threads to read records on.
    pub threads: usize,
    /// Records from which reading them is worth splitting across threads.
    pub parallel_from: u64,
    /// Whether to merge stored summaries (false reads every record: the tests' reference).
    pub summaries: bool,
}

/// The usage of `model` over the entries from `lo` on (the first in the period).
pub(super) fn fold(reader: &LogReader, model: &str, lo: u64, plan: &Plan) -> Result<ModelUsage> {
    // Read the covered range first: the log only grows, so the size read after it is at least
    // as large.
    let covered = if plan.summaries {
        reader.store().summarized()?
    } else {
        0
    };
    let size = reader.size()?;
    let from = lo.div_ceil(SPAN) * SPAN;
    if from >= covered {
        return records(reader, model, lo, size, plan);
    }
    let mut acc = records(reader, model, lo, from, plan)?;
    reader.store().summaries(from, covered, &mut |_, bytes| {
        if let Some(m) = Summary::decode(bytes)?.models.get(model) {
            acc.merge(m);
        }
        Ok(true)
    })?;
    acc.merge(&records(reader, model, covered, size, plan)?);
    Ok(acc)
}

/// The seq of the first entry at or after `since_ns`, if any.
pub(super) fn first_since(reader: &LogReader, since_ns: i64) -> Result<Option<u64>> {
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

/// The usage of `model` in the records `[lo, hi)`, read on up to `plan.threads` threads (each
/// with its own reader of the log) and merged in seq order. A range too small to gain, or a
/// reader not made from a file, is read on this thread.
fn records(reader: &LogReader, model: &str, lo: u64, hi: u64, plan: &Plan) -> Result<ModelUsage> {
    let one = |r: &LogReader, lo: u64, hi: u64| -> Result<ModelUsage> {
        let mut acc = ModelUsage::default();
        if lo >= hi {
            return Ok(acc);
        }
        let q = Query {
            model: Some(model.to_owned()),
            after_seq: lo.checked_sub(1),
            before_seq: Some(hi),
            ..Query::default()
        };
        r.candidates(&q, &mut |e| {
            let h = RecordHead::parse(&e.data).map_err(|e| {
                Error::NotFound(format!(
                    "a stored record is not readable ({e}); run `aiaudit verify`"
                ))
            })?;
            if h.model_name() == Some(model) {
                acc.add(&h);
            }
            Ok(true)
        })?;
        Ok(acc)
    };
    let span = hi.saturating_sub(lo);
    if plan.threads < 2 || span < plan.parallel_from {
        return one(reader, lo, hi);
    }
    let mut readers = Vec::with_capacity(plan.threads);
    for _ in 0..plan.threads {
        match reader.reopen() {
            Some(r) => readers.push(r?),
            None => return one(reader, lo, hi),
        }
    }
    let step = span.div_ceil(plan.threads as u64);
    let parts: Vec<Result<ModelUsage>> = std::thread::scope(|scope| {
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
    let mut acc = ModelUsage::default();
    for p in parts {
        acc.merge(&p?);
    }
    Ok(acc)
}

/// Records from which a report is worth splitting across threads.
pub(super) const PARALLEL_FROM: u64 = 200_000;

#[cfg(test)]
mod tests {
    use super::super::usage_on;
    use super::{Plan, fold};
    use crate::LogReader;
    use crate::error::Result;
    use serde_json::json;

    #[test]
    fn threads_and_summaries_agree_with_one_pass_over_the_records() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| crate::Error::NotFound(e.to_string()))?;
        let db = dir.path().join("u.db");
        let log = crate::AuditLogger::builder(&db)
            .durability(crate::Durability::Async)
            .open()?;
        for i in 0..3001u32 {
            let model = if i % 7 == 0 { "other" } else { "m" };
            let version = if i < 1000 { "1" } else { "2" };
            let output = json!({"prediction": if i % 3 == 0 { "a" } else { "b" }});
            let e = crate::events::inference(
                model,
                version,
                &format!("u{}", i % 11),
                output,
                f64::from(i % 97),
            );
            log.log(if i % 500 == 0 {
                e.status(aiaudit_core::Status::Warning)
            } else {
                e
            })?;
        }
        log.close()?;
        let reader = LogReader::open(&db)?;
        assert_eq!(reader.store().summarized()?, 2816, "11 full bundles");
        let now = aiaudit_core::timefmt::now_ns();
        let reference = |threads, summaries| Plan {
            threads,
            parallel_from: 0,
            summaries,
        };
        let one = usage_on(&reader, "m", 30, now, &reference(1, false))?;
        for (threads, summaries) in [(2, false), (3, false), (8, false), (1, true), (2, true)] {
            assert_eq!(
                usage_on(&reader, "m", 30, now, &reference(threads, summaries))?,
                one,
                "{threads} threads, summaries {summaries}"
            );
        }
        assert_eq!(one["total_predictions"], 3001 - 429);
        // From inside a bundle, from a bundle's start, and past the last summary.
        for lo in [0, 1, 255, 256, 1000, 2816, 2900, 3001] {
            assert_eq!(
                fold(&reader, "m", lo, &reference(1, true))?,
                fold(&reader, "m", lo, &reference(1, false))?,
                "from seq {lo}"
            );
        }
        Ok(())
    }
}
