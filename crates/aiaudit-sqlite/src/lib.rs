//! # aiaudit-sqlite
//!
//! The embedded store of aiaudit: one SQLite file (WAL, `synchronous=FULL`), append-only enforced
//! by triggers, with the Merkle tree's stored levels beside the entries so that a proof for any
//! entry costs `O(log n)` reads. It implements [`aiaudit_core::Store`] and knows nothing of
//! policy: sequencing, sealing and signing happen in the writer above it.
//!
//! ```
//! use aiaudit_core::{LogInfo, Store};
//! use aiaudit_sqlite::SqliteStore;
//!
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("audit.db");
//! let info = LogInfo { origin: "example.org/log".into(), verifier_key: "k".into(), created_ns: 0 };
//! let store = SqliteStore::create(&path, &info)?;
//! assert_eq!(store.size()?, 0);
//! assert_eq!(SqliteStore::open(&path)?.info()?.origin, "example.org/log");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod append;
mod archive;
mod entries;
mod error;
mod keys;
mod path;
mod read;
mod schema;
mod summaries;
mod tokens;
mod tree;
mod v1;
mod wal;

pub use error::Error;
pub use keys::{KEYS_APPLICATION_ID, SubjectKeyFile, default_keys_path};
pub use path::{real_path, resolve, resolve_for_reading};
pub use schema::{APPLICATION_ID, FORMAT_V1, FORMAT_VERSION};
pub use tokens::{TOKEN_PREFIX, TOKENS_APPLICATION_ID, TokenFile, TokenInfo, default_tokens_path};
pub use v1::V1Log;

use aiaudit_core::{AppendBatch, LogInfo, Store, StoredCheckpoint, StoredEntry};
use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension, params};
use std::path::{Path, PathBuf};

/// Page cache per connection, in KiB: large enough that index inserts stay in memory.
const CACHE_KIB: i64 = 128 * 1024;

/// A SQLite-backed audit log store.
#[derive(Debug)]
pub struct SqliteStore {
    conn: Connection,
    path: PathBuf,
    cache: entries::Cache,
    /// Where archived records are read from, if anywhere.
    archive: aiaudit_core::archive::AttachedArchive,
}

impl SqliteStore {
    /// Creates a new log at `path`. Fails if a log (or any non-empty file) is already there.
    pub fn create(path: &Path, info: &LogInfo) -> Result<Self, Error> {
        let real = resolve(path)?;
        if real.exists()
            && std::fs::metadata(&real)
                .map(|m| m.len() > 0)
                .unwrap_or(true)
        {
            // Let `open` produce the precise complaint about what is there.
            Self::open(path)?;
            return Err(Error::Inconsistent {
                path: path.to_owned(),
                what: "an audit log already exists here".into(),
            });
        }
        let conn = Connection::open(&real).map_err(|e| classify(path, e))?;
        // 8 KiB pages: a full tile (8,192 bytes of hashes) overflows into one page instead of
        // taking a 16 KiB page of its own, and a bundle's last overflow page wastes half as
        // much (docs/performance.md, "Page size"). Files made with 16 KiB pages keep them.
        // Set before the first table exists.
        conn.pragma_update(None, "page_size", 8_192)
            .map_err(|e| classify(path, e))?;
        let mut store = SqliteStore {
            conn,
            path: path.to_owned(),
            cache: entries::Cache::default(),
            archive: aiaudit_core::archive::AttachedArchive::default(),
        };
        store.configure()?;
        let tx = store.conn.transaction().map_err(|e| classify(path, e))?;
        tx.execute_batch(schema::SCHEMA)
            .map_err(|e| classify(path, e))?;
        tx.execute_batch(&schema::append_only_triggers())
            .map_err(|e| classify(path, e))?;
        tx.execute_batch(schema::ARCHIVE_SCHEMA)
            .map_err(|e| classify(path, e))?;
        for (k, v) in [
            ("origin", info.origin.as_str()),
            ("verifier_key", info.verifier_key.as_str()),
            ("created_ns", &info.created_ns.to_string()),
        ] {
            tx.execute(
                "INSERT INTO meta(key, value) VALUES (?1, ?2)",
                params![k, v],
            )
            .map_err(|e| classify(path, e))?;
        }
        tx.pragma_update(None, "application_id", APPLICATION_ID)
            .map_err(|e| classify(path, e))?;
        tx.pragma_update(None, "user_version", FORMAT_VERSION)
            .map_err(|e| classify(path, e))?;
        tx.commit().map_err(|e| classify(path, e))?;
        Ok(store)
    }

    /// Opens an existing log, checking that the file is an aiaudit log this code can read.
    ///
    /// The file is opened by its real name (symlinks resolved) and refused through a second
    /// hard link, so that its write-ahead log is the one every other opener uses.
    pub fn open(path: &Path) -> Result<Self, Error> {
        Self::open_as(path, false)
    }

    /// [`SqliteStore::open`], accepting a v1 file too (`legacy`) for [`V1Log`].
    fn open_as(path: &Path, legacy: bool) -> Result<Self, Error> {
        // Writers have resolved the path strictly already (no second hard link at all).
        let real = resolve_for_reading(path)?;
        if !real.exists() {
            return Err(Error::Missing {
                path: path.to_owned(),
            });
        }
        check_kind(path, &real)?;
        // Before SQLite reads the WAL and drops what follows a damaged frame.
        if let Some(what) = wal::damage(&real) {
            return Err(Error::Inconsistent {
                path: path.to_owned(),
                what,
            });
        }
        match Self::connect(path, &real, false, legacy) {
            // A copy an auditor was handed on a read-only mount, or in a directory they cannot
            // write: SQLite cannot make its shared-memory index there, so it is read without.
            Err(Error::Sqlite { source, .. }) if read_only_failure(&source) => {
                Self::connect(path, &real, true, legacy)
            }
            other => other,
        }
    }

    /// Opens `real` for reading and writing, or (`read_only`) without writing anything, not
    /// even SQLite's shared-memory index: `immutable` when no WAL is beside the file, else
    /// `mode=ro`.
    fn connect(path: &Path, real: &Path, read_only: bool, legacy: bool) -> Result<Self, Error> {
        let conn = if read_only {
            let text = real.display().to_string();
            let escaped = text
                .replace('%', "%25")
                .replace('?', "%3f")
                .replace('#', "%23");
            let wal = std::fs::metadata(format!("{text}-wal")).map_or(0, |m| m.len());
            // An empty WAL holds nothing: the file alone is the log, and immutable. With
            // transactions in it, SQLite reads it only through an existing -shm file.
            let mode = if wal == 0 {
                "immutable=1"
            } else if PathBuf::from(format!("{text}-shm")).exists() {
                "mode=ro"
            } else {
                return Err(Error::UnreadableWal {
                    path: path.to_owned(),
                });
            };
            Connection::open_with_flags(
                format!("file:{escaped}?{mode}"),
                OpenFlags::SQLITE_OPEN_READ_ONLY
                    | OpenFlags::SQLITE_OPEN_URI
                    | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
        } else {
            Connection::open_with_flags(
                real,
                OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
        }
        .map_err(|e| classify(path, e))?;
        let mut store = SqliteStore {
            conn,
            path: path.to_owned(),
            cache: entries::Cache::default(),
            archive: aiaudit_core::archive::AttachedArchive::default(),
        };
        let app_id: i32 = store
            .conn
            .pragma_query_value(None, "application_id", |r| r.get(0))
            .map_err(|e| classify(path, e))?;
        if app_id != APPLICATION_ID {
            return Err(Error::NotAnAuditLog {
                path: path.to_owned(),
            });
        }
        let version: i32 = store
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(|e| classify(path, e))?;
        if version > FORMAT_VERSION {
            return Err(Error::NewerFormat {
                path: path.to_owned(),
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        if version != (if legacy { FORMAT_V1 } else { FORMAT_VERSION }) {
            return Err(if legacy && version == FORMAT_VERSION {
                Error::Invalid(format!(
                    "{} is in format v{FORMAT_VERSION} already: there is nothing to migrate",
                    path.display()
                ))
            } else if version == FORMAT_V1 {
                Error::OldFormat {
                    path: path.to_owned(),
                }
            } else {
                Error::Inconsistent {
                    path: path.to_owned(),
                    what: format!("format version {version} is not one aiaudit wrote"),
                }
            });
        }
        if read_only {
            store.configure_read_only()?;
        } else {
            store.configure()?;
        }
        // Touch every table so that a damaged file fails here, with its path, not mid-command.
        store
            .conn
            .query_row("SELECT count(*) FROM meta", [], |r| r.get::<_, i64>(0))
            .map_err(|e| store.err(e))?;
        Ok(store)
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The underlying connection, for tools and tests that inspect the file directly.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// The reading half of [`SqliteStore::configure`]: nothing that writes.
    fn configure_read_only(&mut self) -> Result<(), Error> {
        let path = self.path.clone();
        let c = &self.conn;
        c.pragma_update(None, "cache_size", -CACHE_KIB)
            .map_err(|e| classify(&path, e))?;
        c.pragma_update(None, "temp_store", "MEMORY")
            .map_err(|e| classify(&path, e))?;
        c.pragma_update(None, "mmap_size", 1i64 << 31)
            .map_err(|e| classify(&path, e))?;
        Ok(())
    }

    fn configure(&mut self) -> Result<(), Error> {
        let path = self.path.clone();
        let c = &self.conn;
        c.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(|e| classify(&path, e))?;
        c.pragma_update(None, "journal_mode", "WAL")
            .map_err(|e| classify(&path, e))?;
        // FULL: in WAL mode every commit is fsynced, so a returned append survives power loss.
        c.pragma_update(None, "synchronous", "FULL")
            .map_err(|e| classify(&path, e))?;
        c.pragma_update(None, "cache_size", -CACHE_KIB)
            .map_err(|e| classify(&path, e))?;
        c.pragma_update(None, "temp_store", "MEMORY")
            .map_err(|e| classify(&path, e))?;
        // Read through a memory map: a full scan (verify) otherwise spends a quarter of its time
        // copying pages out of the kernel.
        c.pragma_update(None, "mmap_size", 1i64 << 31)
            .map_err(|e| classify(&path, e))?;
        // Fewer, larger WAL checkpoints keep ingest steady.
        c.pragma_update(None, "wal_autocheckpoint", 16_384)
            .map_err(|e| classify(&path, e))?;
        Ok(())
    }

    pub(crate) fn err(&self, e: rusqlite::Error) -> Error {
        classify(&self.path, e)
    }

    pub(crate) fn inconsistent(&self, what: impl Into<String>) -> Error {
        Error::Inconsistent {
            path: self.path.clone(),
            what: what.into(),
        }
    }
}

/// What an error of this store means to the writer: SQLite's full disk, read-only file,
/// I/O errors, busy and locked files, and files it cannot open can pass; a corrupt page, a file
/// that is not a database and data that break the layout are damage.
pub fn failure_of(e: &aiaudit_core::Error) -> aiaudit_core::Failure {
    use aiaudit_core::Failure;
    let aiaudit_core::Error::Store(inner) = e else {
        return Failure::Fatal;
    };
    let Some(err) = inner.downcast_ref::<Error>() else {
        return Failure::Fatal;
    };
    match err {
        Error::Corrupt { .. } | Error::NotADatabase { .. } | Error::Inconsistent { .. } => {
            Failure::Damage
        }
        Error::Sqlite { source, .. } => match source.sqlite_error_code() {
            Some(
                ErrorCode::DiskFull
                | ErrorCode::ReadOnly
                | ErrorCode::SystemIoFailure
                | ErrorCode::DatabaseBusy
                | ErrorCode::DatabaseLocked
                | ErrorCode::CannotOpen
                | ErrorCode::OutOfMemory,
            ) => Failure::Transient,
            Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => Failure::Damage,
            _ => Failure::Fatal,
        },
        _ => Failure::Fatal,
    }
}

/// What is at `real` must be a regular file at least as long as SQLite's 100-byte header (an
/// empty file is a log not made yet, which `create` handles): each other kind gets its own
/// message instead of SQLite's "not a database".
pub fn check_kind(path: &Path, real: &Path) -> Result<(), Error> {
    let meta = std::fs::metadata(real).map_err(|e| Error::NotALogFile {
        path: path.to_owned(),
        what: format!("cannot be read: {e}"),
    })?;
    let what = if meta.is_dir() {
        Some(
            "is a directory, not an audit log file (give the log's file, e.g. DIR/aiaudit.db)"
                .to_owned(),
        )
    } else if !meta.is_file() {
        Some("is not a regular file (a device, socket or pipe cannot hold an audit log)".to_owned())
    } else if meta.len() > 0 && meta.len() < 100 {
        Some(format!(
            "is {} bytes long: too short to be a SQLite database, so not an aiaudit log",
            meta.len()
        ))
    } else {
        None
    };
    match what {
        Some(what) => Err(Error::NotALogFile {
            path: path.to_owned(),
            what,
        }),
        None => Ok(()),
    }
}

/// Whether SQLite failed because it may not write where the file is (a read-only mount, a
/// directory the user cannot write, a file without write permission).
fn read_only_failure(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::ReadOnly | ErrorCode::CannotOpen | ErrorCode::PermissionDenied)
    )
}

/// Maps SQLite's errors onto ours, naming the file.
fn classify(path: &Path, e: rusqlite::Error) -> Error {
    let path = path.to_owned();
    match e.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => Error::NotADatabase { path },
        Some(ErrorCode::DatabaseCorrupt) => Error::Corrupt { path, source: e },
        _ => Error::Sqlite { path, source: e },
    }
}

impl Store for SqliteStore {
    fn classify(&self, e: &aiaudit_core::Error) -> aiaudit_core::Failure {
        failure_of(e)
    }

    /// A fresh connection: after an I/O error SQLite may keep the old one in an error state.
    fn recover(&mut self) -> aiaudit_core::Result<()> {
        let real = resolve_for_reading(&self.path)?;
        let conn = Connection::open_with_flags(
            &real,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| self.err(e))?;
        self.conn = conn;
        self.cache = entries::Cache::default();
        self.configure()?;
        Ok(())
    }

    fn info(&self) -> aiaudit_core::Result<LogInfo> {
        let get = |k: &str| -> Result<String, Error> {
            self.conn
                .query_row("SELECT value FROM meta WHERE key = ?1", [k], |r| r.get(0))
                .optional()
                .map_err(|e| self.err(e))?
                .ok_or_else(|| self.inconsistent(format!("metadata `{k}` is missing")))
        };
        Ok(LogInfo {
            origin: get("origin")?,
            verifier_key: get("verifier_key")?,
            created_ns: get("created_ns")?.parse().unwrap_or(0),
        })
    }

    fn size(&self) -> aiaudit_core::Result<u64> {
        Ok(self.size_inner()?)
    }

    fn append(&mut self, batch: AppendBatch<'_>) -> aiaudit_core::Result<()> {
        match self.append_tx(batch) {
            Ok(()) => Ok(()),
            Err(append::AppendError::Sqlite(e)) => Err(self.err(e).into()),
            Err(append::AppendError::Layout(e)) => Err(self.inconsistent(e.to_string()).into()),
        }
    }

    fn entry(&self, seq: u64) -> aiaudit_core::Result<Option<StoredEntry>> {
        Ok(read::one(self, seq)?)
    }

    fn entry_by_id(&self, id: &str) -> aiaudit_core::Result<Option<StoredEntry>> {
        Ok(read::by_id(self, id)?)
    }

    fn query(&self, query: &aiaudit_core::Query) -> aiaudit_core::Result<Vec<StoredEntry>> {
        read::query(self, query)
    }

    fn query_each(
        &self,
        query: &aiaudit_core::Query,
        f: &mut dyn FnMut(StoredEntry) -> aiaudit_core::Result<bool>,
    ) -> aiaudit_core::Result<()> {
        read::query_each(self, query, f)
    }

    fn candidates(
        &self,
        query: &aiaudit_core::Query,
        f: &mut dyn FnMut(StoredEntry) -> aiaudit_core::Result<bool>,
    ) -> aiaudit_core::Result<()> {
        read::candidates(self, query, f)
    }

    fn scan(
        &self,
        from: u64,
        f: &mut dyn FnMut(StoredEntry) -> aiaudit_core::Result<bool>,
    ) -> aiaudit_core::Result<()> {
        self.scan_raw(from, f)
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
        // In WAL mode a read transaction sees the database as of its first read, whatever the
        // writer commits meanwhile.
        self.conn.execute_batch("BEGIN").map_err(|e| self.err(e))?;
        let result = f();
        let end = self
            .conn
            .execute_batch(if result.is_ok() { "COMMIT" } else { "ROLLBACK" })
            .map_err(|e| self.err(e));
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

    fn drop_archived(
        &mut self,
        files: &[aiaudit_core::archive::ArchivedFile],
    ) -> aiaudit_core::Result<()> {
        Ok(self.drop_files(files)?)
    }

    fn record_deletions(&mut self, first_seqs: &[u64], event_seq: u64) -> aiaudit_core::Result<()> {
        Ok(self.delete_files(first_seqs, event_seq)?)
    }

    fn reclaim(&mut self) -> aiaudit_core::Result<()> {
        Ok(self.vacuum()?)
    }

    fn summarized(&self) -> aiaudit_core::Result<u64> {
        Ok(summaries::summarized(self)?)
    }

    fn summaries(
        &self,
        from: u64,
        to: u64,
        f: &mut dyn FnMut(u64, &[u8]) -> aiaudit_core::Result<bool>,
    ) -> aiaudit_core::Result<()> {
        summaries::each(self, from, to, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// New files get the page size the layout was measured with (a full tile then fits one
    /// overflow page instead of half-filling a page of its own).
    #[test]
    fn new_logs_use_8_kib_pages() {
        let dir = tempfile::tempdir().expect("tempdir");
        let info = LogInfo {
            origin: "example.com/log".into(),
            verifier_key: "k".into(),
            created_ns: 0,
        };
        let store = SqliteStore::create(&dir.path().join("a.db"), &info).expect("create");
        let page: i64 = store
            .conn
            .query_row("PRAGMA page_size", [], |r| r.get(0))
            .expect("page_size");
        assert_eq!(page, 8192);
    }
}
