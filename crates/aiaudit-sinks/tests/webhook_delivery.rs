//! Webhook sink against a real HTTP receiver that verifies the HMAC signature, answers 503
//! twice before accepting, and records what it got: every event arrives exactly once, in
//! order, as sealed; the cursor survives a restart of the dispatcher.
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::{Arc, Mutex};

use aiaudit_sinks::{Dispatcher, default_cursor_path, sinks::webhook};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::Value;
use support::*;

const SECRET: &str = "hook-secret";

#[derive(Default)]
struct Seen {
    requests: usize,
    refused_503: usize,
    bad_signatures: usize,
    events: Vec<Value>,
    ranges: Vec<(u64, u64)>,
}

async fn receive(
    State(seen): State<Arc<Mutex<Seen>>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let mut s = seen.lock().unwrap();
    s.requests += 1;
    assert_eq!(headers["content-type"], "application/json");
    let ts = headers["x-aiaudit-timestamp"].to_str().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(
        ts.parse::<u64>().unwrap().abs_diff(now) < 60,
        "timestamp is unix seconds"
    );
    let sig = headers["x-aiaudit-signature"].to_str().unwrap();
    if sig != webhook::signature(SECRET.as_bytes(), ts, &body) {
        s.bad_signatures += 1;
        return StatusCode::UNAUTHORIZED;
    }
    if s.refused_503 < 2 {
        s.refused_503 += 1;
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    let v: Value = serde_json::from_slice(&body).unwrap();
    let events = v["events"].as_array().unwrap().clone();
    let first = v["first_seq"].as_u64().unwrap();
    let last = v["last_seq"].as_u64().unwrap();
    assert_eq!(events.first().unwrap()["seq"].as_u64(), Some(first));
    assert_eq!(events.last().unwrap()["seq"].as_u64(), Some(last));
    s.ranges.push((first, last));
    s.events.extend(events);
    StatusCode::NO_CONTENT
}

/// HMAC-SHA256 over "<timestamp>.<body>", computed independently of the sink's helper.
#[test]
fn signature_is_hmac_sha256_over_timestamp_dot_body() {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"k").unwrap();
    mac.update(b"1700000000.{}");
    let want = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(webhook::signature(b"k", "1700000000", b"{}"), want);
}

#[test]
fn delivers_every_event_once_in_order_through_retries_and_restart() {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(receive))
        .with_state(Arc::clone(&seen));
    let addr = serve(app);

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("audit.db");
    let cur = default_cursor_path(&db);
    log_events(&db, 7, "first");
    let cfg = sinks(&format!(
        r#"
        [[sinks]]
        name = "hook"
        kind = "webhook"
        url = "http://{addr}/hook"
        secret = "{SECRET}"
        batch = 3
        headers = {{ "x-team" = "ml" }}
        "#
    ));
    let disp = Dispatcher::start(db.clone(), cur.clone(), cfg.clone()).unwrap();
    wait_until(20, "7 events at the receiver", || {
        seen.lock().unwrap().events.len() == 7
    });
    wait_caught_up(&db, &cur, &cfg);
    disp.shutdown().unwrap();
    {
        let s = seen.lock().unwrap();
        assert_eq!(s.refused_503, 2, "the receiver refused twice");
        assert_eq!(s.bad_signatures, 0);
        // The first batch was sent three times (503, 503, 204), then two more batches.
        assert_eq!(s.requests, 5);
        assert_eq!(s.ranges, vec![(0, 2), (3, 5), (6, 6)]);
    }

    // The cursor is durable: a new dispatcher delivers only what was logged since.
    log_events(&db, 4, "second");
    let disp = Dispatcher::start(db.clone(), cur.clone(), cfg.clone()).unwrap();
    disp.notify();
    wait_until(20, "11 events at the receiver", || {
        seen.lock().unwrap().events.len() >= 11
    });
    wait_caught_up(&db, &cur, &cfg);
    disp.shutdown().unwrap();

    let s = seen.lock().unwrap();
    let log = entries(&db);
    assert_eq!(s.events.len(), log.len(), "every event exactly once");
    for (got, e) in s.events.iter().zip(&log) {
        let want: Value = serde_json::from_slice(&e.data).unwrap();
        assert_eq!(got, &want, "seq {}: the record as sealed", e.seq);
        assert_eq!(got["id"], e.id.as_str());
    }
    let st = aiaudit_sinks::status(&db, &cur, &cfg).unwrap();
    assert_eq!(
        (st[0].next_seq, st[0].lag, st[0].last_error.as_deref()),
        (11, 0, None)
    );
}
