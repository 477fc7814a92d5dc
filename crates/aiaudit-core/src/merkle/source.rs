//! Where proofs read the tree from: a store's perfect subtrees at the stored levels.

use crate::error::Error;
use crate::hash::Hash;

/// Levels of perfect subtrees a store keeps: the multiples of this. With 4, a store keeps
/// 1/16 + 1/256 + … ≈ 6.7% as many nodes as leaves, and any node costs one range read of at most
/// 2^3 = 8 stored hashes.
pub const NODE_STRIDE: u32 = 4;

/// Stored perfect subtrees: the leaf hashes (level 0) and the perfect subtrees at every level
/// that is a multiple of [`NODE_STRIDE`]; other levels are recomputed from the stored level below.
pub trait NodeSource {
    /// The perfect subtrees `(level, start)`, `(level, start+1)`, … `(level, start+count-1)`.
    /// `level` is always a multiple of [`NODE_STRIDE`]. Missing nodes are an error, never a guess.
    fn stored_nodes(&self, level: u32, start: u64, count: u64) -> Result<Vec<Hash>, Error>;
}

/// Whether a store must keep perfect subtrees of `level` for [`NodeSource`] to find them.
pub fn is_stored_level(level: u32) -> bool {
    level.is_multiple_of(NODE_STRIDE)
}
