//! # aiaudit-archive
//!
//! The cold archive of an aiaudit log (docs/format.md §13): archived records as Parquet files
//! on object storage (`file://`, `s3://`, `gs://`, `az://` through `object_store`), read back
//! by stores through [`ArchiveReader`], an [`aiaudit_core::archive::ArchiveSource`]. Which
//! records to archive, the signed manifests and the removal from the active store are the
//! `aiaudit` crate's (`aiaudit::archive`); this crate only moves and reads bytes.
//!
//! ```
//! use aiaudit_archive::{Io, Location, parquet_file};
//! use aiaudit_core::{StoredEntry, leaf_hash};
//!
//! let dir = tempfile::tempdir()?;
//! let loc = Location::for_writing(&format!("file://{}", dir.path().display()))?;
//! let record = br#"{"id":"x","type":"prediction","name":"p","status":"ok"}"#.to_vec();
//! let entry = StoredEntry::raw(0, 1, leaf_hash(&record), record.clone());
//! let bytes = parquet_file::write(&[entry])?;
//! let io = Io::new()?;
//! io.put(&loc, "seq-0-0.parquet", bytes.into())?;
//! let back = io.get(&loc, "seq-0-0.parquet")?;
//! assert_eq!(parquet_file::read_group("seq-0-0.parquet", &back, 0)?, vec![(0, record)]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod columns;
mod io;
mod location;
pub mod parquet_file;
mod reader;

pub use io::{Io, PART, Upload};
pub use location::Location;
pub use reader::{ArchiveReader, compare};

/// What can go wrong moving or reading archive files.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The archive's URL cannot be used.
    #[error("archive location {url:?}: {why}")]
    Location {
        /// The URL as given.
        url: String,
        /// Why not.
        why: String,
    },
    /// The object store refused or failed a request.
    #[error("{what}: {source}")]
    Store {
        /// What was being done.
        what: String,
        /// The store's error.
        #[source]
        source: Box<object_store::Error>,
    },
    /// A file is not the Parquet file it should be.
    #[error("archived file {file}: {why}")]
    Parquet {
        /// The file's name.
        file: String,
        /// What is wrong.
        why: String,
    },
    /// Anything else (a runtime that would not start, a request that timed out).
    #[error("{0}")]
    Io(String),
}
