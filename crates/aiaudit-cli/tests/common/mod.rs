//! Helpers shared by the CLI's scenario tests.
#![allow(dead_code)]

pub mod witness;

use aiaudit::{AuditLogger, Durability, Event};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The `aiaudit` binary under test.
pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_aiaudit"))
}

/// Runs `aiaudit --db DB ARGS…`.
pub fn run(db: &Path, args: &[&str]) -> Output {
    bin()
        .arg("--db")
        .arg(db)
        .args(args)
        .output()
        .expect("run aiaudit")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Logs `n` events named `event {i}` (user `user-{i % 5}`) into a new log at `dir/name`,
/// committed in batches of at most `batch`.
pub fn make_log(dir: &Path, name: &str, n: u64, batch: usize) -> PathBuf {
    let path = dir.join(name);
    append(&path, 0, n, batch);
    path
}

/// Appends events `from..to` to the log at `path`.
pub fn append(path: &Path, from: u64, to: u64, batch: usize) {
    let log = AuditLogger::builder(path)
        .durability(Durability::Async)
        .batch_size(batch)
        .queue_size(batch)
        .open()
        .expect("open log");
    for i in from..to {
        log.log(
            Event::new("model_inference", format!("event {i}"))
                .user(format!("user-{}", i % 5))
                .model("credit-risk", "1.0")
                .detail("i", i),
        )
        .expect("log");
    }
    log.close().expect("close");
}

/// Copies a closed log (database, key and the other side files it has) to `dst`.
pub fn copy_log(src: &Path, dst: &Path) {
    std::fs::copy(src, dst).expect("copy db");
    for ext in ["-wal", "-shm"] {
        let s = PathBuf::from(format!("{}{ext}", src.display()));
        if s.exists() {
            std::fs::copy(&s, format!("{}{ext}", dst.display())).expect("copy wal");
        }
    }
    std::fs::copy(src.with_extension("key"), dst.with_extension("key")).expect("copy key");
    for side in ["hmac", "subjects"] {
        if src.with_extension(side).exists() {
            std::fs::copy(src.with_extension(side), dst.with_extension(side))
                .expect("copy side file");
        }
    }
}

/// Opens the file directly, as an attacker with write access would, and drops the
/// append-only triggers.
pub fn open_raw(path: &Path) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(path).expect("open raw");
    let triggers: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        .expect("prepare")
        .query_map([], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("names");
    assert!(!triggers.is_empty(), "the log has append-only triggers");
    for t in triggers {
        conn.execute_batch(&format!("DROP TRIGGER {t}"))
            .expect("drop trigger");
    }
    conn
}

/// `aiaudit serve --config FILE` in the background, in the file's directory (where a PostgreSQL
/// log's side files are); returns the process and the URL it serves. Its output is read to the
/// end on a thread of its own, or it would die of EPIPE at its next line.
pub fn serve_config(config: &Path) -> (std::process::Child, String) {
    let mut cmd = bin();
    if let Some(dir) = config.parent().filter(|d| !d.as_os_str().is_empty()) {
        cmd.current_dir(dir);
    }
    cmd.args(["serve", "--config"]).arg(config);
    listening(cmd)
}

/// Starts `cmd` (an `aiaudit` server that prints `… listening on http://…` first) and returns
/// it with its URL; its further output is drained so that it never writes to a closed pipe.
pub fn listening(mut cmd: Command) -> (std::process::Child, String) {
    use std::io::{BufRead, BufReader};
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start the server");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let first = lines.next().expect("a line").expect("utf-8");
    std::thread::spawn(move || lines.for_each(drop));
    let url = first
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {first:?}"))
        .to_owned();
    (child, url)
}

/// SIGTERM, as a service manager stops it; the server must exit cleanly.
pub fn stop(mut child: std::process::Child) {
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(ok.success());
    assert!(child.wait().expect("wait").success());
}

/// An `ingest` token for the log at `db`, made with `aiaudit token create`.
pub fn ingest_token(db: &Path) -> String {
    let out = run(
        db,
        &["token", "create", "--role", "ingest", "--name", "clients"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out)
        .split_whitespace()
        .find(|w| w.starts_with("aiat_"))
        .expect("a token")
        .to_owned()
}

/// The PostgreSQL the tests use (override with `AIAUDIT_TEST_PG`).
pub fn pg_base() -> String {
    std::env::var("AIAUDIT_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// Drops a test's schema and its writer and reader roles.
pub fn drop_pg_schema(schema: &str) {
    let mut c = postgres::Client::connect(&pg_base(), postgres::NoTls).unwrap_or_else(|e| {
        panic!(
            "PostgreSQL is not reachable at {}: {e}. Start it with `pg_ctlcluster $(ls /etc/postgresql) main start` (.ci/run does this)",
            pg_base()
        )
    });
    c.batch_execute(&format!(
        "DROP SCHEMA IF EXISTS {schema} CASCADE;
         DO $$ DECLARE r text; BEGIN
           FOR r IN SELECT rolname FROM pg_roles WHERE rolname IN ('{schema}_writer', '{schema}_reader') LOOP
             EXECUTE format('DROP OWNED BY %I', r);
             EXECUTE format('DROP ROLE %I', r);
           END LOOP;
         END $$;"
    ))
    .expect("drop schema");
}

/// Edits to a v2 file as an attacker with write access would make them (after [`open_raw`]):
/// records live in zstd bundles of 256 (`aiaudit_core::layout`) and, after the last full
/// bundle, in `tail` rows; leaf hashes in tile (0, N) or the tail row.
pub mod raw {
    use aiaudit_core::layout::{StoredBundle, tile_key};
    use rusqlite::{Connection, OptionalExtension, params};

    fn bundle(conn: &Connection, n: u64) -> Option<StoredBundle> {
        conn.query_row(
            "SELECT first_time_ns, last_time_ns, first_id, codec, times, data FROM bundles WHERE idx = ?1",
            [n as i64],
            |r| {
                Ok(StoredBundle {
                    index: n,
                    first_time_ns: r.get(0)?,
                    last_time_ns: r.get(1)?,
                    first_id: r.get(2)?,
                    codec: r.get(3)?,
                    times: r.get(4)?,
                    data: r.get(5)?,
                })
            },
        )
        .optional()
        .expect("bundle row")
    }

    /// Record `seq`'s bytes.
    pub fn record(conn: &Connection, seq: u64) -> Vec<u8> {
        match bundle(conn, seq / 256) {
            Some(b) => b
                .decode()
                .expect("decode")
                .record((seq % 256) as usize)
                .expect("record")
                .to_vec(),
            None => conn
                .query_row("SELECT data FROM tail WHERE seq = ?1", [seq as i64], |r| {
                    r.get(0)
                })
                .expect("tail row"),
        }
    }

    /// Rewrites record `seq` (its bytes and its sealed time) where it is stored, leaving its
    /// leaf hash as it was.
    pub fn edit(conn: &Connection, seq: u64, f: impl FnOnce(&mut Vec<u8>, &mut i64)) {
        let Some(b) = bundle(conn, seq / 256) else {
            let (mut data, mut time): (Vec<u8>, i64) = conn
                .query_row(
                    "SELECT data, time_ns FROM tail WHERE seq = ?1",
                    [seq as i64],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .expect("tail row");
            f(&mut data, &mut time);
            conn.execute(
                "UPDATE tail SET data = ?1, time_ns = ?2 WHERE seq = ?3",
                params![data, time, seq as i64],
            )
            .expect("edit tail row");
            return;
        };
        let d = b.decode().expect("decode");
        let mut records: Vec<(i64, Vec<u8>)> = (0..256)
            .map(|i| (d.times[i], d.record(i).expect("record").to_vec()))
            .collect();
        let (t, data) = &mut records[(seq % 256) as usize];
        f(data, t);
        let refs: Vec<(i64, &[u8])> = records.iter().map(|(t, d)| (*t, d.as_slice())).collect();
        let n = StoredBundle::encode(b.index, &refs, &b.first_id).expect("encode");
        conn.execute(
            "UPDATE bundles SET first_time_ns = ?1, last_time_ns = ?2, times = ?3, data = ?4 WHERE idx = ?5",
            params![n.first_time_ns, n.last_time_ns, n.times, n.data, b.index as i64],
        )
        .expect("edit bundle");
    }

    /// Replaces record `seq`'s stored leaf hash.
    pub fn set_leaf_hash(conn: &Connection, seq: u64, hash: [u8; 32]) {
        let tile: Option<Vec<u8>> = conn
            .query_row(
                "SELECT hashes FROM tiles WHERE id = ?1",
                [tile_key(0, seq / 256)],
                |r| r.get(0),
            )
            .optional()
            .expect("tile");
        match tile {
            Some(mut t) => {
                let at = (seq % 256) as usize * 32;
                t[at..at + 32].copy_from_slice(&hash);
                conn.execute(
                    "UPDATE tiles SET hashes = ?1 WHERE id = ?2",
                    params![t, tile_key(0, seq / 256)],
                )
                .expect("edit tile");
            }
            None => {
                conn.execute(
                    "UPDATE tail SET leaf_hash = ?1 WHERE seq = ?2",
                    params![&hash[..], seq as i64],
                )
                .expect("edit tail leaf hash");
            }
        }
    }
}

/// A pipeline's log — ingestion, transformation, training (credit-risk 2.3.0), evaluation,
/// deployment, then 1,000 predictions with request ids `req-0000`… — the seqs of its first five
/// events are 0..5.
pub fn pipeline(dir: &Path) -> PathBuf {
    let db = dir.join("pipeline.db");
    let log = AuditLogger::builder(&db)
        .durability(Durability::Sync)
        .open()
        .expect("open");
    let dataset = |name: &str, v: &str| json!({"type": "dataset", "name": name, "version": v});
    let steps = [
        Event::new("data_ingestion", "load loans from the warehouse")
            .detail("outputs", json!([dataset("raw_loans", "2026-11")])),
        Event::new("data_transformation", "clean and encode")
            .detail("inputs", json!([dataset("raw_loans", "2026-11")]))
            .detail("outputs", json!([dataset("clean_loans", "2026-11")])),
        Event::new("model_training", "train credit-risk")
            .model("credit-risk", "2.3.0")
            .detail("inputs", json!([dataset("clean_loans", "2026-11")])),
        Event::new("evaluation", "holdout evaluation")
            .model("credit-risk", "2.3.0")
            .detail("inputs", json!([dataset("holdout", "2026-11")])),
        Event::new("deployment", "deploy to production")
            .model("credit-risk", "2.3.0")
            .detail("environment", "production"),
    ];
    for e in steps {
        log.log(e).expect("log");
    }
    for i in 0..1_000 {
        log.log(
            Event::new("model_inference", "credit decision")
                .model("credit-risk", "2.3.0")
                .operation(format!("req-{i:04}"), "POST /predict")
                .detail("output", json!({"prediction": "approved"})),
        )
        .expect("log");
    }
    log.close().expect("close");
    db
}
