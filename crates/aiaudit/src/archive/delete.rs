//! Deleting archived files under the retention policy (`delete_archives_after`, docs/format.md
//! §13.5): files whose every record is older than a cutoff are named in an `archive` event
//! (`action: "delete"`), recorded as deleted in the store, and only then removed from object
//! storage. Their manifests stay in the store and every leaf and tree hash stays, so every
//! checkpoint and proof still checks; reads of their records say they were deleted, and when.
//!
//! A run stopped before the event changed nothing. One stopped after it but before the store
//! recorded the deletion leaves an event naming files no deletion names (the next run deletes
//! them again, with a new event). Objects are removed last, and every run removes those of
//! every deleted file again, so a run stopped (or an object store that failed) while removing
//! them is finished by the next.

use std::time::Duration;

use aiaudit_archive::{Io, Location};
use aiaudit_core::archive::{ARCHIVE_EVENT_TYPE, ArchivedFile};
use aiaudit_core::{Event, Query};
use serde_json::{Value, json};

use super::{MIN_RETENTION, archive_err, check_floor, manifest_name};
use crate::{AuditLogger, Result};

/// Which archived files to delete.
#[derive(Debug, Clone)]
pub struct DeleteOptions {
    /// Files whose every record was sealed longer ago than this go.
    pub older_than: Duration,
    /// The shortest `older_than` accepted without a reason (as [`super::ArchiveOptions`]).
    pub min_retention: Duration,
    /// Why a shorter retention is wanted; recorded in the event.
    pub force_reason: Option<String>,
}

impl DeleteOptions {
    /// Delete archived files older than `older_than`, keeping at least six months.
    pub fn new(older_than: Duration) -> Self {
        DeleteOptions {
            older_than,
            min_retention: MIN_RETENTION,
            force_reason: None,
        }
    }
}

/// What a deletion run did.
#[derive(Debug, Clone, Default)]
pub struct DeleteOutcome {
    /// The files this run deleted (none: nothing was old enough).
    pub files: Vec<ArchivedFile>,
    /// Records whose archived copy is gone.
    pub records: u64,
    /// The seq of the run's `archive` event.
    pub event_seq: Option<u64>,
    /// Objects of deleted files that could not be removed (name and why); the next run tries
    /// again.
    pub left: Vec<String>,
}

/// Deletes the archived files of `logger`'s log older than `opts.older_than`.
pub fn delete_archives(logger: &AuditLogger, opts: &DeleteOptions) -> Result<DeleteOutcome> {
    let reason = check_floor(
        "delete the archive of",
        opts.older_than,
        opts.min_retention,
        opts.force_reason.as_deref(),
    )?;
    let mut store = crate::location::open_store(logger.path())?;
    store.may_archive()?;
    let files = store.archived()?;
    let deleted_end = aiaudit_core::archive::deleted_end(&files);
    let archived_end = files.last().map_or(0, |f| f.end_seq);
    let cutoff = aiaudit_core::timefmt::now_ns()
        .saturating_sub(i64::try_from(opts.older_than.as_nanos()).unwrap_or(i64::MAX));
    // The first record younger than the cutoff, past what is deleted already (reading the
    // archive for it when it is archived).
    if archived_end > deleted_end {
        let reader = aiaudit_archive::ArchiveReader::new().map_err(archive_err)?;
        store.attach_archive(Some(std::sync::Arc::new(reader)));
    }
    let young = store.query(&Query {
        since_ns: Some(cutoff),
        after_seq: deleted_end.checked_sub(1),
        limit: 1,
        ..Query::default()
    })?;
    let first_young = young.first().map_or(u64::MAX, |e| e.seq);
    let doomed: Vec<ArchivedFile> = files
        .iter()
        .filter(|f| f.deleted_by.is_none() && f.end_seq <= first_young)
        .cloned()
        .collect();
    let mut outcome = DeleteOutcome::default();
    if let (Some(first), Some(last)) = (doomed.first(), doomed.last()) {
        let mut event = Event::new(
            ARCHIVE_EVENT_TYPE,
            format!(
                "delete archived seqs {}..{} under the retention policy",
                first.first_seq,
                last.end_seq - 1
            ),
        );
        let listed: Vec<Value> = doomed
            .iter()
            .map(|f| {
                json!({
                    "url": f.url,
                    "file": f.file,
                    "manifest": manifest_name(&f.file),
                    "first_seq": f.first_seq,
                    "end_seq": f.end_seq,
                })
            })
            .collect();
        event.details.insert("action".into(), json!("delete"));
        event.details.insert("files".into(), Value::Array(listed));
        event
            .details
            .insert("first_seq".into(), json!(first.first_seq));
        event.details.insert("end_seq".into(), json!(last.end_seq));
        event
            .details
            .insert("older_than_s".into(), json!(opts.older_than.as_secs()));
        if let Some(r) = reason {
            event.details.insert("forced_reason".into(), json!(r));
        }
        let seq = logger.record_key_change(event)?;
        let firsts: Vec<u64> = doomed.iter().map(|f| f.first_seq).collect();
        store.record_deletions(&firsts, seq)?;
        outcome.event_seq = Some(seq);
        outcome.records = last.end_seq - first.first_seq;
        outcome.files = doomed
            .into_iter()
            .map(|f| ArchivedFile {
                deleted_by: Some(seq),
                ..f
            })
            .collect();
    }
    // The objects of every deleted file, this run's and any an earlier run left.
    let io = Io::new().map_err(archive_err)?;
    for f in store.archived()?.iter().filter(|f| f.deleted_by.is_some()) {
        let loc = match Location::parse(&f.url) {
            Ok(l) => l,
            Err(e) => {
                outcome.left.push(format!("{}: {e}", f.file));
                continue;
            }
        };
        for name in [f.file.clone(), manifest_name(&f.file)] {
            if let Err(e) = io.delete(&loc, &name) {
                outcome.left.push(format!("{name}: {e}"));
            }
        }
    }
    Ok(outcome)
}
