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
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Compares a batch's stored posting lists (`(key, encoded seqs)` rows) with those its
/// `entries` produce: what disagrees, if anything, for `verify` to report.
pub fn compare<'a>(
    batch: u64,
    entries: &[StoredEntry],
    stored: impl IntoIterator<Item = (String, &'a [u8])>,
) -> Option<String> {
    let mut want: HashMap<String, Vec<u64>> = build(entries)
        .into_iter()
        .map(|((f, v), s)| (key(f, v), s))
        .collect();
    for (k, bytes) in stored {
        let have = decode(batch, bytes);
        match want.remove(&k) {
            Some(w) if Some(&w) == have.as_ref() => {}
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
pub fn build(entries: &[StoredEntry]) -> HashMap<(&'static str, &str), Vec<u64>> {
    let mut lists: HashMap<(&'static str, &str), Vec<u64>> = HashMap::new();
    for e in entries {
        for k in keys(e) {
            lists.entry(k).or_default().push(e.seq);
        }
    }
    lists
}

/// LEB128 deltas of increasing `seqs`, the first from `base`.
pub fn encode(base: u64, seqs: &[u64]) -> Vec<u8> {
    let mut out = Vec::with_capacity(seqs.len() * 2);
    let mut prev = base;
    for &s in seqs {
        let mut d = s - prev;
        prev = s;
        loop {
            let byte = (d & 0x7f) as u8;
            d >>= 7;
            if d == 0 {
                out.push(byte);
                break;
            }
            out.push(byte | 0x80);
        }
    }
    out
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
}
