//! The side files are part of a log's identity: its signing key, its redaction secret and its
//! subject keys. Deleted in turn beside a log that holds events, each is refused by name, with
//! nothing written and nothing made in its place; `aiaudit init` alone makes a new secret, and
//! records that it did.

mod common;

use common::{run, stderr, stdout};
use std::path::Path;

const POLICY: &str = r#"
[redaction]
[[redaction.fields]]
path = "client"
action = "hash"

[[redaction.fields]]
path = "diagnosis"
action = "encrypt"
"#;

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The pseudonym the log holds for `details.client` of the event at `seq`.
fn pseudonym(db: &Path, seq: u64) -> String {
    let o = run(db, &["show", &seq.to_string(), "--format", "json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("json");
    let record = if v.get("record").is_some() {
        &v["record"]
    } else {
        &v
    };
    record["details"]["client"]
        .as_str()
        .unwrap_or_else(|| panic!("no pseudonym in {v}"))
        .to_owned()
}

#[test]
fn a_missing_side_file_is_refused_by_name_and_only_init_makes_a_new_one() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("audit.db");
    let policy = dir.path().join("policy.toml");
    std::fs::write(&policy, POLICY).expect("policy");
    let p = policy.to_str().expect("utf-8");
    let log = |args: &[&str]| {
        let mut all = vec!["--policy", p, "log"];
        all.extend_from_slice(args);
        run(&db, &all)
    };
    let o = log(&[
        "triage",
        "--subject",
        "patient-7",
        "--details-json",
        r#"{"client": "10.1.2.3", "diagnosis": "J10"}"#,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let before = pseudonym(&db, 0);
    assert!(before.starts_with("hmac:"), "{before}");
    for side in ["audit.key", "audit.hmac", "audit.subjects"] {
        assert!(
            dir.path().join(side).exists(),
            "{side} was made with the log"
        );
    }

    for (side, named) in [
        ("audit.key", "signing key"),
        ("audit.hmac", "redaction secret"),
        ("audit.subjects", "subject key file"),
    ] {
        let path = dir.path().join(side);
        let saved = dir.path().join("saved");
        std::fs::rename(&path, &saved).expect("set the file aside");
        let listing = files(dir.path());
        let db_bytes = std::fs::read(&db).expect("db");
        let o = log(&["after", "--details-json", r#"{"client": "10.1.2.3"}"#]);
        let err = stderr(&o);
        assert!(
            !o.status.success(),
            "{side} deleted: the write went through"
        );
        assert!(
            err.contains(side),
            "{side}: the refusal names the file: {err}"
        );
        assert!(
            err.contains(named) || side == "audit.key",
            "{side}: the refusal says what it is: {err}"
        );
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert_eq!(
            files(dir.path()),
            listing,
            "{side}: something was made: {err}"
        );
        assert_eq!(
            std::fs::read(&db).expect("db"),
            db_bytes,
            "{side}: the log changed"
        );
        std::fs::rename(&saved, &path).expect("restore");
    }

    // Restored, the same value gets the same pseudonym.
    let o = log(&["after", "--details-json", r#"{"client": "10.1.2.3"}"#]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(pseudonym(&db, 1), before);

    // Lost for good: init makes a new secret, says so, and the log records it.
    std::fs::remove_file(dir.path().join("audit.hmac")).expect("delete");
    let o = run(&db, &["--policy", p, "init"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("created redaction secret"),
        "{}",
        stdout(&o)
    );
    let o = run(&db, &["query", "--type", "admin", "--format", "jsonl"]);
    assert!(
        stdout(&o).contains("new redaction secret created"),
        "{}",
        stdout(&o)
    );
    let o = log(&["later", "--details-json", r#"{"client": "10.1.2.3"}"#]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_ne!(pseudonym(&db, 3), before, "a new secret, new pseudonyms");
    // With nothing missing, init on an existing log changes nothing.
    let o = run(&db, &["--policy", p, "init"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("already exists"), "{}", stderr(&o));
    let o = run(&db, &["verify"]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn an_empty_log_may_get_its_secret_again() {
    // Nothing was pseudonymised yet, so nothing can mismatch: the secret is made on open.
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("audit.db");
    assert!(run(&db, &["init"]).status.success());
    std::fs::remove_file(dir.path().join("audit.hmac")).expect("delete");
    let o = run(&db, &["log", "first"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(dir.path().join("audit.hmac").exists());
}
