//! The error type of `aiaudit`.

use std::path::PathBuf;

/// Everything the logger and the readers report.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Bad input, a bad proof or a store failure, from the core.
    #[error(transparent)]
    Core(#[from] aiaudit_core::Error),
    /// Opening or using the SQLite file failed.
    #[error(transparent)]
    Sqlite(#[from] aiaudit_sqlite::Error),
    /// The PostgreSQL store failed.
    #[cfg(feature = "postgres")]
    #[error(transparent)]
    Postgres(#[from] aiaudit_postgres::Error),
    /// The signing key file is missing, unreadable or does not belong to the log.
    #[error("signing key {path}: {why}")]
    Key {
        /// The key file.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
    /// A side file that is part of an existing log's identity (its redaction secret, its
    /// subject keys) is missing.
    #[error("{path}: {why}")]
    MissingSideFile {
        /// The missing file.
        path: PathBuf,
        /// What it means and how to restore it.
        why: String,
    },
    /// A write failed earlier; the logger accepts nothing more so that no gap goes unnoticed.
    #[error("the audit logger stopped after a failed write and accepts no more events: {0}")]
    Poisoned(String),
    /// Another logger is writing to this log.
    #[error("{0}")]
    Busy(String),
    /// The logger was closed.
    #[error("the audit logger is closed")]
    Closed,
    /// The end of the log, which a writer would extend, is damaged: its head disagrees with
    /// its latest signed checkpoint, or its last records with their leaf hashes, or the store
    /// reports a corrupt page there. Writers refuse it.
    #[error(
        "the log at {path} is damaged ({why}): nothing is written or signed over it; run `aiaudit verify`"
    )]
    Inconsistent {
        /// The log.
        path: PathBuf,
        /// What disagrees.
        why: String,
    },
    /// A configuration file (a redaction policy) that is wrong; the log does not open.
    #[error("{path}: {why}")]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong, with its line.
        why: String,
    },
    /// A log this build cannot open: a PostgreSQL log without the crate's `postgres` feature.
    #[error("{0}")]
    Unsupported(String),
    /// A destination that holds something else than it may be given: an export directory with
    /// a copy of another log, or of a history this log does not have.
    #[error("{path}: {why}")]
    Target {
        /// The destination.
        path: PathBuf,
        /// What it holds, and what to do.
        why: String,
    },
    /// Something asked of the log that it does not hold.
    #[error("{0}")]
    NotFound(String),
    /// One event of a submitted batch is invalid; nothing of the batch was queued.
    #[error("event {index}: {source}")]
    Rejected {
        /// The event's position in the batch (from 0).
        index: usize,
        /// Why it was refused.
        source: Box<Error>,
    },
    /// An I/O failure outside the store.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The failure.
        source: std::io::Error,
    },
}

/// Result with this crate's error.
pub type Result<T, E = Error> = std::result::Result<T, E>;
