//! `aiaudit migrate` from an SQLite file into a PostgreSQL schema on the real server
//! (127.0.0.1:5432, database `test`; override with `AIAUDIT_TEST_PG`): the copy verifies,
//! holds the same checkpoints, answers the same queries, accepts new events, and a proof made
//! from the source checks against the copy's checkpoint. A damaged source is refused.

mod common;

use common::{make_log, pg_base, run, stderr, stdout};
use std::path::Path;

fn drop_schema(schema: &str) {
    common::drop_pg_schema(schema);
}

#[test]
fn sqlite_log_moves_to_postgres_with_its_proofs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = make_log(dir.path(), "src.db", 3_000, 700);
    let schema = format!("t_migrate_{}", std::process::id());
    drop_schema(&schema);
    let url = format!("{}?schema={schema}", pg_base());
    let from = format!("sqlite:{}", db.display());
    let migrate = || {
        common::bin()
            .current_dir(dir.path())
            .args(["migrate", "--from", &from, "--to", &url])
            .output()
            .expect("migrate")
    };
    let proof = dir.path().join("proof.txt");
    let out = run(&db, &["prove", "1234"]);
    assert!(out.status.success(), "{}", stderr(&out));
    std::fs::write(&proof, &out.stdout).expect("write proof");

    let out = migrate();
    let text = stdout(&out);
    assert!(out.status.success(), "{text}{}", stderr(&out));
    let verified = stdout(&run(&db, &["verify"]));
    let checkpoints = verified
        .split("entries, ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .expect("the source's checkpoint count");
    assert!(
        text.contains(&format!(
            "copied 3000 entries and {checkpoints} signed checkpoints"
        )),
        "{text}{verified}"
    );
    assert!(text.contains("OK: the copy verifies"), "{text}");
    assert!(dir.path().join(format!("{schema}.key")).exists(), "{text}");

    // Same checkpoint, same answers.
    let pg = Path::new(&url);
    assert_eq!(
        stdout(&run(pg, &["checkpoint"])),
        stdout(&run(&db, &["checkpoint"]))
    );
    let q = [
        "query", "--user", "user-3", "--format", "jsonl", "--limit", "0",
    ];
    assert_eq!(stdout(&run(pg, &q)), stdout(&run(&db, &q)));
    assert_eq!(stdout(&run(pg, &q)).lines().count(), 600);
    // The same through the posting lists newest first, and over the whole range both ways.
    for q in [
        &[
            "query", "--user", "user-3", "--desc", "--format", "jsonl", "--limit", "0",
        ][..],
        &["query", "--desc", "--format", "jsonl", "--limit", "2500"][..],
        &[
            "query",
            "--model",
            "credit-risk",
            "--format",
            "jsonl",
            "--limit",
            "0",
        ][..],
    ] {
        let (a, b) = (stdout(&run(pg, q)), stdout(&run(&db, q)));
        assert!(!a.is_empty());
        assert_eq!(a, b, "{q:?}");
    }
    // The source's proof checks against the copy's verifier key, and the copy proves the same.
    let key = stdout(&run(pg, &["verifier-key"])).trim().to_owned();
    let out = common::bin()
        .args(["verify-proof"])
        .arg(&proof)
        .args(["--key", &key])
        .output()
        .expect("verify-proof");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&run(pg, &["prove", "1234"])),
        std::fs::read_to_string(&proof).expect("proof")
    );

    // The copy takes new events with the copied key.
    let out = common::bin()
        .current_dir(dir.path())
        .args(["--db", &url, "log", "after the move"])
        .output()
        .expect("log");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("logged seq 3000"), "{}", stdout(&out));
    let out = run(pg, &["verify"]);
    assert!(out.status.success(), "{}", stdout(&out));

    // Migrating again into the same schema is refused, and a damaged source never copies.
    let out = migrate();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("already holds a log"),
        "{}",
        stderr(&out)
    );
    drop_schema(&schema);

    let conn = common::open_raw(&db);
    common::raw::edit(&conn, 17, |data, _| {
        let text = String::from_utf8(data.clone()).expect("utf8");
        *data = text.replace("event 17\"", "event 71\"").into_bytes();
    });
    drop(conn);
    let out = migrate();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("damaged"), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("DROP SCHEMA {schema} CASCADE")),
        "{}",
        stderr(&out)
    );
    drop_schema(&schema);
}
