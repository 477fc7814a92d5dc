//! OpenLineage RunEvents (spec 2-0-2, as Marquez takes them at `POST /api/v1/lineage`) as
//! events: a run's start, completion, failure or abort, with its input and output datasets as
//! lineage (docs/format.md §6 "OpenLineage ingest", §11). The OpenLineage document itself is
//! kept whole under `details.openlineage`, so nothing it said is lost.

use aiaudit_core::Event;
use aiaudit_core::event::{Actor, Operation, Status};
use aiaudit_core::timefmt::parse_rfc3339;
use serde_json::{Map, Value, json};

use crate::error::ApiError;

/// The spec versions whose RunEvents this maps: `…/spec/2-0-x/OpenLineage.json#/$defs/RunEvent`.
const SPEC: &str = "/spec/2-0-";

fn bad(message: String) -> ApiError {
    ApiError::bad_request("invalid_openlineage", message)
}

fn text<'a>(v: &'a Value, path: &str) -> Result<&'a str, ApiError> {
    let mut at = v;
    for part in path.split('.') {
        at = at
            .get(part)
            .ok_or_else(|| bad(format!("the RunEvent has no `{path}`")))?;
    }
    at.as_str()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| bad(format!("`{path}` must be a non-empty string")))
}

/// One dataset of `inputs` / `outputs` as an artifact reference: named `namespace/name` (the
/// pair OpenLineage identifies a dataset by), versioned by its `version` facet if it has one.
fn dataset(v: &Value, list: &str, i: usize) -> Result<Value, ApiError> {
    let field = |k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| bad(format!("`{list}[{i}].{k}` must be a non-empty string")))
    };
    let (ns, name) = (field("namespace")?, field("name")?);
    let mut r = json!({"type": "dataset", "name": format!("{}/{name}", ns.trim_end_matches('/'))});
    if let Some(version) = v
        .pointer("/facets/version/datasetVersion")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    {
        r["version"] = Value::String(version.to_owned());
    }
    Ok(r)
}

/// The event of one RunEvent (`body`, JSON), its actor's service the token's name.
pub(crate) fn to_event(body: &[u8], service: &str) -> Result<Event, ApiError> {
    let doc: Value =
        serde_json::from_slice(body).map_err(|e| bad(format!("the body is not JSON: {e}")))?;
    if !doc.is_object() {
        return Err(bad("a RunEvent is a JSON object".into()));
    }
    let schema = text(&doc, "schemaURL")?;
    if !schema.contains(SPEC) {
        return Err(bad(format!(
            "schemaURL {schema:?} is not an OpenLineage 2-0-x RunEvent (spec 2-0-2 is what this server maps)"
        )));
    }
    if doc.get("datasets").is_some() || doc.get("dataset").is_some() {
        return Err(bad(
            "this is a DatasetEvent or JobEvent; only RunEvents (with `run` and `job`) are recorded".into(),
        ));
    }
    let time = text(&doc, "eventTime")?;
    let occurred = parse_rfc3339(time)
        .map_err(|e| bad(format!("`eventTime` {time:?} is not an RFC 3339 time: {e}")))?;
    text(&doc, "producer")?;
    let run_id = text(&doc, "run.runId")?;
    if uuid::Uuid::try_parse(run_id).is_err() {
        return Err(bad(format!("`run.runId` {run_id:?} is not a UUID")));
    }
    let (ns, job) = (text(&doc, "job.namespace")?, text(&doc, "job.name")?);
    let kind = match doc.get("eventType") {
        None | Some(Value::Null) => "OTHER",
        Some(Value::String(s)) => s.as_str(),
        Some(_) => return Err(bad("`eventType` must be a string".into())),
    };
    let (type_, status) = match kind {
        "START" => ("run_started", Status::Info),
        "RUNNING" => ("run_running", Status::Info),
        "COMPLETE" => ("run_completed", Status::Info),
        "FAIL" => ("run_failed", Status::Error),
        "ABORT" => ("run_aborted", Status::Warning),
        "OTHER" => ("run_event", Status::Info),
        other => {
            return Err(bad(format!(
                "`eventType` {other:?} is not one of START, RUNNING, COMPLETE, ABORT, FAIL, OTHER"
            )));
        }
    };
    let list = |k: &str| -> Result<Vec<Value>, ApiError> {
        match doc.get(k) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, d)| dataset(d, k, i))
                .collect(),
            Some(_) => Err(bad(format!("`{k}` must be a list of datasets"))),
        }
    };
    let (inputs, outputs) = (list("inputs")?, list("outputs")?);
    let mut e = Event::new(type_, format!("{ns}/{job}: {}", kind.to_ascii_lowercase()));
    e.status = status;
    e.occurred_ns = Some(occurred);
    e.operation = Some(Operation {
        id: Some(run_id.to_owned()),
        name: Some(format!("{ns}/{job}")),
    });
    e.actor = Some(Actor {
        service: Some(service.to_owned()),
        ..Actor::default()
    });
    let mut details = Map::new();
    if !inputs.is_empty() {
        details.insert("inputs".into(), Value::Array(inputs));
    }
    if !outputs.is_empty() {
        details.insert("outputs".into(), Value::Array(outputs));
    }
    if let Some(parent) = doc
        .pointer("/run/facets/parent/run/runId")
        .and_then(Value::as_str)
    {
        details.insert("parent_run".into(), Value::String(parent.to_owned()));
    }
    details.insert("openlineage".into(), doc);
    e.details = details;
    Ok(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_event(extra: Value) -> Vec<u8> {
        let mut v = json!({
            "eventType": "COMPLETE",
            "eventTime": "2026-12-03T10:00:00.000Z",
            "producer": "https://github.com/OpenLineage/OpenLineage/tree/1.0.0/client/python",
            "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
            "run": {"runId": "0190a5c4-0000-7000-8000-000000000001"},
            "job": {"namespace": "airflow", "name": "etl.clean"},
            "inputs": [{"namespace": "s3://bank", "name": "raw/loans"}],
            "outputs": [{"namespace": "s3://bank", "name": "clean/loans", "facets": {"version": {"datasetVersion": "7"}}}]
        });
        if let (Some(m), Value::Object(x)) = (v.as_object_mut(), extra) {
            m.extend(x);
        }
        serde_json::to_vec(&v).unwrap_or_default()
    }

    #[test]
    fn a_run_event_becomes_a_run_with_its_datasets() {
        let e = to_event(&run_event(json!({})), "airflow").expect("maps");
        assert_eq!(e.kind, "run_completed");
        assert_eq!(
            e.details["inputs"],
            json!([{"type": "dataset", "name": "s3://bank/raw/loans"}])
        );
        assert_eq!(e.details["outputs"][0]["version"], "7");
        assert_eq!(
            e.operation.and_then(|o| o.id).as_deref(),
            Some("0190a5c4-0000-7000-8000-000000000001")
        );
        assert!(e.details["openlineage"]["job"]["name"] == "etl.clean");
    }

    #[test]
    fn bad_run_events_are_named() {
        let msg = |extra: Value| {
            to_event(&run_event(extra), "x")
                .err()
                .map(|e| e.message)
                .unwrap_or_default()
        };
        assert!(msg(json!({"eventType": "DONE"})).contains("`eventType` \"DONE\""));
        assert!(msg(json!({"run": {}})).contains("`run.runId`"));
        assert!(msg(json!({"run": {"runId": "r1"}})).contains("is not a UUID"));
        assert!(msg(json!({"eventTime": "yesterday"})).contains("`eventTime`"));
        assert!(
            msg(json!({"schemaURL": "https://openlineage.io/spec/1-0-5/OpenLineage.json"}))
                .contains("2-0-x")
        );
        assert!(msg(json!({"inputs": [{"namespace": "a"}]})).contains("`inputs[0].name`"));
        assert!(msg(json!({"outputs": {}})).contains("`outputs` must be a list"));
        assert!(to_event(b"[1]", "x").is_err());
        assert!(to_event(b"{", "x").is_err());
    }
}
