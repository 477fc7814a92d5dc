//! Real HTTP over loopback: ingest in every body format, then query, show, prove and verify.

mod common;

use aiaudit_core::{InclusionBundle, NoteVerifier};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_then_query_show_prove_verify() {
    let h = common::start().await;
    // One event, committed before the answer.
    let (status, r) = h
        .post_json(
            "ingest",
            "/v1/events?wait=commit",
            &json!({"type": "model_training", "name": "Training started", "model": {"name": "credit", "version": "1.0"}}),
        )
        .await;
    assert_eq!(status, 201, "{r}");
    assert_eq!(r["seqs"], json!([0]));
    assert_eq!(r["committed"], json!(true));
    assert_eq!(r["size"], json!(1));
    // An array: consecutive seqs, ids in order.
    let batch: Vec<Value> = (0..50)
        .map(|i| json!({"type": "model_inference", "name": "prediction", "status": if i % 10 == 0 {"WARNING"} else {"INFO"},
                        "model": {"name": "credit", "version": "1.0"}, "actor": {"user": format!("u{}", i % 5)}, "details": {"i": i}}))
        .collect();
    // wait=none is an explicit opt-in to an answer before the events are durable, and says so.
    let (status, r) = h
        .post_json("ingest", "/v1/events?wait=none", &Value::Array(batch))
        .await;
    assert_eq!(status, 202, "{r}");
    assert_eq!(r["committed"], json!(false));
    assert!(
        r["warning"]
            .as_str()
            .is_some_and(|w| w.contains("lost if the server stops")),
        "{r}"
    );
    let seqs: Vec<u64> = serde_json::from_value(r["seqs"].clone()).expect("seqs");
    assert_eq!(seqs, (1..51).collect::<Vec<u64>>());
    assert_eq!(r["ids"].as_array().map(Vec::len), Some(50));
    // NDJSON.
    let nd = "{\"name\":\"a\"}\n{\"name\":\"b\",\"status\":\"notice\"}\n";
    let resp = h
        .http
        .post(format!("{}/v1/events?wait=commit", h.url))
        .bearer_auth(h.token("ingest"))
        .header("content-type", "application/x-ndjson")
        .body(nd)
        .send()
        .await
        .expect("ndjson");
    assert_eq!(resp.status().as_u16(), 201);
    let r: Value = resp.json().await.expect("json");
    assert_eq!(r["seqs"], json!([51, 52]));
    assert_eq!(r["size"], json!(53));

    // Filters, as `aiaudit query` has them.
    let (status, page) = h
        .get_json(
            "read",
            "/v1/events?type=model_inference&status=warning&limit=100",
        )
        .await;
    assert_eq!(status, 200, "{page}");
    let events = page["events"].as_array().expect("events");
    assert_eq!(events.len(), 5);
    assert!(events.iter().all(|e| e["status"] == "WARNING"));
    assert!(page.get("next_cursor").is_none());
    let (_, page) = h.get_json("read", "/v1/events?user=u3").await;
    assert_eq!(page["events"].as_array().map(Vec::len), Some(10));

    // Cursor pagination walks every model_inference event exactly once, in both orders.
    for order in ["asc", "desc"] {
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut path = format!("/v1/events?type=model_inference&limit=7&order={order}");
            if let Some(c) = &cursor {
                path.push_str(&format!("&cursor={c}"));
            }
            let (status, page) = h.get_json("read", &path).await;
            assert_eq!(status, 200);
            for e in page["events"].as_array().expect("events") {
                seen.push(e["seq"].as_u64().expect("seq"));
            }
            match page.get("next_cursor").and_then(Value::as_str) {
                Some(c) => cursor = Some(c.to_owned()),
                None => break,
            }
        }
        let mut want: Vec<u64> = (1..51).collect();
        if order == "desc" {
            want.reverse();
        }
        assert_eq!(seen, want, "order {order}");
    }

    // Show by seq and by id: the same record, whose leaf hash is recomputable.
    let (status, by_seq) = h.get_json("read", "/v1/events/3").await;
    assert_eq!(status, 200);
    let id = by_seq["record"]["id"].as_str().expect("id").to_owned();
    let (_, by_id) = h.get_json("read", &format!("/v1/events/{id}")).await;
    assert_eq!(by_seq, by_id);
    assert_eq!(by_seq["record"]["details"]["i"], json!(2));

    // An inclusion proof checks offline against the log's verifier key.
    let (status, proof) = h.get_json("audit", "/v1/proofs/inclusion?seq=3").await;
    assert_eq!(status, 200, "{proof}");
    let bundle = InclusionBundle::parse(proof["bundle"].as_str().expect("bundle")).expect("parses");
    let verifier = NoteVerifier::parse(&h.server.verifier_key()).expect("key");
    let cp = bundle.verify(&verifier).expect("the proof holds");
    assert!(cp.size >= 53);
    // The checkpoint is the signed note, as text.
    let resp = h
        .http
        .get(format!("{}/v1/checkpoint", h.url))
        .bearer_auth(h.token("read"))
        .send()
        .await
        .expect("checkpoint");
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("text/plain")
    );
    let note = resp.text().await.expect("text");
    assert!(
        aiaudit_core::Checkpoint::parse_text(&note).is_ok(),
        "{note}"
    );
    let (status, cons) = h.get_json("audit", "/v1/proofs/consistency?from=10").await;
    assert_eq!(status, 200, "{cons}");
    let cb = aiaudit_core::ConsistencyBundle::parse(cons["bundle"].as_str().expect("bundle"))
        .expect("parses");
    cb.verify(&verifier).expect("consistent");

    // Verification streams progress, then an intact result.
    let resp = h
        .http
        .get(format!("{}/v1/verify", h.url))
        .bearer_auth(h.token("audit"))
        .send()
        .await
        .expect("verify");
    assert_eq!(
        resp.headers()["content-type"].to_str().expect("ascii"),
        "application/x-ndjson"
    );
    let text = resp.text().await.expect("stream");
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert!(lines.len() >= 2, "{text}");
    let result = &lines.last().expect("last")["result"];
    assert_eq!(result["intact"], json!(true), "{text}");
    assert!(result["entries"].as_u64().expect("entries") >= 53);

    // Reports over the same events, themselves audited reads.
    let (status, usage) = h
        .get_json("read", "/v1/reports/usage?model=credit&days=1")
        .await;
    assert_eq!(status, 200, "{usage}");
    assert_eq!(usage["total_predictions"], json!(50));
    assert_eq!(usage["unique_users"], json!(5));
    let (status, acc) = h.get_json("read", "/v1/reports/access?user=u3").await;
    assert_eq!(status, 200, "{acc}");
    assert_eq!(acc["total_requests"], json!(10));
    let (status, integ) = h.get_json("audit", "/v1/reports/integrity").await;
    assert_eq!(status, 200, "{integ}");
    assert_eq!(integ["intact"], json!(true));
    assert_eq!(integ["verifier_key"], json!(h.server.verifier_key()));
    let (status, e) = h.get_json("read", "/v1/reports/usage").await;
    assert_eq!(status, 400, "{e}");
    let (status, _) = h.get_json("read", "/v1/reports/nope").await;
    assert_eq!(status, 404);

    // Metrics count what happened.
    let resp = h
        .http
        .get(format!("{}/metrics", h.url))
        .bearer_auth(h.token("audit"))
        .send()
        .await
        .expect("metrics");
    let m = resp.text().await.expect("text");
    assert!(m.contains("aiaudit_events_ingested_total 53"), "{m}");
    assert!(
        m.contains("aiaudit_verify_runs_total{result=\"intact\"} 1"),
        "{m}"
    );
    assert!(m.contains("aiaudit_commit_latency_seconds_bucket"), "{m}");
    h.server.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_client_batches_and_idempotent_retries() {
    let h = common::start().await;
    let client = aiaudit_client::Client::new(&h.url, h.token("ingest")).expect("client");
    let batcher = aiaudit_client::Batcher::new(
        client.clone(),
        aiaudit_client::BatchConfig {
            max_events: 300,
            ..Default::default()
        },
    );
    for i in 0..1_000 {
        batcher
            .log(json!({"type": "model_inference", "name": "p", "details": {"i": i}}))
            .await
            .expect("queued");
    }
    assert_eq!(batcher.close().await.expect("sent"), 1_000);
    // The same Idempotency-Key twice records once and answers the same.
    let send = || {
        h.http
            .post(format!("{}/v1/events?wait=commit", h.url))
            .bearer_auth(h.token("ingest"))
            .header("idempotency-key", "batch-42")
            .json(&json!([{"name": "x"}, {"name": "y"}]))
            .send()
    };
    let first: Value = send().await.expect("first").json().await.expect("json");
    let second: Value = send().await.expect("second").json().await.expect("json");
    assert_eq!(first, second);
    assert_eq!(first["seqs"], json!([1000, 1001]));
    let size = h.server.shutdown().await.expect("shutdown");
    assert_eq!(size, 1_002);
}
