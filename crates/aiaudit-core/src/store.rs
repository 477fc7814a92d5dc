//! The `Store` trait: what a backend (SQLite, PostgreSQL) must provide. Backends hold storage
//! only; sequencing, hashing, sealing and signing happen above them.

use std::borrow::Cow;

use crate::error::Result;
use crate::hash::Hash;
pub use crate::head::{HeadActor, HeadDetails, HeadModel, HeadOperation, RecordHead, UsageOutput};
use crate::merkle::{CompletedNode, NodeSource};

/// The members of an event's `details` that stores index, named here once: the writer derives
/// them from the event it seals ([`StoredEntry::sealed`]), readers from the record
/// ([`RecordHead`], whose field names must stay these), producers set them under these names.
pub mod indexed {
    /// `details.input_hash`: the SHA-256 (hex) of a prediction's input, in RFC 8785 JSON.
    pub const INPUT_HASH: &str = "input_hash";
    /// `details.ingest_id`: the id of the queue message (or idempotency key) an event came from.
    pub const INGEST_ID: &str = "ingest_id";
}

/// One sealed entry: its leaf data, plus the fields queries filter on (derived from the leaf
/// data, never stored twice).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEntry {
    /// Leaf index.
    pub seq: u64,
    /// Event id (UUIDv7 text).
    pub id: String,
    /// Event time, Unix nanoseconds.
    pub time_ns: i64,
    /// Event type.
    pub kind: String,
    /// Status.
    pub status: String,
    /// Model name, if any.
    pub model: Option<String>,
    /// Acting user, if any.
    pub user: Option<String>,
    /// Operation (run) id, if any.
    pub op_id: Option<String>,
    /// Operation name, if any.
    pub op_name: Option<String>,
    /// Data subject, if any.
    pub subject: Option<String>,
    /// `details.input_hash` (a prediction's input, hashed), if any.
    pub input_hash: Option<String>,
    /// `details.ingest_id`: the id of the queue message an event came from (NATS ingest), by
    /// which a redelivered message is recognised; if any.
    pub ingest_id: Option<String>,
    /// The artifacts it reads and writes ([`crate::lineage::keys`]: `uses:KEY`, `makes:KEY`).
    pub artifacts: Vec<String>,
    /// `SHA-256(0x00 ‖ data)` as computed when sealed.
    pub leaf_hash: Hash,
    /// The leaf data: the record's RFC 8785 JSON.
    pub data: Vec<u8>,
}

impl StoredEntry {
    /// An entry from what a store keeps — seq, sealed time, leaf hash and leaf data — with the
    /// query fields derived from the leaf data. Leaf data that is not a record leaves them empty
    /// (`verify` reports such an entry).
    pub fn from_stored(seq: u64, time_ns: i64, leaf_hash: Hash, data: Vec<u8>) -> Self {
        let mut e = Self::raw(seq, time_ns, leaf_hash, Vec::new());
        if let Ok(h) = RecordHead::parse(&data) {
            e.fill(h);
        }
        e.data = data;
        e
    }

    /// The entry of `event` as sealed at `seq` with `id` and `time_ns` into `data`: the query
    /// fields are taken from the event (after redaction, so they are what the record holds),
    /// and the leaf hash computed.
    pub fn sealed(event: crate::Event, seq: u64, id: String, time_ns: i64, data: Vec<u8>) -> Self {
        let detail = |key: &str| match event.details.get(key) {
            Some(serde_json::Value::String(v)) => Some(v.clone()),
            _ => None,
        };
        let (input_hash, ingest_id) = (detail(indexed::INPUT_HASH), detail(indexed::INGEST_ID));
        let artifacts = crate::lineage::index_keys(
            &event.kind,
            event
                .model
                .as_ref()
                .map(|m| (m.name.as_str(), m.version.as_deref())),
            &|k| event.details.get(k).cloned(),
        );
        let (op_id, op_name) = event.operation.map_or((None, None), |o| (o.id, o.name));
        StoredEntry {
            seq,
            id,
            time_ns,
            kind: event.kind.into_owned(),
            status: event.status.as_str().to_owned(),
            model: event.model.map(|m| m.name),
            user: event.actor.and_then(|a| a.user),
            op_id,
            op_name,
            subject: event.subject,
            input_hash,
            ingest_id,
            artifacts,
            leaf_hash: crate::leaf_hash(&data),
            data,
        }
    }

    /// An entry with only what a store keeps; the query fields are left empty.
    pub fn raw(seq: u64, time_ns: i64, leaf_hash: Hash, data: Vec<u8>) -> Self {
        StoredEntry {
            seq,
            id: String::new(),
            time_ns,
            kind: String::new(),
            status: String::new(),
            model: None,
            user: None,
            op_id: None,
            op_name: None,
            subject: None,
            input_hash: None,
            ingest_id: None,
            artifacts: Vec::new(),
            leaf_hash,
            data,
        }
    }

    /// Does it read artifact `key` ([`crate::lineage::Artifact::key`])?
    pub fn uses(&self, key: &str) -> bool {
        self.artifacts
            .iter()
            .any(|a| a.strip_prefix("uses:") == Some(key))
    }

    /// Does it make artifact `key`?
    pub fn makes(&self, key: &str) -> bool {
        self.artifacts
            .iter()
            .any(|a| a.strip_prefix("makes:") == Some(key))
    }

    /// Sets the query fields from the record's head.
    pub fn fill(&mut self, h: RecordHead<'_>) {
        self.artifacts = h.artifact_keys();
        self.id = h.id.into_owned();
        self.kind = h.kind.into_owned();
        self.status = h.status.into_owned();
        self.model = h.model.map(|m| m.name.into_owned());
        self.user = h.actor.and_then(|a| a.user).map(Cow::into_owned);
        if let Some(op) = h.operation {
            self.op_id = op.id.map(Cow::into_owned);
            self.op_name = op.name.map(Cow::into_owned);
        }
        self.subject = h.subject.map(Cow::into_owned);
        if let Some(d) = h.details {
            self.input_hash = d.input_hash.map(Cow::into_owned);
            self.ingest_id = d.ingest_id.map(Cow::into_owned);
        }
    }
}

/// A signed checkpoint as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCheckpoint {
    /// Tree size.
    pub size: u64,
    /// Root at that size.
    pub root: Hash,
    /// The signed note.
    pub note: String,
    /// When it was signed, Unix nanoseconds.
    pub time_ns: i64,
}

/// One writer batch, appended atomically: entries, the perfect subtrees they complete at stored
/// levels, and the checkpoint signed over the new size.
#[derive(Debug, Clone, Copy)]
pub struct AppendBatch<'a> {
    /// Entries with consecutive seqs starting at the store's size.
    pub entries: &'a [StoredEntry],
    /// Completed perfect subtrees at levels [`crate::NODE_STRIDE`] divides (level 0 excluded: leaf
    /// hashes live in the entries).
    pub nodes: &'a [CompletedNode],
    /// The checkpoint over the size after this batch.
    pub checkpoint: &'a StoredCheckpoint,
}

/// A batch that can be sealed again at another place in the log: what a writer hands a store
/// that other writers share ([`Store::shared`]), so that the store can append it wherever the
/// log's head is once it holds the head's lock.
pub trait Rebase {
    /// The batch as it stands.
    fn batch(&self) -> AppendBatch<'_>;
    /// Seals the batch again to start at `size`, reading the tree's frontier from `tree`: new
    /// seqs in every record, leaf hashes, completed nodes, and a checkpoint signed over the new
    /// size. [`Rebase::batch`] then returns the moved batch.
    fn rebase(&mut self, size: u64, tree: &dyn NodeSource) -> Result<()>;
}

/// Filters for [`Store::query`]; every filter given must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    /// Event type.
    pub kind: Option<String>,
    /// Status.
    pub status: Option<String>,
    /// Model name.
    pub model: Option<String>,
    /// Acting user.
    pub user: Option<String>,
    /// Operation: matches its id or its name.
    pub operation: Option<String>,
    /// Data subject.
    pub subject: Option<String>,
    /// `details.input_hash`: the predictions made for this exact input.
    pub input_hash: Option<String>,
    /// `details.ingest_id`: the events ingested from this queue message.
    pub ingest_id: Option<String>,
    /// Only entries reading this artifact (its [`crate::lineage::Artifact::key`]).
    pub uses: Option<String>,
    /// Only entries making this artifact (its [`crate::lineage::Artifact::key`]).
    pub makes: Option<String>,
    /// Earliest time, inclusive, Unix ns.
    pub since_ns: Option<i64>,
    /// Latest time, inclusive, Unix ns.
    pub until_ns: Option<i64>,
    /// Only entries after this seq (a cursor; with `descending`, before it).
    pub after_seq: Option<u64>,
    /// Only entries before this seq: with `after_seq`, the slice of the log one of several
    /// parallel readers takes.
    pub before_seq: Option<u64>,
    /// Newest first.
    pub descending: bool,
    /// At most this many entries (0 = no limit).
    pub limit: usize,
}

impl Query {
    /// Does `e` (with its query fields derived) pass every filter that names a field? Time,
    /// seq and limit are the store's to apply. Stores check every entry an index names with
    /// this, so a damaged index can hide entries but never return a wrong one.
    pub fn matches(&self, e: &StoredEntry) -> bool {
        let eq = |want: &Option<String>, have: Option<&str>| {
            want.as_deref().is_none_or(|w| Some(w) == have)
        };
        eq(&self.kind, Some(&e.kind))
            && eq(&self.status, Some(&e.status))
            && eq(&self.model, e.model.as_deref())
            && eq(&self.user, e.user.as_deref())
            && eq(&self.subject, e.subject.as_deref())
            && eq(&self.input_hash, e.input_hash.as_deref())
            && eq(&self.ingest_id, e.ingest_id.as_deref())
            && self.uses.as_deref().is_none_or(|a| e.uses(a))
            && self.makes.as_deref().is_none_or(|a| e.makes(a))
            && self
                .operation
                .as_deref()
                .is_none_or(|o| e.op_id.as_deref() == Some(o) || e.op_name.as_deref() == Some(o))
    }
}

/// Log metadata fixed when the log is created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogInfo {
    /// The origin line of every checkpoint (also the key name).
    pub origin: String,
    /// The verifier key that signs the checkpoints.
    pub verifier_key: String,
    /// Creation time, Unix ns.
    pub created_ns: i64,
}

/// What a failed store operation means to the writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Failure {
    /// It can pass — a full disk, a lost connection, a read-only remount, a busy lock: the
    /// writer keeps the batch, retries with backoff, and resumes by itself.
    Transient,
    /// The store reports damage (a corrupt page, a file that is not a database, data that
    /// breaks the layout): the writer stops for good, and nothing is signed over it.
    Damage,
    /// Anything else: the writer stops.
    Fatal,
}

/// A storage backend. Implementations must make [`Store::append`] atomic and durable before it
/// returns, and must never update or delete what was appended.
pub trait Store: NodeSource + Send {
    /// The log's metadata.
    fn info(&self) -> Result<LogInfo>;
    /// Number of entries.
    fn size(&self) -> Result<u64>;
    /// Appends a batch atomically and durably.
    fn append(&mut self, batch: AppendBatch<'_>) -> Result<()>;
    /// Whether other writers (processes, hosts) may append to this store too. A writer over a
    /// shared store appends through [`Store::append_rebased`] and knows its seqs only once a
    /// batch is committed.
    fn shared(&self) -> bool {
        false
    }
    /// Appends `batch` at the log's head as it is when the append runs: a shared store locks
    /// its head and, if the batch was sealed for another size, has it re-sealed there
    /// ([`Rebase::rebase`]) in the same transaction. A store with one writer appends the batch
    /// as it is.
    fn append_rebased(&mut self, batch: &mut dyn Rebase) -> Result<()> {
        self.append(batch.batch())
    }
    /// The entry at `seq`.
    fn entry(&self, seq: u64) -> Result<Option<StoredEntry>>;
    /// The entry with event id `id`.
    fn entry_by_id(&self, id: &str) -> Result<Option<StoredEntry>>;
    /// Entries matching `query`, in seq order (or reverse).
    fn query(&self, query: &Query) -> Result<Vec<StoredEntry>>;
    /// Calls `f` with each entry matching `query`, in the order [`Store::query`] gives them,
    /// until `f` returns false: a report over millions of entries need not hold them all.
    fn query_each(
        &self,
        query: &Query,
        f: &mut dyn FnMut(StoredEntry) -> Result<bool>,
    ) -> Result<()> {
        for e in self.query(query)? {
            if !f(e)? {
                break;
            }
        }
        Ok(())
    }
    /// Calls `f` with *raw* entries (only seq, time, leaf hash and data set, as [`Store::scan`]
    /// gives them) that include every entry matching `query`, in order, and possibly others:
    /// the caller, which parses each record anyway, checks the field filters itself. A report
    /// over millions of entries saves a parse per entry. Time and seq bounds are applied
    /// exactly; `limit` counts candidates, not matches.
    fn candidates(
        &self,
        query: &Query,
        f: &mut dyn FnMut(StoredEntry) -> Result<bool>,
    ) -> Result<()> {
        self.query_each(query, f)
    }
    /// Calls `f` with every entry with seq ≥ `from` in seq order, including rows a tamperer
    /// inserted out of place; `f` returns false to stop. For speed the entries come *raw*: only
    /// seq, time, leaf hash and data are set (derive the rest with [`StoredEntry::from_stored`]).
    fn scan(&self, from: u64, f: &mut dyn FnMut(StoredEntry) -> Result<bool>) -> Result<()>;
    /// The checkpoint signed over exactly `size` entries, if one was.
    fn checkpoint(&self, size: u64) -> Result<Option<StoredCheckpoint>>;
    /// The newest checkpoint.
    fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>>;
    /// Every checkpoint, by size.
    fn checkpoints(&self, f: &mut dyn FnMut(StoredCheckpoint) -> Result<bool>) -> Result<()>;

    /// Runs `f` with every read it makes seeing one state of the store (a read transaction), so
    /// that a reader racing the writer (a verification, say) sees a consistent log. Stores whose
    /// reads are consistent anyway just run `f`.
    fn read_snapshot(&self, f: &mut dyn FnMut() -> Result<()>) -> Result<()> {
        f()
    }

    /// Checks the store's query index for the batch that starts at `batch` and holds `entries`
    /// (as committed together): returns what disagrees, if anything. An index that lost an
    /// entry would hide it from queries, so `verify` asks. Stores without a derived index have
    /// nothing to check.
    fn check_index(&self, batch: u64, entries: &[StoredEntry]) -> Result<Option<String>> {
        let _ = (batch, entries);
        Ok(None)
    }

    /// The entries `[0, n)` that per-bundle summaries ([`crate::summary`]) cover, `n` a
    /// multiple of [`crate::summary::SPAN`]. A store that keeps no summaries says 0, and
    /// reports read its records instead.
    fn summarized(&self) -> Result<u64> {
        Ok(0)
    }

    /// Calls `f` with the first seq and the stored bytes of each summary covering `[from, to)`
    /// (both multiples of [`crate::summary::SPAN`], `to` at most [`Store::summarized`]), in
    /// order, until `f` returns false. A summary missing there is damage (an error the store
    /// classifies as [`Failure::Damage`]).
    fn summaries(
        &self,
        from: u64,
        to: u64,
        f: &mut dyn FnMut(u64, &[u8]) -> Result<bool>,
    ) -> Result<()> {
        let _ = (from, to, f);
        Ok(())
    }

    /// The files its records were archived to (docs/format.md §13), in seq order. They always
    /// cover a prefix of the log, `[0, end_seq of the last)`. Stores that never archived say none.
    fn archived(&self) -> Result<Vec<crate::archive::ArchivedFile>> {
        Ok(Vec::new())
    }

    /// Where reads of archived records go from now on; `None` detaches, after which a read that
    /// needs an archived record fails naming its seqs and file ([`crate::Error::Archived`]).
    fn attach_archive(&self, source: Option<std::sync::Arc<dyn crate::archive::ArchiveSource>>) {
        let _ = source;
    }

    /// The archive attached by [`Store::attach_archive`], if any.
    fn archive_source(&self) -> Option<std::sync::Arc<dyn crate::archive::ArchiveSource>> {
        None
    }

    /// Records `files` and drops from the store the records they hold, in one transaction:
    /// the sanctioned removal. The files must continue the archived prefix with whole bundles
    /// below the latest checkpoint; their leaf and tree hashes stay.
    fn drop_archived(&mut self, files: &[crate::archive::ArchivedFile]) -> Result<()> {
        let _ = files;
        Err(crate::Error::Archived(
            "this store cannot archive its records".into(),
        ))
    }

    /// Whether this connection may drop archived records ([`Store::drop_archived`]), asked
    /// before any file is written: `Err` says why not (PostgreSQL: only the schema's owner
    /// detaches partitions).
    fn may_archive(&self) -> Result<()> {
        Ok(())
    }

    /// Records that the archived files starting at `first_seqs` were deleted under the
    /// retention policy by the `archive` event at `event_seq`, in one transaction. They must
    /// continue the deleted prefix of the archived files ([`crate::archive::check_deletion`]).
    fn record_deletions(&mut self, first_seqs: &[u64], event_seq: u64) -> Result<()> {
        let _ = (first_seqs, event_seq);
        Err(crate::Error::Archived(
            "this store cannot delete archived files".into(),
        ))
    }

    /// Bundles the archived prefix grows by: a store that gives space back a block at a time
    /// (PostgreSQL: a partition of bundles) archives whole blocks only. The archived prefix
    /// always ends at a multiple of it.
    fn archive_unit(&self) -> u64 {
        1
    }

    /// Gives the space of dropped records back (SQLite: `VACUUM`), outside any transaction.
    /// Stores that reclaim space by themselves do nothing.
    fn reclaim(&mut self) -> Result<()> {
        Ok(())
    }

    /// What `e`, returned by one of this store's operations, means: whether a retry may
    /// succeed, or the store is damaged. Stores that cannot tell say [`Failure::Fatal`].
    fn classify(&self, e: &crate::Error) -> Failure {
        let _ = e;
        Failure::Fatal
    }

    /// Makes the store usable again after a [`Failure::Transient`] failure (a new connection,
    /// say) before the writer retries. Stores that need nothing do nothing.
    fn recover(&mut self) -> Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::{Event, seal};

    /// The writer's entry and the reader's head index the same members, under the names
    /// [`indexed`] gives.
    #[test]
    fn writer_and_reader_derive_the_same_query_fields() {
        let event = Event::new("model_inference", "p")
            .model("risk", "2")
            .user("alice")
            .detail(indexed::INPUT_HASH, "ab12")
            .detail(indexed::INGEST_ID, "msg-7")
            .detail("other", "x");
        let mut data = Vec::new();
        let id = "0190a5c4-0000-7000-8000-000000000000";
        seal(&event, 3, id, 1_795_000_000_000_000_000, &mut data).unwrap();
        let written = StoredEntry::sealed(event, 3, id.into(), 1_795_000_000_000_000_000, data);
        let read =
            StoredEntry::from_stored(3, written.time_ns, written.leaf_hash, written.data.clone());
        assert_eq!(written, read);
        assert_eq!(read.input_hash.as_deref(), Some("ab12"));
        assert_eq!(read.ingest_id.as_deref(), Some("msg-7"));
        assert_eq!(read.model.as_deref(), Some("risk"));
        assert_eq!(read.user.as_deref(), Some("alice"));
    }
}
