//! `aiaudit serve --ingest` against the real NATS JetStream server (127.0.0.1:4222): events
//! published by the Rust client are committed; the server is SIGKILLed mid-ingest and started
//! again, and in the end every published event is in the log exactly once (the messages it
//! committed but never acknowledged are delivered again and recognised); an invalid message is
//! refused without stopping the rest.

mod common;

use aiaudit::{LogReader, Query, Record, VerifyOptions};
use aiaudit_client::NatsPublisher;
use common::{serve_config, stop};
use serde_json::json;
use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

const NATS: &str = "nats://127.0.0.1:4222";

fn size(db: &Path) -> u64 {
    LogReader::open(db)
        .map(|r| r.size().unwrap_or(0))
        .unwrap_or(0)
}

#[test]
fn killed_consumer_loses_nothing_and_duplicates_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("nats.db");
    let tag = format!("t{}", std::process::id());
    let config = dir.path().join("aiaudit.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\ndb = \"nats.db\"\ningest = \"{NATS}\"\n\
             ingest_stream = \"{tag}\"\ningest_subject = \"{tag}.events.>\"\n\
             ingest_consumer = \"{tag}-writer\"\ningest_batch = 250\ningest_ack_wait_s = 2\n"
        ),
    )
    .expect("config");

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let n = 8_000usize;
    let subject = format!("{tag}.events.pipeline");
    // The first server makes the stream and the consumer; the events wait in the stream.
    let (mut server, _) = serve_config(&config);
    let published = runtime.block_on(async {
        let p = NatsPublisher::connect(NATS, &subject).await.unwrap_or_else(|e| {
            panic!("{e}: start NATS with `start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server` (.ci/run does this)")
        });
        let mut ids = Vec::new();
        for chunk in 0..n / 500 {
            let events: Vec<_> = (0..500)
                .map(|i| {
                    let k = chunk * 500 + i;
                    json!({"type": "model_inference", "name": format!("prediction {k}"),
                           "model": {"name": "risk", "version": "1"}, "details": {"k": k}})
                })
                .collect();
            ids.extend(p.publish_all(&events).await.expect("publish"));
        }
        // Not an event: refused, never redelivered, and the rest goes on.
        p.publish(&json!({"name": "bad", "status": "SHOUTING"})).await.expect("publish");
        ids
    });
    assert_eq!(published.len(), n);

    // Killed mid-ingest: some rounds committed, some perhaps committed and not acknowledged.
    let deadline = Instant::now() + Duration::from_secs(60);
    while size(&db) < 1_000 {
        assert!(
            Instant::now() < deadline,
            "the server ingested nothing from NATS"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    server.kill().expect("SIGKILL");
    server.wait().expect("wait");
    let at_kill = size(&db);
    assert!(
        at_kill < n as u64,
        "the server finished before it was killed ({at_kill})"
    );

    let (server, _) = serve_config(&config);
    let deadline = Instant::now() + Duration::from_secs(90);
    while size(&db) < n as u64 {
        assert!(
            Instant::now() < deadline,
            "only {} of {n} events arrived",
            size(&db)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // Redeliveries of what was committed before the kill come after the ack wait (2 s): give
    // them time to be (wrongly) written, then stop.
    std::thread::sleep(Duration::from_secs(4));
    stop(server);

    let reader = LogReader::open(&db).expect("reader");
    let all = reader.query(&Query::default()).expect("query");
    let mut seen: HashMap<String, u64> = HashMap::new();
    for e in &all {
        let r = Record::from_leaf_data(&e.data).expect("record");
        assert_ne!(r.name, "bad", "an invalid message was written");
        let id = r.details["ingest_id"]
            .as_str()
            .expect("ingest_id")
            .to_owned();
        if let Some(before) = seen.insert(id.clone(), e.seq) {
            panic!("message {id} written twice: seq {before} and {}", e.seq);
        }
    }
    assert_eq!(all.len(), n, "killed at {at_kill}");
    for id in &published {
        assert!(seen.contains_key(id), "message {id} lost");
    }
    // A message is found by its id through the index.
    let one = reader
        .query(&Query {
            ingest_id: Some(published[4321].clone()),
            ..Query::default()
        })
        .expect("by ingest id");
    assert_eq!(one.len(), 1);
    let report = reader
        .verify(&VerifyOptions::default(), &mut |_, _| {})
        .expect("verify");
    assert!(report.is_intact(), "{:?}", report.findings);

    // The test's stream goes away with the test.
    runtime.block_on(async {
        if let Ok(c) = async_nats::connect(NATS).await {
            let _ = async_nats::jetstream::new(c).delete_stream(&tag).await;
        }
    });
}
