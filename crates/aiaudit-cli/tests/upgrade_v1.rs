//! A log written by aiaudit's first layout (`tests/fixtures/v1`, made by the v1 binary; see
//! its README) is refused in one line by every command, converted in place by `aiaudit
//! migrate --to-v2`, and afterwards holds the same records and the same signed checkpoints:
//! the proofs given out before the upgrade verify, and the same proofs come out after it.

mod common;

use common::{run, stderr, stdout};
use std::path::{Path, PathBuf};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/v1");

/// The fixture's log, its key and secret, copied into `dir`.
fn v1_log(dir: &Path) -> PathBuf {
    for f in ["v1.db", "v1.key", "v1.hmac"] {
        std::fs::copy(Path::new(FIXTURE).join(f), dir.join(f)).expect("copy fixture");
    }
    dir.join("v1.db")
}

fn checkpoints(db: &Path) -> Vec<(i64, Vec<u8>, String)> {
    let c = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .expect("open");
    let mut stmt = c
        .prepare("SELECT size, root, note FROM checkpoints ORDER BY size")
        .expect("prepare");
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
}

#[test]
fn a_v1_log_is_refused_in_one_line_and_nothing_is_written() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = v1_log(dir.path());
    let before = std::fs::read(&db).expect("read");
    for args in [
        &["verify"][..],
        &["query", "--limit", "3"],
        &["log", "one more"],
        &["prove", "5"],
    ] {
        let out = run(&db, args);
        assert!(!out.status.success(), "{args:?} went on");
        let err = stderr(&out);
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        assert!(
            err.contains("is an aiaudit v1 log: run `aiaudit migrate --to-v2 --db"),
            "{args:?}: {err}"
        );
    }
    assert_eq!(
        std::fs::read(&db).expect("read"),
        before,
        "the v1 file is untouched"
    );
}

#[test]
fn migrate_to_v2_keeps_every_record_checkpoint_and_proof() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = v1_log(dir.path());
    let original = std::fs::read(&db).expect("read");
    let signed = checkpoints(&db);
    assert!(signed.len() > 3);

    let out = run(&db, &["migrate", "--to-v2"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("converted"), "{text}");
    assert!(text.contains("OK: the converted log verifies"), "{text}");

    // The original is kept, byte for byte; the new file has the same signed checkpoints.
    let kept = PathBuf::from(format!("{}.v1", db.display()));
    assert_eq!(std::fs::read(&kept).expect("kept"), original);
    assert_eq!(checkpoints(&db), signed);
    let version: i64 = rusqlite::Connection::open(&db)
        .expect("open")
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("version");
    assert_eq!(version, 2);

    // Every record reads back as the v1 binary showed it.
    let query = run(&db, &["query", "--format", "jsonl", "--limit", "0"]);
    assert!(query.status.success(), "{}", stderr(&query));
    let want = std::fs::read_to_string(Path::new(FIXTURE).join("query.jsonl")).expect("fixture");
    assert_eq!(stdout(&query), want);

    // A proof the v1 binary gave out verifies against the converted log's key, and the
    // converted log gives the same proof.
    let proof = Path::new(FIXTURE).join("prove-300.txt");
    let key = stdout(&run(&db, &["verifier-key"])).trim().to_owned();
    let v1_key: String = rusqlite::Connection::open_with_flags(
        Path::new(FIXTURE).join("v1.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .and_then(|c| {
        c.query_row(
            "SELECT value FROM meta WHERE key = 'verifier_key'",
            [],
            |r| r.get(0),
        )
    })
    .expect("the fixture's key");
    assert_eq!(key, v1_key, "the converted log keeps its verifier key");
    let check = run(
        &db,
        &["verify-proof", "--key", &key, &proof.to_string_lossy()],
    );
    assert!(
        check.status.success(),
        "{}{}",
        stdout(&check),
        stderr(&check)
    );
    let size = std::fs::read_to_string(Path::new(FIXTURE).join("prove-300.size"))
        .expect("size")
        .trim()
        .to_owned();
    let again = run(&db, &["prove", "300", "--size", &size]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(
        stdout(&again),
        std::fs::read_to_string(&proof).expect("proof")
    );

    // The converted log takes new events, and a second upgrade has nothing to do.
    let out = run(&db, &["log", "after the upgrade"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(run(&db, &["verify"]).status.success());
    let out = run(&db, &["migrate", "--to-v2"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("v1"), "{}", stderr(&out));
}

#[test]
fn a_damaged_v1_log_is_not_converted_and_stays_where_it_was() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = v1_log(dir.path());
    {
        let conn = common::open_raw(&db);
        conn.execute(
            "UPDATE entries SET data = CAST(replace(CAST(data AS TEXT), '\"approved\"', '\"declined\"') AS BLOB) WHERE seq = 17",
            [],
        )
        .expect("tamper");
    }
    let damaged = std::fs::read(&db).expect("read");
    let out = run(&db, &["migrate", "--to-v2"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("damaged"), "{}", stderr(&out));
    assert_eq!(std::fs::read(&db).expect("read"), damaged);
    let leftovers: Vec<String> = std::fs::read_dir(dir.path())
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("v2-partial") || n.ends_with(".v1"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
