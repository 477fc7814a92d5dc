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

use aiaudit_archive::{Io, Location, compare, parquet_file};
use aiaudit_core::archive::{ARCHIVE_EVENT_TYPE, ArchivedFile, Manifest};
use aiaudit_core::layout::BUNDLE_WIDTH;
use aiaudit_core::{Event, Query, Store, leaf_hash, sha256};
use serde_json::{Value, json};

use crate::{AuditLogger, Error, Result};

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

fn archive_err(e: impl std::fmt::Display) -> Error {
    Error::Core(aiaudit_core::Error::Archived(e.to_string()))
}

/// Runs one archive of `logger`'s log. `progress` hears (records done, records to do).
pub fn archive(
    logger: &AuditLogger,
    opts: &ArchiveOptions,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<ArchiveOutcome> {
    let reason = opts.force_reason.as_deref().map(str::trim);
    // Without a reason, neither a short age nor a lowered minimum goes below six months.
    let floor = opts.min_retention.max(MIN_RETENTION);
    if opts.older_than < floor && reason.is_none_or(str::is_empty) {
        return Err(Error::Unsupported(format!(
            "refusing to archive records younger than {} days (EU AI Act Art. 19 and 26(6)); give --force with a reason to go below it, and the reason is logged",
            floor.as_secs() / 86_400,
        )));
    }
    let loc = Location::for_writing(&opts.to).map_err(archive_err)?;
    let io = Io::new().map_err(archive_err)?;
    let mut store = crate::location::open_store(logger.path())?;
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
    if let Some(r) = reason.filter(|r| !r.is_empty()) {
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

/// Writes, reads back and checks the file of seqs `[a, b)` and its manifest; returns the
/// file (its event seq not yet known) and its length.
fn write_file(
    store: &dyn Store,
    loc: &Location,
    io: &Io,
    logger: &AuditLogger,
    cp: &aiaudit_core::StoredCheckpoint,
    a: u64,
    b: u64,
) -> Result<(ArchivedFile, u64)> {
    // Records stream from the store into the file: a file's worth of records is never held.
    let mut w = parquet_file::ParquetWriter::new(Vec::with_capacity(((b - a) * 220) as usize))
        .map_err(archive_err)?;
    let mut next = a;
    let mut bad = None;
    let mut failed = None;
    store.scan(a, &mut |e| {
        if e.seq >= b {
            return Ok(false);
        }
        // Each record is checked against its leaf hash once, as read back from the file.
        if e.seq != next {
            bad = Some(e.seq.min(next));
            return Ok(false);
        }
        if let Err(err) = w.push(&e) {
            failed = Some(err);
            return Ok(false);
        }
        next += 1;
        Ok(true)
    })?;
    if let Some(e) = failed {
        return Err(archive_err(e));
    }
    if let Some(seq) = bad.or((next != b).then_some(next)) {
        return Err(archive_err(format!(
            "refusing to archive: seq {seq} is missing from the log; run `aiaudit verify`"
        )));
    }
    let name = format!("seq-{a}-{}.parquet", b - 1);
    let bytes = w.finish().map_err(archive_err)?;
    let manifest = Manifest {
        origin: logger.info().origin.clone(),
        file: name.clone(),
        sha256: sha256(&bytes),
        bytes: bytes.len() as u64,
        rows: b - a,
        first_seq: a,
        end_seq: b,
        checkpoint_size: cp.size,
        checkpoint_root: cp.root,
        subtrees: aiaudit_core::merkle::range_subtrees(store, a, b)?,
    };
    let note = manifest.sign(&logger.signers)?;
    let len = bytes.len() as u64;
    let mname = manifest_name(&name);
    io.put(loc, &name, bytes.into())
        .map_err(|e| rerun(e, &name))?;
    io.put(loc, &mname, note.clone().into_bytes().into())
        .map_err(|e| rerun(e, &mname))?;
    // Read back: the bytes as stored, the manifest as signed, and every record as sealed.
    let back = io.get(loc, &name).map_err(|e| rerun(e, &name))?;
    if let Some(why) = compare(&name, &back, &manifest) {
        return Err(archive_err(format!(
            "reading back: {why}; nothing was dropped, rerun"
        )));
    }
    if io.get(loc, &mname).map_err(|e| rerun(e, &mname))? != note.as_bytes() {
        return Err(archive_err(format!(
            "reading back {mname}: it differs from what was written; nothing was dropped, rerun"
        )));
    }
    // Every row decodes to the record whose leaf hash the tree holds, in seq order.
    let leaves = store.stored_nodes(0, a, b - a)?;
    let (_, groups) = parquet_file::shape(&name, &back).map_err(archive_err)?;
    let mut want = a;
    for g in 0..groups {
        for (seq, record) in parquet_file::read_group(&name, &back, g).map_err(archive_err)? {
            let leaf = leaves.get((want - a) as usize);
            if seq != want || leaf != Some(&leaf_hash(&record)) {
                return Err(archive_err(format!(
                    "reading back {name}: the row for seq {want} does not match the log's leaf hash (if a rerun says the same, the log's own record is damaged: run `aiaudit verify`); nothing was dropped"
                )));
            }
            want += 1;
        }
    }
    if want != b {
        return Err(archive_err(format!(
            "reading back {name}: it holds {} rows, not {}; nothing was dropped, rerun",
            want - a,
            b - a
        )));
    }
    Ok((
        ArchivedFile {
            first_seq: a,
            end_seq: b,
            event_seq: 0,
            url: loc.url.clone(),
            file: name,
            manifest: note,
        },
        len,
    ))
}

fn rerun(e: aiaudit_archive::Error, name: &str) -> Error {
    archive_err(format!(
        "{e} (at {name}); nothing was dropped from the log: rerun the same `aiaudit archive` command once the archive is reachable"
    ))
}
