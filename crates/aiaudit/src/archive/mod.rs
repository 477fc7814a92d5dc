//! Archiving (docs/format.md §13; feature `archive`): the records of whole bundles older than
//! a cutoff go to Parquet files on object storage, each with a manifest the log's key signs;
//! only once every file has been written, read back and checked is an `archive` event
//! committed that names them, and then the store drops those records in one transaction that
//! records the files. Leaf and tree hashes stay, so every checkpoint and proof still checks.
//!
//! A run stopped anywhere leaves either nothing dropped (rerun it: it writes the same files
//! again) or the files recorded and the records dropped; never records dropped that no
//! recorded file holds.

use std::time::Duration;

use aiaudit_archive::{Io, Location};
use aiaudit_core::archive::{ARCHIVE_EVENT_TYPE, ArchivedFile};
use aiaudit_core::layout::BUNDLE_WIDTH;
use aiaudit_core::{Event, Query, sha256};
use serde_json::{Value, json};

use crate::{AuditLogger, Error, Result};

mod delete;
mod file;

pub use delete::{DeleteOptions, DeleteOutcome, delete_archives};
use file::write_file;

/// Bundles per archived file: 262,144 records.
pub const FILE_BUNDLES: u64 = 1024;

/// Files written at once (one per core of the machines this is measured on).
const WRITERS: usize = 2;

/// The shortest retention a run keeps without `force`: six months (EU AI Act Art. 19 and
/// 26(6)).
pub const MIN_RETENTION: Duration = Duration::from_secs(183 * 86_400);

/// What to archive and where.
#[derive(Debug, Clone)]
pub struct ArchiveOptions {
    /// Records sealed longer ago than this go.
    pub older_than: Duration,
    /// The archive's URL (`file:///dir`, `s3://bucket/prefix`, `gs://…`, `az://…`).
    pub to: String,
    /// The shortest `older_than` accepted without a reason ([`MIN_RETENTION`] by default; a
    /// lower value counts only with `force_reason`).
    pub min_retention: Duration,
    /// Why a shorter retention is wanted: given, a run below `min_retention` goes ahead and
    /// the reason is recorded in its `archive` event.
    pub force_reason: Option<String>,
}

impl ArchiveOptions {
    /// Archive what is older than `older_than` to `to`, keeping at least six months.
    pub fn new(older_than: Duration, to: impl Into<String>) -> Self {
        ArchiveOptions {
            older_than,
            to: to.into(),
            min_retention: MIN_RETENTION,
            force_reason: None,
        }
    }
}

/// What a run did.
#[derive(Debug, Clone, Default)]
pub struct ArchiveOutcome {
    /// The files written and recorded, in seq order (none: nothing was old enough).
    pub files: Vec<ArchivedFile>,
    /// Records moved.
    pub records: u64,
    /// Bytes of Parquet written.
    pub bytes: u64,
    /// The seq of the run's `archive` event.
    pub event_seq: Option<u64>,
    /// Why the store's space was not given back, if it was not (the records are archived all
    /// the same; a later run or `VACUUM` gives it back).
    pub reclaim_failed: Option<String>,
}

/// Refuses an age below six months (or below `min_retention`, which cannot lower that floor)
/// unless `reason` says why; returns the reason, trimmed, when one was given.
fn check_floor<'a>(
    what: &str,
    older_than: Duration,
    min_retention: Duration,
    reason: Option<&'a str>,
) -> Result<Option<&'a str>> {
    let reason = reason.map(str::trim).filter(|r| !r.is_empty());
    // Without a reason, neither a short age nor a lowered minimum goes below six months.
    let floor = min_retention.max(MIN_RETENTION);
    if older_than < floor && reason.is_none() {
        return Err(Error::Unsupported(format!(
            "refusing to {what} records younger than {} days (EU AI Act Art. 19 and 26(6)); give --force with a reason to go below it, and the reason is logged",
            floor.as_secs() / 86_400,
        )));
    }
    Ok(reason)
}

fn archive_err(e: impl std::fmt::Display) -> Error {
    Error::Core(aiaudit_core::Error::Archived(e.to_string()))
}

/// Runs one archive of `logger`'s log. `progress` hears (records done, records to do).
pub fn archive(
    logger: &AuditLogger,
    opts: &ArchiveOptions,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<ArchiveOutcome> {
    let reason = check_floor(
        "archive",
        opts.older_than,
        opts.min_retention,
        opts.force_reason.as_deref(),
    )?;
    let loc = Location::for_writing(&opts.to).map_err(archive_err)?;
    let io = Io::new().map_err(archive_err)?;
    let mut store = crate::location::open_store(logger.path())?;
    store.may_archive()?;
    let start = store.archived()?.last().map_or(0, |f| f.end_seq);
    let Some(cp) = store.latest_checkpoint()? else {
        return Ok(ArchiveOutcome::default());
    };
    let cutoff = aiaudit_core::timefmt::now_ns()
        .saturating_sub(i64::try_from(opts.older_than.as_nanos()).unwrap_or(i64::MAX));
    let young = store.query(&Query {
        since_ns: Some(cutoff),
        after_seq: start.checked_sub(1),
        limit: 1,
        ..Query::default()
    })?;
    let first_young = young.first().map_or(cp.size, |e| e.seq).min(cp.size);
    // Whole units of the store (a PostgreSQL partition), so that what goes frees its space.
    let unit = store.archive_unit().max(1) * BUNDLE_WIDTH;
    let end = first_young / unit * unit;
    if end <= start {
        return Ok(ArchiveOutcome::default());
    }
    let mut outcome = ArchiveOutcome::default();
    let step = FILE_BUNDLES * BUNDLE_WIDTH;
    let ranges: Vec<(u64, u64)> = (start..end)
        .step_by(step as usize)
        .map(|a| (a, (a + step).min(end)))
        .collect();
    // Files are written WRITERS at a time, each worker reading through its own connection;
    // they come back in seq order.
    for group in ranges.chunks(WRITERS) {
        let written: Vec<Result<(ArchivedFile, u64)>> = std::thread::scope(|scope| {
            let handles: Vec<_> = group
                .iter()
                .map(|&(a, b)| {
                    let (loc, io, cp) = (&loc, &io, &cp);
                    scope.spawn(move || {
                        let own = crate::location::open_store(logger.path())?;
                        write_file(own.as_ref(), loc, io, logger, cp, a, b)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(archive_err("an archive worker panicked")))
                })
                .collect()
        });
        for (file, &(a, b)) in written.into_iter().zip(group) {
            let (file, bytes) = file?;
            outcome.bytes += bytes;
            outcome.files.push(file);
            outcome.records += b - a;
            progress(outcome.records, end - start);
        }
    }
    let mut event = Event::new(
        ARCHIVE_EVENT_TYPE,
        format!("archive seqs {start}..{} to {}", end - 1, opts.to),
    );
    let listed: Vec<Value> = outcome
        .files
        .iter()
        .map(|f| {
            json!({
                "file": f.file,
                "manifest": manifest_name(&f.file),
                "first_seq": f.first_seq,
                "end_seq": f.end_seq,
                "manifest_sha256": hex::encode(sha256(f.manifest.as_bytes())),
            })
        })
        .collect();
    event.details.insert("url".into(), json!(opts.to));
    event.details.insert("files".into(), Value::Array(listed));
    event.details.insert("first_seq".into(), json!(start));
    event.details.insert("end_seq".into(), json!(end));
    event
        .details
        .insert("older_than_s".into(), json!(opts.older_than.as_secs()));
    event
        .details
        .insert("checkpoint_size".into(), json!(cp.size));
    if let Some(r) = reason {
        event.details.insert("forced_reason".into(), json!(r));
    }
    let seq = logger.record_key_change(event)?;
    for f in &mut outcome.files {
        f.event_seq = seq;
    }
    store.drop_archived(&outcome.files)?;
    outcome.event_seq = Some(seq);
    if let Err(e) = store.reclaim() {
        outcome.reclaim_failed = Some(e.to_string());
    }
    Ok(outcome)
}

/// The manifest's object name beside file `name`.
pub fn manifest_name(name: &str) -> String {
    format!("{}.manifest", name.trim_end_matches(".parquet"))
}
