//! The lineage report of a model version: its lineage graph (walked as `aiaudit lineage`
//! walks it) with predictions counted rather than listed, and the graph's evidence built and
//! checked against the latest signed checkpoint.

use std::collections::BTreeSet;

use aiaudit_core::event::types;
use aiaudit_core::lineage::Artifact;
use aiaudit_core::report::{
    LineageArtifact, LineageEdge, LineageEvidence, LineageGraph, LineageNode, LineageReport,
    LineageRun, PredictionUse,
};
use aiaudit_core::timefmt::format_rfc3339;
use aiaudit_core::{Query, RecordHead};

use super::fold::Plan;
use super::usage::model_use;
use crate::error::{Error, Result};
use crate::lineage::{Direction, Evidence, Graph, LineageOptions, Node, lineage};
use crate::reader::LogReader;

/// Predictions listed by the walk before the rest are only counted; the report counts them all
/// from the summaries.
const LISTED_PREDICTIONS: usize = 100;

const RUN_STARTED: &str = "run_started";

/// The types that end a run.
const RUN_ENDS: [&str; 3] = ["run_completed", "run_failed", "run_aborted"];

/// The id of the one node that stands for every prediction.
const PREDICTIONS: &str = "predictions";

/// Where `model@version` came from (trainings, their datasets, code and parents) and what came
/// of it (evaluations, deployments, predictions), each event with its leaf hash, and whether
/// the evidence of every event on the graph verifies against the latest signed checkpoint.
/// An error if the log names no such model version.
pub fn lineage_report(
    reader: &LogReader,
    model: &str,
    version: &str,
    now_ns: i64,
) -> Result<LineageReport> {
    let target = Artifact::new("model", model, Some(version)).key();
    let graph = lineage(
        reader,
        &target,
        &LineageOptions {
            direction: Direction::Both,
            per_artifact: LISTED_PREDICTIONS,
            ..LineageOptions::default()
        },
    )?;
    let usage = model_use(reader, model, None, &Plan::new())?;
    let predictions = usage
        .versions
        .get(version)
        .map(|v| PredictionUse {
            total: v.predictions,
            first: Some(v.first.clone()),
            last: Some(v.last.clone()),
        })
        .unwrap_or_default();
    let mut runs = Vec::new();
    for e in graph.events.values() {
        if e.kind == types::MODEL_INFERENCE {
            continue;
        }
        runs.push(LineageRun {
            seq: e.seq,
            time: e.time.clone(),
            kind: e.kind.clone(),
            name: e.name.clone(),
            status: e.status.clone(),
            leaf_hash: e.leaf_hash.clone(),
            ended: if e.kind == RUN_STARTED {
                Some(ended(reader, e.seq)?)
            } else {
                None
            },
        });
    }
    Ok(LineageReport {
        model: model.to_owned(),
        version: version.to_owned(),
        generated_at: format_rfc3339(now_ns),
        evidence: evidence(reader, &graph, &target)?,
        artifacts: graph
            .artifacts
            .iter()
            .map(|(key, a)| LineageArtifact {
                key: key.clone(),
                kind: a.kind.clone(),
                name: a.name.clone(),
                version: a.version.clone(),
                hash: a.hash.clone(),
            })
            .collect(),
        runs,
        predictions,
        truncated: graph
            .truncated
            .iter()
            .map(|(k, n)| (k.clone(), *n as u64))
            .collect(),
        graph: drawn(
            &graph,
            usage.versions.get(version).map_or(0, |v| v.predictions),
        ),
    })
}

/// Does the run that `run_started` at `seq` began have an end in the log?
fn ended(reader: &LogReader, seq: u64) -> Result<bool> {
    let entry = reader.get(seq)?;
    let head = RecordHead::parse(&entry.data).map_err(|e| Error::Inconsistent {
        path: "the log".into(),
        why: format!("seq {seq} is not a record ({e}); run `aiaudit verify`"),
    })?;
    let Some(run) = head.operation.as_ref().and_then(|o| o.id.as_deref()) else {
        return Ok(false);
    };
    for end in RUN_ENDS {
        let q = Query {
            operation: Some(run.to_owned()),
            kind: Some(end.to_owned()),
            after_seq: Some(seq),
            limit: 1,
            ..Query::default()
        };
        if !reader.query(&q)?.is_empty() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The evidence bundle `aiaudit lineage --prove` writes, built and checked here.
fn evidence(reader: &LogReader, graph: &Graph, target: &str) -> Result<LineageEvidence> {
    let key = reader.verifier()?.to_string();
    let bundle = Evidence::build(reader, graph, target)?;
    let cp = reader.checkpoint()?;
    let checked = bundle.verify(&reader.key_history()?.all());
    let (proven, events_proven, problem) = match checked {
        Ok(v) => (true, v.events as u64, None),
        Err(e @ Error::Core(_)) => (false, 0, Some(e.to_string())),
        Err(e) => return Err(e),
    };
    Ok(LineageEvidence {
        proven,
        events_proven,
        problem,
        checkpoint_size: cp.size,
        signed_at: format_rfc3339(cp.time_ns),
        prove_command: format!(
            "aiaudit lineage '{target}' --prove lineage.json && aiaudit verify-proof lineage.json --key '{key}'"
        ),
        verifier_key: key,
    })
}

/// The graph to draw: artifacts and non-prediction events as they are, every prediction folded
/// into one node.
fn drawn(graph: &Graph, predictions: u64) -> LineageGraph {
    let id = |n: &Node| match n {
        Node::Artifact { key } => key.clone(),
        Node::Event { seq } => match graph.events.get(seq) {
            Some(e) if e.kind == types::MODEL_INFERENCE => PREDICTIONS.to_owned(),
            _ => format!("seq:{seq}"),
        },
    };
    let mut nodes: Vec<LineageNode> = graph
        .artifacts
        .iter()
        .map(|(key, a)| LineageNode {
            id: key.clone(),
            label: match &a.version {
                Some(v) => format!("{} {}@{v}", a.kind, a.name),
                None => format!("{} {}", a.kind, a.name),
            },
            kind: a.kind.clone(),
        })
        .collect();
    let mut folded = false;
    for e in graph.events.values() {
        if e.kind == types::MODEL_INFERENCE {
            folded = true;
            continue;
        }
        nodes.push(LineageNode {
            id: format!("seq:{}", e.seq),
            label: format!("#{} {}", e.seq, e.name),
            kind: e.kind.clone(),
        });
    }
    if folded {
        nodes.push(LineageNode {
            id: PREDICTIONS.to_owned(),
            label: format!("{predictions} {PREDICTIONS}"),
            kind: PREDICTIONS.to_owned(),
        });
    }
    let mut edges: BTreeSet<(String, String, String)> = BTreeSet::new();
    for e in &graph.edges {
        let (from, to) = (id(&e.from), id(&e.to));
        if from != to {
            edges.insert((from, to, e.relation.name().to_owned()));
        }
    }
    LineageGraph {
        nodes,
        edges: edges
            .into_iter()
            .map(|(from, to, relation)| LineageEdge { from, to, relation })
            .collect(),
    }
}
