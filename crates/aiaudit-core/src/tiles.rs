//! The log as c2sp.org/tlog-tiles resources: tile paths, hash tiles and entry bundles.
//!
//! A *hash tile* `(L, N)` holds up to 256 consecutive Merkle tree hashes at tree level `8·L`,
//! starting at hash `256·N`; at level 0 those are leaf hashes. An *entry bundle* `N` holds the
//! leaf data of entries `256·N …`, each prefixed by its length as a big-endian `u16`. A tile or
//! bundle is *full* at 256 hashes or entries and *partial* (width 1–255) at the right edge of a
//! tree. A given path always names the same bytes: tiles only ever grow into new paths.
//!
//! ```
//! use aiaudit_core::tiles::{Tile, TileKind};
//!
//! let t = Tile::parse("tile/1/x001/x234/067.p/8")?;
//! assert_eq!(t, Tile { kind: TileKind::Hashes { level: 1 }, index: 1_234_067, width: 8 });
//! assert_eq!(t.path(), "tile/1/x001/x234/067.p/8");
//! // A tree of 70,000 entries has 112 hashes in its last level-0 tile, 17 at level 1, 1 at 2.
//! assert_eq!(Tile::width_at(0, 273, 70_000), 112);
//! assert_eq!(Tile::width_at(1, 1, 70_000), 17);
//! assert_eq!(Tile::width_at(2, 0, 70_000), 1);
//! # Ok::<(), aiaudit_core::Error>(())
//! ```

use std::fmt::Write as _;

use crate::error::{Error, Result};
use crate::hash::HASH_LEN;
use crate::merkle::NodeSource;

/// Hashes (or entries) in a full tile.
pub const TILE_WIDTH: u16 = 256;
/// Tree levels one tile spans.
pub const TILE_HEIGHT: u32 = 8;
/// Highest tile level the specification allows.
pub const MAX_LEVEL: u8 = 63;
/// Longest leaf data an entry bundle can carry (its length prefix is a `u16`).
pub const MAX_ENTRY_LEN: usize = u16::MAX as usize;

/// What a tile holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TileKind {
    /// Merkle tree hashes at tree level `8 · level`.
    Hashes {
        /// The tile level, 0–63.
        level: u8,
    },
    /// Leaf data (`tile/entries/…`).
    Entries,
}

/// One tile-API resource: a hash tile or an entry bundle, full or partial.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tile {
    /// Hashes or entries.
    pub kind: TileKind,
    /// The tile's index within its level.
    pub index: u64,
    /// Hashes or entries it holds: 256 for a full tile, 1–255 for a partial one.
    pub width: u16,
}

impl Tile {
    /// The tile level (entry bundles are at level 0).
    pub fn level(&self) -> u8 {
        match self.kind {
            TileKind::Hashes { level } => level,
            TileKind::Entries => 0,
        }
    }

    /// Whether it holds 256 hashes or entries.
    pub fn is_full(&self) -> bool {
        self.width == TILE_WIDTH
    }

    /// The first hash it holds, counted at its tree level (`256 · index`).
    pub fn first(&self) -> u64 {
        self.index << 8
    }

    /// How many hashes the tile `(level, index)` holds in a tree of `size` entries: 256 for a
    /// full tile, 1–255 for the partial one at the right edge, 0 when the tree does not reach it.
    pub fn width_at(level: u8, index: u64, size: u64) -> u16 {
        let shift = TILE_HEIGHT * u32::from(level);
        if shift >= 64 {
            return 0;
        }
        let hashes = size >> shift;
        match index.checked_mul(u64::from(TILE_WIDTH)) {
            Some(first) if hashes > first => (hashes - first).min(u64::from(TILE_WIDTH)) as u16,
            _ => 0,
        }
    }

    /// The path below the log's prefix: `tile/<L>/<N>[.p/<W>]` or `tile/entries/<N>[.p/<W>]`.
    pub fn path(&self) -> String {
        let mut out = String::from("tile/");
        match self.kind {
            TileKind::Hashes { level } => {
                let _ = write!(out, "{level}/");
            }
            TileKind::Entries => out.push_str("entries/"),
        }
        push_index(&mut out, self.index);
        if !self.is_full() {
            let _ = write!(out, ".p/{}", self.width);
        }
        out
    }

    /// Parses a path below the log's prefix, exactly as the specification writes it: `<L>`
    /// 0–63 and `<W>` 1–255 in decimal without leading zeros, `<N>` in 3-digit groups of which
    /// all but the last begin with `x` and the first is not `x000`.
    pub fn parse(path: &str) -> Result<Tile> {
        let bad = |why: String| Error::TilePath {
            path: path.chars().take(200).collect(),
            why,
        };
        let rest = path
            .strip_prefix("tile/")
            .ok_or_else(|| bad("a tile path begins with \"tile/\"".into()))?;
        let (kind, rest) = match rest.split_once('/') {
            Some(("entries", rest)) => (TileKind::Entries, rest),
            Some((l, rest)) => {
                let level = decimal(l)
                    .filter(|&v| v <= u64::from(MAX_LEVEL))
                    .ok_or_else(|| {
                        bad(format!(
                            "level {l:?} is not \"entries\" or a decimal number from 0 to 63"
                        ))
                    })?;
                (TileKind::Hashes { level: level as u8 }, rest)
            }
            None => return Err(bad("no tile index after the level".into())),
        };
        let (index_part, width) = match rest.split_once(".p/") {
            Some((i, w)) => {
                let w = decimal(w)
                    .filter(|v| (1..u64::from(TILE_WIDTH)).contains(v))
                    .ok_or_else(|| {
                        bad(format!(
                            "partial width {w:?} is not a decimal number from 1 to 255"
                        ))
                    })?;
                (i, w as u16)
            }
            None => (rest, TILE_WIDTH),
        };
        let index = parse_index(index_part).map_err(bad)?;
        let tile = Tile { kind, index, width };
        // The tile's first entry, 256^(L+1) · N, must be a tree position (fit 64 bits).
        let shift = TILE_HEIGHT * (u32::from(tile.level()) + 1);
        if index != 0 && (shift >= 64 || index >> (64 - shift) != 0) {
            return Err(bad(format!("tile index {index} is beyond any tree")));
        }
        Ok(tile)
    }

    /// The tile's bytes from a tree of `size` entries: `width` hashes of 32 bytes. `None` when
    /// the tree does not hold that many hashes in this tile (a tile for a larger tree, or a
    /// partial tile wider than the tree's).
    pub fn hashes<S: NodeSource + ?Sized>(&self, source: &S, size: u64) -> Result<Option<Vec<u8>>> {
        let TileKind::Hashes { level } = self.kind else {
            return Err(Error::TilePath {
                path: self.path(),
                why: "an entry bundle holds leaf data, not hashes".into(),
            });
        };
        if Tile::width_at(level, self.index, size) < self.width {
            return Ok(None);
        }
        let tree_level = TILE_HEIGHT * u32::from(level);
        let hashes = source.stored_nodes(tree_level, self.first(), u64::from(self.width))?;
        if hashes.len() != usize::from(self.width) {
            return Err(Error::MissingNodes {
                level: tree_level,
                index: self.first() + hashes.len() as u64,
            });
        }
        let mut out = Vec::with_capacity(hashes.len() * HASH_LEN);
        for h in &hashes {
            out.extend_from_slice(h);
        }
        Ok(Some(out))
    }
}

impl std::fmt::Display for Tile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.path())
    }
}

/// Appends `index` as 3-digit groups, all but the last prefixed with `x`.
fn push_index(out: &mut String, index: u64) {
    let mut groups = Vec::with_capacity(7);
    let mut n = index;
    loop {
        groups.push(n % 1000);
        n /= 1000;
        if n == 0 {
            break;
        }
    }
    for (i, g) in groups.iter().rev().enumerate() {
        if i + 1 < groups.len() {
            let _ = write!(out, "x{g:03}/");
        } else {
            let _ = write!(out, "{g:03}");
        }
    }
}

fn parse_index(text: &str) -> std::result::Result<u64, String> {
    let groups: Vec<&str> = text.split('/').collect();
    let mut index: u64 = 0;
    for (i, g) in groups.iter().enumerate() {
        let last = i + 1 == groups.len();
        let digits = if last {
            *g
        } else {
            g.strip_prefix('x').ok_or_else(|| {
                format!("index element {g:?} is not the last, so it must begin with \"x\"")
            })?
        };
        if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "index element {g:?} is not {}three digits",
                if last { "" } else { "\"x\" and " }
            ));
        }
        if i == 0 && !last && digits == "000" {
            return Err(format!(
                "index {text:?} has a leading \"x000\" element: each index has one spelling"
            ));
        }
        let v: u64 = digits
            .parse()
            .map_err(|_| format!("{g:?} is not a number"))?;
        index = index
            .checked_mul(1000)
            .and_then(|i| i.checked_add(v))
            .ok_or_else(|| format!("index {text:?} does not fit 64 bits"))?;
    }
    Ok(index)
}

/// A decimal number without leading zeros (`0` itself allowed), at most 19 digits.
fn decimal(text: &str) -> Option<u64> {
    let ok = !text.is_empty()
        && text.len() <= 19
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    if ok { text.parse().ok() } else { None }
}

/// Builds an entry bundle: each leaf data prefixed by its length as a big-endian `u16`.
pub struct BundleWriter {
    bytes: Vec<u8>,
    count: u16,
}

impl BundleWriter {
    /// An empty bundle.
    pub fn new() -> Self {
        BundleWriter {
            bytes: Vec::new(),
            count: 0,
        }
    }

    /// Appends the leaf data of entry `seq` (named in the error when it is longer than
    /// [`MAX_ENTRY_LEN`] bytes, which a bundle cannot carry).
    pub fn push(&mut self, seq: u64, data: &[u8]) -> Result<()> {
        let len = u16::try_from(data.len()).map_err(|_| Error::EntryTooLong {
            seq,
            len: data.len(),
        })?;
        self.bytes.extend_from_slice(&len.to_be_bytes());
        self.bytes.extend_from_slice(data);
        self.count += 1;
        Ok(())
    }

    /// Entries so far.
    pub fn len(&self) -> u16 {
        self.count
    }

    /// Whether nothing was pushed.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The bundle's bytes.
    pub fn finish(self) -> Vec<u8> {
        self.bytes
    }
}

impl Default for BundleWriter {
    fn default() -> Self {
        Self::new()
    }
}

/// Splits an entry bundle into its entries' leaf data.
pub fn parse_bundle(bytes: &[u8]) -> Result<Vec<&[u8]>> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let at = bytes.len() - rest.len();
        let Some((len, tail)) = rest.split_first_chunk::<2>() else {
            return Err(Error::malformed(
                "entry bundle",
                format!("a length prefix at byte {at} is cut short"),
            ));
        };
        let len = usize::from(u16::from_be_bytes(*len));
        if tail.len() < len {
            return Err(Error::malformed(
                "entry bundle",
                format!(
                    "entry {} at byte {at} claims {len} bytes and {} remain",
                    out.len(),
                    tail.len()
                ),
            ));
        }
        let (entry, tail) = tail.split_at(len);
        out.push(entry);
        rest = tail;
    }
    if out.len() > usize::from(TILE_WIDTH) {
        return Err(Error::malformed(
            "entry bundle",
            format!("{} entries; a bundle holds at most 256", out.len()),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::hash::leaf_hash;
    use crate::merkle::MemoryTree;
    use proptest::prelude::*;

    #[test]
    fn paths_as_the_spec_spells_them() {
        let t = |kind, index, width| Tile { kind, index, width }.path();
        let h = |level| TileKind::Hashes { level };
        assert_eq!(t(h(0), 0, 256), "tile/0/000");
        assert_eq!(t(h(0), 1_234_067, 256), "tile/0/x001/x234/067");
        assert_eq!(t(h(2), 1000, 5), "tile/2/x001/000.p/5");
        assert_eq!(t(TileKind::Entries, 7, 255), "tile/entries/007.p/255");
        assert_eq!(t(h(63), 0, 1), "tile/63/000.p/1");
    }

    #[test]
    fn malformed_paths_are_refused_with_the_reason() {
        for (path, why) in [
            ("tile/0", "no tile index"),
            ("tiles/0/000", "begins with"),
            ("tile/00/000", "level \"00\""),
            ("tile/64/000", "level \"64\""),
            ("tile/-1/000", "level \"-1\""),
            ("tile/0/00", "three digits"),
            ("tile/0/0000", "three digits"),
            ("tile/0/x001", "three digits"),
            ("tile/0/001/002", "must begin with \"x\""),
            ("tile/0/x000/001", "leading \"x000\""),
            ("tile/0/000.p/0", "partial width \"0\""),
            ("tile/0/000.p/256", "partial width \"256\""),
            ("tile/0/000.p/07", "partial width \"07\""),
            ("tile/0/000.p/", "partial width \"\""),
            ("tile/entries/000.p/1/", "partial width"),
            (
                "tile/0/x018/x446/x744/x073/x709/x551/616",
                "does not fit 64 bits",
            ),
            (
                "tile/0/x018/x446/x744/x073/x709/x551/615",
                "beyond any tree",
            ),
            ("tile/1/x072/x057/x594/x037/x927/936", "beyond any tree"),
            ("tile/8/001", "beyond any tree"),
            ("tile/0/+12", "three digits"),
        ] {
            let e = Tile::parse(path).expect_err(path).to_string();
            assert!(e.contains(why), "{path}: {e}");
        }
    }

    #[test]
    fn the_spec_example_of_70000_entries() {
        let w = |l, i| Tile::width_at(l, i, 70_000);
        assert_eq!(w(0, 272), 256);
        assert_eq!(w(0, 273), 112);
        assert_eq!(w(0, 274), 0);
        assert_eq!(w(1, 0), 256);
        assert_eq!(w(1, 1), 17);
        assert_eq!(w(2, 0), 1);
        assert_eq!(w(3, 0), 0);
        // A tree of 256: a full level-0 tile and a level-1 tile of width 1.
        assert_eq!(Tile::width_at(0, 0, 256), 256);
        assert_eq!(Tile::width_at(1, 0, 256), 1);
        assert_eq!(Tile::width_at(63, u64::MAX, u64::MAX), 0);
    }

    #[test]
    fn hash_tiles_hold_the_tree_hashes_of_their_level() {
        let mut tree = MemoryTree::new();
        let leaves: Vec<_> = (0..70_000u32)
            .map(|i| leaf_hash(&i.to_be_bytes()))
            .collect();
        for l in &leaves {
            tree.push(*l);
        }
        let t = Tile::parse("tile/0/273.p/112").unwrap();
        let bytes = t.hashes(&tree, 70_000).unwrap().unwrap();
        assert_eq!(bytes.len(), 112 * 32);
        assert_eq!(&bytes[..32], &leaves[273 * 256][..]);
        // Level 1, hash 256 + 3: the root of the level-0 tile 259.
        let t = Tile::parse("tile/1/001.p/17").unwrap();
        let bytes = t.hashes(&tree, 70_000).unwrap().unwrap();
        let mut sub = MemoryTree::new();
        for l in &leaves[259 * 256..260 * 256] {
            sub.push(*l);
        }
        assert_eq!(&bytes[3 * 32..4 * 32], &sub.root()[..]);
        // Wider than the tree: none; an entries tile: refused.
        assert!(
            Tile::parse("tile/0/273.p/113")
                .unwrap()
                .hashes(&tree, 70_000)
                .unwrap()
                .is_none()
        );
        assert!(
            Tile::parse("tile/2/000")
                .unwrap()
                .hashes(&tree, 70_000)
                .unwrap()
                .is_none()
        );
        assert!(
            Tile::parse("tile/entries/000")
                .unwrap()
                .hashes(&tree, 70_000)
                .is_err()
        );
    }

    #[test]
    fn bundles_round_trip_and_refuse_what_they_cannot_carry() {
        let mut b = BundleWriter::new();
        b.push(0, b"one").unwrap();
        b.push(1, b"").unwrap();
        b.push(2, &[7u8; 300]).unwrap();
        let e = b
            .push(3, &vec![0u8; MAX_ENTRY_LEN + 1])
            .unwrap_err()
            .to_string();
        assert!(e.contains("seq 3") && e.contains("65536"), "{e}");
        assert_eq!(b.len(), 3);
        let bytes = b.finish();
        assert_eq!(&bytes[..5], b"\x00\x03one");
        let parts = parse_bundle(&bytes).unwrap();
        assert_eq!(parts, vec![&b"one"[..], b"", &[7u8; 300][..]]);
        let e = parse_bundle(&bytes[..bytes.len() - 1])
            .unwrap_err()
            .to_string();
        assert!(e.contains("entry 2") && e.contains("claims 300"), "{e}");
        assert!(
            parse_bundle(&[0])
                .unwrap_err()
                .to_string()
                .contains("cut short")
        );
    }

    proptest! {
        #[test]
        fn every_tile_path_parses_back(level in 0u8..=63, index: u64, width in 1u16..=256, entries: bool) {
            let kind = if entries { TileKind::Entries } else { TileKind::Hashes { level } };
            let shift = TILE_HEIGHT * (u32::from(if entries { 0 } else { level }) + 1);
            let index = if shift >= 64 { 0 } else { index >> shift };
            let t = Tile { kind, index, width };
            prop_assert_eq!(Tile::parse(&t.path()).unwrap(), t);
        }

        #[test]
        fn parsing_never_panics_and_spells_back(s in "tile/(entries|[0-9]{1,3})/(x[0-9]{3}/){0,3}[0-9]{1,4}(\\.p/[0-9]{1,3})?") {
            if let Ok(t) = Tile::parse(&s) {
                prop_assert_eq!(t.path(), s);
            }
        }
    }
}
