//! Proof generation (RFC 9162 §2.1.3.1 and §2.1.4.1) over stored perfect subtrees.

use super::split_point;
use crate::error::{Error, ProofError};
use crate::hash::{Hash, empty_root, node_hash};

pub use super::source::{NODE_STRIDE, NodeSource, is_stored_level};

/// The hash of the perfect subtree `(level, index)`.
pub(crate) fn perfect_subtree<S: NodeSource + ?Sized>(
    source: &S,
    level: u32,
    index: u64,
) -> Result<Hash, Error> {
    let base = level - level % NODE_STRIDE;
    let span = level - base;
    let mut hashes = source.stored_nodes(base, index << span, 1u64 << span)?;
    if hashes.len() != 1usize << span {
        return Err(Error::MissingNodes {
            level: base,
            index: index << span,
        });
    }
    while hashes.len() > 1 {
        hashes = hashes
            .chunks_exact(2)
            .map(|pair| node_hash(&pair[0], &pair[1]))
            .collect();
    }
    Ok(hashes[0])
}

/// The hashes of the aligned perfect subtrees that cover leaves `[first, end)`
/// ([`crate::archive::range_blocks`]), as `(level, index, hash)`.
pub fn range_subtrees<S: NodeSource + ?Sized>(
    source: &S,
    first: u64,
    end: u64,
) -> Result<Vec<(u32, u64, Hash)>, Error> {
    crate::archive::range_blocks(first, end)
        .into_iter()
        .map(|(level, index)| Ok((level, index, perfect_subtree(source, level, index)?)))
        .collect()
}

/// The hash of the RFC 9162 subtree over leaves `[start, end)`, `start` aligned as the tree
/// aligns it.
fn subtree<S: NodeSource + ?Sized>(source: &S, start: u64, end: u64) -> Result<Hash, Error> {
    let n = end - start;
    if n.is_power_of_two() && start.is_multiple_of(n) {
        return perfect_subtree(source, n.trailing_zeros(), start / n);
    }
    let k = split_point(n);
    let left = subtree(source, start, start + k)?;
    let right = subtree(source, start + k, end)?;
    Ok(node_hash(&left, &right))
}

/// The root of the first `size` leaves.
pub fn root_at<S: NodeSource + ?Sized>(source: &S, size: u64) -> Result<Hash, Error> {
    if size == 0 {
        return Ok(empty_root());
    }
    subtree(source, 0, size)
}

/// The inclusion proof of leaf `index` in the tree of `size` leaves, bottom-up.
pub fn inclusion_proof<S: NodeSource + ?Sized>(
    source: &S,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, Error> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size }.into());
    }
    // Walk down from the root, remembering each sibling's range; the proof lists them bottom-up.
    let mut ranges = Vec::new();
    let (mut lo, mut hi) = (0u64, size);
    while hi - lo > 1 {
        let k = split_point(hi - lo);
        if index < lo + k {
            ranges.push((lo + k, hi));
            hi = lo + k;
        } else {
            ranges.push((lo, lo + k));
            lo += k;
        }
    }
    let memo = super::memo::TileMemo::new(source, size);
    ranges
        .iter()
        .rev()
        .map(|&(a, b)| subtree(&memo, a, b))
        .collect()
}

/// The consistency proof from the tree of `size1` leaves to the tree of `size2` leaves.
pub fn consistency_proof<S: NodeSource + ?Sized>(
    source: &S,
    size1: u64,
    size2: u64,
) -> Result<Vec<Hash>, Error> {
    if size1 > size2 {
        return Err(ProofError::Shrinks { size1, size2 }.into());
    }
    if size1 == 0 {
        return Err(ProofError::FromEmptyTree.into());
    }
    let mut ranges = Vec::new();
    let (mut lo, mut hi) = (0u64, size2);
    let mut m = size1;
    let mut complete = true;
    while m != hi - lo {
        let n = hi - lo;
        let k = split_point(n);
        if m <= k {
            ranges.push((lo + k, hi));
            hi = lo + k;
        } else {
            ranges.push((lo, lo + k));
            m -= k;
            lo += k;
            complete = false;
        }
    }
    if !complete {
        ranges.push((lo, hi));
    }
    let memo = super::memo::TileMemo::new(source, size2);
    ranges
        .iter()
        .rev()
        .map(|&(a, b)| subtree(&memo, a, b))
        .collect()
}
