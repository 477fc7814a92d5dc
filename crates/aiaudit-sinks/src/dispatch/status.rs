//! `status`: how far each sink has got, for `aiaudit sinks status`.

use std::path::Path;

use crate::config::SinkConfig;
use crate::cursors::Cursors;
use crate::error::Result;

/// One sink's delivery state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkStatus {
    /// The sink's name.
    pub name: String,
    /// Its kind (`jsonl`, `webhook`, `otlp`, `nats`).
    pub kind: &'static str,
    /// Entries delivered or skipped by its filter.
    pub next_seq: u64,
    /// Entries in the log.
    pub log_size: u64,
    /// Entries not yet delivered: `log_size - next_seq` (0 if the cursor is ahead, which means
    /// the cursor file belongs to another log).
    pub lag: u64,
    /// When the cursor last moved or an error was recorded, Unix ns; `None` if never.
    pub updated_ns: Option<i64>,
    /// The last delivery error, if the latest attempt failed.
    pub last_error: Option<String>,
}

/// The state of every configured sink of the log at `db`, with cursors in `cursors`. A missing
/// cursor file means nothing was delivered yet (it is not created).
pub fn status(db: &Path, cursors: &Path, sinks: &[SinkConfig]) -> Result<Vec<SinkStatus>> {
    let size = aiaudit::LogReader::open(db)?.size()?;
    let c = if cursors.exists() {
        Some(Cursors::open(cursors)?)
    } else {
        None
    };
    sinks
        .iter()
        .map(|s| {
            let cur = match &c {
                Some(c) => c.get(&s.name)?,
                None => None,
            };
            let next_seq = cur.as_ref().map_or(0, |c| c.next_seq);
            Ok(SinkStatus {
                name: s.name.clone(),
                kind: s.kind.name(),
                next_seq,
                log_size: size,
                lag: size.saturating_sub(next_seq),
                updated_ns: cur.as_ref().map(|c| c.updated_ns),
                last_error: cur.and_then(|c| c.last_error),
            })
        })
        .collect()
}
