//! The error type of `aiaudit-postgres`.

/// What can go wrong opening or using a PostgreSQL log.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The URL is not a PostgreSQL connection URL aiaudit accepts.
    #[error("bad PostgreSQL URL {url:?}: {why}")]
    Url {
        /// The URL, with any password removed.
        url: String,
        /// What is wrong with it.
        why: String,
    },
    /// The server cannot be reached (or the connection was lost and could not be made again).
    #[error(
        "cannot connect to PostgreSQL at {url}: {source} (is the server running? start it with `pg_ctlcluster <version> main start`)"
    )]
    Connect {
        /// The URL, with any password removed.
        url: String,
        /// The driver's error.
        source: postgres::Error,
    },
    /// No log in the schema.
    #[error("no audit log in schema {schema:?} of {url} (create one by logging an event)")]
    Missing {
        /// The URL, with any password removed.
        url: String,
        /// The schema.
        schema: String,
    },
    /// The schema holds tables, but not an aiaudit log this code can read.
    #[error("schema {schema:?} of {url}: {what}")]
    NotAnAuditLog {
        /// The URL, with any password removed.
        url: String,
        /// The schema.
        schema: String,
        /// What is there instead.
        what: String,
    },
    /// The schema holds a log in the first layout, which this aiaudit reads only to convert.
    #[error(
        "schema {schema:?} of {url} is an aiaudit v1 log: run `aiaudit migrate --to-v2 --db '{url}'` to convert it (every checkpoint stays valid; the old schema is kept as {schema}_v1)"
    )]
    OldFormat {
        /// The URL, with any password removed.
        url: String,
        /// The schema.
        schema: String,
    },
    /// A request this store cannot carry out, and why.
    #[error("{0}")]
    Invalid(String),
    /// The stored data breaks an invariant of the layout.
    #[error("schema {schema:?}: {what}")]
    Inconsistent {
        /// The schema.
        schema: String,
        /// What is wrong.
        what: String,
    },
    /// Another writer extended the log while a batch was being prepared, and the batch could
    /// not be re-sealed at the new head.
    #[error("schema {schema:?}: the log head moved from {expected} to {found}")]
    HeadMoved {
        /// The schema.
        schema: String,
        /// The size the batch was sealed for.
        expected: u64,
        /// The size found.
        found: u64,
    },
    /// A read that needs archived records failed, or an archive step was refused
    /// ([`aiaudit_core::Error::Archived`]).
    #[error("{0}")]
    Archived(String),
    /// Any other PostgreSQL failure.
    #[error("schema {schema:?}: {source}")]
    Postgres {
        /// The schema.
        schema: String,
        /// The driver's error (with the server's message, such as a refused UPDATE).
        source: postgres::Error,
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

impl Error {
    /// Is this a lost or refused connection, which a retry after reconnecting may cure?
    pub fn is_connection(&self) -> bool {
        match self {
            Error::Connect { .. } => true,
            Error::Postgres { source, .. } => is_connection(source),
            _ => false,
        }
    }
}

/// A driver error that means the connection is gone (the server restarted, the network
/// dropped), rather than a refused statement.
pub(crate) fn is_connection(e: &postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    if let Some(db) = e.as_db_error() {
        // Class 08: connection exception; 57P01..57P03: the server is shutting down or
        // starting up.
        let code = db.code().code();
        return code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03");
    }
    // No server message: an I/O failure on the socket.
    std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>())
}
