//! Damage, fail-closed: bytes flipped at one of 22 places of a closed log's file — record
//! payloads deep in the log and in its tail (every copy SQLite left of them), tree nodes,
//! checkpoint notes, B-tree page headers, the schema page, the file header. Damage in the tail,
//! or on pages an append touches, makes `aiaudit log` and `verify --quick` refuse; damage
//! elsewhere is named by `aiaudit verify` (with its seq) and by the server's scheduled
//! verification (metric and `alert` event). Nothing panics, and every error is one line that
//! says each thing once. A byte flipped inside the WAL of an open log is refused where SQLite
//! would silently drop committed transactions after it, and taken as a torn write where only
//! the last frame is hit.

mod common;

use common::{make_log, run, serve_config, stderr, stdout, stop};
use std::path::{Path, PathBuf};

const EVENTS: u64 = 12_000;
/// Seqs below this are outside the 8,192 records a writer checks at open.
const DEEP: u64 = EVENTS - 8_192;

fn page_size(db: &Path) -> usize {
    let c = rusqlite::Connection::open(db).expect("open");
    c.query_row("PRAGMA page_size", [], |r| r.get::<_, i64>(0))
        .expect("page size") as usize
}

fn root_page(db: &Path, table: &str) -> usize {
    let c = rusqlite::Connection::open(db).expect("open");
    c.query_row(
        "SELECT rootpage FROM sqlite_master WHERE type = 'table' AND name = ?1",
        [table],
        |r| r.get::<_, i64>(0),
    )
    .expect("root page") as usize
}

/// Copies the log (database, key, secret) into a directory of its own.
fn copy(src: &Path, to: &Path) -> PathBuf {
    std::fs::create_dir_all(to).expect("dir");
    let db = to.join("d.db");
    std::fs::copy(src, &db).expect("copy");
    for ext in ["key", "hmac"] {
        let s = src.with_extension(ext);
        if s.exists() {
            std::fs::copy(&s, db.with_extension(ext)).expect("copy side file");
        }
    }
    db
}

/// Flips the byte at each of `offsets`.
fn flip(path: &Path, offsets: &[usize]) {
    let mut bytes = std::fs::read(path).expect("read");
    for &o in offsets {
        bytes[o] ^= 0x5a;
    }
    std::fs::write(path, bytes).expect("write");
}

/// Where record `seq`'s stored bytes are in the file — its compressed bundle's, or its tail
/// row's: every copy of them (SQLite leaves stale copies in free space when pages split), so
/// that the live one is among them.
fn record_offsets(db: &Path, bytes: &[u8], seq: u64) -> Vec<usize> {
    let c = rusqlite::Connection::open(db).expect("open");
    let bundle: Option<Vec<u8>> = c
        .query_row(
            "SELECT data FROM bundles WHERE idx = ?1",
            [(seq / 256) as i64],
            |r| r.get(0),
        )
        .ok();
    let data: Vec<u8> = match bundle {
        Some(b) => b,
        None => c
            .query_row("SELECT data FROM tail WHERE seq = ?1", [seq as i64], |r| {
                r.get(0)
            })
            .expect("record"),
    };
    let found = copies(bytes, &data);
    assert!(!found.is_empty(), "record {seq} not found in the file");
    found
}

/// Offsets in `bytes` of every copy of `value`, or of pieces of it. A value larger than a
/// page's room is stored in pieces (its start on the row's page, the rest in overflow pages of
/// page size − 4 bytes each), so 64-byte windows from five places of it stand for it, and the
/// hits of all of them are taken: the live copy is among them unless every window straddles a
/// page boundary. Compressed records and hashes do not repeat by chance.
fn copies(bytes: &[u8], value: &[u8]) -> Vec<usize> {
    const W: usize = 64;
    let find = |w: &[u8]| -> Vec<usize> {
        bytes
            .windows(w.len())
            .enumerate()
            .filter(|(_, x)| *x == w)
            .map(|(i, _)| i + w.len() / 2)
            .collect()
    };
    if value.len() <= W {
        return find(value);
    }
    let last = value.len() - W;
    let mut found: Vec<usize> = [0, last / 4, last / 2, 3 * last / 4, last]
        .into_iter()
        .flat_map(|start| find(&value[start..start + W]))
        .collect();
    found.sort_unstable();
    found.dedup();
    found
}

/// The error is one line and names no cause twice.
fn one_clean_line(err: &str) {
    assert!(!err.contains("panicked"), "a panic: {err}");
    let line = err.trim_end();
    assert_eq!(line.lines().count(), 1, "{err}");
    for phrase in [
        "database disk image is malformed",
        "file is not a database",
        "does not match",
    ] {
        assert!(line.matches(phrase).count() <= 1, "said twice: {err}");
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    /// Every write path refuses.
    WritesRefused,
    /// Writes may go on; `verify` names this seq.
    NamedBy(u64),
    /// Writes may go on (the head is intact); `verify` finds it.
    Found,
}

/// Every copy of the bytes `sql` selects (one blob or text), as offsets of their middle byte.
fn value_offsets(db: &Path, bytes: &[u8], sql: &str) -> Vec<usize> {
    let c = rusqlite::Connection::open(db).expect("open");
    let v: rusqlite::types::Value = c.query_row(sql, [], |r| r.get(0)).expect(sql);
    let data = match v {
        rusqlite::types::Value::Blob(b) => b,
        rusqlite::types::Value::Text(t) => t.into_bytes(),
        other => panic!("{sql}: {other:?}"),
    };
    let found = copies(bytes, &data);
    assert!(!found.is_empty(), "{sql}: not found in the file");
    found
}

#[test]
fn flipped_bytes_stop_writers_or_are_named_by_verify() {
    let tmp = tempfile::tempdir().expect("tmp");
    let clean = make_log(tmp.path(), "clean.db", EVENTS, 500);
    let bytes = std::fs::read(&clean).expect("read");
    let page = page_size(&clean);
    let record = |seq: u64| record_offsets(&clean, &bytes, seq);

    let mut cases: Vec<(String, Vec<usize>, Expect)> = Vec::new();
    // A byte flipped in a compressed bundle makes all 256 of its seqs unreadable: the
    // bundle's first is named.
    for seq in [7, 500, 1341, 2000, 3000, 3500] {
        assert!(seq < DEEP && (seq / 256 + 1) * 256 <= DEEP);
        cases.push((
            format!("record {seq} (deep)"),
            record(seq),
            Expect::NamedBy(seq / 256 * 256),
        ));
    }
    for seq in [DEEP + 10, 5000, 8000, 9500, 11_000, EVENTS - 1] {
        cases.push((
            format!("record {seq} (tail)"),
            record(seq),
            Expect::WritesRefused,
        ));
    }
    for (what, sql) in [
        (
            "a hash tile, early",
            "SELECT hashes FROM tiles ORDER BY id LIMIT 1",
        ),
        (
            "a hash tile, late",
            "SELECT hashes FROM tiles ORDER BY id DESC LIMIT 1",
        ),
        (
            "a partial tile",
            "SELECT hashes FROM tile_tail ORDER BY level LIMIT 1",
        ),
        (
            "an early checkpoint's signed note",
            "SELECT note FROM checkpoints ORDER BY size LIMIT 1 OFFSET 2",
        ),
        (
            "the latest checkpoint's signed note",
            "SELECT note FROM checkpoints ORDER BY size DESC LIMIT 1",
        ),
    ] {
        cases.push((
            what.to_owned(),
            value_offsets(&clean, &bytes, sql),
            Expect::Found,
        ));
    }
    let entries = root_page(&clean, "bundles");
    let meta = root_page(&clean, "meta");
    let checkpoints = root_page(&clean, "checkpoints");
    for (what, offset) in [
        ("the bundles table's root page header", (entries - 1) * page),
        ("the meta table's page header", (meta - 1) * page),
        ("the schema page's header", 100),
        ("the file header's page size", 16),
        ("the file header's magic", 3),
        (
            "the checkpoints table's root page header",
            (checkpoints - 1) * page,
        ),
    ] {
        cases.push((what.to_owned(), vec![offset], Expect::WritesRefused));
    }
    assert!(cases.len() >= 22);

    for (i, (what, offset, expect)) in cases.iter().enumerate() {
        let db = copy(&clean, &tmp.path().join(format!("case{i}")));
        flip(&db, offset);
        let verify = run(&db, &["verify"]);
        assert!(!verify.status.success(), "{what}: verify passed");
        let report = format!("{}{}", stdout(&verify), stderr(&verify));
        assert!(!report.contains("panicked"), "{what}: {report}");
        let log = run(&db, &["log", "after the damage"]);
        match expect {
            Expect::WritesRefused => {
                assert!(
                    !log.status.success(),
                    "{what}: a write went on over the damage"
                );
                one_clean_line(&stderr(&log));
                let quick = run(&db, &["verify", "--quick"]);
                assert!(!quick.status.success(), "{what}: verify --quick passed");
            }
            Expect::NamedBy(seq) => {
                assert!(report.contains(&format!("seq {seq}")), "{what}: {report}");
                let quick = run(&db, &["verify", "--quick"]);
                assert!(
                    quick.status.success(),
                    "{what}: the tail is intact: {}",
                    stderr(&quick)
                );
            }
            Expect::Found => {}
        }
        if !log.status.success() {
            one_clean_line(&stderr(&log));
        }
        // Nothing was signed over the damage when the write was refused.
        if *expect == Expect::WritesRefused {
            let fresh = copy(&clean, &tmp.path().join(format!("again{i}")));
            let size = |p: &Path| {
                let c = rusqlite::Connection::open(p).expect("open");
                c.query_row("SELECT count(*) FROM checkpoints", [], |r| {
                    r.get::<_, i64>(0)
                })
                .ok()
            };
            assert!(
                size(&db).is_none_or(|n| Some(n) == size(&fresh)),
                "{what}: a checkpoint was added"
            );
        }
    }
}

#[test]
fn the_scheduled_verification_names_deep_damage() {
    let tmp = tempfile::tempdir().expect("tmp");
    let clean = make_log(tmp.path(), "clean.db", EVENTS, 500);
    let bytes = std::fs::read(&clean).expect("read");
    let offsets = record_offsets(&clean, &bytes, 1341);
    let db = copy(&clean, &tmp.path().join("deep"));
    flip(&db, &offsets);
    let config = db.with_file_name("aiaudit.toml");
    std::fs::write(
        &config,
        "[server]\nlisten = \"127.0.0.1:0\"\ndb = \"d.db\"\nopen_metrics = true\nverify_every = \"1s\"\n",
    )
    .expect("config");
    let (server, url) = serve_config(&config);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::new();
    let t = std::time::Instant::now();
    let metrics = loop {
        let m = rt.block_on(async {
            http.get(format!("{url}/metrics"))
                .send()
                .await
                .expect("metrics")
                .text()
                .await
                .expect("text")
        });
        if m.lines().any(|l| l == "aiaudit_verify_intact 0") {
            break m;
        }
        assert!(
            t.elapsed().as_secs() < 60,
            "no scheduled verification reported: {m}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    assert!(
        metrics
            .lines()
            .any(|l| l == "aiaudit_verify_first_bad_seq 1280"),
        "{metrics}"
    );
    stop(server);
    let alerts = run(
        &db,
        &[
            "query", "--type", "alert", "--format", "jsonl", "--limit", "0",
        ],
    );
    let text = stdout(&alerts);
    let first: serde_json::Value =
        serde_json::from_str(text.lines().next().expect("an alert event")).expect("json");
    assert_eq!(
        first["name"],
        "scheduled verification found damage at seq 1280"
    );
    assert_eq!(first["status"], "ERROR");
    assert_eq!(first["details"]["first_bad_seq"], 1280);
}

/// A log whose last commits are still in its write-ahead log: copied (database, WAL, key and
/// secret, not the shared-memory index, which SQLite rebuilds from the WAL) while its writer is
/// open.
fn log_with_wal(dir: &Path) -> (PathBuf, aiaudit::AuditLogger) {
    let db = dir.join("w.db");
    let log = aiaudit::AuditLogger::builder(&db)
        .durability(aiaudit::Durability::Async)
        .batch_size(100)
        .open()
        .expect("open");
    for i in 0..2_000 {
        log.log(aiaudit::Event::new("model_inference", format!("event {i}")).detail("i", i))
            .expect("log");
        if i % 100 == 99 {
            log.flush().expect("flush");
        }
    }
    log.flush().expect("flush");
    (db, log)
}

fn copy_with_wal(src: &Path, to: &Path) -> PathBuf {
    let db = copy(src, to);
    std::fs::copy(
        format!("{}-wal", src.display()),
        format!("{}-wal", db.display()),
    )
    .expect("copy the WAL");
    db
}

#[test]
fn a_damaged_wal_is_refused_and_a_torn_tail_is_not() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (src, log) = log_with_wal(tmp.path());
    let wal = std::fs::read(format!("{}-wal", src.display())).expect("the WAL");
    let page = page_size(&src);
    let frame = 24 + page;
    let frames = (wal.len() - 32) / frame;
    assert!(
        frames > 20,
        "the commits are still in the WAL ({frames} frames)"
    );

    // A byte in an early frame: SQLite would drop every later, committed transaction.
    for early in [2, frames / 2] {
        let db = copy_with_wal(&src, &tmp.path().join(format!("early{early}")));
        let wal_path = PathBuf::from(format!("{}-wal", db.display()));
        flip(&wal_path, &[32 + early * frame + 24 + page / 2]);
        for args in [
            &["verify"][..],
            &["log", "over a damaged WAL"],
            &["verify", "--quick"],
        ] {
            let out = run(&db, args);
            assert!(!out.status.success(), "frame {early}, {args:?}: accepted");
            let err = stderr(&out);
            one_clean_line(&err);
            assert!(
                err.contains("write-ahead log")
                    && err.contains("committed transactions after it would be lost"),
                "{err}"
            );
        }
    }
    // The last frame damaged, as a write torn by a crash leaves it: that transaction goes, the
    // rest is a consistent log that verifies and takes new events.
    let db = copy_with_wal(&src, &tmp.path().join("torn"));
    let wal_path = PathBuf::from(format!("{}-wal", db.display()));
    flip(&wal_path, &[32 + (frames - 1) * frame + 24 + 7]);
    let verify = run(&db, &["verify"]);
    assert!(
        verify.status.success(),
        "{}{}",
        stdout(&verify),
        stderr(&verify)
    );
    let out = run(&db, &["log", "after a torn write"]);
    assert!(out.status.success(), "{}", stderr(&out));
    log.close().expect("close");
}
