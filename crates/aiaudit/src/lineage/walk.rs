//! Walking the lineage index from a target: upstream through what each event read, its
//! `parent` and a prediction's deployment; downstream through what each event made and who read
//! it. Every hop is an index lookup (`uses:`/`makes:` posting lists, an id, a seq), so the walk
//! reads the records on the graph and few others.

use std::collections::{BTreeSet, VecDeque};

use aiaudit_core::lineage::{Artifact, Role};
use aiaudit_core::{Query, RecordHead, StoredEntry};

use super::{ArtifactInfo, Edge, EventInfo, Graph, Node, Relation};
use crate::error::{Error, Result};
use crate::reader::LogReader;

/// Which way to walk from the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    /// What the target came from.
    Upstream,
    /// What came of the target.
    Downstream,
    /// Both.
    #[default]
    Both,
}

/// Bounds of a walk.
#[derive(Debug, Clone)]
pub struct LineageOptions {
    /// Which way.
    pub direction: Direction,
    /// Readers listed per artifact walking downstream (a model version may have millions of
    /// predictions); the rest are counted in [`Graph::truncated`].
    pub per_artifact: usize,
    /// Events on the graph at most; the walk stops there and says so.
    pub max_events: usize,
}

impl Default for LineageOptions {
    fn default() -> Self {
        LineageOptions {
            direction: Direction::Both,
            per_artifact: 100,
            max_events: 10_000,
        }
    }
}

/// A place the walk goes on from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Step {
    Up(Node),
    Down(Node),
}

struct Walk<'r> {
    reader: &'r LogReader,
    opts: &'r LineageOptions,
    graph: Graph,
    queue: VecDeque<Step>,
    seen: BTreeSet<Step>,
}

/// The lineage of `target`: a seq, an event id, a request (operation) id, or an artifact
/// (`kind:name[@version]`, `name@version` for a model version, or a dataset's name).
pub fn lineage(reader: &LogReader, target: &str, opts: &LineageOptions) -> Result<Graph> {
    let mut w = Walk {
        reader,
        opts,
        graph: Graph::default(),
        queue: VecDeque::new(),
        seen: BTreeSet::new(),
    };
    for node in w.resolve(target)? {
        w.graph.targets.push(node.clone());
        if opts.direction != Direction::Downstream {
            w.push(Step::Up(node.clone()));
        }
        if opts.direction != Direction::Upstream {
            w.push(Step::Down(node));
        }
    }
    while let Some(step) = w.queue.pop_front() {
        if w.graph.events.len() >= opts.max_events {
            w.graph
                .truncated
                .insert("(the walk)".into(), w.graph.events.len());
            break;
        }
        match step {
            Step::Up(Node::Event { seq }) => w.event_up(seq)?,
            Step::Up(Node::Artifact { key }) => w.artifact_up(&key)?,
            Step::Down(Node::Event { seq }) => w.event_down(seq)?,
            Step::Down(Node::Artifact { key }) => w.artifact_down(&key)?,
        }
    }
    Ok(w.graph)
}

fn damaged(seq: u64, why: &str) -> Error {
    Error::Inconsistent {
        path: "the log".into(),
        why: format!(
            "seq {seq} {why}: the lineage through it cannot be shown (run `aiaudit verify`)"
        ),
    }
}

/// Refuses an entry whose record is not what its leaf hash commits to, or not a record.
fn check(e: &StoredEntry) -> Result<()> {
    if aiaudit_core::leaf_hash(&e.data) != e.leaf_hash {
        return Err(damaged(e.seq, "does not match its leaf hash"));
    }
    if RecordHead::parse(&e.data).is_err() {
        return Err(damaged(e.seq, "is not a record"));
    }
    Ok(())
}

fn artifact_of(key: &str) -> Result<Artifact> {
    Artifact::parse(key).ok_or_else(|| Error::NotFound(format!("{key:?} names no artifact")))
}

impl Walk<'_> {
    fn push(&mut self, step: Step) {
        if self.seen.insert(step.clone()) {
            self.queue.push_back(step);
        }
    }

    /// The first `limit` entries matching `q`. Every entry the index names is checked against
    /// its leaf hash first: a damaged record would otherwise drop out of the graph unseen.
    fn find(&self, mut q: Query, limit: usize) -> Result<Vec<StoredEntry>> {
        q.limit = 0;
        let mut out = Vec::new();
        if limit == 0 {
            return Ok(out);
        }
        self.reader.candidates(&q, &mut |raw| {
            check(&raw)?;
            let e = StoredEntry::from_stored(raw.seq, raw.time_ns, raw.leaf_hash, raw.data);
            if q.matches(&e) {
                out.push(e);
            }
            Ok(out.len() < limit)
        })?;
        Ok(out)
    }

    /// The nodes `target` names; an error naming it if none.
    fn resolve(&mut self, target: &str) -> Result<Vec<Node>> {
        let target = target.trim();
        if let Ok(seq) = target.parse::<u64>() {
            let e = self.reader.get(seq)?;
            return Ok(vec![self.add_event(&e)?]);
        }
        if uuid::Uuid::try_parse(target).is_ok()
            && let Ok(e) = self.reader.get_by_id(target)
        {
            return Ok(vec![self.add_event(&e)?]);
        }
        // A request id: the operation its events share.
        let ops = self.find(
            Query {
                operation: Some(target.to_owned()),
                ..Query::default()
            },
            self.opts.per_artifact,
        )?;
        if !ops.is_empty() {
            return ops.iter().map(|e| self.add_event(e)).collect();
        }
        if let Some(a) = Artifact::parse(target) {
            let key = a.key();
            let known = !self
                .find(
                    Query {
                        uses: Some(key.clone()),
                        ..Query::default()
                    },
                    1,
                )?
                .is_empty()
                || !self
                    .find(
                        Query {
                            makes: Some(key.clone()),
                            ..Query::default()
                        },
                        1,
                    )?
                    .is_empty();
            if known {
                self.graph
                    .artifacts
                    .entry(key.clone())
                    .or_insert_with(|| ArtifactInfo::from(&a));
                return Ok(vec![Node::Artifact { key }]);
            }
        }
        Err(Error::NotFound(format!(
            "no event, request or artifact {target:?} in the log (give a seq, an event id, a request id, model@version, kind:name[@version] or a dataset name)"
        )))
    }

    /// Puts the event on the graph; its node.
    fn add_event(&mut self, e: &StoredEntry) -> Result<Node> {
        if let std::collections::btree_map::Entry::Vacant(slot) = self.graph.events.entry(e.seq) {
            check(e)?;
            let h = RecordHead::parse(&e.data)
                .map_err(|err| damaged(e.seq, &format!("is not a record ({err})")))?;
            let model = h.model.as_ref().map(|m| match &m.version {
                Some(v) => format!("{}@{v}", m.name),
                None => m.name.to_string(),
            });
            slot.insert(EventInfo {
                seq: e.seq,
                id: h.id.to_string(),
                time: h.time.to_string(),
                kind: h.kind.to_string(),
                name: h.name.to_string(),
                status: h.status.to_string(),
                model,
                leaf_hash: hex::encode(e.leaf_hash),
            });
        }
        Ok(Node::Event { seq: e.seq })
    }

    fn add_artifact(&mut self, a: &Artifact) -> Node {
        let key = a.key();
        let info = self
            .graph
            .artifacts
            .entry(key.clone())
            .or_insert_with(|| ArtifactInfo::from(a));
        if info.hash.is_none() {
            info.hash.clone_from(&a.hash);
        }
        Node::Artifact { key }
    }

    fn edge(&mut self, from: Node, to: Node, relation: Relation) {
        self.graph.edges.insert(Edge { from, to, relation });
    }

    fn links(e: &StoredEntry) -> Vec<(Role, Artifact)> {
        RecordHead::parse(&e.data)
            .map(|h| h.links())
            .unwrap_or_default()
    }

    fn event_up(&mut self, seq: u64) -> Result<()> {
        let e = self.reader.get(seq)?;
        let me = Node::Event { seq };
        let links = Self::links(&e);
        for (role, a) in &links {
            let node = self.add_artifact(a);
            match role {
                Role::Input => {
                    self.edge(node.clone(), me.clone(), Relation::Input);
                    self.push(Step::Up(node));
                }
                Role::Output => self.edge(me.clone(), node, Relation::Output),
            }
        }
        let record: serde_json::Value = serde_json::from_slice(&e.data).unwrap_or_default();
        if let Some(parent) = record.get("parent").and_then(serde_json::Value::as_str)
            && let Ok(p) = self.reader.get_by_id(parent)
        {
            let node = self.add_event(&p)?;
            self.edge(node.clone(), me.clone(), Relation::Parent);
            self.push(Step::Up(node));
        }
        if e.kind == "model_inference" {
            // The deployment of the model version that served it: the last one before it.
            for (_, a) in links
                .iter()
                .filter(|(r, a)| *r == Role::Input && a.kind == "model")
            {
                let found = self.find(
                    Query {
                        kind: Some("deployment".into()),
                        uses: Some(a.key()),
                        before_seq: Some(seq),
                        descending: true,
                        ..Query::default()
                    },
                    1,
                )?;
                if let Some(d) = found.first() {
                    let node = self.add_event(d)?;
                    self.edge(node.clone(), me.clone(), Relation::Served);
                    self.push(Step::Up(node));
                }
            }
        }
        Ok(())
    }

    fn artifact_up(&mut self, key: &str) -> Result<()> {
        let a = artifact_of(key)?;
        let me = Node::Artifact {
            key: key.to_owned(),
        };
        let makers = self.find(
            Query {
                makes: Some(key.to_owned()),
                ..Query::default()
            },
            self.opts.per_artifact,
        )?;
        for m in &makers {
            let node = self.add_event(m)?;
            self.edge(node.clone(), me.clone(), Relation::Output);
            self.push(Step::Up(node));
        }
        if a.kind == "model" {
            // What vouched for the model before it served: its evaluations and deployments.
            for kind in ["evaluation", "deployment"] {
                let readers = self.find(
                    Query {
                        kind: Some(kind.into()),
                        uses: Some(key.to_owned()),
                        ..Query::default()
                    },
                    self.opts.per_artifact,
                )?;
                for r in &readers {
                    let node = self.add_event(r)?;
                    self.edge(me.clone(), node.clone(), Relation::Input);
                    self.push(Step::Up(node));
                }
            }
        }
        Ok(())
    }

    fn event_down(&mut self, seq: u64) -> Result<()> {
        let e = self.reader.get(seq)?;
        let me = Node::Event { seq };
        for (role, a) in Self::links(&e) {
            if role == Role::Output {
                let node = self.add_artifact(&a);
                self.edge(me.clone(), node.clone(), Relation::Output);
                self.push(Step::Down(node));
            }
        }
        Ok(())
    }

    fn artifact_down(&mut self, key: &str) -> Result<()> {
        let me = Node::Artifact {
            key: key.to_owned(),
        };
        let per = self.opts.per_artifact;
        let readers = self.find(
            Query {
                uses: Some(key.to_owned()),
                ..Query::default()
            },
            per + 1,
        )?;
        if readers.len() > per {
            self.graph.truncated.insert(key.to_owned(), per);
        }
        for r in readers.iter().take(per) {
            let node = self.add_event(r)?;
            self.edge(me.clone(), node.clone(), Relation::Input);
            self.push(Step::Down(node));
        }
        Ok(())
    }
}
