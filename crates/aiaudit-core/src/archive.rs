//! The cold archive's common parts (docs/format.md §13): the signed manifest beside each
//! archived file, the record of an archived file a store keeps, and the [`ArchiveSource`]
//! through which a store reads records it no longer holds.
//!
//! Archiving moves the *records* of whole bundles into files elsewhere; the store keeps every
//! leaf and tree hash, so checkpoints and proofs stay checkable without the archive, and a
//! manifest signed with the log's key says what each file must hold.
//!
//! ```
//! use aiaudit_core::archive::Manifest;
//! use aiaudit_core::NoteSigner;
//!
//! let key = NoteSigner::generate("example.org/log")?;
//! let m = Manifest {
//!     origin: "example.org/log".into(),
//!     file: "seq-0-255.parquet".into(),
//!     sha256: [7; 32],
//!     bytes: 1234,
//!     rows: 256,
//!     first_seq: 0,
//!     end_seq: 256,
//!     checkpoint_size: 300,
//!     checkpoint_root: [1; 32],
//!     subtrees: vec![(8, 0, [2; 32])],
//! };
//! let note = m.sign(std::slice::from_ref(&key))?;
//! assert_eq!(Manifest::open(&note, &key.verifier())?, m);
//! # Ok::<(), aiaudit_core::Error>(())
//! ```

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use crate::error::{Error, Result};
use crate::hash::Hash;
use crate::note::{NoteKeys, NoteSigner, sign_all};

/// The event type of an archive run. Clients cannot send it; `aiaudit archive` does.
pub const ARCHIVE_EVENT_TYPE: &str = "archive";

/// The first line of a manifest's text.
const HEADER: &str = "aiaudit archive manifest v1";

/// What an archived file must hold: the text of a note the log's key signs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// The log's origin.
    pub origin: String,
    /// The file's name, relative to the archive's location.
    pub file: String,
    /// SHA-256 of the file's bytes.
    pub sha256: Hash,
    /// The file's length.
    pub bytes: u64,
    /// Rows in the file: one per record, `end_seq - first_seq`.
    pub rows: u64,
    /// The first seq it holds.
    pub first_seq: u64,
    /// One past the last seq it holds.
    pub end_seq: u64,
    /// The size of the checkpoint the archive run was cut against (≥ `end_seq`).
    pub checkpoint_size: u64,
    /// That checkpoint's root.
    pub checkpoint_root: Hash,
    /// `(level, index, hash)` of the perfect subtrees that together cover
    /// `[first_seq, end_seq)`, left to right (as [`crate::merkle::range_subtrees`] gives them).
    pub subtrees: Vec<(u32, u64, Hash)>,
}

impl Manifest {
    /// The text the signatures cover.
    pub fn to_text(&self) -> String {
        let mut t = format!(
            "{HEADER}\n{}\nfile {}\nsha256 {}\nbytes {}\nrows {}\nseqs {} {}\ncheckpoint {} {}\n",
            self.origin,
            self.file,
            hex::encode(self.sha256),
            self.bytes,
            self.rows,
            self.first_seq,
            self.end_seq,
            self.checkpoint_size,
            B64.encode(self.checkpoint_root),
        );
        for (level, index, hash) in &self.subtrees {
            t.push_str(&format!("subtree {level} {index} {}\n", B64.encode(hash)));
        }
        t
    }

    /// Signs the manifest with each of the log's current keys.
    pub fn sign(&self, signers: &[NoteSigner]) -> Result<String> {
        sign_all(signers, &self.to_text())
    }

    /// Opens a signed manifest with `keys`, checking that it names their log.
    pub fn open(note: &str, keys: &(impl NoteKeys + ?Sized)) -> Result<Self> {
        let text = keys.open_note(note)?;
        let m = Self::parse_text(text)?;
        if !keys.names(&m.origin) {
            return Err(Error::Signature(format!(
                "archive manifest origin {:?} is not the key's log",
                m.origin
            )));
        }
        Ok(m)
    }

    /// Parses a manifest's text (no signatures).
    pub fn parse_text(text: &str) -> Result<Self> {
        let bad = |why: String| Error::malformed("archive manifest", why);
        let Some(body) = text.strip_suffix('\n') else {
            return Err(bad("the text must end with a newline".into()));
        };
        let mut lines = body.split('\n');
        if lines.next() != Some(HEADER) {
            return Err(bad(format!("the first line must be {HEADER:?}")));
        }
        let origin = lines
            .next()
            .filter(|o| !o.is_empty())
            .ok_or_else(|| bad("no origin line".into()))?
            .to_owned();
        let mut field = |name: &str| -> Result<Vec<String>> {
            let line = lines.next().ok_or_else(|| bad(format!("no {name} line")))?;
            let mut words = line.split(' ');
            if words.next() != Some(name) {
                return Err(bad(format!("expected a {name} line, found {line:?}")));
            }
            Ok(words.map(str::to_owned).collect())
        };
        let one = |v: Vec<String>, name: &str| -> Result<String> {
            match <[String; 1]>::try_from(v) {
                Ok([s]) => Ok(s),
                Err(_) => Err(bad(format!("the {name} line takes one value"))),
            }
        };
        let file = one(field("file")?, "file")?;
        if file.is_empty() || file.contains('/') || file.starts_with('.') {
            return Err(bad(format!("file name {file:?} is not a plain name")));
        }
        let sha256 = parse_hex(&one(field("sha256")?, "sha256")?)
            .ok_or_else(|| bad("sha256 is not 64 hex digits".into()))?;
        let bytes = number(&one(field("bytes")?, "bytes")?, "bytes")?;
        let rows = number(&one(field("rows")?, "rows")?, "rows")?;
        let seqs = field("seqs")?;
        let [first, end] = <[String; 2]>::try_from(seqs)
            .map_err(|_| bad("the seqs line takes two numbers".into()))?;
        let (first_seq, end_seq) = (number(&first, "seqs")?, number(&end, "seqs")?);
        let cp = field("checkpoint")?;
        let [size, root] = <[String; 2]>::try_from(cp)
            .map_err(|_| bad("the checkpoint line takes a size and a root".into()))?;
        let checkpoint_size = number(&size, "checkpoint")?;
        let checkpoint_root = parse_b64(&root)
            .ok_or_else(|| bad("the checkpoint root is not base64 SHA-256".into()))?;
        if end_seq <= first_seq || rows != end_seq - first_seq || checkpoint_size < end_seq {
            return Err(bad(format!(
                "seqs {first_seq}..{end_seq}, {rows} rows and checkpoint size {checkpoint_size} disagree"
            )));
        }
        let mut subtrees = Vec::new();
        for line in lines {
            let w: Vec<&str> = line.split(' ').collect();
            let ["subtree", level, index, hash] = w.as_slice() else {
                return Err(bad(format!("unexpected line {line:?}")));
            };
            let level = u32::try_from(number(level, "subtree")?)
                .ok()
                .filter(|l| *l < 64)
                .ok_or_else(|| bad(format!("subtree level {level} is out of range")))?;
            let index = number(index, "subtree")?;
            let hash = parse_b64(hash)
                .ok_or_else(|| bad("a subtree hash is not base64 SHA-256".into()))?;
            subtrees.push((level, index, hash));
        }
        if range_blocks(first_seq, end_seq)
            != subtrees.iter().map(|&(l, i, _)| (l, i)).collect::<Vec<_>>()
        {
            return Err(bad(format!(
                "the subtree lines do not cover seqs {first_seq}..{end_seq}"
            )));
        }
        Ok(Manifest {
            origin,
            file,
            sha256,
            bytes,
            rows,
            first_seq,
            end_seq,
            checkpoint_size,
            checkpoint_root,
            subtrees,
        })
    }
}

fn number(s: &str, what: &str) -> Result<u64> {
    s.parse::<u64>()
        .ok()
        .filter(|n| n.to_string() == s)
        .ok_or_else(|| {
            Error::malformed(
                "archive manifest",
                format!("{what}: {s:?} is not a decimal number"),
            )
        })
}

fn parse_hex(s: &str) -> Option<Hash> {
    hex::decode(s).ok()?.try_into().ok()
}

fn parse_b64(s: &str) -> Option<Hash> {
    B64.decode(s).ok()?.try_into().ok()
}

/// The aligned perfect subtrees `(level, index)` that cover leaves `[first, end)`, left to
/// right: each as large as its start's alignment and the range allow.
pub fn range_blocks(first: u64, end: u64) -> Vec<(u32, u64)> {
    let mut out = Vec::new();
    let mut at = first;
    while at < end {
        let mut level = if at == 0 { 63 } else { at.trailing_zeros() };
        while level > 0 && (1u64 << level) > end - at {
            level -= 1;
        }
        out.push((level, at >> level));
        at += 1u64 << level;
    }
    out
}

/// One archived file as the store records it, in the same transaction that drops the records
/// it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchivedFile {
    /// The first seq in the file (a multiple of 256).
    pub first_seq: u64,
    /// One past its last seq (a multiple of 256).
    pub end_seq: u64,
    /// The seq of the `archive` event that names the file.
    pub event_seq: u64,
    /// The archive's location (`file:///…`, `s3://bucket/prefix`, …).
    pub url: String,
    /// The file's name under that location.
    pub file: String,
    /// The signed manifest.
    pub manifest: String,
    /// The seq of the `archive` event that deleted the file under the retention policy
    /// (`delete_archives_after`), if it was: its records are gone, its hashes stay.
    pub deleted_by: Option<u64>,
}

impl ArchivedFile {
    /// Whether it holds `seq`.
    pub fn holds(&self, seq: u64) -> bool {
        (self.first_seq..self.end_seq).contains(&seq)
    }
}

/// Where a store reads records it has archived: the archive's files, fetched and checked.
pub trait ArchiveSource: Send + Sync + std::fmt::Debug {
    /// The records of bundle `bundle` (256 of them, in seq order) from `file`, which holds it.
    /// An error names the file and why it cannot be read.
    fn bundle_records(&self, file: &ArchivedFile, bundle: u64) -> Result<Vec<Vec<u8>>>;
    /// Fetches `file` and compares it with its `manifest` (length, SHA-256, rows, seqs):
    /// `Ok(None)` if it matches, `Ok(Some(why))` if not. An error means it could not be read.
    fn check_file(&self, file: &ArchivedFile, manifest: &Manifest) -> Result<Option<String>>;
}

/// The archive a store reads archived records through, set through `&self` (readers share
/// the store) by [`crate::Store::attach_archive`].
#[derive(Default)]
pub struct AttachedArchive(std::sync::Mutex<Option<std::sync::Arc<dyn ArchiveSource>>>);

impl std::fmt::Debug for AttachedArchive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AttachedArchive")
    }
}

impl AttachedArchive {
    /// Attaches `source` (`None` detaches).
    pub fn set(&self, source: Option<std::sync::Arc<dyn ArchiveSource>>) {
        if let Ok(mut a) = self.0.lock() {
            *a = source;
        }
    }

    /// The attached archive, if any.
    pub fn get(&self) -> Option<std::sync::Arc<dyn ArchiveSource>> {
        self.0.lock().ok().and_then(|a| a.clone())
    }

    /// The records of bundle `bundle` from `file`, which holds it: through the attached
    /// archive, unless the file was deleted or no archive is attached (errors naming the seqs
    /// and file).
    pub fn bundle_records(&self, file: &ArchivedFile, bundle: u64) -> Result<Vec<Vec<u8>>> {
        if let Some(by) = file.deleted_by {
            return Err(deleted(file, by));
        }
        match self.get() {
            Some(source) => source.bundle_records(file, bundle),
            None => Err(unreachable(file, "no archive is attached to this reader")),
        }
    }
}

/// Checks that `files` may be recorded as archived by a store whose archived prefix ends at
/// `archived_end` and which holds `bundles` whole bundles: they continue the prefix, in order,
/// each a non-empty range of whole stored bundles. The error says why not.
pub fn check_continuation(
    archived_end: u64,
    files: &[ArchivedFile],
    bundles: u64,
) -> std::result::Result<(), String> {
    // Entry bundles are as wide as tiles (c2sp.org/tlog-tiles).
    let width = u64::from(crate::tiles::TILE_WIDTH);
    let mut end = archived_end;
    for f in files {
        if f.first_seq != end
            || f.end_seq <= f.first_seq
            || !f.first_seq.is_multiple_of(width)
            || !f.end_seq.is_multiple_of(width)
            || f.end_seq > bundles.saturating_mul(width)
        {
            return Err(format!(
                "refusing to archive seqs {}..{}: archived files must continue the archived prefix (which ends at seq {end}) with whole stored bundles (there are {bundles})",
                f.first_seq, f.end_seq
            ));
        }
        end = f.end_seq;
    }
    Ok(())
}

/// The error of a read of records whose archived file was deleted under the retention policy.
pub fn deleted(file: &ArchivedFile, event_seq: u64) -> Error {
    Error::Archived(format!(
        "seqs {}–{} were deleted under the retention policy (the archive event at seq {event_seq} deleted {} from {}); their leaf hashes remain, and every proof made of them stays valid",
        file.first_seq,
        file.end_seq - 1,
        file.file,
        file.url
    ))
}

/// Where the deleted prefix of `files` (a log's archived files, in seq order) ends: the
/// records below it are gone from the archive too.
pub fn deleted_end(files: &[ArchivedFile]) -> u64 {
    files
        .iter()
        .take_while(|f| f.deleted_by.is_some())
        .last()
        .map_or(0, |f| f.end_seq)
}

/// Checks that the files starting at `first_seqs` may be recorded as deleted: archived files,
/// not deleted yet, that continue the deleted prefix of `files` (the log's archived files) in
/// order. The error says why not.
pub fn check_deletion(
    files: &[ArchivedFile],
    first_seqs: &[u64],
) -> std::result::Result<(), String> {
    let mut next = files.iter().take_while(|f| f.deleted_by.is_some()).count();
    for &first in first_seqs {
        match files.get(next) {
            Some(f) if f.first_seq == first && f.deleted_by.is_none() => next += 1,
            _ => {
                let from = files.get(next).map_or_else(
                    || "nothing".to_owned(),
                    |f| format!("the file from seq {}", f.first_seq),
                );
                return Err(format!(
                    "refusing to delete the archived file from seq {first}: deletions must continue the deleted prefix, which {from} continues"
                ));
            }
        }
    }
    Ok(())
}

/// The error of a read that needs archived records when no archive can be read.
pub fn unreachable(file: &ArchivedFile, why: &str) -> Error {
    Error::Archived(format!(
        "seqs {}–{} are archived in {} at {} ({why})",
        file.first_seq,
        file.end_seq - 1,
        file.file,
        file.url
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(a: u64, b: u64) -> ArchivedFile {
        ArchivedFile {
            first_seq: a,
            end_seq: b,
            event_seq: 0,
            url: "file:///a".into(),
            file: "f".into(),
            manifest: String::new(),
            deleted_by: None,
        }
    }

    #[test]
    fn deletions_continue_the_deleted_prefix() {
        let mut files = vec![file(0, 256), file(256, 512), file(512, 768)];
        assert!(check_deletion(&files, &[0, 256]).is_ok());
        files[0].deleted_by = Some(9);
        assert!(check_deletion(&files, &[256]).is_ok());
        for bad in [&[0][..], &[512], &[256, 256], &[1024]] {
            let e = check_deletion(&files, bad).expect_err("refused");
            assert!(e.contains("continue the deleted prefix"), "{e}");
        }
    }

    #[test]
    fn archived_files_must_continue_the_prefix_with_whole_bundles() {
        assert!(check_continuation(0, &[file(0, 512), file(512, 768)], 3).is_ok());
        for (files, bundles) in [
            (vec![file(256, 512)], 3),
            (vec![file(0, 300)], 3),
            (vec![file(0, 1024)], 3),
            (vec![file(0, 256), file(0, 256)], 3),
            (vec![file(0, 0)], 3),
        ] {
            let e = check_continuation(0, &files, bundles).expect_err("refused");
            assert!(e.contains("continue the archived prefix"), "{e}");
        }
    }

    #[test]
    fn blocks_cover_a_range_with_aligned_subtrees() {
        assert_eq!(range_blocks(0, 256), vec![(8, 0)]);
        assert_eq!(range_blocks(0, 768), vec![(9, 0), (8, 2)]);
        assert_eq!(range_blocks(256, 1024), vec![(8, 1), (9, 1)]);
        assert_eq!(range_blocks(5, 8), vec![(0, 5), (1, 3)]);
        assert!(range_blocks(7, 7).is_empty());
    }

    #[test]
    fn a_manifest_round_trips_and_bad_ones_are_named() {
        let key = NoteSigner::generate("o").expect("key");
        let m = Manifest {
            origin: "o".into(),
            file: "seq-256-1023.parquet".into(),
            sha256: [3; 32],
            bytes: 10,
            rows: 768,
            first_seq: 256,
            end_seq: 1024,
            checkpoint_size: 2000,
            checkpoint_root: [4; 32],
            subtrees: vec![(8, 1, [5; 32]), (9, 1, [6; 32])],
        };
        let note = m.sign(std::slice::from_ref(&key)).expect("sign");
        assert_eq!(Manifest::open(&note, &key.verifier()).expect("open"), m);
        let other = NoteSigner::generate("o").expect("key");
        assert!(Manifest::open(&note, &other.verifier()).is_err());
        let text = m.to_text();
        for (from, to, why) in [
            ("rows 768", "rows 767", "disagree"),
            ("subtree 9 1", "subtree 9 2", "do not cover"),
            ("file seq-256-1023.parquet", "file ../x", "plain name"),
            ("bytes 10", "bytes 010", "decimal"),
        ] {
            let e = Manifest::parse_text(&text.replace(from, to)).expect_err(why);
            assert!(e.to_string().contains(why), "{e}");
        }
    }
}
