//! `aiaudit export tiles DIR`: the log as static c2sp.org/tlog-tiles files, which any web
//! server or bucket serves as a verifiable copy.
//!
//! The directory holds `checkpoint`, `tile/<L>/<N>[.p/<W>]` and `tile/entries/<N>[.p/<W>]`,
//! exactly the paths and bytes `aiaudit serve` answers with. Exporting again into the same
//! directory adds what the log gained: the copy's checkpoint must be of the same log and a
//! prefix of it, full tiles it already holds are kept, and the new checkpoint is written last,
//! after every tile it needs is on disk, so that a copy never names a tile it lacks.

use aiaudit_core::tiles::{BundleWriter, TILE_HEIGHT, TILE_WIDTH, Tile, TileKind};
use aiaudit_core::{HASH_LEN, Store, leaf_hash, root_at};
use std::fs::{self, File};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::reader::LogReader;

/// What an export wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TilesExport {
    /// The tree size of the checkpoint written.
    pub size: u64,
    /// The size of the copy before (0 for a new directory).
    pub previous_size: u64,
    /// Hash tiles written (full and partial).
    pub tiles: u64,
    /// Entry bundles written (full and partial).
    pub bundles: u64,
    /// Bytes written.
    pub bytes: u64,
}

/// Where the files go, and what was written so far (synced before the checkpoint is).
struct Out {
    dir: PathBuf,
    written: Vec<PathBuf>,
    report: TilesExport,
}

fn io(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        path: path.to_owned(),
        source,
    }
}

impl Out {
    /// Writes `bytes` to `rel` through a temporary name, so that no reader sees half a tile.
    fn put(&mut self, rel: &str, bytes: &[u8]) -> Result<()> {
        let path = self.dir.join(rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
        }
        let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
        let mut f = File::create(&tmp).map_err(|e| io(&tmp, e))?;
        f.write_all(bytes).map_err(|e| io(&tmp, e))?;
        drop(f);
        fs::rename(&tmp, &path).map_err(|e| io(&path, e))?;
        self.report.bytes += bytes.len() as u64;
        self.written.push(path);
        Ok(())
    }

    /// Whether `rel` already holds a full tile of the right length (from an earlier export
    /// whose checkpoint covered it).
    fn has(&self, rel: &str, len: Option<usize>) -> bool {
        fs::metadata(self.dir.join(rel))
            .is_ok_and(|m| m.is_file() && len.is_none_or(|l| m.len() == l as u64))
    }

    /// Makes everything written durable, then the directories that name it.
    fn sync(&self) -> Result<()> {
        for p in &self.written {
            File::open(p)
                .and_then(|f| f.sync_all())
                .map_err(|e| io(p, e))?;
        }
        let mut dirs: Vec<&Path> = self.written.iter().filter_map(|p| p.parent()).collect();
        dirs.sort();
        dirs.dedup();
        for d in dirs {
            sync_dir(d).map_err(|e| io(d, e))?;
        }
        Ok(())
    }
}

fn sync_dir(d: &Path) -> std::io::Result<()> {
    File::open(d)?.sync_all()
}

impl LogReader {
    /// Writes the log, up to its latest signed checkpoint, into `dir` as static tlog-tiles
    /// files (see the module docs). `progress(done, total)` counts entries. Every record is
    /// checked against its leaf hash on the way, and the tree's root against the checkpoint;
    /// a record longer than an entry bundle carries (65,535 bytes) stops the export with the
    /// copy still at its previous checkpoint.
    pub fn export_tiles(
        &self,
        dir: &Path,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<TilesExport> {
        let cp = self.checkpoint()?;
        let size = cp.size;
        let store = self.store();
        let root = root_at(store, size)?;
        let keys = self.key_history()?;
        let opened = keys.open_checkpoint(&cp.note)?;
        if opened.root != root || opened.size != size {
            return Err(self.damage(format!(
                "the stored tree's root at size {size} is not the signed checkpoint's"
            )));
        }
        fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        let previous = previous_size(dir, &keys, store)?;
        if previous > size {
            return Err(Error::Target {
                path: dir.to_owned(),
                why: format!(
                    "it holds a copy of {previous} entries, more than this log's {size}: refusing to replace it with an older one"
                ),
            });
        }
        let mut out = Out {
            dir: dir.to_owned(),
            written: Vec::new(),
            report: TilesExport {
                size,
                previous_size: previous,
                ..TilesExport::default()
            },
        };
        entries_and_leaves(self, &mut out, previous, size, progress)?;
        for level in 1..=7u8 {
            hash_tiles(store, &mut out, level, previous, size)?;
        }
        out.sync()?;
        out.put("checkpoint", cp.note.as_bytes())?;
        let last = out.written.len() - 1;
        out.written.drain(..last);
        out.sync()?;
        Ok(out.report)
    }
}

/// The size of the copy already in `dir`: 0 when there is none; an error when it is of
/// another log, its signature fails, or this log's tree at that size has another root.
fn previous_size(
    dir: &Path,
    keys: &aiaudit_core::keys::KeyHistory,
    store: &dyn Store,
) -> Result<u64> {
    let path = dir.join("checkpoint");
    let note = match fs::read_to_string(&path) {
        Ok(n) => n,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(Error::Io { path, source: e }),
    };
    let cp = keys.open_checkpoint(&note).map_err(|e| Error::Target {
        path: path.clone(),
        why: format!("it is not a checkpoint of this log ({e}): export into an empty directory"),
    })?;
    if cp.size <= store.size()? && root_at(store, cp.size)? != cp.root {
        return Err(Error::Target {
            path,
            why: format!(
                "it is signed by this log's key at size {}, with a root this log does not have there: the copy and the log have diverged",
                cp.size
            ),
        });
    }
    Ok(cp.size)
}

/// Entry bundles and level-0 tiles from one pass over the records, from the first bundle the
/// copy lacks in full.
fn entries_and_leaves(
    reader: &LogReader,
    out: &mut Out,
    previous: u64,
    size: u64,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<()> {
    let width = u64::from(TILE_WIDTH);
    let mut index = previous / width;
    // Full bundles the copy already holds stay; check that they are there.
    for n in 0..index {
        let full = |kind| {
            Tile {
                kind,
                index: n,
                width: TILE_WIDTH,
            }
            .path()
        };
        let (b, t) = (full(TileKind::Entries), full(TileKind::Hashes { level: 0 }));
        if !out.has(&b, None) || !out.has(&t, Some(TILE_WIDTH as usize * HASH_LEN)) {
            index = n;
            break;
        }
    }
    let start = index * width;
    let mut bundle = BundleWriter::new();
    let mut leaves = Vec::with_capacity(TILE_WIDTH as usize * HASH_LEN);
    reader.each_in_run(start, size - start, &mut |e| {
        if leaf_hash(&e.data) != e.leaf_hash {
            return Err(reader.damage(format!(
                "seq {}: the record does not match its stored leaf hash",
                e.seq
            )));
        }
        bundle.push(e.seq, &e.data)?;
        leaves.extend_from_slice(&e.leaf_hash);
        let done = e.seq + 1;
        if bundle.len() == TILE_WIDTH || done == size {
            flush(out, std::mem::take(&mut bundle), &mut leaves, e.seq / width)?;
            progress(done, size);
        }
        Ok(())
    })
}

/// Writes one entry bundle and the level-0 tile of the same entries.
fn flush(out: &mut Out, bundle: BundleWriter, leaves: &mut Vec<u8>, index: u64) -> Result<()> {
    let width = bundle.len();
    let bytes = bundle.finish();
    let path = |kind| Tile { kind, index, width }.path();
    out.put(&path(TileKind::Entries), &bytes)?;
    out.put(&path(TileKind::Hashes { level: 0 }), leaves)?;
    out.report.bundles += 1;
    out.report.tiles += 1;
    leaves.clear();
    Ok(())
}

/// The hash tiles of `level` the copy lacks: full tiles not full at `previous`, and the
/// partial tile at `size`.
fn hash_tiles(store: &dyn Store, out: &mut Out, level: u8, previous: u64, size: u64) -> Result<()> {
    let hashes = size >> (TILE_HEIGHT * u32::from(level));
    let covered = (previous >> (TILE_HEIGHT * u32::from(level))) / u64::from(TILE_WIDTH);
    let full_len = TILE_WIDTH as usize * HASH_LEN;
    // Full tiles the copy already holds stay; start at the first one missing.
    let mut index = (0..covered)
        .find(|&n| {
            let t = Tile {
                kind: TileKind::Hashes { level },
                index: n,
                width: TILE_WIDTH,
            };
            !out.has(&t.path(), Some(full_len))
        })
        .unwrap_or(covered);
    while index * u64::from(TILE_WIDTH) < hashes {
        let width = Tile::width_at(level, index, size);
        let t = Tile {
            kind: TileKind::Hashes { level },
            index,
            width,
        };
        let bytes = t
            .hashes(store, size)?
            .ok_or_else(|| Error::NotFound(format!("{t} is not in the tree of size {size}")))?;
        out.put(&t.path(), &bytes)?;
        out.report.tiles += 1;
        index += 1;
    }
    Ok(())
}
