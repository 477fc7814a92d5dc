//! Where a writer resumes: the stored log's head, read in one consistent view and checked
//! before anything is sealed over it.

use aiaudit_core::{CompactRange, Store};
use std::path::Path;

use crate::error::{Error, Result};

/// The size and tree frontier a writer over `store` goes on from, after the check at open
/// ([`crate::check_tail`]): on a shared store another writer may be appending, so the head is
/// read in one snapshot.
pub(crate) fn resume(path: &Path, store: &dyn Store) -> Result<(u64, CompactRange)> {
    let mut head = None;
    store
        .read_snapshot(&mut || {
            let size = store.size()?;
            let range = CompactRange::from_source(size, store)?;
            let checked = check_head(path, store);
            head = Some((size, range, checked));
            Ok(())
        })
        .map_err(|e| match store.classify(&e) {
            aiaudit_core::Failure::Damage => damaged(path, &e),
            _ => e.into(),
        })?;
    let Some((size, range, checked)) = head else {
        return Err(Error::NotFound("the store gave no head".into()));
    };
    checked?;
    Ok((size, range))
}

/// The refusal of a log the store reports damaged.
pub(crate) fn damaged(path: &Path, e: &aiaudit_core::Error) -> Error {
    Error::Inconsistent {
        path: path.to_owned(),
        why: e.to_string(),
    }
}

/// The log must end exactly where its latest checkpoint says, with its last records intact, or
/// the writer would sign a checkpoint over a store it cannot read back ([`crate::check_tail`]).
fn check_head(path: &Path, store: &dyn Store) -> Result<()> {
    let checked = match crate::check_tail(store) {
        Ok(c) => c,
        // The store itself reports damage on the pages the tail lives on.
        Err(e) if store.classify(&e) == aiaudit_core::Failure::Damage => Err(e.to_string()),
        Err(e) => return Err(e.into()),
    };
    match checked {
        Ok(_) => Ok(()),
        Err(why) => Err(Error::Inconsistent {
            path: path.to_owned(),
            why,
        }),
    }
}
