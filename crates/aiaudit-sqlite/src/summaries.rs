//! The per-bundle summaries (`summaries` table): one row per full bundle, written with it.

use aiaudit_core::summary::SPAN;

use crate::{Error, SqliteStore};

/// Entries covered by summaries: every full bundle has one.
pub(crate) fn summarized(store: &SqliteStore) -> Result<u64, Error> {
    Ok(store.bundles()? * SPAN)
}

/// The summaries covering `[from, to)`, in order; a missing one is damage.
pub(crate) fn each(
    store: &SqliteStore,
    from: u64,
    to: u64,
    f: &mut dyn FnMut(u64, &[u8]) -> aiaudit_core::Result<bool>,
) -> aiaudit_core::Result<()> {
    let (first, end) = (from / SPAN, to.div_ceil(SPAN));
    let mut stmt = store
        .conn
        .prepare_cached("SELECT idx, data FROM summaries WHERE idx >= ?1 AND idx < ?2 ORDER BY idx")
        .map_err(|e| store.err(e))?;
    let mut rows = stmt
        .query([first as i64, end as i64])
        .map_err(|e| store.err(e))?;
    let mut next = first;
    let missing = |n: u64| {
        store.inconsistent(format!(
            "the summary of bundle {n} (seqs {}…{}) is missing",
            n * SPAN,
            n * SPAN + SPAN - 1
        ))
    };
    while let Some(row) = rows.next().map_err(|e| store.err(e))? {
        let idx: i64 = row.get(0).map_err(|e| store.err(e))?;
        if idx as u64 != next {
            return Err(missing(next).into());
        }
        let data = row.get_ref(1).map_err(|e| store.err(e))?;
        let bytes = data.as_blob().map_err(|_| {
            store.inconsistent(format!("the summary of bundle {idx} is not a blob"))
        })?;
        next += 1;
        if !f(idx as u64 * SPAN, bytes)? {
            return Ok(());
        }
    }
    if next < end {
        return Err(missing(next).into());
    }
    Ok(())
}
