//! `GET /v1/lineage/{target}`: the lineage graph over HTTP, for the `read` role, as an audited
//! read; the access log stays the auditor's even when a record names one of its entries as
//! parent; bad parameters and unknown targets are named.

mod common;

use aiaudit::LogReader;
use serde_json::{Value, json};

async fn wait_for_size(h: &common::Harness, size: u64) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while LogReader::open(&h.db())
        .expect("reader")
        .size()
        .expect("size")
        < size
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the log did not reach {size} entries"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

fn types(g: &Value) -> Vec<String> {
    let mut t: Vec<String> = g["events"]
        .as_object()
        .expect("events")
        .values()
        .map(|e| e["type"].as_str().expect("type").to_owned())
        .collect();
    t.sort();
    t
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lineage_of_a_request_is_served_to_readers_without_the_access_log() {
    let h = common::start().await;
    let pipeline = json!([
        {"type": "data_ingestion", "name": "load", "details": {"outputs": ["raw_loans"]}},
        {"type": "model_training", "name": "train", "model": {"name": "credit", "version": "1"},
         "details": {"inputs": ["raw_loans"]}},
        {"type": "deployment", "name": "deploy", "model": {"name": "credit", "version": "1"}},
    ]);
    let (s, _) = h
        .post_json("ingest", "/v1/events?wait=commit", &pipeline)
        .await;
    assert_eq!(s, 201);
    // A read, recorded as an access event; a prediction then names that record as its parent.
    let (s, _) = h.get_json("read", "/v1/events/0").await;
    assert_eq!(s, 200);
    wait_for_size(&h, 4).await;
    let access = LogReader::open(&h.db())
        .expect("reader")
        .get(3)
        .expect("the access record");
    assert_eq!(access.kind, "access");
    let prediction = json!({"type": "model_inference", "name": "score",
        "model": {"name": "credit", "version": "1"}, "parent": access.id,
        "operation": {"id": "req-1"}});
    let (s, _) = h
        .post_json("ingest", "/v1/events?wait=commit", &prediction)
        .await;
    assert_eq!(s, 201);

    let (s, g) = h
        .get_json("audit", "/v1/lineage/req-1?direction=upstream")
        .await;
    assert_eq!(s, 200, "{g}");
    assert_eq!(
        types(&g),
        [
            "access",
            "data_ingestion",
            "deployment",
            "model_inference",
            "model_training"
        ],
        "{g:#}"
    );
    let (s, g) = h
        .get_json("read", "/v1/lineage/req-1?direction=upstream")
        .await;
    assert_eq!(s, 200, "{g}");
    assert_eq!(
        types(&g),
        [
            "data_ingestion",
            "deployment",
            "model_inference",
            "model_training"
        ],
        "the access record leaves a reader's graph: {g:#}"
    );
    let edges = g["edges"].as_array().expect("edges");
    assert!(
        edges
            .iter()
            .all(|e| e["from"]["seq"] != 3 && e["to"]["seq"] != 3),
        "and so do its edges: {g:#}"
    );
    assert!(g["artifacts"]["dataset:raw_loans"].is_object(), "{g:#}");
    // Downstream of the raw data, limited per artifact.
    let (s, g) = h
        .get_json(
            "read",
            "/v1/lineage/dataset:raw_loans?direction=downstream&per_artifact=1",
        )
        .await;
    assert_eq!(s, 200, "{g}");
    assert!(types(&g).contains(&"model_training".to_owned()), "{g:#}");

    // Refusals and misses, each named.
    let (s, e) = h.get_json("read", "/v1/lineage/nothing-by-this-name").await;
    assert_eq!(s, 404, "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("nothing-by-this-name")),
        "{e}"
    );
    let (s, e) = h
        .get_json("read", "/v1/lineage/req-1?direction=sideways")
        .await;
    assert_eq!(s, 400, "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("sideways")),
        "{e}"
    );
    let (s, e) = h.get_json("read", "/v1/lineage/req-1?per_artifact=0").await;
    assert_eq!(s, 400, "{e}");
    let (s, e) = h.get_json("read", "/v1/lineage/req-1?depth=3").await;
    assert_eq!(s, 400, "an unknown parameter: {e}");
    let (s, _) = h.get_json("ingest", "/v1/lineage/req-1").await;
    assert_eq!(s, 403);

    // Each walk is an access event naming its target (the miss too), committed a moment
    // after its answer.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let walks = loop {
        let reader = LogReader::open(&h.db()).expect("reader");
        let walks: Vec<Value> = reader
            .query(&aiaudit::Query {
                kind: Some("access".into()),
                ..aiaudit::Query::default()
            })
            .expect("query")
            .iter()
            .map(|e| serde_json::from_slice::<Value>(&e.data).expect("json"))
            .filter(|r| r["details"]["route"] == "GET /v1/lineage/{target}")
            .collect();
        if walks.len() >= 5 || std::time::Instant::now() > deadline {
            break walks;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert!(walks.len() >= 5, "{walks:#?}");
    assert!(
        walks.iter().any(
            |w| w["details"]["filter"]["target"] == "nothing-by-this-name"
                && w["details"]["records"] == 0
        ),
        "the miss is recorded: {walks:#?}"
    );
    assert_eq!(walks[0]["details"]["filter"]["target"], "req-1");
    assert_eq!(walks[0]["details"]["filter"]["direction"], "upstream");
    assert_eq!(walks[0]["details"]["records"], 5);
    assert_eq!(
        walks[1]["details"]["records"], 4,
        "what the reader was shown"
    );
}
