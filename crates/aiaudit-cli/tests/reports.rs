//! `aiaudit report` on the demo log: every number checked against a direct query.

mod common;

use common::{run, stderr, stdout};
use serde_json::Value;
use std::collections::BTreeSet;

fn jsonl(out: &std::process::Output) -> Vec<Value> {
    stdout(out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

#[test]
fn reports_agree_with_direct_queries() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("demo.db");
    let demo = run(&db, &["demo", "--predictions", "3000"]);
    assert!(demo.status.success(), "{}", stderr(&demo));

    let preds = jsonl(&run(
        &db,
        &[
            "query",
            "--type",
            "model_inference",
            "--model",
            "credit-risk",
            "--limit",
            "0",
            "--format",
            "jsonl",
        ],
    ));
    assert_eq!(preds.len(), 3000);
    let out = run(
        &db,
        &[
            "report",
            "usage",
            "--model",
            "credit-risk",
            "--format",
            "json",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let usage: Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert_eq!(usage["total_predictions"], 3000);
    let users: BTreeSet<&str> = preds
        .iter()
        .filter_map(|p| p["actor"]["user"].as_str())
        .collect();
    assert_eq!(usage["unique_users"], users.len());
    let mut latencies: Vec<f64> = preds
        .iter()
        .filter_map(|p| p["details"]["latency_ms"].as_f64())
        .collect();
    latencies.sort_by(f64::total_cmp);
    assert_eq!(
        usage["latency_stats"]["max_ms"],
        latencies[latencies.len() - 1]
    );
    let versions = usage["versions_used"].as_object().expect("versions");
    let v230 = preds
        .iter()
        .filter(|p| p["model"]["version"] == "2.3.0")
        .count();
    assert_eq!(versions["2.3.0"], v230);
    assert_eq!(usage["first_prediction"], preds[0]["time"]);
    assert_eq!(usage["last_prediction"], preds[2999]["time"]);

    let user = preds[0]["actor"]["user"].as_str().expect("user");
    let theirs = jsonl(&run(
        &db,
        &[
            "query",
            "--type",
            "model_inference",
            "--user",
            user,
            "--limit",
            "0",
            "--format",
            "jsonl",
        ],
    ));
    let access: Value = serde_json::from_str(&stdout(&run(
        &db,
        &["report", "access", "--user", user, "--format", "json"],
    )))
    .expect("json");
    assert_eq!(access["total_requests"], theirs.len());
    assert_eq!(
        access["requests"][0]["request_id"],
        theirs[0]["details"]["request_id"]
    );

    let md = stdout(&run(&db, &["report", "integrity"]));
    assert!(md.starts_with("# Integrity"), "{md}");
    assert!(md.contains("| intact | true |"), "{md}");
    let note = stdout(&run(&db, &["checkpoint"]));
    assert!(md.contains(note.trim_end()), "the note verbatim: {md}");
    let bad = run(&db, &["report", "usage", "--model", "m", "--days", "0"]);
    assert!(!bad.status.success());
}
