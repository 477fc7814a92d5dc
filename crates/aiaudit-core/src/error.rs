//! The error type of `aiaudit-core`.

/// Why a Merkle proof was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    /// The leaf index is not inside the tree.
    #[error("leaf index {index} is outside a tree of size {size}")]
    IndexOutOfRange {
        /// The leaf index asked for.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// The second tree is smaller than the first.
    #[error("tree size {size2} is smaller than {size1}: a log never shrinks")]
    Shrinks {
        /// The older tree size.
        size1: u64,
        /// The newer tree size.
        size2: u64,
    },
    /// A consistency proof from the empty tree proves nothing.
    #[error("a consistency proof from the empty tree proves nothing")]
    FromEmptyTree,
    /// The proof has the wrong number of hashes for these sizes.
    #[error("the proof has the wrong number of hashes")]
    WrongLength,
    /// A hash has the wrong number of bytes.
    #[error("the {what} is {len} bytes long, not 32")]
    BadHashLength {
        /// Which hash.
        what: &'static str,
        /// Its length in bytes.
        len: usize,
    },
    /// The proof leads to a different root.
    #[error("the proof does not lead to the expected root")]
    RootMismatch,
}

/// Everything that can go wrong in the core: bad input, bad proofs, bad notes and keys.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A Merkle proof did not verify.
    #[error("proof rejected: {0}")]
    Proof(#[from] ProofError),
    /// A value cannot be encoded as RFC 8785 canonical JSON.
    #[error("details cannot be sealed: {0}")]
    Canonical(String),
    /// A JSON document did not parse.
    #[error("malformed JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// An event failed validation.
    #[error("invalid event: {0}")]
    InvalidEvent(String),
    /// Encryption to a subject key failed.
    #[error("encryption: {0}")]
    Crypto(String),
    /// A redaction policy that does not parse, names an unknown detector or action, or whose
    /// pattern does not compile (the message names the line).
    #[error("redaction policy: {0}")]
    Policy(String),
    /// A status that neither the schema nor the logger registered.
    #[error("unknown status {status:?}: expected one of {known}")]
    UnknownStatus {
        /// The status given.
        status: String,
        /// The statuses this logger accepts, comma separated.
        known: String,
    },
    /// A signed note, checkpoint or proof bundle is malformed.
    #[error("malformed {what}: {why}")]
    Malformed {
        /// What was being parsed.
        what: &'static str,
        /// What is wrong with it.
        why: String,
    },
    /// A key string or key file is malformed or does not match.
    #[error("bad key: {0}")]
    Key(String),
    /// A signature did not verify.
    #[error("signature check failed: {0}")]
    Signature(String),
    /// A time could not be parsed or formatted.
    #[error("bad time {input:?}: {why}")]
    Time {
        /// The text given.
        input: String,
        /// What is wrong with it.
        why: String,
    },
    /// A store does not hold the tree nodes a computation needs.
    #[error("the store is missing tree nodes at level {level} from index {index}")]
    MissingNodes {
        /// Level of the first missing node.
        level: u32,
        /// Index of the first missing node.
        index: u64,
    },
    /// A tile path (c2sp.org/tlog-tiles) that is not spelled as the specification spells it.
    #[error("bad tile path {path:?}: {why}")]
    TilePath {
        /// The path given (its first 200 characters).
        path: String,
        /// What is wrong with it.
        why: String,
    },
    /// Leaf data too long for an entry bundle, whose length prefixes are 16 bits.
    #[error(
        "the record at seq {seq} is {len} bytes: an entry bundle (c2sp.org/tlog-tiles) carries records of at most 65535 bytes"
    )]
    EntryTooLong {
        /// The entry.
        seq: u64,
        /// Its leaf data's length.
        len: usize,
    },
    /// Stored bundles or tiles that break the layout (docs/format.md §5): a bundle that does
    /// not decode, a tile that does not continue the one before it. Damage, never a guess.
    #[error("the stored layout is damaged: {0}")]
    Layout(String),
    /// A read needs records that were moved to the archive (docs/format.md §13) and the
    /// archive cannot be read: the message names the seqs, the file and why.
    #[error("{0}")]
    Archived(String),
    /// A storage backend failed.
    #[error("store: {0}")]
    Store(#[source] Box<dyn std::error::Error + Send + Sync + 'static>),
}

impl Error {
    /// Wraps a backend error.
    pub fn store(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        Error::Store(Box::new(e))
    }

    pub(crate) fn malformed(what: &'static str, why: impl Into<String>) -> Self {
        Error::Malformed {
            what,
            why: why.into(),
        }
    }
}

/// Result with the core error.
pub type Result<T, E = Error> = std::result::Result<T, E>;
