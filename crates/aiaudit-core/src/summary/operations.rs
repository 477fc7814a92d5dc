//! What the operations report reads of a stretch of the log: every operation (or trail) with
//! its counts, names, regulations and state, and the seqs of its first events.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::{MAX_LISTED, add_counts, bump};
use crate::store::RecordHead;

/// The event type an `AuditTrail` records when it is closed; its `details.status` is the
/// operation's final status.
pub const CLOSED: &str = "audit_closed";

/// One operation: the events whose `operation.id` is its id, or, for a trail that gave only a
/// name, whose `operation.name` is its name and which give no id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperationUse {
    /// `operation.id` (`None` for an operation known by its name only).
    pub id: Option<String>,
    /// The names its events gave.
    pub names: BTreeSet<String>,
    /// Sealed time of its first event.
    pub first: String,
    /// Sealed time of its last event.
    pub last: String,
    /// Its events.
    pub count: u64,
    /// Its events by type.
    pub types: BTreeMap<String, u64>,
    /// Its events by status.
    pub statuses: BTreeMap<String, u64>,
    /// The regulations its events named.
    pub regulations: BTreeSet<String>,
    /// The status of its last `audit_closed` event (`closed` if that gave none).
    pub closed: Option<String>,
    /// The seqs of its first [`MAX_LISTED`] events as runs `[first seq, length]`.
    pub runs: Vec<[u64; 2]>,
}

impl OperationUse {
    /// The key it is found by: `id:<id>`, or `name:<name>` for one known by its name only.
    pub fn key(&self) -> String {
        match (&self.id, self.names.first()) {
            (Some(id), _) => format!("id:{id}"),
            (None, Some(name)) => format!("name:{name}"),
            (None, None) => String::new(),
        }
    }

    /// How many seqs [`OperationUse::runs`] holds.
    pub fn listed(&self) -> u64 {
        self.runs.iter().map(|r| r[1]).sum()
    }

    /// The listed seqs, oldest first.
    pub fn seqs(&self) -> impl Iterator<Item = u64> + '_ {
        self.runs.iter().flat_map(|[s, n]| *s..*s + *n)
    }

    fn list(&mut self, seq: u64) {
        if self.listed() >= MAX_LISTED as u64 {
            return;
        }
        match self.runs.last_mut() {
            Some([s, n]) if *s + *n == seq => *n += 1,
            _ => self.runs.push([seq, 1]),
        }
    }

    /// Adds what the same operation's events in a later stretch hold.
    pub fn merge(&mut self, later: &OperationUse) {
        for n in &later.names {
            if !self.names.contains(n) {
                self.names.insert(n.clone());
            }
        }
        self.last.clone_from(&later.last);
        self.count += later.count;
        add_counts(&mut self.types, &later.types);
        add_counts(&mut self.statuses, &later.statuses);
        for r in &later.regulations {
            if !self.regulations.contains(r) {
                self.regulations.insert(r.clone());
            }
        }
        if later.closed.is_some() {
            self.closed.clone_from(&later.closed);
        }
        let mut room = (MAX_LISTED as u64).saturating_sub(self.listed());
        for &[s, n] in &later.runs {
            if room == 0 {
                break;
            }
            let n = n.min(room);
            room -= n;
            match self.runs.last_mut() {
                Some([ms, mn]) if *ms + *mn == s => *mn += n,
                _ => self.runs.push([s, n]),
            }
        }
    }
}

/// The operations of a stretch of the log, in the order of their first event.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Operations {
    /// Events that name no operation (or one with neither id nor name).
    pub unattached: u64,
    /// The operations, in the order of their first event.
    pub list: Vec<OperationUse>,
    /// Position in `list` by key; rebuilt when it falls behind (after decoding).
    #[serde(skip)]
    index: HashMap<String, usize, foldhash::fast::RandomState>,
}

impl PartialEq for Operations {
    fn eq(&self, other: &Self) -> bool {
        self.unattached == other.unattached && self.list == other.list
    }
}

impl Operations {
    fn position(&mut self, key: &str) -> Option<usize> {
        if self.index.len() != self.list.len() {
            self.index = (self.list.iter().enumerate())
                .map(|(i, o)| (o.key(), i))
                .collect();
        }
        self.index.get(key).copied()
    }

    fn push(&mut self, key: String, op: OperationUse) -> usize {
        self.position(&key);
        self.index.insert(key, self.list.len());
        self.list.push(op);
        self.list.len() - 1
    }

    /// Adds a record.
    pub fn add(&mut self, h: &RecordHead<'_>) {
        let Some(op) = h.operation.as_ref() else {
            self.unattached += 1;
            return;
        };
        // Most records belong to the operation of the record before: found without a key.
        let same_as_last = self.list.last().is_some_and(|o| match (&op.id, &op.name) {
            (Some(id), _) => o.id.as_deref() == Some(id),
            (None, Some(name)) => {
                o.id.is_none() && o.names.first().map(String::as_str) == Some(name)
            }
            (None, None) => false,
        });
        let i = if same_as_last {
            self.list.len() - 1
        } else {
            let key = match (&op.id, &op.name) {
                (Some(id), _) => format!("id:{id}"),
                (None, Some(name)) => format!("name:{name}"),
                (None, None) => {
                    self.unattached += 1;
                    return;
                }
            };
            match self.position(&key) {
                Some(i) => i,
                None => self.push(
                    key,
                    OperationUse {
                        id: op.id.as_deref().map(str::to_owned),
                        names: BTreeSet::new(),
                        first: h.time.to_string(),
                        last: String::new(),
                        count: 0,
                        types: BTreeMap::new(),
                        statuses: BTreeMap::new(),
                        regulations: BTreeSet::new(),
                        closed: None,
                        runs: Vec::new(),
                    },
                ),
            }
        };
        let o = &mut self.list[i];
        if let Some(n) = op.name.as_deref()
            && !o.names.contains(n)
        {
            o.names.insert(n.to_owned());
        }
        o.last.clear();
        o.last.push_str(&h.time);
        o.count += 1;
        bump(&mut o.types, &h.kind);
        bump(&mut o.statuses, &h.status);
        for r in &h.regulations {
            if !o.regulations.contains(r.as_ref()) {
                o.regulations.insert(r.to_string());
            }
        }
        if h.kind == CLOSED {
            let status = h.detail().status;
            o.closed = Some(
                match status.and_then(|r| serde_json::from_str(r.get()).ok()) {
                    Some(Value::String(s)) => s,
                    None | Some(Value::Null) => "closed".to_owned(),
                    Some(other) => other.to_string(),
                },
            );
        }
        o.list(h.seq);
    }

    /// Adds what the stretch right after this one holds.
    pub fn merge(&mut self, later: &Operations) {
        self.unattached += later.unattached;
        for op in &later.list {
            let key = op.key();
            match self.position(&key) {
                Some(i) => self.list[i].merge(op),
                None => {
                    self.push(key, op.clone());
                }
            }
        }
    }
}
