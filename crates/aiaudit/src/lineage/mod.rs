//! Lineage: from any event or artifact, the events and artifacts upstream (what it came from)
//! and downstream (what came of it), walked over the `uses:` and `makes:` index of the log
//! (`aiaudit_core::lineage`), with each record's `parent` and a prediction's deployment; and
//! evidence of the walk, every event on it with its inclusion proof against one signed
//! checkpoint, and as OpenLineage RunEvents that carry their proofs (docs/format.md §11).

mod evidence;
mod openlineage;
mod render;
mod walk;

pub use evidence::{EVIDENCE_FORMAT, Evidence, EvidenceEntry, VerifiedEvidence};
pub use openlineage::{
    ExportCount, PROOF_FACET, RUN_EVENT_SCHEMA, export_openlineage, producer, proof_facet_schema,
    run_event,
};
pub use render::{to_dot, to_json, to_mermaid, to_table};
pub use walk::{Direction, LineageOptions, lineage};

use std::collections::{BTreeMap, BTreeSet};

use aiaudit_core::lineage::Artifact;
use serde::Serialize;

/// A node of the graph: an event by seq, or an artifact by key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(tag = "node", rename_all = "snake_case")]
pub enum Node {
    /// The event at this seq.
    Event {
        /// Its seq.
        seq: u64,
    },
    /// The artifact with this key (`kind:name[@version]`).
    Artifact {
        /// Its key.
        key: String,
    },
}

/// How two nodes are linked; every edge points downstream, the way data flowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    /// Artifact → the event that read it.
    Input,
    /// Event → the artifact it made.
    Output,
    /// Event → the event that names it as `parent`.
    Parent,
    /// Deployment → a prediction of the deployed model version made after it.
    Served,
}

impl Relation {
    /// Its name in JSON (`input`, `output`, `parent`, `served`).
    pub fn name(self) -> &'static str {
        match self {
            Relation::Input => "input",
            Relation::Output => "output",
            Relation::Parent => "parent",
            Relation::Served => "served",
        }
    }

    /// The word tables and graphs show.
    pub fn label(self) -> &'static str {
        match self {
            Relation::Input => "input of",
            Relation::Output => "made",
            Relation::Parent => "parent of",
            Relation::Served => "served",
        }
    }
}

/// An edge: `from` flowed into `to`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
pub struct Edge {
    /// Upstream end.
    pub from: Node,
    /// Downstream end.
    pub to: Node,
    /// How.
    pub relation: Relation,
}

/// What a table or graph shows of an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventInfo {
    /// Seq.
    pub seq: u64,
    /// Event id.
    pub id: String,
    /// Sealed time (RFC 3339).
    pub time: String,
    /// Type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Name.
    pub name: String,
    /// Status.
    pub status: String,
    /// `model.name@model.version`, if any.
    pub model: Option<String>,
    /// Leaf hash, hex.
    pub leaf_hash: String,
}

/// The lineage of one target.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Graph {
    /// The target as resolved: the nodes the walk started from.
    pub targets: Vec<Node>,
    /// Every event on the graph, by seq.
    pub events: BTreeMap<u64, EventInfo>,
    /// Every artifact on the graph, by key (with the version, hash and kind records give).
    pub artifacts: BTreeMap<String, ArtifactInfo>,
    /// Every edge.
    pub edges: BTreeSet<Edge>,
    /// Where the walk listed only part: an artifact with more readers than
    /// [`LineageOptions::per_artifact`] (key → readers listed), or `(the walk)` when it stopped
    /// at [`LineageOptions::max_events`].
    pub truncated: BTreeMap<String, usize>,
}

/// An artifact as the graph shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ArtifactInfo {
    /// `dataset`, `model`, …
    pub kind: String,
    /// Name.
    pub name: String,
    /// Version.
    pub version: Option<String>,
    /// Content hash, if a record on the graph gives one.
    pub hash: Option<String>,
}

impl From<&Artifact> for ArtifactInfo {
    fn from(a: &Artifact) -> Self {
        ArtifactInfo {
            kind: a.kind.clone(),
            name: a.name.clone(),
            version: a.version.clone(),
            hash: a.hash.clone(),
        }
    }
}

impl Graph {
    /// The seqs of every event on the graph, in order.
    pub fn seqs(&self) -> Vec<u64> {
        self.events.keys().copied().collect()
    }
}
