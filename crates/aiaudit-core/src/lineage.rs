//! Lineage as records declare it (docs/format.md §11): the artifacts — datasets, models, code,
//! pipelines, features — an event reads and writes, taken from its type, its `model` and a few
//! `details` members, by one set of rules shared by the writer (from the event) and every reader
//! (from the record), so that the index and `verify` agree.
//!
//! ```
//! use aiaudit_core::lineage::{Artifact, Role, links};
//! use serde_json::json;
//!
//! let details = json!({"inputs": [{"type": "dataset", "name": "loans", "version": "2024-06"}]});
//! let found = links("model_training", Some(("credit-risk", Some("2.3.0"))), &|k| details.get(k).cloned());
//! assert_eq!(found[0], (Role::Input, Artifact::new("dataset", "loans", Some("2024-06"))));
//! assert_eq!(found[1].1.key(), "model:credit-risk@2.3.0");
//! ```

use serde_json::Value;

/// Whether an event read an artifact or made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// The event read (used, served, evaluated) it.
    Input,
    /// The event produced it.
    Output,
}

/// A versioned thing lineage connects: its kind, name, and optionally version and content hash.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Artifact {
    /// `dataset`, `model`, `code`, `pipeline`, `feature` or another lowercase word.
    pub kind: String,
    /// Its name.
    pub name: String,
    /// Its version, if the record gives one.
    pub version: Option<String>,
    /// Its content hash (`sha256:…`), if the record gives one.
    pub hash: Option<String>,
}

/// The detail members lineage reads, besides `model`.
pub const LINEAGE_DETAILS: [&str; 7] = [
    "inputs",
    "outputs",
    "dataset",
    "dataset_name",
    "input_data",
    "output_data",
    "model_id",
];

impl Artifact {
    /// An artifact with no hash.
    pub fn new(kind: &str, name: &str, version: Option<&str>) -> Self {
        Artifact {
            kind: kind.to_owned(),
            name: name.to_owned(),
            version: version.map(str::to_owned),
            hash: None,
        }
    }

    /// The index key: `kind:name@version`, or `kind:name` without a version.
    pub fn key(&self) -> String {
        match &self.version {
            Some(v) => format!("{}:{}@{v}", self.kind, self.name),
            None => format!("{}:{}", self.kind, self.name),
        }
    }

    /// Parses a key or a target as a user writes it: `kind:name[@version]`, or `name@version`
    /// (a model), or a bare name (a dataset). `None` for an empty name.
    pub fn parse(text: &str) -> Option<Self> {
        let (kind, rest, explicit) = match text.split_once(':') {
            Some((k, r))
                if !k.is_empty() && k.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') =>
            {
                (k, r, true)
            }
            _ => ("", text, false),
        };
        let (name, version) = match rest.rsplit_once('@') {
            Some((n, v)) if !n.is_empty() && !v.is_empty() => (n, Some(v)),
            _ => (rest, None),
        };
        if name.is_empty() {
            return None;
        }
        let kind = match (explicit, version) {
            (true, _) => kind,
            (false, Some(_)) => "model",
            (false, None) => "dataset",
        };
        Some(Artifact::new(kind, name, version))
    }

    /// One entry of `details.inputs` / `details.outputs`: a string (a dataset name) or an
    /// object `{"type" (or "kind"), "name", "version"?, "hash"?}` (type `dataset` if absent).
    fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::String(s) if !s.is_empty() => Some(Artifact::new("dataset", s, None)),
            Value::Object(o) => {
                let text = |k: &str| o.get(k).and_then(Value::as_str).filter(|s| !s.is_empty());
                let name = text("name")?;
                let kind = text("type").or_else(|| text("kind")).unwrap_or("dataset");
                let mut a = Artifact::new(&kind.to_ascii_lowercase(), name, None);
                a.version = o.get("version").and_then(|v| match v {
                    Value::String(s) if !s.is_empty() => Some(s.clone()),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                });
                a.hash = text("hash").map(str::to_owned);
                Some(a)
            }
            _ => None,
        }
    }
}

/// Each artifact of a string-or-list member.
fn each(v: Option<Value>, f: &mut dyn FnMut(Artifact)) {
    match v {
        Some(Value::Array(items)) => items.iter().filter_map(Artifact::from_value).for_each(f),
        Some(one) => {
            if let Some(a) = Artifact::from_value(&one) {
                f(a)
            }
        }
        None => {}
    }
}

/// The artifacts an event of type `kind` with `model` (name, version) and details (`detail`
/// gives a member's value) reads and writes, inputs first, each once, in this order:
///
/// - `details.inputs` and `details.outputs` (strings are dataset names; objects name their type);
/// - `details.dataset`, `details.dataset_name`, `details.input_data`: datasets read (seed 004's
///   data access, transformation and training events); `details.output_data`: a dataset made;
/// - `details.model_id`: a model read (seed 004's inference events), when there is no `model`;
/// - `model`: made by a `model_training` event, read by every other type.
pub fn links(
    kind: &str,
    model: Option<(&str, Option<&str>)>,
    detail: &dyn Fn(&str) -> Option<Value>,
) -> Vec<(Role, Artifact)> {
    let mut inputs: Vec<Artifact> = Vec::new();
    let mut outputs: Vec<Artifact> = Vec::new();
    each(detail("inputs"), &mut |a| inputs.push(a));
    for k in ["dataset", "dataset_name", "input_data"] {
        each(detail(k), &mut |a| inputs.push(a));
    }
    each(detail("outputs"), &mut |a| outputs.push(a));
    each(detail("output_data"), &mut |a| outputs.push(a));
    match model {
        Some((name, version)) if !name.is_empty() => {
            let m = Artifact::new("model", name, version);
            match model_role(kind) {
                Role::Output => outputs.push(m),
                Role::Input => inputs.push(m),
            }
        }
        _ => {
            if let Some(Value::String(id)) = detail("model_id")
                && !id.is_empty()
            {
                inputs.push(Artifact::new("model", &id, None));
            }
        }
    }
    let mut out: Vec<(Role, Artifact)> = Vec::with_capacity(inputs.len() + outputs.len());
    for (role, list) in [(Role::Input, inputs), (Role::Output, outputs)] {
        for a in list {
            // The same key: the same kind, name and version (a hash does not name another).
            let same =
                |b: &Artifact| (&b.kind, &b.name, &b.version) == (&a.kind, &a.name, &a.version);
            if !out.iter().any(|(r, b)| *r == role && same(b)) {
                out.push((role, a));
            }
        }
    }
    out
}

/// What a record's `model` is to it: made by a `model_training` record, read by any other.
fn model_role(kind: &str) -> Role {
    if kind == "model_training" {
        Role::Output
    } else {
        Role::Input
    }
}

/// [`keys`] of [`links`]. A record that names no lineage detail — a prediction, with only its
/// model — gets its one key without the links being built: this runs for every event the
/// writer seals and every record a reader derives.
pub fn index_keys(
    kind: &str,
    model: Option<(&str, Option<&str>)>,
    detail: &dyn Fn(&str) -> Option<Value>,
) -> Vec<String> {
    if LINEAGE_DETAILS.iter().any(|k| detail(k).is_some()) {
        return keys(&links(kind, model, detail));
    }
    match model {
        Some((name, version)) if !name.is_empty() => {
            let role = model_role(kind).field();
            vec![match version {
                Some(v) => format!("{role}:model:{name}@{v}"),
                None => format!("{role}:model:{name}"),
            }]
        }
        _ => Vec::new(),
    }
}

impl Role {
    /// The posting-list field of the role: `uses` or `makes`.
    pub fn field(self) -> &'static str {
        match self {
            Role::Input => "uses",
            Role::Output => "makes",
        }
    }
}

/// The index values of [`links`]: `uses:` or `makes:` and the artifact's [`Artifact::key`], each
/// once. Roles are kept apart so that the one training run that made a model is found without
/// reading the million predictions that use it.
pub fn keys(links: &[(Role, Artifact)]) -> Vec<String> {
    let mut keys: Vec<String> = Vec::with_capacity(links.len());
    for (role, a) in links {
        let k = format!("{}:{}", role.field(), a.key());
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    keys
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use serde_json::json;

    fn of(kind: &str, model: Option<(&str, Option<&str>)>, details: Value) -> Vec<(Role, String)> {
        links(kind, model, &|k| details.get(k).cloned())
            .into_iter()
            .map(|(r, a)| (r, a.key()))
            .collect()
    }

    #[test]
    fn seed_004_events_become_lineage() {
        assert_eq!(
            of(
                "data_transformation",
                None,
                json!({"input_data": "raw_loans", "output_data": "clean_loans"})
            ),
            vec![
                (Role::Input, "dataset:raw_loans".into()),
                (Role::Output, "dataset:clean_loans".into())
            ]
        );
        assert_eq!(
            of(
                "model_training",
                Some(("cr", Some("2"))),
                json!({"dataset_name": "clean_loans"})
            ),
            vec![
                (Role::Input, "dataset:clean_loans".into()),
                (Role::Output, "model:cr@2".into())
            ]
        );
        assert_eq!(
            of("model_inference", None, json!({"model_id": "cr-v2"})),
            vec![(Role::Input, "model:cr-v2".into())]
        );
        assert_eq!(
            of(
                "model_inference",
                Some(("cr", Some("2"))),
                json!({"model_id": "ignored"})
            ),
            vec![(Role::Input, "model:cr@2".into())]
        );
    }

    #[test]
    fn declared_artifacts_keep_type_version_and_hash_and_repeat_once() {
        let details = json!({
            "inputs": ["a", {"type": "Code", "name": "etl", "version": 3, "hash": "sha256:00"}, 7, {"version": "x"}],
            "outputs": [{"name": "b", "version": "1"}],
            "dataset": "a",
        });
        let found = links("run", None, &|k| details.get(k).cloned());
        let keys: Vec<String> = found.iter().map(|(_, a)| a.key()).collect();
        assert_eq!(keys, ["dataset:a", "code:etl@3", "dataset:b@1"]);
        assert_eq!(found[1].1.hash.as_deref(), Some("sha256:00"));
        assert_eq!(
            self::keys(&found),
            ["uses:dataset:a", "uses:code:etl@3", "makes:dataset:b@1"]
        );
    }

    #[test]
    fn index_keys_are_the_keys_of_the_links() {
        let cases = [
            ("model_inference", Some(("cr", Some("2"))), json!({})),
            ("model_training", Some(("cr", Some("2"))), json!({})),
            (
                "deployment",
                Some(("cr", None)),
                json!({"environment": "prod"}),
            ),
            ("drift", None, json!({})),
            ("model_inference", Some(("", None)), json!({})),
            (
                "model_training",
                Some(("cr", Some("2"))),
                json!({"inputs": ["d"]}),
            ),
            ("model_inference", None, json!({"model_id": "m"})),
        ];
        for (kind, model, details) in cases {
            let detail = |k: &str| details.get(k).cloned();
            assert_eq!(
                index_keys(kind, model, &detail),
                keys(&links(kind, model, &detail)),
                "{kind} {model:?} {details}"
            );
        }
    }

    #[test]
    fn targets_parse_as_users_write_them() {
        assert_eq!(
            Artifact::parse("credit-risk@2.3.0").unwrap().key(),
            "model:credit-risk@2.3.0"
        );
        assert_eq!(Artifact::parse("loans").unwrap().key(), "dataset:loans");
        assert_eq!(Artifact::parse("code:etl@3").unwrap().key(), "code:etl@3");
        assert_eq!(
            Artifact::parse("s3://bucket/x").unwrap().key(),
            "dataset:s3://bucket/x"
        );
        assert!(Artifact::parse("").is_none());
        assert!(Artifact::parse("model:").is_none());
    }
}
