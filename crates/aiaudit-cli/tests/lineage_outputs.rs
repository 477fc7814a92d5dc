//! What lineage gives people and other tools: `aiaudit report lineage --model NAME@VERSION` as
//! JSON, Markdown and HTML in every language, proven against the latest checkpoint, and refused
//! over a changed record; `aiaudit export --format openlineage` as RunEvents that each carry
//! their proof.

mod common;

use common::{pipeline, run, stderr, stdout};
use serde_json::Value;

fn report(db: &std::path::Path, args: &[&str]) -> String {
    let out = run(
        db,
        &[
            &["report", "lineage", "--model", "credit-risk@2.3.0"][..],
            args,
        ]
        .concat(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out)
}

#[test]
fn a_model_versions_lineage_report_shows_its_chain_proven_in_every_language() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = pipeline(dir.path());
    let r: Value = serde_json::from_str(&report(&db, &["--format", "json"])).expect("json");
    assert_eq!(r["model"], "credit-risk");
    assert_eq!(r["version"], "2.3.0");
    // Every step of the pipeline, counted predictions, and each artifact with its version.
    let runs: Vec<&str> = r["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .map(|e| e["type"].as_str().expect("type"))
        .collect();
    assert_eq!(
        runs,
        [
            "data_ingestion",
            "data_transformation",
            "model_training",
            "evaluation",
            "deployment"
        ],
        "{r:#}"
    );
    assert_eq!(r["predictions"]["total"], 1000, "{r:#}");
    let keys: Vec<&str> = r["artifacts"]
        .as_array()
        .expect("artifacts")
        .iter()
        .map(|a| a["key"].as_str().expect("key"))
        .collect();
    for k in [
        "dataset:raw_loans@2026-11",
        "dataset:clean_loans@2026-11",
        "dataset:holdout@2026-11",
        "model:credit-risk@2.3.0",
    ] {
        assert!(keys.contains(&k), "{k} missing from {keys:?}");
    }
    // Proven against the checkpoint of the whole log: the three runs upstream and the model's
    // first 100 readers (the evaluation, the deployment and 98 predictions), the rest counted.
    let ev = &r["evidence"];
    assert_eq!(ev["proven"], true, "{ev:#}");
    assert_eq!(ev["checkpoint_size"], 1005);
    assert_eq!(ev["events_proven"], 3 + 100, "{ev:#}");
    assert_eq!(r["truncated"]["model:credit-risk@2.3.0"], 100, "{r:#}");
    let key = stdout(&run(&db, &["verifier-key"])).trim().to_owned();
    assert_eq!(ev["verifier_key"], key.as_str());
    // The graph folds the predictions into one node and keeps every hop.
    let nodes = r["graph"]["nodes"].as_array().expect("nodes");
    assert_eq!(nodes.len(), 4 + 5 + 1, "{nodes:#?}");
    assert!(
        nodes
            .iter()
            .any(|n| n["id"] == "predictions" && n["label"] == "1000 predictions")
    );
    let edges = r["graph"]["edges"].as_array().expect("edges");
    let has = |from: &str, to: &str, rel: &str| {
        edges
            .iter()
            .any(|e| e["from"] == from && e["to"] == to && e["relation"] == rel)
    };
    assert!(
        has("dataset:raw_loans@2026-11", "seq:1", "input"),
        "{edges:#?}"
    );
    assert!(
        has("seq:2", "model:credit-risk@2.3.0", "output"),
        "{edges:#?}"
    );
    assert!(
        has("model:credit-risk@2.3.0", "predictions", "input"),
        "{edges:#?}"
    );
    assert!(
        has("model:credit-risk@2.3.0", "seq:4", "input"),
        "{edges:#?}"
    );

    // The command in the report makes evidence that verifies offline.
    let cmd = ev["prove_command"].as_str().expect("command");
    assert!(
        cmd.starts_with("aiaudit lineage 'model:credit-risk@2.3.0' --prove"),
        "{cmd}"
    );

    for (lang, title, proven) in [
        (
            "en",
            "# Lineage: credit-risk@2.3.0",
            "is included in the signed checkpoint of size 1,005",
        ),
        (
            "de",
            "# Herkunft: credit-risk@2.3.0",
            "im signierten Checkpoint der Größe 1.005",
        ),
        (
            "fr",
            "# Lignage : credit-risk@2.3.0",
            "checkpoint signé de taille 1\u{202F}005",
        ),
    ] {
        let md = report(&db, &["--format", "md", "--lang", lang]);
        assert!(md.starts_with(title), "{md}");
        assert!(md.contains(proven), "{lang}: {md}");
        assert!(md.contains("```mermaid\nflowchart LR"), "{md}");
        assert!(md.contains("raw_loans"), "{md}");
        let html = report(&db, &["--format", "html", "--lang", lang]);
        assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
        assert!(html.contains(r#"<figure class="graph">"#), "{html}");
        assert!(html.contains(r#"class="verdict ok""#), "{html}");
        assert!(!html.contains("<script"));
        assert_eq!(html.matches("<svg").count(), html.matches("</svg>").count());
    }
}

#[test]
fn a_lineage_report_is_refused_over_a_changed_record_and_bad_names_are_named() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = pipeline(dir.path());
    for (arg, says) in [
        (
            "credit-risk",
            "names no model version: write it as NAME@VERSION",
        ),
        ("credit-risk@", "names no model version"),
        ("credit-risk@9.9.9", "\"model:credit-risk@9.9.9\""),
    ] {
        let out = run(&db, &["report", "lineage", "--model", arg]);
        assert!(!out.status.success(), "{arg}");
        assert!(stderr(&out).contains(says), "{arg}: {}", stderr(&out));
    }
    {
        let conn = common::open_raw(&db);
        common::raw::edit(&conn, 1, |data, _| {
            let i = data.len() / 2;
            data[i] ^= 1;
        });
    }
    let out = run(&db, &["report", "lineage", "--model", "credit-risk@2.3.0"]);
    assert!(!out.status.success(), "a report over a changed record");
    assert!(
        stderr(&out).contains("seq 1") && stderr(&out).contains("aiaudit verify"),
        "{}",
        stderr(&out)
    );
}
