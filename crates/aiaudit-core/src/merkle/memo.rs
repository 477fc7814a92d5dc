//! A [`NodeSource`] that reads each stored tile once for the length of one proof: the ≈ log2(n)
//! subtrees of an inclusion or consistency proof fall into a handful of tiles (one per stored
//! level), so a proof costs a handful of reads instead of one per subtree.

use std::cell::RefCell;

use super::source::NodeSource;
use crate::error::Error;
use crate::hash::Hash;

/// Nodes read at once: the stores keep each stored level in tiles of 256 (c2sp.org/tlog-tiles),
/// so a group of 256 is one read. Any width gives the same nodes; this one the fewest reads.
const TILE: u64 = 256;

/// `(level, tile)` and the nodes of that tile that exist in the tree.
type Tile = ((u32, u64), Vec<Hash>);

/// The stored nodes of the tree of `size` leaves, each tile read at most once.
pub(crate) struct TileMemo<'a, S: ?Sized> {
    source: &'a S,
    size: u64,
    /// The tiles read so far.
    tiles: RefCell<Vec<Tile>>,
}

impl<'a, S: NodeSource + ?Sized> TileMemo<'a, S> {
    pub(crate) fn new(source: &'a S, size: u64) -> Self {
        TileMemo {
            source,
            size,
            tiles: RefCell::new(Vec::new()),
        }
    }
}

impl<S: NodeSource + ?Sized> NodeSource for TileMemo<'_, S> {
    fn stored_nodes(&self, level: u32, start: u64, count: u64) -> Result<Vec<Hash>, Error> {
        let tile = start / TILE;
        // Nodes of this level in the tree: perfect subtrees of 2^level leaves.
        let exist = self.size.checked_shr(level).unwrap_or(0);
        let end = start.saturating_add(count);
        if count == 0 || (end - 1) / TILE != tile || end > exist {
            return self.source.stored_nodes(level, start, count);
        }
        let base = tile * TILE;
        let (from, to) = ((start - base) as usize, (end - base) as usize);
        if let Some((_, nodes)) = self
            .tiles
            .borrow()
            .iter()
            .find(|(k, _)| *k == (level, tile))
        {
            return Ok(nodes[from..to].to_vec());
        }
        let nodes = self
            .source
            .stored_nodes(level, base, (base + TILE).min(exist) - base)?;
        let out = nodes
            .get(from..to)
            .map(<[Hash]>::to_vec)
            .ok_or(Error::MissingNodes {
                level,
                index: start,
            })?;
        self.tiles.borrow_mut().push(((level, tile), nodes));
        Ok(out)
    }
}
