//! # aiaudit-witness
//!
//! A [c2sp.org/tlog-witness](https://c2sp.org/tlog-witness): a process that a log's operator
//! does not control cosigns each checkpoint it is shown, but only after checking the log's
//! signature and a consistency proof from the last checkpoint it cosigned for that log. So two
//! auditors shown two different histories of one log (a split view) cannot both hold
//! checkpoints cosigned by the same witness. Its state (per log: the latest size, root and
//! note) is kept in SQLite and committed before any cosignature leaves; requests refused for
//! an inconsistent history are kept as evidence. Cosignatures are `cosignature/v1`
//! ([`aiaudit_core::cosignature`]); docs/format.md §12 has the formats.
//!
//! ```
//! use aiaudit_core::cosignature::CosignatureSigner;
//! use aiaudit_core::{Checkpoint, NoteSigner, empty_root};
//! use aiaudit_witness::{AddCheckpoint, Logs, Outcome, Witness};
//!
//! let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
//! let log = NoteSigner::generate("example.org/log").map_err(|e| e.to_string())?;
//! let witness = Witness::open(
//!     &dir.path().join("witness.db"),
//!     CosignatureSigner::generate("witness.example/w1").map_err(|e| e.to_string())?,
//!     Logs::of([log.verifier()]),
//! ).map_err(|e| e.to_string())?;
//! let note = Checkpoint { origin: "example.org/log".into(), size: 0, root: empty_root() }
//!     .sign(&log).map_err(|e| e.to_string())?;
//! let body = AddCheckpoint { old: 0, proof: vec![], checkpoint: note }.to_body();
//! let out = witness.add_checkpoint(body.as_bytes(), 1_796_000_000).map_err(|e| e.to_string())?;
//! assert!(matches!(out, Outcome::Cosigned(line) if line.starts_with("— witness.example/w1 ")));
//! # Ok::<(), String>(())
//! ```

mod book;
mod client;
mod config;
mod error;
mod request;
#[cfg(feature = "serve")]
mod server;
mod state;
mod witness;

pub use book::Cosignatures;
pub use client::{SubmitError, Submitted, WitnessTarget, cosign, submit};
pub use config::Logs;
pub use error::{Error, Result};
pub use request::{AddCheckpoint, MAX_BODY_BYTES, MAX_PROOF_LINES};
#[cfg(feature = "serve")]
pub use server::app;
pub use state::{Latest, State};
pub use witness::{Outcome, Refusal, Witness};
