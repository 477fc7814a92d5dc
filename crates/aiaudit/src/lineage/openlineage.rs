//! OpenLineage out: records as OpenLineage RunEvents (spec 2-0-2), one JSON object per line,
//! each carrying the custom run facet `aiaudit_proof` with what proves it: the record's bytes,
//! seq, leaf hash, inclusion proof and the signed checkpoint it is proven against
//! (docs/format.md §11). A record that came in as an OpenLineage RunEvent goes out as it was
//! kept, with the facet added; any other record with lineage is mapped: its operation becomes
//! the run, what it read and made the input and output datasets.

use std::io::Write;

use aiaudit_core::lineage::{Artifact, Role};
use aiaudit_core::{Query, RecordHead, StoredEntry};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Map, Value, json};

use crate::error::{Error, Result};
use crate::reader::LogReader;

/// The RunEvent schema the events follow.
pub const RUN_EVENT_SCHEMA: &str =
    "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent";

/// The key of the proof facet in `run.facets`.
pub const PROOF_FACET: &str = "aiaudit_proof";

/// The producer URI every exported event and facet names.
pub fn producer() -> String {
    format!(
        "{}/tree/v{}",
        env!("CARGO_PKG_REPOSITORY"),
        env!("CARGO_PKG_VERSION")
    )
}

/// The JSON Schema of the proof facet (docs/openlineage/aiaudit-proof-run-facet.json).
pub fn proof_facet_schema() -> String {
    format!(
        "{}/blob/v{}/docs/openlineage/aiaudit-proof-run-facet.json#/$defs/AiauditProofRunFacet",
        env!("CARGO_PKG_REPOSITORY"),
        env!("CARGO_PKG_VERSION")
    )
}

const DATASET_VERSION_SCHEMA: &str = "https://openlineage.io/spec/facets/1-0-1/DatasetVersionDatasetFacet.json#/$defs/DatasetVersionDatasetFacet";
const JOB_TYPE_SCHEMA: &str =
    "https://openlineage.io/spec/facets/2-0-4/JobTypeJobFacet.json#/$defs/JobTypeJobFacet";

/// What an export wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExportCount {
    /// RunEvents written.
    pub events: u64,
    /// Matching records left out: no lineage and not a run.
    pub skipped: u64,
    /// The checkpoint's size: records at or past it are not in it yet and not written.
    pub checkpoint_size: u64,
}

/// Writes every record matching `q` that has lineage (it read or made an artifact) or is an
/// OpenLineage run, as one RunEvent per line, proven against the latest signed checkpoint;
/// `progress` is called with each record's seq.
pub fn export_openlineage(
    reader: &LogReader,
    q: &Query,
    out: &mut dyn Write,
    progress: &mut dyn FnMut(u64),
) -> Result<ExportCount> {
    let cp = reader.checkpoint()?;
    let mut q = q.clone();
    q.before_seq = Some(q.before_seq.map_or(cp.size, |b| b.min(cp.size)));
    let limit = q.limit;
    q.limit = 0;
    let origin = reader.info().origin.clone();
    let mut count = ExportCount {
        checkpoint_size: cp.size,
        ..ExportCount::default()
    };
    let mut line = Vec::with_capacity(4096);
    reader.candidates(&q, &mut |raw| {
        let e = StoredEntry::from_stored(raw.seq, raw.time_ns, raw.leaf_hash, raw.data);
        if !q.matches(&e) {
            return Ok(true);
        }
        progress(e.seq);
        let Some(mut event) = run_event(&e, &origin)? else {
            count.skipped += 1;
            return Ok(true);
        };
        let proof = reader.prove(e.seq, Some(cp.size))?;
        let facet = json!({
            "_producer": producer(),
            "_schemaURL": proof_facet_schema(),
            "origin": origin,
            "seq": e.seq,
            "eventId": e.id,
            "leafHash": hex::encode(e.leaf_hash),
            "record": B64.encode(&e.data),
            "treeSize": cp.size,
            "inclusionProof": proof.proof.iter().map(|h| B64.encode(h)).collect::<Vec<_>>(),
            "checkpoint": cp.note,
        });
        let facets = event
            .pointer_mut("/run")
            .and_then(Value::as_object_mut)
            .map(|run| run.entry("facets").or_insert_with(|| json!({})));
        match facets {
            Some(Value::Object(f)) => {
                f.insert(PROOF_FACET.into(), facet);
            }
            _ => {
                return Err(Error::Inconsistent {
                    path: "the log".into(),
                    why: format!(
                        "seq {} keeps an OpenLineage event without run facets",
                        e.seq
                    ),
                });
            }
        }
        line.clear();
        serde_json::to_writer(&mut line, &event).map_err(|err| io(err.into()))?;
        line.push(b'\n');
        out.write_all(&line).map_err(io)?;
        count.events += 1;
        Ok(limit == 0 || count.events < limit as u64)
    })?;
    out.flush().map_err(io)?;
    Ok(count)
}

fn io(source: std::io::Error) -> Error {
    Error::Io {
        path: "the export".into(),
        source,
    }
}

/// The RunEvent of a record, without the proof facet; `None` for a record with no lineage that
/// is not a run.
pub fn run_event(e: &StoredEntry, origin: &str) -> Result<Option<Value>> {
    let record: Value = serde_json::from_slice(&e.data).map_err(|err| Error::Inconsistent {
        path: "the log".into(),
        why: format!(
            "seq {} is not a JSON record ({err}); run `aiaudit verify`",
            e.seq
        ),
    })?;
    // A RunEvent that came in through POST /api/v1/lineage goes out as it was kept.
    if let Some(kept) = record.pointer("/details/openlineage")
        && kept.get("run").is_some_and(Value::is_object)
    {
        return Ok(Some(kept.clone()));
    }
    let head = RecordHead::parse(&e.data).map_err(|err| Error::Inconsistent {
        path: "the log".into(),
        why: format!(
            "seq {} is not a record ({err}); run `aiaudit verify`",
            e.seq
        ),
    })?;
    let links = head.links();
    if links.is_empty() && !head.kind.starts_with("run_") {
        return Ok(None);
    }
    let (inputs, outputs): (Vec<_>, Vec<_>) = links.iter().partition(|(r, _)| *r == Role::Input);
    let datasets = |v: Vec<&(Role, Artifact)>| {
        v.into_iter()
            .map(|(_, a)| dataset(a, origin))
            .collect::<Vec<_>>()
    };
    let time = record
        .get("occurred")
        .and_then(Value::as_str)
        .unwrap_or(&head.time);
    let job = head
        .operation
        .as_ref()
        .and_then(|o| o.name.as_deref())
        .unwrap_or(&head.name);
    Ok(Some(json!({
        "eventType": event_type(&head.kind, &head.status),
        "eventTime": time,
        "producer": producer(),
        "schemaURL": RUN_EVENT_SCHEMA,
        "run": {"runId": run_id(&head, origin), "facets": {}},
        "job": {
            "namespace": origin,
            "name": job,
            "facets": {"jobType": {
                "_producer": producer(),
                "_schemaURL": JOB_TYPE_SCHEMA,
                "processingType": "BATCH",
                "integration": "AIAUDIT",
                "jobType": head.kind.to_uppercase(),
            }},
        },
        "inputs": datasets(inputs),
        "outputs": datasets(outputs),
    })))
}

/// START, RUNNING, COMPLETE, ABORT, FAIL or OTHER: a run's lifecycle type says it; any other
/// record is a run that completed, or failed at FAILURE and worse.
fn event_type(kind: &str, status: &str) -> &'static str {
    match kind {
        "run_started" => "START",
        "run_running" => "RUNNING",
        "run_completed" => "COMPLETE",
        "run_aborted" => "ABORT",
        "run_failed" => "FAIL",
        "run_event" => "OTHER",
        _ if matches!(status, "FAILURE" | "CRITICAL") => "FAIL",
        _ => "COMPLETE",
    }
}

/// The run: the operation id when it is a UUID; else a UUID derived from the origin and the
/// operation id, so every record of one operation names one run; else the event's own id.
fn run_id(head: &RecordHead<'_>, origin: &str) -> String {
    match head.operation.as_ref().and_then(|o| o.id.as_deref()) {
        Some(op) if uuid::Uuid::try_parse(op).is_ok() => op.to_owned(),
        Some(op) => {
            let mut seed = Vec::with_capacity(origin.len() + op.len() + 16);
            seed.extend_from_slice(b"aiaudit run\0");
            seed.extend_from_slice(origin.as_bytes());
            seed.push(0);
            seed.extend_from_slice(op.as_bytes());
            let h = aiaudit_core::sha256(&seed);
            let mut bytes = [0u8; 16];
            bytes.copy_from_slice(&h[..16]);
            uuid::Builder::from_custom_bytes(bytes)
                .into_uuid()
                .hyphenated()
                .to_string()
        }
        None => head.id.to_string(),
    }
}

/// An artifact as an OpenLineage dataset: a URI name splits into its source (scheme and
/// authority) and path, as OpenLineage's naming says; any other name lives in the log's
/// namespace, prefixed with its kind unless it is a dataset. The version becomes the
/// `version` facet.
fn dataset(a: &Artifact, origin: &str) -> Value {
    let (namespace, name) = match a.name.split_once("://") {
        Some((scheme, rest)) if !scheme.is_empty() && !scheme.contains('/') => {
            match rest.split_once('/') {
                Some((authority, path)) if !path.is_empty() => {
                    (format!("{scheme}://{authority}"), path.to_owned())
                }
                _ => (format!("{scheme}://{rest}"), "/".to_owned()),
            }
        }
        _ if a.kind == "dataset" => (origin.to_owned(), a.name.clone()),
        _ => (origin.to_owned(), format!("{}:{}", a.kind, a.name)),
    };
    let mut facets = Map::new();
    if let Some(v) = &a.version {
        facets.insert(
            "version".into(),
            json!({"_producer": producer(), "_schemaURL": DATASET_VERSION_SCHEMA, "datasetVersion": v}),
        );
    }
    json!({"namespace": namespace, "name": name, "facets": facets})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_split_as_openlineage_names_datasets() {
        let ds = |name: &str, kind: &str, v: Option<&str>| {
            dataset(&Artifact::new(kind, name, v), "acme/log")
        };
        let d = ds("s3://bank-data/loans/2026.parquet", "dataset", None);
        assert_eq!(d["namespace"], "s3://bank-data");
        assert_eq!(d["name"], "loans/2026.parquet");
        let m = ds("credit-risk", "model", Some("2.3.0"));
        assert_eq!(m["namespace"], "acme/log");
        assert_eq!(m["name"], "model:credit-risk");
        assert_eq!(m["facets"]["version"]["datasetVersion"], "2.3.0");
        assert_eq!(
            ds("features/x.parquet", "dataset", None)["name"],
            "features/x.parquet"
        );
        assert_eq!(ds("file:///tmp", "dataset", None)["namespace"], "file://");
    }

    #[test]
    fn lifecycle_types_map_back() {
        assert_eq!(event_type("run_started", "INFO"), "START");
        assert_eq!(event_type("run_failed", "ERROR"), "FAIL");
        assert_eq!(event_type("model_training", "INFO"), "COMPLETE");
        assert_eq!(event_type("model_training", "FAILURE"), "FAIL");
    }
}
