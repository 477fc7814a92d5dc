//! An in-memory tree: a [`NodeSource`] for tests, tools and small logs.

use super::{CompactRange, NODE_STRIDE, NodeSource};
use crate::error::{Error, Result};
use crate::hash::Hash;

/// A whole Merkle tree in memory, keeping the same levels a store keeps.
#[derive(Debug, Clone, Default)]
pub struct MemoryTree {
    range: CompactRange,
    /// `levels[l / STRIDE]` holds the completed perfect subtrees of level `l`.
    levels: Vec<Vec<Hash>>,
}

impl MemoryTree {
    /// The empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a leaf hash.
    pub fn push(&mut self, leaf: Hash) {
        let levels = &mut self.levels;
        self.range.append(leaf, |n| {
            if n.level % NODE_STRIDE == 0 {
                let slot = (n.level / NODE_STRIDE) as usize;
                if levels.len() <= slot {
                    levels.resize(slot + 1, Vec::new());
                }
                levels[slot].push(n.hash);
            }
        });
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.range.size()
    }

    /// The current root.
    pub fn root(&self) -> Hash {
        self.range.root()
    }
}

impl NodeSource for MemoryTree {
    fn stored_nodes(&self, level: u32, start: u64, count: u64) -> Result<Vec<Hash>> {
        let missing = || Error::MissingNodes {
            level,
            index: start,
        };
        let nodes = self
            .levels
            .get((level / NODE_STRIDE) as usize)
            .ok_or_else(missing)?;
        let (start, end) = (start as usize, (start + count) as usize);
        nodes
            .get(start..end)
            .map(<[Hash]>::to_vec)
            .ok_or_else(missing)
    }
}
