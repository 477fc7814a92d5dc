//! A log signed by a key it never holds: `--signing-command` runs an external signer (here
//! OpenSSL over a PEM key, as an HSM or KMS wrapper would); no key file is made beside the log,
//! its checkpoints verify with the command's public key, and a signer that fails or returns a
//! wrong signature is named and nothing is committed with it.

mod common;

use common::{bin, run, stderr, stdout};
use std::path::Path;
use std::process::Output;

fn openssl(args: &[&str]) {
    let out = std::process::Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl must be installed (Debian: apt-get install openssl)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn with_signer(db: &Path, command: &str, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut c = bin();
    c.arg("--db").arg(db).arg("--signing-command").arg(command);
    for (k, v) in env {
        c.env(k, v);
    }
    c.args(args).output().expect("run")
}

#[test]
fn a_log_signed_by_an_external_command_never_holds_its_key() {
    let dir = tempfile::tempdir().expect("tmp");
    let (key, other) = (dir.path().join("hsm.pem"), dir.path().join("other.pem"));
    openssl(&[
        "genpkey",
        "-algorithm",
        "ed25519",
        "-out",
        &key.to_string_lossy(),
    ]);
    openssl(&[
        "genpkey",
        "-algorithm",
        "ed25519",
        "-out",
        &other.to_string_lossy(),
    ]);
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/signer/openssl-signer.sh");
    let command = format!(
        "bash {} {} test.example/hsm",
        script.display(),
        key.display()
    );
    let db = dir.path().join("audit.db");

    for i in 0..3 {
        let out = with_signer(
            &db,
            &command,
            &[],
            &["log", &format!("signed elsewhere {i}")],
        );
        assert!(out.status.success(), "{}", stderr(&out));
    }
    assert!(
        !db.with_extension("key").exists(),
        "no key file beside the log"
    );
    // The log's key is the command's, and every checkpoint verifies with it.
    let public = std::process::Command::new("bash")
        .args([
            &script.to_string_lossy()[..],
            &key.to_string_lossy()[..],
            "test.example/hsm",
            "public-key",
        ])
        .output()
        .expect("public key");
    let vkey = String::from_utf8_lossy(&public.stdout).trim().to_owned();
    assert_eq!(stdout(&run(&db, &["verifier-key"])).trim(), vkey);
    let out = run(&db, &["verify", "--key", &vkey]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("OK: 3 entries"), "{}", stdout(&out));
    let proof = dir.path().join("1.tlog-proof");
    std::fs::write(&proof, stdout(&run(&db, &["prove", "1"]))).expect("write");
    let out = run(
        &db,
        &["verify-proof", &proof.to_string_lossy(), "--key", &vkey],
    );
    assert!(out.status.success(), "{}", stderr(&out));

    // Without the command the log has no key to sign with, and says so.
    let out = run(&db, &["log", "no key"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("key"), "{}", stderr(&out));

    // A signer that signs with another key, or fails: named, and nothing committed.
    let sign_with = other.to_string_lossy().into_owned();
    let out = with_signer(
        &db,
        &command,
        &[("SIGN_WITH", &sign_with)],
        &["log", "forged"],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("returned a signature that does not verify"),
        "{}",
        stderr(&out)
    );
    let out = with_signer(&db, &command, &[("FAIL", "1")], &["log", "unplugged"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("the token is not plugged in"),
        "{}",
        stderr(&out)
    );
    let out = run(&db, &["verify", "--key", &vkey]);
    assert!(
        stdout(&out).contains("OK: 3 entries"),
        "nothing half-written: {}",
        stdout(&out)
    );

    // A command that is not a signer at all.
    let out = with_signer(&db, "/bin/echo nonsense", &[], &["log", "x"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("printed no verifier key"),
        "{}",
        stderr(&out)
    );
}
