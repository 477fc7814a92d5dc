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

    // The extras of the full usage report, against the direct query.
    let labels = |want: &str| {
        preds
            .iter()
            .filter(|p| p["details"]["output"]["prediction"] == want)
            .count()
    };
    assert_eq!(
        usage["prediction_distribution"]["approved"],
        labels("approved")
    );
    assert_eq!(
        usage["prediction_distribution"]["declined"],
        labels("declined")
    );
    assert_eq!(labels("approved") + labels("declined"), 3000);
    let model_events = jsonl(&run(
        &db,
        &[
            "query",
            "--model",
            "credit-risk",
            "--limit",
            "0",
            "--format",
            "jsonl",
        ],
    ));
    assert_eq!(usage["total_events"], model_events.len());
    for status in ["INFO", "WARNING", "FAILURE"] {
        let n = model_events
            .iter()
            .filter(|e| e["status"] == status)
            .count();
        assert_eq!(usage["status_mix"][status], n, "{status}");
    }
    let per_day: u64 = usage["events_per_day"]
        .as_array()
        .expect("days")
        .iter()
        .filter_map(|d| d["total"].as_u64())
        .sum();
    assert_eq!(per_day as usize, model_events.len());
    let bucketed: u64 = usage["latency_histogram"]["buckets"]
        .as_array()
        .expect("buckets")
        .iter()
        .filter_map(|b| b["count"].as_u64())
        .sum();
    assert_eq!(bucketed as usize, latencies.len());
    let timeline = usage["version_timeline"].as_array().expect("timeline");
    assert_eq!(timeline.len(), 2);
    let first_221 = preds
        .iter()
        .find(|p| p["model"]["version"] == "2.2.1")
        .expect("a 2.2.1 prediction");
    assert_eq!(
        timeline
            .iter()
            .find(|v| v["version"] == "2.2.1")
            .expect("2.2.1")["first"],
        first_221["time"]
    );

    // Operations: the demo's run, with every event of it.
    let everything = jsonl(&run(&db, &["query", "--limit", "0", "--format", "jsonl"]));
    let json_report = |args: &[&str]| -> Value {
        let mut a = vec!["report"];
        a.extend_from_slice(args);
        a.extend_from_slice(&["--format", "json"]);
        let out = run(&db, &a);
        assert!(out.status.success(), "{}", stderr(&out));
        serde_json::from_str(&stdout(&out)).expect("json")
    };
    let ops = json_report(&["operations", "--events", "10"]);
    assert_eq!(ops["total_operations"], 1);
    let op = &ops["operations"][0];
    assert_eq!(op["events"], everything.len());
    assert_eq!(op["id"], everything[0]["operation"]["id"]);
    assert_eq!(op["worst_status"], "FAILURE");
    assert_eq!(op["regulations"], serde_json::json!(["EU AI Act"]));
    assert_eq!(op["types"]["model_inference"], 3000);
    assert_eq!(op["event_rows"].as_array().map(Vec::len), Some(10));
    assert_eq!(op["first"], everything[0]["time"]);

    // AI Act: incidents, reference data and verifiers against the direct queries.
    let act = json_report(&["ai-act"]);
    let incidents = everything
        .iter()
        .filter(|e| {
            ["WARNING", "ERROR", "FAILURE", "CRITICAL"]
                .contains(&e["status"].as_str().unwrap_or(""))
        })
        .count();
    assert_eq!(act["incidents"]["total"], incidents);
    assert_eq!(
        act["incidents"]["events"][0]["status"], "FAILURE",
        "newest first"
    );
    assert_eq!(act["events"], everything.len());
    assert_eq!(act["coverage"]["first_event"], everything[0]["time"]);
    assert_eq!(act["coverage"]["covers_six_months"], false);
    let datasets: BTreeSet<&str> = act["reference_data"]
        .as_array()
        .expect("datasets")
        .iter()
        .filter_map(|d| d["dataset"].as_str())
        .collect();
    assert!(
        datasets.contains("s3://bank-data/loans-2026-10.parquet"),
        "{datasets:?}"
    );
    assert!(datasets.contains("holdout-2026-10"), "{datasets:?}");
    assert_eq!(act["verifiers"][0]["person"], "maria.validator");
    let periods = act["periods_of_use"]["periods"]
        .as_array()
        .expect("periods");
    let in_periods: u64 = periods
        .iter()
        .filter_map(|p| p["predictions"].as_u64())
        .sum();
    assert_eq!(in_periods, 3000);
    let deployed = act["models_in_use"]
        .as_array()
        .expect("models")
        .iter()
        .find(|m| m["version"] == "2.3.0")
        .expect("2.3.0");
    assert_eq!(deployed["deployments"][0]["environment"], "production");

    // Markdown and HTML, in each language.
    let md = stdout(&run(&db, &["report", "integrity"]));
    assert!(md.starts_with("# Log integrity"), "{md}");
    assert!(md.contains("| Intact | yes |"), "{md}");
    assert!(md.contains("**The log is intact"), "{md}");
    let note = stdout(&run(&db, &["checkpoint"]));
    assert!(md.contains(note.trim_end()), "the note verbatim: {md}");
    let md = stdout(&run(
        &db,
        &["report", "usage", "--model", "credit-risk", "--lang", "de"],
    ));
    assert!(md.contains("| Vorhersagen gesamt | 3.000 |"), "{md}");
    let html_file = dir.path().join("act.html");
    let out = run(
        &db,
        &["report", "ai-act", "--format", "html", "--lang", "fr", "-o"],
    );
    assert!(!out.status.success(), "-o needs a file");
    let out = run(
        &db,
        &[
            "report",
            "ai-act",
            "--format",
            "html",
            "--lang",
            "fr",
            "-o",
            html_file.to_str().expect("utf-8 path"),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let html = std::fs::read_to_string(&html_file).expect("written");
    assert!(html.starts_with("<!DOCTYPE html><html lang=\"fr\">"));
    assert!(html.contains("Le journal ne remonte PAS encore à six mois"));
    assert!(!html.contains("<script") && !html.contains("http://") && !html.contains("https://"));
    assert!(
        html.matches("<svg").count() >= 2,
        "incidents per day and periods of use"
    );

    // Bad input: named, nothing written.
    for (args, says) in [
        (
            vec!["report", "usage", "--model", "m", "--days", "0"],
            "--days",
        ),
        (
            vec!["report", "integrity", "--lang", "pt"],
            "use en, de or fr",
        ),
        (
            vec!["report", "ai-act", "--since", "last tuesday"],
            "--since",
        ),
        (vec!["report", "integrity", "--format", "pdf"], "pdf"),
    ] {
        let bad = run(&db, &args);
        assert!(!bad.status.success(), "{args:?}");
        assert!(stderr(&bad).contains(says), "{args:?}: {}", stderr(&bad));
    }
}
