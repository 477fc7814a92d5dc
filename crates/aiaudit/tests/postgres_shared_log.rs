//! The PostgreSQL store against the real server (127.0.0.1:5432, database `test`; override
//! with `AIAUDIT_TEST_PG`): a round trip through the logger and reader, two writer processes
//! appending to one log at once, the append-only walls (writer role and triggers), tampering
//! caught by `verify`, and the server restarted mid-ingest.
//!
//! The writers are this test binary itself (a `harness = false` test), re-run with
//! `AIAUDIT_PG_CHILD` set: each logs from two threads and prints `ACK seq name` for every
//! event it was told is committed.

#![allow(clippy::print_stdout)]

use aiaudit::{AuditLogger, Durability, LogReader, Query, Record, VerifyOptions, events};
use serde_json::json;
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const CHILD_ENV: &str = "AIAUDIT_PG_CHILD";

fn base_url() -> String {
    std::env::var("AIAUDIT_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A fresh schema's URL, with its signing key in a temporary directory.
struct Log {
    url: String,
    schema: String,
    dir: tempfile::TempDir,
}

impl Log {
    fn new(name: &str) -> Log {
        let schema = format!("t_{name}_{}", std::process::id());
        let log = Log {
            url: format!("{}?schema={schema}", base_url()),
            schema,
            dir: tempfile::tempdir().expect("tempdir"),
        };
        log.drop_schema();
        log
    }

    fn key(&self) -> std::path::PathBuf {
        self.dir.path().join("log.key")
    }

    fn logger(&self) -> AuditLogger {
        AuditLogger::builder(&self.url)
            .durability(Durability::Sync)
            .signing_key_path(self.key())
            .hmac_key_path(self.dir.path().join("log.hmac"))
            .subject_keys_path(self.dir.path().join("log.subjects"))
            .open()
            .expect("logger on PostgreSQL")
    }

    fn reader(&self) -> LogReader {
        LogReader::open(std::path::Path::new(&self.url)).expect("reader on PostgreSQL")
    }

    fn client(&self) -> postgres::Client {
        postgres::Client::connect(&base_url(), postgres::NoTls).unwrap_or_else(|e| {
            panic!(
                "PostgreSQL is not reachable at {}: {e}. Start it with `pg_ctlcluster $(ls /etc/postgresql) main start` (.ci/run does this)",
                base_url()
            )
        })
    }

    fn drop_schema(&self) {
        let s = &self.schema;
        self.client()
            .batch_execute(&format!(
                "DROP SCHEMA IF EXISTS {s} CASCADE;
                 DO $$ DECLARE r text; BEGIN
                   FOR r IN SELECT rolname FROM pg_roles WHERE rolname IN ('{s}_writer', '{s}_reader', '{s}_login') LOOP
                     EXECUTE format('DROP OWNED BY %I', r);
                     EXECUTE format('DROP ROLE %I', r);
                   END LOOP;
                 END $$;"
            ))
            .expect("drop the test schema");
    }
}

impl Drop for Log {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            self.drop_schema();
        }
    }
}

fn main() {
    if let Ok(spec) = std::env::var(CHILD_ENV) {
        child(&spec);
        return;
    }
    let tests: [(&str, fn()); 5] = [
        (
            "round_trip_query_prove_verify",
            round_trip_query_prove_verify,
        ),
        (
            "two_writer_processes_share_one_log",
            two_writer_processes_share_one_log,
        ),
        (
            "append_only_by_role_and_by_trigger",
            append_only_by_role_and_by_trigger,
        ),
        (
            "tampering_is_caught_by_verify",
            tampering_is_caught_by_verify,
        ),
        (
            "server_restart_mid_ingest_loses_nothing",
            server_restart_mid_ingest_loses_nothing,
        ),
    ];
    for (name, test) in tests {
        let started = Instant::now();
        test();
        println!(
            "test {name} ... ok ({:.1}s)",
            started.elapsed().as_secs_f64()
        );
    }
    println!("{} passed, 0 failed", tests.len());
}

/// The child's body: `url|key|hmac|tag|events` — logs `events` events from two threads.
fn child(spec: &str) {
    let parts: Vec<&str> = spec.split('|').collect();
    let [url, key, hmac, tag, n] = parts[..] else {
        panic!("bad child spec {spec:?}");
    };
    let n: usize = n.parse().expect("count");
    let log = Arc::new(
        AuditLogger::builder(url)
            .durability(Durability::Sync)
            .signing_key_path(key)
            .hmac_key_path(hmac)
            .open()
            .expect("child opens the log"),
    );
    let out = Arc::new(std::sync::Mutex::new(std::io::stdout()));
    let threads: Vec<_> = (0..2)
        .map(|t| {
            let (log, out, tag) = (Arc::clone(&log), Arc::clone(&out), tag.to_owned());
            std::thread::spawn(move || {
                for i in 0..n / 2 {
                    let name = format!("{tag}-t{t}-{i}");
                    let seq = log
                        .log_event(&name, json!({"writer": tag, "i": i}), "INFO")
                        .expect("log")
                        .expect("sync seq");
                    use std::io::Write;
                    let mut o = out.lock().expect("stdout");
                    writeln!(o, "ACK {seq} {name}").expect("write");
                    o.flush().expect("flush");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("thread");
    }
    log.close().expect("close");
}

fn spawn_writer(log: &Log, tag: &str, events: usize) -> Child {
    Command::new(std::env::current_exe().expect("exe"))
        .env(
            CHILD_ENV,
            format!(
                "{}|{}|{}|{tag}|{events}",
                log.url,
                log.key().display(),
                log.dir.path().join("log.hmac").display()
            ),
        )
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn writer")
}

/// Reads a child's ACK lines into `acks` (seq → name) until it exits; `on_line` sees the count.
fn collect(child: &mut Child, acks: &mut HashMap<u64, String>, mut on_line: impl FnMut(usize)) {
    let out = child.stdout.take().expect("stdout");
    let mut n = 0;
    for line in BufReader::new(out).lines() {
        let line = line.expect("line");
        let mut it = line.splitn(3, ' ');
        assert_eq!(it.next(), Some("ACK"), "{line}");
        let seq: u64 = it.next().and_then(|s| s.parse().ok()).expect("seq");
        let name = it.next().expect("name").to_owned();
        if let Some(before) = acks.insert(seq, name.clone()) {
            panic!("seq {seq} acknowledged twice: {before} and {name}");
        }
        n += 1;
        on_line(n);
    }
    let status = child.wait().expect("wait");
    assert!(status.success(), "writer exited with {status}");
}

fn assert_acks_in_log(log: &Log, acks: &HashMap<u64, String>) {
    let reader = log.reader();
    for (seq, name) in acks {
        let e = reader.get(*seq).expect("acknowledged entry");
        let r = Record::from_leaf_data(&e.data).expect("record");
        assert_eq!(&r.name, name, "seq {seq}");
        assert_eq!(r.seq, *seq);
    }
    let report = reader
        .verify(&VerifyOptions::default(), &mut |_, _| {})
        .expect("verify");
    assert!(report.is_intact(), "{:?}", report.findings);
}

fn round_trip_query_prove_verify() {
    let log = Log::new("round");
    let logger = log.logger();
    logger
        .log_event(
            "Data preprocessing started",
            json!({"file": "dataset.csv"}),
            "INFO",
        )
        .expect("log");
    for i in 0..30 {
        let user = if i % 3 == 0 { "alice" } else { "bob" };
        logger
            .log(
                events::inference(
                    "credit-risk",
                    "1.4.0",
                    user,
                    json!({"approved": i % 2 == 0}),
                    10.0 + f64::from(i),
                )
                .operation("run-1", "scoring"),
            )
            .expect("log");
    }
    logger
        .log(events::drift("credit-risk", "age", 0.9, 0.5))
        .expect("drift");
    assert_eq!(logger.close().expect("close"), 32);

    let reader = log.reader();
    assert_eq!(reader.size().expect("size"), 32);
    let by_user = reader
        .query(&Query {
            user: Some("alice".into()),
            ..Query::default()
        })
        .expect("query");
    assert_eq!(by_user.len(), 10);
    assert!(by_user.windows(2).all(|w| w[0].seq < w[1].seq));
    let newest = reader
        .query(&Query {
            model: Some("credit-risk".into()),
            descending: true,
            limit: 5,
            ..Query::default()
        })
        .expect("query");
    assert_eq!(
        newest.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [31, 30, 29, 28, 27]
    );
    let page = reader
        .query(&Query {
            operation: Some("scoring".into()),
            after_seq: Some(20),
            ..Query::default()
        })
        .expect("query");
    assert_eq!(page.first().map(|e| e.seq), Some(21));
    assert_eq!(page.len(), 10);
    let drift = reader
        .query(&Query {
            kind: Some("drift".into()),
            ..Query::default()
        })
        .expect("query");
    assert_eq!(drift.len(), 1);
    let t = newest[2].time_ns;
    let late = reader
        .query(&Query {
            since_ns: Some(t),
            ..Query::default()
        })
        .expect("query");
    assert_eq!(late.first().map(|e| e.seq), Some(29));

    let e = reader.get(7).expect("get");
    assert_eq!(reader.get_by_id(&e.id).expect("by id").seq, 7);
    assert!(
        reader
            .get_by_id("01900000-0000-7000-8000-000000000000")
            .is_err()
    );
    assert!(reader.get(32).is_err());
    let proof = reader.prove(7, None).expect("prove");
    proof
        .verify(&reader.verifier().expect("key"))
        .expect("inclusion proof");
    let cons = reader.prove_consistency(5, None).expect("consistency");
    cons.verify(&reader.verifier().expect("key"))
        .expect("consistency proof");
    let report = reader
        .verify(&VerifyOptions::default(), &mut |_, _| {})
        .expect("verify");
    assert!(report.is_intact(), "{:?}", report.findings);
    assert_eq!(report.entries, 32);

    // Reopened, the log goes on from where it was.
    let logger = log.logger();
    assert_eq!(
        logger.log_event("again", json!({}), "INFO").expect("log"),
        Some(32)
    );
    logger.close().expect("close");

    // A missing log, a bad schema name and a wrong key are named errors.
    let other = format!("{}?schema=t_missing_{}", base_url(), std::process::id());
    let err = LogReader::open(std::path::Path::new(&other))
        .expect_err("no log")
        .to_string();
    assert!(err.contains("no audit log in schema"), "{err}");
    let bad = format!("{}?schema=Robert'); DROP TABLE x;--", base_url());
    let err = LogReader::open(std::path::Path::new(&bad))
        .expect_err("bad schema")
        .to_string();
    assert!(err.contains("schema") && err.contains("lowercase"), "{err}");
    let err = AuditLogger::builder(&log.url)
        .signing_key_path(log.dir.path().join("other.key"))
        .open()
        .expect_err("no key")
        .to_string();
    assert!(err.contains("copy its key here"), "{err}");
}

fn two_writer_processes_share_one_log() {
    let log = Log::new("shared");
    // Created once, with its key, before the writers start.
    log.logger().close().expect("create");
    let per_writer = 600;
    let mut a = spawn_writer(&log, "a", per_writer);
    let mut b = spawn_writer(&log, "b", per_writer);
    let mut acks = HashMap::new();
    let reader_b = std::thread::spawn(move || {
        let mut acks = HashMap::new();
        collect(&mut b, &mut acks, |_| {});
        acks
    });
    collect(&mut a, &mut acks, |_| {});
    for (seq, name) in reader_b.join().expect("reader thread") {
        if let Some(before) = acks.insert(seq, name.clone()) {
            panic!("seq {seq} given to both writers: {before} and {name}");
        }
    }
    assert_eq!(acks.len(), 2 * per_writer);
    let reader = log.reader();
    assert_eq!(reader.size().expect("size"), 2 * per_writer as u64);
    // Both writers' events interleave in the one tree.
    let records = reader.query(&Query::default()).expect("all");
    let switches = records
        .windows(2)
        .filter(|w| {
            w[0].data.windows(9).any(|x| x == b"\"writer\":") && {
                let ra = Record::from_leaf_data(&w[0].data).expect("r");
                let rb = Record::from_leaf_data(&w[1].data).expect("r");
                ra.details["writer"] != rb.details["writer"]
            }
        })
        .count();
    assert!(switches >= 1, "the writers never interleaved");
    assert_acks_in_log(&log, &acks);
}

fn append_only_by_role_and_by_trigger() {
    let log = Log::new("walls");
    let logger = log.logger();
    // A full bundle and its tile, and tail rows after it.
    for i in 0..300 {
        logger
            .log_event(&format!("e{i}"), json!({}), "INFO")
            .expect("log");
    }
    logger.close().expect("close");
    let s = &log.schema;
    let mut owner = log.client();
    owner
        .batch_execute(&format!("CREATE ROLE {s}_login LOGIN IN ROLE {s}_writer"))
        .expect("a login in the writer role");

    // The writer role appends...
    let as_writer = log.url.replace("postgres@", &format!("{s}_login@"));
    let w = AuditLogger::builder(&as_writer)
        .durability(Durability::Sync)
        .signing_key_path(log.key())
        .hmac_key_path(log.dir.path().join("log.hmac"))
        .open()
        .expect("the writer role opens the log");
    assert_eq!(
        w.log_event("by the writer role", json!({}), "INFO")
            .expect("log"),
        Some(300)
    );
    w.close().expect("close");

    let message = |err: postgres::Error| {
        err.as_db_error()
            .map(|d| d.message().to_owned())
            .unwrap_or_default()
    };
    // ...but cannot change anything: its privileges stop it first.
    let mut writer = postgres::Client::connect(
        &base_url().replace("postgres@", &format!("{s}_login@")),
        postgres::NoTls,
    )
    .expect("connect as the writer role");
    for stmt in [
        format!("UPDATE {s}.bundles SET data = 'x' WHERE idx = 0"),
        format!("DELETE FROM {s}.bundles WHERE idx = 0"),
        format!("TRUNCATE {s}.bundles"),
        format!("UPDATE {s}.tail SET data = 'x' WHERE seq = 290"),
        format!("UPDATE {s}.checkpoints SET note = 'x'"),
        format!("DELETE FROM {s}.tiles"),
        format!("DELETE FROM {s}.tile_tail"),
        format!("DELETE FROM {s}.summaries"),
        format!("UPDATE {s}.meta SET value = 'x'"),
    ] {
        let msg = message(writer.batch_execute(&stmt).expect_err(&stmt));
        assert!(msg.contains("permission denied"), "{stmt}: {msg}");
    }
    // The one delete it holds is of tail rows whose bundle is stored: the trigger refuses the
    // rest.
    let msg = message(
        writer
            .batch_execute(&format!("DELETE FROM {s}.tail WHERE seq = 290"))
            .expect_err("delete an unbundled tail row"),
    );
    assert!(msg.contains("append-only"), "{msg}");
    // Moving the head back is refused by its trigger even for a role that may move it.
    let msg = message(
        writer
            .batch_execute(&format!("UPDATE {s}.head SET size = 1"))
            .expect_err("head backwards"),
    );
    assert!(msg.contains("only moves forward"), "{msg}");

    // The owner holds every privilege: the triggers stop it.
    for stmt in [
        format!("UPDATE {s}.bundles SET data = 'x' WHERE idx = 0"),
        format!("DELETE FROM {s}.bundles WHERE idx = 0"),
        format!("TRUNCATE {s}.bundles"),
        format!("UPDATE {s}.tiles SET hashes = 'x'"),
        format!("DELETE FROM {s}.summaries"),
        format!("UPDATE {s}.tail SET data = 'x' WHERE seq = 290"),
        format!("DELETE FROM {s}.tail WHERE seq = 290"),
        format!("TRUNCATE {s}.tail"),
        format!("DELETE FROM {s}.tile_tail"),
        format!("DELETE FROM {s}.postings"),
        format!("UPDATE {s}.checkpoints SET note = 'x'"),
        format!("TRUNCATE {s}.head"),
    ] {
        let msg = message(owner.batch_execute(&stmt).expect_err(&stmt));
        assert!(msg.contains("append-only"), "{stmt}: {msg}");
    }
    // A partition is as protected as its parent.
    let part: String = owner
        .query_one(
            "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname LIKE 'bundles_p%' LIMIT 1",
            &[s],
        )
        .expect("a partition of the bundles")
        .get(0);
    let msg = message(
        owner
            .batch_execute(&format!("TRUNCATE {s}.{part}"))
            .expect_err("truncate a partition"),
    );
    assert!(msg.contains("append-only"), "{msg}");
    let held: i64 = owner
        .query_one(&format!("SELECT count(*) FROM {s}.{part}"), &[])
        .expect("count")
        .get(0);
    assert_eq!(held, 1, "bundle 0 is in its partition, not the default one");
    assert_eq!(log.reader().size().expect("size"), 301);
    drop(writer);
}

fn tampering_is_caught_by_verify() {
    let log = Log::new("tamper");
    let logger = log.logger();
    for i in 0..300 {
        logger
            .log_event(&format!("e{i}"), json!({"amount": i}), "INFO")
            .expect("log");
    }
    logger.close().expect("close");
    let s = &log.schema;
    let verify = || {
        log.reader()
            .verify(&VerifyOptions::default(), &mut |_, _| {})
            .expect("verify")
    };
    assert!(verify().is_intact());
    // A superuser can switch the triggers off; verify still sees the rewrite, of a tail row...
    let mut owner = log.client();
    owner
        .batch_execute(&format!(
            "SET session_replication_role = replica;
             UPDATE {s}.tail SET data = convert_to(replace(convert_from(data, 'UTF8'), '\"amount\":270', '\"amount\":700'), 'UTF8') WHERE seq = 270;
             SET session_replication_role = origin;"
        ))
        .expect("tamper with the tail");
    let report = verify();
    assert!(!report.is_intact());
    assert_eq!(report.first_bad_seq(), Some(270), "{:?}", report.findings);
    // ...and of one byte of a compressed bundle: every seq it holds reads as damaged.
    owner
        .batch_execute(&format!(
            "SET session_replication_role = replica;
             UPDATE {s}.bundles SET data = set_byte(data, 40, get_byte(data, 40) # 1) WHERE idx = 0;
             SET session_replication_role = origin;"
        ))
        .expect("tamper with a bundle");
    let report = verify();
    assert_eq!(report.first_bad_seq(), Some(0), "{:?}", report.findings);
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.message.contains("damaged")),
        "{:?}",
        report.findings
    );
}

fn server_restart_mid_ingest_loses_nothing() {
    let version = std::fs::read_dir("/etc/postgresql")
        .ok()
        .and_then(|d| d.filter_map(|e| e.ok()).map(|e| e.file_name()).next())
        .and_then(|n| n.into_string().ok())
        .unwrap_or_else(|| panic!("no cluster under /etc/postgresql: this test restarts the local PostgreSQL with pg_ctlcluster"));
    let log = Log::new("restart");
    log.logger().close().expect("create");
    let events = 2_000;
    let mut w = spawn_writer(&log, "r", events);
    let mut acks = HashMap::new();
    let mut restarted = false;
    collect(&mut w, &mut acks, |n| {
        if n == 300 && !restarted {
            restarted = true;
            let out = Command::new("pg_ctlcluster")
                .args([
                    "--skip-systemctl-redirect",
                    &version,
                    "main",
                    "restart",
                    "-m",
                    "fast",
                ])
                .output()
                .expect("pg_ctlcluster");
            assert!(
                out.status.success(),
                "restarting PostgreSQL failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    });
    assert!(restarted, "the writer finished before the restart");
    assert_eq!(acks.len(), events);
    // Wait for the server to accept connections again before reading.
    let deadline = Instant::now() + Duration::from_secs(30);
    while postgres::Client::connect(&base_url(), postgres::NoTls).is_err()
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(log.reader().size().expect("size"), events as u64);
    assert_acks_in_log(&log, &acks);
}
