//! Every read by a token is itself recorded as an `access` event: who, what filter, how many
//! records; refusals for the role too. An auditor lists them with `type=access`.

mod common;

use aiaudit::{LogReader, Query, Record};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_are_recorded_with_who_what_and_how_many() {
    let h = common::start().await;
    let events: Vec<Value> = (0..12)
        .map(|i| json!({"type": "model_inference", "name": "p", "model": {"name": if i < 4 {"fraud"} else {"credit"}}}))
        .collect();
    let (s, _) = h
        .post_json("ingest", "/v1/events?wait=commit", &Value::Array(events))
        .await;
    assert_eq!(s, 201);
    let (s, page) = h.get_json("read", "/v1/events?model=fraud&since=1d").await;
    assert_eq!(s, 200);
    assert_eq!(page["events"].as_array().map(Vec::len), Some(4));
    let (s, _) = h.get_json("read", "/v1/events/5").await;
    assert_eq!(s, 200);
    let (s, _) = h.get_json("read", "/v1/events/999").await;
    assert_eq!(s, 404);
    let (s, _) = h.get_json("audit", "/v1/proofs/inclusion?seq=2").await;
    assert_eq!(s, 200);
    let (s, _) = h.get_json("read", "/v1/proofs/inclusion?seq=2").await;
    assert_eq!(s, 403);
    // Writes are not reads.
    let (s, _) = h
        .post_json("ingest", "/v1/events", &json!({"name": "late"}))
        .await;
    assert_eq!(s, 201, "committed before the answer by default");

    // The auditor's view over HTTP.
    // Access records are queued before the answer and committed a moment later: wait for the
    // denial's, reading the file directly (which records nothing).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while LogReader::open(&h.db())
        .expect("reader")
        .size()
        .expect("size")
        < 12 + 1 + 5
        && std::time::Instant::now() < deadline
    {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let (s, page) = h
        .get_json("audit", "/v1/events?type=access&limit=100")
        .await;
    assert_eq!(s, 200);
    let acc = page["events"].as_array().expect("events").clone();
    assert_eq!(acc.len(), 5, "{page}");
    let query = &acc[0];
    assert_eq!(query["name"], "GET /v1/events");
    assert_eq!(query["actor"]["user"], "read-token");
    assert_eq!(query["details"]["role"], "read");
    assert_eq!(
        query["details"]["filter"],
        json!({"model": "fraud", "since": "1d"})
    );
    assert_eq!(query["details"]["records"], json!(4));
    assert_eq!(acc[1]["details"]["records"], json!(1));
    assert_eq!(acc[1]["details"]["filter"], json!({"target": "5"}));
    assert_eq!(
        acc[2]["details"]["records"],
        json!(0),
        "a miss is a read too"
    );
    assert_eq!(acc[3]["name"], "GET /v1/proofs/inclusion");
    assert_eq!(acc[3]["actor"]["user"], "audit-token");
    assert_eq!(acc[4]["details"]["outcome"], "denied");
    assert_eq!(acc[4]["status"], "WARNING");
    // `own_access=false` leaves out the caller's own reads, and only those.
    let (s, page) = h
        .get_json("audit", "/v1/events?type=access&limit=100&own_access=false")
        .await;
    assert_eq!(s, 200);
    let others = page["events"].as_array().expect("events");
    assert_eq!(
        others.len(),
        4,
        "the audit token's proof read is its own: {page}"
    );
    assert!(others.iter().all(|e| e["actor"]["user"] != "audit-token"));
    let db = h.db();
    let size = h.server.shutdown().await.expect("shutdown");

    // The same, from the log file (what `aiaudit query --type access` prints); the auditor's
    // own listings are the sixth and seventh.
    let reader = LogReader::open(&db).expect("reader");
    let access = reader
        .query(&Query {
            kind: Some("access".into()),
            ..Query::default()
        })
        .expect("query");
    assert_eq!(access.len(), 7);
    let last = Record::from_leaf_data(&access[5].data).expect("record");
    assert_eq!(
        last.details["filter"],
        json!({"type": "access", "limit": 100})
    );
    assert_eq!(last.details["records"], json!(5));
    assert_eq!(size, 12 + 1 + 7);
}
