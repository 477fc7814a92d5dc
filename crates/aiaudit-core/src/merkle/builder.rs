//! Incremental tree building: the compact range of a tree (one perfect subtree per set bit of its
//! size), which yields every perfect subtree as it completes.

use super::NodeSource;
use super::prove::perfect_subtree;
use crate::error::Error;
use crate::hash::{Hash, empty_root, node_hash};

/// A perfect subtree that just became complete: the hash of leaves
/// `[index·2^level, (index+1)·2^level)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompletedNode {
    /// Height above the leaves (0 = a leaf hash).
    pub level: u32,
    /// Position among the subtrees of that level.
    pub index: u64,
    /// The subtree's hash.
    pub hash: Hash,
}

/// The right edge of a growing tree: enough to append leaves and compute the root in `O(log n)`.
///
/// Invariant: `peaks[i]` is the perfect subtree for the i-th set bit of `size`, from the highest
/// bit (the leftmost, largest subtree) to the lowest.
#[derive(Debug, Clone, Default)]
pub struct CompactRange {
    size: u64,
    peaks: Vec<Hash>,
}

impl CompactRange {
    /// The compact range of the empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Loads the compact range of a stored tree of `size` leaves.
    pub fn from_source<S: NodeSource + ?Sized>(size: u64, source: &S) -> Result<Self, Error> {
        let mut peaks = Vec::new();
        let mut start = 0u64;
        for level in (0..64u32).rev() {
            if size & (1u64 << level) != 0 {
                peaks.push(perfect_subtree(source, level, start >> level)?);
                start += 1u64 << level;
            }
        }
        Ok(Self { size, peaks })
    }

    /// Number of leaves appended so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a leaf hash, calling `on_complete` for the leaf (level 0) and then for every
    /// perfect subtree the append completes, lowest level first.
    pub fn append(&mut self, leaf: Hash, mut on_complete: impl FnMut(CompletedNode)) {
        let index = self.size;
        on_complete(CompletedNode {
            level: 0,
            index,
            hash: leaf,
        });
        let mut hash = leaf;
        let mut level = 0u32;
        // Each trailing one bit of the old size is a peak of equal height that merges with ours.
        while index & (1u64 << level) != 0 {
            let left = self.peaks.pop().unwrap_or(hash);
            hash = node_hash(&left, &hash);
            level += 1;
            on_complete(CompletedNode {
                level,
                index: index >> level,
                hash,
            });
        }
        self.peaks.push(hash);
        self.size += 1;
    }

    /// The RFC 9162 root of the tree so far (`SHA-256("")` when empty).
    pub fn root(&self) -> Hash {
        let mut iter = self.peaks.iter().rev();
        match iter.next() {
            None => empty_root(),
            Some(first) => iter.fold(*first, |acc, left| node_hash(left, &acc)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::leaf_hash;

    fn reference_root(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => empty_root(),
            1 => leaves[0],
            n => {
                let k = crate::merkle::split_point(n as u64) as usize;
                node_hash(&reference_root(&leaves[..k]), &reference_root(&leaves[k..]))
            }
        }
    }

    #[test]
    fn root_matches_recursive_definition() {
        let mut range = CompactRange::new();
        let mut leaves = Vec::new();
        assert_eq!(range.root(), empty_root());
        for i in 0..70u32 {
            let leaf = leaf_hash(&i.to_be_bytes());
            leaves.push(leaf);
            let mut completed = Vec::new();
            range.append(leaf, |n| completed.push(n));
            assert_eq!(range.root(), reference_root(&leaves), "size {}", i + 1);
            for n in completed {
                let lo = (n.index << n.level) as usize;
                let hi = lo + (1usize << n.level);
                assert_eq!(n.hash, reference_root(&leaves[lo..hi]));
            }
        }
    }
}
