//! Bad input gets a one-line error naming the problem and a non-zero exit, and nothing is
//! written half-way.

mod common;

use common::*;
use std::path::Path;

fn fails_with(out: &std::process::Output, needle: &str) {
    let err = stderr(out);
    assert!(
        !out.status.success(),
        "expected failure, got success: {}",
        stdout(out)
    );
    assert!(
        err.contains(needle),
        "stderr should name the problem ({needle}): {err}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(err.starts_with("aiaudit: error: "), "{err}");
}

fn size(db: &Path) -> u64 {
    aiaudit::LogReader::open(db)
        .expect("reader")
        .size()
        .expect("size")
}

#[test]
fn malformed_details_json_writes_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("a.db");
    fails_with(
        &run(&db, &["log", "x", "--details-json", "{\"a\": 1,"]),
        "--details-json is not valid JSON",
    );
    assert!(!db.exists(), "a rejected event creates no log");
    fails_with(
        &run(&db, &["log", "x", "--details-json", "[1,2]"]),
        "must be a JSON object",
    );
    fails_with(
        &run(&db, &["log", "x", "--detail", "novalue"]),
        "expected KEY=VALUE",
    );
    fails_with(
        &run(
            &db,
            &["log", "x", "--details-json", "{\"n\": 12345678901234567}"],
        ),
        "2^53",
    );
    assert!(!db.exists());
    assert!(run(&db, &["log", "ok"]).status.success());
    fails_with(
        &run(&db, &["log", "x", "--status", "LOUD"]),
        "unknown status \"LOUD\"",
    );
    assert_eq!(size(&db), 1);
}

#[test]
fn each_odd_kind_of_file_gets_its_own_message() {
    let dir = tempfile::tempdir().expect("tmp");
    let short = dir.path().join("short.db");
    std::fs::write(&short, [7u8; 50]).expect("write");
    for (db, want) in [
        (
            dir.path().to_owned(),
            "is a directory, not an audit log file",
        ),
        (
            std::path::PathBuf::from("/dev/null"),
            "is not a regular file",
        ),
        (
            short.clone(),
            "is 50 bytes long: too short to be a SQLite database",
        ),
    ] {
        for args in [&["query"][..], &["verify"], &["log", "x"]] {
            let out = run(&db, args);
            fails_with(&out, want);
            assert_eq!(
                stderr(&out).trim_end().lines().count(),
                1,
                "{}",
                stderr(&out)
            );
        }
    }
    assert!(!std::path::Path::new("/dev/null-writer.lock").exists());
    assert_eq!(
        std::fs::read(&short).expect("read"),
        [7u8; 50],
        "nothing written"
    );
}

#[test]
fn a_file_that_is_not_an_aiaudit_database() {
    let dir = tempfile::tempdir().expect("tmp");
    let text = dir.path().join("notes.db");
    std::fs::write(
        &text,
        "this is not a database, just some text that is long enough to look like a header, and longer than SQLite's header of one hundred bytes.",
    )
    .expect("write");
    for args in [&["query"][..], &["verify"], &["log", "x"]] {
        fails_with(&run(&text, args), "is not an aiaudit database");
    }
    let other = dir.path().join("other.db");
    rusqlite::Connection::open(&other)
        .expect("sqlite")
        .execute_batch("CREATE TABLE t(x); INSERT INTO t VALUES (1);")
        .expect("other app");
    fails_with(
        &run(&other, &["log", "x"]),
        "is a SQLite database but not an aiaudit log",
    );
    let missing = dir.path().join("missing.db");
    fails_with(&run(&missing, &["query"]), "no audit log at");
    assert!(!missing.exists(), "reading never creates a log");
    assert!(
        !dir.path().join("notes.db-writer.lock").exists(),
        "a file that is not a log gets nothing written beside it"
    );
    let nowhere = dir.path().join("no/such/dir/a.db");
    fails_with(&run(&nowhere, &["log", "x"]), "does not exist");
}

#[test]
fn a_corrupt_database() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = make_log(dir.path(), "c.db", 2000, 500);
    let mut bytes = std::fs::read(&db).expect("read");
    // Keep the header page; overwrite the pages after it with garbage.
    for b in bytes.iter_mut().skip(16_384).take(200_000) {
        *b = 0xA5;
    }
    std::fs::write(&db, &bytes).expect("write");
    let out = run(&db, &["verify"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("corrupt") || err.contains("malformed") || err.contains("not an aiaudit"),
        "{err}"
    );
    let out = run(&db, &["log", "x"]);
    assert!(!out.status.success(), "no write into a corrupt file");
}

#[test]
fn a_wrong_or_missing_key() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = make_log(dir.path(), "k.db", 10, 10);
    // Another log's key.
    let other = make_log(dir.path(), "other.db", 1, 1);
    let other_key = other.with_extension("key");
    fails_with(
        &run(
            &db,
            &[
                "--signing-key",
                other_key.to_str().expect("utf8"),
                "log",
                "x",
            ],
        ),
        "is not the key of the log",
    );
    // A malformed key file.
    let junk = dir.path().join("junk.key");
    std::fs::write(&junk, "PRIVATE+KEY+nope").expect("write");
    fails_with(
        &run(
            &db,
            &["--signing-key", junk.to_str().expect("utf8"), "log", "x"],
        ),
        "junk.key",
    );
    // No key at all.
    std::fs::remove_file(db.with_extension("key")).expect("rm");
    fails_with(&run(&db, &["log", "x"]), "not found");
    assert_eq!(size(&db), 10, "nothing was written");
    // Verifying a proof with the wrong verifier key fails.
    let proof = dir.path().join("p.tlog-proof");
    std::fs::write(&proof, stdout(&run(&db, &["prove", "3"]))).expect("proof");
    let wrong = stdout(&run(&other, &["verifier-key"])).trim().to_owned();
    fails_with(
        &run(
            &db,
            &[
                "verify-proof",
                proof.to_str().expect("utf8"),
                "--key",
                &wrong,
            ],
        ),
        "does not verify",
    );
    fails_with(
        &run(
            &db,
            &[
                "verify-proof",
                proof.to_str().expect("utf8"),
                "--key",
                "garbage",
            ],
        ),
        "--key",
    );
}

#[test]
fn bad_queries_and_arguments() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = make_log(dir.path(), "q.db", 10, 10);
    fails_with(
        &run(&db, &["query", "--since", "yesterday"]),
        "bad time \"yesterday\"",
    );
    fails_with(&run(&db, &["show", "99"]), "no entry with seq 99");
    fails_with(
        &run(&db, &["show", "not-a-thing"]),
        "neither a seq number nor an event id",
    );
    fails_with(&run(&db, &["prove", "10"]), "not in the tree of size 10");
    fails_with(
        &run(&db, &["prove", "1", "--size", "7"]),
        "no signed checkpoint at size 7",
    );
    fails_with(&run(&db, &["init"]), "already exists");
    let junk = dir.path().join("junk.txt");
    std::fs::write(&junk, "hello\n").expect("write");
    let key = stdout(&run(&db, &["verifier-key"])).trim().to_owned();
    fails_with(
        &run(
            &db,
            &["verify-proof", junk.to_str().expect("utf8"), "--key", &key],
        ),
        "not a proof file",
    );
    let missing_against = dir.path().join("nope.checkpoint");
    fails_with(
        &run(
            &db,
            &[
                "verify",
                "--against",
                missing_against.to_str().expect("utf8"),
            ],
        ),
        "nope.checkpoint",
    );
}
