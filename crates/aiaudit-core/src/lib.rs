//! # aiaudit-core
//!
//! The pure heart of aiaudit: the event model (schema v1), its RFC 8785 canonical encoding, the
//! RFC 9162 Merkle tree with inclusion and consistency proofs, C2SP signed checkpoints with
//! Ed25519, standalone proof bundles, and the [`Store`] trait the backends implement. No I/O, no
//! SQL, no async runtime live here.
//!
//! ```
//! use aiaudit_core::{Event, Checkpoint, NoteSigner, CompactRange, leaf_hash, seal, verify_inclusion};
//!
//! // Seal two events into leaves and build the tree.
//! let mut tree = CompactRange::new();
//! let mut leaves = Vec::new();
//! for (seq, name) in ["Data ingestion started", "Training completed"].iter().enumerate() {
//!     let event = Event::new("event", *name).detail("rows", 1000);
//!     let mut data = Vec::new();
//!     seal(&event, seq as u64, "0190a5c4-0000-7000-8000-000000000000", 1_795_000_000_000_000_000, &mut data)?;
//!     let leaf = leaf_hash(&data);
//!     leaves.push(leaf);
//!     tree.append(leaf, |_| {});
//! }
//!
//! // Sign a checkpoint over the tree and open it again with the verifier key.
//! let signer = NoteSigner::generate("example.org/audit")?;
//! let cp = Checkpoint { origin: "example.org/audit".into(), size: tree.size(), root: tree.root() };
//! let note = cp.sign(&signer)?;
//! let opened = Checkpoint::open(&note, &signer.verifier())?;
//!
//! // In a tree of two, leaf 0's inclusion proof is leaf 1's hash.
//! verify_inclusion(0, opened.size, &leaves[0], &[leaves[1]], &opened.root)?;
//! # Ok::<(), aiaudit_core::Error>(())
//! ```

pub mod archive;
pub mod bundle;
pub mod canonical;
pub mod cosignature;
mod error;
pub mod event;
mod hash;
mod head;
pub mod keys;
pub mod layout;
pub mod lineage;
pub mod merkle;
pub mod note;
pub mod policy;
pub mod postings;
pub mod redact;
pub mod report;
pub mod seal;
pub mod store;
pub mod strict_json;
pub mod summary;
pub mod tiles;
pub mod timefmt;
mod zstd_frame;

pub use bundle::{ConsistencyBundle, InclusionBundle};
pub use error::{Error, ProofError, Result};
pub use event::{Actor, Event, ModelRef, Operation, Record, Source, Status};
pub use hash::{HASH_LEN, Hash, empty_root, leaf_hash, node_hash, sha256};
pub use merkle::{
    CompactRange, CompletedNode, MemoryTree, NODE_STRIDE, NodeSource, consistency_proof,
    inclusion_proof, root_at, verify_consistency, verify_inclusion,
};
pub use note::{Checkpoint, NoteKeys, NoteSigner, NoteVerifier, SignatureBackend};
pub use seal::{reseal, seal};
pub use store::{
    AppendBatch, Failure, LogInfo, Query, Rebase, RecordHead, Store, StoredCheckpoint, StoredEntry,
};
