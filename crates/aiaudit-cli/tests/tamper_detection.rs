//! Tamper detection on a real file: with the append-only triggers dropped, edit the SQLite file
//! directly, and `aiaudit verify` (or `verify --against` a checkpoint kept elsewhere) must fail
//! and name the first bad seq.

mod common;

use aiaudit_core::leaf_hash;
use common::*;
use rusqlite::params;
use std::path::{Path, PathBuf};

const N: u64 = 500;

fn log(dir: &Path) -> PathBuf {
    make_log(dir, "t.db", N, 50)
}

/// Runs verify and returns the first bad seq it names (None when it passes).
fn first_bad(db: &Path, extra: &[&str]) -> Option<u64> {
    let mut args = vec!["verify"];
    args.extend_from_slice(extra);
    let out = run(db, &args);
    let text = stdout(&out);
    if out.status.success() {
        assert!(text.starts_with("OK"), "{text}");
        return None;
    }
    assert_eq!(
        out.status.code(),
        Some(1),
        "verify exits 1 on a damaged log: {text}{}",
        stderr(&out)
    );
    let seq = text
        .split("first bad seq ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|s| s.parse().ok());
    assert!(seq.is_some(), "verify names the seq: {text}");
    seq
}

/// Appends a row for seq `N` made from the last record, as someone without the key would.
fn append_forged_row(conn: &rusqlite::Connection) {
    let forged = String::from_utf8(data_of(conn, N - 1))
        .expect("utf8")
        .replace(&format!("\"seq\":{}", N - 1), &format!("\"seq\":{N}"))
        .replace("event 499", "event 500");
    conn.execute(
        "INSERT INTO tail SELECT ?1, time_ns, ?2, ?3 FROM tail WHERE seq = ?4",
        params![
            N as i64,
            &leaf_hash(forged.as_bytes())[..],
            forged.as_bytes(),
            (N - 1) as i64
        ],
    )
    .expect("insert");
}

fn data_of(conn: &rusqlite::Connection, seq: u64) -> Vec<u8> {
    raw::record(conn, seq)
}

#[test]
fn an_intact_log_verifies_and_the_triggers_refuse_edits() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = log(dir.path());
    assert_eq!(first_bad(&db, &[]), None);
    let conn = rusqlite::Connection::open(&db).expect("open");
    for sql in [
        "UPDATE tail SET time_ns = 0 WHERE seq = 300",
        "DELETE FROM tail WHERE seq = 300",
        "UPDATE bundles SET data = x'00'",
        "DELETE FROM bundles",
        "DELETE FROM checkpoints",
        "UPDATE tiles SET hashes = zeroblob(8192)",
        "DELETE FROM tiles",
        "DELETE FROM tile_tail",
        "DELETE FROM postings",
        "UPDATE meta SET value = 'x'",
    ] {
        let err = conn.execute_batch(sql).expect_err(sql);
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
}

#[test]
fn one_changed_payload_byte() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = log(dir.path());
    let conn = open_raw(&db);
    for seq in [123, 456] {
        raw::edit(&conn, seq, |data, _| {
            let name = format!("event {seq}");
            let pos = data
                .windows(name.len())
                .position(|w| w == name.as_bytes())
                .expect("name");
            data[pos + name.len() - 1] ^= 1;
        });
    }
    // One in a bundle, one in the tail: the first is named.
    assert_eq!(first_bad(&db, &[]), Some(123));
}

#[test]
fn a_changed_leaf_hash() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = log(dir.path());
    raw::set_leaf_hash(&open_raw(&db), 200, [0; 32]);
    assert_eq!(first_bad(&db, &[]), Some(200));
    let dir = tempfile::tempdir().expect("tmp");
    let db = log(dir.path());
    raw::set_leaf_hash(&open_raw(&db), 400, [0; 32]);
    assert_eq!(first_bad(&db, &[]), Some(400));
}

#[test]
fn a_deleted_row() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = log(dir.path());
    open_raw(&db)
        .execute("DELETE FROM tail WHERE seq = 300", [])
        .expect("edit");
    assert_eq!(first_bad(&db, &[]), Some(300));
}

#[test]
fn two_swapped_rows() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = log(dir.path());
    let conn = open_raw(&db);
    conn.execute_batch(
        "CREATE TEMP TABLE a AS SELECT * FROM tail WHERE seq = 310;
         CREATE TEMP TABLE b AS SELECT * FROM tail WHERE seq = 320;
         DELETE FROM tail WHERE seq IN (310, 320);
         INSERT INTO tail SELECT 320, time_ns, leaf_hash, data FROM a;
         INSERT INTO tail SELECT 310, time_ns, leaf_hash, data FROM b;",
    )
    .expect("swap");
    assert_eq!(first_bad(&db, &[]), Some(310));
}

#[test]
fn a_forged_row_appended_without_the_key() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = log(dir.path());
    append_forged_row(&open_raw(&db));
    assert_eq!(first_bad(&db, &[]), Some(N));
}

#[test]
fn a_truncated_log() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = log(dir.path());
    open_raw(&db)
        .execute("DELETE FROM tail WHERE seq >= 450", [])
        .expect("edit");
    assert_eq!(first_bad(&db, &[]), Some(450));
}

#[test]
fn a_consistently_truncated_log_is_caught_against_a_kept_checkpoint() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = log(dir.path());
    let kept = dir.path().join("kept.checkpoint");
    std::fs::write(&kept, stdout(&run(&db, &["checkpoint"]))).expect("keep checkpoint");
    let conn = open_raw(&db);
    let cut: i64 = conn
        .query_row(
            "SELECT max(size) FROM checkpoints WHERE size <= 400",
            [],
            |r| r.get(0),
        )
        .expect("a checkpoint at or below 400");
    conn.execute_batch(&format!(
        "DELETE FROM tail WHERE seq >= {cut}; DELETE FROM checkpoints WHERE size > {cut};
         DELETE FROM postings WHERE batch >= {cut};"
    ))
    .expect("truncate consistently");
    drop(conn);
    assert_eq!(
        first_bad(&db, &[]),
        None,
        "internally consistent, as an older copy would be"
    );
    let kept = kept.to_string_lossy().into_owned();
    assert_eq!(first_bad(&db, &["--against", &kept]), Some(cut as u64));
}

#[test]
fn an_older_copy_restored_is_caught_against_a_kept_checkpoint() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = make_log(dir.path(), "t.db", 300, 50);
    let old = dir.path().join("old.db");
    copy_log(&db, &old);
    append(&db, 300, N, 50);
    let kept = dir.path().join("kept.checkpoint");
    std::fs::write(&kept, stdout(&run(&db, &["checkpoint"]))).expect("keep checkpoint");
    copy_log(&old, &db);
    let _ = std::fs::remove_file(format!("{}-wal", db.display()));
    assert_eq!(first_bad(&db, &[]), None);
    let kept = kept.to_string_lossy().into_owned();
    assert_eq!(first_bad(&db, &["--against", &kept]), Some(300));
}

#[test]
fn a_forged_checkpoint() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = log(dir.path());
    let conn = open_raw(&db);
    let (size, note): (i64, String) = conn
        .query_row(
            "SELECT size, note FROM checkpoints ORDER BY size DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("latest");
    // Claim a different root under the old signature.
    let mut lines: Vec<String> = note.lines().map(str::to_owned).collect();
    lines[2] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".into();
    let forged = lines.join("\n") + "\n";
    conn.execute(
        "UPDATE checkpoints SET note = ?1 WHERE size = ?2",
        params![forged, size],
    )
    .expect("forge");
    let previous: i64 = conn
        .query_row(
            "SELECT max(size) FROM checkpoints WHERE size < ?1",
            [size],
            |r| r.get(0),
        )
        .expect("previous checkpoint");
    // The entries only the forged checkpoint covers are the ones no longer vouched for.
    assert_eq!(first_bad(&db, &[]), Some(previous as u64));
}

#[test]
fn rows_and_a_checkpoint_signed_with_another_key() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = log(dir.path());
    let origin = stdout(&run(&db, &["verifier-key"]))
        .split('+')
        .next()
        .expect("name")
        .to_owned();
    let conn = open_raw(&db);
    append_forged_row(&conn);
    let mallory = aiaudit_core::NoteSigner::generate(&origin).expect("key");
    let cp = aiaudit_core::Checkpoint {
        origin,
        size: N + 1,
        root: [9; 32],
    };
    conn.execute(
        "INSERT INTO checkpoints(size, root, note, time_ns) VALUES (?1, ?2, ?3, 0)",
        params![
            (N + 1) as i64,
            &[9u8; 32][..],
            cp.sign(&mallory).expect("sign")
        ],
    )
    .expect("insert checkpoint");
    assert_eq!(first_bad(&db, &[]), Some(N));
}

#[test]
fn a_consistent_rewrite_of_payload_and_hash_is_caught_by_the_signed_roots() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = log(dir.path());
    let conn = open_raw(&db);
    let data = String::from_utf8(data_of(&conn, 123)).expect("utf8");
    let rewritten = data.replace("\"i\":123", "\"i\":999");
    assert_ne!(data, rewritten);
    raw::edit(&conn, 123, |data, _| *data = rewritten.clone().into_bytes());
    raw::set_leaf_hash(&conn, 123, leaf_hash(rewritten.as_bytes()));
    let out = run(&db, &["verify"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("rewritten") || stdout(&out).contains("does not match the entries"),
        "{}",
        stdout(&out)
    );
    let first = first_bad(&db, &[]).expect("named");
    // The exact entry cannot be known without the original; the seq named starts the smallest
    // range that must contain it.
    assert!(first <= 123 && first + 128 > 123, "first bad seq {first}");
}

#[test]
fn a_row_whose_time_column_was_altered() {
    // Time ranges are found through this column; moving an entry in time would hide it.
    let dir = tempfile::tempdir().expect("tmp");
    let db = log(dir.path());
    raw::edit(&open_raw(&db), 57, |_, t| *t -= 86_400_000_000_000);
    assert_eq!(first_bad(&db, &[]), Some(57));
    let dir = tempfile::tempdir().expect("tmp");
    let db = log(dir.path());
    raw::edit(&open_raw(&db), 357, |_, t| *t -= 86_400_000_000_000);
    assert_eq!(first_bad(&db, &[]), Some(357));
}

#[test]
fn a_query_index_that_hides_entries() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = log(dir.path());
    let conn = open_raw(&db);
    let batch: i64 = conn
        .query_row(
            "SELECT batch FROM postings WHERE key = 'user:user-3' ORDER BY batch LIMIT 1 OFFSET 2",
            [],
            |r| r.get(0),
        )
        .expect("a posting");
    conn.execute(
        "DELETE FROM postings WHERE key = 'user:user-3' AND batch = ?1",
        [batch],
    )
    .expect("edit");
    assert_eq!(first_bad(&db, &[]), Some(batch as u64));
}

#[test]
fn a_replaced_verifier_key_is_caught_with_the_trusted_key() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = log(dir.path());
    let trusted = stdout(&run(&db, &["verifier-key"])).trim().to_owned();
    let other = aiaudit_core::NoteSigner::generate("evil.example/log").expect("key");
    open_raw(&db)
        .execute(
            "UPDATE meta SET value = ?1 WHERE key = 'verifier_key'",
            [other.verifier().to_string()],
        )
        .expect("edit");
    let out = run(&db, &["verify", "--key", &trusted]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(stdout(&out).contains("you trust"), "{}", stdout(&out));
}

#[test]
fn a_flipped_byte_inside_a_compressed_bundle_is_damage_at_its_seqs() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = log(dir.path());
    let conn = open_raw(&db);
    let mut data: Vec<u8> = conn
        .query_row("SELECT data FROM bundles WHERE idx = 0", [], |r| r.get(0))
        .expect("bundle 0");
    let mid = data.len() / 2;
    data[mid] ^= 0x10;
    conn.execute("UPDATE bundles SET data = ?1 WHERE idx = 0", params![data])
        .expect("edit");
    assert_eq!(first_bad(&db, &[]), Some(0));
    let text = stdout(&run(&db, &["verify"]));
    assert!(
        text.contains(
            "seq 0: its record is empty or unreadable (the stored bundle holding it is damaged)"
        ),
        "{text}"
    );
    assert!(!text.contains("seq 256:"), "only the bundle's seqs: {text}");
    // Reading a record of the bundle says what is wrong instead of showing other bytes.
    let show = run(&db, &["show", "17"]);
    assert!(!show.status.success() || !stdout(&show).contains("event 17"));
}

#[test]
fn a_tile_whose_hashes_were_moved() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = log(dir.path());
    let conn = open_raw(&db);
    let mut hashes: Vec<u8> = conn
        .query_row("SELECT hashes FROM tiles WHERE id = 0", [], |r| r.get(0))
        .expect("tile (0, 0)");
    hashes.rotate_left(32);
    conn.execute("UPDATE tiles SET hashes = ?1 WHERE id = 0", params![hashes])
        .expect("edit");
    assert_eq!(first_bad(&db, &[]), Some(0));
}

#[test]
fn a_dropped_partial_tile() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = log(dir.path());
    open_raw(&db)
        .execute("DELETE FROM tile_tail WHERE level = 4", [])
        .expect("edit");
    let out = run(&db, &["verify"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(stdout(&out).contains("unreadable"), "{}", stdout(&out));
    // The writer refuses to extend a tree whose head it cannot read.
    let log = run(&db, &["log", "after"]);
    assert!(!log.status.success(), "{}", stdout(&log));
}

#[test]
fn a_tail_row_put_back_under_a_bundle() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = log(dir.path());
    let conn = open_raw(&db);
    let data = raw::record(&conn, 10);
    conn.execute(
        "INSERT INTO tail(seq, time_ns, leaf_hash, data) VALUES (10, 0, ?1, ?2)",
        params![&leaf_hash(&data)[..], data],
    )
    .expect("insert");
    assert_eq!(first_bad(&db, &[]), Some(10));
}

/// `aiaudit report usage` of the demo's model, as JSON.
fn usage_report(db: &Path) -> std::process::Output {
    run(
        db,
        &[
            "report",
            "usage",
            "--model",
            "credit-risk",
            "--format",
            "json",
        ],
    )
}

/// A log of seed 003 predictions, whose bundles' summaries count models.
fn demo_log(dir: &Path) -> PathBuf {
    let db = dir.join("demo.db");
    let out = run(&db, &["demo", "--predictions", "600"]);
    assert!(out.status.success(), "{}", stderr(&out));
    db
}

#[test]
fn a_summary_that_counts_one_prediction_more() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = demo_log(dir.path());
    let before = stdout(&usage_report(&db));
    let conn = open_raw(&db);
    let data: Vec<u8> = conn
        .query_row("SELECT data FROM summaries WHERE idx = 1", [], |r| r.get(0))
        .expect("bundle 1 has a summary");
    let mut s = aiaudit_core::summary::Summary::decode(&data).expect("decodes");
    let m = s.models.get_mut("credit-risk").expect("the demo's model");
    m.predictions += 1;
    m.latencies.push(1.0);
    conn.execute(
        "UPDATE summaries SET data = ?1 WHERE idx = 1",
        [s.encode().expect("encodes")],
    )
    .expect("edit");
    // A report merging the forged summary counts wrong: exactly what verify must catch.
    let after = stdout(&usage_report(&db));
    assert_ne!(before, after, "the report reads the summary");
    assert_eq!(first_bad(&db, &[]), Some(256));
    let text = stdout(&run(&db, &["verify"]));
    assert!(
        text.contains("the summary of seqs 256..511 disagrees with their records"),
        "{text}"
    );
}

#[test]
fn a_deleted_or_damaged_summary() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = demo_log(dir.path());
    let conn = open_raw(&db);
    conn.execute("DELETE FROM summaries WHERE idx = 0", [])
        .expect("edit");
    assert_eq!(first_bad(&db, &[]), Some(0));
    assert!(stdout(&run(&db, &["verify"])).contains("the summary of seqs 0..255"));
    // A report over it says the store is damaged rather than count without it.
    let out = usage_report(&db);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("summary of bundle 0"),
        "{}",
        stderr(&out)
    );
    conn.execute(
        "UPDATE summaries SET data = substr(data, 1, length(data) - 3) WHERE idx = 1",
        [],
    )
    .expect("edit");
    let text = stdout(&run(&db, &["verify"]));
    assert!(
        text.contains("the summary of seqs 256..511 is damaged"),
        "{text}"
    );
}
