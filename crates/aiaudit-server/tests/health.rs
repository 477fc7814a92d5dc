//! The probes' contract: `/healthz` is liveness (200 while the writer runs or rides out an
//! outage; 503 once it has stopped for good), `/readyz` is readiness (503 whenever events are not
//! being committed). A writer is stopped here the way an intruder would stop it: a row forged at
//! the log's next seq, so that the server's next commit fails.

mod common;

use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_reports_a_writer_that_stopped_for_good() {
    let h = common::start().await;
    let (s, _) = h.get_json("audit", "/healthz").await;
    assert_eq!(s, 200);
    let (s, r) = h
        .post_json("ingest", "/v1/events", &json!({"name": "first"}))
        .await;
    assert_eq!(s, 201, "{r}");
    // Forged through the file, at the seq the writer takes next.
    let raw = rusqlite::Connection::open(h.db()).expect("raw");
    raw.execute(
        "INSERT INTO tail(seq, time_ns, leaf_hash, data) VALUES (1, 0, zeroblob(32), x'7b7d')",
        [],
    )
    .expect("forge");
    drop(raw);
    let (s, r) = h
        .post_json("ingest", "/v1/events", &json!({"name": "second"}))
        .await;
    assert_eq!(s, 503, "{r}");
    let (s, r) = h.get_json("audit", "/healthz").await;
    assert_eq!(s, 503, "{r}");
    assert_eq!(r["error"]["code"], "writer_stopped", "{r}");
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("the stored layout is damaged: batch entry 0 has seq 1 where 2 was expected"),
        "{r}"
    );
    let (s, _) = h.get_json("audit", "/readyz").await;
    assert_eq!(s, 503);
}
