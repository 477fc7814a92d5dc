//! Proof bundles that stand alone: an inclusion proof in the `c2sp.org/tlog-proof@v1` text form,
//! and a consistency proof in aiaudit's own form of the same shape.
//!
//! An inclusion bundle carries the entry's leaf data in its `extra` line, so a verifier holding
//! only the log's verifier key can check that this exact record is in the signed log.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use crate::error::{Error, Result};
use crate::hash::{Hash, leaf_hash};
use crate::merkle::{verify_consistency, verify_inclusion};
use crate::note::{Checkpoint, NoteKeys};

/// First line of an inclusion proof bundle.
pub const TLOG_PROOF_HEADER: &str = "c2sp.org/tlog-proof@v1";
/// First line of a consistency proof bundle.
pub const CONSISTENCY_HEADER: &str = "aiaudit.dev/consistency-proof@v1";

fn bad(why: impl Into<String>) -> Error {
    Error::malformed("proof bundle", why)
}

fn parse_hash(line: &str) -> Result<Hash> {
    B64.decode(line)
        .ok()
        .and_then(|h| h.try_into().ok())
        .ok_or_else(|| bad(format!("{line:?} is not a base64 SHA-256 hash")))
}

fn parse_decimal(field: &str, value: &str) -> Result<u64> {
    value
        .parse::<u64>()
        .ok()
        .filter(|n| n.to_string() == value)
        .ok_or_else(|| bad(format!("{field} {value:?} is not a decimal number")))
}

/// Writes hash lines, the blank line, then the signed checkpoint: the tail both forms share.
fn push_hashes_then_note(s: &mut String, proof: &[Hash], note: &str) {
    for h in proof {
        s.push_str(&B64.encode(h));
        s.push('\n');
    }
    s.push('\n');
    s.push_str(note);
}

/// A cursor over newline-terminated lines.
struct Lines<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Self {
        Lines { text, pos: 0 }
    }

    /// The next line without its newline; a line without a newline is an error.
    fn next_line(&mut self, what: &str) -> Result<&'a str> {
        let rest = &self.text[self.pos..];
        let end = rest
            .find('\n')
            .ok_or_else(|| bad(format!("ended before the {what}")))?;
        self.pos += end + 1;
        Ok(&rest[..end])
    }

    /// Hash lines up to the blank line, then everything after it (the signed checkpoint).
    fn hashes_then_note(&mut self) -> Result<(Vec<Hash>, &'a str)> {
        let mut hashes = Vec::new();
        loop {
            let l = self.next_line("blank line before the checkpoint")?;
            if l.is_empty() {
                let note = &self.text[self.pos..];
                if note.is_empty() {
                    return Err(bad("no checkpoint after the proof"));
                }
                return Ok((hashes, note));
            }
            if hashes.len() >= 64 {
                return Err(bad("more than 64 hashes"));
            }
            hashes.push(parse_hash(l)?);
        }
    }
}

/// An inclusion proof of one entry with its leaf data and the signed checkpoint it leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InclusionBundle {
    /// The entry's leaf data (its sealed record), if carried.
    pub leaf_data: Option<Vec<u8>>,
    /// The entry's index (seq).
    pub index: u64,
    /// Audit path from the leaf's sibling up to the root's child.
    pub proof: Vec<Hash>,
    /// The signed checkpoint note.
    pub checkpoint_note: String,
}

impl InclusionBundle {
    /// The `c2sp.org/tlog-proof@v1` text.
    pub fn to_text(&self) -> String {
        let mut s = format!("{TLOG_PROOF_HEADER}\n");
        if let Some(data) = &self.leaf_data {
            s.push_str(&format!("extra {}\n", B64.encode(data)));
        }
        s.push_str(&format!("index {}\n", self.index));
        push_hashes_then_note(&mut s, &self.proof, &self.checkpoint_note);
        s
    }

    /// Parses the text form.
    pub fn parse(text: &str) -> Result<Self> {
        let mut lines = Lines::new(text);
        if lines.next_line("header")? != TLOG_PROOF_HEADER {
            return Err(bad(format!("the first line must be {TLOG_PROOF_HEADER}")));
        }
        let mut line = lines.next_line("index line")?;
        let mut leaf_data = None;
        if let Some(extra) = line.strip_prefix("extra ") {
            leaf_data = Some(
                B64.decode(extra)
                    .map_err(|_| bad("the extra line is not base64"))?,
            );
            line = lines.next_line("index line")?;
        }
        let index = line
            .strip_prefix("index ")
            .ok_or_else(|| bad("expected `index N`"))?;
        let index = parse_decimal("index", index)?;
        let (proof, note) = lines.hashes_then_note()?;
        Ok(InclusionBundle {
            leaf_data,
            index,
            proof,
            checkpoint_note: note.to_owned(),
        })
    }

    /// Verifies the bundle with the log's key (or key set): the checkpoint's signature, then that the leaf
    /// data is the entry at `index` of that checkpoint's tree. Returns the checkpoint.
    pub fn verify(&self, verifier: &(impl NoteKeys + ?Sized)) -> Result<Checkpoint> {
        let cp = Checkpoint::open(&self.checkpoint_note, verifier)?;
        let data = self
            .leaf_data
            .as_ref()
            .ok_or_else(|| bad("the bundle carries no leaf data (extra line) to check"))?;
        verify_inclusion(self.index, cp.size, &leaf_hash(data), &self.proof, &cp.root)?;
        Ok(cp)
    }
}

/// A consistency proof from an older tree size and root to a newer signed checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsistencyBundle {
    /// Older tree size.
    pub old_size: u64,
    /// Older root.
    pub old_root: Hash,
    /// The proof hashes.
    pub proof: Vec<Hash>,
    /// The newer signed checkpoint note.
    pub checkpoint_note: String,
}

impl ConsistencyBundle {
    /// The text form: header, `old SIZE ROOT`, hashes, a blank line, the newer checkpoint.
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "{CONSISTENCY_HEADER}\nold {} {}\n",
            self.old_size,
            B64.encode(self.old_root)
        );
        push_hashes_then_note(&mut s, &self.proof, &self.checkpoint_note);
        s
    }

    /// Parses the text form.
    pub fn parse(text: &str) -> Result<Self> {
        let mut lines = Lines::new(text);
        if lines.next_line("header")? != CONSISTENCY_HEADER {
            return Err(bad(format!("the first line must be {CONSISTENCY_HEADER}")));
        }
        let old = lines
            .next_line("old line")?
            .strip_prefix("old ")
            .ok_or_else(|| bad("expected `old SIZE ROOT`"))?;
        let (size, root) = old
            .split_once(' ')
            .ok_or_else(|| bad("expected `old SIZE ROOT`"))?;
        let old_size = parse_decimal("old size", size)?;
        let old_root = parse_hash(root)?;
        let (proof, note) = lines.hashes_then_note()?;
        Ok(ConsistencyBundle {
            old_size,
            old_root,
            proof,
            checkpoint_note: note.to_owned(),
        })
    }

    /// Verifies the newer checkpoint's signature and that it extends the older tree.
    pub fn verify(&self, verifier: &(impl NoteKeys + ?Sized)) -> Result<Checkpoint> {
        let cp = Checkpoint::open(&self.checkpoint_note, verifier)?;
        verify_consistency(
            self.old_size,
            cp.size,
            &self.proof,
            &self.old_root,
            &cp.root,
        )?;
        Ok(cp)
    }
}
