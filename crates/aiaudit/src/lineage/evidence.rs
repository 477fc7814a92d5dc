//! Lineage evidence: every event of a graph with its inclusion proof against one signed
//! checkpoint, and the graph's edges, in one JSON file that `aiaudit verify-proof` checks with
//! the log's verifier key alone — each record against the checkpoint, and each edge against the
//! records it joins (docs/format.md §11).

use std::collections::BTreeMap;

use aiaudit_core::lineage::Role;
use aiaudit_core::{Checkpoint, InclusionBundle, NoteKeys, RecordHead};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};

use super::{Edge, Graph, Node, Relation};
use crate::error::{Error, Result};
use crate::reader::LogReader;

/// The `format` member of an evidence file.
pub const EVIDENCE_FORMAT: &str = "aiaudit-lineage-evidence/v1";

/// One event of the evidence: its record and its inclusion proof.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceEntry {
    /// Seq.
    pub seq: u64,
    /// The record (leaf data), base64.
    pub record: String,
    /// The audit path to the checkpoint's root, base64 hashes.
    pub proof: Vec<String>,
}

/// A lineage graph with the proofs of its events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// [`EVIDENCE_FORMAT`].
    pub format: String,
    /// The target the graph was walked from, as given.
    pub target: String,
    /// The signed checkpoint every proof is against.
    pub checkpoint: String,
    /// The events, by seq.
    pub entries: Vec<EvidenceEntry>,
    /// The graph's edges.
    pub edges: Vec<Edge>,
}

/// What a verified evidence file shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedEvidence {
    /// The checkpoint the proofs are against.
    pub checkpoint: Checkpoint,
    /// Events proven.
    pub events: usize,
    /// Edges checked against their records.
    pub edges: usize,
}

fn bad(why: String) -> Error {
    Error::Core(aiaudit_core::Error::Malformed {
        what: "lineage evidence",
        why,
    })
}

impl Evidence {
    /// The evidence of `graph` (walked from `target`) against the log's latest checkpoint.
    pub fn build(reader: &LogReader, graph: &Graph, target: &str) -> Result<Self> {
        let cp = reader.checkpoint()?;
        let mut entries = Vec::with_capacity(graph.events.len());
        for &seq in graph.events.keys() {
            let b = reader.prove(seq, Some(cp.size))?;
            entries.push(EvidenceEntry {
                seq,
                record: B64.encode(b.leaf_data.unwrap_or_default()),
                proof: b.proof.iter().map(|h| B64.encode(h)).collect(),
            });
        }
        Ok(Evidence {
            format: EVIDENCE_FORMAT.into(),
            target: target.to_owned(),
            checkpoint: cp.note,
            entries,
            edges: graph.edges.iter().cloned().collect(),
        })
    }

    /// The file's text: pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Parses an evidence file.
    pub fn parse(text: &str) -> Result<Self> {
        let e: Evidence = serde_json::from_str(text)
            .map_err(|err| bad(format!("not lineage evidence: {err}")))?;
        if e.format != EVIDENCE_FORMAT {
            return Err(bad(format!(
                "format {:?} is not {EVIDENCE_FORMAT}",
                e.format
            )));
        }
        Ok(e)
    }

    /// Checks every record against the checkpoint (signed by `verifier`) and every edge against
    /// the records it joins: an artifact edge must be a link its event's record declares, a
    /// `parent` edge must join a record to the one its `parent` names, and a `served` edge a
    /// deployment of a prediction's model version made before it.
    pub fn verify(&self, verifier: &(impl NoteKeys + ?Sized)) -> Result<VerifiedEvidence> {
        let checkpoint = Checkpoint::open(&self.checkpoint, verifier)?;
        let mut records: BTreeMap<u64, serde_json::Value> = BTreeMap::new();
        let mut links: BTreeMap<u64, Vec<(Role, String)>> = BTreeMap::new();
        for e in &self.entries {
            let data = B64
                .decode(&e.record)
                .map_err(|err| bad(format!("the record of seq {} is not base64: {err}", e.seq)))?;
            let proof = e
                .proof
                .iter()
                .map(|h| {
                    B64.decode(h)
                        .ok()
                        .and_then(|b| <[u8; 32]>::try_from(b).ok())
                        .ok_or_else(|| {
                            bad(format!(
                                "a proof hash of seq {} is not 32 bytes of base64",
                                e.seq
                            ))
                        })
                })
                .collect::<Result<Vec<_>>>()?;
            InclusionBundle {
                leaf_data: Some(data.clone()),
                index: e.seq,
                proof,
                checkpoint_note: self.checkpoint.clone(),
            }
            .verify(verifier)
            .map_err(|err| bad(format!("seq {}: {err}", e.seq)))?;
            let head = RecordHead::parse(&data)
                .map_err(|err| bad(format!("seq {} is not an aiaudit record: {err}", e.seq)))?;
            if head.seq != e.seq {
                return Err(bad(format!(
                    "the record proven at seq {} says seq {}",
                    e.seq, head.seq
                )));
            }
            links.insert(
                e.seq,
                head.links()
                    .into_iter()
                    .map(|(r, a)| (r, a.key()))
                    .collect(),
            );
            records.insert(
                e.seq,
                serde_json::from_slice(&data)
                    .map_err(|err| bad(format!("seq {}: {err}", e.seq)))?,
            );
        }
        let record = |seq: &u64| {
            records.get(seq).ok_or_else(|| {
                bad(format!(
                    "an edge names seq {seq}, which the evidence does not prove"
                ))
            })
        };
        let text =
            |v: &serde_json::Value, k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_owned);
        for edge in &self.edges {
            let wrong = || bad(format!("the edge {edge:?} is not what its records say"));
            match (&edge.from, &edge.to, edge.relation) {
                (Node::Artifact { key }, Node::Event { seq }, Relation::Input) => {
                    record(seq)?;
                    if !links[seq].contains(&(Role::Input, key.clone())) {
                        return Err(wrong());
                    }
                }
                (Node::Event { seq }, Node::Artifact { key }, Relation::Output) => {
                    record(seq)?;
                    if !links[seq].contains(&(Role::Output, key.clone())) {
                        return Err(wrong());
                    }
                }
                (Node::Event { seq: p }, Node::Event { seq: c }, Relation::Parent) => {
                    if text(record(c)?, "parent") != text(record(p)?, "id") {
                        return Err(wrong());
                    }
                }
                (Node::Event { seq: d }, Node::Event { seq: p }, Relation::Served) => {
                    let (dep, pred) = (record(d)?, record(p)?);
                    let model = |v: &serde_json::Value| v.get("model").cloned();
                    if d >= p
                        || text(dep, "type").as_deref() != Some("deployment")
                        || model(dep).is_none()
                        || model(dep) != model(pred)
                    {
                        return Err(wrong());
                    }
                }
                _ => return Err(wrong()),
            }
        }
        Ok(VerifiedEvidence {
            checkpoint,
            events: self.entries.len(),
            edges: self.edges.len(),
        })
    }
}
