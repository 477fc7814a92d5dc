//! The CLI end to end: init, log, query in every format, show the exact leaf data, prove and
//! check the proof offline, consistency proofs, tail.

mod common;

use aiaudit_core::leaf_hash;
use common::*;

#[test]
fn init_log_query_show_prove_verify() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("w.db");
    let out = run(&db, &["init", "--origin", "acme.example/audit/test"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let key = stdout(&run(&db, &["verifier-key"])).trim().to_owned();
    assert!(key.starts_with("acme.example/audit/test+"), "{key}");
    assert!(stdout(&out).contains(&key), "init prints the verifier key");
    let parts: Vec<&str> = key.splitn(3, '+').collect();
    assert_eq!(parts[1].len(), 8, "hex key id");

    let out = run(
        &db,
        &[
            "log",
            "Model Training Started",
            "--type",
            "model_training",
            "--status",
            "info",
            "--detail",
            "accuracy=0.92",
            "--detail",
            "dataset=loans.csv",
            "--details-json",
            "{\"iterations\": 150}",
            "--user",
            "alice",
            "--model",
            "credit@2.0",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with("logged seq 0 id "),
        "{}",
        stdout(&out)
    );
    assert!(
        run(
            &db,
            &[
                "log",
                "Drift detected",
                "--type",
                "drift",
                "--status",
                "WARNING"
            ]
        )
        .status
        .success()
    );

    let json: serde_json::Value =
        serde_json::from_str(&stdout(&run(&db, &["query", "--format", "json"])))
            .expect("json array");
    assert_eq!(json.as_array().map(Vec::len), Some(2));
    assert_eq!(json[0]["details"]["accuracy"], serde_json::json!(0.92));
    assert_eq!(
        json[0]["details"]["dataset"],
        serde_json::json!("loans.csv")
    );
    assert_eq!(json[0]["details"]["iterations"], serde_json::json!(150));
    assert_eq!(json[0]["model"]["version"], serde_json::json!("2.0"));
    assert_eq!(json[0]["status"], serde_json::json!("INFO"));

    let drift = stdout(&run(
        &db,
        &["query", "--type", "drift", "--format", "jsonl"],
    ));
    assert_eq!(drift.lines().count(), 1);
    assert!(drift.contains("\"Drift detected\""));
    let csv = stdout(&run(&db, &["query", "--user", "alice", "--format", "csv"]));
    assert_eq!(csv.lines().count(), 2, "{csv}");
    assert!(csv.lines().nth(1).is_some_and(|l| l.starts_with("0,")));
    let table = stdout(&run(&db, &["query", "--status", "warning"]));
    assert!(
        table.contains("Drift detected") && !table.contains("Training"),
        "{table}"
    );
    assert_eq!(
        stdout(&run(&db, &["query", "--since", "1h", "--format", "jsonl"]))
            .lines()
            .count(),
        2
    );
    assert_eq!(
        stdout(&run(
            &db,
            &["query", "--until", "2000-01-01", "--format", "jsonl"]
        ))
        .lines()
        .count(),
        0
    );

    // `show --format json` prints the leaf data exactly as hashed.
    let mut shown = run(&db, &["show", "0", "--format", "json"]).stdout;
    assert_eq!(shown.pop(), Some(b'\n'));
    let proof_text = stdout(&run(&db, &["prove", "0"]));
    assert!(proof_text.starts_with("c2sp.org/tlog-proof@v1\nextra "));
    let bundle = aiaudit_core::InclusionBundle::parse(&proof_text).expect("parses");
    assert_eq!(bundle.leaf_data.as_deref(), Some(&shown[..]));
    let id = serde_json::from_slice::<serde_json::Value>(&shown).expect("json")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert_eq!(
        run(&db, &["show", &id, "--format", "json"]).stdout[..shown.len()],
        shown[..]
    );
    let pretty = stdout(&run(&db, &["show", "0"]));
    assert!(
        pretty.contains(&hex(&leaf_hash(&shown))),
        "pretty show prints the leaf hash"
    );

    // The proof checks offline, with only the verifier key.
    let proof_file = dir.path().join("0.tlog-proof");
    std::fs::write(&proof_file, &proof_text).expect("write");
    std::fs::remove_file(&db).expect("no database needed");
    let out = verify_proof_offline(&proof_file, &key);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with("OK: entry 0 is in the log acme.example/audit/test of size 2")
    );
    // A tampered proof fails.
    let tampered = proof_text.replacen("extra e", "extra f", 1);
    std::fs::write(&proof_file, tampered).expect("write");
    let out = verify_proof_offline(&proof_file, &key);
    assert!(!out.status.success());
}

#[test]
fn consistency_proofs_and_checkpoints_over_time() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = make_log(dir.path(), "c.db", 100, 10);
    let key = stdout(&run(&db, &["verifier-key"])).trim().to_owned();
    let old = stdout(&run(&db, &["checkpoint"]));
    assert!(old.lines().nth(1) == Some("100"), "{old}");
    append(&db, 100, 250, 10);
    let proof = dir.path().join("c.proof");
    std::fs::write(&proof, stdout(&run(&db, &["prove-consistency", "100"]))).expect("write");
    let out = run(
        &db,
        &["verify-proof", proof.to_str().expect("utf8"), "--key", &key],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("of size 250 extends the tree of size 100"),
        "{}",
        stdout(&out)
    );
    let old_file = dir.path().join("old.checkpoint");
    std::fs::write(&old_file, &old).expect("write");
    let out = run(
        &db,
        &["verify", "--against", old_file.to_str().expect("utf8")],
    );
    assert!(out.status.success(), "{}", stdout(&out));
    assert!(stdout(&out).contains("extends your checkpoint of size 100"));
    let tail = stdout(&run(&db, &["tail", "-n", "3", "--format", "jsonl"]));
    let seqs: Vec<u64> = tail
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).expect("json")["seq"]
                .as_u64()
                .expect("seq")
        })
        .collect();
    assert_eq!(seqs, vec![247, 248, 249]);
}

#[test]
fn the_demo_logs_verifies_and_summarises() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("demo.db");
    let out = run(&db, &["demo", "--predictions", "2000"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("2008 events"), "{text}");
    assert!(text.contains("verify: OK"), "{text}");
    assert!(
        text.contains("\u{2014} "),
        "prints the signed checkpoint: {text}"
    );
    let warn = stdout(&run(
        &db,
        &["query", "--type", "drift", "--format", "jsonl"],
    ));
    assert!(warn.contains("\"WARNING\""));
    assert_eq!(
        stdout(&run(
            &db,
            &["query", "--status", "FAILURE", "--format", "jsonl"]
        ))
        .lines()
        .count(),
        1
    );
    assert_eq!(
        stdout(&run(
            &db,
            &[
                "query",
                "--type",
                "model_inference",
                "--limit",
                "0",
                "--format",
                "jsonl"
            ]
        ))
        .lines()
        .count(),
        2000
    );
}

/// `aiaudit verify-proof FILE --key KEY`, with no database anywhere.
fn verify_proof_offline(file: &std::path::Path, key: &str) -> std::process::Output {
    bin()
        .args(["verify-proof", file.to_str().expect("utf8"), "--key", key])
        .output()
        .expect("run")
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
