//! `aiaudit redact` and `--policy`: the policy as a filter, and a bad policy refused.

mod common;

use common::{bin, stderr, stdout};
use std::io::Write;
use std::process::{Output, Stdio};

fn redact(dir: &std::path::Path, args: &[&str], input: &str) -> Output {
    let mut child = bin()
        .arg("--db")
        .arg(dir.join("audit.db"))
        .arg("redact")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    // A command that refuses its policy exits before reading its input, so a
    // broken pipe here is an outcome the caller's assertions judge, not a failure.
    match child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
    {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        Err(e) => panic!("write: {e}"),
    }
    child.wait_with_output().expect("wait")
}

#[test]
fn lines_of_text_come_out_redacted_one_for_one() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = redact(
        dir.path(),
        &[],
        "Contact john.smith@example.com or call 555-123-4567\nnothing to see\n\nSSN 123-45-6789, card 4111 1111 1111 1111\n",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "Contact [EMAIL] or call [PHONE]\nnothing to see\n\nSSN [SSN], card [CC]\n"
    );
}

#[test]
fn a_json_document_gets_field_rules_too() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = redact(
        dir.path(),
        &["--json"],
        r#"{"user": {"Password": "hunter2", "email": "a@b.com"}, "n": 1}"#,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "{\"n\":1,\"user\":{\"Password\":\"[REDACTED]\",\"email\":\"[EMAIL]\"}}\n"
    );
    let bad = redact(dir.path(), &["--json"], "{not json");
    assert!(!bad.status.success());
    assert!(
        stderr(&bad).contains("not one JSON document"),
        "{}",
        stderr(&bad)
    );
}

#[test]
fn a_policy_file_is_used_and_a_bad_one_is_refused_with_its_line() {
    let dir = tempfile::tempdir().expect("tmp");
    let policy = dir.path().join("policy.toml");
    std::fs::write(
        &policy,
        "[redaction]\n[redaction.detectors]\nemail = \"keep\"\n\n[[redaction.custom]]\nname = \"employee_id\"\npattern = \"EMP-[0-9]{6}\"\n",
    )
    .expect("write");
    let p = policy.to_str().expect("utf8");
    let out = redact(dir.path(), &["--policy", p], "EMP-123456 wrote a@b.com\n");
    assert_eq!(stdout(&out), "[EMPLOYEE_ID] wrote a@b.com\n");

    std::fs::write(
        &policy,
        "[redaction]\n[redaction.detectors]\nemail = \"maks\"\n",
    )
    .expect("write");
    let out = redact(dir.path(), &["--policy", p], "x\n");
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("line 3") && err.contains("maks"), "{err}");
    // The logger refuses to start with it, and creates nothing.
    let db = dir.path().join("new.db");
    let out = bin()
        .args([
            "--db",
            db.to_str().expect("utf8"),
            "--policy",
            p,
            "log",
            "x",
        ])
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(stderr(&out).contains("line 3"), "{}", stderr(&out));
    assert!(!db.exists());
}

#[test]
fn explain_names_each_change_with_its_rule_and_reason() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = redact(
        dir.path(),
        &["--explain"],
        "request bfe23862-5551-4234-8901-6fe56ef17b32 from analyst\ncall 5552345678, card 4111 1111 1111 1111\n",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "the id on line 1 is left alone: {text}");
    assert_eq!(
        lines[0],
        "line 2 [5..15] \"5552345678\" phone (mask): a bare digit run with the phone word \"call\" near it"
    );
    assert!(
        lines[1].starts_with("line 2 [22..41] \"4111 1111 1111 1111\" credit_card (mask): ")
            && lines[1].contains("Luhn"),
        "{text}"
    );
    let out = redact(
        dir.path(),
        &["--json", "--explain"],
        r#"{"contact": {"tel": "0301234567"}, "password": "x", "rows": "0301234567"}"#,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("$.contact.tel [0..10] \"0301234567\" phone (mask): a bare digit run in a field whose name says \"contact\""), "{text}");
    assert!(
        text.contains("$.password password (mask): the field rule \"password\" names this field"),
        "{text}"
    );
    assert!(!text.contains("$.rows"), "{text}");
}
