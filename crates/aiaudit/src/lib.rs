//! # aiaudit
//!
//! Tamper-evident audit logging for AI and ML pipelines. An [`AuditLogger`] validates each event
//! on the caller's thread, queues it, and a writer thread seals it (seq, UUIDv7 id, RFC 8785 leaf
//! data), adds it to an RFC 9162 Merkle tree and commits each batch with an Ed25519-signed
//! checkpoint in one transaction of an SQLite file. A [`LogReader`] queries, proves and verifies.
//!
//! ```
//! use aiaudit::{AuditLogger, Durability, LogReader, VerifyOptions, events};
//! use serde_json::json;
//!
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("audit.db");
//! let log = AuditLogger::builder(&path).durability(Durability::Sync).open()?;
//!
//! log.log_event("Data preprocessing started", json!({"file": "dataset.csv"}), "INFO")?;
//! log.log_event("Drift detected", json!({"feature": "age", "drift_score": 0.8}), "WARNING")?;
//! log.log(events::inference("credit-risk", "1.4.0", "alice", json!({"approved": true}), 12.5))?;
//! assert!(log.log_event("Oops", json!(null), "SHOUTING").is_err()); // unknown status
//! log.close()?;
//!
//! let reader = LogReader::open(&path)?;
//! let report = reader.verify(&VerifyOptions::default(), &mut |_, _| {})?;
//! assert!(report.is_intact());
//! assert_eq!(report.entries, 3);
//! let proof = reader.prove(1, None)?;
//! proof.verify(&reader.verifier()?)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#[cfg(feature = "archive")]
pub mod archive;
mod builder;
mod error;
pub mod events;
mod export_tiles;
mod handoff;
mod host;
mod ids;
pub mod keyfile;
pub mod keys;
pub mod lineage;
pub mod location;
mod logger;
pub mod migrate;
mod queue;
mod reader;
pub mod reports;
pub mod signer;
pub mod subjects;
mod submission;
mod submit;
mod verify;
#[cfg(feature = "witness")]
pub mod witnessing;
mod writer;
mod writer_lock;

pub use aiaudit_core::redact;
pub use aiaudit_core::{Event, Query, Record, Status, StoredEntry};
pub use builder::AuditLoggerBuilder;
pub use error::{Error, Result};
pub use export_tiles::TilesExport;
pub use handoff::WriterState;
pub use logger::{AuditLogger, Durability, MAX_DEPTH, validate};
pub use reader::LogReader;
pub use submission::{CommitObserver, CommitStats, NotSealed, Sealed, Submission};
pub use verify::{Finding, TailReport, VerifyOptions, VerifyReport, check_tail, verify_store};
