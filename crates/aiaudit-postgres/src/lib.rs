//! # aiaudit-postgres
//!
//! The shared store of aiaudit: one log in a PostgreSQL schema that many writers on many hosts
//! append to. Each batch locks the log's `head` row in its transaction, so seqs and the Merkle
//! tree stay consistent with no coordinator: a writer that finds the head moved re-seals its
//! batch at the new head (through [`aiaudit_core::Rebase`]) before inserting it. The tables are
//! those of the SQLite layout (`aiaudit_core::layout`: records in compressed bundles of 256, the
//! tree in tiles, a summary per bundle), so both hold the same bytes. The log is append-only
//! twice over — triggers refuse UPDATE, DELETE and TRUNCATE for everyone, and the
//! `<schema>_writer` role holds only SELECT and INSERT (plus the tail's and tile tails'
//! turnover and moving the head forward). A lost connection (a server restart) is retried, and
//! a batch whose commit was answered by nobody is recognised by its checkpoint rather than
//! written twice. A schema in the first layout is converted by [`V1Schema`].
//!
//! ```no_run
//! use aiaudit_core::{LogInfo, Store};
//! use aiaudit_postgres::PostgresStore;
//!
//! let url = "postgres://postgres@127.0.0.1:5432/test?schema=example";
//! let info = LogInfo { origin: "example.org/log".into(), verifier_key: "k".into(), created_ns: 0 };
//! let store = if PostgresStore::exists(url)? {
//!     PostgresStore::open(url)?
//! } else {
//!     PostgresStore::create(url, &info)?
//! };
//! assert_eq!(store.info()?.origin, "example.org/log");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod archive;
mod bundles;
mod conn;
mod error;
mod read;
mod schema;
mod tree;
mod url;
mod v1;
mod write;

pub use error::Error;
pub use schema::{FORMAT_V1, FORMAT_VERSION, PARTITION_BUNDLES};
pub use url::{DEFAULT_SCHEMA, PgUrl, is_postgres_url};
pub use v1::V1Schema;

use aiaudit_core::layout::BundleCache;
use aiaudit_core::{Hash, LogInfo, NodeSource, Rebase, Store, StoredCheckpoint, StoredEntry};
use postgres::{Client, NoTls};
use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

/// How long a lost connection is retried before an append or read fails.
pub const DEFAULT_RETRY: Duration = Duration::from_secs(60);

/// A PostgreSQL-backed audit log store.
pub struct PostgresStore {
    client: Mutex<conn::Conn>,
    url: PgUrl,
    retry_for: Duration,
    /// Partitions of `bundles` made (or found) by this store, so each is asked for once.
    partitions: HashSet<u64>,
    /// Decoded bundles.
    cache: BundleCache,
    /// Bundles per partition of `bundles` (`meta.partition_bundles`).
    partition_bundles: u64,
    /// Whether the archive's tables exist, so reads select from `all_bundles`.
    archive_tables: std::sync::atomic::AtomicBool,
    /// Where archived records are read from, if anywhere.
    archive: aiaudit_core::archive::AttachedArchive,
    /// A transaction (an append, a read snapshot) is open on the connection: a lost
    /// connection then fails the read instead of reconnecting, since a new connection would
    /// carry on outside the transaction (statements committing one by one, or reads outside the
    /// snapshot).
    in_txn: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("url", &self.url.display)
            .field("schema", &self.url.schema)
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Is there a log in the URL's schema?
    pub fn exists(url: &str) -> Result<bool, Error> {
        let url = PgUrl::parse(url)?;
        let mut client = connect(&url)?;
        has_log(&mut client, &url)
    }

    /// Creates a new log in the URL's schema (the schema may exist; its log tables may not).
    /// Creates the writer and reader roles too when the user may.
    pub fn create(url: &str, info: &LogInfo) -> Result<Self, Error> {
        let url = PgUrl::parse(url)?;
        let mut client = connect(&url)?;
        write::create(&mut client, &url, info, true)?;
        Self::finish_open(client, url)
    }

    /// Opens the log in the URL's schema, checking that it is an aiaudit log this code reads.
    pub fn open(url: &str) -> Result<Self, Error> {
        Self::open_as(url, false)
    }

    /// [`PostgresStore::open`], accepting (`legacy`) only a v1 log, for [`V1Schema`].
    fn open_as(url: &str, legacy: bool) -> Result<Self, Error> {
        let url = PgUrl::parse(url)?;
        let mut client = connect(&url)?;
        if !has_log(&mut client, &url)? {
            return Err(Error::Missing {
                url: url.display.clone(),
                schema: url.schema.clone(),
            });
        }
        let s = &url.schema;
        let version: Option<String> = client
            .query_opt(
                &format!("SELECT value FROM {s}.meta WHERE key = 'format_version'"),
                &[],
            )
            .map_err(|e| pg(&url, e))?
            .map(|r| r.get(0));
        let wanted = if legacy { FORMAT_V1 } else { FORMAT_VERSION };
        match version.as_deref().map(str::parse::<i32>) {
            Some(Ok(v)) if v == wanted => {}
            Some(Ok(FORMAT_V1)) => {
                return Err(Error::OldFormat {
                    url: url.display.clone(),
                    schema: s.clone(),
                });
            }
            Some(Ok(FORMAT_VERSION)) => {
                return Err(Error::Invalid(format!(
                    "schema {s:?} of {} is in format v{FORMAT_VERSION} already: there is nothing to migrate",
                    url.display
                )));
            }
            Some(Ok(v)) => {
                return Err(Error::NotAnAuditLog {
                    url: url.display.clone(),
                    schema: s.clone(),
                    what: format!(
                        "format version {v}; this aiaudit reads version {FORMAT_VERSION}"
                    ),
                });
            }
            _ => {
                return Err(Error::NotAnAuditLog {
                    url: url.display.clone(),
                    schema: s.clone(),
                    what: "its meta table has no aiaudit format version".into(),
                });
            }
        }
        if legacy {
            return Ok(Self::with_client_of(client, url));
        }
        Self::finish_open(client, url)
    }

    fn with_client_of(client: Client, url: PgUrl) -> Self {
        let retry_for = url.retry;
        PostgresStore {
            client: Mutex::new(conn::Conn::new(client)),
            url,
            retry_for,
            partitions: HashSet::new(),
            cache: BundleCache::default(),
            partition_bundles: schema::PARTITION_BUNDLES,
            archive_tables: std::sync::atomic::AtomicBool::new(false),
            archive: aiaudit_core::archive::AttachedArchive::default(),
            in_txn: std::sync::atomic::AtomicBool::new(false),
        }
    }

    fn finish_open(client: Client, url: PgUrl) -> Result<Self, Error> {
        let mut store = Self::with_client_of(client, url);
        let s = store.url.schema.clone();
        let per: Option<String> = store
            .read(|c| {
                c.query_opt(
                    &format!("SELECT value FROM {s}.meta WHERE key = 'partition_bundles'"),
                    &[],
                )
            })?
            .map(|r| r.get(0));
        if let Some(per) = per {
            store.partition_bundles = per.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                store.inconsistent(format!(
                    "meta.partition_bundles {per:?} is not a number of bundles"
                ))
            })?;
        }
        store.refresh_archive_tables()?;
        // The partition the next bundles go to, so that appends rarely meet a range without one.
        let next = read::size(&store)? / aiaudit_core::layout::BUNDLE_WIDTH;
        store.ensure_partition(schema::partition_of(next, store.partition_bundles));
        Ok(store)
    }

    /// How long a lost connection is retried (default [`DEFAULT_RETRY`]).
    pub fn set_retry(&mut self, d: Duration) {
        self.retry_for = d;
    }

    /// The schema holding the log.
    pub fn schema(&self) -> &str {
        &self.url.schema
    }

    /// The log's address, password hidden.
    pub fn display_url(&self) -> &str {
        &self.url.display
    }

    /// Runs `f` on the connection (for tools and tests that inspect the tables directly).
    pub fn with_client<T>(&self, f: impl FnOnce(&mut Client) -> T) -> T {
        let mut c = self.client.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut c)
    }

    fn err(&self, e: postgres::Error) -> Error {
        pg(&self.url, e)
    }

    fn inconsistent(&self, what: impl Into<String>) -> Error {
        Error::Inconsistent {
            schema: self.url.schema.clone(),
            what: what.into(),
        }
    }

    /// Runs a read, reconnecting and retrying while the connection is lost (for at most the
    /// retry period).
    fn read<T>(
        &self,
        mut f: impl FnMut(&mut Client) -> Result<T, postgres::Error>,
    ) -> Result<T, Error> {
        let started = std::time::Instant::now();
        let mut pause = Duration::from_millis(50);
        loop {
            let result = {
                let mut c = self.client.lock().unwrap_or_else(|p| p.into_inner());
                f(&mut c)
            };
            let in_txn = self.in_txn.load(std::sync::atomic::Ordering::SeqCst);
            match result {
                Ok(v) => return Ok(v),
                Err(e)
                    if error::is_connection(&e)
                        && !in_txn
                        && started.elapsed() < self.retry_for =>
                {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_secs(2));
                    self.reconnect_quietly();
                }
                Err(e) => return Err(self.err(e)),
            }
        }
    }

    /// Replaces a closed connection; a failure leaves it closed for the next try.
    fn reconnect_quietly(&self) {
        let mut c = self.client.lock().unwrap_or_else(|p| p.into_inner());
        if c.is_closed()
            && let Ok(fresh) = connect(&self.url)
        {
            *c = conn::Conn::new(fresh);
        }
    }

    /// Makes partition `p` of `bundles` if this user may; a failure (no privilege, or rows of
    /// that range already in the default partition) leaves those rows in the default
    /// partition, which is as correct, only not detachable.
    fn ensure_partition(&mut self, p: u64) {
        if self.partitions.contains(&p) {
            return;
        }
        let s = self.url.schema.clone();
        let (name, ddl) = schema::partition_sql(&s, p, self.partition_bundles);
        let trigger = schema::sql(schema::TRUNCATE_TRIGGER, &s).replace("{t}", &name);
        let c = self.client.get_mut().unwrap_or_else(|p| p.into_inner());
        // One transaction, so that a partition never exists without its truncate trigger (the
        // row trigger it inherits from `bundles`).
        let made = c.batch_execute(&format!(
            "BEGIN; SELECT pg_advisory_xact_lock(hashtext('aiaudit:' || '{s}')); \
             {ddl}; \
             DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'no_truncate' \
               AND tgrelid = '{s}.{name}'::regclass) THEN EXECUTE $t$ {} $t$; END IF; END $$; \
             COMMIT;",
            trigger.trim().trim_end_matches(';')
        ));
        match made {
            Ok(()) => {
                self.partitions.insert(p);
            }
            // A lost connection is tried again with the next batch; anything else will not
            // change.
            Err(e) => {
                if !c.is_closed() {
                    let _ = c.batch_execute("ROLLBACK");
                }
                if !error::is_connection(&e) {
                    self.partitions.insert(p);
                }
            }
        }
    }
}

fn connect(url: &PgUrl) -> Result<Client, Error> {
    url.config.connect(NoTls).map_err(|e| Error::Connect {
        url: url.display.clone(),
        source: e,
    })
}

pub(crate) fn pg(url: &PgUrl, e: postgres::Error) -> Error {
    Error::Postgres {
        schema: url.schema.clone(),
        source: e,
    }
}

fn has_log(client: &mut Client, url: &PgUrl) -> Result<bool, Error> {
    let row = client
        .query_one(
            "SELECT to_regclass($1) IS NOT NULL",
            &[&format!("{}.meta", url.schema)],
        )
        .map_err(|e| pg(url, e))?;
    Ok(row.get(0))
}

impl NodeSource for PostgresStore {
    fn stored_nodes(&self, level: u32, start: u64, count: u64) -> aiaudit_core::Result<Vec<Hash>> {
        let hashes = self.level_hashes(level, start, count)?;
        if hashes.len() as u64 != count {
            return Err(aiaudit_core::Error::MissingNodes {
                level,
                index: start + hashes.len() as u64,
            });
        }
        Ok(hashes)
    }
}

impl Store for PostgresStore {
    /// A connection that stayed lost past the retry period can pass; data the server reports
    /// corrupt (SQLSTATE class XX, data exceptions) and a layout broken are damage.
    fn classify(&self, e: &aiaudit_core::Error) -> aiaudit_core::Failure {
        use aiaudit_core::Failure;
        let aiaudit_core::Error::Store(inner) = e else {
            return Failure::Fatal;
        };
        let Some(err) = inner.downcast_ref::<Error>() else {
            return Failure::Fatal;
        };
        if err.is_connection() {
            return Failure::Transient;
        }
        match err {
            Error::Inconsistent { .. } => Failure::Damage,
            Error::Postgres { source, .. } => match source.code().map(|c| c.code()) {
                Some(c) if c.starts_with("XX") || c.starts_with("22") => Failure::Damage,
                // Disk full, too many connections, out of memory, read-only transaction.
                Some("53100" | "53300" | "53200" | "25006" | "57P03" | "40001" | "40P01") => {
                    Failure::Transient
                }
                _ => Failure::Fatal,
            },
            _ => Failure::Fatal,
        }
    }

    fn info(&self) -> aiaudit_core::Result<LogInfo> {
        Ok(read::info(self)?)
    }

    fn archived(&self) -> aiaudit_core::Result<Vec<aiaudit_core::archive::ArchivedFile>> {
        Ok(self.archived_files()?)
    }

    fn attach_archive(
        &self,
        source: Option<std::sync::Arc<dyn aiaudit_core::archive::ArchiveSource>>,
    ) {
        self.archive.set(source);
        self.cache.clear();
    }

    fn archive_source(&self) -> Option<std::sync::Arc<dyn aiaudit_core::archive::ArchiveSource>> {
        self.archive.get()
    }

    fn may_archive(&self) -> aiaudit_core::Result<()> {
        Ok(PostgresStore::may_archive(self)?)
    }

    fn record_deletions(&mut self, first_seqs: &[u64], event_seq: u64) -> aiaudit_core::Result<()> {
        Ok(self.delete_files(first_seqs, event_seq)?)
    }

    /// The records go with their partitions: [`PostgresStore::partition_bundles`] at a time.
    fn archive_unit(&self) -> u64 {
        self.partition_bundles
    }

    fn drop_archived(
        &mut self,
        files: &[aiaudit_core::archive::ArchivedFile],
    ) -> aiaudit_core::Result<()> {
        Ok(self.drop_files(files)?)
    }

    fn size(&self) -> aiaudit_core::Result<u64> {
        Ok(read::size(self)?)
    }

    fn shared(&self) -> bool {
        true
    }

    fn append(&mut self, batch: aiaudit_core::AppendBatch<'_>) -> aiaudit_core::Result<()> {
        let mut fixed = write::Fixed(batch);
        self.append_rebased(&mut fixed)
    }

    fn append_rebased(&mut self, batch: &mut dyn Rebase) -> aiaudit_core::Result<()> {
        Ok(write::append(self, batch)?)
    }

    fn entry(&self, seq: u64) -> aiaudit_core::Result<Option<StoredEntry>> {
        Ok(read::entry(self, seq)?)
    }

    fn entry_by_id(&self, id: &str) -> aiaudit_core::Result<Option<StoredEntry>> {
        Ok(read::by_id(self, id)?)
    }

    fn query(&self, query: &aiaudit_core::Query) -> aiaudit_core::Result<Vec<StoredEntry>> {
        let mut out = Vec::new();
        read::select(self, query, true, &mut |e| {
            out.push(e);
            Ok(true)
        })?;
        Ok(out)
    }

    fn query_each(
        &self,
        query: &aiaudit_core::Query,
        f: &mut dyn FnMut(StoredEntry) -> aiaudit_core::Result<bool>,
    ) -> aiaudit_core::Result<()> {
        read::select(self, query, true, f)
    }

    fn candidates(
        &self,
        query: &aiaudit_core::Query,
        f: &mut dyn FnMut(StoredEntry) -> aiaudit_core::Result<bool>,
    ) -> aiaudit_core::Result<()> {
        read::select(self, query, false, f)
    }

    fn scan(
        &self,
        from: u64,
        f: &mut dyn FnMut(StoredEntry) -> aiaudit_core::Result<bool>,
    ) -> aiaudit_core::Result<()> {
        read::scan(self, from, f)
    }

    fn checkpoint(&self, size: u64) -> aiaudit_core::Result<Option<StoredCheckpoint>> {
        Ok(read::checkpoint_at(self, size)?)
    }

    fn latest_checkpoint(&self) -> aiaudit_core::Result<Option<StoredCheckpoint>> {
        Ok(read::latest_checkpoint(self)?)
    }

    fn checkpoints(
        &self,
        f: &mut dyn FnMut(StoredCheckpoint) -> aiaudit_core::Result<bool>,
    ) -> aiaudit_core::Result<()> {
        read::checkpoints(self, f)
    }

    fn read_snapshot(
        &self,
        f: &mut dyn FnMut() -> aiaudit_core::Result<()>,
    ) -> aiaudit_core::Result<()> {
        // One REPEATABLE READ transaction: every read in `f` sees the log as of its first (and
        // a lost connection fails `f` rather than reading on outside the snapshot).
        self.read(|c| c.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY"))?;
        self.in_txn.store(true, std::sync::atomic::Ordering::SeqCst);
        let result = f();
        self.in_txn
            .store(false, std::sync::atomic::Ordering::SeqCst);
        let end =
            self.read(|c| c.batch_execute(if result.is_ok() { "COMMIT" } else { "ROLLBACK" }));
        result?;
        end?;
        Ok(())
    }

    fn check_index(
        &self,
        batch: u64,
        entries: &[StoredEntry],
    ) -> aiaudit_core::Result<Option<String>> {
        Ok(read::check_postings(self, batch, entries)?)
    }

    fn summarized(&self) -> aiaudit_core::Result<u64> {
        Ok(read::summarized(self)?)
    }

    fn summaries(
        &self,
        from: u64,
        to: u64,
        f: &mut dyn FnMut(u64, &[u8]) -> aiaudit_core::Result<bool>,
    ) -> aiaudit_core::Result<()> {
        read::summaries(self, from, to, f)
    }
}
