//! A pipeline logged through the library — ingestion, transformation, training, evaluation,
//! deployment, 1,000 predictions — then `aiaudit lineage <request id>` returns the whole chain,
//! its evidence verifies offline with the verifier key alone, and one changed byte of any event
//! on the chain fails both `verify` and the evidence.

mod common;

use aiaudit::{AuditLogger, Durability, Event};
use common::{pipeline, run, stderr, stdout};
use serde_json::{Value, json};
use std::path::Path;

fn graph(db: &Path, args: &[&str]) -> Value {
    let out = run(
        db,
        &[&["lineage"][..], args, &["--format", "json"]].concat(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_str(&stdout(&out)).expect("lineage JSON")
}

fn kinds(g: &Value) -> Vec<String> {
    let mut k: Vec<String> = g["events"]
        .as_object()
        .expect("events")
        .values()
        .map(|e| e["type"].as_str().expect("type").to_owned())
        .collect();
    k.sort();
    k
}

#[test]
fn a_prediction_traces_back_to_its_data_and_the_evidence_verifies_offline() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = pipeline(dir.path());

    let g = graph(&db, &["req-0500", "--upstream"]);
    assert_eq!(
        kinds(&g),
        [
            "data_ingestion",
            "data_transformation",
            "deployment",
            "evaluation",
            "model_inference",
            "model_training"
        ],
        "{g:#}"
    );
    let artifacts: Vec<&str> = g["artifacts"]
        .as_object()
        .expect("artifacts")
        .keys()
        .map(String::as_str)
        .collect();
    for a in [
        "dataset:raw_loans@2026-11",
        "dataset:clean_loans@2026-11",
        "dataset:holdout@2026-11",
        "model:credit-risk@2.3.0",
    ] {
        assert!(artifacts.contains(&a), "{a} missing from {artifacts:?}");
    }
    let served = g["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .any(|e| e["relation"] == "served" && e["from"]["seq"] == 4);
    assert!(served, "the prediction links to its deployment: {g:#}");

    // The same chain as a table, DOT and Mermaid.
    let table = stdout(&run(&db, &["lineage", "req-0500", "--upstream"]));
    assert!(
        table.contains("dataset:raw_loans@2026-11\tinput of\t#1 data_transformation"),
        "{table}"
    );
    let dot = stdout(&run(
        &db,
        &["lineage", "req-0500", "--upstream", "--format", "dot"],
    ));
    assert!(
        dot.starts_with("digraph lineage {") && dot.contains("label=\"served\""),
        "{dot}"
    );
    let mermaid = stdout(&run(
        &db,
        &["lineage", "req-0500", "--upstream", "--format", "mermaid"],
    ));
    assert!(
        mermaid.starts_with("flowchart LR") && mermaid.contains("-->|made|"),
        "{mermaid}"
    );

    // The evidence verifies with the key alone, and a byte changed in it does not.
    let evidence = dir.path().join("evidence.json");
    let out = run(
        &db,
        &[
            "lineage",
            "req-0500",
            "--upstream",
            "--prove",
            &evidence.to_string_lossy(),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let key = stdout(&run(&db, &["verifier-key"])).trim().to_owned();
    let check = |file: &Path| {
        run(
            &db,
            &["verify-proof", "--key", &key, &file.to_string_lossy()],
        )
    };
    let ok = check(&evidence);
    assert!(ok.status.success(), "{}{}", stdout(&ok), stderr(&ok));
    assert!(stdout(&ok).contains("6 events"), "{}", stdout(&ok));
    let mut doc: Value =
        serde_json::from_str(&std::fs::read_to_string(&evidence).expect("read")).expect("json");
    let record = doc["entries"][2]["record"]
        .as_str()
        .expect("record")
        .to_owned();
    let mut bytes = base64_decode(&record);
    let at = bytes.len() / 2;
    bytes[at] ^= 1;
    doc["entries"][2]["record"] = Value::String(base64_encode(&bytes));
    let forged = dir.path().join("forged.json");
    std::fs::write(&forged, doc.to_string()).expect("write");
    assert!(!check(&forged).status.success(), "a changed record passed");
    // An edge no record declares is refused too.
    let mut doc: Value =
        serde_json::from_str(&std::fs::read_to_string(&evidence).expect("read")).expect("json");
    doc["edges"].as_array_mut().expect("edges").push(json!({
        "from": {"node": "artifact", "key": "dataset:poisoned@1"},
        "to": {"node": "event", "seq": 2},
        "relation": "input"
    }));
    std::fs::write(&forged, doc.to_string()).expect("write");
    let out = check(&forged);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("not what its records say"),
        "{}",
        stderr(&out)
    );

    // One byte of the training record in the database: verify names it, and no evidence is made.
    {
        let conn = common::open_raw(&db);
        common::raw::edit(&conn, 2, |data, _| {
            let i = data.len() / 2;
            data[i] ^= 1;
        });
    }
    let out = run(&db, &["verify"]);
    assert!(!out.status.success());
    assert!(
        stdout(&out).contains("seq 2") || stderr(&out).contains("seq 2"),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let again = dir.path().join("again.json");
    let out = run(
        &db,
        &[
            "lineage",
            "req-0500",
            "--upstream",
            "--prove",
            &again.to_string_lossy(),
        ],
    );
    assert!(
        !out.status.success(),
        "evidence was made over a changed record"
    );
}

#[test]
fn downstream_of_a_model_version_lists_its_predictions_in_part_and_bad_targets_are_named() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = pipeline(dir.path());
    let g = graph(
        &db,
        &["credit-risk@2.3.0", "--downstream", "--per-artifact", "10"],
    );
    // Its first ten readers: the evaluation, the deployment and eight predictions.
    let readers = kinds(&g);
    assert_eq!(readers.len(), 10, "{g:#}");
    assert_eq!(
        readers.iter().filter(|k| *k == "model_inference").count(),
        8
    );
    assert_eq!(g["truncated"]["model:credit-risk@2.3.0"], 10, "{g:#}");
    // Downstream of the raw data reaches the model and its readers.
    let g = graph(
        &db,
        &[
            "dataset:raw_loans@2026-11",
            "--downstream",
            "--per-artifact",
            "3",
        ],
    );
    assert!(kinds(&g).contains(&"model_training".to_owned()), "{g:#}");
    assert!(kinds(&g).contains(&"model_inference".to_owned()), "{g:#}");

    let out = run(&db, &["lineage", "no-such-thing@1"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("no event, request or artifact \"no-such-thing@1\""),
        "{}",
        stderr(&out)
    );
    let out = run(&db, &["lineage", "99999"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("no entry with seq 99999"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn declared_cycles_end_the_walk_with_each_node_once() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("cycle.db");
    let log = AuditLogger::builder(&db)
        .durability(Durability::Sync)
        .open()
        .expect("open");
    // One run makes b from a, another a from b.
    log.log(
        Event::new("data_transformation", "a to b")
            .detail("inputs", json!(["a"]))
            .detail("outputs", json!(["b"])),
    )
    .expect("log");
    log.log(
        Event::new("data_transformation", "b to a")
            .detail("inputs", json!(["b"]))
            .detail("outputs", json!(["a"])),
    )
    .expect("log");
    log.close().expect("close");
    for dir_flag in ["--upstream", "--downstream"] {
        let g = graph(&db, &["a", dir_flag]);
        assert_eq!(g["events"].as_object().expect("events").len(), 2, "{g:#}");
        assert_eq!(
            g["artifacts"].as_object().expect("artifacts").len(),
            2,
            "{g:#}"
        );
        assert_eq!(g["edges"].as_array().expect("edges").len(), 4, "{g:#}");
    }
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .expect("base64")
}

fn base64_encode(b: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(b)
}
