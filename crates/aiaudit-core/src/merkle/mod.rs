//! The RFC 9162 Merkle tree: incremental building, proof generation and proof verification.
//!
//! Addressing: a *perfect subtree* `(level, index)` is the hash of leaves
//! `[index·2^level, (index+1)·2^level)`. Every node of an RFC 9162 tree of size `n` is either a
//! perfect subtree or lies on the right border, and a right-border node over `[a, b)` is the hash
//! of the perfect subtrees that `[a, b)` splits into. Stores therefore keep only perfect subtrees
//! (see [`NodeSource`]) and everything else is recomputed in `O(log n)`.

mod builder;
mod memo;
mod memory;
mod prove;
mod source;
mod verify;

pub use builder::{CompactRange, CompletedNode};
pub use memory::MemoryTree;
pub use prove::{
    NODE_STRIDE, NodeSource, consistency_proof, inclusion_proof, is_stored_level, range_subtrees,
    root_at,
};
pub use verify::{root_from_inclusion_proof, verify_consistency, verify_inclusion};

/// The largest power of two strictly smaller than `n` (`n ≥ 2`): the RFC 9162 split point.
pub(crate) fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

#[cfg(test)]
mod tests {
    use super::split_point;

    #[test]
    fn split_point_is_largest_smaller_power_of_two() {
        assert_eq!(split_point(2), 1);
        assert_eq!(split_point(3), 2);
        assert_eq!(split_point(4), 2);
        assert_eq!(split_point(5), 4);
        assert_eq!(split_point(8), 4);
        assert_eq!(split_point(9), 8);
        assert_eq!(split_point(u64::MAX), 1 << 63);
    }
}
