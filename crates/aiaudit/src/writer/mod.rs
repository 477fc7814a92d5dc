//! The writer: a two-stage pipeline per log. The sealer thread takes messages from the bounded
//! queue in batches, seals each event at its seq and adds it to the tree; the committer thread
//! signs the batch's checkpoint and commits entries, index, tree nodes and checkpoint in one
//! transaction, while the sealer already seals the next batch.
//!
//! Invariant: the sealer's tree equals the store's tree once every handed-over batch is
//! committed. A failed commit breaks that for good, so the writer poisons itself: from then on
//! every message is answered with the error and nothing more is written — a gap is never silent.

mod commit;
mod recovery;
mod seal;

pub(crate) use recovery::{damaged, resume};
pub(crate) use seal::Writer;
