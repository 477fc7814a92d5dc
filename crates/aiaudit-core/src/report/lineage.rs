//! The lineage report of a model version.

use serde::Serialize;
use std::collections::BTreeMap;

/// Where a model version came from and what came of it: the artifacts and runs upstream and
/// downstream, its predictions, and whether every event on the way is included in the latest
/// signed checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LineageReport {
    /// The model.
    pub model: String,
    /// The version.
    pub version: String,
    /// When the report was made.
    pub generated_at: String,
    /// Every event on the lineage with its inclusion checked against one signed checkpoint.
    pub evidence: LineageEvidence,
    /// Datasets, models, code and features on the lineage, by key.
    pub artifacts: Vec<LineageArtifact>,
    /// Every event on the lineage other than predictions, by seq.
    pub runs: Vec<LineageRun>,
    /// The version's predictions (counted, not listed).
    pub predictions: PredictionUse,
    /// Where the walk listed only part (an artifact's key → readers listed).
    pub truncated: BTreeMap<String, u64>,
    /// The graph to draw: artifacts, runs and one node for all predictions.
    pub graph: LineageGraph,
}

/// An artifact on the lineage.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LineageArtifact {
    /// `kind:name[@version]`.
    pub key: String,
    /// `dataset`, `model`, `code`, …
    pub kind: String,
    /// Name.
    pub name: String,
    /// Version.
    pub version: Option<String>,
    /// Content hash a record gives.
    pub hash: Option<String>,
}

/// An event on the lineage.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LineageRun {
    /// Seq.
    pub seq: u64,
    /// Sealed time.
    pub time: String,
    /// Type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Name.
    pub name: String,
    /// Status.
    pub status: String,
    /// Leaf hash, hex: what the inclusion proof proves.
    pub leaf_hash: String,
    /// For a `run_started` record: whether a `run_completed`, `run_failed` or `run_aborted`
    /// of the same run (operation id) is in the log. A run that never ended made nothing.
    pub ended: Option<bool>,
}

/// A model version's predictions.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct PredictionUse {
    /// All of them.
    pub total: u64,
    /// First prediction's sealed time.
    pub first: Option<String>,
    /// Last prediction's sealed time.
    pub last: Option<String>,
}

/// The checkpoint the lineage was proven against.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LineageEvidence {
    /// Whether every event on the lineage has a valid inclusion proof to the checkpoint.
    pub proven: bool,
    /// Events proven.
    pub events_proven: u64,
    /// Why the proofs do not hold, when they do not.
    pub problem: Option<String>,
    /// The checkpoint's tree size.
    pub checkpoint_size: u64,
    /// Its signing time.
    pub signed_at: String,
    /// The log's verifier key.
    pub verifier_key: String,
    /// The command that writes the evidence bundle to check offline.
    pub prove_command: String,
}

/// The lineage as a graph; edges point the way data flowed.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct LineageGraph {
    /// Nodes.
    pub nodes: Vec<LineageNode>,
    /// Edges.
    pub edges: Vec<LineageEdge>,
}

/// A node: an artifact (`id` its key), an event (`id` `seq:N`) or the predictions
/// (`id` `predictions`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LineageNode {
    /// Unique within the graph.
    pub id: String,
    /// What to write on it.
    pub label: String,
    /// An artifact's kind, an event's type, or `predictions`.
    pub kind: String,
}

/// An edge between two nodes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LineageEdge {
    /// Upstream node's id.
    pub from: String,
    /// Downstream node's id.
    pub to: String,
    /// `input`, `output`, `parent` or `served`.
    pub relation: String,
}
