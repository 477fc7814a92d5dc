//! The crate's one error type. Every variant names what failed (the sink, the key, the file or
//! the URL) so that a message read in a log or a CLI is enough to act on.

use std::path::PathBuf;

/// Boxed error from a library whose error types are many and generic (async-nats).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What can go wrong configuring, running or reporting on sinks.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A `[[sinks]]` entry is wrong: unknown, missing or mistyped key, bad value, duplicate name.
    #[error("sink `{sink}`: key `{key}`: {problem}")]
    Config {
        /// The sink's name, or `sinks[<index>]` when it has none (yet).
        sink: String,
        /// The offending key.
        key: String,
        /// What is wrong with it.
        problem: String,
    },
    /// The `sinks` value is not an array of tables.
    #[error("sinks: {0}")]
    ConfigShape(String),
    /// A file a sink config names could not be read (`secret_file`).
    #[error("sink `{sink}`: cannot read {}: {source}", path.display())]
    ConfigFile {
        /// The sink.
        sink: String,
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The cursor file failed.
    #[error("sink cursors {}: {source}", path.display())]
    Cursors {
        /// The cursor file.
        path: PathBuf,
        /// Why.
        #[source]
        source: rusqlite::Error,
    },
    /// File I/O failed (JSON-lines sink, cursor file permissions).
    #[error("{what} {}: {source}", path.display())]
    Io {
        /// What was being done.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Reading the audit log failed.
    #[error("reading the audit log: {0}")]
    Log(#[from] aiaudit::Error),
    /// A stored entry's leaf data is not a record.
    #[error("entry {seq}: leaf data is not a record: {source}")]
    Record {
        /// The entry.
        seq: u64,
        /// Why.
        #[source]
        source: aiaudit_core::Error,
    },
    /// The log returned entries that are not contiguous from the cursor; delivering them would
    /// skip some, which a sink never does.
    #[error("sink `{sink}`: expected entry {expected} from the log, got {found}")]
    Gap {
        /// The sink.
        sink: String,
        /// The seq the cursor asked for.
        expected: u64,
        /// The seq the log gave.
        found: u64,
    },
    /// An HTTP request could not be made or got no response.
    #[error("POST {url}: {source}")]
    Http {
        /// The receiver.
        url: String,
        /// Why.
        #[source]
        source: reqwest::Error,
    },
    /// An HTTP receiver answered with a non-2xx status.
    #[error("POST {url}: receiver answered {status}: {body}")]
    HttpStatus {
        /// The receiver.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The start of the response body.
        body: String,
    },
    /// NATS failed (connect, stream lookup, publish, ack, flush).
    #[error("NATS {url}: {what}: {source}")]
    Nats {
        /// The server.
        url: String,
        /// What was being done.
        what: &'static str,
        /// Why.
        #[source]
        source: BoxError,
    },
    /// A sink's thread or async runtime could not be started.
    #[error("sink `{sink}`: cannot start: {source}")]
    Start {
        /// The sink.
        sink: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A sink's thread panicked.
    #[error("sink `{sink}`: delivery thread panicked")]
    Panicked {
        /// The sink.
        sink: String,
    },
    /// An alert could not be recorded.
    #[error("sink `{sink}`: recording an alert: {why}")]
    Emit {
        /// The sink.
        sink: String,
        /// What went wrong.
        why: String,
    },
    /// An alert rule in `[[alerts]]` is wrong.
    #[error(transparent)]
    Rule(#[from] crate::alerts::RuleError),
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
