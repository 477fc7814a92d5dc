//! `LogReader`: queries, single entries, checkpoints and proofs over a stored log. Reading needs
//! no signing key; proofs are checked against the log's verifier key before they are returned.

use aiaudit_core::tiles::{BundleWriter, TILE_WIDTH, Tile, TileKind};
use aiaudit_core::{
    ConsistencyBundle, InclusionBundle, LogInfo, NoteVerifier, Query, Store, StoredCheckpoint,
    StoredEntry, consistency_proof, inclusion_proof, root_at,
};
use std::path::Path;

use crate::error::{Error, Result};
use crate::verify::{VerifyOptions, VerifyReport, verify_store};

/// Read access to a log.
pub struct LogReader {
    store: Box<dyn Store>,
    info: LogInfo,
    /// The file, for [`LogReader::reopen`].
    path: Option<std::path::PathBuf>,
}

impl std::fmt::Debug for LogReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogReader")
            .field("origin", &self.info.origin)
            .finish_non_exhaustive()
    }
}

impl LogReader {
    /// Opens the SQLite log at `path` for reading (it must exist).
    pub fn open(path: &Path) -> Result<Self> {
        let mut r = Self::from_store(crate::location::open_store(path)?)?;
        r.path = Some(path.to_owned());
        r.attach_archive()?;
        Ok(r)
    }

    /// Another reader of the same log, for a second thread; `None` for a reader made from a
    /// store rather than a file.
    pub fn reopen(&self) -> Option<Result<LogReader>> {
        self.path.as_deref().map(LogReader::open)
    }

    /// Reads archived records (docs/format.md §13) from wherever the log recorded them, when it
    /// has archived any; with the `archive` feature off, reads of archived records fail
    /// naming them.
    pub fn attach_archive(&self) -> Result<()> {
        #[cfg(feature = "archive")]
        if !self.store.archived()?.is_empty() {
            let reader = aiaudit_archive::ArchiveReader::new()
                .map_err(|e| aiaudit_core::Error::Archived(e.to_string()))?;
            self.store.attach_archive(Some(std::sync::Arc::new(reader)));
        }
        Ok(())
    }

    /// Reads through any store.
    pub fn from_store(store: Box<dyn Store>) -> Result<Self> {
        let info = store.info()?;
        Ok(LogReader {
            store,
            info,
            path: None,
        })
    }

    /// The log's origin and verifier key.
    pub fn info(&self) -> &LogInfo {
        &self.info
    }

    /// The verifier key the log signs with now: the one it was created with, or after a key
    /// rotation the newest (trust it only if you got it from somewhere else too). Proofs
    /// against older checkpoints may need an older key: see [`LogReader::key_history`].
    pub fn verifier(&self) -> Result<NoteVerifier> {
        let current = self.key_history()?.current();
        match current.last() {
            Some(k) => Ok(k.clone()),
            None => Ok(NoteVerifier::parse(&self.info.verifier_key)?),
        }
    }

    /// The log's key history: every key it has signed with and when each was valid
    /// ([`crate::keys`]). `log_key` events that are not valid changes are left out (`verify`
    /// reports them).
    pub fn key_history(&self) -> Result<aiaudit_core::keys::KeyHistory> {
        Ok(crate::keys::history(self.store.as_ref(), &self.info)?.0)
    }

    /// The underlying store.
    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    /// Number of entries.
    pub fn size(&self) -> Result<u64> {
        Ok(self.store.size()?)
    }

    /// Entries matching `q`.
    pub fn query(&self, q: &Query) -> Result<Vec<StoredEntry>> {
        Ok(self.store.query(q)?)
    }

    /// Calls `f` with each entry matching `q`, in order, without holding them all; `f` returns
    /// false to stop.
    pub fn query_each(
        &self,
        q: &Query,
        f: &mut dyn FnMut(StoredEntry) -> Result<bool>,
    ) -> Result<()> {
        let mut failed = None;
        self.store.query_each(q, &mut |e| match f(e) {
            Ok(more) => Ok(more),
            Err(err) => {
                failed = Some(err);
                Ok(false)
            }
        })?;
        failed.map_or(Ok(()), Err)
    }

    /// Calls `f` with raw entries that include every match of `q` and possibly others (see
    /// [`Store::candidates`]); `f` checks the filters itself and returns false to stop.
    pub fn candidates(
        &self,
        q: &Query,
        f: &mut dyn FnMut(StoredEntry) -> Result<bool>,
    ) -> Result<()> {
        let mut failed = None;
        self.store.candidates(q, &mut |e| match f(e) {
            Ok(more) => Ok(more),
            Err(err) => {
                failed = Some(err);
                Ok(false)
            }
        })?;
        failed.map_or(Ok(()), Err)
    }

    /// The entry at `seq`.
    pub fn get(&self, seq: u64) -> Result<StoredEntry> {
        self.store.entry(seq)?.ok_or_else(|| {
            Error::NotFound(format!(
                "no entry with seq {seq} (the log has {})",
                self.size().unwrap_or(0)
            ))
        })
    }

    /// The entry with event id `id`.
    pub fn get_by_id(&self, id: &str) -> Result<StoredEntry> {
        self.store
            .entry_by_id(id)?
            .ok_or_else(|| Error::NotFound(format!("no entry with id {id}")))
    }

    /// The newest signed checkpoint.
    pub fn checkpoint(&self) -> Result<StoredCheckpoint> {
        self.store
            .latest_checkpoint()?
            .ok_or_else(|| Error::NotFound("the log is empty: no checkpoint yet".into()))
    }

    fn checkpoint_at(&self, size: Option<u64>) -> Result<StoredCheckpoint> {
        let latest = self.checkpoint()?;
        match size {
            None => Ok(latest),
            Some(n) if n == latest.size => Ok(latest),
            Some(n) => self.store.checkpoint(n)?.ok_or_else(|| {
                Error::NotFound(format!(
                    "no signed checkpoint at size {n} (checkpoints are signed per committed batch; the latest is {})",
                    latest.size
                ))
            }),
        }
    }

    /// An inclusion proof bundle for `seq` against the checkpoint at `size` (default: latest),
    /// carrying the entry's leaf data so that it stands alone.
    pub fn prove(&self, seq: u64, size: Option<u64>) -> Result<InclusionBundle> {
        let cp = self.checkpoint_at(size)?;
        if seq >= cp.size {
            return Err(Error::NotFound(format!(
                "seq {seq} is not in the tree of size {}",
                cp.size
            )));
        }
        let entry = self.get(seq)?;
        let bundle = InclusionBundle {
            leaf_data: Some(entry.data),
            index: seq,
            proof: inclusion_proof(self.store.as_ref(), seq, cp.size)?,
            checkpoint_note: cp.note,
        };
        bundle.verify(&self.key_history()?.all()).map_err(damaged)?;
        Ok(bundle)
    }

    /// A consistency proof from the tree of `old` entries to the checkpoint at `new`
    /// (default: latest).
    pub fn prove_consistency(&self, old: u64, new: Option<u64>) -> Result<ConsistencyBundle> {
        let cp = self.checkpoint_at(new)?;
        if old == 0 || old > cp.size {
            return Err(Error::NotFound(format!(
                "old size must be between 1 and {}",
                cp.size
            )));
        }
        let bundle = ConsistencyBundle {
            old_size: old,
            old_root: root_at(self.store.as_ref(), old)?,
            proof: consistency_proof(self.store.as_ref(), old, cp.size)?,
            checkpoint_note: cp.note,
        };
        bundle.verify(&self.key_history()?.all()).map_err(damaged)?;
        Ok(bundle)
    }

    /// The bytes of a c2sp.org/tlog-tiles resource — a hash tile or an entry bundle, full or
    /// partial — over the latest signed checkpoint. A path names the same bytes for ever, so
    /// the answer may be cached; a tile the tree does not (yet) hold at that width is
    /// [`Error::NotFound`], as is every tile of an empty log.
    pub fn tile(&self, tile: &Tile) -> Result<Vec<u8>> {
        let size = self.checkpoint()?.size;
        let have = Tile::width_at(tile.level(), tile.index, size);
        if have < tile.width {
            return Err(Error::NotFound(if have == 0 {
                format!("{tile} is beyond the tree of size {size}")
            } else {
                format!(
                    "{tile} is wider than the tree of size {size}, which holds {have} there{}",
                    if have == TILE_WIDTH {
                        " (fetch the full tile)".to_string()
                    } else {
                        format!(
                            " ({})",
                            Tile {
                                width: have,
                                ..*tile
                            }
                        )
                    }
                )
            }));
        }
        match tile.kind {
            TileKind::Hashes { .. } => tile
                .hashes(self.store.as_ref(), size)?
                .ok_or_else(|| Error::NotFound(format!("{tile} is not in the tree"))),
            TileKind::Entries => self.bundle(tile),
        }
    }

    /// The entry bundle `tile`, which the tree holds.
    fn bundle(&self, tile: &Tile) -> Result<Vec<u8>> {
        let mut bundle = BundleWriter::new();
        self.each_in_run(tile.first(), u64::from(tile.width), &mut |e| {
            Ok(bundle.push(e.seq, &e.data)?)
        })?;
        Ok(bundle.finish())
    }

    /// Calls `f` with each entry `first .. first + count`, in seq order and raw (as
    /// [`Store::scan`] gives them). A store that holds another seq where one belongs, or ends
    /// inside the run, is damaged.
    pub(crate) fn each_in_run(
        &self,
        first: u64,
        count: u64,
        f: &mut dyn FnMut(&StoredEntry) -> Result<()>,
    ) -> Result<()> {
        let end = first + count;
        let mut next = first;
        let mut failed = None;
        if count > 0 {
            self.store.scan(first, &mut |e| {
                let step = if e.seq == next {
                    f(&e)
                } else {
                    Err(self.damage(format!(
                        "the store holds seq {} where seq {next} belongs",
                        e.seq
                    )))
                };
                match step {
                    Ok(()) => {
                        next += 1;
                        Ok(next < end)
                    }
                    Err(err) => {
                        failed = Some(err);
                        Ok(false)
                    }
                }
            })?;
        }
        match failed {
            Some(e) => Err(e),
            None if next != end => Err(self.damage(format!(
                "the store ends at seq {next}, inside the signed tree"
            ))),
            None => Ok(()),
        }
    }

    /// The error for a log found damaged while reading it.
    pub(crate) fn damage(&self, why: String) -> Error {
        Error::Inconsistent {
            path: self
                .path
                .clone()
                .unwrap_or_else(|| self.info.origin.clone().into()),
            why,
        }
    }

    /// The quick check a writer runs before it extends the log ([`crate::check_tail`]): the
    /// head against the latest signed checkpoint and the last records against their leaf
    /// hashes, in bounded time. `Ok(Err(why))` when they disagree.
    pub fn check_tail(&self) -> Result<std::result::Result<crate::TailReport, String>> {
        let mut out = None;
        self.store.read_snapshot(&mut || {
            out = Some(crate::check_tail(self.store.as_ref()));
            Ok(())
        })?;
        match out {
            Some(Ok(r)) => Ok(r),
            Some(Err(e)) if self.store.classify(&e) == aiaudit_core::Failure::Damage => {
                Ok(Err(e.to_string()))
            }
            Some(Err(e)) => Err(e.into()),
            None => Ok(Err("the store gave no head".into())),
        }
    }

    /// Verifies the whole log (see [`VerifyReport`]).
    pub fn verify(
        &self,
        opts: &VerifyOptions,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<VerifyReport> {
        let mut report = None;
        self.store.read_snapshot(&mut || {
            report = Some(verify_store(
                self.store.as_ref(),
                &self.info,
                opts,
                progress,
            ));
            Ok(())
        })?;
        report.unwrap_or_else(|| Err(Error::NotFound("verification did not run".into())))
    }
}

fn damaged(e: aiaudit_core::Error) -> Error {
    Error::NotFound(format!(
        "the stored tree does not produce a valid proof ({e}); run `aiaudit verify`"
    ))
}
