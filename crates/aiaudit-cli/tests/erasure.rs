//! Crypto-shredding end to end: events about a subject with encrypted fields, subject access,
//! `forget`, then the fields read as [ERASED] while verify and every proof still pass.

mod common;

use common::{run, stderr, stdout};

const POLICY: &str = r#"
[redaction]
[redaction.detectors]
email = "encrypt"

[[redaction.fields]]
path = "diagnosis"
action = "encrypt"
"#;

#[test]
fn forgetting_a_subject_erases_its_fields_and_keeps_the_proofs() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("health.db");
    let policy = dir.path().join("policy.toml");
    std::fs::write(&policy, POLICY).expect("write");
    let p = policy.to_str().expect("utf8");
    let log = |args: &[&str]| {
        let mut all = vec!["--policy", p, "log"];
        all.extend_from_slice(args);
        let o = run(&db, &all);
        assert!(o.status.success(), "{}", stderr(&o));
    };
    log(&[
        "triage",
        "--subject",
        "patient-7",
        "--user",
        "dr-who",
        "--details-json",
        r#"{"diagnosis": {"code": "J10"}, "purpose": "treatment", "contact": "p7@example.com"}"#,
    ]);
    log(&[
        "follow-up",
        "--subject",
        "patient-7",
        "--details-json",
        r#"{"diagnosis": "recovered", "purpose": "treatment"}"#,
    ]);
    log(&[
        "other",
        "--subject",
        "patient-8",
        "--details-json",
        r#"{"diagnosis": "flu"}"#,
    ]);

    // Stored encrypted: the plaintext is nowhere in the log file.
    let raw = String::from_utf8_lossy(&std::fs::read(&db).expect("db")).into_owned();
    for secret in ["J10", "recovered", "p7@example.com"] {
        assert!(!raw.contains(secret), "{secret} stored in clear");
    }
    let cp = stdout(&run(&db, &["checkpoint"]));
    let proof = stdout(&run(&db, &["prove", "0"]));

    // Subject access decrypts.
    let o = run(&db, &["subject", "patient-7", "--format", "json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let report: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("json");
    assert_eq!(report["summary"]["count"], 2);
    assert_eq!(report["events"][0]["details"]["diagnosis"]["code"], "J10");
    assert_eq!(report["events"][0]["details"]["contact"], "p7@example.com");
    assert_eq!(report["summary"]["purposes"]["treatment"], 2);
    assert_eq!(report["summary"]["users"]["dr-who"], 1);
    assert_eq!(report["summary"]["key"], "present");
    let md = stdout(&run(&db, &["subject", "patient-7"]));
    assert!(
        md.contains("# Data subject access report: patient-7") && md.contains("treatment (2)"),
        "{md}"
    );

    let o = run(
        &db,
        &[
            "forget",
            "--subject",
            "patient-7",
            "--reason",
            "GDPR Art. 17 request 2026-118",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("destroyed the key"), "{}", stdout(&o));

    let report: serde_json::Value = serde_json::from_str(&stdout(&run(
        &db,
        &["subject", "patient-7", "--format", "json"],
    )))
    .expect("json");
    assert_eq!(report["events"][0]["details"]["diagnosis"], "[ERASED]");
    assert_eq!(report["events"][0]["details"]["contact"], "[ERASED]");
    assert_eq!(report["summary"]["key"], "destroyed");
    assert_eq!(
        report["summary"]["count"], 3,
        "the erasure is an event about the subject"
    );
    assert_eq!(report["events"][2]["type"], "erasure");
    assert_eq!(
        report["events"][2]["details"]["reason"],
        "GDPR Art. 17 request 2026-118"
    );
    // Another subject is untouched.
    let other: serde_json::Value = serde_json::from_str(&stdout(&run(
        &db,
        &["subject", "patient-8", "--format", "json"],
    )))
    .expect("json");
    assert_eq!(other["events"][0]["details"]["diagnosis"], "flu");

    // The log still verifies, extends the old checkpoint, and the old proof still checks.
    let cp_file = dir.path().join("cp");
    std::fs::write(&cp_file, cp).expect("write");
    let o = run(
        &db,
        &["verify", "--against", cp_file.to_str().expect("utf8")],
    );
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    let proof_file = dir.path().join("p");
    std::fs::write(&proof_file, proof).expect("write");
    let key = stdout(&run(&db, &["verifier-key"]));
    let o = run(
        &db,
        &[
            "verify-proof",
            proof_file.to_str().expect("utf8"),
            "--key",
            key.trim(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn encrypt_without_a_subject_masks_and_never_writes_in_clear() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("m.db");
    let policy = dir.path().join("policy.toml");
    std::fs::write(&policy, POLICY).expect("write");
    let o = run(
        &db,
        &[
            "--policy",
            policy.to_str().expect("utf8"),
            "log",
            "no subject",
            "--details-json",
            r#"{"diagnosis": "asthma"}"#,
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let shown: serde_json::Value =
        serde_json::from_str(&stdout(&run(&db, &["show", "0", "--format", "json"]))).expect("json");
    assert_eq!(shown["details"]["diagnosis"], "[REDACTED]");
    assert_eq!(shown["redactions"][0]["reason"], "the event has no subject");
    assert!(!String::from_utf8_lossy(&std::fs::read(&db).expect("db")).contains("asthma"));
}
