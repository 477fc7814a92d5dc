//! The archived prefix (docs/format.md §13): each recorded file's manifest is signed by one of
//! the log's keys, describes that file, rests on a checkpoint the log holds, and its subtree
//! hashes are the tree's over its seqs; the `archive` event that names it says the same. With
//! `--archive` the files themselves are fetched and compared with their manifests (their rows
//! are then read like any others, each against its leaf hash).

use aiaudit_core::NoteVerifier;
use aiaudit_core::archive::{ARCHIVE_EVENT_TYPE, ArchivedFile, Manifest};
use aiaudit_core::{RecordHead, Store, merkle::range_subtrees, sha256};
use serde_json::Value;

use super::state::Verifier;

/// Checks every archived file's record; findings go to `v`.
pub(super) fn check(
    v: &mut Verifier<'_>,
    store: &dyn Store,
    keys: &[NoteVerifier],
    files: &[ArchivedFile],
    fetch: bool,
) -> aiaudit_core::Result<()> {
    let archived_end = files.last().map_or(0, |f| f.end_seq);
    let deleted_end = aiaudit_core::archive::deleted_end(files);
    // An event can be read where its records are: in the store, or with `fetch` in a file
    // that was not deleted.
    let readable = |seq: u64| seq >= archived_end || (fetch && seq >= deleted_end);
    let mut expected = 0;
    for f in files {
        let range = |v: &mut Verifier<'_>, why: String| {
            v.find_range(
                f.first_seq,
                f.end_seq,
                format!(
                    "archived seqs {}..{} ({}): {why}",
                    f.first_seq,
                    f.end_seq - 1,
                    f.file
                ),
            );
        };
        if f.first_seq != expected {
            range(
                v,
                format!(
                    "the archived files do not follow each other (expected one from seq {expected})"
                ),
            );
        }
        expected = f.end_seq;
        let m = match Manifest::open(&f.manifest, keys) {
            Ok(m) => m,
            Err(e) => {
                range(
                    v,
                    format!("its manifest does not verify with the log's keys: {e}"),
                );
                continue;
            }
        };
        if m.file != f.file || m.first_seq != f.first_seq || m.end_seq != f.end_seq {
            range(
                v,
                format!(
                    "its manifest describes {} with seqs {}..{}",
                    m.file,
                    m.first_seq,
                    m.end_seq - 1
                ),
            );
            continue;
        }
        match store.checkpoint(m.checkpoint_size)? {
            Some(cp) if cp.root == m.checkpoint_root => {}
            _ => range(
                v,
                format!(
                    "its manifest was cut against a checkpoint of size {} that the log does not hold",
                    m.checkpoint_size
                ),
            ),
        }
        match range_subtrees(store, f.first_seq, f.end_seq) {
            Ok(t) if t == m.subtrees => {}
            Ok(_) => range(
                v,
                "the tree over these seqs is not the one its manifest signs".into(),
            ),
            Err(e) => range(v, format!("the tree over these seqs is unreadable: {e}")),
        }
        if readable(f.event_seq)
            && let Some(why) = event_problem(store, f)?
        {
            range(v, why);
        }
        if let Some(by) = f.deleted_by {
            if f.first_seq >= deleted_end {
                range(
                    v,
                    "it is recorded as deleted, but a file before it is not (deletions take the oldest files first)".into(),
                );
            }
            // A file is deleted after it was archived, so by a later event.
            if by <= f.event_seq {
                range(
                    v,
                    format!(
                        "it is recorded as deleted by seq {by}, which is not an archive event deleting this file (it was archived at seq {})",
                        f.event_seq
                    ),
                );
            } else if readable(by)
                && let Some(why) = deletion_problem(store, f, by)?
            {
                range(v, why);
            }
            continue;
        }
        if fetch {
            let problem = store
                .archive_source()
                .map(|s| s.check_file(f, &m))
                .transpose()?;
            match problem {
                Some(None) => {}
                Some(Some(why)) => range(v, why),
                None => range(v, "no archive reader is attached to fetch it".into()),
            }
        }
    }
    Ok(())
}

/// What is wrong with the `archive` event that should name `f`, if anything.
fn event_problem(store: &dyn Store, f: &ArchivedFile) -> aiaudit_core::Result<Option<String>> {
    let Some(e) = store.entry(f.event_seq)? else {
        return Ok(Some(format!(
            "its archive event (seq {}) is missing",
            f.event_seq
        )));
    };
    let head = RecordHead::parse(&e.data).ok();
    if head.as_ref().is_none_or(|h| h.kind != ARCHIVE_EVENT_TYPE) {
        return Ok(Some(format!(
            "seq {} is not the archive event that names it",
            f.event_seq
        )));
    }
    let record: Value = serde_json::from_slice(&e.data)?;
    let digest = hex::encode(sha256(f.manifest.as_bytes()));
    let named = record["details"]["files"].as_array().is_some_and(|files| {
        files.iter().any(|x| {
            x["file"] == f.file.as_str()
                && x["first_seq"] == f.first_seq
                && x["end_seq"] == f.end_seq
                && x["manifest_sha256"] == digest.as_str()
        })
    }) && record["details"]["url"] == f.url.as_str();
    Ok((!named).then(|| {
        format!(
            "its archive event (seq {}) does not name this file, location and manifest",
            f.event_seq
        )
    }))
}

/// What is wrong with the `archive` event at `by` that should delete `f`, if anything.
fn deletion_problem(
    store: &dyn Store,
    f: &ArchivedFile,
    by: u64,
) -> aiaudit_core::Result<Option<String>> {
    let record: Option<Value> = match store.entry(by)? {
        Some(e) if RecordHead::parse(&e.data).is_ok_and(|h| h.kind == ARCHIVE_EVENT_TYPE) => {
            Some(serde_json::from_slice(&e.data)?)
        }
        _ => None,
    };
    let names = record.as_ref().is_some_and(|r| {
        r["details"]["action"] == "delete"
            && r["details"]["files"].as_array().is_some_and(|files| {
                files.iter().any(|x| {
                    x["file"] == f.file.as_str()
                        && x["url"] == f.url.as_str()
                        && x["first_seq"] == f.first_seq
                        && x["end_seq"] == f.end_seq
                })
            })
    });
    Ok((!names).then(|| {
        format!("it is recorded as deleted by seq {by}, which is not an archive event deleting this file")
    }))
}
