//! Posting lists: the query index of the stores. For each batch and each (field, value) that
//! occurs in it, the seqs of the entries having that value, delta-encoded. Pure encoding, shared
//! by the SQLite and PostgreSQL layouts so that both index (and `verify` checks) alike.

use crate::store::StoredEntry;
use std::collections::HashMap;

/// The indexed fields of an entry as `(field, value)` pairs. An operation is indexed under its
/// id and its name alike, so one `op:` key finds it by either.
pub fn keys(e: &StoredEntry) -> impl Iterator<Item = (&'static str, &str)> {
    let op_name = e
        .op_name
        .as_deref()
        .filter(|n| Some(*n) != e.op_id.as_deref());
    [
        Some(("type", e.kind.as_str())),
        Some(("status", e.status.as_str())),
        e.model.as_deref().map(|v| ("model", v)),
        e.user.as_deref().map(|v| ("user", v)),
        e.op_id.as_deref().map(|v| ("op", v)),
        op_name.map(|v| ("op", v)),
        e.subject.as_deref().map(|v| ("subject", v)),
        e.input_hash.as_deref().map(|v| ("input", input_bucket(v))),
        e.ingest_id.as_deref().map(|v| ("ingest", input_bucket(v))),
    ]
    .into_iter()
    .flatten()
    .chain(e.artifacts.iter().filter_map(|a| {
        let (field, key) = a.split_once(':')?;
        Some((if field == "makes" { "makes" } else { "uses" }, key))
    }))
}

/// Input hashes (and ingest ids) are unique per input, and a posting list per value per batch would cost a row
/// per event: they are indexed by their first two characters (256 buckets of hex), and a query
/// filters the bucket's entries by the whole hash.
pub fn input_bucket(hash: &str) -> &str {
    let end = hash.char_indices().nth(2).map_or(hash.len(), |(i, _)| i);
    &hash[..end]
}

/// The posting keys a query's field filters name (each must match).
pub fn query_keys(q: &crate::store::Query) -> Vec<String> {
    [
        q.kind.as_deref().map(|v| key("type", v)),
        q.status.as_deref().map(|v| key("status", v)),
        q.model.as_deref().map(|v| key("model", v)),
        q.user.as_deref().map(|v| key("user", v)),
        q.operation.as_deref().map(|v| key("op", v)),
        q.subject.as_deref().map(|v| key("subject", v)),
        q.input_hash
            .as_deref()
            .map(|v| key("input", input_bucket(v))),
        q.ingest_id
            .as_deref()
            .map(|v| key("ingest", input_bucket(v))),
        q.uses.as_deref().map(|v| key("uses", v)),
        q.makes.as_deref().map(|v| key("makes", v)),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Compares a batch's stored posting lists (`(key, stored bytes)` rows) with the bytes its
/// `entries` produce in the store's `encoding`: what disagrees, if anything, for `verify` to
/// report. Marks are compared too, so a damaged mark (which would hide an entry from a query)
/// is caught like a damaged seq.
pub fn compare<'a>(
    batch: u64,
    entries: &[StoredEntry],
    stored: impl IntoIterator<Item = (String, &'a [u8])>,
    encoding: Encoding,
) -> Option<String> {
    let mut want: HashMap<String, Vec<u8>> = build_marked(entries)
        .into_iter()
        .map(|((f, v), (s, m))| (key(f, v), encoding.encode(f, batch, &s, &m)))
        .collect();
    for (k, bytes) in stored {
        match want.remove(&k) {
            Some(w) if w == bytes => {}
            Some(_) => {
                return Some(format!(
                    "the query index for {k} in the batch from seq {batch} lists other entries than the log holds"
                ));
            }
            None => {
                return Some(format!(
                    "the query index has an entry {k} in the batch from seq {batch} that no record has"
                ));
            }
        }
    }
    want.into_keys().next().map(|k| {
        format!("the query index lost {k} in the batch from seq {batch}: queries would not find those entries")
    })
}

/// The stored key of a field and value.
pub fn key(field: &str, value: &str) -> String {
    format!("{field}:{value}")
}

/// Posting lists of one batch: key → seqs in increasing order.
pub fn build(entries: &[StoredEntry]) -> Lists<'_, Vec<u64>> {
    let mut lists: Lists<'_, Vec<u64>> = HashMap::default();
    for e in entries {
        for k in keys(e) {
            lists.entry(k).or_default().push(e.seq);
        }
    }
    lists
}

/// One batch's posting lists by (field, value). The keys are the batch's own values, hashed
/// with foldhash (randomly seeded): SipHash's cost showed in `perf` of ingest and verify.
pub type Lists<'a, V> = HashMap<(&'static str, &'a str), V, foldhash::fast::RandomState>;

/// A posting list's seqs and, for a bucketed field, the [`mark`] of each.
pub type Marked = (Vec<u64>, Vec<u32>);

/// Posting lists of one batch with, for the bucketed fields (`input`, `ingest`), the
/// [`mark`] of each listed entry's whole value beside its seq (empty for other fields).
pub fn build_marked(entries: &[StoredEntry]) -> Lists<'_, Marked> {
    let mut lists: Lists<'_, Marked> = HashMap::default();
    for e in entries {
        for k in keys(e) {
            let list = lists.entry(k).or_default();
            list.0.push(e.seq);
            let whole = match k.0 {
                "input" => e.input_hash.as_deref(),
                "ingest" => e.ingest_id.as_deref(),
                _ => None,
            };
            if let Some(v) = whole {
                list.1.push(mark(v));
            }
        }
    }
    lists
}

/// Whether `field`'s lists are buckets of values (by their first two characters).
pub fn bucketed(field: &str) -> bool {
    matches!(field, "input" | "ingest")
}

/// A 32-bit FNV-1a of a bucketed field's whole value, stored beside each seq of its list so
/// that a query for one input hash reads only the entries that may hold it, not its whole
/// bucket. Collisions only cost a read: every entry read is checked against the filter.
pub fn mark(value: &str) -> u32 {
    value.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

/// How a store encodes its posting lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Every list as [`encode`]'s seq deltas (PostgreSQL; SQLite format v1).
    Plain,
    /// Bucketed fields' lists carry their [`mark`]s: LEB128 count, then a big-endian `u32`
    /// mark per seq, then the seq deltas (SQLite format v2); other lists as `Plain`.
    Marked,
}

impl Encoding {
    /// The stored bytes of `field`'s list of `seqs` (with their `marks`, for a bucketed field)
    /// in the batch from `base`.
    pub fn encode(self, field: &str, base: u64, seqs: &[u64], marks: &[u32]) -> Vec<u8> {
        if self == Encoding::Plain || !bucketed(field) {
            return encode(base, seqs);
        }
        let mut out = Vec::with_capacity(seqs.len() * 6 + 3);
        push_varint(&mut out, marks.len() as u64);
        for m in marks {
            out.extend_from_slice(&m.to_be_bytes());
        }
        out.extend_from_slice(&encode(base, seqs));
        out
    }

    /// Decodes the list stored under `key`: its seqs and, for a marked list, their marks.
    /// `None` if it is malformed.
    pub fn decode(self, key: &str, base: u64, bytes: &[u8]) -> Option<(Vec<u64>, Vec<u32>)> {
        let field = key.split(':').next().unwrap_or_default();
        if self == Encoding::Plain || !bucketed(field) {
            return decode(base, bytes).map(|s| (s, Vec::new()));
        }
        let (n, at) = read_varint(bytes)?;
        let len = usize::try_from(n).ok()?.checked_mul(4)?;
        let marks: Vec<u32> = bytes
            .get(at..at.checked_add(len)?)?
            .chunks_exact(4)
            .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let seqs = decode(base, &bytes[at + len..])?;
        (seqs.len() == marks.len()).then_some((seqs, marks))
    }
}

/// LEB128 deltas of increasing `seqs`, the first from `base`.
pub fn encode(base: u64, seqs: &[u64]) -> Vec<u8> {
    let mut out = Vec::with_capacity(seqs.len() * 2);
    let mut prev = base;
    for &s in seqs {
        push_varint(&mut out, s - prev);
        prev = s;
    }
    out
}

/// Appends `v` as unsigned LEB128.
fn push_varint(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// The unsigned LEB128 at the start of `bytes` and how many bytes it took; `None` if it is
/// cut short or does not fit 64 bits.
fn read_varint(bytes: &[u8]) -> Option<(u64, usize)> {
    let (mut v, mut shift) = (0u64, 0u32);
    for (i, &b) in bytes.iter().enumerate() {
        if shift > 63 {
            return None;
        }
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some((v, i + 1));
        }
        shift += 7;
    }
    None
}

/// Decodes [`encode`]'s output; `None` if it is malformed.
pub fn decode(base: u64, bytes: &[u8]) -> Option<Vec<u64>> {
    let mut out = Vec::new();
    let mut prev = base;
    let mut d = 0u64;
    let mut shift = 0u32;
    for &b in bytes {
        if shift > 63 {
            return None;
        }
        d |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            prev = prev.checked_add(d)?;
            out.push(prev);
            d = 0;
            shift = 0;
        } else {
            shift += 7;
        }
    }
    (shift == 0).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deltas_round_trip() {
        let seqs = [100, 100, 101, 300, 70_000, 1 << 40];
        let enc = encode(100, &seqs[1..]);
        assert_eq!(decode(100, &enc).expect("valid"), seqs[1..]);
        assert_eq!(decode(0, &[0x80]), None, "truncated varint");
    }

    #[test]
    fn marked_lists_round_trip_and_refuse_damage() {
        let seqs = [5u64, 9, 300];
        let marks = [mark("ab01"), mark("ab02"), mark("abff")];
        let enc = Encoding::Marked.encode("input", 0, &seqs, &marks);
        let (s, m) = Encoding::Marked.decode("input:ab", 0, &enc).expect("valid");
        assert_eq!((s.as_slice(), m.as_slice()), (&seqs[..], &marks[..]));
        assert_eq!(Encoding::Marked.decode("input:ab", 0, &enc[..5]), None);
        // Other fields stay plain.
        assert_eq!(
            Encoding::Marked.encode("user", 0, &seqs, &[]),
            encode(0, &seqs)
        );
        assert_eq!(
            Encoding::Plain.encode("input", 0, &seqs, &marks),
            encode(0, &seqs)
        );
        assert_ne!(mark("ab01"), mark("ab02"));
    }
}
