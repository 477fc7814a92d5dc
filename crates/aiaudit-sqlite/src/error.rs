//! The error type of `aiaudit-sqlite`.

use std::path::PathBuf;

/// What can go wrong opening or using a SQLite log.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No log at the path.
    #[error("no audit log at {path} (create one with `aiaudit init`, or by logging an event)")]
    Missing {
        /// The path.
        path: PathBuf,
    },
    /// The file is not SQLite at all.
    #[error("{path} is not an aiaudit database (not a SQLite file)")]
    NotADatabase {
        /// The path.
        path: PathBuf,
    },
    /// The path names something that cannot hold a log: a directory, a device, a file too
    /// short for a SQLite header.
    #[error("{path} {what}")]
    NotALogFile {
        /// The path.
        path: PathBuf,
        /// What it is instead (`is a directory`, …).
        what: String,
    },
    /// A copy that cannot be written holds transactions in its WAL but has no shared-memory
    /// index beside it, which SQLite needs (and cannot make there) to read that WAL.
    #[error(
        "{path}: this read-only copy has transactions in its -wal file that are not in the database file yet, and no -shm file beside it, without which SQLite cannot read them; copy the -shm file too, copy the log where it can be written, or copy it after its writer has stopped (which moves the WAL into the file)"
    )]
    UnreadableWal {
        /// The log.
        path: PathBuf,
    },
    /// The file is SQLite, but some other application's.
    #[error("{path} is a SQLite database but not an aiaudit log")]
    NotAnAuditLog {
        /// The path.
        path: PathBuf,
    },
    /// The file was written by a newer aiaudit.
    #[error("{path} has format version {found}; this aiaudit reads version {supported}")]
    NewerFormat {
        /// The path.
        path: PathBuf,
        /// The version in the file.
        found: i32,
        /// The version this code supports.
        supported: i32,
    },
    /// The file is a log in the first layout (one row per record), which this aiaudit reads
    /// only to migrate it.
    #[error(
        "{path} is an aiaudit v1 log: run `aiaudit migrate --to-v2 --db {path}` to convert it (every checkpoint stays valid; the old file is kept as {path}.v1)"
    )]
    OldFormat {
        /// The path.
        path: PathBuf,
    },
    /// SQLite reports the file as damaged.
    #[error("{path} is corrupt: {source}")]
    Corrupt {
        /// The path.
        path: PathBuf,
        /// SQLite's report.
        source: rusqlite::Error,
    },
    /// The stored data breaks an invariant of the layout.
    #[error("{path}: {what}")]
    Inconsistent {
        /// The path.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// The database file has other names: SQLite would keep a WAL per name.
    #[error(
        "{path} has {links} hard links: SQLite keeps its write-ahead log per file name, so a write through another name would destroy committed events; remove the other links (find them with `find / -samefile {path}`), or copy the file to audit it"
    )]
    HardLinked {
        /// The path.
        path: PathBuf,
        /// How many names the file has.
        links: u64,
    },
    /// A request this store refuses (a duplicate token name, an unknown token).
    #[error("{0}")]
    Invalid(String),
    /// A read that needs archived records failed, or an archive step was refused
    /// ([`aiaudit_core::Error::Archived`]).
    #[error("{0}")]
    Archived(String),
    /// Any other SQLite failure.
    #[error("{path}: {source}")]
    Sqlite {
        /// The path.
        path: PathBuf,
        /// SQLite's error.
        source: rusqlite::Error,
    },
}

impl From<Error> for aiaudit_core::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::Archived(m) => aiaudit_core::Error::Archived(m),
            e => aiaudit_core::Error::store(e),
        }
    }
}
