//! Copying a log to another store (`aiaudit migrate`): every entry, tree node and signed
//! checkpoint exactly as it was, so that every proof ever given out still verifies against the
//! copy, and the copy needs no signing key.

use aiaudit_core::{AppendBatch, CompactRange, NODE_STRIDE, Store, StoredEntry};

use crate::error::{Error, Result};

/// What a copy did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copied {
    /// Entries copied.
    pub entries: u64,
    /// Signed checkpoints copied.
    pub checkpoints: u64,
}

/// Copies every entry of `from` into `to`, which must be empty and carry the same origin and
/// verifier key. Entries go in one batch per source checkpoint, each with that checkpoint's
/// signed note, so the copy holds the same checkpoints at the same sizes. Nothing is re-signed:
/// a source whose entries disagree with its checkpoints (a damaged or tampered log) is refused
/// at the first disagreement, naming it. `progress` is called with the entries copied so far.
pub fn copy_log(
    from: &dyn Store,
    to: &mut dyn Store,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Copied> {
    // One view of a source that may be live: its size, checkpoints and entries agree.
    let mut out = None;
    from.read_snapshot(&mut || {
        out = Some(copy_snapshot(from, &mut *to, &mut *progress));
        Ok(())
    })?;
    out.unwrap_or_else(|| Err(Error::NotFound("the source gave no snapshot".into())))
}

fn copy_snapshot(
    from: &dyn Store,
    to: &mut dyn Store,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Copied> {
    let (src, dst) = (from.info()?, to.info()?);
    if src.origin != dst.origin || src.verifier_key != dst.verifier_key {
        return Err(Error::NotFound(format!(
            "the destination log is {} signed by {}, not {} signed by {}",
            dst.origin, dst.verifier_key, src.origin, src.verifier_key
        )));
    }
    if to.size()? != 0 {
        return Err(Error::NotFound(format!(
            "the destination already holds {} entries: migrate into a new log",
            to.size()?
        )));
    }
    let total = from.size()?;
    let mut checkpoints = Vec::new();
    from.checkpoints(&mut |cp| {
        checkpoints.push(cp);
        Ok(true)
    })?;
    let damaged = |why: String| {
        Error::NotFound(format!(
            "the source log is damaged ({why}); run `aiaudit verify` on it before migrating"
        ))
    };
    if checkpoints.last().map_or(0, |c| c.size) != total {
        return Err(damaged(format!(
            "it holds {total} entries but its latest checkpoint signs {}",
            checkpoints.last().map_or(0, |c| c.size)
        )));
    }
    // A store with one writer finds times and ids by binary search over seq: they must not go
    // back (a log several writers shared on PostgreSQL may, by clock skew between hosts).
    let ordered = !to.shared();
    let mut range = CompactRange::new();
    let mut pending: Vec<StoredEntry> = Vec::new();
    let mut cps = checkpoints.iter().peekable();
    let mut copied = Copied {
        entries: 0,
        checkpoints: 0,
    };
    // Checkpoints are by size; the entries read so far are flushed whenever they reach the next.
    let mut flush = |pending: &mut Vec<StoredEntry>,
                     range: &mut CompactRange,
                     cp: &aiaudit_core::StoredCheckpoint,
                     copied: &mut Copied|
     -> Result<()> {
        let mut nodes = Vec::new();
        for e in pending.iter() {
            range.append(e.leaf_hash, |n| {
                if n.level > 0 && n.level % NODE_STRIDE == 0 {
                    nodes.push(n);
                }
            });
        }
        if range.root() != cp.root {
            return Err(damaged(format!(
                "its entries up to {} do not hash to the root that checkpoint signs",
                cp.size
            )));
        }
        to.append(AppendBatch {
            entries: pending,
            nodes: &nodes,
            checkpoint: cp,
        })?;
        copied.entries += pending.len() as u64;
        copied.checkpoints += 1;
        pending.clear();
        Ok(())
    };
    // Checkpoints over an empty log or repeated sizes cannot be appended on their own.
    while cps.peek().is_some_and(|c| c.size == 0) {
        cps.next();
    }
    let mut expect = 0u64;
    let mut failure = None;
    let mut last: Option<(i64, String)> = None;
    from.scan(0, &mut |raw| {
        if raw.seq >= total {
            // Appended after the snapshot's size was read (a store without snapshots).
            return Ok(false);
        }
        if raw.seq != expect {
            failure = Some(damaged(format!(
                "seq {} where {expect} was expected",
                raw.seq
            )));
            return Ok(false);
        }
        if aiaudit_core::leaf_hash(&raw.data) != raw.leaf_hash {
            failure = Some(damaged(format!(
                "seq {}: its record does not hash to its stored leaf hash",
                raw.seq
            )));
            return Ok(false);
        }
        expect += 1;
        let entry = StoredEntry::from_stored(raw.seq, raw.time_ns, raw.leaf_hash, raw.data);
        if ordered {
            if let Some((t, id)) = &last
                && (entry.time_ns < *t || entry.id <= *id)
            {
                failure = Some(Error::NotFound(format!(
                    "seq {}: its time or id goes back from the entry before it (a log that several writers appended to): \
                     the destination finds entries by time and id in seq order, so copy this log into PostgreSQL instead",
                    entry.seq
                )));
                return Ok(false);
            }
            last = Some((entry.time_ns, entry.id.clone()));
        }
        pending.push(entry);
        if let Some(cp) = cps.peek()
            && cp.size == expect
        {
            let cp = cps.next().cloned();
            if let Some(cp) = cp
                && let Err(e) = flush(&mut pending, &mut range, &cp, &mut copied)
            {
                failure = Some(e);
                return Ok(false);
            }
            progress(copied.entries, total);
            // A later checkpoint at the same size adds nothing to copy.
            while cps.peek().is_some_and(|c| c.size == expect) {
                cps.next();
            }
        }
        Ok(true)
    })?;
    if let Some(e) = failure {
        return Err(e);
    }
    if !pending.is_empty() || copied.entries != total {
        return Err(damaged(format!(
            "{} of {total} entries are covered by its checkpoints",
            copied.entries
        )));
    }
    Ok(copied)
}

/// What [`upgrade_sqlite`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upgraded {
    /// Entries and checkpoints copied into the new layout.
    pub copied: Copied,
    /// Where the v1 file now is.
    pub kept: std::path::PathBuf,
}

/// Converts the v1 SQLite log at `path` into the current layout in place: the log is copied
/// into a new file beside it (`<path>.v2-partial`) with every record, tree hash and signed
/// checkpoint, each checkpoint is checked against the copy's tree and the log's verifier key,
/// and only then is the old file renamed to `<path>.v1` and the copy to `<path>`. A failure at
/// any step leaves the old file where it was and removes the partial copy. The writer lock is
/// held throughout, so no writer appends meanwhile.
pub fn upgrade_sqlite(
    path: &std::path::Path,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Upgraded> {
    use aiaudit_sqlite::{SqliteStore, V1Log};
    let real = aiaudit_sqlite::resolve(path)?;
    let lock = crate::writer_lock::WriterLock::take(&real, path)?;
    let kept = std::path::PathBuf::from(format!("{}.v1", real.display()));
    let partial = std::path::PathBuf::from(format!("{}.v2-partial", real.display()));
    let target = |why: String| Error::Target {
        path: path.to_owned(),
        why,
    };
    if kept.exists() {
        return Err(target(format!(
            "{} exists already: move it away before upgrading (it may be an earlier upgrade's original)",
            kept.display()
        )));
    }
    let source = V1Log::open(path)?;
    source.checkpoint_wal()?;
    let remove_partial = || {
        for ext in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{ext}", partial.display()));
        }
    };
    remove_partial();
    let result = (|| -> Result<Copied> {
        let info = source.info()?;
        let mut dest = SqliteStore::create(&partial, &info)?;
        let copied = copy_log(&source, &mut dest, progress)?;
        check_copy(&dest, source.size()?, &info, &partial.display().to_string())?;
        Ok(copied)
    })();
    drop(source);
    let copied = match result {
        Ok(c) => c,
        Err(e) => {
            remove_partial();
            return Err(e);
        }
    };
    let io = |p: &std::path::Path| {
        let p = p.to_owned();
        move |source| Error::Io { path: p, source }
    };
    std::fs::File::open(&partial)
        .and_then(|f| f.sync_all())
        .map_err(io(&partial))?;
    std::fs::rename(&real, &kept).map_err(io(&real))?;
    if let Err(e) = std::fs::rename(&partial, &real) {
        // Put the original back: the log stays as it was.
        let _ = std::fs::rename(&kept, &real);
        remove_partial();
        return Err(io(&real)(e));
    }
    if let Some(dir) = real.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io(dir))?;
    }
    drop(lock);
    Ok(Upgraded { copied, kept })
}

/// Checks a finished copy against its source: each checkpoint's signature, and the root the
/// copy's tree gives at its size; and that it holds every entry. `name` names the copy.
fn check_copy(
    dest: &dyn aiaudit_core::Store,
    source_size: u64,
    info: &aiaudit_core::LogInfo,
    name: &str,
) -> Result<()> {
    let verifier = aiaudit_core::NoteVerifier::parse(&info.verifier_key)?;
    let mut bad = None;
    dest.checkpoints(&mut |cp| {
        let opened = aiaudit_core::Checkpoint::open(&cp.note, &verifier)?;
        let root = aiaudit_core::root_at(dest, cp.size)?;
        if opened.size != cp.size || opened.root != cp.root || root != cp.root {
            bad = Some(cp.size);
            return Ok(false);
        }
        Ok(true)
    })?;
    if let Some(size) = bad {
        return Err(Error::Inconsistent {
            path: name.into(),
            why: format!(
                "the copy's tree does not give the root the checkpoint of size {size} signs"
            ),
        });
    }
    if dest.size()? != source_size {
        return Err(Error::Inconsistent {
            path: name.into(),
            why: "the copy does not hold every entry".into(),
        });
    }
    Ok(())
}

/// What [`upgrade_postgres`] did.
#[cfg(feature = "postgres")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpgradedSchema {
    /// Entries and checkpoints copied into the new layout.
    pub copied: Copied,
    /// The schema the v1 log now lives in.
    pub kept: String,
}

/// Converts the v1 PostgreSQL log at `url` into the current layout: with the head locked (so
/// writers wait), the log is copied into a new schema `<schema>_v2` with every record, tree
/// hash and signed checkpoint, each checkpoint is checked against the copy's tree and the log's
/// verifier key, and only then, in the transaction holding the head, are the schemas renamed
/// (`<schema>` to `<schema>_v1`, the copy to `<schema>`) and the log's roles granted on the
/// copy. A failure before the rename drops the copy and leaves the v1 log as it was.
#[cfg(feature = "postgres")]
pub fn upgrade_postgres(url: &str, progress: &mut dyn FnMut(u64, u64)) -> Result<UpgradedSchema> {
    let mut source = aiaudit_postgres::V1Schema::open(url)?;
    let result = (|| -> Result<Copied> {
        let info = source.info()?;
        let mut dest = source.create_partial()?;
        let copied = copy_log(&source, &mut dest, progress)?;
        check_copy(
            &dest,
            source.size()?,
            &info,
            &format!("schema {}", source.partial_schema()),
        )?;
        Ok(copied)
    })();
    let copied = match result {
        Ok(c) => c,
        Err(e) => {
            // A partial schema this run did not make (one left before) is not ours to drop.
            if !matches!(
                &e,
                Error::Postgres(aiaudit_postgres::Error::NotAnAuditLog { .. })
            ) {
                let _ = source.drop_partial();
            }
            return Err(e);
        }
    };
    let kept = match source.swap() {
        Ok(k) => k,
        Err(e) => {
            let _ = source.drop_partial();
            return Err(e.into());
        }
    };
    Ok(UpgradedSchema { copied, kept })
}
