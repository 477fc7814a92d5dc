//! Redaction in the writer: the default policy on, marks in the sealed record, proofs intact, a
//! policy file's errors, and hashing that correlates across events and restarts.

use aiaudit::redact::Policy;
use aiaudit::{AuditLogger, Durability, LogReader, VerifyOptions};
use serde_json::json;

mod common;
use common::records;

#[test]
fn the_default_policy_redacts_before_sealing_and_marks_what_it_did() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("r.db");
    let log = AuditLogger::builder(&path)
        .durability(Durability::Sync)
        .open()
        .expect("open");
    log.log_event(
        "Reset requested by jane.doe@example.com",
        json!({"password": "hunter2", "note": "card 4111 1111 1111 1111", "client": "10.20.30.40", "rows": 12}),
        "INFO",
    )
    .expect("log");
    log.log_event("again", json!({"client": "10.20.30.40"}), "INFO")
        .expect("log");
    log.close().expect("close");

    let recs = records(&path);
    let r = &recs[0];
    assert_eq!(r.name, "Reset requested by [EMAIL]");
    assert_eq!(r.details["password"], "[REDACTED]");
    assert_eq!(r.details["note"], "card [CC]");
    assert_eq!(r.details["rows"], 12);
    let ip = r.details["client"].as_str().expect("text");
    assert!(ip.starts_with("hmac:") && ip.len() == 37, "{ip}");
    assert_eq!(recs[1].details["client"], ip, "equal values correlate");
    let marks = serde_json::to_string(&r.redactions).expect("json");
    for want in [
        r#""path":"details.password""#,
        r#""rule":"credit_card""#,
        r#""path":"name""#,
    ] {
        assert!(marks.contains(want), "{marks}");
    }
    for secret in ["hunter2", "jane.doe", "4111", "10.20.30.40"] {
        let raw = std::fs::read(&path).expect("db");
        let text = String::from_utf8_lossy(&raw);
        assert!(!text.contains(secret), "{secret} reached the file");
    }
    let report = LogReader::open(&path)
        .expect("reader")
        .verify(&VerifyOptions::default(), &mut |_, _| {})
        .expect("verify");
    assert!(report.is_intact(), "{:?}", report.findings);
    // The secret lives beside the signing key, readable by its owner only.
    let hmac = path.with_extension("hmac");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&hmac)
            .expect("secret")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // Reopened, the log hashes with the same secret.
    let log = AuditLogger::builder(&path)
        .durability(Durability::Sync)
        .open()
        .expect("reopen");
    log.log_event("third", json!({"client": "10.20.30.40"}), "INFO")
        .expect("log");
    log.close().expect("close");
    assert_eq!(records(&path)[2].details["client"], ip);
}

#[test]
fn redaction_can_be_turned_off() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("off.db");
    let log = AuditLogger::builder(&path)
        .redaction(Policy::disabled())
        .durability(Durability::Sync)
        .open()
        .expect("open");
    log.log_event("mail a@example.com", json!({"password": "x"}), "INFO")
        .expect("log");
    log.close().expect("close");
    let r = &records(&path)[0];
    assert_eq!(r.name, "mail a@example.com");
    assert!(r.redactions.is_empty());
}

#[test]
fn a_bad_policy_file_stops_the_logger_and_names_the_line() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("p.db");
    for (text, want) in [
        (
            "[redaction]\n[redaction.detectors]\nemial = \"mask\"\n",
            "line 3",
        ),
        (
            "[redaction]\n\n[[redaction.fields]]\npath = \"x\"\naction = \"shred\"\n",
            "line 5",
        ),
        ("[redaction\n", "line 1"),
    ] {
        let policy = dir.path().join("policy.toml");
        std::fs::write(&policy, text).expect("write");
        let err = AuditLogger::builder(&path)
            .redaction_policy_file(&policy)
            .open()
            .expect_err(text);
        let msg = err.to_string();
        assert!(
            msg.contains(want) && msg.contains("policy.toml"),
            "{text:?}: {msg}"
        );
        assert!(!path.exists(), "nothing created");
    }
}

#[test]
fn the_actor_ip_is_hashed_like_addresses_in_details() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("ip.db");
    let log = AuditLogger::builder(&path)
        .durability(Durability::Sync)
        .open()
        .expect("open");
    let mut e = aiaudit::Event::new("user_request", "GET /predict");
    e.actor = Some(aiaudit_core::Actor {
        user: Some("u1".into()),
        ip: Some("192.168.7.9".into()),
        ..Default::default()
    });
    e = e.detail("client", "192.168.7.9");
    log.log(e).expect("log");
    log.close().expect("close");
    let r = &records(&path)[0];
    let ip = r.actor.as_ref().and_then(|a| a.ip.clone()).expect("ip");
    assert!(ip.starts_with("hmac:"), "{ip}");
    assert_eq!(
        r.details["client"],
        ip.as_str(),
        "the same address correlates"
    );
    assert_eq!(
        r.actor.as_ref().and_then(|a| a.user.clone()).as_deref(),
        Some("u1")
    );
}

#[test]
fn forget_erases_events_still_queued_and_makes_no_new_key() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("f.db");
    let policy =
        Policy::from_toml("[redaction]\n[[redaction.fields]]\npath = \"diagnosis\"\naction = \"encrypt\"\n[[redaction.fields]]\npath = \"reason\"\naction = \"encrypt\"\n")
            .expect("policy");
    let log = AuditLogger::builder(&path)
        .redaction(policy)
        .durability(Durability::Async)
        .open()
        .expect("open");
    for i in 0..500 {
        log.log(
            aiaudit::Event::new("triage", format!("visit {i}"))
                .subject("patient-1")
                .detail("diagnosis", "J10"),
        )
        .expect("log");
    }
    // No flush: the erasure is queued behind the 500 events, and must still cover them.
    let (existed, seq) =
        aiaudit::subjects::forget(&log, "patient-1", Some("request 7")).expect("forget");
    assert!(existed);
    log.close().expect("close");
    let keys = aiaudit_sqlite::SubjectKeyFile::open(&path.with_extension("subjects"), false)
        .expect("keys");
    assert_eq!(keys.get("patient-1").expect("get"), None, "no new key");
    let reader = LogReader::open(&path).expect("reader");
    let report =
        aiaudit::subjects::subject_access(&reader, Some(&keys), "patient-1").expect("access");
    assert_eq!(report["summary"]["count"], 501);
    assert_eq!(report["summary"]["encrypted_fields"]["erased"], 500);
    assert_eq!(report["summary"]["encrypted_fields"]["decrypted"], 0);
    let erasure = &report["events"][500];
    assert_eq!(erasure["seq"], seq);
    assert_eq!(erasure["details"]["key_destroyed"], true);
    // The erasure's own fields were not encrypted to a new key: masked instead.
    assert_eq!(erasure["details"]["reason"], "[REDACTED]");
    assert!(
        reader
            .verify(&VerifyOptions::default(), &mut |_, _| {})
            .expect("verify")
            .is_intact()
    );
}
