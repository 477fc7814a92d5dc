//! One archived file: its records streamed from the store into Parquet, its manifest signed,
//! both put, read back and checked against the tree before anything is dropped.

use aiaudit_archive::{Io, Location, compare, parquet_file};
use aiaudit_core::archive::{ArchivedFile, Manifest};
use aiaudit_core::{Store, leaf_hash, sha256};

use super::{archive_err, manifest_name};
use crate::{AuditLogger, Error, Result};

/// Writes, reads back and checks the file of seqs `[a, b)` and its manifest; returns the
/// file (its event seq not yet known) and its length.
pub(super) fn write_file(
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
            deleted_by: None,
        },
        len,
    ))
}

fn rerun(e: aiaudit_archive::Error, name: &str) -> Error {
    archive_err(format!(
        "{e} (at {name}); nothing was dropped from the log: rerun the same `aiaudit archive` command once the archive is reachable"
    ))
}
