//! The witness's one error type.

use std::path::PathBuf;

/// What went wrong opening or running a witness. Refusals of a request are
/// [`Refusal`](crate::Refusal)s, not errors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The logs file is wrong.
    #[error("{path}: {why}")]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong, with its line.
        why: String,
    },
    /// A key that does not parse or does not fit.
    #[error(transparent)]
    Core(#[from] aiaudit_core::Error),
    /// The state database failed; the witness stops answering rather than risk cosigning
    /// without having kept what it cosigned.
    #[error("the witness state {path}: {source}")]
    State {
        /// The database.
        path: PathBuf,
        /// Why.
        #[source]
        source: rusqlite::Error,
    },
    /// The state holds something this witness cannot have written.
    #[error("the witness state {path} is damaged: {why}")]
    Damaged {
        /// The database.
        path: PathBuf,
        /// What.
        why: String,
    },
    /// A file or socket.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// Why it failed.
        #[source]
        source: std::io::Error,
    },
}

/// The witness's result.
pub type Result<T> = std::result::Result<T, Error>;
