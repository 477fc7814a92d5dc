//! OTLP sink against a real HTTP receiver standing in for a collector's `/v1/logs`: the
//! receiver checks the OTLP/HTTP JSON shape (camelCase, int64 as strings), the resource and
//! scope, the severity numbers of every standard and a custom status, and the attributes.
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::{Arc, Mutex};

use aiaudit::{AuditLogger, Durability, events};
use aiaudit_sinks::{Dispatcher, default_cursor_path};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};
use support::*;

type Got = Arc<Mutex<Vec<Value>>>;

async fn collector(
    State(got): State<Got>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> StatusCode {
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(headers["x-api-key"], "abc");
    let v: Value = serde_json::from_slice(&body).unwrap();
    got.lock().unwrap().push(v);
    StatusCode::OK
}

fn attr<'a>(attrs: &'a Value, key: &str) -> Option<&'a Value> {
    attrs
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["key"] == key)
        .map(|a| &a["value"])
}

#[test]
fn exports_otlp_json_logs_with_severity_numbers() {
    let got: Got = Arc::default();
    let app = axum::Router::new()
        .route("/v1/logs", axum::routing::post(collector))
        .with_state(Arc::clone(&got));
    let addr = serve(app);

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("audit.db");
    let cur = default_cursor_path(&db);
    let log = AuditLogger::builder(&db)
        .durability(Durability::Sync)
        .custom_status("AUDITED")
        .open()
        .unwrap();
    let statuses = [
        "DEBUG", "INFO", "NOTICE", "WARNING", "ERROR", "FAILURE", "CRITICAL", "AUDITED",
    ];
    for s in statuses {
        log.log_event(&format!("status {s}"), json!({}), s).unwrap();
    }
    log.log(
        events::inference("credit-risk", "1.4.0", "alice", json!({"ok": true}), 3.0)
            .operation("req-42", "prediction"),
    )
    .unwrap();
    log.close().unwrap();

    let cfg = sinks(&format!(
        r#"
        [[sinks]]
        name = "otel"
        kind = "otlp"
        url = "http://{addr}/v1/logs"
        service_name = "scoring"
        headers = {{ "x-api-key" = "abc" }}
        "#
    ));
    let disp = Dispatcher::start(db.clone(), cur.clone(), cfg.clone()).unwrap();
    wait_caught_up(&db, &cur, &cfg);
    disp.shutdown().unwrap();

    let reqs = got.lock().unwrap();
    let mut records = Vec::new();
    for r in reqs.iter() {
        let rl = &r["resourceLogs"][0];
        assert_eq!(r["resourceLogs"].as_array().unwrap().len(), 1);
        assert_eq!(
            attr(&rl["resource"]["attributes"], "service.name").unwrap()["stringValue"],
            "scoring"
        );
        assert_eq!(rl["scopeLogs"][0]["scope"]["name"], "aiaudit");
        records.extend(
            rl["scopeLogs"][0]["logRecords"]
                .as_array()
                .unwrap()
                .iter()
                .cloned(),
        );
    }
    let log = entries(&db);
    assert_eq!(records.len(), log.len());
    let want_sev = [5, 9, 10, 13, 17, 18, 21, 9, 9];
    for ((r, e), sev) in records.iter().zip(&log).zip(want_sev) {
        let rec: Value = serde_json::from_slice(&e.data).unwrap();
        // int64 fields are JSON strings in OTLP/JSON.
        assert_eq!(r["timeUnixNano"], e.time_ns.to_string());
        assert!(
            r["observedTimeUnixNano"]
                .as_str()
                .unwrap()
                .parse::<u64>()
                .unwrap()
                >= e.time_ns as u64
        );
        assert_eq!(r["severityNumber"], sev, "{}", e.status);
        assert_eq!(r["severityText"], e.status.as_str());
        assert_eq!(r["body"]["stringValue"], rec["name"]);
        let a = &r["attributes"];
        assert_eq!(
            attr(a, "aiaudit.seq").unwrap(),
            &json!({"intValue": e.seq.to_string()})
        );
        assert_eq!(attr(a, "aiaudit.id").unwrap()["stringValue"], e.id.as_str());
        assert_eq!(
            attr(a, "aiaudit.type").unwrap()["stringValue"],
            e.kind.as_str()
        );
        assert_eq!(
            attr(a, "aiaudit.record").unwrap()["stringValue"]
                .as_str()
                .unwrap()
                .as_bytes(),
            &e.data[..],
            "the full record as sealed"
        );
        if e.kind == "model_inference" {
            assert_eq!(attr(a, "model.name").unwrap()["stringValue"], "credit-risk");
            assert_eq!(attr(a, "model.version").unwrap()["stringValue"], "1.4.0");
            assert_eq!(attr(a, "enduser.id").unwrap()["stringValue"], "alice");
            assert_eq!(
                attr(a, "aiaudit.operation.id").unwrap()["stringValue"],
                "req-42"
            );
        } else {
            assert!(attr(a, "model.name").is_none() && attr(a, "enduser.id").is_none());
        }
    }
}
