//! The server over a PostgreSQL log on the real server (127.0.0.1:5432, database `test`;
//! override with `AIAUDIT_TEST_PG`): ingest, queries, proofs, verify and a report answer as
//! they do over SQLite, and a restart goes on from the head.

mod common;

use common::{drop_schema, pg_base};

use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_serves_a_postgres_log() {
    let schema = format!("t_serve_{}", std::process::id());
    let blocking = schema.clone();
    tokio::task::spawn_blocking(move || drop_schema(&blocking))
        .await
        .expect("drop");
    let url = format!("{}?schema={schema}", pg_base());
    let dir = tempfile::tempdir().expect("tempdir");
    let key = dir.path().join("log.key");
    let tokens = dir.path().join("log.tokens");
    let tweak = |c: &mut aiaudit_server::ServerConfig| {
        c.db = url.clone().into();
        c.signing_key = Some(key.clone());
        c.tokens = Some(tokens.clone());
    };
    let h = common::start_with(dir, tweak).await;
    let events: Vec<Value> = (0..50)
        .map(|i| {
            json!({"type": "model_inference", "name": format!("p{i}"),
                   "model": {"name": "risk", "version": "2"}, "actor": {"user": format!("u{}", i % 5)},
                   "details": {"latency_ms": 10 + i, "output": {"prediction": if i % 2 == 0 {"yes"} else {"no"}}}})
        })
        .collect();
    let (status, receipt) = h
        .post_json("ingest", "/v1/events?wait=commit", &Value::Array(events))
        .await;
    assert_eq!(status, 201, "{receipt}");
    assert_eq!(receipt["seqs"][49], json!(49));
    let (status, page) = h.get_json("read", "/v1/events?user=u3&limit=100").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["events"].as_array().map(Vec::len), Some(10));
    let id = page["events"][0]["id"].as_str().expect("id").to_owned();
    let (status, one) = h.get_json("read", &format!("/v1/events/{id}")).await;
    assert_eq!(status, 200, "{one}");
    assert_eq!(one["record"]["id"], json!(id));
    let (status, proof) = h.get_json("audit", "/v1/proofs/inclusion?seq=7").await;
    assert_eq!(status, 200, "{proof}");
    let (status, usage) = h.get_json("read", "/v1/reports/usage?model=risk").await;
    assert_eq!(status, 200, "{usage}");
    assert_eq!(usage["total_predictions"], json!(50));
    assert_eq!(usage["unique_users"], json!(5));
    let verify = h
        .http
        .get(format!("{}/v1/verify", h.url))
        .bearer_auth(h.token("audit"))
        .send()
        .await
        .expect("verify")
        .text()
        .await
        .expect("body");
    let last: Value = serde_json::from_str(verify.lines().last().expect("a line")).expect("json");
    assert_eq!(last["result"]["intact"], json!(true), "{verify}");
    let size = h.server.shutdown().await.expect("shutdown");
    // 50 events and the reads' access records, all committed.
    assert!(size > 50, "{size}");
    let blocking = schema.clone();
    tokio::task::spawn_blocking(move || drop_schema(&blocking))
        .await
        .expect("drop");
}
